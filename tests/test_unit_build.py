"""The pure parts of `stdc build`: word expansion, .dockerignore rules, the Dockerfile's stages,
the config-only instructions."""

from __future__ import annotations

import dockerfile
import pytest
from stdc.engine.build import instructions, recipe
from stdc.engine.build.buildcontext import IgnoreRules, check_relative
from stdc.engine.build.shellwords import expand
from stdc.errors import BadInput


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("$A", "1"),
        ("${A}x", "1x"),
        ("'$A'", "$A"),
        ('"$A b"', "1 b"),
        ("\\$A", "$A"),
        ("${UNSET:-d}", "d"),
        ("${A:-d}", "1"),
        ("${A:+set}", "set"),
        ("${UNSET:+set}", ""),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("a$", "a$"),
        ("$UNSET", ""),
    ],
)
def test_expand(word, expected):
    assert expand(word, {"A": "1", "EMPTY": ""}) == expected


def test_expand_with_backtick_escape():
    assert expand("`$A", {"A": "1"}, escape="`") == "$A"


@pytest.mark.parametrize("word", ["'open", '"open', "${A", "${}"])
def test_expand_refuses_malformed_words(word):
    with pytest.raises(BadInput):
        expand(word, {})


def test_dockerignore_patterns_and_exceptions():
    rules = IgnoreRules("# comment\n*.log\n!keep.log\nbuild/\n**/*.tmp\n/secret\nsub/*/x\n")
    assert rules.ignored("a.log") and not rules.ignored("keep.log")
    assert rules.ignored("build") and rules.ignored("build/out/file")
    assert rules.ignored("deep/er/f.tmp") and rules.ignored("f.tmp")
    assert rules.ignored("secret") and not rules.ignored("other/secret")
    assert rules.ignored("sub/a/x") and not rules.ignored("sub/x")
    assert not rules.ignored("src/main.c")


def test_dockerignore_bad_pattern_is_an_error():
    with pytest.raises(BadInput, match="dockerignore"):
        IgnoreRules("[abc\n")


@pytest.mark.parametrize("path", ["../x", "a/../../x", ".."])
def test_sources_leading_out_are_refused(path):
    with pytest.raises(BadInput, match="outside the build context"):
        check_relative(path)


def test_absolute_sources_are_relative_to_the_context():
    assert check_relative("/etc/passwd") == "etc/passwd"
    assert check_relative("a/./b/../c") == "a/c"


def test_recipe_stages_meta_args_and_target():
    text = "# escape=`\nARG V=1\nFROM base AS one\nRUN true\nFROM one\nCOPY --from=one /a /b\nFROM scratch AS last\n"
    plan = recipe.parse(text)
    assert plan.escape == "`"
    assert [a.original for a in plan.meta_args] == ["ARG V=1"]
    assert [(s.base, s.name) for s in plan.stages] == [("base", "one"), ("one", None), ("scratch", "last")]
    assert plan.steps() == 5
    assert [s.index for s in recipe.parse(text, target="one").stages] == [0]
    with pytest.raises(BadInput, match="target stage"):
        recipe.parse(text, target="nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RUN true\n", "before the first FROM"),
        ("FROM base\nFROBNICATE x\n", "unknown instruction"),
        ("# nothing\n", "no instructions"),
        ("ARG A=1\n", "no FROM"),
        ("FROM base AS Bad!\n", "invalid stage name"),
    ],
)
def test_recipe_refusals(text, message):
    with pytest.raises(BadInput, match=message):
        recipe.parse(text)


def _apply(line: str, config: dict, state: dict | None = None) -> str:
    (command,) = dockerfile.parse_string(line + "\n")
    return instructions.apply(command, config, lambda w: expand(w, {"X": "8080"}), state if state is not None else {})


def test_config_instructions():
    config: dict = {"Env": ["PATH=/bin"], "Cmd": ["sh"]}
    _apply('ENV A=1 B="two words"', config)
    _apply("ENV C 3", config)
    assert config["Env"] == ["PATH=/bin", "A=1", "B=two words", "C=3"]
    _apply('LABEL a=b "c d"=e', config)
    assert config["Labels"] == {"a": "b", "c d": "e"}
    _apply("EXPOSE $X 53/udp 7000-7001", config)
    assert set(config["ExposedPorts"]) == {"8080/tcp", "53/udp", "7000/tcp", "7001/tcp"}
    _apply('VOLUME ["/data", "/logs"]', config)
    assert set(config["Volumes"]) == {"/data", "/logs"}
    _apply("WORKDIR /app", config)
    _apply("WORKDIR sub", config)
    assert config["WorkingDir"] == "/app/sub"
    _apply("USER 1000:1000", config)
    assert config["User"] == "1000:1000"
    _apply("STOPSIGNAL SIGQUIT", config)
    assert config["StopSignal"] == "SIGQUIT"
    _apply('SHELL ["/bin/ash", "-eo"]', config)
    state: dict = {}
    _apply("ENTRYPOINT run me", config, state)
    assert config["Entrypoint"] == ["/bin/ash", "-eo", "run me"] and config["Cmd"] is None
    _apply('CMD ["x"]', config, state)
    _apply('ENTRYPOINT ["e"]', config, state)
    assert config["Cmd"] == ["x"]  # a CMD of this stage stays
    _apply("ONBUILD RUN echo hi", config)
    assert config["OnBuild"] == ["RUN echo hi"]


def test_healthcheck():
    config: dict = {}
    _apply("HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD wget -q localhost", config)
    assert config["Healthcheck"] == {
        "Test": ["CMD-SHELL", "wget -q localhost"],
        "Interval": 90 * 10**9,
        "Timeout": 500 * 10**6,
        "Retries": 3,
    }
    _apply("HEALTHCHECK NONE", config)
    assert config["Healthcheck"] == {"Test": ["NONE"]}
    with pytest.raises(BadInput):
        _apply("HEALTHCHECK --interval=soon CMD true", config)


@pytest.mark.parametrize("line", ["ONBUILD FROM x", "ONBUILD ONBUILD RUN x", "SHELL sh -c"])
def test_refused_config_instructions(line):
    with pytest.raises(BadInput):
        _apply(line, {})
