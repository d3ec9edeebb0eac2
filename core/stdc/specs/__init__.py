"""The contracts between the stdc core and its backends, and their version.

Every backend kind has one module of pluggy hookspecs here:

- :mod:`stdc.specs.storage`  — storage drivers (group ``stdc.storage``)
- :mod:`stdc.specs.executor` — executors (group ``stdc.exec``)
- :mod:`stdc.specs.network`  — network providers (group ``stdc.net``)
- :mod:`stdc.specs.registry` — registries (group ``stdc.registry``)
- :mod:`stdc.specs.events`   — lifecycle observers any plugin may implement

A backend is a module (or object) whose functions carry the :data:`hookimpl` marker and are
named after the hooks of its kind. It is registered under its entry-point group; stdc loads only
the backend that was selected and validates its hooks against these specs when it registers it.

The contract version
--------------------

:data:`VERSION` is the version of everything in this package: the hooks, their arguments and
what their results mean. A minor version only adds (a hook, an optional hook, a key in a result
the core reads only when present), so a backend written for 1.0 works with every 1.x; a major
version removes or changes something. A backend states the versions it was written for in the
module (or object) its entry point names, as a range of comparisons joined by commas::

    STDC_CONTRACT = ">=1.0,<2"     # written against 1.0, works until the next major version

stdc reads it when it loads the backend, before registering it or calling any hook. A backend
whose range does not hold :data:`VERSION` is not usable: ``stdc plugins`` lists it with the
reason (``written for stdc contract >=2,<3; this stdc has 1.0``) and selecting it fails with that
one line, exit code 125. A backend that declares nothing was written before the contract had a
version, which was 1.0: it is taken as :data:`UNDECLARED` (usable through 1.x, refused from 2.0)
and a :class:`ContractDeprecationWarning` says so (shown by pytest, silent in the CLI).

Changing the contract
---------------------

As pytest's ``hookspec.py`` does, a hook's docstring says when it came and when it changed::

    @hookspec(firstresult=True)
    def exec_checkpoint(container_id: str, bundle: str, directory: str) -> None:
        \"\"\"Write a checkpoint of the running container into ``directory``.

        .. versionadded:: 1.1
        \"\"\"

An argument on its way out stays in the spec until the next major version, and pluggy warns
every backend that still takes it, when the backend is registered (``warn_on_impl_args``)::

    @hookspec(
        firstresult=True,
        warn_on_impl_args={"bundle": deprecated_argument("exec_kill", "bundle", since="1.2", instead="spec")},
    )
    def exec_kill(container_id: str, bundle: str, spec: dict, pid: int, signal: int) -> None:
        \"\"\"...

        .. versionchanged:: 1.2
            ``spec`` was added; ``bundle`` is deprecated and goes in 2.0.
        \"\"\"

A whole hook on its way out is marked the same way with ``warn_on_impl=deprecated_hook(...)``.
"""

from __future__ import annotations

import pluggy

PROJECT = "stdc"

#: The version of the contract this stdc implements: ``MAJOR.MINOR``.
VERSION = "1.2"

#: The name under which a backend's module (or object) declares its range of contract versions.
DECLARATION = "STDC_CONTRACT"

#: The range a backend that declares none is taken to be written for: the unversioned contract.
UNDECLARED = ">=1.0,<2"

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


class ContractDeprecationWarning(DeprecationWarning):
    """A backend relies on a part of the contract that goes in the next major version."""


def _next_major() -> str:
    return f"{int(VERSION.split('.')[0]) + 1}.0"


def deprecated_argument(hook: str, argument: str, since: str, instead: str) -> ContractDeprecationWarning:
    """The warning for a hookspec's ``warn_on_impl_args``: pluggy issues it, at registration, for
    every implementation of ``hook`` that takes ``argument``."""
    return ContractDeprecationWarning(
        f"{hook}: the argument {argument!r} is deprecated since stdc contract {since} and goes in "
        f"{_next_major()}; use {instead!r} instead"
    )


def deprecated_hook(hook: str, since: str, instead: str) -> ContractDeprecationWarning:
    """The warning for a hookspec's ``warn_on_impl``: pluggy issues it, at registration, for every
    implementation of ``hook``."""
    return ContractDeprecationWarning(
        f"{hook} is deprecated since stdc contract {since} and goes in {_next_major()}; implement {instead} instead"
    )
