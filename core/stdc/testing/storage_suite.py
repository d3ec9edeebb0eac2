"""The storage conformance kit: what every storage driver (:mod:`stdc.specs.storage`) does the same.

Each test takes the fixture ``storage`` (a driver's name) and is parametrized over the drivers
chosen by, in order: ``--stdc-storage NAME`` (with ``-p stdc.testing.storage_suite``), the environment
variable ``STDC_TEST_STORAGE`` (comma-separated), a module-level ``STORAGES`` list in the test
module that star-imports this one, else every installed storage driver::

    pytest -p stdc.testing.storage_suite --pyargs stdc.testing.storage_suite --stdc-storage NAME
    STDC_TEST_STORAGE=NAME pytest --pyargs stdc.testing.storage_suite

Two kinds of tests. Those that read the driver's *files and mount descriptions* need no kernel
support: layer apply in the driver's whiteout format, where the mounts say the layers and the
writable layer are (overlay's ``lowerdir``/``upperdir``, aufs' ``br:``/``append:`` branches, a
bind mount's source), that each mount's options fit one page on a deep chain, concurrent
prepare/remove, cleanup, usage accounting, the fast diff's format. Those that *mount* (the
union view with whiteouts and opaque directories, snapshot isolation, deep chains, concurrent
mounted snapshots, the diff/commit round trip through the CLI) need the driver usable on this
host; where it is not they are skipped as ``NOT RUN (NAME not usable here: REASON)`` — never
passed — and the run ends with a count of them and why. Needs root.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = [
    "pytest_generate_tests",
    "storage",
    "storage_scratch",
    "driver",
    "test_unusable_is_one_line_and_touches_nothing",
    "test_add_layer_is_atomic",
    "test_layer_whiteouts_in_the_declared_format",
    "test_mounts_name_the_layers",
    "test_deep_chain_mount_options_fit_a_page",
    "test_concurrent_prepare_and_remove",
    "test_usage_accounting",
    "test_fast_diff_in_the_declared_format",
    "test_cleanup_leaves_nothing",
    "test_view_applies_whiteouts_opaque_dirs_and_metadata",
    "test_snapshots_are_isolated",
    "test_deep_chain_view",
    "test_concurrent_mounted_snapshots",
    "test_diff_commit_round_trip",
]

NOT_RUN = "NOT RUN"
PAGE = os.sysconf("SC_PAGE_SIZE")
DEEP = 64
STDC = os.path.join(os.path.dirname(sys.executable), "stdc")


# -- pytest plumbing ------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stdc", "stdc conformance suites")
    group.addoption(
        "--stdc-storage",
        action="append",
        default=[],
        metavar="NAME",
        help="storage driver(s) the storage kit runs against (repeatable; default: every installed one)",
    )


def _chosen(config: pytest.Config, module: object) -> list[str]:
    names: list[str] = []
    with contextlib.suppress(ValueError):
        names = list(config.getoption("--stdc-storage") or [])
    if not names and os.environ.get("STDC_TEST_STORAGE"):
        names = [n for n in os.environ["STDC_TEST_STORAGE"].split(",") if n]
    if not names:
        names = list(getattr(module, "STORAGES", []))
    if not names:
        from stdc import discovery

        names = discovery.installed_names("storage")
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # this module may be both a plugin (-p) and the test module: parametrize once
    if "storage" not in metafunc.fixturenames or getattr(metafunc, "_stdc_storage", False):
        return
    metafunc._stdc_storage = True  # type: ignore[attr-defined]
    if not metafunc.config.pluginmanager.has_plugin(_NotRunReport.NAME):
        metafunc.config.pluginmanager.register(_NotRunReport(), _NotRunReport.NAME)
    metafunc.parametrize("storage", _chosen(metafunc.config, metafunc.module), indirect=True, scope="session")


class _NotRunReport:
    """Ends the run with how many kit tests were not run, per driver and reason."""

    NAME = "stdc-storage-not-run"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        counts: dict[str, int] = {}
        for report in terminalreporter.stats.get("skipped", []):
            text = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            if NOT_RUN in text:
                reason = text[text.index(NOT_RUN) :]
                counts[reason] = counts.get(reason, 0) + 1
        if counts:
            total = sum(counts.values())
            terminalreporter.write_sep("=", f"stdc storage kit: {total} test(s) NOT RUN (not passed)")
            for reason, n in sorted(counts.items()):
                terminalreporter.write_line(f"{n:4d} {reason}")


# -- fixtures -------------------------------------------------------------------------------------


@dataclass
class Driver:
    """One storage driver under test, with a home of its own for one test."""

    name: str
    hook: Any
    home: str
    reason: str | None  # why it is not usable here, or None
    #: layer id -> what its apply call saw: format, staging before and after extraction
    applied: dict[str, dict] = field(default_factory=dict)

    def add(self, layer_id: str, parent: str | None, tar: bytes) -> None:
        from stdc.images.layers import apply_layer

        def apply(staging: str, fmt: str) -> None:
            before = read_tree(staging)
            apply_layer(io.BytesIO(tar), staging, fmt)
            self.applied[layer_id] = {"format": fmt, "before": before, "after": read_tree(staging)}

        self.hook.storage_add_layer(home=self.home, layer_id=layer_id, parent_id=parent, apply=apply)

    def chain(self, tars: list[bytes]) -> list[str]:
        """Add layers one on top of the other; return their ids, base first."""
        ids: list[str] = []
        for tar in tars:
            ids.append(chain_id(ids[-1] if ids else None, tar))
            self.add(ids[-1], ids[-2] if len(ids) > 1 else None, tar)
        return ids

    def prepare(self, snapshot: str, parent: str | None) -> list:
        return self.hook.storage_prepare(home=self.home, snapshot_id=snapshot, parent_id=parent)

    def need_kernel(self) -> None:
        """Skip, reported as not run, when the driver cannot mount on this host."""
        if self.reason:
            pytest.skip(f"{NOT_RUN} ({self.name} not usable here: {self.reason})")

    def view(self, snapshot: str, fn: Callable[[str], Any]) -> Any:
        """Mount the snapshot in a private mount namespace and return ``fn(mounted_dir)``."""
        self.need_kernel()
        from stdc.kit import syscalls
        from stdc.kit.mounts import mount_all
        from stdc.kit.privatens import in_private_namespace

        mounts = self.hook.storage_mounts(home=self.home, snapshot_id=snapshot)
        where = tempfile.mkdtemp(prefix="view-", dir=os.path.dirname(self.home))

        def work() -> Any:
            mount_all(mounts, where)
            try:
                return fn(where)
            finally:
                syscalls.umount(where, syscalls.MNT_DETACH)

        try:
            return in_private_namespace(work)
        finally:
            os.rmdir(where)

    def remove_everything(self) -> None:
        listed = self.hook.storage_list(home=self.home)
        for snapshot in listed["snapshots"]:
            self.hook.storage_remove(home=self.home, snapshot_id=snapshot)
        for layer in listed["layers"]:
            self.hook.storage_remove_layer(home=self.home, layer_id=layer)


@pytest.fixture(scope="session")
def storage(request: pytest.FixtureRequest) -> str:
    """The storage driver under test (its name)."""
    if os.geteuid() != 0:
        pytest.fail("the storage kit writes owners, devices and trusted xattrs and mounts: it needs root")
    return request.param


@pytest.fixture(scope="session")
def storage_scratch() -> Iterator[str]:
    """A directory for the whole run (homes, views, a private stdc root); removed at the end."""
    path = tempfile.mkdtemp(prefix="stdc-storage-kit-", dir="/var/tmp")
    yield path
    assert not _mounts_below(path), f"left mounted: {_mounts_below(path)}"
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def driver(storage: str, storage_scratch: str) -> Iterator[Driver]:
    """The driver with a fresh home; everything it holds is removed after the test, and checked."""
    from stdc import discovery

    home = tempfile.mkdtemp(prefix=f"{storage}-", dir=storage_scratch)
    os.rmdir(home)  # a driver makes its home itself
    backend = discovery.load("storage", storage)
    d = Driver(storage, backend.hook, home, backend.unusable(home))
    yield d
    d.remove_everything()
    assert not _mounts_below(storage_scratch), f"left mounted: {_mounts_below(storage_scratch)}"
    shutil.rmtree(home, ignore_errors=True)


def _mounts_below(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path)]


# -- layers ---------------------------------------------------------------------------------------


def chain_id(parent: str | None, tar: bytes) -> str:
    diff = hashlib.sha256(tar).hexdigest()
    return "sha256:" + hashlib.sha256(f"{parent} sha256:{diff}".encode()).hexdigest()


def layer(*entries: tuple) -> bytes:
    """A layer tar: ``("f", path, data, mode, uid, gid, mtime, xattrs)``, ``("d", path, mode)``,
    ``("l", path, target)`` (symlink), ``("h", path, target)`` (hardlink), ``("w", path)``
    (whiteout), ``("o", dir)`` (opaque)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, path, *rest in entries:
            if kind == "w":
                head, _, name = path.rpartition("/")
                path = f"{head}/.wh.{name}" if head else f".wh.{name}"
            elif kind == "o":
                path = f"{path}/.wh..wh..opq"
            info = tarfile.TarInfo(path)
            info.mtime, info.mode = 1_000_000_000, 0o644
            data = b""
            if kind == "f":
                data = rest[0] if rest else b""
                if len(rest) > 1:
                    info.mode, info.uid, info.gid, info.mtime = rest[1:5]
                if len(rest) > 5:
                    info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in rest[5].items()}
                info.size = len(data)
            elif kind == "d":
                info.type, info.mode = tarfile.DIRTYPE, rest[0] if rest else 0o755
            elif kind in ("l", "h"):
                info.type = tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE
                info.linkname = rest[0]
            tar.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


