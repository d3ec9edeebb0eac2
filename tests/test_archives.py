"""save/load (OCI and docker layouts), interop with skopeo, umoci and podman, bad and hostile
archives, and kill -9 during load and import."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time

import pytest
from conftest import STDC

PODMAN_IMAGE = f"localhost/stdc-test-{os.getpid()}:1"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _info(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, linkname
    return info


def _base_layer() -> bytes:
    """busybox and a shell, so containers of these images can look at themselves."""
    with open("/bin/busybox", "rb") as f:
        busybox = f.read()
    return _layer(
        [
            (_info("bin", tarfile.DIRTYPE, 0o755), None),
            (_info("bin/busybox", mode=0o755), busybox),
            (_info("bin/sh", tarfile.SYMTYPE, 0o777, "busybox"), None),
        ]
    )


ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd"


def _oci_archive(
    path: str,
    layers: list[bytes],
    name: str = "hand/made:1",
    *,
    layer_media: str = "application/vnd.oci.image.layer.v1.tar",
    manifest_media: str = "application/vnd.oci.image.manifest.v1+json",
    diff_ids: list[str] | None = None,
    layer_digests: dict[int, str] | None = None,
) -> str:
    """Write an OCI archive by hand (layers stored as given: plain or gzip bytes)."""
    blobs = {}
    descs = []
    for i, data in enumerate(layers):
        digest = _digest(data)
        blobs[digest] = data
        descs.append({"mediaType": layer_media, "digest": (layer_digests or {}).get(i, digest), "size": len(data)})
    if diff_ids is None:
        diff_ids = [_digest(gzip.decompress(d) if d[:2] == b"\x1f\x8b" else d) for d in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    blobs[_digest(config)] = config
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": manifest_media,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": descs,
        }
    ).encode()
    blobs[_digest(manifest)] = manifest
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": manifest_media,
                "digest": _digest(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": name},
            }
        ],
    }
    with tarfile.open(path, "w") as tar:
        files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": json.dumps(index).encode()}
        files.update({f"blobs/sha256/{d[7:]}": b for d, b in blobs.items()})
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _images(stdc) -> list[list[str]]:
    """Name, tag and id of every image (not the CREATED column, which ages)."""
    return [line.split()[:3] for line in stdc("images").stdout.splitlines()]


def _store_state(stdc, root: str) -> tuple[list[list[str]], set[str]]:
    return _images(stdc), set(os.listdir(os.path.join(root, "images", "blobs", "sha256")))


def _one_line_error(r) -> None:
    assert r.returncode == 125, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr


@pytest.fixture(scope="module")
def committed(root):
    """An image with two layers (base + a commit) to save and load: ``(name, id)``."""
    from conftest import run

    run("run", "--name", "arch-src", "base", "sh", "-c", "echo saved > /saved && rm /bin/ls")
    image_id = run("commit", "arch-src", "arch/saved:v1").stdout.strip()
    run("rm", "arch-src")
    yield "arch/saved:v1", image_id
    run("rmi", "-f", image_id, check=False)


def _check_image(stdc, name: str, image_id: str) -> None:
    assert json.loads(stdc("inspect", name).stdout)[0]["Id"] == image_id
    assert stdc("run", "--rm", name, "sh", "-c", "cat /saved; test -e /bin/ls || echo no-ls").stdout == "saved\nno-ls\n"


@pytest.mark.parametrize("fmt", [None, "docker-archive", "oci-archive"])
def test_save_and_load_round_trip(stdc, tmp_path, committed, fmt):
    name, image_id = committed
    path = str(tmp_path / "img.tar")
    stdc("save", *(["--format", fmt] if fmt else []), "-o", path, name)
    with tarfile.open(path) as tar:
        names = tar.getnames()
    if fmt == "docker-archive":
        assert "manifest.json" in names and any(n.endswith("/layer.tar") for n in names)
    else:
        assert "oci-layout" in names and "index.json" in names
    stdc("rmi", name)
    assert stdc("load", "-i", path).stdout.strip() == f"Loaded image: {name}"
    _check_image(stdc, name, image_id)


def test_save_to_stdout_load_from_stdin(stdc, committed):
    name, image_id = committed
    pipeline = f"{STDC} save {name} | {STDC} load"
    stdc("tag", name, "arch/copy:1")
    stdc("rmi", name)
    out = subprocess.run(
        ["sh", "-c", pipeline.replace(name, "arch/copy:1", 1)], capture_output=True, text=True, check=True
    )
    assert "Loaded image: arch/copy:1" in out.stdout
    stdc("tag", "arch/copy:1", name)
    stdc("rmi", "arch/copy:1")
    _check_image(stdc, name, image_id)


def test_skopeo_and_umoci_read_the_store_and_archives(stdc, root, tmp_path, committed):
    name, image_id = committed
    layout = os.path.join(root, "images")
    info = json.loads(
        subprocess.run(["skopeo", "inspect", f"oci:{layout}:{name}"], capture_output=True, check=True).stdout
    )
    assert len(info["Layers"]) == 2
    archive = str(tmp_path / "oci.tar")
    stdc("save", "-o", archive, name)
    info = json.loads(
        subprocess.run(["skopeo", "inspect", f"oci-archive:{archive}:{name}"], capture_output=True, check=True).stdout
    )
    assert len(info["Layers"]) == 2
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:{name}", str(bundle)], capture_output=True, check=True)
    assert (bundle / "rootfs" / "saved").read_text() == "saved\n"
    assert (bundle / "rootfs" / "bin" / "busybox").exists() and not (bundle / "rootfs" / "bin" / "ls").exists()


@pytest.mark.parametrize("dest", ["oci", "oci-archive"])
def test_load_what_skopeo_wrote(stdc, root, tmp_path, committed, dest):
    name, image_id = committed
    target = str(tmp_path / ("dir" if dest == "oci" else "sk.tar"))
    layout = os.path.join(root, "images")
    subprocess.run(
        ["skopeo", "copy", "-q", f"oci:{layout}:{name}", f"{dest}:{target}:skopeo/copied:v2"],
        capture_output=True,
        check=True,
    )
    assert stdc("load", "-i", target).stdout.strip() == "Loaded image: skopeo/copied:v2"
    _check_image(stdc, "skopeo/copied:v2", image_id)
    stdc("rmi", "skopeo/copied:v2")


def test_podman_interop(stdc, tmp_path, committed):
    """podman save (docker-archive and oci-archive) loads into stdc, and stdc's saves into podman."""
    name, image_id = committed
    cid = stdc("create", name, "true").stdout.strip()
    try:
        with open(tmp_path / "fs.tar", "wb") as out:
            subprocess.run([STDC, "export", cid], stdout=out, check=True)
    finally:
        stdc("rm", cid)
    podman_names = [PODMAN_IMAGE, f"localhost/{name}"]
    try:
        subprocess.run(
            ["podman", "import", "-q", str(tmp_path / "fs.tar"), PODMAN_IMAGE], capture_output=True, check=True
        )
        for fmt in ("docker-archive", "oci-archive"):
            path = str(tmp_path / f"podman-{fmt}.tar")
            subprocess.run(
                ["podman", "save", "-q", "--format", fmt, "-o", path, PODMAN_IMAGE], capture_output=True, check=True
            )
            assert stdc("load", "-i", path).stdout.strip() == f"Loaded image: {PODMAN_IMAGE}"
            out = stdc("run", "--rm", PODMAN_IMAGE, "sh", "-c", "cat /saved").stdout
            assert out == "saved\n"
            stdc("rmi", PODMAN_IMAGE)
        for fmt in ("docker-archive", "oci-archive"):
            path = str(tmp_path / f"stdc-{fmt}.tar")
            stdc("save", "--format", fmt, "-o", path, name)
            loaded = subprocess.run(["podman", "load", "-q", "-i", path], capture_output=True, text=True, check=True)
            assert "Loaded image" in loaded.stdout
            inspected = subprocess.run(
                ["podman", "image", "inspect", "--format", "{{.Id}}", f"localhost/{name}"],
                capture_output=True,
                text=True,
                check=True,
            )
            assert inspected.stdout.strip() == image_id.split(":")[1]
            subprocess.run(["podman", "rmi", "-f", f"localhost/{name}"], capture_output=True, check=True)
    finally:
        for image in podman_names:
            subprocess.run(["podman", "rmi", "-f", image], capture_output=True)


