"""python-lxc, and the one field of liblxc's container it does not expose.

``lxc.Container.start(daemonize=False)`` runs the container in the calling process, which
becomes LXC's monitor, and returns once it has stopped; liblxc keeps the init's wait status in
the public ``error_num`` field of ``struct lxc_container`` (what ``lxc-execute`` exits with),
but the binding returns only a bool. :func:`error_num` reads the field through ctypes, from
the structure the binding object points to; the layout is the one of
``/usr/include/lxc/lxccontainer.h`` (liblxc 3 to 6), checked against the container's name.
"""

from __future__ import annotations

import ctypes
from typing import Any


def unusable() -> str | None:
    """Why LXC cannot be driven from here, or None."""
    try:
        import _lxc  # noqa: F401 - the binding's extension module, which loads liblxc
    except ImportError as e:
        text = str(e)
        if "liblxc" in text:
            return f"liblxc not found: {text}"
        return f"python-lxc binding not installed ({text}); pip install lxc, built against lxc-dev"
    return None


def container(name: str, lxcpath: str) -> Any:
    """A container of the binding in stdc's own container path (never /var/lib/lxc).

    The binding's extension type itself (``_lxc.Container``, which ``lxc.Container`` extends
    with conveniences): importing the ``lxc`` package costs ~20 ms, mostly its ``subprocess``,
    on every ``stdc run``.
    """
    import _lxc

    return _lxc.Container(name, lxcpath)


class _Head(ctypes.Structure):
    """The leading fields of ``struct lxc_container`` up to ``error_num``."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("configfile", ctypes.c_char_p),
        ("pidfile", ctypes.c_char_p),
        ("slock", ctypes.c_void_p),
        ("privlock", ctypes.c_void_p),
        ("numthreads", ctypes.c_int),
        ("lxc_conf", ctypes.c_void_p),
        ("error_string", ctypes.c_char_p),
        ("error_num", ctypes.c_int),
    ]


def error_num(c: Any, name: str) -> int | None:
    """The wait status liblxc recorded for the last foreground start of ``c``, or None if the
    structure does not look like the expected one."""
    # the binding's object: PyObject_HEAD, then `struct lxc_container *container`
    pointer = ctypes.c_void_p.from_address(id(c) + object.__basicsize__).value
    if not pointer:
        return None
    head = _Head.from_address(pointer)
    if head.name != name.encode():
        return None
    return head.error_num
