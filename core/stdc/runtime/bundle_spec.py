"""A bundle's ``config.json`` read as it is and made concrete for a stdc executor, as runc does
before it builds a container: ``root.path`` made absolute, the default devices every OCI
container has (``/dev/null``, ``zero``, ``full``, ``random``, ``urandom``, ``tty``) added with
their cgroup rules after the spec's own, and the cgroup placed inside stdc's subtree."""

from __future__ import annotations

import json
import os

from stdc.errors import BadInput, NotFound
from stdc.kit.devices import default_rules
from stdc.kit.ocispec import DEFAULT_DEVICES


def read_bundle(container_id: str, bundle: str, cgroup_parent: str = "stdc") -> dict:
    """The bundle's ``config.json``, made concrete for the executor: ``root.path`` absolute and
    ``linux.cgroupsPath`` inside stdc's cgroup subtree (:func:`stdc_cgroup_path`)."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path) as f:
            spec = json.load(f)
    except FileNotFoundError:
        raise NotFound(f"JSON specification file {path} not found") from None
    except (OSError, ValueError) as e:
        raise BadInput(f"{path}: {e}") from None
    if not str(spec.get("ociVersion", "")).startswith("1."):
        raise BadInput(f"{path}: unsupported ociVersion {spec.get('ociVersion')!r}")
    root = spec.get("root") or {}
    if not root.get("path"):
        raise BadInput(f"{path}: root.path is required")
    spec["root"] = {**root, "path": os.path.realpath(os.path.join(bundle, root["path"]))}
    linux = spec.setdefault("linux", {})
    linux["cgroupsPath"] = stdc_cgroup_path(linux.get("cgroupsPath"), container_id, cgroup_parent)
    add_default_devices(linux)
    return spec


def add_default_devices(linux: dict) -> None:
    """The runtime spec's default devices, unless the spec lists a node of the same path, and
    the rules that allow them (and /dev/pts, /dev/ptmx, /dev/console) after the spec's rules."""
    listed = {d.get("path") for d in linux.get("devices") or []}
    linux["devices"] = [*(linux.get("devices") or []), *(dict(d) for d in DEFAULT_DEVICES if d["path"] not in listed)]
    resources = linux.setdefault("resources", {})
    if resources.get("devices") is not None:
        resources["devices"] = [*resources["devices"], *(r for r in default_rules() if r.get("allow"))]


def stdc_cgroup_path(requested: str | None, container_id: str, cgroup_parent: str = "stdc") -> str:
    """The container's cgroup: ``requested`` when it lies under ``/stdc/``, else one directory
    ``oci-<requested, flattened>`` under ``cgroup_parent`` (stdc's config: ``stdc`` or a path
    under it): stdc never makes a cgroup outside its subtree, so podman's
    ``/libpod_parent/libpod-ID`` becomes ``/stdc/oci-libpod_parent_libpod-ID``."""
    if requested and requested.startswith("/stdc/") and ":" not in requested and "/." not in requested:
        return requested
    name = (requested or container_id).strip("/").replace("/", "_").replace(":", "_")
    return f"/{cgroup_parent.strip('/')}/oci-{name}"
