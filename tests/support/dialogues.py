"""Multi-turn dialogue corpora (tests/dialogues/*.yml), played through the gateway against
the real Rasa and action servers, with each step judged on what the bot said and the
conversation judged on what ended up in the database.

Used by tests/e2e/test_dialogues.py (pytest) and `make dialogue-eval` (the same tests with
a report). The format is described in tests/dialogues/README.md."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.infra.settings import PROJECT_ROOT
from nlu.parsing.lookups import occupation_label

DIALOGUES_DIR = PROJECT_ROOT / "tests" / "dialogues"
DEFAULT_BIRTH = date(1980, 8, 17)
#: The form's questions in order; `until: SLOT` plays plain answers up to the question for
#: SLOT before a conversation's own steps (no phone question on WhatsApp: it is known).
FORM_ORDER = (
    "consent_given", "full_name", "nik", "birth_date", "phone", "village", "occupation",
    "declared_income", "with_jht", "registration_confirmed",
)  # fmt: skip
#: Forms whose question is not an `utter_ask_<slot>` response.
QUESTION_RESPONSES = {
    # Asked again with the villages an answer could mean (one name in several kecamatan).
    "village": (
        "utter_ask_village",
        "utter_ask_village_suggest",
        "utter_ask_village_near",
        "utter_choose_village",
        "utter_choose_close_village",
    ),
    "registration_confirmed": ("utter_registration_summary",),
}
PLAIN_ANSWERS = {
    "consent_given": "ya",
    "full_name": "{name}",
    "nik": "{nik}",
    "birth_date": "{birth}",
    "phone": "{phone}",
    "village": "Karanglo",
    "occupation": "petani",
    "declared_income": "1 juta",
    "with_jht": "tidak",
}
_serials = itertools.count(uuid.uuid4().int % 5000)


@dataclass(frozen=True)
class Step:
    user: str
    expect: dict[str, Any]


@dataclass(frozen=True)
class Conversation:
    name: str
    part: str
    steps: list[Step]
    birth: date = DEFAULT_BIRTH
    channel: str = "web"
    agent: bool = False
    record: dict[str, Any] | str | None = None
    source: str = ""
    resident: str = "Warga Uji"

    def __str__(self) -> str:
        return self.name


@dataclass
class StepResult:
    user: str
    replies: list[str]
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class ConversationResult:
    conversation: Conversation
    steps: list[StepResult] = field(default_factory=list)
    record_problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.steps) and not self.record_problems

    def transcript(self) -> str:
        lines = [f"Conversation: {self.conversation.name}"]
        for step in self.steps:
            mark = "ok " if step.passed else "BAD"
            lines.append(f"  {mark} user: {step.user}")
            lines.extend(f"        bot: {reply!r}" for reply in step.replies)
            lines.extend(f"        !! {problem}" for problem in step.problems)
        lines.extend(f"  !! record: {problem}" for problem in self.record_problems)
        return "\n".join(lines)


def load(path: Path) -> list[Conversation]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    part = data["part"]
    return [
        Conversation(
            name=item["name"],
            part=part,
            steps=[
                *_opening(item.get("until"), item.get("channel", "web")),
                *(Step(s["user"], s.get("expect") or {}) for s in item["steps"]),
            ],
            resident=item.get("resident", "Warga Uji"),
            birth=date.fromisoformat(str(item["birth"])) if "birth" in item else DEFAULT_BIRTH,
            channel=item.get("channel", "web"),
            agent=bool(item.get("agent", False)),
            record=item.get("record"),
            source=path.name,
        )
        for item in data["conversations"]
    ]


def _opening(until: str | None, channel: str) -> list[Step]:
    if until is None:
        return []
    order = [slot for slot in FORM_ORDER if not (slot == "phone" and channel == "whatsapp")]
    steps = [Step("daftar", {"asks": "consent_given"})]
    for asked, following in itertools.pairwise(order):
        if asked == until:
            break
        steps.append(Step(PLAIN_ANSWERS[asked], {"asks": following}))
    return steps


def load_all(folder: Path = DIALOGUES_DIR) -> list[Conversation]:
    return [c for path in sorted(folder.glob("*.yml")) for c in load(path)]


#: A plain web registration, one answer per message: (text, a word of the bot's reply).
#: ``{name}`` and ``{nik}`` are filled in by the test.
REGISTRATION = [
    ("daftar", "Sebelum mendaftar"),
    ("ya", "nama lengkap"),
    ("{name}", "NIK"),
    ("{nik}", "Tanggal lahir"),
    ("17-08-1980", "Nomor HP"),
    ("0812 3456 7000", "desa"),
    ("Karanglo", "pekerjaan"),
    ("petani", "penghasilan"),
    ("1 juta", "JHT"),
    ("tidak", "Sudah benar"),
    ("ya", "SDR-"),
]


def new_nik(birth: date) -> str:
    """A NIK of Kec. Bangilan, Kab. Tuban (35.23.03) encoding ``birth``, never used before
    in this run."""
    return f"352303{birth:%d%m%y}{next(_serials) % 10000:04d}"


def question_patterns(domain: dict[str, Any]) -> dict[str, list[re.Pattern[str]]]:
    """Each form question as regexes built from domain.yml (placeholders match anything)."""
    responses = domain["responses"]
    patterns: dict[str, list[re.Pattern[str]]] = {}
    names = {name.removeprefix("utter_ask_") for name in responses if name.startswith("utter_ask_")}
    for slot in names | set(QUESTION_RESPONSES):
        texts = [
            variation["text"]
            for response in QUESTION_RESPONSES.get(slot, (f"utter_ask_{slot}",))
            for variation in responses.get(response, [])
            if "text" in variation
        ]
        patterns[slot] = [
            re.compile(re.sub(r"\\\{[a-z_]+\\\}", ".*?", re.escape(_first_line(t))), re.S)
            for t in texts
        ]
    return patterns


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


@dataclass
class DialoguePlayer:
    """Plays conversations; ``send(conversation, sender, text)`` returns the bot's messages."""

    send: Callable[[Conversation, str, str], list[str]]
    questions: dict[str, list[re.Pattern[str]]]
    find_record: Callable[[str], dict[str, Any] | None]
    #: The last one-time code sent to a WhatsApp number (E.164), for ``{code}`` in a step.
    last_code: Callable[[str], str] | None = None

    def play(self, conversation: Conversation, sender: str) -> ConversationResult:
        nik = new_nik(conversation.birth)
        phone = f"0812{next(_serials) % 10000:04d}{uuid.uuid4().int % 10000:04d}"
        values = {
            "{nik}": nik,
            "{name}": conversation.resident,
            "{birth}": f"{conversation.birth:%d-%m-%Y}",
            "{phone}": phone,
            "{phone_e164}": "+62" + phone[1:],
        }
        result = ConversationResult(conversation)
        for step in conversation.steps:
            if "{code}" in step.user and self.last_code is not None:
                # No code ever reached the number: the step is played (and judged) with the
                # placeholder left in, so one miss does not stop the whole part.
                try:
                    values["{code}"] = self.last_code(values["{phone_e164}"])
                except AssertionError:
                    values.pop("{code}", None)
            text = _fill(step.user, values)
            replies = self.send(conversation, sender, text)
            expect = {k: _fill(v, values) for k, v in step.expect.items()}
            result.steps.append(StepResult(text, replies, self._judge(expect, replies)))
        record = conversation.record
        if isinstance(record, dict):
            record = {k: _fill(v, values) for k, v in record.items()}
        result.record_problems = self._judge_record(record, nik)
        return result

    def _asks(self, slot: str, reply: str) -> bool:
        return any(p.search(reply) for p in self.questions.get(slot, []))

    def _judge(self, expect: dict[str, Any], replies: list[str]) -> list[str]:
        problems: list[str] = []
        said = "\n".join(replies).lower()
        last = replies[-1] if replies else ""
        if "asks" in expect and not self._asks(expect["asks"], last):
            problems.append(f"expected the question for {expect['asks']} last")
        if "not_asks" in expect and any(self._asks(expect["not_asks"], r) for r in replies):
            problems.append(f"asked for {expect['not_asks']} again")
        for text in expect.get("says", []):
            if text.lower() not in said:
                problems.append(f"did not say {text!r}")
        if "says_any" in expect and not any(t.lower() in said for t in expect["says_any"]):
            problems.append(f"said none of {expect['says_any']!r}")
        for text in expect.get("not_says", []):
            if text.lower() in said:
                problems.append(f"said {text!r}")
        return problems

    def _judge_record(self, wanted: dict[str, Any] | str | None, nik: str) -> list[str]:
        if wanted is None:
            return []
        found = self.find_record(nik)
        if wanted == "none":
            return [] if found is None else ["a participant was registered"]
        if found is None:
            return ["no participant was registered"]
        assert isinstance(wanted, dict)
        return [
            f"{name} is {found.get(name)!r}, expected {value!r}"
            for name, value in wanted.items()
            if not _same_value(found.get(name), value)
            and not (name == "occupation" and _same_value(occupation_label(found[name]), value))
        ]


