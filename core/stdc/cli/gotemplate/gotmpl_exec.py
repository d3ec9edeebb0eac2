"""Execution: walking the parse tree over a document — variables, fields and methods, function
calls with Go's arity and argument checks, ``if``/``with``/``range``, ``break``/``continue``."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from stdc.cli.gotemplate.gotmpl_funcs import BUILTINS, ArgError, HeaderField, truth
from stdc.cli.gotemplate.gotmpl_parser import Control, Node, Pipe
from stdc.cli.gotemplate.gotmpl_printer import gostr
from stdc.cli.gotemplate.gotmpl_values import MISSING, TemplateError, gotype, is_struct, sorted_items


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


class ExecFail(Exception):
    def __init__(self, message: str, node: Any) -> None:
        super().__init__(message)
        self.node = node


_NOFINAL = object()


class Executor:
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
                if truth(value):
                    self.walk(value if node.kind == "with" else dot, node.body)
                else:
                    self.walk(dot, node.otherwise)
                del self.vars[mark:]
            elif node.kind == "range":
                self.range(dot, node)
            else:
                raise _Break() if node.kind == "break" else _Continue()

    def range(self, dot: Any, node: Control) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        if isinstance(value, dict):
            pairs: Iterable[tuple[Any, Any]] = sorted_items(value)
        elif isinstance(value, list | tuple):
            pairs = enumerate(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(node.pipe.decl) > 1:
                raise ExecFail("can't use 2 variables when ranging over an integer", node.pipe)
            pairs = ((i, i) for i in range(value))
        elif value is None or value is MISSING:
            pairs = ()
        else:
            raise ExecFail(f"range can't iterate over {gostr(value)}", node.pipe)
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
            raise ExecFail(f"undefined variable: {name}", node)
        self.vars.append((name, value))

    def var(self, name: str, node: Node) -> Any:
        for var, value in reversed(self.vars):
            if var == name:
                return value
        raise ExecFail(f"undefined variable: {name}", node)

    def pipeline(self, dot: Any, pipe: Pipe) -> Any:
        value: Any = _NOFINAL
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        for name in pipe.decl:
            self.set(name, value, pipe.assign, pipe)
        return value

    def command(self, dot: Any, cmd: list[Node], final: Any) -> Any:
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
            raise ExecFail(f"can't give argument to non-function {head}", head)
        return self.arg(dot, head)

    def arg(self, dot: Any, node: Node) -> Any:
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

    def fields(self, dot: Any, receiver: Any, node: Node, args: list[Node], final: Any) -> Any:
        names = node.names
        if not names:
            if args or final is not _NOFINAL:
                raise ExecFail(f"can't give argument to non-function {node}", node)
            return receiver
        for i, name in enumerate(names):
            last = i == len(names) - 1
            receiver = self.field(dot, receiver, name, node, args if last else [], final if last else _NOFINAL)
        return receiver

    def field(self, dot: Any, receiver: Any, name: str, node: Node, args: list[Node], final: Any) -> Any:
        if isinstance(receiver, HeaderField):
            return receiver.child(name)
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            raise ExecFail(f"nil pointer evaluating interface {{}}.{name}", node)
        has_args = bool(args) or final is not _NOFINAL
        if isinstance(receiver, dict):
            if name in receiver:
                value = receiver[name]
            elif is_struct(receiver):
                raise ExecFail(f"can't evaluate field {name} in type {gotype(receiver)}", node)
            else:
                if has_args:
                    raise ExecFail(f"{name} is not a method but has arguments", node)
                return MISSING
        elif isinstance(receiver, str | int | float | list | tuple) or name.startswith("_"):
            raise ExecFail(f"can't evaluate field {name} in type {gotype(receiver)}", node)
        elif hasattr(receiver, name):
            value = getattr(receiver, name)
        else:
            raise ExecFail(f"can't evaluate field {name} in type {gotype(receiver)}", node)
        if callable(value):
            values = [self.arg(dot, a) for a in args] + ([] if final is _NOFINAL else [final])
            return self.invoke(name, value, values, Node("cmd", node.pos, text=" ".join(map(str, [node, *args]))))
        if has_args:
            raise ExecFail(f"{name} has arguments but cannot be invoked as function", node)
        return value

    def function(self, dot: Any, node: Node, args: list[Node], final: Any) -> Any:
        name = node.value
        fn = self.funcs[name]
        if name in ("and", "or") and fn is BUILTINS[name]:
            if not args and final is _NOFINAL:
                raise ExecFail(f"wrong number of args for {name}: want at least 1 got 0", node)
            value: Any = None
            for a in args:
                value = self.arg(dot, a)
                if truth(value) == (name == "or"):
                    return value
            return value if final is _NOFINAL else final
        values = [self.arg(dot, a) for a in args] + ([] if final is _NOFINAL else [final])
        if name not in ("not", "eq", "ne", "and", "or", "len", "index"):
            values = [None if v is MISSING else v for v in values]
        cmd = Node("cmd", node.pos, text=" ".join(str(n) for n in [node, *args]))
        return self.invoke(name, fn, values, cmd)

    def invoke(self, name: str, fn: Callable[..., Any], values: list[Any], node: Any) -> Any:
        want = _arity(fn)
        if want is not None and not want[0] <= len(values) <= want[1]:
            need = f"at least {want[0]}" if want[1] == math.inf else str(want[0])
            raise ExecFail(f"wrong number of args for {name}: want {need} got {len(values)}", node)
        try:
            return fn(*values)
        except ArgError as err:
            raise ExecFail(str(err), node) from None
        except (TemplateError, ExecFail):
            raise
        except Exception as err:  # a function's error is the template's error, as in Go
            raise ExecFail(f"error calling {name}: {err}", node) from None
