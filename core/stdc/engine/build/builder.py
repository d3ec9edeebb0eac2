"""The ``build`` verb: a Dockerfile and its context made into an image, step by step.

Each instruction is a step whose result is an image of the store (an untagged build-cache image,
:mod:`~stdc.engine.build.layer_cache`): RUN a container's changes (:mod:`~stdc.engine.build.run_step`),
COPY/ADD a layer written from the sources (:mod:`~stdc.engine.build.file_steps`), every other
instruction a new config over the same layers (``empty_layer`` in its history). A step whose key
the cache knows is not made again. The tags are set only once every step has succeeded, so a
failed or interrupted build leaves no half-tagged image, and no container (a RUN's container is
removed whatever happens). Nothing is printed: ``progress`` receives :class:`BuildEvent`\\ s.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from stdc.engine.build import instructions, layer_cache, recipe, shellwords
from stdc.engine.build.buildcontext import BuildContext
from stdc.errors import BadInput, StdcError

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.kit.imagespec import Image

#: build args every Dockerfile may use without declaring them; kept out of history and cache keys
PROXY_ARGS = {
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
}  # fmt: skip
MAX_DOCKERFILE = recipe.MAX_DOCKERFILE


@dataclass
class BuildOptions:
    """What ``stdc build`` / ``POST /build`` asks for. The context is a directory or a tar stream;
    the Dockerfile a path inside it (default ``Dockerfile``) or its text (``-f`` outside it)."""

    context_dir: str | None = None
    context_tar: IO[bytes] | None = None
    dockerfile: str | None = None
    dockerfile_text: str | None = None
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    network: str | None = None
    platform: str | None = None


@dataclass
class BuildEvent:
    """One thing to show: ``step`` (``Step N/M : ...``), ``trigger``, ``running`` (a RUN's
    container id), ``output`` (``data`` on ``stream`` 1 or 2), ``cache`` (Using cache), ``done``
    (a step's image id), ``warning``, ``built`` (the final image id), ``tagged``."""

    kind: str
    text: str = ""
    data: bytes = b""
    stream: int = 1


Progress = Callable[[BuildEvent], None]


class BuildFailed(StdcError):
    """A step that failed: which step, its command, its exit code. ``stdc build`` exits 1."""

    exit_code = 1


def build(engine: Engine, opts: BuildOptions, progress: Progress) -> Image:
    """Build the image ``opts`` describes; tag it; return it."""
    import os

    from stdc.engine.build import buildcontext
    from stdc.kit import references

    for tag in opts.tags:
        if references.parse(tag).digest is not None:
            raise BadInput(f"invalid tag {tag!r}: a tag cannot name a digest")
    if opts.context_tar is not None:
        ctx = buildcontext.from_tar(opts.context_tar, os.path.join(engine.root, "tmp"))
    elif opts.context_dir is not None:
        if not os.path.isdir(opts.context_dir):
            raise BadInput(f"the build context {opts.context_dir!r} is not a directory")
        ctx = BuildContext(opts.context_dir)
    else:
        raise BadInput("no build context given")
    with ctx:
        text = opts.dockerfile_text
        if text is None:
            name = opts.dockerfile or "Dockerfile"
            text = ctx.read_text(name, MAX_DOCKERFILE)
            if text is None:
                raise BadInput(f"Cannot locate specified Dockerfile: {name}")
        plan = recipe.parse(text, opts.target)
        return _Builder(engine, opts, ctx, plan, progress).run()


class _Builder:
    def __init__(self, engine: Engine, opts: BuildOptions, ctx: BuildContext, plan: recipe.Recipe, progress: Progress):
        self.engine, self.opts, self.ctx, self.plan, self.progress = engine, opts, ctx, plan, progress
        self.step = 0
        self.total = plan.steps()
        self.meta: dict[str, str | None] = {}
        self.consumed: set[str] = set()
        self.stages: dict[str, Image] = {}
        # the stage being built
        self.image: Image | None = None
        self.config: dict[str, Any] = {}
        self.args: dict[str, str | None] = {}
        self.state: dict[str, Any] = {}
        self.known = layer_cache.file_digests(engine)
        self.known_count = len(self.known)

    # -- the whole build ------------------------------------------------------------------------

    def run(self) -> Image:
        for command in self.plan.meta_args:
            for name, value in self._declared(command, {}):
                self.meta[name] = value
        for stage in self.plan.stages:
            self._stage(stage)
        if len(self.known) != self.known_count:
            layer_cache.save_file_digests(self.engine, self.known)
        assert self.image is not None
        final = self._labelled(self.image)
        unused = sorted(set(self.opts.build_args) - self.consumed - PROXY_ARGS)
        if unused:
            self.progress(BuildEvent("warning", f"One or more build-args [{' '.join(unused)}] were not consumed"))
        self.progress(BuildEvent("built", final.id))
        from stdc.engine import images

        for tag in self.opts.tags:
            images.tag(self.engine, final.manifest_digest, tag)
            self.progress(BuildEvent("tagged", tag))
        tags = ",".join(self.opts.tags)
        self.engine.emit("stdc_image_added", reference=tags, digest=final.manifest_digest, how="build")
        return final

    def _stage(self, stage: recipe.Stage) -> None:
        self._announce(stage.line.original)
        word = shellwords.expand(stage.base, {k: v for k, v in self.meta.items() if v is not None}, self.plan.escape)
        base = self._base(word, stage.platform)
        self.image, self.config = base, copy.deepcopy(base.config)
        self.args, self.state = {}, {}
        self.progress(BuildEvent("done", _short(base.id)))
        triggers = list((self.config.get("config") or {}).get("OnBuild") or [])
        if triggers:
            import dockerfile

            self.config.setdefault("config", {})["OnBuild"] = None
            self.progress(BuildEvent("trigger", f"Executing {len(triggers)} build trigger{'s' * (len(triggers) > 1)}"))
            for trigger in triggers:
                for command in dockerfile.parse_string(trigger + "\n"):
                    self._instruction(command)
        for command in stage.commands:
            self._announce(command.original)
            self._instruction(command)
        self.stages[str(stage.index)] = self.image
        if stage.name:
            self.stages[stage.name] = self.image

    def _announce(self, original: str) -> None:
        self.step += 1
        self.progress(BuildEvent("step", f"Step {self.step}/{self.total} : {original.strip()}"))

    def _base(self, word: str, platform: str | None) -> Image:
        from stdc.engine import images

        if word.lower() in self.stages:
            return self.stages[word.lower()]
        if word == "scratch":
            from stdc.kit.imagespec import host_platform

            config = {**host_platform(), "config": {}, "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
            return self.engine.store.add_image(None, config, [], build_cache=True)
        if self.opts.pull:
            return images.pull(self.engine, word, platform=platform or self.opts.platform)
        return images.resolve(self.engine, word)

    def _labelled(self, image: Image) -> Image:
        if not self.opts.labels:
            return image
        config = copy.deepcopy(image.config)
        inner = config.setdefault("config", {})
        inner["Labels"] = {**(inner.get("Labels") or {}), **self.opts.labels}
        return self.engine.store.add_image(None, config, list(image.layers))

    # -- one instruction ------------------------------------------------------------------------

    def variables(self) -> dict[str, str]:
        """What ``$NAME`` means now: the stage's ARGs, its ENV over them."""
        values = {k: v for k, v in self.args.items() if v is not None}
        values.update(instructions.env_map(self.config.get("config") or {}))
        return values

    def expand(self, word: str) -> str:
        """``word`` expanded with :meth:`variables`."""
        return shellwords.expand(word, self.variables(), self.plan.escape)

    def _instruction(self, command: Any) -> None:
        name = command.cmd.upper()
        if name == "ARG":
            declared = self._declared(command, self.meta)
            self.args.update(declared)
            # as written: the values reach the history and the cache keys of the RUNs that see them
            self._config_step("ARG " + " ".join(command.value), self.config)
        elif name == "RUN":
            self._run(command)
        elif name in ("COPY", "ADD"):
            self._copy(command)
        else:
            config = copy.deepcopy(self.config)
            text = instructions.apply(command, config.setdefault("config", {}), self.expand, self.state)
            if "author" in self.state:
                config["author"] = self.state["author"]
            self._config_step(text, config)

    def _declared(self, command: Any, meta: dict[str, str | None]) -> list[tuple[str, str | None]]:
        found = []
        for word in command.value:
            name, has_default, default = word.partition("=")
            if not name:
                raise BadInput(f"Dockerfile line {command.start_line}: ARG needs a name")
            if name in self.opts.build_args:
                value: str | None = self.opts.build_args[name]
            elif has_default:
                value = shellwords.expand(default, {**{k: v for k, v in meta.items() if v}, **self.variables()})
            else:
                value = meta.get(name)
            self.consumed.add(name)
            found.append((name, value))
        return found

    def _config_step(self, text: str, config: dict[str, Any]) -> None:
        created_by = f"/bin/sh -c #(nop) {text}"
        self._commit(created_by, "", config, None)

    def _run(self, command: Any) -> None:
        from stdc.engine.build import run_step

        if command.flags:
            flag = command.flags[0]
            raise BadInput(f"Dockerfile line {command.start_line}: RUN {flag} needs BuildKit; not supported")
        inner = self.config.get("config") or {}
        shell = list(inner.get("Shell") or instructions.DEFAULT_SHELL)
        heredoc = command.heredocs[0] if command.heredocs else None
        if heredoc is not None and " ".join(command.value).strip() in (f"<<{heredoc.name}", f"<<-{heredoc.name}"):
            argv = [*shell, heredoc.content]
        elif heredoc is not None and not command.json:
            argv = [*shell, command.original.split(None, 1)[1]]
        else:
            argv = instructions.command_form(command, shell)
        if not argv:
            raise BadInput(f"Dockerfile line {command.start_line}: RUN needs a command")
        env = instructions.env_map(inner)
        used = [(k, v) for k, v in self.args.items() if v is not None and k not in env]
        proxies = [(k, v) for k, v in self.opts.build_args.items() if k in PROXY_ARGS and k not in self.args]
        self.consumed.update(k for k, _v in proxies)
        shown = [(k, v) for k, v in used if k not in PROXY_ARGS]
        created_by = " ".join(argv)
        if shown:
            created_by = f"|{len(shown)} " + " ".join(f"{k}={v}" for k, v in shown) + " " + created_by
        image = self.image
        assert image is not None

        def make() -> tuple[str, int, str]:
            try:
                return run_step.run(
                    self.engine,
                    image.manifest_digest,
                    argv,
                    [f"{k}={v}" for k, v in used + proxies],
                    None,
                    None,
                    self.opts.network,
                    lambda stream, data: self.progress(BuildEvent("output", data=data, stream=stream)),
                    lambda cid: self.progress(BuildEvent("running", _short(cid))),
                )
            except run_step.StepFailed as e:
                raise BuildFailed(
                    f"Step {self.step}/{self.total} : {command.original.strip()}: "
                    f"The command '{' '.join(argv)}' returned a non-zero code: {e.exit_code}"
                ) from None

        self._commit(created_by, "", copy.deepcopy(self.config), make)

    def _copy(self, command: Any) -> None:
        from stdc.engine.build import file_steps

        image = self.image
        assert image is not None
        source = None
        flags = recipe.flag_values(command)
        if "from" in flags:
            source = self._base(self.expand(flags["from"]), None)
        workdir = (self.config.get("config") or {}).get("WorkingDir") or "/"
        step = file_steps.prepare(self.engine, self.ctx, command, self.expand, image, workdir, source, self.known)
        try:
            self._commit(f"/bin/sh -c #(nop) {step.description}", step.content, copy.deepcopy(self.config), step.write)
        finally:
            step.close()

    def _commit(self, created_by: str, content: str, config: dict[str, Any], make: Any) -> None:
        """The step's image: from the cache, else made (``make`` writes its layer, if it has one)."""
        from stdc.engine.changes import image_history
        from stdc.kit import imagespec

        parent = self.image
        assert parent is not None
        key = layer_cache.key(parent.id, created_by, content)
        hit = None if self.opts.no_cache else layer_cache.lookup(self.engine, key)
        if hit is not None:
            self.progress(BuildEvent("cache"))
            self.image, self.config = hit, copy.deepcopy(hit.config)
            self.progress(BuildEvent("done", _short(hit.id)))
            return
        store = self.engine.store
        with store.ingesting():
            layers = list(parent.layers)
            entry: dict[str, Any] = {"created": imagespec.now(), "created_by": created_by}
            if make is not None:
                digest, size, diff_id = make()
                layers.append(imagespec.LayerDesc(digest, imagespec.LAYER_TAR, size, diff_id))
            else:
                entry["empty_layer"] = True
            config = {k: v for k, v in config.items() if k != "rootfs"}
            config["created"] = entry["created"]
            config["history"] = [*image_history(parent), entry]
            image = store.add_image(None, config, layers, build_cache=True)
        layer_cache.remember(self.engine, key, image)
        self.image, self.config = image, copy.deepcopy(image.config)
        self.progress(BuildEvent("done", _short(image.id)))


def _short(image_id: str) -> str:
    return image_id.split(":")[-1][:12]
