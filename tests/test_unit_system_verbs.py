"""Unit tests of the system verbs' pure parts: docker's time forms, event filters, the event
line and the journal's shape and rotation, prune filters, docker's human sizes."""

from __future__ import annotations

import pytest
from stdc.cli.formatting import human_size
from stdc.cli.system_commands import event_line
from stdc.engine import journal
from stdc.engine.event_query import matches, parse_filters, parse_time
from stdc.engine.pruning import keeps, parse_prune_filters
from stdc.errors import BadInput

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000", 1_700_000_000.0),
        ("1700000000.5", 1_700_000_000.5),
        ("2023-11-14T22:13:20Z", 1_700_000_000.0),
        ("2023-11-14T22:13:20.123456789Z", 1_700_000_000.123456),
        ("2023-11-15T00:13:20+02:00", 1_700_000_000.0),
        ("10m", NOW - 600),
        ("1h30m", NOW - 5400),
        ("90s", NOW - 90),
        ("0s", NOW),
        ("1.5h", NOW - 5400),
    ],
)
def test_parse_time_takes_dockers_forms(text, expected):
    assert parse_time(text, now=NOW) == pytest.approx(expected, abs=1e-6)


def test_parse_time_date_only_and_bad_input():
    assert parse_time("2023-11-14", now=NOW) < NOW
    for bad in ("yesterday", "10x", "", "2023-13-45"):
        with pytest.raises(BadInput):
            parse_time(bad, now=NOW)


def _event(kind="container", action="start", actor="c0ffee" * 10 + "abcd", **attrs):
    return journal.event(kind, action, actor, {"name": "web", "image": "base", **attrs}, now_ns=1)


def test_event_has_dockers_shape():
    doc = _event(exitCode=0, nothing=None)
    assert doc["Type"] == "container" and doc["Action"] == "start" and doc["scope"] == "local"
    assert doc["Actor"] == {
        "ID": "c0ffee" * 10 + "abcd",
        "Attributes": {"name": "web", "image": "base", "exitCode": "0"},
    }
    assert (doc["status"], doc["id"], doc["from"]) == ("start", doc["Actor"]["ID"], "base")
    assert doc["time"] == 0 and doc["timeNano"] == 1
    network = journal.event("network", "create", "n1", {"name": "n1"}, now_ns=5)
    assert "status" not in network and "from" not in network


def test_event_filters_follow_docker():
    doc = _event()
    assert matches(doc, parse_filters(["type=container", "event=start"]))
    assert matches(doc, parse_filters(["event=die", "event=start"]))  # one key: alternatives
    assert not matches(doc, parse_filters(["type=container", "event=die"]))  # keys: all must match
    assert matches(doc, parse_filters(["action=start"]))
    assert matches(doc, parse_filters(["container=web"])) and matches(doc, parse_filters(["container=c0ffeec0"]))
    assert not matches(doc, parse_filters(["container=other"]))
    assert matches(doc, parse_filters(["image=base"])) and not matches(doc, parse_filters(["image=alpine"]))
    assert not matches(doc, parse_filters(["network=web"]))
    labelled = _event(tier="db")
    assert matches(labelled, parse_filters(["label=tier"])) and matches(labelled, parse_filters(["label=tier=db"]))
    assert not matches(labelled, parse_filters(["label=tier=web"]))
    connect = journal.event("network", "connect", "n1", {"name": "n1", "container": "abc"}, now_ns=1)
    assert matches(connect, parse_filters(["network=n1"])) and matches(connect, parse_filters(["container=abc"]))
    with pytest.raises(BadInput):
        parse_filters(["colour=red"])
    with pytest.raises(BadInput):
        parse_filters(["type"])


def test_event_line_is_dockers_default():
    doc = journal.event(
        "container", "die", "abc", {"name": "web", "image": "base", "exitCode": 0}, now_ns=1_704_067_200_000_000_042
    )
    assert event_line(doc) == "2024-01-01T00:00:00.000000042Z container die abc (exitCode=0, image=base, name=web)"
    bare = journal.event("volume", "create", "v", {}, now_ns=0)
    assert event_line(bare) == "1970-01-01T00:00:00.000000000Z volume create v"


def test_journal_appends_reads_and_rotates(tmp_path, monkeypatch):
    root = str(tmp_path)
    monkeypatch.setattr(journal, "MAX_BYTES", 600)
    for i in range(20):
        journal.append(root, journal.event("volume", "create", f"v{i}", {}, now_ns=i))
    with open(journal.path(root), "ab") as f:
        f.write(b"{torn")  # a writer that died mid-line does not break readers
    read = list(journal.read(root))
    assert [d["Actor"]["ID"] for d in read] == [f"v{i}" for i in range(20 - len(read), 20)]
    assert 0 < len(read) < 20  # rotated once: the oldest are gone, the journal stays bounded
    assert (tmp_path / "events.jsonl.1").exists()


def test_prune_filters():
    wanted = parse_prune_filters(["until=10m", "label=keep!=x"], ("until", "label"))
    assert wanted == {"until": ["10m"], "label": ["keep!=x"]}
    assert keeps(parse_prune_filters(["until=1700000000"], ("until",)), 1_600_000_000, {})
    assert not keeps(parse_prune_filters(["until=1700000000"], ("until",)), 1_800_000_000, {})
    assert keeps(parse_prune_filters(["label=a"], ("label",)), 0, {"a": "1"})
    assert not keeps(parse_prune_filters(["label=a=2"], ("label",)), 0, {"a": "1"})
    assert not keeps(parse_prune_filters(["label!=a"], ("label",)), 0, {"a": "1"})
    assert keeps(parse_prune_filters(["label!=a"], ("label",)), 0, {})
    with pytest.raises(BadInput):
        parse_prune_filters(["dangling=true"], ("until", "label"))


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0B"), (212, "212B"), (1000, "1kB"), (16_430_000, "16.43MB"), (2_140_000, "2.14MB")]
)
def test_human_size_is_go_units(n, text):
    assert human_size(n) == text
