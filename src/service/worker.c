/*
 * worker.c - the worker's lifecycle (`mnemo serve`): start-up in the order of worker.h, the
 * signal loop on the main thread, config reload, graceful shutdown and self-restart.
 *
 * Signals: SIGTERM, SIGINT, SIGHUP and SIGPIPE are blocked before the first thread starts, so
 * every thread (libmicrohttpd's, the store's checkpointer, capture, maintenance) inherits the
 * mask and none of them is ever interrupted by one; the main thread takes them synchronously
 * with sigtimedwait and acts outside any signal handler, where it may lock, log and free.
 */
#include "service/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "memory/schema.h"
#include "search/hybrid.h"
#include "service/capture.h"
#include "service/daemon.h"
#include "service/dashboard.h"
#include "service/maint.h"
#include "service/routes.h"
#include "util/clock.h"
#include "util/fs.h"

/* How often the main thread wakes without a signal, to see stop_requested. */
#define POLL_MS 250
/* How often the log file's size is checked against log.max_bytes. */
#define ROTATE_CHECK_MS 5000
/* Longest argument vector a restart re-executes. */
#define RESTART_ARGV_MAX    256
#define RESTART_CMDLINE_MAX 65536

/* State of one mnemo_worker_run besides the worker itself; lives on its stack. */
struct run {
    const struct mnemo_worker_options *opt;
    struct mnemo_worker *w;
    int lock_fd;
    int report_fd;   /* the daemon's start-up pipe; -1 once reported or when not a daemon */
    int log_to_file; /* stderr is log_path: rotate it */
    char log_path[PATH_MAX];
    char tcp_host[256]; /* borrowed by the HTTP server until it stops */
    char exe[PATH_MAX]; /* the executable's path at start, for a restart */
    sigset_t sigs;
    sigset_t old_mask;
    struct sigaction old_pipe;
    int signals_blocked;
    int pid_written;
    pthread_t index_loader; /* loads the vector index after READY (see load_index) */
    int index_loader_started;
};

/* ---- small helpers ------------------------------------------------------------------------- */

static int64_t cfg_int(struct mnemo_worker *w, const char *key)
{
    const struct mnemo_config *c = mnemo_worker_config_ref(w);
    int64_t v = mnemo_config_int(c, key);
    mnemo_worker_config_unref(w, c);
    return v;
}

/* Applies log.level of c; an invalid name cannot reach here (the config table checks it). */
static void apply_log_level(struct mnemo_worker *w, const struct mnemo_config *c)
{
    enum mnemo_log_level level = MNEMO_LOG_INFO;
    if (mnemo_log_level_parse(mnemo_config_str(c, "log.level"), &level) == 0)
        mnemo_log_set_level(w->log, level);
}

/* Puts the worker in status ERROR with why; the listener stays up to tell /v1/health. */
static void set_error(struct mnemo_worker *w, const char *what, const struct mnemo_err *err, int rc)
{
    char q[MNEMO_ERR_MSG_MAX + 16];
    snprintf(w->error, sizeof w->error, "%s: %s", what, mnemo_err_text(err, rc));
    atomic_store(&w->status, MNEMO_WORKER_ERROR);
    mnemo_log_write(w->log, MNEMO_LOG_ERROR, "worker start-up failed", "error=%s rc=%s",
                    mnemo_log_quote(q, sizeof q, w->error), mnemo_rcname(rc));
}

/*
 * Parses tcp.listen: "off", "HOST:PORT" or "[V6]:PORT". HOST may be a name or address; the
 * HTTP server decides whether it is loopback and refuses others without a token.
 */
