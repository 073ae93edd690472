/*
 * capture.h - the worker's capture thread: takes pending events from the durable queue
 * (memory/events.h) in id order, runs the extractors (capture/extract.h), cleans every draft
 * with the privacy pass (memory/obs_json.h), writes the observations (dedup by content hash),
 * summary, vectors and index entries, and marks the event done in the same write transaction
 * as the rows it produced. A failed attempt is recorded (mnemo_events_fail); after
 * MNEMO_EVENTS_MAX_ATTEMPTS the event is dead-lettered and counted. Each new observation is
 * published on the SSE stream ("observation.created") and queue changes as "queue.status".
 *
 * Ownership: created and freed by the worker; borrows the worker's store, privacy, embedder,
 * index and http server.
 * Thread-safety: kick and stats may be called from any thread; start/stop from one.
 */
#ifndef MNEMO_SERVICE_CAPTURE_H
#define MNEMO_SERVICE_CAPTURE_H

#include <stdint.h>

#include "util/err.h"

struct mnemo_worker;
struct mnemo_capture;

/* Starts the thread; it drains what is pending at once (events left from before a crash). */
int mnemo_capture_start(struct mnemo_worker *w, struct mnemo_capture **out,
                        struct mnemo_err *err);

/* Wakes the thread after an append (cheap; never blocks). */
void mnemo_capture_kick(struct mnemo_capture *c);

/* Stops the thread after the event in hand; pending events stay queued. NULL is a no-op. */
void mnemo_capture_stop(struct mnemo_capture *c);

struct mnemo_capture_stats {
    int64_t processed;     /* events done since start */
    int64_t failed_tries;  /* failed attempts since start */
    int64_t dead_lettered; /* events moved to failed since start */
    int64_t observations;  /* observations created since start */
    int64_t last_run_ms;   /* Unix ms of the last event processed, 0 = none */
};

void mnemo_capture_stats(struct mnemo_capture *c, struct mnemo_capture_stats *out);

#endif
