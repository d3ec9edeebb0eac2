"""Interactive containers driven from a real terminal: tmux runs stdc in a pane of its own
(a private server per test, killed at the end), keys are sent, the screen is read back.

-i pipes stdin; -t gives the payload a terminal whose size follows the client's, whose ctrl-c
reaches the payload (not stdc, not the container's init), and from which ctrl-p ctrl-q detaches;
attach comes back to the same session; exec runs in the container's namespaces and cgroups.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

STDC = os.path.join(os.path.dirname(sys.executable), "stdc")
PROMPT = "/ # "


class Tmux:
    """A private tmux server; each window runs one command and then says how it exited."""

    def __init__(self) -> None:
        self.socket = f"stdc-test-{uuid.uuid4().hex[:12]}"
        self.windows = 0

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout

    def start(self, command: str, width: int = 100, height: int = 30) -> str:
        """Run ``command`` in a new window (the first makes the session); return its target."""
        shell = f"{command}; echo EXIT=$?; sleep 600"
        env = [f"{k}={os.environ[k]}" for k in ("STDC_ROOT", "STDC_CONFIG", "STDC_CGROUP_PARENT", "PATH")]
        if self.windows == 0:
            args = ["new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height)]
        else:
            args = ["new-window", "-d", "-t", f"t:{self.windows}"]
        for item in env:
            args += ["-e", item]
        self(*args, shell)
        self.windows += 1
        return f"t:{self.windows - 1}"

    def screen(self, target: str) -> str:
        return self("capture-pane", "-p", "-J", "-t", target)

    def keys(self, target: str, *keys: str) -> None:
        self("send-keys", "-t", target, *keys)

    def type(self, target: str, line: str) -> None:
        self("send-keys", "-t", target, "-l", line)
        self("send-keys", "-t", target, "Enter")

    def wait_for(self, target: str, text: str, count: int = 1, timeout: float = 30) -> str:
        """Wait until ``text`` shows ``count`` times on the screen; return the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(target)
            if screen.count(text) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed ({count}x); the screen:\n{screen}")
            time.sleep(0.05)

    def kill(self) -> None:
        """Stop the server and remove its socket (tmux leaves the file behind)."""
        path = os.path.join(os.environ.get("TMUX_TMPDIR") or "/tmp", f"tmux-{os.getuid()}", self.socket)
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@pytest.fixture
def tmux(stdc) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed (scripts/setup --test installs it)")
    server = Tmux()
    yield server
    server.kill()
    leftovers = stdc("ps", "-aq", check=False).stdout.split()  # what a failed test left running
    if leftovers:
        stdc("rm", "-f", *leftovers, check=False)


def _running(stdc, name: str) -> bool:
    return json.loads(stdc("inspect", name).stdout)[0]["State"]["Running"]


EXECUTORS = pytest.mark.parametrize("executor", ["native", "lxc"])


@EXECUTORS
def test_run_it_prompt_command_size_and_exit(tmux, stdc, executor):
    w = tmux.start(f"{STDC} --exec {executor} run -it --rm base sh", width=100, height=30)
    tmux.wait_for(w, PROMPT)
    tmux.type(w, "echo ran-$((6*7))")
    tmux.wait_for(w, "ran-42")
    tmux.type(w, "stty size")
    tmux.wait_for(w, "30 100")
    tmux("resize-window", "-t", w, "-x", "80", "-y", "24")
    tmux.type(w, "stty size")
    tmux.wait_for(w, "24 80")
    tmux.type(w, "exit 3")
    tmux.wait_for(w, "EXIT=3")
    assert stdc("ps", "-aq").stdout == ""  # --rm: gone once stdc returned


