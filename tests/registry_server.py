"""Test helpers: Debian's docker-registry on a free loopback port (optionally behind htpasswd
basic auth and TLS with a CA made here), a small fault-injecting proxy in front of it, an HTTP
proxy (``CONNECT`` and forwarding) as ``HTTPS_PROXY``/``HTTP_PROXY`` name, and raw requests.

Only 127.0.0.1 is ever contacted. The registry is a child process of the test, stopped by its
pid; its storage, configuration, keys and certificates live in a temporary directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import select
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited {proc.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError("docker-registry did not start listening")


def make_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, server.crt, server.key)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_crt),
            "-days", "2", "-subj", "/CN=stdc test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(crt), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca_crt, crt, key


@contextlib.contextmanager
def registry(
    workdir: Path, htpasswd: tuple[str, str] | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[str]:
    """Run docker-registry on 127.0.0.1:PORT; yields ``127.0.0.1:PORT``. ``htpasswd``: one user
    (bcrypt, as the registry needs); ``tls``: (certificate, key)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {workdir / 'data'}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
    ]
    if tls:
        lines += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
    if htpasswd:
        path = workdir / "htpasswd"
        made = subprocess.run(["htpasswd", "-Bbn", *htpasswd], check=True, capture_output=True, text=True)
        path.write_text(made.stdout)
        lines += ["auth:", "  htpasswd:", "    realm: stdc-test", f"    path: {path}"]
    config = workdir / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    log = workdir / "registry.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    try:
        _wait_listening(port, proc, log)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _LoopbackServer:
    """A threading HTTP server on a free 127.0.0.1 port, serving while used as a context manager."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError


class _QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (connections kept alive), nothing logged."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass


def _relay(handler: BaseHTTPRequestHandler, response: http.client.HTTPResponse, data: bytes, close: bool) -> None:
    """Send an upstream answer's status and headers (``Content-Length`` for ``data``) through ``handler``."""
    handler.send_response(response.status)
    for key, value in response.getheaders():
        if key.lower() not in ("connection", "transfer-encoding", "content-length"):
            handler.send_header(key, value)
    length = response.getheader("Content-Length") if handler.command == "HEAD" else None
    handler.send_header("Content-Length", length or str(len(data)))
    if close:
        handler.send_header("Connection", "close")
    handler.end_headers()


class FaultProxy(_LoopbackServer):
    """An HTTP proxy on 127.0.0.1 in front of a plain-http registry, which misbehaves on blob
    downloads (``GET /v2/…/blobs/sha256:…``) as :attr:`fault` says:

    - ``None`` — pass everything through;
    - ``"cut"`` — send the headers and half the body, then close the connection (a resumed
      download's ranged answer too);
    - ``"corrupt"`` — send the right length with one byte changed;
    - ``"500"`` — answer 500 Internal Server Error;
    - ``"503"`` — answer every request (not only blobs) 503 Service Unavailable, with
      ``Retry-After: 1``;
    - ``"slow"`` — send the headers, then nothing for :attr:`delay` seconds;
    - ``"bearer"`` — not a fault: demand a bearer token (from ``/token``, for the test's user)
      on every request, as a registry behind a token service does.

    :attr:`times` bounds how many requests the fault hits (``None``: all of them): blob downloads
    for the blob faults, any request for ``"503"``. :attr:`served_503` counts the 503s sent.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.fault: str | None = None
        self.delay = 10.0
        self.hits = 0
        self.ranges: list[str] = []  # the Range headers of blob requests
        self.times: int | None = None
        self.served_503 = 0
        self.token_requests: list[str] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) of what was forwarded
        self.login = ("alice", "secret")
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(_QuietHandler):
            def handle(self) -> None:
                # a TLS client hello (an insecure registry's https probe): close, as a plain-http
                # server answers it with a 400 (this one would wait for a line end that may never come)
                if self.connection.recv(1, socket.MSG_PEEK) == b"\x16":
                    return
                super().handle()

            def _forward(self) -> None:
                import base64

                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None  # read first: the connection is kept
                if proxy.fault == "503" and (proxy.times is None or proxy.served_503 < proxy.times):
                    proxy.served_503 += 1
                    failure = b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}'
                    return self._reply(503, failure, {"Retry-After": "1"})
                if proxy.fault == "bearer":
                    if self.path.startswith("/token"):
                        proxy.token_requests.append(self.path)
                        expected = "Basic " + base64.b64encode(":".join(proxy.login).encode()).decode()
                        if self.headers.get("Authorization") != expected:
                            return self._reply(401, b'{"details":"bad credentials"}')
                        return self._reply(200, b'{"token":"t0ken"}')
                    if self.headers.get("Authorization") != "Bearer t0ken":
                        challenge = f'Bearer realm="http://{proxy.address}/token",service="stdc-test"'
                        return self._reply(
                            401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge}
                        )
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "connection")}
                if "/blobs/sha256:" in self.path and self.headers.get("Range"):
                    proxy.ranges.append(self.headers["Range"])
                conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                conn.close()
                proxy.requests.append((self.command, self.path, response.status))
                blob = self.command == "GET" and "/blobs/sha256:" in self.path and response.status in (200, 206)
                if blob:
                    proxy.hits += 1
                    blob = proxy.times is None or proxy.hits <= proxy.times  # whether the fault hits this one
                if blob and proxy.fault == "500":
                    return self._reply(500, b'{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}')
                _relay(self, response, data, close=bool(blob and proxy.fault in ("cut", "slow")))
                if self.command == "HEAD":
                    return
                if blob and proxy.fault == "cut":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if blob and proxy.fault == "slow":
                    time.sleep(proxy.delay)
                    self.close_connection = True
                    return
                if blob and proxy.fault == "corrupt" and data:
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                self.wfile.write(data)

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler


class ForwardProxy(_LoopbackServer):
    """An HTTP proxy on 127.0.0.1, as ``HTTPS_PROXY``/``HTTP_PROXY`` name one: ``CONNECT`` tunnels
    and absolute-form requests, to 127.0.0.1 only. :attr:`seen` records what went through it
    (``"CONNECT 127.0.0.1:PORT"``, ``"GET http://127.0.0.1:PORT/v2/…"``)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__()
        self.url = f"http://{self.address}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(_QuietHandler):
            def do_CONNECT(self) -> None:
                host, _, port = self.path.rpartition(":")
                if host != "127.0.0.1":
                    self.send_error(403)
                    return
                proxy.seen.append(f"CONNECT {self.path}")
                upstream = socket.create_connection((host, int(port)), timeout=60)
                self.send_response(200, "Connection established")
                self.end_headers()
                self.close_connection = True
                with upstream:
                    sockets = [self.connection, upstream]
                    while True:
                        ready, _, _ = select.select(sockets, [], [], 60)
                        if not ready:
                            return
                        for sock in ready:
                            data = sock.recv(1 << 16)
                            if not data:
                                return
                            (upstream if sock is self.connection else self.connection).sendall(data)

            def _forward(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                if parts.scheme != "http" or parts.hostname != "127.0.0.1":
                    self.send_error(403)
                    return
                proxy.seen.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "proxy-connection")}
                conn = http.client.HTTPConnection(parts.netloc, timeout=60)
                conn.request(self.command, parts.path + (f"?{parts.query}" if parts.query else ""), body, headers)
                response = conn.getresponse()
                data = response.read()
                conn.close()
                _relay(self, response, data, close=False)
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler


