"""User namespaces made from the outside, and idmapped mounts: part of the published API for
executors (both need the same; see :mod:`stdc.engine.userns` for where the ranges come from).

A :class:`UserNamespace` is created by a short-lived helper process (like crun and podman do) and
kept open by file descriptor: executors ``setns`` into it and idmap mounts with it.
:func:`idmapped_tree` turns a container's root filesystem mounts (as storage drivers describe
them) into one *detached* mount whose files, owned by ids 0-N on disk, appear owned by the
mapped host range: ``open_tree(OPEN_TREE_CLONE)`` + ``mount_setattr(MOUNT_ATTR_IDMAP)`` of a
bind source, and for overlayfs each layer directory idmapped that way and handed to
``fsconfig`` by descriptor (kernel 6.13+; older kernels, from 5.19, take idmapped layers only
by path: each is attached under a private directory of /run just long enough for the overlay to
take it), so the overlay itself is mounted by real root over idmapped layers. What a process of
the container writes lands on disk with the container's own ids (0 for its root): a diff or
commit of the writable layer needs no unshifting. Nothing of it stays attached to the host's
mount table; it goes away with its last descriptor.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import tempfile

from stdc.kit import syscalls

_libc = ctypes.CDLL(None, use_errno=True)

# x86_64 system call numbers of the new mount API
_SYS_open_tree = 428
_SYS_move_mount = 429
_SYS_fsopen = 430
_SYS_fsconfig = 431
_SYS_fsmount = 432
_SYS_mount_setattr = 442

OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
AT_RECURSIVE = 0x8000
AT_EMPTY_PATH = 0x1000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_IDMAP = 0x00100000
FSOPEN_CLOEXEC = 1
FSMOUNT_CLOEXEC = 1
FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_SET_FD = 5
FSCONFIG_CMD_CREATE = 6


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def _call(number: int, what: str, *args: object, path: str | None = None) -> int:
    result = _libc.syscall(number, *args)
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)
    return result


def open_tree(path: str, recursive: bool = True) -> int:
    """A detached copy of the mount (tree) at ``path``: a descriptor."""
    flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (AT_RECURSIVE if recursive else 0)
    return _call(_SYS_open_tree, "open_tree", ctypes.c_int(-100), path.encode(), ctypes.c_uint(flags), path=path)


def set_idmap(tree: int, userns_fd: int, recursive: bool = True) -> None:
    """Idmap the detached mount ``tree`` with the mapping of the user namespace ``userns_fd``."""
    attr = _MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
    flags = AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0)
    _call(
        _SYS_mount_setattr,
        "mount_setattr",
        ctypes.c_int(tree),
        b"",
        ctypes.c_uint(flags),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )


def move_mount(tree: int, target: str) -> None:
    """Attach the detached mount ``tree`` at ``target``."""
    _call(
        _SYS_move_mount,
        "move_mount",
        ctypes.c_int(tree),
        b"",
        ctypes.c_int(-100),
        target.encode(),
        ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH),
        path=target,
    )


def idmapped_dir(path: str, userns_fd: int) -> int:
    """``path`` as a detached, idmapped bind mount (a descriptor)."""
    tree = open_tree(path)
    try:
        set_idmap(tree, userns_fd)
    except BaseException:
        os.close(tree)
        raise
    return tree


def _set_fd(fs: int, key: str, fd: int, shown: str) -> None:
    _call(_SYS_fsconfig, f"fsconfig {key}", ctypes.c_int(fs), ctypes.c_uint(FSCONFIG_SET_FD), key.encode(), None,
          ctypes.c_int(fd), path=shown)  # fmt: skip


def _set(fs: int, cmd: int, key: str | None, value: str | None) -> None:
    _call(_SYS_fsconfig, f"fsconfig {key or 'create'}", ctypes.c_int(fs), ctypes.c_uint(cmd),
          key.encode() if key else None, value.encode() if value is not None else None, ctypes.c_int(0))  # fmt: skip


_SYS_capget = 125
_SYS_capset = 126
_SYS_setfsuid = 122
_SYS_setfsgid = 123


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _raise_effective() -> None:
    """Effective capabilities := permitted (a change of fsuid away from 0 drops the file ones)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (_CapData * 2)()
    _call(_SYS_capget, "capget", ctypes.byref(header), ctypes.byref(data))
    for d in data:
        d.effective = d.permitted
    _call(_SYS_capset, "capset", ctypes.byref(header), ctypes.byref(data))


