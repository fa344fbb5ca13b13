"""CSV files that administrators open in a spreadsheet: a cell that starts like a formula
(=, +, -, @, or a tab/carriage return before one) would run as one (CSV injection), so it
is written as text instead."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Numbers stay numbers; text that a spreadsheet would evaluate gets a leading "'"."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_rows(stream: IO[str], header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    writer = csv.writer(stream)
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)


def write_dicts(stream: IO[str], fields: list[str], rows: Iterable[Mapping[str, Any]]) -> None:
    write_rows(stream, fields, ([row.get(f) for f in fields] for row in rows))
