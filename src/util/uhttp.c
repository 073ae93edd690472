/*
 * uhttp.c - HTTP/1.1 over a Unix socket with one absolute deadline (uhttp.h).
 *
 * The socket is non-blocking from the start, so no step can block past the deadline: connect
 * is completed with poll(POLLOUT), every send and every read waits in poll() for at most the
 * time left. The request is sent whole before anything is read (the worker reads the whole
 * body before it answers). The answer is read until the Content-Length is complete or, without
 * one, until the server closes (the request says Connection: close). A chunked answer is read
 * to EOF and then decoded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/strbuf.h"
#include "util/uhttp.h"

/* How often a connect refused for a full backlog is tried again (ms). */
#define CONNECT_RETRY_MS 2

/* Largest status line plus headers accepted. */
#define HEAD_MAX (64 * 1024)

void mnemo_uhttp_resp_release(struct mnemo_uhttp_resp *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

/*
 * Waits until fd is ready for events or the deadline passes. Returns 0 (ready, or an error
 * condition the next syscall reports), MNEMO_ETIMEDOUT or MNEMO_EIO.
 */
static int wait_fd(int fd, short events, int64_t deadline_ns, struct mnemo_err *err)
{
    for (;;) {
        int64_t left = mnemo_deadline_left_ns(deadline_ns);
        if (left <= 0)
            return mnemo_err_set(err, MNEMO_ETIMEDOUT, "no answer from the worker in time");
        /* Round up, so a wait never ends a little before the deadline and spins. */
        int64_t ms = (left + MNEMO_NS_PER_MS - 1) / MNEMO_NS_PER_MS;
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return mnemo_err_set(err, MNEMO_EIO, "poll: %s", strerror(errno));
    }
}

/* A non-blocking socket connected to path, in *fd. */
static int connect_unix(const char *path, int64_t deadline_ns, int *fd, struct mnemo_err *err)
{
    struct sockaddr_un sa;
    size_t plen = strlen(path);

    *fd = -1;
    if (plen == 0 || plen >= sizeof sa.sun_path)
        return mnemo_err_set(err, MNEMO_EINVAL, "socket path '%s' is empty or too long", path);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, plen + 1);

    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return mnemo_err_set(err, MNEMO_EIO, "socket: %s", strerror(errno));
    int rc = 0;
    while (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN) {
            /*
             * A Unix socket whose backlog is full refuses at once instead of queueing the
             * connection (a stopped or swamped worker): try again until the deadline.
             */
            int64_t left = mnemo_deadline_left_ns(deadline_ns);
            if (left <= 0) {
                rc = mnemo_err_set(err, MNEMO_ETIMEDOUT, "the worker's backlog stayed full");
                break;
            }
            int64_t ms = (left + MNEMO_NS_PER_MS - 1) / MNEMO_NS_PER_MS;
            (void)poll(NULL, 0, ms < CONNECT_RETRY_MS ? (int)ms : CONNECT_RETRY_MS);
            continue;
        }
        if (e == EINPROGRESS) {
            rc = wait_fd(s, POLLOUT, deadline_ns, err);
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (rc == 0 && getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            e = soerr;
            if (rc != 0 || e == 0)
                break;
        }
        if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
            rc = mnemo_err_set(err, MNEMO_ECLOSED, "no worker listens on '%s': %s", path,
                               strerror(e));
        else if (e == EACCES || e == EPERM)
            rc = mnemo_err_set(err, MNEMO_EACCES, "connect '%s': %s", path, strerror(e));
        else
            rc = mnemo_err_set(err, MNEMO_EIO, "connect '%s': %s", path, strerror(e));
        break;
    }
    if (rc != 0) {
        close(s);
        return rc;
    }
    *fd = s;
    return 0;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline_ns, struct mnemo_err *err)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(fd, POLLOUT, deadline_ns, err);
            if (rc != 0)
                return rc;
            continue;
        }
        return mnemo_err_set(err, MNEMO_EIO, "send: %s", w < 0 ? strerror(errno) : "no progress");
    }
    return 0;
}

/*
 * Reads what is available into sb (at most room bytes more). *eof is set when the peer
 * closed. Waits for data first. Returns 0 or an error.
 */
static int read_some(int fd, struct mnemo_strbuf *sb, size_t room, int64_t deadline_ns, int *eof,
                     struct mnemo_err *err)
{
    char buf[16384];