class _MounterAs:
    """Real root with the file-system ids of the container's root (``host_uid``/``host_gid``)
    and every capability: overlayfs does its own work in the upper layer with its mounter's
    credentials, which must be mapped by the idmapped layers (root, 0, is not)."""

    def __init__(self, host_uid: int, host_gid: int) -> None:
        self.ids = host_uid, host_gid
        self.before = (0, 0)

    def __enter__(self) -> None:
        self.before = (_libc.syscall(_SYS_setfsuid, self.ids[0]), _libc.syscall(_SYS_setfsgid, self.ids[1]))
        _raise_effective()

    def __exit__(self, *exc: object) -> None:
        # back to 0: the kernel gives the file capabilities back
        _libc.syscall(_SYS_setfsuid, self.before[0])
        _libc.syscall(_SYS_setfsgid, self.before[1])
        _raise_effective()


def act_as(host_uid: int, host_gid: int) -> _MounterAs:
    """``with act_as(uid, gid):`` real root (every capability) whose files are created owned by
    ``uid``/``gid`` — the container's root — and who can create them on its idmapped mounts."""
    return _MounterAs(host_uid, host_gid)


def overlay_takes_descriptors() -> bool:
    """Whether this kernel's overlayfs takes its layers by descriptor (``lowerdir+``, 6.13+); if not,
    idmapped layers reach it by path (see :func:`idmapped_tree`)."""
    try:
        fs = _call(_SYS_fsopen, "fsopen overlay", b"overlay", ctypes.c_uint(FSOPEN_CLOEXEC))
    except OSError:
        return False
    directory = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _set_fd(fs, "lowerdir+", directory, "/")
        return True
    except OSError:
        return False
    finally:
        os.close(directory)
        os.close(fs)


def _overlay(
    options: list[str], flags: int, userns_fd: int, root_ids: tuple[int, int], by_path: bool | None = None
) -> int:
    """A detached overlayfs whose layers are idmapped mounts, handed over by descriptor, else by path.

    Each lower directory is an idmapped mount of its own; upper and work must share one mount
    (overlayfs insists), so their common parent is idmapped once and both opened beneath it.
    ``by_path``: None takes descriptors where the kernel can (:func:`overlay_takes_descriptors`),
    else paths; True or False forces one way.
    """
    if by_path is None:
        by_path = not overlay_takes_descriptors()
    with act_as(*root_ids):
        if by_path:
            return _overlay_at_paths(options, flags, userns_fd)
        return _overlay_as_mounter(options, flags, userns_fd)


