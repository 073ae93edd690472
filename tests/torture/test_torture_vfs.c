/*
 * test_torture_vfs.c - I/O errors injected under the store (tests/torture/vfs_fault.h), looped
 * the way SQLite's own ioerr tests loop: for N = 1, 2, ... the Nth call of one VFS operation
 * fails while a real operation runs, until N passes the number of calls that operation makes.
 * After every injected failure, with faults off: the operation returned an error (no crash,
 * no silent success), PRAGMA integrity_check and FTS5's integrity-check pass, the transaction
 * is wholly there or wholly absent, and the store goes on working (the next write and a
 * TRUNCATE checkpoint succeed). ASan (the asan build) adds: no leak on any error path.
 *
 * Operations looped: (a) a capture transaction (an observation with its FTS row by trigger, its
 * vector row and its event marked done, in one mnemo_store_write, as the capture thread
 * writes), (b) a TRUNCATE checkpoint of a WAL holding committed rows (which must all survive),
 * (c) opening the store (connections, pragmas, migrations check, warm-up). Plus system-call
 * level EINTR and short writes, which SQLite must hide completely.
 *
 * Thread-safety: one thread (the store's checkpointer thread is off).
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "embed/embed.h"
#include "memory/events.h"
#include "memory/obs.h"
#include "memory/schema.h"
#include "store/store.h"
#include "util/clock.h"
#include "vfs_fault.h"

/* More calls than any looped operation makes: reaching it means the loop never ended. */
#define MAX_N 400

struct tv {
    struct tu_dir dir;
    char db[512];
    struct mnemo_embedder *emb;
    int seq;              /* observations attempted (unique titles) */
    int64_t committed;    /* observations known committed */
    uint64_t faults;      /* faults injected in this test */
    uint64_t errors_seen; /* injected faults that came back as an error */
    uint64_t errors_mark; /* errors_seen when the current loop started */
};

static struct mnemo_store *open_store(struct tv *t, struct mnemo_err *err)
{
    struct mnemo_store_config cfg;
    struct mnemo_store *st = NULL;
    mnemo_memory_store_config(&cfg, t->db, MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER);
    cfg.vfs = VF_NAME;
    cfg.max_conns = 2;
    if (mnemo_store_open(&cfg, &st, err) != 0)
        return NULL;
    return st;
}

static struct mnemo_store *must_open(struct tv *t)
{
    struct mnemo_err e = {0};
    struct mnemo_store *st = open_store(t, &e);
    if (st == NULL)
        fail_msg("store open (no faults): %s", e.msg);
    return st;
}

static int setup(void **state)
{
    struct tv *t = calloc(1, sizeof *t);
    struct mnemo_embed_config ec;
    struct mnemo_err e = {0};
    assert_non_null(t);
    assert_int_equal(vf_register(), SQLITE_OK);
    vf_reset();
    tu_dir_make(&t->dir);
    tu_path(&t->dir, "mnemo.db", t->db, sizeof t->db);
    mnemo_embed_config_init(&ec);
    if (mnemo_embed_open(&ec, &t->emb, &e) != 0)
        fail_msg("embed: %s", e.msg);
    mnemo_store_close(must_open(t)); /* the schema, written without faults */
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tv *t = *state;
    vf_disarm();
    print_message("faults injected: %llu (%llu reached the caller as errors)\n",
                  (unsigned long long)t->faults, (unsigned long long)t->errors_seen);
    mnemo_embed_close(t->emb);
    tu_dir_remove(&t->dir);
    free(t);
    return 0;
}

/* ---- the capture transaction ------------------------------------------------------------- */

struct capture {
    struct mnemo_obs obs;
    char title[64];
    const char *facts[1];
    float *vec;
    int dim;
    const char *model;
    int64_t event_id;
};

