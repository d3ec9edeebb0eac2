"""The ``events`` verb: the journal's events (:mod:`stdc.engine.journal`) between two times,
filtered as docker filters them, and optionally followed as new ones come.

Times take docker's formats (:func:`parse_time`); filters are docker's (:func:`matches`): values
of one key are alternatives, different keys must all match.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from stdc.engine import journal
from stdc.engine.docker_shapes import parse_time
from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.context import Engine

FILTER_KEYS = ("type", "event", "action", "container", "image", "network", "volume", "label", "scope")


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
