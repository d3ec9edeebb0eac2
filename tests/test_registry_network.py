"""Registries as a newcomer meets them: on loopback with no configuration (insecure as docker
treats 127.0.0.0/8), ``--tls-verify=false``, behind an HTTP proxy (``HTTPS_PROXY``/``HTTP_PROXY``
/``NO_PROXY``), answering 503 for a while, cutting a blob download, with credentials in a docker
credential helper, and serving zstd layers.

Every server is started by the test on 127.0.0.1: Debian's docker-registry, a fault-injecting
front server, an HTTP proxy. Nothing else is contacted.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import registry_server as rs
import zstandard

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
LOGIN = ("alice", "s3cret")


@pytest.fixture(scope="module")
def plain(root, tmp_path_factory):
    """A plain-http registry on loopback: ``127.0.0.1:PORT`` (and base built in the store)."""
    from conftest import run

    run("run", "--rm", "base", "true")
    with rs.registry(tmp_path_factory.mktemp("registry")) as host:
        yield host


@pytest.fixture(scope="module")
def secure(root, tmp_path_factory):
    """A registry on loopback with TLS (a certificate no one trusts) and a login: ``127.0.0.1:PORT``
    (and base built in the store)."""
    from conftest import run

    run("run", "--rm", "base", "true")
    work = tmp_path_factory.mktemp("secure")
    _ca, cert, key = rs.make_ca(work / "pki")
    with rs.registry(work / "registry", htpasswd=LOGIN, tls=(cert, key)) as host:
        yield host


@pytest.fixture
def unconfigured(tmp_path, monkeypatch):
    """No ``[registry]`` settings at all, and a credentials directory of this test; no proxy."""
    for key, value in rs.environ(tmp_path).items():
        monkeypatch.setenv(key, value)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return Path(os.environ["DOCKER_CONFIG"])


def _inspect(stdc, name: str) -> dict:
    """The image's ImageInspect, with its manifest ``Digest`` and the digests of its layer blobs
    (``Layers``) read from the manifest in the store."""
    doc = json.loads(stdc("inspect", "--type", "image", name).stdout)[0]
    digest = doc["Descriptor"]["digest"]
    manifest_path = Path(os.environ["STDC_ROOT"]) / "images" / "blobs" / "sha256" / digest[7:]
    manifest = json.loads(manifest_path.read_bytes())
    return {**doc, "Digest": digest, "Layers": [layer["digest"] for layer in manifest["layers"]]}


def _pushed(stdc, registry: str, name: str) -> str:
    """Push base as ``registry/name`` and drop the local tag: the reference to pull."""
    remote = f"{registry}/{name}"
    stdc("tag", "base", remote)
    stdc("push", "-q", remote)
    stdc("rmi", remote)
    return remote


# -- loopback is insecure without configuration ---------------------------------------------------


def test_loopback_registries_need_no_configuration(stdc, plain, secure, unconfigured):
    """Plain http and TLS with an untrusted certificate, both on 127.0.0.1: push, pull, login and
    logout work with no [registry] settings, as they do under docker."""
    remote = _pushed(stdc, plain, "noconf/base:1")
    try:
        stdc("pull", remote)
        assert stdc("run", "--rm", remote, "echo", "ok").stdout.strip() == "ok"
    finally:
        stdc("rmi", "-f", remote, check=False)

    r = stdc("login", "-u", LOGIN[0], "--password-stdin", secure, input=f"{LOGIN[1]}\n")
    assert r.stdout.strip() == "Login Succeeded"
    remote = _pushed(stdc, secure, "noconf/base:1")
    try:
        stdc("pull", remote)
        assert _inspect(stdc, remote)["Id"] == _inspect(stdc, "base")["Id"]
    finally:
        stdc("rmi", "-f", remote, check=False)
    assert stdc("logout", secure).stdout.strip() == f"Removing login credentials for {secure}"
    assert "stdc login" in rs.one_line_error(stdc("pull", remote, check=False))


def test_tls_verify_setting_and_flag(stdc, secure, unconfigured, tmp_path, monkeypatch):
    """``--tls-verify`` (true) makes even a loopback registry strict, and says in one line what to
    do; ``--tls-verify=false`` is insecure even where the host file's ``tls_verify = true`` is
    strict — for login, push, pull and logout."""
    error = rs.one_line_error(stdc("login", "--tls-verify", "-u", LOGIN[0], "-p", LOGIN[1], secure, check=False))
    assert "cannot verify" in error and "--tls-verify=false" in error and "ca.crt" in error
    for key, value in rs.environ(tmp_path, tls_verify=True).items():
        monkeypatch.setenv(key, value)
    assert "cannot verify" in rs.one_line_error(stdc("login", "-u", LOGIN[0], "-p", LOGIN[1], secure, check=False))
    stdc("login", "--tls-verify=false", "-u", LOGIN[0], "-p", LOGIN[1], secure)
    remote = f"{secure}/flagged/base:1"
    stdc("tag", "base", remote)
    try:
        assert "cannot verify" in rs.one_line_error(stdc("push", remote, check=False))
        stdc("push", "--tls-verify=false", remote)
        stdc("rmi", remote)
        assert "cannot verify" in rs.one_line_error(stdc("pull", remote, check=False))
        stdc("pull", "--tls-verify=false", remote)
    finally:
        stdc("rmi", "-f", remote, check=False)
    assert stdc("logout", "--tls-verify=false", secure).stdout.strip() == f"Removing login credentials for {secure}"


# -- proxies ----------------------------------------------------------------------------------------


def test_registry_traffic_goes_through_the_proxy_the_environment_names(stdc, plain, secure, unconfigured, monkeypatch):
    """HTTPS_PROXY: a CONNECT tunnel to the TLS registry; HTTP_PROXY: plain http forwarded in
    absolute form; NO_PROXY: straight to the registry."""
    stdc("login", "-u", LOGIN[0], "-p", LOGIN[1], secure)
    remote = _pushed(stdc, secure, "proxied/base:1")
    plain_remote = _pushed(stdc, plain, "proxied/base:1")
    with rs.ForwardProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("http_proxy", proxy.url)
        try:
            stdc("pull", remote)
            assert f"CONNECT {secure}" in proxy.seen
            stdc("pull", plain_remote)
            assert f"GET http://{plain}/v2/proxied/base/manifests/1" in proxy.seen
            stdc("rmi", remote, plain_remote)

            seen = len(proxy.seen)
            monkeypatch.setenv("NO_PROXY", f"example.invalid,{secure.split(':')[0]}")
            stdc("pull", remote)
            stdc("pull", plain_remote)
            assert proxy.seen[seen:] == []
        finally:
            stdc("rmi", "-f", remote, plain_remote, check=False)
            stdc("logout", secure)


# -- faults the pull survives ---------------------------------------------------------------------


@pytest.fixture
def fronted(stdc, plain, unconfigured, tmp_path):
    """An image of its own (one layer of 4 MB of random bytes) in the registry, absent locally,
    behind a fault-injecting front server: ``(front, reference through it, its layers)``."""
    (tmp_path / "noise").write_bytes(os.urandom(4_000_000))
    subprocess.run(["tar", "-C", str(tmp_path), "-cf", str(tmp_path / "rootfs.tar"), "noise"], check=True)
    local = f"{plain}/faults/noise:1"
    stdc("import", str(tmp_path / "rootfs.tar"), local)
    layers = _inspect(stdc, local)["Layers"]
    stdc("push", "-q", local)
    stdc("rmi", local)
    with rs.FaultProxy(plain) as front:
        remote = f"{front.address}/faults/noise:1"
        yield front, remote, layers
        stdc("rmi", "-f", remote, check=False)


def test_a_registry_answering_503_twice_is_retried(stdc, fronted):
    front, remote, layers = fronted
    front.fault, front.times = "503", 2
    stdc("pull", remote)
    assert front.served_503 == 2
    assert _inspect(stdc, remote)["Layers"] == layers


def test_a_blob_download_cut_midway_is_resumed(stdc, fronted):
    """The connection drops after half the blob: the rest comes with a Range request, and the
    digest is checked over the whole blob."""
    front, remote, layers = fronted
    front.fault, front.times = "cut", 1
    stdc("pull", remote)
    assert len(front.ranges) == 1 and front.ranges[0].startswith("bytes=") and front.ranges[0] != "bytes=0-"
    assert _inspect(stdc, remote)["Layers"] == layers


# -- credential helpers ---------------------------------------------------------------------------

_HELPER = """#!{python}
import json, os, sys
store, log = {store!r}, {log!r}
action, data = sys.argv[1], sys.stdin.read()
creds = json.load(open(store)) if os.path.exists(store) else {{}}
entry = json.loads(data) if action == "store" else None
with open(log, "a") as f:
    f.write(f"{{action}} {{entry['ServerURL'] if entry else data}}\\n")
