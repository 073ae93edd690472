/*
 * http_dispatch.c - the access handler: the checks every request passes before a handler
 * runs (peer, Host/Origin, rate, token, route, readiness, body limits, JSON), then the
 * handler call and the response.
 *
 * MHD calls the access handler several times per request on the connection's own thread:
 * once with the headers (everything that can be refused without the body is refused there,
 * so an oversized or unwanted body is never read), once per body chunk, and a last time with
 * no data, when the handler runs. The per-request state lives in con_cls and is freed by the
 * completion callback, which also records the request's metrics.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/http_int.h"
#include "util/clock.h"

/* A path parameter as found while matching: spans into the pattern and the path. */
struct span_param {
    const char *name, *value;
    size_t name_len, value_len;
};

/* Matches path against pattern; on success fills params (at most MNEMO_HTTP_MAX_PARAMS, the
 * table is validated at start) and returns their count + 1, else 0. */
static size_t match(const char *pattern, const char *path, struct span_param *params)
{
    const char *p = pattern, *s = path;
    size_t n = 0;
    while (*p != '\0' && *s != '\0') {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *end = strchr(s, '/');
            if (end == NULL)
                end = s + strlen(s);
            if (close == NULL || end == s || n == MNEMO_HTTP_MAX_PARAMS)
                return 0;
            params[n].name = p + 1;
            params[n].name_len = (size_t)(close - p - 1);
            params[n].value = s;
            params[n].value_len = (size_t)(end - s);
            n++;
            p = close + 1;
            s = end;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return 0;
        }
    }
    return (*p == '\0' && *s == '\0') ? n + 1 : 0;
}

static int method_is(const char *m, const char *want)
{
    return strcmp(m, want) == 0;
}

/* HEAD is answered by the GET route (MHD sends the headers only). */
static int method_matches(const char *route_method, const char *method)
{
    return method_is(route_method, method) ||
           (method_is(method, "HEAD") && method_is(route_method, "GET"));
}

static int is_body_method(const char *m)
{
    return method_is(m, "POST") || method_is(m, "PUT") || method_is(m, "PATCH");
}

static int is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    size_t n = sizeof(want) - 1;
    if (ct == NULL || strncasecmp(ct, want, n) != 0)
        return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* Queues an error answer, counting it as a rejection when why >= 0. */
static enum MHD_Result reject(struct mnemo_http *h, struct mnemo__http_rctx *rc,
                              struct MHD_Connection *conn, int status, int code, int why,
                              const char *msg, const char *hname, const char *hvalue)
{
    struct mnemo_http_resp resp = {0};
    mnemo_http_resp_error(&resp, status, code, msg);
    if (hname != NULL && mnemo_http_resp_header(&resp, hname, hvalue) != 0) {
        mnemo__http_resp_release(&resp);
        return MHD_NO;
    }
    if (why >= 0)
        mnemo__http_metrics_reject(&h->metrics, (enum mnemo__http_reject)why);
    if (h->cfg.log != NULL && mnemo_log_enabled(h->cfg.log, MNEMO_LOG_DEBUG)) {
        char q[300];
        mnemo_log_write(h->cfg.log, MNEMO_LOG_DEBUG, "http request refused", "status=%d reason=%s",
                        status, mnemo_log_quote(q, sizeof(q), msg));
    }
    return mnemo__http_send(rc, conn, &resp);
}

/* `GET /?token=<t>`: trade the token in the address bar for a cookie, then drop it from
 * the address bar with a redirect. */
static enum MHD_Result token_landing(struct mnemo_http *h, struct mnemo__http_rctx *rc,
                                     struct MHD_Connection *conn, const char *token)
{
    if (!mnemo__http_token_equal(h, token))
        return reject(h, rc, conn, 401, MNEMO_EACCES, MNEMO__REJ_AUTH, "wrong token", NULL, NULL);
    char cookie[600];
    int n = snprintf(cookie, sizeof(cookie), "mnemo_token=%s; HttpOnly; SameSite=Strict; Path=/",
                     token);
    if (n < 0 || (size_t)n >= sizeof(cookie))
        return reject(h, rc, conn, 400, MNEMO_EINVAL, MNEMO__REJ_AUTH, "token too long", NULL,
                      NULL);
    struct mnemo_http_resp resp = {.status = 303};
    if (mnemo_http_resp_header(&resp, "Set-Cookie", cookie) != 0 ||
        mnemo_http_resp_header(&resp, "Location", "/") != 0) {
        mnemo__http_resp_release(&resp);
        return MHD_NO;
    }
    return mnemo__http_send(rc, conn, &resp);
}

