/*
 * dump.c: the state dump SIGUSR1 asks for, for an operator without
 * porterctl or a bug report: a header, then the status and connections
 * tables exactly as porterctl prints them. The file is written aside and
 * renamed into place, so a reader never sees half a dump and a symbolic link
 * planted there is replaced, not followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

#define DUMP_MODE 0640

void
dump_write(const char *dir)
{
	char *path = mem_asprintf("%s/%s", dir, PORTER_DUMP_NAME);
	char *tmp = mem_asprintf("%s.XXXXXX", path);
	struct cbuf b = { 0 };
	char now[32], started[32];
	int fd;

	render_time(time(NULL), now, sizeof(now));
	render_time(porter.start_time, started, sizeof(started));
	cbuf_printf(&b,
	    "porterd %s state dump\ntime: %s\npid: %d\nstarted: %s\nreloads: %llu\n"
	    "services: %zu\nservers: %zu\n\nservices:\n",
	    PORTER_VERSION, now, (int)getpid(), started, (unsigned long long)porter.reloads,
	    service_count(), child_count());
	command_status(&b, false);
	cbuf_puts(&b, "\nconnections:\n");
	command_connections(&b, false);
	if (b.full)
		log_warnx("state dump: longer than %u bytes or out of memory; not written",
		    CBUF_MAX);
	else if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		log_warn("state dump %s", path);
	else {
		size_t off = 0;
		bool ok = fchmod(fd, DUMP_MODE) == 0;

		while (ok && off < b.len) {
			ssize_t n = write(fd, b.p + off, b.len - off);

			if (n < 0 && errno == EINTR)
				continue;
			ok = n > 0;
			off += n > 0 ? (size_t)n : 0;
		}
		if (close(fd) != 0)
			ok = false;
		if (ok && rename(tmp, path) == 0)
			log_info("state dump written to %s", path);
		else {
			log_warn("state dump %s", path);
			unlink(tmp);
		}
	}
	cbuf_free(&b);
	free(tmp);
	free(path);
}