def _same_value(found: Any, wanted: Any) -> bool:
    """A record field as a writer means it: an unquoted YAML date is the stored
    YYYY-MM-DD text, and text compares without case or underscores ("Nelayan" is the
    occupation code "nelayan"); an occupation may also be written as its label ("Tukang
    bangunan" is the code "tukang"), see ``_judge_record``."""
    if isinstance(wanted, date):
        wanted = wanted.isoformat()
    if isinstance(found, str) and isinstance(wanted, str):
        return found.replace("_", " ").casefold() == wanted.replace("_", " ").casefold()
    return bool(found == wanted)


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, filled in values.items():
            value = value.replace(placeholder, filled)
        return value
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


@dataclass
class PartFigures:
    conversations: int = 0
    conversations_passed: int = 0
    steps: int = 0
    steps_passed: int = 0

    def add(self, result: ConversationResult) -> None:
        self.conversations += 1
        self.conversations_passed += result.passed
        self.steps += len(result.steps)
        self.steps_passed += sum(s.passed for s in result.steps)

    def line(self, part: str) -> str:
        def rate(passed: int, total: int) -> str:
            return f"{passed}/{total} ({passed / total:.1%})" if total else "-"

        return (
            f"{part:<10} steps {rate(self.steps_passed, self.steps):<18} "
            f"conversations {rate(self.conversations_passed, self.conversations)}"
        )


