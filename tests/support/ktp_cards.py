"""Made-up e-KTP cards, photographed on a table, to measure a card reader honestly.

Every person is invented (names from the lists below) but lives in a real desa/kelurahan
of the national register, so the NIK has a valid structure: its first six digits are the
kecamatan's code, then the birth date (day + 40 for women) and a serial. Cards are drawn
like the real layout and photographed with seeded noise only (``random.Random`` and
``numpy.random.Generator``, never the global state), so the same arguments always give
byte-identical JPEGs and a measurement can be repeated.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from bot.domain.places import regency_short_name
from bot.infra.region_register import place_register

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: 85.6 x 54 mm (ID-1) at about 300 dpi.
CARD_SIZE = (1012, 638)
FIRST_BIRTH, LAST_BIRTH = date(1950, 1, 1), date(2007, 12, 31)
SETS = ("normal", "hard")
SPOILED_KINDS = ("dark", "blurred", "cut_off", "not_a_ktp", "glare")

Pixels = npt.NDArray[np.float32]


@dataclass(frozen=True)
class CardPerson:
    """What is printed on one card, as printed (upper case)."""

    nik: str
    full_name: str
    birth_place: str
    birth_date: date
    sex: str  # "LAKI-LAKI" or "PEREMPUAN"
    address: str
    rt_rw: str
    village: str
    district: str
    regency: str  # header line: "KABUPATEN TUBAN", "KOTA SURABAYA"
    province: str  # without "PROVINSI": "JAWA TIMUR"
    religion: str
    marital_status: str
    occupation: str
    blood_type: str

    @property
    def is_female(self) -> bool:
        return self.sex == "PEREMPUAN"


# --- people -------------------------------------------------------------------------------

# (given names for men, for women, second words for men, for women); a second word is a
# family name, a marga or simply another given name, as the custom of each region has it.
_JAWA = (
    "BUDI SLAMET SUPARMAN AGUS BAMBANG JOKO SUTRISNO WAHYU HERU EKO DWI ADI SUGENG MULYADI "
    "PURNOMO HARYANTO SUYATNO RAHMAT ARIF GUNAWAN SUGIYONO TEGUH DARMAJI SUKIRMAN KATIMAN",
    "SITI SRI DEWI ENDANG SUMARNI WAHYUNI LESTARI RATNA TITIK NINING SUPRIYATIN RINI YULI "
    "PURWANINGSIH ASTUTI SUMIYATI TUMINAH SUWARNI PARTINAH KASIYEM",
    "SANTOSO WIBOWO HIDAYAT KURNIAWAN SISWANTO PRASETYO NUGROHO SETIAWAN SAPUTRO "
    "PURWANTO RIYADI SUSILO HARIYADI WIJAYA",
    "RAHAYU HANDAYANI KUSUMAWATI SETYOWATI AMINAH WULANDARI LESTARI PUSPITASARI "
    "SUSANTI MULYANI WIDYASTUTI NGATINAH",
)
_SUNDA = (
    "ASEP CECEP DEDE UJANG AAN DADANG JAJANG KOMAR UDIN ENCEP IWAN DEDI YAYAT OMAN",
    "EUIS NENG IMAS TITIN ENOK NENENG YAYAH CUCU DEDEH ENTIN IIS LILIS ELIS",
    "SAEPUDIN SOBARI HERMAWAN RUSTANDI SUHENDAR SUPRIATNA KURNIA SOLIHIN NURJAMAN "
    "SUNARYA HIDAYAT MULYANA",
    "NURHAYATI KOMALASARI SUMIATI ROSITA KURNIASIH RATNASARI MARLINA HASANAH JUBAEDAH SITI NURAENI",
)
_MELAYU = (
    "MUHAMMAD AHMAD RIZKY FAJAR ZULKIFLI SYAHRIAL RIDWAN HASAN HUSIN ISMAIL YUSUF IRWAN "
    "FIRDAUS HENDRA RAHMAN SYAMSUDDIN",
    "NUR AISYAH FATIMAH ZAINAB NURUL SALMAH ROHANI FARIDA YULIANA MAIMUNAH HALIMAH "
    "RAHMAH SITI NURHALIZA",
    "HASIBUAN EFENDI SYAHPUTRA RAMADHAN HAKIM ABDULLAH ALI FAUZI ARIFIN SALEH HAMZAH",
    "HIDAYATI SARI WATI AINI ZAHRA FITRI RAHMAWATI YANTI ANGGRAINI NOVITA",
)
_BATAK = (
    "JONNI ROBERT DANIEL HOTMAN PARLINDUNGAN MARULI BINSAR SAHAT TUMPAL MANGATUR JAMES PARULIAN",
    "MARIA ROSMAWATI DUMARIA LAMRIA NURMAIDA TIOMINAR RENTA HOTMA MASTIUR ROSLINA",
    "SIMANJUNTAK SITORUS NASUTION HUTAPEA SIREGAR PANJAITAN SIMATUPANG LUBIS HARAHAP "
    "TAMPUBOLON SINAGA PARDEDE MANURUNG NAINGGOLAN SIHOMBING",
    "SIMANJUNTAK SITORUS NASUTION HUTAPEA SIREGAR PANJAITAN SIMATUPANG LUBIS HARAHAP "
    "TAMPUBOLON SINAGA PARDEDE MANURUNG NAINGGOLAN",
)
_BUGIS = (
    "ANDI BASO SYAMSUL BAHTIAR AMIRUDDIN SAHABUDDIN RUSDI BASRI IDRIS MUSTAFA HAERUDDIN JUMADI",
    "ANDI HASNAWATI NURHAEDA SITTI MARDIANA HARTINA RAHMAWATI HAJRAH MURNI JUMRIATI",
    "AMIR RAHMAN MAKKASAU TAHIR LATIF MAPPA NUR SAMAD PATANG HAMID",
    "NURHAEDA SYAMSIAH ASMAWATI SAHARIA RAHMA BASSE HAMSIAH",
)
_STYLES: dict[str, tuple[str, str, str, str]] = {
    "jawa": _JAWA,
    "sunda": _SUNDA,
    "melayu": _MELAYU,
    "batak": _BATAK,
    "bugis": _BUGIS,
}
#: Where each naming custom is common: a village there draws it six times as often.
_STYLE_PROVINCES = {
    "jawa": {"33", "34", "35"},
    "sunda": {"32", "36"},
    "melayu": {"11", "13", "14", "15", "16", "19", "21", "61"},
    "batak": {"12"},
    "bugis": {"73", "76"},
}
#: A few names spelt with an apostrophe or dots, as some cards print them.
_MARKED_MALE = ["MA'RUF", "NU'MAN", "MUH. ILHAM", "ABD. RAHMAN", "M. NUR", "SYAFI'I"]
_MARKED_FEMALE = ["MAR'ATUS SHOLIKHAH", "ZA'IMAH", "ST. HAJAR", "NI'MATUL", "SITI MU'ALIFAH"]

_STREETS = [
    "MELATI",
    "MAWAR",
    "ANGGREK",
    "KENANGA",
    "DAHLIA",
    "CEMPAKA",
    "MERDEKA",
    "PAHLAWAN",
    "DIPONEGORO",
    "SUDIRMAN",
    "KARTINI",
    "MAJAPAHIT",
    "MANGGA",
    "RAMBUTAN",
    "DURIAN",
    "NANGKA",
    "FLAMBOYAN",
    "BERINGIN",
    "PEMUDA",
    "KUSUMA",
]
_HAMLETS = [
    "KRAJAN",
    "SUMBERSARI",
    "NGASEM",
    "KAUMAN",
    "SUKAMAJU",
    "TEGALREJO",
    "WONOREJO",
    "KARANGANYAR",
    "MEKARSARI",
    "BANJARSARI",
    "SIDOMULYO",
    "CIBODAS",
    "PONDOK",
    "KEBONAGUNG",
    "SUKARAJA",
    "MARGOMULYO",
]
_ROMAN = ["I", "II", "III", "IV", "V", "VI"]
_OCCUPATIONS = [
    ("WIRASWASTA", 20),
    ("PETANI/PEKEBUN", 14),
    ("BURUH HARIAN LEPAS", 10),
    ("MENGURUS RUMAH TANGGA", 10),
    ("PEDAGANG", 8),
    ("KARYAWAN SWASTA", 10),
    ("NELAYAN/PERIKANAN", 4),
    ("BURUH TANI/PERKEBUNAN", 5),
    ("SOPIR", 3),
    ("TUKANG BATU", 2),
    ("TUKANG JAHIT", 2),
    ("BELUM/TIDAK BEKERJA", 4),
]
_RELIGIONS = [
    ("ISLAM", 86.0),
    ("KRISTEN", 7.0),
    ("KATOLIK", 3.0),
    ("HINDU", 2.0),
    ("BUDDHA", 1.0),
    ("KONGHUCU", 0.2),
]
_BLOOD_TYPES = [("-", 45), ("O", 20), ("A", 13), ("B", 15), ("AB", 7)]
#: Province names as cards print them where they differ from the register's.
_PRINTED_PROVINCE = {"DAERAH KHUSUS IBUKOTA JAKARTA": "DKI JAKARTA"}


def _weighted(rng: random.Random, choices: list[tuple[str, float]] | list[tuple[str, int]]) -> str:
    names = [name for name, _ in choices]
    return rng.choices(names, weights=[weight for _, weight in choices])[0]


@lru_cache(maxsize=1)
def _village_codes() -> list[str]:
    """Every desa/kelurahan code, sorted so that a seed picks the same one everywhere."""
    return sorted(place_register()._villages)


@lru_cache(maxsize=1)
def _regency_codes() -> list[str]:
    return sorted(code for code in place_register()._areas if len(code) == 5)


def regency_header(name: str) -> str:
    """'Kabupaten Tuban' -> 'KABUPATEN TUBAN'; 'Kota Administrasi Jakarta Pusat' ->
    'KOTA JAKARTA PUSAT' (the card's second header line)."""
    kind = "KOTA" if name.lower().startswith("kota") else "KABUPATEN"
    short = regency_short_name(name).removeprefix("Administrasi ")
    return f"{kind} {short.upper()}"


def regency_town(header: str) -> str:
    """The short name a card prints as a birth place or place of issue: 'TUBAN'."""
    return header.removeprefix("KABUPATEN ").removeprefix("KOTA ")


def _name(rng: random.Random, style: str, female: bool) -> str:
    male_first, female_first, male_tail, female_tail = (words.split() for words in _STYLES[style])
    firsts, tails = (female_first, female_tail) if female else (male_first, male_tail)
    if rng.random() < 0.06:
        marked = rng.choice(_MARKED_FEMALE if female else _MARKED_MALE)
        return marked if rng.random() < 0.5 else f"{marked} {rng.choice(tails)}"
    if style == "batak":
        marga = rng.choice(tails)
        if female and rng.random() < 0.5:
            marga = f"{'BR.' if rng.random() < 0.4 else 'BR'} {marga}"
        words = [first := rng.choice(firsts), marga]
        if rng.random() < 0.25:
            words.insert(1, rng.choice([n for n in firsts if n != first]))
        return " ".join(words)
    count = rng.choices([1, 2, 3], weights=[25, 55, 20])[0]
    words = [rng.choice(firsts)]
    if count == 3:
        words.append(rng.choice(firsts))
    if count >= 2:
        words.append(rng.choice(tails))
    return " ".join(dict.fromkeys(words))


def _address(rng: random.Random, code: str, village: str, city: bool) -> str:
    street, number = rng.choice(_STREETS), rng.randint(1, 150)
    if city or code[9] == "1":  # kelurahan and cities: streets and housing estates
        form = rng.randrange(5)
        if form == 0:
            return f"JL. {street} NO. {number}"
        if form == 1:
            return f"GG. {street} {rng.choice(_ROMAN)} NO. {number}"
        if form == 2:
            return f"JL. {street} {rng.choice(_ROMAN)}/{rng.randint(1, 40)}"
        if form == 3:
            return f"PERUM {rng.choice(_HAMLETS)} ASRI BLOK {rng.choice('ABCDEFG')}-{number}"
        return f"JL. {street} NO. {number}{rng.choice(['', 'A', 'B'])}".strip()
    hamlet = rng.choice(_HAMLETS)
    form = rng.randrange(5)
    if form == 0 and code[:2] in {"32", "36"}:
        return f"KP. {hamlet}"
    if form == 1:
        return f"DSN. {hamlet}"
    if form == 2:
        return f"JL. RAYA {village} NO. {number}" if len(village) < 16 else f"DUSUN {hamlet}"
    return f"DUSUN {hamlet}"


def _person(rng: random.Random, used: set[str]) -> CardPerson:
    register = place_register()
    code = rng.choice(_village_codes())
    place = register.place(code)
    assert place is not None
    province_code = code[:2]
    weights = [6 if province_code in _STYLE_PROVINCES[s] else 1 for s in _STYLES]
    weights[0] *= 3  # Javanese names are common everywhere (transmigration, cities)
    style = rng.choices(list(_STYLES), weights=weights)[0]
    female = rng.random() < 0.5
    span = (LAST_BIRTH - FIRST_BIRTH).days
    birth = FIRST_BIRTH + timedelta(days=rng.randint(0, span))
    day = birth.day + (40 if female else 0)
    while True:
        serial = rng.randint(1, 9999) if rng.random() < 0.3 else rng.randint(1, 60)
        nik = f"{code[:8].replace('.', '')}{day:02d}{birth:%m%y}{serial:04d}"
        if nik not in used:
            used.add(nik)
            break
    regency = regency_header(place.regency)
    if rng.random() < 0.8:
        birth_place = regency_town(regency)
    else:
        other = register._areas[rng.choice(_regency_codes())]
        birth_place = regency_town(regency_header(other))
    province = place.province.upper()
    age_2026 = 2026 - birth.year
    if age_2026 < 24 and rng.random() < 0.5:
        occupation = "PELAJAR/MAHASISWA"
    else:
        jobs = [job for job in _OCCUPATIONS if female or job[0] != "MENGURUS RUMAH TANGGA"]
        occupation = _weighted(rng, jobs)
    if age_2026 < 22:
        marital = "BELUM KAWIN" if rng.random() < 0.8 else "KAWIN"
    else:
        marital = rng.choices(
            ["KAWIN", "BELUM KAWIN", "CERAI HIDUP", "CERAI MATI"],
            weights=[70, 15, 7, 8 if age_2026 > 45 else 2],
        )[0]
    if style == "batak" and rng.random() < 0.7:
        religion = rng.choice(["KRISTEN", "KATOLIK"])
    elif province_code == "51" and rng.random() < 0.8:
        religion = "HINDU"
    else:
        religion = _weighted(rng, _RELIGIONS)
    city = regency.startswith("KOTA ")
    return CardPerson(
        nik=nik,
        full_name=_name(rng, style, female),
        birth_place=birth_place,
        birth_date=birth,
        sex="PEREMPUAN" if female else "LAKI-LAKI",
        address=_address(rng, code, place.name.upper(), city),
        rt_rw=f"{rng.randint(1, 15):03d}/{rng.randint(1, 12):03d}",
        village=place.name.upper(),
        district=place.district.upper(),
        regency=regency,
        province=_PRINTED_PROVINCE.get(province, province),
        religion=religion,
        marital_status=marital,
        occupation=occupation,
        blood_type=_weighted(rng, _BLOOD_TYPES),
    )


def people(count: int, seed: int) -> list[CardPerson]:
    """``count`` made-up residents of real villages, all NIKs distinct; a longer list with
    the same seed starts with the shorter one."""
    rng = random.Random(seed)
    used: set[str] = set()
    return [_person(rng, used) for _ in range(count)]


# --- the card -----------------------------------------------------------------------------

_LABEL_X, _INDENT_X, _COLON_X, _VALUE_X, _VALUE_RIGHT = 28, 58, 242, 262, 752
_ROW_TOP, _ROW_STEP, _TEXT_SIZE = 150, 36, 22
_PHOTO_BOX = (774, 132, 974, 382)


@lru_cache(maxsize=64)
def _font(size: int, bold: bool = False, condensed: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans" + ("Condensed" if condensed else "") + ("-Bold" if bold else "")
    return ImageFont.truetype(str(FONT_DIR / f"{name}.ttf"), size)


def _fitting_font(
    draw: ImageDraw.ImageDraw, text: str, size: int, width: float, bold: bool = False
) -> ImageFont.FreeTypeFont:
    """The largest font that fits ``width``: condensed and smaller for long village names,
    as the card printer squeezes them."""
    candidates = [_font(size, bold)] + [_font(s, bold, condensed=True) for s in range(size, 11, -1)]
    for font in candidates:
        if draw.textlength(text, font=font) <= width:
            return font
    return candidates[-1]


def _card_background(rng: np.random.Generator) -> Pixels:
    """Pale blue with a lighter middle and faint guilloche lines, as the e-KTP security
    print, so that a reader cannot rely on a flat background."""
    width, height = CARD_SIZE
    yy, xx = _grid(height, width)
    u, v = xx / width, yy / height
    edge = np.array([150, 200, 232], np.float32) + rng.uniform(-8, 8, 3).astype(np.float32)
    centre = np.array([222, 238, 248], np.float32)
    glow = np.exp(-(((u - 0.42) / 0.55) ** 2 + ((v - 0.55) / 0.6) ** 2))[..., None]
    tint = (0.5 * u + 0.5 * v)[..., None]
    base = edge + (centre - edge) * (0.35 + 0.55 * glow - 0.15 * tint)
    p1, p2, p3 = rng.uniform(0, 2 * math.pi, 3)
    waves = np.cos(2 * math.pi * (xx / 23 + 2.2 * np.sin(2 * math.pi * yy / 170 + p1)))
    waves2 = np.cos(2 * math.pi * (yy / 19 + 1.8 * np.sin(2 * math.pi * xx / 210 + p2)))
    cx, cy = width * rng.uniform(0.45, 0.6), height * rng.uniform(0.4, 0.6)
    radius = np.hypot(xx - cx, yy - cy)
    angle = np.arctan2(yy - cy, xx - cx)
    rosette = np.cos(radius / 5.5 + 3.0 * np.sin(8 * angle + p3))
    lines = (np.clip(waves - 0.85, 0, None) + np.clip(waves2 - 0.85, 0, None)) * 6.5 + np.clip(
        rosette - 0.8, 0, None
    ) * 5 * np.exp(-radius / 260)
    pattern = np.clip(lines, 0, 1.5)[..., None] * np.array([24, 13, 5], np.float32)
    return np.asarray(np.clip(base - pattern, 0, 255), np.float32)


def _photo(rng: random.Random) -> Image.Image:
    """The holder's photo: a plain backdrop (red or blue, as on real cards) and a grey
    head-and-shoulders silhouette, so no face of anyone real is used."""
    left, top, right, bottom = _PHOTO_BOX
    width, height = right - left, bottom - top
    backdrop = rng.choice([(196, 60, 58), (52, 96, 176), (190, 190, 196)])
    photo = Image.new("RGB", (width, height), backdrop)
    draw = ImageDraw.Draw(photo)
    grey = rng.randint(95, 130)
    person = (grey, grey, grey + 6)
    mid = width // 2 + rng.randint(-6, 6)
    head_w, head_h = rng.randint(36, 44), rng.randint(50, 58)
    head_top = rng.randint(30, 44)
    neck = head_top + 2 * head_h - 12
    draw.ellipse((mid - 88, neck + 22, mid + 88, height + 120), fill=person)
    draw.rectangle((mid - 16, neck - 20, mid + 16, neck + 40), fill=person)
    draw.ellipse((mid - head_w, head_top, mid + head_w, head_top + 2 * head_h), fill=person)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(90, 90, 96), width=2)
    return photo


def _signature(draw: ImageDraw.ImageDraw, rng: random.Random, box: tuple[int, ...]) -> None:
    """A scribble: a Catmull-Rom curve through random points drifting to the right, with
    loops where a point falls behind the one before."""
    left, top, right, bottom = box
    count = rng.randint(9, 15)
    xs = [left + (right - left) * i / (count - 1) + rng.uniform(-22, 22) for i in range(count)]
    ys = [rng.uniform(top, bottom) for _ in range(count)]
    path: list[tuple[float, float]] = []
    for i in range(1, count - 2):
        for step in range(12):
            t = step / 12
            weights = (
                (-t + 2 * t * t - t**3) / 2,
                (2 - 5 * t * t + 3 * t**3) / 2,
                (t + 4 * t * t - 3 * t**3) / 2,
                (-t * t + t**3) / 2,
            )
            x = sum(w * xs[i - 1 + k] for k, w in enumerate(weights))
            y = sum(w * ys[i - 1 + k] for k, w in enumerate(weights))
            path.append((x, y))
    ink = (30, 34, 60)
    draw.line(path, fill=ink, width=2, joint="curve")
    end_x, end_y = path[-1]
    flourish = (end_x + rng.uniform(10, 30), end_y + rng.uniform(-15, 15))
    draw.line([(end_x, end_y), flourish], fill=ink, width=2)


def _issue_date(person: CardPerson, rng: random.Random) -> date:
    """When the card was made: after the 17th birthday (the age for a KTP), 2012-2025."""
    adult = date(person.birth_date.year + 17, person.birth_date.month, 1)
    first = max(adult, date(2012, 1, 1))
    return first + timedelta(days=rng.randint(0, (date(2025, 12, 31) - first).days))


def render_card(person: CardPerson, seed: int) -> Image.Image:
    """The clean card, RGB, 1012x638: header, labelled rows, photo, place and signature.
    ``seed`` varies only the security print, photo and signature, never the text."""
    rng = random.Random(_derive(seed, "card"))
    card = Image.fromarray(
        _card_background(np.random.default_rng(_derive(seed, "print"))).astype(np.uint8)
    )
    draw = ImageDraw.Draw(card)
    ink = tuple(rng.randint(14, 34) for _ in range(3))
    width = CARD_SIZE[0]
    for y, line in ((16, f"PROVINSI {person.province}"), (54, person.regency)):
        font = _fitting_font(draw, line, 30, width - 60, bold=True)
        draw.text((width / 2, y), line, font=font, fill=ink, anchor="ma")
    label_font = _font(_TEXT_SIZE)
    draw.text((_LABEL_X, 104), "NIK", font=_font(30, bold=True), fill=ink)
    draw.text((_COLON_X - 2, 104), ":", font=_font(30, bold=True), fill=ink)
    draw.text((_VALUE_X, 100), person.nik, font=_font(35, bold=True), fill=ink)
    rows = [
        ("Nama", person.full_name, False),
        ("Tempat/Tgl Lahir", f"{person.birth_place}, {person.birth_date:%d-%m-%Y}", False),
        ("Jenis Kelamin", person.sex, False),
        ("Alamat", person.address, False),
        ("RT/RW", person.rt_rw, True),
        ("Kel/Desa", person.village, True),
        ("Kecamatan", person.district, True),
        ("Agama", person.religion, False),
        ("Status Perkawinan", person.marital_status, False),
        ("Pekerjaan", person.occupation, False),
        ("Kewarganegaraan", "WNI", False),
        ("Berlaku Hingga", "SEUMUR HIDUP", False),
    ]
    for index, (label, value, indented) in enumerate(rows):
        y = _ROW_TOP + index * _ROW_STEP
        draw.text((_INDENT_X if indented else _LABEL_X, y), label, font=label_font, fill=ink)
        draw.text((_COLON_X, y), ":", font=label_font, fill=ink)
        room = 190 if label == "Jenis Kelamin" else _VALUE_RIGHT - _VALUE_X
        font = _fitting_font(draw, value, _TEXT_SIZE, room)
        draw.text((_VALUE_X, y), value, font=font, fill=ink)
        if label == "Jenis Kelamin":
            draw.text((470, y), "Gol. Darah", font=label_font, fill=ink)
            draw.text((600, y), person.blood_type, font=label_font, fill=ink)
    card.paste(_photo(rng), _PHOTO_BOX[:2])
    left, _, right, bottom = _PHOTO_BOX
    middle = (left + right) / 2
    town = regency_town(person.regency)
    town_font = _fitting_font(draw, town, 20, right - left + 40)
    draw.text((middle, bottom + 12), town, font=town_font, fill=ink, anchor="ma")
    issued = f"{_issue_date(person, rng):%d-%m-%Y}"
    draw.text((middle, bottom + 38), issued, font=_font(20), fill=ink, anchor="ma")
    _signature(draw, rng, (left + 10, bottom + 76, right - 10, bottom + 126))
    return card


# --- the photograph -----------------------------------------------------------------------


def _grid(height: int, width: int) -> tuple[Pixels, Pixels]:
    """Row and column coordinates as a column and a row vector, broadcast on use."""
    rows = np.arange(height, dtype=np.float32)[:, None]
    columns = np.arange(width, dtype=np.float32)[None, :]
    return rows, columns


def _derive(seed: int, *parts: object) -> int:
    """A seed for one part of the work, stable across processes (unlike ``hash``)."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> Pixels:
    """Noise in about [-1, 1] that varies over ``width / cells`` pixels."""
    rows = max(2, round(cells * height / width))
    coarse = rng.standard_normal((rows, cells)).astype(np.float32)
    return np.asarray(
        cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), np.float32
    )


def _table(rng: np.random.Generator, width: int, height: int) -> Pixels:
    """A wooden table, a cloth or a laminate desk, from seeded noise."""
    kind = rng.choice(["wood", "cloth", "laminate"], p=[0.5, 0.3, 0.2])
    light = 1 + 0.12 * _smooth_noise(rng, height, width, 4)
    if kind == "wood":
        vertical = bool(rng.random() < 0.4)
        h, w = (width, height) if vertical else (height, width)
        yy = _grid(h, w)[0]
        warp = 25 * _smooth_noise(rng, h, w, 6)
        period = rng.uniform(9, 26)
        grain = np.sin(2 * math.pi * (yy + warp) / period)
        streaks = np.asarray(
            cv2.resize(
                rng.standard_normal((h, max(2, w // 60))).astype(np.float32),
                (w, h),
                interpolation=cv2.INTER_LINEAR,
            ),
            np.float32,
        )
        shade = 1 + 0.07 * grain + 0.06 * streaks + 0.1 * _smooth_noise(rng, h, w, 3)
        if vertical:
            shade = shade.T
        woods = [(140, 95, 58), (105, 70, 45), (175, 135, 90), (190, 160, 120), (85, 55, 38)]
        colour = np.array(woods[int(rng.integers(len(woods)))], np.float32)
        colour = colour * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    elif kind == "cloth":
        yy, xx = _grid(height, width)
        pitch = rng.uniform(3, 6)
        weave = np.sin(2 * math.pi * xx / pitch) * np.sin(2 * math.pi * yy / pitch)
        folds = _smooth_noise(rng, height, width, 5)
        shade = 1 + 0.05 * weave + 0.12 * folds
        shade += 0.04 * rng.standard_normal((height, width)).astype(np.float32)
        colour = np.array(
            rng.choice([(40, 60, 110), (90, 40, 45), (60, 90, 60), (120, 120, 115)]), np.float32
        )
        colour = colour * rng.uniform(0.8, 1.3)
    else:
        shade = 1 + 0.03 * rng.standard_normal((height, width)).astype(np.float32)
        shade += 0.05 * _smooth_noise(rng, height, width, 8)
        grey = rng.uniform(150, 225)
        colour = np.array([grey, grey * rng.uniform(0.95, 1.02), grey * 0.95], np.float32)
    table = colour[None, None, :] * (shade * light)[..., None]
    return np.asarray(np.clip(table, 0, 255), np.float32)


@dataclass(frozen=True)
class _Placement:
    """Where the card landed in the photo: its four corners (tl, tr, br, bl)."""

    corners: npt.NDArray[np.float32]

    @property
    def centre(self) -> tuple[float, float]:
        x, y = self.corners.mean(axis=0)
        return float(x), float(y)

    @property
    def width(self) -> float:
        return float(np.linalg.norm(self.corners[1] - self.corners[0]))


def _place_card(
    photo: Pixels,
    card: Image.Image,
    rng: np.random.Generator,
    *,
    card_width: float,
    max_angle: float,
    jitter: float,
    centre: tuple[float, float] | None = None,
) -> tuple[Pixels, _Placement]:
    """Lay the card on the table: rotated, in mild perspective, with a soft drop shadow."""
    height, width = photo.shape[:2]
    source = np.asarray(card.convert("RGB"), np.float32)
    card_height = card_width * source.shape[0] / source.shape[1]
    size = (max(2, round(card_width)), max(2, round(card_height)))
    shrink = size[0] < source.shape[1]
    source = np.asarray(
        cv2.resize(source, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC),
        np.float32,
    )
    mask_image = Image.new("L", (size[0] * 4, size[1] * 4), 0)
    ImageDraw.Draw(mask_image).rounded_rectangle(
        (0, 0, size[0] * 4 - 1, size[1] * 4 - 1), radius=round(size[0] * 4 * 0.037), fill=255
    )
    mask = np.asarray(mask_image.resize(size, Image.Resampling.BOX), np.float32) / 255
    angle = math.radians(rng.uniform(-max_angle, max_angle))
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32) * np.array(
        [size[0] / 2, size[1] / 2], np.float32
    )
    rotation = np.array(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], np.float32
    )
    relative = half @ rotation.T
    relative += rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32) * size[0]
    if centre is None:
        margin = 0.02 * width
        low = margin - relative.min(axis=0)
        high = np.array([width, height], np.float32) - margin - relative.max(axis=0)
        centre = (
            float(rng.uniform(low[0], high[0])) if high[0] > low[0] else width / 2,
            float(rng.uniform(low[1], high[1])) if high[1] > low[1] else height / 2,
        )
    corners = (relative + np.array(centre, np.float32)).astype(np.float32)
    src = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, corners)
    warped = np.asarray(
        cv2.warpPerspective(source, matrix, (width, height), flags=cv2.INTER_LINEAR),
        np.float32,
    )
    alpha = np.asarray(
        cv2.warpPerspective(mask, matrix, (width, height), flags=cv2.INTER_LINEAR), np.float32
    )
    offset = rng.uniform(2, 9, 2) * card_width / 1000
    shift = np.array([[1, 0, offset[0]], [0, 1, offset[1]]], np.float32)
    shadow = np.asarray(cv2.warpAffine(alpha, shift, (width, height)), np.float32)
    sigma = float(rng.uniform(4, 12) * card_width / 1000)
    shadow = np.asarray(cv2.GaussianBlur(shadow, (0, 0), sigma), np.float32)
    photo = photo * (1 - rng.uniform(0.25, 0.45) * shadow)[..., None]
    photo = photo * (1 - alpha[..., None]) + warped * alpha[..., None]
    return photo.astype(np.float32), _Placement(corners)


def _glare(
    photo: Pixels,
    centre: tuple[float, float],
    axes: tuple[float, float],
    angle: float,
    strength: float,
) -> Pixels:
    """A lamp or window reflected on the laminate: a soft bright ellipse."""
    height, width = photo.shape[:2]
    yy, xx = _grid(height, width)
    dx, dy = xx - centre[0], yy - centre[1]
    cos, sin = math.cos(angle), math.sin(angle)
    u, v = (dx * cos + dy * sin) / axes[0], (-dx * sin + dy * cos) / axes[1]
    spot = np.exp(-((u * u + v * v) ** 1.5))
    glow = (strength * spot)[..., None]
    return (photo + (255 - photo) * glow).astype(np.float32)


def _shadow(photo: Pixels, rng: np.random.Generator, through: tuple[float, float]) -> Pixels:
    """A phone's or hand's shadow: one side of a soft edge through ``through`` darker."""
    height, width = photo.shape[:2]
    yy, xx = _grid(height, width)
    angle = rng.uniform(0, 2 * math.pi)
    distance = (xx - through[0]) * math.cos(angle) + (yy - through[1]) * math.sin(angle)
    softness = rng.uniform(30, 110)
    side = 1 / (1 + np.exp(-distance / softness))
    depth = rng.uniform(0.3, 0.55)
    return (photo * (1 - depth * side)[..., None]).astype(np.float32)


def _point_on_card(rng: np.random.Generator, placement: _Placement) -> tuple[float, float]:
    weights = rng.dirichlet([2.0, 2.0, 2.0, 2.0])
    x, y = weights @ placement.corners
    return float(x), float(y)


def _expose(
    photo: Pixels, rng: np.random.Generator, *, gain: float, contrast: float, uneven: float
) -> Pixels:
    """Exposure and the light falling unevenly over the scene."""
    height, width = photo.shape[:2]
    yy, xx = _grid(height, width)
    u, v = xx / width - 0.5, yy / height - 0.5
    gx, gy = rng.uniform(-uneven, uneven, 2)
    light = (1 + gx * u + gy * v) * (1 - 0.25 * (u * u + v * v))
    photo = (photo - 128) * contrast + 128
    return np.asarray(photo * (gain * light)[..., None], np.float32)


def _jpeg(
    photo: Pixels, rng: np.random.Generator, *, blur: float, noise: float, quality: int
) -> bytes:
    """Lens blur, sensor noise, then the phone's JPEG."""
    if blur > 0:
        photo = np.asarray(cv2.GaussianBlur(photo, (0, 0), blur), np.float32)
    photo = photo + noise * rng.standard_normal(photo.shape, dtype=np.float32)
    pixels = np.clip(np.rint(photo), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def photograph(card: Image.Image, seed: int, hard: bool = False) -> bytes:
    """A phone photo of ``card`` on a table, as JPEG. Normal: large, nearly straight and
    sharp. Hard: small, tilted, with glare, a shadow, blur and heavy compression."""
    rng = np.random.default_rng(_derive(seed, "photo", hard))
    if hard:
        width, height = 800, 600
        card_width = rng.uniform(420, 600)
        max_angle, jitter = 10.0, 0.05
    else:
        width, height = (1280, 960) if rng.random() < 0.5 else (1600, 1200)
        card_width = rng.uniform(850, min(1150, 0.86 * width))
        max_angle, jitter = 3.0, 0.02
    photo = _table(rng, width, height)
    photo, placement = _place_card(
        photo, card, rng, card_width=card_width, max_angle=max_angle, jitter=jitter
    )
    if hard:
        axes = (placement.width * rng.uniform(0.12, 0.3), placement.width * rng.uniform(0.07, 0.18))
        photo = _glare(
            photo,
            _point_on_card(rng, placement),
            axes,
            rng.uniform(0, math.pi),
            rng.uniform(0.55, 0.85),
        )
        photo = _shadow(photo, rng, _point_on_card(rng, placement))
        photo = _expose(
            photo, rng, gain=rng.uniform(0.8, 1.1), contrast=rng.uniform(0.8, 1.05), uneven=0.5
        )
        return _jpeg(
            photo,
            rng,
            blur=rng.uniform(0.8, 1.6),
            noise=rng.uniform(3, 6),
            quality=int(rng.integers(25, 46)),
        )
    photo = _expose(
        photo, rng, gain=rng.uniform(0.92, 1.06), contrast=rng.uniform(0.9, 1.05), uneven=0.25
    )
    return _jpeg(
        photo,
        rng,
        blur=rng.uniform(0.4, 1.0),
        noise=rng.uniform(1.5, 3),
        quality=int(rng.integers(60, 81)),
    )


def card_set(name: str, count: int, seed: int) -> list[tuple[CardPerson, bytes]]:
    """``count`` people with their photographed cards: set "normal" or "hard"."""
    if name not in SETS:
        raise ValueError(f"unknown card set {name!r}; expected one of {SETS}")
    hard = name == "hard"
    return [
        (
            person,
            photograph(
                render_card(person, _derive(seed, "card", index)), _derive(seed, name, index), hard
            ),
        )
        for index, person in enumerate(people(count, seed))
    ]


def spoiled(kind: str, seed: int) -> bytes:
    """A photo no reader should accept, for the tips shown to a resident: "dark", "blurred",
    "cut_off" (half the card out of frame), "not_a_ktp" (no card) or "glare"."""
    if kind not in SPOILED_KINDS:
        raise ValueError(f"unknown spoiled photo {kind!r}; expected one of {SPOILED_KINDS}")
    rng = np.random.default_rng(_derive(seed, "spoiled", kind))
    width, height = 1280, 960
    photo = _table(rng, width, height)
    if kind == "not_a_ktp":
        return _jpeg(_clutter(photo, rng), rng, blur=0.8, noise=2.5, quality=70)
    person = people(1, _derive(seed, "spoiled person"))[0]
    card = render_card(person, _derive(seed, "spoiled card"))
    card_width = rng.uniform(850, 1080)
    centre = None
    if kind == "cut_off":
        side = int(rng.integers(4))
        along = rng.uniform(0.35, 0.65)
        across = rng.uniform(-0.08, 0.04) * card_width
        centre = [
            (across, along * height),
            (width - across, along * height),
            (along * width, across),
            (along * width, height - across),
        ][side]
    photo, placement = _place_card(
        photo, card, rng, card_width=card_width, max_angle=4.0, jitter=0.02, centre=centre
    )
    blur, noise = rng.uniform(0.5, 1.0), 2.0
    if kind == "dark":
        photo = _expose(photo, rng, gain=rng.uniform(0.07, 0.13), contrast=0.8, uneven=0.4)
        noise = rng.uniform(2.5, 4)
    elif kind == "blurred":
        blur = rng.uniform(8, 13)
    elif kind == "glare":
        x, y = placement.centre
        text_band = (x - 0.12 * placement.width, y - 0.06 * placement.width)
        axes = (placement.width * rng.uniform(0.55, 0.7), placement.width * rng.uniform(0.3, 0.38))
        photo = _glare(photo, text_band, axes, rng.uniform(-0.2, 0.2), 1.0)
        photo = _expose(photo, rng, gain=1.15, contrast=1.0, uneven=0.1)
    return _jpeg(photo, rng, blur=blur, noise=noise, quality=70)


def _clutter(photo: Pixels, rng: np.random.Generator) -> Pixels:
    """Things on a table that are not a card: a mug, a phone, a pen, a coaster."""
    height, width = photo.shape[:2]
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 8))):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        colour = tuple(int(c) for c in rng.integers(20, 235, 3))
        shape = rng.choice(["mug", "phone", "pen", "coaster"])
        if shape == "mug":
            r = rng.uniform(60, 140)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
            draw.ellipse((x - r * 0.8, y - r * 0.8, x + r * 0.8, y + r * 0.8), fill=(60, 35, 20))
        elif shape == "coaster":
            r = rng.uniform(50, 110)
            draw.regular_polygon(
                (x, y, r), int(rng.integers(4, 9)), rotation=rng.uniform(0, 90), fill=colour
            )
        else:
            length, thick = (
                (rng.uniform(250, 340), rng.uniform(120, 160))
                if shape == "phone"
                else (rng.uniform(250, 400), rng.uniform(10, 18))
            )
            a = rng.uniform(0, math.pi)
            dx, dy = math.cos(a), math.sin(a)
            points = [
                (
                    x + sx * length / 2 * dx - sy * thick / 2 * dy,
                    y + sx * length / 2 * dy + sy * thick / 2 * dx,
                )
                for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
            ]
            draw.polygon(points, fill=(25, 25, 30) if shape == "phone" else colour)
    return _expose(np.asarray(image, np.float32), rng, gain=1.0, contrast=1.0, uneven=0.3)
