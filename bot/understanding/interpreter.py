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
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.domain.income import MONTH, IncomePerPeriod
from bot.domain.places import PlaceRegister
from bot.domain.registration import SELF_WORDS, name_from_message
from bot.understanding.outside_topics import outside_topic
from bot.understanding.places import labelled_place, read_place
from nlu.parsing.common import fold
from nlu.parsing.dates import DateParts, find_date_parts, find_dates, merge_date
from nlu.parsing.identifiers import digits, find_niks, find_phones
from nlu.parsing.lookups import (
    closest_occupation,
    find_occupations,
    find_villages,
    sender_occupation,
)
from nlu.parsing.money import AMOUNT_WORDS, find_money, period_word

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
#: Steps that show what Sadar holds and ask "Benar?": the summary, and the fields read from a
#: KTP photo (issue 30). A field named there with another value corrects what is shown.
CONFIRMING_STEPS = frozenset({"registration_confirmed", "ktp_photo_confirmed"})
YES_NO_STEPS = frozenset({"consent_given", "with_jht", *CONFIRMING_STEPS})
#: Questions the bot can answer in the middle of a form (responses utter_answer_<intent>).
QUESTION_INTENTS = frozenset(
    {
        "ask_human", "ask_about_programme", "ask_contribution", "ask_premium_for_income",
        "ask_jkk", "ask_jkm", "ask_jht", "ask_scholarship", "ask_requirements",
        "ask_payment_channels", "ask_due_date", "ask_arrears", "ask_claim", "ask_kpj",
    }
)  # fmt: skip
#: Intents the dialogue rules handle at any step (the form steps aside for them).
#: A KTP photo (the gateway's payloads) is the registration form's, or a rule's elsewhere.
RULE_INTENTS = frozenset(
    {"stop_reminders", "resume_reminders", "bot_challenge", "ktp_photo", "ktp_photo_read"}
)
CONFIDENT = 0.6
#: Above the FallbackClassifier's threshold (config.yml) a rule intent is what Rasa acts on:
#: at a free-text step it outranks the field ("stop pengingat" is never a village).
RULES_ACT = 0.45


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
    #: "salah" and nothing else: which field is wrong is asked, then the pending question.
    WHAT_TO_CORRECT = "what_to_correct"


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
class PartialDate(Unparsed):
    """Only some parts of a birth date ('tahunnya 82', 'bulannya 9'): not a date on its own,
    but they change the date typed before when the form can recover it."""

    parts: tuple[DateParts, ...] = ()


@dataclass(frozen=True)
class AgreedToOffer:
    """A yes where a value is asked ("iya segitu lah" after a day's income was turned into
    a monthly figure): the value the bot offered, which only the form knows."""


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

#: Words that agree ("mau", "ikut", "purun"): negated by a negation before them.
_YES_WORDS = frozenset(_WORDS["yes_no"]["yes_words"])
#: Acknowledgements ("iya", "nggih", "muhun"): a yes alone, a particle beside a no.
_YES_PARTICLES = frozenset(_WORDS["yes_no"]["yes_particles"])
_NO_WORDS = frozenset(_WORDS["yes_no"]["no_words"])
#: Deferrals ("nanti", "pikir2", "lain kali"): never a yes.
_HEDGE_WORDS = frozenset(_WORDS["yes_no"]["hedge_words"])
_HEDGE_PHRASES = tuple(_WORDS["yes_no"]["hedge_phrases"])
#: Phrases that settle yes/no before single words are looked at ("ya, tanpa JHT" is a no).
_NO_PHRASES = tuple(_WORDS["yes_no"]["no_phrases"])
_YES_PHRASES = tuple(_WORDS["yes_no"]["yes_phrases"])
#: "fine" after a negation ("tidak apa-apa", "teu nanaon") and in one word ("gpp").
_YES_AFTER_NO = tuple(_WORDS["yes_no"]["yes_after_no"])
_FINE_NEGATIONS = tuple(_WORDS["yes_no"]["fine_negations"])
_YES_IDIOMS = tuple(_WORDS["yes_no"]["yes_idioms"])
_YES_EMOJI = tuple(_WORDS["yes_no"]["yes_emoji"])
_NO_EMOJI = tuple(_WORDS["yes_no"]["no_emoji"])
#: Words that make a question wherever they stand ...
_QUESTION_WORDS = frozenset(_WORDS["question"]["words"])
#: ... and words that do so only at the start or the end ("apa aja" is an answer).
_WEAK_QUESTION_WORDS = frozenset(_WORDS["question"]["weak_words"])
_QUESTION_PHRASES = tuple(_WORDS["question"]["phrases"])
#: "wajib ga sih", "bisa gak", "harus tidak": a word then its negation asks which it is.
_EITHER_OR_HEADS = tuple(_WORDS["question"]["either_or_heads"])
_EITHER_OR = re.compile(
    r"(?<![a-z0-9])(?:"
    + "|".join(re.escape(head) for head in _EITHER_OR_HEADS)
    + r")\s+(?:ga|gak|nggak|enggak|engga|tidak|tdk|ndak|ora|teu|henteu)(?![a-z0-9])"
)
#: Topic words for questions the NLU did not label confidently, first match wins.
_TOPICS = tuple((intent, tuple(words)) for intent, words in _WORDS["question"]["topics"].items())
_PAY_WORDS = tuple(_WORDS["question"]["paying_how"]["pay"])
_HOW_WORDS = tuple(_WORDS["question"]["paying_how"]["how"])
#: Informal endings on a topic word: "berapaan" (about how much), "biayanya", "mayarna".
_TOPIC_ENDINGS = r"(?:an|nya|na|ne|e)?"


