"""The console's building blocks (bot/gateway/console.py): tables that filter and sort on
the server with a CSV of the rows shown, and charts whose marks carry their values."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

from bot.domain.access import ADMINISTRATOR
from bot.gateway.console import (
    Markup,
    Table,
    bar_chart,
    funnel_chart,
    lasting,
    nice_ceiling,
    on,
    page,
    when,
)


def villages() -> Table:
    return Table(
        "coverage",
        ["Desa", "Peserta", "% RT", "Sejak"],
        [
            ["Karanglo", 12, "30%", on(date(2026, 11, 3))],
            ["Sumberejo", 3, "-", on(date(2026, 2, 14))],
            ["Beji", 120, "75%", on(date(2025, 12, 31))],
            ["=HYPERLINK(1)", 7, "5%", None],
        ],
        numeric=frozenset({1, 2}),
        download="desa",
    )


def test_rows_are_filtered_by_any_cell_in_any_case() -> None:
    table = villages().narrowed({"q": "KARANG"})
    assert [row[0] for row in table.rows] == ["Karanglo"]


def test_figures_sort_as_numbers_and_days_as_days_with_nothing_last() -> None:
    by_people = villages().narrowed({"sort": "coverage.1.asc"})
    assert [row[1] for row in by_people.rows] == [3, 7, 12, 120]
    by_share = villages().narrowed({"sort": "coverage.2.desc"})
    assert [row[2] for row in by_share.rows] == ["75%", "30%", "5%", "-"]  # nothing: last
    by_day = villages().narrowed({"sort": "coverage.3.asc"})
    assert [row[0] for row in by_day.rows] == ["Beji", "Sumberejo", "Karanglo", "=HYPERLINK(1)"]
    # Another table's sorting, or a column that does not exist, leaves the order alone.
    assert villages().narrowed({"sort": "other.1.asc"}).rows[0][0] == "Karanglo"
    assert villages().narrowed({"sort": "coverage.9.asc"}).rows[0][0] == "Karanglo"


def test_waits_sort_by_their_length_not_their_words() -> None:
    table = Table(
        "t",
        ["Menunggu"],
        [[lasting(timedelta(days=3), "3 hari")], [lasting(timedelta(hours=5), "5 jam")],
         [lasting(timedelta(days=10), "10 hari")]],
    ).narrowed({"sort": "t.0.asc"})  # fmt: skip
    assert [row[0] for row in table.rows] == ["5 jam", "3 hari", "10 hari"]


def test_the_csv_holds_the_rows_shown_in_their_order_safe_for_a_spreadsheet() -> None:
    table = villages().narrowed({"sort": "coverage.1.desc", "q": "2"})
    rows = list(csv.reader(io.StringIO(table.csv())))
    assert rows[0] == ["Desa", "Peserta", "% RT", "Sejak"]
    # "2" is in Beji's 120 and day, Karanglo's 12, Sumberejo's day, not in the fourth row.
    assert [row[0] for row in rows[1:]] == ["Beji", "Karanglo", "Sumberejo"]
    assert rows[1][3] == "31-12-2025" and rows[3][2] == ""  # nothing shown: an empty cell
    formula = list(csv.reader(io.StringIO(villages().narrowed({"q": "hyper"}).csv())))
    assert formula[1][0] == "'=HYPERLINK(1)"  # never run by a spreadsheet


def test_markup_is_kept_text_is_escaped_and_the_csv_link_keeps_the_query() -> None:
    table = Table(
        "t",
        ["Nama", "Aksi"],
        [["<b>Sri</b>", Markup('<a href="/x">Balas</a>', "balas")]],
        download="tiket",
    ).narrowed({"q": "sri", "from": "2026-12-01"})
    shown = table.render("/admin/tiket")
    assert "&lt;b&gt;Sri&lt;/b&gt;" in shown and '<a href="/x">Balas</a>' in shown
    link = re.search(r'id="t-csv" href="([^"]+)"', shown)
    assert link and link.group(1).startswith("/admin/tiket.csv?")
    assert "q=sri" in link.group(1) and "from=2026-12-01" in link.group(1)
    assert "table=t" in link.group(1)
    # Each header sorts by its column; the sorted one says which way.
    sorted_shown = table.narrowed({"sort": "t.0.asc"}).render("/admin/tiket")
    assert 'aria-sort="ascending"' in sorted_shown and "sort=t.0.desc" in sorted_shown


def test_an_axis_top_is_round_and_gridlines_whole() -> None:
    assert [nice_ceiling(v) for v in (1, 3, 5, 12, 38, 41, 99, 101)] == [
        4, 4, 8, 20, 40, 80, 100, 200,
    ]  # fmt: skip
    assert all(float(nice_ceiling(v) / 4).is_integer() for v in range(1, 5000, 7))


def test_bars_scale_to_the_axis_and_carry_their_values() -> None:
    svg = bar_chart("c", ["Okt 26", "Nov 26"], [("pendaftaran", [4, 8]), ("bayar", [2, 0])], "x")
    bars = re.findall(r'data-series="pendaftaran" data-value="(\d+)".*?height="([\d.]+)"', svg)
    (value_a, height_a), (value_b, height_b) = bars
    assert (value_a, value_b) == ("4", "8")
    assert float(height_b) == 2 * float(height_a)  # the axis goes to 8: the bar is full height
    assert ">8</text>" in svg and ">0</text>" in svg  # values and the axis's ends
    assert svg.count('class="bar s1"') == 2 and "<title" in svg


def test_the_funnel_chart_names_each_step_its_count_and_what_was_lost() -> None:
    svg = funnel_chart("f", [("Mulai daftar", 100, 0), ("Setuju", 78, 22)], "funnel")
    assert 'data-label="Setuju" data-value="78" data-lost="22"' in svg
    assert "(−22, 22%)" in svg


def test_a_page_names_who_is_looking_and_in_wib() -> None:
    moment = datetime(2026, 12, 5, 17, 30, tzinfo=UTC)
    shown = page("Ringkasan", ADMINISTRATOR, "/admin", "<p>isi</p>", generated=moment)
    assert "administrator · semua wilayah" in shown and "06-12-2026 00:30 WIB" in shown
    assert 'href="/admin" aria-current="page"' in shown
    assert when(moment) == "06-12-2026 00:30 WIB"


def test_a_sort_parameter_of_other_digits_is_ignored_not_an_error() -> None:
    assert villages().narrowed({"sort": "coverage.².asc"}).rows[0][0] == "Karanglo"


def test_a_period_or_month_far_off_is_brought_within_sadar_s_years() -> None:
    from bot.gateway.admin import EARLIEST, month_of, period

    today = date(2026, 12, 6)
    assert period({"to": "0001-01-05"}, today) == (EARLIEST, EARLIEST)
    assert period({"from": "0001-01-01", "to": "9999-12-31"}, today) == (
        today - timedelta(days=365), today,
    )  # fmt: skip
    assert period({"from": "kemarin"}, today) == (today - timedelta(days=6), today)
    assert month_of({"month": "9999-12"}, today) == date(2026, 12, 1)
    assert month_of({"month": "0001-01"}, today) == EARLIEST
