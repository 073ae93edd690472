/*
 * http_sse.c - the server-sent-events hub behind /v1/stream.
 *
 * Each client is one MHD response produced by a content callback that runs on the client's
 * own connection thread and blocks there until a message, a keepalive deadline or stop. A
 * publisher formats the event once and appends a reference to every client's bounded queue
 * under the hub mutex; it never waits on a client. A client whose queue is full is marked
 * dropped and its callback ends the stream, so a stalled reader costs at most its queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/http_int.h"

/* One formatted event, shared by every queue it sits in; refs counted under the hub mutex. */
struct sse_msg {
    int refs;
    size_t len;
    char data[];
};

struct mnemo__sse_client {
    struct mnemo__sse_client *prev, *next;
    struct mnemo__http_sse *hub;
    pthread_cond_t cond;
    struct sse_msg *q[MNEMO_HTTP_SSE_QUEUE];
    size_t head, count;
    size_t off;     /* bytes of q[head] already handed to MHD */
    char ctl[32];   /* a pending comment (hello, keepalive) sent before queued messages */
    size_t ctl_len; /* bytes left in ctl from ctl_off */
    size_t ctl_off;
    int dropped;     /* queue overflowed: the stream ends with an error */
    int linked;      /* in the hub's list */
    int64_t last_ns; /* last time bytes were handed out, for keepalives */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void msg_unref(struct sse_msg *m)
{
    if (--m->refs == 0)
        free(m);
}

int mnemo__http_sse_init(struct mnemo__http_sse *s, int keepalive_ms)
{
    memset(s, 0, sizeof(*s));
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return MNEMO_EIO;
    s->keepalive_ms = keepalive_ms > 0 ? keepalive_ms : MNEMO_HTTP_SSE_KEEPALIVE_MS;
    return 0;
}

void mnemo__http_sse_stop(struct mnemo__http_sse *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    for (struct mnemo__sse_client *c = s->clients; c != NULL; c = c->next)
        pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&s->mu);
}

void mnemo__http_sse_release(struct mnemo__http_sse *s)
{
    pthread_mutex_destroy(&s->mu);
}

static void set_ctl(struct mnemo__sse_client *c, const char *text)
{
    size_t n = strlen(text);
    if (n > sizeof(c->ctl))
        n = sizeof(c->ctl);
    memcpy(c->ctl, text, n);
    c->ctl_len = n;
    c->ctl_off = 0;
}

/* Hands out pending bytes (comment first, then the head message). Called with mu held;
 * returns 0 when nothing is pending. */
static size_t drain(struct mnemo__sse_client *c, char *buf, size_t max)
{
    if (c->ctl_len > 0) {
        size_t n = c->ctl_len < max ? c->ctl_len : max;
        memcpy(buf, c->ctl + c->ctl_off, n);
        c->ctl_off += n;
        c->ctl_len -= n;
        return n;
    }
    size_t done = 0;
    while (c->count > 0 && done < max) {
        struct sse_msg *m = c->q[c->head];
        size_t n = m->len - c->off;
        if (n > max - done)
            n = max - done;
        memcpy(buf + done, m->data + c->off, n);
        done += n;
        c->off += n;
        if (c->off == m->len) {
            msg_unref(m);
            c->q[c->head] = NULL;
            c->head = (c->head + 1) % MNEMO_HTTP_SSE_QUEUE;
            c->count--;
            c->off = 0;
        }
    }
    return done;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct mnemo__sse_client *c = cls;
    struct mnemo__http_sse *s = c->hub;
    ssize_t ret = 0;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->stopping) {
            ret = MHD_CONTENT_READER_END_OF_STREAM;
            break;
        }
        if (c->dropped) {
            ret = MHD_CONTENT_READER_END_WITH_ERROR;
            break;
        }
        size_t n = drain(c, buf, max);
        if (n > 0) {
            c->last_ns = mono_ns();
            ret = (ssize_t)n;
            break;
        }
        int64_t due = c->last_ns + (int64_t)s->keepalive_ms * 1000000LL;
        int64_t now = mono_ns();
        if (now >= due) {
            /* The keepalive also tells a blocked writer that its peer has gone: MHD's send
             * fails, the connection closes and the response's free callback runs. */
            set_ctl(c, ": keepalive\n\n");
            continue;
        }
        struct timespec ts = {.tv_sec = (time_t)(due / 1000000000LL),
                              .tv_nsec = (long)(due % 1000000000LL)};
        int rc = pthread_cond_timedwait(&c->cond, &s->mu, &ts);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR) {
            ret = MHD_CONTENT_READER_END_WITH_ERROR;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ret;
}

