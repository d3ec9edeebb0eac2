"""``--format`` as docker has it on every listing and document command: a Go template
(:mod:`stdc.cli.gotemplate`), ``table TEMPLATE`` with a header row, ``json``; the option itself
and printing rows or documents through it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import click

#: fields of a listing row a template may use that docker's ``json`` of the row leaves out
#: (methods taking arguments, and stdc's or newer docker's additions)
JSON_HIDDEN = frozenset({"Label", "Drivers", "VirtualSize", "HealthStatus", "IPAddresses"})
#: keys whose values are Go maps in docker's documents, whatever their keys look like
_MAP_KEYS = frozenset(
    {
        "Labels",
        "ExposedPorts",
        "Volumes",
        "Networks",
        "Ports",
        "PortBindings",
        "Data",
        "Options",
        "Containers",
        "Tmpfs",
        "Sysctls",
        "StorageOpt",
        "Annotations",
        "DriverOpts",
        "Attributes",
    }  # fmt: skip
)


def format_option(listing: bool = True) -> Callable[[Any], Any]:
    """``--format TEMPLATE`` (listings: ``table``, ``table TEMPLATE``, ``json`` or a template)."""
    if listing:
        text = "'table', 'table TEMPLATE' (a header row), 'json' (a JSON line per row) or a Go template per row"
    else:
        text = "'json' (the default) or a Go template per object, e.g. '{{.State.Status}}'"
    return click.option("--format", "fmt", metavar="TEMPLATE", help=f"Format the output: {text}.")


def label_method(labels: Mapping[str, str]) -> Callable[[str], str]:
    """A row's ``.Label "k"``: the value of one label, empty when it is not there."""
    return lambda name: labels.get(name, "")


def is_json(fmt: str | None) -> bool:
    """Whether ``fmt`` asks for each row as JSON."""
    return fmt is not None and fmt.strip() in ("json", "{{json .}}", "{{ json . }}")


def show_rows(
    fmt: str | None, rows: Iterable[dict], titles: Mapping[str, str] | None = None, default: str = ""
) -> None:
    """Print listing rows through ``fmt`` (``table`` or nothing: ``default``, a ``table`` template)."""
    from stdc.cli import gotemplate

    chosen = default if not fmt or fmt.strip() == "table" else fmt
    if is_json(chosen):
        rows = ({k: v for k, v in row.items() if k not in JSON_HIDDEN} for row in rows)
    click.echo(gotemplate.render_rows(chosen, rows, titles=titles), nl=False)


def show_documents(fmt: str | None, documents: list[dict]) -> None:
    """Print documents as ``inspect`` does: a JSON array, or the template once per document."""
    if not fmt or fmt.strip() == "json":
        click.echo(json.dumps(documents, indent=4))
        return
    from stdc.cli import gotemplate

    template = gotemplate.parse(fmt.replace("\\t", "\t").replace("\\n", "\n"))
    for document in documents:
        click.echo(template.execute(go_values(document)))


def go_values(value: Any, key: str = "") -> Any:
    """A document with its Go maps marked as such (a map whose keys start with a capital is
    still a map: a missing key is ``<no value>``, not an error)."""
    if isinstance(value, dict):
        inner = {k: go_values(v, k if key != "LogConfig" else "Options") for k, v in value.items()}
        if key in _MAP_KEYS:
            from stdc.cli.gotemplate import GoMap

            return GoMap(inner)
        return inner
    if isinstance(value, list):
        return [go_values(v) for v in value]
    return value
