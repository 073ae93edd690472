/*
 * testutil.h - helpers shared by mnemo's cmocka tests: temp dirs, processes, files.
 *
 * Include order for cmocka: this header pulls in <stdarg.h> <stddef.h> <stdint.h>
 * <setjmp.h> and <cmocka.h>, so a test includes it first.
 * Thread-safety: none needed; tests call these from the main thread.
 */
#ifndef MNEMO_TESTUTIL_H
#define MNEMO_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "store/store.h"

/* A fresh directory under $TMPDIR (or /tmp), mode 0700. Fails the test on error. */
struct tu_dir {
    char path[256];
};
void tu_dir_make(struct tu_dir *d);
/* Removes the directory tree (restoring write permission where a test took it away). */
void tu_dir_remove(struct tu_dir *d);
/* Writes dir/name into buf. Returns buf. */
const char *tu_path(const struct tu_dir *d, const char *name, char *buf, size_t size);

/* Size of path in bytes, or -1 when it does not exist. */
int64_t tu_file_size(const char *path);
/* Writes data to path (creating it). Fails the test on error. */
void tu_file_write(const char *path, const void *data, size_t len);
/* Reads up to max bytes of path into a malloc'd NUL-terminated buffer; NULL if missing. */
char *tu_file_read(const char *path, size_t max, size_t *len);

/* A store config with the defaults, the given path, and logs to log (may be NULL). */
void tu_store_config(struct mnemo_store_config *cfg, const char *path, struct mnemo_log *log);

/* Opens a logger writing debug and above to path. */
struct mnemo_log *tu_log_open(const char *path);

/* Runs argv (argv[0] a path) with optional stdin text; captures stdout/stderr (malloc'd,
 * may be NULL) and returns the exit status (or 128+signal). env_extra: NULL-terminated
 * "K=V" strings added to the environment (may be NULL). */
int tu_run(char *const argv[], char *const env_extra[], const char *stdin_text, char **out,
           char **errout);

/* The mnemo binary under test (from $MNEMO_BIN). Skips the test when unset. */
const char *tu_mnemo_bin(void);

/* Monotonic milliseconds. */
int64_t tu_now_ms(void);

#endif
