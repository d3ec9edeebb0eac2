"""The built-in ``base`` image, built offline from the host's static busybox.

One plain-tar layer: ``/bin/busybox``, a symlink to it for every applet (``busybox --list-full``),
a minimal ``/etc`` (passwd, group, hostname, hosts, resolv.conf, os-release) and the usual empty
directories. Every entry is owned by root with mtime 0 and written in sorted order, and the
config's ``created`` is the epoch, so the same busybox always gives the same digests.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from stdc.errors import NotFound
from stdc.images.store import ImageStore
from stdc.kit import imagespec

#: What users write to get the base image (the engine builds it when one of these is missing).
NAMES = ("base", "base:latest")
REFERENCE = "base:latest"
BUSYBOX = "/bin/busybox"
CREATED = "1970-01-01T00:00:00Z"
_NEED = "the built-in base image needs busybox (apt-get install busybox-static)"

_DIRS = {
    "bin": 0o755,
    "dev": 0o755,
    "etc": 0o755,
    "home": 0o755,
    "proc": 0o755,
    "root": 0o700,
    "run": 0o755,
    "sbin": 0o755,
    "sys": 0o755,
    "tmp": 0o1777,
    "usr": 0o755,
    "usr/bin": 0o755,
    "usr/sbin": 0o755,
    "var": 0o755,
}
_APPLET_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin")
_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n",
    "etc/hostname": "localhost\n",
    "etc/hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    "etc/resolv.conf": "",
    "etc/os-release": 'NAME="stdc base (busybox)"\nID=stdc-base\nPRETTY_NAME="stdc base (busybox)"\n',
}


def ensure_base(store: ImageStore) -> imagespec.Image:
    """Return the image ``base:latest``, building and tagging it first when it is missing."""
    try:
        return store.resolve(REFERENCE)
    except NotFound:
        return build_base(store)


def build_base(store: ImageStore, busybox: str = BUSYBOX) -> imagespec.Image:
    """Build the base image from ``busybox`` and tag it ``base:latest`` (replacing any older one)."""
    layer = base_layer(busybox)
    with store.ingesting():
        digest, size = store.put_blob(layer)
        config = {
            "created": CREATED,
            **imagespec.host_platform(),
            "config": {"Env": [f"PATH={imagespec.DEFAULT_PATH}"], "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [digest]},
            "history": [{"created": CREATED, "created_by": "stdc: built-in base image from busybox"}],
        }
        return store.add_image(REFERENCE, config, [imagespec.LayerDesc(digest, imagespec.LAYER_TAR, size, digest)])


def base_layer(busybox: str = BUSYBOX) -> bytes:
    """The base image's layer: an uncompressed tar, byte-for-byte the same for the same busybox."""
    import io  # imported here: the engine imports this module on every run, for NAMES
    import subprocess
    import tarfile

    with _open_busybox(busybox) as f:
        binary = f.read()
    listing = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout
    applets = {
        path
        for path in (line.strip().strip("/") for line in listing.splitlines())
        if path != "bin/busybox" and os.path.dirname(path) in _APPLET_DIRS and ".." not in path.split("/")
    }
    entries: dict[str, tarfile.TarInfo] = {}
    for path, mode in _DIRS.items():
        entries[path] = _info(path, tarfile.DIRTYPE, mode)
    entries["bin/busybox"] = _info("bin/busybox", tarfile.REGTYPE, 0o755, size=len(binary))
    for path in applets:
        entries[path] = _info(path, tarfile.SYMTYPE, 0o777, linkname="/bin/busybox")
    contents = {"bin/busybox": binary}
    for path, text in _FILES.items():
        contents[path] = text.encode()
        entries[path] = _info(path, tarfile.REGTYPE, 0o644, size=len(contents[path]))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(entries):
            data = contents.get(path)
            tar.addfile(entries[path], io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _info(path: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> Any:
    import tarfile

    info = tarfile.TarInfo(path)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, linkname
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
    return info


def _open_busybox(path: str) -> BinaryIO:
    """Open the busybox binary, making sure it is one that can run alone in a container."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except FileNotFoundError:
        raise NotFound(f"{_NEED}: {path} not found") from None
    try:
        if _interpreter(f):
            raise NotFound(f"{_NEED}: {path} is dynamically linked, a static one is needed")
    except BaseException:
        f.close()
        raise
    f.seek(0)
    return f


def _interpreter(f: BinaryIO) -> bool:
    """Whether the ELF file ``f`` asks for a program interpreter (is dynamically linked)."""
    import struct

    head = f.read(64)
    if head[:4] != b"\x7fELF" or len(head) < 64:
        raise NotFound(f"{_NEED}: {f.name} is not an ELF executable")
    order = "<" if head[5] == 1 else ">"
    if head[4] == 2:
        (phoff,) = struct.unpack(order + "Q", head[32:40])
        phentsize, phnum = struct.unpack(order + "HH", head[54:58])
    else:
        (phoff,) = struct.unpack(order + "I", head[28:32])
        phentsize, phnum = struct.unpack(order + "HH", head[42:46])
    f.seek(phoff)
    table = f.read(phentsize * phnum)
    pt_interp = 3
    return any(
        struct.unpack(order + "I", table[i : i + 4])[0] == pt_interp for i in range(0, len(table) - 3, phentsize or 1)
    )