static int capture_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct capture *c = arg;
    struct mnemo_obs_created out;
    sqlite3_stmt *s = NULL;
    int rc = mnemo_obs_create_conn(conn, &c->obs, &out, err);
    if (rc != 0)
        return rc;
    rc = mnemo_conn_prepare_cached(conn,
                                   "INSERT INTO vectors(observation_id, model_id, dim, embedding,"
                                   " created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                                   &s, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(s, 1, out.id);
    sqlite3_bind_text(s, 2, c->model, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, c->dim);
    sqlite3_bind_blob(s, 4, c->vec, (int)(sizeof(float) * (size_t)c->dim), SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, mnemo_clock_wall_ms());
    int src = sqlite3_step(s);
    sqlite3_reset(s);
    if (src != SQLITE_DONE)
        return mnemo_conn_error(conn, src, "insert vector", err);
    return mnemo_events_done_conn(conn, c->event_id, mnemo_clock_wall_ms(), err);
}

/* Prepares capture number t->seq: its event is appended (no faults) and its vector computed. */
static void capture_prepare(struct tv *t, struct mnemo_store *st, struct capture *c)
{
    struct mnemo_err e = {0};
    memset(c, 0, sizeof *c);
    t->seq++;
    snprintf(c->title, sizeof c->title, "torture capture %d zqxj%d", t->seq, t->seq);
    c->facts[0] = "written under injected I/O errors";
    mnemo_obs_init(&c->obs);
    c->obs.project = "torture";
    c->obs.title = c->title;
    c->obs.narrative = "the build broke after the upgrade and was fixed";
    c->obs.facts = (char **)c->facts;
    c->obs.n_facts = 1;
    snprintf(c->obs.type, sizeof c->obs.type, "bugfix");
    c->dim = mnemo_embed_dim(t->emb);
    c->model = mnemo_embed_model_id(t->emb);
    c->vec = calloc((size_t)c->dim, sizeof(float));
    assert_non_null(c->vec);
    if (mnemo_embed_text(t->emb, c->title, c->vec, mnemo_deadline_in_ms(5000), &e) != 0)
        fail_msg("embed: %s", e.msg);
    if (mnemo_events_append(st, "claude", "s1", 0, "post-tool-use", "{\"tool_name\":\"Bash\"}",
                            mnemo_clock_wall_ms(), &c->event_id, &e) != 0)
        fail_msg("event append (no faults): %s", e.msg);
}

static int64_t q_int(struct mnemo_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct q_arg {
    const char *sql;
    int64_t v;
};

static int q_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct q_arg *q = arg;
    return mnemo_conn_query_int(conn, q->sql, &q->v, err);
}

static int64_t q_int(struct mnemo_store *st, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    struct mnemo_err e = {0};
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    struct q_arg q = {sql, 0};
    if (mnemo_store_read(st, "torture_query", 5000, q_fn, &q, &e) != 0)
        fail_msg("query '%s' (no faults): %s", sql, e.msg);
    return q.v;
}

static int fts_check_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    (void)arg;
    return mnemo_conn_exec(
        conn, "INSERT INTO observations_fts(observations_fts) VALUES('integrity-check')", err);
}

/* With faults off: the database and its FTS index are sound. */
static void check_sound(struct mnemo_store *st)
{
    struct mnemo_strbuf problems;
    struct mnemo_err e = {0};
    mnemo_strbuf_init(&problems, 0);
    int rc = mnemo_store_check(st, 1, 30000, &problems, &e);
    if (rc != 0)
        fail_msg("integrity_check: %s %s", e.msg, mnemo_strbuf_str(&problems));
    mnemo_strbuf_release(&problems);
    if (mnemo_store_write(st, "fts_integrity", 30000, fts_check_fn, NULL, &e) != 0)
        fail_msg("FTS5 integrity-check: %s", e.msg);
}

/* With faults off: capture c is wholly there (returns 1) or wholly absent (returns 0). */
static int capture_state(struct mnemo_store *st, const struct capture *c)
{
    int64_t obs = q_int(st, "SELECT count(*) FROM observations WHERE title = '%s'", c->title);
    int64_t fts = q_int(st,
                        "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH"
                        " 'zqxj%d'",
                        atoi(c->title + strlen("torture capture ")));
    int64_t vec = q_int(st,
                        "SELECT count(*) FROM vectors v JOIN observations o ON o.id ="
                        " v.observation_id WHERE o.title = '%s'",
                        c->title);
    int64_t done = q_int(st, "SELECT count(*) FROM events WHERE id = %lld AND status = 'done'",
                         (long long)c->event_id);
    if (obs > 1 || !(obs == fts && obs == vec && obs == done))
        fail_msg("capture '%s' half there: observation %lld, fts %lld, vector %lld, event done "
                 "%lld",
                 c->title, (long long)obs, (long long)fts, (long long)vec, (long long)done);
    return (int)obs;
}

