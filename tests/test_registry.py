"""Registries: pull, push, login and logout against Debian's docker-registry on 127.0.0.1 (plain,
behind htpasswd basic auth and TLS with a CA made here, behind a token service emulated by a
proxy), interop with skopeo and podman, and faults injected by a loopback proxy.

No test contacts anything but 127.0.0.1: every reference names the loopback registry, or the
host file the test writes (STDC_CONFIG) makes it the default registry.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import registry_server as rs
from conftest import STDC
from stdc.kit import references

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain(root, tmp_path_factory):
    """A plain-http registry on loopback for the whole module: ``127.0.0.1:PORT`` (and the
    built-in base image in the store, which the tests push under other names)."""
    from conftest import run

    run("run", "--rm", "base", "true")
    with rs.registry(tmp_path_factory.mktemp("registry")) as host:
        yield host


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """Point stdc (STDC_CONFIG) and the credentials file (DOCKER_CONFIG) at files of this test:
    ``configured(insecure=[...], default=..., ...)`` writes the host file's [registry] table."""

    def write(**settings):
        for key, value in rs.environ(tmp_path, **settings).items():
            monkeypatch.setenv(key, value)

    return write


@pytest.fixture(scope="module")
def multi(plain, tmp_path_factory):
    """A three-layer image (base + two commits with 3 MB of random bytes and a small file),
    pushed nowhere yet: ``(name, sha256 of /data/blob)``."""
    from conftest import run

    run("run", "--name", "reg-mk1", "base", "sh", "-c", "mkdir /data && head -c 3000000 /dev/urandom > /data/blob")
    run("commit", "reg-mk1", "reg/multi:1")
    run("rm", "reg-mk1")
    run("run", "--name", "reg-mk2", "reg/multi:1", "sh", "-c", "echo one > /data/one")
    run("commit", "reg-mk2", "reg/multi:2")
    run("rm", "reg-mk2")
    blob_sum = run("run", "--rm", "reg/multi:2", "sha256sum", "/data/blob").stdout.split()[0]
    yield "reg/multi:2", blob_sum
    for name in ("reg/multi:2", "reg/multi:1"):
        run("rmi", "-f", name, check=False)


def _skopeo(*args: str) -> str:
    done = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _inspect(stdc, name: str) -> dict:
    """The image's ImageInspect, with its manifest ``Digest`` and the digests of its layer blobs
    (``Layers``) read from the manifest in the store."""
    doc = json.loads(stdc("inspect", "--type", "image", name).stdout)[0]
    digest = doc["Descriptor"]["digest"]
    manifest = json.loads((_store_root() / "blobs" / "sha256" / digest[7:]).read_bytes())
    return {**doc, "Digest": digest, "Layers": [layer["digest"] for layer in manifest["layers"]]}


def _store_root() -> Path:
    return Path(os.environ["STDC_ROOT"]) / "images"


def _nothing_half_stored(layer_digests: list[str]) -> None:
    blobs = _store_root() / "blobs" / "sha256"
    for digest in layer_digests:
        assert not (blobs / digest[7:]).exists(), f"{digest} stayed in the store"
    assert os.listdir(_store_root() / ".stdc" / "ingest") == []


def _drop(stdc, *names: str) -> None:
    for name in names:
        stdc("rmi", "-f", name, check=False)


# -- references -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "default", "qualified"),
    [
        ("alpine", None, "docker.io/library/alpine:latest"),
        ("alpine:3.20", None, "docker.io/library/alpine:3.20"),
        ("library/alpine", None, "docker.io/library/alpine:latest"),
        ("ns/name", None, "docker.io/ns/name:latest"),
        ("index.docker.io/alpine", None, "docker.io/library/alpine:latest"),
        ("host:5000/ns/name:tag", None, "host:5000/ns/name:tag"),
        ("localhost/name", None, "localhost/name:latest"),
        ("base", "127.0.0.1:5000", "127.0.0.1:5000/base:latest"),
        ("alpine", "docker.io", "docker.io/library/alpine:latest"),
        ("other.example/x:1", "127.0.0.1:5000", "other.example/x:1"),
    ],
)
def test_references_are_qualified_as_docker_does(written, default, qualified):
    assert str(references.qualify(references.parse(written), default)) == qualified


