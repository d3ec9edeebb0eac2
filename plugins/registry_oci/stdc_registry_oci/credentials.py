"""Credentials, stored the way docker stores them: ``$DOCKER_CONFIG/config.json`` (default
``~/.docker/config.json``), ``{"auths": {"HOST": {"auth": base64("user:password")}}}``, mode 0600.

docker, podman and skopeo read the same file, so a ``docker login`` serves stdc and the other
way round. Credential helpers are consulted as docker consults them: ``credHelpers`` names a
helper per registry, ``credsStore`` one for every other registry; ``docker-credential-NAME`` (on
PATH) is run with ``get``, ``store`` or ``erase`` and docker's JSON protocol on stdin/stdout, and
the file keeps only an empty ``auths`` entry for such a registry, as docker's does.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from typing import Any

from stdc.errors import BadInput, StdcError

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


def helper_of(doc: dict[str, Any], host: str) -> str | None:
    """The credential helper ``config.json`` names for ``host``: its ``credHelpers`` entry, else
    ``credsStore``, else ``None``."""
    helpers = doc.get("credHelpers") or {}
    key = _key(host)
    name = helpers.get(key) or next((v for k, v in helpers.items() if _key(_host_of(k)) == key), None)
    name = name or doc.get("credsStore")
    return name if isinstance(name, str) and name else None


def _server_url(host: str) -> str:
    """What a helper is asked about: the registry's host, Docker Hub's v1 address for it."""
    return _key(host)


def _run_helper(name: str, action: str, data: str) -> subprocess.CompletedProcess[str]:
    program = f"docker-credential-{name}"
    path = shutil.which(program)
    if path is None:
        raise BadInput(f"credential helper {program} (named in {config_path()}) is not on PATH")
    try:
        return subprocess.run([path, action], input=data, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise StdcError(f"credential helper {program} {action} did not finish within 60 s") from None


def _helper_failed(name: str, action: str, done: subprocess.CompletedProcess[str]) -> StdcError:
    said = " ".join((done.stdout.strip() or done.stderr.strip()).split())
    return StdcError(f"credential helper docker-credential-{name} {action} failed: {said or f'exit {done.returncode}'}")


def _not_found(done: subprocess.CompletedProcess[str]) -> bool:
    return "credentials not found" in done.stdout + done.stderr


def _helper_get(name: str, host: str) -> tuple[str, str] | None:
    done = _run_helper(name, "get", _server_url(host))
    if done.returncode != 0:
        if _not_found(done):
            return None
        raise _helper_failed(name, "get", done)
    try:
        answer = json.loads(done.stdout)
        user, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError):
        raise StdcError(f"credential helper docker-credential-{name} get sent no Username and Secret") from None
    return (str(user), str(secret)) if secret else None


def lookup(host: str) -> tuple[str, str] | None:
    """The stored ``(username, password)`` for ``host``, if any: from its credential helper when
    ``config.json`` names one, else from the file."""
    doc = _read()
    helper = helper_of(doc, host)
    if helper is not None:
        return _helper_get(helper, host)
    auths = doc.get("auths") or {}
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
    """Store the credentials of ``host`` (with its credential helper, if any); return where."""
    doc = _read()
    auths = doc.setdefault("auths", {})
    helper = helper_of(doc, host)
    if helper is None:
        auths[_key(host)] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    else:
        entry = {"ServerURL": _server_url(host), "Username": username, "Secret": password}
        done = _run_helper(helper, "store", json.dumps(entry))
        if done.returncode != 0:
            raise _helper_failed(helper, "store", done)
        auths[_key(host)] = {}
    _write(doc)
    return config_path() if helper is None else f"docker-credential-{helper}"


def remove(host: str) -> bool:
    """Forget the credentials of ``host`` (in its credential helper too); return whether there were any."""
    doc = _read()
    helper = helper_of(doc, host)
    erased = False
    if helper is not None:
        done = _run_helper(helper, "erase", _server_url(host))
        if done.returncode != 0 and not _not_found(done):
            raise _helper_failed(helper, "erase", done)
        erased = done.returncode == 0
    auths = doc.get("auths") or {}
    keys = [k for k in auths if _key(_host_of(k)) == _key(host)]
    for k in keys:
        del auths[k]
    if keys:
        _write(doc)
    return bool(keys) or erased


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
