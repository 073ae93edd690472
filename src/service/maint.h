/*
 * maint.h - the worker's maintenance: one run (retention, superseded cleanup, prompt
 * retention, done-event pruning, optimize, checkpoint), its scheduler (first run
 * maintenance.first_delay_s after start, then every maintenance.interval_s), the hourly
 * importance recalculation in batches (scoring.batch), and background re-embedding of
 * observations that have no vector of the current model (resumable: it asks the store what is
 * missing, so a restart continues where it stopped; the index is updated as vectors land).
 *
 * Ages are computed in Unix milliseconds: retention.days 0 keeps everything.
 *
 * Ownership: created and freed by the worker. Thread-safety: run/stats from any thread; a run
 * requested while another is in progress waits for it (bounded by the deadline) and reports
 * that run's result.
 */
#ifndef MNEMO_SERVICE_MAINT_H
#define MNEMO_SERVICE_MAINT_H

#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

struct mnemo_worker;
struct mnemo_maint;

struct mnemo_maint_report {
    int64_t started_ms, duration_ms;
    int64_t observations_deleted; /* by retention.days */
    int64_t superseded_deleted;   /* superseded longer than retention.superseded_days */
    int64_t prompts_deleted;      /* older than retention.prompt_days */
    int64_t events_pruned;        /* done events older than 7 days */
    int optimized;                /* 1 when PRAGMA optimize ran */
    int64_t wal_bytes_after;
    int rc; /* 0 or the error that stopped the run */
    char error[MNEMO_ERR_MSG_MAX];
};

/*
 * Counters since start. total_cleaned counts observations deleted (by age and superseded);
 * scores_updated counts rows rescored over every score run; reembed_pending is what the
 * current (or last) re-embedding pass still has to do.
 */
struct mnemo_maint_stats {
    int64_t runs, last_run_ms, last_duration_ms, total_cleaned, optimizes;
    struct mnemo_maint_report last;
    int64_t score_runs, scores_updated, last_score_ms;
    int64_t reembedded, reembed_pending; /* vectors written by the background re-embedder */
    int reembed_running;
};

/* Deadline of a scheduled run (a run cut short continues at the next one). */
#define MNEMO_MAINT_SCHEDULED_TIMEOUT_MS (5 * 60 * 1000)
/* Done capture events are kept this long before maintenance prunes them. */
#define MNEMO_MAINT_EVENTS_KEEP_DAYS 7
/* Pause of the re-embedder between batches, so it never hogs the single writer. */
#define MNEMO_MAINT_REEMBED_YIELD_MS 20
/* Wait before the re-embedder retries after a failed batch (embedder down, store busy). */
#define MNEMO_MAINT_REEMBED_RETRY_MS (60 * 1000)
/* Deadline of embedding one observation in the background. */
#define MNEMO_MAINT_REEMBED_EMBED_TIMEOUT_MS 10000

/*
 * Starts the scheduler (maintenance and score timers, both first due
 * maintenance.first_delay_s after start; then every maintenance.interval_s and
 * scoring.interval_s, read again after each run so a reload applies) and the re-embed thread
 * (woken at once). w must be ready (w->st set); w is borrowed until mnemo_maint_stop. Returns
 * 0, MNEMO_EINVAL (no store), MNEMO_ENOMEM or MNEMO_EIO (thread creation); nothing runs on
 * failure.
 */
int mnemo_maint_start(struct mnemo_worker *w, struct mnemo_maint **out, struct mnemo_err *err);

/*
 * Runs maintenance now (synchronously) within deadline_ns (absolute mono ns, 0 = 60 s). Steps:
 * retention.days, retention.superseded_days, retention.prompt_days (each 0 = keep), done
 * events older than MNEMO_MAINT_EVENTS_KEEP_DAYS, a bounded PRAGMA optimize, and a TRUNCATE
 * checkpoint when the WAL has reached the store's threshold. Deletions go in small batches
 * (memory/retention.h) and the vector index loses the deleted ids. The deadline and a stop
 * are checked between batches; the first error stops the run. Publishes "maintenance.ran"
 * with the report when the worker had an HTTP server at start (until mnemo_maint_detach_http
 * or status STOPPING), and wakes the re-embedder.
 * out (may be NULL) gets the report. Returns out->rc: 0, MNEMO_ETIMEDOUT (deadline; what was
 * done stays done), MNEMO_ECLOSED (stopping), or the failing step's error (err names it).
 */
int mnemo_maint_run(struct mnemo_maint *m, int64_t deadline_ns, struct mnemo_maint_report *out,
                    struct mnemo_err *err);

/*
 * Stops publishing to the worker's HTTP server (taken from w->http at start): once this
 * returns, no "maintenance.ran" publish is in progress or will start, so the server may be
 * stopped and freed while maintenance still runs. Call it before mnemo_http_stop. Runs keep
 * working; only the event is no longer sent. NULL is a no-op.
 */
void mnemo_maint_detach_http(struct mnemo_maint *m);

/* Wakes the re-embedder (after the embedding model changed, or to re-check for gaps). */
void mnemo_maint_reembed_wake(struct mnemo_maint *m);

/*
 * JSON forms for routes and the event stream (new references; NULL when out of memory).
 * Report: {started_at, duration_ms, observations_deleted, superseded_deleted, prompts_deleted,
 * events_pruned, optimized, wal_bytes_after, ok, error:{code,message}|null}.
 * Stats: {runs, last_run_at, last_duration_ms, total_cleaned, optimizes, last:<report>|null,
 * score_runs, scores_updated, last_score_at, reembedded, reembed_pending, reembed_running}.
 * Times are Unix ms (0 = never). Pure.
 */
json_t *mnemo_maint_report_json(const struct mnemo_maint_report *r);
json_t *mnemo_maint_stats_json(const struct mnemo_maint_stats *s);

void mnemo_maint_stats(struct mnemo_maint *m, struct mnemo_maint_stats *out);

/* Stops the threads (a run in progress finishes its current step). NULL is a no-op. */
void mnemo_maint_stop(struct mnemo_maint *m);

#endif
