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
    """A duration in docker's words (go-units HumanDuration): ``Less than a second``,
    ``5 seconds``, ``About a minute``, ``3 minutes``, ``About an hour``, ``30 hours``, ``4 days``,
    ``3 weeks``, ``5 months``, ``2 years``."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{hours // (24 * 365)} years"


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


def human_size(n: float) -> str:
    """Docker's go-units ``HumanSize``: four significant digits, decimal units (``212B``, ``16.43MB``)."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000
        i += 1
    return f"{n:.4g}{units[i]}"


def command(args: list[str], truncate: bool = True) -> str:
    text = " ".join(args)
    return f'"{text[:17]}…"' if truncate and len(text) > 20 else f'"{text}"'


def status(c: Any) -> str:
    """``Up 5 seconds``, ``Up 2 minutes (Paused)``, ``Up 3 seconds (healthy)``, ``Exited (0) 3
    minutes ago``, ``Restarting (1) 1 second ago``, ``Created``."""
    if c.status == "running":
        up = f"Up {duration(time.time() - (c.started or time.time()))}"
        if getattr(c, "paused", False):
            return f"{up} (Paused)"
        check = getattr(c, "health", None)
        return f"{up} (health: starting)" if check == "starting" else f"{up} ({check})" if check else up
    if c.status == "restarting":
        return f"Restarting ({c.exit_code}) {ago(c.finished)}"
    if c.status == "exited":
        code = "unknown" if c.exit_code is None else c.exit_code
        return f"Exited ({code}) {ago(c.finished)}"
    return c.status.capitalize()