def test_bad_archives_change_nothing(stdc, root, tmp_path):
    base = _base_layer()
    gz = gzip.compress(base)
    cases = {
        "truncated-gzip": dict(
            layers=[gz[: len(gz) // 2]],
            diff_ids=[_digest(base)],
            layer_media="application/vnd.oci.image.layer.v1.tar+gzip",
        ),
        "wrong-digest": dict(layers=[base], layer_digests={0: _digest(b"something else")}),
        "wrong-diff-id": dict(layers=[base], diff_ids=[_digest(b"not this layer")]),
        "unknown-layer-type": dict(layers=[base], layer_media="application/vnd.oci.image.layer.v1.tar+lz4"),
        "corrupt-zstd": dict(
            layers=[b"\x28\xb5\x2f\xfd" + os.urandom(4000)], diff_ids=[_digest(base)], layer_media=ZSTD_LAYER
        ),
        "unknown-manifest-type": dict(layers=[base], manifest_media="application/x-unknown"),
    }
    before = _store_state(stdc, root)
    for case, kwargs in cases.items():
        path = _oci_archive(str(tmp_path / f"{case}.tar"), name=f"bad/{case}:1", **kwargs)
        r = stdc("load", "-i", path, check=False)
        _one_line_error(r)
        assert _store_state(stdc, root) == before, case
    for case, data in {"garbage": os.urandom(5000), "empty": b"", "json": b"{}"}.items():
        (tmp_path / case).write_bytes(data)
        _one_line_error(stdc("load", "-i", str(tmp_path / case), check=False))
    truncated = tmp_path / "truncated.tar"
    good = _oci_archive(str(tmp_path / "good.tar"), [gz], layer_media="application/vnd.oci.image.layer.v1.tar+gzip")
    with open(good, "rb") as f:
        data = f.read()
    truncated.write_bytes(data[: len(data) // 2])
    _one_line_error(stdc("load", "-i", str(truncated), check=False))
    assert _store_state(stdc, root) == before


def test_zstd_layer_loads_and_runs(stdc, tmp_path):
    """A layer compressed with zstd (``tar+zstd``, as ``--compression-format zstd`` writes) is
    read like a gzip one: its diff_id checked over the uncompressed tar."""
    import zstandard

    base = _base_layer()
    packed = zstandard.ZstdCompressor(write_checksum=True).compress(base)
    path = _oci_archive(
        str(tmp_path / "z.tar"), [packed], "zstd/made:1", layer_media=ZSTD_LAYER, diff_ids=[_digest(base)]
    )
    stdc("load", "-i", path)
    try:
        assert stdc("run", "--rm", "zstd/made:1", "sh", "-c", "echo from zstd").stdout.strip() == "from zstd"
    finally:
        stdc("rmi", "zstd/made:1")


HOSTILE_MARKER = f"stdc-hostile-{os.getpid()}"


def _hostile_cases() -> dict[str, tuple[list, str]]:
    """name -> (layer entries, what must happen: "load" refused, "run" refused, or "ok" neutralized)."""
    m = HOSTILE_MARKER
    return {
        "dotdot": ([(_info(f"../../../../tmp/{m}"), b"x")], "load"),
        "absolute": ([(_info(f"/tmp/{m}"), b"inside")], "ok"),
        "symlink-out-then-write": (
            [(_info("out", tarfile.SYMTYPE, 0o777, "/tmp"), None), (_info(f"out/{m}"), b"through")],
            "ok",
        ),
        "hardlink-to-host": ([(_info("pw", tarfile.LNKTYPE, linkname="/etc/passwd"), None)], "run"),
        "hardlink-dotdot": ([(_info("pw", tarfile.LNKTYPE, linkname="../../etc/passwd"), None)], "load"),
        "symlink-loop": (
            [
                (_info("a", tarfile.SYMTYPE, 0o777, "b"), None),
                (_info("b", tarfile.SYMTYPE, 0o777, "a"), None),
                (_info("a/x"), b"x"),
            ],
            "run",
        ),
        "device": ([(_chr("dev-null-copy"), None), (_info("after"), b"ok")], "ok"),
        "setuid": ([(_info("suid", mode=0o4755), b"#!/bin/sh\n")], "ok"),
        "whiteout-dotdot": ([(_info(".wh.."), b"")], "load"),
    }


def _chr(name: str) -> tarfile.TarInfo:
    info = _info(name, tarfile.CHRTYPE, 0o666)
    info.devmajor, info.devminor = 1, 3
    return info


@pytest.mark.parametrize("case", list(_hostile_cases()))
def test_hostile_layers(stdc, root, tmp_path, case):
    entries, outcome = _hostile_cases()[case]
    name = f"hostile/{case}:1"
    path = _oci_archive(str(tmp_path / "h.tar"), [_base_layer(), _layer(entries)], name)
    before = _store_state(stdc, root)
    r = stdc("load", "-i", path, check=False)
    try:
        if outcome == "load":
            _one_line_error(r)
            assert _store_state(stdc, root) == before
            return
        assert r.returncode == 0, r.stderr
        probe = f"ls /tmp/{HOSTILE_MARKER} /{HOSTILE_MARKER} /out 2>/dev/null; cat /tmp/{HOSTILE_MARKER} 2>/dev/null;"
        probe += " ls /dev-null-copy 2>&1; cat /after 2>/dev/null; stat -c %a /suid 2>/dev/null; true"
        r = stdc("run", "--rm", name, "sh", "-c", probe, check=False)
        if outcome == "run":
            _one_line_error(r)
            assert name not in stdc("ps", "-a").stdout  # no container was left half made
        else:
            assert r.returncode == 0, r.stderr
            if case == "absolute":
                assert "inside" in r.stdout  # /tmp/marker, inside the container
            if case == "symlink-out-then-write":
                assert "through" in r.stdout  # written through the link: into the container's /tmp
            if case == "device":
                assert "No such file" in r.stdout and "ok" in r.stdout  # the node skipped, the rest there
            if case == "setuid":
                assert "4755" in r.stdout  # kept as data: the container runs with no_new_privs
    finally:
        stdc("rmi", "-f", name, check=False)
        for leak in (f"/tmp/{HOSTILE_MARKER}", f"/{HOSTILE_MARKER}"):
            assert not os.path.exists(leak), f"a layer wrote {leak} on the host"


def test_layers_are_not_reachable_by_other_users(stdc, root):
    """A setuid file in a layer is data: no one but root can even reach the unpacked layers."""
    stdc("run", "--rm", "base", "true")
    layers = os.path.join(root, "storage", "overlay", "layers")
    assert os.stat(layers).st_mode & 0o077 == 0


def _big_layer_archive(path: str, megabytes: int) -> str:
    """An OCI archive whose one layer holds ``megabytes`` of random data (plain tar)."""
    data = os.urandom(1 << 20) * megabytes  # repeated: random enough to matter, quick to make
    layer = _layer([(_info("big"), data)])
    return _oci_archive(path, [layer], "big/archive:1")


@pytest.mark.parametrize("command", ["load", "import"])
def test_kill_during_load_or_import_leaves_no_half_image(stdc, root, tmp_path, command):
    path = _big_layer_archive(str(tmp_path / "big.tar"), 400)
    args = ["import", path, "big/import:1"] if command == "import" else ["load", "-i", path]
    ingest = os.path.join(root, "images", ".stdc", "ingest")
    before = _images(stdc)
    proc = subprocess.Popen([STDC, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if any(
            os.path.getsize(os.path.join(ingest, n)) > 1_000_000 for n in os.listdir(ingest) if n.startswith("blob-")
        ):
            break
        time.sleep(0.01)
    assert proc.poll() is None, "finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _images(stdc) == before
    # the next command works, and the next load/import of the same file is whole
    small = _oci_archive(str(tmp_path / "small.tar"), [_base_layer()], "small/after:1")
    stdc("load", "-i", small)
    assert stdc("run", "--rm", "small/after:1", "sh", "-c", "echo ok").stdout == "ok\n"
    stdc("rmi", "small/after:1")
    assert not [n for n in os.listdir(ingest) if n.startswith("blob-")]
    shutil.rmtree(tmp_path, ignore_errors=True)
