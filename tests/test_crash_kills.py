"""Nothing outlives a crash (issue 23): ``stdc`` commands killed with SIGKILL at random points,
then the ordinary commands a user runs next, and the host compared with what it was before.

In a root of its own (its own cgroup parent, runtime directory, default bridge, no daemon: a
killed client would not kill a daemon's worker), each round picks a command — ``run -d``,
``run --rm``, ``rm -f``, ``pull`` (from a docker-registry on loopback), ``commit``, ``import``,
``network rm`` —, starts it, kills it after a random delay within the time the command takes
unkilled, and then runs what a user would: ``ps -a`` and ``rm -f`` of what it lists, the
killed image command again (it must succeed) and ``rmi`` of its image, ``network rm`` of a network
still listed. Then the root's cgroups (every hierarchy, v1 or v2), mounts, links (its bridges
and what is on them, veths), nftables tables, files and processes must be what they were
before the round. ``stdc system check`` must find nothing.

``STDC_CRASH_KILLS`` sets the number of kills (default 14, two per command; the issue's bar is
200), ``STDC_CRASH_SEED`` the random seed. The kill points tried are printed (``pytest -s``).
No assertion depends on timing: the delays only choose where the kill lands.
"""

from __future__ import annotations

import contextlib
import glob
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import registry_server as rs
from conftest import CGROUP_ROOT, STDC, network_links, nft_rules

KILLS = int(os.environ.get("STDC_CRASH_KILLS", "14"))
SEED = int(os.environ.get("STDC_CRASH_SEED", str(random.SystemRandom().randrange(1 << 30))))
COMMANDS = ("run -d", "run --rm", "rm", "pull", "commit", "import", "network rm")

#: files of the root that change with every command and are no leftover: the records, the
#: events journal, lock files (kept, as flock files are), the image index and network records
_VOLATILE = ("state.db", "events", ".lock", "index.json", "/networks/", "/images/.stdc/")


class Root:
    """A private stdc root and the environment that points every command at it."""

    def __init__(self, base: str, registry: str) -> None:
        self.path = os.path.join(base, "root")
        self.parent = f"stdc/{os.path.basename(base)}"  # the cgroup parent, this root's alone
        self.registry = registry
        config = os.path.join(base, "host.toml")
        with open(config, "w") as f:
            f.write(f'[registry]\ninsecure = ["{registry}"]\n')
        os.makedirs(os.path.join(base, "docker"), exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("STDC_")},
            "STDC_ROOT": self.path,
            "STDC_CONFIG": config,
            "STDC_CGROUP_PARENT": self.parent,
            "STDC_DAEMON_SOCKET": os.path.join(base, "no-daemon.sock"),
            "DOCKER_CONFIG": os.path.join(base, "docker"),
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """``stdc ARGS`` in this root; its stderr must never show a traceback."""
        result = subprocess.run([STDC, *args], capture_output=True, text=True, timeout=120, env=self.env)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
        if check and result.returncode != 0:
            raise AssertionError(f"stdc {' '.join(args)} exited {result.returncode}: {result.stderr}")
        return result

    def start(self, *args: str) -> subprocess.Popen:
        """``stdc ARGS`` started, not waited for."""
        return subprocess.Popen(
            [STDC, *args], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )


# -- what the host holds of the root ------------------------------------------------------------


def _cgroups(parent: str) -> set[str]:
    tops = glob.glob(f"{CGROUP_ROOT}/*/{parent}") + glob.glob(f"{CGROUP_ROOT}/{parent}")
    return {d for top in tops for d, _, _ in os.walk(top) if d != top}


def _processes(root: str, parent: str) -> set[str]:
    """Processes of the root: in its cgroups, or naming it on their command line (monitors,
    port proxies), stdc itself excepted."""
    found = set()
    for proc in glob.glob("/proc/[0-9]*"):
        with contextlib.suppress(OSError):
            with open(f"{proc}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"{proc}/cgroup") as f:
                in_cgroup = f"/{parent}/" in f.read()
            if in_cgroup or any(root.encode() in a for a in argv[1:]):
                found.add(f"{proc.split('/')[2]} {b' '.join(argv).decode(errors='replace')}")
    return found


def _files(root: str) -> set[str]:
    found = set()
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            if not any(v in path for v in _VOLATILE):
                found.add(path[len(root) :])
    return found


def _mounts(root: str) -> set[str]:
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f if root in line}


def _tables(bridges: set[str]) -> set[str]:
    text = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return {line.split()[-1] for line in text.splitlines() if line.split()[-1] in {f"stdc_{b}" for b in bridges}}


def traces(r: Root) -> dict[str, set[str]]:
    """Everything stdc can have made on the host for the root."""
    root = r.path
    bridges, links = network_links(root)
    veths = {name for name in os.listdir("/sys/class/net") if name.startswith("vstdc")} & links
    return {
        "cgroups": _cgroups(r.parent),
        "mounts": _mounts(root),
        "links": links | veths,
        "tables": _tables(bridges),
        "rules": nft_rules(bridges),
        "files": _files(root),
        "processes": _processes(root, r.parent),
    }


def _settled(r: Root, before: dict[str, set[str]]) -> dict[str, set[str]]:
    """The traces once the processes a killed start left have ended by themselves (a monitor
    whose payload was killed runs its clean-up and exits): waited for, never timed."""
    for _ in range(200):
        now = traces(r)
        if now["processes"] == before["processes"]:
            return now
        time.sleep(0.05)
    return traces(r)


