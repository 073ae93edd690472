/*
 * daemon.h - internal helpers of the worker's process lifecycle (service/worker.c): the
 * one-worker-per-home lock and pid file, the token file, detaching into a daemon with a
 * start-up report back to the launching process, and the size-rotated log file.
 *
 * Not a public header: only worker.c and daemon.c include it.
 * Thread-safety: the lock, pid, token and detach helpers run on the worker's main thread
 * before any other thread exists (detach must: it forks). mnemo__worker_log_rotate may run
 * while other threads log: it swaps the descriptor under stderr with dup2, which is atomic
 * with respect to their write(2) calls.
 */
#ifndef MNEMO_SERVICE_DAEMON_H
#define MNEMO_SERVICE_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* How long a launching process waits for the daemon's listener before it gives up. */
#define MNEMO_WORKER_DETACH_WAIT_MS 30000

/* Writes home + "/" + name into buf. Returns 0 or MNEMO_EINVAL (too long, named in err). */
int mnemo__worker_path(char *buf, size_t size, const char *home, const char *name,
                       struct mnemo_err *err);

/*
 * Takes the worker lock of home (home/worker.lock, flock LOCK_EX|LOCK_NB on an O_CLOEXEC
 * descriptor, so it dies with the process, even after kill -9). Returns 0 and *fd (the caller
 * closes it to release), MNEMO_EEXIST "another worker is running ... (pid N)" when another
 * process holds it, or MNEMO_EIO/EACCES.
 */
int mnemo__worker_lock(const char *home, int *fd, struct mnemo_err *err);

/* Writes this process's pid into home/worker.pid (0600). Returns 0 or an I/O error. */
int mnemo__worker_pid_write(const char *home, struct mnemo_err *err);

/* Removes home/worker.pid (a missing file is fine). */
void mnemo__worker_pid_remove(const char *home);

/*
 * The token of home: reads home/token, or creates it (32 bytes from libsodium's
 * randombytes_buf as 64 lowercase hex characters, written atomically with mode 0600) when it
 * does not exist. A token file that group or others may access, that another user owns or
 * that is not a regular file is refused with MNEMO_EACCES (a token others could read is no
 * secret; the message says how to fix it); one that does not hold 64 hex characters is
 * MNEMO_EINVAL. out receives the NUL-terminated hex token.
 */
int mnemo__worker_token(const char *home, char out[65], struct mnemo_err *err);

/*
 * Detaches into a daemon: fork, setsid, fork again (so the daemon can never reacquire a
 * terminal), chdir("/"), umask 077, stdin from /dev/null, stdout and stderr appended to
 * log_path (created 0600; its directory must exist), every other inherited descriptor closed.
 * The calling process must be single-threaded.
 *
 * Returns 1 in the daemon, with *report_fd the write end of the start-up pipe (for
 * mnemo__worker_report). Returns 0 in the calling process once the daemon reported that its
 * listener is up, or the daemon's error (its code and message in err), MNEMO_EIO when it died
 * without a report, or MNEMO_ETIMEDOUT after MNEMO_WORKER_DETACH_WAIT_MS. The intermediate
 * process never returns.
 */
int mnemo__worker_detach(const char *log_path, int *report_fd, struct mnemo_err *err);

/* Sends the start-up result (rc 0 = listening; else err's message) and closes fd. fd < 0 is a
 * no-op; *fd is set to -1. */
void mnemo__worker_report(int *fd, int rc, const struct mnemo_err *err);

/*
 * Points stderr (and stdout too when with_stdout) at log_path, opened for append with mode
 * 0600. Returns 0 or an I/O error naming the file.
 */
int mnemo__worker_log_redirect(const char *log_path, int with_stdout, struct mnemo_err *err);

/*
 * Rotates log_path when it has reached max_bytes (0 = never): renames it to log_path ".1"
 * (replacing the previous one) and redirects stderr and stdout to a new file. Returns 1 when it
 * rotated, 0 when not needed, or a negative code (logging goes on into the old file).
 */
int mnemo__worker_log_rotate(const char *log_path, int64_t max_bytes, struct mnemo_err *err);

#endif
