"""Prune verbs: remove what nothing uses, as docker's ``container/image/volume/system prune``
do, and say what went and how many bytes it freed (:class:`Pruned`).

Filters are docker's: ``until=TIME`` (created before; docker's time forms) and ``label=KEY``,
``label=KEY=VALUE``, ``label!=...`` (the opposite). Networks are pruned by
:func:`stdc.engine.networks.prune`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stdc.errors import BadInput, NotFound, StdcError

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.state import Container

#: the label docker gives an anonymous volume (``-v /data``, an image's VOLUME)
ANONYMOUS_LABEL = "com.docker.volume.anonymous"


@dataclass
class Pruned:
    """What a prune removed (ids, names or docker's ``untagged: …``/``deleted: …`` lines) and the
    bytes it freed."""

    deleted: list[str] = field(default_factory=list)
    reclaimed: int = 0


def parse_prune_filters(pairs: list[str], allowed: tuple[str, ...]) -> dict[str, list[str]]:
    """``["until=10m", "label=a=b"]`` -> ``{"until": ["10m"], "label": ["a=b"]}``; ``label!=x``
    becomes the key ``label!``."""
    found: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower()
        if not sep or key.rstrip("!") not in allowed:
            raise BadInput(f"invalid filter {pair!r}: use one of {', '.join(allowed)} (KEY=VALUE)")
        found.setdefault(key, []).append(value)
    return found


def keeps(filters: dict[str, list[str]], created: float | None, labels: dict[str, str]) -> bool:
    """Whether a thing created at ``created`` with ``labels`` passes the filters (may be pruned)."""
    from stdc.engine.event_query import parse_time

    for value in filters.get("until", []):
        if created is None or created >= parse_time(value):
            return False
    if filters.get("label") and not all(_has_label(labels, w) for w in filters["label"]):
        return False
    return not any(_has_label(labels, w) for w in filters.get("label!", []))


def _has_label(labels: dict[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in labels and (not sep or labels[key] == value)


def writable_size(engine: Engine, c: Container) -> int | None:
    """The bytes of the container's writable layer, if its storage driver reports them."""
    name = c.backends["storage"]
    try:
        storage = engine.backend("storage", name)
        return storage.hook.storage_usage(home=engine.home("storage", name), snapshot_id=c.id)
    except StdcError:
        return None


def containers(engine: Engine, filters: list[str] | None = None) -> Pruned:
    """Remove every stopped container (exited or only created) that the filters let through."""
    from stdc.engine import teardown

    wanted = parse_prune_filters(filters or [], ("until", "label"))
    pruned = Pruned()
    for c in engine.state.all():
        c = engine.refresh(c)
        if c.status not in ("exited", "created") or teardown.restart_pending(engine, c):
            continue
        if not keeps(wanted, c.created, c.config.get("Labels") or {}):
            continue
        size = writable_size(engine, c) or 0
        try:
            teardown.remove(engine, c)
        except StdcError:
            continue  # removed or started meanwhile
        pruned.deleted.append(c.id)
        pruned.reclaimed += size
    return pruned


def _layer_sizes(engine: Engine) -> dict[str, int]:
    """Every layer blob of every image in the store (tagged or not) -> its size."""
    sizes = {}
    for image in [image for _ref, image in engine.store.list_images()] + engine.store.dangling():
        sizes.update({layer.digest: layer.size for layer in image.layers})
    return sizes


def images(engine: Engine, all: bool = False, filters: list[str] | None = None) -> Pruned:
    """Remove the dangling images no container uses (``all``: every image no container uses)."""
    from stdc.engine import images as image_verbs

    wanted = parse_prune_filters(filters or [], ("until", "label"))
    used = {c.image_id for c in engine.state.all()}
    candidates = {image.id: image for image in engine.store.dangling()}
    if all:
        candidates.update({image.id: image for _ref, image in engine.store.list_images()})
    before = _layer_sizes(engine)
    pruned = Pruned()
    for image_id, image in candidates.items():
        labels = (image.config.get("config") or {}).get("Labels") or {}
        if image_id in used or not keeps(wanted, image.created_ts, labels):
            continue
        try:
            done = image_verbs.remove(engine, image_id, force=True)
        except NotFound:
            continue
        pruned.deleted.extend(_docker_line(line) for line in done.splitlines())
    after = _layer_sizes(engine)
    pruned.reclaimed = sum(size for digest, size in before.items() if digest not in after)
    return pruned


def _docker_line(line: str) -> str:
    """``Untagged: x`` -> ``untagged: x``, as docker's prune reports lists them."""
    done, _, what = line.partition(": ")
    return f"{done.lower()}: {what}"


def _tree_size(path: str) -> int:
    total = 0
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                st = os.lstat(os.path.join(top, name))
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                total += st.st_size
    return total


def volume_size(engine: Engine, name: str) -> int:
    """The bytes of a volume's content."""
    return _tree_size(engine.volumes.path(name))


def anonymous(described: dict[str, Any]) -> bool:
    """Whether a volume is anonymous (docker's label on it, or stdc's ``Anonymous`` mark)."""
    return bool(described.get("Anonymous")) or ANONYMOUS_LABEL in (described.get("Labels") or {})


def volumes(engine: Engine, all: bool = False, filters: list[str] | None = None) -> Pruned:
    """Remove the anonymous volumes no container uses (``all``: named ones too), as docker 23+."""
    from stdc.engine import volumes as volume_verbs

    wanted = parse_prune_filters(filters or [], ("label", "all"))
    if wanted.pop("all", ["false"])[-1].lower() in ("1", "true"):
        all = True
    containers_now = engine.state.all()
    pruned = Pruned()
    for name in engine.volumes.names():
        try:
            described = engine.volumes.inspect(name)
        except NotFound:
            continue
        if volume_verbs.users_of(containers_now, name) or not (all or anonymous(described)):
            continue
        if not keeps(wanted, None, described.get("Labels") or {}):
            continue
        size = volume_size(engine, name)
        try:
            volume_verbs.remove(engine, name)
        except StdcError:
            continue
        pruned.deleted.append(name)
        pruned.reclaimed += size
    return pruned


def system(engine: Engine, all: bool = False, with_volumes: bool = False, filters: list[str] | None = None) -> dict:
    """``system prune``: stopped containers, unused networks, dangling images (``all``: every
    unused image) and, ``with_volumes``, unused anonymous volumes; with ``filters``, networks
    stay (their prune has no filters yet). Returns ``{"Containers":
    Pruned, "Networks": [names], "Volumes": Pruned, "Images": Pruned}``."""
    from stdc.engine import networks, reconcile

    pairs = filters or []
    reconcile.reconcile(engine)  # what a crash left goes first: it may hold what is pruned next
    found: dict[str, Any] = {"Containers": containers(engine, pairs)}
    # networks.prune takes no filters: a filtered system prune leaves networks alone rather than
    # removing more than it was asked to
    found["Networks"] = [] if pairs else networks.prune(engine)
    if with_volumes:
        found["Volumes"] = volumes(engine, filters=[p for p in pairs if p.startswith("label")])
    found["Images"] = images(engine, all=all, filters=pairs)
    return found
