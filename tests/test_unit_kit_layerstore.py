"""The layer/snapshot directory store drivers build on (stdc.kit.layerstore), in a temporary
directory: no mount, no root needed."""

from __future__ import annotations

import os

import pytest
from stdc.errors import StdcError
from stdc.kit import layerstore
from stdc.kit.layerstore import LayerStore

BASE, MID, TOP = ("sha256:" + c * 64 for c in "abc")


def diff_layer(store: LayerStore, layer_id: str, parent_id: str | None, name: str) -> bool:
    def apply(directory: str, whiteouts: str) -> None:
        assert whiteouts == "overlay" and os.listdir(directory) == []
        with open(os.path.join(directory, name), "w") as f:
            f.write(name)

    return store.add_diff_layer(layer_id, parent_id, apply, "overlay")


def test_layers_chain_and_listing(tmp_path: str) -> None:
    store = LayerStore(str(tmp_path))
    assert store.listing() == {"layers": [], "snapshots": []}
    assert diff_layer(store, BASE, None, "a")
    assert diff_layer(store, MID, BASE, "b")
    assert diff_layer(store, TOP, MID, "c")
    assert not diff_layer(store, TOP, MID, "again")  # there already: nothing done
    assert os.listdir(store.diff_dir(TOP)) == ["c"]
    assert store.chain(TOP) == [TOP, MID, BASE]
    assert store.chain(None) == []
    assert store.layer_parent(BASE) is None
    assert layerstore.storage_list(str(tmp_path)) == {"layers": [BASE, MID, TOP], "snapshots": []}
    assert layerstore.storage_has_layer(str(tmp_path), MID)
    assert os.listdir(os.path.join(tmp_path, "staging")) == []


def test_failed_fill_leaves_nothing(tmp_path: str) -> None:
    store = LayerStore(str(tmp_path))

    def broken(staging: str) -> None:
        with open(os.path.join(staging, "half"), "w") as f:
            f.write("x")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        store.add_layer(BASE, broken, parent_id=None)
    with pytest.raises(OSError):
        store.add_snapshot("c1", broken, parent_id=BASE)
    assert not store.has_layer(BASE)
    assert store.listing() == {"layers": [], "snapshots": []}
    assert os.listdir(os.path.join(tmp_path, "staging")) == []


def test_snapshots(tmp_path: str) -> None:
    store = LayerStore(str(tmp_path))
    diff_layer(store, BASE, None, "a")
    made = store.add_snapshot("c1", lambda d: os.mkdir(os.path.join(d, "upper")), parent_id=BASE)
    assert made == store.snapshot_dir("c1") and sorted(os.listdir(made)) == ["parent", "upper"]
    assert store.snapshot_parent("c1") == BASE
    with pytest.raises(StdcError, match="snapshot c1 exists"):
        store.add_snapshot("c1", lambda d: None)
    with open(os.path.join(made, "upper", "data"), "wb") as f:
        f.write(b"x" * 65536)
    assert layerstore.storage_usage(str(tmp_path), "c1") >= 65536
    assert layerstore.storage_usage(str(tmp_path), BASE) > 0  # no such snapshot: the layer
    assert store.listing()["snapshots"] == ["c1"]


def test_removal_is_idempotent(tmp_path: str) -> None:
    home = str(tmp_path)
    store = LayerStore(home)
    diff_layer(store, BASE, None, "a")
    store.add_snapshot("c1", lambda d: None, parent_id=BASE)
    for _ in range(2):
        layerstore.storage_remove(home, "c1")
        layerstore.storage_remove_layer(home, BASE)
    assert store.listing() == {"layers": [], "snapshots": []}
    assert os.listdir(os.path.join(home, "staging")) == []


def test_orphans_are_snapshots_of_no_container_and_staging_of_dead_processes(tmp_path: str) -> None:
    home = str(tmp_path)
    store = LayerStore(home)
    for sid in ("live", "gone"):
        store.add_snapshot(sid, lambda d: None)
    staging = os.path.join(home, "staging")
    mine = store.staging()  # made by this (live) process
    os.mkdir(os.path.join(staging, "rm-999999999-abcdef"))  # a pid no process has
    found = layerstore.storage_orphans(home, ["live"])
    assert found == ["snapshot gone", "staging rm-999999999-abcdef"]
    for orphan in found:
        layerstore.storage_remove_orphan(home, orphan)
    assert layerstore.storage_orphans(home, ["live"]) == []
    assert store.listing()["snapshots"] == ["live"] and os.path.isdir(mine)
    with pytest.raises(StdcError, match="not a leftover"):
        layerstore.storage_remove_orphan(home, "snapshot ../live")
