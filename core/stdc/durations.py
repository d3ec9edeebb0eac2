"""Go's durations (``1m30s``, ``500ms``, ``2h``, ``0``), as docker's flags and Dockerfile options
take them (``--health-interval``, ``HEALTHCHECK --interval``), in nanoseconds."""

from __future__ import annotations

import re

from stdc.errors import BadInput

_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(value: str, flag: str) -> int:
    """A Go duration (``1m30s``, ``500ms``, ``2h``, ``0``) as nanoseconds; negative is refused."""
    text = value.strip()
    if text == "0":
        return 0
    pos, total = 0, 0.0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if not match:
            raise BadInput(f"invalid value {value!r} for {flag}: a duration like 30s, 1m30s or 500ms")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not text:
        raise BadInput(f"invalid value {value!r} for {flag}: a duration like 30s, 1m30s or 500ms")
    return int(total)