static int parse_listen(const char *s, char *host, size_t host_size, int *port, int *enabled,
                        struct mnemo_err *err)
{
    *enabled = 0;
    if (strcmp(s, "off") == 0 || s[0] == '\0')
        return 0;
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "tcp.listen '%s' is not HOST:PORT, [IPV6]:PORT or off", s);
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (h[0] == '[') {
        if (hlen < 3 || h[hlen - 1] != ']')
            return mnemo_err_set(err, MNEMO_EINVAL, "tcp.listen '%s': unbalanced brackets", s);
        h++;
        hlen -= 2;
    }
    if (hlen >= host_size)
        return mnemo_err_set(err, MNEMO_EINVAL, "tcp.listen '%s': host too long", s);
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p < 0 || p > 65535 || colon[1] == '-' || colon[1] == '+')
        return mnemo_err_set(err, MNEMO_EINVAL, "tcp.listen '%s': port must be 0..65535", s);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    *enabled = 1;
    return 0;
}

static int is_loopback_name(const char *h)
{
    return strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0 || strncmp(h, "127.", 4) == 0;
}

/* ---- start-up ------------------------------------------------------------------------------ */

/* Blocks the lifecycle signals in this thread, and so in every thread it creates later. */
static int block_signals(struct run *r, struct mnemo_err *err)
{
    struct sigaction ign;

    sigemptyset(&r->sigs);
    sigaddset(&r->sigs, SIGTERM);
    sigaddset(&r->sigs, SIGINT);
    sigaddset(&r->sigs, SIGHUP);
    sigaddset(&r->sigs, SIGPIPE);
    int e = pthread_sigmask(SIG_BLOCK, &r->sigs, &r->old_mask);
    if (e != 0)
        return mnemo_err_set(err, MNEMO_EINTERNAL, "cannot block signals: %s", strerror(e));
    /* A peer that hangs up must cost a request an EPIPE, never the process. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGPIPE, &ign, &r->old_pipe) != 0) {
        e = errno;
        pthread_sigmask(SIG_SETMASK, &r->old_mask, NULL);
        return mnemo_err_set(err, MNEMO_EINTERNAL, "cannot ignore SIGPIPE: %s", strerror(e));
    }
    r->signals_blocked = 1;
    return 0;
}

static void restore_signals(struct run *r)
{
    const struct timespec zero = {0, 0};

    if (!r->signals_blocked)
        return;
    /* A second SIGTERM that arrived during shutdown would otherwise kill the process with the
     * default action the moment it is unblocked, turning a clean exit 0 into 143. */
    while (sigtimedwait(&r->sigs, NULL, &zero) > 0)
        ;
    sigaction(SIGPIPE, &r->old_pipe, NULL);
    pthread_sigmask(SIG_SETMASK, &r->old_mask, NULL);
    r->signals_blocked = 0;
}

/*
 * The redactor with the built-in rules and, when privacy.rules_file names one (relative to the
 * home), the user's extra rules. Rules the user asked for that do not load are an error, not a
 * warning: running without them would store what they meant to keep out.
 */
static int open_privacy(struct mnemo_worker *w, const struct mnemo_config *c, struct mnemo_err *err)
{
    char path[PATH_MAX];

    int rc = mnemo_privacy_new(&w->priv, err);
    if (rc != 0) {
        w->priv = NULL;
        return rc;
    }
    const char *file = mnemo_config_str(c, "privacy.rules_file");
    if (file[0] == '\0')
        return 0;
    if (file[0] == '/') {
        if (snprintf(path, sizeof path, "%s", file) >= (int)sizeof path)
            return mnemo_err_set(err, MNEMO_EINVAL, "privacy.rules_file is too long");
    } else {
        rc = mnemo__worker_path(path, sizeof path, w->home, file, err);
        if (rc != 0)
            return rc;
    }
    return mnemo_privacy_load_rules_file(w->priv, path, err);
}

/*
 * Loads the vector index from the store (2 s for 100k vectors here) on its own thread, so the
 * worker turns READY without waiting for it. The load holds the index's write lock throughout:
 * vectors that the capture thread or a route adds meanwhile wait and land after it, and a
 * removal waits too, so the index ends up exactly as the store. Searches skip the index until
 * index_ready is set (routes.c).
 */
