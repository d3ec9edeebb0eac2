"""Conformance suites any backend, ours or a third party's, runs against itself.

- :mod:`stdc.testing.executor` — the executor contract (:mod:`stdc.specs.executor`), through
  the CLI and through the hooks, on the real kernel (needs root).

Run one against an installed executor by name::

    pytest -p stdc.testing.plugin --pyargs stdc.testing.executor --stdc-exec NAME
    STDC_TEST_EXEC=NAME pytest --pyargs stdc.testing.executor

or from a test module of your own: set ``EXECUTORS = ["NAME", …]`` and
``from stdc.testing.executor import *``. Without a choice the suite runs against every
installed executor.
"""
