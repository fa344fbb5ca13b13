"""Which desa/kelurahan a resident means, read against the national register.

Residents write "ds. sumurgung", "desa tegalagung kecamatan semanding", "kec palang,
desanya karangagung", "Tegalagng" or "sumur gung". ``read_place`` splits what they wrote
into village, kecamatan and regency words, matches each against the register (typos
included), and prefers the kecamatan and regency their NIK names while still accepting
another (people move). It settles on one place only when the match is clear; otherwise it
offers the closest candidates; and text that names no place is never a place. Pure: the
register is passed in.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bot.domain.places import (
    DISTRICT_CODE,
    PROVINCE_CODE,
    REGENCY_CODE,
    Area,
    Place,
    PlaceRegister,
    is_kelurahan_code,
    place_key,
)

WORDS_FILE = Path(__file__).resolve().parent.parent / "domain" / "data" / "place_words.toml"
_WORDS: dict[str, Any] = tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))
#: Words that say what the next words name ("desanya", "kec." included).
_MARKERS: dict[str, list[str]] = _WORDS["markers"]
_MARKER = re.compile(
    r"\b(?P<kind>"
    + "|".join(f"(?P<{kind}>(?:{'|'.join(words)})(?:nya)?)" for kind, words in _MARKERS.items())
    + r")\b\.?\s*:?",
)
#: Words in front of the place that carry no name ("saya tinggal di desa ...").
_FILLER = frozenset(_WORDS["fillers"]["words"])
#: Below this many letters a name must match exactly ("Jenu", "Bogo"): a typo of a
#: short word is too often another word.
SHORTEST_FUZZY_KEY = 5
#: A typo settles on its own only this close (rapidfuzz ratio, 0-100) and this far ahead of
#: the next candidate; less close candidates are offered as choices.
SETTLE_SCORE = 85.0
SETTLE_MARGIN = 4.0
OFFER_SCORE = 75.0
MAX_CHOICES = 4


@dataclass(frozen=True)
class PlaceWords:
    """What a message names, as typed (folded): village, kecamatan and regency words."""

    village: str = ""
    district: str = ""
    regency: str = ""
    #: Whether the village words were marked ("desa X", "kel. X") rather than guessed.
    marked: bool = False
    #: The marker said which kind: a kelurahan ("kel.") or a desa ("ds."); None: either.
    kelurahan: bool | None = None


@dataclass(frozen=True)
class PlaceReading:
    #: The one place meant, when the match is clear.
    place: Place | None = None
    #: Otherwise the closest candidates, best first (may be empty).
    choices: tuple[Place, ...] = ()
    #: A kecamatan the message names, when no village in it matched.
    district: Area | None = None
    words: PlaceWords = field(default_factory=PlaceWords)

    @property
    def names_a_place(self) -> bool:
        return self.place is not None or bool(self.choices) or self.district is not None


def place_words(text: str) -> PlaceWords:
    """Split a message into village, kecamatan and regency words by their markers, then by
    commas ("Sumurgung, Tuban")."""
    folded = re.sub(r"\s+", " ", text.lower())
    labelled: dict[str, str] = {}
    loose: list[str] = []
    kelurahan: bool | None = None
    for chunk in re.split(r"[,;/\n|()]+", folded):
        position = 0
        kind: str | None = None
        for match in _MARKER.finditer(chunk):
            _collect(chunk[position : match.start()], kind, labelled, loose)
            kind = next(k for k in _MARKERS if match.group(k))
            if kind == "village" and kelurahan is None:
                kelurahan = match.group("village").startswith(("kel", "kal"))
            position = match.end()
        _collect(chunk[position:], kind, labelled, loose)
    loose = [words for words in loose if words]
    village = labelled.get("village") or (loose.pop(0) if loose else "")
    district = labelled.get("district") or (loose.pop(0) if loose else "")
    regency = labelled.get("regency") or (loose.pop(0) if loose else "")
    marked = "village" in labelled
    return PlaceWords(village, district, regency, marked, kelurahan if marked else None)


def _collect(span: str, kind: str | None, labelled: dict[str, str], loose: list[str]) -> None:
    words = [w for w in re.findall(r"[a-z0-9']+", span)]
    if kind is None:
        while words and words[0] in _FILLER:
            words.pop(0)
        while words and words[-1] in _FILLER:
            words.pop()
        if words:
            loose.append(" ".join(words))
    elif kind in ("village", "district", "regency") and words and kind not in labelled:
        labelled[kind] = " ".join(words)


def read_place(
    text: str,
    register: PlaceRegister,
    near: str | None = None,
    preferred: Sequence[str] = (),
    deployed: Collection[str] = (),
) -> PlaceReading:
    """The place ``text`` names. ``near`` is the kecamatan code the NIK names ("35.23.16"),
    ``preferred`` the codes to rank first (the agent's own village), ``deployed`` the
    villages Sadar serves (the operator's Desa Sadar villages), ranked after the NIK's
    regency and before the rest of its province."""
    ranks = _Ranks(near, tuple(preferred), frozenset(deployed))
    words = place_words(text)
    if not words.village:
        return PlaceReading(district=_named_district(words, register, _areas(words, register)))
    reading = _read(words, register, ranks)
    if reading.place is not None:
        return reading
    # "tegalagung semanding", "kebon jeruk kec. kebon jeruk jakarta barat": a kecamatan or
    # regency written after the village or the kecamatan without a marker or a comma.
    for split in _unmarked_splits(words, register):
        attempt = _read(split, register, ranks)
        if attempt.place is not None:
            return attempt
    return reading


def _unmarked_splits(words: PlaceWords, register: PlaceRegister) -> Iterator[PlaceWords]:
    """Readings of the same words with one more boundary: village words cut into village
    and kecamatan (or regency), or kecamatan words cut into kecamatan and regency. Only cuts
    whose second part names an area of the register are tried."""
    if not words.district and not words.regency:
        parts = words.village.split()
        for cut in range(len(parts) - 1, 0, -1):
            split = replace(words, village=" ".join(parts[:cut]), district=" ".join(parts[cut:]))
            if _areas(split, register) is not None:
                yield split
    elif words.district:
        parts = words.district.split()
        for cut in range(len(parts) - 1, 0, -1):
            split = replace(words, district=" ".join(parts[:cut]), regency=" ".join(parts[cut:]))
            if register.regencies_named(place_key(split.regency)) and _areas(split, register):
                yield split


def _read(words: PlaceWords, register: PlaceRegister, ranks: _Ranks) -> PlaceReading:
    areas = _areas(words, register)
    key = place_key(words.village)
    exact = [c for c in register.villages_named(key) if _inside(c, areas)]
    if exact:
        return _settle_exact(exact, words, register, ranks, areas is not None)
    # A typo is looked for anywhere only when the words say they are a village ("desa X")
    # or name its area: a bare word ("benar") is close to some village somewhere.
    anywhere = words.marked or areas is not None
    scored = _close(key, register, areas, ranks.near, anywhere)
    if scored:
        return _settle_close(scored, words, register, ranks.near, areas is not None)
    district = _named_district(words, register, areas)
    return PlaceReading(district=district, words=words)


def _areas(words: PlaceWords, register: PlaceRegister) -> list[str] | None:
    """Codes of the kecamatan (or regencies) the message names; None when it names none."""
    found: list[str] = []
    if words.district:
        found = _matching(words.district, register.districts_named, register.district_keys)
    if words.regency:
        regencies = _matching(words.regency, register.regencies_named, ())
        if found and regencies:
            found = [d for d in found if any(d.startswith(r + ".") for r in regencies)]
        elif regencies and not words.district:
            found = regencies
        elif regencies and words.district and not found:
            # "Tuban, Tuban": the second word was the regency, not the kecamatan.
            found = regencies
    if words.district and not found and not words.regency:
        # "sumurgung tuban": the second name may be the regency instead.
        found = _matching(words.district, register.regencies_named, ())
    if not (words.district or words.regency):
        return None
    return found or None


def _matching(text: str, named: Callable[[str], list[str]], keys: Iterable[str]) -> list[str]:
    key = place_key(text)
    codes: list[str] = named(key)
    if codes or len(key) < SHORTEST_FUZZY_KEY:
        return codes
    best = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=SETTLE_SCORE)
    return named(best[0]) if best else []


def _inside(code: str, areas: list[str] | None) -> bool:
    return areas is None or any(code.startswith(area + ".") for area in areas)


@dataclass(frozen=True)
class _Ranks:
    near: str | None
    preferred: tuple[str, ...]
    deployed: frozenset[str]

    def of(self, code: str) -> int:
        """0: a preferred village; 1: the NIK's kecamatan; 2: its regency; 3: a village Sadar
        serves; 4: the NIK's province; 5: elsewhere."""
        if code in self.preferred:
            return 0
        near = self.near
        if near is not None and code[:DISTRICT_CODE] == near[:DISTRICT_CODE]:
            return 1
        if near is not None and code[:REGENCY_CODE] == near[:REGENCY_CODE]:
            return 2
        if code in self.deployed:
            return 3
        if near is not None and code[:PROVINCE_CODE] == near[:PROVINCE_CODE]:
            return 4
        return 5


def _settle_exact(
    codes: list[str],
    words: PlaceWords,
    register: PlaceRegister,
    ranks: _Ranks,
    area_named: bool,
) -> PlaceReading:
    ranked = sorted(codes, key=lambda c: (ranks.of(c), c))
    best_tier = ranks.of(ranked[0])
    best = [c for c in ranked if ranks.of(c) == best_tier]
    if len(best) > 1 and words.kelurahan is not None:
        # "kel. Latsari": of two Latsari, the kelurahan.
        of_kind = [c for c in best if is_kelurahan_code(c) == words.kelurahan]
        best = of_kind or best
    # Far from the NIK's regency, a bare word that happens to be a village name somewhere
    # in Indonesia is offered, not taken: the resident confirms with one tap.
    trusted = best_tier <= 3 or words.marked or area_named
    if len(best) == 1 and trusted:
        return PlaceReading(place=register.place(best[0]), words=words)
    if len(best) > 1 and best_tier <= 3:
        # One name in several kecamatan around the resident (three Sumurgung in Kab.
        # Tuban): the nearest is taken, so the form goes on, and the others are offered
        # beside it; the summary shows the kecamatan the resident confirms.
        nearest = sorted(best, key=lambda c: (_district_distance(c, ranks.near), c))
        found = [p for c in nearest[:MAX_CHOICES] if (p := register.place(c)) is not None]
        return PlaceReading(place=found[0], choices=tuple(found[1:]), words=words)
    offered = best if len(best) > 1 else ranked
    places = tuple(p for c in offered[:MAX_CHOICES] if (p := register.place(c)) is not None)
    return PlaceReading(choices=places, words=words)


def _district_distance(code: str, near: str | None) -> int:
    """How far apart two kecamatan numbers of one regency are: Kemendagri numbers them
    roughly along the map, so a smaller gap is a better first guess, never a certainty."""
    if near is None or code[:REGENCY_CODE] != near[:REGENCY_CODE]:
        return 0
    return abs(int(code.split(".")[2]) - int(near.split(".")[2]))


def _close(
    key: str, register: PlaceRegister, areas: list[str] | None, near: str | None, anywhere: bool
) -> list[tuple[str, float]]:
    """(code, score) of villages whose name is close to ``key``: inside the named areas,
    else around the NIK's regency, else anywhere."""
    if len(key) < SHORTEST_FUZZY_KEY:
        return []
    if areas is not None:
        spaces = [[c for area in areas for c in register.village_codes_in(area)]]
    else:
        spaces = []
        if near:
            spaces.append(register.village_codes_in(near[:REGENCY_CODE]))
        if anywhere:
            spaces.append([])  # the whole register, by name key
    for space in spaces:
        if space:
            names = {code: place_key(p.name) for code in space if (p := register.place(code))}
            found = process.extract(
                key, names, scorer=fuzz.ratio, score_cutoff=OFFER_SCORE, limit=MAX_CHOICES
            )
            scored = [(code, score) for _name, score, code in found]
        else:
            found_keys = process.extract(
                key,
                register.village_keys,
                scorer=fuzz.ratio,
                score_cutoff=SETTLE_SCORE,
                limit=MAX_CHOICES,
            )
            scored = [
                (code, score)
                for name_key, score, _index in found_keys
                for code in register.villages_named(name_key)
            ][:MAX_CHOICES]
        if scored:
            return scored
    return []


def _settle_close(
    scored: list[tuple[str, float]],
    words: PlaceWords,
    register: PlaceRegister,
    near: str | None,
    area_named: bool,
) -> PlaceReading:
    scored.sort(key=lambda item: (-item[1], item[0]))
    top_code, top = scored[0]
    runner_up = scored[1][1] if len(scored) > 1 else 0.0
    near_enough = near is not None and top_code[:REGENCY_CODE] == near[:REGENCY_CODE]
    confident = top >= SETTLE_SCORE and top - runner_up >= SETTLE_MARGIN
    if confident and (near_enough or area_named):
        return PlaceReading(place=register.place(top_code), words=words)
    places = tuple(p for code, _ in scored[:MAX_CHOICES] if (p := register.place(code)))
    return PlaceReading(choices=places, words=words)


def _named_district(
    words: PlaceWords, register: PlaceRegister, areas: list[str] | None
) -> Area | None:
    """The kecamatan the message names when no village in it matched ("kec. Tuban" alone,
    or a village name too far from any in it)."""
    for code in areas or []:
        if len(code) == DISTRICT_CODE:
            return register.area(code)
    if not words.village:
        return None
    codes = register.districts_named(place_key(words.village))
    return register.area(codes[0]) if len(codes) == 1 else None


_FIELD_WORDS = re.compile(
    r"\b(?:nama|nik|ktp|lahir|tgl|tanggal|umur|usia|hp|wa|no\s*hp|nomor|kerja|pekerjaan|"
    r"penghasilan|pendapatan|gaji|jht|program)\b"
)
_LABELLED = re.compile(
    r"\b(?:desa|ds|kelurahan|kel|kalurahan)(?:nya)?\b\.?\s*:?\s*[a-z]",
)


def labelled_place(text: str) -> str | None:
    """The place part of a message that gives several fields ("nama Budi, desa Tegalagung
    kec. Semanding, petani"), as written: from its marker to the next field, keeping a
    kecamatan or regency that follows after a comma, without trailing fillers ("kak").
    None when no village is marked."""
    lowered = text.lower()
    if len(lowered) != len(text):
        return None  # a rare letter whose lower case changes length: no offsets to share
    folded = re.sub(r"\b(kec|kel|ds|kab|kp|prov|jl|no|dsn)\.", r"\1 ", lowered)
    start = _LABELLED.search(folded)
    if start is None:
        return None
    parts = re.split(r"(?<=[,;.\n])", folded[start.start() :])
    end = start.start() + len(parts[0])
    for part in parts[1:]:
        if not re.match(r"\s*(?:kec|kecamatan|kab|kabupaten|kota)\b", part):
            break
        end += len(part)
    field = _FIELD_WORDS.search(folded, start.start() + 4, end)
    if field:
        end = field.start()
    words = list(re.finditer(r"[a-z0-9']+", folded[start.start() : end]))
    while words and words[-1].group() in _FILLER:
        end = start.start() + words.pop().start()
    place = text[start.start() : end].strip(" ,;.\n")
    return place if len(place_words(place).village) >= 3 else None


def register_code(register: PlaceRegister, village: str, district: str, regency: str) -> str | None:
    """The Kemendagri code of a village known by its three names (an operator's village
    table row, an agent's village); None when the register has no such village."""
    found = read_place(f"desa {village}, kec {district}, kab {regency}", register).place
    return found.code if found else None
