"""The pure parts of the Docker-shaped documents and filters: shapes of ports, statuses, users and
devices, the Docker-named keys of a record, and filter parsing and matching on summaries."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from stdc.engine import docker_filters, docker_shapes
from stdc.engine.options import RunOptions
from stdc.errors import BadInput


def test_iso_writes_nanoseconds_and_go_zero_time():
    assert docker_shapes.iso(None) == "0001-01-01T00:00:00Z"
    assert docker_shapes.iso(1700000000.5) == "2023-11-14T22:13:20.500000000Z"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0.2, "Less than a second"), (1.5, "1 second"), (42, "42 seconds"), (61, "About a minute"), (600, "10 minutes"),
     (3600, "About an hour"), (7200, "2 hours"), (3 * 86400, "3 days"), (21 * 86400, "3 weeks")],
)  # fmt: skip
def test_duration_in_docker_words(seconds, words):
    assert docker_shapes.duration(seconds) == words


def _record(**kw):
    base = {"status": "running", "paused": False, "started": 100.0, "finished": None, "exit_code": None}
    return SimpleNamespace(**{**base, **kw})


def test_status_text_as_ps_shows_it():
    assert docker_shapes.status_text(_record(), now=103) == "Up 3 seconds"
    assert docker_shapes.status_text(_record(paused=True), now=103) == "Up 3 seconds (Paused)"
    assert docker_shapes.status_text(_record(), "healthy", now=103) == "Up 3 seconds (healthy)"
    assert docker_shapes.status_text(_record(), "starting", now=103) == "Up 3 seconds (health: starting)"
    exited = _record(status="exited", exit_code=3, finished=100.0)
    assert docker_shapes.status_text(exited, now=220) == "Exited (3) 2 minutes ago"
    assert docker_shapes.status_text(_record(status="created")) == "Created"
    assert docker_shapes.state_name("running", True) == "paused"


def test_ports_in_the_three_shapes():
    ports = [{"host_ip": "", "host_port": 8080, "container_port": 80, "protocol": "tcp"},
             {"host_ip": "127.0.0.1", "host_port": 0, "container_port": 53, "protocol": "udp"}]  # fmt: skip
    assert docker_shapes.port_bindings(ports) == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
    }
    assert docker_shapes.port_bindings(ports[:1], "0.0.0.0")["80/tcp"][0]["HostIp"] == "0.0.0.0"
    assert docker_shapes.port_list(ports)[0] == {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}


def test_devices_and_users_as_docker_writes_them():
    assert docker_shapes.device_entry("/dev/fuse") == {
        "PathOnHost": "/dev/fuse",
        "PathInContainer": "/dev/fuse",
        "CgroupPermissions": "rwm",
    }
    assert docker_shapes.device_entry("/dev/null:/dev/x:r")["PathInContainer"] == "/dev/x"
    assert docker_shapes.device_entry("/dev/null:r")["CgroupPermissions"] == "r"
    assert docker_shapes.user_text({"uid": 0, "gid": 0}) == ""
    assert docker_shapes.user_text({"uid": 1000, "gid": 1000}) == "1000"
    assert docker_shapes.user_text({"username": "nobody", "groupname": "nogroup"}) == "nobody:nogroup"


def test_record_fields_and_their_sections():
    opts = RunOptions(image="base", cap_add=["NET_ADMIN"], expose=["81"], volumes=["/srv:/srv:ro"], tty=True)
    fields = docker_shapes.record_fields(opts, ["/init"], ["x"], {"ExposedPorts": {"80/tcp": {}}, "User": "app"})
    assert fields["ExposedPorts"] == {"80/tcp": {}, "81/tcp": {}}
    assert fields["User"] == "app" and fields["Entrypoint"] == ["/init"] and fields["Cmd"] == ["x"]
    mine, host = docker_shapes.docker_fields({"args": ["x"], **fields, "Ulimits": [{"Name": "nofile"}]})
    assert {"ExposedPorts", "User", "Entrypoint", "Cmd", "Tty"} <= set(mine)
    assert host["CapAdd"] == ["NET_ADMIN"] and host["Binds"] == ["/srv:/srv:ro"] and "Ulimits" in host
    assert "args" not in mine and "args" not in host


def test_resources_as_host_config():
    got = docker_shapes.resources_host_config(
        {
            "memory": {"limit": 6 << 20, "swap": 12 << 20},
            "cpu": {"quota": 150000, "period": 100000},
            "pids": {"limit": 9},
        }
    )
    assert (got["Memory"], got["MemorySwap"], got["NanoCpus"], got["PidsLimit"]) == (6 << 20, 12 << 20, 1500000000, 9)


def test_parse_filters_takes_the_cli_and_the_api_forms():
    assert docker_filters.parse_filters(["status=exited", "status=created", "label=a=b"]) == {
        "status": ["exited", "created"],
        "label": ["a=b"],
    }
    assert docker_filters.parse_filters({"status": ["running"]}) == {"status": ["running"]}
    assert docker_filters.parse_filters({"dangling": {"true": True, "false": False}}) == {"dangling": ["true"]}
    assert docker_filters.parse_filters('{"name": ["web"]}') == {"name": ["web"]}
    assert docker_filters.parse_filters(None) == {}
    with pytest.raises(BadInput):
        docker_filters.parse_filters(["status"])


def _summary(name, state="running", status="Up 1 second", labels=None, created=10, ports=(), network="bridge"):
    return {
        "Id": name * 8,
        "Names": [f"/{name}"],
        "ImageID": "sha256:img",
        "Created": created,
        "State": state,
        "Status": status,
        "Labels": labels or {},
        "Ports": list(ports),
        "Mounts": [{"Type": "volume", "Name": "data", "Destination": "/data"}] if name == "db" else [],
        "NetworkSettings": {"Networks": {network: {"NetworkID": "f00" + network}}},
    }


WEB_PORTS = [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}]
SUMMARIES = [
    _summary("web", labels={"tier": "front", "env": "prod"}, ports=WEB_PORTS),
    _summary("db", state="exited", status="Exited (3) 1 minute ago", labels={"env": "prod"}, network="none"),
    _summary("job", state="exited", status="Exited (0) 1 minute ago", created=5),
    _summary("doc", status="Up 1 minute (unhealthy)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "names"),
    [
        (["status=exited"], ["db", "job"]),
        (["status=exited", "status=running"], ["web", "db", "job", "doc"]),
        (["label=env=prod"], ["web", "db"]),
        (["label=env=prod", "label=tier"], ["web"]),
        (["name=^/?w"], ["web"]),
        (["name=o"], ["job", "doc"]),
        (["id=webweb"], ["web"]),
        (["exited=0"], ["job"]),
        (["exited=3", "status=exited"], ["db"]),
        (["network=none"], ["db"]),
        (["volume=data"], ["db"]),
        (["volume=/data"], ["db"]),
        (["health=unhealthy"], ["doc"]),
        (["health=none"], ["web", "db", "job"]),
        (["publish=8080"], ["web"]),
        (["expose=80/tcp"], ["web"]),
        (["expose=1-79"], []),
    ],
)
def test_container_filters(filters, names):
    found = docker_filters.filter_containers(None, SUMMARIES, docker_filters.parse_filters(filters))  # type: ignore[arg-type]
    assert [s["Names"][0][1:] for s in found] == names


@pytest.mark.parametrize("bad", ["colour=red", "status=sleeping", "exited=x", "health=fine"])
def test_bad_container_filters_are_one_line(bad):
    with pytest.raises(BadInput, match="invalid filter"):
        docker_filters.filter_containers(None, SUMMARIES, docker_filters.parse_filters([bad]))  # type: ignore[arg-type]


IMAGES = [
    {"Id": "sha256:a", "RepoTags": ["busybox:latest", "busybox:uclibc"], "Labels": {"v": "1"}, "Created": 30},
    {"Id": "sha256:b", "RepoTags": ["docker.io/library/alpine:3"], "Labels": {}, "Created": 20},
    {"Id": "sha256:c", "RepoTags": [], "Labels": {}, "Created": 10},
]


@pytest.mark.parametrize(
    ("filters", "ids"),
    [
        (["dangling=true"], ["c"]),
        (["dangling=false"], ["a", "b"]),
        (["reference=busybox"], ["a"]),
        (["reference=busy*:uclibc"], ["a"]),
        (["reference=*/*/alp*"], ["b"]),
        (["label=v=1"], ["a"]),
        (["until=25"], ["b", "c"]),
    ],
)
def test_image_filters(filters, ids):
    found = docker_filters.filter_images(None, IMAGES, docker_filters.parse_filters(filters))  # type: ignore[arg-type]
    assert [s["Id"].split(":")[1] for s in found] == ids


def test_image_filters_refuse_unknown_keys_and_bad_booleans():
    for bad in ("shape=round", "dangling=maybe"):
        with pytest.raises(BadInput, match="invalid filter"):
            docker_filters.filter_images(None, IMAGES, docker_filters.parse_filters([bad]))  # type: ignore[arg-type]


def test_only_the_references_a_filter_lets_through_are_rows():
    assert docker_filters.only_references(IMAGES[0], {"reference": ["*:uclibc"]}) == ["busybox:uclibc"]
    assert docker_filters.only_references(IMAGES[0], {}) == ["busybox:latest", "busybox:uclibc"]