def test_digest_reference_is_qualified_with_its_digest():
    digest = "sha256:" + "ab" * 32
    ref = references.qualify(references.parse(f"alpine@{digest}"))
    assert (ref.name, ref.tag, ref.digest) == ("docker.io/library/alpine", None, digest)


# -- round trips and interop ----------------------------------------------------------------------


def test_push_rmi_pull_round_trip(stdc, plain, configured, multi):
    """Chunked and monolithic uploads; after rmi, the pull brings back the same digests that
    skopeo reports for the image in the registry, and the same contents."""
    configured(insecure=[plain], chunk_size=1 << 20)
    name, blob_sum = multi
    remote = f"{plain}/rt/multi:2"
    stdc("tag", name, remote)
    local = _inspect(stdc, remote)
    pushed = stdc("push", remote).stdout
    assert "Pushed" in pushed and local["Digest"] in pushed
    raw = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{remote}"))
    assert (
        _skopeo("inspect", "--format", "{{.Digest}}", "--tls-verify=false", f"docker://{remote}").strip()
        == (local["Digest"])
    )
    assert [layer["digest"] for layer in raw["layers"]] == local["Layers"] and len(local["Layers"]) == 3
    assert "already exists" in stdc("push", remote).stdout  # HEAD: nothing uploaded again
    _drop(stdc, remote, name, "reg/multi:1")
    _nothing_half_stored(local["Layers"][1:])
    pulled = stdc("pull", remote).stdout
    assert "Pull complete" in pulled and f"Digest: {local['Digest']}" in pulled
    again = _inspect(stdc, remote)
    assert (again["Digest"], again["Id"], again["Layers"]) == (local["Digest"], local["Id"], local["Layers"])
    out = stdc("run", "--rm", remote, "sh", "-c", "sha256sum /data/blob; cat /data/one").stdout.split()
    assert out == [blob_sum, "/data/blob", "one"]
    stdc("tag", remote, name)  # the module's image again, for the tests after this one
    _drop(stdc, remote)


def test_progress_bars_on_a_terminal(stdc, plain, configured, multi):
    """On a terminal (script(1) gives one) the progress is rich's bars; piped, plain lines."""
    configured(insecure=[plain])
    name, _blob_sum = multi
    remote = f"{plain}/progress/multi:1"
    stdc("tag", name, remote)
    stdc("push", remote)
    _drop(stdc, remote, name)
    try:
        shown = subprocess.run(
            ["script", "-qec", f"{STDC} pull {remote}", "/dev/null"], capture_output=True, text=True, timeout=120
        )
        assert shown.returncode == 0, shown.stdout
        assert "━" in shown.stdout and "Pull complete" in shown.stdout and "\x1b[" in shown.stdout
        assert shown.stdout.rstrip().endswith(remote)
        plain_lines = stdc("pull", remote).stdout
        assert "━" not in plain_lines and "\x1b[" not in plain_lines
        *blobs, digest_line, _name = plain_lines.splitlines()
        assert len(blobs) == 4 and all(re.fullmatch(r"[0-9a-f]{12}: Already exists \(.*\)", b) for b in blobs)
        assert digest_line.startswith("Digest: sha256:")
    finally:
        stdc("tag", remote, name)
        _drop(stdc, remote)


def test_skopeo_pushed_image_is_pulled_and_runs(stdc, plain, configured, multi):
    """skopeo copies stdc's image (from its OCI layout) as Docker v2 schema 2, compressed: stdc
    pulls the Docker media types and runs the image."""
    configured(insecure=[plain])
    name, blob_sum = multi
    remote = f"{plain}/skopeo/multi:v2s2"
    _skopeo("copy", "--format", "v2s2", "--dest-compress", "--dest-tls-verify=false",
            f"oci:{_store_root()}:{name}", f"docker://{remote}")  # fmt: skip
    raw = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{remote}"))
    assert raw["mediaType"] == DOCKER_MANIFEST
    digest = _skopeo("inspect", "--format", "{{.Digest}}", "--tls-verify=false", f"docker://{remote}").strip()
    stdc("pull", remote)
    try:
        assert _inspect(stdc, remote)["Digest"] == digest
        out = stdc("run", "--rm", remote, "sh", "-c", "sha256sum /data/blob; cat /data/one").stdout.split()
        assert out == [blob_sum, "/data/blob", "one"]
    finally:
        _drop(stdc, remote)


