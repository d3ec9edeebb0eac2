"""runc's way of telling what went wrong: one line on stderr, and with ``--log`` a line in the
log file, as JSON (``--log-format json``: ``{"level":"error","msg":...,"time":...}``, what
containerd's shim and conmon read back) or logrus's text shape."""

from __future__ import annotations

import datetime
import json
import os


class RuntimeLog:
    """Where this invocation's messages go."""

    def __init__(self, path: str | None, log_format: str = "text", debug: bool = False) -> None:
        self.path = path
        self.json = log_format == "json"
        self.debug_enabled = debug

    def _write(self, level: str, message: str) -> None:
        if not self.path:
            return
        now = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
        if self.json:
            line = json.dumps({"level": level, "msg": message, "time": now})
        else:
            line = f"time={json.dumps(now)} level={level} msg={json.dumps(message)}"
        try:
            with open(self.path, "a") as f:
                f.write(line + "\n")
        except OSError:
            pass  # the log is for diagnosis: never a reason to fail the verb

    def error(self, message: str) -> None:
        """An error: to the log, and as one line on stderr."""
        self._write("error", message)
        os.write(2, f"{message}\n".encode(errors="replace"))

    def warning(self, message: str) -> None:
        """A warning: to the log only."""
        self._write("warning", message)

    def debug(self, message: str) -> None:
        """With ``--debug``: to the log."""
        if self.debug_enabled:
            self._write("debug", message)
