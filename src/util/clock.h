/*
 * clock.h - monotonic and wall clocks, and deadlines built on them.
 *
 * Durations and deadlines use the monotonic clock (never steps backwards with NTP or the
 * user changing the time); timestamps that are stored or shown use the wall clock in Unix
 * milliseconds, the one time unit mnemo stores.
 *
 * Thread-safety: all functions are safe from any thread.
 */
#ifndef MNEMO_UTIL_CLOCK_H
#define MNEMO_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define MNEMO_NS_PER_MS INT64_C(1000000)
#define MNEMO_NS_PER_S  INT64_C(1000000000)

/* Monotonic time in nanoseconds since an arbitrary fixed point. */
int64_t mnemo_clock_mono_ns(void);

/* Monotonic time in milliseconds. */
int64_t mnemo_clock_mono_ms(void);

/* Wall-clock time in Unix milliseconds (UTC). */
int64_t mnemo_clock_wall_ms(void);

/*
 * Formats Unix milliseconds as ISO 8601 UTC with milliseconds ("2026-11-27T20:58:15.123Z").
 * buf must hold at least MNEMO_CLOCK_ISO_LEN bytes. Returns buf.
 */
#define MNEMO_CLOCK_ISO_LEN 32
const char *mnemo_clock_format_utc(int64_t unix_ms, char *buf, size_t size);

/* Sleeps for ms milliseconds, resuming after signals. ms <= 0 returns at once. */
void mnemo_clock_sleep_ms(int64_t ms);

/* Sleeps for ns nanoseconds, resuming after signals. */
void mnemo_clock_sleep_ns(int64_t ns);

/* The absolute monotonic deadline timeout_ms from now (saturating). */
int64_t mnemo_deadline_in_ms(int64_t timeout_ms);

/* Nanoseconds left until deadline_ns (monotonic); 0 when it has passed. */
int64_t mnemo_deadline_left_ns(int64_t deadline_ns);

#endif
