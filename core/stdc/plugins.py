"""Backend discovery (stevedore entry points), selection and contract checking (pluggy).

stevedore finds what is installed and loads only the backend that was selected: a run without
networking never imports a network provider. Each loaded backend gets a pluggy manager of its
own holding the hookspecs of its kind, so its hooks are validated when it is registered and a
call reaches that one backend only (containers made by different drivers can be handled by one
command). Observers of lifecycle events come from every plugin under ``stdc.events``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

import pluggy

from stdc.errors import BackendUnusable, NotFound, StdcError
from stdc.specs import EVENTS_GROUP, KINDS, PROJECT

#: Backends built into the core: they need no plugin.
BUILTIN = {"net": ("none", "host")}


@dataclass
class Backend:
    """One loaded backend: ``hook.<name>(...)`` calls reach this backend only."""

    kind: str
    name: str
    hook: Any  # pluggy's HookRelay; None for a built-in
    plugin: Any = None

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


def _prefix(kind: str) -> str:
    return {"exec": "exec", "storage": "storage", "net": "net", "registry": "registry"}[kind]


def _hook_names(spec_module: Any, prefix: str) -> list[str]:
    return [n for n in dir(spec_module) if n.startswith(prefix + "_") and callable(getattr(spec_module, n))]


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
    from stevedore import DriverManager
    from stevedore.exception import NoMatches

    failures: list[str] = []

    def failed(_manager: Any, entry_point: Any, error: Exception) -> None:
        failures.append(f"{entry_point.name}: {_one_line(error)}")

    try:
        driver = DriverManager(KINDS[kind][0], name, invoke_on_load=False, on_load_failure_callback=failed)
    except NoMatches:
        if failures:
            raise BackendUnusable(f"{kind} backend {name!r} failed to load ({failures[0]})") from None
        raise NotFound(
            f"unknown {kind} backend {name!r}; installed: {', '.join(installed_names(kind)) or 'none'}"
        ) from None
    plugin = driver.driver
    return Backend(kind, name, _manager(kind, name, plugin).hook, plugin)


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


def list_installed(homes: dict[str, str]) -> list[Installed]:
    """Every installed backend of every kind, with its distribution and whether it works here."""
    from importlib.metadata import entry_points

    rows: list[Installed] = []
    for kind, (group, _spec) in KINDS.items():
        for builtin in BUILTIN.get(kind, ()):
            rows.append(Installed(kind, builtin, "stdc (built in)", _own_version(), None))
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            try:
                problem = load(kind, ep.name).unusable(homes.get(kind))
            except StdcError as e:
                problem = str(e)
            rows.append(Installed(kind, ep.name, dist, version, problem))
    return rows


def _own_version() -> str:
    from stdc import __version__

    return __version__


@cache
def observers() -> Any:
    """A hook relay reaching every lifecycle observer (plugins under ``stdc.events``)."""
    from stevedore import ExtensionManager

    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(importlib.import_module("stdc.specs.events"))
    for ext in ExtensionManager(EVENTS_GROUP, invoke_on_load=False):
        try:
            pm.register(ext.plugin, name=f"events:{ext.name}")
        except (pluggy.PluginValidationError, ValueError) as e:
            raise StdcError(f"event observer {ext.name!r} does not fit the stdc contract: {_one_line(e)}") from None
    return pm.hook
