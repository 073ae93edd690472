/*
 * capture.c - the worker's capture thread (see capture.h): pending events in id order ->
 * extractors -> privacy pass -> one write transaction with the observations and the event's
 * done mark -> vectors, index and SSE after the commit.
 *
 * Waiting: the thread sleeps on a condition variable that mnemo_capture_kick signals, with a
 * 1 s timeout, so an event appended by a process that could not kick (the CLI, a restart) or
 * a failed attempt to retry is picked up within a second and nothing waits forever.
 *
 * A failed attempt never blocks the queue: it is recorded with mnemo_events_fail and the
 * sweep moves on to the next event; the failed one is tried again on the next sweep, until
 * it is dead-lettered.
 *
 * Vectors: search/hybrid.h has no function that writes a vector row on the caller's
 * connection, so vectors are written after the commit with mnemo_search_embed_obs (which also
 * updates the index). A crash in between leaves an observation without a vector, which the
 * maintenance re-embedding pass (mnemo_obs_missing_vectors) picks up; an embedding failure is
 * logged and does not fail the event.
 */
#include "service/capture.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "capture/extract.h"
#include "memory/events.h"
#include "memory/obs_json.h"
#include "memory/project.h"
#include "memory/prompt.h"
#include "memory/session.h"
#include "memory/summary.h"
#include "search/hybrid.h"
#include "service/worker.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* Events read per query. */
#define BATCH 32
/* Longest wait between sweeps without a kick. */
#define IDLE_WAIT_MS 1000
/* Shortest interval between two queue.status events while events keep coming. */
#define QUEUE_STATUS_MS 250
/* Deadline of one observation's embedding and vector write. */
#define EMBED_TIMEOUT_MS 10000
/* Summaries of a session looked at for the idempotence check. */
#define SUMMARY_SCAN 100
#define MAX_DRAFTS   (MNEMO_CAPTURE_MAX_EXTRACTORS * MNEMO_EXTRACT_MAX_OBS)
/* Longest request taken from the session's first prompt for a summary. */
#define REQUEST_MAX 2048

struct mnemo_capture {
    struct mnemo_worker *w;
    struct mnemo_extractor *x[MNEMO_CAPTURE_MAX_EXTRACTORS];
    size_t nx;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int kicked;        /* under mu */
    _Atomic int stop;
    /* The server to publish on: w->http copied at start, cleared by mnemo_capture_detach_http.
     * Read and used only under pub_mu, so once detach returns no publish runs or can start. */
    pthread_mutex_t pub_mu;
    struct mnemo_http *http;

    _Atomic int64_t processed, failed_tries, dead_lettered, observations, last_run_ms;
};

/* What one event resolves to before extraction. */
struct event_ctx {
    json_t *body;                     /* the stored payload (owned) */
    const json_t *hook;               /* the agent's hook object inside it (borrowed from body) */
    const char *asid;                 /* agent session id (borrowed) */
    int64_t session_id;               /* 0 when unknown */
    char project[MNEMO_PROJECT_SIZE]; /* "" when unknown */
};

/* ---- logging and SSE --------------------------------------------------------------------- */

static void log_event(struct mnemo_capture *c, enum mnemo_log_level level, const char *msg,
                      const struct mnemo_event *ev, const char *detail)
{
    char q[512];
    mnemo_log_write(c->w->log, level, msg, "event=%lld kind=%s attempts=%d error=%s",
                    (long long)ev->id, ev->kind, ev->attempts,
                    mnemo_log_quote(q, sizeof q, detail ? detail : ""));
}

static void publish_created(struct mnemo_capture *c, int64_t id, const struct mnemo_obs *o)
{
    json_t *j =
        json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "title", o->title ? o->title : "",
                  "type", o->type, "project", o->project ? o->project : "");
    if (j == NULL)
        return;
    /* mnemo_http_publish never blocks (a full client queue drops the client): brief. */
    pthread_mutex_lock(&c->pub_mu);
    if (c->http != NULL)
        (void)mnemo_http_publish(c->http, "observation.created", j);
    pthread_mutex_unlock(&c->pub_mu);
    json_decref(j);
}

