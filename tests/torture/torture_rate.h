/*
 * torture_rate.h - a constant-rate (open-loop) load driver over the worker's socket, for the
 * starvation and load torture tests, plus seeding a worker with observations and sampling its
 * RSS, open fds and WAL while the load runs.
 *
 * Each operation has a rate and a few threads; request i of an operation is due at
 * start + i / rate and its latency is measured from that due time, not from when a thread got
 * round to sending it, so a worker that falls behind shows up in the percentiles instead of
 * silently slowing the client down (no coordinated omission).
 * Header-only, on top of torture_procs.h. Thread-safety: tort_rate_run starts and joins its own
 * threads; call it from the test's main thread.
 */
#ifndef MNEMO_TESTS_TORTURE_RATE_H
#define MNEMO_TESTS_TORTURE_RATE_H

#include "torture_procs.h"

#define TORT_OP_THREADS_MAX 8

/*
 * Under AddressSanitizer the worker does a fraction of its normal work per second (and ASan's
 * quarantine alone holds up to 256 MB), so the sanitizer pass runs the same schedule at a
 * quarter of the rates, to look for memory errors and leaks under load, and does not hold the
 * RSS to the normal build's bound.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TORT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TORT_SANITIZED 1
#endif
#endif
#ifndef TORT_SANITIZED
#define TORT_SANITIZED 0
#endif
#define TORT_RATE_SCALE (TORT_SANITIZED ? 0.25 : 1.0)
/* Deadline misses (504) tolerated per operation, in per mille of its requests: the machine the
 * suite runs on is shared, and a starved CPU stretches a writer past a 1 s budget now and then.
 * Every other failed request fails the test. */
#define TORT_DEADLINE_MISSES_PERMILLE 10

/* Fails the test when an operation of run had an error or too many deadline misses. */
struct tort_rate;
static inline void tort_rate_expect_no_errors(struct fixture *f, struct tort_rate *run,
                                              const char *phase);

struct tort_op;
/* Writes request number n's body into buf (size bytes); NULL body_fn sends op->body. */
typedef void (*tort_body_fn)(const struct tort_op *op, int64_t n, char *buf, size_t size);

struct tort_op {
    const char *name;   /* figure key: "events", "prompt_context"... */
    const char *method; /* "GET" or "POST" */
    const char *path;
    const char *body;     /* fixed body (may be NULL) */
    tort_body_fn body_fn; /* or a body per request */
    double rate;          /* requests per second */
    int threads;          /* concurrency (1..TORT_OP_THREADS_MAX) */
    long timeout_ms;      /* per request; 0 = 10 s */
    long ok_code;         /* the status that counts as success */

    /* filled by the run */
    int64_t salt; /* different in every run, so no two runs send the same observation */
    struct tort_lat lat;
    char first_error[256];
};

struct tort_rate {
    struct fixture *f;
    struct tort_op *ops;
    int n_ops;
    int64_t start_us, end_us;

    /* per-second samples of the worker (main thread) */
    int64_t rss_first_kib, rss_base_kib, rss_max_kib, rss_last_kib;
    int fds_first, fds_base, fds_max, fds_last;
    int64_t wal_max;
};

struct tort_thread_arg {
    struct tort_rate *run;
    struct tort_op *op;
    int index;
};

static inline void *tort_op_thread(void *arg)
{
    struct tort_thread_arg *a = arg;
    struct tort_op *op = a->op;
    struct tort_rate *run = a->run;
    char *buf = malloc(16384);
    if (buf == NULL)
        return NULL;
    for (int64_t i = a->index;; i += op->threads) {
        int64_t due = run->start_us + (int64_t)((double)i * 1e6 / (op->rate * TORT_RATE_SCALE));
        if (due >= run->end_us)
            break;
        tort_sleep_until_us(due);
        const char *body = op->body;
        if (op->body_fn != NULL) {
            op->body_fn(op, i, buf, 16384);
            body = buf;
        }
        json_t *j = NULL;
        long code = tort_call(run->f->sock, op->method, op->path, body,
                              op->timeout_ms > 0 ? op->timeout_ms : 10000, NULL, &j);
        int ok = code == op->ok_code;
        /* A 504 is the worker keeping its promise: the request's deadline ran out (waiting for
         * the writer on a starved CPU) and it said so at once; counted apart from errors. */
        int deadline = code == 504;
        tort_lat_add(&op->lat, tort_now_us() - due, ok || deadline);
        if (deadline) {
            pthread_mutex_lock(&op->lat.mu);
            op->lat.deadlines++;
            pthread_mutex_unlock(&op->lat.mu);
        }
        if (!ok) {
            pthread_mutex_lock(&op->lat.mu);
            if (op->first_error[0] == '\0') {
                char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
                snprintf(op->first_error, sizeof op->first_error, "%ld %s", code,
                         s != NULL ? s : "");
                free(s);
            }
            pthread_mutex_unlock(&op->lat.mu);
        }
        json_decref(j);
    }
    free(buf);
    return NULL;
}