def test_stdc_pushed_image_is_pulled_and_run_by_podman(stdc, plain, configured, multi, tmp_path):
    configured(insecure=[plain])
    name, blob_sum = multi
    remote = f"{plain}/podman/multi:1"
    stdc("tag", name, remote)
    digest = stdc("push", "-q", remote).stdout.strip()
    _drop(stdc, remote)
    conf = tmp_path / "containers.conf"  # what podman needs on this VM, without touching /etc
    conf.write_text('[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n')
    auth = tmp_path / "auth.json"  # podman's own credentials file, empty: nothing of root's is read
    auth.write_text("{}")
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"}
    env.update(CONTAINERS_CONF=str(conf), REGISTRY_AUTH_FILE=str(auth))

    def podman(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=180)

    try:
        pulled = podman("pull", "-q", "--tls-verify=false", remote)
        assert pulled.returncode == 0, pulled.stderr
        got = podman("image", "inspect", "--format", "{{.Digest}}", remote)
        assert got.stdout.strip() == digest
        ran = podman("run", "--rm", "--network", "none", remote, "sh", "-c", "sha256sum /data/blob; cat /data/one")
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.split() == [blob_sum, "/data/blob", "one"]
    finally:
        podman("rmi", "-f", remote)
    layout = tmp_path / "layout"
    _skopeo("copy", "--preserve-digests", "--src-tls-verify=false", f"docker://{remote}", f"oci:{layout}:x")
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest


def test_multi_platform_index(stdc, plain, configured):
    """From an image index, the host's platform by default, another with --platform."""
    configured(insecure=[plain])
    repo = "multiarch/base"
    stdc("tag", "base", f"{plain}/{repo}:amd64")
    amd64 = stdc("push", "-q", f"{plain}/{repo}:amd64").stdout.strip()
    _drop(stdc, f"{plain}/{repo}:amd64")
    base = _inspect(stdc, "base")
    arm_config = json.dumps(
        {"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": base["RootFS"]["Layers"]}}
    ).encode()
    config_digest = rs.put_blob(plain, repo, arm_config)
    layer_size = (_store_root() / "blobs" / "sha256" / base["Layers"][0][7:]).stat().st_size
    arm_manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(arm_config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": base["Layers"][0], "size": layer_size}
            ],
        }  # fmt: skip
    ).encode()
    arm64 = rs.put(plain, f"/v2/{repo}/manifests/arm64", arm_manifest, OCI_MANIFEST)
    amd64_size = len(rs.get(plain, f"/v2/{repo}/manifests/{amd64}"))
    index = rs.put_index(
        plain,
        repo,
        "multi",
        [
            {
                "mediaType": OCI_MANIFEST,
                "digest": arm64,
                "size": len(arm_manifest),
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": amd64,
                "size": amd64_size,
                "platform": {"os": "linux", "architecture": "amd64"},
            },
        ],  # fmt: skip
    )
    remote = f"{plain}/{repo}:multi"
    try:
        stdc("pull", remote)
        got = _inspect(stdc, remote)
        assert (got["Digest"], got["Architecture"]) == (amd64, "amd64")
        stdc("pull", "--platform", "linux/arm64", remote)
        got = _inspect(stdc, remote)
        assert (got["Digest"], got["Architecture"]) == (arm64, "arm64")
        error = rs.one_line_error(stdc("pull", "--platform", "linux/s390x", remote, check=False))
        assert "no image for linux/s390x" in error
        assert _inspect(stdc, remote)["Digest"] == arm64  # a failed pull changes nothing
        stdc("pull", f"{plain}/{repo}@{index}")
        assert _inspect(stdc, amd64)["Architecture"] == "amd64"
    finally:
        _drop(stdc, remote)  # the untagged pull by digest is base itself (same manifest): kept


def test_default_registry_pull_base_and_run_pulls_absent(stdc, plain, configured, multi):
    """Names without a host come from the configured default registry: `pull base`, and `run`
    of an absent image pulls it first (also by digest)."""
    configured(insecure=[plain], default=plain)
    name, blob_sum = multi
    stdc("push", "base")  # -> PLAIN/base:latest
    digest = _inspect(stdc, "base")["Digest"]
    out = stdc("pull", "base").stdout
    assert out.splitlines()[-1] == f"{plain}/base:latest" and f"Digest: {digest}" in out
    assert _inspect(stdc, "base")["Digest"] == digest
    stdc("tag", name, "defaults/multi:1")
    stdc("push", "defaults/multi:1")
    pushed = _inspect(stdc, "defaults/multi:1")
    _drop(stdc, "defaults/multi:1")
    try:
        out = stdc("run", "--rm", "defaults/multi:1", "cat", "/data/one").stdout
        assert out == "one\n"
        assert _inspect(stdc, "defaults/multi:1")["Digest"] == pushed["Digest"]
        _drop(stdc, "defaults/multi:1")
        by_digest = f"defaults/multi@{pushed['Digest']}"
        assert stdc("run", "--rm", by_digest, "cat", "/data/one").stdout == "one\n"
    finally:
        _drop(stdc, "defaults/multi:1", pushed["Digest"])


