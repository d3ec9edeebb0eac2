"""Networks: the bridge provider (addresses, routes, /etc files, published ports, user networks,
isolation), the built-in none and host, and cleanup. All traffic stays between the host and
containers these tests made: nothing goes beyond the bridges."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import host_traces, run

BRIDGE = ["--network", "bridge"]


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 for the default network of this test session that no route of the host covers:
    a developer's own stdc0 (or another session's) may be up at the same time."""
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout.split()
    taken = [ipaddress.ip_network(w, strict=False) for w in routes if "/" in w]
    for _ in range(1000):
        candidate = ipaddress.IPv4Network(f"172.29.{int.from_bytes(os.urandom(1), 'big')}.0/24")
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise RuntimeError("no free /24 in 172.29.0.0/16")


SUBNET = _free_subnet()
GATEWAY = str(SUBNET.network_address + 1)
PLUGINS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugins")


@pytest.fixture(scope="module", autouse=True)
def default_bridge(root):
    """The default network's bridge is made on first use and stays, as docker0 does: here it is
    one with a subnet these tests know, made before them (so each one is checked to leave
    nothing more) and pruned after; the session's own default bridge comes back then."""
    saved = os.environ["STDC_CONFIG"]
    run("network", "prune")  # the session's default bridge, and its record with another subnet
    config = os.path.join(root, "network-tests.toml")
    with open(config, "w") as f:
        f.write(f'[network]\nbridge = "stdct{os.urandom(3).hex()}"\nsubnet = "{SUBNET}"\n')
    os.environ["STDC_CONFIG"] = config
    before = host_traces(root)
    run("run", "--rm", *BRIDGE, "base", "true")
    yield
    run("network", "prune")
    os.environ["STDC_CONFIG"] = saved
    after = host_traces(root)
    run("run", "--rm", "base", "true")  # the session's default bridge, as the other modules expect it
    assert after["links"] <= before["links"] and after["rules"] <= before["rules"], after


def inspect(ref: str) -> dict:
    return json.loads(run("inspect", ref).stdout)[0]


def endpoint(ref: str) -> dict:
    """The container's one entry of NetworkSettings.Networks (its address, MAC, endpoint)."""
    (found,) = inspect(ref)["NetworkSettings"]["Networks"].values()
    return found


def subnet(network: dict) -> str:
    return network["IPAM"]["Config"][0]["Subnet"]


def leases(network: str = "bridge") -> dict:
    return json.loads(run("network", "inspect", network).stdout)[0]["Containers"]


