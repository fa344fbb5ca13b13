"""What a resident's message means at a step of the registration.

One pure function, ``interpret``, decides it from the NLU result (intent, confidence,
entities, text), the question being asked and the answers already given. Actions only turn
its ``Reading`` into slot events and replies (actions/registration.py); nothing else in the
code reads a resident's words. The cases, with examples, are in docs/conversation.md; the
labelled examples that pin them down are in tests/unit/interpreter_cases.yml.

Principles:
- A question is never an answer: it is answered and the pending question asked again.
- Yes and no are read by meaning (whole words and phrases, negation first), never by a
  substring of another word.
- Every field a message carries is kept: the pending answer, other fields not given yet, and
  corrections of fields already given ("eh salah, nama saya …", "bukan X tapi Y").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.domain.registration import name_from_message
from nlu.parsing.common import fold
from nlu.parsing.dates import find_dates
from nlu.parsing.identifiers import digits, find_niks, find_phones
from nlu.parsing.lookups import closest_occupation, find_occupations, find_villages
from nlu.parsing.money import find_money

#: The fields a resident gives, in the order the form asks them.
FIELDS = (
    "full_name",
    "nik",
    "birth_date",
    "phone",
    "village",
    "occupation",
    "declared_income",
    "with_jht",
)
YES_NO_STEPS = frozenset({"consent_given", "with_jht", "registration_confirmed"})
#: Questions the bot can answer in the middle of a form (responses utter_answer_<intent>).
QUESTION_INTENTS = frozenset(
    {
        "ask_human", "ask_about_programme", "ask_contribution", "ask_premium_for_income",
        "ask_jkk", "ask_jkm", "ask_jht", "ask_scholarship", "ask_requirements",
        "ask_payment_channels", "ask_due_date", "ask_arrears", "ask_claim",
    }
)  # fmt: skip
#: Intents the dialogue rules handle at any step (the form steps aside for them).
RULE_INTENTS = frozenset({"stop_reminders", "resume_reminders", "bot_challenge"})
CONFIDENT = 0.6


class Meaning(StrEnum):
    #: The message gives the pending answer and/or other fields and/or corrections.
    ANSWER = "answer"
    #: A question: answer ``topic`` (or say it was not understood) and ask again.
    QUESTION = "question"
    CANCEL = "cancel"
    #: Something the dialogue rules handle at any step (stop reminders, "are you a bot?").
    LEAVE_TO_RULES = "leave_to_rules"
    #: Greetings and thanks: not an answer; the question is simply asked again.
    SMALL_TALK = "small_talk"
    #: Nothing usable for the pending question; ``problem`` names the reply.
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True)
class Entity:
    name: str
    value: Any
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Message:
    """The NLU result for one message, as Rasa gives it to the action server."""

    text: str
    intent: str | None = None
    confidence: float = 0.0
    entities: tuple[Entity, ...] = ()
    #: (intent, confidence), best first.
    ranking: tuple[tuple[str, float], ...] = ()

    def entity(self, name: str) -> Any:
        return next((e.value for e in self.entities if e.name == name), None)


@dataclass(frozen=True)
class Unparsed:
    """An answer to the pending question that could not be read as its kind of value."""

    text: str


@dataclass(frozen=True)
class Reading:
    meaning: Meaning
    #: The value for the pending question (``Unparsed`` when it could not be read).
    answer: Any = None
    #: Fields not asked yet that the message also gave.
    given: dict[str, Any] = field(default_factory=dict)
    #: Fields already given, with the new value the resident wants instead.
    corrections: dict[str, Any] = field(default_factory=dict)
    #: The question intent to answer (QUESTION); None when the topic is unclear.
    topic: str | None = None
    #: The reply suffix when NOT_UNDERSTOOD, e.g. "invalid_with_jht".
    problem: str | None = None


# --- words ------------------------------------------------------------------------------
# The word lists are data (bot/domain/data/form_words.toml), read once here.

WORDS_FILE = Path(__file__).resolve().parent.parent / "domain" / "data" / "form_words.toml"
_WORDS: dict[str, Any] = tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))

_YES_WORDS = frozenset(_WORDS["yes_no"]["yes_words"])
_NO_WORDS = frozenset(_WORDS["yes_no"]["no_words"])
#: Phrases that settle yes/no before single words are looked at ("ya, tanpa JHT" is a no).
_NO_PHRASES = tuple(_WORDS["yes_no"]["no_phrases"])
_YES_PHRASES = tuple(_WORDS["yes_no"]["yes_phrases"])
_YES_EMOJI = tuple(_WORDS["yes_no"]["yes_emoji"])
_NO_EMOJI = tuple(_WORDS["yes_no"]["no_emoji"])
#: Words that make a question wherever they stand ...
_QUESTION_WORDS = frozenset(_WORDS["question"]["words"])
#: ... and words that do so only at the start or the end ("apa aja" is an answer).
_WEAK_QUESTION_WORDS = frozenset(_WORDS["question"]["weak_words"])
_QUESTION_PHRASES = tuple(_WORDS["question"]["phrases"])
#: Topic words for questions the NLU did not label confidently, first match wins.
_TOPICS = tuple((intent, tuple(words)) for intent, words in _WORDS["question"]["topics"].items())
_CANCEL_PHRASES = tuple(_WORDS["cancel"]["phrases"])
_SMALL_TALK = frozenset(_WORDS["small_talk"]["words"])
#: Ways of addressing the bot that carry no meaning ("iya kak", "halo min").
_ADDRESS = frozenset(_WORDS["small_talk"]["address"])
#: Words that name a field, for corrections and labelled values ("penghasilan 2 juta").
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    name: tuple(words) for name, words in _WORDS["field_words"].items()
}
_CORRECTION_CUES = re.compile(
    r"\b(?:salah|keliru|ralat|koreksi|ganti|ganti(?:kan)?|ubah|rubah|perbaiki|betulkan|"
    r"harusnya|seharusnya|mestinya|yang\s+benar|yg\s+benar|yang\s+bener|yg\s+bener|"
    r"maksud\s+saya|maksudnya|bukan)\b",
    re.I,
)
_FREE_TEXT_STEPS = frozenset({"full_name", "village", "district", "regency"})
_VILLAGE_PREFIX = re.compile(r"^(?:desa|ds\.?|kelurahan|kel\.?|dari|di|tinggal di)\s+", re.I)


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+|[?]", fold(text))


def _squeezed(word: str) -> str:
    """'iyaaa' -> 'iya', 'gass' -> 'gas': stretched letters are emphasis."""
    return re.sub(r"(.)\1+", r"\1", word)


def _in(word: str, words: frozenset[str]) -> bool:
    return word in words or _squeezed(word) in words


def _has_phrase(folded: str, phrases: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", folded) for p in phrases)


def is_question(message: Message) -> bool:
    text = message.text.strip()
    if text.startswith("/"):
        return False
    if "?" in text:
        return True
    words = words_of(text)
    if not words:
        return False
    if set(words) & _QUESTION_WORDS or _has_phrase(fold(text), _QUESTION_PHRASES):
        return True
    if words[0] in _WEAK_QUESTION_WORDS or words[-1] in _WEAK_QUESTION_WORDS:
        return True
    return bool(set(words) & _WEAK_QUESTION_WORDS) and (
        message.intent in QUESTION_INTENTS and message.confidence >= CONFIDENT
    )


def yes_no(message: Message) -> bool | None:
    """True, False, or None when the message is neither (or a question)."""
    text = message.text.strip()
    if text in ("/affirm", "/deny"):
        return text == "/affirm"
    if is_question(message):
        return None
    folded = fold(text)
    if _has_phrase(folded, _NO_PHRASES):
        return False
    if _has_phrase(folded, _YES_PHRASES):
        return True
    words = words_of(text)
    for word in words:  # the first decisive word wins: "tidak, tidak setuju", "ya benar"
        if _in(word, _NO_WORDS):
            return False
        if _in(word, _YES_WORDS):
            return True
    if any(e in text for e in _NO_EMOJI):
        return False
    if any(e in text for e in _YES_EMOJI):
        return True
    if message.intent in ("affirm", "deny") and message.confidence >= CONFIDENT and len(words) <= 4:
        return message.intent == "affirm"
    return None


def wants_to_cancel(message: Message) -> bool:
    if message.text.strip() == "/cancel":
        return True
    folded = fold(message.text)
    if _has_phrase(folded, _CANCEL_PHRASES):
        return True
    return message.intent == "cancel" and message.confidence >= 0.8


_JOIN = re.compile(
    r"\b(?:daftar|daptar|mendaftar|daftarkan\s+saya|daftarin\s+saya|registrasi|ikut(?:an)?|"
    r"gabung|melu|jadi\s+peserta|menjadi\s+peserta)\b",
    re.I,
)
_WISH = re.compile(
    r"\b(?:mau|ingin|pengen|pengin|pingin|kepingin|pgn|badhe|bade|arep|minta|tolong|siap)\b", re.I
)
_SOMEONE_ELSE = re.compile(
    r"\b(?:ibu|bapak|ayah|suami|istri|anak|adik|kakak|mertua|mbah|nenek|kakek|orang\s*tua|"
    r"keluarga|tetangga|bojo(?:ku)?|simbok|emak|paman|bibi)\s+(?:saya|ku|aku|kula)\b",
    re.I,
)


def wants_to_register(message: Message) -> bool:
    """A message outside the form that asks to register oneself ("sy mau daftar, nama …"),
    whatever the classifier made of the data in it; not a family member's registration."""
    if _SOMEONE_ELSE.search(message.text) or is_question(message):
        return False
    if message.intent == "start_registration" and message.confidence >= 0.5:
        return True
    text = message.text
    join = _JOIN.search(text)
    return join is not None and (bool(_WISH.search(text)) or join.start() <= 3)


