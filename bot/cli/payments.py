"""`sadar payments …`: Contribution payments."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import typer

from bot.app_context import get_app_context

if TYPE_CHECKING:
    from bot.services.payments import Area


payments_app = typer.Typer(help="Contribution payments.", no_args_is_help=True)


def _participant_id(reference: str) -> int:
    from bot.services.participants import participant_id_by

    context = get_app_context()
    found = participant_id_by(context.unit_of_work(), context.hash_key, reference=reference)
    if found is None:
        raise typer.BadParameter(f"no participant with reference {reference}")
    return found


@payments_app.command("record")
def payments_record(
    reference: str = typer.Option(..., help="the participant's Sadar reference, SDR-…"),
    months: int = typer.Option(None, help="months paid (1-12)"),
    amount: int = typer.Option(None, help="amount in rupiah (must be whole months)"),
    by: str = typer.Option("admin", help="who collected it, for the audit trail"),
) -> None:
    """Record a cash payment collected for a participant; prints the receipt."""
    from bot.services.payments import PaymentRejected, PaymentSource, record_payment

    context = get_app_context()
    try:
        result = record_payment(
            context.unit_of_work(),
            _participant_id(reference),
            source=PaymentSource.AGENT_CASH,
            recorded_by=f"cli:{by}",
            months=months,
            amount=amount,
            now=context.clock.now(),
        )
    except PaymentRejected as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(
        f"receipt {result.receipt}: {result.months} month(s), Rp{result.amount:,} "
        f"covering {result.period_from} to {result.period_to}".replace(",", ".")
    )


@payments_app.command("group")
def payments_group(
    leader: str = typer.Option(..., help="the jimpitan group leader's reference, SDR-…"),
    member: list[str] = typer.Option(..., help="a member's reference; repeat for each"),  # noqa: B008
    months: int = typer.Option(..., help="months paid for every member (1-12)"),
    by: str = typer.Option("admin", help="who collected it, for the audit trail"),
) -> None:
    """Record a jimpitan group's cash payment for all its members under one receipt."""
    from bot.services.payments import PaymentRejected, record_group_payment

    context = get_app_context()
    try:
        result = record_group_payment(
            context.unit_of_work(),
            _participant_id(leader),
            [_participant_id(reference) for reference in member],
            months,
            f"cli:{by}",
            now=context.clock.now(),
        )
    except PaymentRejected as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"group receipt {result.group_receipt}: Rp{result.total:,}".replace(",", "."))
    for paid in result.members:
        typer.echo(
            f"  {paid.participant_reference}  {paid.receipt}  "
            f"{paid.period_from} to {paid.period_to}"
        )


@payments_app.command("confirm")
def payments_confirm(
    payment_id: int = typer.Argument(..., help="id of a participant-reported payment"),
    by: str = typer.Option("admin", help="who checked it, for the audit trail"),
) -> None:
    """Confirm a payment a participant reported ("sudah bayar") after checking it."""
    from bot.services.payments import PaymentRejected, confirm_payment

    try:
        context = get_app_context()
        result = confirm_payment(
            context.unit_of_work(), payment_id, f"cli:{by}", now=context.clock.now()
        )
    except PaymentRejected as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"payment {payment_id} confirmed: {result.period_from} to {result.period_to}")


def _month(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError as error:
        raise typer.BadParameter(f"month is YYYY-MM, e.g. 2026-12, not {value!r}") from error


def _area(village: str, district: str | None) -> Area:
    from bot.services.payments import find_area

    found = find_area(get_app_context().unit_of_work(), village, district)
    if len(found) != 1:
        problem = "is not in the village table" if not found else "names several villages"
        raise typer.BadParameter(
            f"village {village!r} {problem}: give its code, or --district "
            "(villages are imported with `sadar villages import`)"
        )
    return found[0]


@payments_app.command("list")
def payments_list(
    unverified: bool = typer.Option(False, help="only reports waiting for confirmation"),
    village: str = typer.Option(None, help="only this village: its code or name"),
    district: str = typer.Option(None, help="the village's district, when its name is shared"),
    month: str = typer.Option(None, help="only payments made in this month, YYYY-MM (WIB)"),
    limit: int = typer.Option(None, help="at most this many receipts"),
) -> None:
    """Receipts, newest first: jimpitan group receipt, village, who collected it, months and
    amount (participants by reference and masked name)."""
    from bot.services.payments import list_payments

    context = get_app_context()
    lines = list_payments(
        context.unit_of_work(),
        context.cipher,
        unverified_only=unverified,
        month=_month(month) if month else None,
        area=_area(village, district) if village else None,
        limit=limit,
    )
    for line in lines:
        covered = f"{line.period_from:%Y-%m}..{line.period_to:%Y-%m}" if line.period_to else "-"
        fields = [
            f"{line.payment_id:>6}", str(line.paid_on), line.receipt,
            f"{line.group_receipt or '-':<14}", f"{line.participant_reference or '(erased)':<13}",
            f"{line.member or '-':<10}", f"{line.area[0] if line.area else '-':<16}",
            f"{line.collected_by:<20}", f"{line.source:<18}", f"{line.months:>2} mo",
            f"Rp{line.amount:>9}", "verified" if line.verified else "UNVERIFIED", covered,
        ]  # fmt: skip
        typer.echo("  ".join(fields))


@payments_app.command("export")
def payments_export(
    village: str = typer.Option(..., help="the village: its code or name"),
    month: str = typer.Option(..., help="the month the cash was collected, YYYY-MM (WIB)"),
    district: str = typer.Option(None, help="the village's district, when its name is shared"),
    output: str = typer.Option("-", help="CSV file to write, '-' for standard output"),
) -> None:
    """The village's cash receipts of one month as CSV, one row per receipt and a total row:
    for the village's Wadah to reconcile its cash box (members by reference and masked
    name only)."""
    import sys

    from bot.domain.formatting import rupiah
    from bot.infra.spreadsheets import write_rows
    from bot.services.payments import CASH_BOOK_HEADER, cash_book, cash_book_rows

    context = get_app_context()
    book = cash_book(
        context.unit_of_work(), context.cipher, _area(village, district), _month(month)
    )
    stream = sys.stdout if output == "-" else open(output, "w", newline="", encoding="utf-8")  # noqa: SIM115
    try:
        write_rows(stream, CASH_BOOK_HEADER, cash_book_rows(book))
    finally:
        if stream is not sys.stdout:
            stream.close()
    groups = ", ".join(f"{receipt} {rupiah(total)}" for receipt, total in book.groups.items())
    typer.echo(
        f"{book.area[0]} {book.month:%Y-%m}: {len(book.lines)} receipt(s), {rupiah(book.total)}"
        + (f"; jimpitan {groups}" if groups else ""),
        err=True,
    )
