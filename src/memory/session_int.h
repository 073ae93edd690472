/*
 * session_int.h - helpers shared by session.c, prompt.c and summary.c; not a public API.
 *
 * Thread-safety: every helper is pure or works on the caller's connection and statement.
 */
#ifndef MNEMO_MEMORY_SESSION_INT_H
#define MNEMO_MEMORY_SESSION_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * Resolves a caller's timestamp: 0 means the wall clock now, a positive value is taken as
 * it is. Returns 0, or MNEMO_EINVAL naming what for a negative value.
 */
int mnemo__session_now(int64_t now_ms, const char *what, int64_t *out, struct mnemo_err *err);

/*
 * Offset of the first byte of s[0..n) that does not start a well-formed UTF-8 sequence, or n
 * when all of it is valid UTF-8.
 */
size_t mnemo__session_utf8_check(const char *s, size_t n);

/*
 * Checks an optional text field: NULL and "" are fine; otherwise at most max bytes of valid
 * UTF-8. field names it in the message. Returns 0, MNEMO_ETOOBIG or MNEMO_EINVAL.
 */
int mnemo__session_check_text(const char *s, size_t max, const char *field, struct mnemo_err *err);

/*
 * Steps stmt, which must produce no row, and resets it. Returns 0 or the error of
 * mnemo_conn_error naming what.
 */
int mnemo__session_step_done(struct mnemo_conn *conn, sqlite3_stmt *stmt, const char *what,
                             struct mnemo_err *err);

/* Translates the first failed bind (rc != SQLITE_OK) into a mnemo error naming what. */
int mnemo__session_bind_error(struct mnemo_conn *conn, int rc, const char *what,
                              struct mnemo_err *err);

/* Copies text column col into buf (size bytes), cut at a UTF-8 boundary; NULL gives "". */
void mnemo__session_column_copy(sqlite3_stmt *stmt, int col, char *buf, size_t size);

/* A malloc'd copy of text column col ("" for NULL), or NULL when out of memory. */
char *mnemo__session_column_dup(sqlite3_stmt *stmt, int col);

/*
 * Makes room for one more element in a malloc'd array (NULL at first) of elem-byte items
 * holding n of *cap, doubling up to max items. Returns the array to use from now on (arr
 * itself when it had room), or NULL when out of memory, in which case arr is still valid and
 * unchanged. Callers never ask for more than max items.
 */
void *mnemo__session_grow(void *arr, size_t elem, int n, int *cap, int max);

#endif
