"""Rasa's side of a registration, in-process, for the generated robustness run: a message
is parsed the way Sadar's pipeline parses it (``nlu.parsing.extract.extract_entities``,
the function ``SadarEntityExtractor`` calls) with an intent drawn from the domain's intents,
and the actions are called through rasa-sdk's ``ActionExecutor`` with the action-call
payload Rasa posts (tracker, domain). The form loop follows Rasa 3.6's ``FormAction``:
prefilled slots validated on activation, the validator's ``requested_slot`` (or the
domain's next empty required slot) asked with ``action_ask_<slot>`` or ``utter_ask_<slot>``,
an empty validation left to the rules, and ``action_submit_registration`` once it is done.

What is recorded per turn: every action run, its replies, and any exception it raised."""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rasa_sdk.executor import ActionExecutor

from nlu.parsing.extract import extract_entities

REGISTRATION_FORM = "registration_form"
CONSENT_FORM = "consent_form"


@dataclass
class Failure:
    action: str
    step: str | None
    text: str
    error: str
    trace: str
    slots: dict[str, Any] = field(default_factory=dict)


@dataclass
class Turn:
    text: str
    replies: list[dict[str, Any]] = field(default_factory=list)
    left_to_rules: bool = False
    failures: list[Failure] = field(default_factory=list)


class ActionFailed(Exception):
    """An action raised: the turn ends there, as Rasa's would ("Maaf, ada gangguan")."""


def parse(
    rng: random.Random, text: str, today: date, intents: list[str], likely: str | None = None
) -> dict[str, Any]:
    """The message as Rasa's pipeline hands it to the actions: Sadar's entities, and an
    intent drawn from the domain's (half the time ``inform``, or ``likely`` when given) with
    a random confidence."""
    entities = [
        {
            "entity": f.entity,
            "value": f.value,
            "start": f.start,
            "end": f.end,
            "confidence_entity": 1.0,
            "extractor": "SadarEntityExtractor",
        }
        for f in extract_entities(text, today)
    ]
    intent = (likely or "inform") if rng.random() < 0.5 else rng.choice(intents)
    confidence = round(rng.uniform(0.15, 1.0), 3)
    others = rng.sample([i for i in [*intents, "nlu_fallback"] if i != intent], 3)
    left = 1.0 - confidence
    ranking = [{"name": intent, "confidence": confidence}]
    for name in others:
        share = round(rng.uniform(0, min(left, confidence)), 3)
        ranking.append({"name": name, "confidence": share})
        left -= share
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities,
        "intent_ranking": ranking,
        "metadata": {},
    }


def parsed(text: str, today: date, intent: str = "inform") -> dict[str, Any]:
    """A message with a sure intent (for the regression cases)."""
    return {**parse(random.Random(0), text, today, [intent, "a", "b", "c"], intent),
            "intent": {"name": intent, "confidence": 0.95}}  # fmt: skip


