"""Shared machinery of the benchmarks: timing, statistics, interleaving, podman's configuration,
the stdc base image's rootfs, runc bundles, process memory, and cleanup.

One way to do each thing, standard library only. Benchmarks print figures; nothing here
asserts a timing. Everything a benchmark creates is registered with a :class:`Workspace` and
removed when it closes, also on Ctrl-C, SIGTERM or failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PODMAN_CONF = Path("/etc/containers/containers.conf")
#: What podman needs on this VM (hybrid cgroups, no CAP_SYS_RESOURCE): (table, key, TOML value).
PODMAN_SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("containers", "default_ulimits", "[]"),
    ("engine", "cgroup_manager", '"cgroupfs"'),
    ("engine", "runtime", '"runc"'),
)
#: Label put on every podman container a benchmark creates, so cleanup finds only its own.
LABEL = "stdc-bench"
BASE_REF = "base:latest"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


class BenchError(Exception):
    """A command a benchmark depends on failed."""


# -- command line ---------------------------------------------------------------------------------


def default_stdc() -> str:
    """The stdc CLI of this checkout's virtual environment, else the one on PATH."""
    venv = REPO / ".venv" / "bin" / "stdc"
    if venv.exists():
        return str(venv)
    return shutil.which("stdc") or str(venv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def parser(description: str, runs: int, runs_help: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark has: --runs, --stdc, --no-pyc-cache."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--runs", type=_positive, default=runs, metavar="N", help=f"{runs_help} (default {runs})")
    p.add_argument("--stdc", default=default_stdc(), metavar="PATH", help="the stdc CLI (default: %(default)s)")
    p.add_argument(
        "--no-pyc-cache",
        dest="pyc_cache",
        action="store_false",
        help="run stdc with the environment as it is, even if it forbids bytecode caching "
        "(PYTHONDONTWRITEBYTECODE), instead of caching bytecode in the private workspace",
    )
    return p


def entry(main: Callable[[], None]) -> None:
    """Run a benchmark's main: an interruption exits 130 and a failed command exits 1, each with
    a one-line message instead of a traceback (cleanup has run by then)."""
    try:
        main()
    except KeyboardInterrupt as e:
        print(f"interrupted{f' ({e})' if str(e) else ''}; cleaned up", file=sys.stderr)
        sys.exit(130)
    except BenchError as e:
        sys.exit(f"failed: {e}")


def require_root() -> None:
    """Exit with a message unless running as root (podman, runc and stdc all need it here)."""
    if os.geteuid() != 0:
        sys.exit("run this benchmark as root")


# -- running commands -----------------------------------------------------------------------------


def run(
    argv: Sequence[str], timeout: float = 300, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; raise :class:`BenchError` with its stderr if it fails.
    ``env`` adds to (or overrides) this process's environment."""
    full_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.run(
            list(argv), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, env=full_env
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError(f"{' '.join(argv)}: {e}") from None
    if check and proc.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def timed(argv: Sequence[str], timeout: float = 120, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall time in seconds of one run of ``argv`` (stdin from /dev/null), and its stdout.

    Raises :class:`BenchError` if the command fails: a failed run is not a figure."""
    start = time.perf_counter()
    proc = run(argv, timeout=timeout, env=env)
    return time.perf_counter() - start, proc.stdout


def version(argv: Sequence[str]) -> str:
    """The first line a ``--version`` style command prints, or why it could not be had."""
    try:
        out = run(argv, timeout=30).stdout.strip()
    except BenchError as e:
        return f"unavailable ({e})"
    return out.splitlines()[0] if out else "?"


def stdc(binary: str, root: str | Path, *args: str) -> list[str]:
    """The argv of a stdc command against the private root."""
    return [binary, "--root", str(root), *args]


# -- statistics and tables ------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    return statistics.median(values)


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0 < q < 1) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        out = [str(cells[0]).ljust(widths[0])]
        out += [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(out).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def ratio(value: float, base: float | None) -> str:
    """``value / base`` to two decimals, or "-" without a base."""
    return f"{value / base:.2f}" if base else "-"


def print_machine(stdc_binary: str, extra: Sequence[tuple[str, str]] = ()) -> None:
    """Print the machine (cores, kernel, load) and the versions of the tools compared."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        (
            "machine",
            f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), kernel {platform.release()}, "
            f"{platform.machine()}, load average {load}",
        ),
        ("python", f"{sys.version.split()[0]} ({sys.executable})"),
        ("stdc", f"{version([stdc_binary, '--version'])} ({stdc_binary})"),
        ("podman", version(["podman", "--version"])),
        ("runc", version(["runc", "--version"])),
        ("conmon", version(["conmon", "--version"])),
        *extra,
    ]
    width = max(len(name) for name, _ in lines) + 2
    for name, value in lines:
        print(f"{name + ':':<{width}}{value}")


# -- interleaved runs -----------------------------------------------------------------------------


@dataclass
class Row:
    """One contender of an interleaved benchmark.

    ``argv(i)`` is the command of run ``i`` (timed); ``after(i)``, if given, runs untimed after
    it (e.g. deleting what the run left behind). Add a contender by appending a Row."""

    name: str
    argv: Callable[[int], list[str]]
    after: Callable[[int], None] | None = None
    env: dict[str, str] | None = None
    times: list[float] = field(default_factory=list)
    error: str | None = None

    def once(self, i: int) -> float:
        try:
            seconds, _ = timed(self.argv(i), env=self.env)
        finally:
            if self.after:
                self.after(i)
        return seconds


def interleave(rows: Sequence[Row], runs: int, warmup: int = 1) -> list[Row]:
    """Run every row ``warmup`` times untimed, then ``runs`` rounds A, B, C, A, B, C, …

    A row whose warm-up fails is reported and left out (its ``error`` is set); a failure in a
    timed round stops the benchmark. Returns the rows that ran."""
    live = []
    for row in rows:
        try:
            for w in range(warmup):
                row.once(-1 - w)
        except BenchError as e:
            row.error = str(e)
            print(f"note: leaving out {row.name!r}: its warm-up run failed: {e}", file=sys.stderr)
            continue
        live.append(row)
    for i in range(runs):
        for row in live:
            row.times.append(row.once(i))
        print(f"\rround {i + 1}/{runs}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return live


# -- workspace and cleanup ------------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived; treated like Ctrl-C so that cleanup runs."""


def _interrupt(signum: int, _frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _missing_levels(path: Path) -> list[Path]:
    """The directories from ``path`` up that do not exist yet, deepest first."""
    levels = []
    while not path.exists() and path != path.parent:
        levels.append(path)
        path = path.parent
    return levels


def _remove_with_new_parents(path: Path, made: list[Path]) -> None:
    """Remove ``path`` and, when empty, the levels above it that did not exist before (``made``)."""
    shutil.rmtree(path, ignore_errors=True)
    for level in made:
        with contextlib.suppress(OSError):
            level.rmdir()


def _remove_new_stdc_cgroups(hierarchies: list[Path]) -> None:
    """Remove ``stdc`` from each of ``hierarchies`` (where it did not exist before), if empty."""
    for hierarchy in hierarchies:
        with contextlib.suppress(OSError):
            (hierarchy / "stdc").rmdir()


class Workspace:
    """A private temporary directory under /var/tmp plus a stack of cleanups.

    Use as a context manager: on leaving (normally, by exception, Ctrl-C, SIGTERM or SIGHUP)
    the registered cleanups run last-registered first, each one attempted even if another
    fails, with further interruptions held off until they are done."""

    def __init__(self, prefix: str = "stdc-bench-") -> None:
        self.token = secrets.token_hex(4)
        self.prefix = prefix
        self.path = Path()
        self._cleanups: list[tuple[str, Callable[[], object]]] = []
        self._saved: dict[int, object] = {}

    def __enter__(self) -> Workspace:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._saved[sig] = signal.signal(sig, _interrupt)
        self.path = Path(tempfile.mkdtemp(prefix=f"{self.prefix}{self.token}-", dir="/var/tmp"))
        # liblxc mirrors each container path it locks under /run/lxc/lock (stdc's lxc runs, lxc-execute)
        mirror = Path("/run/lxc/lock") / str(self.path).lstrip("/")
        made = _missing_levels(mirror)
        self.on_exit(f"remove {mirror}", lambda: _remove_with_new_parents(mirror, made))
        # stdc's cgroup parents (stdc/ in each hierarchy) that this run makes go with it, when empty
        parents = [p for p in Path("/sys/fs/cgroup").glob("*/") if not (p / "stdc").exists()]
        self.on_exit("remove new stdc cgroup parents", lambda: _remove_new_stdc_cgroups(parents))
        self.on_exit(f"remove {self.path}", lambda: remove_tree(self.path))
        return self

    def on_exit(self, what: str, fn: Callable[[], object]) -> None:
        """Register a cleanup; ``what`` names it in a warning if it fails."""
        self._cleanups.append((what, fn))

    def __exit__(self, *exc: object) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._saved.setdefault(sig, signal.getsignal(sig))
            signal.signal(sig, signal.SIG_IGN)
        try:
            if exc[0] is not None and issubclass(exc[0], KeyboardInterrupt):  # type: ignore[arg-type]
                print("\ninterrupted; cleaning up", file=sys.stderr)
            while self._cleanups:
                what, fn = self._cleanups.pop()
                try:
                    fn()
                except Exception as e:  # noqa: BLE001 - every cleanup gets its chance
                    print(f"warning: cleanup failed: {what}: {e}", file=sys.stderr)
        finally:
            for sig, handler in self._saved.items():
                signal.signal(sig, handler)  # type: ignore[arg-type]


def _mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path``, deepest first."""
    prefix = str(path).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for entry in f:
            point = entry.split()[4]
            point = point.encode().decode("unicode_escape")  # \040 and friends
            if point == str(path) or point.startswith(prefix):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def remove_tree(path: Path) -> None:
    """Unmount whatever is mounted below ``path`` (only our own private directory is ever
    passed), then delete it."""
    if not path.exists():
        return
    for point in _mounts_under(path):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "--lazy", point], check=False)
    left = _mounts_under(path)
    if left:
        raise BenchError(f"not deleting {path}: still mounted: {', '.join(left)}")
    shutil.rmtree(path)


def bytecode_cache(ws: Workspace, enabled: bool) -> str:
    """Let stdc's Python processes cache their bytecode, as on any installed host, but in the
    workspace (PYTHONPYCACHEPREFIX) so nothing is written into the source tree; when disabled,
    leave the environment alone. Returns a line describing what stdc runs with."""
    forbidden = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    if not enabled:
        return "as the environment says" + (" (PYTHONDONTWRITEBYTECODE set: every run compiles)" if forbidden else "")
    saved = {k: os.environ.get(k) for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}

    def restore() -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    ws.on_exit("restore the bytecode environment", restore)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(ws.path / "pycache")
    return f"cached in {ws.path / 'pycache'}" + (" (PYTHONDONTWRITEBYTECODE dropped for it)" if forbidden else "")


# -- podman ---------------------------------------------------------------------------------------


def _podman_conf_ok(text: str) -> bool:
    try:
        conf = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return all(
        key in conf.get(table, {}) and conf[table][key] == tomllib.loads(f"v = {value}")["v"]
        for table, key, value in PODMAN_SETTINGS
    )


def _podman_conf_edit(text: str) -> str:
    """``text`` with each of PODMAN_SETTINGS set: the key's line replaced or added under its table."""
    lines = text.splitlines()
    for table, key, value in PODMAN_SETTINGS:
        setting = f"{key} = {value}"
        header = next((i for i, s in enumerate(lines) if s.strip() == f"[{table}]"), None)
        if header is None:
            lines += ["", f"[{table}]", setting]
            continue
        end = next((i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        for i in range(header + 1, end):
            if lines[i].split("=", 1)[0].strip() == key:
                lines[i] = setting
                break
        else:
            lines.insert(header + 1, setting)
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def podman_configured() -> Iterator[None]:
    """Make sure /etc/containers/containers.conf has what podman needs here; a file that had to
    be written or changed is put back as it was (or removed) on leaving."""
    original = PODMAN_CONF.read_bytes() if PODMAN_CONF.exists() else None
    if original is not None and _podman_conf_ok(original.decode(errors="replace")):
        yield
        return
    text = _podman_conf_edit(original.decode() if original is not None else "")
    if not _podman_conf_ok(text):
        raise BenchError(f"could not make {PODMAN_CONF} usable; please add: {PODMAN_SETTINGS}")
    PODMAN_CONF.parent.mkdir(parents=True, exist_ok=True)
    if original is not None:
        shutil.copy2(PODMAN_CONF, PODMAN_CONF.with_name(PODMAN_CONF.name + ".stdc-bench.bak"))
    print(f"note: {'edited' if original is not None else 'wrote'} {PODMAN_CONF} for this run", file=sys.stderr)
    PODMAN_CONF.write_text(text)
    try:
        yield
    finally:
        if original is None:
            PODMAN_CONF.unlink(missing_ok=True)
        else:
            PODMAN_CONF.write_bytes(original)
            PODMAN_CONF.with_name(PODMAN_CONF.name + ".stdc-bench.bak").unlink(missing_ok=True)


def ensure_tools(*tools: str) -> None:
    """apt-get install the Debian packages of the tools that are missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        print(f"installing {' '.join(missing)}", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", *missing], check=True, env=env, stdin=subprocess.DEVNULL)


def podman_label(ws: Workspace) -> str:
    """The label (KEY=VALUE) that marks this workspace's podman containers."""
    return f"{LABEL}={ws.token}"


def podman_cleanup(ws: Workspace, image: str | None = None) -> None:
    """Register removal of every podman container carrying this workspace's label, then of
    ``image`` (one the benchmark imported)."""

    def containers() -> None:
        ids = run(["podman", "ps", "-aq", "--no-trunc", "--filter", f"label={podman_label(ws)}"]).stdout.split()
        for chunk in range(0, len(ids), 50):
            run(["podman", "rm", "-f", "-t", "0", *ids[chunk : chunk + 50]], timeout=600)

    if image:
        ws.on_exit(f"podman rmi {image}", lambda: run(["podman", "rmi", "-f", image], timeout=600))
    ws.on_exit("podman rm -f (containers of this run)", containers)


def podman_import(ws: Workspace, layer: Path) -> str:
    """Import the layer tar as a podman image of this workspace; return its name."""
    image = f"localhost/stdc-bench-{ws.token}:latest"
    podman_cleanup(ws, image)
    run(["podman", "import", "--quiet", str(layer), image], timeout=600)
    return image


# -- stdc -----------------------------------------------------------------------------------------


def stdc_root(ws: Workspace, binary: str, name: str = "stdc-root") -> Path:
    """A private stdc root in the workspace; every container in it is removed on exit, and with
    them the bridge a run on the default network made."""
    root = ws.path / name

    def remove_containers() -> None:
        ids = run(stdc(binary, root, "ps", "-aq", "--no-trunc")).stdout.split()
        if ids:
            run(stdc(binary, root, "rm", "-f", *ids), timeout=600)
        run(stdc(binary, root, "network", "prune"), timeout=600)

    ws.on_exit(f"stdc rm -f (containers in {root})", remove_containers)
    return root


def stdc_daemon(ws: Workspace, binary: str, socket_name: str = "daemon.sock") -> tuple[dict[str, str], int]:
    """Start a ``stdc daemon`` on a socket in the workspace (stopped by its pid on exit);
    returns the environment that sends a ``stdc`` command to it, and the daemon's pid."""
    socket_path = ws.path / socket_name
    proc = subprocess.Popen(
        # the warm path alone (each command names its root): no Docker API on the default root's socket
        [binary, "daemon", "--socket", str(socket_path), "--no-api"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=30)

    ws.on_exit(f"stop stdc daemon (pid {proc.pid})", stop)
    deadline = time.monotonic() + 30
    while not socket_path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError("stdc daemon did not start listening")
        time.sleep(0.05)
    return {"STDC_DAEMON_SOCKET": str(socket_path)}, proc.pid


def prepare_stdc(ws: Workspace, binary: str, pyc_cache: bool) -> tuple[Path, Path, str]:
    """Set up stdc for timing: a private root (cleaned up on exit), bytecode caching (see
    :func:`bytecode_cache`), and the base image built by one untimed ``run --rm base /bin/true``.
    Returns the root, the base image's layer tar and the bytecode description."""
    bytecode = bytecode_cache(ws, pyc_cache)
    root = prepare_another_stdc(ws, binary, "stdc-root")
    return root, base_layer(root), bytecode


def prepare_another_stdc(ws: Workspace, binary: str, root_name: str) -> Path:
    """A private root named ``root_name`` for ``binary`` (another build of stdc, compared with the
    one under test), its base image built by one untimed run; the bytecode cache is shared."""
    root = stdc_root(ws, binary, root_name)
    try:
        run(stdc(binary, root, "run", "--rm", "--network", "none", "base", "/bin/true"), timeout=600)
    except BenchError as e:
        raise BenchError(f"{binary} cannot run its base image: {e}") from None
    return root


def base_layer(root: Path) -> Path:
    """The layer blob of ``base:latest`` in the stdc root's OCI image layout (one layer)."""
    layout = root / "images"

    def blob(digest: str) -> Path:
        algo, _, hexdigest = digest.partition(":")
        return layout / "blobs" / algo / hexdigest

    index = json.loads((layout / "index.json").read_text())
    refs = {m.get("annotations", {}).get(REF_ANNOTATION): m for m in index.get("manifests", [])}
    desc = refs.get(BASE_REF) or refs.get("base")
    if desc is None:
        raise BenchError(f"no {BASE_REF} in {layout}/index.json (found {sorted(k for k in refs if k)})")
    manifest = json.loads(blob(desc["digest"]).read_text())
    while "manifests" in manifest:  # an image index: take its first manifest
        manifest = json.loads(blob(manifest["manifests"][0]["digest"]).read_text())
    layers = manifest["layers"]
    if len(layers) != 1:
        raise BenchError(f"{BASE_REF} has {len(layers)} layers; expected one")
    return blob(layers[0]["digest"])


def unpack(layer: Path, dest: Path) -> None:
    """Extract a layer tar (any compression) into ``dest`` as root, owners and modes kept."""
    dest.mkdir(mode=0o755)
    with tarfile.open(layer, "r:*") as tar:
        tar.extractall(dest, numeric_owner=True, filter="tar")


# -- runc -----------------------------------------------------------------------------------------


def runc_bundle(ws: Workspace, rootfs: Path, args: Sequence[str]) -> Path:
    """A runc bundle from ``runc spec``: the given args, no terminal, the rootfs writable."""
    bundle = ws.path / "runc-bundle"
    bundle.mkdir()
    run(["runc", "spec", "--bundle", str(bundle)])
    config_path = bundle / "config.json"
    config = json.loads(config_path.read_text())
    config["process"]["args"] = list(args)
    config["process"]["terminal"] = False
    config["root"] = {"path": str(rootfs), "readonly": False}
    config_path.write_text(json.dumps(config, indent=2))
    return bundle


def runc_state_root(ws: Workspace) -> Path:
    """A private runc state directory (``runc --root``); containers left in it are deleted on exit."""
    state = ws.path / "runc-state"
    state.mkdir()

    def delete_all() -> None:
        for cid in run(["runc", "--root", str(state), "list", "-q"]).stdout.split():
            run(["runc", "--root", str(state), "delete", "-f", cid])

    ws.on_exit("runc delete -f (containers of this run)", delete_all)
    return state


def runc_delete_if_left(state: Path, cid: str) -> None:
    """Delete runc container ``cid`` if ``runc run`` left it behind (normally it is gone)."""
    if (state / cid).exists():
        run(["runc", "--root", str(state), "delete", "-f", cid])


# -- processes and memory -------------------------------------------------------------------------


@dataclass
class Proc:
    """One process in a :func:`processes` snapshot."""

    pid: int
    ppid: int
    comm: str
    cmdline: str


def processes() -> dict[int, Proc]:
    """A snapshot of every process: pid -> (parent, name, command line)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (FileNotFoundError, ProcessLookupError):
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        table[int(entry.name)] = Proc(int(entry.name), ppid, comm, cmdline)
    return table


def subtree(table: dict[int, Proc], pid: int) -> set[int]:
    """``pid`` and all its descendants in the snapshot."""
    children: dict[int, list[int]] = {}
    for p in table.values():
        children.setdefault(p.ppid, []).append(p.pid)
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p in found or p not in table:
            continue
        found.add(p)
        todo.extend(children.get(p, []))
    return found


def memory_kb(pid: int) -> dict[str, int]:
    """The kB figures of /proc/PID/smaps_rollup (Rss, Pss, Private_Dirty, …)."""
    figures = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for entry in f:
            parts = entry.split()
            if len(parts) == 3 and parts[2] == "kB":
                figures[parts[0].rstrip(":")] = int(parts[1])
    return figures


def pss_kb(pids: set[int] | Sequence[int]) -> int:
    """Sum of the proportional set sizes of ``pids``, in kB."""
    return sum(memory_kb(p)["Pss"] for p in pids)


def await_socket(path: Path, proc: subprocess.Popen, what: str) -> None:
    """Wait until ``proc`` (``what``) listens on the unix socket ``path``."""
    deadline = time.monotonic() + 60
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"{what} did not start listening on {path}")
        time.sleep(0.05)


def stdc_api_daemon(ws: Workspace, binary: str, root: Path) -> tuple[Path, int]:
    """``stdc daemon`` of ``root`` serving the Docker API on a socket in the workspace (stopped on
    exit); returns the API's socket and the pid of the API's own process (the daemon's child)."""
    api = ws.path / "stdc-docker.sock"
    env = dict(os.environ, STDC_ROOT=str(root))
    argv = [binary, "daemon", "--socket", str(ws.path / "stdc-warm.sock"), "--api-socket", str(api)]
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=60)

    ws.on_exit(f"stop stdc daemon (pid {proc.pid})", stop)
    await_socket(api, proc, "stdc daemon")
    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
        children = [int(p) for p in f.read().split()]
    if len(children) != 1:
        raise BenchError(f"stdc daemon has {len(children)} children, not its API's one process")
    return api, children[0]
