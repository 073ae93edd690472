/*
 * test_memory_schema.c - the memory migrations create every table, index, FTS5 index and trigger,
 * seed the concept weights (12 in step 1, 17 after step 2), keep one time unit, enforce their
 * CHECK constraints and apply nothing twice on reopen.
 */
#include "storeutil.h"

#include <string.h>

#include "memory/schema.h"
#include "util/clock.h"

static struct mnemo_store *open_memory(const char *db, int n_migrations)
{
    struct mnemo_store_config cfg;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    mnemo_memory_store_config(&cfg, db, MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER);
    cfg.n_migrations = n_migrations;
    if (mnemo_store_open(&cfg, &st, &e) != 0)
        fail_msg("cannot open '%s': %s", db, e.msg);
    return st;
}

/* Runs sql on a pooled connection; returns its mnemo code. */
static int exec_sql(struct mnemo_store *st, const char *sql)
{
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_store_acquire(st, "exec", mnemo_deadline_in_ms(2000), &c, &e), 0);
    int rc = mnemo_conn_exec(c, sql, &e);
    mnemo_store_release(c);
    return rc;
}

static void test_memory_schema_creates_every_table_fts_and_trigger(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_memory(f->db, mnemo_memory_n_migrations);
    static const char *const tables[] = {
        "sessions",         "prompts",         "observations", "summaries",
        "events",           "concept_weights", "vectors",      "relations",
        "observations_fts", "summaries_fts",   "prompts_fts",
    };
    char sql[256];
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'", tables[i]);
        if (su_query_int(st, sql) != 1)
            fail_msg("table %s is missing", tables[i]);
    }
    static const char *const triggers[] = {"observations_ai", "observations_ad", "observations_au",
                                           "summaries_ai",    "summaries_ad",    "summaries_au",
                                           "prompts_ai",      "prompts_ad",      "prompts_au"};
    for (size_t i = 0; i < sizeof triggers / sizeof triggers[0]; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name='%s'",
                 triggers[i]);
        if (su_query_int(st, sql) != 1)
            fail_msg("trigger %s is missing", triggers[i]);
    }
    static const char *const indexes[] = {"observations_project_created",
                                          "observations_scope",
                                          "observations_importance",
                                          "observations_live",
                                          "observations_hash",
                                          "observations_created",
                                          "events_status"};
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type='index' AND name='%s'", indexes[i]);
        if (su_query_int(st, sql) != 1)
            fail_msg("index %s is missing", indexes[i]);
    }
    /* The FTS tables use the tokenizer the issue names. */
    assert_int_equal(
        su_query_int(st, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_fts' AND sql"
                         " LIKE '%porter unicode61 remove_diacritics 2%'"),
        3);
    assert_int_equal(mnemo_store_schema_version(st), MNEMO_MEMORY_SCHEMA_LATEST);
    mnemo_store_close(st);
}

static void test_memory_schema_first_migration_seeds_the_reference_twelve_weights(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_memory(f->db, 1);
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM concept_weights"),
                     MNEMO_MEMORY_SEEDED_WEIGHTS_V1);
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM concept_weights WHERE"
                                      " (concept='security' AND weight=0.30) OR"
                                      " (concept='gotcha' AND weight=0.25) OR"
                                      " (concept='best-practice' AND weight=0.20) OR"
                                      " (concept='anti-pattern' AND weight=0.20) OR"
                                      " (concept='architecture' AND weight=0.15) OR"
                                      " (concept='performance' AND weight=0.15) OR"
                                      " (concept='error-handling' AND weight=0.15) OR"
                                      " (concept='pattern' AND weight=0.10) OR"
                                      " (concept='testing' AND weight=0.10) OR"
                                      " (concept='debugging' AND weight=0.10) OR"
                                      " (concept='workflow' AND weight=0.05) OR"
                                      " (concept='tooling' AND weight=0.05)"),
                     12);
    mnemo_store_close(st);

    /* Reopening with the full list applies step 2 only: the 5 in-code extras join. */
    st = open_memory(f->db, mnemo_memory_n_migrations);
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM concept_weights"),
                     MNEMO_MEMORY_SEEDED_WEIGHTS_V2);
    assert_int_equal(su_query_int(st,
                                  "SELECT count(*) FROM concept_weights WHERE concept IN"
                                  " ('problem-solution','trade-off','how-it-works','why-it-exists',"
                                  " 'what-changed')"),
                     5);
    /* Seeded in milliseconds like every other timestamp (after 2020 in ms, not seconds). */
    assert_int_equal(
        su_query_int(st, "SELECT count(*) FROM concept_weights WHERE updated_at < 1577836800000"),
        0);
    mnemo_store_close(st);
}

