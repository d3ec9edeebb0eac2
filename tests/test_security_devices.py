"""The device, descriptor, working directory and user-file part of the security suite
(stdc.testing.security_devices) for both executors this repo ships."""

from __future__ import annotations

from stdc.testing.security_devices import *  # noqa: F403 - the suite: its tests, fixtures and parametrization

#: the suite runs, unchanged, against each of these; one that is not usable here fails
EXECUTORS = ["native", "lxc"]

#: strict xfails {(test, executor): reason}
KNOWN_FAILURES: dict[tuple[str, str], str] = {}
