"""Image references as users write them: ``name``, ``name:tag``, ``ns/name:tag``,
``host:5000/ns/name:tag``, ``name@sha256:<64 hex>``.

The grammar is docker's (distribution/reference): lowercase path components
``[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`` separated by ``/``, an optional registry host first
(recognised as such when it contains ``.`` or ``:`` or is ``localhost``), a tag
``[\\w][\\w.-]{0,127}`` and a ``sha256`` digest. Anything else is
``BadInput("invalid reference format: …")``.

Names are kept exactly as written: ``base`` stays ``base``, it does not become
``docker.io/library/base``. Registry normalization (the implicit ``docker.io`` host and
``library/`` namespace) belongs to whoever talks to a registry; it starts from
:attr:`Reference.domain` and :attr:`Reference.path` — see :func:`qualify`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdc.errors import BadInput

DEFAULT_TAG = "latest"
#: Where names without a registry host come from when no default registry is configured.
DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN_RE = re.compile(
    r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"(?::[0-9]+)?"
)
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")
_NAME_MAX = 255


@dataclass(frozen=True)
class Reference:
    """A parsed reference. ``name`` includes the registry host when one was written.

    ``tag`` is ``latest`` unless another tag was written, or ``None`` when only a digest was.
    """

    name: str
    tag: str | None = DEFAULT_TAG
    digest: str | None = None

    def __str__(self) -> str:
        """``name:tag`` — the key under which the store tags an image — or ``name@digest``."""
        if self.tag is not None:
            return f"{self.name}:{self.tag}"
        return f"{self.name}@{self.digest}"

    @property
    def domain(self) -> str | None:
        """The registry host written in the reference (``host:5000``), or ``None``."""
        first, sep, _rest = self.name.partition("/")
        return first if sep and _is_domain(first) else None

    @property
    def path(self) -> str:
        """The repository path without the registry host (``ns/name``)."""
        domain = self.domain
        return self.name[len(domain) + 1 :] if domain else self.name


def parse(text: str) -> Reference:
    """Parse a reference; raise ``BadInput("invalid reference format: …")`` when it is not one."""
    if not text:
        raise BadInput("invalid reference format: empty reference")
    remainder, at, digest = text.partition("@")
    if at and not DIGEST_RE.fullmatch(digest):
        raise BadInput(f"invalid reference format: {text!r} (a digest is sha256: and 64 lowercase hex digits)")
    name, tag = remainder, None
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        name, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise BadInput(f"invalid reference format: {text!r} (bad tag {tag!r})")
    _check_name(name, text)
    if tag is None and not at:
        tag = DEFAULT_TAG
    return Reference(name=name, tag=tag, digest=digest or None)


def qualify(ref: Reference, default_domain: str | None = None) -> Reference:
    """Registry normalization, docker's way: the name with its registry host.

    A name without a host gets ``default_domain`` (the host config's default registry; docker.io
    when none is configured); on docker.io a one-component path gets ``library/`` and
    ``index.docker.io`` is ``docker.io``. The local store keys images by the name as written:
    only what talks to a registry qualifies a name.
    """
    domain = ref.domain or default_domain or DEFAULT_DOMAIN
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    path = ref.path
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    return Reference(name=f"{domain}/{path}", tag=ref.tag, digest=ref.digest)


def _is_domain(component: str) -> bool:
    return ("." in component or ":" in component or component == "localhost") and bool(_DOMAIN_RE.fullmatch(component))


def _check_name(name: str, text: str) -> None:
    if not name:
        raise BadInput(f"invalid reference format: {text!r} (no repository name)")
    if len(name) > _NAME_MAX:
        raise BadInput(f"invalid reference format: repository name longer than {_NAME_MAX} characters")
    first, sep, rest = name.partition("/")
    path = rest if sep and ("." in first or ":" in first or first == "localhost") else name
    if path is rest and not _DOMAIN_RE.fullmatch(first):
        raise BadInput(f"invalid reference format: {text!r} (bad registry host {first!r})")
    if not _PATH_RE.fullmatch(path):
        if _PATH_RE.fullmatch(path.lower()):
            raise BadInput(f"invalid reference format: repository name ({path}) must be lowercase")
        raise BadInput(f"invalid reference format: {text!r}")
