/*
 * torture_procs.h - helpers of the process-level torture tests (tests/torture/test_torture_*.c
 * that drive a real worker): short or long mode, the figures each test prints in one fixed
 * format and writes to $MNEMO_TORTURE_RESULTS/<test>.txt (docs/RELIABILITY.md quotes them),
 * latency samples with percentiles, the worker's RSS and open fds from /proc, the queue drain,
 * integrity_check from a separate read-only connection, and a seeded PRNG (MNEMO_TORTURE_SEED
 * replays a run). Header-only on top of tests/process/worker_http.h (the worker fixture and
 * HTTP client), because CMake builds each test from its one source file.
 * Thread-safety: tort_lat_add is safe from any thread; the rest is for the main thread.
 */
#ifndef MNEMO_TESTS_TORTURE_PROCS_H
#define MNEMO_TESTS_TORTURE_PROCS_H

#include "../process/worker_http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <sqlite3.h>

/* 1 when MNEMO_TORTURE_LONG=1 (make torture): the long figures instead of CI's. */
static inline int tort_long(void)
{
    const char *v = getenv("MNEMO_TORTURE_LONG");
    return v != NULL && strcmp(v, "1") == 0;
}

/* ---- figures ------------------------------------------------------------------------------ */

/*
 * One figure: printed on stdout as "torture <test>.<key> = <value>" and appended to
 * $MNEMO_TORTURE_RESULTS/<test>.txt (the directory is created; without the variable only
 * stdout). tort_begin must have started the file.
 */
static inline void tort_figure(const char *test, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline FILE *tort_results_open(const char *test, const char *mode)
{
    const char *dir = getenv("MNEMO_TORTURE_RESULTS");
    char path[1024];
    if (dir == NULL || dir[0] == '\0')
        return NULL;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return NULL;
    snprintf(path, sizeof path, "%s/%s.txt", dir, test);
    return fopen(path, mode);
}

/* Starts the results file of test (truncating an older run's) with its mode and date. */
static inline void tort_begin(const char *test)
{
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    FILE *fp = tort_results_open(test, "w");
    if (fp != NULL) {
        fprintf(fp, "# %s, %s mode, %s\n", test, tort_long() ? "long" : "short", when);
        fclose(fp);
    }
    printf("torture %s.mode = %s\n", test, tort_long() ? "long" : "short");
}

static inline void tort_figure(const char *test, const char *key, const char *fmt, ...)
{
    char value[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    printf("torture %s.%s = %s\n", test, key, value);
    fflush(stdout);
    FILE *fp = tort_results_open(test, "a");
    if (fp != NULL) {
        fprintf(fp, "torture %s.%s = %s\n", test, key, value);
        fclose(fp);
    }
}

/* ---- seeded randomness -------------------------------------------------------------------- */

/* The run's seed: MNEMO_TORTURE_SEED when set (to replay a failure), else the clock. */
static inline uint64_t tort_seed(void)
{
    const char *v = getenv("MNEMO_TORTURE_SEED");
    if (v != NULL && v[0] != '\0')
        return strtoull(v, NULL, 10);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
}

/* xorshift64*: small, fast, and reproducible from the printed seed. */
static inline uint64_t tort_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* Uniform in [lo, hi]. */
static inline int64_t tort_rand_range(uint64_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(tort_rand(s) % (uint64_t)(hi - lo + 1));
}

/* ---- latency samples ---------------------------------------------------------------------- */

/* Every sample is kept (a 30 min run at 50/s is 90,000 of them): exact percentiles. */
struct tort_lat {
    pthread_mutex_t mu;
    int64_t *us;
    size_t n, cap;
    int64_t errors;
    int64_t deadlines; /* 504 MNEMO_ETIMEDOUT: the request's own deadline ran out (fail-open) */
};

static inline void tort_lat_init(struct tort_lat *l)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
}

static inline void tort_lat_release(struct tort_lat *l)
{
    free(l->us);
    pthread_mutex_destroy(&l->mu);
}

static inline void tort_lat_add(struct tort_lat *l, int64_t us, int ok)
{
    pthread_mutex_lock(&l->mu);
    if (!ok)
        l->errors++;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        int64_t *p = realloc(l->us, cap * sizeof *p);
        if (p != NULL) {
            l->us = p;
            l->cap = cap;
        }
    }
    if (l->n < l->cap)
        l->us[l->n++] = us;
    pthread_mutex_unlock(&l->mu);
}

