/*
 * cmd_statusline.c - `mnemo statusline`: one line for Claude Code's status line.
 *
 * Claude Code runs the status line command after every message and shows its first line, so
 * it must be quick and must never cost the user anything. Everything happens over the worker's
 * Unix socket within 30 ms of the start: GET /metrics (a few ms whatever the database's size)
 * gives readiness and the capture queue; the number of memories comes from GET /v1/stats,
 * which counts the whole database (about 250 ms at 100,000 observations), so it is asked at
 * most once a minute (the answer is kept in $MNEMO_HOME/statusline.cache) and only with the
 * time left; when it cannot answer in time the vector index's size stands in, marked "~".
 * It never starts the worker (that is the hooks' job) and never opens the database.
 * Claude sends a JSON description of the session on stdin; nothing here needs it, so only
 * what is already there is read (and dropped), without waiting for the writer to close.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/uhttp.h"

/* The whole exchange with the worker; the status line must print within 50 ms. */
#define STATUSLINE_DEADLINE_NS (30 * 1000000LL)
/* /metrics gets this much of it, leaving the rest for /v1/stats. */
#define STATUSLINE_METRICS_NS (20 * 1000000LL)
/* How long a counted number of memories is shown before /v1/stats is asked again. */
#define STATUSLINE_CACHE_MS (60 * 1000LL)

/* Most of stdin read and dropped (Claude's JSON is a few KB). */
#define STATUSLINE_STDIN_MAX (256 * 1024)

/*
 * Reads what stdin already holds, without blocking: a writer that keeps the pipe open must
 * not hold the status line up, and reading keeps it from getting EPIPE on a small write.
 */
static void drain_stdin(void)
{
    char buf[16384];
    size_t total = 0;
    while (total < STATUSLINE_STDIN_MAX) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int n = poll(&p, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (p.revents & (POLLIN | POLLHUP)) == 0)
            return;
        ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        total += (size_t)r;
    }
}

/* Formats n with thousands separators ("1,234"). Returns buf. */
static const char *thousands(json_int_t n, char *buf, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)(n < 0 ? 0 : n));
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* The value of the Prometheus sample `name` (the whole series name) in text, or -1. */
static double metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

/*
 * The cached count when it is younger than STATUSLINE_CACHE_MS: the count, or -2 when /v1/stats
 * was asked recently and could not answer in time (asking again would only load the worker
 * with counts nobody waits for). -1 when /v1/stats should be asked.
 */
static long long cached_count(const char *path, int64_t now_ms)
{
    char *text = NULL;
    size_t len = 0;
    long long count = -1, at = 0;
    if (mnemo_fs_read_all(path, 256, &text, &len, NULL) != 0)
        return -1;
    if (sscanf(text, "%lld %lld", &count, &at) != 2 || at > now_ms ||
        now_ms - at >= STATUSLINE_CACHE_MS)
        count = -1;
    else if (count < 0)
        count = -2;
    free(text);
    return count;
}

/* Asks /v1/stats for the live observations until deadline; -1 when it cannot say in time. */
static long long stats_count(const char *sock, int64_t deadline)
{
    struct mnemo_uhttp_resp resp = {0};
    long long count = -1;
    if (mnemo_uhttp_call(sock, "GET", "/v1/stats", NULL, 0, deadline, &resp, NULL) == 0 &&
        resp.status == 200) {
        json_t *j = json_loadb(resp.body != NULL ? resp.body : "", resp.len, 0, NULL);
        json_t *live = json_object_get(json_object_get(j, "observations"), "live");
        if (json_is_integer(live))
            count = (long long)json_integer_value(live);
        json_decref(j);
    }
    mnemo_uhttp_resp_release(&resp);
    return count;
}

/* The line for a ready worker whose /metrics answered with text. */
static void print_ready(const char *home, const char *sock, const char *metrics, int64_t deadline)
{
    char cache[MNEMO_CLI_PATH_MAX + 32];
    snprintf(cache, sizeof cache, "%s/statusline.cache", home);
    int64_t now_ms = mnemo_clock_wall_ms();
    long long count = cached_count(cache, now_ms);
    int estimate = 0;
    if (count == -1) {
        count = stats_count(sock, deadline);
        char line[64];
        int n = snprintf(line, sizeof line, "%lld %lld\n", count, (long long)now_ms);
        /* Best effort: without the cache the next line asks again. */
        (void)mnemo_fs_write_atomic(cache, line, (size_t)n, 0600, NULL);
    }
    if (count < 0) {
        count = (long long)metric(metrics, "mnemo_index_vectors");
        estimate = 1;
    }
    long long pending = (long long)metric(metrics, "mnemo_queue_events{status=\"pending\"}");
    long long failed = (long long)metric(metrics, "mnemo_queue_events{status=\"failed\"}");
    char num[48];
    printf("mnemo: ");
    if (count >= 0)
        printf("%s%s %s \xc2\xb7 ", estimate ? "~" : "", thousands(count, num, sizeof num),
               count == 1 && !estimate ? "memory" : "memories");
    printf("queue %lld", pending < 0 ? 0 : pending);
    if (failed > 0)
        printf(" (%lld failed)", failed);
    printf(" \xc2\xb7 ready\n");
}

int cmd_statusline(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    int64_t start = mnemo_clock_mono_ns();
    int status = mnemo__cli_parse_no_options(cli, self, argc, argv);
    if (status >= 0)
        return status;
    drain_stdin();
    if (mnemo__cli_home(cli) != 0) {
        printf("mnemo: no home\n");
        return MNEMO_CLI_OK;
    }

    char sock[MNEMO_CLI_PATH_MAX + 16];
    snprintf(sock, sizeof sock, "%s/mnemo.sock", cli->home);
    struct mnemo_uhttp_resp resp = {0};
    int rc = mnemo_uhttp_call(sock, "GET", "/metrics", NULL, 0, start + STATUSLINE_METRICS_NS,
                              &resp, NULL);
    if (rc == MNEMO_ECLOSED)
        printf("mnemo: worker stopped\n");
    else if (rc == MNEMO_ETIMEDOUT)
        printf("mnemo: worker busy\n");
    else if (rc != 0)
        printf("mnemo: worker unreachable\n");
    else if (resp.status == 503 || (resp.status == 200 && resp.body != NULL &&
                                    metric(resp.body, "mnemo_worker_ready") == 0))
        printf("mnemo: worker starting\n");
    else if (resp.status != 200 || resp.body == NULL)
        printf("mnemo: worker error (HTTP %d)\n", resp.status);
    else
        print_ready(cli->home, sock, resp.body, start + STATUSLINE_DEADLINE_NS);
    mnemo_uhttp_resp_release(&resp);
    /* A status line is decoration: whatever happened, Claude Code gets a line and exit 0. */
    return MNEMO_CLI_OK;
}
