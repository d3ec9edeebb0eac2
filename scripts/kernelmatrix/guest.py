"""One kernel booted under virtme-ng (TCG), a command run inside, its output streamed and its status returned.

The guest sees the host's filesystem read-only over 9p (vng's default); guest-init.sh unpacks the
checkout and Python's standard library from a fresh ext4 disk, with scratch space for /var/tmp and
stdc's root, and runs the command there.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
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


def stdlib() -> str:
    """The standard library of the checkout's virtual environment (Debian's, or wherever its Python lives)."""
    python = str(CHECKOUT / ".venv" / "bin" / "python3")
    code = "import sysconfig; print(sysconfig.get_paths()['stdlib'])"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


# Parts of the standard library no stdc command or test imports.
STDLIB_EXCLUDES = ["site-packages", "dist-packages", "test", "idlelib", "tkinter", "ensurepip", "lib2to3", "config-*"]


def _shared_libraries(binaries: list[str]) -> set[str]:
    """The binaries and every shared library they load (ldd), as real paths."""
    found = {os.path.realpath(b) for b in binaries}
    for binary in binaries:
        listing = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            words = line.split()
            path = words[2] if len(words) > 2 and words[1] == "=>" else words[0] if words else ""
            if path.startswith("/"):
                found.add(os.path.realpath(path))
    return found


def host_binaries() -> list[str]:
    """The host files a stdc command maps (Python, its extension modules' and the executors' libraries):
    copied onto the guest's disk and bound over their 9p originals, whose pages 9p never caches."""
    python = os.path.realpath(CHECKOUT / ".venv" / "bin" / "python3")
    extensions = [str(p) for p in Path(stdlib(), "lib-dynload").glob("*.so")]
    extensions += [str(p) for p in (CHECKOUT / ".venv").rglob("*.so") if "virtme" not in str(p)]
    libraries = _shared_libraries([python, "/usr/bin/busybox", *extensions])
    checkout_or_stdlib = (str(CHECKOUT) + "/", stdlib() + "/")
    return sorted(p for p in libraries if os.path.isfile(p) and not p.startswith(checkout_or_stdlib))


def guest_disk(target: Path, size: str = "8G") -> None:
    """A sparse, fresh ext4 image: the checkout (with .venv) and the standard library under tree/, the rest scratch."""
    stage = target.with_name("stage")
    tree = stage / "tree"
    tree.mkdir(parents=True)
    library = stdlib().lstrip("/")
    paths = [str(CHECKOUT).lstrip("/"), library]
    excludes = [f"--exclude={pattern}" for pattern in TREE_EXCLUDES]
    excludes += [f"--exclude={library}/{pattern}" for pattern in STDLIB_EXCLUDES]
    pack = subprocess.Popen(["tar", "-C", "/", "-cf", "-", *excludes, *paths], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-C", str(tree), "-xf", "-"], stdin=pack.stdout, check=True)
    if pack.wait() != 0:
        raise RuntimeError("packing the checkout for the guest failed")
    files = host_binaries()
    for f in files:
        (tree / f.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, tree / f.lstrip("/"))
    (stage / "bind-files").write_text("".join(f + "\n" for f in files))
    (stage / "bind-dirs").write_text(f"{CHECKOUT}\n/{library}\n")
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
            start_new_session=True,  # vng runs QEMU through a shell: the whole group goes on a kill
        )
        try:
            _follow(exchange / "output.log", guest, timeout, out)
        finally:
            if guest.poll() is None:  # interrupted: the guest goes with us
                _kill(guest)
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


def _kill(guest: subprocess.Popen) -> None:
    """End vng and the QEMU it started (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(guest.pid, signal.SIGKILL)
    guest.wait()


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
            _kill(guest)
            out.write(f"\ntest-kernels: guest killed after {timeout:.0f} s\n")
        time.sleep(0.5)
