"""Reconciliation's pure parts: how leftovers read, whose cgroup parent is whose (no root)."""

from __future__ import annotations

from stdc import config
from stdc.engine.reconcile import Leftover


def test_a_leftover_reads_as_kind_owner_and_name():
    assert str(Leftover("netns", "core", "/run/stdc/netns/ab")) == "netns: /run/stdc/netns/ab"
    assert str(Leftover("exec", "exec:native", "stdc/ab")) == "exec (exec:native): stdc/ab"


def test_a_root_of_its_own_gets_a_cgroup_parent_of_its_own(monkeypatch, tmp_path):
    monkeypatch.setenv("STDC_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("STDC_CGROUP_PARENT", raising=False)
    assert config.load(root="/var/lib/stdc").cgroup_parent == "stdc"
    one, two = config.load(root="/var/tmp/one").cgroup_parent, config.load(root="/var/tmp/two").cgroup_parent
    assert one.startswith("stdc/") and len(one) == len("stdc/") + 10 and one != two
    assert config.load(root="/var/tmp/one").cgroup_parent == one  # the same root, the same parent
    monkeypatch.setenv("STDC_CGROUP_PARENT", "stdc/chosen")
    assert config.load(root="/var/tmp/one").cgroup_parent == "stdc/chosen"
