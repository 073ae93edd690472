/*
 * test_util_log.c - the logfmt logger: line format, levels, quoting, files, and threads.
 *
 * Every line a test writes is read back and parsed with an independent logfmt parser, so
 * the tests pin what a log shipper would see rather than how log.c builds the line.
 */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define LINE_MAX_BYTES 4096
#define MAX_FIELDS     16
#define READ_MAX       ((size_t)64 * 1024 * 1024)

/* ---- a small, strict logfmt parser ------------------------------------------------------ */

struct field {
    char key[64];
    char val[LINE_MAX_BYTES];
};

struct record {
    int n;
    struct field f[MAX_FIELDS];
};

/* Decodes one quoted value starting after the opening quote; returns the end or NULL. */
static const char *parse_quoted(const char *p, char *out, size_t size)
{
    size_t n = 0;

    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            c = *p++;
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
            else if (c == 'r')
                c = '\r';
            else if (c == 'x') {
                unsigned v;
                if (sscanf(p, "%2x", &v) != 1)
                    return NULL;
                c = (char)v;
                p += 2;
            } else if (c != '"' && c != '\\') {
                return NULL;
            }
        } else if ((unsigned char)c < 0x20) {
            return NULL; /* raw control characters never appear inside a value */
        }
        if (n + 1 >= size)
            return NULL;
        out[n++] = c;
    }
    if (*p != '"')
        return NULL;
    out[n] = '\0';
    return p + 1;
}

/* Parses `k=v k="quoted v" ...` (no newline). Returns 0, or -1 when the line is malformed. */
static int parse_logfmt(const char *line, struct record *r)
{
    const char *p = line;

    r->n = 0;
    while (*p) {
        struct field *f;
        size_t k = 0;
        if (r->n == MAX_FIELDS)
            return -1;
        f = &r->f[r->n];
        while (*p && *p != '=' && *p != ' ' && *p != '"') {
            if (k + 1 >= sizeof f->key)
                return -1;
            f->key[k++] = *p++;
        }
        if (k == 0 || *p != '=')
            return -1;
        f->key[k] = '\0';
        p++;
        if (*p == '"') {
            p = parse_quoted(p + 1, f->val, sizeof f->val);
            if (!p)
                return -1;
        } else {
            size_t v = 0;
            while (*p && *p != ' ') {
                if ((unsigned char)*p < 0x20 || *p == '"' || *p == '=' || v + 1 >= sizeof f->val)
                    return -1;
                f->val[v++] = *p++;
            }
            f->val[v] = '\0';
        }
        r->n++;
        if (*p == ' ')
            p++;
        else if (*p)
            return -1;
    }
    return r->n > 0 ? 0 : -1;
}

/* The value of key in r, or NULL. */
static const char *rec_get(const struct record *r, const char *key)
{
    for (int i = 0; i < r->n; i++) {
        if (strcmp(r->f[i].key, key) == 0)
            return r->f[i].val;
    }
    return NULL;
}

/* Checks ts is "YYYY-MM-DDTHH:MM:SS.mmmZ" within a minute of the UTC wall clock. */
static void assert_utc_timestamp(const char *ts)
{
    struct tm tm;
    int ms = -1;
    char z = 0;
    int64_t t, now;

    assert_int_equal(strlen(ts), 24);
    memset(&tm, 0, sizeof tm);
    assert_int_equal(sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &z),
                     8);
    assert_int_equal(z, 'Z');
    assert_true(ms >= 0 && ms <= 999);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = (int64_t)timegm(&tm) * 1000 + ms;
    now = mnemo_clock_wall_ms();
    /* A local-time stamp would be off by the zone offset, which the caller made non-zero. */
    assert_true(t <= now + 1000);
    assert_true(t >= now - 60000);
}

/* Reads path and parses each line into recs (malloc'd); returns the line count. */
static int read_records(const char *path, struct record **recs)
{
    size_t len = 0;
    char *buf = tu_file_read(path, READ_MAX, &len);
    int n = 0, cap = 0;
    char *p;

    assert_non_null(buf);
    assert_true(len == 0 || buf[len - 1] == '\n');
    *recs = NULL;
    for (p = buf; *p;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        assert_true(nl - p <= LINE_MAX_BYTES - 1);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            *recs = realloc(*recs, (size_t)cap * sizeof **recs);
            assert_non_null(*recs);
        }
        if (parse_logfmt(p, &(*recs)[n]) != 0)
            fail_msg("line %d is not logfmt: %s", n + 1, p);
        n++;
        p = nl + 1;
    }
    free(buf);
    return n;
}

