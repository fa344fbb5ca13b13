"""The rows of a console table as text, whatever the markup around the cells (classes,
links, forms): what a reader of the page sees in each cell."""

from __future__ import annotations

from html.parser import HTMLParser


class _Rows(HTMLParser):
    def __init__(self, table_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.table_id = table_id
        self.depth = 0  # tables nested inside the wanted one, while in it
        self.inside = False
        self.in_body = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            if self.inside:
                self.depth += 1
            elif dict(attrs).get("id") == self.table_id:
                self.inside = True
        elif self.inside and tag == "tbody":
            self.in_body = True
        elif self.inside and self.in_body and tag == "tr":
            self.rows.append([])
        elif self.inside and self.in_body and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.inside:
            if self.depth:
                self.depth -= 1
            else:
                self.inside = self.in_body = False
        elif tag == "td" and self.cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """Each body row of ``<table id=table_id>`` as its cells' text; [] if there is no such
    table. A table's "nothing here" row is one cell."""
    parser = _Rows(table_id)
    parser.feed(page)
    return parser.rows
