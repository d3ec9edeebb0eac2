"""How the CLI shows things (tables, durations, sizes, commands, statuses): pure functions."""

from __future__ import annotations

import time

import pytest
from stdc.cli import formatting
from stdc.engine import Container


def test_table_pads_columns_and_trims_line_ends():
    text = formatting.table(("A", "LONGER"), [("x", None), ("wide value", 3)])
    assert text.splitlines() == ["A            LONGER", "x", "wide value   3"]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.5, "Less than a second"),
        (1.5, "1 second"),
        (59, "59 seconds"),
        (61, "About a minute"),
        (300, "5 minutes"),
        (3600, "About an hour"),
        (30 * 3600, "30 hours"),
        (4 * 86400, "4 days"),
        (21 * 86400, "3 weeks"),
        (150 * 86400, "5 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_durations_in_dockers_words(seconds, words):
    assert formatting.duration(seconds) == words


def test_ago():
    assert formatting.ago(None) == ""
    assert formatting.ago(time.time() - 300) == "5 minutes ago"


@pytest.mark.parametrize(("n", "text"), [(0, "0B"), (999, "999B"), (1000, "1kB"), (1_500_000, "1.5MB"), (2e12, "2TB")])
def test_sizes_in_decimal_units(n, text):
    assert formatting.size(int(n)) == text


def test_commands_are_quoted_and_truncated():
    assert formatting.command(["sh", "-c", "true"]) == '"sh -c true"'
    long = ["sh", "-c", "while :; do sleep 1; done"]
    assert formatting.command(long) == '"sh -c while :; do…"'
    assert formatting.command(long, truncate=False) == '"sh -c while :; do sleep 1; done"'


def _container(**kw: object) -> Container:
    return Container(id="c" * 64, name="n", image="base", image_id="i", created=0.0, config={}, backends={}, **kw)


def test_statuses():
    now = time.time()
    assert formatting.status(_container()) == "Created"
    assert formatting.status(_container(status="running", started=now - 120)) == "Up 2 minutes"
    assert formatting.status(_container(status="running", started=now - 5, paused=True)) == "Up 5 seconds (Paused)"
    assert (
        formatting.status(_container(status="exited", exit_code=3, finished=now - 60))
        == "Exited (3) About a minute ago"
    )
    assert formatting.status(_container(status="exited", finished=now - 2)).startswith("Exited (unknown) ")
    assert (
        formatting.status(_container(status="restarting", exit_code=1, finished=now - 3))
        == "Restarting (1) 3 seconds ago"
    )
