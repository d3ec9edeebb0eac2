"""Go's text/template, the subset docker's ``--format`` uses, over Python dicts, lists and scalars.

Entry points: :func:`render` (one document), :func:`parse` then :meth:`Template.execute` (many), and
:func:`render_rows` — docker's listing formatter: ``table …`` renders a header row and aligns the
columns as Go's tabwriter does, ``json`` means ``{{json .}}``, ``\\t``/``\\n`` typed on the command
line become a tab/newline. Every error is a :class:`TemplateError` with a one-line message shaped
like Go's (``template: :1:2: executing "" at <.Nope>: can't evaluate field Nope``); the CLI exits 125.

Supported, with Go's semantics:

- text, actions ``{{pipeline}}``, trim markers ``{{- `` and `` -}}``, comments ``{{/* … */}}``;
- operands: ``.``, ``.Field.Sub``, ``$``, ``$var.Field``, ``(pipeline).Field``, string literals
  (``"…"`` with Go escapes, raw backquoted), runes (``'a'``), numbers (decimal, ``0x``, ``0o``,
  ``0b``, ``_``, floats, exponents), ``true``, ``false``, ``nil``;
- pipelines with ``|`` (the value goes in as the last argument), ``$v := …`` and ``$v = …``;
- ``if``/``else if``/``else``, ``with``/``else with``/``else``, ``range`` (lists, maps by sorted
  key, integers) with ``$i, $e :=``, ``{{else}}``, ``{{break}}`` and ``{{continue}}``;
- Go's functions ``and or not len index slice print printf println eq ne lt le gt ge call html js
  urlquery`` and docker's ``json join split lower upper title pad truncate``; callers add more with
  ``funcs``. A callable in a document is called like a Go method (``{{.Label "k"}}``), so ``call``
  serves for functions that other functions return.

Documents: a dict is a Go *struct* when every key starts with an upper-case letter (the shape of
docker's JSON; :class:`GoStruct` forces it), otherwise a Go *map* (:class:`GoMap` forces it). A
missing struct field is an error, a missing map key is ``<no value>`` (``index`` gives the zero value
of the map's element type instead). A struct-like dict must therefore hold every field, ``None`` for
Go's nil. Values print as Go's ``%v``: ``[a b]``, ``map[k:v]`` (sorted), ``{v1 v2}`` for structs,
``<nil>``, ``true``, floats the way Go prints float64; ``json`` encodes maps with sorted keys and
structs in field order, without HTML escaping (docker turns it off) — except a :func:`render_rows`
row, which docker marshals itself: keys sorted, ``<>&`` as ``\\u003c`` etc. Tables: the header row is
the template run with each field standing for its column title (the caller's ``titles``, else the
field name in capitals) and docker's string functions passing titles through unchanged.

Not supported: ``define``, ``template``, ``block`` (one template per format), ``printf`` argument
indexes (``%[1]d``) and ``%T``, ``%#v`` in Go syntax (it prints as ``%v``), complex numbers, custom
delimiters and the ``missingkey`` option. Differences that Python data forces: a dict always ranges
as a map (Go refuses to range over a struct); a nested struct prints as ``{…}`` where Go prints a
pointer's address; error messages name Python-shaped types (``struct``, ``[]interface {}``) instead
of docker's Go types. Strings are measured and cut in UTF-8 bytes as in Go (``len``, ``slice``,
``index``, ``truncate``); a cut through a character shows U+FFFD.
"""

from __future__ import annotations

import contextlib
import decimal
import functools
import inspect
import json
import math
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stdc.errors import BadInput

__all__ = [
    "BUILTINS",
    "GoMap",
    "GoStruct",
    "Template",
    "TemplateError",
    "align_columns",
    "gofloat",
    "gojson",
    "gostr",
    "parse",
    "render",
    "render_rows",
    "sprint",
    "sprintf",
]


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
_WS = " \t\r\n"


# ---------------------------------------------------------------------------------------------- lexing


@dataclass
class _Tok:
    kind: str  # space, field, var, ident, string, raw, char, number, dot, pipe, lparen, rparen, decl, assign, comma
    text: str
    pos: int
    spaced: bool = False  # whitespace before it (".A .B" are two operands, ".A.B" one chain)


