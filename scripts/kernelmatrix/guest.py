"""One kernel booted under virtme-ng (TCG), a command run inside, its output streamed and its status returned.

The guest sees the host's filesystem read-only over 9p (vng's default); guest-init.sh unpacks the
checkout and Python's standard library from a fresh ext4 disk, with scratch space for /var/tmp and
stdc's root, and runs the command there.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kernelmatrix.kernels import Kernel

CHECKOUT = Path(__file__).resolve().parents[2]
GUEST_INIT = Path(__file__).resolve().with_name("guest-init.sh")
# What no guest needs unpacked: the VM tooling itself, and git's metadata.
TREE_EXCLUDES = [".git", "*.opt-1.pyc", "*.opt-2.pyc", "virtme*", "vng*", "pip", "pip-*", "ruff", "ruff-*"]
#: a status meaning the guest never ran the command (it did not boot, or its setup failed)
NOT_BOOTED = 125


def guest_disk(target: Path, size: str = "8G") -> None:
    """A sparse, fresh ext4 image: the checkout (with .venv) and the standard library under tree/, the rest scratch."""
    stage = target.with_name("stage")
    tree = stage / "tree"
    tree.mkdir(parents=True)
    paths = [str(CHECKOUT).lstrip("/"), "usr/lib/python3.11"]
    excludes = [f"--exclude={pattern}" for pattern in TREE_EXCLUDES]
    pack = subprocess.Popen(["tar", "-C", "/", "-cf", "-", *excludes, *paths], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-C", str(tree), "-xf", "-"], stdin=pack.stdout, check=True)
    if pack.wait() != 0:
        raise RuntimeError("packing the checkout for the guest failed")
    subprocess.run(["truncate", "-s", size, str(target)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(stage), str(target)], check=True)
    shutil.rmtree(stage)


def vng_command(kernel: Kernel, exchange: Path, cpus: int, memory: str) -> list[str]:
    """The vng command line booting ``kernel`` under TCG with the exchange directory shared read-write."""
    init = f"sh {shlex.quote(str(GUEST_INIT))} {shlex.quote(str(exchange))} {shlex.quote(str(CHECKOUT))}"
    return [
        str(CHECKOUT / ".venv" / "bin" / "vng"),
        "--run",
        str(kernel.image),
        "--disable-kvm",
        "--cpus",
        str(cpus),
        "--memory",
        memory,
        "--rwdir",
        str(exchange),
        *(["--rodir", str(kernel.modules)] if kernel.modules else []),
        # virtio-blk: vng's --disk (virtio-scsi) never shows a disk in these guests
        f"--qemu-opts=-drive file={exchange / 'disk.img'},format=raw,if=virtio,cache=unsafe",
        "--exec",
        init,
    ]


def run_in_guest(
    kernel: Kernel, command: str, *, cpus: int = 2, memory: str = "4G", timeout: float = 3600, out=sys.stdout
) -> int:
    """Boot ``kernel``, run ``command`` (sh) inside, stream its output to ``out``; its exit status, else NOT_BOOTED."""
    # not under /var/tmp, which the guest covers with its scratch space
    exchange = Path(tempfile.mkdtemp(prefix="stdc-vm-", dir="/tmp"))
    try:
        (exchange / "command").write_text(command + "\n")
        guest_disk(exchange / "disk.img")
        env = dict(os.environ, PATH=f"{CHECKOUT / '.venv' / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}")
        log = open(exchange / "vng.log", "wb")  # noqa: SIM115 - closed below, after the guest ends
        guest = subprocess.Popen(
            ["nice", "-n", "10", *vng_command(kernel, exchange, cpus, memory)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        _follow(exchange / "output.log", guest, timeout, out)
        log.close()
        status_file = exchange / "status"
        if status_file.exists():
            return int(status_file.read_text().strip() or NOT_BOOTED)
        out.write(f"test-kernels: {kernel.name} did not run the command (boot or guest setup failed); vng said:\n")
        out.write((exchange / "vng.log").read_text(errors="replace")[-4000:])
        out.flush()
        return NOT_BOOTED
    finally:
        shutil.rmtree(exchange, ignore_errors=True)


def _follow(path: Path, guest: subprocess.Popen, timeout: float, out) -> None:
    """Copy what the guest appends to ``path`` to ``out`` until the guest exits (killed past ``timeout``)."""
    deadline = time.monotonic() + timeout
    offset = 0
    while True:
        done = guest.poll() is not None
        if path.exists():
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
            if chunk:
                offset += len(chunk)
                out.write(chunk.decode(errors="replace"))
                out.flush()
        if done:
            return
        if time.monotonic() > deadline:
            guest.kill()
            guest.wait()
            out.write(f"\ntest-kernels: guest killed after {timeout:.0f} s\n")
        time.sleep(0.5)
