/*
 * http_auth.c - who may talk to the server: the peer uid on the Unix socket, Host and Origin
 * on TCP (DNS rebinding and cross-site requests), the token, and the per-client rate limit.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <sodium.h>

#include "service/http_int.h"
#include "util/clock.h"

int mnemo__http_check_peer(const struct mnemo_http *h, struct MHD_Connection *conn, char *msg,
                           size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL) {
        snprintf(msg, size, "cannot identify the connection's peer");
        return MNEMO_EACCES;
    }
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        snprintf(msg, size, "cannot read the peer's credentials: %s", strerror(errno));
        return MNEMO_EACCES;
    }
    if (cred.uid != h->euid) {
        snprintf(msg, size, "peer uid %u is not the server's uid", (unsigned)cred.uid);
        return MNEMO_EACCES;
    }
    return 0;
}

/* 1 when the authority "host:port" names this server: a loopback name or the configured
 * host, with the listening port. An authority without a port means port 80. */
static int authority_ok(const struct mnemo_http *h, const char *a, size_t n)
{
    const char *colon = NULL;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL)
            return 0;
        colon = (close + 1 < a + n) ? close + 1 : NULL;
        if (colon != NULL && *colon != ':')
            return 0;
    } else {
        colon = memchr(a, ':', n);
    }
    size_t host_len = colon != NULL ? (size_t)(colon - a) : n;
    long port = 80;
    if (colon != NULL) {
        const char *p = colon + 1;
        size_t plen = n - (size_t)(p - a);
        if (plen == 0 || plen > 5)
            return 0;
        port = 0;
        for (size_t i = 0; i < plen; i++) {
            if (p[i] < '0' || p[i] > '9')
                return 0;
            port = port * 10 + (p[i] - '0');
        }
    }
    if (port != h->tcp_port)
        return 0;
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == host_len && strncasecmp(a, names[i], host_len) == 0)
            return 1;
    }
    /* A non-loopback bind (token mandatory) is reached by the name the user configured. */
    if (h->bound_host != NULL) {
        size_t bl = strlen(h->bound_host);
        if (h->tcp_v6 && host_len == bl + 2 && a[0] == '[' &&
            strncasecmp(a + 1, h->bound_host, bl) == 0)
            return 1;
        if (!h->tcp_v6 && host_len == bl && strncasecmp(a, h->bound_host, bl) == 0)
            return 1;
    }
    return 0;
}

int mnemo__http_check_host_origin(const struct mnemo_http *h, struct MHD_Connection *conn,
                                  char *msg, size_t size)
{
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    if (host == NULL || !authority_ok(h, host, strlen(host))) {
        snprintf(msg, size, "forbidden Host header: only this machine's loopback names are served");
        return MNEMO__REJ_HOST;
    }
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (origin != NULL) {
        static const char scheme[] = "http://";
        size_t sl = sizeof(scheme) - 1;
        size_t ol = strlen(origin);
        if (ol <= sl || strncasecmp(origin, scheme, sl) != 0 ||
            !authority_ok(h, origin + sl, ol - sl)) {
            snprintf(msg, size, "forbidden Origin header: cross-origin requests are not served");
            return MNEMO__REJ_ORIGIN;
        }
    }
    return 0;
}

int mnemo__http_token_equal(const struct mnemo_http *h, const char *candidate)
{
    if (h->cfg.token == NULL || candidate == NULL)
        return 0;
    size_t tl = strlen(h->cfg.token);
    /* The length is not secret (a fixed-size hex string); the bytes are compared in
     * constant time so a timing probe learns nothing about the prefix. */
    if (tl == 0 || strlen(candidate) != tl)
        return 0;
    return sodium_memcmp(h->cfg.token, candidate, tl) == 0;
}

int mnemo__http_has_token(const struct mnemo_http *h, struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *t = auth + 7;
        while (*t == ' ')
            t++;
        if (mnemo__http_token_equal(h, t))
            return 1;
    }
    const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "mnemo_token");
    return cookie != NULL && mnemo__http_token_equal(h, cookie);
}

void mnemo__http_rate_init(struct mnemo__http_rate *r, int per_second)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    r->rate = per_second > 0 ? per_second : 0;
    r->burst = 2.0 * r->rate;
}

void mnemo__http_rate_release(struct mnemo__http_rate *r)
{
    pthread_mutex_destroy(&r->mu);
}

/* The client's identity: its uid on the socket (one user may run many clients, all of them
 * the same principal), its address on TCP. */
static size_t client_key(const struct mnemo__http_listener *lis, struct MHD_Connection *conn,
                         unsigned char key[MNEMO__HTTP_RATE_KEY])
{
    memset(key, 0, MNEMO__HTTP_RATE_KEY);
    if (lis->transport == MNEMO_HTTP_UNIX) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred = {0};
        socklen_t len = sizeof(cred);
        if (ci != NULL)
            (void)getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
        key[0] = 'u';
        memcpy(key + 1, &cred.uid, sizeof(cred.uid));
        return 1 + sizeof(cred.uid);
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL) {
        key[0] = '?';
        return 1;
    }
    if (ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ci->client_addr;
        key[0] = '4';
        memcpy(key + 1, &in->sin_addr, 4);
        return 5;
    }
    if (ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)ci->client_addr;
        key[0] = '6';
        memcpy(key + 1, &in6->sin6_addr, 16);
        return 17;
    }
    key[0] = '?';
    return 1;
}

int mnemo__http_rate_take(struct mnemo__http_rate *r, const struct mnemo__http_listener *lis,
                          struct MHD_Connection *conn)
{
    if (r->rate <= 0)
        return 0;
    unsigned char key[MNEMO__HTTP_RATE_KEY];
    size_t klen = client_key(lis, conn, key);
    int64_t now = mnemo_clock_mono_ns();
    int wait = 0;

    pthread_mutex_lock(&r->mu);
    struct mnemo__http_bucket *b = NULL;
    struct mnemo__http_bucket *oldest = NULL;
    for (size_t i = 0; i < r->n; i++) {
        struct mnemo__http_bucket *s = &r->slots[i];
        if (s->key_len == klen && memcmp(s->key, key, klen) == 0) {
            b = s;
            break;
        }
        if (oldest == NULL || s->last_ns < oldest->last_ns)
            oldest = s;
    }
    if (b == NULL) {
        /* Recycling the longest-idle bucket is harmless once it has had time to refill;
         * before that a flood of new addresses could reset a client's bucket, which only
         * makes the limit more lenient, never stricter. */
        b = r->n < MNEMO__HTTP_RATE_SLOTS ? &r->slots[r->n++] : oldest;
        memcpy(b->key, key, sizeof(b->key));
        b->key_len = klen;
        b->tokens = r->burst;
        b->last_ns = now;
    }
    double elapsed = (double)(now - b->last_ns) / 1e9;
    b->tokens += elapsed * r->rate;
    if (b->tokens > r->burst)
        b->tokens = r->burst;
    b->last_ns = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        double secs = (1.0 - b->tokens) / r->rate;
        wait = (int)secs + 1;
    }
    pthread_mutex_unlock(&r->mu);
    return wait;
}
