"""Errors as dockerd answers them: ``application/json`` ``{"message": ...}`` with its statuses —
400 bad parameter, 404 no such object, 409 conflict, 304 nothing to do, 500 otherwise."""

from __future__ import annotations

from aiohttp import web

from stdc.errors import BadInput, Conflict, NotFound, PayloadError, StdcError


class ApiError(Exception):
    """An answer other than success, raised by a handler: its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> ApiError:
    """400: the request asks for something invalid, or something stdc cannot honour."""
    return ApiError(400, message)


def status_of(error: BaseException) -> int:
    """Docker's status for an engine error."""
    if isinstance(error, ApiError):
        return error.status
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, BadInput):
        return 400
    if isinstance(error, PayloadError):
        return 400 if error.exit_code in (126, 127) else 500
    return 500


def message_of(error: BaseException) -> str:
    """The message a client shows: the engine's own, or the exception's for anything else."""
    if isinstance(error, ApiError):
        return error.message
    if isinstance(error, StdcError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def error_response(status: int, message: str) -> web.Response:
    """The JSON error body dockerd sends (nothing for 304, which carries no body)."""
    if status == 304:
        return web.Response(status=304)
    return web.json_response({"message": message}, status=status)
