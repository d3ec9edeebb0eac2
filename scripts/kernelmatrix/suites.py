"""The matrix: which suites each kernel runs, and their pytest summaries read back as counts.

All suites of one kernel run in one guest (one boot); each is framed by marker lines so its own
summary and NOT RUN reasons can be found in the guest's output.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

PYTEST = ".venv/bin/python -m pytest -q -p no:cacheprovider -p stdc.testing.plugin -rs"
START = "@@suite "
END = "@@status "
# Suites under TCG run every `stdc` command through a warm daemon: a cold command costs 10-20 s there.
DAEMON = (
    "(stdc daemon >/run/stdc-daemon.log 2>&1 &); i=0; "
    "while [ ! -S /run/stdc/daemon.sock ] && [ $i -lt 600 ]; do sleep 0.5; i=$((i + 1)); done"
)


@dataclass(frozen=True)
class Suite:
    """One named suite: a shell command run from the checkout inside the guest."""

    name: str
    command: str
    #: part of the subset CI runs (`test-kernels --ci`): what fits its time budget under TCG
    ci: bool = False


@dataclass
class Result:
    """A suite's outcome: pytest's counts, and why tests were NOT RUN (skipped)."""

    name: str
    status: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)

    def line(self) -> str:
        """``NAME: N passed, N failed`` plus NOT RUN and anything else pytest counted."""
        if self.status is None:
            return f"{self.name}: NOT RUN (the guest never finished it)"
        words = [f"{self.counts.get('passed', 0)} passed", f"{self.counts.get('failed', 0)} failed"]
        others = sorted(kv for kv in self.counts.items() if kv[0] not in ("passed", "failed", "skipped"))
        words += [f"{n} {kind}" for kind, n in others]
        if self.counts.get("skipped"):
            words.append(f"{self.counts['skipped']} NOT RUN")
        if not self.counts:
            words.append(f"exit status {self.status}")
        text = f"{self.name}: {', '.join(words)}"
        return text + "".join(f"\n    NOT RUN: {reason}" for reason in self.not_run)

    @property
    def ok(self) -> bool:
        """Whether the suite ran and passed."""
        return self.status == 0


def _pytest(name: str, args: str, ci: bool = False) -> Suite:
    return Suite(name, f"{PYTEST} {args}", ci)


def _commands(name: str, *commands: str, ci: bool = False) -> Suite:
    """Plain commands, each echoed, the suite failing at the first that fails (counted as pytest would)."""
    steps = " && ".join(f"echo '$ {c}' && {c}" for c in commands)
    script = f"if {steps}; then echo '1 passed'; else echo '1 failed'; false; fi"
    return Suite(name, f"sh -c {shlex.quote(script)}", ci)


RESOURCES = "memory or pids or cpus or limits or stats or top or pause or oom or device or restart"

MATRIX: dict[str, list[Suite]] = {
    "debian-6.1": [
        _pytest("executor native (resources)", f"tests/test_executors.py --stdc-exec native -k '{RESOURCES}'", ci=True),
        _pytest("executor lxc (resources)", f"tests/test_executors.py --stdc-exec lxc -k '{RESOURCES}'", ci=True),
        _pytest("userns", "tests/test_security_userns.py tests/test_idmapped_overlay_paths.py", ci=True),
        _pytest("security", "tests/test_security_syscalls.py tests/test_security_devices.py tests/test_devfilter.py"),
        _pytest("resources", "tests/test_resources.py"),
        Suite("storage kit overlay+vfs", f"STDC_TEST_STORAGE=overlay,vfs {PYTEST} tests/test_storage_kit.py"),
        _pytest("network", "tests/test_network.py"),
    ],
    "aufs-6.1": [
        Suite("storage kit aufs", f"STDC_TEST_STORAGE=aufs {PYTEST} tests/test_storage_kit.py", ci=True),
        _commands(
            "aufs end to end",
            "stdc --storage aufs --exec lxc run --rm --network none base /bin/echo aufs-lxc-ok",
            "stdc --storage aufs --exec native run --rm --network none base /bin/echo aufs-native-ok",
            ci=True,
        ),
    ],
}


def guest_script(suites: list[Suite], daemon: bool = True) -> str:
    """The shell script the guest runs: each suite framed by markers, its status after it."""
    lines = [DAEMON] if daemon else []
    for suite in suites:
        lines.append(f"echo {shlex.quote(START + suite.name)}")
        lines.append(suite.command)
        lines.append(f'echo "{END}$?"')
    lines.append("true")
    return "\n".join(lines)


_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")
_SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed|skipped|errors?|xfailed|xpassed|deselected).*)$")


def parse(output: str, suites: list[Suite]) -> list[Result]:
    """Each suite's Result from the guest's output (a suite the output never finished has no status)."""
    results = {s.name: Result(s.name) for s in suites}
    current: Result | None = None
    for line in output.splitlines():
        if line.startswith(START):
            current = results.get(line[len(START) :].strip())
        elif current and line.startswith(END):
            current.status = int(line[len(END) :].strip() or 1)
            current = None
        elif current:
            if line.startswith("SKIPPED "):
                current.not_run.append(line.removeprefix("SKIPPED ").strip())
            summary = _SUMMARY.match(line.strip())
            if summary:
                current.counts = {}
                for n, kind in _COUNT.findall(summary.group(1)):
                    current.counts["errors" if kind == "error" else kind] = int(n)
    return [results[s.name] for s in suites]
