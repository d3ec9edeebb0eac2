"""System verbs: ``info`` (the root, the backends, user namespaces, what each storage driver
holds) and the report of installed backends (``plugins``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stdc.engine.context import Engine


@dataclass
class Holding:
    """What one storage driver holds in this root."""

    driver: str
    usable: str
    layers: int = 0
    snapshots: int = 0
    images: list[str] = field(default_factory=list)  # images whose every layer it has unpacked
    containers: list[str] = field(default_factory=list)


def holdings(engine: Engine, with_installed: bool = True) -> list[Holding]:
    """Every storage driver that holds files in this root (and, with ``with_installed``, every
    installed one): its layers, snapshots, the images it has unpacked, the containers it serves."""
    from stdc import discovery
    from stdc.errors import StdcError

    storage_root = os.path.join(engine.root, "storage")
    names = set(os.listdir(storage_root)) if os.path.isdir(storage_root) else set()
    if with_installed:
        names |= set(discovery.installed_names("storage"))
    images = engine.store.list_images()
    containers = engine.state.all()
    found = []
    for name in sorted(names):
        home = engine.home("storage", name)
        try:
            driver = discovery.load("storage", name)
            problem = driver.unusable(home)
        except StdcError as e:
            found.append(Holding(name, f"no ({e})"))
            continue
        held = Holding(name, "yes" if problem is None else f"no ({problem})")
        if os.path.isdir(home):
            listed = driver.hook.storage_list(home=home)
            layers = set(listed["layers"])
            held.layers, held.snapshots = len(layers), len(listed["snapshots"])
            held.images = sorted({str(ref) for ref, image in images if set(image.chain_ids()) <= layers})
        held.containers = sorted(c.name for c in containers if c.backends.get("storage") == name)
        found.append(held)
    return found


def image_drivers(engine: Engine) -> dict[str, list[str]]:
    """Image reference -> the storage drivers that have unpacked all of its layers in this root."""
    drivers: dict[str, list[str]] = {}
    for held in holdings(engine, with_installed=False):
        for ref in held.images:
            drivers.setdefault(ref, []).append(held.driver)
    return drivers


def info(engine: Engine) -> dict[str, Any]:
    """The root, the runtime directory, the selected backends, how user namespaces get their
    files, and what each storage driver holds (:class:`Holding` rows under ``Storage``)."""
    from stdc.engine import userns

    config = engine.config
    held = holdings(engine)
    ids = userns.remap(config)
    return {
        "Root": config.root,
        "RuntimeDir": config.runtime_dir,
        "Backends": dict(config.backends),
        "Storage": held,
        "UserNamespaces": {
            "Layers": userns.how(config.root),
            "OverlayLayers": userns.overlay_layers(),
            "Remap": f"{ids['uid']}:{ids['gid']}:{ids['size']}" if ids else "none",
        },
    }


def installed_backends(engine: Engine) -> list[Any]:
    """Every installed backend (:class:`stdc.discovery.Installed`): kind, name, distribution,
    version, and why it is not usable here (``problem``), if it is not."""
    from stdc import discovery

    return discovery.list_installed(engine.home)


#: the modules every command may need, imported once by a warm daemon (see :func:`warm_up`)
WARM_MODULES = (
    "grp",
    "pwd",
    "sqlite3",
    "stdc.attach",
    "stdc.config",
    "stdc.engine.containers",
    "stdc.engine.execs",
    "stdc.engine.images",
    "stdc.engine.journal",
    "stdc.engine.logs",
    "stdc.engine.monitor",
    "stdc.engine.networks",
    "stdc.engine.resources",
    "stdc.engine.restart_policy",
    "stdc.engine.userns",
    "stdc.engine.volumes",
    "stdc.images.store",
    "stdc.kit.cgroups",
    "stdc.kit.devices",
    "stdc.kit.mounts",
    "stdc.kit.ocispec",
    "stdc.kit.workdir",
    "stdc.libexec.build",
    "stdc.discovery",
    "stdc.security.settings",
    "stdc.specs",
)


def warm_up() -> None:
    """Import what verbs need, load every installed backend and let it warm up, once (for a
    long-lived process that forks a worker per command, like ``stdc daemon``)."""
    import contextlib
    import importlib

    from stdc import config, discovery, specs
    from stdc.errors import StdcError

    for name in WARM_MODULES:
        importlib.import_module(name)
    config.load()
    for kind in specs.KINDS:
        for name in discovery.installed_names(kind):
            with contextlib.suppress(StdcError):  # reported to whoever uses it
                backend = discovery.load(kind, name)
                if not backend.builtin:
                    backend.hook.stdc_warm_up()
    discovery.observers().stdc_warm_up()
