/*
 * hook.c - the hook runner's main path (hook.h): switches, stdin under the deadline, the one
 * request to the worker, and the agent's output. Transcript reading is in hook_transcript.c,
 * the log and autostart in hook_spawn.c.
 *
 * Every step checks the one deadline; the request gets what is left minus a small reserve for
 * writing the output and exiting, so the whole process ends within its budget.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/hook.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/strbuf.h"
#include "util/uhttp.h"

/* Time kept back from the request for printing the output and exiting. */
#define RESERVE_MAX_NS (5 * MNEMO_NS_PER_MS)

int64_t mnemo_hook_timeout_ms(enum mnemo_hook_event event)
{
    const char *env = getenv("MNEMO_HOOK_TIMEOUT_MS");
    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(env, &end, 10);
        if (errno == 0 && end != env && *end == '\0' && v >= 1 && v <= 60000)
            return v;
    }
    switch (event) {
    case MNEMO_HOOK_SESSION_START:
        return 2000;
    case MNEMO_HOOK_USER_PROMPT_SUBMIT:
    case MNEMO_HOOK_STOP:
    case MNEMO_HOOK_SUBAGENT_STOP:
        return 1000;
    case MNEMO_HOOK_POST_TOOL_USE:
        return 300;
    case MNEMO_HOOK_SESSION_END:
    case MNEMO_HOOK_PRE_COMPACT:
        return 800;
    }
    return 300;
}

int64_t mnemo_hook_process_start_ns(void)
{
    int64_t now = mnemo_clock_mono_ns();
    char buf[1024];
    struct timespec boot;

    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return now;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0)
        return now;
    buf[n] = '\0';
    /* Field 22 (starttime); fields 3.. follow the command name's closing parenthesis. */
    const char *p = strrchr(buf, ')');
    for (int field = 2; p != NULL && field < 22; field++)
        p = strchr(p + 1, ' ');
    long hz = sysconf(_SC_CLK_TCK);
    if (p == NULL || hz <= 0)
        return now;
    char *end = NULL;
    unsigned long long ticks = strtoull(p + 1, &end, 10);
    if (end == p + 1)
        return now;
    int64_t started = (int64_t)(ticks / (unsigned long long)hz) * MNEMO_NS_PER_S +
                      (int64_t)(ticks % (unsigned long long)hz) * MNEMO_NS_PER_S / hz;
    int64_t ago = (int64_t)boot.tv_sec * MNEMO_NS_PER_S + boot.tv_nsec - started;
    if (ago < 0 || ago > 2 * MNEMO_NS_PER_S)
        return now;
    return now - ago;
}

static int env_on(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0 && strcmp(v, "false") != 0 &&
           strcmp(v, "no") != 0 && strcmp(v, "off") != 0;
}

int mnemo_hook_home(char *buf, size_t size)
{
    const char *home = getenv("MNEMO_HOME");
    int n;
    if (home != NULL && home[0] != '\0') {
        n = snprintf(buf, size, "%s", home);
    } else {
        const char *h = getenv("HOME");
        if (h == NULL || h[0] == '\0') {
            struct passwd *pw = getpwuid(getuid());
            h = pw != NULL ? pw->pw_dir : NULL;
        }
        if (h == NULL || h[0] == '\0')
            return MNEMO_ENOTFOUND;
        n = snprintf(buf, size, "%s/.mnemo", h);
    }
    return n < 0 || (size_t)n >= size ? MNEMO_ETOOBIG : 0;
}

int mnemo_hook_ignored(const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || dir[0] != '/' || len >= sizeof path - sizeof "/" MNEMO_HOOK_IGNORE_FILE)
        return 0;
    memcpy(path, dir, len + 1);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    for (;;) {
        const char *sep = len == 1 ? "" : "/";
        char probe[PATH_MAX + 32];
        snprintf(probe, sizeof probe, "%s%s%s", path, sep, MNEMO_HOOK_IGNORE_FILE);
        if (access(probe, F_OK) == 0)
            return 1;
        snprintf(probe, sizeof probe, "%s%s.git", path, sep);
        if (access(probe, F_OK) == 0 || len == 1)
            return 0; /* the git root or "/" is the last place looked at */
        char *slash = strrchr(path, '/');
        if (slash == path)
            len = 1;
        else
            len = (size_t)(slash - path);
        path[len] = '\0';
        if (len == 1)
            path[0] = '/';
    }
}

/*
 * Whether the config key ignore_projects names cwd's project. A config that cannot be read
 * ignores nothing: the worker refuses to start on it and says why, where the user looks.
 */
static int ignored_by_config(const char *home, const char *cwd)
{
    struct mnemo_config *cfg = NULL;
    if (mnemo_config_load(home, NULL, &cfg, NULL) != 0)
        return 0;
    int ignored = mnemo_hook_ignored_project(cwd, mnemo_config_str(cfg, "ignore_projects"),
                                             getenv("HOME"), getenv("MNEMO_PROJECT"));
    mnemo_config_free(cfg);
    return ignored;
}