/* ---- fixtures --------------------------------------------------------------------------- */

struct fixture {
    struct tu_dir dir;
    char path[512];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    assert_non_null(fx);
    tu_dir_make(&fx->dir);
    tu_path(&fx->dir, "mnemo.log", fx->path, sizeof fx->path);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

/* ---- format ----------------------------------------------------------------------------- */

static void test_log_line_is_logfmt_with_utc_timestamp_level_and_quoted_msg(void **state)
{
    struct fixture *fx = *state;
    struct record *recs;
    const char *old_tz = getenv("TZ");
    char saved[128] = "";
    struct mnemo_log *log = tu_log_open(fx->path);

    if (old_tz)
        snprintf(saved, sizeof saved, "%s", old_tz);
    /* A zone far from UTC makes a local-time timestamp fail the range check. */
    setenv("TZ", "XST-11", 1);
    tzset();
    mnemo_log_write(log, MNEMO_LOG_WARN, "slow database operation", "op=%s elapsed_ms=%d", "search",
                    120);
    mnemo_log_close(log);
    if (old_tz)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();

    assert_int_equal(read_records(fx->path, &recs), 1);
    assert_int_equal(recs[0].n, 5);
    assert_string_equal(recs[0].f[0].key, "ts");
    assert_string_equal(recs[0].f[1].key, "level");
    assert_string_equal(recs[0].f[2].key, "msg");
    assert_utc_timestamp(rec_get(&recs[0], "ts"));
    assert_string_equal(rec_get(&recs[0], "level"), "warn");
    assert_string_equal(rec_get(&recs[0], "msg"), "slow database operation");
    assert_string_equal(rec_get(&recs[0], "op"), "search");
    assert_string_equal(rec_get(&recs[0], "elapsed_ms"), "120");
    free(recs);

    /* The raw text: msg is always quoted, fields follow after one space. */
    {
        char *raw = tu_file_read(fx->path, READ_MAX, NULL);
        assert_non_null(strstr(raw, " level=warn msg=\"slow database operation\" op=search "
                                    "elapsed_ms=120\n"));
        free(raw);
    }
}

static void test_log_without_fields_ends_after_msg(void **state)
{
    struct fixture *fx = *state;
    struct record *recs;
    char *raw;
    struct mnemo_log *log = tu_log_open(fx->path);

    mnemo_log_write(log, MNEMO_LOG_INFO, "started", NULL);
    mnemo_log_write(log, MNEMO_LOG_INFO, "", "%s", "");
    mnemo_log_close(log);
    assert_int_equal(read_records(fx->path, &recs), 2);
    assert_int_equal(recs[0].n, 3);
    assert_string_equal(rec_get(&recs[0], "msg"), "started");
    assert_int_equal(recs[1].n, 3);
    assert_string_equal(rec_get(&recs[1], "msg"), "");
    free(recs);
    raw = tu_file_read(fx->path, READ_MAX, NULL);
    assert_non_null(strstr(raw, " msg=\"started\"\n"));
    assert_non_null(strstr(raw, " msg=\"\"\n"));
    free(raw);
}

static void test_log_quotes_spaces_quotes_and_newlines_in_msg(void **state)
{
    struct fixture *fx = *state;
    const char *msg = "say \"hi\"\nnext\tline \\ end\r\x01=";
    struct record *recs;
    char *raw;
    struct mnemo_log *log = tu_log_open(fx->path);

    mnemo_log_write(log, MNEMO_LOG_ERROR, msg, "note=%s", "x");
    mnemo_log_close(log);

    raw = tu_file_read(fx->path, READ_MAX, NULL);
    assert_non_null(raw);
    assert_ptr_equal(strchr(raw, '\n'), raw + strlen(raw) - 1);
    assert_non_null(strstr(raw, "msg=\"say \\\"hi\\\"\\nnext\\tline \\\\ end\\r\\x01=\" note=x"));
    free(raw);
    assert_int_equal(read_records(fx->path, &recs), 1);
    assert_string_equal(rec_get(&recs[0], "msg"), msg);
    assert_string_equal(rec_get(&recs[0], "note"), "x");
    free(recs);
}

static void test_log_raw_newline_in_fields_does_not_split_the_line(void **state)
{
    struct fixture *fx = *state;
    char *raw;
    struct mnemo_log *log = tu_log_open(fx->path);

    /* The caller forgot mnemo_log_quote; the entry must still be one line. */
    mnemo_log_write(log, MNEMO_LOG_INFO, "m", "a=%s b=2", "x\ny\rz");
    mnemo_log_close(log);
    raw = tu_file_read(fx->path, READ_MAX, NULL);
    assert_non_null(raw);
    assert_ptr_equal(strchr(raw, '\n'), raw + strlen(raw) - 1);
    assert_null(strchr(raw, '\r'));
    assert_non_null(strstr(raw, " msg=\"m\" a=x y z b=2\n"));
    free(raw);
}

static void test_log_quote_leaves_plain_values_bare_and_quotes_the_rest(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "search"), "search");
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "/tmp/a\\b"), "/tmp/a\\b");
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "two words"), "\"two words\"");
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "k=v"), "\"k=v\"");
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "x\"y"), "\"x\\\"y\"");
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "l1\nl2\tz"), "\"l1\\nl2\\tz\"");
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "a\\ b"), "\"a\\\\ b\"");
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, ""), "\"\"");
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, NULL), "\"\"");
    assert_ptr_equal(mnemo_log_quote(buf, sizeof buf, "x"), buf);
}

