"""Reading an e-KTP from the lines of text an OCR engine found on its photo (issue 30).

Pure: the photo reader (bot/services/ktp_photo) hands over the lines; this finds each
printed field by its label, cleans what OCR typically confuses, and checks each field
before it may fill the form. A field that fails its check is left out (the form asks it
as usual), so a misread never becomes a resident's data:

* the NIK must have a valid structure, its province and regency codes must name the
  printed province and regency, and its DDMMYY (day + 40 for women) must equal the
  printed birth date and sex. A field needed for a check that was not read counts as a
  failed check: the NIK is then typed.
* the birth date and sex are kept only when they agree with such a NIK.
* the name, address lines and places are kept when they look like what is printed there
  (letters, the usual punctuation); the village still goes through the form's own
  validation against the register of regions.

The OCR engine cannot guard the NIK's last four digits (the serial): no rule can. The
reader reads the card twice and keeps only a NIK both reads agree on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from rapidfuzz.distance import Levenshtein

from bot.domain.nik import InvalidNik, Sex, parse_nik
from bot.domain.places import place_key, regency_short_name

#: The labels printed on an e-KTP, by field. Compared letters-only, so "Tempat/Tgl Lahir"
#: read as "TempatTgl Lahlr" still counts.
LABELS: dict[str, tuple[str, ...]] = {
    "nik": ("NIK",),
    "full_name": ("Nama",),
    "birth": ("Tempat/Tgl Lahir",),
    "sex": ("Jenis Kelamin",),
    "address": ("Alamat",),
    "rt_rw": ("RT/RW",),
    "village": ("Kel/Desa",),
    "district": ("Kecamatan",),
    "religion": ("Agama",),
    "marital_status": ("Status Perkawinan",),
    "occupation": ("Pekerjaan",),
    "citizenship": ("Kewarganegaraan",),
    "valid_until": ("Berlaku Hingga",),
}

#: What OCR reads for a digit in a field of digits.
DIGIT_LOOKALIKES = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "l": "1", "|": "1",
     "i": "1", "!": "1", "L": "1", "J": "1", "Z": "2", "z": "2", "S": "5", "s": "5",
     "B": "8", "G": "6", "b": "6", "T": "7", "A": "4", "?": "7", "g": "9", "q": "9"}
)  # fmt: skip

#: A name or a place as printed: letters, spaces and the punctuation names carry.
_NAME_CHARACTERS = re.compile(r"[^A-Z .,'\-]")


class Dropped:
    """Why a field read from the photo was left out (for the eval and the logs: a reason,
    never the value)."""

    UNREAD = "unread"
    MALFORMED = "malformed"
    NIK_STRUCTURE = "nik_structure"
    REGION_UNREAD = "region_unread"
    REGION_MISMATCH = "region_mismatch"
    BIRTH_UNREAD = "birth_unread"
    BIRTH_MISMATCH = "birth_mismatch"
    NO_VALID_NIK = "no_valid_nik"
    #: Two reads of the photo found two different NIKs (bot.services.ktp_photo.reader).
    READS_DISAGREE = "reads_disagree"


@dataclass(frozen=True)
class KtpReading:
    """The fields read from a KTP that passed their checks; None where not."""

    nik: str | None = None
    full_name: str | None = None
    birth_place: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    address: str | None = None
    rt_rw: str | None = None
    village: str | None = None
    district: str | None = None
    regency: str | None = None
    province: str | None = None
    #: Field name -> why it was left out (Dropped.*).
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def looks_like_a_ktp(self) -> bool:
        """Enough of a KTP's labels or fields were found to say it is one."""
        found = [self.nik, self.full_name, self.birth_date, self.address, self.village]
        return sum(value is not None for value in found) + len(self.dropped_read) >= 2

    @property
    def dropped_read(self) -> list[str]:
        """Fields that were printed and read, but failed a check."""
        return [name for name, why in self.dropped.items() if why != Dropped.UNREAD]


