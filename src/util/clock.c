/*
 * clock.c - monotonic and wall clocks, sleeping, and saturating deadline arithmetic.
 *
 * Deadlines are absolute monotonic nanoseconds. Arithmetic on them saturates instead of
 * overflowing, so "no practical limit" can be written as a huge timeout without wrapping into
 * the past and failing every operation at once.
 */
#include "util/clock.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

/* a + b for b >= 0, clamped to INT64_MAX. */
static int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    return a + b;
}

/* v * m for v >= 0 and m > 0, clamped to INT64_MAX. */
static int64_t mul_sat(int64_t v, int64_t m)
{
    if (v > INT64_MAX / m)
        return INT64_MAX;
    return v * m;
}

/* Reads clk in nanoseconds, clamped to the int64_t range. */
static int64_t clock_ns(clockid_t clk)
{
    struct timespec ts;

    /*
     * clock_gettime fails only for a clock id the kernel does not know, which the two ids used
     * here never are. If it ever did, 0 makes every deadline look already expired, which fails
     * safe where a garbage value could make an operation wait forever.
     */
    if (clock_gettime(clk, &ts) != 0)
        return 0;
    if (ts.tv_sec < 0)
        return (int64_t)ts.tv_sec * MNEMO_NS_PER_S + ts.tv_nsec;
    return add_sat(mul_sat((int64_t)ts.tv_sec, MNEMO_NS_PER_S), ts.tv_nsec);
}

/* Monotonic time in nanoseconds since an arbitrary fixed point. */
int64_t mnemo_clock_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* Monotonic time in milliseconds. */
int64_t mnemo_clock_mono_ms(void)
{
    return mnemo_clock_mono_ns() / MNEMO_NS_PER_MS;
}

/* Wall-clock time in Unix milliseconds (UTC). */
int64_t mnemo_clock_wall_ms(void)
{
    struct timespec ts;

    /* CLOCK_REALTIME always exists; see clock_ns for why failure reads as 0. */
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / MNEMO_NS_PER_MS;
}

/* Formats Unix milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf; returns buf. */
const char *mnemo_clock_format_utc(int64_t unix_ms, char *buf, size_t size)
{
    /* Floor division, so -1 ms is 23:59:59.999 of the day before, not 00:00:00.-01. */
    int64_t secs = unix_ms / 1000;
    int64_t ms = unix_ms % 1000;
    struct tm tm;
    time_t t;

    if (!buf || size == 0)
        return buf;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm)) {
        /* Only a year beyond int's range gets here; say so rather than print a wrong date. */
        snprintf(buf, size, "%s", "invalid-time");
        return buf;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    return buf;
}

/* Sleeps ns nanoseconds on the monotonic clock, resuming after signals. */
void mnemo_clock_sleep_ns(int64_t ns)
{
    struct timespec until;
    int64_t deadline;
    int rc;

    if (ns <= 0)
        return;
    /*
     * Sleeping to an absolute deadline means a signal storm cannot stretch the sleep: each
     * resumption waits only for what is left, not the whole interval again.
     */
    deadline = add_sat(mnemo_clock_mono_ns(), ns);
    until.tv_sec = (time_t)(deadline / MNEMO_NS_PER_S);
    until.tv_nsec = (long)(deadline % MNEMO_NS_PER_S);
    /* Any other result is EINVAL, which a normalised timespec cannot produce: stop waiting. */
    do {
        rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    } while (rc == EINTR);
}

/* Sleeps ms milliseconds, resuming after signals. ms <= 0 returns at once. */
void mnemo_clock_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    mnemo_clock_sleep_ns(mul_sat(ms, MNEMO_NS_PER_MS));
}

/* The monotonic deadline timeout_ms from now; a negative timeout means "already due". */
int64_t mnemo_deadline_in_ms(int64_t timeout_ms)
{
    int64_t now = mnemo_clock_mono_ns();

    if (timeout_ms <= 0)
        return now;
    return add_sat(now, mul_sat(timeout_ms, MNEMO_NS_PER_MS));
}

/* Nanoseconds left until deadline_ns; 0 when it has passed. */
int64_t mnemo_deadline_left_ns(int64_t deadline_ns)
{
    int64_t now = mnemo_clock_mono_ns();

    if (deadline_ns <= now)
        return 0;
    return deadline_ns - now;
}
