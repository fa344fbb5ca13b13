"""The operations console's building blocks: the page around each view, tables that sort
and filter on the server (so they work on any phone without JavaScript, and a CSV holds
exactly the rows shown, in the order shown), and charts drawn here as SVG with axes and
values. Nothing is loaded from elsewhere: no CDN, no build step."""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from string import Template
from urllib.parse import urlencode

from bot import messages
from bot.domain.access import Viewer
from bot.domain.clock import INDONESIA_TIME
from bot.infra.spreadsheets import write_rows

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Colours told apart with every common colour-vision deficiency (Okabe and Ito), each
#: with contrast ≥ 3:1 against white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
#: The console's pages, in the navigation's order: (path, label).
PAGES = (
    ("/admin", "Ringkasan"),
    ("/admin/pendaftaran", "Pendaftaran"),
    ("/admin/pengiriman", "Pengiriman"),
    ("/admin/bpjs", "Ke BPJS"),
    ("/admin/desa", "Cakupan desa"),
    ("/admin/tiket", "Tiket"),
    ("/admin/pembayaran", "Pembayaran"),
)


CURRENT = ' aria-current="page"'


class Markup(str):
    """HTML already safe to show (a form, a link); ``text`` is what a CSV holds for it."""

    text: str

    def __new__(cls, markup: str, text: str = "") -> Markup:
        made = super().__new__(cls, markup)
        made.text = text
        return made


class Sorted(str):
    """Text that sorts by a number: a date ('06-12-2026' by its day), a wait ('3 hari')."""

    key: float

    def __new__(cls, text: str, key: float) -> Sorted:
        made = super().__new__(cls, text)
        made.key = key
        return made


def when(moment: datetime | None, with_time: bool = True) -> Sorted | None:
    """A moment as a table shows it (WIB), sorting by time."""
    return None if moment is None else Sorted(wib(moment, with_time), moment.timestamp())


def on(value: date | None) -> Sorted | None:
    """A day as a table shows it, sorting by date."""
    return None if value is None else Sorted(day(value), value.toordinal())


def lasting(delta: timedelta, text: str) -> Sorted:
    """A duration shown in words, sorting by its length."""
    return Sorted(text, delta.total_seconds())


#: A table cell: text, a number, Markup, or None (shown as '-').
Cell = object
Row = Sequence[Cell]


def wib(moment: datetime | None, with_time: bool = True) -> str:
    """A moment as people in Indonesia read it: '06-12-2026 14:05 WIB'."""
    if moment is None:
        return "-"
    local = moment.astimezone(INDONESIA_TIME)
    return local.strftime("%d-%m-%Y %H:%M WIB" if with_time else "%d-%m-%Y")


def day(value: date | None) -> str:
    return "-" if value is None else value.strftime("%d-%m-%Y")


def _text(value: Cell) -> str:
    if isinstance(value, Markup):
        return value.text
    return "-" if value is None else str(value)


