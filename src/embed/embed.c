/*
 * embed.c - the embedding interface: config, validation, dispatch to the providers.
 *
 * Everything a provider may assume is checked here once: a live embedder, n within bounds,
 * no NULL text, an output buffer, and each text cut to max_text_bytes at a UTF-8 boundary.
 */
#include "embed/embed.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "embed/embed_int.h"
#include "util/clock.h"
#include "util/strbuf.h"

void mnemo_embed_config_init(struct mnemo_embed_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->provider = MNEMO_EMBED_HASH;
    cfg->dim = MNEMO_EMBED_HASH_DIM;
    cfg->max_text_bytes = MNEMO_EMBED_DEFAULT_MAX_TEXT_BYTES;
    cfg->api = MNEMO_EMBED_API_OPENAI;
    cfg->batch_size = MNEMO_EMBED_DEFAULT_BATCH;
    cfg->connect_timeout_ms = MNEMO_EMBED_DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->timeout_ms = MNEMO_EMBED_DEFAULT_TIMEOUT_MS;
    cfg->max_retries = MNEMO_EMBED_DEFAULT_MAX_RETRIES;
    cfg->retry_base_ms = MNEMO_EMBED_DEFAULT_RETRY_BASE_MS;
    cfg->max_response_bytes = MNEMO_EMBED_DEFAULT_MAX_RESPONSE_BYTES;
}

int mnemo_embed_provider_parse(const char *s, enum mnemo_embed_provider *out, struct mnemo_err *err)
{
    if (s != NULL && strcasecmp(s, "hash") == 0) {
        *out = MNEMO_EMBED_HASH;
        return 0;
    }
    if (s != NULL && strcasecmp(s, "http") == 0) {
        *out = MNEMO_EMBED_HTTP;
        return 0;
    }
    if (s != NULL && strcasecmp(s, "none") == 0) {
        *out = MNEMO_EMBED_NONE;
        return 0;
    }
    return mnemo_err_set(err, MNEMO_EINVAL,
                         "unknown embedding provider '%.64s' (expected hash, http or none)",
                         s != NULL ? s : "(null)");
}

const char *mnemo_embed_provider_name(enum mnemo_embed_provider p)
{
    switch (p) {
    case MNEMO_EMBED_NONE:
        return "none";
    case MNEMO_EMBED_HASH:
        return "hash";
    case MNEMO_EMBED_HTTP:
        return "http";
    }
    return "unknown";
}

int mnemo_embed_api_parse(const char *s, enum mnemo_embed_api *out, struct mnemo_err *err)
{
    if (s != NULL && strcasecmp(s, "openai") == 0) {
        *out = MNEMO_EMBED_API_OPENAI;
        return 0;
    }
    if (s != NULL && strcasecmp(s, "ollama") == 0) {
        *out = MNEMO_EMBED_API_OLLAMA;
        return 0;
    }
    return mnemo_err_set(err, MNEMO_EINVAL,
                         "unknown embedding api '%.64s' (expected openai or ollama)",
                         s != NULL ? s : "(null)");
}

/* Parses a whole decimal integer in [lo, hi]. */
static int parse_int(const char *key, const char *value, long long lo, long long hi, long long *out,
                     struct mnemo_err *err)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || v < lo || v > hi)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "embedding %s: '%.32s' is not an integer in %lld..%lld", key, value,
                             lo, hi);
    *out = v;
    return 0;
}

int mnemo_embed_config_set(struct mnemo_embed_config *cfg, const char *key, const char *value,
                           struct mnemo_err *err)
{
    static const struct {
        const char *key;
        long long lo, hi;
    } ints[] = {
        {"dim", 0, MNEMO_EMBED_DIM_MAX},
        {"max_text_bytes", 1, MNEMO_EMBED_MAX_TEXT_BYTES_LIMIT},
        {"batch_size", 1, MNEMO_EMBED_MAX_BATCH},
        {"connect_timeout_ms", 1, INT64_C(600000)},
        {"timeout_ms", 1, INT64_C(600000)},
        {"max_retries", 0, MNEMO_EMBED_MAX_RETRIES_LIMIT},
        {"retry_base_ms", 1, INT64_C(600000)},
        {"max_response_bytes", 1024, INT64_C(1) << 32},
    };
    long long v = 0;
    int rc;

