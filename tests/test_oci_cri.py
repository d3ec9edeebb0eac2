"""Kubernetes' way in: containerd's CRI plugin with stdc-runtime registered as the RuntimeClass
handler ``stdc`` (the snippet in examples/kubernetes/), driven over gRPC by a client generated
from the CRI's api.proto, as the kubelet drives it: a pod sandbox and a container created,
started, exec'd into, stopped and removed. containerd is the test's own (root, state, socket)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import cgroup_parent
from cri_client import busybox_image_archive, generate_stubs
from oci_bundles import STDC_RUNTIME, busybox_rootfs

grpc = pytest.importorskip("grpc")  # a test dependency of the core (pyproject's [test])

SNIPPET = Path(__file__).parent.parent / "examples" / "kubernetes" / "containerd-stdc.toml"
IMAGE = "localhost/stdc-busybox:1"


@pytest.fixture
def cri(stdc, root: str, tmp_path: Path) -> Iterator[tuple[object, object, Path]]:
    """containerd with the CRI plugin and the ``stdc`` handler; (stubs module, runtime service
    client, log directory)."""
    home = Path(tempfile.mkdtemp(prefix="oci-cri-", dir="/var/tmp"))
    sock = home / "containerd.sock"
    snippet = SNIPPET.read_text().replace("/usr/local/bin/stdc-runtime", STDC_RUNTIME)
    (home / "config.toml").write_text(
        f'version = 2\nroot = "{home}/root"\nstate = "{home}/state"\n'
        f'[grpc]\n  address = "{sock}"\n[ttrpc]\n  address = "{sock}.ttrpc"\n'
        '[plugins."io.containerd.grpc.v1.cri"]\n'
        f'  sandbox_image = "{IMAGE}"\n  stream_server_address = "127.0.0.1"\n  stream_server_port = "0"\n'
        f'  [plugins."io.containerd.grpc.v1.cri".cni]\n    bin_dir = "{home}/cni"\n    conf_dir = "{home}/cni"\n'
        # a node's own default runtime, runc, beside which the snippet adds stdc
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n'
        + snippet
    )
    env = {**os.environ, "STDC_CGROUP_PARENT": cgroup_parent(root)}
    log = open(home / "log", "w")  # noqa: SIM115 - containerd writes it for the fixture's whole life
    daemon = subprocess.Popen(["containerd", "--config", str(home / "config.toml")], env=env, stdout=log, stderr=log)
    ctr = ["ctr", "--address", str(sock), "--namespace", "k8s.io"]
    try:
        for _ in range(500):
            if subprocess.run([*ctr, "version"], capture_output=True).returncode == 0:
                break
            time.sleep(0.02)
        archive = tmp_path / "busybox.tar"
        busybox_image_archive(busybox_rootfs(tmp_path / "rootfs"), archive, IMAGE, ["sleep", "1000000"])
        imported = subprocess.run([*ctr, "images", "import", str(archive)], capture_output=True, text=True)
        assert imported.returncode == 0, imported.stderr
        api, api_grpc = generate_stubs(tmp_path / "stubs")
        channel = grpc.insecure_channel(f"unix://{sock}")
        logs = tmp_path / "logs"
        logs.mkdir()
        yield api, api_grpc.RuntimeServiceStub(channel), logs
        channel.close()
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        log.close()
        with open("/proc/self/mountinfo") as f:  # what containerd mounted under its root, if left
            for mountpoint in sorted((line.split()[4] for line in f if str(home) in line), reverse=True):
                subprocess.run(["umount", "-l", mountpoint], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def test_cri_pod_and_container_on_the_stdc_handler(cri):
    api, runtime, logs = cri
    assert runtime.Version(api.VersionRequest()).runtime_name == "containerd"
    namespaces = api.NamespaceOption(network=api.NODE)  # the node's network: no CNI plugin needed
    sandbox_config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name="pod", uid="pod-uid-1", namespace="default"),
        log_directory=str(logs),
        linux=api.LinuxPodSandboxConfig(security_context=api.LinuxSandboxSecurityContext(namespace_options=namespaces)),
    )
    pod = runtime.RunPodSandbox(api.RunPodSandboxRequest(config=sandbox_config, runtime_handler="stdc")).pod_sandbox_id
    try:
        status = runtime.PodSandboxStatus(api.PodSandboxStatusRequest(pod_sandbox_id=pod)).status
        assert status.state == api.SANDBOX_READY and status.runtime_handler == "stdc"
        config = api.ContainerConfig(
            metadata=api.ContainerMetadata(name="hello"),
            image=api.ImageSpec(image=IMAGE),
            command=["sh", "-c", "echo hello from stdc; exec sleep 1000"],
            log_path="hello.log",
        )
        created = runtime.CreateContainer(
            api.CreateContainerRequest(pod_sandbox_id=pod, config=config, sandbox_config=sandbox_config)
        )
        cid = created.container_id
        runtime.StartContainer(api.StartContainerRequest(container_id=cid))
        state = runtime.ContainerStatus(api.ContainerStatusRequest(container_id=cid)).status.state
        assert state == api.CONTAINER_RUNNING
        done = runtime.ExecSync(api.ExecSyncRequest(container_id=cid, cmd=["ps", "-o", "pid,args"], timeout=30))
        assert done.exit_code == 0
        # the pod's pid namespace, joined by path: the sandbox's process is pid 1, the container's beside it
        processes = dict(line.split(None, 1) for line in done.stdout.decode().splitlines()[1:])
        assert processes["1"] == "sleep 1000000" and "sleep 1000" in processes.values()
        for _ in range(500):  # the log is written by the shim as the payload prints
            if "hello from stdc" in (logs / "hello.log").read_text():
                break
            time.sleep(0.02)
        assert "hello from stdc" in (logs / "hello.log").read_text()
        runtime.StopContainer(api.StopContainerRequest(container_id=cid, timeout=1))
        state = runtime.ContainerStatus(api.ContainerStatusRequest(container_id=cid)).status.state
        assert state == api.CONTAINER_EXITED
        runtime.RemoveContainer(api.RemoveContainerRequest(container_id=cid))
    finally:
        runtime.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=pod))
        runtime.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=pod))
    assert not runtime.ListPodSandbox(api.ListPodSandboxRequest()).items
