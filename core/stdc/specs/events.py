"""Lifecycle events: observer hooks any installed plugin may implement (audit, metrics, …).

Plugins registered under the entry-point group ``stdc.events`` are told about every event; a
backend module may implement them too. Observers must not raise: an exception is reported as a
warning and the operation goes on.
"""

from __future__ import annotations

from stdc.specs import hookspec


@hookspec
def stdc_container_created(container: dict) -> None:
    """A container record was created (``container`` as ``stdc inspect`` shows it)."""


@hookspec
def stdc_container_started(container: dict) -> None:
    """A container's payload is running."""


@hookspec
def stdc_container_exited(container: dict, exit_code: int | None) -> None:
    """A container's payload exited (``exit_code`` is ``None`` when it could not be known)."""


@hookspec
def stdc_container_removed(container: dict) -> None:
    """A container and everything it owned were removed."""


@hookspec
def stdc_image_added(reference: str, digest: str, how: str) -> None:
    """An image became visible in the store (``how``: ``import``, ``pull``, ``commit``, ``load``, ``build``)."""


@hookspec
def stdc_warm_up() -> None:
    """A long-lived process (``stdc daemon``) is about to serve many commands.

    Import now what your hooks will need, so that its workers, forked from it, find it loaded:
    a backend that imports a heavy library lazily (to keep one-off commands fast) imports it
    here. Must not create or change anything on the host.
    """
