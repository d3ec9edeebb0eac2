"""Configuration (:mod:`stdc.config`): every setting resolved as flag > environment > host file >
default, from a temporary host file. No root, nothing outside the test's temporary directory."""

from __future__ import annotations

import os

import pytest
from stdc import config
from stdc.errors import BadInput

ENVIRONMENT = (
    "STDC_CONFIG",
    "STDC_ROOT",
    "STDC_RUNTIME_DIR",
    "STDC_CGROUP_PARENT",
    "STDC_STORAGE",
    "STDC_EXEC",
    "STDC_NET",
    "STDC_REGISTRY",
)


@pytest.fixture
def host_file(tmp_path, monkeypatch):
    """A host config file of the test's own (empty until written) and no STDC_ variable set."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config.toml"
    monkeypatch.setenv("STDC_CONFIG", str(path))
    return path


def test_defaults_without_a_host_file(host_file):
    c = config.load()
    assert c.backends == config.DEFAULT_BACKENDS
    assert (c.root, c.runtime_dir, c.cgroup_parent) == ("/var/lib/stdc", "/run/stdc", "stdc")
    assert c.host == {} and c.network == {} and c.registry == {}


@pytest.mark.parametrize("kind", ["storage", "exec", "net", "registry"])
def test_a_backend_is_chosen_by_flag_then_environment_then_file_then_default(host_file, monkeypatch, kind):
    assert config.load().backends[kind] == config.DEFAULT_BACKENDS[kind]
    host_file.write_text(f'[backends]\n{kind} = "from-file"\n')
    assert config.load().backends[kind] == "from-file"
    monkeypatch.setenv(f"STDC_{kind.upper()}", "from-env")
    assert config.load().backends[kind] == "from-env"
    assert config.load(backends={kind: "from-flag"}).backends[kind] == "from-flag"
    assert config.load(backends={kind: None}).backends[kind] == "from-env"  # a flag not given


def test_the_other_backends_keep_their_own_resolution(host_file, monkeypatch):
    host_file.write_text('[backends]\nstorage = "vfs"\n')
    monkeypatch.setenv("STDC_EXEC", "lxc")
    c = config.load(backends={"net": "bridge"})
    assert c.backends == {"storage": "vfs", "exec": "lxc", "net": "bridge", "registry": "oci"}


def test_root_and_runtime_dir_by_flag_then_environment_then_file_then_default(host_file, monkeypatch, tmp_path):
    host_file.write_text(f'root = "{tmp_path}/file-root"\nruntime_dir = "{tmp_path}/file-run"\n')
    c = config.load()
    assert (c.root, c.runtime_dir) == (f"{tmp_path}/file-root", f"{tmp_path}/file-run")
    monkeypatch.setenv("STDC_ROOT", f"{tmp_path}/env-root")
    monkeypatch.setenv("STDC_RUNTIME_DIR", f"{tmp_path}/env-run")
    c = config.load()
    assert (c.root, c.runtime_dir) == (f"{tmp_path}/env-root", f"{tmp_path}/env-run")
    c = config.load(root=f"{tmp_path}/flag-root", runtime_dir=f"{tmp_path}/flag-run")
    assert (c.root, c.runtime_dir) == (f"{tmp_path}/flag-root", f"{tmp_path}/flag-run")


def test_a_root_of_its_own_gets_runtime_files_of_its_own(host_file, tmp_path):
    c = config.load(root=str(tmp_path / "second"))
    assert c.runtime_dir == str(tmp_path / "second" / "run")


def test_paths_are_made_absolute(host_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = config.load(root="relative")
    assert c.root == os.path.join(str(tmp_path), "relative") and os.path.isabs(c.runtime_dir)


def test_cgroup_parent_by_environment_then_file_then_default(host_file, monkeypatch):
    host_file.write_text('cgroup_parent = "stdc/from-file"\n')
    assert config.load().cgroup_parent == "stdc/from-file"
    monkeypatch.setenv("STDC_CGROUP_PARENT", "/stdc/from-env/")
    assert config.load().cgroup_parent == "stdc/from-env"


@pytest.mark.parametrize("parent", ["system.slice", "stdcx", "stdc/../escape", "stdc//x", "stdc/a:b", "stdc/."])
def test_a_cgroup_parent_outside_stdc_is_refused(host_file, monkeypatch, parent):
    monkeypatch.setenv("STDC_CGROUP_PARENT", parent)
    with pytest.raises(BadInput, match="cgroup_parent .*must be stdc or a path under it"):
        config.load()


def test_the_host_file_tables_reach_their_backends_as_they_are(host_file):
    host_file.write_text('[network]\nsubnet = "10.9.0.0/16"\n[registry]\ndefault = "reg.example:5000"\n')
    c = config.load()
    assert c.network == {"subnet": "10.9.0.0/16"}
    assert c.registry == {"default": "reg.example:5000"}


def test_a_broken_host_file_is_one_line_naming_it(host_file):
    host_file.write_text("root = \n")
    with pytest.raises(BadInput) as refused:
        config.load()
    assert str(refused.value).startswith(f"{host_file}: ") and "\n" not in str(refused.value)
