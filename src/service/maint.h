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

struct mnemo_maint_stats {
    int64_t runs, last_run_ms, last_duration_ms, total_cleaned, optimizes;
    struct mnemo_maint_report last;
    int64_t score_runs, scores_updated, last_score_ms;
    int64_t reembedded, reembed_pending; /* vectors written by the background re-embedder */
    int reembed_running;
};

/* Starts the scheduler, score and re-embed threads. */
int mnemo_maint_start(struct mnemo_worker *w, struct mnemo_maint **out, struct mnemo_err *err);

/* Runs maintenance now (synchronously) within deadline_ns (absolute mono ns, 0 = 60 s). */
int mnemo_maint_run(struct mnemo_maint *m, int64_t deadline_ns, struct mnemo_maint_report *out,
                    struct mnemo_err *err);

void mnemo_maint_stats(struct mnemo_maint *m, struct mnemo_maint_stats *out);

/* Stops the threads (a run in progress finishes its current step). NULL is a no-op. */
void mnemo_maint_stop(struct mnemo_maint *m);

#endif
