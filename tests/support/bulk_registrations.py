"""Many pending registrations at once, written with COPY (each NIK encrypted on its own),
for the hand-over benchmark (scripts/bench_submissions.py) and the worker-kill test: a
registration per serial ``n``, with its own reference, NIK and sender."""

from __future__ import annotations

import io

from bot.app_context import AppContext
from bot.domain.registration import REFERENCE_ALPHABET


def reference(i: int) -> str:
    """The ``i``-th reference in Sadar's alphabet: SDR-XXXX-XXXX, all distinct."""
    chars = []
    for _ in range(8):
        i, digit = divmod(i, len(REFERENCE_ALPHABET))
        chars.append(REFERENCE_ALPHABET[digit])
    return f"SDR-{''.join(chars[:4])}-{''.join(chars[4:])}"


def nik(i: int) -> str:
    """A NIK of Tuban born 17-08-80: district 98 downwards (none exists), serial ``i``."""
    return f"3523{98 - i // 10_000:02d}170880{i % 10_000:04d}"


def generate(context: AppContext, count: int, regency: str, offset: int) -> None:
    """``count`` pending registrations of ``regency``, each NIK encrypted on its own."""
    cipher = context.cipher
    shared = {
        field: cipher.encrypt(value)
        for field, value in (
            ("name", "Warga Uji"), ("birth", "1980-08-17"), ("phone", "+6281200000000"),
            ("income", "1000000"),
        )
    }  # fmt: skip
    now = context.clock.now().isoformat()
    raw = context.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "INSERT INTO consent_records (sender_hash, channel, purpose, granted, wording, "
            "wording_sha256) VALUES ('bench', 'wa', 'registration', true, 'setuju', 'x') "
            "RETURNING id"
        )
        consent_id = cursor.fetchone()[0]
        people = io.StringIO()
        for n in range(offset, offset + count):
            people.write(
                f"{reference(n)}\tnik{n:012d}\t{cipher.encrypt(nik(n))}\t{shared['name']}\t"
                f"{shared['birth']}\tphone{n}\t{shared['phone']}\t{shared['income']}\tL\t35\t"
                f"352398\tKaranglo\tKerek\t{regency}\tpetani\tf\t16800\tregistered\twa\t"
                f"bench{n}\t{consent_id}\t2026-12-01\n"
            )
        people.seek(0)
        columns = (
            "reference, nik_hash, nik_encrypted, full_name_encrypted, birth_date_encrypted, "
            "phone_hash, phone_encrypted, income_encrypted, sex, province_code, district_code, "
            "village, district, regency, occupation, with_jht, monthly_contribution, status, "
            "channel, sender_hash, consent_record_id, first_period"
        )
        with cursor.copy(f"COPY participants ({columns}) FROM STDIN") as copy:
            copy.write(people.read())
        cursor.execute(
            "INSERT INTO submissions (participant_id, reference, state, regency, village, "
            "attempts, created_at, state_at) SELECT id, reference, 'pending', regency, village, "
            f"0, '{now}', '{now}' FROM participants WHERE regency = %s",
            (regency,),
        )
        raw.commit()
        cursor.execute("ANALYZE")
    finally:
        raw.close()
