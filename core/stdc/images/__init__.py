"""Images: the content store (an OCI image layout), references, and the layer tar format.

Modules, each with one job (import the one you need; nothing is imported here, to keep the
CLI's start fast):

- :mod:`~stdc.kit.references` — parse ``name[:tag][@digest]`` references.
- :mod:`~stdc.kit.imagespec` — media types, :class:`~stdc.kit.imagespec.Image`, layer descriptors, chain ids.
- :mod:`~stdc.images.store` — :class:`~stdc.images.store.ImageStore`: blobs, tags, garbage collection.
- :mod:`~stdc.images.compression` / :mod:`~stdc.images.tarstream` — reading layer streams strictly.
- :mod:`~stdc.images.safepath` — resolving untrusted paths inside a root.
- :mod:`~stdc.images.layers` — extracting a layer for a storage driver, with its whiteout format.
- :mod:`~stdc.images.layerwriter` — writing layer tars (commit, export, cp), whiteouts converted.
- :mod:`~stdc.images.archive` — ``save``/``load``: OCI and docker archives, OCI layout directories.
- :mod:`~stdc.images.config_changes` — ``--change`` instructions.
- :mod:`~stdc.images.importer` — ``stdc import``: a tarball becomes a one-layer image.
- :mod:`~stdc.images.base` — the built-in ``base`` image, from the host's busybox.
"""
