"""The interpreter's word lists are data (nlu/lookups/words.toml). Moving them out of
bot/understanding/interpreter.py must not change one word, nor the order of the ordered
ones (phrases are tried in order, topics and field words first match wins)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.understanding import interpreter

#: SHA-256 of the canonical form below, taken from the lists as they were written in
#: interpreter.py before the move. A deliberate change of the words updates it. Last: the
#: regional yes/no words, and JKM topic words in Javanese krama (pejah, seda) and "mati".
SNAPSHOT = "e94ccd6dcf7639adf3a1195a67555810154e3c725cef0374f86fb111378d11df"

NAMES = (
    "_YES_WORDS", "_NO_WORDS", "_NO_PHRASES", "_YES_PHRASES", "_YES_EMOJI", "_NO_EMOJI",
    "_QUESTION_WORDS", "_WEAK_QUESTION_WORDS", "_QUESTION_PHRASES", "_CANCEL_PHRASES",
    "_SMALL_TALK", "FIELD_WORDS", "_TOPICS", "_ADDRESS",
    # Issue 27: yes/no by meaning (particles, deferrals, "fine" after a negation) and the
    # words read before a free-text field.
    "_YES_PARTICLES", "_HEDGE_WORDS", "_HEDGE_PHRASES", "_YES_AFTER_NO", "_YES_IDIOMS",
    "_NOT_A_FIELD", "_PERSON_WORDS", "_CONTACT_WORDS", "_NAME_COMMENTARY",
    "_CORRECTION_FILLER", "_FINE_NEGATIONS", "_EITHER_OR_HEADS",
)  # fmt: skip


def canonical(value: Any) -> Any:
    """Sets sorted (their order means nothing), everything else in its order."""
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return [[key, canonical(item)] for key, item in value.items()]
    if isinstance(value, tuple | list):
        return [canonical(item) for item in value]
    return value


def test_the_word_lists_are_the_ones_the_interpreter_used() -> None:
    values = {name: getattr(interpreter, name) for name in NAMES}
    lists = {name: [type(value).__name__, canonical(value)] for name, value in values.items()}
    text = json.dumps(lists, ensure_ascii=False, sort_keys=True)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == SNAPSHOT
