"""The Docker Engine API, a front end: dockerd's HTTP API over the engine's verbs, so that the
docker CLI, docker-py, docker-compose and testcontainers drive stdc unchanged.

:mod:`~stdc.dockerapi.app` builds the aiohttp application (versioned and unversioned paths,
Docker's headers and errors) and :mod:`~stdc.dockerapi.listeners` serves it on a unix socket or
mutual-TLS TCP; each ``*_routes`` module answers one resource. Every handler calls an engine verb
in a worker thread (:mod:`~stdc.dockerapi.workers`): a slow stream never delays another client.
"""
