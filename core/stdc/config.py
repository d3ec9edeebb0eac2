"""Settings, each resolved as: command-line flag > environment > /etc/stdc/config.toml > default.

The host file (``STDC_CONFIG`` names another)::

    root = "/var/lib/stdc"
    runtime_dir = "/run/stdc"
    cgroup_parent = "stdc"   # containers' cgroups: <cgroup_parent>/<id> (env STDC_CGROUP_PARENT)
    [backends]
    storage = "overlay"
    exec = "native"
    net = "bridge"       # none, host, or a provider: its own network is then the default one
    [network]            # handed to the network provider (see its documentation)
    subnet = "172.17.0.0/16"

``net`` left at its built-in default (``bridge``, as docker's) falls back to ``none`` where the
bridge provider is not installed or not usable; one chosen by flag, environment or file never does.
A root of one's own (tests, a second instance) gets runtime files of its own and, unless
``[network] bridge`` names one, a default bridge of its own (``stdc`` + a digest of the root);
its cgroups are reconciled only under a ``cgroup_parent`` of its own (``stdc/...``, set).
    [registry]           # handed to the registry backend as it is (see its documentation)
    default = "registry.example:5000"   # names without a host come from here (docker.io if unset)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from stdc.errors import BadInput

CONFIG_FILE = "/etc/stdc/config.toml"

#: The built-in defaults; the only place the core names backends.
DEFAULT_BACKENDS = {"storage": "overlay", "exec": "native", "net": "bridge", "registry": "oci"}
#: The provider of named networks (``run --network NAME``) while ``net`` is ``none`` or ``host``.
DEFAULT_NETWORK_PROVIDER = "bridge"
DEFAULT_ROOT = "/var/lib/stdc"
#: Containers' cgroups are ``<cgroup_parent>/<id>`` in every hierarchy; always under ``stdc``.
DEFAULT_CGROUP_PARENT = "stdc"
DEFAULT_RUNTIME_DIR = "/run/stdc"


@dataclass(frozen=True)
class Config:
    """The settings one stdc invocation works with."""

    root: str = DEFAULT_ROOT
    runtime_dir: str = DEFAULT_RUNTIME_DIR
    backends: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BACKENDS))
    host: dict = field(default_factory=dict)
    cgroup_parent: str = DEFAULT_CGROUP_PARENT
    #: the kinds of backend no flag, environment variable or host file chose (built-in defaults)
    defaulted: frozenset[str] = frozenset(DEFAULT_BACKENDS)

    @property
    def network(self) -> dict:
        """The host file's ``[network]`` table, for the network provider; a root of one's own
        gets a default bridge of its own unless the table names one."""
        table = self.host.get("network", {})
        if self.root == DEFAULT_ROOT or "bridge" in table:
            return table
        return {"bridge": own_bridge_name(self.root), **table}

    @property
    def registry(self) -> dict:
        """The host file's ``[registry]`` table, for the registry backend (``default``: the default
        registry; without one, ``base`` is the built-in image and ``run`` pulls only named hosts)."""
        return self.host.get("registry", {})


def own_bridge_name(root: str) -> str:
    """The default bridge of a root other than the host's: ``stdc`` and 10 hex digits of a digest
    of the root (an interface name has at most 15 characters)."""
    import hashlib

    return "stdc" + hashlib.sha256(root.encode()).hexdigest()[:10]


def _read_host_file() -> dict:
    path = os.environ.get("STDC_CONFIG", CONFIG_FILE)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    import tomllib  # only paid for on hosts that have a config file

    try:
        return tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: {e}") from None


def load(
    root: str | None = None, runtime_dir: str | None = None, backends: dict[str, str | None] | None = None
) -> Config:
    """Resolve the configuration; arguments are the command-line flags (``None`` when not given)."""
    host = _read_host_file()
    host_backends = host.get("backends", {})
    chosen = {}
    defaulted = set()
    for kind in ("storage", "exec", "net", "registry"):
        flag = (backends or {}).get(kind)
        value = flag or os.environ.get(f"STDC_{kind.upper()}") or host_backends.get(kind)
        if not value:
            value = DEFAULT_BACKENDS[kind]
            defaulted.add(kind)
        chosen[kind] = value
    root = root or os.environ.get("STDC_ROOT") or host.get("root") or DEFAULT_ROOT
    runtime_dir = (
        runtime_dir
        or os.environ.get("STDC_RUNTIME_DIR")
        or host.get("runtime_dir")
        # a root of one's own (tests, a second instance) gets runtime files of its own too
        or (DEFAULT_RUNTIME_DIR if root == DEFAULT_ROOT else os.path.join(root, "run"))
    )
    cgroup_parent = os.environ.get("STDC_CGROUP_PARENT") or host.get("cgroup_parent") or DEFAULT_CGROUP_PARENT
    cgroup_parent = cgroup_parent.strip("/")
    parts = cgroup_parent.split("/")
    if parts[0] != DEFAULT_CGROUP_PARENT or any(p in ("", ".", "..") or ":" in p for p in parts):
        raise BadInput(f"cgroup_parent {cgroup_parent!r}: must be stdc or a path under it (stdc/…)")
    return Config(
        root=os.path.abspath(root),
        runtime_dir=os.path.abspath(runtime_dir),
        backends=chosen,
        host=host,
        cgroup_parent=cgroup_parent,
        defaulted=frozenset(defaulted),
    )