/* Whether anyone listens on the event stream (0 once detached). */
static int has_listeners(struct mnemo_capture *c)
{
    pthread_mutex_lock(&c->pub_mu);
    int n = c->http != NULL ? mnemo_http_sse_clients(c->http) : 0;
    pthread_mutex_unlock(&c->pub_mu);
    return n > 0;
}

/*
 * The counts cost an index scan over every done event, so they are only read when someone
 * is listening.
 */
static void publish_queue(struct mnemo_capture *c)
{
    struct mnemo_events_stats s;
    if (!has_listeners(c) || mnemo_events_stats(c->w->st, &s, NULL) != 0)
        return;
    json_t *j = json_pack("{s:I, s:I, s:I}", "pending", (json_int_t)s.pending, "failed",
                          (json_int_t)s.failed, "done", (json_int_t)s.done);
    if (j == NULL)
        return;
    pthread_mutex_lock(&c->pub_mu);
    if (c->http != NULL)
        (void)mnemo_http_publish(c->http, "queue.status", j);
    pthread_mutex_unlock(&c->pub_mu);
    json_decref(j);
}

/* ---- resolving the event ----------------------------------------------------------------- */

static const char *json_str(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/*
 * Parses the stored payload and finds the event's session and project. The stored payload
 * is the route's whole body {agent, kind, agent_session_id, session_id, project, cwd,
 * payload:{hook}}; a bare hook object (no "payload" object inside) is accepted as well. The
 * project comes from the body, else from the session, else from the working directory.
 */
static int resolve(struct mnemo_capture *c, const struct mnemo_event *ev, struct event_ctx *x,
                   struct mnemo_err *err)
{
    json_error_t jerr;
    struct mnemo_session sess;
    int rc;

    memset(x, 0, sizeof *x);
    x->body = json_loads(ev->payload, 0, &jerr);
    if (!json_is_object(x->body))
        return mnemo_err_set(err, MNEMO_EINVAL, "event payload is not a JSON object%s%s",
                             x->body ? "" : ": ", x->body ? "" : jerr.text);
    const json_t *inner = json_object_get(x->body, "payload");
    x->hook = json_is_object(inner) ? inner : x->body;

    x->asid = ev->agent_session_id;
    if (x->asid == NULL)
        x->asid = json_str(x->body, "agent_session_id");
    if (x->asid == NULL)
        x->asid = json_str(x->hook, "session_id");

    int64_t sid = ev->session_id;
    const json_t *jsid = json_object_get(x->body, "session_id");
    if (sid <= 0 && json_is_integer(jsid))
        sid = json_integer_value(jsid);
    if (sid > 0)
        rc = mnemo_session_get(c->w->st, sid, &sess, err);
    else if (x->asid != NULL)
        rc = mnemo_session_find(c->w->st, ev->agent, x->asid, &sess, err);
    else
        rc = MNEMO_ENOTFOUND;
    if (rc != 0 && rc != MNEMO_ENOTFOUND)
        return rc; /* store trouble: worth another attempt */
    if (rc == 0)
        x->session_id = sess.id;

    const char *project = json_str(x->body, "project");
    if (project != NULL && mnemo_project_validate(project, NULL) == 0) {
        snprintf(x->project, sizeof x->project, "%s", project);
    } else if (rc == 0 && sess.project[0] != '\0') {
        snprintf(x->project, sizeof x->project, "%s", sess.project);
    } else {
        const char *cwd = json_str(x->body, "cwd");
        if (cwd == NULL)
            cwd = json_str(x->hook, "cwd");
        /* A directory that is gone leaves the project unknown: nothing is stored. */
        if (cwd == NULL ||
            mnemo_project_identify(cwd, NULL, x->project, sizeof x->project, NULL) != 0)
            x->project[0] = '\0';
    }
    mnemo_err_clear(err);
    return 0;
}

/* ---- cleaning ---------------------------------------------------------------------------- */

/* Runs one owned summary field through the privacy pass; an emptied field becomes NULL. */
static int clean_field(const struct mnemo_privacy *priv, char **s, struct mnemo_err *err)
{
    struct mnemo_privacy_result r;
    if (*s == NULL)
        return 0;
    int rc = mnemo_privacy_clean(priv, *s, strlen(*s), &r, err);
    if (rc != 0)
        return rc;
    free(*s);
    *s = r.text;
    if ((*s)[0] == '\0') {
        free(*s);
        *s = NULL;
    }
    return 0;
}

static int clean_output(const struct mnemo_privacy *priv, struct mnemo_extract_output *out,
                        struct mnemo_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < out->n_obs; i++)
        rc = mnemo_obs_clean(priv, &out->obs[i], err);
    if (rc == 0 && out->has_summary) {
        char **fields[] = {&out->request,   &out->investigated, &out->learned,
                           &out->completed, &out->next_steps,   &out->notes};
        for (size_t i = 0; rc == 0 && i < sizeof fields / sizeof fields[0]; i++)
            rc = clean_field(priv, fields[i], err);
    }
    return rc;
}

