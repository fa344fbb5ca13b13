"""`sadar reminders …`: Monthly premium reminders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from bot.app_context import get_app_context
from bot.cli.common import configure_logging, parse_day, progress_bar
from bot.infra.settings import get_settings

if TYPE_CHECKING:
    pass


reminders_app = typer.Typer(help="Monthly premium reminders.", no_args_is_help=True)


def _print_plan(report: Any, show: int) -> None:
    from bot.domain.formatting import bulan

    if not report.occasions:
        typer.echo(f"No reminders fall on {report.day.isoformat()}.")
        return
    occasions = ", ".join(f"{o.kind.value} {bulan(o.period)}" for o in report.occasions)
    typer.echo(f"{report.day.isoformat()}: {occasions}")
    typer.echo(f"{'kind':<20} {'channel':<8} {'state':<8} {'count':>9}")
    for (kind, channel, state), count in sorted(report.counts.items()):
        typer.echo(f"{kind:<20} {channel:<8} {state:<8} {count:>9}")
    typer.echo(f"{'total':<38} {report.total:>9}")
    for example in report.examples[:show]:
        reason = f"  ({example['reason']})" if example["reason"] else ""
        typer.echo(
            f"  {example['reference']}  {example['channel']}  {example['kind']:<18}"
            f" {example['send_at']:%Y-%m-%d %H:%M} UTC  {example['state']}{reason}"
        )


@reminders_app.command("plan")
def reminders_plan(
    day: str = typer.Option(None, "--date", help="day to plan, YYYY-MM-DD (default: today, WIB)"),
    show: int = typer.Option(10, help="how many example rows to print (masked)"),
) -> None:
    """Dry run: who would get which reminder on that day. Nothing is written or sent."""
    from bot.domain.payments import load_calendar
    from bot.services.reminders import plan

    configure_logging()
    context = get_app_context()
    bar, advance = progress_bar("checking participants")
    with bar:
        report = plan(
            context.unit_of_work,
            parse_day(day),
            load_calendar(),
            context.settings.reminder_policy,
            write=False,
            progress=advance,
            examples=show,
        )
    _print_plan(report, show)
    _print_unreachable(context)


def _print_unreachable(context: Any) -> None:
    """Participants no reminder can reach, per village, for agents to follow up."""
    from bot.services.coverage import coverage_report

    rows = [
        r for r in coverage_report(context.unit_of_work(), context.clock.today()) if r.unreachable
    ]
    total = sum(r.unreachable for r in rows)
    typer.echo(
        "participants no reminder can reach (no reachable Telegram or WhatsApp address; "
        f'agents: "warga tanpa nomor WA"): {total}'
    )
    for row in rows:
        typer.echo(f"  {' / '.join(reversed(row.area))}: {row.unreachable}")


@reminders_app.command("run")
def reminders_run(
    day: str = typer.Option(None, "--date", help="day to plan, YYYY-MM-DD (default: today, WIB)"),
) -> None:
    """Plan that day's reminders and queue them for the workers (safe to repeat)."""
    from bot.processes.worker import plan_and_enqueue
    from bot.services.reminders import counts_by_state

    configure_logging()
    target = parse_day(day)
    bar, advance = progress_bar("planning and queueing")
    with bar:
        report, queued = plan_and_enqueue(target, progress=advance)
    _print_plan(report, 0)
    typer.echo(f"queued {queued} reminder(s); run `sadar reminders worker` to send them")
    for state, count in sorted(counts_by_state(get_app_context().unit_of_work(), target).items()):
        typer.echo(f"  {state:<10} {count:>9}")


@reminders_app.command("status")
def reminders_status(
    day: str = typer.Option(None, "--date", help="only reminders scheduled that day"),
) -> None:
    """How many reminders are in each state (planned, queued, sent, delivered, failed, …)."""
    from bot.services.reminders import counts_by_state

    counts = counts_by_state(get_app_context().unit_of_work(), parse_day(day) if day else None)
    for state, count in sorted(counts.items()):
        typer.echo(f"{state:<10} {count:>9}")
    typer.echo(f"{'total':<10} {sum(counts.values()):>9}")


@reminders_app.command("recover")
def reminders_recover(
    lease_minutes: float = typer.Option(
        10,
        help="claims older than this belong to a dead worker (only lower it when no "
        "worker is running)",
    ),
) -> None:
    """Return dead workers' claims to the queue and re-queue what the queue lost (workers
    also do this every minute)."""
    from datetime import timedelta

    from bot.processes.worker import reminder_queue, requeue
    from bot.services.reminders import recover

    configure_logging()
    context = get_app_context()
    result = recover(
        context.unit_of_work(),
        context.clock.now(),
        queue_idle=reminder_queue().huey.pending_count() == 0,
        lease=timedelta(minutes=lease_minutes),
        requeue_after=timedelta(minutes=lease_minutes),
    )
    requeue(result.requeue)
    typer.echo(f"re-queued {len(result.requeue)}; marked unknown {result.unknown}")


@reminders_app.command("worker")
def reminders_worker(
    threads: int = typer.Option(
        None, help="worker threads (default SADAR_REMINDER_WORKER_THREADS)"
    ),
) -> None:
    """Send queued reminders; also plans each day and recovers after dead workers."""
    from bot.processes.worker import run_worker

    configure_logging()
    run_worker(threads or get_settings().reminder_worker_threads)