/* Samples RSS and fds of pid into run (base: the first sample after warmup_s seconds). */
static inline void tort_rate_sample(struct tort_rate *run, pid_t pid, int64_t elapsed_s,
                                    int64_t warmup_s)
{
    int64_t rss = tort_rss_kib(pid);
    int fds = tort_fd_count(pid);
    if (run->rss_first_kib == 0) {
        run->rss_first_kib = rss;
        run->fds_first = fds;
    }
    if (elapsed_s >= warmup_s && run->rss_base_kib == 0) {
        run->rss_base_kib = rss;
        run->fds_base = fds;
    }
    if (rss > run->rss_max_kib)
        run->rss_max_kib = rss;
    if (fds > run->fds_max)
        run->fds_max = fds;
    run->rss_last_kib = rss;
    run->fds_last = fds;
}

/*
 * Runs every operation at its rate for seconds, sampling the worker (f->child) every second
 * and its -wal every 100 ms. tick (may be NULL) is called on the main thread every 100 ms with
 * the elapsed milliseconds.
 */
static inline void tort_rate_run(struct tort_rate *run, int64_t seconds, int64_t warmup_s,
                                 void (*tick)(struct tort_rate *run, int64_t elapsed_ms))
{
    pthread_t th[16 * TORT_OP_THREADS_MAX];
    struct tort_thread_arg args[16 * TORT_OP_THREADS_MAX];
    int n = 0;

    assert_true(run->n_ops <= 16);
    for (int k = 0; k < run->n_ops; k++) {
        tort_lat_init(&run->ops[k].lat);
        run->ops[k].first_error[0] = '\0';
    }
    run->start_us = tort_now_us() + 100000;
    run->end_us = run->start_us + seconds * 1000000;
    for (int k = 0; k < run->n_ops; k++)
        run->ops[k].salt = run->start_us;
    for (int k = 0; k < run->n_ops; k++) {
        struct tort_op *op = &run->ops[k];
        assert_true(op->threads >= 1 && op->threads <= TORT_OP_THREADS_MAX);
        for (int t = 0; t < op->threads; t++) {
            args[n] = (struct tort_thread_arg){run, op, t};
            assert_int_equal(pthread_create(&th[n], NULL, tort_op_thread, &args[n]), 0);
            n++;
        }
    }
    for (int64_t tick_ms = 0;; tick_ms += 100) {
        tort_sleep_until_us(run->start_us + tick_ms * 1000);
        if (tort_now_us() >= run->end_us)
            break;
        int64_t wal = tu_file_size(run->f->wal);
        if (wal > run->wal_max)
            run->wal_max = wal;
        if (tick_ms % 1000 == 0)
            tort_rate_sample(run, run->f->child, tick_ms / 1000, warmup_s);
        if (tick != NULL)
            tick(run, tick_ms);
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
}

static inline void tort_rate_expect_no_errors(struct fixture *f, struct tort_rate *run,
                                              const char *phase)
{
    for (int k = 0; k < run->n_ops; k++) {
        struct tort_op *op = &run->ops[k];
        if (op->lat.errors > 0 ||
            op->lat.deadlines * 1000 > (int64_t)op->lat.n * TORT_DEADLINE_MISSES_PERMILLE)
            fail_worker(f,
                        "%s: %lld of %zu %s requests failed, %lld missed their deadline "
                        "(first: %s)",
                        phase, (long long)op->lat.errors, op->lat.n, op->name,
                        (long long)op->lat.deadlines, op->first_error);
    }
}

/* Frees the operations' samples. */
static inline void tort_rate_release(struct tort_rate *run)
{
    for (int k = 0; k < run->n_ops; k++)
        tort_lat_release(&run->ops[k].lat);
}

/* A post-tool-use event of about payload_len bytes, different for each n. */
static inline void tort_event_body(const struct tort_op *op, int64_t n, char *buf, size_t size)
{
    static const char filler[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
                                 "eiusmod tempor incididunt ut labore et dolore magna aliqua ";
    char out[2048];
    size_t len = 0;
    while (len + sizeof filler < sizeof out) {
        memcpy(out + len, filler, sizeof filler - 1);
        len += sizeof filler - 1;
    }
    out[len] = '\0';
    snprintf(buf, size,
             "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"%s-%lld\","
             "\"project\":\"torture\",\"payload\":{\"tool_name\":\"Bash\",\"tool_input\":"
             "{\"command\":\"make test %lld\"},\"tool_response\":{\"stdout\":\"%s\",\"stderr\":"
             "\"\",\"exit_code\":0}}}",
             op->name, (long long)(n / 50), (long long)n, out);
}

/* A new observation, different for each n (no deduplication). */
static inline void tort_obs_body(const struct tort_op *op, int64_t n, char *buf, size_t size)
{
    static const char *const topics[] = {"parser",    "checkpoint", "socket",    "retention",
                                         "tokenizer", "embedding",  "migration", "scheduler"};
    const char *t = topics[n % 8];
    snprintf(buf, size,
             "{\"project\":\"torture\",\"type\":\"discovery\",\"title\":\"%s load note %lld\","
             "\"narrative\":\"the %s fails under load when request %lld races the %s; fixed by "
             "bounding the queue\",\"facts\":[\"%s %lld/%lld\"],\"concepts\":[\"%s\"]}",
             t, (long long)n, t, (long long)n, topics[(n + 3) % 8], op->name, (long long)op->salt,
             (long long)n, t);
}

/* Prompts and queries over the seeded topics. */
static inline void tort_prompt_body(const struct tort_op *op, int64_t n, char *buf, size_t size)
{
    static const char *const topics[] = {"parser",    "checkpoint", "socket",    "retention",
                                         "tokenizer", "embedding",  "migration", "scheduler"};
    if (strcmp(op->path, "/v1/search") == 0)
        snprintf(buf, size, "{\"query\":\"%s fails under load\",\"project\":\"torture\"}",
                 topics[n % 8]);
    else
        snprintf(buf, size,
                 "{\"project\":\"torture\",\"prompt\":\"why does the %s fail under load?\"}",
                 topics[n % 8]);
}

/* Imports n observations in one request (JSON array), so search and context have work. */
static inline void tort_seed_observations(struct fixture *f, int n)
{
    struct mnemo_strbuf sb;
    char one[2048];
    struct tort_op op = {.name = "seed"};
    mnemo_strbuf_init(&sb, 64 << 20);
    assert_int_equal(mnemo_strbuf_puts(&sb, "["), 0);
    for (int i = 0; i < n; i++) {
        tort_obs_body(&op, i, one, sizeof one);
        assert_int_equal(mnemo_strbuf_puts(&sb, i > 0 ? "," : ""), 0);
        assert_int_equal(mnemo_strbuf_puts(&sb, one), 0);
    }
    assert_int_equal(mnemo_strbuf_puts(&sb, "]"), 0);
    struct http_opts o = {.content_type = "application/json",
                          .body = mnemo_strbuf_str(&sb),
                          .body_len = sb.len,
                          .timeout_ms = 120000};
    struct http_resp r = http(f->sock, "POST", "http://localhost/v1/observations/import", &o);
    json_t *j = expect_json(&r, 200, "POST /v1/observations/import");
    if (tort_json_int(j, "imported", NULL) != n)
        fail_worker(f, "seeding imported only part: %.200s", r.body);
    http_resp_free(&r);
    mnemo_strbuf_release(&sb);
}

/* One figure per operation: n, p50, p99, max, errors (and the first error when any). */
static inline void tort_rate_figures(const char *test, const char *prefix, struct tort_rate *run)
{
    char key[128];
    for (int k = 0; k < run->n_ops; k++) {
        snprintf(key, sizeof key, "%s%s", prefix, run->ops[k].name);
        tort_lat_figure(test, key, &run->ops[k].lat);
        if (run->ops[k].first_error[0] != '\0') {
            snprintf(key, sizeof key, "%s%s_first_error", prefix, run->ops[k].name);
            tort_figure(test, key, "%s", run->ops[k].first_error);
        }
    }
}

#endif