BASE = layer(
    ("d", "etc", 0o755),
    ("f", "etc/a", b"a\n"),
    ("f", "etc/b", b"b\n"),
    ("f", "etc/meta", b"meta\n", 0o4751, 1234, 5678, 1_111_111_111, {"user.kit": "value"}),
    ("h", "etc/meta-link", "etc/meta"),
    ("l", "etc/sym", "../etc/a"),
    ("d", "d", 0o750),
    ("f", "d/x", b"x\n"),
    ("f", "d/y", b"y\n"),
    ("d", "keep", 0o700),
    ("f", "keep/z", b"z\n"),
)
CHILD = layer(
    ("d", "etc", 0o755),
    ("w", "etc/a"),
    ("d", "d", 0o750),
    ("o", "d"),
    ("f", "d/new", b"new\n"),
    ("f", "etc/c", b"c\n"),
    ("f", ".wh..wh.aufs", b""),  # aufs' own bookkeeping: never part of a layer
)
#: what a snapshot of BASE + CHILD shows (regular files by content)
VIEW = {
    "etc/b": b"b\n",
    "etc/c": b"c\n",
    "etc/meta": b"meta\n",
    "etc/meta-link": b"meta\n",
    "d/new": b"new\n",
    "keep/z": b"z\n",
}


