"""Credentials, stored the way docker stores them: ``$DOCKER_CONFIG/config.json`` (default
``~/.docker/config.json``), ``{"auths": {"HOST": {"auth": base64("user:password")}}}``, mode 0600.

docker, podman and skopeo read the same file, so a ``docker login`` serves stdc and the other
way round. Credential helpers (``credsStore``) are not consulted.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from typing import Any

from stdc.errors import BadInput

#: docker keeps Docker Hub's credentials under its v1 address.
_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


def config_path() -> str:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(directory, "config.json")


def _key(host: str) -> str:
    return _HUB_KEYS[0] if host in _HUB_KEYS else host


def _read() -> dict[str, Any]:
    path = config_path()
    try:
        with open(path, "rb") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise BadInput(f"{path} is not valid JSON: {e}") from None
    return doc if isinstance(doc, dict) else {}


def _host_of(key: str) -> str:
    """``https://host:5000/v2/`` or ``host:5000`` -> ``host:5000``."""
    return key.split("://", 1)[-1].split("/", 1)[0]


def lookup(host: str) -> tuple[str, str] | None:
    """The stored ``(username, password)`` for ``host``, if any."""
    auths = _read().get("auths") or {}
    wanted = _key(host)
    entry = auths.get(wanted)
    if entry is None:
        entry = next((v for k, v in auths.items() if _key(_host_of(k)) == wanted), None)
    if not isinstance(entry, dict) or not isinstance(entry.get("auth"), str):
        return None
    try:
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def save(host: str, username: str, password: str) -> str:
    """Store the credentials of ``host``; return the file written."""
    doc = _read()
    auths = doc.setdefault("auths", {})
    auths[_key(host)] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    _write(doc)
    return config_path()


def remove(host: str) -> bool:
    """Forget the credentials of ``host``; return whether there were any."""
    doc = _read()
    auths = doc.get("auths") or {}
    keys = [k for k in auths if _key(_host_of(k)) == _key(host)]
    for k in keys:
        del auths[k]
    if keys:
        _write(doc)
    return bool(keys)


def _write(doc: dict[str, Any]) -> None:
    path = config_path()
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=directory)  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent="\t")
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
