"""The pure parts of run/create's configuration flags (stdc.engine.run_config, stdc.durations,
HEALTHCHECK in --change): no root, no container."""

from __future__ import annotations

import pytest
from stdc.durations import parse_duration
from stdc.engine import run_config
from stdc.engine.options import RunOptions
from stdc.errors import BadInput
from stdc.images.config_changes import apply_changes


@pytest.mark.parametrize(
    ("text", "ns"),
    [("0", 0), ("30s", 30 * 10**9), ("1m30s", 90 * 10**9), ("500ms", 5 * 10**8), ("1.5h", 5400 * 10**9),
     ("2us", 2000), ("3µs", 3000), ("7ns", 7), (".5s", 5 * 10**8)],
)  # fmt: skip
def test_go_durations(text, ns):
    assert parse_duration(text, "--x") == ns


@pytest.mark.parametrize("text", ["", "10", "s", "1x", "-1s", "1s2", "1 s"])
def test_bad_go_durations(text):
    with pytest.raises(BadInput):
        parse_duration(text, "--x")


def test_env_file_format(tmp_path, monkeypatch):
    f = tmp_path / "env"
    f.write_text("# comment\n\n  A=1\nB=x=y\nHOSTVAR\nMISSING\nE=\n")
    monkeypatch.setenv("HOSTVAR", "h")
    monkeypatch.delenv("MISSING", raising=False)
    assert run_config.env_from_files([str(f)]) == ["A=1", "B=x=y", "HOSTVAR=h", "E="]
    f.write_text("BAD KEY=1\n")
    with pytest.raises(BadInput, match="whitespaces"):
        run_config.env_from_files([str(f)])


def test_labels_image_then_files_then_flags(tmp_path):
    f = tmp_path / "labels"
    f.write_text("a=file\nb\n")
    assert run_config.labels({"a": "image", "c": "image"}, [str(f)], ["a=flag", "d"]) == {
        "a": "flag",
        "b": "",
        "c": "image",
        "d": "",
    }


def test_healthcheck_merges_the_image_and_refuses_conflicts():
    image = {"Test": ["CMD", "check"], "Interval": 5 * 10**9, "Retries": 2}
    merged = run_config.healthcheck(RunOptions(image="x", health_timeout="3s"), image)
    assert merged == {**image, "Timeout": 3 * 10**9}
    own = run_config.healthcheck(RunOptions(image="x", health_cmd="true", health_retries=4), image)
    assert own["Test"] == ["CMD-SHELL", "true"] and own["Retries"] == 4 and own["Interval"] == 5 * 10**9
    assert run_config.healthcheck(RunOptions(image="x"), None) is None
    assert run_config.healthcheck(RunOptions(image="x", no_healthcheck=True), image) == {"Test": ["NONE"]}
    with pytest.raises(BadInput, match="conflicts"):
        run_config.healthcheck(RunOptions(image="x", no_healthcheck=True, health_retries=1), None)
    timing = run_config.health_timing({"Test": ["CMD", "x"], "Interval": 10**9})
    assert timing == {"Interval": 10**9, "Timeout": 30 * 10**9, "StartPeriod": 0, "StartInterval": 5 * 10**9,
                      "Retries": 3}  # fmt: skip


def test_names_hosts_and_links():
    assert run_config.container_name("/web") == "web"
    assert run_config.container_name("a.b_c-1") == "a.b_c-1"
    for bad in ("a", "_x", "x y", "x/y", "/"):
        with pytest.raises(BadInput):
            run_config.container_name(bad)
    assert run_config.extra_hosts(["a:1.2.3.4", "b=::1", "c:[fe80::1]", "gw:host-gateway"]) == [
        "a:1.2.3.4",
        "b:::1",
        "c:fe80::1",
        "gw:host-gateway",
    ]
    assert run_config.links(["/db", "db:alias"]) == ["db:db", "db:alias"]


def test_log_config_and_rotation():
    assert run_config.log_config(None, []) == {"Type": "json-file", "Config": {}}
    log = run_config.log_config("local", ["max-size=10m", "max-file=3"])
    assert run_config.rotation(log) == (10 * 1024 * 1024, 3)
    assert run_config.rotation(run_config.log_config(None, ["max-size=1k"])) == (1024, 1)
    assert run_config.rotation(run_config.log_config("none", [])) is None


def test_platform_is_the_hosts():
    host = run_config.host_platform()
    assert run_config.check_platform(host) == host
    assert run_config.check_platform("linux") == "linux"
    with pytest.raises(BadInput):
        run_config.check_platform("linux/" + ("s390x" if host != "linux/s390x" else "amd64"))


def test_attach_streams():
    assert run_config.attach_streams([], detach=False) == ["stdout", "stderr"]
    assert run_config.attach_streams([], detach=False, interactive=True) == ["stdin", "stdout", "stderr"]
    assert run_config.attach_streams(["STDERR"], detach=False) == ["stderr"]
    with pytest.raises(BadInput, match="Conflicting"):
        run_config.attach_streams(["stdout"], detach=True)


def test_healthcheck_instruction_in_changes():
    changed = apply_changes({}, ["HEALTHCHECK --interval=5s --retries=2 CMD curl -f http://localhost/"])
    assert changed["Healthcheck"] == {"Test": ["CMD-SHELL", "curl -f http://localhost/"], "Interval": 5 * 10**9,
                                      "Retries": 2}  # fmt: skip
    assert apply_changes({}, ['HEALTHCHECK CMD ["true", "x"]'])["Healthcheck"] == {"Test": ["CMD", "true", "x"]}
    assert apply_changes({}, ["HEALTHCHECK NONE"])["Healthcheck"] == {"Test": ["NONE"]}
    for bad in ("HEALTHCHECK --bogus=1 CMD x", "HEALTHCHECK RUN x", "HEALTHCHECK --interval=zz CMD x"):
        with pytest.raises(BadInput):
            apply_changes({}, [bad])