    if (cfg == NULL || key == NULL || value == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding config, key or value is NULL");
    if (strcmp(key, "provider") == 0)
        return mnemo_embed_provider_parse(value, &cfg->provider, err);
    if (strcmp(key, "api") == 0)
        return mnemo_embed_api_parse(value, &cfg->api, err);
    if (strcmp(key, "base_url") == 0) {
        cfg->base_url = value;
        return 0;
    }
    if (strcmp(key, "model") == 0) {
        cfg->model = value;
        return 0;
    }
    if (strcmp(key, "api_key") == 0) {
        cfg->api_key = value;
        return 0;
    }
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (strcmp(key, ints[i].key) != 0)
            continue;
        rc = parse_int(key, value, ints[i].lo, ints[i].hi, &v, err);
        if (rc != 0)
            return rc;
        switch (i) {
        case 0:
            cfg->dim = (int)v;
            break;
        case 1:
            cfg->max_text_bytes = (size_t)v;
            break;
        case 2:
            cfg->batch_size = (int)v;
            break;
        case 3:
            cfg->connect_timeout_ms = v;
            break;
        case 4:
            cfg->timeout_ms = v;
            break;
        case 5:
            cfg->max_retries = (int)v;
            break;
        case 6:
            cfg->retry_base_ms = v;
            break;
        default:
            cfg->max_response_bytes = (size_t)v;
            break;
        }
        return 0;
    }
    return mnemo_err_set(err, MNEMO_EINVAL, "unknown embedding setting '%.64s'", key);
}

int mnemo_embed_open(const struct mnemo_embed_config *cfg, struct mnemo_embedder **out,
                     struct mnemo_err *err)
{
    struct mnemo_embedder *e = NULL;
    int rc = 0;