# -- the rounds -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kill_root(root: str) -> Iterator[Root]:
    """A root of its own with the base image, a default bridge, an image in a loopback registry
    (3 MB: a pull takes a while), a container to commit and a tarball to import."""
    path = tempfile.mkdtemp(prefix="stdc-kill-", dir="/var/tmp")
    try:
        with rs.registry(Path(path) / "registry-data") as host:
            r = Root(path, host)
            try:
                r.run("run", "--rm", "base", "true")  # the default bridge, made once, as docker0 stays
                r.run(
                    "run",
                    "--name",
                    "src",
                    "--network",
                    "none",
                    "base",
                    "sh",
                    "-c",
                    "head -c 3000000 /dev/urandom > /blob",
                )
                r.src_id = r.run("ps", "-aq", "--no-trunc").stdout.strip()  # type: ignore[attr-defined]
                r.run("commit", "src", f"{host}/kill/img:1")
                r.run("push", f"{host}/kill/img:1")
                r.run("rmi", f"{host}/kill/img:1")
                r.run("export", "-o", os.path.join(path, "fs.tar"), "src")
                r.tarball = os.path.join(path, "fs.tar")  # type: ignore[attr-defined]
                yield r
            finally:
                listed = r.run("ps", "-aq", "--no-trunc", check=False).stdout.split()
                if listed:
                    r.run("rm", "-f", *listed, check=False)
                r.run("network", "prune", check=False)
                for parent in glob.glob(f"{CGROUP_ROOT}/*/{r.parent}") + [f"{CGROUP_ROOT}/{r.parent}"]:
                    with contextlib.suppress(OSError):
                        os.rmdir(parent)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _prepare(r: Root, command: str, n: int) -> tuple[list[str], list[str]]:
    """What a round kills (its argv) and what its image or network is called."""
    img = f"{r.registry}/kill/img:1"
    if command == "run -d":
        return ["run", "-d", *(["--network", "none"] if n % 2 else []), "base", "sleep", "1000"], []
    if command == "run --rm":
        return ["run", "--rm", *(["--network", "none"] if n % 2 else []), "base", "sh", "-c", "sleep 0.3"], []
    if command == "rm":
        cid = r.run("run", "-d", *(["--network", "none"] if n % 2 else []), "base", "sleep", "1000").stdout.strip()
        return ["rm", "-f", cid], []
    if command == "pull":
        return ["pull", img], [img]
    if command == "commit":
        return ["commit", "src", f"kill/c:{n}"], [f"kill/c:{n}"]
    if command == "import":
        return ["import", r.tarball, f"kill/i:{n}"], [f"kill/i:{n}"]  # type: ignore[attr-defined]
    name = f"kn{n}"
    r.run("network", "create", name)
    return ["network", "rm", name], [name]


def _afterwards(r: Root, command: str, argv: list[str], names: list[str]) -> None:
    """What a user runs after the kill: list and remove containers; the image command again
    (it must succeed) and its image removed; a network still listed removed."""
    r.run("ps", "-a")
    listed = [c for c in r.run("ps", "-aq", "--no-trunc").stdout.split() if c != r.src_id]  # type: ignore[attr-defined]
    if listed:
        r.run("rm", "-f", *listed)
    if command in ("pull", "commit", "import"):
        r.run(*argv)
        r.run("rmi", names[0])
    if command == "network rm" and names[0] in r.run("network", "ls").stdout.split():
        r.run("network", "rm", names[0])


def _duration(r: Root, command: str, n: int) -> float:
    """How long the command takes unkilled here (its effects undone): where kills may land."""
    argv, names = _prepare(r, command, n)
    began = time.monotonic()
    r.run(*argv)
    took = time.monotonic() - began
    _afterwards(r, command, argv, names) if command not in ("pull", "commit", "import") else r.run("rmi", names[0])
    return took


def test_killed_commands_leave_nothing(kill_root: Root) -> None:
    """SIGKILL at random points of each command, many times: after the next ordinary commands
    nothing of the killed one is left on the host, and ``system check`` finds nothing."""
    r = kill_root
    rng = random.Random(SEED)
    durations = {command: _duration(r, command, 1000 + i) for i, command in enumerate(COMMANDS)}
    before = traces(r)
    tried: list[str] = []
    for n in range(KILLS):
        command = COMMANDS[n % len(COMMANDS)]
        argv, names = _prepare(r, command, n)
        delay = rng.uniform(0, durations[command] * 1.1)
        proc = r.start(*argv)
        time.sleep(delay)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        assert "Traceback" not in err.decode(errors="replace")
        tried.append(f"{command} at {delay:.3f}s{' (had finished)' if finished else ''}")
        # where kills may land follows what the command takes now (the machine's load changes)
        durations[command] *= 0.85 if finished else 1.03
        _afterwards(r, command, argv, names)
        after = _settled(r, before)
        left = {k: sorted(after[k] - before[k]) for k in after if after[k] - before[k]}
        assert not left, f"kill {n} ({tried[-1]}) left: {left}"
        check = r.run("system", "check", check=False)
        assert check.returncode == 0, f"kill {n} ({tried[-1]}): system check found: {check.stdout}"
    print(f"\n{len(tried)} kills (seed {SEED}):\n  " + "\n  ".join(tried))
    landed = {c: sum(t.startswith(c + " at") and "had finished" not in t for t in tried) for c in COMMANDS}
    print(f"{sum(landed.values())} of {len(tried)} kills landed while the command ran; per command: {landed}")
