"""`stdc build`: real Dockerfiles built with real containers (every RUN) on the real kernel; the
images run, skopeo and umoci read them; the layer cache, .dockerignore, failures, interruption
and hostile contexts."""

from __future__ import annotations

import bz2
import gzip
import http.server
import io
import json
import lzma
import os
import signal
import subprocess
import tarfile
import threading

import pytest
import zstandard
from conftest import STDC

NO_NET = ("--network", "none")


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server of tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "remote.txt").write_text("from the web\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _inspect(stdc, ref: str) -> dict:
    doc = json.loads(stdc("inspect", ref).stdout)
    return doc[0] if isinstance(doc, list) else doc


def _config(stdc, ref: str) -> dict:
    doc = _inspect(stdc, ref)
    return doc.get("Config") or doc.get("config") or {}


EVERY = r"""# syntax=docker/dockerfile:1
ARG BASE=base
FROM ${BASE} AS builder
RUN mkdir -p /out && echo built > /out/artifact

FROM $BASE
ARG GREETING=hello
ARG FROM_CLI
ENV NAME=stdc HOME_DIR="/home/x y"
LABEL org.example.kind="test image" version=1
WORKDIR /app
COPY *.txt ./
COPY --chown=123:456 --chmod=640 dir/ /copied/
COPY --from=builder /out/artifact /from-stage
ADD archive.tar.gz /gz/
ADD archive.tar.bz2 /bz2/
ADD archive.tar.xz /xz/
ADD archive.tar.zst /zst/
ADD ${URL}/remote.txt /web/
RUN echo "$GREETING $NAME $FROM_CLI" > /app/said \
    && echo continued >> /app/said
SHELL ["/bin/sh", "-ec"]
RUN ["/bin/sh", "-c", "echo exec form > /app/exec"]
RUN <<EOF
echo from a heredoc > /app/heredoc
EOF
USER 1000:1000
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --retries=2 CMD test -f /app/said
ONBUILD RUN echo triggered > /tmp/onbuild
ENTRYPOINT ["/bin/cat"]
CMD ["/app/said"]
"""


def _every_context(path, url: str) -> None:
    (path / "a.txt").write_text("A\n")
    (path / "b.txt").write_text("B\n")
    (path / "dir" / "sub").mkdir(parents=True)
    (path / "dir" / "sub" / "f").write_text("in dir\n")
    plain = _tar({"inside/packed": b"packed\n"})
    (path / "archive.tar.gz").write_bytes(gzip.compress(plain))
    (path / "archive.tar.bz2").write_bytes(bz2.compress(plain))
    (path / "archive.tar.xz").write_bytes(lzma.compress(plain))
    (path / "archive.tar.zst").write_bytes(zstandard.ZstdCompressor().compress(plain))
    (path / "Dockerfile").write_text(EVERY.replace("${URL}", url))


def test_every_instruction(stdc, tmp_path, server):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    _every_context(ctx, server)
    out = stdc("build", "-t", "built/every:1", "--build-arg", "FROM_CLI=cli", "--label", "extra=yes", *NO_NET, str(ctx))
    lines = out.stdout.splitlines()
    steps = [line for line in lines if line.startswith("Step ")]
    assert steps[0] == "Step 1/28 : FROM ${BASE} AS builder" and steps[-1].startswith("Step 28/28 : CMD")
    assert "Successfully tagged built/every:1" in lines
    config = _config(stdc, "built/every:1")
    assert "NAME=stdc" in config["Env"] and "HOME_DIR=/home/x y" in config["Env"]
    assert not any(e.startswith(("GREETING=", "FROM_CLI=")) for e in config["Env"])  # ARGs stay out
    assert config["Labels"] == {"org.example.kind": "test image", "version": "1", "extra": "yes"}
    assert config["WorkingDir"] == "/app" and config["User"] == "1000:1000"
    assert set(config["ExposedPorts"]) == {"8080/tcp", "53/udp"} and set(config["Volumes"]) == {"/data"}
    assert config["StopSignal"] == "SIGQUIT"
    assert config["Healthcheck"]["Test"] == ["CMD-SHELL", "test -f /app/said"]
    assert config["Healthcheck"]["Interval"] == 30 * 10**9 and config["Healthcheck"]["Retries"] == 2
    assert config["OnBuild"] == ["RUN echo triggered > /tmp/onbuild"]
    assert config["Entrypoint"] == ["/bin/cat"] and config["Cmd"] == ["/app/said"]
    # the image runs: its entrypoint and command
    assert stdc("run", "--rm", *NO_NET, "built/every:1").stdout == "hello stdc cli\ncontinued\n"
    listing = stdc(
        "run", "--rm", *NO_NET, "-u", "0", "--entrypoint", "sh", "built/every:1", "-c",
        "cat /app/a.txt /app/b.txt /from-stage /gz/inside/packed /bz2/inside/packed /xz/inside/packed"
        " /zst/inside/packed /web/remote.txt /app/exec /app/heredoc /copied/sub/f;"
        " stat -c '%u:%g %a' /copied/sub/f; stat -c '%a' /web/remote.txt",
    ).stdout  # fmt: skip
    assert listing.splitlines() == [
        "A", "B", "built", "packed", "packed", "packed", "packed", "from the web", "exec form",
        "from a heredoc", "in dir", "123:456 640", "600",
    ]  # fmt: skip
    history = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--config", f"oci:{os.environ['STDC_ROOT']}/images:built/every:1"],
            capture_output=True,
            check=True,
        ).stdout
    )["history"]
    created = [h.get("created_by", "") for h in history]
    assert any("#(nop) COPY *.txt ./" in c for c in created)
    assert any(c.startswith("|2 GREETING=hello FROM_CLI=cli /bin/sh -c echo") for c in created)
    # ONBUILD: an image FROM this one runs the trigger first
    child = tmp_path / "child"
    child.mkdir()
    (child / "Dockerfile").write_text("FROM built/every:1\nRUN cat /tmp/onbuild\n")
    out = stdc("build", "-t", "built/child", *NO_NET, str(child)).stdout
    assert "Executing 1 build trigger" in out
    assert stdc("run", "--rm", *NO_NET, "built/child", "/tmp/onbuild").stdout == "triggered\n"
    assert not _config(stdc, "built/child").get("OnBuild")
    stdc("rmi", "built/every:1", "built/child")


