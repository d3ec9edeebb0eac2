"""The function table: Go's builtin template functions and docker's, and the pass-through versions
and field titles used to render a table's header row."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from stdc.cli.gotemplate.gotmpl_printer import gojson, sprint, sprintf
from stdc.cli.gotemplate.gotmpl_values import MISSING, gotype, is_struct


class ArgError(Exception):
    """An argument of the wrong type (Go reports it before the call, without "error calling")."""


def _want(value: Any, kind: str) -> Any:
    ok = {
        "string": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "[]string": isinstance(value, list | tuple) and all(isinstance(v, str) for v in value),
    }[kind]
    if not ok:
        got = "nil" if value is None else gotype(value)
        raise ArgError(f"wrong type for value; expected {kind}; got {got}")
    return value


def truth(value: Any) -> bool:
    if value is MISSING or value is None:
        return False
    if isinstance(value, dict) and is_struct(value):
        return True
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return bool(value)
    return True


def _length(value: Any) -> int:
    if value is None or value is MISSING:
        raise ValueError("len of nil pointer")
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list | tuple | dict):
        return len(value)
    raise ValueError(f"len of type {gotype(value)}")


def _zero_like(values: Iterable[Any]) -> Any:
    """The zero value of a map's element type, told from its other values (``""`` when empty)."""
    kinds = {type(v) for v in values}
    if len(kinds) > 1:
        return None
    kind = kinds.pop() if kinds else str
    return {str: "", int: 0, float: 0.0, bool: False, list: []}.get(kind)


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if item is None or item is MISSING:
            raise ValueError("index of untyped nil")
        if isinstance(item, dict):
            if is_struct(item):
                raise ValueError(f"can't index item of type {gotype(item)}")
            item = item[key] if key in item else _zero_like(item.values())
            continue
        if not isinstance(item, list | tuple | str):
            raise ValueError(f"can't index item of type {gotype(item)}")
        if not isinstance(key, int) or isinstance(key, bool):
            raise ValueError(f"cannot index slice/array with type {gotype(key)}")
        seq = item.encode() if isinstance(item, str) else item
        if not 0 <= key < len(seq):
            raise ValueError(f"index out of range: {key}")
        item = seq[key]
    return item


def _slice(item: Any, *bounds: Any) -> Any:
    if item is None or item is MISSING:
        raise ValueError("slice of untyped nil")
    if not isinstance(item, list | tuple | str):
        raise ValueError(f"can't slice item of type {gotype(item)}")
    if len(bounds) > (2 if isinstance(item, str) else 3):
        raise ValueError(f"too many slice indexes: {len(bounds)}")
    seq = item.encode() if isinstance(item, str) else item
    cut = [_want(b, "int") for b in bounds]
    lo, hi = (cut + [0, len(seq)][len(cut) :])[:2]
    if not 0 <= lo <= hi <= len(seq):
        raise ValueError(f"index out of range: {hi if hi > len(seq) else lo}")
    part = seq[lo:hi]
    return part.decode("utf-8", "replace") if isinstance(part, bytes) else part


def _compare_kind(value: Any) -> str:
    """Go's basicKind: what eq/lt may compare (``other`` for lists and maps, which they may not)."""
    if value is None or value is MISSING:
        return "nil"
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("string", str)):
        if isinstance(value, types):
            return kind
    return "other"


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise ValueError("missing argument for comparison")
    k1 = _compare_kind(first)
    for other in others:
        k2 = _compare_kind(other)
        if k1 != k2:
            if "nil" not in (k1, k2):
                raise ValueError("incompatible types for comparison")
        elif k1 == "other":
            raise ValueError("non-comparable type")
        elif k1 == "nil" or first == other:
            return True
    return False


def _lt(a: Any, b: Any) -> bool:
    ka, kb = _compare_kind(a), _compare_kind(b)
    if {ka, kb} - {"int", "float", "string"}:
        raise ValueError("invalid type for comparison")
    if ka != kb:
        raise ValueError("incompatible types for comparison")
    return a < b


def _is_separator(ch: str) -> bool:
    """strings.Title's word boundary."""
    if ord(ch) < 0x80:
        return not (ch.isalnum() or ch == "_")
    return not ch.isalnum() and ch.isspace()