/* Everything decided from the request line and headers. */
static enum MHD_Result first_call(struct mnemo__http_listener *lis, struct mnemo__http_rctx *rc,
                                  struct MHD_Connection *conn, const char *url, const char *method)
{
    struct mnemo_http *h = lis->h;
    char msg[256];

    pthread_mutex_lock(&h->mu);
    int stopping = h->stopping;
    pthread_mutex_unlock(&h->mu);
    if (stopping)
        return reject(h, rc, conn, 503, MNEMO_ECLOSED, -1, "server is stopping", "Connection",
                      "close");

    if (lis->transport == MNEMO_HTTP_UNIX) {
        if (mnemo__http_check_peer(h, conn, msg, sizeof(msg)) != 0)
            return reject(h, rc, conn, 403, MNEMO_EACCES, MNEMO__REJ_PEER, msg, NULL, NULL);
    } else {
        int why = mnemo__http_check_host_origin(h, conn, msg, sizeof(msg));
        if (why != 0)
            return reject(h, rc, conn, 403, MNEMO_EACCES, why, msg, NULL, NULL);
    }

    int wait = mnemo__http_rate_take(&h->rate, lis, conn);
    if (wait > 0) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%d", wait);
        return reject(h, rc, conn, 429, MNEMO_EBUSY, MNEMO__REJ_RATE, "too many requests",
                      "Retry-After", secs);
    }

    if (method_is(method, "GET") && strcmp(url, "/") == 0) {
        const char *t = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
        if (t != NULL)
            return token_landing(h, rc, conn, t);
    }

    struct span_param spans[MNEMO_HTTP_MAX_PARAMS];
    struct span_param tmp[MNEMO_HTTP_MAX_PARAMS];
    long route = -1;
    size_t n_params = 0;
    int path_known = 0, path_public = 0;
    for (size_t i = 0; i < h->n_routes; i++) {
        size_t m = match(h->routes[i].pattern, url, tmp);
        if (m == 0)
            continue;
        path_known = 1;
        if (h->routes[i].flags & MNEMO_HTTP_PUBLIC)
            path_public = 1;
        if (route < 0 && method_matches(h->routes[i].method, method)) {
            route = (long)i;
            n_params = m - 1;
            memcpy(spans, tmp, n_params * sizeof(spans[0]));
        }
    }
    int is_public = route >= 0 ? (h->routes[route].flags & MNEMO_HTTP_PUBLIC) != 0 : path_public;
    if (lis->transport == MNEMO_HTTP_TCP && !is_public && !mnemo__http_has_token(h, conn))
        return reject(h, rc, conn, 401, MNEMO_EACCES, MNEMO__REJ_AUTH,
                      "missing or wrong token: send \"Authorization: Bearer <token>\"", NULL, NULL);
    if (route < 0 && !path_known)
        return reject(h, rc, conn, 404, MNEMO_ENOTFOUND, MNEMO__REJ_NOT_FOUND, "no such route",
                      NULL, NULL);
    if (route < 0) {
        char allow[128] = "";
        size_t used = 0;
        for (size_t i = 0; i < h->n_routes; i++) {
            if (match(h->routes[i].pattern, url, tmp) == 0)
                continue;
            const char *m = h->routes[i].method;
            if (strstr(allow, m) != NULL)
                continue;
            int w = snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "", m);
            if (w < 0 || (size_t)w >= sizeof(allow) - used)
                break;
            used += (size_t)w;
        }
        snprintf(msg, sizeof(msg), "method %s not allowed here (allowed: %s)", method, allow);
        return reject(h, rc, conn, 405, MNEMO_EINVAL, MNEMO__REJ_METHOD, msg, "Allow", allow);
    }
    rc->route = route;
    const struct mnemo_http_route *r = &h->routes[route];

    if ((r->flags & MNEMO_HTTP_NEEDS_READY) && h->cfg.ready != NULL && !h->cfg.ready(h->cfg.ctx))
        return reject(h, rc, conn, 503, MNEMO_EBUSY, MNEMO__REJ_NOT_READY, "starting", NULL, NULL);

    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    unsigned long long clen = 0;
    if (cl != NULL) {
        char *end = NULL;
        errno = 0;
        clen = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl)
            clen = (unsigned long long)-1;
    }
    if (cl != NULL && clen > h->cfg.max_body) {
        snprintf(msg, sizeof(msg), "request body exceeds %zu bytes", h->cfg.max_body);
        return reject(h, rc, conn, 413, MNEMO_ETOOBIG, MNEMO__REJ_TOO_BIG, msg, NULL, NULL);
    }
    rc->has_body_headers = clen > 0 || te != NULL;
    if (rc->has_body_headers && is_body_method(method) && !(r->flags & MNEMO_HTTP_RAW_BODY) &&
        !is_json_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type")))
        return reject(h, rc, conn, 415, MNEMO_EINVAL, MNEMO__REJ_CONTENT_TYPE,
                      "request body must be sent as Content-Type: application/json", NULL, NULL);

    if (r->flags & MNEMO_HTTP_SSE) {
        struct MHD_Response *resp = mnemo__http_sse_response(&h->sse);
        if (resp == NULL)
            return reject(h, rc, conn, 503, MNEMO_EBUSY, -1, "too many event-stream clients", NULL,
                          NULL);
        /* Keepalives keep a live stream busy, so the idle timeout must outlast two of them;
         * it still closes a reader that stopped reading (its sends never complete). */
        unsigned tmo = (unsigned)h->cfg.timeout_s;
        unsigned ka = (unsigned)((2 * h->sse.keepalive_ms + 999) / 1000);
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, tmo > ka ? tmo : ka);
        enum MHD_Result ok = MHD_YES;
        if (mnemo__http_add_security_headers(resp) != 0 ||
            MHD_add_response_header(resp, "Content-Type", "text/event-stream") != MHD_YES ||
            MHD_queue_response(conn, 200, resp) != MHD_YES)
            ok = MHD_NO;
        MHD_destroy_response(resp);
        if (ok == MHD_YES) {
            rc->status = 200;
            rc->answered = 1;
            /* A stream lasts until stop; graceful stop must not wait for it. */
            pthread_mutex_lock(&h->mu);
            h->in_flight--;
            rc->counted = 0;
            if (h->in_flight == 0)
                pthread_cond_broadcast(&h->idle);
            pthread_mutex_unlock(&h->mu);
        }
        return ok;
    }

    for (size_t i = 0; i < n_params; i++) {
        rc->param_names[i] = strndup(spans[i].name, spans[i].name_len);
        rc->param_values[i] = strndup(spans[i].value, spans[i].value_len);
        rc->n_params = i + 1;
        if (rc->param_names[i] == NULL || rc->param_values[i] == NULL)
            return MHD_NO;
    }
    return MHD_YES;
}

