"""KTP photo reading, measured on generated cards (issue 30): `make ocr-eval`.

The cards come from tests/support/ktp_cards.py (a seed, Debian's DejaVu fonts, made-up
people with NIKs valid in structure): a normal set (phone photos of a card on a table, mild
tilt, light blur, JPEG 60-80) and a hard set (low resolution, up to 10 degrees of tilt,
glare, JPEG 25-45, partial shadow). Each photo goes through the reader Sadar uses
(bot/services/ktp_photo), and per set it reports:

* NIK exact-match rate, and wrong NIKs that passed validation (must be 0);
* name exact, and within 2 edits; birth date;
* p50/p95 seconds per photo; the reader's peak memory, in a fresh process that reads the
  cards: its high-water mark above its resident size once the photos are loaded, before
  the first OCR engine.

It prints a table and, unless --no-doc, writes it to docs/ktp-photo.md between markers."""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz.distance import Levenshtein  # noqa: E402

from bot.infra.region_register import place_register  # noqa: E402
from bot.services.ktp_photo.reader import KtpPhotoReader  # noqa: E402
from tests.support.ktp_cards import card_set  # noqa: E402

DOC = ROOT / "docs" / "ktp-photo.md"
BEGIN, END = "<!-- ocr-eval:begin -->", "<!-- ocr-eval:end -->"
TODAY = date(2026, 12, 1)


def _status(field: str) -> int:
    """A field of /proc/self/status in kB."""
    with open("/proc/self/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith(field)))


def _reset_peak() -> None:
    """Start the high-water mark (VmHWM) again from the present resident size."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


@dataclass
class SetFigures:
    name: str
    photos: int
    nik_exact: int = 0
    nik_wrong_passed: int = 0
    name_exact: int = 0
    name_close: int = 0
    birth_date: int = 0
    seconds: list[float] | None = None
    extra_mb: float = 0.0

    def row(self) -> str:
        times = sorted(self.seconds or [0.0])
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]

        def share(count: int) -> str:
            return f"{count / self.photos:.0%} ({count})"

        return (
            f"| {self.name} | {self.photos} | {share(self.nik_exact)} | {self.nik_wrong_passed} "
            f"| {share(self.name_exact)} | {share(self.name_close)} | {share(self.birth_date)} "
            f"| {statistics.median(times):.2f} s | {p95:.2f} s | {self.extra_mb:.0f} MB |"
        )


HEADER = (
    "| set | photos | NIK exact | wrong NIKs passed | name exact | name within 2 edits "
    "| birth date | p50 | p95 | peak memory above baseline |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def evaluate(name: str, count: int, seed: int, second_reader: bool = False) -> SetFigures:
    """Generate the set here, read it in a fresh process: its memory is the reader's."""
    print(f"{name}: generating {count} cards (seed {seed})...", flush=True)
    cards = [
        (person.nik, person.full_name, person.birth_date, photo)
        for person, photo in card_set(name, count, seed)
    ]
    print(f"{name}: reading them in a fresh process...", flush=True)
    child = subprocess.run(
        [sys.executable, __file__, "--child", *(["--second-reader"] if second_reader else [])],
        input=pickle.dumps(cards), stdout=subprocess.PIPE, check=True,
    )  # fmt: skip
    label = f"{name} + RapidOCR" if second_reader else name
    figures = SetFigures(label, len(cards), **json.loads(child.stdout))
    return figures


def read_cards(second_reader: bool) -> None:
    """The child: read the pickled cards from stdin, print the figures as JSON. Peak memory
    is the high-water mark above the resident size once the photos are loaded and the
    modules imported, before the first OCR engine."""
    cards = pickle.loads(sys.stdin.buffer.read())
    register = place_register()

    def area_name(code: str) -> str | None:
        area = register.area(code)
        return area.name if area else None

    _reset_peak()
    baseline = _status("VmRSS:")
    second = None
    if second_reader:
        from bot.services.ktp_photo.second_reader import RapidOcrReader

        second = RapidOcrReader()
    reader = KtpPhotoReader(area_name, workers=1, second_reader=second)
    figures = SetFigures("", len(cards), seconds=[])
    for index, (nik, full_name, birth_date, photo) in enumerate(cards, 1):
        started = time.perf_counter()
        reading = reader.read(photo, TODAY).reading
        assert figures.seconds is not None
        figures.seconds.append(time.perf_counter() - started)
        if reading is not None:
            figures.nik_exact += reading.nik == nik
            figures.nik_wrong_passed += reading.nik is not None and reading.nik != nik
            figures.name_exact += reading.full_name == full_name
            figures.name_close += bool(
                reading.full_name and Levenshtein.distance(reading.full_name, full_name) <= 2
            )
            figures.birth_date += reading.birth_date == birth_date
        if index % 20 == 0 or index == len(cards):
            print(f"  {index}/{len(cards)} read", file=sys.stderr, flush=True)
    figures.extra_mb = (_status("VmHWM:") - baseline) / 1024
    reader.close()
    result = {k: v for k, v in vars(figures).items() if k not in ("name", "photos")}
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100, help="photos per set")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--sets", default="normal,hard")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/ktp-photo.md")
    parser.add_argument(
        "--second-reader",
        action="store_true",
        help="also measure the hard set with RapidOCR as the second reader "
        "(pip install -r requirements/ocr-second-reader.txt)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        read_cards(args.second_reader)
        return
    rows = [evaluate(name, args.count, args.seed).row() for name in args.sets.split(",")]
    if args.second_reader:
        rows.append(evaluate("hard", args.count, args.seed, second_reader=True).row())
    table = "\n".join(
        [
            f"{args.count} generated photos per set, seed {args.seed}, one photo at a time "
            f"(tesseract {_tesseract_version()}, `ind` and `eng` models from Debian; "
            f"`make ocr-eval`, {datetime.now(UTC):%Y-%m-%d}):",
            "",
            HEADER,
            *rows,
        ]
    )
    print(table)
    if not args.no_doc:
        text = DOC.read_text(encoding="utf-8")
        block = f"{BEGIN}\n{table}\n{END}"
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
        DOC.write_text(text, encoding="utf-8")


def _tesseract_version() -> str:
    import tesserocr

    return str(tesserocr.tesseract_version().split()[1])


if __name__ == "__main__":
    main()
