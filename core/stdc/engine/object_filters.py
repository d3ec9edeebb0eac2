"""Docker's ``--filter`` for networks and volumes, on their API documents
(:mod:`stdc.engine.docker_objects`), for the CLI's ``network ls``/``volume ls`` and the Docker
API's ``GET /networks``/``GET /volumes`` alike. Filters are ``{key: [values]}`` as
:func:`stdc.engine.docker_filters.parse_filters` gives them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stdc.engine.docker_filters import check_keys, labels_match
from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.context import Engine

NETWORK_KEYS = ("name", "id", "driver", "label", "type", "scope", "dangling")
VOLUME_KEYS = ("name", "driver", "label", "dangling")


def _truth(key: str, values: list[str]) -> bool:
    if len(values) != 1 or values[0].lower() not in ("1", "true", "0", "false"):
        raise BadInput(f"invalid filter '{key}={','.join(values)}'")
    return values[0].lower() in ("1", "true")


def networks(engine: Engine, filters: dict[str, list[str]]) -> list[dict]:
    """The Network documents of every network that ``filters`` match."""
    from stdc.engine import docker_objects, networks

    check_keys(filters, NETWORK_KEYS)
    docs = [docker_objects.network_inspect(engine, n["Name"]) for n in networks.list_networks(engine)]
    builtin = {n["Name"] for n in networks.BUILTIN_NETWORKS} | {"bridge"}
    for key, values in filters.items():
        if key == "name":
            docs = [d for d in docs if any(v in d["Name"] for v in values)]
        elif key == "id":
            docs = [d for d in docs if any(d["Id"].startswith(v) for v in values)]
        elif key == "driver":
            docs = [d for d in docs if d["Driver"] in values]
        elif key == "label":
            docs = [d for d in docs if labels_match(d["Labels"] or {}, values)]
        elif key == "type":
            docs = [d for d in docs if ("builtin" if d["Name"] in builtin else "custom") in values]
        elif key == "scope":
            docs = [d for d in docs if "local" in values]
        elif key == "dangling":
            unused = _truth(key, values)
            used = set(networks.used_by(engine))
            docs = [d for d in docs if d["Name"] not in builtin and (d["Name"] not in used) == unused]
    return docs


def volumes(engine: Engine, filters: dict[str, list[str]]) -> list[dict]:
    """The Volume documents of every named volume that ``filters`` match."""
    from stdc.engine import docker_objects, volumes

    check_keys(filters, VOLUME_KEYS)
    docs = [docker_objects.volume_inspect(engine, name) for name in volumes.list_volumes(engine)]
    for key, values in filters.items():
        if key == "name":
            docs = [d for d in docs if any(v in d["Name"] for v in values)]
        elif key == "driver":
            docs = [d for d in docs if d["Driver"] in values]
        elif key == "label":
            docs = [d for d in docs if labels_match(d["Labels"] or {}, values)]
        elif key == "dangling":
            unused = _truth(key, values)
            records = engine.state.all()
            docs = [d for d in docs if (not volumes.users_of(records, d["Name"])) == unused]
    return docs