def is_small_talk(message: Message) -> bool:
    if message.text.startswith("/"):  # the chat page's greeting, a pressed greeting button
        return message.intent in ("greet", "thank", "goodbye")
    words = [w for w in words_of(message.text) if w != "?" and w not in _ADDRESS]
    return bool(words) and len(words) <= 3 and all(_in(w, _SMALL_TALK) for w in words)


def question_topic(message: Message) -> str | None:
    """The question intent to answer; None when neither the classifier (confidently) nor a
    topic word says what the question is about."""
    if message.intent in QUESTION_INTENTS and message.confidence >= 0.5:
        return message.intent
    folded = fold(message.text)
    for intent, words in _TOPICS:
        if _has_phrase(folded, words):
            return intent
    return None


# --- fields ----------------------------------------------------------------------------


def _typed_values(message: Message, today: date) -> dict[str, list[Any]]:
    """Every typed value in the message, in order: NLU entities plus the same parsers."""
    values: dict[str, list[Any]] = {}
    mapping = {
        "nik": "nik",
        "phone": "phone",
        "date": "birth_date",
        "money": "declared_income",
        "occupation": "occupation",
        "village": "village",
    }
    for entity in message.entities:
        slot = mapping.get(entity.name)
        value = int(entity.value) if slot == "declared_income" else entity.value
        if slot and value not in values.get(slot, []):
            values.setdefault(slot, []).append(value)
    return values


