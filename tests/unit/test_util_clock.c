/*
 * test_util_clock.c - clocks, sleeping, UTC formatting and deadline arithmetic.
 *
 * Timing bounds are one-sided where the kernel decides (a sleep is never shorter than asked)
 * and loose where the machine decides (a loaded CI box may oversleep by a lot).
 */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "util/clock.h"

/*
 * ThreadSanitizer defers signal handlers to its next interception point, so under it the
 * handler may not have run by the time the sleep returns even though the signal did interrupt
 * the system call.
 */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

/* Generous upper bound for "returned promptly" on a busy CI machine. */
#define SLACK_MS 2000

static void test_clock_mono_never_goes_backwards(void **state)
{
    int64_t prev = mnemo_clock_mono_ns();

    (void)state;
    assert_true(prev > 0);
    for (int i = 0; i < 200000; i++) {
        int64_t now = mnemo_clock_mono_ns();
        assert_true(now >= prev);
        prev = now;
    }
}

static void test_clock_mono_ms_and_ns_agree(void **state)
{
    int64_t ns1, ms, ns2;

    (void)state;
    ns1 = mnemo_clock_mono_ns();
    ms = mnemo_clock_mono_ms();
    ns2 = mnemo_clock_mono_ns();
    assert_true(ms >= ns1 / MNEMO_NS_PER_MS);
    assert_true(ms <= ns2 / MNEMO_NS_PER_MS);
}

static void test_clock_wall_ms_is_unix_time_in_milliseconds(void **state)
{
    struct timespec ts;
    int64_t wall, ref;

    (void)state;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    ref = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    wall = mnemo_clock_wall_ms();
    assert_true(wall >= ref);
    assert_true(wall - ref < SLACK_MS);
    /* Later than 2023-11-14, so not seconds and not nanoseconds. */
    assert_true(wall > INT64_C(1700000000000));
    assert_true(wall < INT64_C(100000000000000));
}

