"""Signals of a foreground command passed on to what it runs (a container's payload, an exec'd
process), as docker does."""

from __future__ import annotations

from collections.abc import Callable


class SignalForwarder:
    """Passes SIGINT, SIGTERM and SIGHUP on to the payload.

    Installed before the container is created: a signal that arrives before the payload runs
    is held and passed on as soon as it does, instead of killing stdc half-way.
    """

    def __init__(self) -> None:
        import signal

        self.pending: list[int] = []
        self.forward: Callable[[int], None] | None = None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._received)

    def _received(self, signum: int, _frame: object) -> None:
        if self.forward is None:
            self.pending.append(signum)
        else:
            self.forward(signum)

    def __call__(self, forward: Callable[[int], None]) -> None:
        """Called with the function that signals the running payload."""
        self.forward = forward
        for signum in self.pending:
            forward(signum)