def _value_after(text: str, cue: re.Match[str] | None) -> str:
    return text[cue.end() :] if cue else text


_AFTER_CUE = re.compile(
    r"\b(?:tapi|tetapi|melainkan|harusnya|seharusnya|mestinya|jadi|menjadi|yang\s+benar|"
    r"yg\s+benar|yang\s+bener|yg\s+bener|benarnya|benernya|adalah|yaitu|:)\s*",
    re.I,
)


def _last_cue(text: str) -> re.Match[str] | None:
    found = None
    for match in _AFTER_CUE.finditer(text):
        found = match
    return found


def _named_fields(folded: str) -> list[str]:
    """Fields the message names with a word ('penghasilan', 'desa', 'nik'), in text order."""
    found: list[tuple[int, str]] = []
    for name, words in FIELD_WORDS.items():
        for word in words:
            match = re.search(rf"(?<![a-z0-9]){re.escape(word)}(?:\s?nya)?(?![a-z0-9])", folded)
            if match:
                found.append((match.start(), name))
                break
    return [name for _, name in sorted(found)]


def _correction_value(name: str, message: Message, today: date) -> Any:
    """The new value of ``name`` in a correction: what follows 'tapi', 'harusnya', … ."""
    text = message.text
    tail = _value_after(text, _last_cue(text))
    if name == "full_name":
        after_name = re.search(
            r"\bnama\s*(?:saya|ku|lengkap|lengkap\s+saya|nya)?\s*(?:itu|adalah|:)?\s*", tail, re.I
        )
        candidate = tail[after_name.end() :] if after_name else tail
        candidate = re.split(r"\bbukan\b", candidate, maxsplit=1, flags=re.I)[0]
        candidate = _CORRECTION_CUES.sub("", candidate)
        candidate = re.sub(r"^(?:\W|eh|ehh|maaf|sori|sorry)+", "", candidate, flags=re.I)
        return name_from_message(candidate) or None
    if name == "nik":
        niks = find_niks(tail) or find_niks(text)
        return niks[-1].value if niks else None
    if name == "phone":
        phones = find_phones(tail) or find_phones(text)
        return phones[-1].value if phones else None
    if name == "birth_date":
        dates = find_dates(tail, today) or find_dates(text, today)
        return dates[-1].value if dates else None
    if name == "declared_income":
        money = find_money(tail) or find_money("penghasilan " + tail)
        return int(money[-1].value) if money else None
    if name == "occupation":
        found = find_occupations(tail)
        return found[-1].value if found else closest_occupation(tail.strip(" .,!"))
    if name == "village":
        found = find_villages(tail)
        if found:
            return found[-1].value
        cleaned = _VILLAGE_PREFIX.sub("", _CORRECTION_CUES.sub("", tail).strip(" .,!"))
        return cleaned.title() if len(cleaned) >= 3 else None
    if name == "with_jht":
        return yes_no(Message(tail))
    return None


