"""User namespaces, for every executor: the security suite's part on ``--userns`` and the host's
``userns_remap`` (in the style of, and with the fixtures of, :mod:`stdc.testing.executor_suite`).

A module star-imports this one and sets ``EXECUTORS``. Each test names the Docker, podman or
runc behaviour it checks against. Needs root and a kernel with idmapped mounts.
"""

from __future__ import annotations

import glob
import io
import json
import os
import tarfile
import tempfile

import pytest

from stdc.testing.executor_suite import CGROUP_ROOT, Cli, _wait_for, cli, exec_root, executor, pytest_generate_tests

__all__ = [
    "pytest_generate_tests",
    "executor",
    "exec_root",
    "cli",
    "test_userns_uid_map_inside",
    "test_userns_exec_joins_the_user_namespace",
    "test_userns_with_volume_device_and_new_workdir",
    "test_userns_image_files_owned_by_root_inside",
    "test_userns_created_file_has_the_mapped_host_uid",
    "test_userns_auto_ranges_are_disjoint",
    "test_userns_commit_has_container_ids",
    "test_userns_remap_from_host_config",
    "test_userns_host_opts_out_of_remap",
    "test_userns_root_is_not_host_root",
    "test_userns_info_says_idmapped",
    "test_userns_cleanup_leaves_no_mount_or_helper",
]

SIZE = 65536


def _uid_map(text: str) -> list[tuple[int, int, int]]:
    return [tuple(int(x) for x in line.split()) for line in text.splitlines() if line.strip()]  # type: ignore[misc]


def _payload_pid(cid: str, comm: str) -> int:
    """The pid (host's view) of the container's process named ``comm``, from its cgroup: the
    same for every executor (lxc's recorded pid is its monitor's)."""
    for procs in glob.glob(f"{CGROUP_ROOT}/*/stdc/{cid}/cgroup.procs") + glob.glob(
        f"{CGROUP_ROOT}/stdc/{cid}/cgroup.procs"
    ):
        with open(procs) as f:
            for pid in f.read().split():
                try:
                    with open(f"/proc/{pid}/comm") as c:
                        if c.read().strip() == comm:
                            return int(pid)
                except FileNotFoundError:
                    continue
    raise AssertionError(f"no {comm} in the cgroups of {cid}")


