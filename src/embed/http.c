/*
 * http.c - the embedding provider that asks a server: OpenAI-compatible or Ollama.
 *
 *   OpenAI: POST {base_url}/v1/embeddings  {"model":m,"input":[...]}
 *           -> {"data":[{"index":i,"embedding":[...]}, ...]}  (any order; sorted by index)
 *   Ollama: POST {base_url}/api/embed      {"model":m,"input":[...]}
 *           -> {"embeddings":[[...], ...]}                    (in input order)
 *
 * Texts go in batches of batch_size. Each request has a connect and a total timeout, both
 * cut to the caller's deadline; 429, 408, 5xx (except 501), timeouts and connection errors
 * are retried up to max_retries times with exponential backoff and jitter (honouring
 * Retry-After up to the deadline). Redirects are never followed and only http/https are
 * spoken, so a server cannot send the request (and its API key) elsewhere. Responses are
 * size-limited and strictly validated: the count, every index, every dimension, finite
 * numbers, and a non-zero vector, which we then L2-normalise ourselves.
 *
 * Threads: the provider's fields are immutable after open except the one cached easy handle,
 * which moves in and out under a mutex; a call without it creates its own. curl_global_init
 * runs once per process (pthread_once) and is never undone, as libcurl requires.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <utf8proc.h>

#include "embed/embed_int.h"
#include "util/clock.h"
#include "util/strbuf.h"

#define URL_MAX     2048
#define MODEL_MAX   128
#define API_KEY_MAX 4096
/* Longest single timeout or backoff accepted from config: ten minutes. */
#define TIMEOUT_LIMIT_MS (INT64_C(10) * 60 * 1000)
/* Longest wait a Retry-After header may impose. */
#define RETRY_AFTER_MAX_MS INT64_C(30000)
/* Bytes of a response body quoted in an error. */
#define EXCERPT_MAX 96
/* The text embedded at open to learn the dimension. */
#define PROBE_TEXT "mnemo dimension probe"

