"""The executor conformance suite (stdc.testing.executor_suite) for every executor this repo ships,
plus what only holds between two executors: a container stays with the one that started it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from stdc.testing.executor_suite import *  # noqa: F403 - the suite: its tests, fixtures and parametrization
from stdc.testing.executor_suite import Cli, _wait_for

#: the suite runs, unchanged, against each of these; one that is not usable here fails
EXECUTORS = ["native", "lxc"]

#: bugs the suite found, reported to their owners; strict: a fix makes the entry fail until removed
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def test_lxc_without_binding_is_not_usable_and_touches_nothing(tmp_path):
    """No binding (shadowed by a package that fails to import, as a missing one does): one
    line from `stdc plugins`, and `--exec lxc run` refuses before creating anything."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "_lxc.py").write_text("raise ImportError('No module named _lxc')\n")
    root = tmp_path / "root"
    env = {**os.environ, "PYTHONPATH": str(shadow), "STDC_ROOT": str(root)}
    stdc = os.path.join(os.path.dirname(sys.executable), "stdc")
    listing = subprocess.run([stdc, "plugins"], env=env, capture_output=True, text=True, check=True).stdout
    row = next(line for line in listing.splitlines() if line.split()[:2] == ["exec", "lxc"])
    assert "not usable (python-lxc binding not installed" in row
    run = subprocess.run([stdc, "--exec", "lxc", "run", "base", "true"], env=env, capture_output=True, text=True)
    assert run.returncode == 125
    assert run.stderr.startswith("stdc: lxc: not usable (") and len(run.stderr.splitlines()) == 1
    assert not (root / "containers").exists() or not os.listdir(root / "containers")


@pytest.mark.parametrize("executor", ["lxc"], indirect=True)
def test_container_stays_with_the_executor_that_started_it(exec_root, cli):  # noqa: F811
    """Started with --exec lxc; stopped and removed by later commands that say --exec native."""
    import lxc

    native = Cli(exec_root, "native")
    native.seen = cli.seen  # the same containers: the leftover check knows them
    cid = cli("run", "-d", "base", "sh", "-c", "trap 'exit 6' TERM; echo up; while true; do sleep 0.1; done").stdout
    cid = cid.strip()
    lxcpath = os.path.join(exec_root, "containers", cid, "lxc")
    _wait_for(lambda: "up" in native("logs", cid).stdout)
    assert native.inspect(cid)["HostConfig"]["Runtime"] == "lxc"  # the executor, as docker names its runtime
    # LXC itself knows it as running: its monitor answers on the container's command socket
    assert lxc.Container(cid, lxcpath).running
    native("stop", cid)
    assert native.inspect(cid)["State"]["ExitCode"] == 6  # the TERM reached the payload through lxc
    assert not os.path.exists(lxcpath), "lxc's cleanup did not run"
    cid2 = cli("run", "-d", "base", "sleep", "30").stdout.strip()
    native("rm", "-f", cid, cid2)
    assert native("ps", "-aq").stdout == ""
