/*
 * bench_worker.c - the worker's latency budget (issue 4, "Benchmarks").
 *
 * A real `mnemo serve` process on a temporary MNEMO_HOME:
 *   1. idle: start-to-ready time and RSS of a worker on an empty store;
 *   2. a store of N observations with vectors (bench_fill on corpus.h; 100k, --quick 10k),
 *      then start-to-ready time (fork to the first /v1/health that says ready) and RSS;
 *   3. under load: while a writer adds observations (POST /v1/observations, 20/s) and a
 *      checkpoint is forced every 5 s (POST /v1/checkpoint; the store's own checkpointer runs
 *      too, whenever the WAL passes its threshold), constant-rate requests of
 *      POST /v1/events (a 1.5 KB post-tool-use payload) and of POST /v1/context/prompt (the
 *      corpus's broad queries) - over the Unix socket by this program's own open-loop client
 *      (requests are due on a fixed schedule and latency counts from the due time, so a
 *      stall is not hidden by the client waiting: no coordinated omission), and over TCP by
 *      wrk (Debian's wrk 4.1, paced by a Lua delay() to the same rate; wrk measures from the
 *      moment it sends, so its numbers can hide queueing that the socket client shows);
 *   4. RSS after the load; SIGTERM, and whether a -wal file is left.
 * The table goes to stdout, progress to stderr. Exit 0 after a complete run whatever the
 * verdicts, 1 when something could not run, 2 on a usage error.
 *
 * Usage: bench_worker [--quick] [--rate N] [--seconds S]
 * The mnemo binary is $MNEMO_BIN, else the `mnemo` next to this program.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchstore.h"
#include "benchutil.h"
#include "corpus.h"
#include "embed/embed.h"
#include "util/clock.h"

#define PROG            "bench_worker"
#define N_FULL          100000
#define N_QUICK         10000
#define TARGET_EVENT_NS 2e6
#define TARGET_CTX_NS   10e6
#define TARGET_READY_NS 500e6
#define READY_WAIT_MS   120000
#define RESP_MAX        (1 << 20)
#define N_QUERY         200

/* ---- a minimal HTTP/1.1 client over a Unix socket (keep-alive) ---------------------------- */

struct conn {
    int fd;
    const char *sock;
    char buf[RESP_MAX];
};

static int conn_open(struct conn *c)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", c->sock);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends one request and reads the whole response into c->buf; *status gets the code. The body
 * starts at *body (NUL-terminated). Reconnects once when the server had closed the connection. */
static int http_call(struct conn *c, const char *method, const char *path, const char *body,
                     int *status, const char **resp_body)
{
    char head[512];
    size_t blen = body ? strlen(body) : 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0 && conn_open(c) != 0)
            return -1;
        int hl = snprintf(head, sizeof head,
                          "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\n\r\n",
                          method, path, blen);
        if (write_all(c->fd, head, (size_t)hl) != 0 || (blen && write_all(c->fd, body, blen))) {
            conn_close(c);
            continue;
        }
        size_t got = 0;
        char *end = NULL;
        long clen = -1;
        for (;;) {
            ssize_t r = read(c->fd, c->buf + got, sizeof c->buf - 1 - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
            c->buf[got] = '\0';
            if (end == NULL && (end = strstr(c->buf, "\r\n\r\n")) != NULL) {
                char *cl = strcasestr(c->buf, "\r\ncontent-length:");
                clen = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
            }
            if (end && (long)(got - (size_t)(end + 4 - c->buf)) >= clen)
                break;
            if (got >= sizeof c->buf - 1)
                break;
        }
        if (end == NULL) {
            conn_close(c);
            if (got == 0)
                continue; /* the server closed an idle connection: reconnect once */
            return -1;
        }
        *status = (int)strtol(c->buf + 9, NULL, 10);
        if (resp_body)
            *resp_body = end + 4;
        return 0;
    }
    return -1;
}

/* ---- the worker process ------------------------------------------------------------------- */

struct worker {
    pid_t pid;
    char home[BENCH_PATH_LEN];
    char sock[BENCH_PATH_LEN + 16];
    int port;
    char token[80];
};

static const char *mnemo_bin(const char *argv0, char *buf, size_t size)
{
    const char *env = getenv("MNEMO_BIN");
    if (env && env[0])
        return env;
    const char *slash = strrchr(argv0, '/');
    if (slash == NULL)
        return "mnemo";
    snprintf(buf, size, "%.*s/mnemo", (int)(slash - argv0), argv0);
    return buf;
}

