"""Readers for layer streams: compression detected by magic bytes, gzip and zstd undone, bytes hashed.

Each reader has one method, ``read(n) -> bytes`` (``b""`` at the end), which is all
``tarfile``'s stream mode asks of a file object. Errors in the compressed data are
``BadInput`` with a one-line message.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

from stdc.errors import BadInput

CHUNK = 1 << 20

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\xfd7zXZ\x00": "xz",
    b"BZh": "bzip2",
}
_UNSUPPORTED = {
    "xz": "xz-compressed tar archives are not supported (decompress it first, or use gzip)",
    "bzip2": "bzip2-compressed tar archives are not supported (decompress it first, or use gzip)",
}


class Readable(Protocol):
    """Anything with ``read(n) -> bytes``."""

    def read(self, n: int = -1, /) -> bytes: ...


def open_uncompressed(stream: Readable) -> tuple[str, Readable]:
    """Detect the compression of ``stream`` from its first bytes; return ``(kind, reader)``.

    ``kind`` is ``"gzip"``, ``"zstd"`` or ``"none"``; the reader yields the uncompressed bytes
    (the whole stream, including what was read to detect it). xz and bzip2 raise ``BadInput``.
    """
    prefix = b""
    while len(prefix) < 6:
        more = stream.read(6 - len(prefix))
        if not more:
            break
        prefix += more
    kind = next((k for magic, k in _MAGIC.items() if prefix.startswith(magic)), "none")
    if kind in _UNSUPPORTED:
        raise BadInput(_UNSUPPORTED[kind])
    source = Prefixed(prefix, stream)
    if kind == "gzip":
        return kind, Gunzip(source)
    if kind == "zstd":
        return kind, Unzstd(source)
    return kind, source


class Prefixed:
    """``prefix`` followed by the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: Readable) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, n: int = -1, /) -> bytes:
        if self._prefix:
            if n < 0:
                data, self._prefix = self._prefix + self._stream.read(), b""
                return data
            data, self._prefix = self._prefix[:n], self._prefix[n:]
            return data
        return self._stream.read(n)


class Gunzip:
    """Decompress a gzip stream: concatenated members and zero padding after them are accepted;
    truncation, corruption (CRC included) and trailing garbage are ``BadInput``."""

    def __init__(self, source: Readable) -> None:
        self._source = source
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input = b""
        self._done = False

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0:
            n = CHUNK
        while not self._done:
            if self._z.eof:
                self._next_member(self._z.unused_data)
                continue
            if self._z.unconsumed_tail:
                data = self._z.unconsumed_tail
            elif self._input:
                data, self._input = self._input, b""
            else:
                data = self._source.read(CHUNK)
                if not data:
                    raise BadInput("truncated gzip data (unexpected end of stream)")
            try:
                out = self._z.decompress(data, n)
            except zlib.error as e:
                raise BadInput(f"invalid gzip data ({e})") from None
            if out:
                return out
        return b""

    def _next_member(self, rest: bytes) -> None:
        """After a member ends: another member, zero padding, or the end of the stream."""
        while True:
            rest = rest.lstrip(b"\0")
            if len(rest) >= 2 or (rest and rest != b"\x1f"):
                break
            more = self._source.read(CHUNK)
            if not more:
                if rest:
                    raise BadInput("trailing garbage after gzip data")
                self._done = True
                return
            rest += more
        if not rest.startswith(b"\x1f\x8b"):
            raise BadInput("trailing garbage after gzip data")
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input = rest


class Unzstd:
    """Decompress a zstd stream (concatenated frames accepted) with the ``zstandard`` package;
    corruption and truncation are ``BadInput``."""

    def __init__(self, source: Readable) -> None:
        import zstandard  # only layers that are zstd pay for the import

        self._error = zstandard.ZstdError
        self._reader = zstandard.ZstdDecompressor().stream_reader(source, read_size=CHUNK, read_across_frames=True)

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0:
            n = CHUNK
        try:
            return self._reader.read(n)
        except self._error as e:
            raise BadInput(f"invalid zstd data ({e})") from None


class Digesting:
    """Pass bytes through, hashing them (sha256) and counting them."""

    def __init__(self, source: Readable) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self._source.read(n)
        self._hash.update(data)
        self.size += len(data)
        return data

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of everything read so far."""
        return "sha256:" + self._hash.hexdigest()


class Tee:
    """Pass bytes through, handing each chunk to ``sink`` too (to store a blob while reading it)."""

    def __init__(self, source: Readable, sink: Callable[[bytes], object]) -> None:
        self._source = source
        self._sink = sink

    def read(self, n: int = -1, /) -> bytes:
        data = self._source.read(n)
        if data:
            self._sink(data)
        return data
