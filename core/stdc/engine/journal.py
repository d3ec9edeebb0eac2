"""The events journal: every event the engine emits, in Docker's event shape, as JSON lines in
``events.jsonl`` under the root.

Each event is one ``write`` on a file opened with ``O_APPEND``, so lines of concurrent writers
(the CLI, a container's monitor, the daemon) never interleave. Past :data:`MAX_BYTES` the
journal is rotated once (to ``events.jsonl.1``), so it stays bounded; readers read the rotated
file first. Read it with :func:`read`; query it with :mod:`stdc.engine.event_query`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from typing import Any

FILE = "events.jsonl"
#: the size past which the journal is rotated (the journal and its one rotation stay under 2x this)
MAX_BYTES = 4 * 1024 * 1024


def event(kind: str, action: str, actor_id: str, attributes: dict[str, Any], now_ns: int | None = None) -> dict:
    """One event in Docker's shape (``Type``, ``Action``, ``Actor``, ``scope``, ``time``,
    ``timeNano`` and, for containers and images, the legacy ``status``/``id``/``from``)."""
    nano = time.time_ns() if now_ns is None else now_ns
    attrs = {k: str(v) for k, v in attributes.items() if v is not None}
    doc: dict[str, Any] = {}
    if kind in ("container", "image"):
        doc["status"], doc["id"] = action, actor_id
        if kind == "container" and "image" in attrs:
            doc["from"] = attrs["image"]
    doc.update(
        {
            "Type": kind,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": attrs},
            "scope": "local",
            "time": nano // 1_000_000_000,
            "timeNano": nano,
        }
    )
    return doc


def path(root: str) -> str:
    """Where the journal of the root ``root`` lives."""
    return os.path.join(root, FILE)


def append(root: str, doc: dict) -> None:
    """Append one event as one line, rotating the journal first when it has grown too big."""
    line = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
    journal = path(root)
    with contextlib.suppress(FileNotFoundError):
        if os.path.getsize(journal) > MAX_BYTES:
            _rotate(journal)
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _rotate(journal: str) -> None:
    """Move the journal aside, once even when several writers see it too big at the same time."""
    fd = os.open(journal + ".lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with contextlib.suppress(FileNotFoundError):
            if os.path.getsize(journal) > MAX_BYTES:
                os.replace(journal, journal + ".1")
    finally:
        os.close(fd)


def read(root: str) -> Iterator[dict]:
    """Every event still in the journal, oldest first (a torn or foreign line is skipped)."""
    for name in (path(root) + ".1", path(root)):
        try:
            with open(name, "rb") as f:
                yield from _parse(f.read().splitlines())
        except FileNotFoundError:
            continue


def _parse(lines: list[bytes]) -> Iterator[dict]:
    for line in lines:
        with contextlib.suppress(ValueError):
            doc = json.loads(line)
            if isinstance(doc, dict) and "timeNano" in doc:
                yield doc


def follow(root: str, after_ns: int, poll: float = 0.1) -> Iterator[dict | None]:
    """Events of the journal later than ``after_ns`` (nanoseconds since the epoch), as they come;
    ``None`` whenever there is none new for a while (so the consumer may check its own end).
    Survives a rotation."""
    journal = path(root)
    f = None
    inode = None
    buffer = b""
    with contextlib.suppress(FileNotFoundError):
        f = open(journal, "rb")  # noqa: SIM115 - reopened on rotation, closed below
        inode = os.fstat(f.fileno()).st_ino
    try:
        while True:
            chunk = f.read() if f is not None else b""
            if chunk:
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                yield from (d for d in _parse(complete) if d["timeNano"] > after_ns)
                continue
            try:
                current = os.stat(journal).st_ino
            except FileNotFoundError:
                current = None
            if current is not None and current != inode:  # created or rotated: read the new file from its start
                if f is not None:  # what the old file got last, before it moved
                    buffer += f.read()
                    *complete, buffer = buffer.split(b"\n")
                    yield from (d for d in _parse(complete) if d["timeNano"] > after_ns)
                    f.close()
                f, inode, buffer = open(journal, "rb"), current, b""  # noqa: SIM115
                continue
            yield None
            time.sleep(poll)
    finally:
        if f is not None:
            f.close()


#: the observer hooks of :mod:`stdc.specs.events` -> Docker's (type, action)
_HOOK_ACTIONS = {
    "stdc_container_created": ("container", "create"),
    "stdc_container_started": ("container", "start"),
    "stdc_container_exited": ("container", "die"),
    "stdc_container_removed": ("container", "destroy"),
}


def container_attributes(described: dict) -> dict[str, Any]:
    """Docker's attributes of a container event: its labels, ``name`` and ``image``."""
    attrs: dict[str, Any] = dict((described.get("Config") or {}).get("Labels") or {})
    attrs.update(name=described.get("Name"), image=described.get("Image"))
    return attrs


def from_hook(hook: str, kwargs: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]] | None:
    """The journal's ``(type, action, actor id, attributes)`` of an observer hook's call."""
    if hook in _HOOK_ACTIONS:
        kind, action = _HOOK_ACTIONS[hook]
        described = kwargs["container"]
        attrs = container_attributes(described)
        if action == "die":
            attrs["exitCode"] = kwargs.get("exit_code")
        return kind, action, described["Id"], attrs
    if hook == "stdc_image_added":
        return "image", kwargs["how"], kwargs["reference"] or kwargs["digest"], {"name": kwargs["reference"] or None}
    return None