def _is_correction(folded: str) -> bool:
    return bool(_CORRECTION_CUES.search(folded)) or folded.startswith(("eh ", "ehh ", "eh,"))


_EXTRA_NAME_PREFIX = re.compile(
    r"^\s*(?:jenengku|jeneng\s*kula|asmane|asma\s*kula|(?:nama\s*)?sesuai\s*ktp)\s*[:=]?\s*",
    re.I,
)


def name_in(text: str) -> str | None:
    """The name a message gives ('nama saya Budi, NIK …' -> 'Budi')."""
    return name_from_message(_EXTRA_NAME_PREFIX.sub("", text, count=1)) or None


def _pending_answer(asking: str, message: Message, typed: dict[str, list[Any]]) -> Any:
    """The answer to the question being asked, or None when the message holds none."""
    text = message.text.strip()
    if asking in YES_NO_STEPS:
        return yes_no(message)
    if asking == "resident_consent":
        chosen = message.entity("consent_method")
        if chosen in ("code", "read_aloud"):
            return chosen
        words = set(words_of(text))
        if words & {"kode", "sms", "kirim", "kirimkan", "otp"}:
            return "code"
        if words & {"baca", "bacakan", "dibacakan", "dibaca", "membacakan", "sudah"}:
            return "read_aloud"
        return None
    if asking in typed:
        return typed[asking][0]
    if asking == "full_name":
        return name_in(text)
    if asking == "nik":
        return digits(text) if len(digits(text)) >= 6 else None
    if asking == "birth_date":
        return Unparsed(text) if re.search(r"\d", text) else None
    if asking == "phone":
        return Unparsed(text) if len(digits(text)) >= 6 else None
    if asking == "village":
        cleaned = _VILLAGE_PREFIX.sub("", text).strip(" .,!")
        return cleaned.title() if cleaned else None
    if asking in ("district", "regency"):
        cleaned = re.sub(r"^(?:kec\.?|kecamatan|kab\.?|kabupaten|kota)\s+", "", text, flags=re.I)
        return cleaned.strip(" .,!").title() or None
    if asking == "occupation":
        return closest_occupation(text.strip(" .,!")) or None
    if asking == "declared_income":
        money = find_money("penghasilan " + text)
        return int(money[0].value) if money else None
    return None


