"""A container's security settings: capabilities, seccomp, no_new_privs, ``--privileged``.

:mod:`stdc.security.settings` turns ``--cap-add``, ``--cap-drop``, ``--privileged`` and
``--security-opt`` into the OCI spec (``process.capabilities``, ``process.noNewPrivileges``,
``linux.seccomp``, masked and read-only paths), following docker; :mod:`stdc.security.seccomp`
resolves seccomp profiles written in docker's format into the spec's form.
"""
