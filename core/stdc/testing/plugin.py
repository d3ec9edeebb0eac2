"""pytest plugin of the conformance suites: ``pytest -p stdc.testing.plugin --stdc-exec NAME``."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stdc", "stdc conformance suites")
    group.addoption(
        "--stdc-exec",
        action="append",
        default=[],
        metavar="NAME",
        help="executor(s) the executor suite runs against (repeatable; default: every installed one)",
    )
