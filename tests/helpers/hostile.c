/*
 * hostile.c: a server for the sandbox tests that tries one thing a
 * confined server should not be able to do, chosen by argv[1], and prints
 * what happened: "ok", or the errno's name. None of them can harm the
 * machine when nothing stops them: the mount point does not exist and the
 * reboot magic is wrong. caps and nnp print lines of /proc/self/status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *
errname(int e)
{
	switch (e) {
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ENOENT:
		return "ENOENT";
	case EINVAL:
		return "EINVAL";
	case ENOSYS:
		return "ENOSYS";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case ENODEV:
		return "ENODEV";
	default:
		return strerror(e);
	}
}

static void
said(long rc)
{
	printf("%s\n", rc >= 0 ? "ok" : errname(errno));
}

static void
status_lines(const char *const *keys)
{
	char line[256];
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL) {
		printf("%s\n", errname(errno));
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL)
		for (const char *const *k = keys; *k != NULL; k++)
			if (strncmp(line, *k, strlen(*k)) == 0)
				fputs(line, stdout);
	fclose(fp);
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (strcmp(mode, "ptrace") == 0)
		said(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	else if (strcmp(mode, "mount") == 0)
		said(syscall(SYS_mount, "none", "/nonexistent/porter-hostile", "tmpfs", 0L, NULL));
	else if (strcmp(mode, "keyctl") == 0)
		/* KEYCTL_GET_KEYRING_ID of the session keyring, not created. */
		said(syscall(SYS_keyctl, 0L, -3L, 0L));
	else if (strcmp(mode, "reboot") == 0)
		/* No valid magic: the kernel refuses it whatever the caller. */
		said(syscall(SYS_reboot, 0L, 0L, 0L, NULL));
	else if (strcmp(mode, "socket-inet") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		said(fd);
		if (fd >= 0)
			close(fd);
	} else if (strcmp(mode, "caps") == 0)
		status_lines((const char *const[]){ "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
		    "CapAmb:", NULL });
	else if (strcmp(mode, "nnp") == 0)
		status_lines((const char *const[]){ "NoNewPrivs:", "Seccomp:", NULL });
	else {
		printf("unknown mode\n");
		return 2;
	}
	printf("end\n");
	return 0;
}
