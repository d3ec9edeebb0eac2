"""``--change`` instructions (``import -c``, later ``commit -c``): Dockerfile lines that set image config.

Supported as docker supports them for import and commit: ``CMD``, ``ENTRYPOINT``, ``ENV``,
``EXPOSE``, ``LABEL``, ``USER``, ``VOLUME``, ``WORKDIR``, ``STOPSIGNAL``, ``HEALTHCHECK``. ``CMD``
and ``ENTRYPOINT`` take the JSON form (``["a", "b"]``) or the shell form (run by ``/bin/sh -c``);
``HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N]
CMD ...`` (or ``NONE``) as in a Dockerfile.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from stdc.errors import BadInput

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL", "HEALTHCHECK")
#: HEALTHCHECK's options and the Healthcheck keys they set
_HEALTH_OPTIONS = {
    "--interval": "Interval",
    "--timeout": "Timeout",
    "--start-period": "StartPeriod",
    "--start-interval": "StartInterval",
}


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
        elif keyword == "HEALTHCHECK":
            result["Healthcheck"] = _healthcheck(change, rest)
        else:
            result["StopSignal"] = rest
    return result


def _healthcheck(change: str, rest: str) -> dict[str, Any]:
    """``HEALTHCHECK [OPTIONS] CMD ...`` or ``HEALTHCHECK NONE`` as the image config's Healthcheck."""
    from stdc.durations import parse_duration

    check: dict[str, Any] = {}
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, _, value = option.partition("=")
        if name in _HEALTH_OPTIONS:
            check[_HEALTH_OPTIONS[name]] = parse_duration(value, f"HEALTHCHECK {name}")
        elif name == "--retries" and value.isdigit():
            check["Retries"] = int(value)
        else:
            raise BadInput(f"invalid change {change!r}: unknown HEALTHCHECK option {option!r}")
        rest = rest.strip()
    kind, _, command = rest.partition(" ")
    if kind.upper() == "NONE" and not command:
        return {"Test": ["NONE"]}
    if kind.upper() != "CMD" or not command.strip():
        raise BadInput(f"invalid change {change!r}: expected HEALTHCHECK [OPTIONS] CMD command, or NONE")
    command = command.strip()
    test = ["CMD", *_json_list(change, command)] if command.startswith("[") else ["CMD-SHELL", command]
    return {"Test": test, **check}


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
