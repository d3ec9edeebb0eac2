"""Storage drivers swapped per host: the host file picks the default, containers keep the driver
that made them, an image used with a second driver is unpacked for it on demand, and
`stdc images` / `stdc info` say which driver holds what."""

from __future__ import annotations

import json
import os


def _held(stdc, env=None) -> dict[str, dict]:
    data = json.loads(stdc("info", "--format", "json", env=env).stdout)
    return {h["driver"]: h for h in data["Storage"]}


def _drivers_column(stdc, reference: str) -> str:
    name, tag = reference.split(":")
    for line in stdc("images").stdout.splitlines()[1:]:
        if line.split()[:2] == [name, tag]:
            return line.split()[-1]
    raise AssertionError(f"{reference} not listed")


def test_host_file_picks_the_driver_and_containers_keep_theirs(stdc, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[backends]\nstorage = "vfs"\n')
    env = {**os.environ, "STDC_CONFIG": str(config)}
    on_vfs = stdc("create", "base", "sh", "-c", "echo from-vfs > /f; cat /f", env=env).stdout.strip()
    on_overlay = stdc("create", "base", "sh", "-c", "echo from-overlay > /f; cat /f").stdout.strip()
    try:
        vfs_record, overlay_record = (json.loads(stdc("inspect", c).stdout)[0] for c in (on_vfs, on_overlay))
        assert vfs_record["Driver"] == "vfs" and overlay_record["Driver"] == "overlay"
        held = _held(stdc, env)
        assert vfs_record["Name"].lstrip("/") in held["vfs"]["containers"] and "base:latest" in held["vfs"]["images"]
        assert overlay_record["Name"].lstrip("/") in held["overlay"]["containers"]
        # the host now says overlay: each container still runs, diffs and is removed by its own driver
        config.write_text('[backends]\nstorage = "overlay"\n')
        assert stdc("start", "-a", on_vfs, env=env).stdout == "from-vfs\n"
        assert stdc("--storage", "vfs", "start", "-a", on_overlay, env=env).stdout == "from-overlay\n"
        assert "A /f" in stdc("diff", on_vfs, env=env).stdout.splitlines()
        assert "A /f" in stdc("diff", on_overlay, env=env).stdout.splitlines()
    finally:
        stdc("rm", on_vfs, on_overlay, env=env)
    held = _held(stdc)
    assert held["vfs"]["snapshots"] == 0 and held["overlay"]["snapshots"] == 0


def test_an_image_is_unpacked_for_a_second_driver_on_demand(stdc):
    cid = stdc("run", "-d", "base", "sh", "-c", "echo swapped > /marker").stdout.strip()
    stdc("wait", cid)
    stdc("commit", cid, "swap:one")
    stdc("rm", cid)
    try:
        held = _held(stdc)
        assert "swap:one" not in held["overlay"]["images"]  # committed, not yet used by any driver
        assert stdc("run", "--rm", "swap:one", "cat", "/marker").stdout == "swapped\n"
        assert "swap:one" in _held(stdc)["overlay"]["images"] and "swap:one" not in _held(stdc)["vfs"]["images"]
        assert _drivers_column(stdc, "swap:one") == "overlay"
        before = _held(stdc)["vfs"]["layers"]
        assert stdc("--storage", "vfs", "run", "--rm", "swap:one", "cat", "/marker").stdout == "swapped\n"
        held = _held(stdc)
        assert "swap:one" in held["vfs"]["images"] and held["vfs"]["layers"] >= before + 1
        assert _drivers_column(stdc, "swap:one") == "overlay,vfs"
        info = stdc("info").stdout
        assert "DRIVER" in info and "IMAGES UNPACKED" in info
        row = next(line for line in info.splitlines() if line.startswith("vfs"))
        assert "swap:one" in row and "yes" in row
    finally:
        stdc("rmi", "swap:one")
    held = _held(stdc)  # its own layer goes from both drivers with the image
    assert "swap:one" not in held["vfs"]["images"] and held["vfs"]["layers"] == before