REPORT_BEGIN = "<!-- dialogue-eval:begin -->"
REPORT_END = "<!-- dialogue-eval:end -->"


def write_report(results: list[ConversationResult], docs_path: str | None) -> list[str]:
    """The figures per part as lines; also written between the markers of ``docs_path``."""
    figures: dict[str, PartFigures] = {}
    for result in results:
        figures.setdefault(result.conversation.part, PartFigures()).add(result)
    parts = sorted(figures, key=lambda part: (part != "tuned", len(part), part))
    lines = [figures[part].line(part) for part in parts]
    failing = [r for r in results if not r.passed]
    lines += [f"  failed: [{r.conversation.part}] {r.conversation.name}" for r in failing]
    if docs_path:
        path = PROJECT_ROOT / docs_path
        text = path.read_text(encoding="utf-8")
        body = "\n".join(
            [
                REPORT_BEGIN,
                "",
                f"Measured {date.today().isoformat()} by `make dialogue-eval` (end to end "
                "through the gateway, real Rasa and action servers):",
                "",
                "```",
                *lines,
                "```",
                "",
                REPORT_END,
            ]
        )
        if REPORT_BEGIN in text:
            head, _, rest = text.partition(REPORT_BEGIN)
            text = head + body + rest.partition(REPORT_END)[2]
        else:
            text = text.rstrip("\n") + "\n\n## Dialogue corpus\n\n" + body + "\n"
        path.write_text(text, encoding="utf-8")
    return lines
