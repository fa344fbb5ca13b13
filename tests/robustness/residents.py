"""Generated residents and the messages they would write: random field subsets in mixed
orders and several written forms, with noise words and typos. Everything is drawn from a
``random.Random`` the caller seeds, and dates are relative to the ``today`` it passes, so a
run is the same on every machine and every day.

The wordings are written for this generator (not taken from the dialogue corpus)."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta

from bot.infra.settings import PROJECT_ROOT

NAMES = (
    "Siti Aminah", "Budi Santoso", "Ni Luh Ayu Sukmawati", "Yohanes Kurniawan", "Dewi Lestari",
    "Ahmad Fauzi", "Rini Wulandari", "Muhammad Rizky", "Sri Mulyani", "Agus Salim",
    "I Wayan Sudarsana", "Maria Goreti", "Teuku Iskandar", "Nurhayati", "Slamet Riyadi",
    "Lilis Suryani", "Paini", "Heru Cahyono", "Fransiska Nona", "Abdul Gani",
)  # fmt: skip
#: Province codes the NIK rules know, plus regency codes of the seed villages.
REGENCY_CODES = ("3504", "3523", "2102", "3516", "3201", "3374", "5171", "7371", "1101")
PREFIXES = ("12", "13", "21", "52", "57", "77", "95")
INVENTED_VILLAGES = ("Sukamaju", "Karangrejo", "Sidomulyo", "Tanjungsari", "Mekarsari")
NOT_PLACES = ("xyz", "ok", "gak tau", "rumah", "123")
MONTH_NAMES = (
    "januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus", "september",
    "oktober", "november", "desember",
)  # fmt: skip
MONTH_SHORT = ("jan", "feb", "mar", "apr", "mei", "jun", "jul", "agt", "sep", "okt", "nov", "des")
NOISE = (
    "pak", "bu", "mas", "mbak", "min", "tolong", "ya", "hehe", "makasih", "gitu aja", "nih",
    "🙏", "ok", "sip", "dong", "kak", "punten", "nggih",
)  # fmt: skip
JHT_YES = ("ikut jht", "pakai jht juga", "jht ya", "sekalian jht", "tiga program")
JHT_NO = ("tanpa jht", "ga usah jht", "tidak ikut jht", "jkk jkm aja", "jht nanti dulu")
YES = ("ya", "iya", "betul", "sudah benar", "nggih", "muhun", "oke lanjut")
NO = ("tidak", "salah", "belum benar", "ora", "henteu", "gak")
#: Messages that are not the step's answer, with the intent a classifier would likely give.
OTHER = (
    ("batal", "cancel"), ("gak jadi", "cancel"), ("berapa iurannya?", "ask_contribution"),
    ("apa itu jkm", "ask_jkm"), ("stop pengingat", "stop_reminders"),
    ("kamu bot?", "bot_challenge"), ("mau bicara dengan orang", "ask_human"),
    ("tolong sambungkan ke petugas", "ask_human"), ("halo", "greet"),
    ("salah, namanya {name}", "correct"), ("ganti nik {nik}", "correct"),
    ("salah tanggal lahirnya {birth}", "correct"), ("hmm", "nlu_fallback"), ("?", "out_of_scope"),
    ("saya lupa", "inform"), ("nanti saya tanya suami", "deny"), ("", "nlu_fallback"),
    ("hapus data saya", "delete_my_data"), ("cek status", "check_status"),
    ("bisa pinjam uang?", "out_of_scope"), ("daftarkan ibu saya", "register_someone_else"),
    ("iuran {money} berapa", "ask_premium_for_income"), ("terima kasih", "thank"),
)  # fmt: skip


@dataclass(frozen=True)
class Resident:
    full_name: str
    nik: str
    birth_date: date
    female: bool
    phone: str
    village: str
    district: str | None
    occupation_words: str
    income: int
    with_jht: bool


@dataclass(frozen=True)
class AgeCase:
    """Where a birth date sits against the age limits."""

    name: str
    birth_date: date


def age_cases(today: date, minimum: int, maximum: int) -> list[AgeCase]:
    """Exactly the minimum, one day under it, exactly the maximum (the first and the last
    day of that year of age), one day over it."""

    def years_before(years: int) -> date:
        try:
            return today.replace(year=today.year - years)
        except ValueError:  # 29 February
            return today.replace(year=today.year - years, day=28)

    return [
        AgeCase("exactly the minimum", years_before(minimum)),
        AgeCase("one day under the minimum", years_before(minimum) + timedelta(days=1)),
        AgeCase("turned the maximum today", years_before(maximum)),
        AgeCase("last day of the maximum", years_before(maximum + 1) + timedelta(days=1)),
        AgeCase("one day over the maximum", years_before(maximum + 1)),
    ]


def _occupation_words() -> list[str]:
    path = PROJECT_ROOT / "nlu" / "lookups" / "occupations.csv"
    with path.open(encoding="utf-8") as rows:
        return [w for row in csv.DictReader(rows) for w in row["synonyms"].split("|")[:4]]


def _villages() -> list[tuple[str, str]]:
    path = PROJECT_ROOT / "nlu" / "lookups" / "villages.csv"
    with path.open(encoding="utf-8") as rows:
        return [(row["name"], row["district"]) for row in csv.DictReader(rows)]


OCCUPATION_WORDS = _occupation_words()
SEED_VILLAGES = _villages()


def birth_date_for(rng: random.Random, today: date, minimum: int, maximum: int) -> date:
    """A third of residents sit on an age limit; the rest anywhere from 5 to 99."""
    if rng.random() < 0.35:
        return rng.choice(age_cases(today, minimum, maximum)).birth_date
    return today - timedelta(days=rng.randint(5 * 365, 99 * 365))


def nik_for(rng: random.Random, birth: date, female: bool) -> str:
    day = birth.day + (40 if female else 0)
    return (
        f"{rng.choice(REGENCY_CODES)}{rng.randint(1, 30):02d}"
        f"{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 9999):04d}"
    )


def resident(rng: random.Random, today: date, minimum: int, maximum: int) -> Resident:
    female = rng.random() < 0.5
    birth = birth_date_for(rng, today, minimum, maximum)
    nik = nik_for(rng, birth, female)
    slip = rng.random()
    if slip < 0.05:  # a typo in the NIK: a digit lost or changed
        position = rng.randrange(16)
        nik = nik[:position] + rng.choice(["", str(rng.randint(0, 9))]) + nik[position + 1 :]
    elif slip < 0.09:  # 16 digits that are no NIK: no such province, or no such date
        nik = rng.choice(
            [f"00{nik[2:]}", f"99{nik[2:]}", f"{nik[:6]}00{nik[8:]}", nik[:8] + "13" + nik[10:]]
        )
    if rng.random() < 0.08:  # the birth date said differs from the one in the NIK
        birth = birth - timedelta(days=rng.choice([1, 31, 365, 3 * 365]))
    if rng.random() < 0.6:
        village, district = rng.choice(SEED_VILLAGES)
    else:
        village, district = rng.choice(INVENTED_VILLAGES + NOT_PLACES), None
    income = rng.choice(
        [rng.randint(5, 150) * 50_000, rng.randint(1, 99) * 1_000, rng.randint(2, 9) * 10**9]
        if rng.random() < 0.1
        else [rng.randint(4, 200) * 50_000]
    )
    return Resident(
        full_name=rng.choice(NAMES),
        nik=nik,
        birth_date=birth,
        female=female,
        phone=f"08{rng.choice(PREFIXES)}{rng.randint(10**7, 10**8 - 1)}",
        village=village,
        district=district,
        occupation_words=rng.choice(OCCUPATION_WORDS),
        income=income,
        with_jht=rng.random() < 0.5,
    )


# --- written forms -----------------------------------------------------------------------


def written_date(rng: random.Random, day: date) -> str:
    d, m, y = day.day, day.month, day.year
    return rng.choice(
        [
            f"{d:02d}-{m:02d}-{y}",
            f"{d}/{m}/{y}",
            f"{d:02d}.{m:02d}.{y}",
            f"{d} {MONTH_NAMES[m - 1]} {y}",
            f"{d} {MONTH_SHORT[m - 1]} {y % 100:02d}",
            f"tgl {d} bln {m} thn {y}",
            f"{d}-{m}-{y % 100:02d}",
            f"{d} {MONTH_NAMES[m - 1].capitalize()} {y}",
        ]
    )


def written_phone(rng: random.Random, phone: str) -> str:
    rest = phone[1:]
    return rng.choice(
        [phone, f"+62{rest}", f"62{rest}", f"{phone[:4]}-{phone[4:8]}-{phone[8:]}",
         f"{phone[:4]} {phone[4:8]} {phone[8:]}"]
    )  # fmt: skip


def written_money(rng: random.Random, amount: int) -> str:
    millions, rest = divmod(amount, 1_000_000)
    thousands = amount // 1_000
    forms = [f"{amount:,}".replace(",", "."), f"Rp {amount:,}".replace(",", "."), f"Rp{amount}"]
    if amount >= 1_000_000 and rest == 0:
        forms += [f"{millions} juta", f"{millions}jt", f"{millions} jt an"]
    if amount >= 1_000_000 and rest % 100_000 == 0:
        forms += [f"{millions},{rest // 100_000} juta", f"{millions}.{rest // 100_000}jt"]
    if amount < 1_000_000:
        forms += [f"{thousands} ribu", f"{thousands}rb", f"{thousands}k"]
    return rng.choice(forms)


def written_nik(rng: random.Random, nik: str) -> str:
    if rng.random() < 0.2 and len(nik) == 16:
        return f"{nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}"
    return nik


def typo(rng: random.Random, word: str) -> str:
    """One slip of the finger in a word of letters: two letters swapped, one lost or doubled."""
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def field_text(rng: random.Random, field: str, who: Resident, labelled: bool = True) -> str:
    """One field as a resident writes it, with or without its label."""
    label = ""
    if field == "full_name":
        label, value = rng.choice(["nama", "nama saya", "nm", "namaku", "saya"]), who.full_name
    elif field == "nik":
        label = rng.choice(["nik", "NIK:", "no ktp", "ktp", "nomor nik"])
        value = written_nik(rng, who.nik)
    elif field == "birth_date":
        label = rng.choice(["lahir", "tgl lahir", "ttl", "lhr", "lahir tanggal"])
        value = written_date(rng, who.birth_date)
    elif field == "phone":
        label = rng.choice(["hp", "no wa", "nomor", "telp", "no hp"])
        value = written_phone(rng, who.phone)
    elif field == "village":
        label = rng.choice(["desa", "ds", "kel", "tinggal di", "alamat"])
        value = who.village
        if who.district and rng.random() < 0.3:
            value = f"{value} kec {who.district}"
    elif field == "district":
        label, value = rng.choice(["kec", "kecamatan", ""]), who.district or "Sukamaju"
    elif field == "regency":
        label, value = rng.choice(["kab", "kabupaten", ""]), rng.choice(["Tuban", "Bintan", "Xy"])
    elif field == "occupation":
        label = rng.choice(["kerja", "pekerjaan", "saya", "sehari-hari"])
        value = who.occupation_words
    elif field == "declared_income":
        label = rng.choice(["penghasilan", "gaji", "pendapatan", "sebulan", "hasil"])
        value = written_money(rng, who.income)
    elif field == "with_jht":
        return rng.choice(JHT_YES if who.with_jht else JHT_NO)
    else:
        raise ValueError(field)
    if not labelled or not label:
        return value
    if rng.random() < 0.15:
        label = typo(rng, label)
    return f"{label} {value}"


def multi_field_message(rng: random.Random, who: Resident, fields: list[str]) -> str:
    """Several fields in one message, in the order given, with separators and noise."""
    parts = [field_text(rng, f, who, labelled=rng.random() < 0.85) for f in fields]
    if rng.random() < 0.4:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(NOISE))
    if rng.random() < 0.3:
        parts.insert(0, rng.choice(["mau daftar", "daftar bpjs", "sy mau ikut", "halo min"]))
    separator = rng.choice([", ", " ", "\n", ". ", " / "])
    return separator.join(parts)


def other_message(rng: random.Random, who: Resident) -> tuple[str, str]:
    """Something other than an answer, and the intent it most likely gets."""
    text, intent = rng.choice(OTHER)
    return text.format(
        name=who.full_name,
        nik=who.nik,
        birth=written_date(rng, who.birth_date),
        money=written_money(rng, who.income),
    ), intent


def garbage(rng: random.Random) -> str:
    """What a slipping thumb or a pasted text sends: digits of any length, stray symbols,
    emoji, another script, a very long line."""
    pieces = [
        str(rng.randint(0, 10 ** rng.randint(1, 20))),
        "".join(rng.choice("!@#$%^&*()_+-=[]{};':,./<>?~") for _ in range(rng.randint(1, 8))),
        rng.choice(["🙏🙏", "👍", "😂", "نام", "名字", "ñ", "\u200b", "\t"]),
        " ".join(rng.choice(NOISE) for _ in range(rng.randint(20, 120))),
        f"{rng.randint(1, 40)}/{rng.randint(0, 15)}/{rng.randint(0, 3000)}",
        f"{rng.randint(0, 999)} juta {rng.randint(0, 999)} ribu",
    ]
    return " ".join(rng.sample(pieces, rng.randint(1, 3)))


def answer_at(
    rng: random.Random, step: str | None, who: Resident, fields: list[str]
) -> tuple[str, str | None]:
    """A resident's message while the form asks ``step`` (and the intent it likely gets):
    mostly the answer, sometimes with other fields, sometimes only other fields, sometimes
    something else entirely."""
    roll = rng.random()
    if roll < 0.04:
        return garbage(rng), None
    if roll < 0.12:
        return other_message(rng, who)
    return _answer(rng, roll, step, who, fields), None


def _answer(
    rng: random.Random, roll: float, step: str | None, who: Resident, fields: list[str]
) -> str:
    if roll < 0.25:
        return multi_field_message(rng, who, rng.sample(fields, rng.randint(1, len(fields))))
    if step in ("registration_confirmed", "consent_given"):
        return rng.choice(YES if rng.random() < 0.75 else NO)
    if step == "resident_consent":
        return rng.choice(["kode", "1", "2", "dibacakan", "baca saja", "kirim kode"])
    if step is None or step not in {*fields, "district", "regency", "with_jht"}:
        return multi_field_message(rng, who, rng.sample(fields, rng.randint(1, len(fields))))
    text = field_text(rng, step, who, labelled=rng.random() < 0.4)
    if step == "with_jht" and rng.random() < 0.3:
        text = rng.choice(YES + NO)
    if roll < 0.45:
        extra = [f for f in fields if f != step]
        text = multi_field_message(rng, who, [step, *rng.sample(extra, rng.randint(1, 2))])
    if rng.random() < 0.1:
        text = f"{rng.choice(NOISE)} {text}"
    return text
