"""Many pending registrations at once, written with COPY (each NIK encrypted on its own),
for the hand-over benchmark (scripts/bench_submissions.py) and the worker-kill test: a
registration per serial ``n``, with its own reference, NIK and sender."""

from __future__ import annotations

import io
from typing import Any

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


#: The columns of ``participants`` the bulk writers fill, in the order of their lines.
PARTICIPANT_COLUMNS = (
    "reference, nik_hash, nik_encrypted, full_name_encrypted, birth_date_encrypted, "
    "phone_hash, phone_encrypted, income_encrypted, sex, province_code, district_code, "
    "village, district, regency, occupation, with_jht, monthly_contribution, status, "
    "channel, sender_hash, consent_record_id, first_period"
)


def one_consent(cursor: Any, channel: str) -> int:
    """The one consent record every generated participant points to; its id."""
    cursor.execute(
        "INSERT INTO consent_records (sender_hash, channel, purpose, granted, wording, "
        "wording_sha256) VALUES ('bench', %s, 'registration', true, 'setuju', 'x') "
        "RETURNING id",
        (channel,),
    )
    row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def copy_participants(cursor: Any, lines: str) -> None:
    """Participants as tab-separated ``PARTICIPANT_COLUMNS`` lines, in one COPY."""
    with cursor.copy(f"COPY participants ({PARTICIPANT_COLUMNS}) FROM STDIN") as copy:
        copy.write(lines)


def copy_contacts(cursor: Any, lines: str) -> None:
    """Each participant's chat (``sender_hash, channel, address_encrypted,
    last_inbound_at`` lines, in one COPY) as their preferred address: the chat they
    registered from (issue 19)."""
    with cursor.copy(
        "COPY channel_contacts (sender_hash, channel, address_encrypted, last_inbound_at) "
        "FROM STDIN"
    ) as copy:
        copy.write(lines)
    cursor.execute(
        "INSERT INTO participant_addresses "
        "(participant_id, sender_hash, channel, proof, preferred, verified_at) "
        "SELECT id, sender_hash, channel, 'registered_here', true, now() FROM participants"
    )


def accept_all(cursor: Any, kpj_encrypted: str) -> None:
    """Every participant accepted by BPJS Ketenagakerjaan (a KPJ number): reminders go only
    to residents it knows, the planner skips the others."""
    cursor.execute(
        "INSERT INTO submissions (participant_id, reference, state, regency, village, "
        "attempts, kpj_encrypted, created_at, state_at, accepted_notice_at) "
        "SELECT id, reference, 'accepted', regency, village, 0, %s, now(), now(), now() "
        "FROM participants",
        (kpj_encrypted,),
    )


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
        consent_id = one_consent(cursor, "wa")
        people = io.StringIO()
        for n in range(offset, offset + count):
            people.write(
                f"{reference(n)}\tnik{n:012d}\t{cipher.encrypt(nik(n))}\t{shared['name']}\t"
                f"{shared['birth']}\tphone{n}\t{shared['phone']}\t{shared['income']}\tL\t35\t"
                f"352398\tKaranglo\tKerek\t{regency}\tpetani\tf\t16800\tregistered\twa\t"
                f"bench{n}\t{consent_id}\t2026-12-01\n"
            )
        copy_participants(cursor, people.getvalue())
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
