"""`stdc events` through the CLI: a run's events in order with their attributes, --since/--until
bounds, filters, --format, and following while another process runs a container."""

from __future__ import annotations

import json
import subprocess
import time

from conftest import STDC


def _events(stdc, since: float, *args: str) -> list[dict]:
    out = stdc("events", "--since", f"{since:.6f}", "--until", f"{time.time():.6f}", "--format", "{{json .}}", *args)
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_events_of_a_run_in_order_with_attributes(stdc):
    t0 = time.time()
    stdc("run", "--network", "none", "--name", "ev-run", "base", "sh", "-c", "exit 3", check=False)
    stdc("rm", "ev-run")
    found = _events(stdc, t0, "--filter", "container=ev-run")
    assert [e["Action"] for e in found] == ["create", "start", "die", "destroy"]
    ids = {e["Actor"]["ID"] for e in found}
    assert len(ids) == 1 and len(ids.pop()) == 64
    for e in found:
        assert e["Type"] == "container" and e["scope"] == "local"
        assert e["Actor"]["Attributes"]["name"] == "ev-run" and e["Actor"]["Attributes"]["image"] == "base"
        assert e["status"] == e["Action"] and e["id"] == e["Actor"]["ID"] and e["from"] == "base"
        assert e["time"] == e["timeNano"] // 10**9
    assert found[2]["Actor"]["Attributes"]["exitCode"] == "3"
    assert [e["timeNano"] for e in found] == sorted(e["timeNano"] for e in found)


def test_events_default_line_and_template(stdc):
    t0 = time.time()
    stdc("run", "--rm", "--network", "none", "--name", "ev-line", "base", "true")
    until = f"{time.time():.6f}"
    lines = stdc("events", "--since", f"{t0:.6f}", "--until", until, "-f", "container=ev-line").stdout.splitlines()
    assert len(lines) == 4
    stamp, kind, action, actor, rest = lines[1].split(" ", 4)
    assert stamp.endswith("Z") and len(stamp.split(".")[1]) == 10  # nine digits and the Z
    assert (kind, action, len(actor)) == ("container", "start", 64)
    assert rest == "(image=base, name=ev-line)"
    out = stdc(
        "events",
        "--since",
        f"{t0:.6f}",
        "--until",
        until,
        "-f",
        "container=ev-line",
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ).stdout
    assert out.splitlines() == [f"container {a} ev-line" for a in ("create", "start", "die", "destroy")]


def test_events_since_until_bound_and_filters(stdc):
    t0 = time.time()
    stdc("run", "--rm", "--network", "none", "--name", "ev-first", "base", "true")
    t1 = time.time()
    stdc("run", "--rm", "--network", "none", "--name", "ev-second", "base", "true")
    t2 = time.time()
    names = {e["Actor"]["Attributes"].get("name") for e in _events(stdc, t0, "-f", "type=container")}
    assert {"ev-first", "ev-second"} <= names
    out = stdc("events", "--since", f"{t0:.6f}", "--until", f"{t1:.6f}", "--format", "{{.Actor.Attributes.name}}")
    assert "ev-first" in out.stdout and "ev-second" not in out.stdout
    out = stdc("events", "--since", f"{t1:.6f}", "--until", f"{t2:.6f}", "--format", "{{.Actor.Attributes.name}}")
    assert "ev-second" in out.stdout and "ev-first" not in out.stdout
    picked = _events(stdc, t0, "-f", "event=start", "-f", "event=die", "-f", "container=ev-second")
    assert [e["Action"] for e in picked] == ["start", "die"]
    assert _events(stdc, t0, "-f", "type=image", "-f", "container=ev-second") == []
    # durations and RFC 3339 as docker takes them
    assert "ev-first" in stdc("events", "--since", "10m", "--until", "0s", "-f", "container=ev-first").stdout
    rfc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 - 1))
    assert "ev-first" in stdc("events", "--since", rfc, "--until", "0s", "-f", "container=ev-first").stdout
    bad = stdc("events", "--since", "yesterday", check=False)
    assert bad.returncode == 125 and len(bad.stderr.splitlines()) == 1
    bad = stdc("events", "--until", "0s", "-f", "colour=red", check=False)
    assert bad.returncode == 125 and len(bad.stderr.splitlines()) == 1


