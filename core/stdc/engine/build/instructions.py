"""The instructions that change only the image config — ENV, LABEL, EXPOSE, VOLUME, WORKDIR,
USER, CMD, ENTRYPOINT, STOPSIGNAL, HEALTHCHECK, ONBUILD, SHELL, MAINTAINER — as pure functions
of the config's ``config`` section (docker's keys: ``Env``, ``Labels``, ``ExposedPorts``, ...)."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from typing import Any

from stdc.engine.build.recipe import flag_values
from stdc.errors import BadInput

DEFAULT_SHELL = ["/bin/sh", "-c"]
CONFIG_ONLY = {
    "ENV", "LABEL", "EXPOSE", "VOLUME", "WORKDIR", "USER", "CMD", "ENTRYPOINT", "STOPSIGNAL",
    "HEALTHCHECK", "ONBUILD", "SHELL", "MAINTAINER",
}  # fmt: skip
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_NANOS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
Expand = Callable[[str], str]


def env_map(config: dict[str, Any]) -> dict[str, str]:
    """The config's ``Env`` as a mapping."""
    return dict(e.split("=", 1) if "=" in e else (e, "") for e in config.get("Env") or [])


def pairs(command: Any, expand: Expand) -> list[tuple[str, str]]:
    """ENV's and LABEL's ``key value`` pairs, expanded and unquoted."""
    words = list(command.value)
    if len(words) % 2:
        raise BadInput(f"Dockerfile line {command.start_line}: {command.cmd.upper()} needs key=value pairs")
    return [(expand(words[i]), expand(words[i + 1])) for i in range(0, len(words), 2)]


def command_form(command: Any, shell: list[str]) -> list[str]:
    """RUN's, CMD's and ENTRYPOINT's command: the exec (JSON) form as it is, the shell form
    handed to the shell."""
    if command.json:
        return list(command.value)
    text = " ".join(command.value)
    return [*shell, text] if text else []


def duration(value: str) -> int:
    """A Go duration (``30s``, ``1m30s``, ``100ms``) in nanoseconds."""
    if not value or _DURATION.sub("", value):
        raise BadInput(f"invalid duration {value!r}")
    return sum(int(float(n) * _NANOS[unit]) for n, unit in _DURATION.findall(value))


def apply(command: Any, config: dict[str, Any], expand: Expand, state: dict[str, Any]) -> str:
    """Apply a config-only instruction to ``config`` (in place); return what the history says.

    ``state`` carries what a stage remembers between instructions: ``cmd_set``."""
    name = command.cmd.upper()
    shell = list(config.get("Shell") or DEFAULT_SHELL)
    if name == "ENV":
        env = env_map(config)
        for key, value in pairs(command, expand):  # docker: $A is A's value before this line
            env[key] = value
        config["Env"] = [f"{k}={v}" for k, v in env.items()]
        return "ENV " + " ".join(f"{k}={v}" for k, v in env.items() if k in _keys(command))
    if name == "LABEL":
        labels = dict(config.get("Labels") or {})
        labels.update(pairs(command, expand))
        config["Labels"] = labels
        return "LABEL " + " ".join(f"{k}={v}" for k, v in pairs(command, expand))
    if name == "EXPOSE":
        ports = dict(config.get("ExposedPorts") or {})
        for word in command.value:
            for port in _ports(expand(word)):
                ports[port] = {}
        config["ExposedPorts"] = ports
        return "EXPOSE " + " ".join(sorted(ports))
    if name == "VOLUME":
        volumes = dict(config.get("Volumes") or {})
        for word in command.value:
            path = expand(word)
            if not path:
                raise BadInput(f"Dockerfile line {command.start_line}: VOLUME specified can not be an empty string")
            volumes[path] = {}
        config["Volumes"] = volumes
        return "VOLUME " + json.dumps(list(command.value))
    if name == "WORKDIR":
        path = expand(" ".join(command.value))
        config["WorkingDir"] = posixpath.normpath(posixpath.join(config.get("WorkingDir") or "/", path))
        return "WORKDIR " + config["WorkingDir"]
    if name == "USER":
        config["User"] = expand(" ".join(command.value))
        return "USER " + config["User"]
    if name == "CMD":
        config["Cmd"] = command_form(command, shell)
        state["cmd_set"] = True
        return "CMD " + json.dumps(config["Cmd"])
    if name == "ENTRYPOINT":
        config["Entrypoint"] = command_form(command, shell) or None
        if not state.get("cmd_set"):
            config["Cmd"] = None  # docker: an ENTRYPOINT drops the CMD the base image had
        return "ENTRYPOINT " + json.dumps(config["Entrypoint"])
    if name == "STOPSIGNAL":
        config["StopSignal"] = expand(" ".join(command.value))
        return "STOPSIGNAL " + config["StopSignal"]
    if name == "HEALTHCHECK":
        config["Healthcheck"] = healthcheck(command, shell)
        return "HEALTHCHECK " + json.dumps(config["Healthcheck"]["Test"])
    if name == "ONBUILD":
        trigger = command.original.split(None, 1)[1].strip() if " " in command.original else ""
        if trigger.split(None, 1)[0].upper() in ("ONBUILD", "FROM", "MAINTAINER"):
            raise BadInput(
                f"Dockerfile line {command.start_line}: {trigger.split()[0]} isn't allowed as an ONBUILD trigger"
            )
        config["OnBuild"] = [*(config.get("OnBuild") or []), trigger]
        return "ONBUILD " + trigger
    if name == "SHELL":
        if not command.json:
            raise BadInput(f"Dockerfile line {command.start_line}: SHELL requires the arguments to be in JSON form")
        config["Shell"] = list(command.value)
        return "SHELL " + json.dumps(config["Shell"])
    if name == "MAINTAINER":
        state["author"] = expand(" ".join(command.value))
        return "MAINTAINER " + state["author"]
    raise BadInput(f"Dockerfile line {command.start_line}: {name} is not a config instruction")


def _keys(command: Any) -> set[str]:
    words = list(command.value)
    return {words[i] for i in range(0, len(words), 2)}


def _ports(spec: str) -> list[str]:
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise BadInput(f"invalid protocol in EXPOSE {spec!r}")
    low, _, high = port.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        raise BadInput(f"invalid port in EXPOSE {spec!r}")
    return [f"{p}/{proto}" for p in range(int(low), int(high or low) + 1)]


def healthcheck(command: Any, shell: list[str]) -> dict[str, Any]:
    """HEALTHCHECK's document: ``Test`` and its times in nanoseconds, ``Retries``."""
    words = list(command.value)
    if not words:
        raise BadInput(f"Dockerfile line {command.start_line}: HEALTHCHECK needs CMD or NONE")
    kind = words[0].upper()
    if kind == "NONE":
        return {"Test": ["NONE"]}
    if kind != "CMD":
        raise BadInput(f"Dockerfile line {command.start_line}: unknown HEALTHCHECK type {words[0]!r}")
    test = ["CMD", *words[1:]] if command.json else ["CMD-SHELL", " ".join(words[1:])]
    check: dict[str, Any] = {"Test": test}
    names = {
        "interval": "Interval",
        "timeout": "Timeout",
        "start-period": "StartPeriod",
        "start-interval": "StartInterval",
    }
    for flag, value in flag_values(command).items():
        if flag in names:
            check[names[flag]] = duration(value)
        elif flag == "retries":
            if not value.isdigit():
                raise BadInput(f"invalid --retries {value!r}")
            check["Retries"] = int(value)
        else:
            raise BadInput(f"Dockerfile line {command.start_line}: unknown flag --{flag} of HEALTHCHECK")
    return check
