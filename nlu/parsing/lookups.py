"""Occupations (canonical list with synonyms and regional words) and village names, read
from the CSV files in nlu/lookups/. The village file is the seed of the village table.

A trade said as a verb in the resident's own morphology ("manggaleh kain", "bejualan iwak",
"ngurus sawah", "bahuma") is read by rule from nlu/lookups/occupation_words.json: a stem
with its affixes, and the object after it when the stem alone does not say the trade."""

from __future__ import annotations

import bisect
import csv
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlu.parsing.common import Found, fold, overlaps, word_pattern

LOOKUP_DIR = Path(__file__).resolve().parent.parent / "lookups"


@dataclass(frozen=True)
class Occupation:
    code: str
    label: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Village:
    name: str
    district: str
    regency: str
    province: str
    regency_code: str  # first four NIK digits of people living there


@lru_cache(maxsize=1)
def occupations() -> tuple[Occupation, ...]:
    with (LOOKUP_DIR / "occupations.csv").open(encoding="utf-8") as f:
        return tuple(
            Occupation(
                row["code"], row["label"], tuple(s.strip() for s in row["synonyms"].split("|"))
            )
            for row in csv.DictReader(f)
        )


@lru_cache(maxsize=1)
def villages() -> tuple[Village, ...]:
    with (LOOKUP_DIR / "villages.csv").open(encoding="utf-8") as f:
        return tuple(
            Village(
                row["name"], row["district"], row["regency"], row["province"], row["regency_code"]
            )
            for row in csv.DictReader(f)
        )


@dataclass(frozen=True)
class PhraseIndex:
    """Phrases (lower-case) mapped to a canonical value, and one pattern matching them all."""

    entity: str
    by_phrase: dict[str, str]
    pattern: re.Pattern[str]

    @classmethod
    def build(cls, entity: str, by_phrase: dict[str, str]) -> PhraseIndex:
        return cls(entity, by_phrase, word_pattern(list(by_phrase)))

    def find(self, text: str) -> list[Found]:
        return [
            Found(
                self.entity,
                self.by_phrase[m.group(1)],
                m.start(),
                m.end(),
                text[m.start() : m.end()],
            )
            for m in self.pattern.finditer(fold(text))
        ]


@lru_cache(maxsize=1)
def _occupation_index() -> PhraseIndex:
    return PhraseIndex.build(
        "occupation",
        {
            synonym.lower(): occupation.code
            for occupation in occupations()
            for synonym in (*occupation.synonyms, occupation.code.replace("_", " "))
        },
    )


@lru_cache(maxsize=1)
def _village_index() -> PhraseIndex:
    return PhraseIndex.build("village", {v.name.lower(): v.name for v in villages()})


def find_occupations(text: str) -> list[Found]:
    """The sender's occupations in ``text``, in text order: catalogue phrases and trades
    said as verbs, the longest reading of a span first. A role right after an honorific
    ("Pak RT", "bu lurah") is someone else's and left out; when the sender names a title
    ("petani", "penjual") that no negation precedes, what they do or sell ("jualan sayur")
    is left out."""
    words = _occupation_words()
    folded = fold(text)
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(folded)]
    starts = [start for start, _, _ in tokens]
    candidates = [
        _Candidate(found, _is_title(found.text.lower(), words), rank=0)
        for found in _occupation_index().find(text)
    ]
    candidates += _read_verbs(text, tokens, words)
    kept: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: (c.found.start - c.found.end, c.rank)):
        if not any(overlaps(candidate.found, k.found) for k in kept):
            kept.append(candidate)
    kept = [
        c
        for c in kept
        if not _someone_elses(c.found, tokens, starts, words)
        and not _in_place_name(c.found.start, tokens, starts, words)
    ]
    if any(c.title and not _negated(c.found.start, tokens, starts, words) for c in kept):
        kept = [c for c in kept if c.title]
    return sorted((c.found for c in kept), key=lambda f: f.start)


def sender_occupation(text: str) -> str | None:
    """The occupation the sender gives as their own: the first one found that no negation
    precedes ("eh bukan petani tapi nelayan" is a fisher; "bukan petani" alone is none),
    else the closest catalogue phrase to a typo ("nelayn")."""
    found = find_occupations(text)
    if found:
        folded = fold(text)
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(folded)]
        starts = [start for start, _, _ in tokens]
        words = _occupation_words()
        own = [f for f in found if not _negated(f.start, tokens, starts, words)]
        return str(own[0].value) if own else None
    return closest_occupation(text)


def find_villages(text: str) -> list[Found]:
    return _village_index().find(text)