def test_events_of_images_volumes_and_networks(stdc):
    t0 = time.time()
    stdc("tag", "base", "ev-tag:1")
    stdc("rmi", "ev-tag:1")
    stdc("volume", "create", "ev-vol")
    stdc("volume", "rm", "ev-vol")
    stdc("network", "create", "ev-net")
    stdc("network", "rm", "ev-net")
    found = [(e["Type"], e["Action"], e["Actor"]["Attributes"].get("name")) for e in _events(stdc, t0)]
    assert ("image", "tag", "ev-tag:1") in found and ("image", "untag", "ev-tag:1") in found
    assert found.index(("image", "tag", "ev-tag:1")) < found.index(("image", "untag", "ev-tag:1"))
    volumes = [e for e in _events(stdc, t0, "-f", "volume=ev-vol")]
    assert [e["Action"] for e in volumes] == ["create", "destroy"] and volumes[0]["Actor"]["ID"] == "ev-vol"
    assert "status" not in volumes[0]  # docker's legacy fields are for containers and images only
    networks = _events(stdc, t0, "-f", "network=ev-net")
    assert [e["Action"] for e in networks] == ["create", "destroy"]
    assert networks[0]["Actor"]["ID"] == networks[1]["Actor"]["ID"] != "ev-net"  # the network's id, as docker
    stdc("run", "--rm", "--network", "none", "-v", "ev-auto:/data", "base", "true")  # run -v makes it
    stdc("volume", "rm", "ev-auto")
    assert [e["Action"] for e in _events(stdc, t0, "-f", "volume=ev-auto")] == ["create", "destroy"]


def test_events_follow_another_process_running_a_container(stdc):
    """Events as they come: `events` follows (bounded by --until as a safety net) while this test
    runs a container in another process; read until the destroy, then stop the follower."""
    t0 = time.time()
    follower = subprocess.Popen(
        [
            STDC,
            "events",
            "--since",
            f"{t0:.6f}",
            "--until",
            f"{t0 + 120:.6f}",
            "-f",
            "container=ev-follow",
            "--format",
            "{{.Action}}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        stdc("run", "--network", "none", "--name", "ev-follow", "base", "true")
        stdc("stop", "ev-follow", check=False)
        stdc("rm", "ev-follow")
        seen = []
        for line in follower.stdout:
            seen.append(line.strip())
            if line.strip() == "destroy":
                break
        # docker: stopping a container that is not running is "not modified", no stop event
        assert seen == ["create", "start", "die", "destroy"]
    finally:
        follower.terminate()
        follower.wait()


def test_events_of_a_detached_containers_life(stdc):
    t0 = time.time()
    stdc("run", "-d", "--network", "none", "--name", "ev-life", "base", "sleep", "60")
    stdc("pause", "ev-life")
    stdc("unpause", "ev-life")
    stdc("rename", "ev-life", "ev-life2")
    stdc("stop", "-t", "5", "ev-life2")
    stdc("rm", "ev-life2")
    found = _events(stdc, t0, "-f", "type=container", "-f", "container=ev-life", "-f", "container=ev-life2")
    actions = [e["Action"] for e in found]
    assert actions[:5] == ["create", "start", "pause", "unpause", "rename"]
    assert found[4]["Actor"]["Attributes"]["oldName"] == "ev-life"
    assert found[4]["Actor"]["Attributes"]["name"] == "ev-life2"
    assert actions[5] == "kill" and found[5]["Actor"]["Attributes"]["signal"] == "15"
    assert actions[-3:] == ["die", "stop", "destroy"]
