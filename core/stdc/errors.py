"""Errors stdc reports to the user as one line, with the exit code the CLI passes on."""

from __future__ import annotations


class StdcError(Exception):
    """An error the user can act on; shown as ``stdc: <message>``. Exit code 125 like docker's."""

    exit_code = 125


class NotFound(StdcError):
    """An image, container, volume or backend that does not exist."""


class Conflict(StdcError):
    """The operation conflicts with the current state (name taken, image in use, …)."""


class BackendUnusable(StdcError):
    """The selected backend cannot work on this host; nothing was touched."""


class PayloadError(StdcError):
    """The container's command could not be executed (127: not found, 126: not executable)."""

    def __init__(self, message: str, exit_code: int = 127) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class BadInput(StdcError):
    """Malformed input: a tarball, an image, a path or a flag value."""
