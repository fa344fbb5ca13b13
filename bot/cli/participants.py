"""`sadar participants …`: Registered participants."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from bot.app_context import get_app_context

if TYPE_CHECKING:
    from bot.services.participants import ParticipantView


participants_app = typer.Typer(
    help="Registered participants (identifiers masked unless --unmasked).", no_args_is_help=True
)


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

    from bot.infra.spreadsheets import write_dicts
    from bot.services.participants import all_participants

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
