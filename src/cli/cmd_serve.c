/*
 * cmd_serve.c - the worker's commands: `mnemo serve` runs it (in the foreground, or detached
 * with --daemon), `mnemo start|stop|restart` manage the detached one and `mnemo status` says
 * whether it runs and asks its /v1/health over the Unix socket.
 *
 * "Is a worker running?" is always answered by the worker's lock (mnemo_worker_running_pid),
 * never by the pid file alone, so a pid file left by a crash cannot fool these commands.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/cli.h"
#include "service/worker.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* How long `mnemo stop` waits for the worker to release its lock. */
#define STOP_WAIT_MS 10000
/* How long `mnemo status` waits for /v1/health. */
#define HEALTH_TIMEOUT_MS 3000
/* Largest health answer read. */
#define HEALTH_MAX_BYTES (64 * 1024)

/* ---- shared ------------------------------------------------------------------------------- */

/*
 * Resolves the home, creates it (0700) when missing and writes its absolute path into abs: a
 * daemon works from "/", so a relative MNEMO_HOME would otherwise mean another directory.
 */
static int worker_home(struct mnemo_cli *cli, char abs[PATH_MAX])
{
    struct mnemo_err err;

    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;
    mnemo_err_clear(&err);
    int rc = mnemo_fs_mkdir_p(cli->home, 0700, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(cli->home, &err, rc);
    if (realpath(cli->home, abs) == NULL) {
        int e = errno;
        return mnemo__cli_fail("cannot resolve '%s': %s", cli->home, strerror(e));
    }
    return 0;
}

/* The running worker's pid (0 when none). Returns 0, or MNEMO_CLI_FAIL after printing why. */
static int running_pid(const char *home, pid_t *pid)
{
    struct mnemo_err err;

    mnemo_err_clear(&err);
    int rc = mnemo_worker_running_pid(home, pid, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    return 0;
}

/* Parses the options of serve, start and restart: --tcp ADDR|off, and --daemon for serve. */
static int parse_run_options(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                             char **argv, int allow_daemon, int *daemon, const char **tcp)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"daemon", no_argument, NULL, 'd'},
        {"tcp", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };

    *daemon = 0;
    *tcp = NULL;
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == 'd' && allow_daemon)
            *daemon = 1;
        else if (c == 't')
            *tcp = optarg;
        else if (c == 'd')
            return mnemo__cli_usage_error(cli, self, "unknown option '--daemon'");
        else
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);
    return -1;
}

/*
 * Starts a detached worker and reports it. A worker that is already running is success for
 * `start` (already_ok: the user's goal is met) and a failure for `serve --daemon`.
 */
static int start_daemon(const char *home, const char *tcp, int already_ok)
{
    struct mnemo_worker_options o;
    struct mnemo_err err;
    pid_t pid = 0;

    memset(&o, 0, sizeof o);
    o.home = home;
    o.daemon = 1;
    o.tcp_listen = tcp;
    mnemo_err_clear(&err);
    int rc = mnemo_worker_run(&o, &err);
    if (rc == MNEMO_EEXIST && already_ok) {
        if (running_pid(home, &pid) != 0)
            return MNEMO_CLI_FAIL;
        printf("mnemo worker already running (pid %ld)\n", (long)pid);
        return MNEMO_CLI_OK;
    }
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    if (running_pid(home, &pid) != 0)
        return MNEMO_CLI_FAIL;
    printf("mnemo worker started (pid %ld)\n", (long)pid);
    return MNEMO_CLI_OK;
}

/*
 * Sends SIGTERM to the running worker and waits until its lock is free. Returns 0 (*stopped_pid
 * the worker's pid, or 0 when none was running) or MNEMO_CLI_FAIL after printing why.
 */
static int stop_worker(const char *home, pid_t *stopped_pid)
{
    pid_t pid = 0;

    *stopped_pid = 0;
    if (running_pid(home, &pid) != 0)
        return MNEMO_CLI_FAIL;
    if (pid == 0)
        return 0;
    if (kill(pid, SIGTERM) != 0 && errno != ESRCH) {
        int e = errno;
        return mnemo__cli_fail("cannot signal the worker (pid %ld): %s", (long)pid, strerror(e));
    }
    int64_t deadline = mnemo_deadline_in_ms(STOP_WAIT_MS);
    for (;;) {
        struct mnemo_err err;
        pid_t now = 0;
        mnemo_err_clear(&err);
        /* An error here (EBUSY) means the lock is still held while the pid file is already
         * gone: the worker is in the last step of its shutdown. */
        int rc = mnemo_worker_running_pid(home, &now, &err);
        if (rc == 0 && now == 0)
            break;
        if (mnemo_deadline_left_ns(deadline) == 0)
            return mnemo__cli_fail("the worker (pid %ld) did not stop within %d s; it is still "
                                   "running",
                                   (long)pid, STOP_WAIT_MS / 1000);
        mnemo_clock_sleep_ms(50);
    }
    *stopped_pid = pid;
    return 0;
}

/* ---- mnemo serve / start / stop / restart -------------------------------------------------- */