def _has_topic(folded: str, phrases: tuple[str, ...]) -> bool:
    return any(
        re.search(rf"(?<![a-z0-9]){re.escape(p)}{_TOPIC_ENDINGS}(?![a-z0-9])", folded)
        for p in phrases
    )


_CANCEL_PHRASES = tuple(_WORDS["cancel"]["phrases"])
_CANCELLING_NEGATIONS = _NO_WORDS - frozenset(_WORDS["cancel"]["not_a_negation_here"])
_NEGATED_GOING_AHEAD = re.compile(
    r"(?<![a-z0-9])(?:"
    + "|".join(re.escape(word) for word in sorted(_CANCELLING_NEGATIONS, key=len, reverse=True))
    + r")\s+(?:"
    + "|".join(re.escape(word) for word in _WORDS["cancel"]["after_a_negation"])
    + r")(?![a-z0-9])"
)
#: Words that make a message something other than a name or a place (intent first).
_NOT_A_FIELD = tuple(_WORDS["intent_first"]["not_a_field"])
_PERSON_WORDS = frozenset(_WORDS["intent_first"]["person_words"])
_CONTACT_WORDS = frozenset(_WORDS["intent_first"]["contact_words"])
_NAME_COMMENTARY = tuple(_WORDS["intent_first"]["name_commentary"])
_CORRECTION_FILLER = frozenset(_WORDS["intent_first"]["correction_filler"])
_SMALL_TALK = frozenset(_WORDS["small_talk"]["words"])
#: Ways of addressing the bot that carry no meaning ("iya kak", "halo min").
_ADDRESS = frozenset(_WORDS["small_talk"]["address"])
#: Words that name a field, for corrections and labelled values ("penghasilan 2 juta").
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    name: tuple(words) for name, words in _WORDS["field_words"].items()
}
_CORRECTION_CUES = re.compile(
    r"\b(?:salah|keliru|kliru|lepat|ralat|koreksi|ganti|ganti(?:kan)?|ubah|rubah|perbaiki|betulkan|"
    r"harusnya|seharusnya|mestinya|yang\s+benar|yg\s+benar|yang\s+bener|yg\s+bener|"
    r"maksud\s+saya|maksudnya|bukan|dudu|udu|sanes)\b",
    re.I,
)
#: "Bektiharjo bukan Tegalagung", "desaku X dudu Y" (Javanese), "sanes Y" (Sundanese): the
#: words after it are the value being rejected, never the new one.
_REJECTION = re.compile(r"\b(?:bukan|bkn|dudu|udu|sanes)\b", re.I)
#: A field word may carry a possessive: "desaku", "desane", "desanya", "taunnyo", "desana".
POSSESSIVE = r"(?:\s?nya|nyo|ku|mu|ne|na|e)?"
_FREE_TEXT_STEPS = frozenset({"full_name", "village", "district", "regency"})
_VILLAGE_PREFIX = re.compile(
    rf"^(?:(?:desa|ds\.?|kelurahan|kel\.?){POSSESSIVE}(?:\s+{SELF_WORDS})?|dari|di|tinggal di)\s+",
    re.I,
)


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
    # "tidak apa-apa", "kapan-kapan" ask nothing; punctuation is no word.
    words = [w for w in _plain(fold(text)).split() if w not in (",", ".", ";", "!")]
    if not words:
        return False
    if set(words) & _QUESTION_WORDS or _has_phrase(fold(text), _QUESTION_PHRASES):
        return True
    if _EITHER_OR.search(fold(text)):
        return True
    if words[0] in _WEAK_QUESTION_WORDS or words[-1] in _WEAK_QUESTION_WORDS:
        return True
    return bool(set(words) & _WEAK_QUESTION_WORDS) and (
        message.intent in QUESTION_INTENTS and message.confidence >= CONFIDENT
    )


# Markers the yes/no reader puts in place of phrases (no word of a message looks like them).
_FINE, _YES_PHRASE, _NO_PHRASE, _HEDGE = "<fine>", "<yes>", "<no>", "<later>"
#: Where a negation stops reaching: "tidak, saya mau" is two clauses.
_CLAUSE_ENDS = frozenset({",", ".", ";", "!", "tapi", "tp", "tetapi", "namun", "cuma", "tapinya"})