def _status_ids(pid: int, field: str) -> list[int]:
    with open(f"/proc/{pid}/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return [int(x) for x in line.split()[1:]]


def _userns_of(cli: Cli, cid: str) -> dict:
    """The host ids the running container's root has (its payload's uid_map and gid_map), and
    inspect saying the container asked for ``--userns=auto`` (Docker's HostConfig.UsernsMode)."""
    assert cli.inspect(cid)["HostConfig"]["UsernsMode"] == "auto"
    _wait_for(lambda: _try_pid(cid) is not None)  # every caller's payload ends as sleep
    pid = _payload_pid(cid, "sleep")  # not State.Pid: lxc's is its monitor's
    ids = {}
    for key, name in (("uid", "uid_map"), ("gid", "gid_map")):
        with open(f"/proc/{pid}/{name}") as f:
            ((inside, host, size),) = _uid_map(f.read())
        assert (inside, size) == (0, SIZE)
        ids[key], ids["size"] = host, size
    return ids


def test_userns_uid_map_inside(cli: Cli) -> None:
    """podman --userns=auto (and docker with userns-remap): /proc/self/uid_map and gid_map inside
    map the container's 0 to an unprivileged host range of 65536 ids (never host root)."""
    r = cli(
        "run",
        "--rm",
        "--userns=auto",
        "base",
        "sh",
        "-c",
        "cat /proc/self/uid_map; echo -; cat /proc/self/gid_map; id -u",
    )
    uid_text, gid_text = r.stdout.split("-\n")
    (uid_line,), gid_lines = _uid_map(uid_text), _uid_map(gid_text.rsplit("\n", 2)[0])
    assert uid_line[0] == 0 and uid_line[1] > 0 and uid_line[2] == SIZE
    assert gid_lines == [(0, uid_line[1], SIZE)]
    assert r.stdout.strip().endswith("\n0")


def test_userns_exec_joins_the_user_namespace(cli: Cli) -> None:
    """podman exec / docker exec: a process added to a remapped container lives in its user
    namespace as its root, with the same mapping as the init, and what it writes is the
    container root's (owned by 0 inside)."""
    cid = cli("run", "-d", "--userns=auto", "base", "sleep", "300").stdout.strip()
    try:
        init_map = cli("exec", cid, "cat", "/proc/1/uid_map").stdout
        own = cli("exec", cid, "sh", "-c", "cat /proc/self/uid_map; id -u; touch /made; stat -c %u:%g /made")
        (line,) = _uid_map(init_map)
        assert line[0] == 0 and line[1] > 0 and line[2] == SIZE
        assert own.stdout == init_map + "0\n0:0\n"
    finally:
        cli("rm", "-f", cid)


def test_userns_with_volume_device_and_new_workdir(cli: Cli, tmp_path) -> None:
    """podman --userns=auto with -v, --device and a -w the image lacks: the mount point and the
    working directory are made inside the idmapped root as the container's root (real root is
    not mapped there), the device node is usable, the bind mount readable."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "note").write_text("from the host\n")
    r = cli(
        "run", "--rm", "--userns=auto", "-v", f"{shared}:/in/h:ro", "--device", "/dev/null:/dev/mynull",
        "-w", "/made/here", "base", "sh", "-c", "pwd; cat /in/h/note; echo x > /dev/mynull && echo device",
    )  # fmt: skip
    assert r.stdout == "/made/here\nfrom the host\ndevice\n"


def test_userns_image_files_owned_by_root_inside(cli: Cli) -> None:
    """docker userns-remap / podman --userns=auto: the image's files appear owned by root inside
    (runc/crun idmap or chown the layers), so `ls -ln /` shows 0 0 for the image's directories."""
    out = cli("run", "--rm", "--userns=auto", "base", "ls", "-ln", "/").stdout
    owners = {line.split()[-1]: (line.split()[2], line.split()[3]) for line in out.splitlines()[1:]}
    for name in ("bin", "etc", "tmp", "root", "usr"):
        assert owners[name] == ("0", "0"), (name, owners[name])


def test_userns_created_file_has_the_mapped_host_uid(cli: Cli) -> None:
    """docker userns-remap: a file the container's root creates is, seen from the host through
    the container's filesystem, owned by the remapped host uid (not 0); and the payload runs on
    the host as that uid, in the container's cgroup (limits still apply to it)."""
    cid = cli(
        "run", "-d", "--userns=auto", "base", "sh", "-c", "echo x > /made; mkdir /dir; exec sleep 30"
    ).stdout.strip()
    try:
        ids = _userns_of(cli, cid)
        _wait_for(lambda: _try_pid(cid) is not None)
        pid = _payload_pid(cid, "sleep")
        assert _status_ids(pid, "Uid") == [ids["uid"]] * 4
        assert _status_ids(pid, "Gid") == [ids["gid"]] * 4
        made = os.stat(f"/proc/{pid}/root/made")
        assert (made.st_uid, made.st_gid) == (ids["uid"], ids["gid"])
        image_file = os.stat(f"/proc/{pid}/root/etc/passwd")
        assert (image_file.st_uid, image_file.st_gid) == (ids["uid"], ids["gid"])
        assert cli("diff", cid).stdout.split("\n")[:2] == ["A /dir", "A /made"]
    finally:
        cli("rm", "-f", cid)


def _try_pid(cid: str) -> int | None:
    try:
        return _payload_pid(cid, "sleep")
    except AssertionError:
        return None


def test_userns_auto_ranges_are_disjoint(cli: Cli) -> None:
    """podman --userns=auto: each container gets a range of its own, recorded, so that two
    running containers never share host ids; the kernel's uid_map agrees with the record."""
    cids = [cli("run", "-d", "--userns=auto", "base", "sleep", "30").stdout.strip() for _ in range(2)]
    try:
        ranges = []
        for cid in cids:
            ids = _userns_of(cli, cid)
            _wait_for(lambda cid=cid: _try_pid(cid) is not None)
            with open(f"/proc/{_payload_pid(cid, 'sleep')}/uid_map") as f:
                assert _uid_map(f.read()) == [(0, ids["uid"], SIZE)]
            ranges.append(range(ids["uid"], ids["uid"] + SIZE))
        assert ranges[0].stop <= ranges[1].start or ranges[1].stop <= ranges[0].start
    finally:
        cli("rm", "-f", *cids)


def test_userns_commit_has_container_ids(cli: Cli) -> None:
    """docker commit of a userns-remapped container: the new layer holds the container's ids
    (uid 0 for what its root wrote), not the host's shifted ones, so the image runs anywhere."""
    name = "userns-commit"
    cli(
        "run",
        "--name",
        name,
        "--userns=auto",
        "base",
        "sh",
        "-c",
        "echo x > /made; mkdir -p /d; touch /d/f; chown 7:8 /d/f",
    )
    image = f"userns-commit:{os.getpid()}"
    try:
        cli("commit", name, image)
        with tempfile.TemporaryDirectory(dir=cli.root) as out:
            archive = os.path.join(out, "image.tar")
            cli("save", "-o", archive, image)
            found = _tar_owners(archive, {"made", "d/f"})
        assert found == {"made": (0, 0), "d/f": (7, 8)}
    finally:
        cli("rm", "-f", name)
        cli("rmi", image, check=False)


def _tar_owners(archive: str, wanted: set[str]) -> dict[str, tuple[int, int]]:
    """Owners of ``wanted`` entries in the layers of an OCI archive."""
    found: dict[str, tuple[int, int]] = {}
    with tarfile.open(archive) as outer:
        for member in outer.getmembers():
            if not member.isfile() or "/blobs/" not in "/" + member.name:
                continue
            data = outer.extractfile(member).read()  # type: ignore[union-attr]
            try:
                with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as layer:
                    for entry in layer.getmembers():
                        path = entry.name.lstrip("./")
                        if path in wanted:
                            found[path] = (entry.uid, entry.gid)
            except tarfile.TarError:
                continue  # a manifest or config blob
    return found


def test_userns_remap_from_host_config(cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """dockerd's userns-remap: host configuration, not a run flag; every container then runs
    mapped to that range. Read from a private config file (STDC_CONFIG), never /etc/stdc."""
    config = tmp_path / "config.toml"
    config.write_text('[security]\nuserns_remap = "ids:300000:65536"\n')
    monkeypatch.setenv("STDC_CONFIG", str(config))
    monkeypatch.delenv("STDC_USERNS_REMAP", raising=False)
    out = cli("run", "--rm", "base", "cat", "/proc/self/uid_map").stdout
    assert _uid_map(out) == [(0, 300000, 65536)]
    monkeypatch.setenv("STDC_USERNS_REMAP", "ids:400000:65536:500000")  # the environment beats the file
    out = cli("run", "--rm", "base", "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map").stdout
    assert _uid_map(out) == [(0, 400000, 65536), (0, 500000, 65536)]
    monkeypatch.setenv("STDC_USERNS_REMAP", "ids:0:65536")
    r = cli("run", "--rm", "base", "true", check=False)
    assert r.returncode == 125 and "unprivileged" in r.stderr and len(r.stderr.splitlines()) == 1


def test_userns_host_opts_out_of_remap(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """docker run --userns=host on a userns-remap daemon: that container keeps the host's ids."""
    monkeypatch.setenv("STDC_USERNS_REMAP", "ids:300000:65536")
    out = cli("run", "--rm", "--userns=host", "base", "cat", "/proc/self/uid_map").stdout
    assert _uid_map(out) == [(0, 0, 4294967295)]


def test_userns_root_is_not_host_root(cli: Cli) -> None:
    """docker userns-remap's documented restrictions: the container's root, though it holds
    CAP_MKNOD inside, cannot make a device node (the kernel allows mknod only to a capable
    caller of the host's user namespace)."""
    script = "mknod /tmp/sda b 8 0 2>/dev/null && echo made; grep CapEff /proc/self/status"
    out = cli("run", "--rm", "--userns=auto", "base", "sh", "-c", script).stdout
    assert "made" not in out
    assert "CapEff:\t00000000a80425fb" in out  # it does hold them, in its own namespace
    out = cli("run", "--rm", "base", "sh", "-c", "mknod /tmp/sda b 8 0 && echo made").stdout
    assert "made" in out  # without a user namespace, root with CAP_MKNOD can


def test_userns_info_says_idmapped(cli: Cli) -> None:
    """podman info's idMappings / docker info's userns security option: `stdc info` tells how
    the layers are given to a user namespace here (idmapped mounts) and the host's remap."""
    data = json.loads(cli("info", "--format", "json").stdout)
    assert data["UserNamespaces"]["Layers"] == "idmapped"
    assert data["UserNamespaces"]["Remap"] == "none"
    assert "User namespaces: layers idmapped" in cli("info").stdout


def test_userns_cleanup_leaves_no_mount_or_helper(cli: Cli) -> None:
    """runc/crun idmap with detached mounts: once the container is gone no idmapped mount is left
    anywhere on the host, nor a process in a user namespace of its range."""

    def idmapped_mounts() -> int:
        with open("/proc/self/mountinfo") as f:
            return sum(" idmapped" in line or ",idmapped" in line for line in f)

    before = idmapped_mounts()
    cid = cli("run", "-d", "--userns=auto", "base", "sleep", "30").stdout.strip()
    ids = _userns_of(cli, cid)
    cli("rm", "-f", cid)
    cli("run", "--rm", "--userns=auto", "base", "true")
    assert idmapped_mounts() == before
    for path in glob.glob("/proc/[0-9]*/uid_map"):
        try:
            with open(path) as f:
                mapped = _uid_map(f.read())
        except OSError:
            continue
        assert all(host != ids["uid"] for _, host, _ in mapped), f"{path} is still in the container's range"
