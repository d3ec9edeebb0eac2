"""The restart policy (``--restart``) a detached container's monitor applies once the payload
has exited and been cleaned up: docker's backoff, and never after a stop, kill or rm by the user.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from stdc.engine import launch, teardown
from stdc.errors import NotFound

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.state import Container

#: docker's restart backoff: 100 ms, doubled after each quick exit, at most a minute; a run of
#: 10 s or more starts the doubling over
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 60.0
BACKOFF_RESET = 10.0


def wants_restart(c: Container) -> bool:
    """Whether the restart policy of the exited container ``c`` starts it again."""
    p = c.restart_policy
    if c.stopped_by_user or c.config.get("auto_remove") or p["Name"] == "no":
        return False
    if p["Name"] == "always":
        return True
    failed = c.exit_code != 0
    return failed and (not p["MaximumRetryCount"] or c.restart_count < p["MaximumRetryCount"])


def after_exit(engine: Engine, container_id: str) -> None:
    """Apply the restart policy of the container that has just exited and been cleaned up. A
    stop, kill or rm by the user (even during the backoff) prevents it."""
    try:
        c = engine.state.get(container_id)
    except NotFound:
        return
    if not wants_restart(c):
        return
    ran = (c.finished or time.time()) - (c.started or 0)
    delay = BACKOFF_FIRST if ran >= BACKOFF_RESET else min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(c.restart_count, 10))
    engine.state.update(c.id, status="restarting")
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        try:
            c = engine.state.get(container_id)
        except NotFound:
            return  # removed meanwhile
        if c.stopped_by_user:
            engine.state.update(c.id, status="exited")
            return
    engine.state.update(c.id, status="exited", restart_count=c.restart_count + 1)
    c = engine.state.get(container_id)
    if c.stopped_by_user:
        return
    try:
        launch.start_detached(engine, c)
    except Exception as e:  # noqa: BLE001 - recorded in the monitor's log; the container stays exited
        import logging

        logging.getLogger("stdc").warning("stdc: restart of %s failed: %s", c.name, e)
        return
    with contextlib.suppress(NotFound):
        c = engine.state.get(container_id)
        if c.stopped_by_user:  # stopped while it was being started
            teardown.stop(engine, c)