_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<decl>:=) | (?P<assign>=) | (?P<pipe>\|) | (?P<lparen>\() | (?P<rparen>\)) | (?P<comma>,)
      | (?P<string>"(?:[^"\\\n]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<char>'(?:[^'\\\n]|\\[^'\n]+)')
      | (?P<number>[+-]?(?:0[xX][0-9a-fA-F_]*\.?[0-9a-fA-F_]*(?:[pP][+-]?\d+)?|0[oObB][0-9_]+
                        |(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)(?![\w.]))
      | (?P<field>\.\w+)
      | (?P<dot>\.)
      | (?P<var>\$\w*)
      | (?P<ident>[^\W\d]\w*)
    """,
    re.VERBOSE,
)


def _tokenize(body: str, start: int) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos, spaced = 0, False
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            if re.match(r"[+-]?\.?\d", body[pos:]):
                bad = re.match(r"[+-]?[\w.]*", body[pos:])
                raise _ParseFail(f'bad number syntax: "{bad.group() if bad else body[pos]}"', start + pos)
            raise _ParseFail(f"unexpected {body[pos]!r} in command", start + pos)
        kind = m.lastgroup or ""
        if kind == "space":
            spaced = True
        else:
            tokens.append(_Tok(kind, m.group(), start + pos, spaced))
            spaced = False
        pos = m.end()
    return tokens


class _ParseFail(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def _segments(src: str) -> list[tuple[str, Any, int]]:
    """Cut the source into ("text", str, pos) and ("action", tokens, pos), applying trim markers and
    dropping comments."""
    out: list[tuple[str, Any, int]] = []
    i, trim_next = 0, False
    while True:
        j = src.find("{{", i)
        text = src[i:] if j < 0 else src[i:j]
        k = j + 2
        left_trim = j >= 0 and src[k : k + 1] == "-" and src[k + 1 : k + 2] in tuple(_WS)
        if left_trim:
            text, k = text.rstrip(_WS), k + 2
        if trim_next:
            text = text.lstrip(_WS)
        if text:
            out.append(("text", text, i))
        if j < 0:
            return out
        if src.startswith("/*", k):
            end = src.find("*/", k + 2)
            if end < 0:
                raise _ParseFail("unclosed comment", j)
            i, trim_next = _close(src, end + 2, j, "comment ends before closing delimiter")
            continue
        end = _action_end(src, k, j)
        out.append(("action", _tokenize(src[k:end], k), j))
        i, trim_next = _close(src, end, j, "unclosed action")


def _close(src: str, pos: int, start: int, message: str) -> tuple[int, bool]:
    """Past the right delimiter at ``pos``, and whether it carries a trim marker."""
    if src[pos : pos + 1] in tuple(_WS) and src.startswith("-}}", pos + 1):
        return pos + 4, True
    if src.startswith("}}", pos):
        return pos + 2, False
    raise _ParseFail(message, start)


def _action_end(src: str, pos: int, start: int) -> int:
    """Where an action's body ends (before `` -}}`` or ``}}``), skipping quoted text."""
    while pos < len(src):
        ch = src[pos]
        if ch in "\"'`":
            close = src.find("`", pos + 1) if ch == "`" else _quote_end(src, pos, ch)
            if close < 0:
                raise _ParseFail("unterminated quoted string" if ch != "'" else "unterminated character constant", pos)
            pos = close + 1
            continue
        if src.startswith("}}", pos) or (ch in _WS and src.startswith("-}}", pos + 1)):
            return pos
        pos += 1
    raise _ParseFail("unclosed action", start)


def _quote_end(src: str, pos: int, quote: str) -> int:
    pos += 1
    while pos < len(src) and src[pos] != "\n":
        if src[pos] == "\\":
            pos += 2
            continue
        if src[pos] == quote:
            return pos
        pos += 1
    return -1


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _unquote(lit: str, quote: str) -> str:
    """Go's strconv.Unquote for a double-quoted string or a rune literal."""
    out, body, i = bytearray(), lit[1:-1], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out += ch.encode()
            i += 1
            continue
        esc = body[i + 1 : i + 2]
        if esc in _SIMPLE_ESCAPES or esc == quote:
            out += _SIMPLE_ESCAPES.get(esc, esc).encode()
            i += 2
        elif esc in ("x", "u", "U"):
            n = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i + 2 : i + 2 + n]
            if len(digits) != n or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("invalid syntax")
            value = int(digits, 16)
            if esc == "x":
                out.append(value)
            elif value > 0x10FFFF or 0xD800 <= value < 0xE000:
                raise ValueError("invalid syntax")
            else:
                out += chr(value).encode()
            i += 2 + n
        elif re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]) and int(body[i + 1 : i + 4], 8) < 256:
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
        else:
            raise ValueError("invalid syntax")
    return out.decode("utf-8", "replace")


def _number(text: str) -> int | float:
    """A Go number literal: an int unless it has a fraction or an exponent."""
    clean = text.replace("_", "")
    sign, digits = (-1 if clean[0] == "-" else 1), clean.lstrip("+-")
    low = digits.lower()
    if low.startswith("0x") and "p" in low:
        return sign * float.fromhex(digits)
    if low.startswith("0x") or low.startswith("0o") or low.startswith("0b"):
        return sign * int(digits, 0)
    if any(c in low for c in ".e"):
        return sign * float(digits)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


# --------------------------------------------------------------------------------------------- parsing


@dataclass
class _Node:
    kind: str  # field, chain, var, dot, nil, const, ident, pipe
    pos: int
    names: list[str] = field(default_factory=list)  # field chain (field, chain, var)
    value: Any = None  # const value, var name, function name, or the pipe / chained operand
    text: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class _Pipe:
    pos: int
    decl: list[str]
    assign: bool
    cmds: list[list[_Node]]

    def __str__(self) -> str:
        head = ", ".join(self.decl) + (" = " if self.assign else " := ") if self.decl else ""
        return head + " | ".join(" ".join(str(a) for a in cmd) for cmd in self.cmds)


