"""Write the sample files of docs/registry.md from generated people, with Sadar's own code.

`make registry-samples` registers three made-up residents (NIKs of district 98 of Tuban,
which does not exist; names that say they are examples) in a throwaway SQLite database,
exports their batch file to docs/samples/batch-sample.xlsx, writes a branch answer for it
(one accepted, one refused, one not answered yet) to docs/samples/answers-sample.csv, and
renders both as tables between the markers in docs/registry.md. The samples therefore
have the columns the code writes and reads (tests/unit/test_registry_samples.py checks
they still do); references and the batch id are random, as in real use."""

from __future__ import annotations

import csv
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import load_workbook  # noqa: E402

from bot.app_context import AppContext  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.domain.clock import FixedClock  # noqa: E402
from bot.domain.consent import ConsentDecision, ConsentPurpose  # noqa: E402
from bot.domain.nik import parse_nik  # noqa: E402
from bot.domain.registration import Registration  # noqa: E402
from bot.domain.senders import Channel, make_sender_id  # noqa: E402
from bot.domain.submissions import Accepted, Rejected, RejectionReason  # noqa: E402
from bot.infra.settings import Settings  # noqa: E402
from bot.services.participants import register_with_consent  # noqa: E402
from bot.services.registry.batch import (  # noqa: E402
    HEADER_SHEET,
    REGISTRATIONS_SHEET,
    answer_file_rows,
    export_batch,
)

SAMPLES = ROOT / "docs" / "samples"
DOC = ROOT / "docs" / "registry.md"
BEGIN, END = "<!-- registry-samples:begin -->", "<!-- registry-samples:end -->"
#: A fixed moment, for stable dates.
AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
PEOPLE = (
    ("Sri Contoh Satu", "3523985708800001", "+6281200000001", "petani", 1_000_000, False),
    ("Budi Contoh Dua", "3523981203750002", "+6281200000002", "nelayan", 2_500_000, True),
    ("Siti Contoh Tiga", "3523986111900003", "+6281200000003", "pedagang", 1_500_000, False),
)


def main() -> None:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sadar-samples-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'samples.db'}"
        upgrade(url)
        settings = Settings(
            _env_file=None, database_url=url, pii_hash_key="samples-only-key-0000000000000000"
        )
        context = AppContext.from_settings(settings, FixedClock(AT))
        references = []
        for name, nik, phone, occupation, income, with_jht in PEOPLE:
            parsed = parse_nik(nik, AT.date())
            registration = Registration(
                full_name=name, nik=parsed, birth_date=parsed.birth_date, phone=phone,
                village="Karanglo", district="Kerek", regency="Tuban", occupation=occupation,
                declared_income=income, with_jht=with_jht, channel=Channel.WHATSAPP,
            )  # fmt: skip
            decision = ConsentDecision(
                Channel.WHATSAPP, ConsentPurpose.REGISTRATION, True, "Setuju (contoh)"
            )
            registered = register_with_consent(
                context.unit_of_work(), context.cipher, context.hash_key, registration,
                make_sender_id(Channel.WHATSAPP, phone), decision, AT,
            )  # fmt: skip
            references.append(registered.reference)
        batch = SAMPLES / "batch-sample.xlsx"
        batch.unlink(missing_ok=True)
        export_batch(context.unit_of_work(), context.cipher, batch, "Tuban", AT, "samples")
        batch.chmod(0o644)  # a sample in git, not a real hand-over
        answers = SAMPLES / "answers-sample.csv"
        with answers.open("w", newline="", encoding="utf-8") as stream:
            csv.writer(stream).writerows(
                answer_file_rows(
                    [
                        (references[0], Accepted("26120000001", "889000000001")),
                        (
                            references[1],
                            Rejected(RejectionReason.IDENTITY_MISMATCH, "nama beda (contoh)"),
                        ),
                    ]
                )
            )
        context.engine.dispose()

    workbook = load_workbook(batch, read_only=True)
    header = list(workbook[HEADER_SHEET].values)
    rows = list(workbook[REGISTRATIONS_SHEET].values)
    with answers.open(encoding="utf-8") as stream:
        answer_rows = list(csv.reader(stream))
    block = "\n".join(
        [
            BEGIN,
            "`docs/samples/batch-sample.xlsx`, sheet **Batch**:",
            "",
            _table([["field", "value"], *header]),
            "",
            "Sheet **Pendaftaran**:",
            "",
            _table(rows),
            "",
            "`docs/samples/answers-sample.csv` (the third registration is not answered yet):",
            "",
            _table(answer_rows),
            END,
        ]
    )
    text = DOC.read_text(encoding="utf-8")
    if BEGIN not in text:
        raise SystemExit(f"{DOC} has no {BEGIN} marker: add one where the samples go")
    DOC.write_text(
        text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :], encoding="utf-8"
    )
    print(f"wrote {batch.relative_to(ROOT)}, {answers.relative_to(ROOT)} and their tables")


def _table(rows: list[tuple[object, ...]] | list[list[str]]) -> str:
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
