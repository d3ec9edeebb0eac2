"""Dockerfile words as the builder reads them: ``$VAR``/``${VAR}`` (with ``:-``, ``-``, ``:+``,
``+``) expanded from the build's variables, quotes removed and the escape character honoured —
docker's shell lexer for the instructions it expands (never RUN's command: its shell does that)."""

from __future__ import annotations

from stdc.errors import BadInput


def expand(word: str, variables: dict[str, str], escape: str = "\\") -> str:
    """``word`` with its variables replaced and its quotes removed."""
    return "".join(_Lexer(word, variables, escape).parts())


class _Lexer:
    def __init__(self, text: str, variables: dict[str, str], escape: str) -> None:
        self.text = text
        self.pos = 0
        self.variables = variables
        self.escape = escape

    def parts(self) -> list[str]:
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == self.escape and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
            elif ch == "'":
                end = self.text.find("'", self.pos + 1)
                if end < 0:
                    raise BadInput(f"unmatched single quote in {self.text!r}")
                out.append(self.text[self.pos + 1 : end])
                self.pos = end + 1
            elif ch == '"':
                out.append(self._double_quoted())
            elif ch == "$":
                out.append(self._variable())
            else:
                out.append(ch)
                self.pos += 1
        return out

    def _double_quoted(self) -> str:
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == '"':
                self.pos += 1
                return "".join(out)
            if ch == self.escape and self.pos + 1 < len(self.text) and self.text[self.pos + 1] in '"$' + self.escape:
                out.append(self.text[self.pos + 1])
                self.pos += 2
            elif ch == "$":
                out.append(self._variable())
            else:
                out.append(ch)
                self.pos += 1
        raise BadInput(f"unmatched double quote in {self.text!r}")

    def _variable(self) -> str:
        self.pos += 1  # the $
        if self.pos >= len(self.text):
            return "$"
        if self.text[self.pos] == "{":
            return self._braced()
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        name = self.text[start : self.pos]
        return self.variables.get(name, "") if name else "$"

    def _braced(self) -> str:
        end = self._closing_brace(self.pos)
        body = self.text[self.pos + 1 : end]
        self.pos = end + 1
        name_end = 0
        while name_end < len(body) and (body[name_end].isalnum() or body[name_end] == "_"):
            name_end += 1
        name, rest = body[:name_end], body[name_end:]
        if not name:
            raise BadInput(f"bad substitution: ${{{body}}}")
        value = self.variables.get(name)
        if not rest:
            return value or ""
        for op in (":-", ":+", "-", "+"):
            if rest.startswith(op):
                word = expand(rest[len(op) :], self.variables, self.escape)
                is_set = value is not None and (bool(value) or ":" not in op)
                if op.endswith("-"):
                    return value if is_set else word  # type: ignore[return-value]
                return word if is_set else ""
        raise BadInput(f"unsupported modifier in ${{{body}}}")

    def _closing_brace(self, start: int) -> int:
        depth = 0
        for i in range(start, len(self.text)):
            if self.text[i] == "{":
                depth += 1
            elif self.text[i] == "}":
                depth -= 1
                if depth == 0:
                    return i
        raise BadInput(f"missing '}}' in {self.text!r}")
