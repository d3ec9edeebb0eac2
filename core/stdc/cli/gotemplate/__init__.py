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

from stdc.cli.gotemplate.gotmpl_funcs import BUILTINS
from stdc.cli.gotemplate.gotmpl_printer import gofloat, gojson, gostr, sprint, sprintf
from stdc.cli.gotemplate.gotmpl_render import Template, parse, render, render_rows
from stdc.cli.gotemplate.gotmpl_tabwriter import align_columns
from stdc.cli.gotemplate.gotmpl_values import MISSING as MISSING
from stdc.cli.gotemplate.gotmpl_values import GoMap, GoStruct, TemplateError

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
