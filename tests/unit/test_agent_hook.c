/*
 * test_agent_hook.c - the hook runner's helpers on their own: the transcript tail (last user and
 * assistant texts, the partial first line of a long file, bounds, FIFOs and deadlines), the
 * .mnemo-ignore lookup up to the git root, per-event deadlines and their override, the process
 * start time, the hook log line, and the autostart switches that act before anything is spawned.
 */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/hook.h"
#include "util/clock.h"
#include "util/strbuf.h"

struct fx {
    struct tu_dir dir;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_dir_make(&f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    unsetenv("MNEMO_HOOK_TIMEOUT_MS");
    unsetenv("MNEMO_AUTOSTART");
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

static void write_text(struct fx *f, const char *name, const char *text, char *path, size_t size)
{
    tu_path(&f->dir, name, path, size);
    tu_file_write(path, text, strlen(text));
}

static void test_hook_transcript_finds_the_last_user_and_assistant_texts(void **state)
{
    struct fx *f = *state;
    char path[512], *user = NULL, *assistant = NULL;
    write_text(f, "t.jsonl",
               "{\"type\":\"user\",\"message\":{\"content\":\"first question\"}}\n"
               "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":"
               "\"first\"},{\"type\":\"text\",\"text\":\"answer\"}]}}\n"
               "{\"type\":\"user\",\"message\":{\"content\":\"second question\"}}\n"
               "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"tool_use\"}]}}\n"
               "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\","
               "\"content\":\"not a prompt\"}]}}\n"
               "{\"type\":\"summary\",\"summary\":\"x\"}\n"
               "garbage line\n"
               "\n"
               "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":"
               "\"final answer\"}]}}",
               path, sizeof path);
    assert_int_equal(
        mnemo_hook_transcript_tail(path, mnemo_deadline_in_ms(1000), &user, &assistant, NULL), 0);
    assert_string_equal(user, "second question");
    assert_string_equal(assistant, "final answer");
    free(user);
    free(assistant);
}

static void test_hook_transcript_reads_only_the_tail_of_a_long_file(void **state)
{
    struct fx *f = *state;
    char path[512], *user = NULL, *assistant = NULL;
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    /* A user line early on, then far more than the tail of assistant lines. */
    assert_int_equal(
        mnemo_strbuf_puts(&sb, "{\"type\":\"user\",\"message\":{\"content\":\"too old\"}}\n"), 0);
    while (sb.len < 3 * MNEMO_HOOK_TRANSCRIPT_TAIL)
        assert_int_equal(mnemo_strbuf_puts(&sb, "{\"type\":\"assistant\",\"message\":{\"content\":"
                                                "\"filler filler filler\"}}\n"),
                         0);
    tu_path(&f->dir, "long.jsonl", path, sizeof path);
    tu_file_write(path, sb.data, sb.len);
    mnemo_strbuf_release(&sb);
    assert_int_equal(
        mnemo_hook_transcript_tail(path, mnemo_deadline_in_ms(1000), &user, &assistant, NULL), 0);
    assert_null(user); /* beyond the tail */
    assert_string_equal(assistant, "filler filler filler");
    free(assistant);
}

static void test_hook_transcript_cuts_long_messages_at_a_character(void **state)
{
    struct fx *f = *state;
    char path[512], *user = NULL, *assistant = NULL;
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_strbuf_puts(&sb, "{\"type\":\"assistant\",\"message\":{\"content\":\"x"),
                     0);
    for (int i = 0; i < MNEMO_HOOK_MESSAGE_MAX; i++)
        assert_int_equal(mnemo_strbuf_puts(&sb, "\xc3\xa9"), 0); /* é, two bytes */
    assert_int_equal(mnemo_strbuf_puts(&sb, "\"}}\n"), 0);
    tu_path(&f->dir, "big.jsonl", path, sizeof path);
    tu_file_write(path, sb.data, sb.len);
    mnemo_strbuf_release(&sb);
    assert_int_equal(
        mnemo_hook_transcript_tail(path, mnemo_deadline_in_ms(1000), &user, &assistant, NULL), 0);
    assert_non_null(assistant);
    size_t len = strlen(assistant);
    assert_true(len <= MNEMO_HOOK_MESSAGE_MAX && len >= MNEMO_HOOK_MESSAGE_MAX - 2);
    assert_int_equal(mnemo_utf8_cut(assistant, len), len); /* no split character */
    free(assistant);
}

static void test_hook_transcript_refuses_what_it_must_not_read(void **state)
{
    struct fx *f = *state;
    char path[512], fifo[512], *user = NULL, *assistant = NULL;
    struct mnemo_err e;

    tu_path(&f->dir, "missing.jsonl", path, sizeof path);
    assert_int_equal(
        mnemo_hook_transcript_tail(path, mnemo_deadline_in_ms(1000), &user, &assistant, &e),
        MNEMO_ENOTFOUND);
    /* A FIFO would block a plain open and read forever: refused at once. */
    tu_path(&f->dir, "fifo", fifo, sizeof fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int64_t t0 = tu_now_ms();
    assert_int_equal(
        mnemo_hook_transcript_tail(fifo, mnemo_deadline_in_ms(1000), &user, &assistant, &e),
        MNEMO_EINVAL);
    assert_true(tu_now_ms() - t0 < 500);
    /* A passed deadline stops the scan. */
    write_text(f, "t.jsonl", "{\"type\":\"user\",\"message\":{\"content\":\"q\"}}\n", path,
               sizeof path);
    assert_int_equal(
        mnemo_hook_transcript_tail(path, mnemo_clock_mono_ns() - 1, &user, &assistant, &e),
        MNEMO_ETIMEDOUT);
    assert_null(user);
    assert_null(assistant);
}

static void make_dir(const char *p)
{
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        fail_msg("mkdir '%s': %s", p, strerror(errno));
}

static void test_hook_ignore_file_counts_up_to_the_git_root(void **state)
{
    struct fx *f = *state;
    char repo[512], deep[600], git[600], ign[600], outer[600];
    tu_path(&f->dir, "repo", repo, sizeof repo);
    snprintf(deep, sizeof deep, "%s/a/b", repo);
    snprintf(git, sizeof git, "%s/.git", repo);
    make_dir(repo);
    snprintf(ign, sizeof ign, "%s/a", repo);
    make_dir(ign);
    make_dir(deep);
    make_dir(git);

    assert_false(mnemo_hook_ignored(deep));
    tu_path(&f->dir, MNEMO_HOOK_IGNORE_FILE, outer, sizeof outer);
    tu_file_write(outer, "", 0);
    assert_false(mnemo_hook_ignored(deep)); /* above the git root */
    snprintf(ign, sizeof ign, "%s/a/" MNEMO_HOOK_IGNORE_FILE, repo);
    tu_file_write(ign, "", 0);
    assert_true(mnemo_hook_ignored(deep));
    char slash[700];
    snprintf(slash, sizeof slash, "%s/", deep);
    assert_true(mnemo_hook_ignored(slash));
    assert_false(mnemo_hook_ignored(repo));
    /* Outside any repository the search goes up towards "/" and meets the outer file. */
    char plain[600];
    tu_path(&f->dir, "plain", plain, sizeof plain);
    make_dir(plain);
    assert_true(mnemo_hook_ignored(plain));
    assert_false(mnemo_hook_ignored("relative/dir"));
    assert_false(mnemo_hook_ignored(""));
    assert_false(mnemo_hook_ignored("/"));
}

static void test_hook_timeouts_have_defaults_and_one_override(void **state)
{
    (void)state;
    unsetenv("MNEMO_HOOK_TIMEOUT_MS");
    assert_int_equal(mnemo_hook_timeout_ms(MNEMO_HOOK_SESSION_START), 2000);
    assert_int_equal(mnemo_hook_timeout_ms(MNEMO_HOOK_USER_PROMPT_SUBMIT), 1000);
    assert_int_equal(mnemo_hook_timeout_ms(MNEMO_HOOK_POST_TOOL_USE), 300);
    assert_int_equal(mnemo_hook_timeout_ms(MNEMO_HOOK_STOP), 1000);
    assert_int_equal(mnemo_hook_timeout_ms(MNEMO_HOOK_SUBAGENT_STOP), 1000);
    assert_int_equal(mnemo_hook_timeout_ms(MNEMO_HOOK_SESSION_END), 800);
    assert_int_equal(mnemo_hook_timeout_ms(MNEMO_HOOK_PRE_COMPACT), 800);
    setenv("MNEMO_HOOK_TIMEOUT_MS", "150", 1);
    assert_int_equal(mnemo_hook_timeout_ms(MNEMO_HOOK_SESSION_START), 150);
    const char *bad[] = {"0", "-5", "abc", "100x", "60001", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("MNEMO_HOOK_TIMEOUT_MS", bad[i], 1);
        assert_int_equal(mnemo_hook_timeout_ms(MNEMO_HOOK_POST_TOOL_USE), 300);
    }
}

static void test_hook_process_start_is_in_the_recent_past(void **state)
{
    (void)state;
    int64_t now = mnemo_clock_mono_ns();
    int64_t start = mnemo_hook_process_start_ns();
    assert_true(start <= mnemo_clock_mono_ns());
    assert_true(now - start <= 2 * MNEMO_NS_PER_S);
}

static void test_hook_log_appends_one_private_logfmt_line(void **state)
{
    struct fx *f = *state;
    char home[512], log[600];
    struct stat st;
    tu_path(&f->dir, "home", home, sizeof home);
    mnemo_hook_log(home, MNEMO_HOOK_STOP, MNEMO_AGENT_CODEX, MNEMO_ETIMEDOUT, 42,
                   "no answer \"in\" time");
    mnemo_hook_log(home, MNEMO_HOOK_STOP, MNEMO_AGENT_CODEX, 0, 1, "ok");
    snprintf(log, sizeof log, "%s/logs/" MNEMO_HOOK_LOG_NAME, home);
    char *text = tu_file_read(log, 1 << 16, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, " level=warn event=stop agent=codex rc=MNEMO_ETIMEDOUT "
                                 "elapsed_ms=42 "));
    assert_non_null(strstr(text, "msg=\"no answer \\\"in\\\" time\"\n"));
    assert_non_null(strstr(text, " level=info event=stop agent=codex rc=ok elapsed_ms=1 "));
    size_t lines = 0;
    for (const char *p = text; *p != '\0'; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    free(text);
    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_hook_autostart_switch_and_breaker_act_before_any_spawn(void **state)
{
    struct fx *f = *state;
    char home[512], stamp[600], text[64];
    struct mnemo_err e;
    tu_path(&f->dir, "home", home, sizeof home);
    snprintf(stamp, sizeof stamp, "%s/" MNEMO_HOOK_STAMP_NAME, home);

    setenv("MNEMO_AUTOSTART", "0", 1);
    assert_int_equal(mnemo_hook_autostart(home, &e), MNEMO_EACCES);
    assert_int_equal(tu_file_size(stamp), -1);

    /* A recent attempt holds the next one back (and is left as it was). */
    unsetenv("MNEMO_AUTOSTART");
    make_dir(home);
    snprintf(text, sizeof text, "%lld\n", (long long)mnemo_clock_wall_ms() - 2000);
    tu_file_write(stamp, text, strlen(text));
    assert_int_equal(mnemo_hook_autostart(home, &e), MNEMO_EBUSY);
    char *after = tu_file_read(stamp, 64, NULL);
    assert_string_equal(after, text);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_hook_transcript_finds_the_last_user_and_assistant_texts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_transcript_reads_only_the_tail_of_a_long_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_transcript_cuts_long_messages_at_a_character,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_transcript_refuses_what_it_must_not_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_ignore_file_counts_up_to_the_git_root, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_timeouts_have_defaults_and_one_override, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_process_start_is_in_the_recent_past, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_log_appends_one_private_logfmt_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_autostart_switch_and_breaker_act_before_any_spawn,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