def http_get(url: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


HTTPD = "mkdir -p /www && echo served-by-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"


def test_interfaces_address_route_and_etc_files(stdc):
    out = stdc(
        "run", "--rm", *BRIDGE, "--hostname", "box", "base", "sh", "-c",
        "ip -o -4 addr; echo --; ip route; echo --; cat /etc/hostname /etc/hosts /etc/resolv.conf",
    ).stdout  # fmt: skip
    addrs, routes, files = out.split("--\n")
    lines = addrs.splitlines()
    assert [line.split()[1] for line in lines] == ["lo", "eth0"], addrs
    ip = ipaddress.IPv4Interface(lines[1].split()[3])
    assert ip.network == SUBNET and str(ip.ip) != GATEWAY
    assert f"default via {GATEWAY} dev eth0" in routes
    assert files.startswith("box\n")
    assert f"{ip.ip}\tbox" in files and "127.0.0.1\tlocalhost" in files
    assert "nameserver" in files


def test_two_containers_exchange_tcp_by_address(stdc):
    # nc's stdin stays open: busybox nc -l with stdin at EOF may quit before the peer's data
    server = stdc("run", "-d", *BRIDGE, "base", "sh", "-c", "sleep 60 | nc -l -p 5000").stdout.strip()
    try:
        ip = endpoint(server)["IPAddress"]
        # until the server listens, a connection is refused and nothing is sent: try again
        client = f"for i in $(seq 50); do echo hello over tcp | nc {ip} 5000 && exit 0; sleep 0.1; done; exit 1"
        stdc("run", "--rm", *BRIDGE, "base", "sh", "-c", client)
        deadline = time.monotonic() + 20
        while stdc("logs", server).stdout != "hello over tcp\n" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stdc("logs", server).stdout == "hello over tcp\n"
    finally:
        stdc("rm", "-f", server)


def test_published_port_from_the_host_and_from_another_container(stdc):
    web = stdc("run", "-d", *BRIDGE, "--hostname", "web", "-p", "8080", "base", "sh", "-c", HTTPD).stdout.strip()
    try:
        host_port = int(stdc("port", web, "8080").stdout.strip().rsplit(":", 1)[1])
        assert stdc("port", web).stdout == f"8080/tcp -> 0.0.0.0:{host_port}\n"
        assert http_get(f"http://127.0.0.1:{host_port}/") == "served-by-web\n"
        # another container reaches it through the host's side of the bridge
        r = stdc("run", "--rm", *BRIDGE, "base", "wget", "-qO-", f"http://{GATEWAY}:{host_port}/")
        assert r.stdout == "served-by-web\n"
    finally:
        stdc("rm", "-f", web)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{host_port}/", timeout=2)


def test_publish_all_exposed_ports_on_free_host_ports(stdc):
    web = stdc(
        "run", "-d", *BRIDGE, "--hostname", "all", "--expose", "8080", "-P", "base", "sh", "-c", HTTPD
    ).stdout.strip()  # fmt: skip
    try:
        (line,) = stdc("port", web).stdout.splitlines()
        assert line.startswith("8080/tcp -> 0.0.0.0:")
        assert http_get(f"http://127.0.0.1:{line.rsplit(':', 1)[1]}/") == "served-by-all\n"
    finally:
        stdc("rm", "-f", web)


def test_a_container_sees_only_its_own_interfaces(stdc):
    first = stdc("run", "-d", *BRIDGE, "base", "sleep", "300").stdout.strip()
    try:
        first_ip = endpoint(first)["IPAddress"]
        host_ips = {line.split()[3].split("/")[0] for line in _host_addresses()}
        out = stdc(
            "run", "--rm", *BRIDGE, "base", "sh", "-c",
            f"ip -o link | cut -d: -f2; echo --; ip -o -4 addr; echo --; httpd -f -p {first_ip}:7000 2>&1; echo rc=$?",
        ).stdout  # fmt: skip
        links, addrs, bind = out.split("--\n")
        assert [name.strip().split("@")[0] for name in links.splitlines()] == ["lo", "eth0"]
        inside = {line.split()[3].split("/")[0] for line in addrs.splitlines()}
        assert first_ip not in inside and not (inside & (host_ips - {"127.0.0.1"}))
        assert "Cannot assign requested address" in bind and "rc=1" in bind
    finally:
        stdc("rm", "-f", first)


def _host_addresses() -> list[str]:
    return subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=True).stdout.splitlines()


def test_stop_releases_and_start_sets_up_again(stdc, root):
    c = stdc("run", "-d", *BRIDGE, "base", "sleep", "300").stdout.strip()
    try:
        veth = endpoint(c)["EndpointID"]  # the host end of its link
        assert veth in os.listdir("/sys/class/net") and c in leases()
        stdc("stop", "-t", "1", c)
        assert veth not in os.listdir("/sys/class/net") and c not in leases()
        assert endpoint(c)["IPAddress"] == "" and endpoint(c)["EndpointID"] == ""
        stdc("start", c)
        assert c in leases()
        assert stdc("run", "--rm", *BRIDGE, "base", "ping", "-c1", "-W2", endpoint(c)["IPAddress"]).returncode == 0
    finally:
        stdc("rm", "-f", c)
    assert c not in leases()


def test_thirty_parallel_containers_get_distinct_addresses_and_leave_nothing(stdc, root):
    before = host_traces(root)
    with ThreadPoolExecutor(max_workers=30) as pool:
        started = list(pool.map(lambda _i: run("run", "-d", *BRIDGE, "base", "sleep", "300"), range(30)))
    ids = [r.stdout.strip() for r in started]
    try:
        ips = [endpoint(cid)["IPAddress"] for cid in ids]
        assert len(set(ips)) == 30, ips
        assert all(ipaddress.IPv4Address(ip) in SUBNET for ip in ips)
        assert set(leases()) == set(ids)
        assert len(host_traces(root)["links"] - before["links"]) == 30
    finally:
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(lambda cid: run("rm", "-f", cid), ids))
    after = host_traces(root)
    for kind in ("links", "rules", "proxies", "mounts"):
        assert after[kind] <= before[kind], (kind, after[kind] - before[kind])
    assert leases() == {}


