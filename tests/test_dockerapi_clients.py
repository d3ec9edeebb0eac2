"""The Docker Engine API (`stdc daemon`) driven by real clients: the docker CLI, docker-py and
testcontainers. Containers use `--network none` unless a test is about networks."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import tarfile
import time

import docker
import pytest
from dockerapi_daemon import DOCKER_20, DOCKER_NEW, start


@pytest.fixture(scope="module")
def api(root, tmp_path_factory):
    """One daemon for the module, its sockets in a directory of its own."""
    yield from start(str(tmp_path_factory.mktemp("api")))


@pytest.fixture
def client(api, stdc):
    """A docker-py client of the daemon; the test must leave nothing behind (the stdc fixture)."""
    c = docker.DockerClient(base_url=api.host, version="auto", timeout=60)
    yield c
    c.close()


def _binaries() -> list[str]:
    return [b for b in (DOCKER_20, DOCKER_NEW) if shutil.which(b)]


def test_ping_version_headers_and_errors(client, api):
    low = client.api
    assert low.ping() is True
    assert low.version()["ApiVersion"] == "1.43"
    response = low._get(low.base_url + "/_ping")  # unversioned path
    assert response.headers["Api-Version"] == "1.43" and response.headers["Ostype"] == "linux"
    assert response.headers["Server"].startswith("stdc/")
    old = low._get(low.base_url + "/v1.12/version")
    assert old.status_code == 400 and "too old" in old.json()["message"]
    with pytest.raises(docker.errors.NotFound) as missing:
        client.containers.get("no-such-container")
    assert "No such container" in str(missing.value)
    malformed = low._post(
        low._url("/containers/create"), data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and "message" in malformed.json()
    swarm = low._get(low._url("/swarm"))
    assert swarm.status_code == 503 and "not a swarm manager" in swarm.json()["message"]
    refused = low._post_json(
        low._url("/containers/create"), data={"Image": "base", "HostConfig": {"VolumeDriver": "x"}}
    )
    assert refused.status_code == 400 and "VolumeDriver" in refused.json()["message"]
    huge = low._post(
        low._url("/containers/create"), data=b" " * (65 << 20), headers={"Content-Type": "application/json"}
    )
    assert huge.status_code == 413
    assert low.info()["Containers"] >= 0 and low.df()["Images"]


@pytest.mark.parametrize("binary", _binaries())
def test_docker_cli_runs_attached_with_exit_codes_and_stdin(api, stdc, binary):
    r = api.docker(
        "run",
        "--rm",
        "--network",
        "none",
        "base",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
        binary=binary,
        check=False,
    )
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    r = api.docker(
        "run",
        "-i",
        "--rm",
        "--network",
        "none",
        "base",
        "sh",
        "-c",
        "cat; echo end",
        input="from stdin\n",
        binary=binary,
    )
    assert r.stdout == "from stdin\nend\n"


def test_docker_cli_detached_lifecycle(api, stdc):
    cid = api.docker(
        "run", "-d", "--name", "api-life", "--network", "none", "base", "sh", "-c", "echo hello; sleep 300"
    ).stdout.strip()
    try:
        assert "api-life" in api.docker("ps").stdout
        assert api.docker("inspect", "-f", "{{.State.Running}} {{.Name}}", "api-life").stdout == "true /api-life\n"
        deadline = time.monotonic() + 10
        while api.docker("logs", "api-life").stdout != "hello\n" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api.docker("logs", "api-life").stdout == "hello\n"
        r = api.docker("exec", "api-life", "sh", "-c", "echo in; exit 4", check=False)
        assert (r.returncode, r.stdout) == (4, "in\n")
        assert api.docker("exec", "-i", "api-life", "cat", input="piped\n").stdout == "piped\n"
        api.docker("pause", "api-life")
        assert api.docker("inspect", "-f", "{{.State.Paused}}", "api-life").stdout == "true\n"
        api.docker("unpause", "api-life")
        api.docker("rename", "api-life", "api-life2")
        top = api.docker("top", "api-life2").stdout
        assert "PID" in top and "sleep" in top
        api.docker("stop", "-t", "1", "api-life2")
        assert api.docker("inspect", "-f", "{{.State.Status}}", cid).stdout == "exited\n"
        api.docker("start", "api-life2")
        api.docker("kill", "api-life2")
        assert api.docker("wait", "api-life2").stdout == "137\n"
    finally:
        api.docker("rm", "-f", cid, check=False)
    assert cid[:12] not in api.docker("ps", "-a").stdout


def test_docker_py_run_logs_wait_exec_and_files(client):
    out = client.containers.run(
        "base", ["sh", "-c", "echo one; echo two >&2"], network_mode="none", remove=True, stderr=True
    )
    assert sorted(out.splitlines()) == [b"one", b"two"]  # two pipes: their order is not kept, as with dockerd
    c = client.containers.run("base", ["sleep", "300"], network_mode="none", detach=True, name="api-py")
    try:
        c.reload()
        assert c.status == "running" and c.attrs["State"]["Pid"] > 0
        code, output = c.exec_run(["sh", "-c", "echo $HOME; exit 2"])
        assert (code, output) == (2, b"/root\n")
        stream = io.BytesIO()
        with tarfile.open(fileobj=stream, mode="w") as tar:
            data = b"put through the API\n"
            info = tarfile.TarInfo("note.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        assert c.put_archive("/tmp", stream.getvalue())
        chunks, stat = c.get_archive("/tmp/note.txt")
        assert stat["name"] == "note.txt" and stat["size"] == len(data)
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            assert tar.extractfile("note.txt").read() == data
        assert {"Path": "/tmp/note.txt", "Kind": 1} in c.diff()
        stats = c.stats(stream=False)
        assert stats["memory_stats"]["usage"] > 0 and "cpu_stats" in stats and "precpu_stats" in stats
        assert [p[-1] for p in c.top()["Processes"]][-1].startswith("sleep")
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("api-py")


def test_wait_is_registered_before_the_container_can_exit(client):
    c = client.containers.create("base", ["true"], network_mode="none")
    try:
        low = client.api
        response = low._post(low._url("/containers/{0}/wait", c.id), params={"condition": "next-exit"}, stream=True)
        assert response.status_code == 200  # the headers came before the start below
        c.start()
        assert response.json()["StatusCode"] == 0
    finally:
        c.remove(force=True)


def test_attach_is_hijacked_framed_and_half_close_is_eof(client):
    c = client.containers.create("base", ["sh", "-c", "cat; echo bye >&2"], network_mode="none", stdin_open=True)
    try:
        sock = client.api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        raw = sock._sock
        c.start()
        raw.sendall(b"typed\n")
        raw.shutdown(socket.SHUT_WR)
        frames = b""
        while chunk := raw.recv(4096):
            frames += chunk
        raw.close()
        assert frames == b"\x01\x00\x00\x00\x00\x00\x00\x06typed\n\x02\x00\x00\x00\x00\x00\x00\x04bye\n"
        assert c.wait()["StatusCode"] == 0
    finally:
        c.remove(force=True)


def test_logs_follow_streams_and_filters(client):
    c = client.containers.run(
        "base", ["sh", "-c", "echo a; echo b >&2; sleep 1; echo c"], network_mode="none", detach=True
    )
    try:
        lines = list(c.logs(stream=True, follow=True, stdout=True, stderr=False))
        assert b"".join(lines) == b"a\nc\n"
        assert c.logs(tail=1) == b"c\n"
        stamped = c.logs(timestamps=True).decode().splitlines()
        assert stamped[0].endswith(" a") and stamped[0][:4].isdigit()
        assert c.logs(since=int(time.time()) + 60) == b""
    finally:
        c.remove(force=True)


def test_images_volumes_networks_and_events(client, api):
    since = time.time() - 1
    image = client.images.get("base")
    assert "base:latest" in image.tags and image.attrs["RootFS"]["Type"] == "layers"
    assert any("base:latest" in i.tags for i in client.images.list())
    image.tag("api-tagged", "v1")
    assert "api-tagged:v1" in client.images.get("base").tags
    assert client.api.history("api-tagged:v1")[0]["Id"] == image.id
    assert client.api.remove_image("api-tagged:v1") == [{"Untagged": "api-tagged:v1"}]
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("no-such-image:1")
    volume = client.volumes.create("api-vol")
    assert client.volumes.get("api-vol").name == "api-vol" and volume.attrs["Driver"] == "local"
    out = client.containers.run(
        "base",
        ["sh", "-c", "echo kept > /v/f; cat /v/f"],
        volumes={"api-vol": {"bind": "/v"}},
        network_mode="none",
        remove=True,
    )
    assert out == b"kept\n"
    volume.remove()
    network = client.networks.create("api-net")
    try:
        assert client.networks.get("api-net").name == "api-net"
        out = client.containers.run(
            "base", ["sh", "-c", "ip -4 addr show eth0 | grep -c inet"], network="api-net", remove=True
        )
        assert out == b"1\n"
    finally:
        network.remove()
    events = client.events(since=since, until=time.time(), decode=True, filters={"type": "volume"})
    assert [e["Action"] for e in events if e["Actor"]["ID"] == "api-vol"] == ["create", "destroy"]


def test_containers_keep_running_when_the_daemon_stops(root, stdc, tmp_path):
    gen = start(str(tmp_path))
    first = next(gen)
    cid = first.docker("run", "-d", "--network", "none", "base", "sleep", "300").stdout.strip()
    try:
        with pytest.raises(StopIteration):
            next(gen)  # the daemon stops
        assert "Up" in stdc("ps").stdout
        gen = start(str(tmp_path))
        second = next(gen)
        assert second.docker("inspect", "-f", "{{.State.Running}}", cid).stdout == "true\n"
        second.docker("rm", "-f", cid)
        with pytest.raises(StopIteration):
            next(gen)
    finally:
        stdc("rm", "-f", cid, check=False)


def test_testcontainers_starts_a_container_and_waits_on_its_log(api, stdc, monkeypatch):
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    monkeypatch.setenv("DOCKER_HOST", api.host)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk's image is on Docker Hub
    container = DockerContainer("base").with_command(["sh", "-c", "sleep 1; echo ready; sleep 300"])
    container = container.with_kwargs(network_mode="none")
    with container:
        wait_for_logs(container, "ready", timeout=30)
        wrapped = container.get_wrapped_container()
        wrapped.reload()  # docker-py's object holds the document of its create, as against dockerd
        assert wrapped.status == "running"


COMPOSE_FILE = """\
version: "3.7"
services:
  db:
    image: base
    command: ["sh", "-c", "echo stored > /data/row; while :; do nc -l -p 5432 < /data/row; done"]
    volumes: ["dbdata:/data"]
  web:
    image: base
    command: ["sh", "-c", "sleep 1; nc db 5432 > /tmp/got; cat /tmp/got; sleep 300"]
    depends_on: [db]
volumes:
  dbdata: {}
"""


def test_compose_brings_up_web_and_db_on_a_network_with_a_named_volume(api, stdc, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE_FILE)
    compose = ["docker-compose", "-p", "stdcapi", "-f", str(tmp_path / "docker-compose.yml")]
    env = {**api.env, "COMPOSE_INTERACTIVE_NO_CLI": "1"}
    try:
        up = subprocess.run([*compose, "up", "-d"], capture_output=True, text=True, env=env, timeout=120)
        assert up.returncode == 0, up.stderr
        deadline = time.monotonic() + 30
        logs = ""
        while "stored" not in logs and time.monotonic() < deadline:
            logs = subprocess.run([*compose, "logs", "web"], capture_output=True, text=True, env=env).stdout
            time.sleep(0.5)
        assert "stored" in logs
    finally:
        subprocess.run([*compose, "down", "-v", "-t", "1"], capture_output=True, env=env, timeout=120)