def _overlay_at_paths(options: list[str], flags: int, userns_fd: int) -> int:
    """:func:`_overlay_as_mounter` for kernels before 6.13: every idmapped layer attached at a path of
    a private directory under /run, the overlay made from those paths, then every one detached again
    (the overlay keeps its own private clones of its layers)."""
    values = dict(o.partition("=")[::2] for o in options)
    upper, work = values.pop("upperdir", None), values.pop("workdir", None)
    staging = tempfile.mkdtemp(prefix="stdc-idmap-", dir="/run")
    attached: list[str] = []

    def attach(source: str, name: str) -> str:
        target = os.path.join(staging, name)
        os.mkdir(target, 0o700)
        tree = idmapped_dir(source, userns_fd)
        try:
            move_mount(tree, target)
        finally:
            os.close(tree)
        attached.append(target)
        return target

    fs = -1
    try:
        lowers = [attach(d, f"lower{i}") for i, d in enumerate(values.pop("lowerdir", "").split(":")) if d]
        fs = _call(_SYS_fsopen, "fsopen overlay", b"overlay", ctypes.c_uint(FSOPEN_CLOEXEC))
        _set(fs, FSCONFIG_SET_STRING, "lowerdir", ":".join(lowers))
        if upper and work:
            parent = os.path.dirname(upper)
            if os.path.dirname(work) != parent:
                raise OSError(errno.EOPNOTSUPP, "overlay upperdir and workdir in different directories", work)
            shared = attach(parent, "upper")
            _set(fs, FSCONFIG_SET_STRING, "upperdir", os.path.join(shared, os.path.basename(upper)))
            _set(fs, FSCONFIG_SET_STRING, "workdir", os.path.join(shared, os.path.basename(work)))
        for option in options:
            key, eq, value = option.partition("=")
            if key in values:
                _set(fs, FSCONFIG_SET_STRING if eq else FSCONFIG_SET_FLAG, key, value if eq else None)
        _set(fs, FSCONFIG_CMD_CREATE, None, None)
        return _call(_SYS_fsmount, "fsmount", ctypes.c_int(fs), ctypes.c_uint(FSMOUNT_CLOEXEC), ctypes.c_uint(flags))
    finally:
        if fs >= 0:
            os.close(fs)
        for target in reversed(attached):
            syscalls.umount(target, syscalls.MNT_DETACH)
            os.rmdir(target)
        os.rmdir(staging)


def _overlay_as_mounter(options: list[str], flags: int, userns_fd: int) -> int:
    fs = _call(_SYS_fsopen, "fsopen overlay", b"overlay", ctypes.c_uint(FSOPEN_CLOEXEC))
    opened: list[int] = []
    try:
        values = dict(o.partition("=")[::2] for o in options)
        upper, work = values.pop("upperdir", None), values.pop("workdir", None)
        for d in values.pop("lowerdir", "").split(":"):
            if d:
                opened.append(idmapped_dir(d, userns_fd))
                _set_fd(fs, "lowerdir+", opened[-1], d)
        if upper and work:
            parent = os.path.dirname(upper)
            if os.path.dirname(work) != parent:
                raise OSError(errno.EOPNOTSUPP, "overlay upperdir and workdir in different directories", work)
            shared = idmapped_dir(parent, userns_fd)
            opened.append(shared)
            for key, d in (("upperdir", upper), ("workdir", work)):
                opened.append(os.open(os.path.basename(d), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=shared))
                _set_fd(fs, key, opened[-1], d)
        for option in options:
            key, eq, value = option.partition("=")
            if key in values:
                _set(fs, FSCONFIG_SET_STRING if eq else FSCONFIG_SET_FLAG, key, value if eq else None)
        _set(fs, FSCONFIG_CMD_CREATE, None, None)
        return _call(_SYS_fsmount, "fsmount", ctypes.c_int(fs), ctypes.c_uint(FSMOUNT_CLOEXEC), ctypes.c_uint(flags))
    finally:
        for fd in opened:
            os.close(fd)
        os.close(fs)


_MOUNT_ATTR = {"ro": 0x1, "nosuid": 0x2, "nodev": 0x4, "noexec": 0x8, "noatime": 0x10}


def idmapped_tree(mounts: list, userns_fd: int, root_ids: tuple[int, int], by_path: bool | None = None) -> int:
    """The root filesystem described by ``mounts`` (:class:`stdc.kit.mounts.Mount`) as one detached
    mount, idmapped with ``userns_fd``; a descriptor for :func:`move_mount`. ``root_ids`` are
    the host uid and gid the container's root is mapped to.

    Works for what storage drivers return as one mount: a bind of a directory, or an overlay
    (whose layers are idmapped one by one). Raises :class:`OSError` (EOPNOTSUPP) for anything
    else, e.g. a filesystem that cannot be idmapped, or a mount built in several calls.
    ``by_path``: how an overlay gets its idmapped layers (see :func:`_overlay`); None chooses.
    """
    if len(mounts) != 1:
        raise OSError(errno.EOPNOTSUPP, f"{len(mounts)} mounts for one root filesystem cannot be idmapped")
    m = mounts[0]
    if m.type == "bind" or "bind" in m.options or "rbind" in m.options:
        return idmapped_dir(m.source, userns_fd)
    if m.type == "overlay":
        attrs = 0
        rest = []
        for option in m.options:
            if option in _MOUNT_ATTR:
                attrs |= _MOUNT_ATTR[option]
            elif option != "rw":
                rest.append(option)
        return _overlay(rest, attrs, userns_fd, root_ids, by_path)
    raise OSError(errno.EOPNOTSUPP, f"a {m.type} mount cannot be idmapped")