    *eof = 0;
    for (;;) {
        size_t want = room < sizeof buf ? room : sizeof buf;
        if (want == 0)
            want = 1; /* one byte tells whether more follows than allowed */
        ssize_t r = recv(fd, buf, want, 0);
        if (r > 0) {
            if ((size_t)r > room)
                return mnemo_err_set(err, MNEMO_ETOOBIG, "the answer is larger than %d bytes",
                                     MNEMO_UHTTP_MAX_BODY);
            int rc = mnemo_strbuf_append(sb, buf, (size_t)r);
            if (rc != 0)
                return mnemo_err_set(err, rc, "the answer does not fit in memory");
            return 0;
        }
        if (r == 0) {
            *eof = 1;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(fd, POLLIN, deadline_ns, err);
            if (rc != 0)
                return rc;
            continue;
        }
        if (errno == ECONNRESET)
            return mnemo_err_set(err, MNEMO_EIO, "the worker reset the connection");
        return mnemo_err_set(err, MNEMO_EIO, "recv: %s", strerror(errno));
    }
}

/* The end of the header block in buf[0..n) (index just past "\r\n\r\n"), 0 when not yet. */
static size_t head_end(const char *buf, size_t n)
{
    for (size_t i = 3; i < n; i++) {
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    }
    return 0;
}

struct head {
    int status;
    int have_length;
    size_t length;
    int chunked;
};

/* Parses the status line and the headers we act on from buf[0..n) (n = head_end). */
static int parse_head(const char *buf, size_t n, struct head *h, struct mnemo_err *err)
{
    memset(h, 0, sizeof *h);
    if (n < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return mnemo_err_set(err, MNEMO_EIO, "the answer has no HTTP status line");
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return mnemo_err_set(err, MNEMO_EIO, "the answer's status is not a number");
        st = st * 10 + (buf[i] - '0');
    }
    if (st < 100)
        return mnemo_err_set(err, MNEMO_EIO, "the answer's status %d is invalid", st);
    h->status = st;

    const char *p = memchr(buf, '\n', n);
    const char *end = buf + n;
    while (p != NULL && p + 1 < end) {
        const char *line = p + 1;
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        if (nl == NULL)
            break;
        size_t len = (size_t)(nl - line);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0)
            break;
        const char *colon = memchr(line, ':', len);
        if (colon != NULL) {
            size_t klen = (size_t)(colon - line);
            const char *v = colon + 1;
            const char *vend = line + len;
            while (v < vend && (*v == ' ' || *v == '\t'))
                v++;
            while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
                vend--;
            size_t vlen = (size_t)(vend - v);
            if (klen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
                size_t val = 0;
                if (vlen == 0 || vlen > 12)
                    return mnemo_err_set(err, MNEMO_EIO, "the answer's Content-Length is bad");
                for (size_t i = 0; i < vlen; i++) {
                    if (v[i] < '0' || v[i] > '9')
                        return mnemo_err_set(err, MNEMO_EIO, "the answer's Content-Length is bad");
                    val = val * 10 + (size_t)(v[i] - '0');
                }
                if (val > MNEMO_UHTTP_MAX_BODY)
                    return mnemo_err_set(err, MNEMO_ETOOBIG, "the answer is larger than %d bytes",
                                         MNEMO_UHTTP_MAX_BODY);
                h->have_length = 1;
                h->length = val;
            } else if (klen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
                h->chunked = vlen >= 7 && strncasecmp(vend - 7, "chunked", 7) == 0;
            }
        }
        p = nl;
    }
    return 0;
}

/* Decodes a complete chunked body in place (b[0..*n)); *n becomes the decoded length. */
static int dechunk(char *b, size_t *n, struct mnemo_err *err)
{
    size_t in = 0, out = 0, len = *n;
    for (;;) {
        size_t size = 0;
        int digits = 0;
        while (in < len) {
            char c = b[in];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                break;
            if (++digits > 8)
                return mnemo_err_set(err, MNEMO_EIO, "a chunk size of the answer is bad");
            size = size * 16 + (size_t)d;
            in++;
        }
        if (digits == 0)
            return mnemo_err_set(err, MNEMO_EIO, "a chunk size of the answer is bad");
        const char *nl = memchr(b + in, '\n', len - in);
        if (nl == NULL)
            return mnemo_err_set(err, MNEMO_EIO, "the answer's chunks are truncated");
        in = (size_t)(nl - b) + 1;
        if (size == 0)
            break;
        if (size > len - in || len - in - size < 2)
            return mnemo_err_set(err, MNEMO_EIO, "the answer's chunks are truncated");
        memmove(b + out, b + in, size);
        out += size;
        in += size + 2;
    }
    *n = out;
    b[out] = '\0';
    return 0;
}

/* Reads and parses the whole answer into out. */
static int read_answer(int fd, int head_only, int64_t deadline_ns, struct mnemo_uhttp_resp *out,
                       struct mnemo_err *err)
{
    struct mnemo_strbuf sb;
    struct head h;
    size_t he = 0;
    int eof = 0, rc = 0;

