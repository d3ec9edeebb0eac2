"""The document model: what Go type a Python value stands for (struct, map, nil, a missing key) and
the template error."""

from __future__ import annotations

from typing import Any

from stdc.errors import BadInput


class TemplateError(BadInput):
    """A template that does not parse or cannot run on the given data (one line, like Go's)."""


class GoStruct(dict):
    """A dict that behaves as a Go struct whatever its keys: a missing field is an error."""


class GoMap(dict):
    """A dict that behaves as a Go map whatever its keys: a missing key is ``<no value>``."""


class _Missing:
    """Go's invalid reflect.Value: what a missing map key evaluates to."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING = _Missing()


def is_struct(value: Any) -> bool:
    if isinstance(value, GoStruct):
        return True
    if isinstance(value, GoMap) or not isinstance(value, dict) or not value:
        return False
    return all(isinstance(k, str) and k[:1].isupper() for k in value)


def sorted_items(value: dict) -> list[tuple[Any, Any]]:
    return sorted(value.items(), key=lambda kv: (type(kv[0]).__name__, kv[0]))


def gotype(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, dict):
        return "struct" if is_struct(value) else "map[string]interface {}"
    return type(value).__name__


class Row(GoStruct):
    """A listing row (docker's formatter context): ``{{json .}}`` sorts its keys and escapes HTML."""