/* Scanned before parsing so that a hostile body cannot drive the recursive parser deep into
 * the stack (http.h). */
long mnemo_http_json_too_deep(const char *s, size_t n)
{
    int depth = 0, in_str = 0, esc = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > MNEMO_HTTP_MAX_JSON_DEPTH)
                return (long)i;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return -1;
}

static enum MHD_Result final_call(struct mnemo__http_listener *lis, struct mnemo__http_rctx *rc,
                                  struct MHD_Connection *conn, const char *url, const char *method)
{
    struct mnemo_http *h = lis->h;
    const struct mnemo_http_route *r = &h->routes[rc->route];
    char msg[256];
    json_t *body = NULL;

    if (rc->len > 0 && !(r->flags & MNEMO_HTTP_RAW_BODY)) {
        const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
        if (!is_json_type(ct) && is_body_method(method))
            return reject(h, rc, conn, 415, MNEMO_EINVAL, MNEMO__REJ_CONTENT_TYPE,
                          "request body must be sent as Content-Type: application/json", NULL,
                          NULL);
        if (is_json_type(ct)) {
            long at = mnemo_http_json_too_deep(rc->body, rc->len);
            if (at >= 0) {
                snprintf(msg, sizeof(msg), "JSON nested deeper than %d levels at position %ld",
                         MNEMO_HTTP_MAX_JSON_DEPTH, at);
                return reject(h, rc, conn, 400, MNEMO_EINVAL, MNEMO__REJ_BAD_JSON, msg, NULL, NULL);
            }
            json_error_t e;
            body = json_loadb(rc->body, rc->len, 0, &e);
            if (body == NULL) {
                if (json_error_code(&e) == json_error_invalid_utf8)
                    snprintf(msg, sizeof(msg),
                             "request body is not valid UTF-8 (line %d, column %d, position %d)",
                             e.line, e.column, e.position);
                else
                    snprintf(msg, sizeof(msg),
                             "malformed JSON: %s (line %d, column %d, position %d)", e.text, e.line,
                             e.column, e.position);
                return reject(h, rc, conn, 400, MNEMO_EINVAL, MNEMO__REJ_BAD_JSON, msg, NULL, NULL);
            }
        }
    }

