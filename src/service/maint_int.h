/*
 * maint_int.h - internals shared by maint.c (runs, scheduler, lifecycle) and maint_reembed.c
 * (the background re-embedder). Not a public header.
 *
 * Locking: mu guards every field below it; the threads wait on their own condition variables
 * (monotonic clock) under mu, and stop broadcasts all of them.
 */
#ifndef MNEMO_SERVICE_MAINT_INT_H
#define MNEMO_SERVICE_MAINT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "service/maint.h"
#include "service/worker.h"

struct mnemo_maint {
    struct mnemo_worker *w; /* borrowed */
    int64_t started_mono_ns;
    _Atomic int stop; /* read without mu between batches */

    pthread_t sched_thread, reembed_thread;
    int sched_started, reembed_started;

    pthread_mutex_t mu;
    pthread_cond_t sched_cv;   /* the scheduler's timers */
    pthread_cond_t reembed_cv; /* the re-embedder's wake-ups and pauses */
    pthread_cond_t run_cv;     /* a run finished */
    int running;               /* a maintenance run is in progress */
    int64_t run_seq;           /* runs finished (waiters watch it change) */
    int reembed_wake;          /* work may be waiting for the re-embedder */
    struct mnemo_maint_stats stats;
    struct mnemo_http *http; /* where "maintenance.ran" goes; NULL once detached */
};

/* Waits on cv (under mu, held) until deadline_ns (monotonic, absolute). */
void mnemo__maint_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ns);

/* The re-embed thread's body (arg is the struct mnemo_maint). */
void *mnemo__maint_reembed_main(void *arg);

#endif