def closest_occupation(text: str, cutoff: float = 0.8) -> str | None:
    """The canonical code whose synonym is closest to ``text`` ('nelayn' -> 'nelayan')."""
    import difflib

    index = _occupation_index()
    found = find_occupations(text)
    if found:
        return str(found[0].value)
    phrases = list(index.by_phrase)
    match = difflib.get_close_matches(fold(text).strip(), phrases, n=1, cutoff=cutoff)
    return index.by_phrase[match[0]] if match else None


def village_by_name(name: str) -> Village | None:
    wanted = fold(name).strip()
    return next((v for v in villages() if v.name.lower() == wanted), None)


def villages_in_regency(regency_code: str) -> list[Village]:
    """Known villages of the regency a NIK was issued in (its first four digits)."""
    return [v for v in villages() if v.regency_code == regency_code]


def occupation_label(code: str) -> str:
    return next((o.label for o in occupations() if o.code == code), code)


# --- trades said as verbs ----------------------------------------------------------------
# The words are data (nlu/lookups/occupation_words.json); docs/conversation.md has the rule.

_TOKEN = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]")
Token = tuple[int, int, str]
#: A place written as a verb ("bersawah", "melaut") reads as working it: this class's objects.
PLACE_VERB = "tend"


@dataclass(frozen=True)
class Verb:
    """A class of stems and what they mean: ``alone`` without an object (None: an object
    must say it), ``objects`` by the class of the object after the verb."""

    name: str
    alone: str | None
    objects: dict[str, str]
    any_object: str | None = None
    #: A suffix without a prefix is enough ("jualan", "ojekan"); otherwise "tanaman" is
    #: a noun and needs an object.
    suffix_alone: bool = False
    #: Only the bare word ("ke ladang").
    bare_only: bool = False


@dataclass(frozen=True)
class Form:
    """One way a stem is written before its suffixes: bare, an active verb (ngurus,
    bejual, manggaleh), passive (dijual) or the doer (penjual, pahuma)."""

    stem: str
    kind: str  # "bare" | "verb" | "passive" | "person"


@dataclass(frozen=True)
class OccupationWords:
    verbs: dict[str, Verb]  # stem -> its class
    classes: dict[str, Verb]  # name -> class
    places: dict[str, str]  # object that is a verb with a prefix (sawah, laut) -> its class
    forms: dict[str, tuple[Form, ...]]  # written form without suffixes -> readings
    endings: tuple[str, ...]  # a suffix, or -an and a possessive; longest first
    objects: dict[str, str]  # object word -> its class
    possessives: tuple[str, ...]
    fillers: frozenset[str]
    honorifics: frozenset[str]
    present: frozenset[str]
    relatives: frozenset[str]
    possessors: frozenset[str]
    relative_endings: tuple[str, ...]
    place_markers: frozenset[str]
    self_words: frozenset[str]
    self_roles: dict[str, str]
    negations: frozenset[str]
    negation_between: frozenset[str]
    titles: frozenset[str]


@dataclass(frozen=True)
class _Candidate:
    found: Found
    title: bool
    rank: int  # 0: a catalogue phrase, 1: read by rule (a catalogue phrase wins a tie)


def nasal_forms(stem: str, nasal: dict[str, list[str]]) -> list[str]:
    """The N- forms of a stem: 'tanam' -> ['nanam'], 'garap' -> ['nggarap'], 'cari' ->
    ['nyari', 'ncari'] (meN- then gives 'mencari'), 'laut' -> [] (no nasal)."""
    forms = []
    for rule in nasal.get(stem[0], []):
        forms.append(rule[:-1] + stem[1:] if rule.endswith("-") else rule + stem)
    return forms


