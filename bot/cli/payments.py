"""`sadar payments …`: Contribution payments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.app_context import get_app_context

if TYPE_CHECKING:
    pass


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


@payments_app.command("list")
def payments_list(
    unverified: bool = typer.Option(False, help="only reports waiting for confirmation"),
) -> None:
    """Payments, newest first (participant references only)."""
    from bot.services.payments import list_payments

    for line in list_payments(get_app_context().unit_of_work(), unverified_only=unverified):
        covered = f"{line.period_from} to {line.period_to}" if line.verified else "-"
        typer.echo(
            f"{line.payment_id:>6}  {line.receipt}  {line.participant_reference}  "
            f"{line.source:<18} {line.months:>2} mo  Rp{line.amount:>9}  "
            f"{'verified' if line.verified else 'UNVERIFIED'}  {covered}"
        )