struct mnemo__embed_http {
    enum mnemo_embed_api api;
    char *url; /* endpoint, for requests and error messages (never holds the key) */
    char *model;
    char *api_key;     /* NULL when unset; kept only to scrub it from echoed bodies */
    char *auth_header; /* "Authorization: Bearer <key>" or NULL */
    int dim;
    int batch;
    int64_t connect_timeout_ms;
    int64_t timeout_ms;
    int max_retries;
    int64_t retry_base_ms;
    size_t max_response;
    struct mnemo_log *log;
    pthread_mutex_t mu; /* guards cached */
    CURL *cached;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static int has_ctl(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}

/* Checks base_url: http or https, a host, no user or password (a key belongs in api_key,
 * where it is never printed). */
static int check_base_url(const char *u, struct mnemo_err *err)
{
    CURLU *cu = NULL;
    char *part = NULL;
    int rc = 0;

    if (u == NULL || u[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding base_url is required");
    if (strlen(u) > URL_MAX || has_ctl(u))
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding base_url is too long or malformed");
    if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "embedding base_url must start with http:// or https://");
    cu = curl_url();
    if (cu == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot allocate URL parser");
    if (curl_url_set(cu, CURLUPART_URL, u, 0) != CURLUE_OK) {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "embedding base_url is not a valid URL");
        goto out;
    }
    if (curl_url_get(cu, CURLUPART_USER, &part, 0) == CURLUE_OK ||
        curl_url_get(cu, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
        rc = mnemo_err_set(err, MNEMO_EINVAL,
                           "embedding base_url must not contain credentials; set api_key");
        goto out;
    }
    if (curl_url_get(cu, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
        curl_url_get(cu, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
        rc = mnemo_err_set(err, MNEMO_EINVAL,
                           "embedding base_url must not have a query or fragment");
        goto out;
    }
out:
    curl_free(part);
    curl_url_cleanup(cu);
    return rc;
}

static int check_config(const struct mnemo_embed_config *cfg, struct mnemo_err *err)
{
    int rc = check_base_url(cfg->base_url, err);

    if (rc != 0)
        return rc;
    if (cfg->api != MNEMO_EMBED_API_OPENAI && cfg->api != MNEMO_EMBED_API_OLLAMA)
        return mnemo_err_set(err, MNEMO_EINVAL, "unknown embedding api %d", (int)cfg->api);
    if (cfg->model == NULL || cfg->model[0] == '\0' || strlen(cfg->model) > MODEL_MAX ||
        has_ctl(cfg->model))
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding model must be 1..%d printable bytes",
                             MODEL_MAX);
    if (cfg->api_key != NULL && (strlen(cfg->api_key) > API_KEY_MAX || has_ctl(cfg->api_key)))
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "embedding api_key is too long or holds control characters");
    if (cfg->dim != 0 && (cfg->dim < MNEMO_EMBED_DIM_MIN || cfg->dim > MNEMO_EMBED_DIM_MAX))
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding dim %d out of range %d..%d (or 0)",
                             cfg->dim, MNEMO_EMBED_DIM_MIN, MNEMO_EMBED_DIM_MAX);
    if (cfg->batch_size < 1 || cfg->batch_size > MNEMO_EMBED_MAX_BATCH)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding batch_size %d out of range 1..%d",
                             cfg->batch_size, MNEMO_EMBED_MAX_BATCH);
    if (cfg->connect_timeout_ms < 1 || cfg->connect_timeout_ms > TIMEOUT_LIMIT_MS ||
        cfg->timeout_ms < 1 || cfg->timeout_ms > TIMEOUT_LIMIT_MS)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding timeouts must be 1..%lld ms",
                             (long long)TIMEOUT_LIMIT_MS);
    if (cfg->max_retries < 0 || cfg->max_retries > MNEMO_EMBED_MAX_RETRIES_LIMIT)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding max_retries %d out of range 0..%d",
                             cfg->max_retries, MNEMO_EMBED_MAX_RETRIES_LIMIT);
    if (cfg->retry_base_ms < 1 || cfg->retry_base_ms > TIMEOUT_LIMIT_MS)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding retry_base_ms %lld out of range",
                             (long long)cfg->retry_base_ms);
    if (cfg->max_response_bytes < 1024)
        return mnemo_err_set(err, MNEMO_EINVAL, "embedding max_response_bytes must be >= 1024");
    return 0;
}

int mnemo__embed_http_open(const struct mnemo_embed_config *cfg, struct mnemo__embed_http **out,
                           int *dim_out, struct mnemo_err *err)
{
    struct mnemo__embed_http *h = NULL;
    struct mnemo_strbuf sb;
    float *probe = NULL;
    const char *path;
    int rc;

    *out = NULL;
    rc = check_config(cfg, err);
    if (rc != 0)
        return rc;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return mnemo_err_set(err, MNEMO_EINTERNAL, "cannot initialise libcurl: %s",
                             curl_easy_strerror(curl_init_rc));
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot allocate http embedder");
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h);
        return mnemo_err_set(err, MNEMO_EINTERNAL, "cannot initialise http embedder mutex");
    }
    h->api = cfg->api;
    h->dim = cfg->dim;
    h->batch = cfg->batch_size;
    h->connect_timeout_ms = cfg->connect_timeout_ms;
    h->timeout_ms = cfg->timeout_ms;
    h->max_retries = cfg->max_retries;
    h->retry_base_ms = cfg->retry_base_ms;
    h->max_response = cfg->max_response_bytes;
    h->log = cfg->log;

    /* The endpoint is the base URL without trailing slashes plus the api's path. */
    path = cfg->api == MNEMO_EMBED_API_OPENAI ? "/v1/embeddings" : "/api/embed";
    mnemo_strbuf_init(&sb, URL_MAX + 64);
    rc = mnemo_strbuf_puts(&sb, cfg->base_url);
    while (rc == 0 && sb.len > 0 && sb.data[sb.len - 1] == '/')
        sb.data[--sb.len] = '\0';
    if (rc == 0)
        rc = mnemo_strbuf_puts(&sb, path);
    h->url = rc == 0 ? mnemo_strbuf_detach(&sb) : NULL;
    mnemo_strbuf_release(&sb);
    h->model = dup_str(cfg->model);
    if (cfg->api_key != NULL && cfg->api_key[0] != '\0') {
        size_t n = strlen(cfg->api_key) + sizeof("Authorization: Bearer ");

        h->api_key = dup_str(cfg->api_key);
        h->auth_header = malloc(n);
        if (h->auth_header != NULL)
            snprintf(h->auth_header, n, "Authorization: Bearer %s", cfg->api_key);
        if (h->api_key == NULL || h->auth_header == NULL)
            rc = MNEMO_ENOMEM;
    }
    if (rc != 0 || h->url == NULL || h->model == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot allocate http embedder settings");
        goto out;
    }

    if (h->dim == 0) {
        const char *text = PROBE_TEXT;
        size_t len = strlen(text);

        probe = malloc((size_t)MNEMO_EMBED_DIM_MAX * sizeof(*probe));
        if (probe == NULL) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot allocate probe vector");
            goto out;
        }
        rc = mnemo__embed_http_texts(h, &text, &len, 1, probe, 0, err);
        if (rc != 0)
            goto out;
    }
    *dim_out = h->dim;
    *out = h;
    h = NULL;
