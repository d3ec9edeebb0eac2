"""Docker's stream formats: without a terminal, stdout and stderr are multiplexed in frames of an
8-byte header (the stream: 0 stdin, 1 stdout, 2 stderr; three zero bytes; the size, big-endian
uint32) and the bytes; with one, the bytes go raw."""

from __future__ import annotations

import struct
from datetime import datetime

STDIN, STDOUT, STDERR = 0, 1, 2
RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def frame(stream: int, data: bytes) -> bytes:
    """One multiplexed frame of ``data`` on ``stream``."""
    return struct.pack(">BxxxL", stream, len(data)) + data


def encode(stream: int, data: bytes, tty: bool) -> bytes:
    """``data`` as the client expects it: raw with a terminal, framed without."""
    return data if tty else frame(stream, data)


def content_type(tty: bool) -> str:
    """The media type of a stream for a container with or without a terminal."""
    return RAW_STREAM if tty else MULTIPLEXED_STREAM


def unix_time(rfc3339: str) -> float:
    """An RFC 3339 timestamp with up to nanoseconds (as the logs record them) in seconds."""
    text = rfc3339.rstrip("Z")
    whole, _, fraction = text.partition(".")
    seconds = datetime.fromisoformat(whole + "+00:00").timestamp()
    return seconds + (float("0." + fraction) if fraction.isdigit() else 0.0)


def parse_since(value: str | None) -> float | None:
    """A ``since``/``until`` parameter: Unix seconds (fractions allowed), 0 or empty for none."""
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        from stdc.dockerapi.status_codes import bad_request

        raise bad_request(f"invalid time {value!r}: Unix seconds expected") from None
    return number or None
