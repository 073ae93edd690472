/*
 * http.c - the server's lifecycle: configuration defaults, the two listening sockets (created
 * here, not by MHD, so that stale sockets, modes, bind errors and the bound port are ours to
 * handle), one MHD daemon per listener, and the graceful stop.
 *
 * Threading: each daemon runs a thread per connection, so a handler that waits on the store
 * or an SSE stream that waits for events blocks only its own client; MHD_OPTION_CONNECTION_LIMIT
 * bounds the threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "service/http_int.h"

void mnemo_http_config_init(struct mnemo_http_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tcp_host = "127.0.0.1";
    cfg->tcp_port = 37777;
    cfg->max_body = MNEMO_HTTP_DEFAULT_MAX_BODY;
    cfg->rate_limit = MNEMO_HTTP_DEFAULT_RATE_LIMIT;
    cfg->timeout_s = MNEMO_HTTP_DEFAULT_TIMEOUT_S;
}

int mnemo_http_tcp_port(const struct mnemo_http *h)
{
    return (h != NULL && h->tcp_l.daemon != NULL) ? h->tcp_port : 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct mnemo_http *h = cls;
    if (h->cfg.log == NULL)
        return;
    char line[512], q[600];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    mnemo_log_write(h->cfg.log, MNEMO_LOG_WARN, "http server", "detail=%s",
                    mnemo_log_quote(q, sizeof(q), line));
}

/* Rejects a route table the dispatcher could not serve; a programmer error, but start is
 * the one place that can say which entry is wrong. */
static int check_routes(const struct mnemo_http_route *routes, size_t n, struct mnemo_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const struct mnemo_http_route *r = &routes[i];
        if (r->method == NULL || r->pattern == NULL || r->pattern[0] != '/')
            return mnemo_err_set(err, MNEMO_EINVAL, "route %zu: method and '/' pattern needed", i);
        if ((r->handler == NULL) != ((r->flags & MNEMO_HTTP_SSE) != 0))
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "route '%s': a handler is needed unless it is the SSE stream",
                                 r->pattern);
        size_t params = 0;
        for (const char *p = r->pattern; *p != '\0'; p++) {
            if (*p == '{') {
                params++;
                if (strchr(p, '}') == NULL)
                    return mnemo_err_set(err, MNEMO_EINVAL, "route '%s': unclosed '{'", r->pattern);
            }
        }
        if (params > MNEMO_HTTP_MAX_PARAMS)
            return mnemo_err_set(err, MNEMO_EINVAL, "route '%s': more than %d parameters",
                                 r->pattern, MNEMO_HTTP_MAX_PARAMS);
    }
    return 0;
}

static int open_unix(struct mnemo_http *h, struct mnemo_err *err)
{
    const char *path = h->socket_path;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return mnemo_err_set(err, MNEMO_EINVAL, "socket path '%s' is too long", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);

    char *dcopy = strdup(path);
    if (dcopy == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    struct stat dst;
    int drc = stat(dirname(dcopy), &dst);
    if (drc != 0 || !S_ISDIR(dst.st_mode)) {
        free(dcopy);
        return mnemo_err_set(err, MNEMO_EINVAL, "the directory of socket '%s' does not exist",
                             path);
    }
    free(dcopy);
    if ((dst.st_mode & 077) != 0)
        mnemo_log_write(h->cfg.log, MNEMO_LOG_WARN, "socket directory is open to other users",
                        "mode=%o", (unsigned)(dst.st_mode & 0777));

    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return mnemo_err_set(err, MNEMO_EEXIST, "'%s' exists and is not a socket", path);
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0)
            return mnemo_err_set(err, MNEMO_EIO, "socket: %s", strerror(errno));
        int crc = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
        int cerr = errno;
        close(probe);
        if (crc == 0)
            return mnemo_err_set(err, MNEMO_EEXIST, "a server is already listening on '%s'", path);
        if (cerr != ECONNREFUSED)
            return mnemo_err_set(err, MNEMO_EIO, "cannot probe socket '%s': %s", path,
                                 strerror(cerr));
        /* Nobody answers: the file is left over from a server that died. */
        if (unlink(path) != 0 && errno != ENOENT)
            return mnemo_err_set(err, MNEMO_EIO, "cannot remove stale socket '%s': %s", path,
                                 strerror(errno));
        mnemo_log_write(h->cfg.log, MNEMO_LOG_INFO, "replaced a stale socket file", NULL);
    }

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return mnemo_err_set(err, MNEMO_EIO, "socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        return mnemo_err_set(err, e == EADDRINUSE ? MNEMO_EEXIST : MNEMO_EIO,
                             "cannot bind socket '%s': %s", path, strerror(e));
    }
    /* The directory is private already; the mode keeps the socket private even if not. */
    if (chmod(path, 0600) != 0 || listen(fd, 128) != 0 || lstat(path, &st) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return mnemo_err_set(err, MNEMO_EIO, "cannot set up socket '%s': %s", path, strerror(e));
    }
    h->sock_dev = st.st_dev;
    h->sock_ino = st.st_ino;
    h->unix_l.fd = fd;
    return 0;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

