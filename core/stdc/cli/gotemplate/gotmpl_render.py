"""The entry points: :class:`Template`, :func:`parse`, :func:`render` and docker's listing formatter
:func:`render_rows`; parse and execution failures become one-line :class:`TemplateError` messages."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from stdc.cli.gotemplate.gotmpl_exec import ExecFail, Executor
from stdc.cli.gotemplate.gotmpl_funcs import BUILTINS, HEADER_FUNCS, HeaderField
from stdc.cli.gotemplate.gotmpl_lexer import ParseFail
from stdc.cli.gotemplate.gotmpl_parser import Parser
from stdc.cli.gotemplate.gotmpl_tabwriter import align_columns
from stdc.cli.gotemplate.gotmpl_values import GoMap, Row, TemplateError


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
            self.nodes = Parser(source, self.funcs).parse()
        except ParseFail as err:
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
            self._run(HeaderField((), titles or {}), {**self.funcs, **HEADER_FUNCS}, out)
        return "".join(out)

    def _run(self, data: Any, funcs: Mapping[str, Callable[..., Any]], out: list[str]) -> None:
        run = Executor(funcs, out)
        run.vars.append(("$", data))
        try:
            run.walk(data, self.nodes)
        except ExecFail as err:
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
    rows = (Row(row) if isinstance(row, dict) and not isinstance(row, GoMap) else row for row in rows)
    lines = "".join(template.execute(row) + "\n" for row in rows)
    if not is_table:
        return lines
    return align_columns(template.header(titles) + "\n" + lines)
