"""End-to-end tests through the real CLI, on the real kernel, as root.

Every test session gets a root of its own (images, containers, runtime files) so the host's
/var/lib/stdc is never touched; every test is checked to leave no mount, cgroup or process of
stdc behind, and the session removes all it made.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

STDC = os.path.join(os.path.dirname(sys.executable), "stdc")
CGROUP_ROOT = "/sys/fs/cgroup"


#: stdc's cgroup parents that existed before this test session (the session removes the others)
STDC_CGROUPS_BEFORE = set(glob.glob(f"{CGROUP_ROOT}/*/stdc"))


#: Every program outside the venv that a test runs (or that podman runs for one), with the Debian
#: package that brings it; `scripts/setup --test` installs them all. Checked before any test runs,
#: so a missing install step fails the whole run at once with the list, instead of passing here
#: only because someone installed the program by hand.
OUTSIDE_PROGRAMS = {
    "busybox": "busybox-static",
    "gcc": "gcc",
    "nft": "nftables",
    "ip": "iproute2",
    "lxc-start": "lxc",
    "tmux": "tmux",
    "script": "bsdutils",
    "podman": "podman",
    "runc": "runc",
    "skopeo": "skopeo",
    "umoci": "umoci",
    "docker-registry": "docker-registry",
    "htpasswd": "apache2-utils",
    "openssl": "openssl",
    "unshare": "util-linux",
    "mount": "mount",
    "catatonit": "catatonit",
    "containerd": "containerd",
    "ctr": "containerd",
    "containerd-shim-runc-v2": "containerd",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The end-to-end tests run real containers and outside programs, and need root; the pure
    ``test_unit_*`` ones need neither."""
    if all(item.path.name.startswith("test_unit_") for item in items):
        return
    if os.geteuid() != 0:
        raise pytest.UsageError("the stdc tests run real containers and need root (test_unit_* files do not)")
    missing = [f"{prog} ({pkg})" for prog, pkg in OUTSIDE_PROGRAMS.items() if shutil.which(prog) is None]
    if missing:
        names = ", ".join(missing)
        raise pytest.UsageError(f"programs the tests run are missing (scripts/setup --test installs them): {names}")


LXC_LOCKS = "/run/lxc/lock"


@pytest.fixture(scope="session", autouse=True)
def _lxc_lock_dirs() -> Iterator[None]:
    """liblxc mirrors every container path it locks under /run/lxc/lock; the plugin removes its
    containers' own levels, the shared ones above (this session's temporary roots) go here, for
    every test module that runs lxc."""

    def dirs() -> set[str]:
        return {path for path, _, _ in os.walk(LXC_LOCKS)}

    before = dirs()
    yield
    for path in set(glob.glob(f"{LXC_LOCKS}/var/tmp/stdc-exec-*")) - before:
        shutil.rmtree(path, ignore_errors=True)
    for path in sorted(dirs() - before, key=lambda p: -p.count("/")):
        with contextlib.suppress(OSError):
            os.rmdir(path)  # only the empty levels this session made


