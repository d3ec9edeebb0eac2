"""The configuration flags of ``run``/``create`` (issue 17 §2), end to end through the CLI on real
containers: env and label files, annotations, health checks (the monitor runs them with no stdc
command alive), /etc/hosts and resolv.conf, the domain name, stop signal and timeout, cidfile,
platform, pulls, addresses on a user network, logging with rotation, -a, and the refusals.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time

import pytest
import registry_server as rs

EXECUTORS = ["native", "lxc"]


def inspect(stdc, ref: str) -> dict:
    return json.loads(stdc("inspect", ref).stdout)[0]


def eventually(what, timeout: float = 60):
    """Poll ``what()`` until it is true (a deadline for hanging, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        found = what()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def one_line_125(result) -> str:
    assert result.returncode == 125, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_env_file_label_file_and_image_labels(stdc, tmp_path, monkeypatch):
    env = tmp_path / "env"
    env.write_text("# a comment\n\nA=1\n  B=two words\nFROM_HOST\nUNSET_HERE\nC=from-file\n")
    labels = tmp_path / "labels"
    labels.write_text("team=core\n# no\nempty\n")
    monkeypatch.setenv("FROM_HOST", "host-value")
    monkeypatch.delenv("UNSET_HERE", raising=False)
    source = stdc("create", "base", "true").stdout.strip()
    stdc("commit", "--change", "LABEL from.image=yes override=image", source, "rc-labelled")
    stdc("rm", source)
    try:
        out = stdc(
            "run", "--name", "rc-env", "--env-file", str(env), "-e", "C=from-flag", "--label-file", str(labels),
            "-l", "override=flag", "--label", "x=1", "rc-labelled", "sh", "-c", "env | sort",
        ).stdout  # fmt: skip
        assert {"A=1", "B=two words", "FROM_HOST=host-value", "C=from-flag"} <= set(out.splitlines())
        assert "UNSET_HERE" not in out
        config = inspect(stdc, "rc-env")["Config"]
        assert config["Labels"] == {"from.image": "yes", "override": "flag", "team": "core", "empty": "", "x": "1"}
        found = stdc("ps", "-a", "--filter", "label=team=core", "-q", check=False)
        if found.returncode == 0:  # ps --filter is another helper's: checked where it exists
            assert found.stdout.split() == [inspect(stdc, "rc-env")["Id"][:12]]
    finally:
        stdc("rm", "-f", "rc-env", check=False)
        stdc("rmi", "rc-labelled", check=False)


def test_annotations_reach_the_spec(stdc):
    cid = stdc("create", "--annotation", "org.example.k=v", "base", "true").stdout.strip()
    try:
        with open(os.path.join(os.path.dirname(inspect(stdc, cid)["LogPath"]), "config.json")) as f:
            assert json.load(f)["annotations"]["org.example.k"] == "v"
        assert inspect(stdc, cid)["HostConfig"]["Annotations"] == {"org.example.k": "v"}
    finally:
        stdc("rm", cid)


@pytest.mark.parametrize("runtime", EXECUTORS)
def test_health_check_runs_without_any_stdc_alive(stdc, runtime):
    """starting -> unhealthy after the retries -> healthy once the check passes; the monitor runs
    the checks of a detached container (no stdc process is waiting)."""
    cid = stdc(
        "run", "-d", "--runtime", runtime, "--name", f"rc-health-{runtime}", "--health-cmd", "test -e /tmp/ok",
        "--health-interval", "300ms", "--health-retries", "2", "--health-timeout", "5s", "base", "sleep", "300",
    ).stdout.strip()  # fmt: skip
    try:
        assert len(cid) == 64
        state = inspect(stdc, cid)["State"]["Health"]
        assert state["Status"] in ("starting", "unhealthy")
        assert eventually(lambda: inspect(stdc, cid)["State"]["Health"]["Status"] == "unhealthy")
        health = inspect(stdc, cid)["State"]["Health"]
        assert health["FailingStreak"] >= 2 and health["Log"][-1]["ExitCode"] == 1
        assert "(unhealthy)" in stdc("ps").stdout
        stdc("exec", cid, "touch", "/tmp/ok")
        assert eventually(lambda: inspect(stdc, cid)["State"]["Health"]["Status"] == "healthy")
        health = inspect(stdc, cid)["State"]["Health"]
        assert health["FailingStreak"] == 0 and len(health["Log"]) <= 5
        assert health["Log"][-1]["ExitCode"] == 0 and health["Log"][-1]["Start"].endswith("Z")
        assert "(healthy)" in stdc("ps").stdout
        events = stdc("events", "--since", "0", "--until", str(int(time.time()) + 1), check=False).stdout
        if events:  # the events command is another helper's
            assert "health_status: healthy" in events
    finally:
        stdc("rm", "-f", cid)


def test_health_timeout_output_and_start_period(stdc):
    cid = stdc(
        "run", "-d", "--name", "rc-health-slow", "--health-cmd", "echo checking; sleep 5",
        "--health-interval", "200ms", "--health-timeout", "300ms", "--health-retries", "1", "base", "sleep", "300",
    ).stdout.strip()  # fmt: skip
    try:
        assert eventually(lambda: inspect(stdc, cid)["State"]["Health"]["Status"] == "unhealthy")
        last = inspect(stdc, cid)["State"]["Health"]["Log"][-1]
        assert last["ExitCode"] == -1 and "exceeded timeout" in last["Output"]
    finally:
        stdc("rm", "-f", cid)
    cid = stdc(
        "run", "-d", "--health-cmd", "echo out; echo err >&2; exit 1", "--health-interval", "200ms",
        "--health-start-period", "1h", "--health-start-interval", "200ms", "base", "sleep", "300",
    ).stdout.strip()  # fmt: skip
    try:  # failures in the start period do not count: starting, streak 0, the output logged
        assert eventually(lambda: len(inspect(stdc, cid)["State"]["Health"]["Log"]) >= 3)
        health = inspect(stdc, cid)["State"]["Health"]
        assert health["Status"] == "starting" and health["FailingStreak"] == 0
        assert health["Log"][-1]["Output"] == "out\nerr\n"
        assert "(health: starting)" in stdc("ps").stdout
    finally:
        stdc("rm", "-f", cid)


def test_image_healthcheck_honoured_and_no_healthcheck(stdc):
    source = stdc("create", "base", "true").stdout.strip()
    stdc("commit", "--change", "HEALTHCHECK --interval=200ms --retries=1 CMD false", source, "rc-hc")
    stdc("rm", source)
    try:
        cid = stdc("run", "-d", "rc-hc", "sleep", "300").stdout.strip()
        try:
            assert inspect(stdc, cid)["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "false"]
            assert eventually(lambda: inspect(stdc, cid)["State"]["Health"]["Status"] == "unhealthy")
        finally:
            stdc("rm", "-f", cid)
        cid = stdc("create", "--no-healthcheck", "rc-hc", "true").stdout.strip()
        assert inspect(stdc, cid)["Config"]["Healthcheck"] == {"Test": ["NONE"]}
        assert "Health" not in inspect(stdc, cid)["State"]
        stdc("rm", cid)
        cid = stdc("create", "--health-cmd", "true", "--health-retries", "7", "rc-hc", "true").stdout.strip()
        check = inspect(stdc, cid)["Config"]["Healthcheck"]
        assert check["Test"] == ["CMD-SHELL", "true"] and check["Retries"] == 7 and check["Interval"] == 200_000_000
        stdc("rm", cid)
    finally:
        stdc("rmi", "rc-hc")


def test_hosts_and_resolv_conf(stdc):
    out = stdc(
        "run", "--rm", "--add-host", "db.local:10.1.2.3", "--add-host", "gw:host-gateway", "--add-host", "v6=::1",
        "--dns", "192.0.2.53", "--dns-search", "example.com", "--dns-option", "ndots:3", "--domainname",
        "example.org", "base", "sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; "
        "cat /proc/sys/kernel/domainname",
    ).stdout  # fmt: skip
    hosts, resolv, domain = out.split("---\n")
    assert "10.1.2.3\tdb.local" in hosts and "::1\tv6" in hosts
    gateway = next(line.split()[0] for line in hosts.splitlines() if line.endswith("\tgw"))
    assert ipaddress.ip_address(gateway).is_private
    assert resolv.splitlines() == ["nameserver 192.0.2.53", "search example.com", "options ndots:3"]
    assert domain.strip() == "example.org"


def test_user_network_ip_mac_alias_and_link(stdc, tmp_path):
    stdc("network", "create", "rc-net")
    try:
        subnet = ipaddress.ip_network(
            json.loads(stdc("network", "inspect", "rc-net").stdout)[0]["IPAM"]["Config"][0]["Subnet"]
        )
        wanted = str(subnet.network_address + 77)
        target = stdc("run", "-d", "--name", "rc-target", "--net", "rc-net", "--network-alias", "www", "base",
                      "sleep", "300").stdout.strip()  # fmt: skip
        out = stdc(
            "run", "--rm", "--network", "rc-net", "--ip", wanted, "--mac-address", "92:d0:c6:0a:29:33",
            "--link", "rc-target:legacy", "base", "sh", "-c", "cat /sys/class/net/eth0/address; "
            "ip -4 -o addr show eth0; cat /etc/hosts; ping -c1 -W5 www >/dev/null && echo www-ok; "
            "ping -c1 -W5 legacy >/dev/null && echo legacy-ok",
        ).stdout  # fmt: skip
        assert out.startswith("92:d0:c6:0a:29:33\n") and f" {wanted}/" in out
        assert "www-ok" in out and "legacy-ok" in out
        address = inspect(stdc, target)["NetworkSettings"]["Networks"]["rc-net"]["IPAddress"]
        taken = stdc("run", "--rm", "--network", "rc-net", "--ip", address, "base",
                     "true", check=False)  # fmt: skip
        assert "already in use" in taken.stderr and taken.returncode != 0
        outside = stdc("run", "--rm", "--network", "rc-net", "--ip", "203.0.113.9", "base", "true", check=False)
        assert "not in network rc-net" in one_line_125(outside)
    finally:
        stdc("rm", "-f", "rc-target", check=False)
        stdc("network", "rm", "rc-net")


@pytest.mark.parametrize("runtime", EXECUTORS)
def test_stop_signal_and_timeout_honoured(stdc, runtime):
    script = 'trap "echo got-usr1; exit 3" USR1; echo ready; while :; do sleep 0.1; done'
    cid = stdc("run", "-d", "--runtime", runtime, "--stop-signal", "SIGUSR1", "base", "sh", "-c", script).stdout.strip()
    try:
        assert eventually(lambda: "ready" in stdc("logs", cid).stdout)
        stdc("stop", cid)
        assert inspect(stdc, cid)["State"]["ExitCode"] == 3
        assert "got-usr1" in stdc("logs", cid).stdout
        assert inspect(stdc, cid)["Config"]["StopSignal"] == "SIGUSR1"
    finally:
        stdc("rm", "-f", cid)
    # an image's STOPSIGNAL, and --stop-timeout as stop's default: the payload ignores the signal
    source = stdc("create", "base", "true").stdout.strip()
    stdc("commit", "--change", "STOPSIGNAL SIGUSR2", source, "rc-stopsig")
    stdc("rm", source)
    try:
        cid = stdc("run", "-d", "--runtime", runtime, "--stop-timeout", "1", "rc-stopsig", "sh", "-c",
                    'trap "" USR2; echo ready; while :; do sleep 0.1; done').stdout.strip()  # fmt: skip
        assert eventually(lambda: "ready" in stdc("logs", cid).stdout)
        stdc("stop", cid)  # would wait 10 s without --stop-timeout; killed after 1
        assert inspect(stdc, cid)["State"]["ExitCode"] == 137
        assert inspect(stdc, cid)["Config"]["StopSignal"] == "SIGUSR2"
        stdc("rm", cid)
    finally:
        stdc("rmi", "rc-stopsig")


def test_cidfile_written_and_refused_when_present(stdc, tmp_path):
    cidfile = tmp_path / "cid"
    cid = stdc("create", "--cidfile", str(cidfile), "base", "true").stdout.strip()
    try:
        assert cidfile.read_text() == cid
        again = stdc("create", "--cidfile", str(cidfile), "base", "true", check=False)
        assert "Container ID file found" in one_line_125(again)
        assert stdc("ps", "-aq", "--no-trunc").stdout.split() == [cid]
    finally:
        stdc("rm", cid)
    failed = tmp_path / "failed"
    result = stdc("run", "--cidfile", str(failed), "--health-interval", "nope", "base", "true", check=False)
    one_line_125(result)
    assert not failed.exists()


def test_log_rotation_and_reading_across_files(stdc):
    script = "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done"
    out = stdc("run", "--name", "rc-rotated", "--log-driver", "json-file", "--log-opt", "max-size=1k",
               "--log-opt", "max-file=3", "base", "sh", "-c", script).stdout  # fmt: skip
    assert out.splitlines()[-1] == "line-199"
    ref = inspect(stdc, "rc-rotated")
    bundle = os.path.dirname(ref["LogPath"])
    try:
        files = sorted(name for name in os.listdir(bundle) if name.startswith("log.json"))
        assert files == ["log.json", "log.json.1", "log.json.2"]
        for name in files:
            assert os.path.getsize(os.path.join(bundle, name)) < 1024 + 100
        lines = stdc("logs", ref["Id"]).stdout.splitlines()
        assert lines[-1] == "line-199" and lines == [f"line-{i}" for i in range(200 - len(lines), 200)]
        assert len(lines) > 20
        assert stdc("logs", "--tail", "2", ref["Id"]).stdout == "line-198\nline-199\n"
        assert ref["HostConfig"]["LogConfig"] == {
            "Type": "json-file",
            "Config": {"max-size": "1k", "max-file": "3"},
        }
    finally:
        stdc("rm", ref["Id"])


def test_log_driver_none(stdc):
    out = stdc("run", "--name", "rc-nolog", "--log-driver", "none", "base", "echo", "hi")
    try:
        assert out.stdout == "hi\n"  # the foreground still sees it
        result = stdc("logs", "rc-nolog", check=False)
        assert "does not support reading" in one_line_125(result)
        assert not os.path.exists(inspect(stdc, "rc-nolog")["LogPath"])
    finally:
        stdc("rm", "rc-nolog")


def test_attach_only_some_streams(stdc):
    cmd = ["base", "sh", "-c", "echo out; echo err >&2"]
    only_err = stdc("run", "--rm", "-a", "stderr", *cmd)
    assert only_err.stdout == "" and only_err.stderr == "err\n"
    only_out = stdc("run", "--rm", "-a", "STDOUT", *cmd)
    assert only_out.stdout == "out\n" and only_out.stderr == ""
    assert "Conflicting options: -a and -d" in one_line_125(stdc("run", "-d", "-a", "stdout", *cmd, check=False))


def test_name_platform_runtime_and_accepted_defaults(stdc):
    cid = stdc(
        "create", "--name", "/rc-slash", "--platform", f"linux/{os.uname().machine.replace('x86_64', 'amd64')}",
        "--isolation", "default", "--volume-driver", "local", "--disable-content-trust", "--sig-proxy=false",
        "--runtime", "lxc", "base", "true",
    ).stdout.strip()  # fmt: skip
    try:
        found = inspect(stdc, cid)
        assert found["Name"] == "/rc-slash" and found["HostConfig"]["Runtime"] == "lxc"
    finally:
        stdc("rm", cid)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--name", "a"], "Invalid container name (a)"),
        (["--name", "-bad"], "Invalid container name"),
        (["--name", "bad name"], "Invalid container name"),
        (["--env-file", "/nonexistent/env"], "--env-file /nonexistent/env"),
        (["--label-file", "/nonexistent/l"], "--label-file /nonexistent/l"),
        (["--annotation", "novalue"], "invalid --annotation"),
        (["--health-interval", "10x", "--health-cmd", "true"], "invalid value '10x' for --health-interval"),
        (["--health-interval", "1us", "--health-cmd", "true"], "cannot be less than 1ms"),
        (["--health-retries", "-1", "--health-cmd", "true"], "cannot be negative"),
        (["--no-healthcheck", "--health-cmd", "true"], "--no-healthcheck conflicts"),
        (["--health-interval", "1s"], "need --health-cmd"),
        (["--add-host", "nohost"], "invalid --add-host"),
        (["--add-host", "h:300.1.1.1"], "not an IP address"),
        (["--dns", "dns.example"], "invalid --dns"),
        (["--dns-search", "bad domain"], "invalid --dns-search"),
        (["--stop-signal", "SIGNOPE"], "invalid signal"),
        (["--stop-timeout", "-5"], "invalid --stop-timeout"),
        (["--platform", "linux/s390x"], "only the host's platform"),
        (["--platform", "windows"], "only the host's platform"),
        (["--pull", "sometimes"], "invalid --pull"),
        (["--ip", "10.0.0.9"], "user defined networks only"),
        (["--ip", "nope"], "not an IPv4 address"),
        (["--ip6", "2001:db8::33"], "no IPv6"),
        (["--mac-address", "01:00:00:00:00:01"], "invalid --mac-address"),
        (["--network-alias", "x"], "user defined networks only"),
        (["--link-local-ip", "169.254.1.1"], "--link-local-ip"),
        (["--link", "bad name"], "invalid --link"),
        (["--link", "rc-nobody"], "no such container: rc-nobody"),
        (["--log-driver", "syslog"], "unknown --log-driver"),
        (["--log-opt", "max-size=big"], "invalid value 'big'"),
        (["--log-opt", "max-file=2"], "needs max-size"),
        (["--log-opt", "labels=a"], "unknown log opt"),
        (["--log-driver", "none", "--log-opt", "max-size=1m"], "takes no --log-opt"),
        (["-a", "stdio"], "invalid argument 'stdio' for -a"),
        (["--runtime", "runc"], "unknown or invalid runtime name: runc"),
        (["--isolation", "hyperv"], "only 'default'"),
        (["--gpus", "all"], "no GPU support"),
        (["--volume-driver", "nfs"], "local volume driver only"),
        (["--use-api-socket"], "--use-api-socket"),
        (["--network", "none", "--add-host", "a:1.2.3.4"], "the none network"),
        (["--network", "host", "--dns", "1.1.1.1"], "the host network"),
        (["--net", "none", "--network", "host"], "conflicting options"),
    ],
)
def test_bad_values_are_one_line_125_and_leave_nothing(stdc, root, flags, message):
    before = stdc("ps", "-aq", "--no-trunc").stdout.split()
    result = stdc("run", *flags, "base", "true", check=False)
    assert message in one_line_125(result)
    assert stdc("ps", "-aq", "--no-trunc").stdout.split() == before


