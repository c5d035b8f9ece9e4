/*
 * replay.c: runs a libFuzzer harness once over each saved input, without
 * libFuzzer, so that make check can replay the corpus with any compiler and
 * every crash the fuzzer ever found stays a regression test. Arguments are
 * files or directories (read recursively, in sorted order).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
/* Optional in a harness, as with libFuzzer. */
int LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

static const char *replay_current; /* the input being run, for a crash */
static int replay_verbose;
static unsigned long replay_count;
static int replay_errors;

/* A sanitizer report ends in abort() (abort_on_error=1): say which input
 * it was about, then die of the same signal. */
static void
replay_onabort(int sig)
{
	if (replay_current != NULL) {
		static const char pre[] = "replay: crashed on ";
		ssize_t r;

		r = write(STDERR_FILENO, pre, sizeof(pre) - 1);
		r = write(STDERR_FILENO, replay_current, strlen(replay_current));
		r = write(STDERR_FILENO, "\n", 1);
		(void)r;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads a whole file into a buffer of exactly its size, so that the
 * sanitizers see any read past the end of the input. */
static uint8_t *
replay_read(const char *path, size_t *lenp)
{
	uint8_t *buf = NULL, *exact;
	size_t len = 0, cap = 0;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		size_t n;

		if (len == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp))
		goto fail;
	fclose(fp);
	/* malloc(0) gives a unique pointer with no bytes behind it. */
	if ((exact = malloc(len)) == NULL && len != 0) {
		free(buf);
		return NULL;
	}
	memcpy(exact, buf, len);
	free(buf);
	*lenp = len;
	return exact;
fail:
	free(buf);
	fclose(fp);
	return NULL;
}

static void
replay_file(const char *path)
{
	uint8_t *data;
	size_t len;
	int r;

	if ((data = replay_read(path, &len)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		replay_errors++;
		return;
	}
	if (replay_verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	replay_current = path;
	r = LLVMFuzzerTestOneInput(data, len);
	replay_current = NULL;
	free(data);
	replay_count++;
	/* libFuzzer reserves every value but 0 and -1 (reject input). */
	if (r != 0 && r != -1) {
		fprintf(stderr, "replay: %s: harness returned %d\n", path, r);
		replay_errors++;
	}
}

static void
replay_path(const char *path)
{
	struct dirent **ents;
	struct stat st;
	int n;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		replay_errors++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	if ((n = scandir(path, &ents, NULL, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		replay_errors++;
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char *sub;

		if (name[0] == '.') {
			free(ents[i]);
			continue;
		}
		if (asprintf(&sub, "%s/%s", path, name) == -1) {
			fprintf(stderr, "replay: out of memory\n");
			exit(1);
		}
		replay_path(sub);
		free(sub);
		free(ents[i]);
	}
	free(ents);
}

int
main(int argc, char **argv)
{
	int first = 1;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		replay_verbose = 1;
		first = 2;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: %s [-v] file|directory ...\n", argv[0]);
		return 64;
	}
	signal(SIGABRT, replay_onabort);
	for (int i = first; i < argc; i++)
		replay_path(argv[i]);
	printf("replay: %lu inputs, %d errors\n", replay_count, replay_errors);
	return replay_errors ? 1 : 0;
}