/* A TCP port nothing listens on right now (the kernel's choice for port 0). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Starts `mnemo serve` and waits until /v1/health says ready; *ready_ns is fork to ready. */
static int worker_start(struct worker *w, const char *bin, int64_t *ready_ns)
{
    char tcp[64];
    snprintf(w->sock, sizeof w->sock, "%s/mnemo.sock", w->home);
    w->port = free_port();
    snprintf(tcp, sizeof tcp, "127.0.0.1:%d", w->port);
    int64_t t0 = mnemo_clock_mono_ns();
    w->pid = fork();
    if (w->pid < 0)
        return -1;
    if (w->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        setenv("MNEMO_HOME", w->home, 1);
        setenv("MNEMO_LOG_LEVEL", "warn", 1);
        setenv("MNEMO_HTTP_RATE_LIMIT", "0", 1); /* the load is the benchmark's, not abuse */
        execl(bin, bin, "serve", "--tcp", tcp, (char *)NULL);
        _exit(127);
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -1;
    c->fd = -1;
    c->sock = w->sock;
    int rc = -1;
    while (mnemo_clock_mono_ns() - t0 < (int64_t)READY_WAIT_MS * 1000000) {
        int status = 0;
        const char *body = NULL;
        if (http_call(c, "GET", "/v1/health", NULL, &status, &body) == 0 && status == 200 &&
            strstr(body, "\"ready\":true") != NULL) {
            *ready_ns = mnemo_clock_mono_ns() - t0;
            rc = 0;
            break;
        }
        conn_close(c);
        if (waitpid(w->pid, NULL, WNOHANG) == w->pid) {
            fprintf(stderr, PROG ": the worker exited during start-up\n");
            w->pid = -1;
            break;
        }
        mnemo_clock_sleep_ms(2);
    }
    conn_close(c);
    free(c);
    if (rc == 0) {
        char path[BENCH_PATH_LEN + 16];
        snprintf(path, sizeof path, "%s/token", w->home);
        FILE *f = fopen(path, "r");
        if (f == NULL || fgets(w->token, sizeof w->token, f) == NULL)
            rc = -1;
        else
            w->token[strcspn(w->token, "\r\n")] = '\0';
        if (f)
            fclose(f);
    }
    return rc;
}

/* Waits until /v1/health says the vector index is loaded; *ns is from the start of the wait. */
static int wait_index(const struct worker *w, int64_t *ns)
{
    struct conn *c = calloc(1, sizeof *c);
    int64_t t0 = mnemo_clock_mono_ns();
    int rc = -1;
    if (c == NULL)
        return -1;
    c->fd = -1;
    c->sock = w->sock;
    while (mnemo_clock_mono_ns() - t0 < (int64_t)READY_WAIT_MS * 1000000) {
        int status = 0;
        const char *body = NULL;
        if (http_call(c, "GET", "/v1/health", NULL, &status, &body) == 0 && status == 200 &&
            strstr(body, "\"index\":\"ready\"") != NULL) {
            *ns = mnemo_clock_mono_ns() - t0;
            rc = 0;
            break;
        }
        mnemo_clock_sleep_ms(5);
    }
    conn_close(c);
    free(c);
    return rc;
}

/* SIGTERM and wait; returns 1 when a -wal file was left behind. */
static int worker_stop(struct worker *w)
{
    char path[BENCH_PATH_LEN + 16];
    struct stat sb;
    if (w->pid > 0) {
        kill(w->pid, SIGTERM);
        waitpid(w->pid, NULL, 0);
        w->pid = -1;
    }
    snprintf(path, sizeof path, "%s/mnemo.db-wal", w->home);
    return stat(path, &sb) == 0;
}

/* ---- load: constant-rate client over the socket, writer, checkpointer ---------------------- */

struct background {
    const char *sock;
    atomic_int stop;
    int64_t writes, write_errors, checkpoints, checkpoint_errors;
};

static void *writer_main(void *arg)
{
    struct background *b = arg;
    struct conn *c = calloc(1, sizeof *c);
    char body[512];
    if (c == NULL)
        return NULL;
    c->fd = -1;
    c->sock = b->sock;
    for (int64_t i = 0; !atomic_load(&b->stop); i++) {
        int status = 0;
        snprintf(
            body, sizeof body,
            "{\"project\":\"bench\",\"type\":\"discovery\",\"title\":\"Background write %" PRId64
            " during load\",\"narrative\":\"A writer adds observations while prompts are "
            "served, as a capture thread would (%" PRId64 ").\"}",
            i, i);
        if (http_call(c, "POST", "/v1/observations", body, &status, NULL) != 0 || status >= 300)
            b->write_errors++;
        else
            b->writes++;
        mnemo_clock_sleep_ms(50);
    }
    conn_close(c);
    free(c);
    return NULL;
}

static void *checkpointer_main(void *arg)
{
    struct background *b = arg;
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->fd = -1;
    c->sock = b->sock;
    while (!atomic_load(&b->stop)) {
        int status = 0;
        if (http_call(c, "POST", "/v1/checkpoint", "{}", &status, NULL) != 0 || status >= 300)
            b->checkpoint_errors++;
        else
            b->checkpoints++;
        for (int k = 0; k < 100 && !atomic_load(&b->stop); k++)
            mnemo_clock_sleep_ms(50);
    }
    conn_close(c);
    free(c);
    return NULL;
}

struct lat_result {
    double p50, p99, max;
    int64_t n, errors;
};

/* Open-loop: request k is due at start + k / rate; its latency runs from the due time. */
static int paced_run(const char *sock, const char *path, char *const *bodies, size_t n_bodies,
                     int rate, int seconds, struct lat_result *out)
{
    int64_t total = (int64_t)rate * seconds, interval = 1000000000 / rate;
    int64_t *lat = malloc((size_t)total * sizeof *lat);
    struct conn *c = calloc(1, sizeof *c);
    memset(out, 0, sizeof *out);
    if (!lat || !c) {
        free(lat);
        free(c);
        return -1;
    }
    c->fd = -1;
    c->sock = sock;
    int64_t start = mnemo_clock_mono_ns(), n = 0;
    for (int64_t k = 0; k < total; k++) {
        int64_t due = start + k * interval, now = mnemo_clock_mono_ns();
        if (due > now)
            mnemo_clock_sleep_ns(due - now);
        int status = 0;
        int r = http_call(c, "POST", path, bodies[k % (int64_t)n_bodies], &status, NULL);
        int64_t done = mnemo_clock_mono_ns();
        if (r != 0 || status >= 300) {
            out->errors++;
            continue;
        }
        lat[n++] = done - due;
    }
    conn_close(c);
    out->n = n;
    out->p50 = bench_quantile(lat, (size_t)n, 0.5);
    out->p99 = bench_quantile(lat, (size_t)n, 0.99);
    out->max = n ? (double)lat[n - 1] : 0;
    free(lat);
    free(c);
    return 0;
}

/* ---- wrk over TCP ------------------------------------------------------------------------- */

/* Writes a Lua script that posts body with the token, paced to rate over conns connections. */
static int wrk_script(const char *path, const char *token, const char *body, int rate, int conns)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
    fprintf(f, "wrk.headers[\"Authorization\"] = \"Bearer %s\"\nwrk.body = [==[%s]==]\n", token,
            body);
    /* delay() is in ms after each response: conns / rate seconds per connection. */
    fprintf(f, "function delay() return %d end\n", conns * 1000 / rate);
    return fclose(f) == 0 ? 0 : -1;
}

