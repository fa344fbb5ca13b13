"""The benchmarks' figures in the docs: each owns a block between two HTML comments, which
a run replaces, leaving the hand-written text around it as it is."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, begin: str, end: str, lines: list[str], heading: str) -> None:
    """``lines`` between ``begin`` and ``end`` in ``path``; the first time, a section under
    ``heading`` at the end of the file."""
    block = "\n".join([begin, "", *lines, "", end])
    text = path.read_text(encoding="utf-8")
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        text = head + block + rest.partition(end)[2]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{block}\n"
    path.write_text(text, encoding="utf-8")
