"""Hookimpls that import their implementation on first call.

A backend's entry point module is imported by every command that selects it, so the heavy code of
a start or an exec (ctypes bindings, seccomp, liblxc) belongs in modules imported only when that
hook runs. :func:`deferred` makes such a hookimpl from the hookspec itself, so its signature is the
contract's, checked by pluggy at registration like any other::

    from stdc.kit.deferredhooks import deferred
    from stdc.specs import executor as contract

    exec_start = deferred(contract.exec_start, "stdc_exec_mine.process:start")

``stdc_exec_mine.process.start`` is then called with the hook's arguments, in the hookspec's order.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

from stdc.specs import hookimpl


def deferred(spec: Callable[..., Any], target: str) -> Callable[..., Any]:
    """A hookimpl of ``spec`` (a hookspec function of :mod:`stdc.specs`) that imports ``target``
    (``"package.module:function"``) when first called and calls it with the hook's arguments."""
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"deferred hook target {target!r}: expected 'package.module:function'")

    # pluggy reads the argument names through __wrapped__ (the hookspec), and passes them in order
    @functools.wraps(spec, assigned=("__name__", "__qualname__", "__doc__"), updated=())
    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module_name), function_name)(*args)

    return hookimpl(call)