static void *load_index(void *arg)
{
    struct mnemo_worker *w = arg;
    struct mnemo_err err;
    char q[PATH_MAX + 8];
    int64_t n = 0, t0 = mnemo_clock_mono_ns();

    mnemo_err_clear(&err);
    int rc = mnemo_search_vindex_load(w->st, w->vx, mnemo_embed_model_id(w->emb),
                                      MNEMO_STORE_TIMEOUT_SLOW_MS * 4, &n, &err);
    if (rc != 0) {
        /* Search stays keyword-only; /v1/selfcheck and the log say why. */
        mnemo_log_write(w->log, MNEMO_LOG_ERROR, "vector index load failed", "error=%s",
                        mnemo_log_quote(q, sizeof q, mnemo_err_text(&err, rc)));
        return NULL;
    }
    atomic_store(&w->index_ready, 1);
    mnemo_log_write(w->log, MNEMO_LOG_INFO, "vector index loaded",
                    "model=%s vectors=%lld took_ms=%lld",
                    mnemo_log_quote(q, sizeof q, mnemo_embed_model_id(w->emb)), (long long)n,
                    (long long)((mnemo_clock_mono_ns() - t0) / MNEMO_NS_PER_MS));
    return NULL;
}

/*
 * The capture thread with the extractor config asks for: the rules extractor alone, or the
 * LLM extractor wrapping it (the rules run on every event and take over whenever the model
 * fails, times out or runs out of budget, so nothing is dropped).
 */
static int start_capture(struct mnemo_worker *w, struct mnemo_err *err)
{
    const struct mnemo_config *c = mnemo_worker_config_ref(w);
    int rc;
    if (strcmp(mnemo_config_str(c, "extractor"), "llm") != 0) {
        mnemo_worker_config_unref(w, c);
        return mnemo_capture_start(w, &w->capture, err);
    }
    struct mnemo_extractor *rules = NULL, *llm = NULL;
    struct mnemo_llm_config lc = {
        .command = mnemo_config_str(c, "llm.command"),
        .timeout_ms = (int)mnemo_config_int(c, "llm.timeout_ms"),
        .max_concurrent = (int)mnemo_config_int(c, "llm.max_concurrent"),
        .daily_calls = mnemo_config_int(c, "llm.daily_calls"),
        .daily_tokens = mnemo_config_int(c, "llm.daily_tokens"),
        .prompt_path = mnemo_config_str(c, "llm.prompt_path"),
        .log = w->log,
    };
    rc = mnemo_extractor_rules_new(&rules, err);
    if (rc == 0)
        rc = mnemo_extractor_llm_new(&lc, rules, &llm, err); /* takes rules, even on failure */
    mnemo_worker_config_unref(w, c);
    if (rc != 0)
        return rc;
    w->llm = llm;
    rc = mnemo_capture_start_with(w, &llm, 1, &w->capture, err); /* takes llm */
    if (rc != 0)
        w->llm = NULL;
    return rc;
}

/*
 * Step 4 and 5 of worker.h: store, privacy, embedder, vector index, then the background
 * threads. The threads start before the status turns READY, so a route that sees READY also
 * sees w->capture and w->maint set (the atomic store of the status publishes them).
 */
