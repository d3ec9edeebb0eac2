"""User namespaces (stdc.testing.security_userns) for every executor this repo ships."""

from __future__ import annotations

from stdc.testing.security_userns import *  # noqa: F403 - the suite: its tests, fixtures and parametrization

#: the suite runs, unchanged, against each of these; one that is not usable here fails
EXECUTORS = ["native", "lxc"]
