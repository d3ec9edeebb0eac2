"""docker's daily commands through the CLI, on real containers: exit statuses (usage errors,
several names at once), ``run -d``'s id, ``rmi`` of an image in use, ``export``/``cp`` to a
closed pipe, ``cp`` tar streams on stdin/stdout, ``logs --since/--until``."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
import time

import pytest
from conftest import STDC

NONE = ("--network", "none")


@pytest.mark.parametrize(
    "args",
    [("ps", "--bogus"), ("rm",), ("run",), ("logs",), ("ps", "-n", "many"), ("inspect", "--type", "cake", "x")],
)
def test_every_usage_error_exits_125(stdc, args):
    r = stdc(*args, check=False)
    assert r.returncode == 125 and "Usage:" in r.stderr, (r.returncode, r.stderr)


def test_system_info_and_events_as_docker_has_them(stdc):
    fmt = "{{.Driver}} {{.Containers}}"
    assert stdc("system", "info", "--format", fmt).stdout == stdc("info", "--format", fmt).stdout != ""
    stdc("rm", stdc("create", "--network", "none", "base", "true").stdout.strip())
    window = ("--since=0", f"--until={int(time.time()) + 1}", "--filter", "event=create")
    seen = stdc("events", *window).stdout
    assert " container create " in seen and stdc("system", "events", *window).stdout == seen


def test_run_detached_prints_the_full_id(stdc):
    out = stdc("run", "-d", *NONE, "base", "true").stdout
    try:
        assert re.fullmatch(r"[0-9a-f]{64}\n", out)
    finally:
        stdc("rm", "-f", out.strip())


@pytest.mark.parametrize("verb", [("rm", "-f"), ("stop", "-t", "1"), ("kill",), ("start",)])
def test_several_names_every_one_done_and_status_1_if_any_failed(stdc, verb):
    made = [stdc("create" if verb[0] == "start" else "run", *([] if verb[0] == "start" else ["-d"]), *NONE,
                 "--name", f"daily-{n}", "base", "sleep", "1000").stdout.strip() for n in (1, 2)]  # fmt: skip
    try:
        r = stdc(*verb, "daily-1", "daily-missing", "daily-2", check=False)
        assert r.returncode == 1
        assert r.stdout.split() == ["daily-1", "daily-2"]
        assert r.stderr == "stdc: no such container: daily-missing\n"
        if verb[0] == "rm":
            assert all(stdc("inspect", c, check=False).returncode == 1 for c in made)
            return
        if verb[0] == "kill":
            stdc("wait", *made)
        expected = "running" if verb[0] == "start" else "exited"
        assert [json.loads(stdc("inspect", c).stdout)[0]["State"]["Status"] for c in made] == [expected] * 2
    finally:
        stdc("rm", "-f", *made, check=False)


def test_rmi_untags_one_of_several_tags_of_an_image_in_use(stdc):
    stdc("create", "--name", "daily-src", *NONE, "base", "true")
    image = stdc("commit", "daily-src", "daily-img:1").stdout.strip()
    stdc("rm", "daily-src")
    stdc("tag", "daily-img:1", "daily-img:2")
    user = stdc("create", *NONE, "daily-img:1", "true").stdout.strip()
    try:
        assert stdc("rmi", "daily-img:2").stdout == "Untagged: daily-img:2\n"  # another tag remains
        r = stdc("rmi", "daily-img:1", check=False)  # the last tag of an image in use
        assert r.returncode == 1 and "used by container" in r.stderr
        assert stdc("rmi", "-f", "daily-img:1").stdout == "Untagged: daily-img:1\n"
        # docker's: the image stays, untagged, for its container, which still starts and runs
        assert image in stdc("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout.split()
        assert json.loads(stdc("inspect", user).stdout)[0]["Image"] == image
        stdc("start", user)
        assert stdc("wait", user).stdout == "0\n"
    finally:
        stdc("rm", "-f", user)
    stdc("rmi", image)
    assert image not in stdc("images", "-a", "-q", "--no-trunc").stdout


def _piped_to_head(args: list[str]) -> subprocess.CompletedProcess:
    """``stdc ARGS | head -c 1``: stdc's status and stderr once the reader has gone."""
    producer = subprocess.Popen([STDC, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert producer.stdout is not None and producer.stderr is not None
    producer.stdout.read(1)
    producer.stdout.close()  # the reader is gone
    err = producer.stderr.read()
    return subprocess.CompletedProcess(args, producer.wait(timeout=60), b"", err)


def test_export_and_cp_to_a_closed_pipe_are_silent(stdc):
    cid = stdc("create", *NONE, "base", "true").stdout.strip()
    try:
        for args in (["export", cid], ["cp", f"{cid}:/bin", "-"]):
            r = _piped_to_head(args)
            assert (r.returncode, r.stderr) == (141, b""), args  # as a program ended by SIGPIPE, like docker
    finally:
        stdc("rm", cid)


def test_cp_tar_streams_both_ways(stdc):
    cid = stdc("create", *NONE, "base", "true").stdout.strip()
    try:
        out = subprocess.run([STDC, "cp", f"{cid}:/etc/passwd", "-"], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            (member,) = tar.getmembers()
            assert member.name == "passwd" and b"root:" in tar.extractfile(member).read()  # type: ignore[union-attr]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            data = b"from a stream\n"
            info = tarfile.TarInfo("sub/streamed.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        subprocess.run([STDC, "cp", "-", f"{cid}:/tmp"], input=buffer.getvalue(), check=True)
        out = subprocess.run([STDC, "cp", f"{cid}:/tmp/sub/streamed.txt", "-"], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            assert tar.extractfile("streamed.txt").read() == data  # type: ignore[union-attr]
        r = subprocess.run([STDC, "cp", "-", f"{cid}:/no/such/dir"], input=b"", capture_output=True)
        assert r.returncode == 125 and r.stderr.endswith(b":/no/such/dir: no such directory\n"), r.stderr
    finally:
        stdc("rm", cid)


def test_logs_since_and_until(stdc):
    cid = stdc("run", *NONE, "-d", "base", "sh", "-c", "echo one; sleep 1.1; echo two").stdout.strip()
    try:
        stdc("wait", cid)
        lines = stdc("logs", "-t", cid).stdout.splitlines()
        assert [line.split()[1] for line in lines] == ["one", "two"]
        second = lines[1].split()[0]
        assert stdc("logs", "--since", second, cid).stdout == "two\n"
        assert stdc("logs", "--until", second, cid).stdout == "one\n"
        assert stdc("logs", "--since", "1h", cid).stdout == "one\ntwo\n"
        assert stdc("logs", "--until", "1h", cid).stdout == ""
        r = stdc("logs", "--since", "yesterday-ish", cid, check=False)
        assert r.returncode == 125 and r.stderr.startswith("stdc: invalid time")
    finally:
        stdc("rm", cid)