static void open_components(struct run *r)
{
    struct mnemo_worker *w = r->w;
    struct mnemo_store_config sc;
    struct mnemo_err err;
    char q[PATH_MAX + 8];
    int rc;

    mnemo_err_clear(&err);
    mnemo_memory_store_config(&sc, w->db_path, MNEMO_STORE_CREATE);
    sc.log = w->log;
    sc.checkpoint_threshold_bytes = cfg_int(w, "store.wal_threshold_bytes");
    sc.min_free_bytes = cfg_int(w, "store.min_free_bytes");
    rc = mnemo_store_open(&sc, &w->st, &err);
    if (rc != 0) {
        w->st = NULL;
        set_error(w, "store", &err, rc);
        return;
    }
    const struct mnemo_config *c = mnemo_worker_config_ref(w);
    rc = open_privacy(w, c, &err);
    if (rc != 0) {
        mnemo_worker_config_unref(w, c);
        set_error(w, "privacy", &err, rc);
        return;
    }
    rc = mnemo_embed_open_config(c, w->log, &w->emb, &err);
    mnemo_worker_config_unref(w, c);
    if (rc != 0) {
        w->emb = NULL;
        set_error(w, "embedder", &err, rc);
        return;
    }
    if (mnemo_embed_enabled(w->emb)) {
        rc = mnemo_vindex_open(mnemo_embed_dim(w->emb), MNEMO_VINDEX_FLOAT, &w->vx, &err);
        if (rc != 0) {
            set_error(w, "vector index", &err, rc);
            return;
        }
        rc = pthread_create(&r->index_loader, NULL, load_index, w);
        if (rc != 0) {
            mnemo_err_set(&err, MNEMO_EIO, "cannot start the index loader: %s", strerror(rc));
            set_error(w, "vector index", &err, MNEMO_EIO);
            return;
        }
        r->index_loader_started = 1;
    }
    rc = start_capture(w, &err);
    if (rc != 0) {
        w->capture = NULL;
        set_error(w, "capture", &err, rc);
        return;
    }
    rc = mnemo_maint_start(w, &w->maint, &err);
    if (rc != 0) {
        w->maint = NULL;
        set_error(w, "maintenance", &err, rc);
        return;
    }
    /* The dashboard's health history; without it only the charts are empty. */
    if (mnemo_dashboard_hist_new(&w->hist, &err) != 0 ||
        mnemo_dashboard_hist_start(w->hist, w, &err) != 0)
        mnemo_log_write(w->log, MNEMO_LOG_WARN, "no dashboard history", "error=%s",
                        mnemo_log_quote(q, sizeof q, err.msg));
    w->ready_ms = (mnemo_clock_mono_ns() - w->started_mono_ns) / MNEMO_NS_PER_MS;
    atomic_store(&w->status, MNEMO_WORKER_READY);
    mnemo_log_write(w->log, MNEMO_LOG_INFO, "worker ready", "db=%s ready_ms=%lld",
                    mnemo_log_quote(q, sizeof q, w->db_path), (long long)w->ready_ms);
}

/* Starts the Unix listener and, unless tcp.listen is off, the TCP one. */
static int start_http(struct run *r, struct mnemo_err *err)
{
    struct mnemo_worker *w = r->w;
    struct mnemo_http_config hc;
    char q[300];
    int tcp_enabled = 0, tcp_port = 0;
    size_t n_routes = 0;

    const struct mnemo_config *c = mnemo_worker_config_ref(w);
    const char *listen =
        r->opt->tcp_listen != NULL ? r->opt->tcp_listen : mnemo_config_str(c, "tcp.listen");
    int rc = parse_listen(listen, r->tcp_host, sizeof r->tcp_host, &tcp_port, &tcp_enabled, err);
    mnemo_http_config_init(&hc);
    hc.max_body = (size_t)mnemo_config_int(c, "http.max_body");
    hc.rate_limit = (int)mnemo_config_int(c, "http.rate_limit");
    hc.timeout_s = (int)mnemo_config_int(c, "http.timeout_s");
    mnemo_worker_config_unref(w, c);
    if (rc != 0)
        return rc;

    hc.socket_path = w->socket_path;
    hc.tcp_enabled = tcp_enabled;
    hc.tcp_host = r->tcp_host;
    hc.tcp_port = tcp_port;
    hc.token = w->token;
    hc.log = w->log;
    hc.ready = mnemo_worker_ready;
    hc.ctx = w;
    if (tcp_enabled && !is_loopback_name(r->tcp_host))
        mnemo_log_write(w->log, MNEMO_LOG_WARN, "listening beyond this machine as configured",
                        "tcp_host=%s", mnemo_log_quote(q, sizeof q, r->tcp_host));
    const struct mnemo_http_route *routes = mnemo_routes(&n_routes);
    rc = mnemo_routes_retrieval_new(&w->retrieval);
    if (rc != 0)
        return mnemo_err_set(err, rc, "cannot create the retrieval counters");
    rc = mnemo_http_start(&hc, routes, n_routes, &w->http, err);
    if (rc != 0) {
        w->http = NULL;
        return rc;
    }
    mnemo_log_write(w->log, MNEMO_LOG_INFO, "worker listening", "socket=%s tcp_port=%d pid=%ld",
                    mnemo_log_quote(q, sizeof q, w->socket_path), mnemo_http_tcp_port(w->http),
                    (long)getpid());
    return 0;
}