def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Whole phrases, the longest first, never inside a marker or another word."""
    return re.compile(rf"(?<![a-z0-9'<])(?:{_alternatives(phrases)})(?![a-z0-9'>])")


def _alternatives(phrases: tuple[str, ...]) -> str:
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


_FINE_PATTERN = re.compile(
    rf"(?<![a-z0-9'])(?:{_alternatives(_FINE_NEGATIONS)}) (?:{_alternatives(_YES_AFTER_NO)})"
    r"(?![a-z0-9'])"
)
_IDIOM_PATTERN = _phrase_pattern(_YES_IDIOMS)
_NO_PHRASE_PATTERN = _phrase_pattern(_NO_PHRASES)
_YES_PHRASE_PATTERN = _phrase_pattern(_YES_PHRASES)
_HEDGE_PHRASE_PATTERN = _phrase_pattern(_HEDGE_PHRASES)


def _tokens(folded: str) -> list[str]:
    """Words and clause punctuation, doubled words written out ("pikir2" -> "pikir pikir")."""
    tokens: list[str] = []
    for token in re.findall(r"[a-z0-9'+]+|[,.;!]", folded):
        doubled = re.fullmatch(r"([a-z]{2,})2", token)
        tokens += [doubled[1], doubled[1]] if doubled else [token]
    return tokens


def _plain(folded: str) -> str:
    """The words with "fine" phrases ("gak apa-apa", "gpp") and deferrals ("kapan-kapan")
    replaced by one word each, so that neither their negation nor their "apa" misleads."""
    text = " ".join(_tokens(folded))
    text = _FINE_PATTERN.sub("gpp", text)
    return _HEDGE_PHRASE_PATTERN.sub("nanti", text)


def _marked(folded: str) -> list[str]:
    """The message's words with its known phrases replaced by markers, in text order."""
    text = " ".join(_tokens(folded))
    text = _FINE_PATTERN.sub(_FINE, text)
    text = _IDIOM_PATTERN.sub(_FINE, text)
    text = _NO_PHRASE_PATTERN.sub(_NO_PHRASE, text)
    text = _YES_PHRASE_PATTERN.sub(_YES_PHRASE, text)
    text = _HEDGE_PHRASE_PATTERN.sub(_HEDGE, text)
    return text.split()


def yes_no(message: Message) -> bool | None:
    """True, False, or None when the message is neither (or a question): the one reader
    of a yes or a no, at every yes/no step, for residents and agents alike.

    Read by meaning: a negation turns the agreeing words after it in its clause into a no
    ("tidak ikut jht", "ora gelem", "teu hoyong"); a deferral is a no ("nanti dulu",
    "lain kali"); a known phrase settles it ("jkk jkm aja", "tidak apa-apa"). A message with
    both an agreeing word and a negation or deferral that no phrase settles is None, so the
    question is asked again: a no is never read as a yes."""
    text = message.text.strip()
    if text in ("/affirm", "/deny"):
        return text == "/affirm"
    if is_question(message):
        return None
    agreed = agreed_by_phrase = acknowledged = refused = deferred = settled_no = False
    negating = False
    for token in _marked(fold(text)):
        if token in _CLAUSE_ENDS:
            negating = False
        elif token == _NO_PHRASE:
            settled_no = negating = True
        elif token == _FINE:
            acknowledged = True
        elif token == _HEDGE or _in(token, _HEDGE_WORDS):
            deferred = True
        elif _in(token, _NO_WORDS):
            refused = negating = True
        elif token == _YES_PHRASE or _in(token, _YES_WORDS):
            if negating:
                refused = True
            else:
                agreed = True
                agreed_by_phrase = agreed_by_phrase or token == _YES_PHRASE
        elif _in(token, _YES_PARTICLES) and not negating:
            acknowledged = True
    if settled_no:  # "ya, tanpa jht" is a no; "tanpa jht ... pakai jht" is neither
        return None if agreed_by_phrase else False
    if refused or deferred:
        return None if agreed else False
    if agreed or acknowledged:
        return True
    if any(e in text for e in _NO_EMOJI):
        return False
    if any(e in text for e in _YES_EMOJI):
        return True
    words = words_of(text)
    if message.intent in ("affirm", "deny") and message.confidence >= CONFIDENT and len(words) <= 4:
        return message.intent == "affirm"
    return None


def wants_to_cancel(message: Message) -> bool:
    if message.text.strip() == "/cancel":
        return True
    folded = fold(message.text)
    if _has_phrase(folded, _CANCEL_PHRASES) or _NEGATED_GOING_AHEAD.search(folded):
        return True
    return message.intent == "cancel" and message.confidence >= 0.8


