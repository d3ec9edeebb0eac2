"""Docker's ``--filter`` for containers and images, on the documents of
:mod:`stdc.engine.docker_documents`, for the CLI and the Docker API alike.

Filters are ``{key: [values]}``: the values of one key are alternatives, different keys must all
match, and ``label`` values must all match (docker's ``MatchKVList``). ``id`` and ``name`` are
matched as docker does, as a regular expression searched in the id or the name (``/`` first).
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING, Any

from stdc.errors import BadInput, NotFound

if TYPE_CHECKING:
    from stdc.engine.context import Engine

CONTAINER_KEYS = (
    "id", "name", "label", "status", "ancestor", "network", "exited", "before", "since", "volume", "health",
    "publish", "expose", "is-task",
)  # fmt: skip
IMAGE_KEYS = ("dangling", "reference", "label", "before", "since", "until")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH = ("starting", "healthy", "unhealthy", "none")


def parse_filters(values: list[str] | tuple[str, ...] | dict | str | None) -> dict[str, list[str]]:
    """Filters from the CLI's ``key=value`` strings, or from the API's JSON: ``{"key": ["v"]}``,
    the legacy ``{"key": {"v": true}}``, or that JSON still as text."""
    if not values:
        return {}
    if isinstance(values, str):
        import json

        try:
            values = json.loads(values)
        except ValueError:
            raise BadInput(f"invalid filters: {values}") from None
        if not isinstance(values, dict):
            raise BadInput("invalid filters: expected a JSON object")
    found: dict[str, list[str]] = {}
    if isinstance(values, dict):
        for key, wanted in values.items():
            if isinstance(wanted, dict):
                found[str(key)] = [str(v) for v, on in wanted.items() if on]
            elif isinstance(wanted, list):
                found[str(key)] = [str(v) for v in wanted]
            else:
                raise BadInput(f"invalid filter {key!r}: its values must be a list")
        return found
    for pair in values:
        key, sep, value = pair.partition("=")
        if not sep:
            raise BadInput(f"bad format of filter (expected name=value): {pair}")
        found.setdefault(key.strip().lower(), []).append(value)
    return found


def check_keys(filters: dict[str, list[str]], allowed: tuple[str, ...]) -> None:
    """A key docker does not know for this listing is a BadInput ``invalid filter 'x'``."""
    for key in filters:
        if key not in allowed:
            raise BadInput(f"invalid filter '{key}'")


def _search(pattern: str, text: str) -> bool:
    """docker's ``filters.Match``: equal, or the value as a regular expression found in ``text``."""
    if pattern == text:
        return True
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def labels_match(labels: dict[str, str], wanted: list[str]) -> bool:
    """Every ``k`` / ``k=v`` of ``wanted`` is among ``labels`` (docker's ``MatchKVList``)."""
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _bool(key: str, value: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise BadInput(f"invalid filter '{key}={value}'")


def _ports_match(wanted: list[str], ports: list[tuple[int, str]]) -> bool:
    """``publish``/``expose``: ``80``, ``80/udp`` or a range ``8000-8080[/tcp]`` against ``(port, proto)``."""
    for item in wanted:
        number, _, proto = item.partition("/")
        low, _, high = number.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise BadInput(f"invalid filter 'publish/expose={item}'")
        top = int(high or low)
        if any(int(low) <= p <= top and (not proto or proto == kind) for p, kind in ports):
            return True
    return False


def _created_of(summaries: list[dict], engine: Engine, ref: str) -> int:
    """``Created`` of the container named ``ref`` (for ``before``/``since``)."""
    for s in summaries:
        if s["Id"] == ref or s["Id"].startswith(ref) or ref.lstrip("/") in (n.lstrip("/") for n in s["Names"]):
            return s["Created"]
    c = engine.container(ref)  # a container the listing leaves out (ps without -a)
    return int(c.created)


def _image_layers(engine: Engine, ref: str) -> tuple[str, list[str]] | None:
    try:
        image = engine.store.resolve(ref)
    except (NotFound, BadInput):
        return None
    return image.id, image.chain_ids()


def filter_containers(engine: Engine, summaries: list[dict], filters: dict[str, list[str]]) -> list[dict]:
    """The entries of ``GET /containers/json`` (:func:`docker_documents.container_summary`) that
    pass docker's container filters."""
    check_keys(filters, CONTAINER_KEYS)
    for value in filters.get("status", []):
        if value not in STATUSES:
            raise BadInput(f"invalid filter 'status={value}'")
    for value in filters.get("health", []):
        if value not in HEALTH:
            raise BadInput(f"invalid filter 'health={value}'")
    exited = []
    for value in filters.get("exited", []):
        if not value.lstrip("-").isdigit():
            raise BadInput(f"invalid filter 'exited={value}'")
        exited.append(int(value))
    before = [_created_of(summaries, engine, v) for v in filters.get("before", [])]
    since = [_created_of(summaries, engine, v) for v in filters.get("since", [])]
    ancestors = [a for v in filters.get("ancestor", []) if (a := _image_layers(engine, v))]
    layers: dict[str, list[str]] = {}
    if ancestors:
        layers = {c.id: c.config.get("layers") or [] for c in engine.state.all()}
    found = []
    for s in summaries:
        if not _container_passes(s, filters, exited, ancestors, layers):
            continue
        if before and not s["Created"] < min(before):
            continue
        if since and not s["Created"] > max(since):
            continue
        found.append(s)
    return found


def _container_passes(
    s: dict, filters: dict[str, list[str]], exited: list[int], ancestors: list[tuple[str, list[str]]], layers: dict
) -> bool:
    checks: dict[str, Any] = {
        "id": lambda v: _search(v, s["Id"]),
        "name": lambda v: any(_search(v, n) or _search(v, n.lstrip("/")) for n in s["Names"]),
        "status": lambda v: s["State"] == v,
        "network": lambda v: any(
            v in (name, net.get("NetworkID")) or (len(v) >= 3 and (net.get("NetworkID") or "").startswith(v))
            for name, net in (s["NetworkSettings"]["Networks"] or {}).items()
        ),
        "volume": lambda v: any(v in (m.get("Name"), m.get("Destination"), m.get("Source")) for m in s["Mounts"]),
        "health": lambda v: _health_of(s) == v,
        "is-task": lambda v: not _bool("is-task", v),
    }
    for key, values in filters.items():
        if key in checks and not any(checks[key](v) for v in values):
            return False
    if "label" in filters and not labels_match(s.get("Labels") or {}, filters["label"]):
        return False
    if exited and not (s["State"] == "exited" and _exit_code(s) in exited):
        return False
    if ancestors and not any(
        s["ImageID"] == image_id or layers.get(s["Id"], [])[: len(chain)] == chain for image_id, chain in ancestors
    ):
        return False
    published = [(p["PublicPort"], p["Type"]) for p in s["Ports"] if p.get("PublicPort")]
    if "publish" in filters and not _ports_match(filters["publish"], published):
        return False
    private = [(p["PrivatePort"], p["Type"]) for p in s["Ports"]]
    return "expose" not in filters or _ports_match(filters["expose"], private)


def _exit_code(s: dict) -> int | None:
    match = re.match(r"Exited \((-?\d+)\)", s.get("Status", ""))
    return int(match.group(1)) if match else None


def _health_of(s: dict) -> str:
    status = s.get("Status", "")
    for word in ("unhealthy", "healthy", "health: starting"):
        if f"({word})" in status:
            return word.removeprefix("health: ")
    return "none"


def filter_images(engine: Engine, summaries: list[dict], filters: dict[str, list[str]]) -> list[dict]:
    """The ImageSummary entries (:func:`docker_documents.image_summaries`) that pass docker's
    image filters: ``dangling``, ``reference`` (globs on ``name`` or ``name:tag``), ``label``,
    ``before``/``since`` (another image) and ``until`` (a time)."""
    from stdc.engine.docker_shapes import parse_time

    check_keys(filters, IMAGE_KEYS)
    dangling = [_bool("dangling", v) for v in filters.get("dangling", [])]
    before = [_image_created(engine, v) for v in filters.get("before", [])]
    since = [_image_created(engine, v) for v in filters.get("since", [])]
    until = [parse_time(v) for v in filters.get("until", [])]
    found = []
    for s in summaries:
        if dangling and (not s["RepoTags"]) not in dangling:
            continue
        if "reference" in filters and not _reference_matches(s["RepoTags"], filters["reference"]):
            continue
        if "label" in filters and not labels_match(s.get("Labels") or {}, filters["label"]):
            continue
        if before and not s["Created"] < min(before):
            continue
        if since and not s["Created"] > max(since):
            continue
        if until and not s["Created"] < max(until):
            continue
        found.append(s)
    return found


def only_references(summary: dict, filters: dict[str, list[str]]) -> list[str]:
    """The tags of an image a ``reference`` filter lets through (docker lists only those rows)."""
    patterns = filters.get("reference")
    if not patterns:
        return list(summary["RepoTags"])
    return [t for t in summary["RepoTags"] if _reference_matches([t], patterns)]


def _reference_matches(tags: list[str], patterns: list[str]) -> bool:
    for tag in tags:
        name = tag.rpartition(":")[0] if ":" in tag.rpartition("/")[2] else tag
        for pattern in patterns:
            if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(tag, pattern):
                return True
    return False


def _image_created(engine: Engine, ref: str) -> int:
    """``Created`` of the image ``ref`` (for ``before``/``since``)."""
    return int(engine.store.resolve(ref).created_ts or 0)