@pytest.fixture(scope="session")
def root() -> Iterator[str]:
    """A private stdc root for the whole session; removed (with what it holds) at the end."""
    path = tempfile.mkdtemp(prefix="stdc-test-", dir="/var/tmp")
    os.environ["STDC_ROOT"] = path
    os.environ["STDC_CONFIG"] = os.path.join(path, "no-host-config.toml")
    # the session's containers get cgroups under a parent of its own: what another stdc on this
    # host runs at the same time is neither counted as ours nor touched
    os.environ["STDC_CGROUP_PARENT"] = cgroup_parent(path)
    for kind in ("STORAGE", "EXEC", "NET"):
        os.environ.pop(f"STDC_{kind}", None)
    # the default network (bridge) gets its bridge on first use and keeps it, as docker0 stays:
    # made before any test, so that each one is checked to leave nothing beyond it
    run("run", "--rm", "base", "true")
    yield path
    leftovers = run("ps", "-aq", "--no-trunc", check=False).stdout.split()
    if leftovers:
        run("rm", "-f", *leftovers, check=False)
    run("network", "prune", check=False)  # bridges and rules of networks no container uses now
    shutil.rmtree(path, ignore_errors=True)
    for parent in glob.glob(f"{CGROUP_ROOT}/*/{cgroup_parent(path)}"):
        with contextlib.suppress(OSError):
            os.rmdir(parent)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Once every fixture is gone (the executor suite's roots have cgroup parents of their own,
    torn down after this session's root), the stdc/ parents this session made go too."""
    for parent in set(glob.glob(f"{CGROUP_ROOT}/*/stdc")) - STDC_CGROUPS_BEFORE:
        with contextlib.suppress(OSError):
            os.rmdir(parent)


def cgroup_parent(root: str) -> str:
    """The cgroup parent of a test session's containers (under stdc/, as every stdc cgroup)."""
    return f"stdc/{os.path.basename(root)}"


def run(*args: str, check: bool = True, timeout: float = 120, **kw: object) -> subprocess.CompletedProcess:
    """Run ``stdc ARGS`` and capture its output (text)."""
    result = subprocess.run([STDC, *args], capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise AssertionError(f"stdc {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def host_traces(root: str) -> dict[str, set[str]]:
    """What stdc may leave on the host: mounts under its root, cgroups, monitor and port proxy
    processes, interfaces (its bridges and what is on them) and the rules of its bridges."""
    with open("/proc/self/mountinfo") as f:
        mounts = {line.split()[4] for line in f if root in line}  # the runtime directory is the root's too
    cgroups = {p for p in glob.glob(f"{CGROUP_ROOT}/*/{cgroup_parent(root)}/*") if os.path.isdir(p)}
    processes, proxies = set(), set()
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        # a monitor's arguments name its container's bundle, under the session's root
        if b"stdc-monitor" in argv[0] and any(a.startswith(root.encode()) for a in argv[1:]):
            processes.add(cmdline.split("/")[2])
        if b"stdc_net_bridge.proxy" in argv and _under(f"/proc/{cmdline.split('/')[2]}/fd/1", root):
            proxies.add(cmdline.split("/")[2])
    bridges, links = network_links(root)
    return {
        "mounts": mounts,
        "cgroups": cgroups,
        "monitors": processes,
        "proxies": proxies,
        "links": links,
        "rules": nft_rules(bridges),
    }


def _under(link: str, root: str) -> bool:
    with contextlib.suppress(OSError):
        return os.readlink(link).startswith(root + "/")
    return False


def network_links(root: str) -> tuple[set[str], set[str]]:
    """This root's bridges (their alias names it: other test sessions may run beside this one)
    and every interface on them or made by stdc for one (veths vstdc*, bridges stdc*)."""
    bridges = set()
    for name in os.listdir("/sys/class/net"):
        with contextlib.suppress(OSError), open(f"/sys/class/net/{name}/ifalias") as f:
            if f.read().strip() == f"stdc:{root}/net/bridge":
                bridges.add(name)
    links = set(bridges)
    for name in os.listdir("/sys/class/net"):
        with contextlib.suppress(OSError):
            if os.path.basename(os.readlink(f"/sys/class/net/{name}/master")) in bridges:
                links.add(name)
    return bridges, links


def nft_rules(bridges: set[str]) -> set[str]:
    """Every rule in the nftables tables of this root's bridges (``ip stdc_<bridge>``)."""
    if not bridges or shutil.which("nft") is None:
        return set()
    rules = set()
    for table in (f"stdc_{name}" for name in bridges):
        text = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True).stdout
        rules |= {f"{table}: {line.strip()}" for line in text.splitlines() if line.strip()}
    return rules


@pytest.fixture
def stdc(root: str) -> Iterator[object]:
    """Run the CLI: ``stdc("run", "base", "true")``. The test must leave nothing behind."""
    before = host_traces(root)
    yield run
    after = host_traces(root)
    for kind in before:
        assert after[kind] <= before[kind], f"left behind {kind}: {sorted(after[kind] - before[kind])}"