def _sort_key(value: Cell) -> tuple[int, float, str]:
    """Numbers by value ('Rp36.800', '45%', '1.204' too), text alphabetically."""
    text = _text(value)
    if isinstance(value, Sorted):
        return (0, value.key, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    digits = text.replace("Rp", "").replace(".", "").replace("%", "").strip()
    if digits.lstrip("-").isdigit():
        return (0, float(digits), "")
    return (1, 0.0, text.lower())


@dataclass
class Table:
    """One table of a page. ``key`` names it in the query (sorting, the CSV)."""

    key: str
    header: Sequence[str]
    rows: Sequence[Row]
    #: Columns shown right-aligned (figures).
    numeric: frozenset[int] = frozenset()
    #: Columns of codes ("SDR-7K2P-4QXA", "T-1010") that must not break at their hyphens.
    codes: frozenset[int] = frozenset()
    caption: str = ""
    empty: str = "Belum ada data untuk pilihan ini."
    #: Rows that carry personal data (masked or not): the view is audited.
    personal: bool = False
    #: The CSV's file name (without .csv); None: no download.
    download: str | None = None
    footnote: str = ""
    _query: dict[str, str] = field(default_factory=dict)

    def narrowed(self, query: Mapping[str, str]) -> Table:
        """The rows the query asks for: filtered by ``q`` (any cell containing it, in any
        case) and sorted by ``sort=<key>.<column>.<asc|desc>``."""
        self._query = {k: v for k, v in query.items() if v}
        wanted = (query.get("q") or "").strip().lower()
        if wanted:
            self.rows = [r for r in self.rows if any(wanted in _text(c).lower() for c in r)]
        column, descending = self.sorting(query)
        if column is not None:
            # Cells with nothing to show go last whichever way the column is sorted.
            shown = [r for r in self.rows if _text(r[column]) != "-"]
            empty = [r for r in self.rows if _text(r[column]) == "-"]
            ordered = sorted(shown, key=lambda r: _sort_key(r[column]), reverse=descending)
            self.rows = ordered + empty
        return self

    def sorting(self, query: Mapping[str, str]) -> tuple[int | None, bool]:
        key, _, rest = (query.get("sort") or "").partition(".")
        column, _, order = rest.partition(".")
        number = column.isascii() and column.isdigit()
        if key != self.key or not number or int(column) >= len(self.header):
            return None, False
        return int(column), order == "desc"

    def csv(self) -> str:
        stream = io.StringIO()
        # A cell shown as "-" (nothing to show) is empty in a spreadsheet.
        cells = ([("" if (t := _text(c)) == "-" else t) for c in row] for row in self.rows)
        write_rows(stream, list(self.header), cells)
        return stream.getvalue()

    def render(self, path: str) -> str:
        column, descending = self.sorting(self._query)
        heads = []
        for index, title in enumerate(self.header):
            order = "asc" if column != index or descending else "desc"
            link = self._link(path, sort=f"{self.key}.{index}.{order}")
            arrow, state = "", "none"
            if column == index:
                arrow, state = (" ▼", "descending") if descending else (" ▲", "ascending")
            align = ' class="num"' if index in self.numeric else ""
            heads.append(
                f'<th scope="col"{align} aria-sort="{state}"><a href="{html.escape(link)}">'
                f"{html.escape(title)}{arrow}</a></th>"
            )
        body = []
        for row in self.rows:
            cells = []
            for index, value in enumerate(row):
                shown = value if isinstance(value, Markup) else html.escape(_text(value))
                label = html.escape(self.header[index]) if index < len(self.header) else ""
                kind = "num" if index in self.numeric else "code" if index in self.codes else ""
                align = f' class="{kind}"' if kind else ""
                cells.append(f'<td data-label="{label}"{align}>{shown}</td>')
            body.append("<tr>" + "".join(cells) + "</tr>")
        if not body:
            body.append(
                f'<tr class="empty"><td colspan="{len(self.header)}">{self.empty}</td></tr>'
            )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        download = ""
        if self.download:
            href = self._link(f"{path}.csv", table=self.key)
            download = (
                f'<a class="csv" id="{self.key}-csv" href="{html.escape(href)}" download>'
                f"Unduh CSV ({len(self.rows)} baris)</a>"
            )
        note = f'<p class="note">{self.footnote}</p>' if self.footnote else ""
        return (
            f'<div class="table">{download}<div class="scroll"><table id="{self.key}">{caption}'
            f"<thead><tr>{''.join(heads)}</tr></thead><tbody>{''.join(body)}</tbody>"
            f"</table></div>{note}</div>"
        )

    def _link(self, path: str, **changes: str) -> str:
        query = {**self._query, **changes}
        return f"{path}?{urlencode(query)}" if query else path


def filter_form(path: str, query: Mapping[str, str], fields: Sequence[str]) -> str:
    """The page's filters: any of 'period' (from/to), 'month', 'channel', and always the
    text filter (q). GET, so the address can be bookmarked and sent to a colleague."""
    parts = []
    if "period" in fields:
        parts.append(
            '<label>Dari <input type="date" name="from" value="'
            f'{html.escape(query.get("from", ""))}"></label>'
            '<label>Sampai <input type="date" name="to" value="'
            f'{html.escape(query.get("to", ""))}"></label>'
        )
    if "month" in fields:
        parts.append(
            '<label>Bulan <input type="month" name="month" value="'
            f'{html.escape(query.get("month", ""))}"></label>'
        )
    if "channel" in fields:
        chosen = query.get("channel", "")
        choices = [("", "Semua kanal"), *messages.CHANNEL_LABELS.items()]
        options = "".join(
            f'<option value="{value}"{" selected" if value == chosen else ""}>{label}</option>'
            for value, label in choices
        )
        parts.append(f'<label>Kanal <select name="channel">{options}</select></label>')
    parts.append(
        '<label>Cari <input type="search" name="q" placeholder="desa, kabupaten, …" value="'
        f'{html.escape(query.get("q", ""))}"></label>'
    )
    # What the page is narrowed to besides the fields (a village picked in a table, the
    # sorting) is kept when the filters change.
    parts += [
        f'<input type="hidden" name="{key}" value="{html.escape(query[key])}">'
        for key in ("village", "sort")
        if query.get(key)
    ]
    return (
        f'<form class="filters" method="get" action="{html.escape(path)}">{"".join(parts)}'
        '<button id="apply">Tampilkan</button></form>'
    )


def bar_chart(
    key: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    title: str,
) -> str:
    """Grouped vertical bars with a y axis (0 to a round maximum), the value on every bar
    and a legend; every bar carries its label and value as data attributes."""
    groups = max(len(labels), 1)
    # Wide enough for its label (about 7 px a character at 11 px) and its bars.
    slot = max(28, 14 * len(series) + 10, 7 * max([len(label) for label in labels] or [0]) + 8)
    left, height, bottom = left_width(series), 200, 24
    width = left + slot * groups + 10
    top_value = nice_ceiling(max([1, *(v for _, values in series for v in values)]))
    plot = height - bottom - 16
    parts = [
        f'<svg id="{key}" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="{key}-title">'
        f'<title id="{key}-title">{html.escape(title)}</title>'
    ]
    for tick in range(5):
        value = top_value * tick / 4
        y = 16 + plot - plot * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width}" y1="{y:.0f}" y2="{y:.0f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y + 4:.0f}" class="axis" text-anchor="end">'
            f"{value:.0f}</text>"
        )
    bar = (slot - 10) / max(len(series), 1)
    for g, label in enumerate(labels):
        x0 = left + g * slot + 5
        for s, (name, values) in enumerate(series):
            value = values[g] if g < len(values) else 0
            h = plot * value / top_value
            x, y = x0 + s * bar, 16 + plot - h
            parts.append(
                f'<rect class="bar s{s}" data-label="{html.escape(label)}" data-series="'
                f'{html.escape(name)}" data-value="{value}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar - 1:.1f}" height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{html.escape(name)} {html.escape(label)}: {value}</title></rect>"
            )
            if value:
                parts.append(
                    f'<text x="{x + (bar - 1) / 2:.1f}" y="{y - 3:.1f}" class="value" '
                    f'text-anchor="middle">{value}</text>'
                )
        parts.append(
            f'<text x="{x0 + (slot - 10) / 2:.1f}" y="{height - 8}" class="axis" '
            f'text-anchor="middle">{html.escape(label)}</text>'
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{PALETTE[s % len(PALETTE)]}"></i>{html.escape(name)}</span>'
        for s, (name, _) in enumerate(series)
    )
    return f'<figure class="chart">{"".join(parts)}<figcaption>{legend}</figcaption></figure>'


