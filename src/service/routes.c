/*
 * routes.c - the input and answer helpers every route file shares (routes_int.h). The table
 * itself is in routes_table.c, so a test that calls one handler links only what it needs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/project.h"
#include "search/hybrid.h"
#include "service/routes_int.h"
#include "util/clock.h"

/* ---- answers ------------------------------------------------------------------------------ */

int mnemo__routes_fail(struct mnemo_http_resp *resp, int rc, const char *fmt, ...)
{
    char msg[MNEMO_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    msg[mnemo_utf8_cut(msg, strlen(msg))] = '\0';
    mnemo_http_resp_error(resp, 0, rc, msg);
    return -1;
}

int mnemo__routes_fail_err(struct mnemo_http_resp *resp, int rc, const struct mnemo_err *err)
{
    mnemo_http_resp_error(resp, 0, rc, mnemo_err_text(err, rc));
    return -1;
}

int mnemo__routes_json(struct mnemo_http_resp *resp, int status, json_t *j)
{
    return mnemo_http_resp_json(resp, status, j);
}

void mnemo__routes_bytes_owned(struct mnemo_http_resp *resp, int status, const char *content_type,
                               char *data, size_t len)
{
    json_decref(resp->json);
    free(resp->bytes);
    resp->status = status;
    resp->json = NULL;
    resp->bytes = data;
    resp->len = len;
    resp->content_type = content_type;
}

/* ---- request inputs ----------------------------------------------------------------------- */

int mnemo__routes_body(const struct mnemo_http_req *req, struct mnemo_http_resp *resp, int required,
                       const json_t **out)
{
    *out = NULL;
    if (req->body == NULL || json_is_null(req->body)) {
        if (required)
            return mnemo__routes_fail(resp, MNEMO_EINVAL, "a JSON object body is required");
        return 0;
    }
    if (!json_is_object(req->body))
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "the body must be a JSON object");
    *out = req->body;
    return 0;
}

int mnemo__routes_str(struct mnemo_http_resp *resp, const json_t *obj, const char *key,
                      int required, size_t max, const char **out)
{
    const json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return mnemo__routes_fail(resp, MNEMO_EINVAL, "field '%s' is required", key);
        return 0;
    }
    if (!json_is_string(v))
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "field '%s' must be a string", key);
    const char *s = json_string_value(v);
    if (required && s[0] == '\0')
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "field '%s' must not be empty", key);
    if (max > 0 && json_string_length(v) > max)
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "field '%s' is longer than %zu bytes", key,
                                  max);
    if (strlen(s) != json_string_length(v))
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "field '%s' contains a NUL character", key);
    *out = s;
    return 0;
}

int mnemo__routes_int(struct mnemo_http_resp *resp, const json_t *obj, const char *key, int64_t min,
                      int64_t max, int64_t def, int64_t *out)
{
    const json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

    *out = def;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "field '%s' must be an integer in %lld..%lld",
                                  key, (long long)min, (long long)max);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int mnemo__routes_bool(struct mnemo_http_resp *resp, const json_t *obj, const char *key, int def,
                       int *out)
{
    const json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

    *out = def;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "field '%s' must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* Parses a whole decimal integer in [min, max]; -1 for anything else. */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;

    if (s == NULL || s[0] == '\0' || !(isdigit((unsigned char)s[0]) || s[0] == '-'))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int mnemo__routes_param_id(const struct mnemo_http_req *req, struct mnemo_http_resp *resp,
                           const char *name, int64_t *out)
{
    const char *s = mnemo_http_req_param(req, name);

    *out = 0;
    if (parse_int(s, 1, INT64_MAX, out) != 0)
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "%s must be a positive integer, not '%.40s'",
                                  name, s != NULL ? s : "");
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..len) (%XX and '+') into buf; -1 when it does not fit. */
static int url_decode(const char *src, size_t len, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < len && hexval(src[i + 1]) >= 0 && hexval(src[i + 2]) >= 0) {
            c = hexval(src[i + 1]) * 16 + hexval(src[i + 2]);
            i += 2;
        }
        if (o + 1 >= size)
            return -1;
        buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return 0;
}

