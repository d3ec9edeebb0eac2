"""Helpers of the OCI runtime tests: a busybox bundle made from the host's busybox (nothing from
the network), and ``stdc-runtime`` run with a root of the test's own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STDC_RUNTIME = os.path.join(os.path.dirname(sys.executable), "stdc-runtime")
APPLETS = ("sh", "echo", "cat", "sleep", "true", "id", "ls", "ps", "touch", "tty", "hostname", "stat", "grep")


def busybox_rootfs(path: Path) -> Path:
    """A root filesystem of the host's static busybox and its applets, with /etc files for ids."""
    (path / "bin").mkdir(parents=True)
    shutil.copy(shutil.which("busybox") or "/bin/busybox", path / "bin" / "busybox")
    for applet in APPLETS:
        (path / "bin" / applet).symlink_to("busybox")
    for directory in ("proc", "sys", "dev", "tmp", "etc"):
        (path / directory).mkdir(exist_ok=True)
    (path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
    (path / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return path


def make_bundle(path: Path, args: list[str], **process: object) -> Path:
    """A bundle at ``path``: busybox rootfs, ``stdc-runtime spec``'s config with ``args``, no
    terminal, a writable root, and ``process`` keys set."""
    path.mkdir(parents=True, exist_ok=True)
    busybox_rootfs(path / "rootfs")
    subprocess.run([STDC_RUNTIME, "spec", "--bundle", str(path)], check=True)
    spec = json.loads((path / "config.json").read_text())
    spec["process"].update({"args": args, "terminal": False, **process})
    spec["root"]["readonly"] = False
    write_spec(path, spec)
    return path


def read_spec(bundle: Path) -> dict:
    """The bundle's config.json."""
    return json.loads((bundle / "config.json").read_text())


def write_spec(bundle: Path, spec: dict) -> None:
    """Replace the bundle's config.json."""
    (bundle / "config.json").write_text(json.dumps(spec))


def runtime(root: Path, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """``stdc-runtime --root ROOT ARGS``, output captured as text — in files, not pipes: a
    created container keeps the runtime's stdio as its own, as runc's does."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        result = subprocess.run(
            [STDC_RUNTIME, "--root", str(root), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            timeout=timeout,
        )
        out.seek(0)
        err.seek(0)
        result.stdout, result.stderr = out.read().decode(), err.read().decode()
    if check and result.returncode != 0:
        raise AssertionError(f"stdc-runtime {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result
