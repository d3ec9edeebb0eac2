"""The backend kit: everything stdc publishes for storage drivers, executors, network providers
and registry backends to share, so that no backend carries a copy of another's logic.

A backend may import :mod:`stdc.specs` (the contracts and ``hookimpl``), :mod:`stdc.errors`,
:mod:`stdc.testing` (the conformance suites) and the modules listed in :data:`PUBLISHED` —
nothing else of ``stdc``: the engine, the CLI and the image store change without notice.
``tests/test_unit_import_direction.py`` holds every plugin and the vfs example to it.

Nothing is imported here: import the module you need (``from stdc.kit import syscalls``), so a
backend pays only for what it uses.
"""

#: module name -> what it is for (the plugin author's guide lists the same)
PUBLISHED: dict[str, str] = {
    "syscalls": "Linux system calls the standard library lacks: mount, umount, unshare, setns, pivot_root, ...",
    "mounts": "Mount descriptions as storage drivers return them, and performing them in order",
    "child": "The first steps of a container's init in a forked child, and its report pipe",
    "console": "The payload's terminal from the container's devpts, its master sent over the console socket",
    "cprograms": "The C programs stdc ships as source, built on first use: the monitor, the terminal init",
    "cgroups": "A container's cgroups read, frozen and removed: usage, processes, freeze, OOM kills, removal",
    "cgroupsettings": "The spec's linux.resources as cgroup v1 or v2 settings (controller, file, value)",
    "cgrouphooks": "exec_stats, _processes, _pause, _update, _orphans for any executor using the spec's cgroup",
    "deferredhooks": "Hookimpls made from the hookspec that import their implementation on first call",
    "devices": "Device control rules: which nodes a container may create and open",
    "idmap": "User namespaces made from the outside, and idmapped mounts",
    "rootpath": "The container's root (root.path, checked), and mount destinations resolved inside it",
    "workdir": "The payload's working directory, never leading out of the container",
    "users": "The payload's user, resolved from the image's own /etc/passwd and /etc/group",
    "dirs": "Directory chores: private directories, removal that survives busy mounts",
    "layerstore": "A storage driver's layers and snapshots as directories: staged, renamed in, walked, removed",
    "netns": "The container's network namespace, and binding its published ports",
    "ocispec": "The OCI runtime spec the core hands every executor: defaults, process, cgroup path",
    "capabilities": "Capability names and numbers (linux/capability.h)",
    "seccomprules": "Seccomp actions and comparisons of the OCI spec, as libseccomp and LXC name them",
    "imagespec": "OCI image-spec vocabulary: media types, Image, layer descriptors, chain ids, platforms",
    "references": "Image references as users write them, parsed and qualified docker's way",
    "privatens": "Work in a throwaway private mount namespace whose mounts never reach the host",
    "processes": "Processes named by pid and start time, never mistaken for a recycled pid",
}
