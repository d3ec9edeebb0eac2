"""The ``build`` verb (:func:`~stdc.engine.build.builder.build`): Dockerfiles made into images,
every RUN a container of the selected storage driver and executor, every step a cached image.

:mod:`~stdc.engine.build.recipe` parses (PyPI ``dockerfile``, docker's Go parser),
:mod:`~stdc.engine.build.shellwords` expands words, :mod:`~stdc.engine.build.instructions` applies
the config-only instructions, :mod:`~stdc.engine.build.buildcontext` holds the context,
:mod:`~stdc.engine.build.copy_layer` and :mod:`~stdc.engine.build.file_steps` make COPY/ADD layers,
:mod:`~stdc.engine.build.run_step` runs RUN, :mod:`~stdc.engine.build.layer_cache` remembers steps,
:mod:`~stdc.engine.build.imagefiles` reads paths of an image's layers.
"""

from stdc.engine.build.builder import BuildEvent, BuildFailed, BuildOptions, build

__all__ = ["BuildEvent", "BuildFailed", "BuildOptions", "build"]
