"""Exports opened in a spreadsheet never run a formula a resident or agent typed
(issue 15, point 7)."""

from __future__ import annotations

import csv
import io

from bot.infra.spreadsheets import safe_cell, write_dicts


def test_cells_that_start_like_a_formula_are_written_as_text() -> None:
    for value in ('=HYPERLINK("http://x")', "+62812", "-1+1", "@SUM(A1)", "\t=1"):
        assert safe_cell(value) == "'" + value
    assert safe_cell("Karanglo") == "Karanglo"
    assert safe_cell(-5) == -5  # numbers are numbers


def test_an_export_row_round_trips_without_a_live_formula() -> None:
    stream = io.StringIO()
    write_dicts(stream, ["reference", "village"], [{"reference": "SDR-1", "village": "=1+1"}])
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows == [["reference", "village"], ["SDR-1", "'=1+1"]]
