"""A conversation's dialogue states, rebuilt once per turn instead of once per question.

To predict the next action, Rasa 3.6 turns the conversation into one dialogue state per
action taken (``Domain.states_for_tracker_history``): it replays every applied event of
the session into a fresh tracker and reads the state before each action. The memoization
policy asks for the states once per prediction, the rule policy once or twice more, and a
turn makes two or three predictions, each on the same tracker with a few more events.
Profiled under the open-loop benchmark (issue 31) that replay was about 12% of the Rasa
server's time, and it grows with the length of the session.

Here the replay is kept with the tracker it describes: the states before each action, and
the replaying tracker itself. A later call on the same tracker replays only the events
added since, as long as the events applied before are still the very same objects (Rasa
never changes an event in place). Where they are not (a form's new turn undoes the user's
turn before it; "Restarted", a reverted action or utterance), the states read before the
first changed event are kept and the rest is replayed; on another tracker the replay
starts from the first event. Which events apply (``applied_events``, itself a walk over
the whole session with a backward search at each form action) is continued the same way.
Each caller gets its own copy of the states, so nothing a policy does to them reaches the
ones kept; the rest of the work (dropping rule-only turns and features) is Rasa's own
code, run as before. The result is the list Rasa's walk returns, always
(tests/support/rasa_runtime_probe.py compares them on random conversations). Python 3.10:
imported by Rasa's interpreter."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import is_
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

_KEPT = "_sadar_state_history"
_APPLIED = "_sadar_applied_events"


@dataclass(frozen=True)
class StepBefore:
    """What Rasa's walk reads of the tracker just before one action (or at the end)."""

    hide_rule_turn: bool
    state: State
    previous_action: dict[str, str] | None
    followup_action: str | None
    is_loop_turn: bool  # the action taken was the active loop's own


@dataclass
class Replay:
    """A tracker's applied events replayed so far, and the steps read on the way."""

    domain: Domain
    tracker: DialogueStateTracker
    applied: list[Event] = field(default_factory=list)
    steps: list[StepBefore] = field(default_factory=list)
    #: Where in ``applied`` each step's action is.
    step_at: list[int] = field(default_factory=list)
    #: The step after the last applied event, while no event has been added.
    last: StepBefore | None = None

    def keep_first(self, events: int, tracker: DialogueStateTracker) -> None:
        """Forget what came after the first ``events`` applied events (a loop's new turn
        undoes the user's turn before it): replay those again, without reading states."""
        kept = bisect_left(self.step_at, events)
        del self.steps[kept:], self.step_at[kept:]
        self.tracker = tracker.init_copy()
        for event in self.applied[:events]:
            self.tracker.update(event)


def step_before(domain: Domain, replayed: DialogueStateTracker, hide: bool) -> StepBefore:
    return StepBefore(
        hide_rule_turn=hide,
        state=domain.get_active_state(replayed),
        previous_action=domain._get_prev_action_sub_state(replayed),
        followup_action=replayed.followup_action,
        is_loop_turn=replayed.latest_action_name == replayed.active_loop_name,
    )


def shared_start(kept: Sequence[Event], now: Sequence[Event]) -> int:
    """How many leading events are the very same objects in both."""
    length = min(len(kept), len(now))
    if all(map(is_, islice(kept, length), islice(now, length))):
        return length
    return next(i for i, (a, b) in enumerate(zip(kept, now, strict=False)) if a is not b)


def replay_of(domain: Domain, tracker: DialogueStateTracker) -> tuple[Replay, StepBefore]:
    """The tracker's replay brought up to date, and the step after its last event."""
    applied = tracker.applied_events()
    replay: Replay | None = tracker.__dict__.get(_KEPT)
    if replay is None or replay.domain is not domain:
        replay = Replay(domain, tracker.init_copy())
        tracker.__dict__[_KEPT] = replay
    done = shared_start(replay.applied, applied)
    if done == len(replay.applied) == len(applied) and replay.last is not None:
        return replay, replay.last  # nothing new since the last call (another policy's)
    if done < len(replay.applied):
        replay.keep_first(done, tracker)
    for index in range(done, len(applied)):
        event = applied[index]
        if isinstance(event, ActionExecuted):
            replay.steps.append(step_before(domain, replay.tracker, event.hide_rule_turn))
            replay.step_at.append(index)
        replay.tracker.update(event)
    replay.applied = applied
    replay.last = step_before(domain, replay.tracker, False)
    return replay, replay.last