/* Finds name in the "a=1&b=2" query of a hand-built request's path. */
static int path_query(const char *path, const char *name, char *buf, size_t size, int *found)
{
    const char *q = path != NULL ? strchr(path, '?') : NULL;
    size_t nlen = strlen(name);

    *found = 0;
    for (const char *p = q != NULL ? q + 1 : NULL; p != NULL && *p != '\0';) {
        const char *amp = strchr(p, '&');
        size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq != NULL ? (size_t)(eq - p) : len;
        if (klen == nlen && memcmp(p, name, nlen) == 0) {
            *found = 1;
            if (eq == NULL)
                return url_decode("", 0, buf, size);
            return url_decode(eq + 1, len - klen - 1, buf, size);
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    return 0;
}

int mnemo__routes_query(const struct mnemo_http_req *req, struct mnemo_http_resp *resp,
                        const char *name, char *buf, size_t size, const char **out)
{
    *out = NULL;
    if (req->conn != NULL) {
        const char *v = mnemo_http_req_query(req, name);
        if (v == NULL)
            return 0;
        if (strlen(v) >= size)
            return mnemo__routes_fail(resp, MNEMO_EINVAL, "query argument '%s' is too long", name);
        memcpy(buf, v, strlen(v) + 1);
        *out = buf;
        return 0;
    }
    int found = 0;
    if (path_query(req->path, name, buf, size, &found) != 0)
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "query argument '%s' is too long", name);
    if (found)
        *out = buf;
    return 0;
}

int mnemo__routes_query_int(const struct mnemo_http_req *req, struct mnemo_http_resp *resp,
                            const char *name, int64_t min, int64_t max, int64_t def, int64_t *out)
{
    char buf[32];
    const char *s;

    *out = def;
    if (mnemo__routes_query(req, resp, name, buf, sizeof buf, &s) != 0)
        return -1;
    if (s == NULL || s[0] == '\0')
        return 0;
    if (parse_int(s, min, max, out) != 0)
        return mnemo__routes_fail(resp, MNEMO_EINVAL,
                                  "query argument '%s' must be an integer in %lld..%lld", name,
                                  (long long)min, (long long)max);
    return 0;
}

int mnemo__routes_project_check(struct mnemo_http_resp *resp, const char *field,
                                const char *project)
{
    struct mnemo_err err;

    mnemo_err_clear(&err);
    if (mnemo_project_validate(project, &err) != 0)
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "%s: %s", field, err.msg);
    return 0;
}

/* ---- shared pieces ------------------------------------------------------------------------ */

void mnemo__routes_publish(struct mnemo_worker *w, const char *event, const json_t *data)
{
    if (w->http != NULL && data != NULL)
        mnemo_http_publish(w->http, event, data);
}

void mnemo__routes_vectors(struct mnemo_worker *w, struct mnemo_embedder **emb,
                           struct mnemo_vindex **vx)
{
    *emb = NULL;
    *vx = NULL;
    if (w->emb != NULL && w->vx != NULL && mnemo_embed_enabled(w->emb)) {
        *emb = w->emb;
        *vx = w->vx;
    }
}

void mnemo__routes_search_vectors(struct mnemo_worker *w, struct mnemo_embedder **emb,
                                  struct mnemo_vindex **vx, const char **why)
{
    mnemo__routes_vectors(w, emb, vx);
    if (why != NULL)
        *why = NULL;
    if (*vx != NULL && !atomic_load(&w->index_ready)) {
        *emb = NULL;
        *vx = NULL;
        if (why != NULL)
            *why = "the vector index is still loading: keyword results only";
    }
}

void mnemo__routes_reindex(struct mnemo_worker *w, int64_t id)
{
    struct mnemo_embedder *emb;
    struct mnemo_vindex *vx;
    struct mnemo_err err;

    mnemo__routes_vectors(w, &emb, &vx);
    if (emb == NULL)
        return;
    mnemo_err_clear(&err);
    int rc = mnemo_search_embed_obs(w->st, vx, emb, id,
                                    mnemo_deadline_in_ms(ROUTES_EMBED_TIMEOUT_MS), &err);
    if (rc != 0 && rc != MNEMO_ENOTFOUND) {
        char q[2 * MNEMO_ERR_MSG_MAX + 8];
        mnemo_log_write(w->log, MNEMO_LOG_WARN, "embedding deferred to the re-embedder",
                        "id=%lld error=%s", (long long)id,
                        mnemo_log_quote(q, sizeof q, mnemo_err_text(&err, rc)));
    }
}

void mnemo__routes_unindex(struct mnemo_worker *w, int64_t id)
{
    if (w->vx != NULL)
        mnemo_vindex_remove(w->vx, id, NULL);
}

double mnemo__routes_took_ms(int64_t start_ns)
{
    return (double)((mnemo_clock_mono_ns() - start_ns) / 1000) / 1000.0;
}
