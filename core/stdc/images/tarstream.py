"""One strict, streaming pass over a layer tar (plain or gzip), computing its diff_id.

Python's ``tarfile`` is lenient: a header that is truncated or garbage after the first member
ends the archive silently, as does a stream that stops between members. A layer comes from a
stranger, and a half layer must not pass for a whole one, so here every one of those is
``BadInput``: a layer tar ends with its end-of-archive (zero) block or it is refused.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator

from stdc.errors import BadInput
from stdc.images.compression import CHUNK, Digesting, Readable, open_uncompressed

# tarfile's stream reader copies what it has buffered on every read, header reads included, so a
# larger buffer only slows it: on a 100 MB, 5000-file tree, 10 KiB (its default) took 0.44 s,
# 64 KiB 0.54 s, 1 MiB 0.8 s. Big reads happen below it (1 MiB file buffer, 1 MiB gzip chunks).
_TAR_BUFSIZE = 10240


class _StrictInfo(tarfile.TarInfo):
    @classmethod
    def frombuf(cls, buf: bytes, encoding: str, errors: str) -> tarfile.TarInfo:
        try:
            return super().frombuf(buf, encoding, errors)
        except tarfile.EOFHeaderError:
            raise  # a zero block: the end-of-archive marker
        except tarfile.EmptyHeaderError:
            raise BadInput("unexpected end of data (no end-of-archive marker)") from None
        except tarfile.TruncatedHeaderError:
            raise BadInput("unexpected end of data (truncated tar header)") from None
        except tarfile.HeaderError as e:
            raise BadInput("invalid tar header" + (" (bad checksum)" if "checksum" in str(e) else "")) from None


class LayerTar:
    """Iterate over the members of a layer tar read once from ``stream``.

    After the members, :meth:`finish` reads whatever follows the end-of-archive marker and
    returns the diff_id: the sha256 of the whole uncompressed stream. Malformed or truncated
    data raises ``BadInput`` at the point it is met.
    """

    def __init__(self, stream: Readable) -> None:
        self.compression, raw = open_uncompressed(stream)
        self._digesting = Digesting(raw)
        try:
            self._tar = tarfile.open(  # noqa: SIM115 - lives as long as this object
                fileobj=self._digesting, mode="r|", tarinfo=_StrictInfo, bufsize=_TAR_BUFSIZE
            )
        except (tarfile.TarError, EOFError) as e:
            raise BadInput(_message(e)) from None

    def __iter__(self) -> Iterator[tarfile.TarInfo]:
        while True:
            try:
                member = self._tar.next()
            except (tarfile.TarError, EOFError) as e:
                raise BadInput(_message(e)) from None
            if member is None:
                return
            yield member

    def copy(self, member: tarfile.TarInfo, write: Callable[[bytes], object]) -> None:
        """Pass the data of ``member`` (the current one) to ``write``, in large chunks."""
        source = self._tar.extractfile(member)
        if source is None:
            return
        done = 0
        try:
            while chunk := source.read(CHUNK):
                write(chunk)
                done += len(chunk)
        except (tarfile.TarError, EOFError) as e:
            raise BadInput(f"{_message(e)} in {member.name!r}") from None
        if done != member.size:
            raise BadInput(f"unexpected end of data in {member.name!r}")

    def finish(self) -> str:
        """Read to the end of the stream; return the diff_id (``sha256:…`` of the uncompressed tar)."""
        while self._digesting.read(CHUNK):
            pass
        return self._digesting.digest

    @property
    def uncompressed_size(self) -> int:
        """Bytes of uncompressed tar read so far (all of it after :meth:`finish`)."""
        return self._digesting.size


def _message(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text.splitlines()[0] if text else "malformed tar archive"
