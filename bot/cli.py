"""`sadar` command line: run the bot, migrate the database, train the model."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

import typer

from bot.app_context import get_app_context
from bot.settings import get_settings

if TYPE_CHECKING:
    from bot.services.conversations import Migrated
    from bot.services.participants import ParticipantView

app = typer.Typer(help="Sadar: BPJS Ketenagakerjaan registration bot.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
model_app = typer.Typer(help="The Rasa model.", no_args_is_help=True)
telegram_app = typer.Typer(help="The Telegram channel.", no_args_is_help=True)
participants_app = typer.Typer(
    help="Registered participants (identifiers masked unless --unmasked).", no_args_is_help=True
)
app.add_typer(participants_app, name="participants")
app.add_typer(db_app, name="db")
app.add_typer(model_app, name="model")
app.add_typer(telegram_app, name="telegram")
reminders_app = typer.Typer(help="Monthly premium reminders.", no_args_is_help=True)
payments_app = typer.Typer(help="Contribution payments.", no_args_is_help=True)
app.add_typer(reminders_app, name="reminders")
app.add_typer(payments_app, name="payments")
agents_app = typer.Typer(
    help="Perisai agents (enrolled here, never by chat).", no_args_is_help=True
)
villages_app = typer.Typer(help="Villages and their officials.", no_args_is_help=True)
report_app = typer.Typer(help="Reports.", no_args_is_help=True)
app.add_typer(agents_app, name="agents")
app.add_typer(villages_app, name="villages")
app.add_typer(report_app, name="report")
conversations_app = typer.Typer(
    help="Rasa's conversation store: retention and encryption.", no_args_is_help=True
)
app.add_typer(conversations_app, name="conversations")
admin_app = typer.Typer(help="The administrator's dashboard.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@admin_app.command("hash-password")
def admin_hash_password(
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Print the value for SADAR_ADMIN_PASSWORD_HASH (the password itself is not stored)."""
    from bot.admin_auth import hash_password

    if len(password) < 12:
        raise typer.BadParameter("use at least 12 characters")
    typer.echo(hash_password(password))


def _configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from sqlalchemy.engine import make_url

    from bot.db.migrate import upgrade

    settings = get_settings()
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    typer.echo(f"Migrating database {shown} ...")
    upgrade(settings.database_url, revision)
    typer.echo("Database is at the latest schema.")
    migrated = _encrypt_old_conversations()
    if migrated.events:
        typer.echo(
            f"Encrypted {migrated.events} event(s) of {migrated.conversations} conversation(s) "
            "stored before encryption."
        )


def _encrypt_old_conversations() -> Migrated:
    from bot.services.conversations import encrypt_existing, tracker_engine

    context = get_app_context()
    engine = tracker_engine(context.settings.tracker_store_url)
    try:
        return encrypt_existing(engine, context.cipher, context.hash_key)
    finally:
        engine.dispose()


@conversations_app.command("migrate")
def conversations_migrate() -> None:
    """Encrypt conversations stored before encryption (also done by `sadar db upgrade`)."""
    migrated = _encrypt_old_conversations()
    typer.echo(f"encrypted {migrated.events} event(s) of {migrated.conversations} conversation(s)")


@conversations_app.command("purge")
def conversations_purge(
    days: int = typer.Option(
        None, help="keep conversations active in the last DAYS days (default: the setting)"
    ),
) -> None:
    """Delete conversations whose last message is older than the retention period (the
    reminder worker does this every day)."""
    from datetime import timedelta

    from bot.services.conversations import purge_older_than, tracker_engine

    context = get_app_context()
    keep = days if days is not None else context.settings.conversation_retention_days
    engine = tracker_engine(context.settings.tracker_store_url)
    try:
        deleted = purge_older_than(engine, context.clock.now(), timedelta(days=keep))
    finally:
        engine.dispose()
    typer.echo(f"deleted {deleted} conversation(s) older than {keep} days")


@model_app.command("ensure")
def model_ensure() -> None:
    """Train the Rasa model if config.yml, domain.yml or nlu/ changed since the last training."""
    from bot.rasa_model import ensure_model

    settings = get_settings()
    ensure_model(settings.rasa_venv / "bin" / "rasa", settings.rasa_model_dir)


