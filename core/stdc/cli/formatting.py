"""How the CLI shows things: tables, ages, sizes and statuses the way docker users read them."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from stdc.engine import docker_shapes


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns separated by three spaces, like docker's."""
    rows = [tuple("" if v is None else str(v) for v in row) for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = [
        "   ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in [tuple(header), *rows]
    ]
    return "\n".join(lines)


def duration(seconds: float) -> str:
    """A duration in docker's words (see :func:`stdc.engine.docker_shapes.duration`)."""
    return docker_shapes.duration(seconds)


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
    """``Up 5 seconds``, ``Up 2 minutes (Paused)``, ``Exited (0) 3 minutes ago``,
    ``Restarting (1) 1 second ago``, ``Created`` (see :func:`stdc.engine.docker_shapes.status_text`)."""
    return docker_shapes.status_text(c)
