"""docs/registry.md's sample files (scripts/registry_samples.py) still have the columns the
code writes and reads: `make registry-samples` writes them again when they change."""

from __future__ import annotations

import csv

from openpyxl import load_workbook

from bot.infra.settings import PROJECT_ROOT
from bot.services.registry.batch import (
    ANSWER_COLUMNS,
    BATCH_COLUMNS,
    HEADER_SHEET,
    REGISTRATIONS_SHEET,
)

SAMPLES = PROJECT_ROOT / "docs" / "samples"


def test_the_sample_batch_file_has_the_columns_the_export_writes() -> None:
    workbook = load_workbook(SAMPLES / "batch-sample.xlsx", read_only=True)
    header = dict(workbook[HEADER_SHEET].values)
    rows = list(workbook[REGISTRATIONS_SHEET].values)
    assert rows[0] == BATCH_COLUMNS
    assert header["columns"] == ",".join(BATCH_COLUMNS) and header["rows"] == len(rows) - 1
    nik = BATCH_COLUMNS.index("nik")
    assert all(str(row[nik]).startswith("352398") for row in rows[1:])  # made-up district


def test_the_sample_answer_file_has_the_columns_the_import_reads() -> None:
    with (SAMPLES / "answers-sample.csv").open(encoding="utf-8") as stream:
        assert next(csv.reader(stream)) == list(ANSWER_COLUMNS)
