"""stdc — Standard Containers: a container runtime where every backend is a plugin.

The published API for backend authors: :data:`hookimpl` (mark your hook functions),
:mod:`stdc.specs` (the contracts), :mod:`stdc.kit.mounts`, :mod:`stdc.kit.syscalls`,
:mod:`stdc.errors` and :mod:`stdc.testing` (the conformance suites).
"""

__version__ = "0.1.0"

from stdc import compat as _compat  # noqa: E402 - old import paths of the kit's modules

_compat.install()