/* Steps 1 to 3 of worker.h: everything whose failure makes the start fail. */
static int start_listening(struct run *r, struct mnemo_err *err)
{
    struct mnemo_worker *w = r->w;
    char q[MNEMO_ERR_MSG_MAX + 16];

    int rc = mnemo__worker_lock(w->home, &r->lock_fd, err);
    if (rc != 0)
        return rc;
    rc = mnemo__worker_pid_write(w->home, err);
    if (rc != 0)
        return rc;
    r->pid_written = 1;
    rc = mnemo__worker_token(w->home, w->token, err);
    if (rc != 0)
        return rc;
    rc = mnemo_config_load(w->home, w->log, &w->cfg, err);
    if (rc != 0) {
        w->cfg = NULL;
        return rc;
    }
    apply_log_level(w, w->cfg);
    if (r->log_to_file) {
        struct mnemo_err rerr;
        mnemo_err_clear(&rerr);
        if (mnemo__worker_log_rotate(r->log_path, mnemo_config_int(w->cfg, "log.max_bytes"),
                                     &rerr) < 0)
            mnemo_log_write(w->log, MNEMO_LOG_WARN, "cannot rotate the log", "error=%s",
                            mnemo_log_quote(q, sizeof q, rerr.msg));
    }
    return start_http(r, err);
}

/* ---- running ------------------------------------------------------------------------------- */

/*
 * SIGHUP: builds the new config first (a broken file keeps the old one, logged), swaps it in
 * under cfg_lock, and frees the old one only when no reader holds a reference any more.
 */
static void reload_config(struct run *r)
{
    struct mnemo_worker *w = r->w;
    struct mnemo_config *fresh = NULL;
    struct mnemo_err err;
    char q[MNEMO_ERR_MSG_MAX + 16];

    mnemo_err_clear(&err);
    int rc = mnemo_config_load(w->home, w->log, &fresh, &err);
    if (rc != 0) {
        mnemo_log_write(w->log, MNEMO_LOG_ERROR, "config reload failed; keeping the old config",
                        "error=%s", mnemo_log_quote(q, sizeof q, mnemo_err_text(&err, rc)));
        return;
    }
    pthread_mutex_lock(&w->cfg_lock);
    struct mnemo_config *old = w->cfg;
    w->cfg = fresh;
    while (w->cfg_readers > 0)
        pthread_cond_wait(&w->cfg_idle, &w->cfg_lock);
    pthread_mutex_unlock(&w->cfg_lock);
    mnemo_config_free(old);
    apply_log_level(w, fresh);
    mnemo_log_write(w->log, MNEMO_LOG_INFO, "config reloaded", NULL);
}