    mnemo_strbuf_init(&sb, HEAD_MAX + MNEMO_UHTTP_MAX_BODY + 1);
    while (he == 0) {
        if (sb.len >= HEAD_MAX) {
            rc = mnemo_err_set(err, MNEMO_EIO, "the answer's headers exceed %d bytes", HEAD_MAX);
            goto out;
        }
        size_t scan_from = sb.len > 3 ? sb.len - 3 : 0;
        rc = read_some(fd, &sb, HEAD_MAX - sb.len, deadline_ns, &eof, err);
        if (rc != 0)
            goto out;
        if (eof) {
            rc = mnemo_err_set(err, MNEMO_EIO,
                               sb.len == 0 ? "the worker closed without answering"
                                           : "the answer's headers are truncated");
            goto out;
        }
        size_t e = head_end(sb.data + scan_from, sb.len - scan_from);
        if (e > 0)
            he = scan_from + e;
    }
    rc = parse_head(sb.data, he, &h, err);
    if (rc != 0)
        goto out;

    /* Body bytes: sb.data[he..). Answers to HEAD and 204/304 answers have none. */
    if (head_only || h.status == 204 || h.status == 304) {
        sb.len = he;
    } else if (h.have_length && !h.chunked) {
        while (sb.len - he < h.length) {
            rc = read_some(fd, &sb, he + h.length - sb.len, deadline_ns, &eof, err);
            if (rc != 0)
                goto out;
            if (eof) {
                rc =
                    mnemo_err_set(err, MNEMO_EIO, "the answer is truncated (%zu of %zu body bytes)",
                                  sb.len - he, h.length);
                goto out;
            }
        }
        sb.len = he + h.length; /* anything after the body is ignored */
    } else {
        while (!eof) {
            size_t limit = he + MNEMO_UHTTP_MAX_BODY;
            size_t room = sb.len < limit ? limit - sb.len : 0;
            rc = read_some(fd, &sb, room, deadline_ns, &eof, err);
            if (rc != 0)
                goto out;
        }
    }

    size_t blen = sb.len - he;
    if (blen > 0) {
        out->body = malloc(blen + 1);
        if (out->body == NULL) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(out->body, sb.data + he, blen);
        out->body[blen] = '\0';
        if (h.chunked) {
            rc = dechunk(out->body, &blen, err);
            if (rc != 0)
                goto out;
        }
        if (blen == 0) {
            free(out->body);
            out->body = NULL;
        }
    }
    out->len = blen;
    out->status = h.status;
out:
    mnemo_strbuf_release(&sb);
    if (rc != 0)
        mnemo_uhttp_resp_release(out);
    return rc;
}

int mnemo_uhttp_call(const char *socket_path, const char *method, const char *path,
                     const char *body, size_t body_len, int64_t deadline_ns,
                     struct mnemo_uhttp_resp *out, struct mnemo_err *err)
{
    struct mnemo_strbuf req;
    int fd = -1;
    int rc;

    memset(out, 0, sizeof *out);
    if (socket_path == NULL || method == NULL || path == NULL || path[0] != '/' ||
        strpbrk(method, " \r\n") != NULL || strpbrk(path, " \r\n") != NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "bad request line");
    if (body == NULL)
        body_len = 0;
    if (mnemo_deadline_left_ns(deadline_ns) <= 0)
        return mnemo_err_set(err, MNEMO_ETIMEDOUT, "the deadline passed before the request");

    mnemo_strbuf_init(&req, 4096 + body_len);
    rc = mnemo_strbuf_appendf(&req,
                              "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                              "Accept: application/json\r\n",
                              method, path);
    if (rc == 0 && body != NULL)
        rc = mnemo_strbuf_appendf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                                  body_len);
    else if (rc == 0 && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        rc = mnemo_strbuf_puts(&req, "Content-Length: 0\r\n");
    if (rc == 0)
        rc = mnemo_strbuf_puts(&req, "\r\n");
    if (rc == 0 && body_len > 0)
        rc = mnemo_strbuf_append(&req, body, body_len);
    if (rc != 0) {
        rc = mnemo_err_set(err, rc, "the request does not fit in memory");
        goto out;
    }

    rc = connect_unix(socket_path, deadline_ns, &fd, err);
    if (rc == 0)
        rc = send_all(fd, req.data, req.len, deadline_ns, err);
    if (rc == 0)
        rc = read_answer(fd, strcmp(method, "HEAD") == 0, deadline_ns, out, err);
out:
    if (fd >= 0)
        close(fd);
    mnemo_strbuf_release(&req);
    return rc;
}
