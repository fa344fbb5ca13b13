"""The cash book's rows and the jimpitan reply's member lines, without a database: the
total row is the sum of the receipts, an empty month still has its (zero) total, and each
jimpitan member gets a line of their own in the reply the agent reads."""

from __future__ import annotations

from datetime import UTC, date, datetime

import yaml

from actions.payments import jimpitan_members
from bot.infra.settings import PROJECT_ROOT
from bot.services.agent_payments import PaidMember
from bot.services.payments import CASH_BOOK_HEADER, CashBook, PaymentLine, cash_book_rows

KARANGLO = ("Karanglo", "Kerek", "Tuban")


def _line(receipt: str, amount: int, group: str | None = None) -> PaymentLine:
    return PaymentLine(
        payment_id=1, receipt=receipt, group_receipt=group, participant_reference="SDR-AB12-CD34",
        member="Sut*** W.", area=KARANGLO, collected_by="Siti Perisai", source="agent_cash",
        months=amount // 16_800, amount=amount, verified=True, period_from=date(2026, 11, 1),
        period_to=date(2026, 12, 1), paid_at=datetime(2026, 11, 30, 18, 0, tzinfo=UTC),
    )  # fmt: skip


def test_the_total_row_adds_up_the_receipts_and_their_months() -> None:
    book = CashBook(
        KARANGLO,
        date(2026, 12, 1),
        [_line("KWT-1", 33_600, "JMP-1"), _line("KWT-2", 33_600, "JMP-1"), _line("KWT-3", 16_800)],
    )
    rows = cash_book_rows(book)
    assert all(len(row) == len(CASH_BOOK_HEADER) for row in rows)
    assert rows[0][:3] == ["KWT-1", "2026-12-01", "Siti Perisai"]  # paid on the 1st, WIB
    assert rows[0][-1] == "JMP-1" and rows[2][-1] == ""
    assert rows[-1] == ["total", "", "", "", "", 5, "", "", 84_000, ""]
    assert book.groups == {"JMP-1": 67_200}


def test_a_month_without_cash_has_a_zero_total() -> None:
    assert cash_book_rows(CashBook(KARANGLO, date(2026, 12, 1), [])) == [
        ["total", "", "", "", "", 0, "", "", 0, ""]
    ]


def test_each_jimpitan_member_has_a_line_in_the_agent_s_reply() -> None:
    members = [
        PaidMember("Sut*** W.", "SDR-AB12-CD34", date(2027, 1, 1)),
        PaidMember("Bam*** P.", "SDR-EF56-GH78", date(2026, 12, 1)),
    ]
    text = jimpitan_members(members)
    assert text.splitlines() == [
        "- Sut*** W. (SDR-AB12-CD34): Januari 2027",
        "- Bam*** P. (SDR-EF56-GH78): Desember 2026",
    ]
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text("utf-8"))
    (reply,) = domain["responses"]["utter_agent_group_payment_recorded"]
    assert reply["text"].endswith("\n{members}")
