"""The OCI runtime-tools validation suite against stdc-runtime (scripts/oci-validation): every
test at least as good as recorded in tests/oci_validation/expected.txt — a test recorded ``ok``
stays ok, one recorded failing passes no fewer of its checks. The record says why each failing
one fails (tests/oci_validation/README.md)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
EXPECTED = Path(__file__).parent / "oci_validation" / "expected.txt"


def _results(text: str) -> dict[str, tuple[int, int, str]]:
    """``NAME PASSED/TOTAL VERDICT`` lines as {name: (passed, total, verdict)}."""
    found = {}
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()  # a record's line may end with why it fails
        if len(parts) >= 3 and "/" in parts[1]:
            passed, total = parts[1].split("/")
            found[parts[0]] = (int(passed), int(total), " ".join(parts[2:]))
    return found


def test_validation_suite_has_no_regression(stdc, tmp_path):
    done = subprocess.run(
        [str(REPO / "scripts" / "oci-validation"), "/var/tmp/stdc-oci-validation"],
        capture_output=True,
        text=True,
        timeout=3000,
    )
    if done.returncode == 2:
        pytest.fail(f"the validation suite does not build: {done.stderr}")
    now = _results(done.stdout)
    expected = _results(EXPECTED.read_text())
    regressions = [
        f"{name}: {now.get(name)} (recorded {was})"
        for name, was in expected.items()
        if name not in now or (was[2] == "ok" and now[name][2] != "ok") or now[name][0] < was[0]
    ]
    assert regressions == [], "\n".join(regressions)
