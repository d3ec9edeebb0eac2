"""docker's scripting surface through the CLI, on real containers: ``--format`` (every ``docker
ps``/``images``/``inspect --format`` example of docker's reference pages), ``--filter``, the ``ps``
flags, and ``inspect`` in the Docker Engine API's shape for containers, images, networks and volumes."""

from __future__ import annotations

import json
import re

import pytest

NONE = ("--network", "none")


@pytest.fixture
def two(stdc):
    """A running container ``fmt-up`` (a volume at /data) and an exited one ``fmt-done`` (status 3)."""
    up = stdc("run", "-d", "--name", "fmt-up", *NONE, "-v", "fmt-vol:/data", "base", "sleep", "1000").stdout.strip()
    done = stdc("run", "--name", "fmt-done", *NONE, "base", "sh", "-c", "exit 3", check=False)
    assert done.returncode == 3
    yield up
    stdc("rm", "-f", "fmt-up", "fmt-done")
    stdc("volume", "rm", "fmt-vol")


def _lines(result) -> list[str]:
    return result.stdout.splitlines()


# -- docker ps --format (docs/reference/commandline/container_ls.md) -------------------------------


def test_ps_format_id_and_command(stdc, two):
    assert _lines(stdc("ps", "--format", "{{.ID}}: {{.Command}}")) == [f'{two[:12]}: "sleep 1000"']


def test_ps_format_table_of_labels(stdc, two):
    out = _lines(stdc("ps", "--format", "table {{.ID}}\\t{{.Labels}}"))
    assert out[0].split() == ["CONTAINER", "ID", "LABELS"]
    assert out[1].strip() == two[:12]


def test_ps_format_json_has_dockers_keys(stdc, two):
    (line,) = _lines(stdc("ps", "--format", "json"))
    row = json.loads(line)
    assert list(row) == sorted(row)
    assert set(row) == {
        "Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Ports",
        "RunningFor", "Size", "State", "Status",
    }  # fmt: skip
    assert (row["ID"], row["Names"], row["Image"], row["State"], row["Networks"]) == (
        two[:12],
        "fmt-up",
        "base",
        "running",
        "none",
    )
    assert row["Command"] == '"sleep 1000"' and row["Status"].startswith("Up ") and row["RunningFor"].endswith(" ago")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+", row["CreatedAt"])
    assert (row["Mounts"], row["LocalVolumes"]) == ("fmt-vol", "1")
    same = json.loads(stdc("ps", "--format", "{{json .}}").stdout)
    assert {k: v for k, v in same.items() if k not in ("RunningFor", "Status")} == {
        k: v for k, v in row.items() if k not in ("RunningFor", "Status")
    }


def test_ps_filter_volume_examples(stdc, two):
    for volume in ("fmt-vol", "/data"):
        out = _lines(stdc("ps", "--filter", f"volume={volume}", "--format", "table {{.ID}}\\t{{.Mounts}}"))
        assert [line.split() for line in out] == [["CONTAINER", "ID", "MOUNTS"], [two[:12], "fmt-vol"]]