@dataclass
class _Control:
    kind: str  # action, if, with, range, break, continue
    pos: int
    pipe: _Pipe | None = None
    body: list[Any] = field(default_factory=list)
    otherwise: list[Any] = field(default_factory=list)


_KEYWORDS = {"if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"}


class _Parser:
    def __init__(self, src: str, funcs: Mapping[str, Callable[..., Any]]) -> None:
        self.src, self.funcs = src, funcs
        self.items = _segments(src)
        self.at = 0
        self.vars = ["$"]
        self.ranges = 0

    def parse(self) -> list[Any]:
        nodes, end, _ = self.list(frozenset())
        if end is not None:
            raise _ParseFail(f"unexpected {{{{{end.text}}}}}", end.pos)
        return nodes

    def list(self, stops: frozenset[str]) -> tuple[list[Any], _Tok | None, list[_Tok]]:
        """Nodes up to an ``{{end}}``/``{{else}}`` (returned with the tokens after it) or the end."""
        nodes: list[Any] = []
        while self.at < len(self.items):
            kind, value, pos = self.items[self.at]
            self.at += 1
            if kind == "text":
                nodes.append(value)
                continue
            tokens: list[_Tok] = value
            word = tokens[0].text if tokens and tokens[0].kind == "ident" else ""
            if word in ("end", "else"):
                if word not in stops:
                    raise _ParseFail(f"unexpected {{{{{word}}}}}", pos)
                if word == "end" and len(tokens) > 1:
                    raise _ParseFail(f"unexpected {tokens[1].text!r} in end", tokens[1].pos)
                return nodes, tokens[0], tokens[1:]
            if word in ("if", "with", "range"):
                nodes.append(self.control(word, tokens[1:], pos))
            elif word in ("break", "continue"):
                if not self.ranges:
                    raise _ParseFail(f"{{{{{word}}}}} outside {{{{range}}}}", pos)
                if len(tokens) > 1:
                    raise _ParseFail(f"unexpected {tokens[1].text!r} in {{{{{word}}}}}", tokens[1].pos)
                nodes.append(_Control(word, pos))
            elif word in ("define", "template", "block"):
                raise _ParseFail(f"{{{{{word}}}}} is not supported", pos)
            else:
                nodes.append(_Control("action", pos, self.pipeline(tokens, "command", pos)))
        if stops:
            raise _ParseFail("unexpected EOF", len(self.src))
        return nodes, None, []

    def control(self, kind: str, tokens: list[_Tok], pos: int) -> _Control:
        mark = len(self.vars)
        node = _Control(kind, pos, self.pipeline(tokens, kind, pos))
        self.ranges += kind == "range"
        node.body, end, rest = self.list(frozenset({"end", "else"}))
        self.ranges -= kind == "range"
        if end is not None and end.text == "else":
            if rest and kind != "range" and rest[0].kind == "ident" and rest[0].text == kind:
                node.otherwise = [self.control(kind, rest[1:], rest[0].pos)]  # shares our {{end}}
            elif rest:
                raise _ParseFail(f"unexpected {rest[0].text!r} in else", rest[0].pos)
            else:
                node.otherwise, end, _ = self.list(frozenset({"end"}))
        del self.vars[mark:]
        return node

    def pipeline(self, tokens: list[_Tok], context: str, pos: int) -> _Pipe:
        pos = tokens[0].pos if tokens else pos
        decl, assign, m = [], False, 0
        kinds = [t.kind for t in tokens[:4]]
        if kinds[:2] in (["var", "decl"], ["var", "assign"]):
            decl, assign, m = [tokens[0].text], kinds[1] == "assign", 2
        elif kinds in (["var", "comma", "var", "decl"], ["var", "comma", "var", "assign"]):
            if context != "range":
                raise _ParseFail(f"too many declarations in {context}", pos)
            decl, assign, m = [tokens[0].text, tokens[2].text], kinds[3] == "assign", 4
        cmds: list[list[_Node]] = [[]]
        rest, i = tokens[m:], 0
        while i < len(rest):
            tok = rest[i]
            if tok.kind == "pipe":
                if not cmds[-1]:
                    raise _ParseFail("empty command", tok.pos)
                cmds.append([])
                i += 1
                continue
            node, i = self.operand(rest, i)
            cmds[-1].append(node)
        if not cmds[-1]:
            raise _ParseFail(f"missing value for {context}", pos)
        for stage, cmd in enumerate(cmds):
            head = cmd[0]
            if head.kind == "nil":
                raise _ParseFail("nil is not a command", head.pos)
            if stage and head.kind in ("dot", "const", "pipe"):
                raise _ParseFail(f"non executable command in pipeline stage {stage + 1}", head.pos)
        for name in decl:
            if assign:
                self.need_var(name, pos)
            else:
                self.vars.append(name)
        return _Pipe(pos, decl, assign, cmds)

    def need_var(self, name: str, pos: int) -> None:
        if name not in self.vars:
            raise _ParseFail(f"undefined variable {name!r}".replace("'", '"'), pos)

    def operand(self, toks: list[_Tok], i: int) -> tuple[_Node, int]:
        tok = toks[i]
        kind, text, pos = tok.kind, tok.text, tok.pos
        i += 1
        if kind == "field":
            node = _Node("field", pos, [text[1:]], text=text)
        elif kind == "dot":
            node = _Node("dot", pos, text=".")
        elif kind == "var":
            self.need_var(text, pos)
            node = _Node("var", pos, value=text, text=text)
        elif kind == "ident" and text in ("true", "false"):
            node = _Node("const", pos, value=text == "true", text=text)
        elif kind == "ident" and text == "nil":
            node = _Node("nil", pos, text="nil")
        elif kind == "ident" and text not in _KEYWORDS:
            if text not in self.funcs:
                raise _ParseFail(f'function "{text}" not defined', pos)
            node = _Node("ident", pos, value=text, text=text)
        elif kind in ("string", "char"):
            try:
                value: Any = _unquote(text, text[0])
            except ValueError as err:
                raise _ParseFail(str(err), pos) from None
            if kind == "char":
                if len(value) != 1:
                    raise _ParseFail(f"malformed character constant: {text}", pos)
                value = ord(value)
            node = _Node("const", pos, value=value, text=text)
        elif kind == "raw":
            node = _Node("const", pos, value=text[1:-1].replace("\r", ""), text=text)
        elif kind == "number":
            try:
                node = _Node("const", pos, value=_number(text), text=text)
            except ValueError:
                raise _ParseFail(f"bad number syntax: {text!r}", pos) from None
        elif kind == "lparen":
            depth, j = 1, i
            while j < len(toks) and depth:
                depth += {"lparen": 1, "rparen": -1}.get(toks[j].kind, 0)
                j += 1
            if depth:
                raise _ParseFail("unclosed left paren", pos)
            inner = self.pipeline(toks[i : j - 1], "parenthesized pipeline", pos)
            node, i = _Node("pipe", pos, value=inner, text=f"({inner})"), j
        else:
            raise _ParseFail(f"unexpected {text!r} in operand", pos)
        while i < len(toks) and toks[i].kind == "field" and not toks[i].spaced:
            if node.kind in ("const", "nil", "dot"):
                raise _ParseFail(f"unexpected . after term {node.text!r}", toks[i].pos)
            if node.kind in ("ident", "pipe"):
                node = _Node("chain", node.pos, value=node, text=node.text)
            node.names.append(toks[i].text[1:])
            node.text += toks[i].text
            i += 1
        return node, i


