"""The matrix's kernels: Debian's own image fetched with apt, or a kernel built from Debian's source with AUFS.

Everything is cached under a directory outside the checkout, keyed by the hash of what went into it
(package version, patches, config), so only the first run on a machine pays for a download or build.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("STDC_KERNEL_CACHE", "/var/cache/stdc-kernels"))
# Bumped whenever the build steps below change what comes out for the same inputs.
RECIPE = "aufs-build-1"
# Changes to the vendor config, made before `make olddefconfig`: no debug info (a third of the build
# time, never used here).
CONFIG_CHANGES = ["-d", "DEBUG_INFO", "-e", "DEBUG_INFO_NONE", "-d", "DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT"]


@dataclass(frozen=True)
class Kernel:
    """A kernel ready to boot: its image, and the modules tree vng needs (None for a kernel without modules)."""

    name: str
    image: Path
    modules: Path | None
    release: str


def vendor_dir() -> Path:
    """The shared vendor directory: $STDC_VENDOR, else `../shared/vendor` beside the checkout."""
    if os.environ.get("STDC_VENDOR"):
        return Path(os.environ["STDC_VENDOR"])
    return Path(__file__).resolve().parents[3] / "shared" / "vendor"


def _package_version(package: str) -> str:
    """The version apt would install of a package (its candidate)."""
    out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("Candidate:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"apt knows no {package}")


def _debian_image_package() -> str:
    """The versioned image package `linux-image-amd64` depends on now, e.g. linux-image-6.1.0-57-amd64."""
    out = subprocess.run(
        ["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True, check=True
    ).stdout
    for line in out.splitlines():
        name = line.strip().removeprefix("Depends:").strip()
        if line.strip().startswith("Depends:") and name.startswith("linux-image-6.1"):
            return name
    raise RuntimeError("linux-image-amd64 depends on no linux-image-6.1.* package")


def _digest(*parts: bytes) -> str:
    """A short hash of the parts, each length-prefixed so no two lists of parts collide."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()[:16]


def debian_kernel() -> Kernel:
    """Debian 12's own kernel, extracted from its package into the cache (the host's /boot stays untouched)."""
    package = _debian_image_package()
    version = _package_version(package)
    target = CACHE / f"debian-6.1-{_digest(package.encode(), version.encode())}"
    release = package.removeprefix("linux-image-")
    if not (target / "done").exists():
        shutil.rmtree(target, ignore_errors=True)
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        subprocess.run(["apt-get", "download", "-q", package], cwd=staging, check=True)
        (deb,) = glob.glob(str(staging / "*.deb"))
        subprocess.run(["dpkg-deb", "-x", deb, str(staging / "root")], check=True)
        os.unlink(deb)
        # vng's guest loads modules (9p, virtio, overlay) with modprobe, which needs the index files
        subprocess.run(["depmod", "-b", str(staging / "root"), release], check=True)
        (staging / "done").write_text(f"{package} {version}\n")
        staging.rename(target)
    return Kernel("debian-6.1", target / "root" / "boot" / f"vmlinuz-{release}", target / "root", release)


def aufs_inputs() -> tuple[str, list[Path], Path]:
    """What an aufs-6.1 build is made of: Debian's source version, the patches in order, the config."""
    vendor = vendor_dir()
    patches = [
        vendor / "aufs6.1" / "aufs6-kbuild.patch",
        vendor / "aufs6.1" / "aufs6-base.patch",
        vendor / "aufs6.1-debian-6.1-mmap.patch",
    ]
    return _package_version("linux-source-6.1"), patches, vendor / "aufs-6.1-kernel.config"


def _aufs_key() -> str:
    """The cache key of an aufs-6.1 build: recipe, source version, patches, aufs sources, config."""
    version, patches, config = aufs_inputs()
    aufs_tree = vendor_dir() / "aufs6.1"
    sources = sorted(p for p in (aufs_tree / "fs" / "aufs").rglob("*") if p.is_file())
    sources.append(aufs_tree / "include" / "uapi" / "linux" / "aufs_type.h")
    parts = [RECIPE.encode(), version.encode(), " ".join(CONFIG_CHANGES).encode(), config.read_bytes()]
    parts += [p.read_bytes() for p in patches]
    parts += [str(p.relative_to(aufs_tree)).encode() + b"\0" + p.read_bytes() for p in sources]
    return _digest(*parts)


def aufs_kernel(log: Path | None = None) -> Kernel:
    """The aufs-6.1 kernel: built once from Debian's linux-source-6.1 with the vendor aufs patches, then cached."""
    target = CACHE / f"aufs-6.1-{_aufs_key()}"
    if not (target / "done").exists():
        _build_aufs(target, log)
    return Kernel("aufs-6.1", target / "bzImage", None, (target / "release").read_text().strip())


def _build_aufs(target: Path, log: Path | None) -> None:
    """Unpack the source, patch in aufs, configure and `make bzImage` at nice 19; keep only the image."""
    version, patches, config = aufs_inputs()
    tarball = Path("/usr/src/linux-source-6.1.tar.xz")
    if not tarball.exists():
        raise RuntimeError(f"{tarball} missing: run `bash scripts/setup --kernels` (installs linux-source-6.1)")
    build = CACHE / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    out = open(log, "ab") if log else None  # noqa: SIM115 - handed to several subprocesses below
    try:
        with tarfile.open(tarball) as tar:
            tar.extractall(build, filter="fully_trusted")
        (src,) = [p for p in build.iterdir() if p.is_dir()]

        def run(*cmd: str, stdin: Path | None = None) -> None:
            with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp:
                subprocess.run(cmd, cwd=src, stdin=inp, stdout=out, stderr=out, check=True)

        for patch in patches:
            run("patch", "-p1", "--forward", "--quiet", stdin=patch)
        aufs_tree = vendor_dir() / "aufs6.1"
        shutil.copytree(aufs_tree / "fs" / "aufs", src / "fs" / "aufs")
        shutil.copy(aufs_tree / "include" / "uapi" / "linux" / "aufs_type.h", src / "include" / "uapi" / "linux")
        # CONFIG_WERROR would stop the build on aufs's own warnings
        with open(src / "fs" / "aufs" / "Makefile", "a") as makefile:
            makefile.write("ccflags-y += -Wno-error\n")
        shutil.copy(config, src / ".config")
        run("scripts/config", "--file", ".config", *CONFIG_CHANGES)
        run("make", "olddefconfig")
        jobs = str(os.cpu_count() or 2)
        run("nice", "-n", "19", "make", f"-j{jobs}", "bzImage")
        release = subprocess.run(
            ["make", "-s", "kernelrelease"], cwd=src, capture_output=True, text=True, check=True
        ).stdout.strip()
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copy(src / "arch" / "x86" / "boot" / "bzImage", staging / "bzImage")
        shutil.copy(src / ".config", staging / "config")
        (staging / "release").write_text(release + "\n")
        (staging / "done").write_text(f"linux-source-6.1 {version}\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        if out:
            out.close()
        shutil.rmtree(build, ignore_errors=True)
