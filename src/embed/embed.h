/*
 * embed.h - text embeddings: texts in, L2-normalised float32 vectors out.
 *
 * One interface over three providers, chosen by struct mnemo_embed_config:
 *   - "hash" (the default; built in, offline, deterministic): signed feature hashing of
 *     normalised words, word bigrams and character trigrams into `dim` (384) dimensions.
 *     It captures LEXICAL similarity (shared words, sub-words of identifiers, spelling
 *     variants), NOT semantic similarity: "car" and "automobile" are unrelated to it. It
 *     exists so that the vector path works out of the box and as an offline fallback.
 *   - "http": an embedding server speaking the OpenAI (`POST {base_url}/v1/embeddings`) or
 *     the Ollama (`POST {base_url}/api/embed`) protocol, through libcurl.
 *   - "none": no vectors; search is FTS only. mnemo_embed_enabled() is false, dim is 0 and
 *     mnemo_embed_texts fails with MNEMO_EINVAL "embeddings disabled (provider none)".
 *
 * Every vector that leaves this module has |v| = 1 (within float rounding), so cosine
 * similarity is the plain dot product (mnemo_embed_dot) and never divides by zero. Texts
 * with nothing to embed (empty, whitespace, emoji or stop words only) get one fixed unit
 * vector, never a zero vector, so every observation gets a vector and no cosine is NaN: for
 * the hash provider every component is +1/sqrt(dim), whose cosine with a real text is near 0
 * (signed hashing spreads components around 0) and with another empty text exactly 1.
 *
 * Vectors carry their model id (mnemo_embed_model_id): "hash-v1-384", "openai:<model>",
 * "ollama:<model>". Vectors of different model ids must never be compared.
 *
 * Thread-safety: after mnemo_embed_open returns, an embedder may be used from any number
 * of threads at once (mnemo_embed_texts, _dim, _model_id, _enabled); only
 * mnemo_embed_close must not race with them. The hash provider keeps no mutable state; the
 * http provider creates or reuses a libcurl easy handle per call (a one-handle cache under a
 * mutex keeps the connection alive between calls of a single thread).
 *
 * Errors: 0 or a negative enum mnemo_rc with detail in struct mnemo_err. http errors name
 * the URL (never the API key) and the HTTP status with an excerpt of the body.
 */
#ifndef MNEMO_EMBED_EMBED_H
#define MNEMO_EMBED_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "util/config.h"
#include "util/err.h"
#include "util/log.h"

/* Dimensions of the built-in hash embedder unless the config says otherwise. */
#define MNEMO_EMBED_HASH_DIM 384
/* Bounds on any provider's dimension. */
#define MNEMO_EMBED_DIM_MIN 8
#define MNEMO_EMBED_DIM_MAX 8192

/* Bytes of each text that are embedded; the rest is cut at a UTF-8 boundary. Embedding
 * servers reject over-long inputs (a few thousand tokens), and the head of an observation
 * carries its title and gist, so a cut text still gets a useful vector. */
#define MNEMO_EMBED_DEFAULT_MAX_TEXT_BYTES (32 * 1024)
#define MNEMO_EMBED_MAX_TEXT_BYTES_LIMIT   (1024 * 1024)

/* Texts per mnemo_embed_texts call; callers with more split them. */
#define MNEMO_EMBED_MAX_TEXTS 100000

/* http defaults. */
#define MNEMO_EMBED_DEFAULT_BATCH              32
#define MNEMO_EMBED_MAX_BATCH                  2048
#define MNEMO_EMBED_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define MNEMO_EMBED_DEFAULT_TIMEOUT_MS         30000
#define MNEMO_EMBED_DEFAULT_MAX_RETRIES        3
#define MNEMO_EMBED_MAX_RETRIES_LIMIT          10
#define MNEMO_EMBED_DEFAULT_RETRY_BASE_MS      250
#define MNEMO_EMBED_DEFAULT_MAX_RESPONSE_BYTES ((size_t)64 * 1024 * 1024)

enum mnemo_embed_provider {
    MNEMO_EMBED_NONE = 0,
    MNEMO_EMBED_HASH = 1,
    MNEMO_EMBED_HTTP = 2,
};

/* The wire protocol of an http provider. */
enum mnemo_embed_api {
    MNEMO_EMBED_API_OPENAI = 0, /* POST {base_url}/v1/embeddings -> data[i].embedding by index */
    MNEMO_EMBED_API_OLLAMA = 1, /* POST {base_url}/api/embed -> embeddings[i] */
};

/*
 * How to build an embedder. Initialise with mnemo_embed_config_init, then set fields. The
 * strings are borrowed only during mnemo_embed_open, which copies what it keeps.
 */
struct mnemo_embed_config {
    enum mnemo_embed_provider provider; /* default MNEMO_EMBED_HASH */
    int dim;               /* hash: 8..8192, default 384; http: expected dim, 0 = probe at open */
    size_t max_text_bytes; /* per text, default 32 KiB, at most 1 MiB */

