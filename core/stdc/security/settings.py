"""``--cap-add``, ``--cap-drop``, ``--privileged`` and ``--security-opt`` as the OCI spec says them.

What docker does, with one deliberate difference: ``no_new_privs`` is on by default (docker's
default is off). A setuid binary of an image (su, sudo, ping, newgrp) then cannot raise the
privileges of a process inside, which closes the commonest way up from a non-root user in a
container; images that rely on setuid ask for ``--security-opt no-new-privileges=false``.
``--privileged`` turns it off too, unless it is asked for explicitly.
"""

from __future__ import annotations

from typing import Any

from stdc.errors import BadInput
from stdc.kit import capabilities
from stdc.security import seccomp

SECURITY_OPT_HELP = "seccomp=unconfined|PROFILE.json, no-new-privileges[=true|false]"


def _boolean(value: str, option: str) -> bool:
    lowered = value.lower()
    if lowered in ("", "true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadInput(f"--security-opt {option}: {value!r} is not true or false")


class SecuritySettings:
    """The options, parsed and checked (a seccomp file read) before anything is created."""

    def __init__(
        self,
        cap_add: list[str] | None = None,
        cap_drop: list[str] | None = None,
        privileged: bool = False,
        security_opt: list[str] | None = None,
    ) -> None:
        self.cap_add = list(cap_add or [])
        self.cap_drop = list(cap_drop or [])
        for name in self.cap_add + self.cap_drop:
            capabilities.normalize(name)
        self.privileged = privileged
        self.no_new_privileges: bool | None = None
        #: docker's profile format; ``None``: the default one (or none when privileged)
        self.profile: dict | None = None
        self.unconfined = False
        for raw in security_opt or []:
            self._parse(raw)

    def _parse(self, raw: str) -> None:
        # docker takes "key=value" and, from older versions, "key:value"
        key, sep, value = raw.partition("=")
        if not sep:
            key, sep, value = raw.partition(":")
        key = key.strip().lower()
        if key == "no-new-privileges":
            self.no_new_privileges = _boolean(value.strip(), raw)
        elif key == "seccomp":
            if not value:
                raise BadInput(f"--security-opt {raw!r}: give seccomp=unconfined or seccomp=PROFILE.json")
            if value == "unconfined":
                self.unconfined, self.profile = True, None
            else:
                self.unconfined, self.profile = False, seccomp.read_profile(value)
        else:
            raise BadInput(f"--security-opt {raw!r}: not supported (stdc knows {SECURITY_OPT_HELP})")

    def capabilities(self, basics: list[str]) -> list[str]:
        """The bounding set: ``basics`` (every capability when privileged) tweaked by add/drop."""
        start = capabilities.all_known() if self.privileged else basics
        return capabilities.tweak(start, self.cap_add, self.cap_drop)

    def apply(self, spec: dict[str, Any], basics: list[str]) -> None:
        """Write the settings into ``spec`` (built by :func:`stdc.kit.ocispec.build_spec`)."""
        process = spec["process"]
        linux = spec["linux"]
        caps = self.capabilities(basics)
        user = process.get("user") or {}
        # docker since 20.10.14 (CVE-2022-24769): a non-root user starts with no effective or
        # permitted capabilities; the bounding set stays. Users given by name are resolved by
        # the executor, which applies the same rule.
        root = user.get("uid", 0) == 0 or "username" in user
        process["capabilities"] = {
            "bounding": list(caps),
            "effective": list(caps) if root else [],
            "permitted": list(caps) if root else [],
            "inheritable": [],
            "ambient": [],
        }
        nnp = self.no_new_privileges
        process["noNewPrivileges"] = (not self.privileged) if nnp is None else nnp
        if self.profile is not None:
            linux["seccomp"] = seccomp.to_oci(self.profile, set(caps))
        elif self.unconfined or self.privileged:
            linux.pop("seccomp", None)
        else:
            linux["seccomp"] = seccomp.to_oci(seccomp.default_profile(), set(caps))
        if self.privileged:
            # docker's --privileged: /proc, /sys and its cgroups as they are, writable, and every device
            linux["maskedPaths"] = []
            linux["readonlyPaths"] = []
            for mount in spec.get("mounts") or []:
                if mount.get("type") in ("sysfs", "cgroup"):
                    mount["options"] = [o for o in mount.get("options") or [] if o != "ro"]
            from stdc.kit import devices

            linux.setdefault("resources", {})["devices"] = [dict(r) for r in devices.ALLOW_ALL]
            known = {n.get("path") for n in linux.get("devices") or []}
            linux["devices"] = list(linux.get("devices") or []) + [
                n for n in devices.host_nodes() if n["path"] not in known
            ]