static int open_tcp(struct mnemo_http *h, struct mnemo_err *err)
{
    const char *host = h->cfg.tcp_host;
    if (h->cfg.tcp_port < 0 || h->cfg.tcp_port > 65535)
        return mnemo_err_set(err, MNEMO_EINVAL, "TCP port %d is out of range", h->cfg.tcp_port);
    char port[8];
    snprintf(port, sizeof(port), "%d", h->cfg.tcp_port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int grc = getaddrinfo(host, port, &hints, &res);
    if (grc != 0 || res == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "cannot resolve TCP host '%s': %s", host,
                             gai_strerror(grc));
    int loop = is_loopback(res->ai_addr);
    if (!loop && (h->cfg.token == NULL || h->cfg.token[0] == '\0')) {
        freeaddrinfo(res);
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "refusing to listen on non-loopback host '%s' without a token", host);
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return mnemo_err_set(err, MNEMO_EIO, "socket: %s", strerror(errno));
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int family = res->ai_family;
    int brc = bind(fd, res->ai_addr, res->ai_addrlen);
    int e = errno;
    freeaddrinfo(res);
    if (brc != 0) {
        close(fd);
        return mnemo_err_set(err, e == EADDRINUSE ? MNEMO_EEXIST : MNEMO_EIO,
                             "cannot listen on %s:%d: %s", host, h->cfg.tcp_port, strerror(e));
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (listen(fd, 128) != 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        e = errno;
        close(fd);
        return mnemo_err_set(err, MNEMO_EIO, "cannot listen on %s:%d: %s", host, h->cfg.tcp_port,
                             strerror(e));
    }
    h->tcp_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)(void *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)(void *)&ss)->sin_port);
    h->tcp_v6 = family == AF_INET6;
    if (!loop) {
        h->bound_host = strdup(host);
        if (h->bound_host == NULL) {
            close(fd);
            return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
        }
    }
    h->tcp_l.fd = fd;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decodes a path or query argument in place, like libmicrohttpd's own unescaping,
 * except that "%00" stays as it is: decoded, it would end the value early as a C string
 * ("/v1/observations/2%00junk" would name observation 2, "?project=%00x" would drop the
 * filter). Left escaped, it makes the value invalid, and validation answers 400.
 */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *w = s;
    for (const char *r = s; *r != '\0'; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static int start_daemon(struct mnemo_http *h, struct mnemo__http_listener *l, struct mnemo_err *err)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (l->transport == MNEMO_HTTP_TCP && h->tcp_v6)
        flags |= MHD_USE_IPv6;
    int maxc =
        h->cfg.max_connections > 0 ? h->cfg.max_connections : MNEMO_HTTP_DEFAULT_MAX_CONNECTIONS;
    /* The logger first: libmicrohttpd warns (on the old logger) about any option before it. */
    l->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, mnemo__http_on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)l->fd, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)h->cfg.timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)maxc,
        MHD_OPTION_NOTIFY_COMPLETED, mnemo__http_on_completed, l, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape_keep_nul, NULL, MHD_OPTION_END);
    if (l->daemon == NULL)
        return mnemo_err_set(err, MNEMO_EIO, "cannot start the HTTP server on the %s listener",
                             l->transport == MNEMO_HTTP_UNIX ? "socket" : "TCP");
    l->fd_with_mhd = 1;
    return 0;
}

/* Removes the socket file only if it is still the one this server created: after a stale
 * takeover by another server it is no longer ours. */
static void unlink_socket(struct mnemo_http *h)
{
    if (h->socket_path == NULL || h->sock_ino == 0)
        return;
    struct stat st;
    if (lstat(h->socket_path, &st) == 0 && st.st_dev == h->sock_dev && st.st_ino == h->sock_ino)
        unlink(h->socket_path);
    h->sock_ino = 0;
}

static void quiesce(struct mnemo__http_listener *l)
{
    if (l->daemon == NULL)
        return;
    MHD_socket s = MHD_quiesce_daemon(l->daemon);
    if (s != MHD_INVALID_SOCKET)
        l->fd_with_mhd = 0; /* ours to close once the daemon has stopped */
}

static void stop_listener(struct mnemo__http_listener *l)
{
    if (l->daemon != NULL) {
        MHD_stop_daemon(l->daemon);
        l->daemon = NULL;
    }
    if (l->fd >= 0 && !l->fd_with_mhd)
        close(l->fd);
    l->fd = -1;
}