static void capture_release(struct capture *c)
{
    free(c->vec);
    c->vec = NULL;
}

/* After a fault: the store still writes and checkpoints. */
static void check_recovers(struct tv *t, struct mnemo_store *st)
{
    struct capture c;
    struct mnemo_err e = {0};
    struct mnemo_store_checkpoint_result res;
    capture_prepare(t, st, &c);
    if (mnemo_store_write(st, "capture", 5000, capture_fn, &c, &e) != 0)
        fail_msg("capture after the fault (no faults): %s", e.msg);
    assert_int_equal(capture_state(st, &c), 1);
    t->committed++;
    capture_release(&c);
    if (mnemo_store_checkpoint(st, 5000, &res, &e) != 0)
        fail_msg("checkpoint after the fault (no faults): %s", e.msg);
}

/* Loops N over one capture transaction with op failing as mode says; returns faults injected. */
static uint64_t loop_capture(struct tv *t, enum vf_op op, int rc_inj, enum vf_mode mode)
{
    uint64_t injected = 0;
    for (int n = 1;; n++) {
        if (n > MAX_N)
            fail_msg("%s: still faulting after %d calls", vf_op_name(op), MAX_N);
        struct mnemo_store *st = must_open(t);
        struct capture c;
        struct mnemo_err e = {0};
        capture_prepare(t, st, &c);
        uint64_t before = vf_faults();
        vf_arm(op, (uint64_t)n, rc_inj, mode);
        int rc = mnemo_store_write(st, "capture", 5000, capture_fn, &c, &e);
        vf_disarm();
        uint64_t hit = vf_faults() - before;
        int present = capture_state(st, &c);
        if (rc == 0 && !present)
            fail_msg("%s #%d: capture returned 0 but is not stored", vf_op_name(op), n);
        if (rc != 0 && hit == 0)
            fail_msg("%s #%d: capture failed without a fault: %s", vf_op_name(op), n, e.msg);
        if (rc != 0) {
            assert_true(rc < 0);
            assert_true(e.msg[0] != '\0'); /* the caller is told why */
            t->errors_seen++;
        }
        t->committed += present;
        injected += hit;
        check_sound(st);
        check_recovers(t, st);
        capture_release(&c);
        assert_int_equal(mnemo_store_close(st), 0);
        if (hit == 0)
            break; /* N is past the last call: the loop covered every call */
    }
    t->faults += injected;
    return injected;
}

/* One line per loop: faults injected, how many runs of the operation returned an error, and
 * the op's calls counted since the test started. */
static void report(struct tv *t, const char *what, enum vf_op op, const char *mode,
                   uint64_t injected)
{
    print_message("%-10s %-9s %-8s faults %4llu  errors returned %3llu  (op calls %llu)\n", what,
                  vf_op_name(op), mode, (unsigned long long)injected,
                  (unsigned long long)(t->errors_seen - t->errors_mark),
                  (unsigned long long)vf_calls(op));
    t->errors_mark = t->errors_seen;
}

