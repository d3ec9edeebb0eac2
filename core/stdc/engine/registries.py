"""Registry verbs: log in to and out of a registry through the registry backend, which stores
the credentials as docker does. The front end asks for what is missing (a prompt, stdin)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.context import Engine


def host(engine: Engine, registry: str | None) -> str:
    """``https://host:5000/v2/`` or ``host:5000`` -> ``host:5000``; none: the default registry."""
    from stdc.kit import references

    text = registry or engine.config.registry.get("default") or references.DEFAULT_DOMAIN
    name = text.split("://", 1)[-1].split("/", 1)[0]
    if not name or not references.parse(f"{name}/x").domain and name != references.DEFAULT_DOMAIN:
        raise BadInput(f"invalid registry {text!r}: expected HOST[:PORT]")
    return references.DEFAULT_DOMAIN if name == references.LEGACY_DOMAIN else name


def settings(engine: Engine, tls_verify: bool | None = None) -> dict:
    """The registry backend's ``settings``: the host file's ``[registry]`` table, with the front
    end's ``--tls-verify`` choice (``None``: not given) as ``tls_verify`` (see stdc.specs.registry)."""
    if tls_verify is None:
        return engine.config.registry
    return {**engine.config.registry, "tls_verify": tls_verify}


def login(engine: Engine, registry: str | None, username: str, password: str, tls_verify: bool | None = None) -> str:
    """Check and store the credentials of ``registry``; return its host."""
    where = host(engine, registry)
    engine.backend("registry").hook.registry_login(
        registry=where, username=username, password=password, settings=settings(engine, tls_verify)
    )
    return where


def logout(engine: Engine, registry: str | None, tls_verify: bool | None = None) -> tuple[str, bool]:
    """Forget the stored credentials of ``registry``; return its host and whether there were any."""
    where = host(engine, registry)
    hook = engine.backend("registry").hook
    return where, bool(hook.registry_logout(registry=where, settings=settings(engine, tls_verify)))