static void wait_idle(struct mnemo_http *h, int grace_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    int64_t ns = (int64_t)dl.tv_nsec + (int64_t)(grace_ms > 0 ? grace_ms : 0) * 1000000LL;
    dl.tv_sec += (time_t)(ns / 1000000000LL);
    dl.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&h->mu);
    while (h->in_flight > 0) {
        if (pthread_cond_timedwait(&h->idle, &h->mu, &dl) == ETIMEDOUT)
            break;
    }
    int left = h->in_flight;
    pthread_mutex_unlock(&h->mu);
    if (left > 0)
        mnemo_log_write(h->cfg.log, MNEMO_LOG_WARN, "stopping with requests still running",
                        "in_flight=%d grace_ms=%d", left, grace_ms);
}

void mnemo_http_stop(struct mnemo_http *h, int grace_ms)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    pthread_mutex_unlock(&h->mu);
    quiesce(&h->unix_l);
    quiesce(&h->tcp_l);
    /* New socket clients get ENOENT at once instead of queueing on a listener nobody serves. */
    unlink_socket(h);
    wait_idle(h, grace_ms);
    mnemo__http_sse_stop(&h->sse);
    stop_listener(&h->unix_l);
    stop_listener(&h->tcp_l);
    unlink_socket(h);

    mnemo__http_sse_release(&h->sse);
    mnemo__http_metrics_release(&h->metrics);
    mnemo__http_rate_release(&h->rate);
    pthread_cond_destroy(&h->idle);
    pthread_mutex_destroy(&h->mu);
    free(h->socket_path);
    free(h->bound_host);
    free(h);
}

int mnemo_http_start(const struct mnemo_http_config *cfg, const struct mnemo_http_route *routes,
                     size_t n_routes, struct mnemo_http **out, struct mnemo_err *err)
{
    *out = NULL;
    if (cfg == NULL || (routes == NULL && n_routes > 0))
        return mnemo_err_set(err, MNEMO_EINVAL, "no configuration or route table");
    if (cfg->socket_path == NULL && !cfg->tcp_enabled)
        return mnemo_err_set(err, MNEMO_EINVAL, "neither a socket nor a TCP listener is enabled");
    int rc = check_routes(routes, n_routes, err);
    if (rc != 0)
        return rc;
    if (sodium_init() < 0)
        return mnemo_err_set(err, MNEMO_EIO, "cannot initialise libsodium");

    struct mnemo_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    h->cfg = *cfg;
    if (h->cfg.tcp_host == NULL)
        h->cfg.tcp_host = "127.0.0.1";
    if (h->cfg.max_body == 0)
        h->cfg.max_body = MNEMO_HTTP_DEFAULT_MAX_BODY;
    if (h->cfg.timeout_s <= 0)
        h->cfg.timeout_s = MNEMO_HTTP_DEFAULT_TIMEOUT_S;
    h->routes = routes;
    h->n_routes = n_routes;
    h->euid = geteuid();
    h->unix_l = (struct mnemo__http_listener){.h = h, .transport = MNEMO_HTTP_UNIX, .fd = -1};
    h->tcp_l = (struct mnemo__http_listener){.h = h, .transport = MNEMO_HTTP_TCP, .fd = -1};

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int crc = pthread_cond_init(&h->idle, &ca);
    pthread_condattr_destroy(&ca);
    if (crc != 0 || pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h);
        return mnemo_err_set(err, MNEMO_EIO, "cannot create the server's locks");
    }
    mnemo__http_rate_init(&h->rate, h->cfg.rate_limit);
    int sse_ok = mnemo__http_sse_init(&h->sse, h->cfg.sse_keepalive_ms) == 0;
    if (!sse_ok || mnemo__http_metrics_init(&h->metrics, n_routes) != 0) {
        if (sse_ok)
            mnemo__http_sse_release(&h->sse);
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot allocate the server's state");
        goto fail_early;
    }

    if (cfg->socket_path != NULL) {
        h->socket_path = strdup(cfg->socket_path);
        if (h->socket_path == NULL) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
            goto fail;
        }
        rc = open_unix(h, err);
        if (rc == 0)
            rc = start_daemon(h, &h->unix_l, err);
        if (rc != 0)
            goto fail;
    }
    if (cfg->tcp_enabled) {
        rc = open_tcp(h, err);
        if (rc == 0)
            rc = start_daemon(h, &h->tcp_l, err);
        if (rc != 0)
            goto fail;
    }
    mnemo_log_write(h->cfg.log, MNEMO_LOG_INFO, "http server listening", "socket=%s tcp_port=%d",
                    h->socket_path != NULL ? h->socket_path : "-", mnemo_http_tcp_port(h));
    *out = h;
    return 0;

fail:
    mnemo_http_stop(h, 0);
    return rc;
fail_early:
    mnemo__http_metrics_release(&h->metrics);
    mnemo__http_rate_release(&h->rate);
    pthread_cond_destroy(&h->idle);
    pthread_mutex_destroy(&h->mu);
    free(h);
    return rc;
}
