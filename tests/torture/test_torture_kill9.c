/*
 * test_torture_kill9.c - the kill -9 loop: two clients stream events and observations through
 * a real worker's API while the test kills the worker with SIGKILL at a random moment, restarts
 * it and checks it, over and over (CI: 50 kills; MNEMO_TORTURE_LONG=1: 1,000). The clients keep
 * the ledger of every acknowledged write (the id of each 202 event, the id and uuid of each 201
 * observation). After each restart the writes acknowledged since the last check must be in the
 * database and PRAGMA integrity_check must say ok (in the long run, whose database grows to
 * hundreds of MB, integrity_check every 20th restart and quick_check in between); at the end every
 * acknowledged write must be there, every event processed (none pending, none dead-lettered) and a
 * clean stop must leave no -wal behind. What it cannot show: power loss (a kill leaves the page
 * cache intact, so synchronous=NORMAL's weakness never appears).
 */
#include "torture_procs.h"

#define TEST_NAME "kill9"

struct ledger_obs {
    int64_t id;
    char uuid[40];
};

struct ledger {
    pthread_mutex_t mu;
    int64_t *events;
    size_t n_events, cap_events;
    struct ledger_obs *obs;
    size_t n_obs, cap_obs;
    int64_t unacked; /* requests that got no answer (the kill) */
    int64_t other;   /* answers that were neither the success code nor nothing: a defect */
    long other_code;
    char other_body[256];
};

struct client {
    struct fixture *f;
    struct ledger *l;
    atomic_int *stop;
    int round;
    int observations; /* 1: POST /v1/observations, 0: POST /v1/events */
};

static void ledger_add_event(struct ledger *l, int64_t id)
{
    pthread_mutex_lock(&l->mu);
    if (l->n_events == l->cap_events) {
        l->cap_events = l->cap_events ? l->cap_events * 2 : 1024;
        l->events = realloc(l->events, l->cap_events * sizeof *l->events);
        assert_non_null(l->events);
    }
    l->events[l->n_events++] = id;
    pthread_mutex_unlock(&l->mu);
}

static void ledger_add_obs(struct ledger *l, int64_t id, const char *uuid)
{
    pthread_mutex_lock(&l->mu);
    if (l->n_obs == l->cap_obs) {
        l->cap_obs = l->cap_obs ? l->cap_obs * 2 : 1024;
        l->obs = realloc(l->obs, l->cap_obs * sizeof *l->obs);
        assert_non_null(l->obs);
    }
    l->obs[l->n_obs].id = id;
    snprintf(l->obs[l->n_obs].uuid, sizeof l->obs[l->n_obs].uuid, "%s", uuid);
    l->n_obs++;
    pthread_mutex_unlock(&l->mu);
}

/* Streams one kind of write, one request at a time, until told to stop. */
static void *client_run(void *arg)
{
    struct client *c = arg;
    char body[1024];
    for (int i = 0; !atomic_load(c->stop); i++) {
        if (c->observations)
            snprintf(body, sizeof body,
                     "{\"project\":\"torture\",\"type\":\"discovery\",\"title\":\"kill9 round %d "
                     "write %d\",\"narrative\":\"the worker is killed at random moments; this "
                     "write must survive once acknowledged (%d/%d)\",\"facts\":[\"round %d\"]}",
                     c->round, i, c->round, i, c->round);
        else
            snprintf(body, sizeof body,
                     "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":"
                     "\"kill9-%d\",\"project\":\"torture\",\"payload\":{\"tool_name\":\"Bash\","
                     "\"tool_input\":{\"command\":\"echo %d\"},\"tool_response\":{\"stdout\":"
                     "\"%d\\n\",\"stderr\":\"\",\"exit_code\":0}}}",
                     c->round, i, i);
        json_t *j = NULL;
        long code =
            tort_call(c->f->sock, "POST", c->observations ? "/v1/observations" : "/v1/events", body,
                      5000, NULL, &j);
        json_t *id = json_object_get(j, "id");
        const char *uuid = json_string_value(json_object_get(j, "uuid"));
        if (!c->observations && code == 202 && json_is_integer(id)) {
            ledger_add_event(c->l, (int64_t)json_integer_value(id));
        } else if (c->observations && code == 201 && json_is_integer(id) && uuid != NULL) {
            ledger_add_obs(c->l, (int64_t)json_integer_value(id), uuid);
        } else {
            pthread_mutex_lock(&c->l->mu);
            if (code == 0) {
                c->l->unacked++;
            } else {
                c->l->other++;
                c->l->other_code = code;
                char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
                snprintf(c->l->other_body, sizeof c->l->other_body, "%s", s ? s : "(no JSON)");
                free(s);
            }
            pthread_mutex_unlock(&c->l->mu);
        }
        json_decref(j);
    }
    return NULL;
}

/*
 * Checks the writes acknowledged in ledger entries [ev_from, n_events) and [obs_from, n_obs)
 * against the database through a read-only connection, and integrity_check. When done is set,
 * every event must also be processed.
 */
