"""Registries: move images between the local content store and a remote.

The first backend speaks the OCI Distribution API. ``store`` is the core's
:class:`stdc.images.store.ImageStore`: a registry backend reads and writes blobs only through it,
so every blob's digest is verified before it becomes visible, and it adds a pulled image inside
``store.ingesting()`` so that nothing half-downloaded is ever listed.

References reach a backend already qualified (:func:`stdc.kit.references.qualify`):
``host[:port]/path[:tag][@sha256:…]``. ``settings`` is the host file's ``[registry]`` table as it
is (``default``, ``insecure``, ``certs_dir``, ``timeout``, … — see the backend's documentation),
plus what the command line chose for this call:

- ``tls_verify`` (``--tls-verify``, as podman and skopeo take it): ``False`` — the registry is
  insecure (TLS without verifying its certificate, plain http when it does not speak TLS);
  ``True`` — verified TLS even where the backend's default would not verify (loopback and
  ``insecure`` registries); absent or ``None`` — the backend's default: verified TLS except for
  loopback registries (127.0.0.0/8, ::1) and those listed ``insecure``, as docker decides.
``progress(what, done, total)`` is called as bytes move (``what``: a short blob digest), for the
CLI's display; it may be called from several threads at once.
"""

from __future__ import annotations

from collections.abc import Callable

from stdc.specs import hookspec

Progress = Callable[[str, int, int], None]


@hookspec(firstresult=True)
def registry_unusable() -> str | None:
    """Return ``None`` when the registry backend works on this host, else a short reason."""


@hookspec(firstresult=True)
def registry_pull(
    remote: str, local: str | None, store: object, platform: str | None, settings: dict, home: str, progress: Progress
) -> str:
    """Pull the image ``remote`` into ``store`` and tag it ``local`` (``None``: untagged); return
    the digest of the image manifest stored (kept byte for byte).

    From an image index the manifest for ``platform`` (``os/arch[/variant]``, ``None``: this
    host's) is taken. ``home`` is a directory the backend owns (caches, mount hints). Raise
    ``NotFound`` when the registry has no such image, another ``StdcError`` (one line) for every
    other failure — after which nothing of this pull is visible in the store.
    """


@hookspec(firstresult=True)
def registry_push(local: str, remote: str, store: object, settings: dict, home: str, progress: Progress) -> str:
    """Push the local image ``local`` (anything ``store.resolve`` takes) to ``remote``; return the
    digest of the manifest pushed. Blobs the registry has are skipped."""


@hookspec(firstresult=True)
def registry_login(registry: str, username: str, password: str, settings: dict) -> str:
    """Check the credentials against ``registry`` (``host[:port]``) and store them for later
    pulls and pushes; return where they were stored. Wrong credentials raise ``StdcError``."""


@hookspec(firstresult=True)
def registry_logout(registry: str, settings: dict) -> bool:
    """Forget the stored credentials of ``registry``; return whether there were any."""
