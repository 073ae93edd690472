/*
 * worker.h - the worker (`mnemo serve`): the long-lived process that owns the database, the
 * embedder, the vector index, the capture queue and maintenance, and serves the HTTP API.
 *
 * Start-up order (listener first, so /v1/health answers at once):
 *   1. lock: $home/worker.lock flock'ed (LOCK_EX|LOCK_NB); held -> MNEMO_EEXIST naming the
 *      pid found in $home/worker.pid. Then the pid file is written.
 *   2. token ($home/token, 32 random bytes from libsodium as 64 hex chars, 0600; created once)
 *   3. HTTP listeners (service/http.h) with the route table (service/routes.h); status
 *      "starting": data routes answer 503.
 *   4. store open (+ memory migrations), privacy, embedder, vector index load; status "ready".
 *      A failure here leaves the listener up with status "error" and the reason in /v1/health.
 *   5. background threads: capture (service/capture.h), maintenance scheduler, score
 *      recalculation and re-embedding (service/maint.h); the store's own checkpointer.
 * Shutdown (SIGTERM/SIGINT, or mnemo_worker_request_stop): stop accepting, finish in-flight
 * requests (bounded), stop background threads, close the store (checkpoint TRUNCATE: no -wal
 * remains), remove the pid file and socket, release the lock. SIGHUP reloads config.json
 * (log level, budgets, maintenance settings; listener addresses need a restart).
 *
 * Ownership: struct mnemo_worker is created by mnemo_worker_run and lives until it returns
 * (or the process re-executes itself). Route handlers and background threads borrow it.
 * Thread-safety: the fields below marked "set once" are written before any thread that reads
 * them starts; counters are atomics; cfg is swapped under cfg_lock on reload (readers take
 * mnemo_worker_config_ref/unref).
 */
#ifndef MNEMO_SERVICE_WORKER_H
#define MNEMO_SERVICE_WORKER_H

#include <pthread.h>
#include <sys/types.h>
#include <stdatomic.h>
#include <stdint.h>

#include "capture/extract.h"
#include "embed/embed.h"
#include "memory/privacy.h"
#include "search/vindex.h"
#include "service/http.h"
#include "store/store.h"
#include "util/config.h"
#include "util/err.h"
#include "util/log.h"

#define MNEMO_WORKER_SOCKET_NAME "mnemo.sock"
#define MNEMO_WORKER_LOCK_NAME   "worker.lock"
#define MNEMO_WORKER_PID_NAME    "worker.pid"
#define MNEMO_WORKER_TOKEN_NAME  "token"
#define MNEMO_WORKER_LOG_DIR     "logs"
#define MNEMO_WORKER_LOG_NAME    "worker.log"
/* Longest a graceful stop waits for in-flight requests. */
#define MNEMO_WORKER_STOP_GRACE_MS 5000

enum mnemo_worker_status {
    MNEMO_WORKER_STARTING,
    MNEMO_WORKER_READY,
    MNEMO_WORKER_ERROR,
    MNEMO_WORKER_STOPPING,
};

const char *mnemo_worker_status_name(enum mnemo_worker_status s);

struct mnemo_capture;          /* service/capture.h */
struct mnemo_maint;            /* service/maint.h */
struct mnemo_routes_retrieval; /* service/routes.h */

struct mnemo_worker {
    /* set once */
    char home[4096];
    char db_path[4096];
    char socket_path[4096];
    char token[65];          /* hex */
    int64_t started_ms;      /* wall clock, Unix ms */
    int64_t started_mono_ns; /* for uptime */
    int64_t ready_ms;        /* how long start-up to ready took, ms */
    struct mnemo_log *log;

    /* config, swapped on SIGHUP */
    pthread_mutex_t cfg_lock;
    pthread_cond_t cfg_idle; /* signalled when cfg_readers drops to 0 */
    int cfg_readers;         /* references handed out by mnemo_worker_config_ref */
    struct mnemo_config *cfg;

    /* status, readable from any thread */
    _Atomic int status;            /* enum mnemo_worker_status */
    char error[MNEMO_ERR_MSG_MAX]; /* why status is ERROR; written before status is set */