@dataclass(frozen=True)
class PrintedFields:
    """The raw value after each label, and the header lines, as OCR read them."""

    values: dict[str, str]
    province: str | None
    regency: str | None


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _label_of(head: str) -> str | None:
    """The field whose label ``head`` is, allowing OCR's usual slips (one edit in five)."""
    letters = _letters(head)
    if not letters:
        return None
    best: tuple[int, str] | None = None
    for name, labels in LABELS.items():
        for label in labels:
            wanted = _letters(label)
            allowed = max(1, len(wanted) // 5)
            distance = Levenshtein.distance(letters, wanted, score_cutoff=allowed)
            if distance <= allowed and (best is None or distance < best[0]):
                best = (distance, name)
    return best[1] if best else None


def _split_label(line: str) -> tuple[str | None, str]:
    """(field, value) of one printed row, "Nama : SITI AMINAH"; OCR may turn the colon
    into ";" or "." or drop it, and put a crumb or two (short words) before the label."""
    words = line.split()
    for skip in range(3):
        if skip and (len(words) <= skip or len(words[skip - 1]) > 3):
            break
        name, value = _split_after(" ".join(words[skip:]))
        if name:
            return name, value
    return None, line.strip()


def _split_after(line: str) -> tuple[str | None, str]:
    match = re.match(r"^\s*([^:;]{2,40}?)\s*[:;]\s*(.*)$", line)
    if match:
        name = _label_of(match.group(1))
        if name:
            return name, match.group(2).strip()
    words = line.split()
    # No colon: the label is the first one, two or three words.
    for size in (3, 2, 1):
        if len(words) > size:
            name = _label_of(" ".join(words[:size]))
            if name:
                return name, " ".join(words[size:]).lstrip(":;.»« ").strip()
    return None, line


def _header(line: str) -> tuple[str, str] | None:
    """("provinsi" | "kabupaten" | "kota", the name after it) of a header line, which OCR
    may start with a crumb or two; None for any other line."""
    words = line.split()
    for index, word in enumerate(words[:3]):
        letters = _letters(word)
        for kind in ("provinsi", "kabupaten"):
            if Levenshtein.distance(letters, kind, score_cutoff=2) <= 2 and index + 1 < len(words):
                return kind, " ".join(words[index + 1 :])
            # The space lost: "PROVINSIACEH", "KABUPATENSIKKA".
            glued = word.upper()
            if (
                len(letters) > len(kind) + 2
                and Levenshtein.distance(letters[: len(kind)], kind, score_cutoff=1) <= 1
                and glued[: len(kind)].isalpha()
            ):
                rest = " ".join([glued[len(kind) :], *words[index + 1 :]])
                return kind, rest
        if letters == "kota" and index + 1 < len(words) and index == 0:
            return "kota", " ".join(words[index + 1 :])
    return None


def printed_fields(lines: Iterable[str]) -> PrintedFields:
    """Each label's value, and the two header lines (PROVINSI …, KABUPATEN/KOTA …)."""
    values: dict[str, str] = {}
    province = regency = None
    for raw in lines:
        # Full-width forms some engines return ("NIK ：…") as plain ones; then OCR's crumbs
        # at the edges: a stray bar, dash or colon before a label.
        line = unicodedata.normalize("NFKC", raw).strip().strip("|—–-»«:;.,'\"_ ").strip()
        if not line:
            continue
        header = _header(line)
        if header is not None:
            kind, rest = header
            if kind == "provinsi" and province is None:
                province = rest
            elif kind != "provinsi" and regency is None:
                regency = f"{kind.upper()} {rest}"
            continue
        name, value = _split_label(line)
        if name and name not in values and value:
            values[name] = value
    return PrintedFields(values, province, regency)


def _as_digits(text: str) -> str:
    return re.sub(r"\D", "", text.translate(DIGIT_LOOKALIKES))


def _digit_run(text: str, wanted: int) -> str | None:
    """The first run of neighbouring words that reads as exactly ``wanted`` digits (a
    look-alike letter counts in a word that holds a real digit): OCR's crumbs before or
    after the number are not taken for digits."""
    run = ""
    for word in text.split():
        token = word.strip(":;.,|'\"")
        digits = _as_digits(token)
        numeric = (
            bool(token)
            and any(ch.isdigit() for ch in token)
            and (len(digits) >= 0.7 * len(re.sub(r"[\s./\-]", "", token)))
        )
        if numeric:
            run += digits
            if len(run) == wanted:
                return run
            if len(run) > wanted:
                run = ""
        elif run:
            if len(run) == wanted:
                return run
            run = ""
    return run if len(run) == wanted else None


def _clean_name(text: str) -> str | None:
    """A name or a place as printed, or None when what was read cannot be one."""
    cleaned = _NAME_CHARACTERS.sub("", text.upper())
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" .,-'")
    letters = sum(ch.isalpha() for ch in cleaned)
    if letters < 2 or len(cleaned) > 60 or letters < len(cleaned.replace(" ", "")) * 0.8:
        return None
    return cleaned