out:
    free(probe);
    mnemo__embed_http_close(h);
    return rc;
}

void mnemo__embed_http_model_id(const struct mnemo__embed_http *h, char *buf, size_t size)
{
    snprintf(buf, size, "%s:%s", h->api == MNEMO_EMBED_API_OPENAI ? "openai" : "ollama", h->model);
}

void mnemo__embed_http_close(struct mnemo__embed_http *h)
{
    if (h == NULL)
        return;
    if (h->cached != NULL)
        curl_easy_cleanup(h->cached);
    pthread_mutex_destroy(&h->mu);
    free(h->url);
    free(h->model);
    if (h->api_key != NULL) {
        /* Secrets do not linger in freed heap memory. */
        memset(h->api_key, 0, strlen(h->api_key));
        memset(h->auth_header, 0, strlen(h->auth_header));
    }
    free(h->api_key);
    free(h->auth_header);
    free(h);
}

/* ---- one request ---- */

/* The cached handle if no other call holds it, else a fresh one. */
static CURL *handle_get(struct mnemo__embed_http *h)
{
    CURL *c;

    pthread_mutex_lock(&h->mu);
    c = h->cached;
    h->cached = NULL;
    pthread_mutex_unlock(&h->mu);
    if (c != NULL) {
        /* Options go, the connection cache stays: the next request reuses the socket. */
        curl_easy_reset(c);
        return c;
    }
    return curl_easy_init();
}

static void handle_put(struct mnemo__embed_http *h, CURL *c)
{
    pthread_mutex_lock(&h->mu);
    if (h->cached == NULL) {
        h->cached = c;
        c = NULL;
    }
    pthread_mutex_unlock(&h->mu);
    if (c != NULL)
        curl_easy_cleanup(c);
}

struct sink {
    struct mnemo_strbuf body;
    int too_big;
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    size_t n = size * nmemb;

