"""stdc — Standard Containers: a container runtime where every backend is a plugin.

The published API for backend authors: :data:`hookimpl` (mark your hook functions),
:mod:`stdc.specs` (the contracts), :mod:`stdc.mounts`, :mod:`stdc.syscalls`,
:mod:`stdc.errors` and :mod:`stdc.testing` (the conformance suites).
"""

__version__ = "0.1.0"