static void test_memory_schema_reopen_applies_nothing_twice(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_memory(f->db, mnemo_memory_n_migrations);
    assert_int_equal(
        exec_sql(st, "UPDATE concept_weights SET weight = 0.9 WHERE concept = 'gotcha'"), 0);
    mnemo_store_close(st);
    for (int i = 0; i < 2; i++) {
        st = open_memory(f->db, mnemo_memory_n_migrations);
        assert_int_equal(su_query_int(st, "SELECT count(*) FROM concept_weights"),
                         MNEMO_MEMORY_SEEDED_WEIGHTS_V2);
        assert_int_equal(su_query_int(st, "SELECT count(*) FROM schema_migrations"),
                         mnemo_memory_n_migrations);
        /* A user-tuned weight survives (seeds are INSERT OR IGNORE and never re-run). */
        assert_int_equal(
            su_query_int(st, "SELECT weight = 0.9 FROM concept_weights WHERE concept='gotcha'"), 1);
        mnemo_store_close(st);
    }
}

static void test_memory_schema_every_timestamp_column_is_an_integer(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_memory(f->db, mnemo_memory_n_migrations);
    /* Every *_at column of every memory table is declared INTEGER (Unix ms), none TEXT/REAL. */
    int64_t total =
        su_query_int(st, "SELECT count(*) FROM sqlite_master m, pragma_table_info(m.name) p"
                         " WHERE m.type='table' AND m.name NOT LIKE '%fts%'"
                         " AND m.name <> 'schema_migrations' AND p.name LIKE '%\\_at' ESCAPE '\\'");
    int64_t ints =
        su_query_int(st, "SELECT count(*) FROM sqlite_master m, pragma_table_info(m.name) p"
                         " WHERE m.type='table' AND m.name NOT LIKE '%fts%'"
                         " AND m.name <> 'schema_migrations' AND p.name LIKE '%\\_at' ESCAPE '\\'"
                         " AND p.type = 'INTEGER'");
    assert_true(total >= 13);
    assert_int_equal(total, ints);
    mnemo_store_close(st);
}

#define OBS_INSERT(scope, type, prov, feedback)                                                       \
    "INSERT INTO observations(uuid, project, scope, type, title, provenance, content_hash,"           \
    " feedback, created_at, updated_at) VALUES ('00000000-0000-4000-8000-000000000001', 'p', '" scope \
    "', '" type "', 't', '" prov "', '0123456789abcdef', " feedback ", 1, 1)"

static void test_memory_schema_check_constraints_reject_bad_enums(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_memory(f->db, mnemo_memory_n_migrations);
    assert_int_not_equal(exec_sql(st, OBS_INSERT("planet", "bugfix", "llm", "0")), 0);
    assert_int_not_equal(exec_sql(st, OBS_INSERT("project", "musing", "llm", "0")), 0);
    assert_int_not_equal(exec_sql(st, OBS_INSERT("project", "bugfix", "oracle", "0")), 0);
    assert_int_not_equal(exec_sql(st, OBS_INSERT("project", "bugfix", "llm", "2")), 0);
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM observations"), 0);
    assert_int_equal(exec_sql(st, OBS_INSERT("global", "bugfix", "llm", "-1")), 0);
    /* A list column must hold a JSON array. */
    assert_int_not_equal(exec_sql(st, "UPDATE observations SET facts = 'not json'"), 0);
    assert_int_not_equal(exec_sql(st, "UPDATE observations SET concepts = '{}'"), 0);
    assert_int_not_equal(
        exec_sql(st, "INSERT INTO sessions(agent, agent_session_id, project, started_at, status)"
                     " VALUES ('claude', 's1', 'p', 1, 'sleeping')"),
        0);
    assert_int_not_equal(
        exec_sql(st, "INSERT INTO events(agent, kind, payload, status, created_at, updated_at)"
                     " VALUES ('claude', 'tool', '{}', 'lost', 1, 1)"),
        0);
    assert_int_not_equal(exec_sql(st, "INSERT INTO relations(source_id, target_id, type,"
                                      " created_at) SELECT id, id, 'loves', 1 FROM observations"),
                         0);
    mnemo_store_close(st);
}