# ------------------------------------------------------------------------------------- printing values


def _is_struct(value: Any) -> bool:
    if isinstance(value, GoStruct):
        return True
    if isinstance(value, GoMap) or not isinstance(value, dict) or not value:
        return False
    return all(isinstance(k, str) and k[:1].isupper() for k in value)


def _sorted_items(value: dict) -> list[tuple[Any, Any]]:
    return sorted(value.items(), key=lambda kv: (type(kv[0]).__name__, kv[0]))


def _digits(f: float) -> tuple[str, int]:
    """The shortest decimal digits that read back as ``abs(f)``, and the decimal point's place."""
    t = decimal.Decimal(repr(abs(f))).as_tuple()
    digits = "".join(map(str, t.digits))
    return digits.rstrip("0") or "0", len(digits) + int(t.exponent)


def gofloat(f: float, style: str = "g") -> str:
    """A float64 as Go prints it shortest: ``g`` as fmt's ``%v``, ``json`` as encoding/json."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    digits, dp = _digits(f)
    exp = dp - 1
    sign = "-" if f < 0 else ""
    # fmt's %v is strconv's shortest 'g' (exponent from 1e+06 on); encoding/json switches at 1e21
    if (style == "g" and (exp < -4 or exp >= 6)) or (style == "json" and (abs(f) < 1e-6 or abs(f) >= 1e21)):
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        width = 1 if style == "json" else 2
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):0{width}d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def gostr(value: Any, verb: str = "v", plus: bool = False) -> str:
    """``value`` as Go's fmt prints it with ``%v`` (``%+v`` names struct fields)."""
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return gofloat(value)
    if isinstance(value, str | int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(_fmt_value(v, verb, plus) for v in value) + "]"
    if isinstance(value, dict) and _is_struct(value):
        if plus:
            return "{" + " ".join(f"{k}:{_fmt_value(v, verb, plus)}" for k, v in value.items()) + "}"
        return "{" + " ".join(_fmt_value(v, verb, plus) for v in value.values()) + "}"
    if isinstance(value, dict):
        pairs = (f"{_fmt_value(k, verb, plus)}:{_fmt_value(v, verb, plus)}" for k, v in _sorted_items(value))
        return "map[" + " ".join(pairs) + "]"
    return str(value)


def _gotype(value: Any) -> str:
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
        return "struct" if _is_struct(value) else "map[string]interface {}"
    return type(value).__name__


def gojson(value: Any, html: bool = False) -> str:
    """Go's encoding/json as docker's ``json`` function: compact, maps sorted, structs in field order,
    no HTML escaping — except inside a listing row, which docker marshals itself (sorted, escaped)."""
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"json: unsupported value: {gofloat(value)}")
        return gofloat(value, "json")
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") if html else text
    if isinstance(value, list | tuple):
        return "[" + ",".join(gojson(v, html) for v in value) + "]"
    if isinstance(value, dict):
        html = html or isinstance(value, _Row)
        items = list(value.items()) if _is_struct(value) and not isinstance(value, _Row) else _sorted_items(value)
        return "{" + ",".join(f"{gojson(str(k), html)}:{gojson(v, html)}" for k, v in items) + "}"
    return gojson(str(value), html)


