"""A ``stdc daemon`` serving the Docker API on a socket of the test's own, for the Docker API
tests (a module, not a conftest fixture: only those tests use it)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

from conftest import STDC

#: the docker CLI 20.10 of Debian's docker.io (scripts/setup --test); only its client is used
DOCKER_20 = "/usr/bin/docker"
#: a newer docker CLI, where the machine has one
DOCKER_NEW = "/usr/local/bin/docker"


@dataclass
class ApiDaemon:
    """The running daemon: its API socket, ``DOCKER_HOST`` and its pid."""

    socket: str
    host: str
    pid: int
    env: dict[str, str]

    def docker(
        self, *args: str, binary: str = DOCKER_20, check: bool = True, **kw: object
    ) -> subprocess.CompletedProcess:
        """Run the docker CLI against this daemon."""
        result = subprocess.run(
            [binary, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            **kw,  # type: ignore[call-overload]
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result


def start(directory: str) -> Iterator[ApiDaemon]:
    """Start ``stdc daemon`` with its sockets in ``directory``; stop it (SIGTERM) at the end and
    check that it removed its sockets."""
    api, warm = os.path.join(directory, "docker.sock"), os.path.join(directory, "daemon.sock")
    proc = subprocess.Popen([STDC, "daemon", "--socket", warm, "--api-socket", api], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    # both sockets: the API's process is forked before the warm-path daemon takes SIGTERM (an
    # earlier SIGTERM kills it with the signal's default action)
    while not (os.path.exists(api) and os.path.exists(warm)):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the API did not start listening"
        time.sleep(0.05)
    env = {**os.environ, "DOCKER_HOST": f"unix://{api}", "DOCKER_CONFIG": os.path.join(directory, "docker-config")}
    env.pop("DOCKER_CONTEXT", None)
    try:
        yield ApiDaemon(api, f"unix://{api}", proc.pid, env)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
        assert not os.path.exists(api), "the daemon left its API socket behind"
