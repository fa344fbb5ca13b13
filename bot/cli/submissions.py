"""`sadar submissions …`: handing registrations over to BPJS Ketenagakerjaan (issue 29)."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.app_context import get_app_context
from bot.cli.common import progress_bar

submissions_app = typer.Typer(
    help="Registrations handed over to BPJS Ketenagakerjaan (branch batch files).",
    no_args_is_help=True,
)


def _new_file(output_file: str, suffix: str) -> Path:
    output = Path(output_file)
    if output.suffix.lower() != suffix:
        raise typer.BadParameter(f"the file must end in {suffix}", param_hint="--output")
    if output.exists():
        raise typer.BadParameter(
            f"{output} already exists: choose a new name (a hand-over file is never overwritten)",
            param_hint="--output",
        )
    if not output.parent.is_dir():
        raise typer.BadParameter(f"{output.parent} is not a folder", param_hint="--output")
    return output


@submissions_app.command("export")
def submissions_export(
    output_file: str = typer.Option(
        ..., "--output", help="the .xlsx file to write (created with mode 0600)"
    ),
    regency: str = typer.Option(None, help="the regency (kabupaten/kota) whose branch answers"),
    village: str = typer.Option(None, help="only this village's registrations"),
    batch: str = typer.Option(
        None, help="write an earlier batch's file again (lost, or a crash before it was written)"
    ),
    by: str = typer.Option("admin", help="who hands the file over, for the audit trail"),
) -> None:
    """Write the pending registrations of a regency to a batch file for the branch office;
    they are marked submitted, so the next export never repeats them."""
    from bot.services.registry.batch import (
        NothingToExport,
        UnknownBatch,
        export_batch,
        write_batch_file,
    )

    output = _new_file(output_file, ".xlsx")
    if not (regency or batch) or (regency and batch):
        raise typer.BadParameter("give either --regency (a new batch) or --batch (an earlier one)")
    context = get_app_context()
    try:
        if batch:
            written = write_batch_file(
                context.unit_of_work(), context.cipher, batch, output, context.clock.now()
            )
        else:
            written = export_batch(
                context.unit_of_work(),
                context.cipher,
                output,
                regency,
                context.clock.now(),
                f"cli:{by}",
                village=village,
            )
    except (NothingToExport, UnknownBatch) as error:
        typer.echo(f"{error}: nothing written", err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"{written.batch_id}: {written.rows} registration(s) written to {written.path} "
        f"(sha256 {written.checksum[:16]}…). It holds NIKs and names: hand it to the branch "
        "and delete it once they have it. If it is lost, write it again with "
        f"--batch {written.batch_id}."
    )


@submissions_app.command("withdrawals")
def submissions_withdrawals(
    regency: str = typer.Option(..., help="the regency whose branch received the registrations"),
    output_file: str = typer.Option(..., "--output", help="the .csv file to write"),
    by: str = typer.Option("admin", help="who hands the list over, for the audit trail"),
) -> None:
    """List the registrations their residents erased after the hand-over, for the branch to
    withdraw; once written, Sadar forgets their references."""
    from bot.services.registry.batch import NothingToExport, export_withdrawals

    output = _new_file(output_file, ".csv")
    context = get_app_context()
    try:
        count = export_withdrawals(
            context.unit_of_work(), output, regency, context.clock.now(), f"cli:{by}"
        )
    except NothingToExport as error:
        typer.echo(f"{error}: nothing written", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"{count} withdrawal(s) written to {output}: hand it to the branch of {regency}.")


@submissions_app.command("import")
def submissions_import(
    answer_file: str = typer.Argument(..., help="the branch's answer file, .xlsx or .csv"),
    by: str = typer.Option("admin", help="who imports it, for the audit trail"),
    skip_unknown: bool = typer.Option(
        False,
        "--skip-unknown",
        help="skip references Sadar no longer knows (residents who erased their data)",
    ),
) -> None:
    """Apply the branch's answers (a KPJ number or a rejection reason per Sadar reference),
    all rows or none; then tell each accepted resident their KPJ number."""
    import asyncio

    from bot import bootstrap
    from bot.services.registry.batch import ImportRefused, import_answers
    from bot.services.registry.notices import AnswersTold

    context = get_app_context()
    try:
        result = import_answers(
            context.unit_of_work(),
            context.cipher,
            Path(answer_file),
            context.clock.now(),
            f"cli:{by}",
            skip_unknown=skip_unknown,
        )
    except ImportRefused as error:
        for problem in error.problems:
            typer.echo(problem, err=True)
        typer.echo(f"{error}. Fix the rows above and import the file again.", err=True)
        raise typer.Exit(1) from error

    async def tell() -> AnswersTold:
        outbox = bootstrap.build_outbox(context)
        try:
            return await bootstrap.tell_answers_to_residents(context, outbox)
        finally:
            await outbox.aclose()

    told = asyncio.run(tell())
    typer.echo(
        f"{result.accepted} accepted, {result.rejected} rejected, {result.unchanged} already "
        f"recorded, {result.erased} erased by their residents (withdrawal owed)"
        + (f", {result.skipped} unknown skipped" if result.skipped else "")
        + f"; {told.summary()}"
    )


@submissions_app.command("send")
def submissions_send() -> None:
    """With SADAR_REGISTRY=api: submit every pending registration to the partner API now
    (the worker does it every minute) and tell each accepted resident their KPJ number."""
    import asyncio

    from bot import bootstrap
    from bot.services.registry.api_client import RegistryConfigError

    context = get_app_context()
    client = bootstrap.build_registry_client(context)
    if client is None:
        typer.echo(
            "SADAR_REGISTRY is 'batch': hand registrations over with 'sadar submissions "
            "export' (set SADAR_REGISTRY=api and its keys once a partner API is granted).",
            err=True,
        )
        raise typer.Exit(2)

    bar, advance = progress_bar("submitting to the partner API")

    async def send() -> str:
        outbox = bootstrap.build_outbox(context)
        try:
            return await bootstrap.hand_over_and_tell(context, client, outbox, advance)
        finally:
            await outbox.aclose()
            await client.aclose()

    try:
        with bar:
            line = asyncio.run(send())
        typer.echo(line)
    except RegistryConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error


@submissions_app.command("status")
def submissions_status(
    regency: str = typer.Option(None, help="only this regency"),
) -> None:
    """Counts per state per village, the oldest waiting registration, rejections by reason."""
    from bot.domain.submissions import SubmissionState
    from bot.services.registry.submissions import pipeline

    context = get_app_context()
    view = pipeline(context.unit_of_work(), regency)
    states = [state.value for state in SubmissionState]
    typer.echo("regency\tvillage\t" + "\t".join(states))
    for (area_regency, village), counts in sorted(view.by_area.items()):
        typer.echo(f"{area_regency}\t{village}\t" + "\t".join(str(counts[s]) for s in states))
    totals = view.totals()
    typer.echo("total\t\t" + "\t".join(str(totals[s]) for s in states))
    typer.echo(
        "oldest waiting since: " + (view.oldest_waiting.isoformat() if view.oldest_waiting else "-")
    )
    if view.rejections:
        typer.echo(
            "rejections: " + ", ".join(f"{code} {n}" for code, n in view.rejections.most_common())
        )
    if view.withdrawals_due:
        typer.echo(
            f"withdrawals owed to the branch (erased after hand-over): {view.withdrawals_due} "
            "(sadar submissions withdrawals --regency … --output withdrawals.csv)"
        )
