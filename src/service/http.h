/*
 * http.h - the worker's HTTP server on libmicrohttpd: a Unix-socket listener and an optional
 * TCP listener sharing one route table, with mnemo's security model and limits built in, a
 * server-sent-events hub and per-route request metrics.
 *
 * What the server does before a handler runs (so no handler repeats it):
 *   - Unix socket: created by the server at cfg.socket_path (its directory must exist, 0700),
 *     mode 0600, a stale socket file is replaced only when nothing answers on it; every
 *     connection's peer uid is read with SO_PEERCRED and must equal the server's euid (403).
 *   - TCP: binds cfg.tcp_host:cfg.tcp_port (port 0 = any; mnemo_http_tcp_port tells which).
 *     A non-loopback host is refused at start unless cfg.token is set. The Host header must
 *     name 127.0.0.1, [::1] or localhost with the listening port (403, DNS rebinding); an
 *     Origin header, when present, must be this server's own origin (403); no CORS headers
 *     are ever sent. Every route without MNEMO_HTTP_PUBLIC needs the token: "Authorization:
 *     Bearer <token>" or the cookie "mnemo_token=<token>" (401), compared in constant time.
 *     `GET /?token=<t>` with the right token sets that cookie (HttpOnly, SameSite=Strict,
 *     Path=/) and redirects (303) to "/" so the token leaves the address bar.
 *     Over the Unix socket the peer-uid check replaces the token.
 *   - Limits: body > cfg.max_body -> 413 (without reading it all); POST/PUT/PATCH with a body
 *     need Content-Type application/json (415) unless the route has MNEMO_HTTP_RAW_BODY;
 *     malformed JSON -> 400 naming the parse error with line, column and position, JSON nested
 *     deeper than 64 levels -> 400; a JSON body that is not valid UTF-8 -> 400; unknown path
 *     -> 404; known path, other method -> 405 with an Allow header; more than
 *     cfg.rate_limit requests per second from one client (per peer uid on the socket, per
 *     address on TCP; token bucket with a burst of 2 x rate) -> 429 with Retry-After;
 *     connection idle timeout cfg.timeout_s. A route flagged MNEMO_HTTP_NEEDS_READY answers
 *     503 {"error":{"code":"MNEMO_EBUSY","message":"starting"}} while cfg.ready returns 0.
 *   - Every response carries X-Content-Type-Options: nosniff, X-Frame-Options: DENY,
 *     Referrer-Policy: no-referrer, Cache-Control: no-store, and a Content-Security-Policy
 *     of default-src 'self'. Every error body is {"error":{"code":"MNEMO_...","message":"..."}}.
 *   - Details of the implementation (http*.c), noted here because clients can see them:
 *     checks run in the order stopping (503) - peer or Host/Origin (403) - rate (429) -
 *     token landing - token (401) - route (404/405) - ready (503) - length (413) - type (415),
 *     so over TCP an unknown path without the token answers 401, not 404. A chunked body
 *     that passes max_body has no length to refuse up front and MHD cannot answer while it
 *     reads a body, so that connection is closed instead of answered 413. An SSE stream's
 *     idle timeout is the larger of timeout_s and two keepalives, so a reader that stops
 *     reading is closed; errors MHD produces itself (header block over 32 KiB, malformed
 *     request line) carry MHD's own body.
 *
 * Ownership: the server owns its listeners, threads and connections; the route table,
 * cfg strings and ctx are borrowed and must outlive mnemo_http_stop. A response's body
 * (json or bytes) is owned by the response once set and freed by the server.
 * Thread-safety: handlers run concurrently on the server's threads and must be thread-safe.
 * mnemo_http_publish and mnemo_http_metrics_write may be called from any thread at any time
 * between start and stop. start/stop are called by one thread, never from a handler (stop
 * waits for handlers to finish).
 */
#ifndef MNEMO_SERVICE_HTTP_H
#define MNEMO_SERVICE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "util/err.h"
#include "util/log.h"
#include "util/strbuf.h"

