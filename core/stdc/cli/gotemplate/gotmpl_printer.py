"""Printing Go values: fmt's ``%v`` (:func:`gostr`), float64 formatting, encoding/json as docker's
``json`` function, and fmt.Sprintf/Sprint/Sprintln."""

from __future__ import annotations

import decimal
import json
import math
import re
from typing import Any

from stdc.cli.gotemplate.gotmpl_values import MISSING, Row, gotype, is_struct, sorted_items


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
    if isinstance(value, dict) and is_struct(value):
        if plus:
            return "{" + " ".join(f"{k}:{_fmt_value(v, verb, plus)}" for k, v in value.items()) + "}"
        return "{" + " ".join(_fmt_value(v, verb, plus) for v in value.values()) + "}"
    if isinstance(value, dict):
        pairs = (f"{_fmt_value(k, verb, plus)}:{_fmt_value(v, verb, plus)}" for k, v in sorted_items(value))
        return "map[" + " ".join(pairs) + "]"
    return str(value)


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
        html = html or isinstance(value, Row)
        items = list(value.items()) if is_struct(value) and not isinstance(value, Row) else sorted_items(value)
        return "{" + ",".join(f"{gojson(str(k), html)}:{gojson(v, html)}" for k, v in items) + "}"
    return gojson(str(value), html)


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
    return f"%!{verb}(<nil>)" if value is None else f"%!{verb}({gotype(value)}={gostr(value)})"


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
        out.append("%!(EXTRA " + ", ".join(f"{gotype(v)}={gostr(v)}" for v in queue) + ")")
    return "".join(out)


def sprint(*args: Any, line: bool = False) -> str:
    """Go's fmt.Sprint (spaces between operands when neither is a string) or Sprintln."""
    out = []
    for i, arg in enumerate(args):
        if i and (line or not (isinstance(arg, str) or isinstance(args[i - 1], str))):
            out.append(" ")
        out.append(gostr(arg))
    return "".join(out) + ("\n" if line else "")
