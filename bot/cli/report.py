"""`sadar report …`: Reports."""

from __future__ import annotations

import typer

from bot.app_context import get_app_context
from bot.cli.common import parse_day

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
    from bot.domain.formatting import percent
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

    table: list[list[object]] = [
        [
            " / ".join(row.area), row.households, row.officials, row.participants,
            percent(row.household_share), row.officials_enrolled, percent(row.officials_share),
            row.paid_this_month, row.in_arrears, row.non_active, row.new_this_month,
            row.awaiting_kpj, row.unreachable, "yes" if row.meets(household_target) else "no",
        ]
        for row in rows
    ]  # fmt: skip
    _print_table(list(header), table)
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            write_rows(handle, header, table)
        typer.echo(f"written to {csv_path}", err=True)


def _print_table(header: list[str], rows: list[list[object]]) -> None:
    lines: list[list[object]] = [list(header), *rows]
    widths = [max(len(str(x)) for x in column) for column in zip(*lines, strict=True)]
    for line in lines:
        typer.echo("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)))


@report_app.command("funnel")
def report_funnel(
    days: int = typer.Option(7, help="the last N days (WIB), today included"),
    since: str = typer.Option(None, "--from", help="first day, YYYY-MM-DD (instead of --days)"),
    until: str = typer.Option(None, "--to", help="last day, YYYY-MM-DD (default: today)"),
    channel: str = typer.Option(None, help="only one channel: wa, tg or web"),
    regency: str = typer.Option(None, help="only one regency (as an operator limited to it)"),
    table: str = typer.Option("steps", help="what --csv writes: steps, channel or village"),
    csv_path: str = typer.Option(None, "--csv", help="also write that table to this CSV file"),
) -> None:
    """The registration funnel of the registrations started in the period: how many
    reached each step, how many stopped before it, answers given again and requests for a
    person per step, outcomes, the median time to complete, and the same per channel and
    per village (the console's figures)."""
    from datetime import timedelta

    from bot import messages
    from bot.domain.access import EVERYTHING, Scope
    from bot.infra.spreadsheets import write_rows
    from bot.services.funnel import breakdown_rows, funnel_report, funnel_rows

    if table not in ("steps", "channel", "village"):
        raise typer.BadParameter("--table is steps, channel or village")
    if channel and channel not in messages.CHANNEL_LABELS:
        raise typer.BadParameter("--channel is wa, tg or web")
    context = get_app_context()
    last = parse_day(until)
    first = parse_day(since) if since else last - timedelta(days=max(days, 1) - 1)
    if first > last:
        raise typer.BadParameter("--from is after --to")
    scope = Scope(regency=regency) if regency else EVERYTHING
    report = funnel_report(
        context.unit_of_work(), first, last, context.clock.now(), scope=scope, channel=channel
    )
    typer.echo(
        f"Registrations started {first:%Y-%m-%d} to {last:%Y-%m-%d} (WIB), {scope.describe()}"
    )
    median = report.median_minutes_to_complete
    typer.echo(
        f"started {report.started}, in progress {report.in_progress}; "
        + ", ".join(
            f"{messages.FUNNEL_OUTCOME_LABELS[o.value]} {n}" for o, n in report.outcomes.items()
        )
        + f"; median time to complete: {'-' if median is None else f'{median:.0f} min'}"
    )
    tables = {
        "steps": (messages.FUNNEL_HEADER, funnel_rows(report)),
        "channel": (messages.FUNNEL_BREAKDOWN_HEADER, breakdown_rows(report.by_channel, True)),
        "village": (messages.FUNNEL_BREAKDOWN_HEADER, breakdown_rows(report.by_village)),
    }
    for header, rows in tables.values():
        typer.echo("")
        _print_table(header, rows or [["-"] * len(header)])
    if csv_path:
        header, rows = tables[table]
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            write_rows(handle, header, rows)
        typer.echo(f"written to {csv_path}", err=True)
