/*
 * stdc-client: the `stdc` command that scripts/setup installs, a shim in front of the Python CLI.
 *
 *   stdc ARGS...
 *
 * When a `stdc daemon` answers on $STDC_DAEMON_SOCKET (default /run/stdc/daemon.sock), the
 * invocation is handed to it exactly as stdc/daemon/client.py hands it (that module is the protocol's
 * reference): "S" with fds 0, 1, 2 as SCM_RIGHTS, then the length-prefixed request (protocol,
 * cwd, argc, argv, environment); the daemon replies "P<worker pid>\n" (signals are forwarded
 * there) and "X<status>\n". Otherwise it execs the Python CLI: STDC_PYTHON -P -m stdc ARGS, the
 * very same command run in-process.
 *
 * Why C: starting Python and its site (~17 ms here) costs a third of a whole container run
 * handed to the daemon; this costs a fraction of a millisecond. It holds no logic of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef STDC_PYTHON
#error "build with -DSTDC_PYTHON='\"/path/to/venv/bin/python3\"'"
#endif

#define PROTOCOL "stdc1"
#define DEFAULT_SOCKET "/run/stdc/daemon.sock"

extern char **environ;
static volatile pid_t worker;

static void forward(int sig)
{
    if (worker > 0)
        kill(worker, sig);
}

/* No daemon: the Python CLI, in this process. Never returns. */
static void run_here(int argc, char **argv)
{
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (!args) {
        fputs("stdc: out of memory\n", stderr);
        exit(125);
    }
    args[0] = STDC_PYTHON;
    args[1] = "-P"; /* not the working directory first on sys.path */
    args[2] = "-m";
    args[3] = "stdc";
    for (int i = 1; i < argc; i++)
        args[i + 3] = argv[i];
    execv(STDC_PYTHON, args);
    fprintf(stderr, "stdc: cannot run %s: %s\n", STDC_PYTHON, strerror(errno));
    exit(125);
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fields joined by NUL, after an 8-byte big-endian length: see stdc.daemon.protocol.encode_request */
static char *request(int argc, char **argv, size_t *size)
{
    char cwd[4096], count[16];
    if (!getcwd(cwd, sizeof cwd))
        return NULL;
    snprintf(count, sizeof count, "%d", argc - 1);
    size_t body = strlen(PROTOCOL) + 1 + strlen(cwd) + 1 + strlen(count);
    for (int i = 1; i < argc; i++)
        body += 1 + strlen(argv[i]);
    for (char **e = environ; *e; e++)
        body += 1 + strlen(*e);
    char *buf = malloc(8 + body + 1), *p; /* + the last field's NUL */
    if (!buf)
        return NULL;
    p = buf + 8;
    for (int i = 0; i < 8; i++)
        buf[i] = (char)((uint64_t)body >> (56 - 8 * i));
    p = stpcpy(p, PROTOCOL) + 1;
    p = stpcpy(p, cwd) + 1;
    p = stpcpy(p, count);
    for (int i = 1; i < argc; i++)
        p = stpcpy(p + 1, argv[i]);
    for (char **e = environ; *e; e++)
        p = stpcpy(p + 1, *e);
    *size = 8 + body;
    return buf;
}

int main(int argc, char **argv)
{
    const char *path = getenv("STDC_DAEMON_SOCKET");
    if (!path || !*path)
        path = DEFAULT_SOCKET;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path || access(path, F_OK) != 0)
        run_here(argc, argv);
    strcpy(addr.sun_path, path);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0)
        run_here(argc, argv);

    int fds[3] = {0, 1, 2};
    char cbuf[CMSG_SPACE(sizeof fds)] = {0};
    struct iovec iov = {.iov_base = "S", .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
    size_t size = 0;
    char *req = request(argc, argv, &size);
    if (!req || sendmsg(sock, &msg, MSG_NOSIGNAL) != 1 || send_all(sock, req, size) != 0) {
        close(sock); /* the daemon's worker sees the hang-up and goes */
        run_here(argc, argv);
    }
    free(req);

    char replies[256];
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(sock, replies + have, sizeof replies - 1 - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fputs("stdc: the daemon went away before the command finished\n", stderr);
            return 125;
        }
        have += (size_t)n;
        char *line;
        while ((line = memchr(replies, '\n', have))) {
            *line = '\0';
            if (replies[0] == 'P') {
                worker = (pid_t)atoi(replies + 1);
                struct sigaction sa = {.sa_handler = forward}; /* no SA_RESTART: recv sees EINTR */
                /* SIGWINCH too: an attached terminal's size follows the client's window */
                int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
                for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
                    sigaction(sigs[i], &sa, NULL);
            } else if (replies[0] == 'X') {
                return atoi(replies + 1);
            }
            size_t used = (size_t)(line + 1 - replies);
            memmove(replies, line + 1, have - used);
            have -= used;
        }
        if (have == sizeof replies - 1)
            have = 0; /* a line longer than any reply: not the daemon's */
    }
}