/* Defaults of struct mnemo_http_config (mnemo_http_config_init). */
#define MNEMO_HTTP_DEFAULT_MAX_BODY   (10 * 1024 * 1024)
#define MNEMO_HTTP_DEFAULT_RATE_LIMIT 200 /* requests per second per client */
#define MNEMO_HTTP_DEFAULT_TIMEOUT_S  30
#define MNEMO_HTTP_MAX_JSON_DEPTH     64
/* Connections per listener (each has its own thread, so a blocked SSE client starves nobody). */
#define MNEMO_HTTP_DEFAULT_MAX_CONNECTIONS 128
/* SSE clients at once (more get 503) and messages queued per client before it is dropped. */
#define MNEMO_HTTP_MAX_SSE_CLIENTS 64
#define MNEMO_HTTP_SSE_QUEUE       256
/* SSE keepalive comment interval. */
#define MNEMO_HTTP_SSE_KEEPALIVE_MS 15000
/* Most path parameters a route pattern may have. */
#define MNEMO_HTTP_MAX_PARAMS 4

enum mnemo_http_transport {
    MNEMO_HTTP_UNIX,
    MNEMO_HTTP_TCP,
};

struct mnemo_http_config {
    const char *socket_path; /* NULL: no Unix listener */
    int tcp_enabled;         /* 0: no TCP listener */
    const char *tcp_host;    /* default "127.0.0.1" */
    int tcp_port;            /* default 37777; 0 = any free port */
    const char *token;       /* the TCP token (hex); NULL refuses every non-public TCP route */
    size_t max_body;
    int rate_limit; /* 0 = unlimited */
    int timeout_s;
    struct mnemo_log *log; /* may be NULL */
    /* 1 when data routes may run; NULL means always ready. Called on server threads. */
    int (*ready)(void *ctx);
    void *ctx; /* passed to ready and to every handler */
    /* Added by the server's implementation (additive, 0 keeps the default): */
    int sse_keepalive_ms; /* SSE keepalive interval; 0 = MNEMO_HTTP_SSE_KEEPALIVE_MS */
    int max_connections;  /* per listener; 0 = MNEMO_HTTP_DEFAULT_MAX_CONNECTIONS */
};

/* Fills cfg with the defaults above (no listener enabled, TCP on 127.0.0.1:37777 off). */
void mnemo_http_config_init(struct mnemo_http_config *cfg);

/* A request as a handler sees it; everything is borrowed for the handler's duration. */
struct mnemo_http_req {
    const char *method; /* "GET" */
    const char *path;   /* "/v1/observations/12", decoded, without the query */
    enum mnemo_http_transport transport;
    const char *route; /* the pattern that matched: "/v1/observations/{id}" */
    size_t n_params;
    const char *param_names[MNEMO_HTTP_MAX_PARAMS];  /* "id" */
    const char *param_values[MNEMO_HTTP_MAX_PARAMS]; /* "12" */
    const json_t *body;   /* the parsed JSON body, NULL when there was none */
    const char *raw_body; /* the bytes as received (NUL-terminated), NULL when none */
    size_t raw_len;
    void *conn; /* the server's connection handle (for mnemo_http_req_query/header) */
};

/* Value of query argument name (decoded), NULL when absent. */
const char *mnemo_http_req_query(const struct mnemo_http_req *req, const char *name);

/* Value of request header name (case-insensitive), NULL when absent. */
const char *mnemo_http_req_header(const struct mnemo_http_req *req, const char *name);

/* Value of path parameter name ("id" of "/v1/observations/{id}"), NULL when absent. */
const char *mnemo_http_req_param(const struct mnemo_http_req *req, const char *name);

#define MNEMO_HTTP_MAX_HEADERS 4

/* What a handler answers. Zeroed by the server before the handler runs. */
struct mnemo_http_resp {
    int status;   /* 0 means 200 */
    json_t *json; /* owned: a JSON body (Content-Type application/json) */
    char *bytes;  /* owned (malloc): a raw body, used when json is NULL */
    size_t len;
    const char *content_type; /* for bytes; static string */
    size_t n_headers;
    const char *header_names[MNEMO_HTTP_MAX_HEADERS]; /* static strings */
    char *header_values[MNEMO_HTTP_MAX_HEADERS];      /* owned (malloc) */
};

/* Sets a JSON body (takes the reference; NULL json means out of memory -> 500). Returns 0. */
int mnemo_http_resp_json(struct mnemo_http_resp *resp, int status, json_t *json);

