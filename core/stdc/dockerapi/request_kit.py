"""What every route module shares: :class:`Routes` (each path with and without ``/vX.Y``), the
engine's worker threads of a request (:func:`workers`), Docker's headers, and the reading of a
request's JSON body and query parameters (a malformed one is a 400)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from stdc import __version__
from stdc.dockerapi.status_codes import bad_request
from stdc.dockerapi.workers import Workers
from stdc.engine.docker_objects import API_VERSION

WORKERS: web.AppKey[Workers] = web.AppKey("workers", Workers)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Routes:
    """Adds each handler at its path and at ``/v{version}`` + its path."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.router = app.router

    def add(self, method: str, path: str, handler: Handler) -> None:
        """Route ``method path`` (and its versioned twin) to ``handler``."""
        for prefix in ("", r"/v{api_version:[0-9]+\.[0-9]+}"):
            self.router.add_route(method, prefix + path, handler)


def common_headers() -> dict[str, str]:
    """The headers dockerd puts on every answer."""
    return {
        "Api-Version": API_VERSION,
        "Ostype": "linux",
        "Server": f"stdc/{__version__} (linux)",
        "Docker-Experimental": "false",
    }


async def json_body(request: web.Request, default: Any = None) -> Any:
    """The request's JSON body (``default`` when empty); malformed JSON is a 400."""
    raw = await request.read()
    if not raw.strip():
        return {} if default is None else default
    try:
        return json.loads(raw)
    except ValueError as e:
        raise bad_request(f"invalid JSON: {e}") from None


async def body_to_file(request: web.Request) -> str:
    """The request's body (of any size) in a temporary file; the caller removes it."""
    fd, path = tempfile.mkstemp(prefix="stdc-api-", dir=os.environ.get("TMPDIR", "/var/tmp"))
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.content.iter_chunked(1 << 20):
                f.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path


def json_object(value: Any, what: str) -> dict:
    """``value`` if it is a JSON object (or null: empty), else a 400 naming ``what``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"{what} must be a JSON object")
    return value


def json_labels(value: Any, what: str) -> dict[str, str]:
    """A body's ``Labels``: a JSON object of strings (or null: none), else a 400 naming ``what``."""
    labels = json_object(value, f"{what} Labels")
    if not all(isinstance(v, str) for v in labels.values()):
        raise bad_request(f"{what} Labels: every value must be a string")
    return labels


def query_bool(request: web.Request, key: str, default: bool = False) -> bool:
    """A boolean query parameter as dockerd reads one (``1``/``true``; empty or ``0``/``false`` is false)."""
    value = request.query.get(key)
    if value is None:
        return default
    return value.strip().lower() not in ("", "0", "false", "no")


def query_int(request: web.Request, key: str, default: int | None = None) -> int | None:
    """An integer query parameter; anything else is a 400."""
    value = request.query.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid value for {key}: {value!r} is not an integer") from None


def query_json(request: web.Request, key: str) -> dict:
    """A JSON-object query parameter (``filters``), empty when absent; malformed is a 400."""
    value = request.query.get(key)
    if not value:
        return {}
    try:
        return json_object(json.loads(value), key)
    except ValueError:
        raise bad_request(f"invalid {key} parameter: not JSON") from None


def workers(request: web.Request) -> Workers:
    """The engine's worker threads of this server."""
    return request.app[WORKERS]


def familiar(reference: str) -> str:
    """An image reference as stdc's store names it: clients qualify Docker Hub's names
    (``docker.io/library/alpine:3.10``), stdc keeps them as written (``alpine:3.10``)."""
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if reference.startswith(prefix):
            return reference[len(prefix) :]
    return reference
