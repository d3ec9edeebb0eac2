"""The hand-over protocol between ``stdc`` and a warm ``stdc daemon``: where the daemon listens
and how a request is encoded. Built-in modules only: the client imports this on every
invocation. ``libexec/stdc-client.c`` speaks the same protocol."""

from __future__ import annotations

import os

DEFAULT_SOCKET = "/run/stdc/daemon.sock"
PROTOCOL = b"stdc1"


def socket_path() -> str:
    """Where the daemon listens: ``STDC_DAEMON_SOCKET``, else :data:`DEFAULT_SOCKET`."""
    return os.environ.get("STDC_DAEMON_SOCKET") or DEFAULT_SOCKET


def encode_request(argv: list[str], env: dict[str, str], cwd: str) -> bytes:
    """NUL-separated: protocol, cwd, argc, argv…, env entries… (none of them can hold a NUL)."""
    fields = [PROTOCOL, os.fsencode(cwd), str(len(argv)).encode()]
    fields += [os.fsencode(a) for a in argv]
    fields += [os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items()]
    body = b"\0".join(fields)
    return len(body).to_bytes(8, "big") + body