/*
 * Reads fd to EOF into sb under the deadline. Returns 0, MNEMO_ETIMEDOUT, MNEMO_ETOOBIG (more
 * than MNEMO_HOOK_STDIN_MAX) or MNEMO_EIO.
 */
static int read_stdin(int fd, int64_t deadline_ns, struct mnemo_strbuf *sb, struct mnemo_err *err)
{
    char buf[65536];
    for (;;) {
        int64_t left = mnemo_deadline_left_ns(deadline_ns);
        if (left <= 0)
            return mnemo_err_set(err, MNEMO_ETIMEDOUT, "stdin did not end before the deadline");
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        int64_t ms = (left + MNEMO_NS_PER_MS - 1) / MNEMO_NS_PER_MS;
        int n = poll(&p, 1, (int)(ms > INT_MAX ? INT_MAX : ms));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mnemo_err_set(err, MNEMO_EIO, "poll stdin: %s", strerror(errno));
        if (n == 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf);
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return mnemo_err_set(err, MNEMO_EIO, "read stdin: %s", strerror(errno));
        }
        if (mnemo_strbuf_append(sb, buf, (size_t)r) != 0)
            return mnemo_err_set(err, MNEMO_ETOOBIG, "stdin is larger than %zu bytes",
                                 MNEMO_HOOK_STDIN_MAX);
    }
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the agent went away: nothing to tell anybody */
        p += w;
        n -= (size_t)w;
    }
}

static int set_str(json_t *o, const char *key, const char *v)
{
    if (v == NULL)
        return 0;
    return json_object_set_new(o, key, json_string(v));
}

/* A copy of s cut to MNEMO_HOOK_MESSAGE_MAX bytes at a UTF-8 boundary, or NULL. */
static json_t *bounded_string(const char *s)
{
    size_t len = strlen(s);
    if (len > MNEMO_HOOK_MESSAGE_MAX)
        len = mnemo_utf8_cut(s, MNEMO_HOOK_MESSAGE_MAX);
    return json_stringn(s, len);
}

static int is_stop_like(enum mnemo_hook_event e)
{
    return e == MNEMO_HOOK_STOP || e == MNEMO_HOOK_SUBAGENT_STOP || e == MNEMO_HOOK_SESSION_END ||
           e == MNEMO_HOOK_PRE_COMPACT;
}

/* The request body: the normalized event of docs/API.md's hook route. NULL when out of memory. */
static json_t *request_body(const struct mnemo_hook_input *in, const char *cwd, int64_t deadline_ns)
{
    json_t *b = json_object();
    int bad = b == NULL;
    const char *project = getenv("MNEMO_PROJECT");

    bad = bad || set_str(b, "agent", mnemo_agent_name(in->agent)) != 0;
    bad = bad || set_str(b, "session_id", in->session_id) != 0;
    bad = bad || set_str(b, "turn_id", in->turn_id) != 0;
    bad = bad || set_str(b, "cwd", cwd) != 0;
    if (project != NULL && project[0] != '\0')
        bad = bad || set_str(b, "project", project) != 0;
    bad = bad || set_str(b, "prompt", in->prompt) != 0;
    bad = bad || set_str(b, "tool_name", in->tool_name) != 0;
    bad = bad || set_str(b, "transcript_path", in->transcript_path) != 0;
    bad = bad || set_str(b, "source", in->source) != 0;
    if (!bad && in->tool_input != NULL)
        bad = json_object_set(b, "tool_input", (json_t *)in->tool_input) != 0;
    if (!bad && in->tool_response != NULL)
        bad = json_object_set(b, "tool_response", (json_t *)in->tool_response) != 0;

    if (!bad && is_stop_like(in->event)) {
        char *user = NULL, *assistant = NULL;
        /* At most half of what is left: the request needs the rest. */
        int64_t scan_deadline = mnemo_clock_mono_ns() + mnemo_deadline_left_ns(deadline_ns) / 2;
        if (in->transcript_path != NULL && in->transcript_path[0] != '\0')
            (void)mnemo_hook_transcript_tail(in->transcript_path, scan_deadline, &user, &assistant,
                                             NULL);
        const char *last =
            in->last_assistant_message != NULL ? in->last_assistant_message : assistant;
        if (last != NULL)
            bad = json_object_set_new(b, "last_assistant_message", bounded_string(last)) != 0;
        if (!bad && user != NULL)
            bad = json_object_set_new(b, "last_user_message", bounded_string(user)) != 0;
        free(user);
        free(assistant);
    }
    if (bad) {
        json_decref(b);
        return NULL;
    }
    return b;
}

/*
 * The request and its answer. On success *context is the worker's context (malloc'd, NULL
 * when empty). Returns 0 or the failure to log (err says more).
 */