static void test_clock_format_utc_of_known_values(void **state)
{
    char buf[MNEMO_CLOCK_ISO_LEN];

    (void)state;
    assert_ptr_equal(mnemo_clock_format_utc(0, buf, sizeof buf), buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    mnemo_clock_format_utc(INT64_C(1700000000123), buf, sizeof buf);
    assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
    mnemo_clock_format_utc(INT64_C(951782400007), buf, sizeof buf);
    assert_string_equal(buf, "2000-02-29T00:00:00.007Z");
    /* Before the epoch the milliseconds still count forwards within the second. */
    mnemo_clock_format_utc(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
}

static void test_clock_format_utc_ignores_the_local_time_zone(void **state)
{
    char buf[MNEMO_CLOCK_ISO_LEN];
    const char *old = getenv("TZ");
    char saved[128] = "";

    (void)state;
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    assert_int_equal(setenv("TZ", "XST-5:30", 1), 0);
    tzset();
    mnemo_clock_format_utc(INT64_C(1700000000123), buf, sizeof buf);
    if (old)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
}

static void test_clock_format_utc_truncates_into_a_small_buffer(void **state)
{
    char buf[8];

    (void)state;
    memset(buf, 'x', sizeof buf);
    mnemo_clock_format_utc(0, buf, 5);
    assert_string_equal(buf, "1970");
    assert_int_equal(buf[5], 'x');
    assert_null(mnemo_clock_format_utc(0, NULL, 10));
}

static void test_clock_sleep_ms_sleeps_at_least_the_requested_time(void **state)
{
    int64_t t0, elapsed;

    (void)state;
    t0 = mnemo_clock_mono_ns();
    mnemo_clock_sleep_ms(50);
    elapsed = mnemo_clock_mono_ns() - t0;
    assert_true(elapsed >= 50 * MNEMO_NS_PER_MS);
    assert_true(elapsed < (50 + SLACK_MS) * MNEMO_NS_PER_MS);

    t0 = mnemo_clock_mono_ns();
    mnemo_clock_sleep_ns(3 * MNEMO_NS_PER_MS);
    elapsed = mnemo_clock_mono_ns() - t0;
    assert_true(elapsed >= 3 * MNEMO_NS_PER_MS);
}

static void test_clock_sleep_of_zero_or_less_returns_at_once(void **state)
{
    int64_t t0, elapsed;

    (void)state;
    t0 = mnemo_clock_mono_ns();
    mnemo_clock_sleep_ms(0);
    mnemo_clock_sleep_ms(-1000);
    mnemo_clock_sleep_ms(INT64_MIN);
    mnemo_clock_sleep_ns(0);
    mnemo_clock_sleep_ns(-5 * MNEMO_NS_PER_S);
    elapsed = mnemo_clock_mono_ns() - t0;
    assert_true(elapsed < SLACK_MS * MNEMO_NS_PER_MS);
}

/* Counts SIGALRM deliveries. A signal handler can reach only a file-scope object. */
static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_clock_sleep_resumes_after_a_signal_interrupts_it(void **state)
{
    struct sigaction sa, old;
    struct itimerval tv, off;
    int64_t t0, elapsed;

    (void)state;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: the kernel then returns EINTR from the sleep instead of resuming it. */
    sa.sa_flags = 0;
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    memset(&tv, 0, sizeof tv);
    tv.it_value.tv_usec = 20000;
    tv.it_interval.tv_usec = 20000;
    memset(&off, 0, sizeof off);
    alarms = 0;

    assert_int_equal(setitimer(ITIMER_REAL, &tv, NULL), 0);
    t0 = mnemo_clock_mono_ns();
    mnemo_clock_sleep_ms(150);
    elapsed = mnemo_clock_mono_ns() - t0;
    assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
    assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);

    if (!UNDER_TSAN)
        assert_true(alarms >= 2);
    assert_true(elapsed >= 150 * MNEMO_NS_PER_MS);
    assert_true(elapsed < (150 + SLACK_MS) * MNEMO_NS_PER_MS);
}

static void test_deadline_in_ms_is_that_far_in_the_future(void **state)
{
    int64_t before, d, after, left;

    (void)state;
    before = mnemo_clock_mono_ns();
    d = mnemo_deadline_in_ms(1000);
    after = mnemo_clock_mono_ns();
    assert_true(d >= before + 1000 * MNEMO_NS_PER_MS);
    assert_true(d <= after + 1000 * MNEMO_NS_PER_MS);
    left = mnemo_deadline_left_ns(d);
    assert_true(left > 0);
    assert_true(left <= 1000 * MNEMO_NS_PER_MS);
}

static void test_deadline_arithmetic_saturates_instead_of_wrapping(void **state)
{
    (void)state;
    assert_true(mnemo_deadline_in_ms(INT64_MAX) == INT64_MAX);
    assert_true(mnemo_deadline_in_ms(INT64_MAX / 1000) == INT64_MAX);
    assert_true(mnemo_deadline_left_ns(INT64_MAX) > INT64_MAX / 2);
}

static void test_deadline_left_is_zero_once_the_deadline_passed(void **state)
{
    int64_t d;

    (void)state;
    assert_true(mnemo_deadline_left_ns(0) == 0);
    assert_true(mnemo_deadline_left_ns(INT64_MIN) == 0);
    assert_true(mnemo_deadline_left_ns(mnemo_clock_mono_ns() - MNEMO_NS_PER_S) == 0);
    /* A zero or negative timeout is due at once, not far in the future. */
    assert_true(mnemo_deadline_left_ns(mnemo_deadline_in_ms(0)) == 0);
    assert_true(mnemo_deadline_left_ns(mnemo_deadline_in_ms(-5)) == 0);
    assert_true(mnemo_deadline_left_ns(mnemo_deadline_in_ms(INT64_MIN)) == 0);

    d = mnemo_deadline_in_ms(20);
    mnemo_clock_sleep_ms(25);
    assert_true(mnemo_deadline_left_ns(d) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_mono_never_goes_backwards),
        cmocka_unit_test(test_clock_mono_ms_and_ns_agree),
        cmocka_unit_test(test_clock_wall_ms_is_unix_time_in_milliseconds),
        cmocka_unit_test(test_clock_format_utc_of_known_values),
        cmocka_unit_test(test_clock_format_utc_ignores_the_local_time_zone),
        cmocka_unit_test(test_clock_format_utc_truncates_into_a_small_buffer),
        cmocka_unit_test(test_clock_sleep_ms_sleeps_at_least_the_requested_time),
        cmocka_unit_test(test_clock_sleep_of_zero_or_less_returns_at_once),
        cmocka_unit_test(test_clock_sleep_resumes_after_a_signal_interrupts_it),
        cmocka_unit_test(test_deadline_in_ms_is_that_far_in_the_future),
        cmocka_unit_test(test_deadline_arithmetic_saturates_instead_of_wrapping),
        cmocka_unit_test(test_deadline_left_is_zero_once_the_deadline_passed),
    };
    return cmocka_run_group_tests_name("util_clock", tests, NULL, NULL);
}