def test_ps_default_table_and_flags(stdc, two):
    out = _lines(stdc("ps", "-a"))
    assert out[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert [line.split()[-1] for line in out[1:]] == ["fmt-done", "fmt-up"]  # newest first
    assert _lines(stdc("ps", "-l", "--format", "{{.Names}}")) == ["fmt-done"]
    assert _lines(stdc("ps", "-n", "2", "--format", "{{.Names}}")) == ["fmt-done", "fmt-up"]
    assert _lines(stdc("ps", "-q", "--no-trunc")) == [two]
    assert _lines(stdc("ps", "-q", "--format", "{{.Names}}")) == [two[:12]]  # -q wins, as docker's
    assert _lines(stdc("ps", "--no-trunc", "--format", "{{.ID}}")) == [two]
    assert re.fullmatch(r"\S+ \(virtual \S+\)", stdc("ps", "-s", "--format", "{{.Size}}").stdout.strip())
    assert stdc("ps", "-s").stdout.splitlines()[0].split()[-1] == "SIZE"


@pytest.mark.parametrize(
    ("filters", "names"),
    [
        (["status=exited"], ["fmt-done"]),
        (["status=running", "status=exited"], ["fmt-done", "fmt-up"]),
        (["exited=3"], ["fmt-done"]),
        (["exited=0"], []),
        (["name=fmt-d"], ["fmt-done"]),
        (["ancestor=base"], ["fmt-done", "fmt-up"]),
        (["network=none"], ["fmt-done", "fmt-up"]),
        (["since=fmt-up"], ["fmt-done"]),
        (["before=fmt-done"], ["fmt-up"]),
        (["health=none", "status=running"], ["fmt-up"]),
    ],
)
def test_ps_filters(stdc, two, filters, names):
    args = [a for f in filters for a in ("--filter", f)]
    assert _lines(stdc("ps", "-a", *args, "--format", "{{.Names}}")) == names


def test_ps_filter_by_id_and_a_bad_filter(stdc, two):
    assert _lines(stdc("ps", "-f", f"id={two[:8]}", "-q")) == [two[:12]]
    for bad in ("colour=red", "status=sleeping", "nokey"):
        r = stdc("ps", "--filter", bad, check=False)
        assert r.returncode == 125 and r.stderr.startswith("stdc: ") and len(r.stderr.splitlines()) == 1, r.stderr


# -- docker images --format (docs/reference/commandline/image_ls.md) -------------------------------


@pytest.fixture
def tagged(stdc):
    """base tagged twice more, and an untagged (dangling) image from a commit."""
    stdc("tag", "base", "fmt-img:1")
    stdc("tag", "base", "fmt-img:2")
    stdc("create", "--name", "fmt-src", *NONE, "base", "true")
    dangling = stdc("commit", "fmt-src").stdout.strip()
    yield dangling
    stdc("rm", "fmt-src")
    stdc("rmi", "fmt-img:1", "fmt-img:2", dangling)


def test_images_format_id_and_repository(stdc, tagged):
    base_id = json.loads(stdc("inspect", "--type", "image", "base").stdout)[0]["Id"].split(":")[1][:12]
    out = _lines(stdc("images", "--format", "{{.ID}}: {{.Repository}}"))
    assert f"{base_id}: fmt-img" in out and f"{base_id}: base" in out
    assert out.count(f"{base_id}: fmt-img") == 2  # one row per tag, as docker's
    assert f"{tagged.split(':')[1][:12]}: <none>" in out  # an untagged image, listed as docker lists it


def test_images_format_table(stdc, tagged):
    out = [line.split() for line in _lines(stdc("images", "--format", "table {{.ID}}\\t{{.Repository}}\\t{{.Tag}}"))]
    assert out[0] == ["IMAGE", "ID", "REPOSITORY", "TAG"]
    assert [row[1:] for row in out[1:] if row[1] == "fmt-img"] == [["fmt-img", "1"], ["fmt-img", "2"]]


def test_images_format_json(stdc, tagged):
    rows = [json.loads(line) for line in _lines(stdc("images", "--format", "json"))]
    assert all(set(r) == {"Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize",
                          "Size", "Tag", "UniqueSize"} for r in rows)  # fmt: skip
    mine = [r for r in rows if r["Repository"] == "fmt-img"]
    assert sorted(r["Tag"] for r in mine) == ["1", "2"] and mine[0]["Digest"].startswith("sha256:")


def test_images_filters_and_quiet(stdc, tagged):
    dangling = tagged.split(":")[1][:12]
    found = _lines(stdc("images", "-q", "--filter", "dangling=true"))  # earlier tests may leave theirs
    assert dangling in found and _lines(stdc("images", "-q", "fmt-img"))[0] not in found
    assert _lines(stdc("images", "--filter", "reference=fmt-*", "--format", "{{.Repository}}:{{.Tag}}")) == [
        "fmt-img:1",
        "fmt-img:2",
    ]
    assert _lines(stdc("images", "fmt-img:2", "--format", "{{.Tag}}")) == ["2"]
    assert _lines(stdc("images", "-q", "fmt-img")) == [_lines(stdc("images", "-q", "base"))[0]]  # ids once
    assert dangling not in stdc("images", "-q", "--filter", "dangling=false").stdout
    assert stdc("images", "-a", "-q", "--filter", f"since={tagged}").stdout == ""
    r = stdc("images", "--filter", "shape=round", check=False)
    assert (r.returncode, r.stderr) == (125, "stdc: invalid filter 'shape'\n")


# -- docker inspect (docs/reference/commandline/inspect.md) ---------------------------------------


@pytest.fixture
def web(stdc):
    """A running container on the default network with 8787 published on a free host port."""
    cid = stdc("run", "-d", "--name", "fmt-web", "-p", "8787", "--cap-add", "NET_ADMIN", "base", "sleep", "1000")
    yield cid.stdout.strip()
    stdc("rm", "-f", "fmt-web")


def test_inspect_ip_mac_logpath_image(stdc, web):
    doc = json.loads(stdc("inspect", "fmt-web").stdout)[0]
    network = doc["NetworkSettings"]["Networks"]["bridge"]
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", network["IPAddress"])
    fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    assert stdc("inspect", f"--format={fmt}", web).stdout == network["IPAddress"] + "\n"
    fmt = "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}"
    assert stdc("inspect", f"--format={fmt}", web).stdout == network["MacAddress"] + "\n"
    assert stdc("inspect", "--format={{.LogPath}}", web).stdout == doc["LogPath"] + "\n"
    assert stdc("inspect", "--format={{.Config.Image}}", web).stdout == "base\n"


def test_inspect_ports_examples(stdc, web):
    host_port = stdc("port", web, "8787").stdout.strip().rsplit(":", 1)[1]
    fmt = "{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{with $conf}}{{(index . 0).HostPort}}{{else}}none{{end}} {{end}}"  # noqa: E501
    assert stdc("inspect", f"--format={fmt}", web).stdout == f" 8787/tcp -> {host_port} \n"
    fmt = '{{(index (index .NetworkSettings.Ports "8787/tcp") 0).HostPort}}'
    assert stdc("inspect", f"--format={fmt}", web).stdout == f"{host_port}\n"


def test_inspect_json_config_and_the_documents_shape(stdc, web):
    config = json.loads(stdc("inspect", "--format={{json .Config}}", web).stdout)
    assert config["Image"] == "base" and config["Cmd"] == ["sleep", "1000"] and config["Entrypoint"] is None
    assert config["Hostname"] == web[:12] and config["Labels"] == {} and "PATH=" in config["Env"][0]
    doc = json.loads(stdc("inspect", web).stdout)[0]
    assert (doc["Id"], doc["Name"], doc["Path"], doc["Args"]) == (web, "/fmt-web", "sleep", ["1000"])
    assert doc["State"]["Status"] == "running" and doc["State"]["Pid"] > 0 and doc["State"]["Running"] is True
    assert doc["Image"].startswith("sha256:") and doc["Driver"] == doc["GraphDriver"]["Name"]
    host = doc["HostConfig"]
    assert host["CapAdd"] == ["NET_ADMIN"] and host["NetworkMode"] == "bridge" and host["Privileged"] is False
    assert host["PortBindings"] == {"8787/tcp": [{"HostIp": "", "HostPort": ""}]}
    assert host["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0} and "/proc/kcore" in host["MaskedPaths"]
    assert doc["NetworkSettings"]["IPAddress"] == doc["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]


def test_inspect_size_and_several_objects_and_types(stdc, web):
    out = _lines(stdc("inspect", "--size", web, "-f", "{{ .SizeRootFs }} {{ .SizeRw }}"))
    root_fs, rw = (int(n) for n in out[0].split())
    assert root_fs >= rw >= 0 and root_fs > 0
    stdc("volume", "create", "fmt-myvolume")
    try:
        assert stdc("inspect", "--type=volume", "fmt-myvolume", "-f", "{{.Name}} {{.Driver}}").stdout == (
            "fmt-myvolume local\n"
        )
        out = _lines(stdc("inspect", "-f", "{{.Name}}", "fmt-web", "bridge", "fmt-myvolume"))
        assert out == ["/fmt-web", "bridge", "fmt-myvolume"]
        assert stdc("inspect", "-f", "{{.Id}}", "base").stdout.startswith("sha256:")
        r = stdc("inspect", "--type", "container", "fmt-myvolume", check=False)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", "stdc: no such container: fmt-myvolume\n")
        r = stdc("inspect", "-f", "{{.Name}}", "fmt-web", "fmt-nothing", check=False)
        assert (r.returncode, r.stdout, r.stderr) == (1, "/fmt-web\n", "stdc: no such object: fmt-nothing\n")
        volume = json.loads(stdc("volume", "inspect", "fmt-myvolume").stdout)[0]
        assert set(volume) == {"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}
    finally:
        stdc("volume", "rm", "fmt-myvolume")


def test_inspect_an_image_and_a_network(stdc, web):
    image = json.loads(stdc("inspect", "--type", "image", "base").stdout)[0]
    assert image["RepoTags"] == ["base:latest"] and image["RootFS"]["Type"] == "layers"
    assert image["Descriptor"]["digest"].startswith("sha256:") and image["Os"] == "linux"
    network = json.loads(stdc("network", "inspect", "bridge").stdout)[0]
    assert network["IPAM"]["Config"][0]["Subnet"] and network["Scope"] == "local" and network["Driver"] == "bridge"
    (entry,) = [v for k, v in network["Containers"].items() if k == web]
    assert entry["Name"] == "fmt-web" and "/" in entry["IPv4Address"] and entry["MacAddress"]
    fmt = "{{range .IPAM.Config}}{{.Subnet}}{{end}}"
    assert stdc("network", "inspect", "-f", fmt, "bridge").stdout.strip() == network["IPAM"]["Config"][0]["Subnet"]


def test_a_bad_template_is_one_line(stdc, web):
    r = stdc("inspect", "-f", "{{.Nope}}", web, check=False)
    assert r.returncode == 125 and r.stderr.startswith("stdc: template: ") and len(r.stderr.splitlines()) == 1
    r = stdc("ps", "--format", "{{.Names", check=False)
    assert r.returncode == 125 and r.stderr.startswith("stdc: template: ")


# -- the other listings ---------------------------------------------------------------------------


def test_other_commands_take_format(stdc, web):
    assert "bridge: bridge" in _lines(stdc("network", "ls", "--format", "{{.Name}}: {{.Driver}}"))
    rows = [json.loads(line) for line in _lines(stdc("network", "ls", "--format", "json"))]
    assert {"ID", "Name", "Driver", "Scope"} <= set(rows[0])
    host_port = stdc("port", web, "8787").stdout.strip().rsplit(":", 1)[1]
    assert stdc("port", web, "--format", "{{.PrivatePort}}/{{.Type}} {{.HostPort}}").stdout == f"8787/tcp {host_port}\n"
    out = _lines(stdc("stats", "--no-stream", "--format", "{{.Container}} {{.Name}} {{.PIDs}}", "fmt-web"))
    assert out == ["fmt-web fmt-web 1"]
    assert _lines(stdc("stats", "--no-stream", "--format", "table {{.Name}}\\t{{.MemPerc}}", "fmt-web"))[0].split() == [
        "NAME",
        "MEM",
        "%",
    ]
    history = json.loads(_lines(stdc("history", "--format", "json", "base"))[0])
    assert set(history) == {"ID", "CreatedSince", "CreatedAt", "CreatedBy", "Size", "Comment"}
    assert stdc("info", "--format", "{{.Driver}}|{{.ContainersRunning}}").stdout.split("|")[1].strip().isdigit()
    version = json.loads(stdc("version", "--format", "{{json .}}").stdout)
    assert version["Server"]["ApiVersion"] == version["Client"]["ApiVersion"]
    assert stdc("version", "-f", "{{.Server.Version}}").stdout.strip() == version["Server"]["Version"]
    stdc("volume", "create", "fmt-listed")
    try:
        assert "local fmt-listed" in _lines(stdc("volume", "ls", "--format", "{{.Driver}} {{.Name}}"))
        assert stdc("volume", "inspect", "-f", "{{.Mountpoint}}", "fmt-listed").stdout.strip().endswith("/_data")
    finally:
        stdc("volume", "rm", "fmt-listed")


def test_events_filter_and_format(stdc):
    cid = stdc("run", "-d", *NONE, "--name", "fmt-events", "base", "true").stdout.strip()
    stdc("wait", cid)
    stdc("rm", cid)
    args = ["events", "--since", "10m", "--until", "0s", "--filter", f"container={cid}"]
    actions = _lines(stdc(*args, "--filter", "event=start", "--filter", "event=destroy", "--format", "{{.Action}}"))
    assert actions == ["start", "destroy"]
    first = json.loads(_lines(stdc(*args, "--format", "json"))[0])
    assert first["Actor"]["Attributes"]["name"] == "fmt-events" and first["Type"] == "container"
    r = stdc("events", "--since", "1m", "--until", "0s", "--filter", "colour=red", check=False)
    assert r.returncode == 125 and "invalid filter 'colour'" in r.stderr
