"""Two stdc roots on one host, side by side on their default networks: each its own runtime
directory, bridge, subnet, nftables table, network namespaces and port proxies, and each
leaves nothing behind. Traffic stays between the host and these containers."""

from __future__ import annotations

import contextlib
import glob
import ipaddress
import json
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from conftest import CGROUP_ROOT, cgroup_parent, host_traces, run
from test_network import HTTPD, http_get


class Root:
    """A private stdc root with the environment a host of its own would give it (no host config,
    the built-in default network)."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix="stdc-roots-", dir="/var/tmp")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STDC_")}
        self.env |= {
            "STDC_ROOT": self.path,
            "STDC_CONFIG": os.path.join(self.path, "no-host-config.toml"),
            "STDC_CGROUP_PARENT": cgroup_parent(self.path),
            "STDC_DAEMON_SOCKET": "/nonexistent",  # this root's own process, not a daemon of another
        }

    def __call__(self, *args: str) -> str:
        """``stdc ARGS`` in this root; its output."""
        return run(*args, env=self.env).stdout

    def remove(self) -> None:
        """Everything of the root: containers, networks, files, cgroup parents."""
        leftovers = run("ps", "-aq", "--no-trunc", env=self.env, check=False).stdout.split()
        if leftovers:
            run("rm", "-f", *leftovers, env=self.env, check=False)
        run("network", "prune", env=self.env, check=False)
        shutil.rmtree(self.path, ignore_errors=True)
        for parent in glob.glob(f"{CGROUP_ROOT}/*/{cgroup_parent(self.path)}"):
            with contextlib.suppress(OSError):
                os.rmdir(parent)


@pytest.fixture
def two_roots() -> Iterator[tuple[Root, Root]]:
    roots = (Root(), Root())
    try:
        yield roots
    finally:
        for r in roots:
            r.remove()


def _mount_points() -> set[str]:
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


def test_two_roots_run_published_containers_side_by_side_and_each_leaves_nothing(two_roots):
    mounts_before = _mount_points()
    before = [host_traces(r.path) for r in two_roots]
    webs = []
    for n, r in enumerate(two_roots):
        cid = r("run", "-d", "--hostname", f"web{n}", "-p", "8080", "base", "sh", "-c", HTTPD).strip()
        webs.append(cid)
    # both run at once, each on its root's own bridge, subnet and runtime directory
    infos = [json.loads(r("inspect", cid))[0] for r, cid in zip(two_roots, webs, strict=True)]
    nets = [json.loads(r("network", "inspect", "bridge"))[0] for r in two_roots]
    assert all(info["State"]["Status"] == "running" for info in infos)
    bridges = [net["Options"]["com.docker.network.bridge.name"] for net in nets]
    subnets = [ipaddress.ip_network(net["IPAM"]["Config"][0]["Subnet"]) for net in nets]
    assert bridges[0] != bridges[1] and not subnets[0].overlaps(subnets[1])
    for r, info, bridge, subnet in zip(two_roots, infos, bridges, subnets, strict=True):
        assert info["NetworkSettings"]["Bridge"] == bridge
        assert ipaddress.ip_address(info["NetworkSettings"]["IPAddress"]) in subnet
        assert os.path.exists(os.path.join(r.path, "run", "netns", info["Id"]))
    for n, (r, cid) in enumerate(zip(two_roots, webs, strict=True)):
        host_port = int(r("port", cid, "8080").strip().rsplit(":", 1)[1])
        assert http_get(f"http://127.0.0.1:{host_port}/") == f"served-by-web{n}\n"
    during = [host_traces(r.path) for r in two_roots]
    for mine, other in ((0, 1), (1, 0)):
        assert during[mine]["links"] and during[mine]["rules"] and during[mine]["proxies"]
        for kind in ("mounts", "links", "rules", "proxies", "monitors", "cgroups"):
            assert not during[mine][kind] & during[other][kind], kind  # nothing of one root is the other's
    assert not {m for m in _mount_points() - mounts_before if m.startswith("/run/stdc")}
    for r, cid in zip(two_roots, webs, strict=True):
        r("rm", "-f", cid)
        r("network", "prune")  # the default bridge, as `stdc network prune` takes it down unused
    for r, seen in zip(two_roots, before, strict=True):
        after = host_traces(r.path)
        for kind in seen:
            assert after[kind] <= seen[kind], f"{r.path} left behind {kind}: {sorted(after[kind] - seen[kind])}"
