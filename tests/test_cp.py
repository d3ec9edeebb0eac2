"""stdc cp: files and directories both ways, running and stopped, owners, and hostile containers."""

from __future__ import annotations

import os
import time

import pytest


@pytest.fixture(params=["stopped", "running"])
def container(request, stdc):
    """A container with /d/f (owned 123:45), /d/l -> /etc/passwd; stopped or running."""
    setup = "mkdir /d && echo inside > /d/f && chown 123:45 /d/f && ln -s /etc/passwd /d/l"
    if request.param == "stopped":
        cid = stdc("run", "-d", "base", "sh", "-c", setup).stdout.strip()
        stdc("wait", cid)
    else:
        cid = stdc("run", "-d", "base", "sh", "-c", f"{setup} && touch /ready && exec sleep 1000").stdout.strip()
        deadline = time.monotonic() + 20
        while "A /ready" not in stdc("diff", cid).stdout and time.monotonic() < deadline:
            time.sleep(0.1)
    yield cid
    stdc("rm", "-f", cid)


def test_copy_out_file_and_dir(stdc, container, tmp_path):
    stdc("cp", f"{container}:/d/f", str(tmp_path / "f"))
    assert (tmp_path / "f").read_text() == "inside\n"
    assert (tmp_path / "f").stat().st_uid == 0  # without -a: the caller's
    stdc("cp", f"{container}:/d", str(tmp_path))
    assert (tmp_path / "d" / "f").read_text() == "inside\n"
    assert os.readlink(tmp_path / "d" / "l") == "/etc/passwd"  # copied as a link, not followed
    stdc("cp", "-a", f"{container}:/d", str(tmp_path / "kept"))
    st = (tmp_path / "kept" / "f").stat()
    assert (st.st_uid, st.st_gid) == (123, 45)


def test_copy_in_file_and_dir(stdc, container, tmp_path):
    (tmp_path / "host.txt").write_text("from host\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "x").write_text("x\n")
    os.chown(tree / "sub" / "x", 7, 8)
    stdc("cp", str(tmp_path / "host.txt"), f"{container}:/d/")
    stdc("cp", str(tmp_path / "host.txt"), f"{container}:/renamed.txt")
    stdc("cp", str(tree), f"{container}:/d")
    stdc("cp", "-a", str(tree), f"{container}:/kept")
    out = tmp_path / "out"
    out.mkdir()
    for path in ("/d/host.txt", "/renamed.txt", "/d/tree/sub/x"):
        stdc("cp", f"{container}:{path}", str(out / "got"))
        assert (out / "got").read_text() in ("from host\n", "x\n")
    stdc("cp", "-a", f"{container}:/kept/sub/x", str(out / "owned"))
    assert (os.stat(out / "owned").st_uid, os.stat(out / "owned").st_gid) == (7, 8)
    stdc("cp", "-a", f"{container}:/d/tree/sub/x", str(out / "root-owned"))
    assert os.stat(out / "root-owned").st_uid == 0  # copied in without -a: root's


def test_cp_errors_are_one_line(stdc, container, tmp_path):
    for args in (
        [f"{container}:/no/such", str(tmp_path)],
        [str(tmp_path / "missing"), f"{container}:/"],
        [str(tmp_path), str(tmp_path)],
        ["no-such-container:/x", str(tmp_path)],
    ):
        r = stdc("cp", *args, check=False)
        assert r.returncode == 125 and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


@pytest.mark.parametrize("state", ["stopped", "running"])
def test_cp_never_follows_a_symlink_out_of_the_container(stdc, tmp_path, state):
    """A container plants /etc -> / and /escape -> /var/tmp (host paths): cp stays inside it."""
    plant = "mkdir -p /var/tmp && rm -rf /etc && ln -s / /etc && ln -s /var/tmp /escape && ln -s /etc/shadow /shadow"
    # no network: on one, /etc holds the container's bind-mounted hosts files and cannot go
    if state == "stopped":
        cid = stdc("run", "-d", "--network", "none", "base", "sh", "-c", plant).stdout.strip()
        stdc("wait", cid)
    else:
        plant += " && touch /ready && exec sleep 1000"
        cid = stdc("run", "-d", "--network", "none", "base", "sh", "-c", plant).stdout.strip()
        deadline = time.monotonic() + 20
        while "A /ready" not in stdc("diff", cid).stdout and time.monotonic() < deadline:
            time.sleep(0.1)
    marker = f"stdc-cp-escape-{os.getpid()}-{state}"
    try:
        # reading: /etc/passwd resolves to the container's /passwd, which does not exist
        r = stdc("cp", f"{cid}:/etc/passwd", str(tmp_path / "passwd"), check=False)
        assert r.returncode == 125 and "no such file" in r.stderr
        assert not (tmp_path / "passwd").exists()
        # a symlink as the source is copied as the link it is, never read through
        stdc("cp", f"{cid}:/shadow", str(tmp_path / "shadow"))
        assert os.readlink(tmp_path / "shadow") == "/etc/shadow"
        # writing: through /etc and /escape, the file lands inside the container
        (tmp_path / marker).write_text("planted\n")
        stdc("cp", str(tmp_path / marker), f"{cid}:/etc/")
        stdc("cp", str(tmp_path / marker), f"{cid}:/escape/")
        assert not os.path.exists(f"/{marker}") and not os.path.exists(f"/var/tmp/{marker}")
        stdc("cp", f"{cid}:/{marker}", str(tmp_path / "back"))
        assert (tmp_path / "back").read_text() == "planted\n"
        stdc("cp", f"{cid}:/var/tmp/{marker}", str(tmp_path / "back2"))
        assert (tmp_path / "back2").read_text() == "planted\n"
    finally:
        stdc("rm", "-f", cid)
        for leak in (f"/{marker}", f"/var/tmp/{marker}"):
            assert not os.path.exists(leak), f"cp wrote {leak} on the host"