static void test_capture_faults(void **state)
{
    struct tv *t = *state;
    uint64_t w = loop_capture(t, VF_WRITE, SQLITE_IOERR_WRITE, VF_ONCE);
    report(t, "capture", VF_WRITE, "once", w);
    uint64_t s = loop_capture(t, VF_WRITE, SQLITE_FULL, VF_SHORT);
    report(t, "capture", VF_WRITE, "short", s);
    uint64_t p = loop_capture(t, VF_WRITE, SQLITE_FULL, VF_PERSIST);
    report(t, "capture", VF_WRITE, "persist", p);
    report(t, "capture", VF_SYNC, "once", loop_capture(t, VF_SYNC, SQLITE_IOERR_FSYNC, VF_ONCE));
    report(t, "capture", VF_TRUNCATE, "once",
           loop_capture(t, VF_TRUNCATE, SQLITE_IOERR_TRUNCATE, VF_ONCE));
    report(t, "capture", VF_SHMMAP, "once",
           loop_capture(t, VF_SHMMAP, SQLITE_IOERR_SHMMAP, VF_ONCE));
    report(t, "capture", VF_READ, "once", loop_capture(t, VF_READ, SQLITE_IOERR_READ, VF_ONCE));
    /* A capture writes the WAL: the write loop must have found calls to fail. */
    assert_true(w > 0 && s > 0 && p > 0);
    struct mnemo_store *st = must_open(t);
    assert_int_equal(q_int(st, "SELECT count(*) FROM observations"), t->committed);
    assert_int_equal(mnemo_store_close(st), 0);
}

/* ---- the checkpoint ---------------------------------------------------------------------- */

static uint64_t loop_checkpoint(struct tv *t, enum vf_op op, int rc_inj, enum vf_mode mode)
{
    uint64_t injected = 0;
    for (int n = 1;; n++) {
        if (n > MAX_N)
            fail_msg("%s: still faulting after %d calls", vf_op_name(op), MAX_N);
        struct mnemo_store *st = must_open(t);
        struct mnemo_err e = {0};
        struct mnemo_store_checkpoint_result res;
        /* Committed rows in the WAL that the checkpoint must copy, and must never lose. */
        for (int i = 0; i < 3; i++) {
            struct capture c;
            capture_prepare(t, st, &c);
            if (mnemo_store_write(st, "capture", 5000, capture_fn, &c, &e) != 0)
                fail_msg("capture before the checkpoint (no faults): %s", e.msg);
            t->committed++;
            capture_release(&c);
        }
        assert_true(mnemo_store_wal_size(st) > 0);
        uint64_t before = vf_faults();
        vf_arm(op, (uint64_t)n, rc_inj, mode);
        int rc = mnemo_store_checkpoint(st, 5000, &res, &e);
        vf_disarm();
        uint64_t hit = vf_faults() - before;
        if (rc != 0 && hit == 0)
            fail_msg("%s #%d: checkpoint failed without a fault: %s", vf_op_name(op), n, e.msg);
        /* A fault the store absorbed (the PASSIVE pass failed, TRUNCATE redid its work) is
         * fine only when the checkpoint really finished: a reset, empty WAL. */
        if (rc == 0 && (res.busy || mnemo_store_wal_size(st) != 0))
            fail_msg("%s #%d: checkpoint returned 0 but the WAL holds %lld bytes (busy %d)",
                     vf_op_name(op), n, (long long)mnemo_store_wal_size(st), res.busy);
        if (rc != 0) {
            assert_true(rc < 0);
            assert_true(e.msg[0] != '\0');
            t->errors_seen++;
        }
        assert_int_equal(q_int(st, "SELECT count(*) FROM observations"), t->committed);
        check_sound(st);
        check_recovers(t, st);
        assert_int_equal(mnemo_store_close(st), 0);
        injected += hit;
        if (hit == 0)
            break;
    }
    t->faults += injected;
    return injected;
}

static void test_checkpoint_faults(void **state)
{
    struct tv *t = *state;
    uint64_t w = loop_checkpoint(t, VF_WRITE, SQLITE_IOERR_WRITE, VF_ONCE);
    report(t, "checkpoint", VF_WRITE, "once", w);
    report(t, "checkpoint", VF_WRITE, "short", loop_checkpoint(t, VF_WRITE, SQLITE_FULL, VF_SHORT));
    report(t, "checkpoint", VF_WRITE, "persist",
           loop_checkpoint(t, VF_WRITE, SQLITE_FULL, VF_PERSIST));
    uint64_t s = loop_checkpoint(t, VF_SYNC, SQLITE_IOERR_FSYNC, VF_ONCE);
    report(t, "checkpoint", VF_SYNC, "once", s);
    uint64_t tr = loop_checkpoint(t, VF_TRUNCATE, SQLITE_IOERR_TRUNCATE, VF_ONCE);
    report(t, "checkpoint", VF_TRUNCATE, "once", tr);
    report(t, "checkpoint", VF_SHMMAP, "once",
           loop_checkpoint(t, VF_SHMMAP, SQLITE_IOERR_SHMMAP, VF_ONCE));
    report(t, "checkpoint", VF_READ, "once",
           loop_checkpoint(t, VF_READ, SQLITE_IOERR_READ, VF_ONCE));
    /* A checkpoint copies pages into the database, syncs, and truncates the WAL. */
    assert_true(w > 0 && s > 0 && tr > 0);
}

