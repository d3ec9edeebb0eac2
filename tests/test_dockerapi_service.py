"""The Docker API's service: who may connect (socket mode, mutual TLS, no plain TCP off
loopback) and a slow client that never holds up another."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time

import docker
import pytest
from conftest import STDC
from dockerapi_daemon import start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(directory: str) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
             "-days", "1", "-subj", "/CN=stdc test CA", cwd=directory)  # fmt: skip
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(directory, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-key.pem", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=directory)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext", cwd=directory)  # fmt: skip


def test_the_socket_is_roots_alone(root, stdc, tmp_path):
    gen = start(str(tmp_path))
    api = next(gen)
    try:
        mode = os.stat(api.socket).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    finally:
        with pytest.raises(StopIteration):
            next(gen)


def test_plain_tcp_off_loopback_is_refused(root, tmp_path):
    r = subprocess.run(
        [STDC, "daemon", "--socket", str(tmp_path / "d.sock"), "--api-socket", str(tmp_path / "a.sock"),
         "-H", "tcp://0.0.0.0:2375"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode != 0 and "without TLS" in r.stderr
    assert not os.path.exists(tmp_path / "a.sock") and not os.path.exists(tmp_path / "d.sock")


def test_tcp_with_mutual_tls(root, stdc, tmp_path, monkeypatch):
    # requests would take the environment's CA bundle over the client's own CA
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    certs = str(tmp_path)
    _certificates(certs)
    port = _free_port()
    argv = [STDC, "daemon", "--socket", str(tmp_path / "d.sock"), "--api-socket", str(tmp_path / "a.sock"),
            "-H", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", f"{certs}/ca.pem",
            "--tlscert", f"{certs}/server.pem", "--tlskey", f"{certs}/server-key.pem"]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(tmp_path / "a.sock"):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        tls = docker.tls.TLSConfig(
            client_cert=(f"{certs}/client.pem", f"{certs}/client-key.pem"), ca_cert=f"{certs}/ca.pem", verify=True
        )
        client = docker.APIClient(base_url=f"https://127.0.0.1:{port}", tls=tls, version="1.41", timeout=30)
        deadline = time.monotonic() + 30
        while True:  # the TCP site starts listening right after the unix socket is made
            try:
                assert client.ping()
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert client.version()["ApiVersion"] == "1.43"
        no_cert = docker.APIClient(
            base_url=f"https://127.0.0.1:{port}", tls=docker.tls.TLSConfig(ca_cert=f"{certs}/ca.pem", verify=True),
            version="1.41", timeout=30,
        )  # fmt: skip
        with pytest.raises(Exception):  # noqa: B017 - the handshake fails, whichever way requests words it
            no_cert.ping()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_a_slow_client_holds_up_no_other(root, stdc, tmp_path):
    gen = start(str(tmp_path))
    api = next(gen)
    try:
        slow = socket.socket(socket.AF_UNIX)
        slow.connect(api.socket)
        slow.sendall(b"GET /containers/json HTTP/1.1\r\nHost: x\r\n")  # and never the end of its headers
        client = docker.APIClient(base_url=api.host, version="1.41", timeout=30)
        assert client.ping() and client.containers() is not None
        garbage = socket.socket(socket.AF_UNIX)
        garbage.connect(api.socket)
        garbage.sendall(b"\x00\x01 not http at all\r\n\r\n")
        assert garbage.recv(100).split(b" ")[1] == b"400"
        garbage.close()
        slow.close()
        assert client.ping()
    finally:
        with pytest.raises(StopIteration):
            next(gen)


def test_an_api_worker_reconciles_what_a_killed_command_left_and_marks_the_root_while_it_works(root, stdc):
    """Each worker thread's engine is built as a CLI command's is: reconcile.quick first (here a
    bundle of no record, as a command killed half-way through create leaves one), and this
    process's marker in <root>/ops until the last engine goes."""
    import asyncio

    from stdc import config
    from stdc.dockerapi.workers import Workers

    stray = os.path.join(root, "containers", "f" * 64)
    os.makedirs(stray)
    ops = os.path.join(root, "ops")
    workers = Workers(config.load(), idle=0)  # a thread ends, and forgets its engine, after its call

    async def call() -> tuple[bool, list[str]]:
        return await workers.call(lambda engine: (os.path.exists(stray), os.listdir(ops)))

    try:
        stray_seen, markers = asyncio.run(call())
    finally:
        workers.shutdown()
    assert not stray_seen
    mine = [m for m in markers if m.startswith(f"{os.getpid()}.")]
    assert len(mine) == 1
    deadline = time.monotonic() + 30  # the worker thread's end, which forgets its engine
    while os.path.exists(os.path.join(ops, mine[0])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(os.path.join(ops, mine[0]))
