/*
 * cmd_dashboard.c - `mnemo dashboard`: prints the dashboard's tokenized address and opens it.
 *
 * The address is http://HOST:PORT/?token=<token>: the worker trades the token for an HttpOnly
 * cookie and redirects to `/`, so the token leaves the address bar at once. HOST:PORT is the
 * configured tcp.listen (a wildcard address is reached through loopback); the token is
 * $MNEMO_HOME/token. Before printing, the worker must run and answer on that address, so the
 * user is told what to do instead of meeting a dead page.
 *
 * The browser is started with xdg-open only when a display is there (DISPLAY or
 * WAYLAND_DISPLAY) and --no-open is not given: detached (double fork, own session), with
 * stdin/stdout/stderr on /dev/null and every other descriptor closed, so it neither holds the
 * terminal nor inherits anything of ours. The token is in xdg-open's arguments, visible to
 * this user's processes only as much as the token file itself is.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "service/worker.h"
#include "util/config.h"
#include "util/fs.h"

/* How long the TCP listener gets to answer /v1/health. */
#define DASHBOARD_PROBE_MS 2000

/* Splits tcp.listen ("HOST:PORT", "[V6]:PORT") into the host to browse to and the port. */
static int split_listen(const char *listen, char *host, size_t size, long *port)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen)
        return -1;
    char *end = NULL;
    errno = 0;
    *port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || *port <= 0 || *port > 65535)
        return -1;
    const char *h = listen;
    size_t n = (size_t)(colon - listen);
    if (h[0] == '[' && n >= 3 && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n + 3 > size)
        return -1;
    if ((n == 7 && strncmp(h, "0.0.0.0", 7) == 0) || n == 0)
        snprintf(host, size, "127.0.0.1");
    else if (n == 2 && strncmp(h, "::", 2) == 0)
        snprintf(host, size, "[::1]");
    else if (memchr(h, ':', n) != NULL)
        snprintf(host, size, "[%.*s]", (int)n, h);
    else
        snprintf(host, size, "%.*s", (int)n, h);
    return 0;
}

/* 1 when http://host:port/v1/health answers with any HTTP status, else 0 (msg says why). */
static int tcp_answers(const char *host, long port, char *msg, size_t size)
{
    char url[512];
    char cerr[CURL_ERROR_SIZE] = "";
    long code = 0;
    snprintf(url, sizeof url, "http://%s:%ld/v1/health", host, port);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(msg, size, "cannot initialise libcurl");
        return 0;
    }
    CURL *c = curl_easy_init();
    CURLcode rc = CURLE_FAILED_INIT;
    if (c != NULL) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)DASHBOARD_PROBE_MS);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
        rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
    }
    curl_global_cleanup();
    if (rc != CURLE_OK || code == 0) {
        snprintf(msg, size, "%s", cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
        return 0;
    }
    return 1;
}

/* Starts xdg-open url detached. Returns 0 when the launcher could be started. */
static int open_browser(const char *url)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* The middle child: a new session, then the grandchild execs, so nothing of the
         * browser stays our child or on our terminal. */
        if (setsid() < 0)
            _exit(1);
        pid_t g = fork();
        if (g != 0)
            _exit(g < 0 ? 1 : 0);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
            _exit(1);
        for (int fd = 0; fd <= 2; fd++)
            dup2(null, fd);
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            close((int)fd);
        execlp("xdg-open", "xdg-open", url, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* 1 when an executable named name is on $PATH. */
static int on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];
    while (path != NULL && *path != '\0') {
        const char *end = strchr(path, ':');
        size_t n = end != NULL ? (size_t)(end - path) : strlen(path);
        if (n > 0 && snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, name) < (int)sizeof buf &&
            access(buf, X_OK) == 0)
            return 1;
        path = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

static int has_display(void)
{
    const char *x = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");
    return (x != NULL && *x != '\0') || (w != NULL && *w != '\0');
}

int cmd_dashboard(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"no-open", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    int no_open = 0;

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == 'n')
            no_open = 1;
        else
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;

    struct mnemo_err err;
    pid_t pid = 0;
    mnemo_err_clear(&err);
    int rc = mnemo_worker_running_pid(cli->home, &pid, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    if (pid == 0)
        return mnemo__cli_fail("the worker is not running: start it with `mnemo start`, then run "
                               "`mnemo dashboard` again");

    struct mnemo_config *cfg = NULL;
    rc = mnemo_config_load(cli->home, cli->log, &cfg, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    char listen[300];
    snprintf(listen, sizeof listen, "%s", mnemo_config_str(cfg, "tcp.listen"));
    mnemo_config_free(cfg);
    if (strcmp(listen, "off") == 0 || listen[0] == '\0')
        return mnemo__cli_fail("the dashboard needs the worker's TCP listener, and tcp.listen is "
                               "off: `mnemo config set tcp.listen 127.0.0.1:37777`, then "
                               "`mnemo restart`");
    char host[300];
    long port = 0;
    if (split_listen(listen, host, sizeof host, &port) != 0)
        return mnemo__cli_fail("tcp.listen '%s' is not HOST:PORT (the dashboard needs a fixed "
                               "port)",
                               listen);

    char token_path[MNEMO_CLI_PATH_MAX + 16];
    snprintf(token_path, sizeof token_path, "%s/%s", cli->home, MNEMO_WORKER_TOKEN_NAME);
    char *token = NULL;
    size_t len = 0;
    rc = mnemo_fs_read_all(token_path, 1024, &token, &len, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(token_path, &err, rc);
    while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r'))
        token[--len] = '\0';
    if (len == 0 || strspn(token, "0123456789abcdefABCDEF") != len) {
        free(token);
        return mnemo__cli_fail("%s does not hold a token (restart the worker to make one)",
                               token_path);
    }

    char msg[CURL_ERROR_SIZE + 64];
    if (!tcp_answers(host, port, msg, sizeof msg)) {
        free(token);
        return mnemo__cli_fail("the worker (pid %ld) does not answer on %s:%ld (%s); was it "
                               "started with another --tcp? `mnemo restart` uses tcp.listen",
                               (long)pid, host, port, msg);
    }
    char url[1400];
    snprintf(url, sizeof url, "http://%s:%ld/?token=%s", host, port, token);
    free(token);
    printf("%s\n", url);
    fflush(stdout);
    if (no_open)
        return MNEMO_CLI_OK;
    if (!has_display() || !on_path("xdg-open")) {
        fprintf(stderr, "mnemo: open that address in your browser (%s)\n",
                has_display() ? "xdg-open is not installed" : "no display found");
        return MNEMO_CLI_OK;
    }
    if (open_browser(url) != 0)
        fprintf(stderr, "mnemo: could not start xdg-open; open that address in your browser\n");
    return MNEMO_CLI_OK;
}
