"""The engine: one implementation of every verb, for every front end (the CLI, the warm daemon,
the coming Docker API). A front end parses, calls a verb and formats; it never calls a backend's
hook nor touches the records or the image store.

:class:`Engine` (:mod:`stdc.engine.context`) is the context every verb takes. The verbs:
:mod:`~stdc.engine.containers`, :mod:`~stdc.engine.execs`, :mod:`~stdc.engine.logs`,
:mod:`~stdc.engine.images`, :mod:`~stdc.engine.changes`, :mod:`~stdc.engine.copy`,
:mod:`~stdc.engine.networks`, :mod:`~stdc.engine.volumes`, :mod:`~stdc.engine.registries` and
:mod:`~stdc.engine.system`; their typed options are :class:`RunOptions` (:mod:`~stdc.engine.options`),
:class:`~stdc.engine.execs.ExecOptions` and :class:`~stdc.engine.logs.LogOptions`, and a container's record, which some
verbs return, is a :class:`Container`.
"""

from stdc.engine.context import Engine
from stdc.engine.options import RunOptions
from stdc.engine.state import Container

__all__ = ["Container", "Engine", "RunOptions"]
