"""``stdc-runtime``: runc's command line. Global flags come before the command, as runc's
(``--root``, ``--log``, ``--log-format``, ``--systemd-cgroup``, ``--debug``; stdc's own
``--exec`` picks the executor: flag > ``STDC_EXEC`` > /etc/stdc/config.toml > native, and
``--cgroup-parent`` where containers' cgroups go, as ``STDC_CGROUP_PARENT``). Errors
are one line on stderr (and in ``--log``) and exit status 1, as runc's; ``run`` and ``exec``
exit as their process did."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

from stdc import config
from stdc.errors import BadInput, StdcError

# the verbs' modules are imported by the commands that use them: every runc call pays the imports
from stdc.runtime import oci_cgroup_verbs, oci_lifecycle
from stdc.runtime.bundle_state import OCI_VERSION
from stdc.runtime.runc_log import RuntimeLog

VERSION = "0.1.0"


def _global_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stdc-runtime", description="runc's command line over stdc's executors")
    parser.add_argument("--root", default=None, help="state directory (default /run/stdc-runtime)")
    parser.add_argument("--log", default=None, help="log file")
    parser.add_argument("--log-format", default="text", choices=("text", "json"))
    parser.add_argument("--systemd-cgroup", action="store_true", help="refused: stdc manages cgroupfs only")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--rootless", default="auto", help="accepted as runc's; stdc-runtime runs as root")
    parser.add_argument("--criu", default=None, help="ignored: checkpoints are not supported")
    parser.add_argument("--exec", dest="executor", default=None, help="the stdc executor (native, lxc, ...)")
    parser.add_argument(
        "--cgroup-parent", default=None, help="stdc's cgroup parent for containers (stdc/...; env STDC_CGROUP_PARENT)"
    )
    parser.add_argument("-v", "--version", action="store_true")
    sub = parser.add_subparsers(dest="command")

    def command(name: str, *ids: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name)
        for i in ids:
            p.add_argument(i)
        return p

    for name in ("create", "run"):
        p = command(name)
        p.add_argument("-b", "--bundle", default=".")
        p.add_argument("--console-socket", default=None)
        p.add_argument("--pid-file", default=None)
        p.add_argument("--preserve-fds", type=int, default=0)
        p.add_argument("--no-pivot", action="store_true")
        p.add_argument("--no-new-keyring", action="store_true")
        p.add_argument("--no-subreaper", action="store_true")
        if name == "run":
            p.add_argument("-d", "--detach", action="store_true")
            p.add_argument("--keep", action="store_true")
        p.add_argument("container_id")
    command("start", "container_id")
    command("state", "container_id")
    p = command("delete")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("container_id")
    p = command("kill")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("container_id")
    p.add_argument("signal", nargs="?", default="SIGTERM")
    p = command("exec")
    p.add_argument("-p", "--process", default=None)
    p.add_argument("-t", "--tty", action="store_true")
    p.add_argument("-d", "--detach", action="store_true")
    p.add_argument("--console-socket", default=None)
    p.add_argument("--pid-file", default=None)
    p.add_argument("--cwd", default=None)
    p.add_argument("-e", "--env", action="append", default=[])
    p.add_argument("-u", "--user", default=None)
    p.add_argument("-g", "--additional-gids", type=int, action="append", default=[])
    p.add_argument("--cap", action="append", default=[])
    p.add_argument("--no-new-privs", action="store_true")
    p.add_argument("--preserve-fds", type=int, default=0)
    p.add_argument("--process-label", default=None)
    p.add_argument("--apparmor", default=None)
    p.add_argument("--cgroup", default=None)
    p.add_argument("--ignore-paused", action="store_true")
    p.add_argument("container_id")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p = command("ps")
    p.add_argument("-f", "--format", default="table", choices=("table", "json"))
    p.add_argument("container_id")
    p.add_argument("ps_args", nargs=argparse.REMAINDER)
    command("pause", "container_id")
    command("resume", "container_id")
    p = command("update")
    p.add_argument("-r", "--resources", default=None)
    for flag in oci_cgroup_verbs.UPDATE_FLAGS:
        kind = str if flag.startswith("cpuset") else _amount
        p.add_argument("--" + flag.replace("_", "-"), dest=flag, type=kind, default=None)
    p.add_argument("--kernel-memory", default=None)
    p.add_argument("--kernel-memory-tcp", default=None)
    p.add_argument("--blkio-weight", default=None)
    p.add_argument("container_id")
    p = command("events")
    p.add_argument("--stats", action="store_true")
    p.add_argument("--interval", type=_seconds, default=5.0)
    p.add_argument("container_id")
    command("features")
    p = command("spec")
    p.add_argument("-b", "--bundle", default=".")
    p.add_argument("--rootless", action="store_true")
    p = command("list")
    p.add_argument("-f", "--format", default="table", choices=("table", "json"))
    p.add_argument("-q", "--quiet", action="store_true")
    for name in ("checkpoint", "restore"):
        p = command(name)
        p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _amount(text: str) -> int:
    """A size or count as runc's update takes it: plain bytes or with a k/m/g suffix; -1 unlimited."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().removesuffix("b")
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def _seconds(text: str) -> float:
    return float(text.removesuffix("s"))