@dataclass
class AppliedSoFar:
    """``applied_events`` of a tracker's first ``len(events)`` events, and the fold's
    inputs: the names of the loops those events activate."""

    events: list[Event]
    loop_names: set[str]
    applied: list[Event]


def applied_events(self: DialogueStateTracker) -> list[Event]:
    """Rasa's ``DialogueStateTracker.applied_events``, continued from the last call on
    this tracker when its events then are still its first events now, and no loop has
    been activated since whose name the earlier fold did not know (a loop's name decides
    how the fold treats that loop's actions, before and after)."""
    events = list(self.events)
    kept: AppliedSoFar | None = self.__dict__.get(_APPLIED)
    if kept is not None and len(kept.events) <= len(events):
        done = len(kept.events)
        new_names = {e.name for e in events[done:] if isinstance(e, ActiveLoop) and e.name}
        if new_names <= kept.loop_names and shared_start(kept.events, events) == done:
            applied = list(kept.applied)
            for event in events[done:]:
                applied = _fold(self, applied, kept.loop_names, event)
            self.__dict__[_APPLIED] = AppliedSoFar(events, kept.loop_names, applied)
            return list(applied)
    applied = _rasa_applied_events(self)
    loop_names_now = {e.name for e in events if isinstance(e, ActiveLoop) and e.name}
    self.__dict__[_APPLIED] = AppliedSoFar(events, loop_names_now, list(applied))
    return applied


def _fold(
    tracker: DialogueStateTracker, applied: list[Event], loop_names: set[str], event: Event
) -> list[Event]:
    """One step of Rasa's loop in ``applied_events``, verbatim."""
    if isinstance(event, (Restarted, SessionStarted)):
        return []
    if isinstance(event, ActionReverted):
        tracker._undo_till_previous(ActionExecuted, applied)
    elif isinstance(event, UserUtteranceReverted):
        tracker._undo_till_previous(UserUttered, applied)
        tracker._undo_till_previous(ActionExecuted, applied)
    elif (
        isinstance(event, ActionExecuted)
        and event.action_name in loop_names
        and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
    ):
        tracker._undo_till_previous_loop_execution(event.action_name, applied)
    else:
        applied.append(event)
    return applied


def own_copy(step: StepBefore) -> tuple[State, dict[str, str] | None]:
    """A fresh state, as ``get_active_state`` returns one: new dicts down to the values,
    which are strings and tuples. The previous action stays one object in both places,
    as in Rasa's walk (the state holds the tracker's own ``latest_action``)."""
    previous = dict(step.previous_action) if step.previous_action is not None else None
    state: dict[str, Any] = {kind: dict(sub_state) for kind, sub_state in step.state.items()}
    if PREVIOUS_ACTION in state:
        state[PREVIOUS_ACTION] = previous
    return state, previous


def states_for_tracker_history(
    self: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """Rasa's ``Domain.states_for_tracker_history``, reading steps from the kept replay.
    The loop below is Rasa's, line for line, with ``tr`` read from a kept step."""
    if omit_unset_slots:  # never asked for at prediction time: Rasa's own walk
        return _rasa_states_for_tracker_history(
            self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data
        )
    replay, last = replay_of(self, tracker)
    states: list[State] = []
    last_ml_action_sub_state = None
    turn_was_hidden = False
    for step in [*replay.steps, last]:
        state, previous_action = own_copy(step)
        if ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action_sub_state = previous_action
            if not step.followup_action and not step.is_loop_turn:
                turn_was_hidden = step.hide_rule_turn
            if turn_was_hidden:
                continue
        if ignore_rule_only_turns:
            self._remove_rule_only_features(state, rule_only_data)
            if states:
                self._substitute_rule_only_user_input(state, states[-1])
            if last_ml_action_sub_state:
                state[PREVIOUS_ACTION] = last_ml_action_sub_state
        states.append(self._clean_state(state))
    return states


_rasa_states_for_tracker_history = Domain.states_for_tracker_history
_rasa_applied_events = DialogueStateTracker.applied_events


def install() -> None:
    """Idempotent."""
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]  # same signature, same states
    DialogueStateTracker.applied_events = applied_events  # type: ignore[method-assign]  # same signature, same events


__all__ = ["applied_events", "install", "replay_of", "states_for_tracker_history"]
