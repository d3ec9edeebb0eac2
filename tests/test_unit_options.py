"""The pure parts of run/create/exec/logs/kill: flags into the engine's typed options, checked
before anything is made. No container, no root."""

from __future__ import annotations

import signal

import pytest
from stdc.engine import options, resources, volumes
from stdc.engine.options import RunOptions
from stdc.errors import BadInput


def parse_create(*args: str) -> RunOptions:
    """``stdc create ARGS`` as the CLI parses it, up to the RunOptions it hands the engine."""
    from stdc.cli import container_commands

    ctx = container_commands.create.make_context("create", list(args))
    return container_commands.run_options_from(**ctx.params)


def test_run_flags_become_run_options(monkeypatch):
    monkeypatch.setenv("FROM_HOST", "yes")
    opts = parse_create(
        "--name", "web", "-e", "A=1", "-e", "FROM_HOST", "-u", "1000:100", "-p", "8080:80", "-v", "data:/data:ro",
        "--tmpfs", "/run:size=1m", "-m", "64m", "--pids-limit", "20", "--restart", "on-failure:3",
        "base", "httpd", "-f",
    )  # fmt: skip
    assert (opts.image, opts.command, opts.name) == ("base", ["httpd", "-f"], "web")
    assert opts.env == ["A=1", "FROM_HOST"]
    assert (opts.user, opts.publish, opts.volumes, opts.tmpfs) == (
        "1000:100",
        ["8080:80"],
        ["data:/data:ro"],
        ["/run:size=1m"],
    )
    assert opts.resources == {"memory": {"limit": 64 << 20, "swap": 128 << 20}, "pids": {"limit": 20}}
    assert opts.restart == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert not opts.auto_remove and not opts.tty


def test_options_after_the_image_belong_to_the_command():
    opts = parse_create("-t", "base", "sh", "-c", "echo -e hi")
    assert opts.tty and opts.command == ["sh", "-c", "echo -e hi"]


def test_restart_and_rm_exclude_each_other():
    with pytest.raises(BadInput, match="Conflicting options"):
        parse_create("--rm", "--restart", "always", "base", "true")


def test_env_merges_over_the_image_and_takes_host_values(monkeypatch):
    monkeypatch.setenv("HOSTVAR", "h")
    monkeypatch.delenv("UNSET_HERE", raising=False)
    base = ["PATH=/bin", "A=1"]
    assert options.merge_env(base, ["A=2", "B=", "HOSTVAR", "UNSET_HERE"]) == ["PATH=/bin", "A=2", "B=", "HOSTVAR=h"]
    with pytest.raises(BadInput):
        options.merge_env(base, ["=x"])


def test_a_terminal_gets_term_unless_set():
    assert options.with_terminal_env(["A=1"], tty=True) == ["A=1", "TERM=xterm"]
    assert options.with_terminal_env(["TERM=vt100"], tty=True) == ["TERM=vt100"]
    assert options.with_terminal_env(["A=1"], tty=False) == ["A=1"]


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        ("0", {"uid": 0, "gid": 0}),
        ("1000", {"uid": 1000, "gid": 1000}),
        ("1000:100", {"uid": 1000, "gid": 100}),
        ("nobody", {"username": "nobody"}),
        ("nobody:users", {"username": "nobody", "groupname": "users"}),
        ("7:staff", {"uid": 7, "groupname": "staff"}),
    ],
)
def test_user(value, spec):
    assert options.parse_user(value) == spec


def test_user_needs_a_user():
    with pytest.raises(BadInput):
        options.parse_user(":100")


def test_tail_and_signals():
    assert options.parse_tail("all") is None
    assert options.parse_tail("5") == 5
    with pytest.raises(BadInput):
        options.parse_tail("-1")
    assert options.signal_number("9") == 9
    assert options.signal_number("term") == signal.SIGTERM
    assert options.signal_number("SIGHUP") == signal.SIGHUP
    with pytest.raises(BadInput):
        options.signal_number("NOPE")


