"""Go's text/tabwriter as docker's tables use it: aligning tab-separated columns."""

from __future__ import annotations

import unicodedata


def _cell_width(text: str) -> int:
    wide = sum(unicodedata.east_asian_width(c) in "WF" for c in text)
    return len(text) + wide - sum(unicodedata.combining(c) > 0 for c in text)


def align_columns(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Go's text/tabwriter as docker's tables use it (``NewWriter(out, 10, 1, 3, ' ', 0)``): a cell
    ends at a tab; consecutive lines with a cell in a column form a block padded to the block's
    widest cell plus ``padding`` (at least ``minwidth``); text after a line's last tab is not aligned."""
    out: list[str] = []
    for section in text.split("\f"):
        lines = [line.replace("\v", "\t").split("\t") for line in section.split("\n")]
        _tab_format(lines, [], 0, len(lines), out, minwidth, padding)
    return "\n".join(out)


def _tab_format(lines: list[list[str]], widths: list[int], lo: int, hi: int, out: list[str], mw: int, pad: int) -> None:
    """tabwriter's recursive block formatting, line for line."""
    column, this = len(widths), lo
    while this < hi:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _tab_write(lines, widths, lo, this, out)
        lo, width = this, mw
        while this < hi and column < len(lines[this]) - 1:
            width = max(width, _cell_width(lines[this][column]) + pad)
            this += 1
        _tab_format(lines, [*widths, width], lo, this, out, mw, pad)
        lo = this
    _tab_write(lines, widths, lo, hi, out)


def _tab_write(lines: list[list[str]], widths: list[int], lo: int, hi: int, out: list[str]) -> None:
    for cells in lines[lo:hi]:
        out.append(
            "".join(c + " " * (widths[j] - _cell_width(c)) if j < len(widths) else c for j, c in enumerate(cells))
        )