int cmd_serve(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    char home[PATH_MAX];
    int daemon = 0;
    const char *tcp = NULL;

    int status = parse_run_options(cli, self, argc, argv, 1, &daemon, &tcp);
    if (status >= 0)
        return status;
    if (worker_home(cli, home) != 0)
        return MNEMO_CLI_FAIL;
    if (daemon)
        return start_daemon(home, tcp, 0);

    struct mnemo_worker_options o;
    struct mnemo_err err;
    memset(&o, 0, sizeof o);
    o.home = home;
    o.foreground_log = 1;
    o.tcp_listen = tcp;
    mnemo_err_clear(&err);
    int rc = mnemo_worker_run(&o, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    return MNEMO_CLI_OK;
}

int cmd_start(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    char home[PATH_MAX];
    int daemon = 0;
    const char *tcp = NULL;
    pid_t pid = 0;

    int status = parse_run_options(cli, self, argc, argv, 0, &daemon, &tcp);
    if (status >= 0)
        return status;
    if (worker_home(cli, home) != 0)
        return MNEMO_CLI_FAIL;
    if (running_pid(home, &pid) != 0)
        return MNEMO_CLI_FAIL;
    if (pid > 0) {
        printf("mnemo worker already running (pid %ld)\n", (long)pid);
        return MNEMO_CLI_OK;
    }
    return start_daemon(home, tcp, 1);
}

int cmd_stop(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    char home[PATH_MAX];
    pid_t pid = 0;

    int status = mnemo__cli_parse_no_options(cli, self, argc, argv);
    if (status >= 0)
        return status;
    if (worker_home(cli, home) != 0)
        return MNEMO_CLI_FAIL;
    if (stop_worker(home, &pid) != 0)
        return MNEMO_CLI_FAIL;
    if (pid == 0)
        printf("mnemo worker is not running\n");
    else
        printf("mnemo worker stopped (pid %ld)\n", (long)pid);
    return MNEMO_CLI_OK;
}

int cmd_restart(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    char home[PATH_MAX];
    int daemon = 0;
    const char *tcp = NULL;
    pid_t pid = 0;

    int status = parse_run_options(cli, self, argc, argv, 0, &daemon, &tcp);
    if (status >= 0)
        return status;
    if (worker_home(cli, home) != 0)
        return MNEMO_CLI_FAIL;
    if (stop_worker(home, &pid) != 0)
        return MNEMO_CLI_FAIL;
    if (pid > 0)
        printf("mnemo worker stopped (pid %ld)\n", (long)pid);
    return start_daemon(home, tcp, 0);
}

/* ---- mnemo status ---------------------------------------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
    struct mnemo_strbuf *sb = userdata;
    /* A short count makes libcurl fail the transfer: the answer is bigger than allowed. */
    if (mnemo_strbuf_append(sb, data, size * n) != 0)
        return 0;
    return size * n;
}

/*
 * GET /v1/health over the worker's Unix socket. Returns the parsed body (any HTTP status: the
 * route answers 503 with the same JSON while starting), or NULL with why in msg.
 */
static json_t *fetch_health(const char *socket_path, char *msg, size_t msg_size)
{
    struct mnemo_strbuf sb;
    char cerr[CURL_ERROR_SIZE];
    json_t *j = NULL;

    msg[0] = '\0';
    cerr[0] = '\0';
    mnemo_strbuf_init(&sb, HEALTH_MAX_BYTES);
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(msg, msg_size, "cannot create an HTTP client");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/health");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HEALTH_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(msg, msg_size, "%s", cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
        goto out;
    }
    json_error_t je;
    j = json_loads(mnemo_strbuf_str(&sb), 0, &je);
    if (j == NULL || !json_is_object(j)) {
        snprintf(msg, msg_size, "the health answer is not a JSON object");
        json_decref(j);
        j = NULL;
    }
out:
    curl_easy_cleanup(c);
    mnemo_strbuf_release(&sb);
    return j;
}

int cmd_status(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    char home[PATH_MAX];
    char sock[PATH_MAX + 16];
    char msg[CURL_ERROR_SIZE + 64];
    int as_json = 0;
    pid_t pid = 0;

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == 'j')
            as_json = 1;
        else
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);
    if (worker_home(cli, home) != 0)
        return MNEMO_CLI_FAIL;
    if (running_pid(home, &pid) != 0)
        return MNEMO_CLI_FAIL;
    snprintf(sock, sizeof sock, "%s/%s", home, MNEMO_WORKER_SOCKET_NAME);

    json_t *health = NULL;
    if (pid > 0) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return mnemo__cli_fail("cannot initialise libcurl");
        health = fetch_health(sock, msg, sizeof msg);
        curl_global_cleanup();
    }
    int ready = health != NULL && json_is_true(json_object_get(health, "ready"));
    const char *state = health ? json_string_value(json_object_get(health, "status")) : NULL;
    const char *version = health ? json_string_value(json_object_get(health, "version")) : NULL;
    const char *error = health ? json_string_value(json_object_get(health, "error")) : NULL;

    if (as_json) {
        json_t *o = json_object();
        if (o != NULL) {
            json_object_set_new(o, "running", json_boolean(pid > 0));
            json_object_set_new(o, "pid", json_integer(pid));
            json_object_set_new(o, "socket", json_string(sock));
            json_object_set_new(o, "ready", json_boolean(ready));
            if (health != NULL)
                json_object_set(o, "health", health);
            else if (pid > 0)
                json_object_set_new(o, "health_error", json_string(msg));
        }
        json_decref(health);
        if (mnemo__cli_print_json(o) != 0)
            return MNEMO_CLI_FAIL;
        return ready ? MNEMO_CLI_OK : MNEMO_CLI_FAIL;
    }

    if (pid == 0) {
        printf("mnemo worker is not running\n");
        return MNEMO_CLI_FAIL;
    }
    printf("mnemo worker running (pid %ld)\n", (long)pid);
    printf("socket:  %s\n", sock);
    if (health == NULL) {
        printf("health:  unreachable (%s)\n", msg);
        return MNEMO_CLI_FAIL;
    }
    printf("status:  %s\n", state != NULL ? state : "unknown");
    printf("ready:   %s\n", ready ? "yes" : "no");
    printf("version: %s\n", version != NULL ? version : "unknown");
    if (error != NULL)
        printf("error:   %s\n", error);
    json_decref(health);
    return ready ? MNEMO_CLI_OK : MNEMO_CLI_FAIL;
}
