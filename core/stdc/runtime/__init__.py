"""``stdc-runtime``: runc's command line over any installed stdc executor, so that podman,
containerd (its runc v2 shim) and Kubernetes (a CRI RuntimeClass) run containers on stdc.

It reads a bundle's ``config.json`` as it is and calls the selected executor's hooks
(:mod:`stdc.specs.executor`); the state the runtime spec defines lives under ``--root``
(:mod:`stdc.runtime.bundle_state`). The command line is :mod:`stdc.runtime.runc_command`.
"""