@EXECUTORS
def test_ctrl_c_reaches_the_payload_not_the_container(tmux, stdc, executor):
    w = tmux.start(f"{STDC} --exec {executor} run -it --name cc base sh")
    tmux.wait_for(w, PROMPT)
    tmux.type(w, "X=same-shell; sleep 300")
    tmux.wait_for(w, "sleep 300")
    time.sleep(0.3)  # let the shell start sleep: a ctrl-c typed earlier would only reach the shell
    tmux.keys(w, "C-c")
    tmux.wait_for(w, PROMPT, count=2)
    tmux.type(w, "echo status-$?")
    tmux.wait_for(w, "status-130")  # the sleep died of SIGINT, the shell went on
    tmux.type(w, "echo alive-$X")
    tmux.wait_for(w, "alive-same-shell")  # the same shell goes on
    assert _running(stdc, "cc")
    tmux.type(w, "exit")
    tmux.wait_for(w, "EXIT=0")
    stdc("rm", "cc")


@EXECUTORS
def test_detach_and_reattach_keep_the_session(tmux, stdc, executor):
    w = tmux.start(f"{STDC} --exec {executor} run -it --name sess base sh")
    tmux.wait_for(w, PROMPT)
    tmux.type(w, "X=kept-across")
    tmux.keys(w, "C-p", "C-q")
    tmux.wait_for(w, "EXIT=0")
    assert _running(stdc, "sess")
    w2 = tmux.start(f"{STDC} attach sess")
    tmux.type(w2, "echo value=$X")
    tmux.wait_for(w2, "value=kept-across")
    # a second detach and attach, with other keys
    tmux.keys(w2, "C-p", "C-q")
    tmux.wait_for(w2, "EXIT=0")
    w3 = tmux.start(f"{STDC} attach --detach-keys ctrl-x sess")
    tmux.type(w3, "echo again=$X")
    tmux.wait_for(w3, "again=kept-across")
    tmux.keys(w3, "C-x")
    tmux.wait_for(w3, "EXIT=0")
    assert _running(stdc, "sess")
    stdc("rm", "-f", "sess")


def test_run_d_it_then_attach_follows_the_window(tmux, stdc):
    stdc("run", "-d", "-i", "-t", "--name", "bg", "base", "sh")
    w = tmux.start(f"{STDC} attach bg", width=90, height=20)
    tmux.type(w, "stty size")
    tmux.wait_for(w, "20 90")
    tmux("resize-window", "-t", w, "-x", "70", "-y", "15")
    tmux.type(w, "stty size")
    tmux.wait_for(w, "15 70")
    tmux.type(w, "exit 6")
    tmux.wait_for(w, "EXIT=6")  # attach exits with the payload's status
    assert "Exited (6)" in stdc("ps", "-a").stdout
    assert "stty size" in stdc("logs", "bg").stdout  # a terminal's output is logged too
    stdc("rm", "bg")


@EXECUTORS
def test_exec_it_in_a_terminal(tmux, stdc, executor):
    stdc("--exec", executor, "run", "-d", "--name", "host", "--hostname", "inside", "base", "sleep", "300")
    w = tmux.start(f"{STDC} exec -it host sh", width=110, height=33)
    tmux.wait_for(w, PROMPT)
    tmux.type(w, "stty size; hostname")
    tmux.wait_for(w, "33 110")
    tmux.wait_for(w, "inside")
    tmux.type(w, "sleep 300")
    tmux.wait_for(w, "sleep 300")
    time.sleep(0.3)
    tmux.keys(w, "C-c")
    tmux.wait_for(w, PROMPT, count=2)
    tmux.type(w, "echo interrupted-$?")
    tmux.wait_for(w, "interrupted-130")
    tmux.type(w, "exit 7")
    tmux.wait_for(w, "EXIT=7")
    assert _running(stdc, "host")
    stdc("rm", "-f", "host")