def _birth(value: str) -> tuple[str | None, date | None]:
    """("TUBAN", 1980-08-17) from "TUBAN, 17-08-1980"; a part that cannot be read is None."""
    place_part, _, date_part = value.rpartition(",")
    if not place_part:  # no comma read: the date is the last word
        words = value.split()
        place_part, date_part = " ".join(words[:-1]), words[-1] if words else ""
    digits = _digit_run(date_part, 8) or ""
    born = None
    if len(digits) == 8:
        try:
            born = date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
        except ValueError:
            born = None
    return _clean_name(place_part), born


def _sex(value: str) -> Sex | None:
    words = _letters(value.split("Gol")[0].split("GOL")[0])
    if Levenshtein.distance(words[:8], "lakilaki", score_cutoff=2) <= 2:
        return Sex.MALE
    if Levenshtein.distance(words[:9], "perempuan", score_cutoff=2) <= 2:
        return Sex.FEMALE
    return None


def _kind(name: str) -> str:
    lowered = name.strip().lower()
    return "kota" if lowered.startswith("kota") else "kab" if lowered.startswith("kab") else ""


def _same_area(printed: str | None, registered: str | None) -> bool:
    """A printed area name against the register's: "KABUPATEN TUBAN" ~ "Kabupaten Tuban",
    "KOTA JAKARTA PUSAT" ~ "Kota Administrasi Jakarta Pusat", "DKI JAKARTA" ~ "Daerah
    Khusus Ibukota Jakarta". A city is never its namesake regency (Kota/Kabupaten Malang)."""
    if not printed or not registered:
        return False
    if _kind(printed) and _kind(registered) and _kind(printed) != _kind(registered):
        return False
    read = place_key(regency_short_name(printed))
    known = place_key(regency_short_name(registered))
    if Levenshtein.distance(read, known, score_cutoff=2) <= 2:
        return True
    # OCR's crumbs after the name ("JAWA TIMUR EA"): the name, then a few letters more.
    if 0 < len(read) - len(known) <= 4 and Levenshtein.distance(read[: len(known)], known) <= 1:
        return True
    # An official name printed with its initials: "DKI JAKARTA", "DI YOGYAKARTA".
    words = printed.split()
    return (
        len(words) == 2
        and len(words[0]) <= 3
        and len(place_key(words[1])) >= 4
        and known.endswith(place_key(words[1]))
    )


def read_ktp(
    lines: Iterable[str], today: date, area_name: Callable[[str], str | None]
) -> KtpReading:
    """The checked fields of one KTP from its OCR lines. ``area_name`` gives the register's
    name of a province ("35") or regency ("35.23") code."""
    printed = printed_fields(lines)
    values = printed.values
    dropped: dict[str, str] = {}
    kept: dict[str, object] = {}

    for name in ("full_name", "address", "village", "district"):
        raw = values.get(name)
        cleaned = _clean_name(raw) if raw else None
        if cleaned:
            kept[name] = cleaned
        else:
            dropped[name] = Dropped.MALFORMED if raw else Dropped.UNREAD
    if rt_rw := values.get("rt_rw"):
        digits = _digit_run(rt_rw, 6) or ""
        if len(digits) == 6:
            kept["rt_rw"] = f"{digits[:3]}/{digits[3:]}"
        else:
            dropped["rt_rw"] = Dropped.MALFORMED
    province = _clean_name(printed.province) if printed.province else None
    regency = _clean_name(printed.regency) if printed.regency else None
    kept.update(province=province, regency=regency)

    birth_place, born = _birth(values["birth"]) if "birth" in values else (None, None)
    sex = _sex(values["sex"]) if "sex" in values else None
    if birth_place:
        kept["birth_place"] = birth_place

    nik_digits = _digit_run(values.get("nik", ""), 16) or _as_digits(values.get("nik", ""))
    nik = None
    if not values.get("nik"):
        dropped["nik"] = Dropped.UNREAD
    else:
        try:
            nik = parse_nik(nik_digits, today)
        except InvalidNik:
            dropped["nik"] = Dropped.NIK_STRUCTURE
    if nik is not None:
        codes = (nik.value[:2], f"{nik.value[:2]}.{nik.value[2:4]}")
        if province is None or regency is None:
            dropped["nik"] = Dropped.REGION_UNREAD
        elif not (
            _same_area(province, area_name(codes[0])) and _same_area(regency, area_name(codes[1]))
        ):
            dropped["nik"] = Dropped.REGION_MISMATCH
        elif born is None or sex is None:
            dropped["nik"] = Dropped.BIRTH_UNREAD
        elif (nik.birth_date, nik.sex) != (born, sex):
            dropped["nik"] = Dropped.BIRTH_MISMATCH
        else:
            kept.update(nik=nik.value, birth_date=born, sex=sex)
    if "nik" in dropped:
        # The printed birth date and sex are only as sure as the NIK they agree with.
        for name, value in (("birth_date", born), ("sex", sex)):
            if value is not None:
                dropped[name] = Dropped.NO_VALID_NIK
            else:
                dropped[name] = Dropped.UNREAD
    return KtpReading(**kept, dropped=dropped)  # type: ignore[arg-type]


