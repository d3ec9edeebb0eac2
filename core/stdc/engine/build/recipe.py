"""A Dockerfile read into stages, through the PyPI package ``dockerfile`` (docker's own Go parser:
line continuations, comments, parser directives, heredocs, JSON forms).

A :class:`Recipe` holds the ``ARG``\\ s before the first ``FROM`` and the stages up to the one
``--target`` names (or the last); each stage its ``FROM`` and its instructions as the parser gave them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stdc.errors import BadInput

#: instructions the builder carries out; anything else is refused with its line
KNOWN = {
    "FROM", "RUN", "COPY", "ADD", "ENV", "ARG", "WORKDIR", "USER", "CMD", "ENTRYPOINT", "EXPOSE",
    "LABEL", "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "ONBUILD", "SHELL", "MAINTAINER",
}  # fmt: skip
_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
MAX_DOCKERFILE = 4 << 20


@dataclass
class Stage:
    """One ``FROM`` and what follows it."""

    index: int
    base: str  # FROM's image word, unexpanded
    name: str | None
    platform: str | None
    line: Any  # the FROM command
    commands: list[Any] = field(default_factory=list)


@dataclass
class Recipe:
    """A parsed Dockerfile: the meta ARGs, the stages to build, the escape character."""

    meta_args: list[Any]
    stages: list[Stage]
    escape: str

    def steps(self) -> int:
        """How many steps a build prints (every instruction of every stage built)."""
        return sum(1 + len(s.commands) for s in self.stages)


def escape_of(text: str) -> str:
    """The ``# escape=`` parser directive (``\\`` by default)."""
    for line in text.splitlines():
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise BadInput(f"invalid escape directive {match.group(2)!r}: only \\ and ` are allowed")
            return match.group(2)
    return "\\"


def parse(text: str, target: str | None = None) -> Recipe:
    """Parse a Dockerfile; keep the stages up to ``target`` (a stage's name or index)."""
    import dockerfile

    if len(text) > MAX_DOCKERFILE:
        raise BadInput(f"the Dockerfile is larger than {MAX_DOCKERFILE >> 20} MiB")
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as e:
        raise BadInput(f"Dockerfile parse error: {e}") from None
    meta: list[Any] = []
    stages: list[Stage] = []
    for command in commands:
        name = command.cmd.upper()
        if name not in KNOWN:
            raise BadInput(f"Dockerfile line {command.start_line}: unknown instruction {command.cmd}")
        if name == "FROM":
            stages.append(_stage(command, len(stages)))
        elif not stages:
            if name != "ARG":
                raise BadInput(f"Dockerfile line {command.start_line}: {name} before the first FROM")
            meta.append(command)
        else:
            stages[-1].commands.append(command)
    if not stages:
        raise BadInput("the Dockerfile has no FROM instruction")
    return Recipe(meta, _up_to(stages, target), escape_of(text))


def _stage(command: Any, index: int) -> Stage:
    words = list(command.value)
    platform = next((f.split("=", 1)[1] for f in command.flags if f.startswith("--platform=")), None)
    if len(words) == 3 and words[1].upper() == "AS":
        name = words[2].lower()
        if not re.fullmatch(r"[a-z][a-z0-9._-]*", name):
            raise BadInput(f"Dockerfile line {command.start_line}: invalid stage name {words[2]!r}")
        return Stage(index, words[0], name, platform, command)
    if len(words) != 1:
        raise BadInput(f"Dockerfile line {command.start_line}: FROM takes an image and an optional 'AS name'")
    return Stage(index, words[0], None, platform, command)


def _up_to(stages: list[Stage], target: str | None) -> list[Stage]:
    if target is None:
        return stages
    for stage in stages:
        if stage.name == target.lower() or str(stage.index) == target:
            return stages[: stage.index + 1]
    raise BadInput(f"target stage {target!r} could not be found")


def flag_values(command: Any) -> dict[str, str]:
    """An instruction's ``--name=value`` flags (``--name`` alone: ``"true"``)."""
    found = {}
    for flag in command.flags:
        key, _, value = flag.lstrip("-").partition("=")
        found[key.lower()] = value if "=" in flag else "true"
    return found