    if (mnemo_strbuf_append(&s->body, data, n) != 0) {
        s->too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

/* What one attempt produced. */
struct attempt {
    CURLcode cc;
    long status;
    int64_t retry_after_ms;
    char curl_msg[CURL_ERROR_SIZE];
};

static int perform(struct mnemo__embed_http *h, CURL *c, const char *body, size_t body_len,
                   int64_t timeout_ms, struct sink *sink, struct attempt *at)
{
    struct curl_slist *hdrs = NULL, *tmp;
    curl_off_t retry_after = 0;
    const char *names[] = {"Content-Type: application/json", "Accept: application/json",
                           "Expect:", h->auth_header};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i] == NULL)
            continue;
        tmp = curl_slist_append(hdrs, names[i]);
        if (tmp == NULL) {
            curl_slist_free_all(hdrs);
            return MNEMO_ENOMEM;
        }
        hdrs = tmp;
    }
    at->curl_msg[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    /* A loopback server (Ollama, a local gateway) must never be reached through a proxy. */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mnemo/" MNEMO_VERSION);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT_MS,
        (long)(h->connect_timeout_ms < timeout_ms ? h->connect_timeout_ms : timeout_ms));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_response);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, at->curl_msg);

    at->cc = curl_easy_perform(c);
    at->status = 0;
    at->retry_after_ms = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &at->status);
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
        at->retry_after_ms = retry_after > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS
                                                                     : (int64_t)retry_after * 1000;
    /* The error buffer must not outlive this call's stack frame inside the handle. */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return 0;
}

/* A printable excerpt of a response body: control characters as spaces, whole UTF-8
 * characters only, and the API key (should a server echo it) replaced. */
static void excerpt(const struct mnemo__embed_http *h, const struct mnemo_strbuf *body, char *buf,
                    size_t size)
{
    size_t n = body->len < size - 1 ? body->len : size - 1;
    char *k;

    if (body->data == NULL) {
        buf[0] = '\0';
        return;
    }
    memcpy(buf, body->data, n);
    n = mnemo_utf8_cut(buf, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            buf[i] = ' ';
    }
    if (h->api_key != NULL && strlen(h->api_key) >= 4) {
        /* Also a prefix of the key at the end of the excerpt would leak part of it. */
        while ((k = strstr(buf, h->api_key)) != NULL)
            memset(k, '*', strlen(h->api_key));
        size_t klen = strlen(h->api_key);
        for (size_t i = n > klen ? n - klen : 0; i < n; i++) {
            if (strncmp(buf + i, h->api_key, n - i) == 0 && n - i >= 4) {
                memset(buf + i, '*', n - i);
                break;
            }
        }
    }
}

/* ---- request body and response parsing ---- */

/* A JSON string of text[0..len) with invalid UTF-8 replaced by U+FFFD (jansson refuses
 * invalid UTF-8, and a text must still be embedded). */
static json_t *json_text(const char *text, size_t len)
{
    struct mnemo_strbuf sb;
    json_t *j;
    size_t pos = 0;

    j = json_stringn(text, len);
    if (j != NULL)
        return j;
    mnemo_strbuf_init(&sb, len * 3 + 16);
    while (pos < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t step = utf8proc_iterate((const utf8proc_uint8_t *)text + pos,
                                                 (utf8proc_ssize_t)(len - pos), &c);

        if (step < 1) {
            if (mnemo_strbuf_append(&sb, "\xEF\xBF\xBD", 3) != 0)
                goto fail;
            pos++;
        } else {
            if (mnemo_strbuf_append(&sb, text + pos, (size_t)step) != 0)
                goto fail;
            pos += (size_t)step;
        }
    }
    j = json_stringn(mnemo_strbuf_str(&sb), sb.len);
fail:
    mnemo_strbuf_release(&sb);
    return j;
}

static char *build_body(const struct mnemo__embed_http *h, const char *const *texts,
                        const size_t *lens, size_t n)
{
    json_t *root = json_object(), *input = json_array();
    char *body = NULL;

    if (root == NULL || input == NULL)
        goto out;
    if (json_object_set_new(root, "model", json_string(h->model)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(input, json_text(texts[i], lens[i])) != 0)
            goto out;
    }
    if (json_object_set(root, "input", input) != 0)
        goto out;
    body = json_dumps(root, JSON_COMPACT);
out:
    json_decref(input);
    json_decref(root);
    return body;
}

/* Copies one embedding (a JSON array) into v, learning the dimension when *dim is 0. */
static int take_vector(const struct mnemo__embed_http *h, json_t *arr, size_t i, int *dim, float *v,
                       struct mnemo_err *err)
{
    size_t len;

