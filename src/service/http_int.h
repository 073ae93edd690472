/*
 * http_int.h - what the files of the HTTP server share and nobody else sees: the server
 * struct, the per-request state, the security checks (http_auth.c), the SSE hub
 * (http_sse.c) and the metrics registry (http_metrics.c).
 *
 * Thread-safety: the server struct is written only by start/stop; the rate limiter, the SSE
 * hub, the metrics and the in-flight counter carry their own mutexes, so everything reached
 * from a connection thread is either read-only after start or behind one of those locks.
 */
#ifndef MNEMO_SERVICE_HTTP_INT_H
#define MNEMO_SERVICE_HTTP_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "service/http.h"

/* ---- rate limiter (http_auth.c) ---- */

/* Most clients tracked at once; a bucket idle long enough to be full again is recycled. */
#define MNEMO__HTTP_RATE_SLOTS 1024
#define MNEMO__HTTP_RATE_KEY   17

struct mnemo__http_bucket {
    unsigned char key[MNEMO__HTTP_RATE_KEY];
    size_t key_len;
    double tokens;
    int64_t last_ns;
};

struct mnemo__http_rate {
    pthread_mutex_t mu;
    double rate;  /* tokens per second; 0 = unlimited */
    double burst; /* bucket size */
    size_t n;
    struct mnemo__http_bucket slots[MNEMO__HTTP_RATE_SLOTS];
};

/* ---- SSE hub (http_sse.c) ---- */

struct mnemo__sse_client;

struct mnemo__http_sse {
    pthread_mutex_t mu;
    struct mnemo__sse_client *clients; /* doubly linked, under mu */
    int n_live;                        /* registered and not dropped */
    int stopping;
    int keepalive_ms;
};

/* ---- metrics (http_metrics.c) ---- */

#define MNEMO__HTTP_N_BUCKETS 13 /* including +Inf */
#define MNEMO__HTTP_MAX_CODES 12 /* distinct status codes tracked per route */

enum mnemo__http_reject {
    MNEMO__REJ_AUTH,
    MNEMO__REJ_HOST,
    MNEMO__REJ_ORIGIN,
    MNEMO__REJ_PEER,
    MNEMO__REJ_RATE,
    MNEMO__REJ_TOO_BIG,
    MNEMO__REJ_CONTENT_TYPE,
    MNEMO__REJ_BAD_JSON,
    MNEMO__REJ_NOT_FOUND,
    MNEMO__REJ_METHOD,
    MNEMO__REJ_NOT_READY,
    MNEMO__REJ_COUNT,
};

struct mnemo__route_metrics {
    int codes[MNEMO__HTTP_MAX_CODES];
    uint64_t code_counts[MNEMO__HTTP_MAX_CODES];
    uint64_t other_codes; /* requests whose code found no free slot */
    uint64_t buckets[MNEMO__HTTP_N_BUCKETS];
    double sum_s;
    uint64_t count;
};

struct mnemo__http_metrics {
    pthread_mutex_t mu;
    size_t n_routes;                  /* the table's routes; index n_routes = unmatched */
    struct mnemo__route_metrics *per; /* n_routes + 1 */
    uint64_t rejected[MNEMO__REJ_COUNT];
};

/* ---- server ---- */

struct mnemo__http_listener {
    struct mnemo_http *h;
    enum mnemo_http_transport transport;
    struct MHD_Daemon *daemon;
    int fd;          /* the listening socket, ours to close */
    int fd_with_mhd; /* 1 while MHD may still close fd itself (not quiesced) */
};

struct mnemo_http {
    struct mnemo_http_config cfg;
    const struct mnemo_http_route *routes;
    size_t n_routes;
    uid_t euid;
    char *socket_path; /* owned copy; NULL without a Unix listener */
    char *bound_host;  /* the TCP host as configured, for Host/Origin when not loopback */
    dev_t sock_dev;    /* identity of the socket file we bound, so stop unlinks only ours */
    ino_t sock_ino;
    int tcp_port;
    int tcp_v6;
    struct mnemo__http_listener unix_l;
    struct mnemo__http_listener tcp_l;

    pthread_mutex_t mu; /* guards stopping and in_flight */
    pthread_cond_t idle;
    int stopping;
    int in_flight; /* non-SSE requests between their first call and completion */

