"""Backend discovery (stevedore entry points), selection and contract checking (pluggy).

stevedore finds what is installed and loads only the backend that was selected: a run without
networking never imports a network provider. Each loaded backend gets a pluggy manager of its
own holding the hookspecs of its kind, so its hooks are validated when it is registered and a
call reaches that one backend only (containers made by different drivers can be handled by one
command). Observers of lifecycle events come from every plugin under ``stdc.events``.

Before a backend is registered its declared range of contract versions (``STDC_CONTRACT``, see
:mod:`stdc.specs`) is checked against :data:`stdc.specs.VERSION`: a backend written for another
version is refused with the reason, before any of its hooks runs.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pluggy

from stdc.errors import BackendUnusable, NotFound, StdcError
from stdc.specs import (
    DECLARATION,
    EVENTS_GROUP,
    KINDS,
    PROJECT,
    UNDECLARED,
    VERSION,
    ContractDeprecationWarning,
)

#: Backends built into the core: they need no plugin.
BUILTIN = {"net": ("none", "host")}


@dataclass
class Backend:
    """One loaded backend: ``hook.<name>(...)`` calls reach this backend only."""

    kind: str
    name: str
    hook: Any  # pluggy's HookRelay; None for a built-in
    plugin: Any = None
    #: the range of contract versions it declares; ``None`` when it declares none (or is built in)
    contract: str | None = None

    @property
    def builtin(self) -> bool:
        return self.hook is None

    def unusable(self, home: str | None = None) -> str | None:
        """The reason this backend cannot work on this host, or None."""
        if self.builtin:
            return None
        check = getattr(self.hook, f"{_prefix(self.kind)}_unusable")
        return check(home=home) if self.kind == "storage" else check()


@dataclass
class Installed:
    """What ``stdc plugins`` shows of one installed backend."""

    kind: str
    name: str
    distribution: str
    version: str
    problem: str | None
    #: the range of contract versions it declares (as it is), ``VERSION`` for a built-in, ``None``
    #: when it declares none, ``"?"`` when it could not be imported
    contract: object = None


def _prefix(kind: str) -> str:
    return {"exec": "exec", "storage": "storage", "net": "net", "registry": "registry"}[kind]


def _hook_names(spec_module: Any, prefix: str) -> list[str]:
    return [n for n in dir(spec_module) if n.startswith(prefix + "_") and callable(getattr(spec_module, n))]


class ContractMismatch(BackendUnusable):
    """A backend written for contract versions that do not include this stdc's."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(f"{label}: not usable ({reason})")
        self.reason = reason


_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*")
_COMPARE: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def _parse_range(text: object) -> list[tuple[str, str]] | None:
    """``">=1.0,<2"`` as ``[(">=", "1.0"), ("<", "2")]``; ``None`` when it is no such range."""
    if not isinstance(text, str):
        return None
    matches = [_CLAUSE.fullmatch(clause) for clause in text.split(",")]
    return [(m[1], m[2]) for m in matches if m] if all(matches) else None


def _version_tuple(text: str, width: int) -> tuple[int, ...]:
    parts = tuple(int(p) for p in text.split("."))
    return parts + (0,) * (width - len(parts))


def contract_problem(declared: object, version: str = VERSION) -> str | None:
    """Why a backend declaring the range ``declared`` (``">=1.0,<2"``) cannot work with contract
    ``version``, or ``None`` when it can; ``None`` declared is taken as :data:`~stdc.specs.UNDECLARED`."""
    text = UNDECLARED if declared is None else declared
    clauses = _parse_range(text)
    if clauses is None:
        return f"declares {DECLARATION} = {declared!r}, not a range of versions such as {UNDECLARED!r}"
    for op, bound in clauses:
        width = max(bound.count("."), version.count(".")) + 1
        if not _COMPARE[op](_version_tuple(version, width), _version_tuple(bound, width)):
            return f"written for stdc contract {text}; this stdc has {version}"
    return None


def _check_contract(label: str, plugin: Any) -> str | None:
    """Refuse ``plugin`` when it was written for another contract; return the range it declares."""
    declared = getattr(plugin, DECLARATION, None)
    reason = contract_problem(declared)
    if reason:
        raise ContractMismatch(label, reason)
    if declared is None:
        warnings.warn(
            f"{label} declares no {DECLARATION}; taken as written for stdc contract {UNDECLARED}",
            ContractDeprecationWarning,
            stacklevel=2,
        )
    return declared


def _manager(kind: str, name: str, plugin: Any) -> pluggy.PluginManager:
    """Register ``plugin`` against the specs of its kind; refuse it with one line if it does not fit."""
    spec_module = importlib.import_module(KINDS[kind][1])
    events = importlib.import_module("stdc.specs.events")
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(spec_module)
    pm.add_hookspecs(events)
    label = f"{kind} backend {name!r} ({getattr(plugin, '__name__', plugin)!s})"
    try:
        pm.register(plugin, name=f"{kind}:{name}")
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        raise StdcError(f"{label} does not fit the stdc contract: {_one_line(e)}") from None
    implemented = {impl.function.__name__ for hc in pm.hook.__dict__.values() for impl in hc.get_hookimpls()}
    optional = set(getattr(spec_module, "OPTIONAL_HOOKS", ()))
    missing = sorted(set(_hook_names(spec_module, _prefix(kind))) - optional - implemented)
    if missing:
        raise StdcError(f"{label} does not fit the stdc contract: missing hook(s) {', '.join(missing)}")
    return pm


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def installed_names(kind: str) -> list[str]:
    """Names of the installed backends of ``kind`` (built-ins included), without loading them."""
    from stevedore import ExtensionManager

    names = ExtensionManager(KINDS[kind][0], invoke_on_load=False, on_load_failure_callback=None).names()
    return sorted(set(BUILTIN.get(kind, ())) | set(names))