@lru_cache(maxsize=1)
def _occupation_words() -> OccupationWords:
    data: dict[str, Any] = json.loads(
        (LOOKUP_DIR / "occupation_words.json").read_text(encoding="utf-8")
    )
    verbs: dict[str, Verb] = {}
    for name, spec in data["verbs"].items():
        verb = Verb(
            name,
            spec.get("alone"),
            dict(spec.get("objects", {})),
            spec.get("any_object"),
            bool(spec.get("suffix_alone", False)),
            bool(spec.get("bare_only", False)),
        )
        for stem in spec["stems"]:
            verbs[stem] = verb
    object_data = {
        k: v for k, v in data["objects"].items() if k not in ("about", "verb_with_prefix")
    }
    objects = {word: kind for kind, words in object_data.items() for word in words}
    places = {word: objects[word] for word in data["objects"]["verb_with_prefix"]}
    prefixes = data["prefixes"]
    nasal = {k: v for k, v in data["nasal"].items() if k != "about"}
    forms: dict[str, list[Form]] = {}

    def add(written: str, stem: str, kind: str) -> None:
        readings = forms.setdefault(written, [])
        if Form(stem, kind) not in readings:
            readings.append(Form(stem, kind))

    for stem in [*verbs, *places]:
        add(stem, stem, "bare")
        if stem in verbs and verbs[stem].bare_only:
            continue
        nasals = nasal_forms(stem, nasal)
        for prefix in prefixes["verb"]:
            add(prefix + stem, stem, "verb")
        for form in nasals:
            add(form, stem, "verb")
            for prefix in prefixes["nasal_then"]:
                add(prefix + form, stem, "verb")
        for prefix in prefixes["passive"]:
            add(prefix + stem, stem, "passive")
        for prefix in prefixes["person"]:
            if not nasals or prefix in prefixes["person_plain"]:
                add(prefix + stem, stem, "person")
            for form in nasals:
                add(prefix + form, stem, "person")
    for written, stem in data["irregular"].items():
        if written != "about":
            add(written, stem, "verb")
    possessives = tuple(data["possessives"])
    endings = {"", *data["suffixes"], *("an" + p for p in possessives)}
    return OccupationWords(
        verbs=verbs,
        classes={verb.name: verb for verb in verbs.values()},
        places=places,
        forms={k: tuple(v) for k, v in forms.items()},
        endings=tuple(sorted(endings, key=lambda e: -len(e))),
        objects=objects,
        possessives=possessives,
        fillers=frozenset(data["fillers"]["words"]),
        honorifics=frozenset(data["honorifics"]["words"]),
        present=frozenset(data["honorifics"]["present"]),
        relatives=frozenset(data["relatives"]["words"]),
        possessors=frozenset(data["relatives"]["possessors"]),
        relative_endings=tuple(data["relatives"]["possessive_endings"]),
        place_markers=frozenset(data["place_markers"]["words"]),
        self_words=frozenset(data["self_words"]),
        self_roles={k: v for k, v in data["self_roles"].items() if k != "about"},
        negations=frozenset(data["negations"]["words"]),
        negation_between=frozenset(data["negations"]["between"]),
        titles=frozenset(data["titles"]["words"]),
    )


def analyse(word: str, words: OccupationWords | None = None) -> list[tuple[Form, str]]:
    """Every reading of one word as a known stem: (form, its ending). 'bejualan' ->
    [(Form('jual', 'verb'), 'an')]; 'manggaleh' -> [(Form('galeh', 'verb'), '')];
    'jalan' -> []."""
    words = words or _occupation_words()
    readings = []
    for ending in words.endings:
        if ending and not word.endswith(ending):
            continue
        base = word[: len(word) - len(ending)] if ending else word
        readings += [(form, ending) for form in words.forms.get(base, ())]
    return readings


def _object_after(
    tokens: list[Token], index: int, words: OccupationWords
) -> tuple[str, int] | None:
    """The class of the object after the verb at ``index`` and where it ends, skipping up
    to three small words ("kerja di sawah"); a comma or a full stop ends the search."""
    for skipped, (_, end, word) in enumerate(tokens[index + 1 :]):
        kind = _object_kind(word, words)
        if kind is not None:
            return kind, end
        if word not in words.fillers or skipped == 3:
            return None
    return None


def _object_kind(word: str, words: OccupationWords) -> str | None:
    if word in words.objects:
        return words.objects[word]
    for possessive in words.possessives:
        base = word[: -len(possessive)]
        if word.endswith(possessive) and len(base) >= 3 and base in words.objects:
            return words.objects[base]
    return None