static void test_memory_schema_fts_triggers_track_insert_update_delete(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_memory(f->db, mnemo_memory_n_migrations);
    assert_int_equal(
        exec_sql(st, "INSERT INTO observations(uuid, project, type, title, facts, concepts,"
                     " content_hash, created_at, updated_at) VALUES"
                     " ('00000000-0000-4000-8000-000000000002', 'p', 'bugfix', 'zebra crossing',"
                     " '[\"flamingo wings\"]', '[\"gotcha\"]', '0123456789abcdef', 1, 1)"),
        0);
    assert_int_equal(
        su_query_int(st,
                     "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH 'zebra'"),
        1);
    assert_int_equal(
        su_query_int(
            st, "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH 'flamingo'"),
        1);
    assert_int_equal(
        su_query_int(
            st,
            "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH 'concepts:gotcha'"),
        1);
    assert_int_equal(exec_sql(st, "UPDATE observations SET title = 'yak shaving'"), 0);
    assert_int_equal(
        su_query_int(st,
                     "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH 'zebra'"),
        0);
    assert_int_equal(
        su_query_int(st,
                     "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH 'yak'"),
        1);
    /* The index agrees with its content table, and a rebuild from the table works. */
    assert_int_equal(exec_sql(st, "INSERT INTO observations_fts(observations_fts, rank)"
                                  " VALUES ('integrity-check', 1)"),
                     0);
    assert_int_equal(
        exec_sql(st, "INSERT INTO observations_fts(observations_fts) VALUES ('rebuild')"), 0);
    assert_int_equal(
        su_query_int(
            st, "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH 'flamingo'"),
        1);
    assert_int_equal(exec_sql(st, "DELETE FROM observations"), 0);
    assert_int_equal(
        su_query_int(st,
                     "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH 'yak'"),
        0);

    /* Prompts and summaries follow their tables too. */
    assert_int_equal(exec_sql(st,
                              "INSERT INTO sessions(agent, agent_session_id, project, started_at)"
                              " VALUES ('claude', 's1', 'p', 1);"
                              "INSERT INTO prompts(session_id, number, text, created_at)"
                              " VALUES (1, 1, 'why does the résumé parser crash', 1);"
                              "INSERT INTO summaries(session_id, project, learned, created_at)"
                              " VALUES (1, 'p', 'walrus tusks are teeth', 1)"),
                     0);
    /* remove_diacritics 2 folds é, porter stems crash/crashes. */
    assert_int_equal(
        su_query_int(
            st, "SELECT count(*) FROM prompts_fts WHERE prompts_fts MATCH 'resume AND crashes'"),
        1);
    assert_int_equal(
        su_query_int(st, "SELECT count(*) FROM summaries_fts WHERE summaries_fts MATCH 'walrus'"),
        1);
    assert_int_equal(exec_sql(st, "UPDATE summaries SET learned = 'otters hold hands'"), 0);
    assert_int_equal(
        su_query_int(st, "SELECT count(*) FROM summaries_fts WHERE summaries_fts MATCH 'walrus'"),
        0);
    assert_int_equal(exec_sql(st, "DELETE FROM sessions"), 0);
    /* Prompts cascade with their session; the FTS rows go with them. */
    assert_int_equal(
        su_query_int(st, "SELECT count(*) FROM prompts_fts WHERE prompts_fts MATCH 'resume'"), 0);
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM summaries WHERE session_id IS NULL"),
                     1);
    mnemo_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_schema_creates_every_table_fts_and_trigger,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(
            test_memory_schema_first_migration_seeds_the_reference_twelve_weights, su_setup,
            su_teardown),
        cmocka_unit_test_setup_teardown(test_memory_schema_reopen_applies_nothing_twice, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_memory_schema_every_timestamp_column_is_an_integer,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_memory_schema_check_constraints_reject_bad_enums,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_memory_schema_fts_triggers_track_insert_update_delete,
                                        su_setup, su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
