/*
 * worker_http.h - HTTP helpers of the worker's route and crash tests, on top of worker_procs.h:
 * requests with any method, content type, body and extra headers, over the worker's socket or
 * TCP, keeping the response's status, headers and body; the worker's token; a free TCP port;
 * and checks of the API's error shape. Header-only (static inline) like worker_procs.h; include
 * it instead of worker_procs.h.
 * Thread-safety: http_call may run on any thread (after curl_global_init on the main thread);
 * everything that asserts is for the test's main thread.
 */
#ifndef MNEMO_TESTS_WORKER_HTTP_H
#define MNEMO_TESTS_WORKER_HTTP_H

#include "worker_procs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

/* One answer: status (0 when nothing answered), raw header block and body (both malloc'd). */
struct http_resp {
    long code;
    char *headers;
    char *body;
    json_t *json; /* the body parsed, or NULL when it is not JSON */
};

struct http_opts {
    const char *content_type;   /* sets Content-Type when non-NULL */
    const char *const *headers; /* NULL-terminated extra header lines, may be NULL */
    const char *body;           /* request body (length body_len, or strlen when 0) */
    size_t body_len;
    long timeout_ms; /* 0 = 10 s */
};

static inline void http_resp_free(struct http_resp *r)
{
    free(r->headers);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/*
 * One request over the socket (sock non-NULL) or TCP. Does not assert, so a helper thread may
 * call it; returns the curl result (CURLE_OK when an answer came).
 */
static inline CURLcode http_call(const char *sock, const char *method, const char *url,
                                 const struct http_opts *o, struct http_resp *out)
{
    struct mnemo_strbuf hb, bb;
    struct curl_slist *hl = NULL;
    char ct[256];
    CURLcode cc = CURLE_OUT_OF_MEMORY;

    memset(out, 0, sizeof *out);
    mnemo_strbuf_init(&hb, 1 << 20);
    mnemo_strbuf_init(&bb, 64 << 20);
    CURL *c = curl_easy_init();
    if (c == NULL)
        goto done;
    if (sock != NULL)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     o != NULL && o->timeout_ms > 0 ? o->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
    if (o != NULL && o->content_type != NULL) {
        snprintf(ct, sizeof ct, "Content-Type: %s", o->content_type);
        hl = curl_slist_append(hl, ct);
    }
    for (size_t i = 0; o != NULL && o->headers != NULL && o->headers[i] != NULL; i++)
        hl = curl_slist_append(hl, o->headers[i]);
    if (hl != NULL)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (o != NULL && o->body != NULL) {
        size_t n = o->body_len > 0 ? o->body_len : strlen(o->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    else if (strcmp(method, "POST") == 0 && (o == NULL || o->body == NULL))
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->code);
        out->headers = mnemo_strbuf_detach(&hb);
        out->body = mnemo_strbuf_detach(&bb);
        if (out->body != NULL)
            out->json = json_loads(out->body, 0, NULL);
    }
    curl_easy_cleanup(c);
done:
    curl_slist_free_all(hl);
    mnemo_strbuf_release(&hb);
    mnemo_strbuf_release(&bb);
    return cc;
}

/* http_call for the main thread: fails the test when nothing answered. */
static inline struct http_resp http(const char *sock, const char *method, const char *url,
                                    const struct http_opts *o)
{
    struct http_resp r;
    CURLcode cc = http_call(sock, method, url, o, &r);
    if (cc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(cc));
    return r;
}

/* A JSON request over the worker's socket ("http://localhost" + path). */
static inline struct http_resp sock_json(struct fixture *f, const char *method, const char *path,
                                         const char *json_body)
{
    char url[1024];
    snprintf(url, sizeof url, "http://localhost%s", path);
    struct http_opts o = {.content_type = json_body != NULL ? "application/json" : NULL,
                          .body = json_body};
    return http(f->sock, method, url, &o);
}

/*
 * The value of response header name (case-insensitive; the last one when repeated, e.g. after
 * a 100 Continue), copied into buf without the line end; NULL when absent.
 */
static inline const char *header_value(const struct http_resp *r, const char *name, char *buf,
                                       size_t size)
{
    const char *found = NULL;
    size_t nl = strlen(name);
    for (const char *p = r->headers; p != NULL && *p != '\0';) {
        const char *eol = strchr(p, '\n');
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(buf, size, "%.*s", (int)vl, v);
            found = buf;
        }
        p = eol != NULL ? eol + 1 : p + len;
    }
    return found;
}

/* Asserts an error answer: status code, {"error":{"code":"MNEMO_...","message":"..."}}; returns
 * the message (owned by r). */
static inline const char *expect_error(const struct http_resp *r, long code, const char *what)
{
    if (r->code != code)
        fail_msg("%s: status %ld, want %ld; body: %s", what, r->code, code,
                 r->body != NULL ? r->body : "(none)");
    json_t *e = json_object_get(r->json, "error");
    const char *c = json_string_value(json_object_get(e, "code"));
    const char *m = json_string_value(json_object_get(e, "message"));
    if (!json_is_object(r->json) || json_object_size(r->json) != 1 || c == NULL ||
        strncmp(c, "MNEMO_", 6) != 0 || m == NULL || m[0] == '\0')
        fail_msg("%s: not an error body: %s", what, r->body != NULL ? r->body : "(none)");
    return m;
}

/* Asserts status code and a JSON body; returns the parsed body (owned by r). */
static inline json_t *expect_json(const struct http_resp *r, long code, const char *what)
{
    if (r->code != code || r->json == NULL)
        fail_msg("%s: status %ld, want %ld with JSON; body: %s", what, r->code, code,
                 r->body != NULL ? r->body : "(none)");
    return r->json;
}

/* The worker's token (64 hex characters) into buf. */
static inline void read_token(struct fixture *f, char *buf, size_t size)
{
    char *t = tu_file_read(f->token, 256, NULL);
    assert_non_null(t);
    size_t n = strcspn(t, "\r\n");
    assert_true(n > 0 && n < size);
    memcpy(buf, t, n);
    buf[n] = '\0';
    free(t);
}

/* A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). */
static inline int free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

#endif