    /* http only. */
    enum mnemo_embed_api api;   /* default MNEMO_EMBED_API_OPENAI */
    const char *base_url;       /* "http(s)://host[:port][/prefix]", no credentials, required */
    const char *model;          /* required */
    const char *api_key;        /* optional; sent as "Authorization: Bearer <key>", never logged */
    int batch_size;             /* texts per request, 1..2048, default 32 */
    int64_t connect_timeout_ms; /* default 2000 */
    int64_t timeout_ms;         /* whole request, default 30000 */
    int max_retries;            /* on 429, 5xx, timeouts and connection errors; default 3 */
    int64_t retry_base_ms;      /* first backoff; doubles per retry, full jitter; default 250 */
    size_t max_response_bytes;  /* default 64 MiB */
    struct mnemo_log *log;      /* borrowed for the embedder's life; may be NULL */
};

/* Fills cfg with the defaults (provider hash, 384 dims). */
void mnemo_embed_config_init(struct mnemo_embed_config *cfg);

/* Parses a provider name: "hash", "http" or "none" (case-insensitive). Returns 0 or
 * MNEMO_EINVAL with detail in err. */
int mnemo_embed_provider_parse(const char *s, enum mnemo_embed_provider *out,
                               struct mnemo_err *err);

/* The lower-case name of a provider ("hash"). */
const char *mnemo_embed_provider_name(enum mnemo_embed_provider p);

/* Parses an http api name: "openai" or "ollama" (case-insensitive). Returns 0 or MNEMO_EINVAL. */
int mnemo_embed_api_parse(const char *s, enum mnemo_embed_api *out, struct mnemo_err *err);

/*
 * Sets one config field from text, for config files and MNEMO_EMBED_* variables. Keys:
 * provider (hash|http|none), api (openai|ollama), base_url, model, api_key (strings are
 * BORROWED: value must stay valid until mnemo_embed_open), and the integers dim,
 * max_text_bytes, batch_size, connect_timeout_ms, timeout_ms, max_retries, retry_base_ms,
 * max_response_bytes (decimal, whole string). Ranges are checked by mnemo_embed_open.
 * Returns 0 or MNEMO_EINVAL naming the key (never echoing an api_key value).
 */
int mnemo_embed_config_set(struct mnemo_embed_config *cfg, const char *key, const char *value,
                           struct mnemo_err *err);

struct mnemo_embedder;

/*
 * Creates an embedder from cfg (validated; bad values give MNEMO_EINVAL naming the field).
 * An http provider with cfg->dim == 0 embeds one probe text at open to learn its dimension
 * (bounded by the connect and request timeouts); with dim set, no request is made at open.
 * Returns 0 and *out (free with mnemo_embed_close), or a negative code with *out = NULL.
 */
int mnemo_embed_open(const struct mnemo_embed_config *cfg, struct mnemo_embedder **out,
                     struct mnemo_err *err);

/*
 * Opens the embedder that config's embed.* keys describe (provider, api, base_url, model,
 * api_key, dim; unset ones keep the defaults), logging to log (may be NULL): what the worker
 * and the command line both use, so they always embed alike. Returns mnemo_embed_open's codes,
 * or MNEMO_EINVAL naming the key whose value the embedder refuses.
 */
int mnemo_embed_open_config(const struct mnemo_config *config, struct mnemo_log *log,
                            struct mnemo_embedder **out, struct mnemo_err *err);

/* Frees the embedder. NULL is a no-op. No call may be running on it. */
void mnemo_embed_close(struct mnemo_embedder *e);

/* False for provider none. */
int mnemo_embed_enabled(const struct mnemo_embedder *e);

/* Dimensions of every vector (0 for provider none). Fixed for the embedder's life. */
int mnemo_embed_dim(const struct mnemo_embedder *e);

/* The model id stored next to each vector ("hash-v1-384", "openai:<model>", "none").
 * Borrowed; valid until mnemo_embed_close. */
const char *mnemo_embed_model_id(const struct mnemo_embedder *e);

/*
 * Embeds n texts (NUL-terminated UTF-8; invalid sequences are tolerated) into out, which
 * holds n * dim floats: text i's vector at out + i * dim, L2-normalised. deadline_ns is an
 * absolute mnemo_clock_mono_ns() time, or 0 for none (the configured timeouts still apply).
 * Returns 0; MNEMO_EINVAL (bad arguments, NULL text, provider none); MNEMO_ETIMEDOUT (the
 * deadline or the request timeout passed); MNEMO_EIO (server unreachable, HTTP error,
 * invalid response); MNEMO_ETOOBIG (response over the limit); MNEMO_ENOMEM. On failure the
 * contents of out are unspecified.
 */
int mnemo_embed_texts(struct mnemo_embedder *e, const char *const *texts, size_t n, float *out,
                      int64_t deadline_ns, struct mnemo_err *err);

/* Embeds one text into out[dim]; as mnemo_embed_texts with n = 1. */
int mnemo_embed_text(struct mnemo_embedder *e, const char *text, float *out, int64_t deadline_ns,
                     struct mnemo_err *err);

/* The dot product of two dim-long vectors; for unit vectors, their cosine similarity. */
float mnemo_embed_dot(const float *a, const float *b, int dim);

/*
 * Scales v[dim] to unit length in place. Returns 0, or MNEMO_EINVAL when v has a non-finite
 * component or is (numerically) zero, leaving v unchanged.
 */
int mnemo_embed_normalize(float *v, int dim);

#endif