def test_user_networks_resolve_names_and_are_isolated(stdc):
    one = stdc("network", "create", "--subnet", str(_free_subnet()), "testnet-one").stdout.strip()
    two = stdc("network", "create", "testnet-two").stdout.strip()  # a free subnet of stdc's choosing
    made = []
    try:
        info = {n["Name"]: n for n in json.loads(stdc("network", "inspect", "testnet-one", "testnet-two").stdout)}
        assert info["testnet-one"]["Id"] == one and info["testnet-two"]["Id"] == two
        assert not ipaddress.ip_network(subnet(info["testnet-one"])).overlaps(
            ipaddress.ip_network(subnet(info["testnet-two"]))
        )
        listed = stdc("network", "ls").stdout
        assert all(name in listed for name in ("bridge", "host", "none", "testnet-one", "testnet-two"))
        web = stdc("run", "-d", "--network", "testnet-one", "--name", "alpha", "base", "sh", "-c", HTTPD)
        made.append(web.stdout.strip())
        alpha_ip = endpoint("alpha")["IPAddress"]
        assert ipaddress.IPv4Address(alpha_ip) in ipaddress.IPv4Network(subnet(info["testnet-one"]))
        same = stdc("run", "--rm", "--network", "testnet-one", "base", "sh", "-c", "wget -qO- http://alpha:8080/")
        assert same.stdout.startswith("served-by-")
        for other in ("testnet-two", "bridge"):
            r = stdc("run", "--rm", "--network", other, "base", "wget", "-T", "2", "-qO-", f"http://{alpha_ip}:8080/",
                     check=False)  # fmt: skip
            assert r.returncode != 0 and "served-by" not in r.stdout, other
        r = stdc("network", "rm", "testnet-one", check=False)
        assert r.returncode == 125 and "alpha" in r.stderr
    finally:
        if made:
            stdc("rm", "-f", *made)
        stdc("network", "rm", "testnet-one", "testnet-two")
    assert "testnet" not in stdc("network", "ls").stdout


def test_network_labels_are_kept_shown_and_filtered_and_aliases_name_the_container(stdc):
    stdc("network", "create", "--label", "project=demo", "--label", "keep", "testnet-labelled")
    made = []
    try:
        info = json.loads(stdc("network", "inspect", "testnet-labelled").stdout)[0]
        assert info["Labels"] == {"project": "demo", "keep": ""}
        for wanted in ("project", "project=demo", "keep"):
            listed = stdc("network", "ls", "--filter", f"label={wanted}", "--format", "{{.Name}}").stdout
            assert listed == "testnet-labelled\n", wanted
        assert stdc("network", "ls", "-f", "label=project=other", "--format", "{{.Name}}").stdout == ""
        assert stdc("network", "ls", "-f", "type=builtin", "--format", "{{.Name}}").stdout.split() == [
            "bridge", "host", "none"
        ]  # fmt: skip
        r = stdc("network", "ls", "-f", "colour=red", check=False)
        assert (r.returncode, r.stderr) == (125, "stdc: invalid filter 'colour'\n")
        made.append(
            stdc("create", "--network", "testnet-labelled", "--network-alias", "svc", "base", "true").stdout.strip()
        )
        endpoint = inspect(made[0])["NetworkSettings"]["Networks"]["testnet-labelled"]
        assert endpoint["Aliases"] == ["svc", made[0][:12]]  # docker-compose 1.x looks for the short id there
    finally:
        if made:
            stdc("rm", "-f", *made)
        stdc("network", "rm", "testnet-labelled")


def test_bad_input_is_one_line_and_creates_nothing(stdc):
    before = (stdc("ps", "-aq").stdout, stdc("network", "ls").stdout)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cases = [
            ("run", "-d", *BRIDGE, "-p", f"127.0.0.1:{port}:80", "base", "sleep", "30"),  # port taken
            ("run", "--rm", *BRIDGE, "-p", "99999:80", "base", "true"),  # invalid port spec
            ("run", "--rm", *BRIDGE, "-p", "80/sctp", "base", "true"),
            ("run", "--rm", *BRIDGE, "-p", "1.2.3:80:80", "base", "true"),
            ("run", "--rm", "--network", "nosuch", "base", "true"),  # unknown network
            ("run", "--rm", "--network", "none", "-p", "80", "base", "true"),  # nothing to publish on
            ("network", "create", "--subnet", str(SUBNET), "overlapping"),  # the default one's
            ("network", "create", "--subnet", "172.17.0.0/33", "invalid"),
            ("network", "create", "bridge"),
            ("network", "rm", "nosuch"),
        ]
        errors = []
        for args in cases:
            r = stdc(*args, check=False)
            assert r.returncode == 125, (args, r.stderr)
            assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, (args, r.stderr)
            errors.append(r.stderr)
    assert "already in use" in errors[0]
    assert "no such network: nosuch" in errors[4]
    assert "overlaps network bridge" in errors[6]
    assert (stdc("ps", "-aq").stdout, stdc("network", "ls").stdout) == before


