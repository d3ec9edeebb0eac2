"""RUN: a container of the selected storage driver and executor, made and run through the
engine's own verbs (so it gets ``stdc run``'s hardening: capabilities, seccomp, devices), its
output passed on as it comes, its changes written as a layer; the container is always removed,
also when the step fails or the build is interrupted."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from stdc.errors import StdcError

if TYPE_CHECKING:
    from stdc.engine.context import Engine

#: receives the step's output as it comes (stream 1 or 2, bytes)
Output = Callable[[int, bytes], None]


class StepFailed(StdcError):
    """A RUN whose command exited non-zero."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run(
    engine: Engine,
    image: str,
    argv: list[str],
    env: list[str],
    user: str | None,
    workdir: str | None,
    network: str | None,
    output: Output,
    started: Callable[[str], None] | None = None,
) -> tuple[str, int, str]:
    """Run ``argv`` in a container of ``image``; return its changes as a layer ``(digest, size, diff_id)``.

    ``StepFailed`` when the command exits non-zero; ``started`` receives the container's id."""
    from stdc import attach
    from stdc.engine import changes, containers
    from stdc.engine.options import RunOptions

    opts = RunOptions(
        image=image,
        entrypoint=argv[0],
        command=argv[1:],
        env=env,
        user=user or None,
        workdir=workdir or None,
        network=network,
    )
    c = containers.create(engine, opts)
    try:
        if started is not None:
            started(c.id)
        attachment = containers.start_attached(engine, c.id)
        channel = attach.MonitorChannel(attachment.socket)
        code = None
        try:
            while (packet := channel.receive()) is not None:
                stream, data = packet
                if stream == attach.EXIT:
                    code = int(data) if data.isdigit() else None
                    break
                output(stream, data)
        finally:
            channel.close()
        code = containers.attachment_ended(attachment, code)
        if code != 0:
            raise StepFailed(f"returned a non-zero code: {code}", code)
        return changes.write_layer(engine, c, gzip=False)
    finally:
        with contextlib.suppress(StdcError):
            containers.remove(engine, c.id, force=True)