/* ---- summaries --------------------------------------------------------------------------- */

static int same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/*
 * A summary without a request gets the session's first stored prompt: hooks record prompts
 * through their own route, so an extractor rarely sees them in the event itself.
 */
static int fill_request(struct mnemo_capture *c, int64_t session_id,
                        struct mnemo_extract_output *out, struct mnemo_err *err)
{
    struct mnemo_prompt *list = NULL;
    int n = 0;
    if (!out->has_summary || out->request != NULL || session_id <= 0)
        return 0;
    int rc = mnemo_prompt_list(c->w->st, session_id, 0, 1, &list, &n, err);
    if (rc == 0 && n > 0 && list[0].text != NULL && list[0].text[0] != '\0') {
        size_t len = mnemo_utf8_cut(list[0].text, strnlen(list[0].text, REQUEST_MAX));
        out->request = strndup(list[0].text, len);
        if (out->request == NULL)
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "capture: out of memory");
    }
    mnemo_prompt_list_free(list, n);
    return rc;
}

/* Writes out's summary unless this event already wrote it (see capture.h). */
static int write_summary(struct mnemo_capture *c, const struct mnemo_event *ev,
                         const struct event_ctx *x, const struct mnemo_extract_output *out,
                         struct mnemo_err *err)
{
    struct mnemo_summary *list = NULL;
    int n = 0;
    const char *project = x->session_id > 0 ? NULL : x->project;
    if (!out->has_summary || x->project[0] == '\0' || out->completed == NULL)
        return 0;
    int rc = mnemo_summary_list(c->w->st, project, x->session_id, 0, SUMMARY_SCAN, &list, &n, err);
    if (rc != 0)
        return rc;
    for (int i = 0; i < n; i++) {
        if (list[i].created_at == ev->created_at && same_text(list[i].completed, out->completed) &&
            same_text(list[i].request, out->request)) {
            mnemo_summary_list_free(list, n);
            return 0;
        }
    }
    mnemo_summary_list_free(list, n);
    struct mnemo_summary_fields f = {out->request,   out->investigated, out->learned,
                                     out->completed, out->next_steps,   out->notes};
    return mnemo_summary_create(c->w->st, x->session_id, project, &f, ev->created_at, NULL, err);
}

/* ---- the write transaction --------------------------------------------------------------- */

struct write_args {
    struct mnemo_extract_output *outs;
    size_t nouts;
    int64_t event_id, now;
    struct mnemo_obs_created created[MAX_DRAFTS];
    const struct mnemo_obs *drafts[MAX_DRAFTS];
    size_t n;
};

