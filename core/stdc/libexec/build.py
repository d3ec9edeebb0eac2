"""Building the container monitor, ``stdc-monitor.c``, on first use (see :mod:`stdc.kit.cprograms`)."""

from __future__ import annotations


def monitor_path(cache_dir: str) -> str:
    """The path of a monitor built from the current source, compiling it into ``cache_dir`` if needed."""
    from stdc.kit.cprograms import program_path

    return program_path("stdc-monitor", cache_dir)
