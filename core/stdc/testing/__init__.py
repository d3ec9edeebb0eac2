"""Conformance suites any backend, ours or a third party's, runs against itself.

- :mod:`stdc.testing.executor_suite` — the executor contract (:mod:`stdc.specs.executor`), through
  the CLI and through the hooks, on the real kernel (needs root).

Run one against an installed executor by name::

    pytest -p stdc.testing.plugin --pyargs stdc.testing.executor_suite --stdc-exec NAME
    STDC_TEST_EXEC=NAME pytest --pyargs stdc.testing.executor_suite

or from a test module of your own: set ``EXECUTORS = ["NAME", …]`` and
``from stdc.testing.executor_suite import *``. Without a choice the suite runs against every
installed executor.
"""

__doc__ += """
- :mod:`stdc.testing.storage_suite` — the storage contract (:mod:`stdc.specs.storage`): layer apply,
  whiteouts, mount descriptions, snapshots, deep chains, diff/commit round trips (needs root).
  What needs the driver's kernel support is reported ``NOT RUN (reason)`` where it is missing::

      pytest -p stdc.testing.storage_suite --pyargs stdc.testing.storage_suite --stdc-storage NAME
      STDC_TEST_STORAGE=NAME pytest --pyargs stdc.testing.storage_suite

  or from a test module of your own: ``STORAGES = ["NAME", …]`` and
  ``from stdc.testing.storage_suite import *``.
"""