def test_pull_policies_against_a_loopback_registry(stdc, root, tmp_path, monkeypatch):
    stdc("run", "--rm", "base", "true")
    with rs.registry(tmp_path / "registry") as host:
        for key, value in rs.environ(tmp_path, insecure=[host], default=host).items():
            monkeypatch.setenv(key, value)
        stdc("tag", "base", "rc/pulled:1")
        stdc("push", "rc/pulled:1")
        stdc("rmi", "rc/pulled:1")
        try:
            never = stdc("run", "--rm", "--pull", "never", "rc/pulled:1", "true", check=False)
            assert never.returncode == 125 and "rc/pulled:1" in never.stderr
            missing = stdc("run", "--rm", "rc/pulled:1", "echo", "ran")
            assert missing.stdout == "ran\n"
            assert "Unable to find image 'rc/pulled:1' locally" in missing.stderr
            quiet = stdc("run", "--rm", "--pull", "always", "-q", "rc/pulled:1", "echo", "ran")
            assert quiet.stdout == "ran\n" and quiet.stderr == ""
            always = stdc("create", "--pull", "always", "rc/pulled:1", "true")
            assert "Pull complete" in always.stderr or always.stderr == ""
            stdc("rm", always.stdout.strip())
            present = stdc("run", "--rm", "--pull", "never", "rc/pulled:1", "echo", "ran")
            assert present.stdout == "ran\n" and present.stderr == ""
        finally:
            stdc("rmi", "-f", "rc/pulled:1", check=False)
