"""Container records: SQLite in WAL mode, safe for concurrent stdc invocations.

A record holds what was asked for and which backends made the container. What is running is
decided by the kernel, not the record: a container marked running whose init is gone (checked
by pid *and* start time, so a recycled pid is never mistaken for it) is shown as exited.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field

from stdc.errors import Conflict, NotFound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    image TEXT NOT NULL,
    image_id TEXT NOT NULL,
    created REAL NOT NULL,
    config TEXT NOT NULL,
    backends TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'created',
    pid INTEGER,
    pid_start INTEGER,
    monitor_pid INTEGER,
    monitor_start INTEGER,
    exit_code INTEGER,
    started REAL,
    finished REAL,
    cleaned INTEGER NOT NULL DEFAULT 1,
    network TEXT
);
"""

#: columns added since the first schema: (name, declaration); a database that lacks one gets it
_ADDED_COLUMNS = (
    ("paused", "INTEGER NOT NULL DEFAULT 0"),
    ("oom_killed", "INTEGER NOT NULL DEFAULT 0"),
    ("restart_count", "INTEGER NOT NULL DEFAULT 0"),
    # a stop, kill or rm by the user: the restart policy leaves the container exited
    ("stopped_by_user", "INTEGER NOT NULL DEFAULT 0"),
    # the process creating or starting the container (pid, start time) while it does: a record
    # whose worker died half-way is reconciled (stdc.engine.reconcile)
    ("busy_pid", "INTEGER"),
    ("busy_start", "INTEGER"),
)

_ADJECTIVES = [
    "brave",
    "calm",
    "eager",
    "fond",
    "glad",
    "jolly",
    "keen",
    "lucid",
    "merry",
    "noble",
    "proud",
    "quiet",
    "sharp",
    "swift",
    "vivid",
    "witty",
]
_NOUNS = [
    "bohr",
    "curie",
    "darwin",
    "euler",
    "fermi",
    "gauss",
    "hopper",
    "knuth",
    "lovelace",
    "noether",
    "pascal",
    "ritchie",
    "tesla",
    "turing",
]


@dataclass
class Container:
    """One container record."""

    id: str
    name: str
    image: str
    image_id: str
    created: float
    config: dict
    backends: dict
    status: str = "created"
    pid: int | None = None
    pid_start: int | None = None
    monitor_pid: int | None = None
    monitor_start: int | None = None
    exit_code: int | None = None
    started: float | None = None
    finished: float | None = None
    cleaned: bool = True
    network: dict = field(default_factory=dict)
    paused: bool = False
    oom_killed: bool = False
    restart_count: int = 0
    stopped_by_user: bool = False
    busy_pid: int | None = None
    busy_start: int | None = None
    #: the health check's status where a verb has read it (stdc.engine.health); not a column
    health: str | None = None

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        """Whether the container's payload runs (paused included)."""
        return self.status == "running"

    @property
    def restart_policy(self) -> dict:
        """Docker's RestartPolicy the container was created with (``--restart``)."""
        return self.config.get("restart_policy") or {"Name": "no", "MaximumRetryCount": 0}


