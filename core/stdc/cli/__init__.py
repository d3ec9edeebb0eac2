"""The ``stdc`` command line: parse, call the engine, print. Errors are one line, never a traceback
(set ``STDC_DEBUG=1`` to see one).

The group and its global flags live in :mod:`stdc.cli.group`; the commands live in one module
per area (:mod:`stdc.cli.container_commands`, :mod:`stdc.cli.image_commands`, ...), each
registering on the group. A new area adds a module and a line in :data:`_AREAS`. Every command
parses its arguments into a verb's options, calls the verb of :mod:`stdc.engine` and formats
what it returns: no command calls a backend's hook or touches the records or the image store.
"""

from __future__ import annotations

from stdc.cli.group import run_commands

_AREAS = (
    "container_commands",
    "interactive_commands",
    "resource_commands",
    "update_commands",
    "lifecycle_commands",
    "image_commands",
    "plugin_commands",
    "change_commands",
    "daemon_commands",
    "network_commands",
    "registry_commands",
    "info_commands",
    "volume_commands",
    "system_commands",
    "prune_commands",
    "build_commands",
    "listing_commands",
    "check_commands",
)


def load_commands() -> None:
    """Register the commands of every area on :data:`cli`."""
    import importlib

    for area in _AREAS:
        importlib.import_module(f"stdc.cli.{area}")


def main() -> None:
    """Run the CLI in this process, with one-line errors."""
    load_commands()
    run_commands()


if __name__ == "__main__":
    main()