@dataclass
class Conversation:
    """One sender's tracker as Rasa keeps it, driven turn by turn."""

    executor: ActionExecutor
    domain: dict[str, Any]
    sender_id: str
    slots: dict[str, Any] = field(default_factory=dict)
    active_loop: str | None = None
    latest_message: dict[str, Any] = field(default_factory=dict)
    #: The events since the latest user message (all slots_to_validate reads).
    events: list[dict[str, Any]] = field(default_factory=list)
    turn: Turn | None = None

    # --- the action server ---------------------------------------------------------------

    async def call(self, action: str, extra: list[dict[str, Any]] | None = None) -> list[dict]:
        """Runs ``action`` as Rasa would ask the action server; applies its events."""
        assert self.turn is not None
        slots = dict(self.slots)
        for event in extra or []:
            slots[event["name"]] = event["value"]
        tracker = {
            "sender_id": self.sender_id,
            "slots": slots,
            "latest_message": self.latest_message,
            "events": [*self.events, *(extra or [])],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": self.active_loop} if self.active_loop else {},
            "latest_action_name": "action_listen",
        }
        payload = {
            "next_action": action,
            "sender_id": self.sender_id,
            "version": "3.6.21",
            "tracker": tracker,
            "domain": self.domain,
        }
        try:
            result = await self.executor.run(payload)
        except Exception as error:
            self.turn.failures.append(
                Failure(
                    action,
                    self.slots.get("requested_slot"),
                    self.latest_message.get("text", ""),
                    f"{type(error).__name__}: {error}",
                    traceback.format_exc(),
                    slots,
                )
            )
            raise ActionFailed(action) from error
        assert result is not None
        self.events.append({"event": "action", "name": action})
        for event in result.events:
            self.events.append(event)
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            elif event.get("event") == "active_loop":
                self.active_loop = event.get("name")
        self.turn.replies += result.responses
        return result.events

    def say(self, response: str) -> None:
        """A response Rasa utters itself (utter_ask_<slot> with no custom ask action)."""
        assert self.turn is not None
        assert response in self.domain["responses"], response
        self.turn.replies.append({"response": response})

    # --- one user message ----------------------------------------------------------------

    async def user(self, message: dict[str, Any]) -> Turn:
        self.turn = Turn(message["text"])
        self.latest_message = message
        self.events = [{"event": "user", "text": message["text"], "parse_data": message}]
        try:
            if self.active_loop == REGISTRATION_FORM:
                await self._form_turn()
            elif self.active_loop == CONSENT_FORM:
                await self._consent_turn()
            else:
                await self._outside_turn()
        except ActionFailed:
            pass
        return self.turn

    async def _outside_turn(self) -> None:
        """A first message: "daftar" (with data or not) or data outside a registration."""
        intent = self.latest_message["intent"]["name"]
        if intent == "start_registration":
            await self.call("action_start_registration")
        else:
            events = await self.call("action_inform_outside_registration")
            if not any(e.get("name") == "registration_requested" and e["value"] for e in events):
                return
        self.active_loop = CONSENT_FORM
        self.slots["requested_slot"] = "consent_given"
        self.say("utter_ask_consent_given")

    async def _consent_turn(self) -> None:
        events = await self.call("validate_consent_form")
        if not events:
            self.turn.left_to_rules = True  # type: ignore[union-attr]
            self.say("utter_ask_consent_given")
            return
        if self.slots.get("consent_given") is None:
            self.say("utter_ask_consent_given")
            return
        self.active_loop, self.slots["requested_slot"] = None, None
        await self.call("action_record_consent")
        if self.slots.get("consent_granted"):
            await self.activate_registration()

    async def activate_registration(self) -> None:
        """The form starts: the slots already filled are validated first (Rasa appends them
        as slot events), then the next one is asked."""
        self.active_loop, self.slots["requested_slot"] = REGISTRATION_FORM, None
        required = self.domain["forms"][REGISTRATION_FORM]["required_slots"]
        prefilled = [
            {"event": "slot", "name": name, "value": self.slots[name]}
            for name in required
            if self.slots.get(name) is not None
        ]
        events: list[dict[str, Any]] = []
        if prefilled:
            events = await self.call("validate_registration_form", prefilled)
        await self._after_validation(events)

    async def _form_turn(self) -> None:
        events = await self.call("validate_registration_form")
        if not events:
            # Rasa rejects the form's turn; a rule answers, then the form asks again.
            self.turn.left_to_rules = True  # type: ignore[union-attr]
            await self._ask(self.slots.get("requested_slot"))
            return
        await self._after_validation(events)

    async def _after_validation(self, events: list[dict[str, Any]]) -> None:
        chosen = [e for e in events if e.get("event") == "slot" and e["name"] == "requested_slot"]
        if chosen:
            next_slot = chosen[-1]["value"]
        else:
            required = self.domain["forms"][REGISTRATION_FORM]["required_slots"]
            next_slot = next((s for s in required if self.slots.get(s) is None), None)
        self.slots["requested_slot"] = next_slot
        if next_slot is not None:
            await self._ask(next_slot)
            return
        self.active_loop = None
        await self.call("action_submit_registration")

    async def _ask(self, slot: str | None) -> None:
        if slot is None:
            return
        action = f"action_ask_{slot}"
        if action in self.domain["actions"]:
            await self.call(action)
        else:
            self.say(f"utter_ask_{slot}")