static int write_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct write_args *a = arg;
    a->n = 0; /* the store may run this again after a busy snapshot */
    for (size_t i = 0; i < a->nouts; i++) {
        for (size_t k = 0; k < a->outs[i].n_obs; k++) {
            const struct mnemo_obs *o = &a->outs[i].obs[k];
            int rc = mnemo_obs_create_conn(conn, o, &a->created[a->n], err);
            if (rc != 0)
                return rc;
            a->drafts[a->n++] = o;
        }
    }
    return mnemo_events_done_conn(conn, a->event_id, a->now, err);
}

/* ---- one event --------------------------------------------------------------------------- */

/*
 * Store errors that say nothing about the event: the database was busy past the deadline,
 * the disk is full, the store is closing. Such an attempt is not counted (see process).
 */
static int store_transient(int rc)
{
    return rc == MNEMO_EBUSY || rc == MNEMO_ETIMEDOUT || rc == MNEMO_ENOSPC || rc == MNEMO_ECLOSED;
}

/*
 * Processes ev; returns 0 when it is done, or the error that makes this attempt fail.
 * *transient is set when the error came from the store and is one of store_transient's: the
 * event is fine and must not move towards the dead letter because the database was busy for
 * a while, so the caller leaves it pending and tries again later.
 */
static int process(struct mnemo_capture *c, const struct mnemo_event *ev,
                   struct mnemo_extract_output *outs, int *transient, struct mnemo_err *err)
{
    struct mnemo_worker *w = c->w;
    struct event_ctx x;
    size_t nouts = 0;
    *transient = 0;
    int rc = resolve(c, ev, &x, err);
    if (rc != 0) {
        *transient = store_transient(rc);
        goto out;
    }

    struct mnemo_extract_input in = {
        .event_id = ev->id,
        .agent = ev->agent,
        .kind = ev->kind,
        .agent_session_id = x.asid,
        .session_id = x.session_id,
        .project = x.project[0] ? x.project : NULL,
        .payload = x.hook,
        .created_at = ev->created_at,
    };
    for (size_t i = 0; i < c->nx; i++) {
        mnemo_extract_output_init(&outs[i]);
        nouts++;
        rc = mnemo_extractor_run(c->x[i], &in, &outs[i], err);
        if (rc == 0 && outs[i].note[0] != '\0') /* e.g. the model failed and the rules took over */
            log_event(c, MNEMO_LOG_INFO, "capture: extractor note", ev, outs[i].note);
        if (rc == 0) {
            rc = fill_request(c, x.session_id, &outs[i], err);
            *transient = store_transient(rc);
        }
        if (rc == 0)
            rc = clean_output(w->priv, &outs[i], err);
        if (rc == 0) {
            rc = write_summary(c, ev, &x, &outs[i], err);
            *transient = store_transient(rc);
        }
        if (rc != 0)
            goto out;
    }

    struct write_args *a = calloc(1, sizeof *a);
    if (a == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "capture: out of memory");
        goto out;
    }
    a->outs = outs;
    a->nouts = nouts;
    a->event_id = ev->id;
    a->now = mnemo_clock_wall_ms();
    rc =
        mnemo_store_write(w->st, "capture event", MNEMO_STORE_TIMEOUT_DEFAULT_MS, write_fn, a, err);
    *transient = store_transient(rc);
    if (rc == 0) {
        for (size_t i = 0; i < a->n; i++) {
            if (a->created[i].duplicate)
                continue;
            atomic_fetch_add(&c->observations, 1);
            if (w->emb != NULL && mnemo_embed_enabled(w->emb)) {
                struct mnemo_err e2 = {0};
                if (mnemo_search_embed_obs(w->st, w->vx, w->emb, a->created[i].id,
                                           mnemo_deadline_in_ms(EMBED_TIMEOUT_MS), &e2) != 0)
                    mnemo_log_write(w->log, MNEMO_LOG_WARN, "capture: embedding failed",
                                    "observation=%lld rc=%s", (long long)a->created[i].id,
                                    mnemo_rcname(e2.code));
            }
            publish_created(c, a->created[i].id, a->drafts[i]);
        }
    }
    free(a);
