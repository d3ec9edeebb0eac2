"""``--mount`` (docker's csv syntax), ``--volumes-from`` and an image's ``VOLUME``s, added to a
container's :class:`~stdc.engine.volumes.VolumePlan` beside ``-v`` and ``--tmpfs``.

``--mount`` keys are docker's (cli/opts/mount.go): ``type`` (bind, volume, tmpfs; volume by
default), ``source``/``src``, ``destination``/``dst``/``target``, ``readonly``/``ro``,
``bind-propagation``, ``bind-recursive`` (enabled, disabled, writable, readonly),
``bind-nonrecursive``, ``volume-nocopy``, ``volume-driver`` (local only), ``tmpfs-size`` and
``tmpfs-mode``. ``volume-opt``, ``volume-subpath`` and ``volume-label`` are refused: stdc's local
volumes take no options. Everything is checked before anything is made.
"""

from __future__ import annotations

import csv
import os
from typing import TYPE_CHECKING

from stdc.engine.resources import parse_size
from stdc.engine.volumes import VolumePlan, Volumes, check_name, destination_of
from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.context import Engine

_KEYS = {
    "common": {"type", "source", "src", "destination", "dst", "target", "readonly", "ro", "consistency"},
    "bind": {"bind-propagation", "bind-recursive", "bind-nonrecursive"},
    "volume": {"volume-nocopy", "volume-driver"},
    "tmpfs": {"tmpfs-size", "tmpfs-mode"},
}
_REFUSED = {"volume-opt", "volume-subpath", "volume-label", "image-subpath", "bind-create-src"}
_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_RECURSIVE = ("enabled", "disabled", "writable", "readonly")


def _bool(value: str | None, key: str, flag: str) -> bool:
    if value is None:
        return True
    if value.lower() in ("1", "true"):
        return True
    if value.lower() in ("0", "false"):
        return False
    raise BadInput(f"{flag}: invalid value for {key}: {value!r} (true or false)")


def parse_fields(value: str) -> dict[str, str | None]:
    """The csv fields of one ``--mount`` value (docker reads it with encoding/csv too)."""
    flag = f"--mount {value}"
    try:
        rows = list(csv.reader([value]))
    except csv.Error as e:
        raise BadInput(f"{flag}: {e}") from None
    fields: dict[str, str | None] = {}
    for item in rows[0] if rows else []:
        key, sep, setting = item.partition("=")
        key = key.strip().lower()
        if not sep and key not in ("readonly", "ro", "volume-nocopy", "bind-nonrecursive"):
            raise BadInput(f"{flag}: invalid field '{item}' must be a key=value pair")
        if key in _REFUSED:
            raise BadInput(f"{flag}: {key} is not supported (stdc's local volumes take no options)")
        if key not in set().union(*_KEYS.values()):
            raise BadInput(f"{flag}: unexpected key '{key}' in '{item}'")
        fields[key] = setting if sep else None
    return fields


def add_mount(result: VolumePlan, value: str, store: Volumes) -> None:
    """One ``--mount`` value into ``result``."""
    flag = f"--mount {value}"
    fields = parse_fields(value)
    kind = fields.get("type") or "volume"
    if kind not in ("bind", "volume", "tmpfs"):
        raise BadInput(f"{flag}: type {kind!r} is not supported (bind, volume or tmpfs)")
    for other, keys in _KEYS.items():
        mixed = sorted(k for k in fields if k in keys and other not in ("common", kind))
        if mixed:
            raise BadInput(f"{flag}: cannot mix '{mixed[0]}' with mount type '{kind}'")
    target = fields.get("target") or fields.get("destination") or fields.get("dst")
    if not target:
        raise BadInput(f"{flag}: target is required")
    destination = destination_of(target, flag)
    source = fields.get("source") or fields.get("src") or ""
    ro = any(_bool(fields[k], k, flag) for k in ("readonly", "ro") if k in fields)
    mode = "ro" if ro else "rw"
    if kind == "tmpfs":
        if source:
            raise BadInput(f"{flag}: a tmpfs mount takes no source")
        options = ["nosuid", "nodev", "noexec", mode]
        if fields.get("tmpfs-size"):
            options.append(f"size={parse_size(fields['tmpfs-size'] or '', 'tmpfs-size')}")
        if fields.get("tmpfs-mode"):
            mode_text = fields["tmpfs-mode"] or ""
            try:
                options.append(f"mode={int(mode_text, 8):o}")
            except ValueError:
                raise BadInput(f"{flag}: tmpfs-mode {mode_text!r} is not an octal mode") from None
        row = {"Type": "tmpfs", "Source": "", "Destination": destination, "Mode": "", "RW": not ro, "Propagation": ""}
        result.add({"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": options}, row)
        return
    if kind == "volume":
        if (fields.get("volume-driver") or "local") != "local":
            raise BadInput(f"{flag}: volume driver {fields['volume-driver']!r}: stdc has the local driver only")
        if not source:
            result.add_anonymous(destination, store)
            if ro:
                result.mounts[-1]["options"][1] = "ro"
                result.described[-1].update(RW=False, Mode="ro")
        else:
            check_name(source)
            if not store.exists(source) and source not in result.create:
                result.create.append(source)
            row = {"Type": "volume", "Name": source, "Source": store.path(source), "Driver": "local",
                   "Destination": destination, "Mode": "", "RW": not ro, "Propagation": ""}  # fmt: skip
            result.add(
                {"destination": destination, "type": "bind", "source": store.path(source),
                 "options": ["rbind", mode, "rprivate"]}, row,
            )  # fmt: skip
        if "volume-nocopy" in fields and _bool(fields["volume-nocopy"], "volume-nocopy", flag):
            result.nocopy.append(result.described[-1]["Name"])
        return
    _add_bind(result, fields, flag, source, destination, ro)