/* "    50%    1.23ms" -> ns */
static double wrk_value(const char *s)
{
    char unit[8] = "";
    double v = 0;
    if (sscanf(s, "%lf%7s", &v, unit) < 1)
        return -1;
    if (strcmp(unit, "us") == 0)
        return v * 1e3;
    if (strcmp(unit, "ms") == 0)
        return v * 1e6;
    if (strcmp(unit, "s") == 0)
        return v * 1e9;
    return v;
}

static int wrk_run(const struct worker *w, const char *route, const char *body, int rate,
                   int seconds, const char *dir, struct lat_result *out)
{
    enum { CONNS = 2 };
    char script[BENCH_PATH_LEN + 32], cmd[2 * BENCH_PATH_LEN + 256], line[512];
    memset(out, 0, sizeof *out);
    out->p50 = out->p99 = -1;
    snprintf(script, sizeof script, "%s/wrk.lua", dir);
    if (wrk_script(script, w->token, body, rate, CONNS) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "wrk -t1 -c%d -d%ds --latency -s '%s' 'http://127.0.0.1:%d%s' 2>&1",
             CONNS, seconds, script, w->port, route);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    while (fgets(line, sizeof line, p)) {
        char *s = line + strspn(line, " ");
        if (strncmp(s, "50%", 3) == 0)
            out->p50 = wrk_value(s + 3);
        else if (strncmp(s, "99%", 3) == 0)
            out->p99 = wrk_value(s + 3);
        else if (strstr(s, "requests in"))
            out->n = strtoll(s, NULL, 10);
        else if (strstr(s, "Non-2xx") || strstr(s, "Socket errors"))
            out->errors += strtoll(strrchr(s, ' ') ? strrchr(s, ' ') + 1 : "0", NULL, 10);
    }
    int st = pclose(p);
    return st == 0 && out->p50 >= 0 ? 0 : -1;
}

