"""``stdc system check [--repair]``: what a crash can leave — a cgroup, a network namespace bind
mount, a veth on the root's bridge, a bundle, a storage staging directory, an ingest file —, made
here for real under ids no record holds, is reported (exit 1), removed with ``--repair``, and
what a running container holds is neither reported nor touched."""

from __future__ import annotations

import os
import subprocess

from conftest import cgroup_parent, network_links
from stdc.kit import cgroups, netns


def _plant(root: str) -> dict[str, str]:
    """Leftovers under a fresh id, each made the way stdc makes it; returns what was made."""
    cid = os.urandom(32).hex()
    hierarchy = cgroups.hierarchies()[0]
    made = {
        "cgroup": os.path.join(hierarchy, cgroup_parent(root), cid),
        "netns": netns.path(os.path.join(root, "run"), cid),
        "bundle": os.path.join(root, "containers", cid),
        "staging": os.path.join(root, "storage", "overlay", "staging", "new-999999999-0123456789ab"),
        "ingest": os.path.join(root, "images", ".stdc", "ingest", "blob-killed"),
    }
    os.makedirs(made["cgroup"])
    netns.create(made["netns"])
    os.makedirs(os.path.join(made["bundle"], "rootfs"))
    os.makedirs(made["staging"])
    with open(made["ingest"], "wb") as f:
        f.write(b"half a layer")
    bridge = sorted(network_links(root)[0])[0]
    veth = "vstdc" + cid[:10]
    subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "vpeer" + cid[:10]], check=True)
    subprocess.run(["ip", "link", "set", veth, "master", bridge], check=True)
    made["veth"] = f"/sys/class/net/{veth}"
    return made


def test_system_check_reports_and_repairs_what_no_record_owns(stdc, root):
    running = stdc("run", "-d", "base", "sleep", "1000").stdout.strip()
    try:
        assert stdc("system", "check").stdout.strip() == "nothing to reconcile"
        made = _plant(root)
        found = stdc("system", "check", check=False)
        assert found.returncode == 1, found.stderr
        missed = [kind for kind, path in made.items() if os.path.basename(path) not in found.stdout]
        assert missed == [], found.stdout
        assert running not in found.stdout
        assert all(os.path.lexists(path) for path in made.values())  # a check alone removes nothing
        repaired = stdc("system", "check", "--repair", check=False)
        assert repaired.returncode == 1 and "removed: " in repaired.stdout, repaired.stdout + repaired.stderr
        assert repaired.stderr == ""
        assert [kind for kind, path in made.items() if os.path.lexists(path)] == []
        assert stdc("system", "check").stdout.strip() == "nothing to reconcile"
        assert stdc("ps", "-q", "--no-trunc").stdout.split() == [running]  # untouched, still running
    finally:
        stdc("rm", "-f", running)
