/*
 * err.h - the project-wide result codes and the caller-supplied error buffer.
 *
 * Every fallible function in mnemo returns 0 (MNEMO_OK) or one negative code from
 * enum mnemo_rc, and takes an optional struct mnemo_err for a human-readable detail.
 * Codes are generated from one table so the name, the message and the HTTP status can
 * never drift apart. Codes are appended, never renumbered: they reach logs and JSON.
 *
 * Thread-safety: all functions are pure or write only to the caller's buffer.
 */
#ifndef MNEMO_UTIL_ERR_H
#define MNEMO_UTIL_ERR_H

#include <stdarg.h>

/* X(name, value, message, http_status) */
#define MNEMO_RC_TABLE(X)                                                                          \
    X(OK, 0, "success", 200)                                                                       \
    X(EINVAL, -1, "invalid argument", 400)                                                         \
    X(ENOMEM, -2, "out of memory", 500)                                                            \
    X(EIO, -3, "input/output error", 500)                                                          \
    X(ENOTFOUND, -4, "not found", 404)                                                             \
    X(EEXIST, -5, "already exists", 409)                                                           \
    X(EACCES, -6, "permission denied", 403)                                                        \
    X(ETIMEDOUT, -7, "deadline exceeded", 504)                                                     \
    X(EBUSY, -8, "resource busy", 503)                                                             \
    X(ECORRUPT, -9, "database is corrupt", 500)                                                    \
    X(ENOTDB, -10, "file is not a database", 500)                                                  \
    X(ESCHEMA, -11, "unsupported schema version", 500)                                             \
    X(ENOSPC, -12, "no space left on device", 507)                                                 \
    X(ETOOBIG, -13, "value too big", 413)                                                          \
    X(ECLOSED, -14, "resource is closed", 503)                                                     \
    X(ESQLITE, -15, "database error", 500)                                                         \
    X(EINTERNAL, -16, "internal error", 500)

enum mnemo_rc {
#define MNEMO_RC_ENUM(name, value, msg, http) MNEMO_##name = (value),
    MNEMO_RC_TABLE(MNEMO_RC_ENUM)
#undef MNEMO_RC_ENUM
};

/* Size of the detail buffer; long enough for a path, an operation name and a cause. */
#define MNEMO_ERR_MSG_MAX 256

/* Detail for a failed call. Owned by the caller, usually on its stack. */
struct mnemo_err {
    int code;
    char msg[MNEMO_ERR_MSG_MAX];
};

/* Static text for a code ("deadline exceeded"); "unknown error" for codes not in the table. */
const char *mnemo_strerror(int rc);

/* The code's name as it appears in JSON and logs ("MNEMO_ETIMEDOUT"); "MNEMO_EUNKNOWN" for a
 * code not in the table. */
const char *mnemo_rcname(int rc);

/* The HTTP status a worker answers with for this code (500 for unknown codes). */
int mnemo_rc_http_status(int rc);

/* Clears err (code 0, empty message). err may be NULL. */
void mnemo_err_clear(struct mnemo_err *err);

/*
 * Records code and a formatted message in err (may be NULL) and returns code, so a
 * failure path reads `return mnemo_err_set(err, MNEMO_EIO, "cannot read '%s'", p);`.
 * The message is truncated to fit; it never allocates.
 */
int mnemo_err_set(struct mnemo_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* va_list form of mnemo_err_set. */
int mnemo_err_vset(struct mnemo_err *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * The message to show for a failed call: err->msg when set, else mnemo_strerror(rc).
 * The returned pointer is borrowed from err or static storage.
 */
const char *mnemo_err_text(const struct mnemo_err *err, int rc);

#endif