@app.command("run")
def run() -> None:
    """Start the Rasa server, the action server and the gateway; Ctrl-C stops them all."""
    from bot.db.migrate import upgrade
    from bot.devserver import run_all
    from bot.rasa_model import ensure_model

    settings = get_settings()
    ensure_model(settings.rasa_venv / "bin" / "rasa", settings.rasa_model_dir)
    upgrade(settings.database_url)
    _encrypt_old_conversations()
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/"
    typer.secho(
        f"\nSadar is starting. When Rasa reports 'Rasa server is up and running' "
        f"(about 30 s), chat at {url}\n"
        + (
            "Telegram polling is on.\n"
            if settings.telegram_bot_token
            else "Telegram is off (set SADAR_TELEGRAM_BOT_TOKEN to enable polling).\n"
        )
        + f"WhatsApp webhook: POST {url}webhooks/whatsapp\nPress Ctrl-C to stop.\n",
        fg=typer.colors.GREEN,
    )
    raise typer.Exit(run_all(settings))


def _as_dict(view: ParticipantView) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(view)
    data["first_period"] = view.first_period.isoformat()
    data["next_due_date"] = view.next_due_date.isoformat()
    return data


@participants_app.command("show")
def participants_show(
    nik: str = typer.Option(None, help="16-digit NIK"),
    reference: str = typer.Option(None, help="Sadar reference, e.g. SDR-7K3M-9QXA"),
    as_json: bool = typer.Option(False, "--json", help="JSON output for scripts"),
    unmasked: bool = typer.Option(False, help="show NIK, name and phone in full"),
) -> None:
    """Find one participant by NIK or reference."""
    import json

    from bot.services.participants import find_participant

    if not nik and not reference:
        raise typer.BadParameter("give --nik or --reference")
    context = get_app_context()
    view = find_participant(
        context.unit_of_work(),
        context.cipher,
        context.hash_key,
        nik="".join(ch for ch in nik if ch.isdigit()) if nik else None,
        reference=reference,
        masked=not unmasked,
    )
    if view is None:
        typer.echo("No participant found.", err=True)
        raise typer.Exit(1)
    data = _as_dict(view)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for key, value in data.items():
            typer.echo(f"{key:>22}: {value}")


@participants_app.command("export")
def participants_export(
    output: str = typer.Option("-", help="CSV file to write, '-' for standard output"),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of CSV"),
    unmasked: bool = typer.Option(False, help="export NIK, name and phone in full"),
) -> None:
    """Export all participants."""
    import json
    import sys

    from bot.services.participants import all_participants
    from bot.spreadsheets import write_dicts

    context = get_app_context()
    views = all_participants(context.unit_of_work(), context.cipher, masked=not unmasked)
    rows = [_as_dict(v) for v in views]
    stream = sys.stdout if output == "-" else open(output, "w", newline="", encoding="utf-8")  # noqa: SIM115
    try:
        if as_json:
            for row in rows:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            write_dicts(stream, list(rows[0]) if rows else ["reference"], rows)
    finally:
        if stream is not sys.stdout:
            stream.close()
    if output != "-":
        typer.echo(f"Exported {len(rows)} participants to {output}", err=True)


@telegram_app.command("set-webhook")
def telegram_set_webhook() -> None:
    """Point Telegram at SADAR_PUBLIC_BASE_URL/webhooks/telegram with the secret token."""
    import asyncio

    from telegram import Bot

    from bot.gateway.telegram import WEBHOOK_PATH

    settings = get_settings()
    token, secret = settings.telegram_bot_token, settings.telegram_webhook_secret
    if not (token and secret):
        raise typer.BadParameter(
            "set SADAR_TELEGRAM_BOT_TOKEN and SADAR_TELEGRAM_WEBHOOK_SECRET first"
        )
    if not settings.public_base_url.startswith("https://"):
        raise typer.BadParameter("SADAR_PUBLIC_BASE_URL must be the gateway's https:// address")
    url = settings.public_base_url.rstrip("/") + WEBHOOK_PATH

    async def register() -> None:
        bot = Bot(
            token.get_secret_value(),
            base_url=settings.telegram_api_base_url,
        )
        async with bot:
            await bot.set_webhook(
                url=url,
                secret_token=secret.get_secret_value(),
                allowed_updates=["message", "callback_query"],
            )

    asyncio.run(register())
    typer.echo(f"Telegram will post updates to {url}")