static void test_log_quote_truncates_with_ellipsis_inside_the_quotes(void **state)
{
    char buf[12];

    (void)state;
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "hello world foo bar"), "\"hello ...\"");
    assert_string_equal(mnemo_log_quote(buf, 8, "abcdefghij"), "abcd...");
    /* Exactly fitting values are not truncated. */
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "hello wor"), "\"hello wor\"");
    assert_string_equal(mnemo_log_quote(buf, sizeof buf, "abcdefghijk"), "abcdefghijk");
    /* An escape is never cut in half: `"ab\` would leave a dangling backslash. */
    assert_string_equal(mnemo_log_quote(buf, 10, "ab\"\"\"\""), "\"ab\\\"...\"");
    assert_string_equal(mnemo_log_quote(buf, 9, "ab\"\"\"\""), "\"ab...\"");
    /* Nor a UTF-8 character: only the first byte of the two-byte "\xc3\xa9" would fit. */
    assert_string_equal(mnemo_log_quote(buf, 10, "a b\xc3\xa9xyzw"), "\"a b...\"");
    assert_string_equal(mnemo_log_quote(buf, 11, "a b\xc3\xa9xyzw"), "\"a b\xc3\xa9...\"");
    /* Too small for an ellipsis: still a value that parses. */
    assert_string_equal(mnemo_log_quote(buf, 4, "a b c"), "\"\"");
}

/* ---- levels ----------------------------------------------------------------------------- */

static void test_log_writes_only_lines_at_or_above_the_level(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_log *log = NULL;
    struct mnemo_err err;
    struct record *recs;

    assert_int_equal(mnemo_log_open(fx->path, MNEMO_LOG_WARN, &log, &err), 0);
    assert_false(mnemo_log_enabled(log, MNEMO_LOG_DEBUG));
    assert_false(mnemo_log_enabled(log, MNEMO_LOG_INFO));
    assert_true(mnemo_log_enabled(log, MNEMO_LOG_WARN));
    assert_true(mnemo_log_enabled(log, MNEMO_LOG_ERROR));
    mnemo_log_write(log, MNEMO_LOG_DEBUG, "d1", NULL);
    mnemo_log_write(log, MNEMO_LOG_INFO, "i1", NULL);
    mnemo_log_write(log, MNEMO_LOG_WARN, "w1", NULL);
    mnemo_log_write(log, MNEMO_LOG_ERROR, "e1", NULL);

    mnemo_log_set_level(log, MNEMO_LOG_DEBUG);
    assert_true(mnemo_log_enabled(log, MNEMO_LOG_DEBUG));
    mnemo_log_write(log, MNEMO_LOG_DEBUG, "d2", NULL);

    mnemo_log_set_level(log, MNEMO_LOG_OFF);
    assert_false(mnemo_log_enabled(log, MNEMO_LOG_ERROR));
    mnemo_log_write(log, MNEMO_LOG_ERROR, "e2", NULL);
    /* OFF is a threshold, not a level a line can have. */
    mnemo_log_set_level(log, MNEMO_LOG_DEBUG);
    assert_false(mnemo_log_enabled(log, MNEMO_LOG_OFF));
    mnemo_log_write(log, MNEMO_LOG_OFF, "o1", NULL);
    mnemo_log_close(log);

    assert_int_equal(read_records(fx->path, &recs), 3);
    assert_string_equal(rec_get(&recs[0], "msg"), "w1");
    assert_string_equal(rec_get(&recs[1], "msg"), "e1");
    assert_string_equal(rec_get(&recs[1], "level"), "error");
    assert_string_equal(rec_get(&recs[2], "msg"), "d2");
    assert_string_equal(rec_get(&recs[2], "level"), "debug");
    free(recs);
}