_JOIN = re.compile(
    r"\b(?:daftar|daptar|mendaftar|daftarkan\s+saya|daftarin\s+saya|registrasi|ikut(?:an)?|"
    r"gabung|melu|jadi\s+peserta|menjadi\s+peserta|"
    # Javanese, Sundanese, Minang, Banjar: ndaftar, ngadaptar, ngiring, tumut, ikuik, umpat
    r"ndaftar|ngadaptar|ngadaftar|mandaftar|badaftar|ndherek|tumut|ngiring|ikuik|umpat|"
    r"dados\s+peserta|janten\s+peserta|dadi\s+peserta)\b",
    re.I,
)
_WISH = re.compile(
    r"\b(?:mau|mao|ingin|pengen|pengin|pingin|kepingin|pgn|badhe|bade|arep|minta|tolong|siap|"
    r"kersa|ajeng|hoyong|nio|nak|handak|hakun|gelem|disuruh|dikon|diminta|harus|wajib|kudu)\b",
    re.I,
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


#: Topics more specific than "what is the programme": named by the words, they win over
#: the classifier's generic ask_about_programme ("apa untungnya ikut jht" asks about JHT).
_SPECIFIC_TOPICS = frozenset(
    {
        "ask_jht", "ask_jkk", "ask_jkm", "ask_claim", "ask_contribution",
        "ask_payment_channels", "ask_due_date", "ask_requirements",
    }
)  # fmt: skip


def question_topic(message: Message) -> str | None:
    """The question intent to answer; None when neither the classifier (confidently) nor a
    topic word says what the question is about."""
    if message.intent in QUESTION_INTENTS and message.confidence >= 0.5:
        if message.intent == "ask_about_programme":
            named = _topic_in_words(fold(message.text))
            if named in _SPECIFIC_TOPICS:
                return named
        return message.intent
    # Registering a spouse or a parent (no phone): answered in the form too.
    if message.intent == "register_someone_else" and message.confidence >= 0.5:
        return message.intent
    # Another service (BPJS Kesehatan, a loan, bansos): "out_of_scope", answered with where
    # to go for it, before a topic word ("bpjs") could make it a programme question.
    if outside_topic(message.text) is not None or (
        message.intent == "out_of_scope" and message.confidence >= CONFIDENT
    ):
        return "out_of_scope"
    return _topic_in_words(fold(message.text))


def _topic_in_words(folded: str) -> str | None:
    if _has_topic(folded, _PAY_WORDS) and _has_phrase(folded, _HOW_WORDS):
        return "ask_payment_channels"
    for intent, words in _TOPICS:
        if _has_topic(folded, words):
            return intent
    return None


def asks_how_to_join(message: Message) -> bool:
    """ "caranya gimana daftarnya", "piye carane melu": how to register, which starting the
    registration answers, whatever topic the message also names."""
    folded = fold(message.text)
    joins = _JOIN.search(folded) or re.search(r"\bda[fp]tar(?:nya|e|na)\b", folded)
    return bool(joins) and (_has_phrase(folded, _HOW_WORDS) or "cara" in words_of(folded))


def asks_for_a_person(message: Message) -> bool:
    """ "mau bicara sama petugas", "sambungkan ke agen": a person word and a way of reaching
    them, whatever the classifier made of it."""
    words = {re.sub(r"(?<=[a-z]{3})nya$", "", word) for word in words_of(message.text)}
    return bool(words & _PERSON_WORDS) and bool(words & _CONTACT_WORDS)


def _plainly_not_a_field(text: str) -> bool:
    """A refusal, a deferral, a reminder or programme word: no name or place says these."""
    return _has_phrase(" ".join(_tokens(fold(text))), _NOT_A_FIELD)


def _only_yes_or_no(text: str) -> bool:
    """ "ya benar", "iya kak", "tidak": an answer to a yes/no question, no name or place."""
    words = [w for w in words_of(text) if w != "?" and not _in(w, _ADDRESS)]
    said = _YES_WORDS | _YES_PARTICLES | _NO_WORDS
    return bool(words) and len(words) <= 3 and all(_in(w, said) for w in words)


def _without_other_steps(text: str) -> str:
    """The message without its clauses that answer another yes/no step ("Karanglo, ga usah
    jht" -> "Karanglo"): what is left is read as the free-text field."""
    jht = FIELD_WORDS["with_jht"]
    if not _has_phrase(fold(text), jht):
        return text
    clauses = re.split(r"[,;\n]|\.\s|\b(?:tapi|tp|terus|trus|dan)\b", text, flags=re.I)
    kept = [c for c in clauses if not _has_phrase(fold(c), jht)]
    return ", ".join(c.strip() for c in kept if c.strip())


def _name_part(text: str) -> str:
    """The part of a message that can hold a name: before any digit (a NIK, a date), a
    bracket ("Sumarmi (pake m)") and spelling commentary ("Sutinah pakai h di belakang")."""
    text = re.split(r"[\d(\[]", text, maxsplit=1)[0]  # a digit, or a remark in brackets
    folded = fold(text)
    cut = len(text)
    for cue in _NAME_COMMENTARY:
        match = re.search(rf"(?<![a-z0-9]){re.escape(cue)}(?![a-z0-9])", folded)
        if match and match.start() > 0:
            cut = min(cut, match.start())
    return text[:cut]


def _only_a_complaint(name: str) -> bool:
    """ "salah", "yang salah", "bukan itu" read where a name was looked for: the message
    says which field is wrong ("namanya salah"), it gives no new name."""
    return _only_asks_what_to_correct(fold(name)) or set(words_of(fold(name))) <= {
        "yang", "itu", "bukan", "nya", "salah", "keliru", "kleru", "lepat",
    }  # fmt: skip


def _only_asks_what_to_correct(folded: str) -> bool:
    """ "salah", "eh ada yang salah kak": a correction with nothing in it to correct."""
    words = [w for w in words_of(folded) if w != "?"]
    return bool(words) and all(
        _CORRECTION_CUES.fullmatch(w) or w in _CORRECTION_FILLER or w in _ADDRESS for w in words
    )


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
    place = labelled_place(message.text)
    if place:  # "desa X kec. Y" says more than a bare village name the NLU found
        values["village"] = [place]
    if "declared_income" in values and not message.text.startswith("/"):
        # The NLU gives the amount only; the parser also says per what ("sehari 80 rb").
        periods = {int(f.value): f.period for f in find_money(message.text)}
        incomes = values["declared_income"]
        values["declared_income"] = [_income(v, periods.get(v)) for v in incomes]
    return values


def _income(amount: Any, period: str | None) -> Any:
    """A monthly amount as a number; any other period kept apart, never taken for a month."""
    if period is None or period == MONTH:
        return int(amount)
    return IncomePerPeriod(int(amount), period)


def _value_after(text: str, cue: re.Match[str] | None) -> str:
    return text[cue.end() :] if cue else text


_AFTER_CUE = re.compile(
    r"\b(?:tapi|tp|tpi|tetapi|melainkan|harusnya|seharusnya|mestinya|jadi|menjadi|yang\s+benar|"
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
            match = re.search(rf"(?<![a-z0-9]){re.escape(word)}{POSSESSIVE}(?![a-z0-9])", folded)
            if match:
                found.append((match.start(), name))
                break
    return [name for _, name in sorted(found)]


def _correction_value(name: str, message: Message, today: date, previous: Any = None) -> Any:
    """The new value of ``name`` in a correction: what follows 'tapi', 'harusnya', … ."""
    text = message.text
    tail = _value_after(text, _last_cue(text))
    if name == "full_name":
        after_name = re.search(
            r"\bnama\s*(?:saya|ku|lengkap|lengkap\s+saya|nya)?\s*(?:itu|adalah|:)?\s*", tail, re.I
        )
        candidate = tail[after_name.end() :] if after_name else tail
        candidate = _kept_part(candidate)
        candidate = _CORRECTION_CUES.sub("", candidate)
        candidate = re.sub(r"^(?:\W|eh|ehh|maaf|sori|sorry)+", "", candidate, flags=re.I)
        value = name_from_message(_name_part(candidate)) or None
        return None if value and _only_a_complaint(value) else value
    if name == "nik":
        niks = find_niks(tail) or find_niks(text)
        return niks[-1].value if niks else None
    if name == "phone":
        phones = find_phones(tail) or find_phones(text)
        return phones[-1].value if phones else None
    if name == "birth_date":
        dates = find_dates(tail, today) or find_dates(text, today)
        if dates:
            return dates[-1].value
        parts = find_date_parts(text, today)  # "salah, tahunnya 82": that part only
        return merge_date(previous, parts) if parts and previous else None
    if name == "declared_income":
        money = find_money(tail) or find_money("penghasilan " + tail)
        return _income(money[-1].value, money[-1].period) if money else None
    if name == "occupation":
        # "yg bener nelayan, bukan petani": the one rejected after "bukan" is not meant.
        found = find_occupations(_kept_part(tail)) or find_occupations(tail)
        return found[-1].value if found else closest_occupation(tail.strip(" .,!"))
    if name == "village":
        found = find_villages(tail)
        if found:
            return found[-1].value
        kept = _kept_part(_CORRECTION_CUES.sub("", _kept_part(tail), count=0))
        cleaned = _VILLAGE_PREFIX.sub("", re.sub(r"^(?:\W|eh|ehh)+", "", kept).strip(" .,!"))
        return cleaned.title() if len(cleaned) >= 3 else None
    if name == "with_jht":
        return yes_no(Message(tail))
    return None


_OPENERS = frozenset({"eh", "ehh", "eh maaf", "maaf", "sori", "sorry", "aduh"})
#: Where one clause ends and another begins: after a full stop (or ! ? ;), and before a
#: correction's opening word ("… 1,5jt eh kerjaan sy salah").
_CLAUSE_BREAK = re.compile(r"(?<=[.!?;\n])\s+|\s+(?=(?:eh|ehh|ralat|koreksi)\b)", re.I)


def _part_of(message: Message, start: int, length: int) -> Message:
    """The message cut to ``text[start:start+length]``, with the entities found there."""
    start = max(start, 0)
    end = start + length
    entities = tuple(
        replace(e, start=e.start - start, end=e.end - start)
        for e in message.entities
        if e.start is not None and e.end is not None and start <= e.start and e.end <= end
    )
    return replace(message, text=message.text[start:end], entities=entities)


def _clauses_without_correction(message: Message) -> Message | None:
    """The clauses of a correcting message that correct nothing, as one message (None when
    every clause corrects something, or the message is one clause)."""
    text = message.text
    spans: list[tuple[int, int]] = []
    begin = 0
    for cut in _CLAUSE_BREAK.finditer(text):
        spans.append((begin, cut.start()))
        begin = cut.end()
    spans.append((begin, len(text)))
    # "eh ralat, …": an opening "eh" belongs to the clause it opens.
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and fold(text[merged[-1][0] : merged[-1][1]]).strip(" ,.") in _OPENERS:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    spans = merged
    plain = [
        (a, b)
        for a, b in spans
        if text[a:b].strip(" .,;!?") and not _is_correction(fold(text[a:b].strip()))
    ]
    if len(spans) < 2 or not plain or len(plain) == len(spans):
        return None
    start, end = plain[0][0], plain[-1][1]
    if any(_is_correction(fold(text[a:b].strip())) for a, b in spans if start <= a < end):
        start, end = plain[0]  # a correction in between: the first plain clause only
    return _part_of(message, start, end - start)


def _kept_part(text: str) -> str:
    """The part of "X bukan Y" that is meant: before the rejection, or (when it opens the
    text, "bukan Y") nothing of it."""
    rejection = _REJECTION.search(text)
    return text[: rejection.start()] if rejection else text


def _is_correction(folded: str) -> bool:
    return bool(_CORRECTION_CUES.search(folded)) or folded.startswith(("eh ", "ehh ", "eh,"))


_EXTRA_NAME_PREFIX = re.compile(
    r"^\s*(?:jenengku|jeneng\s*kula|asmane|asma\s*kula|(?:nama\s*)?sesuai\s*ktp)\s*[:=]?\s*",
    re.I,
)


def name_in(text: str) -> str | None:
    """The name a message gives ('nama saya Budi, NIK …' -> 'Budi'; 'Budi 3523…' -> 'Budi')."""
    return name_from_message(_name_part(_EXTRA_NAME_PREFIX.sub("", text, count=1))) or None


_SELF_WORD = re.compile(SELF_WORDS)
#: A message that starts by labelling a name: "nama …", "namanya …", "namaku …", "nama: …".
_NAME_LABEL_FIRST = re.compile(rf"nama{POSSESSIVE}(?:\s*:|\s|$)")
_AREA_MARKER = re.compile(r"\b(?:kec|kecamatan|kab|kabupaten|kota)\b")


def _pending_answer(
    asking: str, message: Message, typed: dict[str, list[Any]], last: bool = False
) -> Any:
    """The answer to the question being asked, or None when the message holds none.
    ``last``: of several values of its kind, the last is meant (a correction came between)."""
    text = message.text.strip()
    if last and asking in ("nik", "birth_date", "phone"):
        cues = list(_CORRECTION_CUES.finditer(text))
        if cues and re.search(r"\d", text[cues[-1].end() :]):
            text = text[cues[-1].end() :].strip(" ,.:")  # "12-03-1976 eh salah, 12-03-1975"
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
    if asking == "occupation" and not text.startswith("/"):
        # The sender's own: not a role after "Pak"/"Bu" nor one after "bukan"; a title
        # before what they grow or sell (nlu/parsing/lookups.py, docs/conversation.md).
        return sender_occupation(text.strip(" .,!"))
    typed_whole = (
        asking == "village" and not text.startswith("/") and _AREA_MARKER.search(fold(text))
    )
    if asking in typed and not typed_whole:
        # (A village with its kecamatan or regency is read whole against the register.)
        return typed[asking][-1 if last else 0]
    if asking == "full_name":
        return name_in(text)
    if asking == "nik":
        return digits(text) if len(digits(text)) >= 6 else None
    if asking == "birth_date":
        return Unparsed(text) if re.search(r"\d", text) else None
    if asking == "phone":
        return Unparsed(text) if len(digits(text)) >= 6 else None
    if asking == "village":
        # Read against the national register by the form's check (bot/understanding/places.py).
        return text.strip(" .,!") or None
    if asking in ("district", "regency"):
        cleaned = re.sub(r"^(?:kec\.?|kecamatan|kab\.?|kabupaten|kota)\s+", "", text, flags=re.I)
        return cleaned.strip(" .,!").title() or None
    if asking == "occupation":
        return closest_occupation(text.strip(" .,!")) or None
    if asking == "declared_income":
        money = find_money("penghasilan " + text)
        if money:
            return _income(money[0].value, money[0].period)
        return AgreedToOffer() if yes_no(message) is True else None
    return None


def interpret(
    message: Message, asking: str | None, filled: Mapping[str, Any], today: date
) -> Reading:
    """What ``message`` means while the form asks ``asking`` (None: nothing asked yet, e.g.
    the first message), given the answers in ``filled`` (field -> value or None)."""
    text = message.text.strip()
    folded = fold(text)
    # Intents that outrank the field come first, at every step.
    rules_act = RULES_ACT if asking in _FREE_TEXT_STEPS else CONFIDENT
    if message.intent in RULE_INTENTS and message.confidence >= rules_act:
        return Reading(Meaning.LEAVE_TO_RULES)
    if wants_to_cancel(message) and "with_jht" not in _named_fields(folded):
        return Reading(Meaning.CANCEL)  # "gak jadi ikut jht" is a no to JHT, not a stop
    if is_question(message):
        return Reading(Meaning.QUESTION, topic=question_topic(message))
    if text.startswith("/") and message.intent in QUESTION_INTENTS:
        return Reading(Meaning.QUESTION, topic=message.intent)
    if asking is not None and asks_for_a_person(message):
        return Reading(Meaning.QUESTION, topic="ask_human")

    if (
        asking in _FREE_TEXT_STEPS
        and message.intent in QUESTION_INTENTS
        and message.confidence >= 0.8
        and not _named_fields(folded)
        and not labelled_place(text)  # "kel. kebon jeruk" is a place, whatever it sounds like
    ):
        return Reading(Meaning.QUESTION, topic=message.intent)

    typed = _typed_values(message, today)
    corrections: dict[str, Any] = {}
    given: dict[str, Any] = {}
    answer: Any = None

    date_parts: list[DateParts] = []
    if "birth_date" not in typed and not find_dates(text, today):
        date_parts = find_date_parts(text, today)
    correcting = _is_correction(folded) or any(p.referential for p in date_parts)
    named = _named_fields(folded)
    if correcting:
        for name in named:
            if filled.get(name) is not None and name != asking:
                value = _correction_value(name, message, today, filled.get(name))
                if value is not None and value != filled.get(name):
                    corrections[name] = value
        if date_parts and filled.get("birth_date") and "birth_date" not in corrections:
            merged = merge_date(filled["birth_date"], date_parts)  # "eh tahunnya 81"
            if merged is not None and merged != filled["birth_date"] and asking != "birth_date":
                corrections["birth_date"] = merged
        if not corrections and not named:
            # "eh bukan petani tapi nelayan": the value's kind says which field it corrects;
            # the value meant is the one after the cue, not the one rejected ("bukan …").
            meant = _kept_part(_value_after(text, _last_cue(text)))
            meant_typed = _typed_values(_part_of(message, text.find(meant), len(meant)), today)
            for name, values in (meant_typed or typed).items():
                if name != asking and filled.get(name) is not None and values[-1] != filled[name]:
                    corrections[name] = values[-1]
        if not corrections and filled.get("full_name") and "full_name" in named:
            value = _correction_value("full_name", message, today)
            if value and value != filled.get("full_name"):
                corrections["full_name"] = value

    if (
        correcting
        and not corrections
        and asking is not None
        and asking not in YES_NO_STEPS
        and _only_asks_what_to_correct(folded)
    ):
        return Reading(Meaning.WHAT_TO_CORRECT)

    if asking is not None and corrections and asking not in CONFIRMING_STEPS:
        # "eh ralat, namanya Sri W. nik 3523…": the correction in one clause, the answer to
        # the question asked in another.
        rest = _clauses_without_correction(message)
        if rest is not None:
            pending = _pending_answer(asking, rest, _typed_values(rest, today), last=True)
            if pending is not None and pending not in corrections.values():
                answer = pending
    if asking is not None and not corrections:
        if asking in _FREE_TEXT_STEPS and is_small_talk(message):
            return Reading(Meaning.SMALL_TALK)
        if asking in _FREE_TEXT_STEPS:
            # Another step's answer given early ("ga usah jht") and refusals are no field.
            own = _without_other_steps(text)
            plain = bool(own) and not _plainly_not_a_field(own) and not _only_yes_or_no(own)
            answer = _pending_answer(asking, replace(message, text=own), typed) if plain else None
        else:
            # "12-03-1976 eh salah, 12-03-1975": what follows the correction is meant.
            answer = _pending_answer(asking, message, typed, last=correcting)
        if asking == "birth_date" and date_parts and not isinstance(answer, str):
            answer = PartialDate(text, tuple(date_parts))
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
    elif asking is not None and corrections and asking in YES_NO_STEPS and answer is None:
        # "penghasilan saya salah, harusnya 2 juta" at the JHT question is no yes/no.
        answer = None

    # Other fields the message carries (typed values, and a labelled name).
    for name, values in typed.items():
        if name == asking or name in corrections:
            continue
        if asking == "village" and answer is not None and _part_of_a_place(message, name):
            continue  # "Kebun Agung", "Nambak Wetan": a village's name, not an occupation
        value = values[-1] if name in named or len(values) == 1 else values[0]
        if filled.get(name) is None:
            given[name] = value
        elif value != filled.get(name) and (
            asking in CONFIRMING_STEPS or name in named or text.startswith("/")
        ):
            corrections[name] = value  # said so, or a button's payload (another village)
    if asking != "full_name" and "full_name" not in corrections and _NAME_LABEL_FIRST.match(folded):
        name = name_from_message(text)
        if name and not _only_a_complaint(name):
            if filled.get("full_name") is None:
                given["full_name"] = name
            elif name != filled.get("full_name"):
                corrections["full_name"] = name
    if asking in CONFIRMING_STEPS and corrections:
        answer = None
    if "with_jht" in named and asking != "with_jht" and "with_jht" not in corrections:
        value = yes_no(Message(text))
        if value is not None and filled.get("with_jht") is None and asking is not None:
            given["with_jht"] = value
        elif value is not None and filled.get("with_jht") not in (None, value):
            corrections["with_jht"] = value
            if asking in CONFIRMING_STEPS:
                answer = None

    if answer is None and not given and not corrections:
        if message.intent in QUESTION_INTENTS and message.confidence >= 0.5:
            return Reading(Meaning.QUESTION, topic=message.intent)
        if asking is None:
            return Reading(Meaning.NOT_UNDERSTOOD)
        if is_small_talk(message):
            return Reading(Meaning.SMALL_TALK)
        if asking == "village" and _only_yes_or_no(text):
            # "iya benar" while the village is still asked: it is not settled yet.
            return Reading(Meaning.NOT_UNDERSTOOD, problem="village_not_settled")
        return Reading(Meaning.NOT_UNDERSTOOD, problem=f"invalid_{asking}")
    return Reading(Meaning.ANSWER, answer=answer, given=given, corrections=corrections)


def _part_of_a_place(message: Message, name: str) -> bool:
    """An occupation word inside a longer clause of the village answer ("Kebun Agung, kec.
    …") is part of the place's name; one standing alone ("Karanglo, petani") is an answer
    to the occupation step given early."""
    if name != "occupation" or "occupation" in _named_fields(fold(message.text)):
        return False
    for entity in message.entities:
        if entity.name != "occupation" or entity.start is None or entity.end is None:
            continue
        start = max(message.text.rfind(mark, 0, entity.start) for mark in ",;\n.") + 1
        ends = [i for i in (message.text.find(m, entity.end) for m in ",;\n.") if i >= 0]
        clause = message.text[start : min(ends, default=len(message.text))]
        rest = clause.replace(message.text[entity.start : entity.end], " ")
        if any(
            w.isalpha() and not _SELF_WORD.fullmatch(w) and not _in(w, _ADDRESS)
            for w in words_of(rest)
        ):
            return True
    return False


def _mostly_other_fields(asking: str, message: Message, typed: dict[str, list[Any]]) -> bool:
    """A free-text answer that is really other fields ('saya petani' at the village step)."""
    others = {
        k
        for k in typed
        if k != asking and not (asking == "village" and _part_of_a_place(message, k))
    }
    if not others:
        return False
    if not _words_outside_values(message):
        return True  # "sejutaan", "17-08-1980": the whole message is another field's value
    if asking == "full_name":
        says_what_they_do = message.text.strip().lower().startswith(("saya ", "sy ", "aku "))
        return not name_in(message.text) or (
            says_what_they_do and not re.search(r"\bnama\b", message.text, re.I)
        )
    return True


def _words_outside_values(message: Message) -> list[str]:
    """The words a message has besides the values the NLU found in it (amounts, dates,
    numbers, occupations, the period of an income: "sehari"), fillers and ways of
    addressing the bot left out."""
    text = message.text
    for entity in sorted(message.entities, key=lambda e: -(e.start or 0)):
        if entity.start is not None and entity.end is not None and entity.name != "village":
            text = text[: entity.start] + " " + text[entity.end :]
    return [
        word
        for word in words_of(text)
        if word != "?"
        and not _in(word, _ADDRESS)
        and not any(ch.isdigit() for ch in word)
        and word not in AMOUNT_WORDS
        and period_word(word) is None
        and len(word) > 1
    ]


def _unlabelled_name(text: str, fields_given: int) -> str | None:
    """ "mau daftar. Bayu Saputra, 3523…, ngojek, desa Jenu": among fields written one after
    another, the part that is only capitalised words is the name. A name introduced by
    "sy"/"kulo"/"ambo" or after a colon ("ada warga: Tarmuji, nik …") may be one word and
    needs one other field; a bare run of capitalised words needs two, so a lone "Jenu" is
    never taken for one."""
    for chunk in re.split(r"[,;.:\n]", text):
        introduced = _SELF_INTRODUCTION.match(chunk)
        words = chunk[introduced.end() :].split() if introduced else chunk.split()
        after_colon = ":" in text and text.split(":", 1)[1].lstrip().startswith(chunk.strip())
        shortest = 1 if (introduced or after_colon) else 2
        if fields_given < (1 if shortest == 1 else 2) or not shortest <= len(words) <= 4:
            continue
        if not all(w.isalpha() and w[0].isupper() for w in words):
            continue
        probe = Message(chunk)
        if _JOIN.search(chunk) or _WISH.search(chunk) or is_small_talk(probe):
            continue
        if find_occupations(chunk) or labelled_place(chunk) or _named_fields(fold(chunk)):
            continue
        return name_from_message(" ".join(words)) or None
    return None


def _place_with_its_district(text: str, register: PlaceRegister) -> str | None:
    for match in re.finditer(r"\b(?:di|dari|asal)\s+([^,.;:\n]+)", text, re.I):
        reading = read_place(match.group(1), register)
        if reading.place is not None and reading.words.district:
            return match.group(1).strip()
    return None


_SELF_INTRODUCTION = re.compile(rf"^\s*{SELF_WORDS}\s+", re.I)


def early_fields(
    message: Message, today: date, register: PlaceRegister | None = None
) -> dict[str, Any]:
    """Fields in a first message ("sy mau daftar, nama …, nik …") kept until consent. With
    the register, an unmarked place is kept too when it names a village with its kecamatan
    ("nelayan di karangagung palang"): a pair the register knows is no accident."""
    reading = interpret(message, None, {}, today)
    fields = dict(reading.given)
    if register is not None and "village" not in fields:
        place = _place_with_its_district(message.text, register)
        if place:
            fields["village"] = place
    name = re.search(r"\bnama\s*(?:saya|ku|lengkap)?\s*:?\s*", message.text, re.I)
    if name:
        value = name_from_message(message.text[name.start() :])
        if value:
            fields["full_name"] = value
    elif fields:
        unlabelled = _unlabelled_name(message.text, len(fields))
        if unlabelled:
            fields["full_name"] = unlabelled
    return {
        k: v for k, v in fields.items() if k in FIELDS and not isinstance(v, IncomePerPeriod)
    }  # an income per day is confirmed as a monthly figure at its own question
