/*
 * stdc-monitor: the per-container supervisor of a stdc container, like podman's conmon.
 *
 *   stdc-monitor [--echo] [-t] [-i] [-l] [-c] BUNDLE PID [CLEANUP_ARGV...]
 *
 * fds 3 and 4 are the read ends of the payload's stdout and stderr pipes; with
 * -t, fd 3 is instead the master of the payload's pseudo-terminal (its output,
 * and where its input goes) and there is no fd 4. PID (the container's init)
 * is a child of this process. Every chunk read is appended to BUNDLE/log.json
 * in docker's json-file format, one record per line; with --echo the raw bytes
 * are also copied to fds 1 and 2.
 *
 * Attaching: with -l, fd 6 is a listening SOCK_SEQPACKET unix socket (the
 * caller bound it at BUNDLE/attach.sock, so that it exists before the caller
 * returns); with -c, fd 7 is a client already connected. Each client gets
 * every chunk of output read from then on as one packet: a byte 1 (stdout) or
 * 2 (stderr), then the bytes. A client sends packets 'i' + bytes (input: to the
 * terminal with -t, else to fd 5, the write end of the payload's stdin pipe,
 * given with -i; ignored without -i) and 'w' + two uint16 (rows, columns: the
 * terminal's new size, TIOCSWINSZ) and 'e' (its input has ended: without -t the
 * payload's stdin is closed once what is pending is written). A client that cannot take output for
 * SEND_TIMEOUT seconds is dropped, so that none can stall the payload for long.
 *
 * Once the output has ended (both pipes closed, or the terminal hung up) the
 * payload is reaped, BUNDLE/exit.json is written atomically, each client gets
 * a last packet: byte 3 and the exit code in decimal (or "null"), and
 * CLEANUP_ARGV (if any) is exec'd.
 *
 * It lives as long as the container, so it must be small: the Python
 * supervisor it replaces cost ~5 MB of PSS per container, this costs a few
 * pages. Hence: libc only, no malloc, no stdio streams, fixed static buffers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h> /* rename() only: no stdio streams are used */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
#define PATH_LEN 4096
#define MAX_CLIENTS 16
#define SEND_TIMEOUT 10

enum { FD_OUT = 3, FD_ERR = 4, FD_STDIN = 5, FD_LISTEN = 6, FD_CLIENT = 7 };
enum { P_OUT = 0, P_ERR, P_STDIN, P_LISTEN, P_CLIENTS }; /* slots in the poll set */

static unsigned char packet[1 + CHUNK]; /* a stream byte, then one read() of output */
static unsigned char *const in = packet + 1;
static unsigned char pending[CHUNK];  /* input waiting for the payload to read it */
static size_t pending_len, pending_off;
static char out[16384];           /* JSON records waiting to be written */
static size_t out_len;
static int log_fd = -1;
static int failed;                /* an error was reported: exit 1 */

/* One line on stderr: "stdc-monitor: WHAT[ ARG][: strerror(err)]". */
static void warn(const char *what, const char *arg, int err)
{
    char msg[PATH_LEN + 256];
    size_t n = 0;
    const char *parts[] = {"stdc-monitor: ", what, arg ? " " : "", arg ? arg : "",
                           err ? ": " : "", err ? strerror(err) : ""};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        size_t k = strlen(parts[i]);
        if (k > sizeof msg - 1 - n)
            k = sizeof msg - 1 - n;
        memcpy(msg + n, parts[i], k);
        n += k;
    }
    msg[n++] = '\n';
    (void)!write(2, msg, n);
    failed = 1;
}

/* Write everything, retrying on EINTR and short writes; 0 or an errno. */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void flush(void)
{
    static int reported;
    int err = out_len && log_fd >= 0 ? write_all(log_fd, out, out_len) : 0;
    if (err && !reported) { /* e.g. a full disk: say so once, keep draining */
        warn("cannot write log.json", NULL, err);
        reported = 1;
    }
    out_len = 0;
}

static void put(const char *s, size_t n)
{
    while (n) {
        size_t k = sizeof out - out_len < n ? sizeof out - out_len : n;
        memcpy(out + out_len, s, k);
        out_len += k;
        s += k;
        n -= k;
        if (out_len == sizeof out)
            flush();
    }
}

/* Append the decimal digits of v, zero-padded to width. */
static char *digits(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < width);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* "2026-11-27T22:00:00.123456789Z", computed by hand: gmtime() may read the
 * zoneinfo files and allocate, and we only ever want UTC. */
static size_t timestamp(char *buf)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* civil_from_days, after Howard Hinnant's date algorithms */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    const uint64_t field[] = {(uint64_t)y, (uint64_t)m, (uint64_t)d, (uint64_t)rem / 3600,
                              (uint64_t)rem / 60 % 60, (uint64_t)rem % 60, (uint64_t)ts.tv_nsec};
    static const int width[] = {4, 2, 2, 2, 2, 2, 9};
    char *p = buf;
    for (int i = 0; i < 7; i++) {
        p = digits(p, field[i], width[i]);
        *p++ = "--T::.Z"[i]; /* the separator after each field */
    }
    return (size_t)(p - buf);
}