def _add_bind(
    result: VolumePlan, fields: dict[str, str | None], flag: str, source: str, destination: str, ro: bool
) -> None:
    if not source:
        raise BadInput(f"{flag}: source is required for a bind mount")
    if not os.path.isabs(source):
        raise BadInput(f"{flag}: invalid mount path: '{source}' mount path must be absolute")
    if not os.path.exists(source):
        raise BadInput(f'{flag}: invalid mount config for type "bind": bind source path does not exist: {source}')
    propagation = fields.get("bind-propagation") or "rprivate"
    if propagation not in _PROPAGATIONS:
        raise BadInput(f"{flag}: invalid bind-propagation {propagation!r}: {', '.join(_PROPAGATIONS)}")
    recursive = fields.get("bind-recursive") or "enabled"
    if "bind-nonrecursive" in fields and _bool(fields["bind-nonrecursive"], "bind-nonrecursive", flag):
        recursive = "disabled"
    if recursive not in _RECURSIVE:
        raise BadInput(f"{flag}: invalid bind-recursive {recursive!r}: {', '.join(_RECURSIVE)}")
    if recursive == "readonly" and not ro:
        raise BadInput(f"{flag}: option 'bind-recursive=readonly' requires 'readonly' to be specified too")
    options = ["bind" if recursive == "disabled" else "rbind", "ro" if ro else "rw", propagation]
    if ro and recursive in ("enabled", "readonly"):
        options.append("rro")
    source = os.path.realpath(source)
    row = {"Type": "bind", "Source": source, "Destination": destination, "Mode": "", "RW": not ro,
           "Propagation": propagation}  # fmt: skip
    result.add({"destination": destination, "type": "bind", "source": source, "options": options}, row)


def add_volumes_from(engine: Engine, result: VolumePlan, values: list[str]) -> None:
    """``--volumes-from CONTAINER[:ro|rw]``: the volumes and binds of another container, at the
    same places (what this container mounts there itself wins), read-only with ``:ro``."""
    for value in values:
        ref, _, mode = value.partition(":")
        if mode not in ("", "ro", "rw"):
            raise BadInput(f"--volumes-from {value}: unknown mode {mode!r} (ro or rw)")
        other = engine.container(ref)
        taken = {m["destination"] for m in result.mounts}
        for row in other.config.get("mounts") or []:
            if row.get("Type") not in ("bind", "volume") or row["Destination"] in taken:
                continue
            rw = row.get("RW", True) if not mode else mode == "rw"
            options = ["rbind", "rw" if rw else "ro", "rprivate", *([] if rw else ["rro"])]
            mount = {"destination": row["Destination"], "type": "bind", "source": row["Source"], "options": options}
            result.add(mount, {**row, "RW": rw, "Mode": mode or row.get("Mode", "")})


def add_image_volumes(result: VolumePlan, image_config: dict, store: Volumes) -> None:
    """An anonymous volume for each ``VOLUME`` of the image that nothing else is mounted on."""
    taken = {m["destination"] for m in result.mounts}
    for path in sorted(image_config.get("Volumes") or {}):
        destination = destination_of(path, f"the image's VOLUME {path}")
        if destination not in taken:
            result.add_anonymous(destination, store)