def test_cross_repository_mount(stdc, plain, configured):
    """A blob the registry holds in another repository is mounted, not uploaded again."""
    with rs.FaultProxy(plain) as proxy:
        configured(insecure=[proxy.address])
        first, second = f"{proxy.address}/mount/a:1", f"{proxy.address}/mount/b:1"
        stdc("tag", "base", first)
        stdc("tag", "base", second)
        try:
            stdc("push", first)
            proxy.requests.clear()
            out = stdc("push", second).stdout
            assert "Pushed" not in out and out.count("already exists") == 2
            mounts = [(m, p, s) for m, p, s in proxy.requests if m == "POST" and "mount=sha256" in p]
            assert len(mounts) == 2 and all(s == 201 for _m, _p, s in mounts)
            assert not any(m in ("PUT", "PATCH") and "/blobs/" in p for m, p, _s in proxy.requests)
            digest = _inspect(stdc, "base")["Digest"]
            manifest = rs.get(plain, "/v2/mount/b/manifests/1")
            assert "sha256:" + hashlib.sha256(manifest).hexdigest() == digest
        finally:
            _drop(stdc, first, second)


def test_without_a_registry_nothing_is_pulled(stdc, configured):
    """No default registry: an absent name is not looked for anywhere; base is built offline."""
    configured()
    r = stdc("run", "--rm", "reg-absent-image", "true", check=False)
    assert rs.one_line_error(r) == "stdc: no such image: reg-absent-image"
    assert stdc("run", "--rm", "base", "true").returncode == 0


def test_bad_input_and_unreachable_registry(stdc, plain, configured):
    configured(insecure=[plain], timeout=5)
    assert "invalid reference" in rs.one_line_error(stdc("pull", "Bad:Ref:x", check=False))
    assert "invalid platform" in rs.one_line_error(stdc("pull", "--platform", "amd64", f"{plain}/x", check=False))
    error = rs.one_line_error(stdc("pull", f"{plain}/nobody/none:1", check=False))
    assert "not found in registry" in error
    dead = f"127.0.0.1:{rs.free_port()}"
    configured(insecure=[dead])
    assert "connection refused" in rs.one_line_error(stdc("pull", f"{dead}/x:1", check=False))
    configured(tls_verify=True)  # loopback, but verified TLS asked for: a plain-http registry fails
    assert "TLS" in rs.one_line_error(stdc("pull", f"{plain}/x:1", check=False))


# -- authentication and TLS -----------------------------------------------------------------------


def test_basic_auth_over_tls_with_a_ca_of_its_own(stdc, tmp_path, configured):
    ca, cert, key = rs.make_ca(tmp_path / "pki")
    with rs.registry(tmp_path / "secure", htpasswd=("alice", "s3cret"), tls=(cert, key)) as host:
        certs = tmp_path / "certs.d"
        certs.mkdir()
        configured(certs_dir=str(certs), tls_verify=True)  # verified although on loopback
        error = rs.one_line_error(stdc("login", "-u", "alice", "-p", "s3cret", host, check=False))
        assert "TLS" in error and "cannot verify" in error and "--tls-verify=false" in error
        (certs / host).mkdir()
        (certs / host / "ca.crt").write_bytes(ca.read_bytes())
        remote = f"{host}/secure/base:1"
        stdc("tag", "base", remote)
        try:
            assert "stdc login" in rs.one_line_error(stdc("push", remote, check=False))
            error = rs.one_line_error(stdc("login", "-u", "alice", "-p", "wrong", host, check=False))
            assert "wrong username or password" in error
            auth_file = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
            assert not auth_file.exists()
            r = stdc("login", "-u", "alice", "--password-stdin", host, input="s3cret\n")
            assert r.stdout.strip() == "Login Succeeded"
            assert auth_file.stat().st_mode & 0o777 == 0o600
            assert host in json.loads(auth_file.read_text())["auths"]
            digest = stdc("push", "-q", remote).stdout.strip()
            _drop(stdc, remote)
            stdc("pull", remote)
            assert _inspect(stdc, remote)["Digest"] == digest
            assert stdc("logout", host).stdout.strip() == f"Removing login credentials for {host}"
            assert host not in json.loads(auth_file.read_text())["auths"]
            assert "stdc login" in rs.one_line_error(stdc("pull", remote, check=False))
        finally:
            _drop(stdc, remote)