# --- a reading in the conversation --------------------------------------------------------

#: What the gateway sends Rasa for a photo (a trusted payload, never typed): first "may this
#: photo be read now?", then "here is what it gave", with the reading in signed metadata
#: that the conversation store never keeps (nlu/tracker_store.py drops it).
PHOTO_SENT_INTENT = "ktp_photo"
PHOTO_READ_INTENT = "ktp_photo_read"
#: Signed metadata of a turn: the checked fields waiting for "Benar?", or why none.
READING_METADATA = "ktp_reading"
PROBLEM_METADATA = "ktp_problem"
#: Unreadable photos before the resident is asked to type instead.
MAX_PHOTO_TRIES = 2
#: The form's fields a photo may fill, in the order they are shown. RT/RW, religion and the
#: rest are read only to find the fields; they are never kept (the minimum, UU PDP).
FORM_FIELDS = ("full_name", "nik", "birth_date", "village", "district")


class PhotoStep(StrEnum):
    """What Rasa tells the gateway about a photo (a reply's ``custom.ktp_photo``)."""

    #: The sender may fill the form from a photo now: read it.
    READ = "read"
    #: The fields read are shown and wait for "Benar?": keep them for the next message.
    CONFIRMING = "confirming"


class PhotoProblem(StrEnum):
    """What spoils a photo that gave no usable reading (bot/services/ktp_photo/card.py)."""

    TOO_DARK = "too_dark"
    GLARE = "glare"
    BLURRED = "blurred"
    CUT_OFF = "cut_off"
    NOT_A_KTP = "not_a_ktp"


class PhotoRefused(StrEnum):
    """Why a file was refused before decoding (bot/services/ktp_photo/image.py)."""

    TOO_LARGE = "too_large"
    NOT_AN_IMAGE = "not_an_image"
    TOO_MANY_PIXELS = "too_many_pixels"


class NoReading(StrEnum):
    """Why a photo gave nothing, besides what the photo itself shows (bot.services.ktp_photo's
    PhotoProblem and PhotoRefused): each has its own reply (utter_ktp_photo_<value>)."""

    #: The platform did not hand it over.
    NOT_RECEIVED = "not_received"
    #: No OCR engine here (switched off, or its model is missing).
    UNAVAILABLE = "unavailable"
    #: A card that looks fine, but no NIK passed its checks.
    UNCLEAR = "unclear"


#: Every reason a photo gave nothing; each has its reply, utter_ktp_photo_<reason>.
PHOTO_FAILURES = frozenset({*PhotoProblem, *PhotoRefused, *NoReading})
#: Failures that are not the resident's photo: they do not count as a try.
NOT_A_TRY = frozenset({NoReading.NOT_RECEIVED, NoReading.UNAVAILABLE})


def form_answers(reading: KtpReading) -> dict[str, str]:
    """The checked fields of a reading that the form asks, as text (the form checks them
    again as answers: the village against the register)."""
    values: dict[str, object] = {name: getattr(reading, name) for name in FORM_FIELDS}
    return {
        name: value.isoformat() if isinstance(value, date) else str(value)
        for name, value in values.items()
        if value is not None
    }


def village_answer(answers: Mapping[str, str]) -> str | None:
    """The village as the form's village question reads it: with its printed kecamatan,
    which tells apart villages of one name."""
    village = answers.get("village")
    if not village:
        return None
    district = answers.get("district")
    return f"{village}, Kecamatan {district}" if district else village