def left_width(series: Sequence[tuple[str, Sequence[int]]]) -> int:
    """Room for the y axis's longest number."""
    top = nice_ceiling(max([1, *(v for _, values in series for v in values)]))
    return 12 + 7 * len(f"{top:.0f}")


def nice_ceiling(value: float) -> float:
    """The axis's top: four gridline steps of 1, 2, 5, 10, 20, 25, 50, … at or above
    ``value``, so every gridline falls on a whole, round number."""
    magnitude = 1
    while True:
        for step in (1, 2, 5) if magnitude == 1 else (1, 2, 2.5, 5):
            if 4 * step * magnitude >= value:
                return 4 * step * magnitude
        magnitude *= 10


def funnel_chart(key: str, steps: Sequence[tuple[str, int, int]], title: str) -> str:
    """Horizontal bars, one per step, as wide as the journeys that reached it, each with
    its count and the share lost since the step before ((label, reached, lost))."""
    # Narrow enough to stay readable on a phone (about 350 px there), at most 640 px wide.
    width, row, label_width = 420, 24, 122
    height = row * len(steps) + 8
    top = max([1, *(reached for _, reached, _ in steps)])
    parts = [
        f'<svg id="{key}" class="chart" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="{key}-title"><title id="{key}-title">'
        f"{html.escape(title)}</title>"
    ]
    for i, (label, reached, lost) in enumerate(steps):
        y = 4 + i * row
        w = (width - label_width - 90) * reached / top
        before = reached + lost
        drop = f" (−{lost}, {lost / before:.0%})" if lost and before else ""
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 16}" class="axis" text-anchor="end">'
            f"{html.escape(label)}</text>"
            f'<rect class="step" data-label="{html.escape(label)}" data-value="{reached}" '
            f'data-lost="{lost}" x="{label_width}" y="{y}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{PALETTE[0]}"><title>{html.escape(label)}: {reached}{drop}</title></rect>'
            f'<text x="{label_width + w + 4:.1f}" y="{y + 16}" class="value">{reached}'
            f'<tspan class="lost">{html.escape(drop)}</tspan></text>'
        )
    parts.append("</svg>")
    return f'<figure class="chart wide">{"".join(parts)}</figure>'


def page(
    title: str,
    viewer: Viewer,
    path: str,
    body: str,
    *,
    generated: datetime,
) -> str:
    """The whole page: the navigation, who is logged in and what they may see, the body."""
    nav = "".join(
        f'<a href="{href}"{CURRENT if href == path else ""}>{label}</a>' for href, label in PAGES
    )
    who = html.escape(viewer.name)
    return Template((TEMPLATES / "console.html").read_text(encoding="utf-8")).substitute(
        title=html.escape(title),
        nav=nav,
        who=who,
        scope=html.escape(viewer.scope.describe()),
        body=body,
        generated=wib(generated),
    )
