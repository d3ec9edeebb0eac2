"""``--change`` instructions (``import -c``, later ``commit -c``): Dockerfile lines that set image config.

Supported as docker supports them for import and commit: ``CMD``, ``ENTRYPOINT``, ``ENV``,
``EXPOSE``, ``LABEL``, ``USER``, ``VOLUME``, ``WORKDIR``, ``STOPSIGNAL``. ``CMD`` and
``ENTRYPOINT`` take the JSON form (``["a", "b"]``) or the shell form (run by ``/bin/sh -c``).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from stdc.errors import BadInput

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL")


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Return a copy of the image config's ``config`` section with ``changes`` applied."""
    result = dict(config)
    for change in changes:
        keyword, _, rest = change.strip().partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword not in SUPPORTED:
            raise BadInput(f"invalid change {change!r}: {keyword or 'nothing'} is not one of {', '.join(SUPPORTED)}")
        if not rest:
            raise BadInput(f"invalid change {change!r}: {keyword} needs an argument")
        if keyword in ("CMD", "ENTRYPOINT"):
            result["Cmd" if keyword == "CMD" else "Entrypoint"] = _command(change, rest)
        elif keyword == "ENV":
            env = dict(item.split("=", 1) for item in result.get("Env") or [] if "=" in item)
            env.update(_pairs(change, rest, legacy_space_form=True))
            result["Env"] = [f"{k}={v}" for k, v in env.items()]
        elif keyword == "LABEL":
            result["Labels"] = {**(result.get("Labels") or {}), **_pairs(change, rest)}
        elif keyword == "EXPOSE":
            ports = dict(result.get("ExposedPorts") or {})
            for port in rest.split():
                number, _, proto = port.partition("/")
                if not number.isdigit() or proto not in ("", "tcp", "udp", "sctp"):
                    raise BadInput(f"invalid change {change!r}: bad port {port!r}")
                ports[f"{int(number)}/{proto or 'tcp'}"] = {}
            result["ExposedPorts"] = ports
        elif keyword == "VOLUME":
            paths = _json_list(change, rest) if rest.startswith("[") else rest.split()
            result["Volumes"] = {**(result.get("Volumes") or {}), **{p: {} for p in paths}}
        elif keyword == "USER":
            result["User"] = rest
        elif keyword == "WORKDIR":
            result["WorkingDir"] = rest
        else:
            result["StopSignal"] = rest
    return result


def _command(change: str, rest: str) -> list[str]:
    if rest.startswith("["):
        return _json_list(change, rest)
    return ["/bin/sh", "-c", rest]


def _json_list(change: str, rest: str) -> list[str]:
    try:
        value = json.loads(rest)
    except ValueError:
        raise BadInput(f"invalid change {change!r}: not a JSON list of strings") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"invalid change {change!r}: not a JSON list of strings")
    return value


def _pairs(change: str, rest: str, legacy_space_form: bool = False) -> dict[str, str]:
    """``k=v k2="v 2"`` (or, for ENV, the old ``KEY value with spaces`` form)."""
    try:
        words = shlex.split(rest)
    except ValueError as e:
        raise BadInput(f"invalid change {change!r}: {e}") from None
    if legacy_space_form and words and "=" not in words[0]:
        key, _, value = rest.partition(" ")
        return {key: value.strip()}
    pairs = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise BadInput(f"invalid change {change!r}: expected KEY=VALUE, got {word!r}")
        pairs[key] = value
    return pairs
