/*
 * cmd_statusline.c - `mnemo statusline`: one line for Claude Code's status line.
 *
 * Claude Code runs the status line command after every message and shows its first line, so
 * it must be quick and must never cost the user anything: it asks a running worker for
 * GET /v1/stats over the Unix socket with a 30 ms deadline, and otherwise says why there is
 * no answer. It never starts the worker (that is the hooks' job) and never opens the database.
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
#include "util/uhttp.h"

/* The whole exchange with the worker; the status line must print within 50 ms. */
#define STATUSLINE_DEADLINE_NS (30 * 1000000LL)

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

/* The line for a /v1/stats answer (status 200). */
static void print_stats(const char *body, size_t len)
{
    json_t *j = json_loadb(body != NULL ? body : "", len, 0, NULL);
    json_t *obs = json_object_get(j, "observations");
    json_t *queue = json_object_get(j, "queue");
    if (!json_is_object(obs)) {
        printf("mnemo: worker answered oddly\n");
        json_decref(j);
        return;
    }
    json_t *live = json_object_get(obs, "live");
    if (!json_is_integer(live))
        live = json_object_get(obs, "total");
    json_int_t n = json_integer_value(live);
    json_int_t pending = json_integer_value(json_object_get(queue, "pending"));
    json_int_t failed = json_integer_value(json_object_get(queue, "failed"));
    char num[48];
    printf("mnemo: %s %s \xc2\xb7 queue %lld", thousands(n, num, sizeof num),
           n == 1 ? "memory" : "memories", (long long)pending);
    if (failed > 0)
        printf(" (%lld failed)", (long long)failed);
    printf(" \xc2\xb7 ready\n");
    json_decref(j);
}

int cmd_statusline(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    int64_t deadline = mnemo_clock_mono_ns() + STATUSLINE_DEADLINE_NS;
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
    struct mnemo_err err;
    mnemo_err_clear(&err);
    int rc = mnemo_uhttp_call(sock, "GET", "/v1/stats", NULL, 0, deadline, &resp, &err);
    if (rc == MNEMO_ECLOSED)
        printf("mnemo: worker stopped\n");
    else if (rc == MNEMO_ETIMEDOUT)
        printf("mnemo: worker busy\n");
    else if (rc != 0)
        printf("mnemo: worker unreachable\n");
    else if (resp.status == 503)
        printf("mnemo: worker starting\n");
    else if (resp.status != 200)
        printf("mnemo: worker error (HTTP %d)\n", resp.status);
    else
        print_stats(resp.body, resp.len);
    mnemo_uhttp_resp_release(&resp);
    /* A status line is decoration: whatever happened, Claude Code gets a line and exit 0. */
    return MNEMO_CLI_OK;
}
