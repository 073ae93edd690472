/*
 * sha256.h - SHA-256 (FIPS 180-4), small and dependency-free.
 *
 * The memory layer needs SHA-256 only to name projects (<basename>_<6 hex of the digest of
 * the path>), so it carries its own few dozen lines instead of linking a crypto library.
 * Not constant-time and not meant for secrets.
 *
 * Thread-safety: a struct mnemo_sha256 belongs to one thread at a time; the one-shot
 * functions share no state and are safe from any thread.
 */
#ifndef MNEMO_MEMORY_SHA256_H
#define MNEMO_MEMORY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MNEMO_SHA256_LEN     32 /* digest bytes */
#define MNEMO_SHA256_HEX_LEN 65 /* hex digits plus the NUL */

/* Streaming state; the caller owns it (usually on its stack), nothing to release. */
struct mnemo_sha256 {
    uint32_t h[8];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes waiting in block */
};

/* Starts a new digest in ctx. */
void mnemo_sha256_init(struct mnemo_sha256 *ctx);

/* Feeds n bytes of data (may be NULL when n is 0). */
void mnemo_sha256_update(struct mnemo_sha256 *ctx, const void *data, size_t n);

/* Finishes the digest into out; ctx must be initialised again before reuse. */
void mnemo_sha256_final(struct mnemo_sha256 *ctx, uint8_t out[MNEMO_SHA256_LEN]);

/* The digest of data[0..n) in one call. */
void mnemo_sha256(const void *data, size_t n, uint8_t out[MNEMO_SHA256_LEN]);

/* Writes digest as 64 lowercase hex digits plus a NUL into hex. Returns hex. */
const char *mnemo_sha256_hex(const uint8_t digest[MNEMO_SHA256_LEN],
                             char hex[MNEMO_SHA256_HEX_LEN]);

#endif
