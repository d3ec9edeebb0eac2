"""stdc registry backend ``oci``: pull and push over the OCI Distribution API.

Manifests and image indexes (OCI and Docker v2 schema 2), blobs streamed into the store's
verifying writer several at a time (a cut download resumed with a Range request), uploads in one
request or in chunks, cross-repository mounts, basic and bearer authentication with docker's
credentials file and credential helpers, TLS with the system's CAs and a per-registry CA
directory; insecure registries (loopback ones, those listed, ``--tls-verify=false``) get TLS
without verification or plain http. Proxies come from ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``;
429 and 5xx answers are retried with a backoff. The host file's ``[registry]`` table configures it::

    [registry]
    default = "registry.example:5000"      # names without a host (docker.io when unset)
    insecure = ["10.0.0.5:5000"]           # TLS unverified or plain http (loopback: without listing)
    tls_verify = true                      # verify TLS even for loopback and listed registries
    certs_dir = "/etc/stdc/certs.d"        # certs_dir/HOST:PORT/*.crt: CAs for that registry
    timeout = 60                           # seconds without progress before giving up
    chunk_size = 16777216                  # bigger blobs are uploaded in chunks of this size
    parallel = 4                           # blobs moved at once

Modules: :mod:`.client` (HTTP, TLS, proxies, retries, authentication), :mod:`.credentials`
(config.json and credential helpers),
:mod:`.pull`, :mod:`.push`, :mod:`.sources` (where blobs were seen, for mounts).
"""

from __future__ import annotations

from typing import Any

from stdc.specs import hookimpl

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"


@hookimpl
def registry_unusable() -> str | None:
    import ssl

    return None if ssl.OPENSSL_VERSION else "Python has no TLS support"


@hookimpl
def registry_pull(
    remote: str, local: str | None, store: Any, platform: str | None, settings: dict, home: str, progress: Any
) -> str:
    from stdc_registry_oci.pull import pull

    return pull(remote, local, store, platform, settings, home, progress)


@hookimpl
def registry_push(local: str, remote: str, store: Any, settings: dict, home: str, progress: Any) -> str:
    from stdc_registry_oci.push import push

    return push(local, remote, store, settings, home, progress)


@hookimpl
def registry_login(registry: str, username: str, password: str, settings: dict) -> str:
    from stdc_registry_oci import credentials
    from stdc_registry_oci.client import Registry

    client = Registry(registry, settings, login=(username, password))
    try:
        response = client.request("GET", "/v2/", expect=(200,), what="the API root")
        with client.errors():
            response.read()
    finally:
        client.close()
    return credentials.save(registry, username, password)


@hookimpl
def registry_logout(registry: str, settings: dict) -> bool:
    from stdc_registry_oci import credentials

    return credentials.remove(registry)