    if (!json_is_array(arr))
        return mnemo_err_set(
            err, MNEMO_EIO,
            "invalid embedding response from '%.100s': item %zu is not an array of numbers", h->url,
            i);
    len = json_array_size(arr);
    if (*dim == 0) {
        if (len < MNEMO_EMBED_DIM_MIN || len > MNEMO_EMBED_DIM_MAX)
            return mnemo_err_set(
                err, MNEMO_EIO,
                "invalid embedding response from '%.100s': dimension %zu out of range %d..%d",
                h->url, len, MNEMO_EMBED_DIM_MIN, MNEMO_EMBED_DIM_MAX);
        *dim = (int)len;
    }
    if (len != (size_t)*dim)
        return mnemo_err_set(
            err, MNEMO_EIO,
            "invalid embedding response from '%.100s': item %zu has %zu dimensions, expected %d",
            h->url, i, len, *dim);
    for (size_t k = 0; k < len; k++) {
        json_t *x = json_array_get(arr, k);
        double d;

        if (!json_is_number(x))
            return mnemo_err_set(
                err, MNEMO_EIO,
                "invalid embedding response from '%.100s': item %zu has a non-number at %zu",
                h->url, i, k);
        d = json_number_value(x);
        if (!isfinite(d) || fabs(d) > 3.0e38)
            return mnemo_err_set(
                err, MNEMO_EIO,
                "invalid embedding response from '%.100s': item %zu has a non-finite value at %zu",
                h->url, i, k);
        v[k] = (float)d;
    }
    if (mnemo_embed_normalize(v, *dim) != 0)
        return mnemo_err_set(err, MNEMO_EIO,
                             "invalid embedding response from '%.100s': item %zu is a zero vector",
                             h->url, i);
    return 0;
}

/*
 * Parses a 200 response for n texts into out (n * dim). With *dim == 0 (the probe at open)
 * the first vector sets it.
 */
