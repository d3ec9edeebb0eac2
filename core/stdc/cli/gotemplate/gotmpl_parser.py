"""Parsing: the parse tree (operands, pipelines, control structures) built from the lexer's
segments, with Go's parse-time checks (undefined variables and functions, misplaced keywords)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stdc.cli.gotemplate.gotmpl_lexer import ParseFail, Tok, go_number, segments, unquote


@dataclass
class Node:
    kind: str  # field, chain, var, dot, nil, const, ident, pipe
    pos: int
    names: list[str] = field(default_factory=list)  # field chain (field, chain, var)
    value: Any = None  # const value, var name, function name, or the pipe / chained operand
    text: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class Pipe:
    pos: int
    decl: list[str]
    assign: bool
    cmds: list[list[Node]]

    def __str__(self) -> str:
        head = ", ".join(self.decl) + (" = " if self.assign else " := ") if self.decl else ""
        return head + " | ".join(" ".join(str(a) for a in cmd) for cmd in self.cmds)


@dataclass
class Control:
    kind: str  # action, if, with, range, break, continue
    pos: int
    pipe: Pipe | None = None
    body: list[Any] = field(default_factory=list)
    otherwise: list[Any] = field(default_factory=list)


_KEYWORDS = {"if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"}


class Parser:
    def __init__(self, src: str, funcs: Mapping[str, Callable[..., Any]]) -> None:
        self.src, self.funcs = src, funcs
        self.items = segments(src)
        self.at = 0
        self.vars = ["$"]
        self.ranges = 0

    def parse(self) -> list[Any]:
        nodes, end, _ = self.list(frozenset())
        if end is not None:
            raise ParseFail(f"unexpected {{{{{end.text}}}}}", end.pos)
        return nodes

    def list(self, stops: frozenset[str]) -> tuple[list[Any], Tok | None, list[Tok]]:
        """Nodes up to an ``{{end}}``/``{{else}}`` (returned with the tokens after it) or the end."""
        nodes: list[Any] = []
        while self.at < len(self.items):
            kind, value, pos = self.items[self.at]
            self.at += 1
            if kind == "text":
                nodes.append(value)
                continue
            tokens: list[Tok] = value
            word = tokens[0].text if tokens and tokens[0].kind == "ident" else ""
            if word in ("end", "else"):
                if word not in stops:
                    raise ParseFail(f"unexpected {{{{{word}}}}}", pos)
                if word == "end" and len(tokens) > 1:
                    raise ParseFail(f"unexpected {tokens[1].text!r} in end", tokens[1].pos)
                return nodes, tokens[0], tokens[1:]
            if word in ("if", "with", "range"):
                nodes.append(self.control(word, tokens[1:], pos))
            elif word in ("break", "continue"):
                if not self.ranges:
                    raise ParseFail(f"{{{{{word}}}}} outside {{{{range}}}}", pos)
                if len(tokens) > 1:
                    raise ParseFail(f"unexpected {tokens[1].text!r} in {{{{{word}}}}}", tokens[1].pos)
                nodes.append(Control(word, pos))
            elif word in ("define", "template", "block"):
                raise ParseFail(f"{{{{{word}}}}} is not supported", pos)
            else:
                nodes.append(Control("action", pos, self.pipeline(tokens, "command", pos)))
        if stops:
            raise ParseFail("unexpected EOF", len(self.src))
        return nodes, None, []

    def control(self, kind: str, tokens: list[Tok], pos: int) -> Control:
        mark = len(self.vars)
        node = Control(kind, pos, self.pipeline(tokens, kind, pos))
        self.ranges += kind == "range"
        node.body, end, rest = self.list(frozenset({"end", "else"}))
        self.ranges -= kind == "range"
        if end is not None and end.text == "else":
            if rest and kind != "range" and rest[0].kind == "ident" and rest[0].text == kind:
                node.otherwise = [self.control(kind, rest[1:], rest[0].pos)]  # shares our {{end}}
            elif rest:
                raise ParseFail(f"unexpected {rest[0].text!r} in else", rest[0].pos)
            else:
                node.otherwise, end, _ = self.list(frozenset({"end"}))
        del self.vars[mark:]
        return node

    def pipeline(self, tokens: list[Tok], context: str, pos: int) -> Pipe:
        pos = tokens[0].pos if tokens else pos
        decl, assign, m = [], False, 0
        kinds = [t.kind for t in tokens[:4]]
        if kinds[:2] in (["var", "decl"], ["var", "assign"]):
            decl, assign, m = [tokens[0].text], kinds[1] == "assign", 2
        elif kinds in (["var", "comma", "var", "decl"], ["var", "comma", "var", "assign"]):
            if context != "range":
                raise ParseFail(f"too many declarations in {context}", pos)
            decl, assign, m = [tokens[0].text, tokens[2].text], kinds[3] == "assign", 4
        cmds: list[list[Node]] = [[]]
        rest, i = tokens[m:], 0
        while i < len(rest):
            tok = rest[i]
            if tok.kind == "pipe":
                if not cmds[-1]:
                    raise ParseFail("empty command", tok.pos)
                cmds.append([])
                i += 1
                continue
            node, i = self.operand(rest, i)
            cmds[-1].append(node)
        if not cmds[-1]:
            raise ParseFail(f"missing value for {context}", pos)
        for stage, cmd in enumerate(cmds):
            head = cmd[0]
            if head.kind == "nil":
                raise ParseFail("nil is not a command", head.pos)
            if stage and head.kind in ("dot", "const", "pipe"):
                raise ParseFail(f"non executable command in pipeline stage {stage + 1}", head.pos)
        for name in decl:
            if assign:
                self.need_var(name, pos)
            else:
                self.vars.append(name)
        return Pipe(pos, decl, assign, cmds)

    def need_var(self, name: str, pos: int) -> None:
        if name not in self.vars:
            raise ParseFail(f"undefined variable {name!r}".replace("'", '"'), pos)

    def operand(self, toks: list[Tok], i: int) -> tuple[Node, int]:
        tok = toks[i]
        kind, text, pos = tok.kind, tok.text, tok.pos
        i += 1
        if kind == "field":
            node = Node("field", pos, [text[1:]], text=text)
        elif kind == "dot":
            node = Node("dot", pos, text=".")
        elif kind == "var":
            self.need_var(text, pos)
            node = Node("var", pos, value=text, text=text)
        elif kind == "ident" and text in ("true", "false"):
            node = Node("const", pos, value=text == "true", text=text)
        elif kind == "ident" and text == "nil":
            node = Node("nil", pos, text="nil")
        elif kind == "ident" and text not in _KEYWORDS:
            if text not in self.funcs:
                raise ParseFail(f'function "{text}" not defined', pos)
            node = Node("ident", pos, value=text, text=text)
        elif kind in ("string", "char"):
            try:
                value: Any = unquote(text, text[0])
            except ValueError as err:
                raise ParseFail(str(err), pos) from None
            if kind == "char":
                if len(value) != 1:
                    raise ParseFail(f"malformed character constant: {text}", pos)
                value = ord(value)
            node = Node("const", pos, value=value, text=text)
        elif kind == "raw":
            node = Node("const", pos, value=text[1:-1].replace("\r", ""), text=text)
        elif kind == "number":
            try:
                node = Node("const", pos, value=go_number(text), text=text)
            except ValueError:
                raise ParseFail(f"bad number syntax: {text!r}", pos) from None
        elif kind == "lparen":
            depth, j = 1, i
            while j < len(toks) and depth:
                depth += {"lparen": 1, "rparen": -1}.get(toks[j].kind, 0)
                j += 1
            if depth:
                raise ParseFail("unclosed left paren", pos)
            inner = self.pipeline(toks[i : j - 1], "parenthesized pipeline", pos)
            node, i = Node("pipe", pos, value=inner, text=f"({inner})"), j
        else:
            raise ParseFail(f"unexpected {text!r} in operand", pos)
        while i < len(toks) and toks[i].kind == "field" and not toks[i].spaced:
            if node.kind in ("const", "nil", "dot"):
                raise ParseFail(f"unexpected . after term {node.text!r}", toks[i].pos)
            if node.kind in ("ident", "pipe"):
                node = Node("chain", node.pos, value=node, text=node.text)
            node.names.append(toks[i].text[1:])
            node.text += toks[i].text
            i += 1
        return node, i