static void sse_free(void *cls)
{
    struct mnemo__sse_client *c = cls;
    struct mnemo__http_sse *s = c->hub;
    pthread_mutex_lock(&s->mu);
    if (c->linked) {
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            s->clients = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        if (!c->dropped)
            s->n_live--;
    }
    while (c->count > 0) {
        msg_unref(c->q[c->head]);
        c->head = (c->head + 1) % MNEMO_HTTP_SSE_QUEUE;
        c->count--;
    }
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}

struct MHD_Response *mnemo__http_sse_response(struct mnemo__http_sse *s)
{
    struct mnemo__sse_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        free(c);
        return NULL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&c->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        free(c);
        return NULL;
    }
    c->hub = s;
    c->last_ns = mono_ns();
    /* The first bytes tell the client the stream is open before any event exists. */
    set_ctl(c, ": connected\n\n");

    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, c, sse_free);
    if (r == NULL) {
        pthread_cond_destroy(&c->cond);
        free(c);
        return NULL;
    }
    /* The response owns the client from here on: destroying it runs sse_free. */
    pthread_mutex_lock(&s->mu);
    int full = s->stopping || s->n_live >= MNEMO_HTTP_MAX_SSE_CLIENTS;
    if (!full) {
        c->next = s->clients;
        if (s->clients != NULL)
            s->clients->prev = c;
        s->clients = c;
        c->linked = 1;
        s->n_live++;
    }
    pthread_mutex_unlock(&s->mu);
    if (full) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

int mnemo_http_publish(struct mnemo_http *h, const char *event, const json_t *data)
{
    if (h == NULL || event == NULL || data == NULL)
        return MNEMO_EINVAL;
    /* An event name with a line break would forge extra fields in the stream. */
    if (strpbrk(event, "\r\n") != NULL || event[0] == '\0')
        return MNEMO_EINVAL;
    char *text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return MNEMO_ENOMEM;
    size_t len = strlen("event: ") + strlen(event) + strlen("\ndata: ") + strlen(text) + 2;
    struct sse_msg *m = malloc(sizeof(*m) + len + 1);
    if (m == NULL) {
        free(text);
        return MNEMO_ENOMEM;
    }
    int n = snprintf(m->data, len + 1, "event: %s\ndata: %s\n\n", event, text);
    free(text);
    m->len = (size_t)n;
    m->refs = 1; /* the publisher's own, dropped below */

    struct mnemo__http_sse *s = &h->sse;
    pthread_mutex_lock(&s->mu);
    for (struct mnemo__sse_client *c = s->clients; c != NULL; c = c->next) {
        if (c->dropped)
            continue;
        if (c->count == MNEMO_HTTP_SSE_QUEUE) {
            c->dropped = 1;
            s->n_live--;
        } else {
            c->q[(c->head + c->count) % MNEMO_HTTP_SSE_QUEUE] = m;
            c->count++;
            m->refs++;
        }
        pthread_cond_signal(&c->cond);
    }
    msg_unref(m);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int mnemo_http_sse_clients(struct mnemo_http *h)
{
    if (h == NULL)
        return 0;
    pthread_mutex_lock(&h->sse.mu);
    int n = h->sse.n_live;
    pthread_mutex_unlock(&h->sse.mu);
    return n;
}
