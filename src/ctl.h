/*
 * ctl.h: the control protocol as porterd and porterctl both know it: where
 * the socket is, how long a request may be and which commands there are. It
 * holds no code of either side, so porterctl needs nothing else of porterd
 * but conf.h's few constants.
 */
#ifndef CTL_H
#define CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/*
 * Without -C, porterd tries PORTER_CONTROL; when it cannot create that, it
 * falls back to PORTER_CONTROL_FALLBACK_DIR/PORTER_CONTROL_NAME with its
 * effective uid, and porterctl looks there when PORTER_CONTROL does not
 * exist.
 */
#define PORTER_CONTROL "/run/porter/control.sock"
#define PORTER_CONTROL_FALLBACK_DIR "/tmp/porter-%lu" /* printf'd with the euid */
#define PORTER_CONTROL_NAME "control.sock"
#define PORTER_DUMP_NAME "porterd.dump" /* SIGUSR1, next to the socket */

/* The longest request line porterd reads, newline included. */
#define CTL_LINE_MAX 4096

enum ctl_cmd {
	CTL_STATUS,
	CTL_CONNECTIONS,
	CTL_RELOAD,
	CTL_RESTART,
	CTL_DISABLE,
	CTL_ENABLE,
	CTL_PAUSE,
	CTL_RESUME,
	CTL_CHECK,
	CTL_EXPLAIN,
	CTL_METRICS,
	CTL_SECURITY,
	CTL_NCMDS
};

/*
 * A request is the command's name and its arguments as words on one line,
 * with --json anywhere to ask for JSON. lookup: unless told not to (-n),
 * porterctl adds one more word, name=NAME, the reverse name of the address
 * it was given (empty when there is none), so that porterd never waits for
 * DNS; porterd's usage message shows that word, porterctl's does not.
 */
struct ctl_command {
	const char *name;
	int min; /* arguments the operator gives */
	int max;
	const char *args; /* how they read after the name in a usage line */
	bool lookup;
};

/* In the order porterctl's usage lists them. */
static const struct ctl_command ctl_commands[CTL_NCMDS] = {
	[CTL_STATUS] = { "status", 0, 0, "", false },
	[CTL_CONNECTIONS] = { "connections", 0, 0, "", false },
	[CTL_RELOAD] = { "reload", 0, 0, "", false },
	[CTL_RESTART] = { "restart", 0, 0, "", false },
	[CTL_DISABLE] = { "disable", 1, 1, " ID", false },
	[CTL_ENABLE] = { "enable", 1, 1, " ID", false },
	[CTL_PAUSE] = { "pause", 1, 1, " ID", false },
	[CTL_RESUME] = { "resume", 1, 1, " ID", false },
	[CTL_CHECK] = { "check", 0, 0, "", false },
	[CTL_EXPLAIN] = { "explain", 2, 3, " SERVICE ADDRESS [HH:MM]", true },
	[CTL_METRICS] = { "metrics", 0, 0, "", false },
	[CTL_SECURITY] = { "security", 0, 1, " [ID]", false },
};

#define CTL_LOOKUP_ARGS " [name=NAME]" /* the word porterctl adds */

/* The command of that name, or CTL_NCMDS. */
static inline enum ctl_cmd
ctl_find(const char *name)
{
	for (int i = 0; i < CTL_NCMDS; i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return (enum ctl_cmd)i;
	return CTL_NCMDS;
}

#endif