if action == "store":
    creds[entry["ServerURL"]] = [entry["Username"], entry["Secret"]]
elif action == "get":
    if data not in creds:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps({{"ServerURL": data, "Username": creds[data][0], "Secret": creds[data][1]}}))
elif action == "erase":
    if creds.pop(data, None) is None:
        print("credentials not found in native keychain")
        sys.exit(1)
json.dump(creds, open(store, "w"))
"""


def test_a_credential_helper_is_consulted(stdc, secure, unconfigured, tmp_path, monkeypatch):
    """``credHelpers`` in config.json: login stores through the helper (the file keeps an empty
    entry), push and pull get from it, logout erases."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, store = tmp_path / "helper.log", tmp_path / "helper-store.json"
    helper = bin_dir / "docker-credential-stdctest"
    helper.write_text(_HELPER.format(python=sys.executable, store=str(store), log=str(log)))
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    config = unconfigured / "config.json"
    config.write_text(json.dumps({"credHelpers": {secure: "stdctest"}}))

    stdc("tag", "base", f"{secure}/helped/base:1")
    assert "stdc login" in rs.one_line_error(stdc("push", f"{secure}/helped/base:1", check=False))
    stdc("rmi", f"{secure}/helped/base:1")
    stdc("login", "-u", LOGIN[0], "-p", LOGIN[1], secure)
    assert json.loads(config.read_text())["auths"] == {secure: {}}
    assert json.loads(store.read_text()) == {secure: list(LOGIN)}
    remote = _pushed(stdc, secure, "helped/base:1")
    try:
        stdc("pull", remote)
    finally:
        stdc("rmi", "-f", remote, check=False)
    assert stdc("logout", secure).stdout.strip() == f"Removing login credentials for {secure}"
    calls = log.read_text().splitlines()
    assert calls[0] == f"get {secure}" and calls[1] == f"store {secure}" and calls[-1] == f"erase {secure}"
    assert f"get {secure}" in calls[2:-1]
    assert json.loads(store.read_text()) == {}


