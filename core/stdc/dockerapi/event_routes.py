"""``GET /events``: Docker's event JSON from the engine's journal, past (``since``/``until``)
then live, with ``filters``."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiohttp import web

from stdc.dockerapi.request_kit import Routes, query_json, workers
from stdc.dockerapi.status_codes import bad_request

if TYPE_CHECKING:
    from stdc.engine import Engine


def _events(engine: Engine, since: str | None, until: str | None, pairs: list[str]) -> Iterator[dict | None]:
    """Past events (with ``since`` or ``until``), then live ones until ``until``; ``None`` now
    and then while none comes, so that a departed client's thread ends."""
    from stdc.engine import docker_shapes, event_query, journal

    wanted = event_query.parse_filters(pairs)
    end = docker_shapes.parse_time(until) if until else None
    now_ns = time.time_ns()
    if since or until:  # without either, only what comes from now on (dockerd's)
        yield from event_query.events(engine, since=since, until=until or str(now_ns / 1e9), filters=pairs)
    if end is not None and end * 1e9 <= now_ns:
        return
    begin = docker_shapes.parse_time(since) if since else None
    for doc in journal.follow(engine.root, after_ns=now_ns):
        if end is not None and time.time() > end:
            return
        if doc is None:
            yield None
        elif (begin is None or doc["timeNano"] >= begin * 1e9) and event_query.matches(doc, wanted):
            yield doc


async def events(request: web.Request) -> web.StreamResponse:
    """``GET /events?since=&until=&filters=``: one JSON document a line, as they come."""
    pairs = []
    for key, values in query_json(request, "filters").items():
        if isinstance(values, dict):
            values = [v for v, on in values.items() if on]
        if not isinstance(values, list):
            raise bad_request("invalid filters: each value must be a list")
        pairs += [f"{key}={v}" for v in values]
    since, until = request.query.get("since") or None, request.query.get("until") or None
    from stdc.engine import docker_shapes, event_query

    event_query.parse_filters(pairs)  # a bad filter is a 400 before the stream starts
    for value in (since, until):
        if value:
            docker_shapes.parse_time(value)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    async for doc in workers(request).iterate(lambda engine: _events(engine, since, until, pairs)):
        if doc is None:
            continue
        try:
            await response.write(json.dumps(doc).encode() + b"\n")
        except (ConnectionError, RuntimeError):
            break
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write_eof()
    return response


def register(routes: Routes) -> None:
    """Add the events route."""
    routes.add("GET", "/events", events)