def _title(s: str) -> str:
    """strings.Title: upper-case the first letter of each word."""
    out, prev = [], " "
    for ch in s:
        up = ch.title()
        out.append(up if _is_separator(prev) and len(up) == 1 else ch)
        prev = ch
    return "".join(out)


def _case(s: str, upper: bool) -> str:
    """strings.ToUpper/ToLower: one rune maps to one rune (Go has no ``ß`` → ``SS``)."""
    mapped = (c.upper() if upper else c.lower() for c in s)
    return "".join(m if len(m) == 1 else c for c, m in zip(s, mapped, strict=True))


def _truncate(s: str, length: int) -> str:
    raw = s.encode()
    return s if len(raw) < length else raw[: max(length, 0)].decode("utf-8", "replace")


def _pad(s: str, prefix: int, suffix: int) -> str:
    """docker's pad: spaces around a string that is not empty."""
    return s and " " * prefix + s + " " * suffix


def _split(s: str, sep: str) -> list[str]:
    return list(s) if sep == "" else s.split(sep)


def _js(*args: Any) -> str:
    text = sprint(*args)
    out = []
    for ch in text:
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=" or ord(ch) < 0x20 or not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _html(*args: Any) -> str:
    text = sprint(*args)
    for a, b in (("&", "&amp;"), ("'", "&#39;"), ('"', "&#34;"), ("<", "&lt;"), (">", "&gt;"), ("\0", "\ufffd")):
        text = text.replace(a, b)
    return text


def _call(fn: Any, *args: Any) -> Any:
    if not callable(fn):
        raise ValueError(f"non-function of type {gotype(fn)}")
    return fn(*args)


#: every template's functions: Go's builtins and docker's (``parse(funcs=…)`` adds or replaces some)
BUILTINS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: a[-1],  # evaluated lazily by the executor
    "or": lambda *a: a[-1],
    "not": lambda v: not truth(v),
    "len": _length,
    "index": _index,
    "slice": _slice,
    "print": sprint,
    "println": lambda *a: sprint(*a, line=True),
    "printf": lambda fmt, *a: sprintf(_want(fmt, "string"), *a),
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _lt,
    "le": lambda a, b: _lt(a, b) or _eq(a, b),
    "gt": lambda a, b: not (_lt(a, b) or _eq(a, b)),
    "ge": lambda a, b: not _lt(a, b),
    "call": _call,
    "html": _html,
    "js": _js,
    "urlquery": lambda *a: urllib.parse.quote_plus(sprint(*a), safe=""),
    # docker's (cli/templates): json, split, join, title, lower, upper, pad, truncate
    "json": gojson,
    "split": lambda s, sep: _split(_want(s, "string"), _want(sep, "string")),
    "join": lambda items, sep: _want(sep, "string").join(_want(items, "[]string")),
    "title": lambda s: _title(_want(s, "string")),
    "lower": lambda s: _case(_want(s, "string"), False),
    "upper": lambda s: _case(_want(s, "string"), True),
    "pad": lambda s, pre, post: _pad(_want(s, "string"), _want(pre, "int"), _want(post, "int")),
    "truncate": lambda s, n: _truncate(_want(s, "string"), _want(n, "int")),
}

#: docker's table header functions: the header text passes through unchanged (``pad`` still pads)
HEADER_FUNCS = {name: (lambda v, *_: v) for name in ("json", "split", "join", "title", "lower", "upper", "truncate")}
HEADER_FUNCS["index"] = lambda v, *_: v


class HeaderField(str):
    """What a field evaluates to while a table's header row is rendered: its column title."""

    path: tuple[str, ...]
    titles: Mapping[str, str]

    def __new__(cls, path: tuple[str, ...], titles: Mapping[str, str]) -> HeaderField:
        name = path[-1] if path else ""
        title = titles.get(".".join(path), titles.get(name, _default_title(name)))
        obj = super().__new__(cls, title)
        obj.path, obj.titles = path, titles
        return obj

    def child(self, name: str) -> HeaderField:
        return HeaderField((*self.path, name), self.titles)


def _default_title(name: str) -> str:
    """docker's column titles are the field's words in capitals: ``CreatedAt`` → ``CREATED AT``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name).upper()
