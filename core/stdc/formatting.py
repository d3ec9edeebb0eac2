"""How the CLI shows things: tables, ages, sizes and statuses the way docker users read them."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns separated by three spaces, like docker's."""
    rows = [tuple("" if v is None else str(v) for v in row) for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = [
        "   ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in [tuple(header), *rows]
    ]
    return "\n".join(lines)


def duration(seconds: float) -> str:
    """``Less than a second``, ``5 seconds``, ``3 minutes``, ``2 hours``, ``4 days`` (docker's wording)."""
    seconds = int(seconds)
    if seconds < 1:
        return "Less than a second"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * (2 if unit != "minute" else 1):
            n = seconds // size
            return f"About a {unit}" if n == 1 else f"{n} {unit}s"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def ago(ts: float | None) -> str:
    return "" if ts is None else f"{duration(time.time() - ts)} ago"


def size(n: int) -> str:
    """Decimal units, as docker prints image sizes."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}TB"


def command(args: list[str], truncate: bool = True) -> str:
    text = " ".join(args)
    return f'"{text[:17]}…"' if truncate and len(text) > 20 else f'"{text}"'


def status(c: Any) -> str:
    """``Up 5 seconds``, ``Exited (0) 3 minutes ago``, ``Created``."""
    if c.status == "running":
        return f"Up {duration(time.time() - (c.started or time.time()))}"
    if c.status == "exited":
        code = "unknown" if c.exit_code is None else c.exit_code
        return f"Exited ({code}) {ago(c.finished)}"
    return c.status.capitalize()