static int parse_response(const struct mnemo__embed_http *h, const struct mnemo_strbuf *body,
                          size_t n, int *dim, float *out, struct mnemo_err *err)
{
    json_error_t jerr;
    json_t *root, *list;
    unsigned char *seen = NULL;
    int rc = 0;

    root =
        json_loadb(body->data != NULL ? body->data : "", body->len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return mnemo_err_set(
            err, MNEMO_EIO,
            "invalid embedding response from '%.100s': malformed JSON at byte %d: %.60s", h->url,
            jerr.position, jerr.text);
    if (!json_is_object(root)) {
        rc = mnemo_err_set(err, MNEMO_EIO,
                           "invalid embedding response from '%.100s': not a JSON object", h->url);
        goto out;
    }
    list = json_object_get(root, h->api == MNEMO_EMBED_API_OPENAI ? "data" : "embeddings");
    if (!json_is_array(list)) {
        rc =
            mnemo_err_set(err, MNEMO_EIO, "invalid embedding response from '%.100s': no '%s' array",
                          h->url, h->api == MNEMO_EMBED_API_OPENAI ? "data" : "embeddings");
        goto out;
    }
    if (json_array_size(list) != n) {
        rc =
            mnemo_err_set(err, MNEMO_EIO,
                          "invalid embedding response from '%.100s': %zu embeddings for %zu inputs",
                          h->url, json_array_size(list), n);
        goto out;
    }
    if (h->api == MNEMO_EMBED_API_OLLAMA) {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = take_vector(h, json_array_get(list, i), i, dim, out + i * (size_t)*dim, err);
        goto out;
    }
    seen = calloc(n, 1);
    if (seen == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot allocate %zu response flags", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(list, i);
        json_t *jidx = json_object_get(item, "index");
        json_int_t idx = (json_int_t)i;

        if (!json_is_object(item)) {
            rc = mnemo_err_set(
                err, MNEMO_EIO,
                "invalid embedding response from '%.100s': data[%zu] is not an object", h->url, i);
            goto out;
        }
        /* OpenAI may answer out of order; "index" says where each vector goes. A server that
         * omits it answers in order. */
        if (jidx != NULL) {
            if (!json_is_integer(jidx) || json_integer_value(jidx) < 0 ||
                json_integer_value(jidx) >= (json_int_t)n) {
                rc = mnemo_err_set(
                    err, MNEMO_EIO,
                    "invalid embedding response from '%.100s': data[%zu] has a bad index", h->url,
                    i);
                goto out;
            }
            idx = json_integer_value(jidx);
        }
        if (seen[idx]) {
            rc = mnemo_err_set(err, MNEMO_EIO,
                               "invalid embedding response from '%.100s': index %lld appears twice",
                               h->url, (long long)idx);
            goto out;
        }
        seen[idx] = 1;
        if (*dim == 0) {
            /* Learn the dimension before computing where the vector goes. */
            rc = take_vector(h, json_object_get(item, "embedding"), i, dim, out, err);
            if (rc == 0 && idx != 0)
                memmove(out + (size_t)idx * (size_t)*dim, out, (size_t)*dim * sizeof(*out));
        } else {
            rc = take_vector(h, json_object_get(item, "embedding"), i, dim,
                             out + (size_t)idx * (size_t)*dim, err);
        }
        if (rc != 0)
            goto out;
    }
out:
    free(seen);
    json_decref(root);
    return rc;
}

/* ---- retries and batches ---- */

static uint64_t jitter_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int is_retryable(const struct attempt *at)
{
    switch (at->cc) {
    case CURLE_OK:
        return at->status == 408 || at->status == 429 ||
               (at->status >= 500 && at->status <= 599 && at->status != 501);
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

/* Turns a failed attempt into an error naming the URL (never the key) and the cause. */
static int attempt_error(const struct mnemo__embed_http *h, const struct attempt *at,
                         const struct sink *sink, int64_t timeout_ms, int tries,
                         struct mnemo_err *err)
{
    char ex[EXCERPT_MAX];

    if (sink->too_big || at->cc == CURLE_FILESIZE_EXCEEDED)
        return mnemo_err_set(err, MNEMO_ETOOBIG,
                             "embedding response from '%.100s' exceeds %zu bytes", h->url,
                             h->max_response);
    if (at->cc == CURLE_OPERATION_TIMEDOUT)
        return mnemo_err_set(err, MNEMO_ETIMEDOUT,
                             "embedding request to '%.100s' timed out after %lld ms (%d attempt%s)",
                             h->url, (long long)timeout_ms, tries, tries == 1 ? "" : "s");
    if (at->cc != CURLE_OK)
        return mnemo_err_set(err, MNEMO_EIO,
                             "embedding request to '%.100s' failed (%d attempt%s): %.80s", h->url,
                             tries, tries == 1 ? "" : "s",
                             at->curl_msg[0] != '\0' ? at->curl_msg : curl_easy_strerror(at->cc));
    excerpt(h, &sink->body, ex, sizeof(ex));
    if (at->status >= 300 && at->status < 400)
        return mnemo_err_set(
            err, MNEMO_EIO,
            "embedding request to '%.100s' answered HTTP %ld redirect, which is not followed",
            h->url, at->status);
    return mnemo_err_set(err, MNEMO_EIO,
                         "embedding request to '%.100s' failed with HTTP %ld (%d attempt%s): %s",
                         h->url, at->status, tries, tries == 1 ? "" : "s", ex);
}

/* Embeds one batch with retries. */
static int embed_batch(struct mnemo__embed_http *h, CURL *c, const char *const *texts,
                       const size_t *lens, size_t n, float *out, int64_t deadline_ns, uint64_t *rng,
                       struct mnemo_err *err)
{
    char *body = build_body(h, texts, lens, n);
    struct sink sink;
    struct attempt at;
    int rc = 0;

    if (body == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot build embedding request for %zu texts", n);
    mnemo_strbuf_init(&sink.body, h->max_response);
    for (int tries = 1;; tries++) {
        int64_t timeout_ms = h->timeout_ms, wait_ms;

        if (deadline_ns > 0) {
            int64_t left_ms = mnemo_deadline_left_ns(deadline_ns) / MNEMO_NS_PER_MS;

            if (left_ms < 1) {
                rc = mnemo_err_set(
                    err, MNEMO_ETIMEDOUT,
                    "deadline passed before embedding request to '%.100s' (%d attempt%s)", h->url,
                    tries - 1, tries == 2 ? "" : "s");
                goto out;
            }
            if (left_ms < timeout_ms)
                timeout_ms = left_ms;
        }
        mnemo_strbuf_reset(&sink.body);
        sink.too_big = 0;
        rc = perform(h, c, body, strlen(body), timeout_ms, &sink, &at);
        if (rc != 0) {
            rc = mnemo_err_set(err, rc, "cannot prepare embedding request headers");
            goto out;
        }
        if (at.cc == CURLE_OK && at.status == 200) {
            int dim = h->dim;

            rc = parse_response(h, &sink.body, n, &dim, out, err);
            if (rc == 0 && h->dim == 0)
                h->dim = dim; /* only during open, before the embedder is shared */
            goto out;
        }
        if (!is_retryable(&at) || sink.too_big || tries > h->max_retries) {
            rc = attempt_error(h, &at, &sink, timeout_ms, tries, err);
            goto out;
        }
        /* Exponential backoff with "equal jitter": half fixed, half random, so concurrent
         * callers spread out but every retry still waits. */
        wait_ms = h->retry_base_ms << (tries - 1 < 16 ? tries - 1 : 16);
        if (wait_ms > TIMEOUT_LIMIT_MS)
            wait_ms = TIMEOUT_LIMIT_MS;
        wait_ms = wait_ms / 2 + (int64_t)(jitter_next(rng) % (uint64_t)(wait_ms / 2 + 1));
        if (at.retry_after_ms > wait_ms)
            wait_ms = at.retry_after_ms;
        if (deadline_ns > 0 && wait_ms * MNEMO_NS_PER_MS >= mnemo_deadline_left_ns(deadline_ns)) {
            rc = attempt_error(h, &at, &sink, timeout_ms, tries, err);
            if (rc == MNEMO_EIO)
                rc = mnemo_err_set(
                    err, MNEMO_ETIMEDOUT,
                    "deadline too short to retry embedding request to '%.100s' after HTTP %ld / %s",
                    h->url, at.status, curl_easy_strerror(at.cc));
            goto out;
        }
        if (h->log != NULL) {
            char q[160];

            mnemo_log_write(h->log, MNEMO_LOG_WARN, "embedding request failed; retrying",
                            "url=%s status=%ld curl=%d attempt=%d wait_ms=%lld",
                            mnemo_log_quote(q, sizeof(q), h->url), at.status, (int)at.cc, tries,
                            (long long)wait_ms);
        }
        mnemo_clock_sleep_ms(wait_ms);
    }
out:
    mnemo_strbuf_release(&sink.body);
    free(body);
    return rc;
}

int mnemo__embed_http_texts(struct mnemo__embed_http *h, const char *const *texts,
                            const size_t *lens, size_t n, float *out, int64_t deadline_ns,
                            struct mnemo_err *err)
{
    CURL *c = handle_get(h);
    uint64_t rng = (uint64_t)mnemo_clock_mono_ns() ^ (uint64_t)(uintptr_t)&c;
    int rc = 0;

    if (c == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot create a libcurl handle");
    for (size_t i = 0; i < n && rc == 0; i += (size_t)h->batch) {
        size_t k = n - i < (size_t)h->batch ? n - i : (size_t)h->batch;

        rc = embed_batch(h, c, texts + i, lens + i, k, out + i * (size_t)h->dim, deadline_ns, &rng,
                         err);
    }
    handle_put(h, c);
    return rc;
}
