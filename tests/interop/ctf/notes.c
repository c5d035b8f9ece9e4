/*
 * notes.c: a small challenge of the kind CTF hosts serve one process per
 * connection, written the way such challenges are: fixed buffers, strcpy,
 * a command that hands input to system(). It reads commands from stdin:
 *   name NAME    remembers NAME (strcpy into 32 bytes)
 *   flag         prints the flag file when the name is "admin"
 *   note TEXT    appends TEXT to /tmp/notes; "notes" prints them
 *   run CMD      system(CMD), "for the admin's convenience"
 *   grow MB      keeps MB megabytes of notes in memory
 *   spawn N      starts N helper processes that wait
 *   quit
 * Each answer ends with a line "> " so that a client can wait for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char name[32] = "guest";

static void
show(const char *path)
{
	char line[256];
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		printf("cannot open %s\n", path);
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL)
		fputs(line, stdout);
	fclose(fp);
}

int
main(void)
{
	char line[512];

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("notes v1.0\n> ");
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "name ", 5) == 0) {
			strcpy(name, line + 5);
			printf("hello %s\n", name);
		} else if (strcmp(line, "flag") == 0) {
			if (strcmp(name, "admin") == 0)
				show("/flag.txt");
			else
				printf("only admin\n");
		} else if (strncmp(line, "note ", 5) == 0) {
			FILE *fp = fopen("/tmp/notes", "a");

			if (fp == NULL) {
				printf("cannot write\n");
			} else {
				fprintf(fp, "%s\n", line + 5);
				fclose(fp);
				printf("noted\n");
			}
		} else if (strcmp(line, "notes") == 0) {
			show("/tmp/notes");
		} else if (strncmp(line, "run ", 4) == 0) {
			int rc = system(line + 4);

			printf("run: %d\n", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
		} else if (strncmp(line, "grow ", 5) == 0) {
			long mb = atol(line + 5);

			for (long i = 0; i < mb; i++) {
				char *p = malloc(1 << 20);

				if (p == NULL)
					break;
				memset(p, 'n', 1 << 20);
			}
			printf("grown\n");
		} else if (strncmp(line, "spawn ", 6) == 0) {
			int n = atoi(line + 6), made = 0;

			for (int i = 0; i < n; i++) {
				pid_t pid = fork();

				if (pid < 0)
					break;
				if (pid == 0) {
					pause();
					_exit(0);
				}
				made++;
			}
			printf("spawned %d\n", made);
		} else if (strcmp(line, "quit") == 0) {
			break;
		} else {
			printf("unknown\n");
		}
		printf("> ");
	}
	return 0;
}