static void check_ledger(struct fixture *f, struct ledger *l, size_t ev_from, size_t obs_from,
                         int done, int full)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *ev = NULL, *ob = NULL;
    char ic[256];

    if (!tort_check_ok(f->db, full, ic, sizeof ic))
        fail_worker(f, "%s after a kill -9: %s", full ? "integrity_check" : "quick_check", ic);
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT status FROM events WHERE id = ?", -1, &ev, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT id FROM observations WHERE uuid = ?", -1, &ob, NULL),
        SQLITE_OK);
    for (size_t i = ev_from; i < l->n_events; i++) {
        sqlite3_reset(ev);
        sqlite3_bind_int64(ev, 1, l->events[i]);
        if (sqlite3_step(ev) != SQLITE_ROW)
            fail_worker(f, "acknowledged event %lld is not in the database",
                        (long long)l->events[i]);
        const char *s = (const char *)sqlite3_column_text(ev, 0);
        if (done && (s == NULL || strcmp(s, "done") != 0))
            fail_worker(f, "acknowledged event %lld is '%s', not done", (long long)l->events[i],
                        s != NULL ? s : "?");
    }
    for (size_t i = obs_from; i < l->n_obs; i++) {
        sqlite3_reset(ob);
        sqlite3_bind_text(ob, 1, l->obs[i].uuid, -1, SQLITE_STATIC);
        if (sqlite3_step(ob) != SQLITE_ROW || sqlite3_column_int64(ob, 0) != l->obs[i].id)
            fail_worker(f, "acknowledged observation %lld (%s) is not in the database",
                        (long long)l->obs[i].id, l->obs[i].uuid);
    }
    sqlite3_finalize(ev);
    sqlite3_finalize(ob);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int kill9_setup(void **state)
{
    setup(state);
    struct fixture *f = *state;
    f->env[2] = (char *)"MNEMO_HTTP_RATE_LIMIT=0";
    return 0;
}

static void test_torture_kill9_every_acknowledged_write_survives_random_kills(void **state)
{
    struct fixture *f = *state;
    struct ledger l;
    int kills = tort_long() ? 1000 : 50;
    uint64_t seed = tort_seed(), rng = seed | 1;
    int64_t t_start = tu_now_ms(), max_ready = 0, sum_delay = 0;
    size_t ev_checked = 0, obs_checked = 0;
    int checks = 0, quick_checks = 0;

    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.mu, NULL);
    tort_begin(TEST_NAME);
    tort_figure(TEST_NAME, "seed", "%llu", (unsigned long long)seed);
    for (int round = 0; round < kills; round++) {
        int64_t ready = serve(f);
        if (ready > max_ready)
            max_ready = ready;
        if (round > 0) {
            int full = !tort_long() || round % 20 == 0;
            check_ledger(f, &l, ev_checked, obs_checked, 0, full);
            ev_checked = l.n_events;
            obs_checked = l.n_obs;
            checks += full;
            quick_checks += !full;
        }
        atomic_int stop = 0;
        struct client c[2] = {{f, &l, &stop, round, 0}, {f, &l, &stop, round, 1}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&t[i], NULL, client_run, &c[i]), 0);
        /* A random moment: at start-up's heels, mid-stream, or after a checkpoint's worth. */
        int64_t delay = tort_rand_range(&rng, 5, 400);
        sum_delay += delay;
        usleep((useconds_t)(delay * 1000));
        pid_t victim = f->child;
        assert_int_equal(kill(victim, SIGKILL), 0);
        atomic_store(&stop, 1);
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(wait_child(victim, EXIT_WAIT_MS), 128 + SIGKILL);
        f->child = 0;
        if (l.other > 0)
            fail_msg("round %d: %lld answers were neither success nor nothing (last %ld: %s)",
                     round, (long long)l.other, l.other_code, l.other_body);
    }

    /* The last restart: everything acknowledged is there and processed, nothing dead. */
    serve(f);
    json_t *stats = tort_wait_queue_drained(f, 120000);
    int64_t failed = tort_json_int(stats, "queue", "failed");
    int64_t dead = tort_json_int(stats, "capture", "dead_lettered");
    json_decref(stats);
    if (failed != 0 || dead > 0)
        fail_worker(f, "%lld events dead-lettered after the kills", (long long)failed);
    check_ledger(f, &l, 0, 0, 1, 1);
    checks++;
    stop_child(f);
    expect_clean_stop(f);
    char ic[256];
    assert_true(tort_integrity_ok(f->db, ic, sizeof ic));

    tort_figure(TEST_NAME, "kills_survived", "%d", kills);
    tort_figure(TEST_NAME, "acked_events", "%zu", l.n_events);
    tort_figure(TEST_NAME, "acked_observations", "%zu", l.n_obs);
    tort_figure(TEST_NAME, "unanswered_requests", "%lld", (long long)l.unacked);
    tort_figure(TEST_NAME, "lost_acked_writes", "0");
    tort_figure(TEST_NAME, "integrity_checks_ok", "%d", checks + 1);
    tort_figure(TEST_NAME, "quick_checks_ok", "%d", quick_checks);
    tort_figure(TEST_NAME, "dead_letters", "0");
    tort_figure(TEST_NAME, "mean_kill_delay_ms", "%lld", (long long)(sum_delay / kills));
    tort_figure(TEST_NAME, "max_restart_to_ready_ms", "%lld", (long long)max_ready);
    tort_figure(TEST_NAME, "duration_s", "%lld", (long long)((tu_now_ms() - t_start) / 1000));
    free(l.events);
    free(l.obs);
    pthread_mutex_destroy(&l.mu);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_torture_kill9_every_acknowledged_write_survives_random_kills, kill9_setup,
            teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
