"""The versioned backend contract: ranges, the deprecation warnings, and third-party backends
written for this version, for another one, and for none."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import pluggy
import pytest
from stdc import discovery
from stdc.specs import (
    PROJECT,
    UNDECLARED,
    VERSION,
    ContractDeprecationWarning,
    deprecated_argument,
    deprecated_hook,
    hookimpl,
    hookspec,
)

PIP = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]


@pytest.mark.parametrize(
    "declared,version",
    [
        (">=1.0,<2", "1.0"),
        (">=1.0,<2", "1.7"),
        (">=1,<2", "1.0"),
        (" >= 1.0 , < 2 ", "1.0"),
        ("==1.0", "1"),
        ("==1", "1.0"),
        (">=1.2", "1.10"),
        ("!=1.1", "1.0"),
        (">0.9", "1.0"),
        ("<=1.0", "1.0"),
        (None, "1.3"),  # undeclared: taken as >=1.0,<2
    ],
)
def test_a_range_that_holds_the_version(declared, version):
    assert discovery.contract_problem(declared, version) is None


@pytest.mark.parametrize(
    "declared,version",
    [(">=2,<3", "1.0"), (">=1.0,<2", "2.0"), (">=1.3", "1.2"), ("!=1.0", "1"), ("<1.0", "1.0"), (None, "2.0")],
)
def test_a_range_that_misses_the_version(declared, version):
    shown = UNDECLARED if declared is None else declared
    assert (
        discovery.contract_problem(declared, version) == f"written for stdc contract {shown}; this stdc has {version}"
    )


@pytest.mark.parametrize("declared", ["1.0", "~=1.0", ">=1.0;<2", ">=1.x", "", ">=1.0,", 1.0, [">=1.0"]])
def test_a_declaration_that_is_no_range(declared):
    problem = discovery.contract_problem(declared)
    assert problem is not None and "not a range of versions" in problem and repr(declared) in problem


def test_the_version_is_major_dot_minor():
    major, minor = VERSION.split(".")
    assert major.isdigit() and minor.isdigit()
    assert discovery.contract_problem(UNDECLARED) is None


def _manager_with(spec: type, impl: type) -> None:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(spec)
    pm.register(impl)


class _SpecWithDeprecations:
    """A contract as it looks while an argument and a hook are on their way out."""

    @hookspec(
        firstresult=True,
        warn_on_impl_args={"bundle": deprecated_argument("exec_kill", "bundle", since="1.2", instead="spec")},
    )
    def exec_kill(self, container_id: str, bundle: str, spec: dict, pid: int, signal: int) -> None:
        """Make ``signal`` reach the container's init.

        .. versionchanged:: 1.2
            ``spec`` was added; ``bundle`` is deprecated and goes in 2.0.
        """

    @hookspec(warn_on_impl=deprecated_hook("exec_old", since="1.1", instead="exec_new"))
    def exec_old(self) -> None:
        """Going away.

        .. deprecated:: 1.1
        """


def test_a_backend_taking_a_deprecated_argument_is_warned_at_registration():
    class Old:
        @hookimpl
        def exec_kill(self, container_id, bundle, pid, signal):
            pass

    with pytest.warns(ContractDeprecationWarning, match=r"exec_kill: the argument 'bundle' is deprecated since"):
        _manager_with(_SpecWithDeprecations, Old)


def test_a_backend_without_the_deprecated_argument_is_not_warned():
    class New:
        @hookimpl
        def exec_kill(self, container_id, spec, pid, signal):
            pass

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _manager_with(_SpecWithDeprecations, New)


def test_a_backend_implementing_a_deprecated_hook_is_warned():
    class Old:
        @hookimpl
        def exec_old(self):
            pass

    with pytest.warns(ContractDeprecationWarning, match=r"exec_old is deprecated since stdc contract 1.1 .* exec_new"):
        _manager_with(_SpecWithDeprecations, Old)


# --- third-party backends, installed into this stdc's environment -------------------------------

#: module -> the range it declares (None: none)
PROBES = {"future": ">=2,<3", "current": ">=1.0,<2", "legacy": None}


def _write_probe_distribution(path: os.PathLike) -> None:
    """One distribution with three storage drivers: vfs's hooks, each declaring another range."""
    import stdc_storage_vfs

    hooks = sorted(name for name in dir(stdc_storage_vfs) if name.startswith("storage_"))
    package = os.path.join(path, "stdc_contract_probe")
    os.makedirs(package)
    open(os.path.join(package, "__init__.py"), "w").close()
    for module, declared in PROBES.items():
        source = f'"""vfs as a storage driver written for {declared or "no stated"} contract."""\n\n'
        source += f"from stdc_storage_vfs import {', '.join(hooks)}  # noqa: F401\n"
        if declared is not None:
            source += f"\nSTDC_CONTRACT = {declared!r}\n"
        with open(os.path.join(package, f"{module}.py"), "w") as f:
            f.write(source)
    entry_points = "".join(f'{module} = "stdc_contract_probe.{module}"\n' for module in PROBES)
    with open(os.path.join(path, "pyproject.toml"), "w") as f:
        f.write(
            textwrap.dedent("""\
                [build-system]
                requires = ["setuptools>=64"]
                build-backend = "setuptools.build_meta"
                [project]
                name = "stdc-contract-probe"
                version = "0.0.1"
                [tool.setuptools]
                packages = ["stdc_contract_probe"]
                [project.entry-points."stdc.storage"]
                """)
            + entry_points
        )


