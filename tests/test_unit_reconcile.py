"""Reconciliation's pure parts: how leftovers read, whose cgroup parent is whose (no root)."""

from __future__ import annotations

from types import SimpleNamespace

from stdc.engine.reconcile import Leftover, owns_cgroup_parent


def test_a_leftover_reads_as_kind_owner_and_name():
    assert str(Leftover("netns", "core", "/run/stdc/netns/ab")) == "netns: /run/stdc/netns/ab"
    assert str(Leftover("exec", "exec:native", "stdc/ab")) == "exec (exec:native): stdc/ab"


def test_cgroups_are_reconciled_only_under_a_parent_of_the_root_alone():
    def engine(root: str, parent: str) -> SimpleNamespace:
        return SimpleNamespace(root=root, config=SimpleNamespace(cgroup_parent=parent))

    assert owns_cgroup_parent(engine("/var/lib/stdc", "stdc"))
    assert not owns_cgroup_parent(engine("/var/tmp/other", "stdc"))  # shared with the host's root
    assert owns_cgroup_parent(engine("/var/tmp/other", "stdc/other"))