def trades_said_as_verbs(text: str) -> list[Found]:
    """What the rule alone reads in ``text``, before the catalogue, honorifics, places and
    titles are weighed ("bejualan iwak di pasar" -> pedagang)."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(fold(text))]
    return [c.found for c in _read_verbs(text, tokens, _occupation_words())]


def _read_verbs(text: str, tokens: list[Token], words: OccupationWords) -> list[_Candidate]:
    """Trades said as verbs, and roles said of oneself ("saya RT di sini")."""
    found: list[_Candidate] = []
    for index, (start, end, word) in enumerate(tokens):
        if word in words.self_roles and _said_of_oneself(tokens, index, words):
            code = words.self_roles[word]
            found.append(
                _Candidate(Found("occupation", code, start, end, text[start:end]), True, 1)
            )
            continue
        for form, ending in analyse(word, words):
            reading = _reading(form, ending, tokens, index, words)
            if reading is not None:
                code, stop = reading
                found.append(
                    _Candidate(
                        Found("occupation", code, start, stop, text[start:stop]),
                        form.kind == "person",
                        1,
                    )
                )
                break
    return found


def _reading(
    form: Form, ending: str, tokens: list[Token], index: int, words: OccupationWords
) -> tuple[str, int] | None:
    """The occupation one word says, with its object, and where the reading ends."""
    end = tokens[index][1]
    if form.kind == "person" and ending:
        return None  # penjualan, pertanian, pesawahan: a thing or a place, no one
    if form.stem in words.places:  # bersawah, nyawah, bahuma, melaut, pahuma
        if form.kind not in ("verb", "person"):
            return None
        code = words.classes[PLACE_VERB].objects.get(words.places[form.stem])
        return (code, end) if code else None
    verb = words.verbs[form.stem]
    if verb.bare_only and (form.kind != "bare" or ending):
        return None
    after = _object_after(tokens, index, words)
    if after is not None:
        kind, stop = after
        code = verb.objects.get(kind) or verb.any_object
        if code:
            return code, stop
    if verb.alone is None:
        return None
    activity = ending.startswith("an") and verb.suffix_alone  # jualan, dodolane, ojekan
    if form.kind in ("verb", "person") or (form.kind == "bare" and activity):
        return verb.alone, end
    return None


def _said_of_oneself(tokens: list[Token], index: int, words: OccupationWords) -> bool:
    """ "saya RT", "sebagai RW", "saya pak RT"; never "RT 03" (an address)."""
    if index + 1 < len(tokens) and tokens[index + 1][2].isdigit():
        return False
    before = [word for _, _, word in tokens[max(0, index - 2) : index]]
    if before and before[-1] in words.self_words:
        return True
    return len(before) == 2 and before[1] in words.honorifics and before[0] in words.self_words


def _token_before(start: int, starts: list[int]) -> int:
    """The index of the token before the one starting at ``start`` (-1: none)."""
    return bisect.bisect_left(starts, start) - 1


def _someone_elses(
    found: Found, tokens: list[Token], starts: list[int], words: OccupationWords
) -> bool:
    """A role that names another person: right after an honorific ("Pak RT bilang …",
    "bu lurah", "pak kades") unless the sender says it of themselves ("saya pak RT") or
    points at the walk-in they register ("daftarkan pak tani ini"), or after a relative
    ("istri nelayan", "suami saya petani", "bapakku tukang")."""
    before = _token_before(found.start, starts)
    if before < 0:
        return False
    word = tokens[before][2]
    if word in words.honorifics:
        after = bisect.bisect_left(starts, found.end)
        if after < len(tokens) and tokens[after][2] in words.present:
            return False
        return not (before >= 1 and tokens[before - 1][2] in words.self_words)
    if _is_relative(word, words):
        return True
    if word in words.possessors and before >= 1:
        owner = tokens[before - 1][2]
        return owner in words.honorifics or _is_relative(owner, words)
    return False


def _is_relative(word: str, words: OccupationWords) -> bool:
    """ "suami", "suamiku", "bojone", "anaknya"."""
    if word in words.relatives:
        return True
    return any(
        word.endswith(ending) and word[: -len(ending)] in words.relatives
        for ending in words.relative_endings
    )


def _in_place_name(
    start: int, tokens: list[Token], starts: list[int], words: OccupationWords
) -> bool:
    """ "desa Kebun Agung", "ds. nambak", "Kec. Tambak": the name of a place."""
    before = _token_before(start, starts)
    if before >= 0 and tokens[before][2] == ".":
        before -= 1
    return before >= 0 and tokens[before][2] in words.place_markers


def _negated(start: int, tokens: list[Token], starts: list[int], words: OccupationWords) -> bool:
    """ "bukan petani", "dulu petani", "tidak jadi petani lagi": not (or no longer) theirs."""
    before = _token_before(start, starts)
    if before < 0:
        return False
    if tokens[before][2] in words.negations:
        return True
    return (
        tokens[before][2] in words.negation_between
        and before >= 1
        and tokens[before - 1][2] in words.negations
    )


def _is_title(phrase: str, words: OccupationWords) -> bool:
    """A catalogue phrase that names the person ("petani kopi", "tukang ojek", "penjual")
    rather than what they do ("jualan sayur", "ngojek")."""
    first = phrase.split()[0] if phrase.split() else ""
    return first in words.titles or any(f.kind == "person" for f, _ in analyse(first, words))