/* ---- corpus glue, table, main ------------------------------------------------------------- */

struct gen_ctx {
    struct gen *g;
    struct corpus *c;
};

static struct mnemo_obs *gen_slot(void *ctx, size_t slot, int64_t i, int64_t created_at)
{
    struct gen_ctx *b = ctx;
    gen_obs(&b->g[slot], b->c, i, created_at);
    return &b->g[slot].obs;
}

static int fill_store(const char *db, int64_t n, struct corpus *c)
{
    struct gen_ctx g = {malloc(BENCH_FILL_BATCH * sizeof *g.g), c};
    int rc = g.g != NULL ? bench_fill_path(db, n, gen_slot, &g, PROG) : -1;
    free(g.g);
    return rc;
}

static const char event_payload[] =
    "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"bench-session\","
    "\"project\":\"bench\",\"cwd\":\"/tmp/bench\",\"payload\":{\"hook_event_name\":\"PostToolUse\","
    "\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":\"src/store/checkpoint.c\","
    "\"old_string\":\"    if (wal_bytes > threshold)\\n        return run_passive(conn);\","
    "\"new_string\":\"    if (wal_bytes > threshold) {\\n        int rc = run_passive(conn);\\n"
    "        if (rc == 0 && still_large(conn))\\n            rc = run_truncate(conn, "
    "TRUNCATE_BUSY_MS);\\n        return rc;\\n    }\"},\"tool_response\":{\"filePath\":"
    "\"src/store/checkpoint.c\",\"success\":true,\"structuredPatch\":[{\"oldStart\":120,"
    "\"oldLines\":2,\"newStart\":120,\"newLines\":6,\"lines\":[\"-    if (wal_bytes > threshold)"
    "\",\"-        return run_passive(conn);\",\"+    if (wal_bytes > threshold) {\",\"+        "
    "int rc = run_passive(conn);\",\"+        if (rc == 0 && still_large(conn))\",\"+            "
    "rc = run_truncate(conn, TRUNCATE_BUSY_MS);\",\"+        return rc;\",\"+    }\"]}]},"
    "\"session_id\":\"bench-session\",\"transcript_path\":\"/tmp/bench/transcript.jsonl\"}}";

struct results {
    int64_t n;
    double ready_empty, ready_full, index_ns, rss_idle, rss_ready, rss_index, rss_after;
    struct lat_result ev_sock, ctx_sock, ev_tcp, ctx_tcp;
    int rate, seconds, wal_left;
    int64_t writes, write_errors, checkpoints, checkpoint_errors;
};

static const char *fmt_ns(double ns, char *b, size_t n)
{
    if (ns < 0)
        snprintf(b, n, "n/a");
    else if (ns >= 1e6)
        snprintf(b, n, "%.2f ms", ns / 1e6);
    else
        snprintf(b, n, "%.1f us", ns / 1e3);
    return b;
}

static void lat_rows(const char *what, const struct lat_result *s, const struct lat_result *t,
                     double target)
{
    char a[32], b[32], tg[32];
    snprintf(tg, sizeof tg, "<= %.0f ms", target / 1e6);
    printf("%-34s | %-12s | %-12s | %-10s | %s\n", what, fmt_ns(s->p50, a, sizeof a),
           fmt_ns(t->p50, b, sizeof b), "-", "-");
    char name[64];
    snprintf(name, sizeof name, "%.*s p99", (int)(strlen(what) - 4), what);
    int ok = s->p99 >= 0 && s->p99 <= target && t->p99 >= 0 && t->p99 <= target;
    printf("%-34s | %-12s | %-12s | %-10s | %s\n", name, fmt_ns(s->p99, a, sizeof a),
           fmt_ns(t->p99, b, sizeof b), tg, ok ? "PASS" : "FAIL");
}