def test_iso_time():
    assert options.iso_time(None) is None
    assert options.iso_time(86400.5) == "1970-01-02T00:00:00.500000000Z"


@pytest.mark.parametrize(
    ("text", "size"),
    [("64m", 64 << 20), ("1g", 1 << 30), ("512k", 512 << 10), ("1048576", 1 << 20), ("1.5g", 3 << 29), ("10b", 10)],
)
def test_sizes_are_binary(text, size):
    assert resources.parse_size(text, "-m") == size


def test_bad_sizes():
    for text in ("", "lots", "1x", "-1m"):
        with pytest.raises(BadInput):
            resources.parse_size(text, "-m")


def test_cpusets():
    assert resources.parse_cpuset("0-2,4") == {0, 1, 2, 4}
    for text in ("2-1", "a", "1-", ""):
        with pytest.raises(BadInput):
            resources.parse_cpuset(text)


def test_resource_limits():
    assert resources.build() == {}
    assert resources.build(memory="64m", memory_swap="-1") == {"memory": {"limit": 64 << 20, "swap": -1}}
    assert resources.build(cpus="0.5")["cpu"] == {"period": 100_000, "quota": 50_000}
    assert resources.build(cpu_shares=1)["cpu"] == {"shares": 2}
    assert resources.build(pids_limit=0) == {"pids": {"limit": -1}}
    assert resources.build(cpuset_cpus="0") == {"cpu": {"cpus": "0"}}


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"memory": "1m"}, "Minimum memory"),
        ({"memory_swap": "1g"}, "Memory limit"),
        ({"memory": "64m", "memory_swap": "32m"}, "larger than memory"),
        ({"cpus": "0"}, "Range of CPUs"),
        ({"cpus": "many"}, "--cpus"),
        ({"cpu_shares": -1}, "--cpu-shares"),
        ({"cpuset_cpus": "100000"}, "not available"),
    ],
)
def test_resource_limits_refused(kw, message):
    with pytest.raises(BadInput, match=message):
        resources.build(**kw)


def test_restart_policies():
    assert resources.parse_restart(None, False) == {"Name": "no", "MaximumRetryCount": 0}
    assert resources.parse_restart("always", False) == {"Name": "always", "MaximumRetryCount": 0}
    for bad in ("sometimes", "always:3", "on-failure:x"):
        with pytest.raises(BadInput):
            resources.parse_restart(bad, False)


def test_volume_and_tmpfs_plans(tmp_path):
    store = volumes.Volumes(str(tmp_path))
    plan = volumes.plan(["data:/data:ro", f"{tmp_path}:/host"], ["/run:size=1m,mode=1777"], True, store)
    assert plan.create == ["data"] and plan.read_only
    by_destination = {m["destination"]: m for m in plan.mounts}
    assert by_destination["/data"]["options"] == ["rbind", "ro", "rprivate", "rro"]  # read-only all the way down
    assert by_destination["/data"]["source"] == store.path("data")
    assert by_destination["/host"]["source"] == str(tmp_path)
    assert by_destination["/run"]["options"] == ["nosuid", "nodev", "noexec", "size=1m", "mode=1777"]
    assert not (tmp_path / "volumes").exists()  # a plan makes nothing


@pytest.mark.parametrize(
    ("volume", "tmpfs"),
    [
        (["data:relative"], []),
        (["data:/"], []),
        (["data:/x:rx"], []),
        (["/does/not/exist/here:/x"], []),
        (["-bad-name:/x"], []),
        (["a:/x", "b:/x"], []),
        ([], ["/t:exotic"]),
    ],
)
def test_volume_plans_refused(tmp_path, volume, tmpfs):
    with pytest.raises(BadInput):
        volumes.plan(volume, tmpfs, False, volumes.Volumes(str(tmp_path)))