def _steps_from_cache(output: str) -> int:
    return output.count("---> Using cache")


def test_cache_hits_misses_and_no_cache(stdc, tmp_path, root):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "data").write_text("one\n")
    (ctx / "Dockerfile").write_text(
        "FROM base\nARG V=1\nRUN echo run-$V > /ran\nCOPY data /data\nRUN cat /data > /copied\nENV X=1\n"
    )
    first = stdc("build", "-t", "built/cache", *NO_NET, str(ctx)).stdout
    assert _steps_from_cache(first) == 0 and first.count("Running in") == 2
    image_id = _inspect(stdc, "built/cache")["Id"]
    blobs = set(os.listdir(os.path.join(root, "images", "blobs", "sha256")))
    again = stdc("build", "-t", "built/cache", *NO_NET, str(ctx)).stdout
    assert _steps_from_cache(again) == 5 and "Running in" not in again
    assert _inspect(stdc, "built/cache")["Id"] == image_id
    assert set(os.listdir(os.path.join(root, "images", "blobs", "sha256"))) == blobs  # no new layer
    # a touched file with the same content is still a hit; new content is a miss from there on
    os.utime(ctx / "data", (1, 1))
    assert _steps_from_cache(stdc("build", *NO_NET, str(ctx)).stdout) == 5
    (ctx / "data").write_text("two\n")
    changed = stdc("build", "-t", "built/cache", *NO_NET, str(ctx)).stdout
    assert _steps_from_cache(changed) == 2 and changed.count("Running in") == 1
    assert stdc("run", "--rm", *NO_NET, "built/cache", "cat", "/copied").stdout == "two\n"
    # a different build arg: the RUN that sees it runs again
    with_arg = stdc("build", "--build-arg", "V=2", *NO_NET, str(ctx)).stdout
    assert _steps_from_cache(with_arg) == 1 and with_arg.count("Running in") == 2
    no_cache = stdc("build", "--no-cache", *NO_NET, str(ctx)).stdout
    assert _steps_from_cache(no_cache) == 0 and no_cache.count("Running in") == 2
    # the cache counts in system df; builder prune empties it
    df = stdc("system", "df").stdout
    row = next(line for line in df.splitlines() if line.startswith("Build Cache"))
    assert int(row.split()[2]) > 0
    assert "Total reclaimed space" in stdc("builder", "prune", "-f").stdout
    row = next(line for line in stdc("system", "df").stdout.splitlines() if line.startswith("Build Cache"))
    assert int(row.split()[2]) == 0
    assert _steps_from_cache(stdc("build", *NO_NET, str(ctx)).stdout) == 0
    stdc("rmi", "built/cache")


def test_dockerignore_with_exceptions(stdc, tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "logs").mkdir(parents=True)
    for name in ("keep.txt", "drop.log", "important.log", "logs/a.log", "secret.key"):
        (ctx / name).write_text(name)
    (ctx / ".dockerignore").write_text("*.log\n!important.log\nlogs\nsecret.*\n")
    (ctx / "Dockerfile").write_text("FROM base\nCOPY . /ctx/\n")
    stdc("build", "-t", "built/ignore", *NO_NET, str(ctx))
    found = stdc("run", "--rm", *NO_NET, "built/ignore", "ls", "-A", "/ctx").stdout.split()
    assert sorted(found) == [".dockerignore", "Dockerfile", "important.log", "keep.txt"]
    (ctx / "Dockerfile").write_text("FROM base\nCOPY secret.key /\n")
    failed = stdc("build", *NO_NET, str(ctx), check=False)
    assert failed.returncode != 0 and "secret.key" in failed.stderr and "dockerignore" in failed.stderr
    stdc("rmi", "built/ignore")


