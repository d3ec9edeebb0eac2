/* The security suite's probe: calls system calls by number, the way an attacker in a container
 * would, and prints one line per check, NAME=ok or NAME=<errno name>.
 *
 * Every call is made harmless when it is allowed: invalid flags, bad descriptors, missing paths,
 * a wrong reboot magic, so that a container that does allow it (--privileged) changes nothing
 * on the host. Built by the suite with `gcc -static` (the base image has no libc).
 *
 *   probe [CHECK...]     the named checks (each in a child of its own), or all of them
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static long result;

/* a raw clone: the child exits at once; returns what the parent saw */
static long clone_with(unsigned long flags) {
    long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    return pid;
}

static long check(const char *name) {
    static char zero[256];
    if (!strcmp(name, "kexec_load")) /* bad flags: EINVAL once allowed, nothing unloaded */
        return syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL);
    if (!strcmp(name, "kexec_file_load"))
        return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, ~0UL);
    if (!strcmp(name, "keyctl")) /* KEYCTL_GET_KEYRING_ID of the session keyring, no create */
        return syscall(SYS_keyctl, 0, -3, 0);
    if (!strcmp(name, "add_key")) /* into the process keyring, gone with the process */
        return syscall(SYS_add_key, "user", "stdc-probe", "x", 1, -2);
    if (!strcmp(name, "request_key"))
        return syscall(SYS_request_key, "user", "stdc-probe-none", NULL, 0);
    if (!strcmp(name, "userfaultfd"))
        return syscall(SYS_userfaultfd, O_CLOEXEC);
    if (!strcmp(name, "io_uring_setup")) /* zero entries: EINVAL once allowed */
        return syscall(SYS_io_uring_setup, 0, zero);
    if (!strcmp(name, "bpf")) /* BPF_MAP_CREATE of nothing: EINVAL once allowed */
        return syscall(SYS_bpf, 0, zero, 8);
    if (!strcmp(name, "perf_event_open")) /* an attr of size 0 and type 0xffff: never opens */
        return (*(unsigned *)zero = 0xffff, syscall(SYS_perf_event_open, zero, 0, -1, -1, 0));
    if (!strcmp(name, "open_by_handle_at")) /* a bad descriptor: EBADF once allowed */
        return syscall(SYS_open_by_handle_at, -1, zero, O_RDONLY);
    if (!strcmp(name, "mount")) { /* a tmpfs on the container's own /tmp, unmounted again */
        long r = mount("none", "/tmp", "tmpfs", 0, "size=16k");
        if (r == 0)
            umount2("/tmp", MNT_DETACH);
        return r;
    }
    if (!strcmp(name, "umount2"))
        return umount2("/stdc-probe-none", 0);
    if (!strcmp(name, "unshare_user"))
        return unshare(CLONE_NEWUSER);
    if (!strcmp(name, "unshare_mount"))
        return unshare(CLONE_NEWNS);
    if (!strcmp(name, "setns")) /* a bad descriptor: EBADF once allowed */
        return setns(-1, 0);
    if (!strcmp(name, "clone_newuser"))
        return clone_with(CLONE_NEWUSER) < 0 ? -1 : 0;
    if (!strcmp(name, "clone_newns"))
        return clone_with(CLONE_NEWNS) < 0 ? -1 : 0;
    if (!strcmp(name, "clone"))
        return clone_with(0) < 0 ? -1 : 0;
    if (!strcmp(name, "clone3")) /* no arguments: EINVAL once allowed */
        return syscall(SYS_clone3, NULL, 0);
    if (!strcmp(name, "personality_bsd")) { /* PER_BSD, not one docker lets through */
        long r = syscall(SYS_personality, 0x0006);
        if (r != -1)
            syscall(SYS_personality, 0);
        return r == -1 ? -1 : 0;
    }
    if (!strcmp(name, "personality_query"))
        return syscall(SYS_personality, 0xffffffffUL) == -1 ? -1 : 0;
    if (!strcmp(name, "socket_alg"))
        return socket(38, SOCK_SEQPACKET, 0);
    if (!strcmp(name, "socket_vsock"))
        return socket(40, SOCK_STREAM, 0);
    if (!strcmp(name, "socket_inet"))
        return socket(AF_INET, SOCK_STREAM, 0);
    if (!strcmp(name, "reboot")) /* wrong magic: EINVAL once allowed, never a reboot */
        return syscall(SYS_reboot, 0, 0, 0, NULL);
    if (!strcmp(name, "swapon"))
        return syscall(SYS_swapon, "/stdc-probe-none", 0);
    if (!strcmp(name, "pivot_root"))
        return syscall(SYS_pivot_root, "/stdc-probe-none", "/stdc-probe-none");
    if (!strcmp(name, "init_module"))
        return syscall(SYS_init_module, NULL, 0, "");
    if (!strcmp(name, "mknod_block")) { /* PROBE_BLOCK=MAJOR:MINOR, a block device of the host */
        unsigned major = 8, minor = 0;
        if (getenv("PROBE_BLOCK"))
            sscanf(getenv("PROBE_BLOCK"), "%u:%u", &major, &minor);
        unlink("/tmp/stdc-probe-sda");
        return mknod("/tmp/stdc-probe-sda", S_IFBLK | 0400, makedev(major, minor));
    }
    if (!strcmp(name, "open_block")) { /* the node made by mknod_block, or one in the image */
        long fd = open("/tmp/stdc-probe-sda", O_RDONLY);
        if (fd >= 0)
            close((int)fd);
        return fd;
    }
    errno = ENOTSUP;
    return -2;
}

static const char *all[] = {
    "kexec_load", "kexec_file_load", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "bpf", "perf_event_open", "open_by_handle_at", "mount", "umount2",
    "unshare_user", "unshare_mount", "setns", "clone_newuser", "clone_newns", "clone", "clone3",
    "personality_bsd", "personality_query", "socket_alg", "socket_vsock", "socket_inet",
    "reboot", "swapon", "pivot_root", "init_module", "mknod_block", "open_block", NULL,
};

/* one check in a child of its own: what it changes (a new user namespace) stays there */
static int run(const char *name) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("%s=fork-failed\n", name);
        return 1;
    }
    if (pid == 0) {
        errno = 0;
        result = check(name);
        if (result == -2)
            printf("%s=unknown-check\n", name);
        else if (result < 0)
            printf("%s=%s\n", name, strerrorname_np(errno));
        else
            printf("%s=ok\n", name);
        fflush(stdout);
        _exit(result == -2 ? 2 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv) {
    const char **names = argc > 1 ? (const char **)argv + 1 : all;
    int failed = 0;
    for (; *names; names++)
        failed |= run(*names);
    return failed;
}