def test_subnet_overlapping_a_host_route_is_refused(stdc):
    routes = [line.split()[0] for line in subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
              .splitlines() if "/" in line.split()[0] and not line.split()[0].startswith("172.29.")]  # fmt: skip
    if not routes:
        pytest.skip("the host routes no subnet")
    r = stdc("network", "create", "--subnet", routes[0], "clash", check=False)
    assert r.returncode == 125 and "overlaps a route of this host" in r.stderr


def test_a_failed_start_leaves_nothing(stdc):
    r = stdc("run", "--rm", *BRIDGE, "-p", "8080", "base", "/bin/nope", check=False)
    assert r.returncode == 127
    assert leases() == {}


def test_the_default_network_is_bridge_and_none_is_one_flag_or_setting_away(stdc, monkeypatch):
    web = stdc("run", "-d", "--hostname", "plain", "-p", "8080", "base", "sh", "-c", HTTPD).stdout.strip()
    try:
        assert inspect(web)["HostConfig"]["NetworkMode"] == "bridge"
        host_port = int(stdc("port", web, "8080").stdout.strip().rsplit(":", 1)[1])
        assert http_get(f"http://127.0.0.1:{host_port}/") == "served-by-plain\n"
    finally:
        stdc("rm", "-f", web)
    assert stdc("run", "--rm", "--network", "none", "base", "ls", "/sys/class/net").stdout == "lo\n"
    monkeypatch.setenv("STDC_NET", "none")  # a host's default: [backends] net = "none" in its config
    assert stdc("run", "--rm", "base", "ls", "/sys/class/net").stdout == "lo\n"
    assert stdc("run", "--rm", *BRIDGE, "base", "ls", "/sys/class/net").stdout.split() == ["eth0", "lo"]


def test_pyroute2_is_imported_only_on_a_network_of_a_provider(stdc):
    def imports(*network: str) -> str:
        cmd = [sys.executable, "-X", "importtime", "-m", "stdc", "run", "--rm", *network, "base", "true"]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stderr

    assert "pyroute2" not in imports("--network", "none")
    assert "pyroute2" not in imports("--network", "host")
    assert "pyroute2" in imports()  # the default network is the provider's


def test_none_and_host_work_without_the_provider(stdc):
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "uninstall", "-y", "stdc-net-bridge"], check=True)
    try:
        assert stdc("run", "--rm", "--network", "none", "base", "sh", "-c", "ls /sys/class/net").stdout == "lo\n"
        inside = set(stdc("run", "--rm", "--network", "host", "base", "ls", "/sys/class/net").stdout.split())
        assert inside == set(os.listdir("/sys/class/net"))
        # the built-in default falls back to none; what needs the bridge says why, in one line
        assert stdc("run", "--rm", "base", "ls", "/sys/class/net").stdout == "lo\n"
        r = stdc("run", "--rm", "-p", "8080", "base", "true", check=False)
        assert r.returncode == 125 and r.stderr.count("\n") == 1
        assert "cannot publish ports: the default network bridge is not available here" in r.stderr
        assert "unknown net backend 'bridge'" in r.stderr
        r = stdc("run", "--rm", *BRIDGE, "base", "true", check=False)
        assert r.returncode == 125 and "unknown net backend 'bridge'" in r.stderr
        r = run("run", "--rm", "base", "true", check=False, env={**os.environ, "STDC_NET": "bridge"})
        assert r.returncode == 125 and "unknown net backend 'bridge'" in r.stderr  # chosen: no fallback
        assert set(stdc("network", "ls", "-q").stdout.split()) == {"none", "host"}
    finally:
        subprocess.run(
            [*pip, "install", "--no-deps", "--no-build-isolation", "--config-settings", "editable_mode=compat",
             "-e", os.path.join(PLUGINS, "net_bridge")],
            check=True,
        )  # fmt: skip
