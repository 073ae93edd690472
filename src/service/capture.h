/*
 * capture.h - the worker's capture thread: takes pending events from the durable queue
 * (memory/events.h) in id order, runs the extractors (capture/extract.h), cleans every draft
 * with the privacy pass (memory/obs_json.h), writes the observations (dedup by content hash),
 * summary, vectors and index entries, and marks the event done in the same write transaction
 * as the rows it produced. A failed attempt is recorded (mnemo_events_fail); after
 * MNEMO_EVENTS_MAX_ATTEMPTS the event is dead-lettered and counted. A failure that says
 * nothing about the event (the store busy past its deadline, disk full, store closing) is
 * logged and not counted: the event stays pending and is tried again a second later.
 *
 * An event's stored payload is the agent's hook object, or an object holding it under
 * "payload" next to "project"/"cwd"/"session_id". The project is, in this order, the one
 * named there, the session's (event session_id, else agent + agent_session_id), or the one
 * mnemo_project_identify derives from the cwd; an event whose project stays unknown is done
 * with nothing stored. A summary without a request gets the session's first stored prompt. Each new
 * observation is published on the SSE stream ("observation.created") and queue changes as
 * "queue.status".
 *
 * Ownership: created and freed by the worker; borrows the worker's store, privacy, embedder,
 * index and http server.
 * Thread-safety: kick and stats may be called from any thread; start/stop from one.
 */
#ifndef MNEMO_SERVICE_CAPTURE_H
#define MNEMO_SERVICE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct mnemo_worker;
struct mnemo_capture;
struct mnemo_extractor;

/*
 * Starts the thread with the rules extractor alone; it drains what is pending at once
 * (events left from before a crash). w->st and w->priv must be set (MNEMO_EINVAL otherwise):
 * nothing is stored without the privacy pass. w->emb, w->vx and w->http may be NULL.
 */
int mnemo_capture_start(struct mnemo_worker *w, struct mnemo_capture **out, struct mnemo_err *err);

/* Most extractors one capture thread runs. */
#define MNEMO_CAPTURE_MAX_EXTRACTORS 4

/*
 * Added for the LLM extractor seam: starts the thread with the n (1 to
 * MNEMO_CAPTURE_MAX_EXTRACTORS) extractors x, run in this order on every event, whose drafts
 * are written together. Takes ownership of every extractor, also on failure (they are freed
 * by mnemo_capture_stop, or here when starting fails).
 *
 * Summaries: memory/summary.h has no variant that runs inside the caller's transaction, so a
 * summary is written in its own transaction before the one that writes the observations and
 * marks the event done. It is made idempotent instead: before writing, the thread looks for a
 * summary of the same session (or project) with the event's created_at and the same text,
 * and writes nothing when one exists, so an event retried after a failure between the two
 * transactions never gets a second summary.
 */
int mnemo_capture_start_with(struct mnemo_worker *w, struct mnemo_extractor *const *x, size_t n,
                             struct mnemo_capture **out, struct mnemo_err *err);

/* Wakes the thread after an append (cheap; never blocks). */
void mnemo_capture_kick(struct mnemo_capture *c);

/*
 * Stops publishing on the worker's HTTP server (captured at start from w->http): once this
 * returns no publish is running or can start, so the server may be stopped and freed while
 * the thread goes on. NULL is a no-op.
 */
void mnemo_capture_detach_http(struct mnemo_capture *c);

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