static void test_log_level_parse_accepts_names_in_any_case_and_rejects_others(void **state)
{
    enum mnemo_log_level l = MNEMO_LOG_OFF;

    (void)state;
    assert_int_equal(mnemo_log_level_parse("debug", &l), 0);
    assert_int_equal(l, MNEMO_LOG_DEBUG);
    assert_int_equal(mnemo_log_level_parse("INFO", &l), 0);
    assert_int_equal(l, MNEMO_LOG_INFO);
    assert_int_equal(mnemo_log_level_parse("Warn", &l), 0);
    assert_int_equal(l, MNEMO_LOG_WARN);
    assert_int_equal(mnemo_log_level_parse("error", &l), 0);
    assert_int_equal(l, MNEMO_LOG_ERROR);
    l = MNEMO_LOG_INFO;
    assert_int_equal(mnemo_log_level_parse("verbose", &l), MNEMO_EINVAL);
    assert_int_equal(mnemo_log_level_parse("", &l), MNEMO_EINVAL);
    assert_int_equal(mnemo_log_level_parse("warning", &l), MNEMO_EINVAL);
    assert_int_equal(mnemo_log_level_parse(NULL, &l), MNEMO_EINVAL);
    assert_int_equal(l, MNEMO_LOG_INFO);
}

static void test_log_level_names_round_trip(void **state)
{
    enum mnemo_log_level l;

    (void)state;
    for (int i = MNEMO_LOG_DEBUG; i <= MNEMO_LOG_ERROR; i++) {
        assert_int_equal(mnemo_log_level_parse(mnemo_log_level_name(i), &l), 0);
        assert_int_equal(l, i);
    }
    assert_string_equal(mnemo_log_level_name(MNEMO_LOG_WARN), "warn");
    assert_string_equal(mnemo_log_level_name(MNEMO_LOG_OFF), "off");
    assert_string_equal(mnemo_log_level_name((enum mnemo_log_level)42), "unknown");
}

/* ---- destinations ----------------------------------------------------------------------- */

static void test_log_file_is_created_0600_and_appended_to(void **state)
{
    struct fixture *fx = *state;
    struct record *recs;
    struct stat st;
    mode_t old = umask(0);
    struct mnemo_log *log = tu_log_open(fx->path);

    umask(old);
    mnemo_log_write(log, MNEMO_LOG_INFO, "first", NULL);
    mnemo_log_close(log);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    log = tu_log_open(fx->path);
    mnemo_log_write(log, MNEMO_LOG_INFO, "second", NULL);
    mnemo_log_close(log);
    assert_int_equal(read_records(fx->path, &recs), 2);
    assert_string_equal(rec_get(&recs[0], "msg"), "first");
    assert_string_equal(rec_get(&recs[1], "msg"), "second");
    free(recs);
}

static void test_log_open_in_a_missing_directory_fails_naming_the_file(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_log *log = (struct mnemo_log *)&log;
    struct mnemo_err err;
    char path[600];

    snprintf(path, sizeof path, "%s/no/such/dir.log", fx->dir.path);
    mnemo_err_clear(&err);
    assert_int_equal(mnemo_log_open(path, MNEMO_LOG_INFO, &log, &err), MNEMO_ENOTFOUND);
    assert_null(log);
    assert_int_equal(err.code, MNEMO_ENOTFOUND);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file or directory"));
}

