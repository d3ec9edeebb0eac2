"""The ``events`` verb: the journal's events (:mod:`stdc.engine.journal`) between two times,
filtered as docker filters them, and optionally followed as new ones come.

Times take docker's formats (:func:`parse_time`); filters are docker's (:func:`matches`): values
of one key are alternatives, different keys must all match.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stdc.engine import journal
from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.context import Engine

FILTER_KEYS = ("type", "event", "action", "container", "image", "network", "volume", "label", "scope")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(value: str, now: float | None = None) -> float:
    """A point in time, in seconds since the epoch, from docker's ``--since``/``--until`` forms:
    a unix timestamp (``1700000000``, ``1700000000.5``), RFC 3339 (``2024-01-02T15:04:05Z``,
    with fractions or an offset; without a zone it is local time), a date (``2024-01-02``) or a
    Go duration before ``now`` (``10m``, ``1h30m``, ``90s``)."""
    now = time.time() if now is None else now
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if text and _DURATION.sub("", text) == "" and _DURATION.match(text):
        return now - sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))
    iso = text.replace("z", "Z").replace("Z", "+00:00")
    iso = re.sub(r"(\.\d{6})\d+", r"\1", iso)  # Python reads microseconds, docker writes nanoseconds
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise BadInput(f"invalid time {value!r}: use RFC 3339, a unix timestamp or a duration like 10m") from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # docker reads a time without zone as local time
    return parsed.astimezone(UTC).timestamp()


def parse_filters(values: list[str] | dict | str) -> dict[str, list[str]]:
    """``["type=container", "event=start", "event=die"]`` (or the API's JSON, see
    :func:`stdc.engine.docker_filters.parse_filters`) -> ``{"type": [...], "event": [...]}``;
    ``action`` is the same key as ``event``."""
    from stdc.engine import docker_filters

    found: dict[str, list[str]] = {}
    for key, wanted in docker_filters.parse_filters(values).items():
        if key not in FILTER_KEYS:
            raise BadInput(f"invalid filter '{key}': use KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}")
        found.setdefault("event" if key == "action" else key, []).extend(wanted)
    return found


def matches(doc: dict, filters: dict[str, list[str]]) -> bool:
    """Whether the event ``doc`` passes every filter (docker's semantics)."""
    kind = doc.get("Type", "")
    actor = doc.get("Actor") or {}
    actor_id = actor.get("ID", "")
    attrs = actor.get("Attributes") or {}
    action = doc.get("Action", "")

    def named(wanted: str) -> bool:
        return wanted in (actor_id, attrs.get("name")) or (len(wanted) >= 3 and actor_id.startswith(wanted))

    for key, wanted in filters.items():
        if key == "type":
            ok = kind in wanted
        elif key == "event":
            # docker matches "exec_start" by its prefix: "exec_start: sh -c ..."
            ok = any(action == w or action.startswith(w + ":") for w in wanted)
        elif key == "scope":
            ok = doc.get("scope", "local") in wanted
        elif key == "label":
            ok = any(_label_matches(attrs, w) for w in wanted)
        elif key == "image":
            ok = kind in ("image", "container") and any(
                w in (actor_id, attrs.get("image"), attrs.get("name")) for w in wanted
            )
        else:  # container, network, volume
            ok = kind == key and any(named(w) for w in wanted)
            if key == "container" and kind == "network" and not ok:
                ok = attrs.get("container") in wanted
        if not ok:
            return False
    return True


def _label_matches(attrs: dict, wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in attrs and (not sep or attrs[key] == value)


def events(
    engine: Engine,
    since: str | None = None,
    until: str | None = None,
    filters: list[str] | dict | None = None,
    follow: bool = False,
) -> Iterator[dict]:
    """The events of the root in order: past ones when ``since`` or ``until`` is given (those
    between them), then, with ``follow``, new ones as they come until ``until`` passes or the
    consumer stops iterating (docker's ``events``: it follows unless ``until`` is past)."""
    begin = parse_time(since) if since else None
    end = parse_time(until) if until else None
    wanted = parse_filters(filters or [])
    now_ns = time.time_ns()
    if begin is not None or end is not None:
        for doc in journal.read(engine.root):
            if doc["timeNano"] <= now_ns and _within(doc, begin, end) and matches(doc, wanted):
                yield doc
    if not follow or (end is not None and end * 1e9 <= now_ns):
        return
    for doc in journal.follow(engine.root, after_ns=now_ns):
        if end is not None and time.time() > end:
            return
        if doc is not None and _within(doc, begin, end) and matches(doc, wanted):
            yield doc


def _within(doc: dict, begin: float | None, end: float | None) -> bool:
    at = doc["timeNano"] / 1e9
    return (begin is None or at >= begin) and (end is None or at <= end)