    struct mnemo_http_req req = {
        .method = method,
        .path = url,
        .transport = lis->transport,
        .route = r->pattern,
        .n_params = rc->n_params,
        .body = body,
        .raw_body = rc->len > 0 ? rc->body : NULL,
        .raw_len = rc->len,
        .conn = conn,
    };
    for (size_t i = 0; i < rc->n_params; i++) {
        req.param_names[i] = rc->param_names[i];
        req.param_values[i] = rc->param_values[i];
    }
    struct mnemo_http_resp resp = {0};
    int hrc = MNEMO_EINTERNAL;
    if (r->handler != NULL)
        hrc = r->handler(h->cfg.ctx, &req, &resp);
    if (hrc < 0) {
        mnemo__http_resp_release(&resp);
        mnemo_http_resp_error(&resp, 0, hrc, NULL);
    }
    json_decref(body);
    return mnemo__http_send(rc, conn, &resp);
}

/* Appends a body chunk; past max_body the connection is closed (a chunked body has no
 * length to refuse up front, and MHD 0.9.75 refuses to queue a response once it is reading
 * the body, so closing is the only way not to read the rest). */
static enum MHD_Result add_chunk(struct mnemo_http *h, struct mnemo__http_rctx *rc,
                                 const char *data, size_t n)
{
    if (rc->len + n > h->cfg.max_body) {
        rc->overflow = 1;
        rc->status = 413;
        mnemo__http_metrics_reject(&h->metrics, MNEMO__REJ_TOO_BIG);
        return MHD_NO;
    }
    if (rc->len + n + 1 > rc->cap) {
        size_t cap = rc->cap != 0 ? rc->cap : 4096;
        while (cap < rc->len + n + 1)
            cap *= 2;
        if (cap > h->cfg.max_body + 1)
            cap = h->cfg.max_body + 1;
        char *nb = realloc(rc->body, cap);
        if (nb == NULL)
            return MHD_NO;
        rc->body = nb;
        rc->cap = cap;
    }
    memcpy(rc->body + rc->len, data, n);
    rc->len += n;
    rc->body[rc->len] = '\0';
    return MHD_YES;
}

enum MHD_Result mnemo__http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **con_cls)
{
    (void)version;
    struct mnemo__http_listener *lis = cls;
    struct mnemo_http *h = lis->h;
    struct mnemo__http_rctx *rc = *con_cls;

    if (rc == NULL) {
        rc = calloc(1, sizeof(*rc));
        if (rc == NULL)
            return MHD_NO;
        rc->lis = lis;
        rc->start_ns = mnemo_clock_mono_ns();
        rc->route = -1;
        rc->counted = 1;
        pthread_mutex_lock(&h->mu);
        h->in_flight++;
        pthread_mutex_unlock(&h->mu);
        *con_cls = rc;
        return first_call(lis, rc, conn, url, method);
    }
    if (rc->answered) {
        /* Answered from the headers: whatever body follows is not ours to read. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        enum MHD_Result ok = add_chunk(h, rc, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ok;
    }
    return final_call(lis, rc, conn, url, method);
}

void mnemo__http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct mnemo__http_listener *lis = cls;
    struct mnemo_http *h = lis->h;
    struct mnemo__http_rctx *rc = *con_cls;
    if (rc == NULL)
        return;
    *con_cls = NULL;
    if (rc->status != 0) {
        double secs = (double)(mnemo_clock_mono_ns() - rc->start_ns) / 1e9;
        mnemo__http_metrics_observe(&h->metrics, rc->route, rc->status, secs);
    }
    for (size_t i = 0; i < rc->n_params; i++) {
        free(rc->param_names[i]);
        free(rc->param_values[i]);
    }
    free(rc->body);
    if (rc->counted) {
        pthread_mutex_lock(&h->mu);
        if (--h->in_flight == 0)
            pthread_cond_broadcast(&h->idle);
        pthread_mutex_unlock(&h->mu);
    }
    free(rc);
}