def test_bearer_token_challenge(stdc, plain, configured):
    """A registry behind a token service: the WWW-Authenticate Bearer challenge, a token fetched
    with the stored login, scoped to the repository."""
    with rs.FaultProxy(plain) as proxy:
        proxy.fault = "bearer"
        configured(insecure=[proxy.address])
        remote = f"{proxy.address}/bearer/base:1"
        stdc("tag", "base", remote)
        try:
            assert "stdc login" in rs.one_line_error(stdc("push", remote, check=False))
            error = rs.one_line_error(stdc("login", "-u", "alice", "-p", "nope", proxy.address, check=False))
            assert "wrong username or password" in error
            stdc("login", "-u", "alice", "-p", "secret", proxy.address)
            digest = stdc("push", "-q", remote).stdout.strip()
            assert any("scope=repository%3Abearer%2Fbase%3Apull%2Cpush" in p for p in proxy.token_requests)
            _drop(stdc, remote)
            stdc("pull", remote)
            assert _inspect(stdc, remote)["Digest"] == digest
        finally:
            _drop(stdc, remote)


# -- faults ---------------------------------------------------------------------------------------


@pytest.fixture
def faulty(stdc, plain, configured, tmp_path):
    """An image of its own (one random layer) in the registry, absent locally, reachable through
    a fault proxy: ``(proxy, reference through the proxy, layer digests)``."""
    rootfs = tmp_path / "rootfs.tar"
    (tmp_path / "noise").write_bytes(os.urandom(4_000_000))
    subprocess.run(["tar", "-C", str(tmp_path), "-cf", str(rootfs), "noise"], check=True)
    local = f"{plain}/faults/noise:1"
    stdc("import", str(rootfs), local)
    layers = _inspect(stdc, local)["Layers"]
    configured(insecure=[plain], timeout=2)
    stdc("push", local)
    _drop(stdc, local)
    _nothing_half_stored(layers)
    with rs.FaultProxy(plain) as proxy:
        configured(insecure=[plain, proxy.address], timeout=2)
        yield proxy, f"{proxy.address}/faults/noise:1", layers


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("cut", "cut the connection"),
        ("corrupt", "wrong bytes: blob digest mismatch"),
        ("500", "answered 500 Internal Server Error"),
        ("slow", "did not answer within 2 s"),
    ],
)
def test_fault_gives_a_clear_error_and_stores_nothing(stdc, faulty, fault, message):
    proxy, remote, layers = faulty
    proxy.fault, proxy.delay = fault, 5
    error = rs.one_line_error(stdc("pull", remote, check=False))
    assert message in error and proxy.address in error
    assert remote.rsplit(":", 1)[0] not in stdc("images").stdout
    _nothing_half_stored(layers)
    proxy.fault = None
    assert "Pull complete" in stdc("pull", remote).stdout
    assert _inspect(stdc, remote)["Layers"] == layers
    _drop(stdc, remote)


def test_interrupted_pull_restarts_cleanly(stdc, faulty):
    proxy, remote, layers = faulty
    proxy.fault, proxy.delay = "slow", 30
    config = Path(os.environ["STDC_CONFIG"])
    config.write_text(config.read_text().replace("timeout = 2", "timeout = 60"))  # only Ctrl-C ends it
    pull = subprocess.Popen([STDC, "pull", remote], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while proxy.hits == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    pull.send_signal(signal.SIGINT)
    pull.communicate(timeout=30)
    assert pull.returncode == 130
    _nothing_half_stored(layers)
    assert remote.rsplit(":", 1)[0] not in stdc("images").stdout
    proxy.fault = None
    stdc("pull", remote)
    assert _inspect(stdc, remote)["Layers"] == layers
    _drop(stdc, remote)