out:
    for (size_t i = 0; i < nouts; i++)
        mnemo_extract_output_release(&outs[i]);
    json_decref(x.body);
    return rc;
}

/* Records a failed attempt; a store failure here is logged and the event stays pending. */
static void fail(struct mnemo_capture *c, const struct mnemo_event *ev, int rc,
                 const struct mnemo_err *why)
{
    struct mnemo_err err = {0};
    const char *text = mnemo_err_text(why, rc);
    int dead = 0;
    atomic_fetch_add(&c->failed_tries, 1);
    if (mnemo_events_fail(c->w->st, ev->id, text, 0, &dead, &err) != 0) {
        log_event(c, MNEMO_LOG_ERROR, "capture: cannot record a failed attempt", ev, err.msg);
        return;
    }
    if (dead)
        atomic_fetch_add(&c->dead_lettered, 1);
    log_event(c, dead ? MNEMO_LOG_ERROR : MNEMO_LOG_WARN,
              dead ? "capture: event dead-lettered" : "capture: event attempt failed", ev, text);
}

/* ---- the thread -------------------------------------------------------------------------- */

/*
 * One pass over everything pending. Returns the number of events handled. A transient store
 * error ends the pass (the rest would most likely hit it too); the next pass starts after the
 * idle wait.
 */
static int64_t sweep(struct mnemo_capture *c, struct mnemo_event *batch,
                     struct mnemo_extract_output *outs)
{
    int64_t cursor = 0, handled = 0;
    int stalled = 0;
    for (;;) {
        struct mnemo_err err = {0};
        size_t n = 0;
        int rc = mnemo_events_pending(c->w->st, cursor, batch, BATCH, &n, &err);
        if (rc != 0) {
            mnemo_log_write(c->w->log, MNEMO_LOG_WARN, "capture: cannot read the queue", "rc=%s",
                            mnemo_rcname(rc));
            return handled;
        }
        for (size_t i = 0; i < n; i++) {
            if (!stalled && !atomic_load(&c->stop)) {
                struct mnemo_err perr = {0};
                int transient = 0;
                rc = process(c, &batch[i], outs, &transient, &perr);
                if (rc == 0) {
                    atomic_fetch_add(&c->processed, 1);
                } else if (transient) {
                    log_event(c, MNEMO_LOG_WARN, "capture: store unavailable; will try again",
                              &batch[i], mnemo_err_text(&perr, rc));
                    stalled = 1;
                } else {
                    fail(c, &batch[i], rc, &perr);
                }
                atomic_store(&c->last_run_ms, mnemo_clock_wall_ms());
                handled++;
            }
            cursor = batch[i].id;
            mnemo_event_release(&batch[i]);
        }
        if (n < BATCH || stalled || atomic_load(&c->stop))
            return handled;
    }
}