def read_tree(root: str) -> dict[str, tuple]:
    """``{path: (type, mode, uid, gid, mtime, content or link target, xattrs, inode)}``, no ``root``."""
    tree: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            content: Any = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    content = f.read()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(path)
            elif stat.S_ISCHR(st.st_mode):
                content = st.st_rdev
            xattrs = {}
            with contextlib.suppress(OSError):
                for key in os.listxattr(path, follow_symlinks=False):
                    xattrs[key] = os.getxattr(path, key, follow_symlinks=False)
            mtime = None if stat.S_ISDIR(st.st_mode) else st.st_mtime_ns // 10**9
            tree[os.path.relpath(path, root)] = (
                stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, mtime, content, xattrs,
                (st.st_dev, st.st_ino),
            )  # fmt: skip
    return tree


def files(tree: dict[str, tuple]) -> dict[str, bytes]:
    return {p: e[5] for p, e in tree.items() if e[0] == stat.S_IFREG}


def without_inodes(tree: dict[str, tuple]) -> dict[str, tuple]:
    return {p: e[:7] for p, e in tree.items()}


@dataclass
class Described:
    """What a snapshot's mount description says, read without mounting."""

    kind: str  # "union" (writable dir over layer dirs), "copy" (one full directory) or "unknown"
    writable: str | None = None
    layers: list[str] = field(default_factory=list)  # topmost first