def one_line_error(r: subprocess.CompletedProcess) -> str:
    """The one line a failed stdc command (exit 125) wrote to stderr."""
    assert r.returncode == 125, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def put_blob(host: str, repo: str, data: bytes) -> str:
    """Upload a blob to the plain-http registry ``host`` in one request; return its digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request("POST", f"/v2/{repo}/blobs/uploads/", body=b"")
    started = conn.getresponse()
    started.read()
    location = started.getheader("Location").split(host, 1)[-1]
    conn.request("PUT", f"{location}{'&' if '?' in location else '?'}digest={digest}", body=data)
    done = conn.getresponse()
    done.read()
    conn.close()
    assert done.status == 201, done.status
    return digest


def put(host: str, path: str, data: bytes, media: str) -> str:
    """PUT ``data`` (a manifest) at ``path`` of the plain-http registry ``host``; return its digest."""
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request("PUT", path, body=data, headers={"Content-Type": media})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 201, response.status
    return "sha256:" + hashlib.sha256(data).hexdigest()


def get(host: str, path: str, accept: str = "application/vnd.oci.image.manifest.v1+json") -> bytes:
    """GET ``path`` of the plain-http registry ``host`` (following its redirects on that host)."""
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request("GET", path, headers={"Accept": accept})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status in (301, 302, 307):
        return get(host, urllib.parse.urlsplit(response.getheader("Location")).path, accept)
    return data


def put_index(host: str, repo: str, tag: str, manifests: list[dict]) -> str:
    """PUT an OCI image index naming ``manifests`` (descriptors with platforms); return its digest."""
    import json

    body = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    ).encode()
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request(
        "PUT",
        f"/v2/{repo}/manifests/{tag}",
        body=body,
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 201, response.status
    return "sha256:" + hashlib.sha256(body).hexdigest()


def environ(tmp: Path, **registry: object) -> dict[str, str]:
    """STDC_CONFIG (a host file with ``[registry]`` set to ``registry``) and DOCKER_CONFIG, both in ``tmp``."""
    lines = ["[registry]"]
    for key, value in registry.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        elif isinstance(value, list):
            lines.append(f"{key} = [{', '.join(repr(str(v)).replace(chr(39), chr(34)) for v in value)}]")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    config = tmp / "stdc-config.toml"
    config.write_text("\n".join(lines) + "\n")
    (tmp / "docker").mkdir(exist_ok=True)
    return {"STDC_CONFIG": str(config), "DOCKER_CONFIG": str(tmp / "docker")}