@EXECUTORS
def test_tty_is_the_containers_own_pts_and_console(tmux, stdc, executor):
    """The terminal comes from the container's devpts: `tty` prints /dev/pts/0, which is also
    /dev/console (a character device), stdin is a terminal; exec -it gets /dev/pts/1."""
    w = tmux.start(f"{STDC} --exec {executor} run -it --name pts base sh")
    tmux.wait_for(w, PROMPT)
    tmux.type(w, "echo tty=$(tty); [ -t 0 ] && echo stdin-is-a-tty; [ -c /dev/console ] && echo console-chr")
    screen = tmux.wait_for(w, "console-chr", count=2)  # the command line, then its output
    assert "tty=/dev/pts/0" in screen and "stdin-is-a-tty" in screen
    tmux.type(w, 'echo same-$(stat -c %t:%T /dev/console)-as-$(stat -c %t:%T "$(tty)")')
    tmux.wait_for(w, "same-88:0-as-88:0")  # pty slaves are major 136 (0x88), and this one is 0
    w2 = tmux.start(f"{STDC} exec -it pts sh")
    tmux.wait_for(w2, PROMPT)
    tmux.type(w2, "echo exec-tty=$(tty)")
    tmux.wait_for(w2, "exec-tty=/dev/pts/1")
    tmux.type(w2, "exit")
    tmux.wait_for(w2, "EXIT=0")
    tmux.type(w, "exit")
    tmux.wait_for(w, "EXIT=0")
    stdc("rm", "pts")


def test_i_pipes_stdin(stdc):
    assert stdc("run", "--rm", "-i", "base", "cat", input="hi\n").stdout == "hi\n"
    r = subprocess.run(f"echo hi | {STDC} run --rm -i base cat", shell=True, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "hi\n")
    # detached -i: what attach sends is the payload's stdin
    stdc("run", "-d", "-i", "--name", "reader", "base", "sh", "-c", "read line; echo got $line; exit 2")
    r = stdc("attach", "reader", input="piped\n", check=False)
    assert (r.returncode, r.stdout) == (2, "got piped\n")
    stdc("rm", "reader")


def test_logs_follow_a_terminal_container_to_its_end(stdc):
    stdc("run", "-d", "-t", "--name", "tlog", "base", "sh", "-c", "echo one; sleep 1; echo two")
    assert stdc("logs", "-f", "tlog", timeout=60).stdout.splitlines() == ["one", "two"]
    stdc("rm", "tlog")


def test_bad_input_is_one_line(stdc):
    for args in (("exec", "nosuch", "true"), ("attach", "nosuch"), ("exec", "-it", "nosuch", "sh")):
        r = stdc(*args, check=False)
        assert r.returncode == 125 and len(r.stderr.splitlines()) == 1 and "nosuch" in r.stderr, r.stderr
    stdc("create", "--name", "stopped", "base", "true")
    for args in (("exec", "stopped", "true"), ("attach", "stopped")):
        r = stdc(*args, check=False)
        assert r.returncode == 125 and "not running" in r.stderr and len(r.stderr.splitlines()) == 1
    r = stdc("run", "--rm", "-it", "--detach-keys", "ctrl-", "base", "true", check=False)
    assert r.returncode == 125 and "detach keys" in r.stderr and len(r.stderr.splitlines()) == 1
    r = stdc("exec", "-w", "relative", "stopped", "true", check=False)
    assert r.returncode == 125 and len(r.stderr.splitlines()) == 1
    stdc("rm", "stopped")
    assert stdc("ps", "-aq").stdout == ""


def test_run_it_through_the_daemon(tmux, stdc, tmp_path):
    """With a warm `stdc daemon`, the client hands its terminal over and forwards SIGWINCH."""
    path = str(tmp_path / "daemon.sock")
    daemon = subprocess.Popen([STDC, "daemon", "--socket", path, "--no-api"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(path):
            assert daemon.poll() is None, daemon.stderr.read()
            assert time.monotonic() < deadline, "the daemon did not start listening"
            time.sleep(0.05)
        w = tmux.start(f"STDC_DAEMON_SOCKET={path} {STDC} run -it --rm base sh", width=90, height=25)
        tmux.wait_for(w, PROMPT)
        tmux.type(w, "stty size")
        tmux.wait_for(w, "25 90")
        tmux("resize-window", "-t", w, "-x", "70", "-y", "20")
        tmux.type(w, "stty size")
        tmux.wait_for(w, "20 70")
        tmux.type(w, "exit 4")
        tmux.wait_for(w, "EXIT=4")
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