static void test_log_open_rejects_an_invalid_level(void **state)
{
    struct mnemo_log *log = NULL;
    struct mnemo_err err;

    (void)state;
    assert_int_equal(mnemo_log_open(NULL, (enum mnemo_log_level)7, &log, &err), MNEMO_EINVAL);
    assert_null(log);
    assert_int_equal(mnemo_log_open("", MNEMO_LOG_INFO, &log, &err), MNEMO_EINVAL);
    assert_int_equal(mnemo_log_open(NULL, MNEMO_LOG_INFO, NULL, &err), MNEMO_EINVAL);
}

static void test_log_to_stderr_for_null_or_dash_path(void **state)
{
    struct fixture *fx = *state;
    struct record *recs;
    struct mnemo_log *a, *b;
    int saved, fd;

    fd = open(fx->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    a = tu_log_open(NULL);
    b = tu_log_open("-");
    mnemo_log_write(a, MNEMO_LOG_INFO, "via null", NULL);
    mnemo_log_write(b, MNEMO_LOG_INFO, "via dash", NULL);
    mnemo_log_close(a);
    mnemo_log_close(b);
    /* Closing a stderr logger must leave stderr open. */
    assert_int_equal(write(STDERR_FILENO, "", 0), 0);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(fd);

    assert_int_equal(read_records(fx->path, &recs), 2);
    assert_string_equal(rec_get(&recs[0], "msg"), "via null");
    assert_string_equal(rec_get(&recs[1], "msg"), "via dash");
    free(recs);
}

static void test_log_null_logger_discards_everything(void **state)
{
    (void)state;
    mnemo_log_write(NULL, MNEMO_LOG_ERROR, "dropped", "k=%d", 1);
    mnemo_log_set_level(NULL, MNEMO_LOG_DEBUG);
    assert_false(mnemo_log_enabled(NULL, MNEMO_LOG_ERROR));
    mnemo_log_close(NULL);
}

/* ---- long lines ------------------------------------------------------------------------- */

static void test_log_long_fields_are_cut_at_a_field_boundary_within_4k(void **state)
{
    struct fixture *fx = *state;
    struct record *recs;
    char *big = malloc(10000);
    char *quoted = malloc(10100);
    struct mnemo_log *log = tu_log_open(fx->path);

    assert_non_null(big);
    assert_non_null(quoted);
    for (int i = 0; i < 9999; i++)
        big[i] = i % 10 == 9 ? ' ' : 'a';
    big[9999] = '\0';
    mnemo_log_quote(quoted, 10100, big);
    mnemo_log_write(log, MNEMO_LOG_INFO, "long", "a=1 b=2 big=%s c=3", quoted);
    mnemo_log_close(log);

    assert_int_equal(read_records(fx->path, &recs), 1);
    assert_string_equal(rec_get(&recs[0], "a"), "1");
    assert_string_equal(rec_get(&recs[0], "b"), "2");
    assert_null(rec_get(&recs[0], "big"));
    assert_string_equal(rec_get(&recs[0], "truncated"), "true");
    assert_true(tu_file_size(fx->path) <= LINE_MAX_BYTES);
    free(recs);
    free(big);
    free(quoted);
}

static void test_log_long_msg_is_truncated_with_ellipsis_within_4k(void **state)
{
    struct fixture *fx = *state;
    struct record *recs;
    char *big = malloc(10000);
    const char *msg;
    struct mnemo_log *log = tu_log_open(fx->path);

    assert_non_null(big);
    memset(big, 'm', 9999);
    big[9999] = '\0';
    mnemo_log_write(log, MNEMO_LOG_INFO, big, "k=%d", 1);
    mnemo_log_close(log);

    assert_int_equal(tu_file_size(fx->path), LINE_MAX_BYTES);
    assert_int_equal(read_records(fx->path, &recs), 1);
    msg = rec_get(&recs[0], "msg");
    assert_non_null(msg);
    assert_true(strlen(msg) > 3000);
    assert_string_equal(msg + strlen(msg) - 3, "...");
    free(recs);
    free(big);
}

/* ---- threads ---------------------------------------------------------------------------- */

#define N_WRITERS        8
#define LINES_PER_WRITER 2000

struct writer {
    pthread_t tid;
    int id;
    struct mnemo_log *log;
};

struct toggler {
    pthread_t tid;
    struct mnemo_log *log;
    atomic_int stop;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char pad[301];
    char note[64];

    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    mnemo_log_quote(note, sizeof note, "from a \"writer\" thread");
    for (int i = 0; i < LINES_PER_WRITER; i++)
        mnemo_log_write(w->log, MNEMO_LOG_ERROR, "concurrent write",
                        "thread=%d seq=%d note=%s pad=%s", w->id, i, note, pad);
    return NULL;
}

/* Flips the threshold below the writers' level while they write, to race set_level. */
static void *toggler_main(void *arg)
{
    struct toggler *t = arg;
    int flip = 0;

    while (!atomic_load(&t->stop)) {
        mnemo_log_set_level(t->log, flip ? MNEMO_LOG_DEBUG : MNEMO_LOG_WARN);
        flip = !flip;
        (void)mnemo_log_enabled(t->log, MNEMO_LOG_INFO);
    }
    return NULL;
}

static void test_log_concurrent_writers_produce_only_whole_lines(void **state)
{
    struct fixture *fx = *state;
    struct writer w[N_WRITERS];
    struct toggler t;
    struct record *recs;
    int next[N_WRITERS] = {0};
    int n;
    struct mnemo_log *log = tu_log_open(fx->path);

    t.log = log;
    atomic_init(&t.stop, 0);
    assert_int_equal(pthread_create(&t.tid, NULL, toggler_main, &t), 0);
    for (int i = 0; i < N_WRITERS; i++) {
        w[i].id = i;
        w[i].log = log;
        assert_int_equal(pthread_create(&w[i].tid, NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < N_WRITERS; i++)
        assert_int_equal(pthread_join(w[i].tid, NULL), 0);
    atomic_store(&t.stop, 1);
    assert_int_equal(pthread_join(t.tid, NULL), 0);
    mnemo_log_close(log);

    n = read_records(fx->path, &recs);
    assert_int_equal(n, N_WRITERS * LINES_PER_WRITER);
    for (int i = 0; i < n; i++) {
        const char *tid = rec_get(&recs[i], "thread");
        const char *seq = rec_get(&recs[i], "seq");
        const char *pad = rec_get(&recs[i], "pad");
        int id;
        assert_int_equal(recs[i].n, 7);
        assert_string_equal(rec_get(&recs[i], "msg"), "concurrent write");
        assert_string_equal(rec_get(&recs[i], "note"), "from a \"writer\" thread");
        assert_non_null(tid);
        assert_non_null(seq);
        assert_non_null(pad);
        assert_int_equal(strlen(pad), 300);
        id = (int)strtol(tid, NULL, 10);
        assert_true(id >= 0 && id < N_WRITERS);
        /* Each writer's lines arrive complete, once each, in the order it wrote them. */
        assert_int_equal(strtol(seq, NULL, 10), next[id]);
        next[id]++;
    }
    for (int i = 0; i < N_WRITERS; i++)
        assert_int_equal(next[i], LINES_PER_WRITER);
    free(recs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_log_line_is_logfmt_with_utc_timestamp_level_and_quoted_msg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_without_fields_ends_after_msg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_quotes_spaces_quotes_and_newlines_in_msg, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_raw_newline_in_fields_does_not_split_the_line,
                                        setup, teardown),
        cmocka_unit_test(test_log_quote_leaves_plain_values_bare_and_quotes_the_rest),
        cmocka_unit_test(test_log_quote_truncates_with_ellipsis_inside_the_quotes),
        cmocka_unit_test_setup_teardown(test_log_writes_only_lines_at_or_above_the_level, setup,
                                        teardown),
        cmocka_unit_test(test_log_level_parse_accepts_names_in_any_case_and_rejects_others),
        cmocka_unit_test(test_log_level_names_round_trip),
        cmocka_unit_test_setup_teardown(test_log_file_is_created_0600_and_appended_to, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_open_in_a_missing_directory_fails_naming_the_file,
                                        setup, teardown),
        cmocka_unit_test(test_log_open_rejects_an_invalid_level),
        cmocka_unit_test_setup_teardown(test_log_to_stderr_for_null_or_dash_path, setup, teardown),
        cmocka_unit_test(test_log_null_logger_discards_everything),
        cmocka_unit_test_setup_teardown(test_log_long_fields_are_cut_at_a_field_boundary_within_4k,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_long_msg_is_truncated_with_ellipsis_within_4k,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_concurrent_writers_produce_only_whole_lines, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("util_log", tests, NULL, NULL);
}
