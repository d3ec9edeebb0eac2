"""The warm daemon, a front end: the hand-over protocol's client (:mod:`stdc.daemon.client`,
the ``stdc`` entry point, built-in modules only) and server (:mod:`stdc.daemon.server`, the
zygote that runs the CLI's commands). Nothing is imported here: the client runs on every
invocation."""