static void *capture_main(void *arg)
{
    struct mnemo_capture *c = arg;
    struct mnemo_event *batch = calloc(BATCH, sizeof *batch);
    struct mnemo_extract_output *outs = calloc(MNEMO_CAPTURE_MAX_EXTRACTORS, sizeof *outs);
    if (batch == NULL || outs == NULL) {
        mnemo_log_write(c->w->log, MNEMO_LOG_ERROR, "capture: out of memory; thread exits", NULL);
        goto out;
    }
    int64_t last_status_ms = 0;
    int dirty = 0;
    while (!atomic_load(&c->stop)) {
        int64_t handled = sweep(c, batch, outs);
        int64_t now = mnemo_clock_mono_ms();
        /*
         * Under a steady stream every event is a sweep of its own: queue.status goes out at
         * most every QUEUE_STATUS_MS, and once more when the queue goes quiet, so the last
         * state published is never stale for longer than one idle wait.
         */
        dirty |= handled > 0;
        if (dirty && (handled == 0 || now - last_status_ms >= QUEUE_STATUS_MS)) {
            publish_queue(c);
            dirty = 0;
            last_status_ms = now;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += IDLE_WAIT_MS / 1000;
        pthread_mutex_lock(&c->mu);
        while (!c->kicked && !atomic_load(&c->stop)) {
            if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
                break;
        }
        c->kicked = 0;
        pthread_mutex_unlock(&c->mu);
    }
out:
    free(batch);
    free(outs);
    return NULL;
}

/* ---- public API -------------------------------------------------------------------------- */

int mnemo_capture_start_with(struct mnemo_worker *w, struct mnemo_extractor *const *x, size_t n,
                             struct mnemo_capture **out, struct mnemo_err *err)
{
    struct mnemo_capture *c = NULL;
    pthread_condattr_t ca;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (w == NULL || w->st == NULL || w->priv == NULL || out == NULL || x == NULL || n == 0 ||
        n > MNEMO_CAPTURE_MAX_EXTRACTORS) {
        rc = mnemo_err_set(err, MNEMO_EINVAL,
                           "capture start: needs a worker with a store and privacy, and 1..%d "
                           "extractors",
                           MNEMO_CAPTURE_MAX_EXTRACTORS);
        goto fail_x;
    }
    for (size_t i = 0; i < n; i++) {
        if (x[i] == NULL) {
            rc = mnemo_err_set(err, MNEMO_EINVAL, "capture start: extractor %zu is NULL", i);
            goto fail_x;
        }
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "capture start: out of memory");
        goto fail_x;
    }
    c->w = w;
    c->http = w->http;
    c->nx = n;
    memcpy(c->x, x, n * sizeof x[0]);
    if (pthread_condattr_init(&ca) != 0) {
        free(c);
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "capture start: cannot create a condition");
        goto fail_x;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int crc = pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    int mrc = crc == 0 ? pthread_mutex_init(&c->mu, NULL) : -1;
    int prc0 = mrc == 0 ? pthread_mutex_init(&c->pub_mu, NULL) : -1;
    if (crc != 0 || mrc != 0 || prc0 != 0) {
        if (crc == 0)
            pthread_cond_destroy(&c->cv);
        if (mrc == 0)
            pthread_mutex_destroy(&c->mu);
        free(c);
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "capture start: cannot create a lock");
        goto fail_x;
    }
    int prc = pthread_create(&c->thread, NULL, capture_main, c);
    if (prc != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        pthread_mutex_destroy(&c->pub_mu);
        free(c);
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "capture start: cannot start the thread: %s",
                           strerror(prc));
        goto fail_x;
    }
    *out = c;
    return 0;
fail_x:
    for (size_t i = 0; x != NULL && i < n && i < MNEMO_CAPTURE_MAX_EXTRACTORS; i++)
        mnemo_extractor_free(x[i]);
    return rc;
}

int mnemo_capture_start(struct mnemo_worker *w, struct mnemo_capture **out, struct mnemo_err *err)
{
    struct mnemo_extractor *rules = NULL;
    if (out != NULL)
        *out = NULL;
    int rc = mnemo_extractor_rules_new(&rules, err);
    if (rc != 0)
        return rc;
    return mnemo_capture_start_with(w, &rules, 1, out, err);
}

void mnemo_capture_kick(struct mnemo_capture *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->kicked = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void mnemo_capture_stop(struct mnemo_capture *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->stop, 1);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    for (size_t i = 0; i < c->nx; i++)
        mnemo_extractor_free(c->x[i]);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->pub_mu);
    free(c);
}

void mnemo_capture_detach_http(struct mnemo_capture *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->pub_mu);
    c->http = NULL;
    pthread_mutex_unlock(&c->pub_mu);
}

void mnemo_capture_stats(struct mnemo_capture *c, struct mnemo_capture_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    out->processed = atomic_load(&c->processed);
    out->failed_tries = atomic_load(&c->failed_tries);
    out->dead_lettered = atomic_load(&c->dead_lettered);
    out->observations = atomic_load(&c->observations);
    out->last_run_ms = atomic_load(&c->last_run_ms);
}
