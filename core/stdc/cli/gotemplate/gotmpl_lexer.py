"""Lexing: the source cut into text and actions (trim markers applied, comments dropped), actions
into tokens, and Go's string, rune and number literals decoded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_WS = " \t\r\n"


@dataclass
class Tok:
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


def _tokenize(body: str, start: int) -> list[Tok]:
    tokens: list[Tok] = []
    pos, spaced = 0, False
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            if re.match(r"[+-]?\.?\d", body[pos:]):
                bad = re.match(r"[+-]?[\w.]*", body[pos:])
                raise ParseFail(f'bad number syntax: "{bad.group() if bad else body[pos]}"', start + pos)
            raise ParseFail(f"unexpected {body[pos]!r} in command", start + pos)
        kind = m.lastgroup or ""
        if kind == "space":
            spaced = True
        else:
            tokens.append(Tok(kind, m.group(), start + pos, spaced))
            spaced = False
        pos = m.end()
    return tokens


class ParseFail(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def segments(src: str) -> list[tuple[str, Any, int]]:
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
                raise ParseFail("unclosed comment", j)
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
    raise ParseFail(message, start)


def _action_end(src: str, pos: int, start: int) -> int:
    """Where an action's body ends (before `` -}}`` or ``}}``), skipping quoted text."""
    while pos < len(src):
        ch = src[pos]
        if ch in "\"'`":
            close = src.find("`", pos + 1) if ch == "`" else _quote_end(src, pos, ch)
            if close < 0:
                raise ParseFail("unterminated quoted string" if ch != "'" else "unterminated character constant", pos)
            pos = close + 1
            continue
        if src.startswith("}}", pos) or (ch in _WS and src.startswith("-}}", pos + 1)):
            return pos
        pos += 1
    raise ParseFail("unclosed action", start)


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


def unquote(lit: str, quote: str) -> str:
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


def go_number(text: str) -> int | float:
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