    struct mnemo__http_rate rate;
    struct mnemo__http_sse sse;
    struct mnemo__http_metrics metrics;
};

/* Per-request state, the con_cls of MHD; created at the first call, freed at completion. */
struct mnemo__http_rctx {
    struct mnemo__http_listener *lis;
    int64_t start_ns;
    long route;   /* index in the table, -1 unmatched */
    int status;   /* what was queued; 0 = nothing yet */
    int counted;  /* counted in in_flight */
    int answered; /* a response is queued */
    int overflow; /* the body passed max_body while streaming */
    int has_body_headers;
    char *body;
    size_t len, cap;
    size_t n_params;
    char *param_names[MNEMO_HTTP_MAX_PARAMS];
    char *param_values[MNEMO_HTTP_MAX_PARAMS];
};

/* ---- http_dispatch.c: MHD's callbacks (cls is the struct mnemo__http_listener) ---- */

enum MHD_Result mnemo__http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **con_cls);

void mnemo__http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe);

/* ---- http_auth.c ---- */

/*
 * Checks a connection over the Unix socket: the peer uid must be the server's euid.
 * Returns 0 or MNEMO_EACCES (msg filled).
 */
int mnemo__http_check_peer(const struct mnemo_http *h, struct MHD_Connection *conn, char *msg,
                           size_t size);

/* Checks the Host header (DNS rebinding) and the Origin header of a TCP request.
 * Returns 0, or the rejection reason (MNEMO__REJ_HOST / MNEMO__REJ_ORIGIN) with msg filled. */
int mnemo__http_check_host_origin(const struct mnemo_http *h, struct MHD_Connection *conn,
                                  char *msg, size_t size);

/* 1 when the request carries the TCP token (Bearer header or cookie), else 0. */
int mnemo__http_has_token(const struct mnemo_http *h, struct MHD_Connection *conn);

/* Constant-time comparison of a candidate with the configured token: 1 when equal. */
int mnemo__http_token_equal(const struct mnemo_http *h, const char *candidate);

void mnemo__http_rate_init(struct mnemo__http_rate *r, int per_second);
void mnemo__http_rate_release(struct mnemo__http_rate *r);

/*
 * Takes one token from the client's bucket. Returns 0 when allowed, else the seconds to wait
 * before the next request would be allowed (>= 1).
 */
int mnemo__http_rate_take(struct mnemo__http_rate *r, const struct mnemo__http_listener *lis,
                          struct MHD_Connection *conn);

/* ---- http_sse.c ---- */

int mnemo__http_sse_init(struct mnemo__http_sse *s, int keepalive_ms);
/* Ends every stream (their callbacks return end-of-stream); clients free themselves. */
void mnemo__http_sse_stop(struct mnemo__http_sse *s);
/* Frees the hub; every client must be gone (the daemons are stopped). */
void mnemo__http_sse_release(struct mnemo__http_sse *s);

/*
 * A new stream response for one client, registered with the hub; NULL when the hub is full,
 * stopping, or out of memory. The client unregisters itself when MHD frees the response.
 */
struct MHD_Response *mnemo__http_sse_response(struct mnemo__http_sse *s);

/* ---- http_metrics.c ---- */

int mnemo__http_metrics_init(struct mnemo__http_metrics *m, size_t n_routes);
void mnemo__http_metrics_release(struct mnemo__http_metrics *m);
/* Records one finished request: route index (-1 unmatched), status, seconds. */
void mnemo__http_metrics_observe(struct mnemo__http_metrics *m, long route, int status,
                                 double seconds);
void mnemo__http_metrics_reject(struct mnemo__http_metrics *m, enum mnemo__http_reject why);

/* ---- http_resp.c ---- */

/*
 * Sends resp on conn with the security headers and releases resp's contents whatever
 * happens. Returns MHD_YES, or MHD_NO when nothing could be queued (the connection closes).
 */
enum MHD_Result mnemo__http_send(struct mnemo__http_rctx *rc, struct MHD_Connection *conn,
                                 struct mnemo_http_resp *resp);

/* Frees what a response owns and zeroes it. */
void mnemo__http_resp_release(struct mnemo_http_resp *resp);

/* Adds the headers every response carries. Returns 0 or MNEMO_ENOMEM. */
int mnemo__http_add_security_headers(struct MHD_Response *r);

#endif