class _Row(GoStruct):
    """A listing row (docker's formatter context): ``{{json .}}`` sorts its keys and escapes HTML."""


# ---------------------------------------------------------------------------------------------- printf


_DIRECTIVE = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?(.?)", re.S)


def _go_quote(s: str, ascii_only: bool = False) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif ch.isprintable() and not (ascii_only and ord(ch) > 0x7E):
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _bad(verb: str, value: Any) -> str:
    return f"%!{verb}(<nil>)" if value is None else f"%!{verb}({_gotype(value)}={gostr(value)})"


def _fmt_value(value: Any, verb: str, plus: bool = False, flags: str = "", prec: int | None = None) -> str:
    """One operand under one verb, without width padding."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, list | tuple) and verb != "v":
        return "[" + " ".join(_fmt_value(v, verb, plus, flags, prec) for v in value) + "]"
    if verb == "v" and isinstance(value, float) and prec is not None:
        verb = "g"
    if verb == "v":
        return gostr(value, "v", plus)
    if verb == "s" and isinstance(value, str):
        return value if prec is None else value[:prec]
    if verb == "s" and isinstance(value, dict):
        return gostr(value, "s")
    if verb == "q" and isinstance(value, str):
        return _go_quote(value, "+" in flags)
    if verb == "q" and is_int:
        return "'" + _go_quote(chr(value))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"
    if verb == "t" and isinstance(value, bool):
        return gostr(value)
    if is_int and verb in "dboOxXcU":
        sign = "-" if value < 0 else "+" if "+" in flags else ""
        n = abs(value)
        if verb == "c":
            return chr(value)
        if verb == "U":
            return f"U+{value:04X}"
        body = {"d": f"{n}", "b": f"{n:b}", "o": f"{n:o}", "O": f"{n:o}", "x": f"{n:x}", "X": f"{n:X}"}[verb]
        prefix = "0o" if verb == "O" else {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(verb, "") * ("#" in flags)
        return sign + prefix + body
    if verb in "xX" and isinstance(value, str):
        return value.encode().hex() if verb == "x" else value.encode().hex().upper()
    if isinstance(value, float) and verb in "eEfFgG":
        if math.isnan(value) or math.isinf(value):
            return gofloat(value)
        if verb in "gG" and prec is None:
            text = ("+" if "+" in flags and value >= 0 else "") + gofloat(value)
        else:
            text = format(value, ("+" if "+" in flags else "") + f".{6 if prec is None else prec}{verb}")
        return text.upper() if verb in "EG" else text
    return _bad(verb, value)


def sprintf(fmt: str, *args: Any) -> str:
    """Go's fmt.Sprintf for the verbs ``v s q d t f F e E g G x X o O b c U %``, flags, width and
    precision (also ``*``); a wrong verb, a missing or an extra operand show as Go shows them."""
    out: list[str] = []
    queue = list(args)
    pos = 0
    for m in _DIRECTIVE.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width_s, prec_s, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        width = prec = None
        if width_s == "*":
            width_s = str(queue.pop(0)) if queue else "0"
        if prec_s == "*":
            prec_s = str(queue.pop(0)) if queue else "0"
        width = int(width_s) if width_s else None
        prec = int(prec_s or 0) if prec_s is not None else None
        if not verb:
            out.append("%!(NOVERB)")
            continue
        if not queue:
            out.append(f"%!{verb}(MISSING)")
            continue
        value = queue.pop(0)
        text = _fmt_value(value, verb, "+" in flags, flags, prec)
        if width is not None and len(text) < width:
            fill = width - len(text)
            if "-" in flags:
                text += " " * fill
            elif "0" in flags:
                sign = text[0] if text[:1] in ("+", "-") and not isinstance(value, str) else ""
                text = sign + "0" * fill + text[len(sign) :]
            else:
                text = " " * fill + text
        out.append(text)
    out.append(fmt[pos:])
    if queue:
        out.append("%!(EXTRA " + ", ".join(f"{_gotype(v)}={gostr(v)}" for v in queue) + ")")
    return "".join(out)


def sprint(*args: Any, line: bool = False) -> str:
    """Go's fmt.Sprint (spaces between operands when neither is a string) or Sprintln."""
    out = []
    for i, arg in enumerate(args):
        if i and (line or not (isinstance(arg, str) or isinstance(args[i - 1], str))):
            out.append(" ")
        out.append(gostr(arg))
    return "".join(out) + ("\n" if line else "")


# ------------------------------------------------------------------------------------------- functions


class _ArgError(Exception):
    """An argument of the wrong type (Go reports it before the call, without "error calling")."""


def _want(value: Any, kind: str) -> Any:
    ok = {
        "string": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "[]string": isinstance(value, list | tuple) and all(isinstance(v, str) for v in value),
    }[kind]
    if not ok:
        got = "nil" if value is None else _gotype(value)
        raise _ArgError(f"wrong type for value; expected {kind}; got {got}")
    return value


