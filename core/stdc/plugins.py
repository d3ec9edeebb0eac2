"""Backend discovery (stevedore entry points), selection and contract checking (pluggy).

stevedore finds what is installed and loads only the backend that was selected: a run without
networking never imports a network provider. Each loaded backend gets a pluggy manager of its
own holding the hookspecs of its kind, so its hooks are validated when it is registered and a
call reaches that one backend only (containers made by different drivers can be handled by one
command). Observers of lifecycle events come from every plugin under ``stdc.events``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
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
    plugin = _load_cached(KINDS[kind][0], name)
    if plugin is None:
        plugin = _load_with_stevedore(kind, name)
    return Backend(kind, name, _manager(kind, name, plugin).hook, plugin)


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
            rows.append(Installed(kind, builtin, "stdc (built in)", _own_version(), None))
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            try:
                problem = load(kind, ep.name).unusable(home_of(kind, ep.name))
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
        try:
            pm.register(plugin, name=f"events:{name}")
            pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as e:
            raise StdcError(f"event observer {name!r} does not fit the stdc contract: {_one_line(e)}") from None
    return pm.hook
