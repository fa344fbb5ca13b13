"""`sadar report …`: Reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.app_context import get_app_context

if TYPE_CHECKING:
    pass


report_app = typer.Typer(help="Reports.", no_args_is_help=True)


@report_app.command("coverage")
def report_coverage(
    level: str = typer.Option("village", help="village, district or regency"),
    csv_path: str = typer.Option(None, "--csv", help="also write the table to this CSV file"),
    household_target: float = typer.Option(
        0.5, help="share of households to reach (Karanglo's target was 50%)"
    ),
) -> None:
    """Participants, households and officials covered, paid this month, arrears,
    non-active, new this month and still awaiting their KPJ number (owing nothing yet),
    per village, district or regency."""
    from bot.infra.spreadsheets import write_rows
    from bot.services.coverage import coverage_report

    if level not in ("village", "district", "regency"):
        raise typer.BadParameter("level is village, district or regency")
    context = get_app_context()
    rows = coverage_report(context.unit_of_work(), context.clock.today(), level)
    header = [
        "area", "households", "officials", "participants", "household_share",
        "officials_enrolled", "officials_share", "paid_this_month", "in_arrears",
        "non_active", "new_this_month", "awaiting_kpj", "unreachable", "meets_target",
    ]  # fmt: skip

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    table: list[list[object]] = [
        [
            " / ".join(row.area), row.households, row.officials, row.participants,
            share(row.household_share), row.officials_enrolled, share(row.officials_share),
            row.paid_this_month, row.in_arrears, row.non_active, row.new_this_month,
            row.awaiting_kpj, row.unreachable, "yes" if row.meets(household_target) else "no",
        ]
        for row in rows
    ]  # fmt: skip
    lines: list[list[object]] = [list(header), *table]
    widths = [max(len(str(x)) for x in column) for column in zip(*lines, strict=True)]
    for line in lines:
        typer.echo("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)))
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            write_rows(handle, header, table)
        typer.echo(f"written to {csv_path}", err=True)