/*
 * Sets the error body {"error":{"code":mnemo_rcname(rc),"message":msg}} with
 * status (0 = mnemo_rc_http_status(rc)). msg NULL uses mnemo_strerror(rc). Returns 0.
 */
int mnemo_http_resp_error(struct mnemo_http_resp *resp, int status, int rc, const char *msg);

/* Sets a raw body (copied) with its content type (static). Returns 0 or MNEMO_ENOMEM. */
int mnemo_http_resp_bytes(struct mnemo_http_resp *resp, int status, const char *content_type,
                          const void *data, size_t len);

/* Adds a response header (name static, value copied). Returns 0, MNEMO_ETOOBIG or ENOMEM. */
int mnemo_http_resp_header(struct mnemo_http_resp *resp, const char *name, const char *value);

/*
 * A handler. Returns 0 when resp is filled; a negative mnemo_rc instead makes the server
 * answer mnemo_http_resp_error(resp, 0, rc, NULL) itself (the handler then leaves resp empty).
 */
typedef int (*mnemo_http_handler)(void *ctx, const struct mnemo_http_req *req,
                                  struct mnemo_http_resp *resp);

enum mnemo_http_route_flags {
    MNEMO_HTTP_PUBLIC = 1u << 0,      /* no token over TCP (/v1/health, /v1/version) */
    MNEMO_HTTP_NEEDS_READY = 1u << 1, /* 503 until cfg.ready says the store is up */
    MNEMO_HTTP_RAW_BODY = 1u << 2,    /* accept any content type; body is not parsed */
    MNEMO_HTTP_SSE = 1u << 3,         /* the server-sent-events stream; handler must be NULL */
};

/*
 * One route. pattern is a literal path with optional "{name}" segments matching one
 * non-empty segment each ("/v1/observations/{id}/feedback"). Routes are matched in table
 * order; the first whose pattern and method match wins.
 */
struct mnemo_http_route {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *pattern;
    mnemo_http_handler handler;
    unsigned flags;
};

struct mnemo_http;

/*
 * Starts the listeners (Unix first, then TCP) and their threads. Returns 0, MNEMO_EINVAL (bad
 * config: non-loopback host without token, no listener at all), MNEMO_EEXIST (the socket path
 * is in use by a live server, or the TCP port is taken: message names it), MNEMO_EIO.
 * Nothing is left listening on failure.
 */
int mnemo_http_start(const struct mnemo_http_config *cfg, const struct mnemo_http_route *routes,
                     size_t n_routes, struct mnemo_http **out, struct mnemo_err *err);

/* The TCP port actually bound (useful with tcp_port 0), 0 without TCP. */
int mnemo_http_tcp_port(const struct mnemo_http *h);

/*
 * Stops accepting at once, lets in-flight requests finish for up to grace_ms, ends SSE
 * streams, closes everything and removes the socket file. NULL is a no-op.
 */
void mnemo_http_stop(struct mnemo_http *h, int grace_ms);

/*
 * Sends one server-sent event `event: <event>\ndata: <compact json>\n\n` to every connected
 * /v1/stream client. Never blocks on a slow client: each client has a bounded queue and a
 * client whose queue is full is disconnected. data is borrowed. Returns 0 or MNEMO_ENOMEM.
 */
int mnemo_http_publish(struct mnemo_http *h, const char *event, const json_t *data);

/* Number of connected SSE clients. */
int mnemo_http_sse_clients(struct mnemo_http *h);

/*
 * Appends the server's metrics in Prometheus text format to sb: mnemo_http_requests_total
 * {route,method,code}, mnemo_http_request_duration_seconds histogram per route,
 * mnemo_http_sse_clients, mnemo_http_rejected_total{reason}. Returns 0 or MNEMO_ENOMEM.
 */
int mnemo_http_metrics_write(struct mnemo_http *h, struct mnemo_strbuf *sb);

/*
 * Where body s[0..n) nests [ and { (outside strings) deeper than MNEMO_HTTP_MAX_JSON_DEPTH: the
 * offset of the first bracket too deep, or -1 when it stays within the limit. The server
 * refuses such a body (400) before parsing it; anything feeding handlers by other means (the
 * HTTP fuzzer) applies the same check. Pure; any thread.
 */
long mnemo_http_json_too_deep(const char *s, size_t n);

#endif
