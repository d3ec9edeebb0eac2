"""Backends as plugins: listing, selection precedence, unknown names, uninstalling one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PIP = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_plugins_lists_installed_backends(stdc):
    out = stdc("plugins").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "DISTRIBUTION", "VERSION", "CONTRACT", "USABLE"]
    rows = {tuple(line.split()[:3]) for line in lines[1:]}
    assert ("storage", "overlay*", "stdc-storage-overlay") in rows
    assert ("exec", "native*", "stdc-exec-native") in rows
    assert ("net", "bridge*", "stdc-net-bridge") in rows  # the default network's provider


@pytest.mark.parametrize("kind,flag", [("storage", "--storage"), ("exec", "--exec"), ("net", "--net")])
def test_unknown_backend_lists_installed(stdc, kind, flag):
    before = stdc("ps", "-aq").stdout
    r = stdc(flag, "nosuch", "run", "--rm", "base", "true", check=False)
    assert r.returncode == 125
    assert len(r.stderr.strip().splitlines()) == 1
    assert f"unknown {kind} backend 'nosuch'" in r.stderr and "installed:" in r.stderr
    assert stdc("ps", "-aq").stdout == before


def test_selection_precedence(stdc, root, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[backends]\nexec = "from-file"\n')
    env = {**os.environ, "STDC_CONFIG": str(config)}
    r = stdc("run", "--rm", "base", "true", env=env, check=False)
    assert "'from-file'" in r.stderr  # the host file beats the default
    r = stdc("run", "--rm", "base", "true", env={**env, "STDC_EXEC": "from-env"}, check=False)
    assert "'from-env'" in r.stderr  # the environment beats the file
    r = stdc("--exec", "native", "run", "--rm", "base", "echo", "ok", env={**env, "STDC_EXEC": "from-env"})
    assert r.stdout == "ok\n"  # the flag beats them all


def test_container_keeps_its_backends(stdc):
    cid = stdc("--storage", "overlay", "create", "base", "echo", "kept").stdout.strip()
    try:
        # later commands use the backends that made it, whatever the flags say
        r = stdc("--storage", "nosuch", "start", "-a", cid)
        assert r.stdout == "kept\n"
    finally:
        stdc("--storage", "nosuch", "rm", cid)


def test_uninstalling_a_backend_removes_only_that_backend(stdc):
    subprocess.run([*PIP, "uninstall", "-y", "stdc-storage-overlay"], check=True)
    try:
        out = stdc("plugins").stdout
        assert "overlay" not in out and "native" in out
        r = stdc("run", "--rm", "base", "true", check=False)
        assert r.returncode == 125 and "unknown storage backend 'overlay'" in r.stderr
    finally:
        subprocess.run(
            [
                *PIP,
                "install",
                "--no-deps",
                "--no-build-isolation",
                "--config-settings",
                "editable_mode=compat",
                "-e",
                os.path.join(REPO, "plugins", "storage_overlay"),
            ],
            check=True,
        )
    assert stdc("run", "--rm", "base", "echo", "back").stdout == "back\n"


def test_a_plugin_that_breaks_the_contract_is_refused(stdc, tmp_path):
    """A third party's mistake is a clear error at load that names the plugin and the hook."""
    pkg = tmp_path / "badexec"
    (pkg / "stdc_exec_bad").mkdir(parents=True)
    (pkg / "stdc_exec_bad" / "__init__.py").write_text(
        "from stdc.specs import hookimpl\n\n@hookimpl\ndef exec_start(container_id, not_in_spec):\n    return 0\n"
    )
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires=["setuptools>=64"]\nbuild-backend="setuptools.build_meta"\n'
        '[project]\nname="stdc-exec-bad"\nversion="0.0.1"\n'
        '[project.entry-points."stdc.exec"]\nbad="stdc_exec_bad"\n'
    )
    subprocess.run([*PIP, "install", "--no-deps", "--no-build-isolation", str(pkg)], check=True)
    try:
        r = stdc("--exec", "bad", "run", "--rm", "base", "true", check=False)
        assert r.returncode == 125 and len(r.stderr.strip().splitlines()) == 1
        assert "bad" in r.stderr and "exec_start" in r.stderr
        assert "not usable" in stdc("plugins").stdout  # listed, with the reason
        assert stdc("run", "--rm", "base", "echo", "fine").stdout == "fine\n"  # the others keep working
    finally:
        subprocess.run([*PIP, "uninstall", "-y", "stdc-exec-bad"], check=True)


def test_a_storage_driver_that_breaks_the_contract_is_refused(stdc, tmp_path):
    """A third party's storage driver whose hook does not match its spec: one line naming the
    plugin and the hook, at load, before anything is touched; the other drivers keep working."""
    pkg = tmp_path / "badstorage"
    (pkg / "stdc_storage_bad").mkdir(parents=True)
    (pkg / "stdc_storage_bad" / "__init__.py").write_text(
        "from stdc.specs import hookimpl\n\n"
        "@hookimpl\ndef storage_prepare(home, snapshot_id, parent_id, size_hint):\n    return []\n"
    )
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires=["setuptools>=64"]\nbuild-backend="setuptools.build_meta"\n'
        '[project]\nname="stdc-storage-bad"\nversion="0.0.1"\n'
        '[project.entry-points."stdc.storage"]\nbad="stdc_storage_bad"\n'
    )
    subprocess.run([*PIP, "install", "--no-deps", "--no-build-isolation", str(pkg)], check=True)
    try:
        before = stdc("ps", "-aq").stdout
        r = stdc("--storage", "bad", "run", "--rm", "base", "true", check=False)
        assert r.returncode == 125 and len(r.stderr.strip().splitlines()) == 1
        assert "'bad'" in r.stderr and "storage_prepare" in r.stderr and "size_hint" in r.stderr
        assert stdc("ps", "-aq").stdout == before
        row = next(line for line in stdc("plugins").stdout.splitlines() if line.split()[:2] == ["storage", "bad"])
        assert "not usable" in row and "storage_prepare" in row
        assert stdc("run", "--rm", "base", "echo", "fine").stdout == "fine\n"
        assert stdc("--storage", "vfs", "run", "--rm", "base", "echo", "fine").stdout == "fine\n"
        assert "storage_prepare" in stdc("info").stdout  # info lists it, with the reason
    finally:
        subprocess.run([*PIP, "uninstall", "-y", "stdc-storage-bad"], check=True)