def _truth(value: Any) -> bool:
    if value is MISSING or value is None:
        return False
    if isinstance(value, dict) and _is_struct(value):
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
    raise ValueError(f"len of type {_gotype(value)}")


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
            if _is_struct(item):
                raise ValueError(f"can't index item of type {_gotype(item)}")
            item = item[key] if key in item else _zero_like(item.values())
            continue
        if not isinstance(item, list | tuple | str):
            raise ValueError(f"can't index item of type {_gotype(item)}")
        if not isinstance(key, int) or isinstance(key, bool):
            raise ValueError(f"cannot index slice/array with type {_gotype(key)}")
        seq = item.encode() if isinstance(item, str) else item
        if not 0 <= key < len(seq):
            raise ValueError(f"index out of range: {key}")
        item = seq[key]
    return item


def _slice(item: Any, *bounds: Any) -> Any:
    if item is None or item is MISSING:
        raise ValueError("slice of untyped nil")
    if not isinstance(item, list | tuple | str):
        raise ValueError(f"can't slice item of type {_gotype(item)}")
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
        raise ValueError(f"non-function of type {_gotype(fn)}")
    return fn(*args)


#: every template's functions: Go's builtins and docker's (``parse(funcs=…)`` adds or replaces some)
BUILTINS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: a[-1],  # evaluated lazily by the executor
    "or": lambda *a: a[-1],
    "not": lambda v: not _truth(v),
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
_HEADER_FUNCS = {name: (lambda v, *_: v) for name in ("json", "split", "join", "title", "lower", "upper", "truncate")}
_HEADER_FUNCS["index"] = lambda v, *_: v


# -------------------------------------------------------------------------------------------- executing


class _HeaderField(str):
    """What a field evaluates to while a table's header row is rendered: its column title."""

    path: tuple[str, ...]
    titles: Mapping[str, str]

    def __new__(cls, path: tuple[str, ...], titles: Mapping[str, str]) -> _HeaderField:
        name = path[-1] if path else ""
        title = titles.get(".".join(path), titles.get(name, _default_title(name)))
        obj = super().__new__(cls, title)
        obj.path, obj.titles = path, titles
        return obj

    def child(self, name: str) -> _HeaderField:
        return _HeaderField((*self.path, name), self.titles)


