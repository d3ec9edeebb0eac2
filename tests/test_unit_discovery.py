"""Backend discovery errors (:mod:`stdc.discovery`): an unknown name lists what is installed, a
backend that fails to import or was written for another contract says so in one line. No root:
the broken backends are entry points of a distribution made on a temporary sys.path entry."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from stdc import discovery
from stdc.errors import BackendUnusable, NotFound, StdcError
from stdc.specs import KINDS, VERSION


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_unknown_backend_lists_what_is_installed(kind):
    with pytest.raises(NotFound) as refused:
        discovery.load(kind, "nosuch")
    installed = discovery.installed_names(kind)
    assert installed, f"no {kind} backend installed"
    assert str(refused.value) == f"unknown {kind} backend 'nosuch'; installed: {', '.join(installed)}"


def test_installed_names_include_the_built_ins_and_the_plugins():
    assert {"none", "host", "bridge"} <= set(discovery.installed_names("net"))
    assert {"overlay", "vfs"} <= set(discovery.installed_names("storage"))
    assert {"native"} <= set(discovery.installed_names("exec"))


def test_an_unknown_kind_lists_the_kinds():
    with pytest.raises(StdcError, match=r"^unknown backend kind 'nosuch'; kinds: storage, exec, net, registry$"):
        discovery.load("nosuch", "x")


def test_a_built_in_needs_no_plugin():
    backend = discovery.load("net", "none")
    assert backend.builtin and backend.unusable() is None


def test_an_installed_backend_carries_the_range_it_declares():
    backend = discovery.load("storage", "overlay")
    assert backend.contract == ">=1.0,<2" and discovery.contract_problem(backend.contract) is None


def _distribution(
    path: os.PathLike, entry_points: dict[str, str], modules: dict[str, str], group: str = "stdc.storage"
) -> None:
    """A distribution as an installer leaves it in site-packages, in ``path``: its metadata (with
    entry points in ``group``) and its modules."""
    info = os.path.join(path, "stdc_probe-0.0.1.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: stdc-probe\nVersion: 0.0.1\n")
    with open(os.path.join(info, "entry_points.txt"), "w") as f:
        f.write(f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entry_points.items()))
    for module, source in modules.items():
        with open(os.path.join(path, f"{module}.py"), "w") as f:
            f.write(source)


def _load_in_subprocess(path: os.PathLike, name: str) -> subprocess.CompletedProcess:
    """``discovery.load("storage", name)`` with ``path`` on sys.path and an entry-point cache of its own."""
    return _in_subprocess(path, f"discovery.load('storage', {name!r})")


def _in_subprocess(path: os.PathLike, call: str) -> subprocess.CompletedProcess:
    """``call`` (of :mod:`stdc.discovery`) with ``path`` on sys.path and an entry-point cache of its own;
    a StdcError is printed as ``Class: message``."""
    code = (
        "import sys; from stdc import discovery; from stdc.errors import StdcError\n"
        f"try:\n    {call}\n"
        "except StdcError as e:\n    print(type(e).__name__, e, sep=': '); sys.exit(e.exit_code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(path), "XDG_CACHE_HOME": os.path.join(path, "cache")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


@pytest.fixture
def probes(tmp_path):
    """Three storage backends: one whose module is missing, one for another contract, one that fits
    nothing (no hooks at all) but declares this contract."""
    _distribution(
        tmp_path,
        {"missing": "stdc_probe_missing", "future": "stdc_probe_future", "empty": "stdc_probe_empty"},
        {
            "stdc_probe_future": 'STDC_CONTRACT = ">=2,<3"\n',
            "stdc_probe_empty": 'STDC_CONTRACT = ">=1.0,<2"\n',
        },
    )
    return tmp_path


def test_a_backend_that_fails_to_import_says_so(probes):
    r = _load_in_subprocess(probes, "missing")
    assert r.returncode == BackendUnusable.exit_code, r.stderr
    assert r.stdout.startswith("BackendUnusable: storage backend 'missing' failed to load (missing: ")
    assert "stdc_probe_missing" in r.stdout and len(r.stdout.splitlines()) == 1


def test_a_backend_for_another_contract_is_refused_before_it_is_registered(probes):
    r = _load_in_subprocess(probes, "future")
    assert r.returncode == 125, r.stderr
    assert r.stdout == (
        "ContractMismatch: storage backend 'future': not usable "
        f"(written for stdc contract >=2,<3; this stdc has {VERSION})\n"
    )


def test_a_backend_for_this_contract_is_still_held_to_its_hooks(probes):
    r = _load_in_subprocess(probes, "empty")
    assert r.returncode == 125, r.stderr
    assert r.stdout.startswith("StdcError: storage backend 'empty' (stdc_probe_empty) does not fit the stdc contract")
    assert "missing hook(s) storage_add_layer" in r.stdout


def test_an_event_observer_for_another_contract_is_refused(tmp_path):
    _distribution(
        tmp_path,
        {"audit": "stdc_probe_audit"},
        {"stdc_probe_audit": 'STDC_CONTRACT = ">=2"\n'},
        group="stdc.events",
    )
    r = _in_subprocess(tmp_path, "discovery.observers()")
    assert r.returncode == 125, r.stderr
    assert r.stdout == (
        "ContractMismatch: event observer 'audit': not usable "
        f"(written for stdc contract >=2; this stdc has {VERSION})\n"
    )