def describe(mounts: list) -> Described:
    """Read overlay (``lowerdir``/``upperdir``), aufs (``br:``, ``append:``) and bind mounts."""
    if len(mounts) == 1 and mounts[0].type == "bind":
        return Described("copy", mounts[0].source)
    if len(mounts) == 1 and mounts[0].type == "overlay":
        opts = dict(o.split("=", 1) for o in mounts[0].options if "=" in o)
        return Described("union", opts.get("upperdir"), opts.get("lowerdir", "").split(":"))
    if mounts and all(m.type == "aufs" for m in mounts):
        branches: list[list[str]] = []
        for m in mounts:
            for option in m.options:
                if option.startswith("br:"):
                    branches = [b.rsplit("=", 1) for b in option[3:].split(":")]
                elif option.startswith("append:"):
                    branches.append(option[7:].rsplit("=", 1))
        assert branches and branches[0][1] == "rw", f"the top aufs branch must be rw: {branches[:1]}"
        assert all(mode == "ro+wh" for _d, mode in branches[1:]), f"layers must be ro+wh: {branches}"
        return Described("union", branches[0][0], [d for d, _mode in branches[1:]])
    return Described("unknown")


def _described(d: Driver, mounts: list) -> Described:
    found = describe(mounts)
    if found.kind == "unknown":
        pytest.skip(f"{NOT_RUN} (the kit reads overlay, aufs and bind mounts only: {mounts})")
    return found


# -- without the kernel: files and mount descriptions -------------------------------------------


def test_unusable_is_one_line_and_touches_nothing(driver: Driver) -> None:
    reason = driver.hook.storage_unusable(home=driver.home)
    assert reason is None or (isinstance(reason, str) and reason and "\n" not in reason and len(reason) < 200)
    assert not os.path.exists(driver.home), "storage_unusable created the driver's home"


def test_add_layer_is_atomic(driver: Driver) -> None:
    layer_id = chain_id(None, BASE)

    def broken(staging: str, fmt: str) -> None:
        with open(os.path.join(staging, "half-written"), "w") as f:
            f.write("x")
        raise RuntimeError("the layer is corrupt")

    with pytest.raises(RuntimeError):
        driver.hook.storage_add_layer(home=driver.home, layer_id=layer_id, parent_id=None, apply=broken)
    assert not driver.hook.storage_has_layer(home=driver.home, layer_id=layer_id)
    assert driver.hook.storage_list(home=driver.home)["layers"] == []
    leftovers = [p for p in _non_dirs(driver.home) if "half-written" in p]
    assert not leftovers, f"a failed add left {leftovers}"
    driver.add(layer_id, None, BASE)
    assert driver.hook.storage_has_layer(home=driver.home, layer_id=layer_id)
    assert driver.hook.storage_list(home=driver.home)["layers"] == [layer_id]
    for _ in range(2):  # idempotent
        driver.hook.storage_remove_layer(home=driver.home, layer_id=layer_id)
        assert not driver.hook.storage_has_layer(home=driver.home, layer_id=layer_id)


def test_layer_whiteouts_in_the_declared_format(driver: Driver) -> None:
    base, child = driver.chain([BASE, CHILD])
    fmt = driver.applied[base]["format"]
    assert fmt in ("overlay", "aufs", "apply") and driver.applied[child]["format"] == fmt
    after = driver.applied[child]["after"]
    assert ".wh..wh.aufs" not in after
    if fmt == "apply":  # a full copy: staging holds the parent, the deletions are carried out
        assert without_inodes(driver.applied[child]["before"]) == without_inodes(driver.applied[base]["after"])
        assert files(after) == VIEW
        return
    assert driver.applied[base]["before"] == driver.applied[child]["before"] == {}, "a union layer starts empty"
    assert files(after).get("d/new") == b"new\n" and "d/x" not in after and "keep" not in after
    if fmt == "aufs":
        assert after["etc/.wh.a"][0] == stat.S_IFREG and after["d/.wh..wh..opq"][0] == stat.S_IFREG
    else:
        assert after["etc/a"][0] == stat.S_IFCHR and after["etc/a"][5] == 0
        assert after["d"][6].get("trusted.overlay.opaque") == b"y"