def _default_title(name: str) -> str:
    """docker's column titles are the field's words in capitals: ``CreatedAt`` → ``CREATED AT``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name).upper()


def _arity(fn: Callable[..., Any]) -> tuple[float, float] | None:
    """How many positional arguments ``fn`` takes (None when Python cannot tell)."""
    try:
        return _cached_arity(fn)
    except TypeError:  # unhashable callable
        return _arity_of(fn)


def _arity_of(fn: Callable[..., Any]) -> tuple[float, float] | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
    return required, math.inf if varargs else len(positional)


_cached_arity = functools.lru_cache(maxsize=512)(_arity_of)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _ExecFail(Exception):
    def __init__(self, message: str, node: Any) -> None:
        super().__init__(message)
        self.node = node


_NOFINAL = object()


class _Executor:
    def __init__(self, funcs: Mapping[str, Callable[..., Any]], out: list[str]) -> None:
        self.funcs, self.out = funcs, out
        self.vars: list[tuple[str, Any]] = []

    def walk(self, dot: Any, nodes: list[Any]) -> None:
        for node in nodes:
            if isinstance(node, str):
                self.out.append(node)
            elif node.kind == "action":
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.out.append(gostr(value))
            elif node.kind in ("if", "with"):
                mark = len(self.vars)
                value = self.pipeline(dot, node.pipe)
                if _truth(value):
                    self.walk(value if node.kind == "with" else dot, node.body)
                else:
                    self.walk(dot, node.otherwise)
                del self.vars[mark:]
            elif node.kind == "range":
                self.range(dot, node)
            else:
                raise _Break() if node.kind == "break" else _Continue()

    def range(self, dot: Any, node: _Control) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        if isinstance(value, dict):
            pairs: Iterable[tuple[Any, Any]] = _sorted_items(value)
        elif isinstance(value, list | tuple):
            pairs = enumerate(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(node.pipe.decl) > 1:
                raise _ExecFail("can't use 2 variables when ranging over an integer", node.pipe)
            pairs = ((i, i) for i in range(value))
        elif value is None or value is MISSING:
            pairs = ()
        else:
            raise _ExecFail(f"range can't iterate over {gostr(value)}", node.pipe)
        ran = False
        decl, base = node.pipe.decl, len(self.vars) - len(node.pipe.decl)  # the pipeline pushed them
        for key, elem in pairs:
            ran = True
            for name, item in zip(decl, [key, elem][2 - len(decl) :], strict=True):
                if node.pipe.assign:
                    self.set(name, item, True, node.pipe)
                else:
                    self.vars[base + decl.index(name)] = (name, item)
            inner = len(self.vars)
            try:
                self.walk(elem, node.body)
            except _Break:
                break
            except _Continue:
                pass
            finally:
                del self.vars[inner:]
        if not ran:
            self.walk(dot, node.otherwise)
        del self.vars[mark:]

    def set(self, name: str, value: Any, assign: bool, node: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                if assign:
                    self.vars[i] = (name, value)
                    return
                break
        if assign:
            raise _ExecFail(f"undefined variable: {name}", node)
        self.vars.append((name, value))

    def var(self, name: str, node: _Node) -> Any:
        for var, value in reversed(self.vars):
            if var == name:
                return value
        raise _ExecFail(f"undefined variable: {name}", node)

    def pipeline(self, dot: Any, pipe: _Pipe) -> Any:
        value: Any = _NOFINAL
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        for name in pipe.decl:
            self.set(name, value, pipe.assign, pipe)
        return value

    def command(self, dot: Any, cmd: list[_Node], final: Any) -> Any:
        head, args = cmd[0], cmd[1:]
        if head.kind == "field":
            return self.fields(dot, dot, head, args, final)
        if head.kind == "var":
            return self.fields(dot, self.var(head.value, head), head, args, final)
        if head.kind == "chain":
            return self.fields(dot, self.arg(dot, head.value), head, args, final)
        if head.kind == "ident":
            return self.function(dot, head, args, final)
        if args or final is not _NOFINAL:
            raise _ExecFail(f"can't give argument to non-function {head}", head)
        return self.arg(dot, head)

    def arg(self, dot: Any, node: _Node) -> Any:
        """An operand in argument position."""
        if node.kind == "dot":
            return dot
        if node.kind == "nil":
            return None
        if node.kind == "const":
            return node.value
        if node.kind == "pipe":
            mark = len(self.vars)
            value = self.pipeline(dot, node.value)
            del self.vars[mark:]
            return value
        return self.command(dot, [node], _NOFINAL)

    def fields(self, dot: Any, receiver: Any, node: _Node, args: list[_Node], final: Any) -> Any:
        names = node.names
        if not names:
            if args or final is not _NOFINAL:
                raise _ExecFail(f"can't give argument to non-function {node}", node)
            return receiver
        for i, name in enumerate(names):
            last = i == len(names) - 1
            receiver = self.field(dot, receiver, name, node, args if last else [], final if last else _NOFINAL)
        return receiver

    def field(self, dot: Any, receiver: Any, name: str, node: _Node, args: list[_Node], final: Any) -> Any:
        if isinstance(receiver, _HeaderField):
            return receiver.child(name)
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            raise _ExecFail(f"nil pointer evaluating interface {{}}.{name}", node)
        has_args = bool(args) or final is not _NOFINAL
        if isinstance(receiver, dict):
            if name in receiver:
                value = receiver[name]
            elif _is_struct(receiver):
                raise _ExecFail(f"can't evaluate field {name} in type {_gotype(receiver)}", node)
            else:
                if has_args:
                    raise _ExecFail(f"{name} is not a method but has arguments", node)
                return MISSING
        elif isinstance(receiver, str | int | float | list | tuple) or name.startswith("_"):
            raise _ExecFail(f"can't evaluate field {name} in type {_gotype(receiver)}", node)
        elif hasattr(receiver, name):
            value = getattr(receiver, name)
        else:
            raise _ExecFail(f"can't evaluate field {name} in type {_gotype(receiver)}", node)
        if callable(value):
            values = [self.arg(dot, a) for a in args] + ([] if final is _NOFINAL else [final])
            return self.invoke(name, value, values, _Node("cmd", node.pos, text=" ".join(map(str, [node, *args]))))
        if has_args:
            raise _ExecFail(f"{name} has arguments but cannot be invoked as function", node)
        return value

    def function(self, dot: Any, node: _Node, args: list[_Node], final: Any) -> Any:
        name = node.value
        fn = self.funcs[name]
        if name in ("and", "or") and fn is BUILTINS[name]:
            if not args and final is _NOFINAL:
                raise _ExecFail(f"wrong number of args for {name}: want at least 1 got 0", node)
            value: Any = None
            for a in args:
                value = self.arg(dot, a)
                if _truth(value) == (name == "or"):
                    return value
            return value if final is _NOFINAL else final
        values = [self.arg(dot, a) for a in args] + ([] if final is _NOFINAL else [final])
        if name not in ("not", "eq", "ne", "and", "or", "len", "index"):
            values = [None if v is MISSING else v for v in values]
        cmd = _Node("cmd", node.pos, text=" ".join(str(n) for n in [node, *args]))
        return self.invoke(name, fn, values, cmd)

    def invoke(self, name: str, fn: Callable[..., Any], values: list[Any], node: Any) -> Any:
        want = _arity(fn)
        if want is not None and not want[0] <= len(values) <= want[1]:
            need = f"at least {want[0]}" if want[1] == math.inf else str(want[0])
            raise _ExecFail(f"wrong number of args for {name}: want {need} got {len(values)}", node)
        try:
            return fn(*values)
        except _ArgError as err:
            raise _ExecFail(str(err), node) from None
        except (TemplateError, _ExecFail):
            raise
        except Exception as err:  # a function's error is the template's error, as in Go
            raise _ExecFail(f"error calling {name}: {err}", node) from None


# ---------------------------------------------------------------------------------------------- public


def _where(src: str, pos: int) -> tuple[int, int]:
    """Go's line and byte-in-line of an offset."""
    before = src[:pos]
    return before.count("\n") + 1, len(before.rsplit("\n", 1)[-1].encode())