@telegram_app.command("poll")
def telegram_poll() -> None:
    """Receive Telegram updates by long polling (for a machine without a public address)."""
    from bot.channels.polling import run_polling

    _configure_logging()
    run_polling(get_settings())


def _parse_day(value: str | None) -> date:
    if value is None:
        return get_app_context().clock.today()
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-12-12") from error


def _progress(label: str, total: int | None = None) -> tuple[Any, Any]:
    """A rich progress bar on stderr counting items (out of ``total`` when known), and the
    callback that advances it."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task(label, total=total)
    return bar, lambda count: bar.advance(task, count)


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

    _configure_logging()
    context = get_app_context()
    bar, advance = _progress("checking participants")
    with bar:
        report = plan(
            context.unit_of_work,
            _parse_day(day),
            load_calendar(),
            context.settings.reminder_policy,
            write=False,
            progress=advance,
            examples=show,
        )
    _print_plan(report, show)


@reminders_app.command("run")
def reminders_run(
    day: str = typer.Option(None, "--date", help="day to plan, YYYY-MM-DD (default: today, WIB)"),
) -> None:
    """Plan that day's reminders and queue them for the workers (safe to repeat)."""
    from bot.services.reminders import counts_by_state
    from bot.worker import plan_and_enqueue

    _configure_logging()
    target = _parse_day(day)
    bar, advance = _progress("planning and queueing")
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

    counts = counts_by_state(get_app_context().unit_of_work(), _parse_day(day) if day else None)
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

    from bot.services.reminders import recover
    from bot.worker import huey, send_reminders

    _configure_logging()
    context = get_app_context()
    result = recover(
        context.unit_of_work(),
        context.clock.now(),
        queue_idle=huey.pending_count() == 0,
        lease=timedelta(minutes=lease_minutes),
        requeue_after=timedelta(minutes=lease_minutes),
    )
    for start in range(0, len(result.requeue), 500):
        send_reminders(result.requeue[start : start + 500])
    typer.echo(f"re-queued {len(result.requeue)}; marked unknown {result.unknown}")


@reminders_app.command("worker")
def reminders_worker(
    threads: int = typer.Option(
        None, help="worker threads (default SADAR_REMINDER_WORKER_THREADS)"
    ),
) -> None:
    """Send queued reminders; also plans each day and recovers after dead workers."""
    from bot.worker import run_worker

    _configure_logging()
    run_worker(threads or get_settings().reminder_worker_threads)


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


@agents_app.command("add")
def agents_add(
    name: str = typer.Option(..., help="the agent's name"),
    phone: str = typer.Option(..., help="WhatsApp number, e.g. 0812… or +62812…"),
    village: str = typer.Option(..., help="the agent's village (imported with `villages import`)"),
    telegram_id: int = typer.Option(None, help="Telegram user id, if the agent uses Telegram"),
) -> None:
    """Enrol a Perisai agent; they are recognised by this phone (WhatsApp) and Telegram id."""
    from bot.services.agents import AgentProblem, enrol_agent
    from bot.services.imports import find_village
    from nlu.parsing.identifiers import normalise_phone

    context = get_app_context()
    number = normalise_phone(phone)
    if number is None:
        raise typer.BadParameter(f"{phone!r} is not an Indonesian mobile number")
    found = find_village(context.unit_of_work(), village)
    if found is None:
        raise typer.BadParameter(
            f"village {village!r} is not known (or not unique): import it first with "
            "`sadar villages import villages.csv`"
        )
    try:
        agent_id = enrol_agent(
            context.unit_of_work(),
            context.cipher,
            context.hash_key,
            name=name,
            phone=number,
            village=found.name,
            district=found.district,
            regency=found.regency,
            telegram_user_id=telegram_id,
        )
    except AgentProblem as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(
        f"agent {agent_id} enrolled: {name}, {found.name} ({found.district}, {found.regency})"
    )


@agents_app.command("list")
def agents_list() -> None:
    """All agents, phone numbers masked."""
    from bot.services.agents import list_agents

    context = get_app_context()
    for agent in list_agents(context.unit_of_work(), context.cipher):
        state = "active" if agent.active else "SUSPENDED"
        telegram = "tg" if agent.telegram else "  "
        typer.echo(
            f"{agent.id:>4}  {agent.name:<28} {agent.phone:<16} wa {telegram}  "
            f"{agent.village}, {agent.district}, {agent.regency}  {state}"
        )