static inline int tort_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) in microseconds; sorts the samples. 0 when there are none. */
static inline int64_t tort_lat_quantile(struct tort_lat *l, double q)
{
    if (l->n == 0)
        return 0;
    qsort(l->us, l->n, sizeof *l->us, tort_cmp_i64);
    size_t i = (size_t)(q * (double)(l->n - 1) + 0.5);
    return l->us[i < l->n ? i : l->n - 1];
}

/* Prints "<key> = n N, p50 X ms, p99 Y ms, max Z ms, errors E, deadline misses D". */
static inline void tort_lat_figure(const char *test, const char *key, struct tort_lat *l)
{
    tort_figure(
        test, key,
        "n %zu, p50 %.1f ms, p99 %.1f ms, max %.1f ms, errors %lld, deadline misses %lld", l->n,
        (double)tort_lat_quantile(l, 0.50) / 1000.0, (double)tort_lat_quantile(l, 0.99) / 1000.0,
        (double)tort_lat_quantile(l, 1.0) / 1000.0, (long long)l->errors, (long long)l->deadlines);
}

static inline int64_t tort_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleeps until the monotonic time at_us (returns at once when it has passed). */
static inline void tort_sleep_until_us(int64_t at_us)
{
    int64_t left = at_us - tort_now_us();
    if (left > 0) {
        struct timespec ts = {.tv_sec = left / 1000000, .tv_nsec = (left % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---- the worker process seen from /proc --------------------------------------------------- */

/* VmRSS of pid in KiB, -1 when unreadable. */
static inline int64_t tort_rss_kib(pid_t pid)
{
    char path[64], line[256];
    int64_t kib = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof line, fp) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtoll(line + 6, NULL, 10);
    fclose(fp);
    return kib;
}

/* Open file descriptors of pid, -1 when unreadable. */
static inline int tort_fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* ---- the database from outside ------------------------------------------------------------- */

/* PRAGMA integrity_check (full) or quick_check on a separate read-only connection (the worker
 * may be running: WAL readers do not disturb it). Returns 1 when the answer is "ok"; the first
 * line in buf. */
static inline int tort_check_ok(const char *db_path, int full, char *buf, size_t size)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int ok = 0;
    snprintf(buf, size, "cannot open");
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(db, full ? "PRAGMA integrity_check" : "PRAGMA quick_check", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        snprintf(buf, size, "%s", r != NULL ? r : "(null)");
        ok = r != NULL && strcmp(r, "ok") == 0;
    } else if (db != NULL) {
        snprintf(buf, size, "%s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

static inline int tort_integrity_ok(const char *db_path, char *buf, size_t size)
{
    return tort_check_ok(db_path, 1, buf, size);
}

/* ---- the worker's API ---------------------------------------------------------------------- */

/* An integer at path "a.b" of a JSON object; -1 when absent. */
static inline int64_t tort_json_int(json_t *j, const char *a, const char *b)
{
    json_t *v = json_object_get(j, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/*
 * Polls /v1/stats until no event is pending; returns the stats (the caller json_decref's).
 * Fails after timeout_ms.
 */
static inline json_t *tort_wait_queue_drained(struct fixture *f, int64_t timeout_ms)
{
    int64_t end = tu_now_ms() + timeout_ms;
    for (;;) {
        struct http_resp r = sock_json(f, "GET", "/v1/stats", NULL);
        json_t *s = expect_json(&r, 200, "GET /v1/stats");
        if (tort_json_int(s, "queue", "pending") == 0) {
            json_t *keep = json_incref(s);
            http_resp_free(&r);
            return keep;
        }
        http_resp_free(&r);
        if (tu_now_ms() > end)
            fail_worker(f, "the queue still had events pending after %lld ms",
                        (long long)timeout_ms);
        usleep(20000);
    }
}

/* One request over the socket from any thread, with its latency in *us; returns the status (0
 * when nothing answered). body may be NULL. */
static inline long tort_call(const char *sock, const char *method, const char *path,
                             const char *body, long timeout_ms, int64_t *us, json_t **out)
{
    char url[1024];
    snprintf(url, sizeof url, "http://localhost%s", path);
    struct http_opts o = {.content_type = body != NULL ? "application/json" : NULL,
                          .body = body,
                          .timeout_ms = timeout_ms};
    struct http_resp r;
    int64_t t0 = tort_now_us();
    CURLcode cc = http_call(sock, method, url, &o, &r);
    if (us != NULL)
        *us = tort_now_us() - t0;
    long code = cc == CURLE_OK ? r.code : 0;
    if (out != NULL)
        *out = r.json != NULL ? json_incref(r.json) : NULL;
    http_resp_free(&r);
    return code;
}

#endif