/* The main thread's loop: signals, stop requests, log rotation. Returns when asked to stop. */
static void wait_for_stop(struct run *r)
{
    struct mnemo_worker *w = r->w;
    char q[MNEMO_ERR_MSG_MAX + 16];
    int64_t next_rotate = mnemo_clock_mono_ms() + ROTATE_CHECK_MS;
    const struct timespec tick = {.tv_sec = 0, .tv_nsec = POLL_MS * MNEMO_NS_PER_MS};

    while (!atomic_load(&w->stop_requested)) {
        siginfo_t info;
        int sig = sigtimedwait(&r->sigs, &info, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            mnemo_log_write(w->log, MNEMO_LOG_INFO, "stop signal received", "signal=%s pid=%ld",
                            sig == SIGTERM ? "TERM" : "INT", (long)info.si_pid);
            atomic_store(&w->stop_requested, 1);
        } else if (sig == SIGHUP) {
            reload_config(r);
        }
        if (r->log_to_file && mnemo_clock_mono_ms() >= next_rotate) {
            struct mnemo_err err;
            mnemo_err_clear(&err);
            next_rotate = mnemo_clock_mono_ms() + ROTATE_CHECK_MS;
            int rc = mnemo__worker_log_rotate(r->log_path, cfg_int(w, "log.max_bytes"), &err);
            if (rc > 0)
                mnemo_log_write(w->log, MNEMO_LOG_INFO, "log rotated", NULL);
            else if (rc < 0)
                mnemo_log_write(w->log, MNEMO_LOG_WARN, "cannot rotate the log", "error=%s",
                                mnemo_log_quote(q, sizeof q, err.msg));
        }
    }
}

/*
 * Shutdown. The status turns STOPPING first, so the server refuses new data requests at once.
 * Maintenance and the capture thread stop publishing (their detach_http calls return only
 * when no publish of theirs is running). The server then lets in-flight handlers finish
 * (bounded) and joins its threads: after that no handler can publish, kick the capture
 * thread or run maintenance, so w->http is cleared and both threads can stop and be freed. The
 * store closes last, with a TRUNCATE checkpoint, so no -wal file remains.
 */
static void shutdown_worker(struct run *r)
{
    struct mnemo_worker *w = r->w;

    atomic_store(&w->status, MNEMO_WORKER_STOPPING);
    int64_t t0 = mnemo_clock_mono_ns();
    mnemo_dashboard_hist_stop(w->hist); /* it reads the store and maintenance stopped below */
    mnemo_maint_detach_http(w->maint);
    mnemo_capture_detach_http(w->capture);
    /* Handlers still running may read w->http (to publish); it stays valid until the server
     * has joined them, and is cleared only then. */
    mnemo_http_stop(w->http, MNEMO_WORKER_STOP_GRACE_MS);
    w->http = NULL;
    mnemo_routes_retrieval_free(w->retrieval); /* no handler runs any more */
    w->retrieval = NULL;
    w->llm = NULL; /* the capture thread owns it and frees it with its extractors */
    mnemo_capture_stop(w->capture);
    w->capture = NULL;
    mnemo_maint_stop(w->maint);
    w->maint = NULL;
    if (r->index_loader_started) {
        pthread_join(r->index_loader, NULL);
        r->index_loader_started = 0;
    }
    mnemo_vindex_close(w->vx);
    w->vx = NULL;
    mnemo_embed_close(w->emb);
    w->emb = NULL;
    mnemo_privacy_free(w->priv);
    w->priv = NULL;
    if (w->st != NULL) {
        int rc = mnemo_store_close(w->st);
        w->st = NULL;
        if (rc != 0)
            mnemo_log_write(w->log, MNEMO_LOG_WARN, "final checkpoint did not finish", "rc=%s",
                            mnemo_rcname(rc));
    }
    mnemo_log_write(w->log, MNEMO_LOG_INFO, "worker stopped", "took_ms=%lld",
                    (long long)((mnemo_clock_mono_ns() - t0) / MNEMO_NS_PER_MS));
}

/* Releases everything start-up took; safe after a partial start. */
static void release(struct run *r)
{
    struct mnemo_worker *w = r->w;
    if (r->pid_written)
        mnemo__worker_pid_remove(w->home);
    r->pid_written = 0;
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    r->lock_fd = -1;
    mnemo_config_free(w->cfg);
    w->cfg = NULL;
}