@cache
def load(kind: str, name: str) -> Backend:
    """Load the backend ``name`` of ``kind``; an unknown name lists what is installed."""
    if kind not in KINDS:
        raise BadKind(kind)
    if name in BUILTIN.get(kind, ()):
        return Backend(kind, name, None)
    plugin = _find(kind, name)
    contract = _check_contract(f"{kind} backend {name!r}", plugin)
    return Backend(kind, name, _manager(kind, name, plugin).hook, plugin, contract)


def _find(kind: str, name: str) -> Any:
    """Import the module (or object) the entry point ``name`` of ``kind`` names."""
    plugin = _load_cached(KINDS[kind][0], name)
    return _load_with_stevedore(kind, name) if plugin is None else plugin


def _load_with_stevedore(kind: str, name: str) -> Any:
    from stevedore import DriverManager
    from stevedore.exception import NoMatches

    failures: list[str] = []

    def failed(_manager: Any, entry_point: Any, error: Exception) -> None:
        failures.append(f"{entry_point.name}: {_one_line(error)}")

    group = KINDS[kind][0]
    try:
        driver = DriverManager(group, name, invoke_on_load=False, on_load_failure_callback=failed)
    except NoMatches:
        if failures:
            raise BackendUnusable(f"{kind} backend {name!r} failed to load ({failures[0]})") from None
        raise NotFound(
            f"unknown {kind} backend {name!r}; installed: {', '.join(installed_names(kind)) or 'none'}"
        ) from None
    _remember(group, {name: driver.extensions[0].entry_point.value})
    return driver.driver


# stevedore's scan of entry points costs more than the rest of a `stdc run` put together (it
# imports importlib.metadata). Once stevedore has found a backend, remember where, keyed on
# the mtimes of every sys.path directory: installing or removing any distribution changes one.


@cache
def _fingerprint() -> str:
    parts = [sys.executable]
    for entry in sys.path:
        try:
            parts.append(f"{entry}:{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            parts.append(f"{entry}:-")
    return "\n".join(parts)


def _cache_path() -> str:
    """One file per interpreter and sys.path (``python -m stdc`` and the ``stdc`` script differ)."""
    import zlib

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "stdc", f"entry-points-{zlib.crc32(_fingerprint().encode()):08x}.json")


def _read_cache() -> dict:
    try:
        with open(_cache_path()) as f:
            cached = json.load(f)
    except (OSError, ValueError):
        return {}
    return cached.get("groups", {}) if cached.get("fingerprint") == _fingerprint() else {}


def _remember(group: str, entries: dict[str, str]) -> None:
    groups = _read_cache()
    groups.setdefault(group, {}).update(entries)
    path = _cache_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump({"fingerprint": _fingerprint(), "groups": groups}, f)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache we cannot write only costs time


def _load_cached(group: str, name: str) -> Any:
    value = _read_cache().get(group, {}).get(name)
    if value is None:
        return None
    module, _, attr = value.partition(":")
    try:
        plugin = importlib.import_module(module)
        for part in filter(None, attr.split(".")):
            plugin = getattr(plugin, part)
    except (ImportError, AttributeError):
        return None  # let stevedore load it and report what is wrong
    return plugin


class BadKind(StdcError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown backend kind {kind!r}; kinds: {', '.join(KINDS)}")


def require(kind: str, name: str, home: str | None = None) -> Backend:
    """Load a backend and make sure it works here, before anything is touched."""
    backend = load(kind, name)
    reason = backend.unusable(home)
    if reason:
        raise BackendUnusable(f"{name}: not usable ({reason})")
    return backend


def list_installed(home_of: Callable[[str, str], str]) -> list[Installed]:
    """Every installed backend of every kind, with its distribution and whether it works here."""
    from importlib.metadata import entry_points

    rows: list[Installed] = []
    for kind, (group, _spec) in KINDS.items():
        for builtin in BUILTIN.get(kind, ()):
            rows.append(Installed(kind, builtin, "stdc (built in)", _own_version(), None, VERSION))
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            contract: object = "?"  # when it cannot even be imported
            try:
                contract = getattr(_find(kind, ep.name), DECLARATION, None)
                problem = load(kind, ep.name).unusable(home_of(kind, ep.name))
            except ContractMismatch as e:
                problem = e.reason
            except StdcError as e:
                problem = str(e)
            rows.append(Installed(kind, ep.name, dist, version, problem, contract))
    return rows


def _own_version() -> str:
    from stdc import __version__

    return __version__


@cache
def observers() -> Any:
    """A hook relay reaching every lifecycle observer (plugins under ``stdc.events``)."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(importlib.import_module("stdc.specs.events"))
    cached = _read_cache().get(EVENTS_GROUP)
    if cached is not None:
        found = {name: _load_cached(EVENTS_GROUP, name) for name in cached}
    if cached is None or any(plugin is None for plugin in found.values()):
        from stevedore import ExtensionManager

        extensions = ExtensionManager(EVENTS_GROUP, invoke_on_load=False)
        found = {ext.name: ext.plugin for ext in extensions}
        _remember(EVENTS_GROUP, {ext.name: ext.entry_point.value for ext in extensions})
    for name, plugin in found.items():
        _check_contract(f"event observer {name!r}", plugin)
        try:
            pm.register(plugin, name=f"events:{name}")
            pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as e:
            raise StdcError(f"event observer {name!r} does not fit the stdc contract: {_one_line(e)}") from None
    return pm.hook
