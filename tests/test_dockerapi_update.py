"""``POST /containers/{id}/update`` (`stdc daemon`) driven by docker-py: the new limit reaches
the running container's cgroup and its inspect document."""

from __future__ import annotations

import os
import shutil

import docker
import pytest
from dockerapi_daemon import DOCKER_20, DOCKER_NEW, start


@pytest.fixture(scope="module")
def api(root, tmp_path_factory):
    """One daemon for the module, its sockets in a directory of its own."""
    yield from start(str(tmp_path_factory.mktemp("api-update")))


@pytest.fixture
def client(api, stdc):
    """A docker-py client of the daemon; the test must leave nothing behind (the stdc fixture)."""
    c = docker.DockerClient(base_url=api.host, version="auto", timeout=60)
    yield c
    c.close()


def test_container_update_mem_limit(client):
    container = client.containers.run("base", ["sleep", "100"], detach=True, network_mode="none", mem_limit="64m")
    try:
        assert container.update(mem_limit="96m", restart_policy={"Name": "on-failure", "MaximumRetryCount": 2}) == {
            "Warnings": []
        }
        container.reload()
        host_config = container.attrs["HostConfig"]
        assert host_config["Memory"] == 96 << 20
        assert host_config["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
        v1 = os.path.isdir("/sys/fs/cgroup/memory")
        path = "/sys/fs/cgroup/memory/memory.limit_in_bytes" if v1 else "/sys/fs/cgroup/memory.max"
        code, out = container.exec_run(["cat", path])
        assert code == 0 and out.decode().strip() == str(96 << 20)
        with pytest.raises(docker.errors.APIError) as refused:
            container.update(mem_limit="1k")
        assert "Minimum memory limit allowed is 6MB" in str(refused.value)
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("binary", [DOCKER_20, DOCKER_NEW])
def test_docker_cli_update(api, client, binary):
    """The docker CLI sends every field of UpdateConfig, zeros for those not given."""
    if not shutil.which(binary):
        pytest.skip(f"no {binary} here")
    name = "upd-cli"
    api.docker("run", "-d", "--name", name, "--network", "none", "-m", "64m", "base", "sleep", "100", binary=binary)
    try:
        assert api.docker("update", "--cpus", "0.5", "--pids-limit", "40", name, binary=binary).stdout == f"{name}\n"
        host_config = client.api.inspect_container(name)["HostConfig"]
        assert (host_config["NanoCpus"], host_config["PidsLimit"], host_config["Memory"]) == (500_000_000, 40, 64 << 20)
        assert host_config["RestartPolicy"]["Name"] == "no"
        refused = api.docker("update", "--memory-swap", "32m", name, binary=binary, check=False)
        assert refused.returncode == 1
        assert "Minimum memoryswap limit should be larger than memory limit" in refused.stderr
    finally:
        client.api.remove_container(name, force=True)
