"""Published ports: the host sockets are bound (:func:`stdc.kit.netns.bind_ports`) in the stdc
command itself, so a port already taken is an error before the container starts; a userland
proxy process per container (:mod:`stdc_net_bridge.proxy`) inherits them and relays to the
container's address.

Why a proxy and not DNAT rules: a proxy serves every address of the host the same way —
127.0.0.1 included, which DNAT can only reach with ``route_localnet`` and a masquerade of
loopback traffic — and the gateway address that other containers use (hairpin) without any
rule; binding the port is what reserves it; and removing it is ending one process.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

from stdc.kit.processes import process_alive, process_start_time

PROXY_MODULE = "stdc_net_bridge.proxy"


def spawn(bound: list[tuple[Any, dict]], ip: str, container_id: str, log: str) -> list[int]:
    """Start the proxy with the bound sockets; close them here. Returns ``[pid, start time]``."""
    import json
    import subprocess

    relays = [[sock.fileno(), p["protocol"], ip, p["container_port"]] for sock, p in bound]
    try:
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", PROXY_MODULE, container_id, json.dumps(relays)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                pass_fds=[fd for fd, *_ in relays],
                start_new_session=True,
            )
    finally:
        for sock, _ in bound:
            sock.close()
    return [proc.pid, process_start_time(proc.pid) or 0]


def stop(proxy: list[int] | None) -> None:
    """End the proxy ``[pid, start time]`` (if it is still that process) and wait for it."""
    if not proxy:
        return
    pid, start = proxy
    if not process_alive(pid, start):
        _reap(pid)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while process_alive(pid, start):
        if _reap(pid):
            return
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.005)
    _reap(pid)


def _reap(pid: int) -> bool:
    """Collect the proxy's exit status if it is our child (a foreground ``run`` started it)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return False
