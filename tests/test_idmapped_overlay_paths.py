"""An idmapped overlay whose layers reach overlayfs by path, the way kernels 5.19-6.12 take them
(they know no ``lowerdir+`` descriptors): forced here on the host's kernel, checked through the mount."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from stdc.kit import idmap, syscalls
from stdc.kit.mounts import Mount

HOST_ROOT = 231072  # inside a range no test hands out to containers
SIZE = 65536


@pytest.fixture
def layers():
    base = tempfile.mkdtemp(prefix="stdc-idmap-test-", dir="/var/tmp")
    paths = {name: os.path.join(base, name) for name in ("lower1", "lower2", "snap/upper", "snap/work", "view")}
    for path in paths.values():
        os.makedirs(path)
    with open(os.path.join(paths["lower1"], "old"), "w") as f:
        f.write("lower1\n")
    with open(os.path.join(paths["lower2"], "new"), "w") as f:
        f.write("lower2\n")
    yield paths
    if os.path.ismount(paths["view"]):
        syscalls.umount(paths["view"], syscalls.MNT_DETACH)
    shutil.rmtree(base)


@pytest.mark.parametrize("by_path", [True, None])
def test_overlay_of_idmapped_layers_by_path(layers: dict[str, str], by_path: bool | None) -> None:
    options = [f"lowerdir={layers['lower2']}:{layers['lower1']}", f"upperdir={layers['snap/upper']}"]
    options.append(f"workdir={layers['snap/work']}")
    ids = [{"containerID": 0, "hostID": HOST_ROOT, "size": SIZE}]
    before = set(os.listdir("/run"))
    with idmap.UserNamespace(ids, ids) as ns:
        tree = idmap.idmapped_tree([Mount("overlay", "overlay", options)], ns.fd, (HOST_ROOT, HOST_ROOT), by_path)
    try:
        idmap.move_mount(tree, layers["view"])
    finally:
        os.close(tree)
    assert set(os.listdir("/run")) == before, "an attachment point was left behind"
    view = layers["view"]
    assert sorted(os.listdir(view)) == ["new", "old"]
    assert os.stat(os.path.join(view, "old")).st_uid == HOST_ROOT  # root's file on disk, the container's root here
    with idmap.act_as(HOST_ROOT, HOST_ROOT), open(os.path.join(view, "written"), "w") as f:
        f.write("x")
    on_disk = os.stat(os.path.join(layers["snap/upper"], "written"))
    assert (on_disk.st_uid, on_disk.st_gid) == (0, 0)  # the container's own ids on disk: nothing to unshift


def test_overlay_takes_descriptors_from_6_13_on() -> None:
    """What `stdc info` reports as "overlay layers by descriptor|by path" follows the kernel."""
    major, minor = (int(n) for n in os.uname().release.split(".")[:2])
    assert idmap.overlay_takes_descriptors() == ((major, minor) >= (6, 13))
