"""Where blobs were seen: for each registry, the repositories that hold a blob (pulled from or
pushed to), so that a push can ask the registry to mount a blob from one of them instead of
uploading it again. A hint only: a registry that refuses the mount gets an upload.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterable

_FILE = "blob-sources.json"
_PER_BLOB = 4


def lookup(home: str, host: str, digest: str) -> list[str]:
    """Repositories of ``host`` known to hold ``digest``, most recent first."""
    return list(_read(home).get(host, {}).get(digest, []))


def remember(home: str, host: str, repo: str, digests: Iterable[str]) -> None:
    """Note that ``repo`` on ``host`` holds ``digests``."""
    os.makedirs(home, mode=0o700, exist_ok=True)
    with open(os.path.join(home, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = _read(home)
        known = data.setdefault(host, {})
        for digest in digests:
            repos = [repo] + [r for r in known.get(digest, []) if r != repo]
            known[digest] = repos[:_PER_BLOB]
        fd, tmp = tempfile.mkstemp(prefix=".sources-", dir=home)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, separators=(",", ":"))
            os.rename(tmp, os.path.join(home, _FILE))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def _read(home: str) -> dict:
    try:
        with open(os.path.join(home, _FILE)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