/* One code point, escaped like Python's json.dumps(ensure_ascii=True). */
static void put_escaped(uint32_t c)
{
    static const char hex[] = "0123456789abcdef";
    char e[12];
    switch (c) {
    case '"': put("\\\"", 2); return;
    case '\\': put("\\\\", 2); return;
    case '\n': put("\\n", 2); return;
    case '\r': put("\\r", 2); return;
    case '\t': put("\\t", 2); return;
    case '\b': put("\\b", 2); return;
    case '\f': put("\\f", 2); return;
    }
    if (c >= 0x20 && c < 0x7f) {
        e[0] = (char)c;
        put(e, 1);
        return;
    }
    if (c > 0xffff) { /* a UTF-16 surrogate pair */
        c -= 0x10000;
        put_escaped(0xd800 | (c >> 10));
        put_escaped(0xdc00 | (c & 0x3ff));
        return;
    }
    memcpy(e, "\\u", 2);
    for (int i = 0; i < 4; i++)
        e[2 + i] = hex[(c >> (12 - 4 * i)) & 0xf];
    put(e, 6);
}

/*
 * Decode one UTF-8 character at p (n bytes left) the way Python's
 * bytes.decode("utf-8", "replace") does: an ill-formed sequence becomes one
 * U+FFFD per "maximal subpart" (the longest prefix that could still have
 * become a valid character), overlongs and surrogates are ill-formed, and a
 * sequence cut off by the end of the chunk becomes a single U+FFFD.
 * Returns the number of bytes consumed.
 */
static size_t decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char b = p[0], lo = 0x80, hi = 0xbf;
    size_t need;
    *cp = 0xfffd;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf)
        need = 1;
    else if (b >= 0xe0 && b <= 0xef)
        need = 2;
    else if (b >= 0xf0 && b <= 0xf4)
        need = 3;
    else
        return 1; /* a continuation byte, C0/C1 (always overlong), or F5..FF */
    /* the second byte's range is what rules out overlongs, surrogates and > U+10FFFF */
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
    uint32_t c = b & (0x3f >> need);
    for (size_t i = 1; i <= need; i++) {
        if (i >= n)
            return i; /* truncated: the whole valid prefix is one U+FFFD */
        if (p[i] < lo || p[i] > hi)
            return i;
        c = c << 6 | (p[i] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }
    *cp = c;
    return need + 1;
}

/* Append one chunk to the log: a record per line, split on '\n' only. */
static void log_chunk(const unsigned char *p, size_t n, const char *stream)
{
    char stamp[40];
    size_t stamp_len = timestamp(stamp);
    int open_record = 0;
    while (n) {
        uint32_t c;
        size_t used = decode(p, n, &c);
        if (!open_record) {
            put("{\"log\":\"", 8);
            open_record = 1;
        }
        put_escaped(c);
        p += used;
        n -= used;
        if (c == '\n' || n == 0) {
            put("\",\"stream\":\"", 12);
            put(stream, strlen(stream));
            put("\",\"time\":\"", 10);
            put(stamp, stamp_len);
            put("\"}\n", 3);
            open_record = 0;
        }
    }
    flush();
}

/* BUNDLE "/" NAME into buf; 0 if it does not fit. */
static int join(char *buf, const char *bundle, const char *name)
{
    size_t a = strlen(bundle), b = strlen(name);
    if (a + 1 + b + 1 > PATH_LEN)
        return 0;
    memcpy(buf, bundle, a);
    buf[a] = '/';
    memcpy(buf + a + 1, name, b + 1);
    return 1;
}

