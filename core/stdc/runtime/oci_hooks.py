"""The spec's ``hooks``: programs run at points of a container's life with its state JSON on
their stdin (runtime-spec config.md "POSIX-platform Hooks").

``prestart`` (deprecated, run as ``createRuntime``), ``createRuntime`` and ``poststart``,
``poststop`` run in the runtime's namespaces; ``createContainer`` and ``startContainer`` are the
container's: they run inside its namespaces through the executor's ``exec_exec``
(:mod:`stdc.runtime.oci_lifecycle`). A failing hook of the first kinds fails the operation; a
failing ``poststart`` or ``poststop`` is only logged, as the spec says.
"""

from __future__ import annotations

import json

from stdc.errors import StdcError

#: the hooks that fail their operation when they fail
FATAL = ("prestart", "createRuntime", "createContainer", "startContainer")


class HookFailed(StdcError):
    """A hook exited non-zero, timed out, or could not be run."""


def hooks_of(spec: dict, kind: str) -> list[dict]:
    """The spec's hooks of ``kind``, in order (empty when none)."""
    return list((spec.get("hooks") or {}).get(kind) or [])


def run_host_hooks(spec: dict, kind: str, state: dict) -> list[str]:
    """Run the hooks of ``kind`` in the runtime's namespaces; returns the warnings of those
    allowed to fail, raises :class:`HookFailed` for the others."""
    warnings = []
    for hook in hooks_of(spec, kind):
        try:
            run_one(hook, state)
        except HookFailed as e:
            if kind in FATAL:
                raise HookFailed(f"error running {kind} hook: {e}") from None
            warnings.append(f"{kind} hook: {e}")
    return warnings


def run_one(hook: dict, state: dict) -> None:
    """One hook: ``path`` executed with ``args`` (``args[0]`` is its argv[0]) and exactly
    ``env``, the state on stdin, killed after ``timeout`` seconds."""
    import subprocess  # hooks are rare: not every runtime call pays for it

    path = hook.get("path")
    if not path:
        raise HookFailed("a hook has no path")
    args = list(hook.get("args") or [path])
    env = dict(item.partition("=")[::2] for item in hook.get("env") or [])
    try:
        done = subprocess.run(
            args,
            executable=path,
            env=env,
            input=json.dumps(state).encode(),
            capture_output=True,
            timeout=hook.get("timeout") or None,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HookFailed(f"{path}: timed out after {hook['timeout']} s") from None
    except OSError as e:
        raise HookFailed(f"{path}: {e.strerror}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).decode(errors="replace").strip()
        raise HookFailed(f"{path}: exit status {done.returncode}" + (f": {detail}" if detail else ""))
