"""scripts/test-kernels' pure parts: the guest script's framing and its output read back as counts."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from kernelmatrix import suites  # noqa: E402 - scripts/ is not a package on the path


def test_counts_and_not_run_reasons_per_suite() -> None:
    matrix = [suites.Suite("a", "true"), suites.Suite("b", "true"), suites.Suite("c", "true")]
    output = "\n".join(
        [
            "@@suite a",
            "SKIPPED [1] tests/x.py:3: NOT RUN: kernel has no aufs",
            "7 passed, 1 failed, 1 skipped in 390.2s",
            "@@status 1",
            "@@suite b",
            "========== 12 passed in 3.0s ==========",
            "@@status 0",
            "@@suite c",
            "collecting ...",
        ]
    )
    a, b, c = suites.parse(output, matrix)
    assert a.line() == "a: 7 passed, 1 failed, 1 NOT RUN\n    NOT RUN: [1] tests/x.py:3: NOT RUN: kernel has no aufs"
    assert not a.ok
    assert b.line() == "b: 12 passed, 0 failed" and b.ok
    assert c.status is None and not c.ok and "NOT RUN" in c.line()


def test_guest_script_frames_each_suite_with_its_status() -> None:
    script = suites.guest_script([suites.Suite("x y", "pytest -k 'a or b'")], daemon=False)
    assert script.splitlines() == ["echo '@@suite x y'", "pytest -k 'a or b'", 'echo "@@status $?"', "true"]


def test_command_suites_count_as_one_test() -> None:
    suite = suites.MATRIX["aufs-6.1"][1]
    assert "--storage aufs --exec lxc run" in suite.command and "1 passed" in suite.command