def test_failing_step_names_step_command_and_code(stdc, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM base\nRUN echo before\nRUN echo partial > /x; exit 3\nRUN echo never\n")
    failed = stdc("build", "-t", "built/fails", *NO_NET, str(ctx), check=False)
    assert failed.returncode == 1
    assert "Step 3/4 : RUN echo partial > /x; exit 3" in failed.stderr
    assert "returned a non-zero code: 3" in failed.stderr
    assert "never" not in failed.stdout
    assert stdc("inspect", "built/fails", check=False).returncode != 0  # no tag, not even half
    assert stdc("ps", "-aq").stdout.strip() == ""  # no container left


def test_interrupted_build_leaves_nothing(stdc, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM base\nRUN echo started; sleep 600\n")
    proc = subprocess.Popen(
        [STDC, "build", "-t", "built/interrupted", *NO_NET, str(ctx)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "started":  # the RUN's container is running
            break
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert stdc("inspect", "built/interrupted", check=False).returncode != 0
    assert stdc("ps", "-aq").stdout.strip() == ""


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        ("FROM base\nCOPY ../outside /x\n", "outside the build context"),
        ("FROM base\nCOPY link /x\n", "outside the build context"),
        ("FROM base\nCOPY linkdir/passwd /x\n", "outside the build context"),
        ("FROM base\nCOPY /etc/shadow /x\n", "not found in the build context"),
        ("FROM base\nFROBNICATE\n", "unknown instruction"),
        ("FROM base\nRUN --mount=type=cache,target=/x true\n", "not supported"),
        ("FROM nonexistent-image-xyz\n", "no such image"),
    ],
)
def test_context_cannot_be_left_and_bad_input_is_a_clear_error(stdc, tmp_path, dockerfile, message):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (tmp_path / "outside").write_text("secret")
    os.symlink("/etc/passwd", ctx / "link")
    os.symlink("/etc", ctx / "linkdir")
    (ctx / "Dockerfile").write_text(dockerfile)
    failed = stdc("build", *NO_NET, str(ctx), check=False)
    assert failed.returncode != 0
    assert message in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr
    assert stdc("ps", "-aq").stdout.strip() == ""


def test_hostile_dockerignore_and_context_tar(stdc, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM base\nCOPY . /\n")
    (ctx / ".dockerignore").write_text("[unclosed\n")
    failed = stdc("build", *NO_NET, str(ctx), check=False)
    assert failed.returncode != 0 and ".dockerignore" in failed.stderr
    evil = _tar({"Dockerfile": b"FROM base\nCOPY . /\n", "../escaped": b"x"})
    failed = subprocess.run([STDC, "build", *NO_NET, "-"], input=evil, capture_output=True)
    assert failed.returncode != 0 and b"outside" in failed.stderr
    assert not os.path.exists(os.path.join(os.environ["STDC_ROOT"], "escaped"))


def test_context_tar_on_stdin_with_dockerfile_inside(stdc, tmp_path):
    context = _tar({"build/Containerfile": b"FROM base\nCOPY hello /hello\nCMD cat /hello\n", "hello": b"hi\n"})
    done = subprocess.run(
        [STDC, "build", "-q", "-f", "build/Containerfile", "-t", "built/tar", *NO_NET, "-"],
        input=context,
        capture_output=True,
        check=True,
    )
    assert done.stdout.decode().strip().startswith("sha256:")
    assert stdc("run", "--rm", *NO_NET, "built/tar").stdout == "hi\n"
    stdc("rmi", "built/tar")


def test_target_scratch_and_iidfile(stdc, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_text("only file\n")
    (ctx / "Dockerfile").write_text(
        "FROM base AS tools\nRUN echo tools > /t\nFROM scratch AS bare\nCOPY f /f\nFROM base\nRUN false\n"
    )
    iid = tmp_path / "iid"
    stdc("build", "--target", "bare", "--iidfile", str(iid), "-t", "built/bare", *NO_NET, str(ctx))
    assert iid.read_text() == _inspect(stdc, "built/bare")["Id"]
    layout = os.path.join(os.environ["STDC_ROOT"], "images")
    bundle = tmp_path / "bundle"
    subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:built/bare:latest", str(bundle)], capture_output=True, check=True
    )
    assert sorted(os.listdir(bundle / "rootfs")) == ["f"]
    stdc("rmi", "built/bare")


def test_other_storage_and_executor_build(stdc, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM base\nRUN echo vfs-lxc > /made\n")
    stdc("--storage", "vfs", "--exec", "lxc", "build", "-t", "built/vfs", *NO_NET, str(ctx))
    assert stdc("--storage", "vfs", "run", "--rm", *NO_NET, "built/vfs", "cat", "/made").stdout == "vfs-lxc\n"
    stdc("rmi", "built/vfs")