/* ---- opening the store ------------------------------------------------------------------- */

static uint64_t loop_open(struct tv *t, enum vf_op op, int rc_inj)
{
    uint64_t injected = 0;
    for (int n = 1;; n++) {
        if (n > MAX_N)
            fail_msg("%s: still faulting after %d calls", vf_op_name(op), MAX_N);
        struct mnemo_err e = {0};
        uint64_t before = vf_faults();
        vf_arm(op, (uint64_t)n, rc_inj, VF_ONCE);
        struct mnemo_store *st = open_store(t, &e);
        vf_disarm();
        uint64_t hit = vf_faults() - before;
        if (st == NULL) {
            if (hit == 0)
                fail_msg("%s #%d: open failed without a fault: %s", vf_op_name(op), n, e.msg);
            assert_true(e.msg[0] != '\0');
            t->errors_seen++;
            st = must_open(t);
        }
        assert_int_equal(q_int(st, "SELECT count(*) FROM observations"), t->committed);
        check_sound(st);
        check_recovers(t, st);
        assert_int_equal(mnemo_store_close(st), 0);
        injected += hit;
        if (hit == 0)
            break;
    }
    t->faults += injected;
    return injected;
}

static void test_open_faults(void **state)
{
    struct tv *t = *state;
    report(t, "open", VF_READ, "once", loop_open(t, VF_READ, SQLITE_IOERR_READ));
    report(t, "open", VF_WRITE, "once", loop_open(t, VF_WRITE, SQLITE_IOERR_WRITE));
    report(t, "open", VF_SYNC, "once", loop_open(t, VF_SYNC, SQLITE_IOERR_FSYNC));
    report(t, "open", VF_TRUNCATE, "once", loop_open(t, VF_TRUNCATE, SQLITE_IOERR_TRUNCATE));
    uint64_t m = loop_open(t, VF_SHMMAP, SQLITE_IOERR_SHMMAP);
    report(t, "open", VF_SHMMAP, "once", m);
    /* Every new connection maps the WAL index. */
    assert_true(m > 0);
}

/* ---- system-call level: EINTR and short writes ------------------------------------------- */

static void test_syscall_eintr_short_writes(void **state)
{
    struct tv *t = *state;
    struct mnemo_err e = {0};
    struct mnemo_store_checkpoint_result res;
    struct mnemo_store *st = must_open(t);
    vf_syscalls_flaky(3);
    for (int i = 0; i < 20; i++) {
        struct capture c;
        capture_prepare(t, st, &c);
        int rc = mnemo_store_write(st, "capture", 5000, capture_fn, &c, &e);
        if (rc != 0) {
            vf_syscalls_flaky(0);
            fail_msg("capture with EINTR and short writes: %s", e.msg);
        }
        t->committed++;
        assert_int_equal(capture_state(st, &c), 1);
        capture_release(&c);
    }
    int rc = mnemo_store_checkpoint(st, 5000, &res, &e);
    uint64_t events = vf_syscalls_flaky(0);
    if (rc != 0)
        fail_msg("checkpoint with EINTR and short writes: %s", e.msg);
    print_message("syscall   write     EINTR+short events: %llu\n", (unsigned long long)events);
    assert_true(events > 0);
    check_sound(st);
    assert_int_equal(q_int(st, "SELECT count(*) FROM observations"), t->committed);
    assert_int_equal(mnemo_store_close(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capture_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syscall_eintr_short_writes, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vf_unregister();
    return rc;
}