static void print_table(const struct results *r)
{
    char a[32], b[32];
    printf("%-34s | %-12s | %-12s | %-10s | %s\n", "metric", "socket", "tcp (wrk)", "target",
           "verdict");
    printf("-----------------------------------+--------------+--------------+------------+------"
           "--\n");
    printf("%-34s | %-12s | %-12s | %-10s | %s\n", "start-to-ready, empty store",
           fmt_ns(r->ready_empty, a, sizeof a), "-", "-", "-");
    char name[64];
    snprintf(name, sizeof name, "start-to-ready, %" PRId64 "k obs", r->n / 1000);
    printf("%-34s | %-12s | %-12s | %-10s | %s\n", name, fmt_ns(r->ready_full, a, sizeof a), "-",
           "<= 500 ms", r->ready_full <= TARGET_READY_NS ? "PASS" : "FAIL");
    snprintf(name, sizeof name, "vector index loaded, %" PRId64 "k obs", r->n / 1000);
    printf("%-34s | %-12s | %-12s | %-10s | %s\n", name, fmt_ns(r->index_ns, a, sizeof a), "-", "-",
           "-");
    printf("%-34s | %-9.1f MiB | %-12s | %-10s | %s\n", "worker RSS idle (empty store)",
           r->rss_idle / 1048576.0, "-", "-", "-");
    snprintf(name, sizeof name, "worker RSS ready, %" PRId64 "k obs", r->n / 1000);
    printf("%-34s | %-9.1f MiB | %-12s | %-10s | %s\n", name, r->rss_ready / 1048576.0, "-", "-",
           "-");
    snprintf(name, sizeof name, "worker RSS index loaded, %" PRId64 "k", r->n / 1000);
    printf("%-34s | %-9.1f MiB | %-12s | %-10s | %s\n", name, r->rss_index / 1048576.0, "-", "-",
           "-");
    printf("%-34s | %-9.1f MiB | %-12s | %-10s | %s\n", "worker RSS after the load",
           r->rss_after / 1048576.0, "-", "-", "-");
    lat_rows("POST /v1/events p50", &r->ev_sock, &r->ev_tcp, TARGET_EVENT_NS);
    lat_rows("POST /v1/context/prompt p50", &r->ctx_sock, &r->ctx_tcp, TARGET_CTX_NS);
    printf("\nload: %d requests/s for %d s per route and transport; socket: this program's "
           "open-loop client (latency from the due time), tcp: wrk -t1 -c2 paced by delay() "
           "(latency from the send).\n",
           r->rate, r->seconds);
    printf("requests: events %" PRId64 " socket (%" PRId64 " errors), %" PRId64 " tcp (%" PRId64
           " errors); context %" PRId64 " socket (%" PRId64 " errors), %" PRId64 " tcp (%" PRId64
           " errors)\n",
           r->ev_sock.n, r->ev_sock.errors, r->ev_tcp.n, r->ev_tcp.errors, r->ctx_sock.n,
           r->ctx_sock.errors, r->ctx_tcp.n, r->ctx_tcp.errors);
    printf("meanwhile: %" PRId64 " observations written (%" PRId64 " errors), %" PRId64
           " forced checkpoints every 5 s (%" PRId64 " errors); max socket latency: events %s, "
           "context %s\n",
           r->writes, r->write_errors, r->checkpoints, r->checkpoint_errors,
           fmt_ns(r->ev_sock.max, a, sizeof a), fmt_ns(r->ctx_sock.max, b, sizeof b));
    printf("after SIGTERM: %s\n",
           r->wal_left ? "a -wal file was left (FAIL)" : "no -wal file left");
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_worker [--quick] [--rate N] [--seconds S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct results r = {.n = N_FULL, .rate = 200, .seconds = 10};
    char binbuf[PATH_MAX], date[64];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            r.n = N_QUICK;
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            r.rate = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            r.seconds = atoi(argv[++i]);
        else
            return usage();
    }
    if (r.rate < 1 || r.rate > 100000 || r.seconds < 1 || r.seconds > 3600)
        return usage();
    signal(SIGPIPE, SIG_IGN);
    const char *bin = mnemo_bin(argv[0], binbuf, sizeof binbuf);
    double load0 = -1;
    getloadavg(&load0, 1);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));

    struct corpus c;
    struct bench_tmpdir t0, t1;
    if (corpus_init(&c) != 0)
        return 1;
    if (bench_tmpdir_make(&t0, PROG, "mnemo.db") != 0 || bench_tmpdir_make(&t1, PROG, "mnemo.db"))
        return 1;
    int rc = 1;

    /* 1. idle */
    struct worker w0 = {.pid = -1};
    snprintf(w0.home, sizeof w0.home, "%s", t0.dir);
    fprintf(stderr, PROG ": idle worker on an empty store...\n");
    if (worker_start(&w0, bin, &(int64_t){0}) != 0) {
        fprintf(stderr, PROG ": the worker (%s) did not become ready\n", bin);
        worker_stop(&w0);
        goto out;
    }
    worker_stop(&w0);
    int64_t ns = 0;
    if (worker_start(&w0, bin, &ns) != 0)
        goto out;
    r.ready_empty = (double)ns;
    mnemo_clock_sleep_ms(500);
    r.rss_idle = (double)bench_rss_bytes(w0.pid);
    worker_stop(&w0);

    /* 2. a full store */
    fprintf(stderr, PROG ": filling a store with %" PRId64 " observations...\n", r.n);
    if (fill_store(t1.path, r.n, &c) != 0)
        goto out;
    struct worker w = {.pid = -1};
    snprintf(w.home, sizeof w.home, "%s", t1.dir);
    if (worker_start(&w, bin, &ns) != 0) {
        worker_stop(&w);
        goto out;
    }
    r.ready_full = (double)ns;
    r.rss_ready = (double)bench_rss_bytes(w.pid);
    if (wait_index(&w, &ns) != 0) {
        fprintf(stderr, PROG ": the vector index did not load\n");
        worker_stop(&w);
        goto out;
    }
    r.index_ns = r.ready_full + (double)ns;
    r.rss_index = (double)bench_rss_bytes(w.pid);

    /* 3. load */
    char *queries[N_QUERY];
    for (int i = 0; i < N_QUERY; i++) {
        char q[256];
        gen_query(&c, i, 1, q, sizeof q);
        queries[i] = malloc(512);
        if (queries[i] == NULL)
            goto out;
        for (char *p = q; *p; p++)
            if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
                *p = ' '; /* the words are plain; this keeps the JSON valid whatever they are */
        snprintf(queries[i], 512, "{\"project\":\"%s\",\"prompt\":\"%s\"}",
                 c.projects[i % N_PROJECTS], q);
    }
    char *events[1] = {(char *)event_payload};
    struct background bg = {.sock = w.sock};
    pthread_t wt, ct;
    pthread_create(&wt, NULL, writer_main, &bg);
    pthread_create(&ct, NULL, checkpointer_main, &bg);
    fprintf(stderr, PROG ": events over the socket...\n");
    paced_run(w.sock, "/v1/events", events, 1, r.rate, r.seconds, &r.ev_sock);
    fprintf(stderr, PROG ": prompt context over the socket...\n");
    paced_run(w.sock, "/v1/context/prompt", queries, N_QUERY, r.rate, r.seconds, &r.ctx_sock);
    fprintf(stderr, PROG ": events over TCP (wrk)...\n");
    if (wrk_run(&w, "/v1/events", event_payload, r.rate, r.seconds, t1.dir, &r.ev_tcp) != 0)
        fprintf(stderr, PROG ": wrk failed for /v1/events (is wrk installed?)\n");
    fprintf(stderr, PROG ": prompt context over TCP (wrk)...\n");
    if (wrk_run(&w, "/v1/context/prompt", queries[0], r.rate, r.seconds, t1.dir, &r.ctx_tcp) != 0)
        fprintf(stderr, PROG ": wrk failed for /v1/context/prompt\n");
    atomic_store(&bg.stop, 1);
    pthread_join(wt, NULL);
    pthread_join(ct, NULL);
    r.writes = bg.writes;
    r.write_errors = bg.write_errors;
    r.checkpoints = bg.checkpoints;
    r.checkpoint_errors = bg.checkpoint_errors;
    r.rss_after = (double)bench_rss_bytes(w.pid);
    r.wal_left = worker_stop(&w);
    for (int i = 0; i < N_QUERY; i++)
        free(queries[i]);

    bench_print_machine("mnemo worker benchmark", date, load0);
    printf("  store:    %" PRId64 " observations with hash-v1 vectors (bench_fill, corpus.h)\n\n",
           r.n);
    print_table(&r);
    rc = 0;
out:
    bench_tmpdir_remove(&t0, PROG);
    bench_tmpdir_remove(&t1, PROG);
    corpus_free(&c);
    return rc;
}