def test_mounts_name_the_layers(driver: Driver) -> None:
    base, child = driver.chain([BASE, CHILD])
    prepared = driver.prepare("s1", child)
    assert [m.to_dict() for m in driver.hook.storage_mounts(home=driver.home, snapshot_id="s1")] == [
        m.to_dict() for m in prepared
    ], "storage_mounts must give again what storage_prepare gave"
    found = _described(driver, prepared)
    assert found.writable and os.path.isdir(found.writable)
    if found.kind == "copy":
        assert files(read_tree(found.writable)) == VIEW
        return
    assert os.listdir(found.writable) == [], "a new snapshot's writable layer is empty"
    assert len(found.layers) == 2
    for layer_dir, layer_id in zip(found.layers, (child, base), strict=True):
        assert without_inodes(read_tree(layer_dir)) == without_inodes(driver.applied[layer_id]["after"])
    fast = driver.hook.storage_changes(home=driver.home, snapshot_id="s1")
    if fast is not None:
        assert os.path.samefile(fast[0], found.writable), "the fast diff must read the writable layer"


def test_deep_chain_mount_options_fit_a_page(driver: Driver) -> None:
    ids = driver.chain(_deep_layers())
    mounts = driver.prepare("deep", ids[-1])
    from stdc.kit.mounts import split_options

    for m in mounts:
        _flags, data = split_options(m.options)
        # stdc.kit.mounts.mount_all shortens an overlay lowerdir list itself; all else must fit
        assert m.type == "overlay" or len(data) < PAGE, f"{m.type} options of {len(data)} bytes exceed a page"
    found = _described(driver, mounts)
    if found.kind == "copy":
        assert set(files(read_tree(found.writable))) == {"keep", f"f{DEEP - 1}"}
        return
    assert len(found.layers) == DEEP
    for layer_dir, layer_id in zip(found.layers, reversed(ids), strict=True):
        assert without_inodes(read_tree(layer_dir)) == without_inodes(driver.applied[layer_id]["after"])


def _deep_layers() -> list[bytes]:
    tars = [layer(("f", "keep", b"kept"), ("f", "f0", b"0"))]
    tars += [layer(("w", f"f{i - 1}"), ("f", f"f{i}", str(i).encode())) for i in range(1, DEEP)]
    return tars


def test_concurrent_prepare_and_remove(driver: Driver) -> None:
    _base, child = driver.chain([BASE, CHILD])
    names = [f"c{i}" for i in range(8)]
    results: dict[str, Any] = {}

    def prepare(name: str) -> None:
        try:
            results[name] = driver.prepare(name, child)
        except BaseException as e:  # noqa: BLE001 - reported below
            results[name] = e

    _together(prepare, names)
    errors = {n: r for n, r in results.items() if isinstance(r, BaseException)}
    assert not errors, errors
    assert sorted(driver.hook.storage_list(home=driver.home)["snapshots"]) == names
    writable = {describe(m).writable for m in results.values()}
    assert None in writable or len(writable) == len(names), "two snapshots share a writable layer"
    _together(lambda n: driver.hook.storage_remove(home=driver.home, snapshot_id=n), names)
    assert driver.hook.storage_list(home=driver.home)["snapshots"] == []


