/*
 * stdc-ttyinit: the first program of a container started with a terminal by an executor whose
 * runtime makes the init a session leader but gives it no controlling terminal (liblxc's start
 * mode setsid()s the init right before executing it). It makes its stdin, the container's
 * terminal, its controlling terminal and executes the payload, which then is pid 1 itself: ctrl-c
 * and job control reach it as under docker without --init.
 *
 *     stdc-ttyinit PROGRAM [ARG...]
 *
 * Nothing else: no signal forwarding, no reaping, as pid 1 is the payload once executed. A failed
 * exec exits 127 (not found) or 126 (not executable), with docker's message on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: stdc-ttyinit PROGRAM [ARG...]\n", stderr);
		return 125;
	}
	setsid(); /* EPERM when liblxc made us a session leader already: that is what we need */
	/* stdin not being a terminal (a terminal run with no console relayed) leaves the payload none */
	ioctl(STDIN_FILENO, TIOCSCTTY, 0);
	execvp(argv[1], argv + 1);
	int code = (errno == ENOENT || errno == ENOTDIR) ? 127 : 126;
	fprintf(stderr, "exec: \"%s\": %s\n", argv[1], strerror(errno));
	return code;
}
