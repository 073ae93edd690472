/*
 * uhttp.h - a small HTTP/1.1 client over a Unix socket with one absolute deadline for the
 * whole exchange (connect, send, receive). It is what the hooks use to reach the worker: a
 * hook must answer within its budget whatever the worker does, so every blocking step polls
 * against the deadline, and it must start fast, so it has no dependency beyond libc.
 *
 * Ownership: a response's body is malloc'd and owned by the caller (mnemo_uhttp_resp_release).
 * Thread-safety: no shared state; calls from several threads are independent.
 */
#ifndef MNEMO_UTIL_UHTTP_H
#define MNEMO_UTIL_UHTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Largest response body read, in bytes (a bigger one is an error). */
#define MNEMO_UHTTP_MAX_BODY (16 * 1024 * 1024)

struct mnemo_uhttp_resp {
    int status; /* HTTP status, 0 when none */
    char *body; /* NUL-terminated, malloc'd; NULL when empty */
    size_t len;
};

void mnemo_uhttp_resp_release(struct mnemo_uhttp_resp *r);

/*
 * One request: method ("GET", "POST", ...) and path ("/v1/health") to the server listening on
 * socket_path; body (may be NULL) is sent as application/json. deadline_ns is absolute
 * (mnemo_clock_mono_ns). One connection per call (Connection: close).
 * Returns 0 with out filled (any HTTP status), MNEMO_ECLOSED when nothing listens (no socket
 * file, connection refused), MNEMO_ETIMEDOUT when the deadline passed, MNEMO_EIO on a broken
 * exchange or malformed response, MNEMO_ETOOBIG, MNEMO_ENOMEM. out is empty on failure.
 */
int mnemo_uhttp_call(const char *socket_path, const char *method, const char *path,
                     const char *body, size_t body_len, int64_t deadline_ns,
                     struct mnemo_uhttp_resp *out, struct mnemo_err *err);

#endif
