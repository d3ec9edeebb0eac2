"""Registries: move images between the local content store and a remote.

The first backend speaks the OCI Distribution API. ``store`` is the core's
:class:`stdc.images.store.ImageStore`: a registry backend reads and writes blobs only through it,
so every blob's digest is verified before it becomes visible.
"""

from __future__ import annotations

from collections.abc import Callable

from stdc.specs import hookspec


@hookspec(firstresult=True)
def registry_unusable() -> str | None:
    """Return ``None`` when the registry backend works on this host, else a short reason."""


@hookspec(firstresult=True)
def registry_pull(reference: str, store: object, progress: Callable[[str, int, int], None]) -> str:
    """Pull ``reference`` into ``store`` and tag it locally; return the manifest digest.

    ``progress(what, done, total)`` is called as bytes arrive, for the CLI's progress display.
    """


@hookspec(firstresult=True)
def registry_push(reference: str, store: object, progress: Callable[[str, int, int], None]) -> str:
    """Push the local image ``reference`` to its registry; return the manifest digest."""