# -- zstd layers ----------------------------------------------------------------------------------


def test_a_zstd_layer_is_pulled_and_run(stdc, plain, unconfigured):
    """base pushed, its layers recompressed with zstd under a new OCI manifest (same config: the
    diff_ids do not change), pulled and run."""
    source = _pushed(stdc, plain, "zstd/base:gzip")
    repo = "zstd/base"
    manifest = json.loads(rs.get(plain, f"/v2/{repo}/manifests/gzip", accept=OCI_MANIFEST))
    layers = []
    for layer in manifest["layers"]:
        blob = rs.get(plain, f"/v2/{repo}/blobs/{layer['digest']}")
        tar = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
        packed = zstandard.ZstdCompressor(write_checksum=True).compress(tar)
        layers.append({"mediaType": LAYER_ZSTD, "digest": rs.put_blob(plain, repo, packed), "size": len(packed)})
    config = manifest["config"]
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers}).encode()
    digest = rs.put(plain, f"/v2/{repo}/manifests/zstd", body, OCI_MANIFEST)
    remote = f"{plain}/{repo}:zstd"
    try:
        stdc("pull", remote)
        assert _inspect(stdc, remote)["Digest"] == digest
        assert stdc("run", "--rm", remote, "echo", "zstd ok").stdout.strip() == "zstd ok"
    finally:
        stdc("rmi", "-f", remote, source, check=False)