/*
 * The restart of mnemo_worker_request_restart: the same arguments (read back from
 * /proc/self/cmdline) and the path the executable had at start. Returns only on failure.
 */
static void reexec(struct run *r)
{
    struct mnemo_worker *w = r->w;
    char **argv = NULL;
    char *cmdline = NULL;
    size_t len = 0;
    struct mnemo_err err;
    char q[PATH_MAX + 8];

    mnemo_err_clear(&err);
    if (mnemo_fs_read_all("/proc/self/cmdline", RESTART_CMDLINE_MAX, &cmdline, &len, &err) != 0)
        goto fail;
    argv = calloc(RESTART_ARGV_MAX + 1, sizeof *argv);
    if (argv == NULL) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        goto fail;
    }
    size_t argc = 0;
    for (size_t i = 0; i < len && argc < RESTART_ARGV_MAX; i += strlen(cmdline + i) + 1)
        argv[argc++] = cmdline + i;
    argv[argc] = NULL;
    if (argc == 0) {
        snprintf(err.msg, sizeof err.msg, "empty /proc/self/cmdline");
        goto fail;
    }
    /* A daemon works from "/": a relative MNEMO_HOME would name another directory. */
    if (setenv("MNEMO_HOME", w->home, 1) != 0) {
        snprintf(err.msg, sizeof err.msg, "setenv: %s", strerror(errno));
        goto fail;
    }
    mnemo_log_write(w->log, MNEMO_LOG_INFO, "worker restarting", "exe=%s",
                    mnemo_log_quote(q, sizeof q, r->exe));
    const char *exe = r->exe[0] != '\0' && access(r->exe, X_OK) == 0 ? r->exe : "/proc/self/exe";
    execv(exe, argv);
    mnemo_err_set(&err, MNEMO_EIO, "execv '%s': %s", exe, strerror(errno));
fail:
    mnemo_log_write(w->log, MNEMO_LOG_ERROR, "worker restart failed", "error=%s",
                    mnemo_log_quote(q, sizeof q, err.msg));
    free(argv);
    free(cmdline);
}

/* Runs the worker in this process until it stops. */
static int run_worker(struct run *r, struct mnemo_err *err)
{
    struct mnemo_worker *w = r->w;

    int rc = start_listening(r, err);
    mnemo__worker_report(&r->report_fd, rc, err);
    if (rc != 0) {
        mnemo_http_stop(w->http, 0);
        w->http = NULL;
        mnemo_routes_retrieval_free(w->retrieval);
        w->retrieval = NULL;
        release(r);
        return rc;
    }
    open_components(r);
    wait_for_stop(r);
    shutdown_worker(r);
    release(r);
    return 0;
}