    if (out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedder output pointer is NULL");
    *out = NULL;
    if (cfg == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding config is NULL");
    if (cfg->max_text_bytes < 1 || cfg->max_text_bytes > MNEMO_EMBED_MAX_TEXT_BYTES_LIMIT)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding max_text_bytes %zu out of range 1..%d",
                             cfg->max_text_bytes, MNEMO_EMBED_MAX_TEXT_BYTES_LIMIT);
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot allocate embedder");
    e->provider = cfg->provider;
    e->max_text_bytes = cfg->max_text_bytes;

    switch (cfg->provider) {
    case MNEMO_EMBED_NONE:
        e->dim = 0;
        snprintf(e->model_id, sizeof(e->model_id), "none");
        break;
    case MNEMO_EMBED_HASH:
        if (cfg->dim < MNEMO_EMBED_DIM_MIN || cfg->dim > MNEMO_EMBED_DIM_MAX) {
            rc = mnemo_err_set(err, MNEMO_EINVAL, "hash embedding dim %d out of range %d..%d",
                               cfg->dim, MNEMO_EMBED_DIM_MIN, MNEMO_EMBED_DIM_MAX);
            goto out;
        }
        e->dim = cfg->dim;
        /* The version in the id changes whenever the features or weights change, so stored
         * vectors of an older scheme are recognised as stale and re-embedded. */
        snprintf(e->model_id, sizeof(e->model_id), "hash-v1-%d", e->dim);
        break;
    case MNEMO_EMBED_HTTP:
        rc = mnemo__embed_http_open(cfg, &e->http, &e->dim, err);
        if (rc != 0)
            goto out;
        mnemo__embed_http_model_id(e->http, e->model_id, sizeof(e->model_id));
        break;
    default:
        rc = mnemo_err_set(err, MNEMO_EINVAL, "unknown embedding provider %d", (int)cfg->provider);
        goto out;
    }
    *out = e;
    e = NULL;
out:
    mnemo_embed_close(e);
    return rc;
}

void mnemo_embed_close(struct mnemo_embedder *e)
{
    if (e == NULL)
        return;
    mnemo__embed_http_close(e->http);
    free(e);
}

int mnemo_embed_enabled(const struct mnemo_embedder *e)
{
    return e != NULL && e->provider != MNEMO_EMBED_NONE;
}

int mnemo_embed_dim(const struct mnemo_embedder *e)
{
    return e != NULL ? e->dim : 0;
}

const char *mnemo_embed_model_id(const struct mnemo_embedder *e)
{
    return e != NULL ? e->model_id : "none";
}

/* The length of text cut to max bytes, never splitting a UTF-8 sequence. strnlen keeps the
 * cost bounded by max even for a huge text. */
static size_t cut_len(const char *text, size_t max)
{
    size_t len = strnlen(text, max + 1);

    if (len <= max)
        return len;
    return mnemo_utf8_cut(text, max);
}

int mnemo_embed_texts(struct mnemo_embedder *e, const char *const *texts, size_t n, float *out,
                      int64_t deadline_ns, struct mnemo_err *err)
{
    size_t *lens = NULL;
    int rc = 0;

    if (e == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedder is NULL");
    if (e->provider == MNEMO_EMBED_NONE)
        return mnemo_err_set(err, MNEMO_EINVAL, "embeddings disabled (provider none)");
    if (n == 0)
        return 0;
    if (texts == NULL || out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding texts or output buffer is NULL");
    if (n > MNEMO_EMBED_MAX_TEXTS)
        return mnemo_err_set(err, MNEMO_EINVAL, "too many texts to embed at once (%zu > %d)", n,
                             MNEMO_EMBED_MAX_TEXTS);
    for (size_t i = 0; i < n; i++) {
        if (texts[i] == NULL)
            return mnemo_err_set(err, MNEMO_EINVAL, "text %zu to embed is NULL", i);
    }
    if (deadline_ns > 0 && mnemo_deadline_left_ns(deadline_ns) == 0)
        return mnemo_err_set(err, MNEMO_ETIMEDOUT, "deadline passed before embedding %zu texts", n);

    if (e->provider == MNEMO_EMBED_HASH) {
        for (size_t i = 0; i < n; i++) {
            size_t len = cut_len(texts[i], e->max_text_bytes);

            rc = mnemo__embed_hash(texts[i], len, e->dim, out + i * (size_t)e->dim);
            if (rc != 0)
                return mnemo_err_set(err, rc, "cannot embed text %zu: out of memory", i);
        }
        return 0;
    }

    lens = malloc(n * sizeof(*lens));
    if (lens == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot allocate %zu text lengths", n);
    for (size_t i = 0; i < n; i++)
        lens[i] = cut_len(texts[i], e->max_text_bytes);
    rc = mnemo__embed_http_texts(e->http, texts, lens, n, out, deadline_ns, err);
    free(lens);
    return rc;
}

int mnemo_embed_text(struct mnemo_embedder *e, const char *text, float *out, int64_t deadline_ns,
                     struct mnemo_err *err)
{
    return mnemo_embed_texts(e, &text, 1, out, deadline_ns, err);
}

float mnemo_embed_dot(const float *a, const float *b, int dim)
{
    float s = 0.0f;

    for (int i = 0; i < dim; i++)
        s += a[i] * b[i];
    return s;
}

int mnemo_embed_normalize(float *v, int dim)
{
    double ss = 0.0;

    if (v == NULL || dim <= 0)
        return MNEMO_EINVAL;
    for (int i = 0; i < dim; i++) {
        if (!isfinite(v[i]))
            return MNEMO_EINVAL;
        ss += (double)v[i] * (double)v[i];
    }
    /* Below this the direction is noise; a server sending it has a bug worth reporting. */
    if (!(ss > 1e-30) || !isfinite(ss))
        return MNEMO_EINVAL;
    double inv = 1.0 / mnemo__embed_sqrt(ss);
    for (int i = 0; i < dim; i++)
        v[i] = (float)((double)v[i] * inv);
    return 0;
}

double mnemo__embed_sqrt(double x)
{
    double r = 1.0;

    if (!(x > 0.0) || !isfinite(x))
        return 0.0;
    /* Scale into [1, 4) by powers of 4 so Newton starts close and converges in a few steps. */
    double scale = 1.0;
    while (x >= 4.0) {
        x *= 0.25;
        scale *= 2.0;
    }
    while (x < 1.0) {
        x *= 4.0;
        scale *= 0.5;
    }
    r = 0.5 * (x + 1.0);
    for (int i = 0; i < 6; i++)
        r = 0.5 * (r + x / r);
    return r * scale;
}

double mnemo__embed_ln(double x)
{
    static const double ln2 = 0.69314718055994530942;
    double k = 0.0, y, y2, term, sum = 0.0;

    if (!(x > 0.0) || !isfinite(x))
        return 0.0;
    /* x = m * 2^k with m in [0.75, 1.5), then ln m = 2 atanh((m-1)/(m+1)), |y| <= 0.2. */
    while (x >= 1.5) {
        x *= 0.5;
        k += 1.0;
    }
    while (x < 0.75) {
        x *= 2.0;
        k -= 1.0;
    }
    y = (x - 1.0) / (x + 1.0);
    y2 = y * y;
    term = y;
    for (int i = 1; i < 40; i += 2) {
        sum += term / i;
        term *= y2;
    }
    return 2.0 * sum + k * ln2;
}

int mnemo_embed_open_config(const struct mnemo_config *config, struct mnemo_log *log,
                            struct mnemo_embedder **out, struct mnemo_err *err)
{
    static const char *const keys[] = {"provider", "api", "base_url", "model", "api_key"};
    struct mnemo_embed_config ec;
    char name[32], dim[24];

    mnemo_embed_config_init(&ec);
    ec.log = log;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        snprintf(name, sizeof name, "embed.%s", keys[i]);
        const char *v = mnemo_config_str(config, name);
        if (v[0] == '\0')
            continue;
        int rc = mnemo_embed_config_set(&ec, keys[i], v, err);
        if (rc != 0)
            return rc;
    }
    int64_t d = mnemo_config_int(config, "embed.dim");
    if (d > 0) {
        snprintf(dim, sizeof dim, "%lld", (long long)d);
        int rc = mnemo_embed_config_set(&ec, "dim", dim, err);
        if (rc != 0)
            return rc;
    }
    return mnemo_embed_open(&ec, out, err);
}
