"""`POST /build` of the Docker API (`stdc daemon --api-socket`) driven by real clients: the
docker CLI's classic builder (DOCKER_BUILDKIT=0) and docker-py's `images.build`; a client that
disconnects cancels the build and leaves no container and no tag."""

from __future__ import annotations

import dataclasses
import io
import socket
import subprocess
import tarfile
import time

import docker
import pytest
from dockerapi_daemon import start


@pytest.fixture(scope="module")
def api(root, tmp_path_factory):
    """One daemon for the module, its sockets in a directory of its own."""
    yield from start(str(tmp_path_factory.mktemp("api-build")))


def _context(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_docker_cli_classic_build(api, stdc, tmp_path):
    (tmp_path / "hello").write_text("hello from docker build\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM base\nARG WHO=nobody\nCOPY hello /hello\nRUN echo built by $WHO > /who\nCMD cat /hello /who\n"
    )
    api = dataclasses.replace(api, env={**api.env, "DOCKER_BUILDKIT": "0"})
    args = ["build", "--network", "none", "--build-arg", "WHO=docker", "-t", "api/cli:1", str(tmp_path)]
    out = api.docker(*args).stdout
    assert "Step 4/5 : RUN echo built by $WHO > /who" in out
    assert "Successfully tagged api/cli:1" in out
    again = api.docker(*args).stdout
    assert again.count("Using cache") == 4
    quiet = api.docker("build", "-q", "--network", "none", str(tmp_path)).stdout.strip()
    assert quiet.startswith("sha256:")
    ran = stdc("run", "--rm", "--network", "none", "api/cli:1").stdout
    assert ran == "hello from docker build\nbuilt by docker\n"
    failed = api.docker("build", "--network", "none", "-", input="FROM base\nRUN exit 7\n", check=False)
    assert failed.returncode != 0 and "returned a non-zero code: 7" in failed.stderr
    stdc("rmi", "api/cli:1")


def test_docker_py_images_build(api, stdc):
    client = docker.DockerClient(base_url=api.host, version="auto", timeout=120)
    try:
        context = _context(
            {"Dockerfile": 'FROM base\nLABEL made=by-docker-py\nRUN echo hi > /hi\nCMD ["cat", "/hi"]\n'}
        )
        image, logs = client.images.build(
            fileobj=io.BytesIO(context), custom_context=True, tag="api/py:2", network_mode="none", labels={"x": "y"}
        )
        assert "api/py:2" in image.tags
        assert image.labels == {"made": "by-docker-py", "x": "y"}
        assert any("Successfully built" in entry.get("stream", "") for entry in logs)
        assert stdc("run", "--rm", "--network", "none", "api/py:2").stdout == "hi\n"
        with pytest.raises(docker.errors.BuildError, match="non-zero code: 3"):
            client.images.build(
                fileobj=io.BytesIO(_context({"Dockerfile": "FROM base\nRUN exit 3\n"})),
                custom_context=True,
                network_mode="none",
            )
        assert client.api.prune_builds()["SpaceReclaimed"] >= 0
        stdc("rmi", "api/py:2")
    finally:
        client.close()


def test_a_client_that_disconnects_cancels_the_build(api, stdc):
    context = _context({"Dockerfile": "FROM base\nRUN echo started; sleep 600\n"})
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(api.socket)
    sock.sendall(
        b"POST /v1.43/build?t=api/cancelled&networkmode=none HTTP/1.1\r\nHost: d\r\n"
        b"Content-Type: application/x-tar\r\nContent-Length: " + str(len(context)).encode() + b"\r\n\r\n" + context
    )
    seen = b""
    while b"started" not in seen:  # the RUN's container is running
        chunk = sock.recv(4096)
        assert chunk, seen
        seen += chunk
    sock.close()
    deadline = time.monotonic() + 60
    while stdc("ps", "-aq").stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stdc("ps", "-aq").stdout.strip() == ""
    assert stdc("inspect", "api/cancelled", check=False).returncode != 0


def test_compose_build(api, stdc, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM base\nARG FLAVOUR\nRUN echo $FLAVOUR > /flavour\n")
    (tmp_path / "docker-compose.yml").write_text(
        'version: "3.7"\nservices:\n  app:\n    build:\n      context: .\n      network: none\n'
        "      args: {FLAVOUR: composed}\n    image: stdcbuild/app:1\n"
    )
    env = {**api.env, "COMPOSE_INTERACTIVE_NO_CLI": "1", "DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0"}
    done = subprocess.run(
        ["docker-compose", "-p", "stdcbuild", "-f", str(tmp_path / "docker-compose.yml"), "build"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert stdc("run", "--rm", "--network", "none", "stdcbuild/app:1", "cat", "/flavour").stdout == "composed\n"
    stdc("rmi", "stdcbuild/app:1")