/* Allocates the worker and fills the paths. */
static int worker_new(const char *home, struct mnemo_worker **out, struct mnemo_err *err)
{
    struct mnemo_worker *w = calloc(1, sizeof *w);
    *out = NULL;
    if (w == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    int n = snprintf(w->home, sizeof w->home, "%s", home);
    int rc = n < 0 || (size_t)n >= sizeof w->home
                 ? mnemo_err_set(err, MNEMO_EINVAL, "home path is too long")
                 : 0;
    if (rc == 0)
        rc = mnemo__worker_path(w->db_path, sizeof w->db_path, home, "mnemo.db", err);
    if (rc == 0)
        rc = mnemo__worker_path(w->socket_path, sizeof w->socket_path, home,
                                MNEMO_WORKER_SOCKET_NAME, err);
    if (rc == 0 && pthread_mutex_init(&w->cfg_lock, NULL) != 0)
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot create the config lock");
    if (rc == 0 && pthread_cond_init(&w->cfg_idle, NULL) != 0) {
        pthread_mutex_destroy(&w->cfg_lock);
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot create the config condition");
    }
    if (rc != 0) {
        free(w);
        return rc;
    }
    atomic_store(&w->status, MNEMO_WORKER_STARTING);
    w->started_ms = mnemo_clock_wall_ms();
    w->started_mono_ns = mnemo_clock_mono_ns();
    *out = w;
    return 0;
}

static void worker_free(struct mnemo_worker *w)
{
    if (w == NULL)
        return;
    mnemo_dashboard_hist_free(w->hist);
    pthread_cond_destroy(&w->cfg_idle);
    pthread_mutex_destroy(&w->cfg_lock);
    sodium_memzero(w->token, sizeof w->token);
    free(w);
}

int mnemo_worker_run(const struct mnemo_worker_options *options, struct mnemo_err *err)
{
    struct run r;
    struct mnemo_err lerr;
    char logs[PATH_MAX];
    int rc;

    memset(&r, 0, sizeof r);
    r.opt = options;
    r.lock_fd = -1;
    r.report_fd = -1;
    if (options == NULL || options->home == NULL || options->home[0] != '/')
        return mnemo_err_set(err, MNEMO_EINVAL, "the worker needs an absolute home directory");

    rc = mnemo__worker_path(logs, sizeof logs, options->home, MNEMO_WORKER_LOG_DIR, err);
    if (rc == 0)
        rc = mnemo__worker_path(r.log_path, sizeof r.log_path, logs, MNEMO_WORKER_LOG_NAME, err);
    if (rc != 0)
        return rc;
    ssize_t n = readlink("/proc/self/exe", r.exe, sizeof r.exe - 1);
    r.exe[n > 0 ? n : 0] = '\0';

    r.log_to_file = options->daemon || !options->foreground_log;
    if (r.log_to_file) {
        rc = mnemo_fs_mkdir_p(logs, 0700, err);
        if (rc != 0)
            return rc;
    }
    if (options->daemon) {
        rc = mnemo__worker_detach(r.log_path, &r.report_fd, err);
        if (rc <= 0)
            return rc; /* the launcher: the daemon's listener is up, or why it is not */
    } else if (r.log_to_file) {
        rc = mnemo__worker_log_redirect(r.log_path, 0, err);
        if (rc != 0)
            return rc;
    }

    /* From here on this process is the worker (in a daemon, every failure is reported through
     * report_fd and ends the process). */
    rc = block_signals(&r, err);
    if (rc == 0)
        rc = worker_new(options->home, &r.w, err);
    if (rc == 0) {
        mnemo_err_clear(&lerr);
        rc = mnemo_log_open(NULL, MNEMO_LOG_INFO, &r.w->log, &lerr);
        if (rc != 0)
            rc = mnemo_err_set(err, rc, "cannot open the log: %s", mnemo_err_text(&lerr, rc));
    }
    if (rc == 0)
        rc = run_worker(&r, err);
    else
        mnemo__worker_report(&r.report_fd, rc, err);

    int restart = rc == 0 && r.w != NULL && atomic_load(&r.w->restart_requested);
    restore_signals(&r);
    if (restart)
        reexec(&r);
    if (r.w != NULL) {
        mnemo_log_close(r.w->log);
        worker_free(r.w);
    }
    if (options->daemon)
        exit(rc == 0 ? 0 : 1);
    return rc;
}

void mnemo_worker_request_stop(struct mnemo_worker *w)
{
    atomic_store(&w->stop_requested, 1);
}

int mnemo_worker_request_restart(struct mnemo_worker *w)
{
    int64_t up_ms = (mnemo_clock_mono_ns() - w->started_mono_ns) / MNEMO_NS_PER_MS;
    if (up_ms < MNEMO_WORKER_RESTART_MIN_UPTIME_MS)
        return MNEMO_EBUSY;
    atomic_store(&w->restart_requested, 1);
    mnemo_worker_request_stop(w);
    return 0;
}