def _together(fn: Callable[[str], None], names: list[str]) -> None:
    start = threading.Barrier(len(names))
    threads = [threading.Thread(target=lambda n=n: (start.wait(), fn(n))) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_usage_accounting(driver: Driver) -> None:
    big = layer(("f", "big", os.urandom(1 << 20)))
    base, child = driver.chain([big, layer(("f", "small", b"s"))])
    used = {i: driver.hook.storage_usage(home=driver.home, snapshot_id=i) for i in (base, child)}
    assert used[base] >= 1 << 20
    if driver.applied[child]["format"] == "apply":
        assert used[child] >= 1 << 20, "a full copy holds its parent's bytes too"
    else:
        assert used[child] < 256 << 10, "a union layer counts its own files only"
    found = _described(driver, driver.prepare("u", child))
    before = driver.hook.storage_usage(home=driver.home, snapshot_id="u")
    with open(os.path.join(found.writable, "written"), "wb") as f:
        f.write(os.urandom(2 << 20))
    after = driver.hook.storage_usage(home=driver.home, snapshot_id="u")
    assert after - before >= 2 << 20


def test_fast_diff_in_the_declared_format(driver: Driver) -> None:
    from stdc.images.layerwriter import TarWriter, write_tree

    _base, child = driver.chain([BASE, CHILD])
    driver.prepare("f", child)
    fast = driver.hook.storage_changes(home=driver.home, snapshot_id="f")
    if fast is None:
        return  # no fast diff: the core walks the snapshot against its parent (the round trip tests that)
    upper, fmt = fast
    assert fmt in ("overlay", "aufs")
    # the changes written as the union filesystem writes them: a new file, a deleted one, a
    # directory made opaque, and (aufs) the bookkeeping aufs keeps in its writable branch
    with open(os.path.join(upper, "new"), "w") as f:
        f.write("n")
    os.mkdir(os.path.join(upper, "keep"))
    if fmt == "overlay":
        os.mknod(os.path.join(upper, "gone"), stat.S_IFCHR, os.makedev(0, 0))
        os.setxattr(os.path.join(upper, "keep"), "trusted.overlay.opaque", b"y")
    else:
        open(os.path.join(upper, ".wh.gone"), "w").close()
        open(os.path.join(upper, "keep", ".wh..wh..opq"), "w").close()
        for meta in (".wh..wh.plnk", ".wh..wh.orph"):
            os.mkdir(os.path.join(upper, meta))
            open(os.path.join(upper, meta, "1234.5678"), "w").close()
        open(os.path.join(upper, ".wh..wh.aufs"), "w").close()
    out = io.BytesIO()
    writer = TarWriter(out.write, gzip=False)
    fd = os.open(upper, os.O_RDONLY | os.O_DIRECTORY)
    try:
        write_tree(writer, fd, whiteouts=fmt)
    finally:
        os.close(fd)
    writer.close()
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        names = sorted(m.name for m in tar)
    assert names == [".wh.gone", "keep", "keep/.wh..wh..opq", "new"]


def test_cleanup_leaves_nothing(driver: Driver) -> None:
    driver.prepare("warm-up", None)
    driver.hook.storage_remove(home=driver.home, snapshot_id="warm-up")
    baseline = set(_non_dirs(driver.home))
    ids = driver.chain([BASE, CHILD])
    for name in ("a", "b"):
        driver.prepare(name, ids[-1])
    driver.remove_everything()
    for _ in range(2):  # idempotent
        driver.hook.storage_remove(home=driver.home, snapshot_id="a")
    assert driver.hook.storage_list(home=driver.home) == {"layers": [], "snapshots": []}
    assert set(_non_dirs(driver.home)) <= baseline, f"left behind: {sorted(set(_non_dirs(driver.home)) - baseline)}"


def _non_dirs(root: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        found += [os.path.join(dirpath, n) for n in filenames]
        found += [os.path.join(dirpath, n) for n in dirnames if os.path.islink(os.path.join(dirpath, n))]
    return found


# -- mounted: needs the driver usable on this host ------------------------------------------------


def test_view_applies_whiteouts_opaque_dirs_and_metadata(driver: Driver) -> None:
    driver.need_kernel()
    _base, child = driver.chain([BASE, CHILD])
    driver.prepare("v", child)
    tree = driver.view("v", read_tree)
    assert files(tree) == VIEW
    assert "etc/a" not in tree and "d/x" not in tree and "d/y" not in tree and ".wh..wh.aufs" not in tree
    assert not [p for p in tree if os.path.basename(p).startswith(".wh.")], "whiteouts show in the view"
    kind, mode, uid, gid, mtime, _content, xattrs, inode = tree["etc/meta"]
    assert (mode, uid, gid, mtime) == (0o4751, 1234, 5678, 1_111_111_111)
    assert xattrs.get("user.kit") == b"value"
    assert tree["etc/meta-link"][7] == inode, "a hardlink is one inode"
    assert tree["etc/sym"][5] == "../etc/a" and tree["d"][1] == 0o750 and tree["keep"][1] == 0o700


def test_snapshots_are_isolated(driver: Driver) -> None:
    driver.need_kernel()
    _base, child = driver.chain([BASE, CHILD])
    for name in ("one", "two"):
        driver.prepare(name, child)

    def change(root: str) -> None:
        with open(os.path.join(root, "etc/b"), "a") as f:
            f.write("more\n")
        os.unlink(os.path.join(root, "keep/z"))
        os.rename(os.path.join(root, "etc/c"), os.path.join(root, "etc/c-moved"))
        with open(os.path.join(root, "added"), "w") as f:
            f.write("one\n")
        os.chmod(os.path.join(root, "etc/meta"), 0o600)

    driver.view("one", change)
    changed = driver.view("one", read_tree)
    assert files(changed)["etc/b"] == b"b\nmore\n" and "keep/z" not in changed and "etc/c-moved" in changed
    assert changed["etc/meta"][1] == 0o600
    untouched = without_inodes(driver.view("two", read_tree))
    driver.prepare("three", child)
    assert without_inodes(driver.view("three", read_tree)) == untouched, "a change reached the image's layers"
    assert files(untouched) == VIEW and untouched["etc/meta"][1] == 0o4751


def test_deep_chain_view(driver: Driver) -> None:
    driver.need_kernel()
    ids = driver.chain(_deep_layers())
    driver.prepare("deep", ids[-1])
    assert files(driver.view("deep", read_tree)) == {"keep": b"kept", f"f{DEEP - 1}": str(DEEP - 1).encode()}


def test_concurrent_mounted_snapshots(driver: Driver) -> None:
    driver.need_kernel()
    _base, child = driver.chain([BASE, CHILD])
    names = [f"m{i}" for i in range(6)]
    _together(lambda n: driver.prepare(n, child), names)
    outcome: dict[str, Any] = {}

    def write_and_read(name: str) -> None:
        def work(root: str) -> dict[str, bytes]:
            with open(os.path.join(root, "etc/b"), "w") as f:
                f.write(name)
            with open(os.path.join(root, name), "w") as f:
                f.write(name)
            return files(read_tree(root))

        try:
            outcome[name] = driver.view(name, work)
        except BaseException as e:  # noqa: BLE001 - reported below
            outcome[name] = e

    _together(write_and_read, names)
    for name in names:
        assert outcome[name] == {**VIEW, "etc/b": name.encode(), name: name.encode()}, outcome[name]


# -- through the CLI: diff and commit round trip --------------------------------------------------


def _cli(root: str, storage: str) -> Callable[..., subprocess.CompletedProcess]:
    env = {**os.environ, "STDC_ROOT": root, "STDC_CONFIG": os.path.join(root, "no-config.toml")}
    env.pop("STDC_STORAGE", None)

    def run(*args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess:
        # the storage under test, and no network: no bridge is made in the kit's private root
        result = subprocess.run(
            [STDC, "--storage", storage, "--net", "none", *args], capture_output=True, env=env, timeout=120,
            stdin=subprocess.DEVNULL, **kw,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"stdc {' '.join(args)} exited {result.returncode}: {result.stderr.decode()}")
        return result

    return run


_LOWER = (
    "mkdir -p /data/sub /data/opq && echo one > /data/one && echo two > /data/sub/two && echo x > /data/opq/x"
    " && echo keep > /data/keep && ln -s one /data/link"
)
_CHANGES = (
    "rm /data/one /etc/hostname && mv /data/sub/two /data/two-moved"
    " && rm -rf /data/opq && mkdir /data/opq && echo y > /data/opq/y && echo changed > /data/keep"
    " && mkdir -p /new/mode && echo f > /new/file && ln /new/file /new/hard && ln -s ../data/keep /new/sym"
    " && chown 1234:5678 /new/file && chmod 4750 /new/file && touch -d '2001-02-03 04:05:06' /new/file"
    " && chown 42:43 /new/mode && chmod 700 /new/mode && mkfifo /new/fifo"
)


def test_diff_commit_round_trip(storage: str, storage_scratch: str) -> None:
    """Changes of every kind, made by a container on a two-layer image, survive diff, commit and
    a new container; nothing stays mounted and no snapshot is left after rm."""
    from stdc import discovery

    backend = discovery.load("storage", storage)
    root = os.path.join(storage_scratch, f"root-{storage}")
    reason = backend.unusable(os.path.join(root, "storage", storage))
    if reason:
        pytest.skip(f"{NOT_RUN} ({storage} not usable here: {reason})")
    stdc = _cli(root, storage)
    try:
        stdc("run", "--name", "lower", "base", "sh", "-c", _LOWER)
        stdc("commit", "lower", "kit:lower")
        stdc("run", "--name", "kit-c", "kit:lower", "sh", "-c", _CHANGES)
        xattr_file = os.path.join(storage_scratch, f"xattr-{storage}")
        with open(xattr_file, "w") as f:
            f.write("x")
        os.setxattr(xattr_file, "user.kit", b"round trip")
        stdc("cp", "-a", xattr_file, "kit-c:/new/xattr")
        listed = stdc("diff", "kit-c").stdout.decode().splitlines()
        for line in ("D /data/one", "D /etc/hostname", "D /data/sub/two", "A /data/two-moved", "C /data/keep",
                     "D /data/opq/x", "A /data/opq/y", "A /new/file", "A /new/hard", "A /new/sym", "A /new/fifo",
                     "A /new/xattr", "C /data", "A /new"):  # fmt: skip
            assert line in listed, f"{line!r} not in the diff: {listed}"
        assert not [line for line in listed if ".wh." in line]
        stdc("commit", "kit-c", "kit:round-trip")
        stdc("create", "--name", "kit-v", "kit:round-trip", "true")
        before, after = _exported(stdc, "kit-c"), _exported(stdc, "kit-v")
        assert after == before, "the committed image differs from the container it was made of"
        assert "data/one" not in after and "etc/hostname" not in after and "data/opq/x" not in after
        assert after["data/two-moved"][5] == b"two\n" and after["data/keep"][5] == b"changed\n"
        assert after["new/file"][:5] == ("0", 0o4750, 1234, 5678, after["new/file"][4])
        assert after["new/hard"][0] == "1" and after["new/hard"][5] == "new/file"  # a hardlink entry
        assert after["new/sym"][5] == "../data/keep" and after["new/mode"][1:4] == (0o700, 42, 43)
        assert after["new/xattr"][6] == {"user.kit": "round trip"} and after["new/fifo"][0] == "6"
        stamp = stdc("run", "--rm", "kit:round-trip", "stat", "-c", "%Y", "/new/file").stdout.decode().strip()
        assert int(stamp) == after["new/file"][4] == before["new/file"][4] != 0
    finally:
        ids = stdc("ps", "-aq", "--no-trunc", check=False).stdout.decode().split()
        if ids:
            stdc("rm", "-f", *ids, check=False)
        stdc("rmi", "-f", "kit:round-trip", "kit:lower", check=False)
    home = os.path.join(root, "storage", storage)
    assert backend.hook.storage_list(home=home)["snapshots"] == [], "rm left a snapshot"
    assert not _mounts_below(root), f"left mounted: {_mounts_below(root)}"


def _exported(stdc: Callable[..., subprocess.CompletedProcess], name: str) -> dict[str, tuple]:
    data = stdc("export", name).stdout
    tree = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar:
            content: Any = m.linkname if (m.issym() or m.islnk()) else None
            if m.isreg():
                content = tar.extractfile(m).read()  # type: ignore[union-attr]
            xattrs = {k[len("SCHILY.xattr.") :]: v for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}
            tree[m.name.removeprefix("./")] = (m.type.decode(), m.mode, m.uid, m.gid, m.mtime, content, xattrs)
    tree.pop("", None)
    return tree