def interpret(
    message: Message, asking: str | None, filled: Mapping[str, Any], today: date
) -> Reading:
    """What ``message`` means while the form asks ``asking`` (None: nothing asked yet, e.g.
    the first message), given the answers in ``filled`` (field -> value or None)."""
    text = message.text.strip()
    folded = fold(text)
    if message.intent in RULE_INTENTS and message.confidence >= CONFIDENT:
        return Reading(Meaning.LEAVE_TO_RULES)
    if wants_to_cancel(message):
        return Reading(Meaning.CANCEL)
    if is_question(message):
        return Reading(Meaning.QUESTION, topic=question_topic(message))
    if text.startswith("/") and message.intent in QUESTION_INTENTS:
        return Reading(Meaning.QUESTION, topic=message.intent)

    if (
        asking in _FREE_TEXT_STEPS
        and message.intent in QUESTION_INTENTS
        and message.confidence >= 0.8
        and not _named_fields(folded)
    ):
        return Reading(Meaning.QUESTION, topic=message.intent)

    typed = _typed_values(message, today)
    corrections: dict[str, Any] = {}
    given: dict[str, Any] = {}
    answer: Any = None

    correcting = _is_correction(folded)
    named = _named_fields(folded)
    if correcting:
        for name in named:
            if filled.get(name) is not None and name != asking:
                value = _correction_value(name, message, today)
                if value is not None and value != filled.get(name):
                    corrections[name] = value
        if not corrections and not named:
            # "eh bukan petani tapi nelayan": the value's kind says which field it corrects.
            for name, values in typed.items():
                if name != asking and filled.get(name) is not None and values[-1] != filled[name]:
                    corrections[name] = values[-1]
        if not corrections and filled.get("full_name") and re.search(r"\bnama\b", folded):
            value = _correction_value("full_name", message, today)
            if value and value != filled.get("full_name"):
                corrections["full_name"] = value

    if asking is not None and not corrections:
        if asking in _FREE_TEXT_STEPS and is_small_talk(message):
            return Reading(Meaning.SMALL_TALK)
        answer = _pending_answer(asking, message, typed)
        if (
            asking in _FREE_TEXT_STEPS
            and asking not in typed
            and answer is not None
            and _mostly_other_fields(asking, message, typed)
        ):
            answer = None  # "saya petani, nik …" at the name question is not a name
        if (
            asking == "full_name"
            and answer is not None
            and (named and named[0] != "full_name" and not folded.startswith("nama"))
        ):
            answer = name_from_message(text) or None
    elif asking is not None and corrections and asking in YES_NO_STEPS:
        # "penghasilan saya salah, harusnya 2 juta" at the JHT question is no yes/no.
        answer = None

    # Other fields the message carries (typed values, and a labelled name).
    for name, values in typed.items():
        if name == asking or name in corrections:
            continue
        value = values[-1] if name in named or len(values) == 1 else values[0]
        if filled.get(name) is None:
            given[name] = value
        elif value != filled.get(name) and (asking == "registration_confirmed" or name in named):
            corrections[name] = value
    if (
        asking != "full_name"
        and "full_name" not in corrections
        and folded.startswith(("nama ", "nama:", "namaku", "nama saya"))
    ):
        name = name_from_message(text)
        if name:
            if filled.get("full_name") is None:
                given["full_name"] = name
            elif name != filled.get("full_name"):
                corrections["full_name"] = name
    if asking == "registration_confirmed" and corrections:
        answer = None
    if "with_jht" in named and asking != "with_jht" and "with_jht" not in corrections:
        value = yes_no(Message(text))
        if value is not None and filled.get("with_jht") is None and asking is not None:
            given["with_jht"] = value
        elif value is not None and filled.get("with_jht") not in (None, value):
            corrections["with_jht"] = value
            if asking == "registration_confirmed":
                answer = None

    if answer is None and not given and not corrections:
        if message.intent in QUESTION_INTENTS and message.confidence >= 0.5:
            return Reading(Meaning.QUESTION, topic=message.intent)
        if asking is None:
            return Reading(Meaning.NOT_UNDERSTOOD)
        if is_small_talk(message):
            return Reading(Meaning.SMALL_TALK)
        return Reading(Meaning.NOT_UNDERSTOOD, problem=f"invalid_{asking}")
    return Reading(Meaning.ANSWER, answer=answer, given=given, corrections=corrections)


def _mostly_other_fields(asking: str, message: Message, typed: dict[str, list[Any]]) -> bool:
    """A free-text answer that is really other fields ('saya petani' at the village step)."""
    others = {k for k in typed if k != asking}
    if not others:
        return False
    if asking == "full_name":
        says_what_they_do = message.text.strip().lower().startswith(("saya ", "sy ", "aku "))
        return not name_in(message.text) or (
            says_what_they_do and not re.search(r"\bnama\b", message.text, re.I)
        )
    return True


def early_fields(message: Message, today: date) -> dict[str, Any]:
    """Fields in a first message ("sy mau daftar, nama …, nik …") kept until consent."""
    reading = interpret(message, None, {}, today)
    fields = dict(reading.given)
    name = re.search(r"\bnama\s*(?:saya|ku|lengkap)?\s*:?\s*", message.text, re.I)
    if name:
        value = name_from_message(message.text[name.start() :])
        if value:
            fields["full_name"] = value
    return {k: v for k, v in fields.items() if k in FIELDS}