def parse_signal(text: str) -> int:
    """A signal as runc's kill takes it: a number, ``KILL`` or ``SIGKILL``."""
    if text.isdigit():
        return int(text)
    name = text.upper()
    name = name if name.startswith("SIG") else f"SIG{name}"
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise BadInput(f"unknown signal {text!r}") from None


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def dispatch(args: argparse.Namespace, runtime: oci_lifecycle.Runtime) -> int:
    """Carry out the parsed command; its exit code."""
    cid = getattr(args, "container_id", None)
    match args.command:
        case "create":
            oci_lifecycle.create(
                runtime,
                cid,
                args.bundle,
                console_socket=args.console_socket,
                pid_file=args.pid_file,
                preserve_fds=args.preserve_fds,
            )
        case "run":
            from stdc.runtime import oci_run

            return oci_run.run(
                runtime,
                cid,
                args.bundle,
                detach=args.detach,
                console_socket=args.console_socket,
                pid_file=args.pid_file,
                preserve_fds=args.preserve_fds,
            )
        case "start":
            oci_lifecycle.start(runtime, cid)
        case "state":
            _print_json(oci_lifecycle.state(runtime, cid))
        case "kill":
            oci_lifecycle.kill(runtime, cid, parse_signal(args.signal), every=args.all)
        case "delete":
            oci_lifecycle.delete(runtime, cid, force=args.force)
        case "exec":
            from stdc.runtime import oci_exec

            if args.preserve_fds:
                raise BadInput("--preserve-fds: passing extra descriptors is not supported by stdc executors")
            request = oci_exec.ExecRequest(
                args=args.args[1:] if args.args[:1] == ["--"] else args.args,
                process_file=args.process,
                tty=args.tty,
                cwd=args.cwd,
                env=args.env,
                user=args.user,
                additional_gids=args.additional_gids,
                no_new_privs=args.no_new_privs,
                capabilities=args.cap,
            )
            return oci_exec.exec_process(
                runtime, cid, request, detach=args.detach, console_socket=args.console_socket, pid_file=args.pid_file
            )
        case "ps":
            pids = oci_cgroup_verbs.processes(runtime, cid)
            if args.format == "json":
                sys.stdout.write(json.dumps(pids) + "\n")
            elif pids:
                sys.stdout.flush()
                import subprocess

                ps_args = args.ps_args[1:] if args.ps_args[:1] == ["--"] else args.ps_args
                return subprocess.call(["ps", *(ps_args or ["-f"]), "-p", ",".join(map(str, pids))])
        case "pause" | "resume":
            oci_cgroup_verbs.pause(runtime, cid, args.command == "pause")
        case "update":
            flags = {name: getattr(args, name) for name in oci_cgroup_verbs.UPDATE_FLAGS}
            oci_cgroup_verbs.update(runtime, cid, args.resources, flags)
        case "events":
            if args.stats:
                sys.stdout.write(json.dumps(oci_cgroup_verbs.stats_event(runtime, cid)) + "\n")
            else:
                for event in oci_cgroup_verbs.events(runtime, cid, args.interval):
                    sys.stdout.write(json.dumps(event) + "\n")
                    sys.stdout.flush()
        case "features":
            from stdc.runtime import oci_documents

            _print_json(oci_documents.features())
        case "spec":
            from stdc.runtime import oci_documents

            if args.rootless:
                raise BadInput("--rootless: stdc-runtime runs containers as root only")
            path = os.path.join(args.bundle, "config.json")
            if os.path.exists(path):
                raise BadInput("File config.json exists. Remove it first.")
            with open(path, "w") as f:
                json.dump(oci_documents.default_spec(), f, indent=2)
        case "list":
            _list(runtime, args.format, args.quiet)
        case "checkpoint" | "restore":
            raise BadInput(f"{args.command}: checkpoints are not supported by stdc-runtime")
    return 0


def _list(runtime: oci_lifecycle.Runtime, fmt: str, quiet: bool) -> None:
    states = [oci_lifecycle.state(runtime, cid) for cid in runtime.root.ids()]
    if quiet:
        sys.stdout.write("".join(f"{s['id']}\n" for s in states))
    elif fmt == "json":
        sys.stdout.write(json.dumps(states) + "\n")
    else:
        sys.stdout.write("ID   PID   STATUS   BUNDLE   CREATED   OWNER\n")
        for s in states:
            sys.stdout.write(f"{s['id']}   {s['pid']}   {s['status']}   {s['bundle']}   {s['created']}   root\n")


def main(argv: list[str] | None = None) -> int:
    """The ``stdc-runtime`` console script."""
    parser = _global_parser()
    args = parser.parse_args(argv)
    log = RuntimeLog(args.log, args.log_format, args.debug)
    if args.version:
        sys.stdout.write(f"stdc-runtime version {VERSION}\nspec: {OCI_VERSION}\n")
        return 0
    if not args.command:
        parser.print_help()
        return 0
    try:
        if args.systemd_cgroup:
            raise BadInput(
                "--systemd-cgroup: the systemd cgroup driver is not supported by stdc-runtime (use cgroupfs)"
            )
        if args.cgroup_parent:  # checked by config.load as the environment's value is
            os.environ["STDC_CGROUP_PARENT"] = args.cgroup_parent
        settings = config.load(backends={"exec": args.executor})
        executor = settings.backends["exec"]
        log.debug(f"{args.command} {getattr(args, 'container_id', '')} on executor {executor}")
        return dispatch(args, oci_lifecycle.Runtime(args.root, executor, settings.cgroup_parent))
    except StdcError as e:
        log.error(str(e))
        return 1
    except OSError as e:
        log.error(f"{args.command}: {e}")
        return 1


def console_main() -> None:
    """Entry point of the console script."""
    sys.exit(main())
