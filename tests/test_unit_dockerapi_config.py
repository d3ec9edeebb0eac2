"""The Docker API's container create body as the engine's RunOptions (pure: no daemon, no root):
what stdc honours is mapped, what it cannot honour is a 400 naming the key, never ignored."""

from __future__ import annotations

import dataclasses

import pytest
from stdc.dockerapi.container_config import run_options
from stdc.dockerapi.status_codes import ApiError
from stdc.engine.options import RunOptions


def _has(path: str) -> bool:
    opts = RunOptions(image="base")
    *parents, name = path.split(".")
    for part in parents:
        opts = getattr(opts, part, None)
    return opts is not None and any(f.name == name for f in dataclasses.fields(opts))


def test_config_and_host_config_become_run_options():
    opts = run_options(
        {
            "Image": "base",
            "Cmd": ["-c", "echo hi"],
            "Entrypoint": ["sh"],
            "Env": ["A=1"],
            "WorkingDir": "/tmp",
            "User": "1000:100",
            "Hostname": "box",
            "Tty": True,
            "OpenStdin": True,
            "StdinOnce": True,
            "AttachStdout": True,
            "ExposedPorts": {"80/tcp": {}},
            "Volumes": {"/anon": {}, "/data": {}},  # docker-py lists bind targets here too
            "HostConfig": {
                "Binds": ["data:/data:ro"],
                "Mounts": [{"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 1048576}}],
                "Tmpfs": {"/run": "size=64k"},
                "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "81/tcp": [{}]},
                "NetworkMode": "none",
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
                "Memory": 64 << 20,
                "PidsLimit": 50,
                "CapAdd": ["NET_ADMIN"],
                "CapDrop": ["MKNOD"],
                "ReadonlyRootfs": True,
                "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/nothing", "CgroupPermissions": "rw"}],
                # zero values docker clients send for "unset" are not requests
                "CpuPeriod": 0,
                "OomKillDisable": False,
                "ConsoleSize": [0, 0],
                "LogConfig": {"Type": "", "Config": {}},
                "MemorySwappiness": -1,
            },
        },
        name="web",
    )
    assert (opts.image, opts.name, opts.entrypoint, opts.command) == ("base", "web", "sh", ["-c", "echo hi"])
    assert (opts.env, opts.workdir, opts.user, opts.hostname) == (["A=1"], "/tmp", "1000:100", "box")
    assert opts.tty and opts.interactive and opts.read_only
    assert opts.expose == ["80/tcp"]
    assert opts.volumes == ["data:/data:ro", "/anon"]
    assert opts.tmpfs == ["/scratch:size=1048576", "/run:size=64k"]
    assert opts.publish == ["127.0.0.1:8080:80/tcp", "81/tcp"]
    assert opts.network == "none"
    assert opts.restart == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert opts.resources["memory"]["limit"] == 64 << 20 and opts.resources["pids"] == {"limit": 50}
    assert (opts.cap_add, opts.cap_drop) == (["NET_ADMIN"], ["MKNOD"])
    assert opts.devices == ["/dev/null:/dev/nothing:rw"]


def test_an_empty_entrypoint_clears_the_images_and_runs_the_command():
    opts = run_options({"Image": "base", "Entrypoint": [""], "Cmd": ["echo", "hi"]})
    assert (opts.entrypoint, opts.command) == ("echo", ["hi"])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"HostConfig": {"NetworkMode": "container:web"}}, "container:"),
        ({"HostConfig": {"VolumeDriver": "nfs"}}, "HostConfig.VolumeDriver"),
        ({"HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}}}, "unless-stopped"),
        ({"HostConfig": {"Mounts": [{"Type": "npipe", "Target": "/x"}]}}, "npipe"),
        ({"OnBuild": ["RUN true"]}, "OnBuild"),
        ({"Cmd": "not a list", "Env": {"A": 1}}, "Env"),
        ({"HostConfig": {"Memory": "64m"}}, "Memory"),
    ],
)
def test_what_stdc_cannot_honour_is_refused_naming_it(body, named):
    with pytest.raises(ApiError) as refused:
        run_options({"Image": "base", **body})
    assert refused.value.status == 400 and named in refused.value.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Labels": {"a": "b"}}, "labels"),
        ({"HostConfig": {"Dns": ["10.0.0.1"]}}, "dns"),
        ({"HostConfig": {"ExtraHosts": ["db:10.0.0.2"]}}, "add_hosts"),
        ({"HostConfig": {"Init": True}}, "kernel.init"),
        ({"HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 20}]}}, "kernel.ulimits"),
        ({"HostConfig": {"BlkioWeight": 300}}, "limits.blkio_weight"),
        ({"HostConfig": {"PidMode": "host"}}, "kernel.pid"),
        ({"StopSignal": "SIGINT"}, "stop_signal"),
        ({"Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 2_000_000_000}}, "health_cmd"),
    ],
)
def test_keys_waiting_for_a_run_option_are_refused_until_it_exists(body, field):
    if _has(field):
        assert run_options({"Image": "base", **body}) is not None
    else:
        with pytest.raises(ApiError) as refused:
            run_options({"Image": "base", **body})
        assert refused.value.status == 400 and "not supported by stdc" in refused.value.message


def test_a_body_that_is_not_an_object_or_lacks_an_image_is_a_400():
    for body in ([], "x", {}, {"Image": 5}):
        with pytest.raises(ApiError) as refused:
            run_options(body)
        assert refused.value.status == 400
