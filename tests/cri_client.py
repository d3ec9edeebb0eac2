"""A small CRI client: Python stubs generated from the vendored ``cri/api.proto`` (runtime.v1)
with grpcio-tools, and a busybox image as an OCI archive for ``ctr images import``."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import sys
import tarfile
from pathlib import Path
from types import ModuleType

PROTO_DIR = Path(__file__).parent / "cri"


def generate_stubs(out: Path) -> tuple[ModuleType, ModuleType]:
    """Generate ``api_pb2`` and ``api_pb2_grpc`` into ``out`` and import them."""
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    code = protoc.main(
        ["protoc", f"-I{PROTO_DIR}", f"--python_out={out}", f"--grpc_python_out={out}", str(PROTO_DIR / "api.proto")]
    )
    if code != 0:
        raise RuntimeError(f"protoc failed: {code}")
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")
    finally:
        sys.path.remove(str(out))


def _blob(layout: tarfile.TarFile, data: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest[7:]}")
    info.size = len(data)
    layout.addfile(info, io.BytesIO(data))
    return {"digest": digest, "size": len(data)}


def busybox_image_archive(rootfs: Path, archive: Path, name: str, cmd: list[str]) -> None:
    """An OCI image archive of one layer (``rootfs``) whose config runs ``cmd``, named ``name``
    (``io.containerd.image.name``), for ``ctr images import``."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        tar.add(rootfs, arcname=".")
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    with tarfile.open(archive, "w") as out:
        layer_desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar", **_blob(out, layer_bytes)}
        config_desc = {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            **_blob(out, json.dumps(config).encode()),
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config_desc,
            "layers": [layer_desc],
        }
        manifest_desc = {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            **_blob(out, json.dumps(manifest).encode()),
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "1"},
        }
        for path, data in (
            ("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
            ("index.json", json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}).encode()),
        ):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
