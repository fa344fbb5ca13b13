"""Registration rules for a BPU participant: names, ages, the NIK/birth-date match, the
Sadar reference and the first due date. Pure: the caller passes today's date."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.domain.nik import Nik
from bot.domain.payments import add_months, load_calendar, period_of
from bot.domain.senders import Channel

#: Crockford base32 without I, L, O, U: easy to read aloud and to type on a phone.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "SDR"
_NAME = re.compile(r"^[A-Za-z][A-Za-z .,'\-]{1,99}$")


class RegistrationProblem(ValueError):
    """A value that cannot be accepted; ``code`` selects the reply that says what to send."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Registration:
    full_name: str
    nik: Nik
    birth_date: date
    phone: str
    village: str
    district: str
    regency: str
    occupation: str
    declared_income: int
    with_jht: bool
    channel: Channel
    #: The desa/kelurahan's Kemendagri code ("35.23.16.2001"), when read from the register.
    village_code: str | None = None


def answers_of(registration: Registration) -> dict[str, Any]:
    """A registration's answers as plain values: what a walk-in's held registration stores
    (JSON), and what a correction compares with the stored answers."""
    return {
        "full_name": registration.full_name,
        "nik": registration.nik.value,
        "birth_date": registration.birth_date.isoformat(),
        "phone": registration.phone,
        "village": registration.village,
        "district": registration.district,
        "regency": registration.regency,
        "village_code": registration.village_code,
        "occupation": registration.occupation,
        "declared_income": registration.declared_income,
        "with_jht": registration.with_jht,
        "channel": registration.channel.value,
    }


def clean_full_name(text: str) -> str:
    """The name as on the KTP: letters, spaces and . , ' - only; spacing tidied."""
    name = " ".join(text.split())
    if not _NAME.match(name) or len(name.replace(" ", "")) < 2:
        raise RegistrationProblem("name", f"not a name: {len(name)} characters")
    return name


def age_on(birth_date: date, today: date) -> int:
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )


def check_age(birth_date: date, today: date, minimum: int, maximum: int) -> int:
    age = age_on(birth_date, today)
    if age < minimum:
        raise RegistrationProblem("too_young", f"age {age} is under {minimum}")
    if age > maximum:
        raise RegistrationProblem("too_old", f"age {age} is over {maximum}")
    return age


def birth_date_matches_nik(nik: Nik, birth_date: date) -> bool:
    return nik.birth_date == birth_date


MIN_PLAUSIBLE_INCOME = 100_000
MAX_PLAUSIBLE_INCOME = 1_000_000_000


def check_income(amount: int) -> int:
    """Monthly income in rupiah; very small or huge figures are usually typing slips."""
    if amount < MIN_PLAUSIBLE_INCOME:
        raise RegistrationProblem("income_too_low", f"{amount} is below {MIN_PLAUSIBLE_INCOME}")
    if amount > MAX_PLAUSIBLE_INCOME:
        raise RegistrationProblem("income_too_high", f"{amount} is above {MAX_PLAUSIBLE_INCOME}")
    return amount


def make_reference(random_bytes: bytes | None = None, prefix: str = REFERENCE_PREFIX) -> str:
    """'SDR-7K3M-9QXA': Sadar's own reference, clearly not the official KPJ number
    (receipts use the same shape with their own prefix)."""
    raw = random_bytes if random_bytes is not None else secrets.token_bytes(8)
    chars = [REFERENCE_ALPHABET[b % len(REFERENCE_ALPHABET)] for b in raw[:8]]
    return f"{prefix}-{''.join(chars[:4])}-{''.join(chars[4:8])}"


def first_period(registered_on: date) -> date:
    """The first month to pay for: this month, or the next one after its due date."""
    this_month = period_of(registered_on)
    if registered_on <= due_date(this_month):
        return this_month
    return add_months(this_month, 1)


def due_date(period: date) -> date:
    """Contributions are due by the 15th of the month they cover, or the next working day."""
    return load_calendar().due_date(period)


#: "I" in the languages residents introduce themselves in: Indonesian, Javanese (kulo,
#: kula, aku), Sundanese (abdi), Minang (ambo), Banjar (ulun), eastern Indonesia (beta, sa).
SELF_WORDS = r"(?:saya|sy|aku|ak|ku|kulo|kula|abdi|ambo|ulun|beta|gue|gw)"
#: The word "name" in Indonesian, Javanese (jeneng, asma in krama) and Sundanese (nami),
#: with the possessive endings people add: namanya, namane, namaku, jenenge, asmanipun
#: ("Asma" alone is a name: Asma Nadia).
_NAME_WORD = r"(?:(?:nama|nami|jeneng)(?:nya|ne|e|ku|na|ipun|nipun)?|asma(?:ne|nipun))"
_NAME_PREFIX = re.compile(
    rf"^\s*(?:{_NAME_WORD}\s*(?:{SELF_WORDS}|lengkap\s*{SELF_WORDS}?|sesuai ktp)?|"
    rf"{SELF_WORDS}|atas nama|a\.?n\.?)"
    r"(?=[\s:=]|$)\s*[:=]?\s*",
    re.IGNORECASE,
)
_NAME_STOP = re.compile(r"[,;\n]|\b(?:nik|lahir|tgl|tanggal|hp|no|nomor|wa|desa|kerja)\b", re.I)


def name_from_message(text: str) -> str:
    """The name part of 'nama saya Budi Santoso, NIK …': prefix words and other fields removed."""
    candidate = _NAME_PREFIX.sub("", text, count=1)
    stop = _NAME_STOP.search(candidate)
    return (candidate[: stop.start()] if stop else candidate).strip(" .:-")