@agents_app.command("suspend")
def agents_suspend(agent_id: int = typer.Argument(..., help="id from `sadar agents list`")) -> None:
    """Take an agent's powers away at once (their registrations stay)."""
    from bot.services.agents import AgentProblem, suspend_agent

    try:
        context = get_app_context()
        suspend_agent(context.unit_of_work(), agent_id, context.clock.now())
    except AgentProblem as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"agent {agent_id} suspended")


def _print_import(report: Any, what: str) -> None:
    typer.echo(
        f"{what}: {report.created} created, {report.existing} already there, "
        f"{len(report.errors)} with errors, {report.skipped_done} done in an earlier run "
        f"(run {report.run_id}, {report.total} rows)"
    )
    for row_number, message in report.errors:
        typer.echo(f"  row {row_number}: {message}")


@villages_app.command("import")
def villages_import(
    path: str = typer.Argument(
        ...,
        help="CSV: "
        + ", ".join(("name", "district", "regency", "province", "households", "officials")),
    ),
) -> None:
    """Create or update villages from CSV; a re-run updates, never duplicates."""
    from pathlib import Path

    from bot.services.imports import VILLAGE_COLUMNS, import_villages, read_rows

    bar, advance = _progress("villages", total=len(read_rows(Path(path), VILLAGE_COLUMNS)))
    with bar:
        context = get_app_context()
        report = import_villages(context.unit_of_work, Path(path), context.clock, progress=advance)
    _print_import(report, "villages")


@villages_app.command("import-officials")
def villages_import_officials(
    path: str = typer.Argument(
        ..., help="CSV: nik, full_name, birth_date, phone, position, income[, with_jht]"
    ),
    village: str = typer.Option(..., help="the village they serve"),
    district: str = typer.Option(None, help="its district, if the name is not unique"),
) -> None:
    """Register a village's officials in bulk. Every row is validated like a chat
    registration; errors are listed per row; re-running the file resumes and never
    registers anyone twice."""
    from pathlib import Path

    from bot.services.imports import (
        OFFICIAL_COLUMNS,
        BulkContext,
        find_village,
        import_officials,
        read_rows,
    )

    context = get_app_context()
    found = find_village(context.unit_of_work(), village, district)
    if found is None:
        raise typer.BadParameter(
            f"village {village!r} is not known (or not unique: add --district); import it "
            "first with `sadar villages import`"
        )
    bulk = BulkContext(
        context.unit_of_work,
        context.cipher,
        context.hash_key,
        context.channel_log,
        context.settings.min_registration_age,
        context.settings.max_registration_age,
        context.clock,
    )
    rows = len(read_rows(Path(path), OFFICIAL_COLUMNS))
    bar, advance = _progress(f"officials of {found.name}", total=rows)
    with bar:
        report = import_officials(bulk, Path(path), found, progress=advance)
    _print_import(report, "officials")


@report_app.command("coverage")
def report_coverage(
    level: str = typer.Option("village", help="village, district or regency"),
    csv_path: str = typer.Option(None, "--csv", help="also write the table to this CSV file"),
    household_target: float = typer.Option(
        0.5, help="share of households to reach (Karanglo's target was 50%)"
    ),
) -> None:
    """Participants, households and officials covered, paid this month, arrears,
    non-active and new this month, per village, district or regency."""
    from bot.services.coverage import coverage_report
    from bot.spreadsheets import write_rows

    if level not in ("village", "district", "regency"):
        raise typer.BadParameter("level is village, district or regency")
    context = get_app_context()
    rows = coverage_report(context.unit_of_work(), context.clock.today(), level)
    header = [
        "area", "households", "officials", "participants", "household_share",
        "officials_enrolled", "officials_share", "paid_this_month", "in_arrears",
        "non_active", "new_this_month", "meets_target",
    ]  # fmt: skip

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    table: list[list[object]] = [
        [
            " / ".join(row.area), row.households, row.officials, row.participants,
            share(row.household_share), row.officials_enrolled, share(row.officials_share),
            row.paid_this_month, row.in_arrears, row.non_active, row.new_this_month,
            "yes" if row.meets(household_target) else "no",
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


if __name__ == "__main__":
    app()
