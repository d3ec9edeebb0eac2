"""The contracts between the stdc core and its backends.

Every backend kind has one module of pluggy hookspecs here:

- :mod:`stdc.specs.storage`  — storage drivers (group ``stdc.storage``)
- :mod:`stdc.specs.executor` — executors (group ``stdc.exec``)
- :mod:`stdc.specs.network`  — network providers (group ``stdc.net``)
- :mod:`stdc.specs.registry` — registries (group ``stdc.registry``)
- :mod:`stdc.specs.events`   — lifecycle observers any plugin may implement

A backend is a module (or object) whose functions carry the :data:`hookimpl` marker and are
named after the hooks of its kind. It is registered under its entry-point group; stdc loads only
the backend that was selected and validates its hooks against these specs when it registers it.
"""

from __future__ import annotations

import pluggy

PROJECT = "stdc"

#: Marks a function as the specification of a hook (used only inside :mod:`stdc.specs`).
hookspec = pluggy.HookspecMarker(PROJECT)

#: Marks a backend's function as the implementation of a hook.
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Backend kind -> (entry-point group, module holding its hookspecs).
KINDS: dict[str, tuple[str, str]] = {
    "storage": ("stdc.storage", "stdc.specs.storage"),
    "exec": ("stdc.exec", "stdc.specs.executor"),
    "net": ("stdc.net", "stdc.specs.network"),
    "registry": ("stdc.registry", "stdc.specs.registry"),
}

#: Observers: every plugin installed under this group is loaded and told about lifecycle events.
EVENTS_GROUP = "stdc.events"
