/*
 * privacy_int.h - functions shared by the privacy module's files; not for other modules.
 *
 * Thread-safety: all pure.
 */
#ifndef MNEMO_MEMORY_PRIVACY_INT_H
#define MNEMO_MEMORY_PRIVACY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* MNEMO_EINVAL for NULL input with a length, MNEMO_ETOOBIG above MNEMO_PRIVACY_MAX_INPUT,
 * else 0. */
int mnemo__privacy_check_input(const char *in, size_t len, struct mnemo_err *err);

/* mnemo_privacy_utf8_repair without the argument checks: in may be NULL when len is 0; every
 * out-parameter is required. *out is malloc'd (caller frees). Returns 0 or MNEMO_ENOMEM. */
int mnemo__privacy_repair(const char *in, size_t len, char **out, size_t *out_len, bool *repaired,
                          struct mnemo_err *err);

/*
 * Strips s[0..len), which must be valid UTF-8, into a new malloc'd buffer (caller frees):
 * removal only cuts at ASCII '<' and '>' bytes, so the output stays valid UTF-8 and is never
 * longer than the input. Every out-parameter is required. Returns 0 or MNEMO_ENOMEM.
 */
int mnemo__privacy_strip(const char *s, size_t len, char **out, size_t *out_len, bool *wholly,
                         unsigned *n_stripped, struct mnemo_err *err);

#endif