class State:
    """The container table of one stdc root."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(_SCHEMA)
        have = {row[1] for row in self.db.execute("PRAGMA table_info(containers)")}
        for name, declaration in _ADDED_COLUMNS:
            if name not in have:
                with contextlib.suppress(sqlite3.OperationalError):  # another stdc added it meanwhile
                    self.db.execute(f"ALTER TABLE containers ADD COLUMN {name} {declaration}")

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def _row(row: tuple) -> Container:
        c = Container(*row)
        c.config = json.loads(c.config)  # type: ignore[arg-type]
        c.backends = json.loads(c.backends)  # type: ignore[arg-type]
        c.network = json.loads(c.network) if c.network else {}  # type: ignore[arg-type]
        c.cleaned = bool(c.cleaned)
        c.paused, c.oom_killed, c.stopped_by_user = bool(c.paused), bool(c.oom_killed), bool(c.stopped_by_user)
        return c

    _COLUMNS = (
        "id, name, image, image_id, created, config, backends, status, pid, pid_start, monitor_pid, monitor_start,"
        " exit_code, started, finished, cleaned, network, paused, oom_killed, restart_count, stopped_by_user,"
        " busy_pid, busy_start"
    )

    def create(self, *, name: str | None, image: str, image_id: str, config: dict, backends: dict) -> Container:
        """Insert a new record with a fresh 64-hex id, status ``creating`` and this process as
        its worker (before anything of the container exists on the host); a taken name is a
        Conflict."""
        from stdc.kit.processes import process_start_time

        cid = os.urandom(32).hex()
        name = name or self._free_name()
        c = Container(cid, name, image, image_id, time.time(), config, backends, status="creating")
        c.busy_pid, c.busy_start = os.getpid(), process_start_time(os.getpid())
        try:
            self.db.execute(
                "INSERT INTO containers (id, name, image, image_id, created, config, backends, status, busy_pid,"
                " busy_start) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (cid, name, image, image_id, c.created, json.dumps(config), json.dumps(backends), c.status)
                + (c.busy_pid, c.busy_start),
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"the container name {name!r} is already in use") from None
        return c

    def _free_name(self) -> str:
        while True:
            a, b, n = os.urandom(3)
            name = f"{_ADJECTIVES[a % len(_ADJECTIVES)]}_{_NOUNS[b % len(_NOUNS)]}_{n}"
            if not self.db.execute("SELECT 1 FROM containers WHERE name=?", (name,)).fetchone():
                return name

    def update(self, cid: str, **values: object) -> None:
        """Set columns of one record (dicts are stored as JSON)."""
        encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in values.items()}
        sets = ", ".join(f"{k}=?" for k in encoded)
        self.db.execute(f"UPDATE containers SET {sets} WHERE id=?", (*encoded.values(), cid))

    def rename(self, cid: str, name: str) -> None:
        """Give a container a new name; one taken by another container is a Conflict."""
        try:
            self.db.execute("UPDATE containers SET name=? WHERE id=?", (name, cid))
        except sqlite3.IntegrityError:
            raise Conflict(f"the container name {name!r} is already in use") from None

    def delete(self, cid: str) -> None:
        self.db.execute("DELETE FROM containers WHERE id=?", (cid,))

    def all(self) -> list[Container]:
        rows = self.db.execute(f"SELECT {self._COLUMNS} FROM containers ORDER BY created DESC").fetchall()
        return [self._row(r) for r in rows]

    def get(self, ref: str) -> Container:
        """Find a container by full id, unique id prefix, or name."""
        row = self.db.execute(f"SELECT {self._COLUMNS} FROM containers WHERE id=? OR name=?", (ref, ref)).fetchone()
        if row:
            return self._row(row)
        if ref and all(ch in "0123456789abcdef" for ch in ref):
            rows = self.db.execute(
                f"SELECT {self._COLUMNS} FROM containers WHERE id LIKE ? LIMIT 2", (ref + "%",)
            ).fetchall()
            if len(rows) == 1:
                return self._row(rows[0])
            if len(rows) > 1:
                raise Conflict(f"container id prefix {ref!r} is ambiguous")
        raise NotFound(f"no such container: {ref}")

    def ids(self) -> set[str]:
        """Every container id of this root."""
        return {row[0] for row in self.db.execute("SELECT id FROM containers")}

    def busy(self) -> list[tuple[str, int, int | None]]:
        """``(id, pid, start)`` of every record some process is creating or starting now."""
        return list(self.db.execute("SELECT id, busy_pid, busy_start FROM containers WHERE busy_pid IS NOT NULL"))

    def uses_image(self, image_id: str) -> list[Container]:
        rows = self.db.execute(f"SELECT {self._COLUMNS} FROM containers WHERE image_id=?", (image_id,)).fetchall()
        return [self._row(r) for r in rows]