static int ask_worker(const char *home, const struct mnemo_hook_input *in, const char *cwd,
                      int64_t deadline_ns, char **context, struct mnemo_err *err)
{
    char sock[4200], path[64];
    struct mnemo_uhttp_resp resp;

    *context = NULL;
    json_t *body = request_body(in, cwd, deadline_ns);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory building the request");
    snprintf(sock, sizeof sock, "%s/mnemo.sock", home);
    snprintf(path, sizeof path, "/v1/hooks/%s", mnemo_hook_event_name(in->event));
    int rc = mnemo_uhttp_call(sock, "POST", path, text, strlen(text), deadline_ns, &resp, err);
    free(text);
    if (rc != 0)
        return rc;

    json_t *j = resp.body != NULL ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
    if (resp.status < 200 || resp.status > 299) {
        const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        rc = mnemo_err_set(err, MNEMO_EIO, "the worker answered %d: %s", resp.status,
                           m != NULL ? m : "(no message)");
    } else if (!json_is_object(j)) {
        rc = mnemo_err_set(err, MNEMO_EIO, "the worker's answer is not a JSON object");
    } else {
        const char *c = json_string_value(json_object_get(j, "context"));
        if (c != NULL && c[0] != '\0' && (*context = strdup(c)) == NULL)
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    json_decref(j);
    mnemo_uhttp_resp_release(&resp);
    return rc;
}

/* Prints the agent's output for context (NULL: the minimal one). */
static void print_output(const struct mnemo_hook_run *run, const char *context)
{
    struct mnemo_strbuf out;
    mnemo_strbuf_init(&out, 0);
    if (mnemo_adapter_output(run->agent, run->event, context, &out) != 0 && context != NULL) {
        mnemo_strbuf_reset(&out);
        (void)mnemo_adapter_output(run->agent, run->event, NULL, &out);
    }
    write_all(run->out_fd, out.data != NULL ? out.data : "", out.len);
    mnemo_strbuf_release(&out);
}

int mnemo_hook_run(const struct mnemo_hook_run *run)
{
    char home[4096];
    char cwd_buf[PATH_MAX];
    struct mnemo_strbuf in_buf;
    struct mnemo_hook_input in;
    struct mnemo_err err;
    char *context = NULL;
    int have_home = mnemo_hook_home(home, sizeof home) == 0;

    int64_t total_ns = mnemo_hook_timeout_ms(run->event) * MNEMO_NS_PER_MS;
    int64_t deadline = run->start_ns + total_ns;
    int64_t reserve = total_ns / 10 < RESERVE_MAX_NS ? total_ns / 10 : RESERVE_MAX_NS;
    int64_t work_deadline = deadline - reserve;

    if (env_on("MNEMO_DISABLED") || env_on("MNEMO_INTERNAL")) {
        print_output(run, NULL);
        return 0;
    }

    memset(&in, 0, sizeof in);
    mnemo_err_clear(&err);
    mnemo_strbuf_init(&in_buf, MNEMO_HOOK_STDIN_MAX);
    int rc = read_stdin(run->in_fd, work_deadline, &in_buf, &err);
    if (rc == 0)
        rc = mnemo_adapter_parse(run->agent, run->event, in_buf.data != NULL ? in_buf.data : "",
                                 in_buf.len, &in, &err);
    mnemo_strbuf_release(&in_buf);

    const char *cwd = rc == 0 ? in.cwd : NULL;
    if (rc == 0 && (cwd == NULL || cwd[0] == '\0'))
        cwd = getcwd(cwd_buf, sizeof cwd_buf);
    int skip =
        rc == 0 &&
        ((in.event == MNEMO_HOOK_POST_TOOL_USE && mnemo_hook_own_tool(in.tool_name)) ||
         (cwd != NULL && (mnemo_hook_ignored(cwd) || (have_home && ignored_by_config(home, cwd)))));

    if (rc == 0 && !skip) {
        if (!have_home)
            rc = mnemo_err_set(&err, MNEMO_ENOTFOUND, "no home directory for mnemo");
        else
            rc = ask_worker(home, &in, cwd, work_deadline, &context, &err);
        /* A session-end has nothing after it for a worker to serve, and the one `claude mcp
         * list` fires belongs to no session at all: starting a worker for it is waste. */
        if (rc == MNEMO_ECLOSED && in.event != MNEMO_HOOK_SESSION_END) {
            struct mnemo_err aerr;
            mnemo_err_clear(&aerr);
            int arc = mnemo_hook_autostart(home, &aerr);
            if (arc == 0)
                mnemo_hook_log(home, run->event, run->agent, 0,
                               (mnemo_clock_mono_ns() - run->start_ns) / MNEMO_NS_PER_MS,
                               "autostart: launched `mnemo serve --daemon`");
            else if (arc != MNEMO_EBUSY && arc != MNEMO_EACCES)
                mnemo_hook_log(home, run->event, run->agent, arc,
                               (mnemo_clock_mono_ns() - run->start_ns) / MNEMO_NS_PER_MS,
                               mnemo_err_text(&aerr, arc));
        }
    }
    mnemo_hook_input_release(&in);
    print_output(run, rc == 0 ? context : NULL);
    free(context);
    if (rc != 0 && have_home)
        mnemo_hook_log(home, run->event, run->agent, rc,
                       (mnemo_clock_mono_ns() - run->start_ns) / MNEMO_NS_PER_MS,
                       mnemo_err_text(&err, rc));
    return 0;
}