class Template:
    """A parsed template; :meth:`execute` renders it for one document."""

    def __init__(self, source: str, funcs: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.source = source
        self.funcs = {**BUILTINS, **(funcs or {})}
        try:
            self.nodes = _Parser(source, self.funcs).parse()
        except _ParseFail as err:
            raise TemplateError(f"template: :{_where(source, err.pos)[0]}: {err}") from None
        except RecursionError:
            raise TemplateError("template: :1: nested too deeply") from None

    def execute(self, data: Any) -> str:
        """The template rendered with ``data`` as dot (and ``$``)."""
        out: list[str] = []
        self._run(data, self.funcs, out)
        return "".join(out)

    def header(self, titles: Mapping[str, str] | None = None) -> str:
        """The template rendered as docker renders a table's header row: every field shows its column
        title (``titles`` by field path or name, else the name in capitals, ``CreatedAt`` → ``CREATED
        AT``) and the string functions pass it through. Errors stop the row where they happen, as
        in docker."""
        out: list[str] = []
        with contextlib.suppress(TemplateError):
            self._run(_HeaderField((), titles or {}), {**self.funcs, **_HEADER_FUNCS}, out)
        return "".join(out)

    def _run(self, data: Any, funcs: Mapping[str, Callable[..., Any]], out: list[str]) -> None:
        run = _Executor(funcs, out)
        run.vars.append(("$", data))
        try:
            run.walk(data, self.nodes)
        except _ExecFail as err:
            node = err.node
            line, col = _where(self.source, node.pos)
            raise TemplateError(f'template: :{line}:{col}: executing "" at <{node}>: {err}') from None
        except RecursionError:
            raise TemplateError("template: exceeded maximum template depth") from None


def parse(template: str, *, funcs: Mapping[str, Callable[..., Any]] | None = None) -> Template:
    """Parse ``template`` once (to execute it for many documents); ``funcs`` adds or replaces functions."""
    return Template(template, funcs)


def render(template: str, data: Any, *, funcs: Mapping[str, Callable[..., Any]] | None = None) -> str:
    """``template`` rendered with ``data`` (docker's ``inspect --format``: one document, no newline)."""
    return Template(template, funcs).execute(data)


def render_rows(
    fmt: str,
    rows: Iterable[Any],
    *,
    titles: Mapping[str, str] | None = None,
    funcs: Mapping[str, Callable[..., Any]] | None = None,
) -> str:
    """docker's listing ``--format`` (``ps``, ``images``, ``network ls``, …): one line per row.

    ``table …`` adds the header row (see :meth:`Template.header`) and aligns the tab-separated
    columns; ``json`` is ``{{json .}}``; ``\\t`` and ``\\n`` as typed on a command line become a tab
    and a newline. A bare ``table`` is left to the caller, which knows its default columns."""
    is_table = fmt.startswith("table")
    body = fmt[len("table") :] if is_table else "{{json .}}" if fmt == "json" else fmt
    body = body.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    template = Template(body, funcs)
    rows = (_Row(row) if isinstance(row, dict) and not isinstance(row, GoMap) else row for row in rows)
    lines = "".join(template.execute(row) + "\n" for row in rows)
    if not is_table:
        return lines
    return align_columns(template.header(titles) + "\n" + lines)


def _cell_width(text: str) -> int:
    wide = sum(unicodedata.east_asian_width(c) in "WF" for c in text)
    return len(text) + wide - sum(unicodedata.combining(c) > 0 for c in text)


def align_columns(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Go's text/tabwriter as docker's tables use it (``NewWriter(out, 10, 1, 3, ' ', 0)``): a cell
    ends at a tab; consecutive lines with a cell in a column form a block padded to the block's
    widest cell plus ``padding`` (at least ``minwidth``); text after a line's last tab is not aligned."""
    out: list[str] = []
    for section in text.split("\f"):
        lines = [line.replace("\v", "\t").split("\t") for line in section.split("\n")]
        _tab_format(lines, [], 0, len(lines), out, minwidth, padding)
    return "\n".join(out)


def _tab_format(lines: list[list[str]], widths: list[int], lo: int, hi: int, out: list[str], mw: int, pad: int) -> None:
    """tabwriter's recursive block formatting, line for line."""
    column, this = len(widths), lo
    while this < hi:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _tab_write(lines, widths, lo, this, out)
        lo, width = this, mw
        while this < hi and column < len(lines[this]) - 1:
            width = max(width, _cell_width(lines[this][column]) + pad)
            this += 1
        _tab_format(lines, [*widths, width], lo, this, out, mw, pad)
        lo = this
    _tab_write(lines, widths, lo, hi, out)


def _tab_write(lines: list[list[str]], widths: list[int], lo: int, hi: int, out: list[str]) -> None:
    for cells in lines[lo:hi]:
        out.append(
            "".join(c + " " * (widths[j] - _cell_width(c)) if j < len(widths) else c for j, c in enumerate(cells))
        )