class UserNamespace:
    """A user namespace with the given mappings, made and held by a helper process.

    ``uid_mappings``/``gid_mappings`` are the OCI spec's linux.uidMappings/gidMappings
    (``{"containerID", "hostID", "size"}``). ``also`` are clone flags of further namespaces the
    helper creates *owned by* the user namespace (network, uts, ipc): the container's init,
    still real root, joins them with setns, and the user namespace last. :meth:`path` names the
    helper's namespace files, valid until :meth:`close` lets the helper go; :attr:`fd` is the
    user namespace, for :func:`set_idmap`.
    """

    def __init__(self, uid_mappings: list[dict], gid_mappings: list[dict], also: int = 0) -> None:
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        hold_r, hold_w = os.pipe2(os.O_CLOEXEC)
        helper = os.fork()
        if helper == 0:  # pragma: no cover - the helper: unshare, tell, wait to be let go
            code = 0
            try:
                os.close(ready_r)
                os.close(hold_w)
                syscalls.unshare(syscalls.CLONE_NEWUSER | also)
                os.write(ready_w, b"1")
                os.read(hold_r, 1)
            except BaseException:  # noqa: BLE001 - the parent sees the pipe close empty
                code = 1
            os._exit(code)
        os.close(ready_w)
        os.close(hold_r)
        self.helper: int | None = helper
        self._hold = hold_w
        self.fd = -1
        try:
            if os.read(ready_r, 1) != b"1":
                raise OSError("the user namespace helper could not unshare")
            _write_map(f"/proc/{helper}/uid_map", uid_mappings)
            _write_map(f"/proc/{helper}/gid_map", gid_mappings)
            self.fd = os.open(f"/proc/{helper}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        except BaseException:
            os.kill(helper, signal.SIGKILL)
            self.close()
            raise
        finally:
            os.close(ready_r)

    def path(self, kind: str) -> str:
        """The helper's namespace file of ``kind`` (``user``, ``net``, ``uts``, ``ipc``)."""
        return f"/proc/{self.helper}/ns/{kind}"

    def close(self) -> None:
        """Let the helper go and reap it; the namespaces live on while anything uses them."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.helper is not None:
            os.close(self._hold)
            os.waitpid(self.helper, 0)
            self.helper = None

    def __enter__(self) -> UserNamespace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_map(path: str, mappings: list[dict]) -> None:
    text = "".join(f"{int(m['containerID'])} {int(m['hostID'])} {int(m['size'])}\n" for m in mappings)
    with open(path, "w") as f:
        f.write(text)


def from_spec(spec: dict) -> tuple[list[dict], list[dict]] | None:
    """The spec's (uidMappings, gidMappings) when it asks for a new user namespace, else None."""
    linux = spec.get("linux") or {}
    if not any(ns.get("type") == "user" and not ns.get("path") for ns in linux.get("namespaces") or []):
        return None
    uids, gids = linux.get("uidMappings") or [], linux.get("gidMappings") or []
    if not uids or not gids:
        from stdc.errors import StdcError

        raise StdcError("a new user namespace needs linux.uidMappings and linux.gidMappings")
    return uids, gids


def host_id(mappings: list[dict], container_id: int = 0) -> int:
    """The host id that ``container_id`` is mapped to (raises StdcError when it is not)."""
    for m in mappings:
        start, size = int(m["containerID"]), int(m["size"])
        if start <= container_id < start + size:
            return int(m["hostID"]) + container_id - start
    from stdc.errors import StdcError

    raise StdcError(f"id {container_id} is not mapped by the user namespace")