/* {"exit_code": N, "finished": 1764280800.123456} to exit.json.tmp, renamed into place. */
static void write_exit(const char *bundle, int code)
{
    char tmp[PATH_LEN], final[PATH_LEN], rec[96], *p = rec;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    memcpy(p, "{\"exit_code\": ", 14);
    p += 14;
    if (code < 0) {
        memcpy(p, "null", 4); /* the payload could not be reaped */
        p += 4;
    } else {
        p = digits(p, (uint64_t)code, 1);
    }
    memcpy(p, ", \"finished\": ", 14);
    p = digits(p + 14, (uint64_t)ts.tv_sec, 1);
    *p++ = '.';
    p = digits(p, (uint64_t)(ts.tv_nsec / 1000), 6);
    *p++ = '}';
    if (!join(tmp, bundle, "exit.json.tmp") || !join(final, bundle, "exit.json")) {
        warn("bundle path too long:", bundle, 0);
        return;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int err = fd < 0 ? errno : write_all(fd, rec, (size_t)(p - rec));
    if (fd >= 0 && close(fd) && !err)
        err = errno;
    if (!err && rename(tmp, final))
        err = errno;
    if (err)
        warn("cannot write", final, err);
}

/* Take a client on: a send that blocks longer than SEND_TIMEOUT fails instead. */
static int add_client(struct pollfd *fds, int fd)
{
    struct timeval tv = {.tv_sec = SEND_TIMEOUT};
    for (int i = P_CLIENTS; i < P_CLIENTS + MAX_CLIENTS; i++) {
        if (fds[i].fd < 0) {
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            fds[i].fd = fd;
            fds[i].events = POLLIN;
            return 1;
        }
    }
    close(fd); /* too many at once: the newcomer sees the door shut */
    return 0;
}

static void drop_client(struct pollfd *slot)
{
    close(slot->fd);
    slot->fd = -1;
}

/* One packet to every client; one that fails (gone, or stuck) is dropped. */
static void broadcast(struct pollfd *fds, const void *buf, size_t len)
{
    for (int i = P_CLIENTS; i < P_CLIENTS + MAX_CLIENTS; i++) {
        if (fds[i].fd < 0)
            continue;
        ssize_t w;
        while ((w = send(fds[i].fd, buf, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
            ;
        if (w < 0)
            drop_client(&fds[i]);
    }
}

/* A packet from a client: input for the payload, or its terminal's new size. */
static int input_ended; /* a client sent 'e': close the stdin pipe once pending input is written */

static void close_input(struct pollfd *fds, int *input_fd)
{
    close(*input_fd);
    *input_fd = -1;
    fds[P_STDIN].fd = -1;
}

static void from_client(struct pollfd *fds, struct pollfd *slot, int tty, int *input_fd_p)
{
    int input_fd = *input_fd_p;
    static unsigned char msg[1 + CHUNK];
    ssize_t n = recv(slot->fd, msg, sizeof msg, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        drop_client(slot);
        return;
    }
    if (msg[0] == 'i' && input_fd >= 0 && n > 1) {
        memcpy(pending, msg + 1, (size_t)n - 1);
        pending_len = (size_t)n - 1;
        pending_off = 0;
        fds[P_STDIN].fd = input_fd; /* poll for room in the payload's input */
    } else if (msg[0] == 'w' && tty && n >= 5) {
        struct winsize ws = {0};
        uint16_t rc[2];
        memcpy(rc, msg + 1, sizeof rc);
        ws.ws_row = rc[0];
        ws.ws_col = rc[1];
        ioctl(FD_OUT, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH to its foreground */
    } else if (msg[0] == 'e' && input_fd >= 0 && !tty) {
        input_ended = 1;
        if (!pending_len)
            close_input(fds, input_fd_p);
    }
}

/* Hand pending input to the payload as it reads it; input it can never read is dropped. */
static void feed(struct pollfd *fds, int *input_fd, int tty)
{
    ssize_t w = write(*input_fd, pending + pending_off, pending_len - pending_off);
    if (w < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (w < 0) { /* EPIPE: nobody reads the payload's stdin any more */
        pending_len = pending_off = 0;
        if (!tty) {
            close(*input_fd);
            *input_fd = -1;
        }
    } else {
        pending_off += (size_t)w;
    }
    if (pending_off == pending_len) {
        pending_len = pending_off = 0;
        fds[P_STDIN].fd = -1;
        if (input_ended && *input_fd >= 0 && !tty)
            close_input(fds, input_fd);
    }
}

int main(int argc, char **argv)
{
    int echo = 0, tty = 0, input = 0, listening = 0, client = 0, code = -1;
    char path[PATH_LEN];
    for (; argc > 1 && argv[1][0] == '-'; argv++, argc--) {
        if (strcmp(argv[1], "--echo") == 0)
            echo = 1;
        else if (strcmp(argv[1], "-t") == 0)
            tty = 1;
        else if (strcmp(argv[1], "-i") == 0)
            input = 1;
        else if (strcmp(argv[1], "-l") == 0)
            listening = 1;
        else if (strcmp(argv[1], "-c") == 0)
            client = 1;
        else
            break;
    }
    char *end = NULL;
    long pid = argc > 2 ? strtol(argv[2], &end, 10) : 0;
    if (argc < 3 || pid <= 0 || *end) {
        warn("usage: stdc-monitor [--echo] [-t] [-i] [-l] [-c] BUNDLE PID [CLEANUP_ARGV...]", NULL, 0);
        return 2;
    }
    const char *bundle = argv[1];
    char **cleanup = argc > 3 ? argv + 3 : NULL;

    signal(SIGPIPE, SIG_IGN);  /* a vanished echo reader is EPIPE, not death */
    signal(SIGCHLD, SIG_DFL);  /* SIG_IGN inherited would make waitpid fail */
    /* keep nothing but 0-7 (and the log): a stray inherited write end of the
     * payload's pipes would keep us from ever seeing EOF */
#ifdef SYS_close_range
    syscall(SYS_close_range, FD_CLIENT + 1U, ~0U, 0U);
#endif

    if (!join(path, bundle, "log.json"))
        warn("bundle path too long:", bundle, 0);
    else if ((log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0)
        warn("cannot open", path, errno); /* go on: drain the pipes, reap, record */

    /* the input of the payload: its terminal, or its stdin pipe; written without blocking */
    int input_fd = !input ? -1 : tty ? FD_OUT : FD_STDIN;
    if (input_fd >= 0)
        fcntl(input_fd, F_SETFL, fcntl(input_fd, F_GETFL) | O_NONBLOCK);

    struct pollfd fds[P_CLIENTS + MAX_CLIENTS];
    for (int i = 0; i < P_CLIENTS + MAX_CLIENTS; i++)
        fds[i] = (struct pollfd){.fd = -1, .events = POLLIN};
    fds[P_OUT].fd = FD_OUT;
    fds[P_ERR].fd = tty ? -1 : FD_ERR;
    fds[P_STDIN].events = POLLOUT;
    fds[P_LISTEN].fd = listening ? FD_LISTEN : -1;
    if (client)
        add_client(fds, FD_CLIENT);
    static const char *const names[2] = {"stdout", "stderr"};
    int echo_to[2] = {echo ? 1 : -1, echo ? 2 : -1};
    int live = tty ? 1 : 2;
    while (live) {
        if (poll(fds, P_CLIENTS + MAX_CLIENTS, -1) < 0) {
            if (errno == EINTR)
                continue;
            warn("poll", NULL, errno);
            for (int i = 0; i < 2; i++) /* the payload gets EPIPE rather than hanging */
                if (fds[i].fd >= 0)
                    close(fds[i].fd);
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            ssize_t n = fds[i].revents & POLLNVAL ? 0 : read(fds[i].fd, in, CHUNK);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) { /* EOF, or EIO from a terminal nobody holds any more: this stream is done */
                if (!(fds[i].revents & POLLNVAL) && !(tty && input_fd >= 0))
                    close(fds[i].fd);
                fds[i].fd = -1; /* poll() skips negative fds */
                live--;
                continue;
            }
            if (echo_to[i] >= 0 && write_all(echo_to[i], in, (size_t)n))
                echo_to[i] = -1; /* EPIPE, EBADF, …: stop echoing, keep logging */
            if (log_fd >= 0)
                log_chunk(in, (size_t)n, names[i]);
            packet[0] = (unsigned char)(i + 1);
            broadcast(fds, packet, (size_t)n + 1);
        }
        if (fds[P_STDIN].fd >= 0 && fds[P_STDIN].revents)
            feed(fds, &input_fd, tty);
        if (fds[P_LISTEN].fd >= 0 && fds[P_LISTEN].revents & POLLIN) {
            int fd = accept4(FD_LISTEN, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                add_client(fds, fd);
        }
        for (int i = P_CLIENTS; i < P_CLIENTS + MAX_CLIENTS; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            if (fds[i].revents & POLLIN)
                from_client(fds, &fds[i], tty, &input_fd);
            else /* POLLHUP or POLLERR */
                drop_client(&fds[i]);
        }
        /* while input waits for the payload, read no more from clients: back-pressure */
        for (int i = P_CLIENTS; i < P_CLIENTS + MAX_CLIENTS; i++)
            fds[i].events = pending_len ? 0 : POLLIN;
    }
    if (log_fd >= 0)
        close(log_fd);
    if (listening) { /* no new clients: the container is over */
        close(FD_LISTEN);
        if (join(path, bundle, "attach.sock"))
            unlink(path);
    }
    if (input_fd >= 0)
        close(input_fd);

    int status;
    pid_t r;
    while ((r = waitpid((pid_t)pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        warn("cannot reap payload", argv[2], errno);
    else if (WIFEXITED(status))
        code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        code = 128 + WTERMSIG(status);
    write_exit(bundle, code);
    packet[0] = 3;
    size_t len = code < 0 ? (memcpy(in, "null", 4), 4) : (size_t)(digits((char *)in, (uint64_t)code, 1) - (char *)in);
    broadcast(fds, packet, len + 1);
    for (int i = P_CLIENTS; i < P_CLIENTS + MAX_CLIENTS; i++)
        if (fds[i].fd >= 0)
            drop_client(&fds[i]);

    if (!cleanup)
        return failed;
    signal(SIGPIPE, SIG_DFL); /* ignored signals survive execve: hand over a clean slate */
    execv(cleanup[0], cleanup);
    warn("cannot execute", cleanup[0], errno);
    return 1;
}
