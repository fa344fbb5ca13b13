"""`sadar villages …`: Villages and their officials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from bot.app_context import get_app_context
from bot.cli.common import progress_bar

if TYPE_CHECKING:
    pass


villages_app = typer.Typer(help="Villages and their officials.", no_args_is_help=True)


def _print_import(report: Any, what: str) -> None:
    typer.echo(
        f"{what}: {report.created} created, {report.existing} already there, "
        f"{len(report.errors)} with errors, {report.skipped_done} done in an earlier run "
        f"(run {report.run_id}, {report.total} rows)"
    )
    for row_number, message in report.errors:
        typer.echo(f"  row {row_number}: {message}")
    for row_number, name in report.not_in_register:
        typer.echo(
            f"  row {row_number}: {name} is not in the national register of regions; imported "
            "without a code (check the spelling, district and regency)"
        )


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

    from bot.domain.villages import VillageRecord
    from bot.infra.region_register import place_register
    from bot.services.imports import VILLAGE_COLUMNS, import_villages, read_rows
    from bot.understanding.places import register_code

    register = place_register()

    def locate(record: VillageRecord) -> str | None:
        return register_code(register, record.name, record.district, record.regency)

    bar, advance = progress_bar("villages", total=len(read_rows(Path(path), VILLAGE_COLUMNS)))
    with bar:
        context = get_app_context()
        report = import_villages(
            context.unit_of_work, Path(path), context.clock, progress=advance, locate=locate
        )
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
    bar, advance = progress_bar(f"officials of {found.name}", total=rows)
    with bar:
        report = import_officials(bulk, Path(path), found, progress=advance)
    _print_import(report, "officials")