@pytest.fixture
def probes(tmp_path):
    """The probe distribution, installed for the test and uninstalled after it."""
    _write_probe_distribution(tmp_path)
    subprocess.run([*PIP, "install", "--no-deps", "--no-build-isolation", str(tmp_path)], check=True)
    try:
        yield
    finally:
        subprocess.run([*PIP, "uninstall", "-y", "stdc-contract-probe"], check=True)


def _rows(stdc) -> dict[str, list[str]]:
    lines = stdc("plugins").stdout.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "DISTRIBUTION", "VERSION", "CONTRACT", "USABLE"]
    return {line.split()[1].rstrip("*"): line.split(None, 5) for line in lines[1:-1]}


def test_backends_written_for_this_and_other_contract_versions(stdc, probes):
    rows = _rows(stdc)
    reason = f"written for stdc contract >=2,<3; this stdc has {VERSION}"
    assert rows["future"][4] == ">=2,<3" and rows["future"][5] == f"not usable ({reason})"
    assert rows["current"][4:] == [">=1.0,<2", "yes"]
    assert rows["legacy"][4:] == ["undeclared", "yes"]
    assert rows["native"][4:] == [">=1.0,<2", "yes"]

    before = stdc("ps", "-aq").stdout
    r = stdc("--storage", "future", "run", "--rm", "base", "true", check=False)
    assert r.returncode == 125
    assert r.stderr.strip().splitlines() == [f"stdc: storage backend 'future': not usable ({reason})"]
    assert stdc("ps", "-aq").stdout == before

    assert stdc("--storage", "current", "run", "--rm", "base", "echo", "current").stdout == "current\n"
    assert stdc("--storage", "legacy", "run", "--rm", "base", "echo", "legacy").stdout == "legacy\n"


def _load_with_warnings_as_errors(name: str) -> subprocess.CompletedProcess:
    code = (
        "import warnings, stdc.specs; from stdc import discovery; "
        "warnings.simplefilter('error', stdc.specs.ContractDeprecationWarning); "
        f"discovery.load('storage', {name!r})"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_a_backend_declaring_nothing_is_warned_where_warnings_are_shown(probes):
    r = _load_with_warnings_as_errors("legacy")
    assert r.returncode != 0
    warning = f"storage backend 'legacy' declares no STDC_CONTRACT; taken as written for stdc contract {UNDECLARED}"
    assert warning in r.stderr
    r = _load_with_warnings_as_errors("current")
    assert r.returncode == 0, r.stderr