    /* set once when ready (NULL before) */
    struct mnemo_store *st;
    struct mnemo_privacy *priv;
    struct mnemo_embedder *emb; /* may be a "none" embedder: mnemo_embed_enabled() says */
    struct mnemo_vindex *vx;    /* NULL when the embedder is "none" */
    struct mnemo_http *http;
    struct mnemo_capture *capture;
    /* the LLM extractor when config extractor = llm (owned by the capture thread; for its
     * statistics only), else NULL */
    struct mnemo_extractor *llm;
    struct mnemo_maint *maint;
    /* the dashboard's health history (service/dashboard.h); NULL until ready or when it could
     * not be made; freed with the worker */
    struct mnemo_dashboard_hist *hist;
    /* per-project retrieval counters (service/routes.h); set before the listeners start */
    struct mnemo_routes_retrieval *retrieval;
    /* 1 once the vector index holds every stored vector. The index loads in the background so
     * the worker is ready in milliseconds at any size; until then searches are keyword-only
     * (and say why), while new vectors already go into the index. */
    _Atomic int index_ready;

    /* counters */
    _Atomic int64_t events_appended;
    _Atomic int64_t context_requests;
    _Atomic int stop_requested;
    _Atomic int restart_requested; /* set by mnemo_worker_request_restart */
};

/* A borrowed reference to the current config, valid until mnemo_worker_config_unref (reload
 * waits for every reference to be returned before it frees the old config). Hold it briefly. */
const struct mnemo_config *mnemo_worker_config_ref(struct mnemo_worker *w);
void mnemo_worker_config_unref(struct mnemo_worker *w, const struct mnemo_config *c);

/* 1 when the data routes may run (status READY). */
int mnemo_worker_ready(void *worker);

struct mnemo_worker_options {
    const char *home;       /* required: the resolved MNEMO_HOME */
    int daemon;             /* 1: detach (double fork, setsid, fds closed, stdio to the log) */
    int foreground_log;     /* 1: log to stderr (foreground), else to logs/worker.log */
    const char *tcp_listen; /* overrides config tcp.listen when not NULL ("off" disables) */
};

/*
 * Runs the worker until it is told to stop. Returns 0 after a clean shutdown, MNEMO_EEXIST
 * when another worker holds the lock (err names its pid), or a start-up error (lock, token,
 * listeners) with err set. Errors after the listener is up do not return: they put the
 * worker in status ERROR and it keeps answering /v1/health until stopped.
 * With options->daemon the calling process returns 0 once the daemon's listener answers
 * (or an error if it failed to start), and the daemon itself never returns here (it exits 0
 * after a clean shutdown, 1 otherwise). The caller must then be single-threaded: it forks.
 * options->home must be absolute (a daemon works from "/"). The lifecycle signals (TERM, INT,
 * HUP, PIPE) are blocked for the run and the previous mask is restored before it returns.
 */
int mnemo_worker_run(const struct mnemo_worker_options *options, struct mnemo_err *err);

/*
 * Asks a running worker (this process) to stop, as SIGTERM does. Async-signal-safe: it only
 * sets stop_requested, which the main thread polls (at least every 250 ms) between signals.
 */
void mnemo_worker_request_stop(struct mnemo_worker *w);

/* A worker younger than this refuses to restart itself, so clients cannot make it loop. */
#define MNEMO_WORKER_RESTART_MIN_UPTIME_MS 60000

/*
 * Asks the worker to replace itself with a fresh copy of its program (for a client of another
 * version, POST /v1/restart): it stops as with mnemo_worker_request_stop, and after the clean
 * shutdown execv()s the path its executable had at start (so an upgraded binary is the one
 * that runs) with the same arguments and MNEMO_HOME. Returns 0 (also when a restart is already
 * pending) or MNEMO_EBUSY when the worker started less than MNEMO_WORKER_RESTART_MIN_UPTIME_MS
 * ago (no restart loops). Safe from any thread.
 */
int mnemo_worker_request_restart(struct mnemo_worker *w);

/*
 * The pid of the worker of home when one holds the lock (0 when none): for `mnemo status`,
 * `mnemo stop` and the CLI's "use the worker when it runs" check. Never blocks.
 */
int mnemo_worker_running_pid(const char *home, pid_t *pid, struct mnemo_err *err);

#endif
