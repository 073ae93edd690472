/*
 * test_memory_obs.c - observations: create with dedup and the scope rule, get, partial update
 * with FTS in step, archive/unarchive visibility, supersede, delete cascades, feedback, retrieval
 * bumps, filtered lists and paging, import dedup, and bounds that write nothing.
 */
#include "memutil.h"

#include <math.h>
#include <string.h>

#include "memory/obs.h"
#include "memory/schema.h"
#include "util/clock.h"

static int64_t fts_hits(struct mnemo_store *st, const char *match)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH '%s'", match);
    return su_query_int(st, sql);
}

static char *facts2[] = {"the pool deadlocks under load", "raise max_conns to eight"};
static char *concepts_gotcha[] = {"gotcha", "debugging"};
static char *files_store[] = {"src/store/pool.c"};

/* A valid input observation over static data (nothing to free). */
static struct mnemo_obs sample(const char *project, const char *title)
{
    struct mnemo_obs o;
    mnemo_obs_init(&o);
    o.project = (char *)project;
    snprintf(o.type, sizeof o.type, "bugfix");
    o.title = (char *)title;
    o.subtitle = "pool";
    o.narrative = "Writers queued behind a reader that never released its connection.";
    o.facts = facts2;
    o.n_facts = 2;
    o.concepts = concepts_gotcha;
    o.n_concepts = 2;
    o.files_modified = files_store;
    o.n_files_modified = 1;
    return o;
}

static int64_t create_ok(struct mnemo_store *st, const struct mnemo_obs *in)
{
    struct mnemo_obs_created c;
    struct mnemo_err e = {0};
    if (mnemo_obs_create(st, in, &c, &e) != 0)
        fail_msg("create: %s", e.msg);
    assert_int_equal(c.duplicate, 0);
    assert_true(c.id > 0);
    return c.id;
}

static void test_memory_obs_create_then_get_round_trips_every_field(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs in = sample("proj_a", "Pool deadlock fixed");
    struct mnemo_obs_created c;
    struct mnemo_obs got, by_uuid;
    struct mnemo_err e = {0};
    in.file_mtimes = "{\"src/store/pool.c\":1700000000000}";
    int64_t before = mnemo_clock_wall_ms();
    assert_int_equal(mnemo_obs_create(f->st, &in, &c, &e), 0);
    assert_int_equal(c.duplicate, 0);
    assert_int_equal(strlen(c.uuid), 36);
    assert_int_equal(c.uuid[14], '4'); /* UUID version 4 */
    assert_string_equal(c.scope, "project");
    /* bugfix 1.3 at age 0 + (gotcha .25 + debugging .10) * .2 */
    assert_true(fabs(c.importance - (1.3 + 0.35 * 0.2)) < 1e-6);

    assert_int_equal(mnemo_obs_get(f->st, c.id, &got, &e), 0);
    assert_int_equal(got.id, c.id);
    assert_string_equal(got.uuid, c.uuid);
    assert_string_equal(got.project, "proj_a");
    assert_string_equal(got.type, "bugfix");
    assert_string_equal(got.title, "Pool deadlock fixed");
    assert_string_equal(got.subtitle, "pool");
    assert_int_equal(got.n_facts, 2);
    assert_string_equal(got.facts[1], "raise max_conns to eight");
    assert_int_equal(got.n_concepts, 2);
    assert_int_equal(got.n_files_read, 0);
    assert_int_equal(got.n_files_modified, 1);
    assert_string_equal(got.files_modified[0], "src/store/pool.c");
    assert_string_equal(got.file_mtimes, "{\"src/store/pool.c\":1700000000000}");
    assert_string_equal(got.provenance, "agent");
    assert_int_equal(strlen(got.content_hash), 16);
    assert_int_equal(got.archived, 0);
    assert_int_equal(got.superseded_by, 0);
    /* Timestamps are Unix milliseconds. */
    assert_true(got.created_at >= before && got.created_at <= mnemo_clock_wall_ms());
    assert_int_equal(got.updated_at, got.created_at);

    assert_int_equal(mnemo_obs_get_by_uuid(f->st, c.uuid, &by_uuid, &e), 0);
    assert_int_equal(by_uuid.id, c.id);
    mnemo_obs_release(&by_uuid);
    mnemo_obs_release(&got);

    assert_int_equal(mnemo_obs_get(f->st, 999999, &got, &e), MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_obs_get_by_uuid(f->st, "00000000-0000-4000-8000-000000000000", &got, &e),
                     MNEMO_ENOTFOUND);
}

static void test_memory_obs_same_hash_dedups_within_a_project_only(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs in = sample("proj_a", "Pool deadlock fixed");
    struct mnemo_obs_created c1, c2, c3;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_obs_create(f->st, &in, &c1, &e), 0);
    /* Case and whitespace differences normalise to the same hash. */
    struct mnemo_obs again = in;
    again.title = "  POOL   deadlock\tfixed ";
    assert_int_equal(mnemo_obs_create(f->st, &again, &c2, &e), 0);
    assert_int_equal(c2.duplicate, 1);
    assert_int_equal(c2.id, c1.id);
    assert_string_equal(c2.uuid, c1.uuid);
    /* The same content in another project is its own memory. */
    struct mnemo_obs other = in;
    other.project = "proj_b";
    assert_int_equal(mnemo_obs_create(f->st, &other, &c3, &e), 0);
    assert_int_equal(c3.duplicate, 0);
    assert_true(c3.id != c1.id);
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM observations"), 2);
    /* A different narrative is different content. */
    struct mnemo_obs changed = in;
    changed.narrative = "Another story entirely.";
    create_ok(f->st, &changed);
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM observations"), 3);
}

static void test_memory_obs_scope_rule_explicit_wins_and_tags_need_no_files(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs_created c;
    struct mnemo_err e = {0};
    static char *bp[] = {"best-practice"};
    static char *ap[] = {"testing", "anti-pattern"};
    static char *perf[] = {"performance", "security", "testing"};

    /* best-practice without project files: global. */
    struct mnemo_obs a = sample("p", "Always check malloc");
    a.concepts = bp, a.n_concepts = 1, a.files_modified = NULL, a.n_files_modified = 0;
    assert_int_equal(mnemo_obs_create(f->st, &a, &c, &e), 0);
    assert_string_equal(c.scope, "global");
    /* anti-pattern but naming a project file: project. */
    struct mnemo_obs b = sample("p", "Global mutable state in pool.c");
    b.concepts = ap, b.n_concepts = 2;
    assert_int_equal(mnemo_obs_create(f->st, &b, &c, &e), 0);
    assert_string_equal(c.scope, "project");
    /* The original's performance/security/testing => global rule is gone. */
    struct mnemo_obs d = sample("p", "Benchmarks need warm caches");
    d.concepts = perf, d.n_concepts = 3, d.files_modified = NULL, d.n_files_modified = 0;
    assert_int_equal(mnemo_obs_create(f->st, &d, &c, &e), 0);
    assert_string_equal(c.scope, "project");
    /* Explicit scope wins both ways. */
    struct mnemo_obs g = d;
    g.title = "Explicitly global";
    snprintf(g.scope, sizeof g.scope, "global");
    assert_int_equal(mnemo_obs_create(f->st, &g, &c, &e), 0);
    assert_string_equal(c.scope, "global");
    struct mnemo_obs p = a;
    p.title = "Explicitly project";
    snprintf(p.scope, sizeof p.scope, "project");
    assert_int_equal(mnemo_obs_create(f->st, &p, &c, &e), 0);
    assert_string_equal(c.scope, "project");
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM observations WHERE scope='global'"),
                     2);
}

static void test_memory_obs_invalid_input_is_rejected_and_nothing_written(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs_created c;
    struct mnemo_err e = {0};
    struct mnemo_obs in = sample("p", "t");

    struct mnemo_obs bad = in;
    snprintf(bad.type, sizeof bad.type, "musing");
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);
    assert_non_null(strstr(e.msg, "type"));
    bad = in;
    snprintf(bad.scope, sizeof bad.scope, "world");
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);
    bad = in;
    snprintf(bad.provenance, sizeof bad.provenance, "oracle");
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);
    bad = in;
    bad.title = "";
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);
    bad = in;
    bad.project = NULL;
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);
    bad = in;
    bad.title = "bad \xc3\x28 utf-8";
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);
    bad = in;
    bad.feedback = 2;
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);
    bad = in;
    bad.file_mtimes = "[1,2]";
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);
    bad = in;
    snprintf(bad.uuid, sizeof bad.uuid, "not-a-uuid");
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);
    bad = in;
    bad.n_facts = 3; /* more than the array holds is caught only by NULL items: use NULL array */
    bad.facts = NULL;
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_EINVAL);

    /* Bounds: one byte over each limit fails with ETOOBIG naming the field. */
    char *big = malloc(MNEMO_OBS_MAX_NARRATIVE + 2);
    assert_non_null(big);
    memset(big, 'x', MNEMO_OBS_MAX_NARRATIVE + 1);
    big[MNEMO_OBS_MAX_NARRATIVE + 1] = '\0';
    bad = in;
    bad.narrative = big;
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_ETOOBIG);
    assert_non_null(strstr(e.msg, "narrative"));
    big[MNEMO_OBS_MAX_TITLE + 1] = '\0';
    bad = in;
    bad.title = big;
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_ETOOBIG);
    big[MNEMO_OBS_MAX_TITLE] = '\0'; /* exactly at the limit is fine */
    bad.title = big;
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), 0);
    free(big);
    char *many[MNEMO_OBS_MAX_FACTS + 1];
    for (int i = 0; i <= MNEMO_OBS_MAX_FACTS; i++)
        many[i] = "a fact";
    bad = in;
    bad.facts = many;
    bad.n_facts = MNEMO_OBS_MAX_FACTS + 1;
    assert_int_equal(mnemo_obs_create(f->st, &bad, &c, &e), MNEMO_ETOOBIG);
    assert_non_null(strstr(e.msg, "facts"));
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM observations"), 1);
}

static void test_memory_obs_update_changes_only_given_fields(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs in = sample("p", "Original title");
    struct mnemo_obs out, v, before;
    struct mnemo_err e = {0};
    int64_t id = create_ok(f->st, &in);
    assert_int_equal(mnemo_obs_get(f->st, id, &before, &e), 0);

    /* An empty update returns the row unchanged. */
    assert_int_equal(mnemo_obs_update(f->st, id, 0, NULL, &out, &e), 0);
    assert_string_equal(out.title, "Original title");
    assert_int_equal(out.updated_at, before.updated_at);
    mnemo_obs_release(&out);

    /* A title-only update keeps everything else, recomputes the hash, and FTS follows. */
    assert_int_equal(fts_hits(f->st, "original"), 1);
    mnemo_obs_init(&v);
    v.title = "Renamed quokka";
    assert_int_equal(mnemo_obs_update(f->st, id, MNEMO_OBS_F_TITLE, &v, &out, &e), 0);
    assert_string_equal(out.title, "Renamed quokka");
    assert_string_equal(out.narrative, before.narrative);
    assert_string_equal(out.subtitle, "pool");
    assert_int_equal(out.n_facts, 2);
    assert_int_equal(out.n_concepts, 2);
    assert_string_equal(out.scope, "project");
    assert_string_not_equal(out.content_hash, before.content_hash);
    assert_true(out.updated_at >= before.updated_at);
    assert_int_equal(out.created_at, before.created_at);
    mnemo_obs_release(&out);
    assert_int_equal(fts_hits(f->st, "original"), 0);
    assert_int_equal(fts_hits(f->st, "quokka"), 1);

    /* Lists are replaced, and an empty list clears; the scope can be re-derived. */
    static char *newfacts[] = {"axolotl regenerates"};
    static char *bp[] = {"best-practice"};
    mnemo_obs_init(&v);
    v.facts = newfacts, v.n_facts = 1;
    v.concepts = bp, v.n_concepts = 1;
    v.files_modified = NULL, v.n_files_modified = 0;
    assert_int_equal(mnemo_obs_update(f->st, id,
                                      MNEMO_OBS_F_FACTS | MNEMO_OBS_F_CONCEPTS |
                                          MNEMO_OBS_F_FILES_MODIFIED | MNEMO_OBS_F_SCOPE,
                                      &v, &out, &e),
                     0);
    assert_int_equal(out.n_facts, 1);
    assert_string_equal(out.facts[0], "axolotl regenerates");
    assert_int_equal(out.n_files_modified, 0);
    assert_string_equal(out.scope, "global");
    mnemo_obs_release(&out);
    assert_int_equal(fts_hits(f->st, "axolotl"), 1);
    assert_int_equal(fts_hits(f->st, "max_conns"), 0);
    assert_int_equal(fts_hits(f->st, "concepts:\"best-practice\""), 1);

    /* An explicit scope is kept. */
    mnemo_obs_init(&v);
    snprintf(v.scope, sizeof v.scope, "project");
    assert_int_equal(mnemo_obs_update(f->st, id, MNEMO_OBS_F_SCOPE, &v, &out, &e), 0);
    assert_string_equal(out.scope, "project");
    mnemo_obs_release(&out);

    /* Errors: unknown id, NULL values, bad values (nothing written). */
    assert_int_equal(mnemo_obs_update(f->st, 424242, MNEMO_OBS_F_TITLE, &v, NULL, &e),
                     MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_obs_update(f->st, id, MNEMO_OBS_F_TITLE, NULL, NULL, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_obs_update(f->st, id, 1u << 30, &v, NULL, &e), MNEMO_EINVAL);
    mnemo_obs_init(&v);
    snprintf(v.type, sizeof v.type, "musing");
    assert_int_equal(mnemo_obs_update(f->st, id, MNEMO_OBS_F_TYPE, &v, NULL, &e), MNEMO_EINVAL);
    mnemo_obs_init(&v);
    v.title = "";
    assert_int_equal(mnemo_obs_update(f->st, id, MNEMO_OBS_F_TITLE, &v, NULL, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_obs_get(f->st, id, &out, &e), 0);
    assert_string_equal(out.title, "Renamed quokka");
    assert_string_equal(out.type, "bugfix");
    mnemo_obs_release(&out);
    mnemo_obs_release(&before);
}

static void test_memory_obs_facts_and_concepts_are_searchable(void **state)
{
    struct mu_fixture *f = *state;
    static char *facts[] = {"the capybara index\nspans two lines", "say \"narwhal\""};
    static char *concepts[] = {"trade-off"};
    struct mnemo_obs in = sample("p", "Plain title");
    struct mnemo_obs got;
    struct mnemo_err e = {0};
    in.facts = facts, in.n_facts = 2;
    in.concepts = concepts, in.n_concepts = 1;
    int64_t id = create_ok(f->st, &in);
    assert_int_equal(fts_hits(f->st, "facts:capybara"), 1);
    /* A newline inside an item must not glue words (\n would index as "nspans"). */
    assert_int_equal(fts_hits(f->st, "facts:spans"), 1);
    assert_int_equal(fts_hits(f->st, "facts:narwhal"), 1);
    assert_int_equal(fts_hits(f->st, "concepts:trade"), 1);
    assert_int_equal(fts_hits(f->st, "facts:trade"), 0);
    assert_int_equal(mnemo_obs_get(f->st, id, &got, &e), 0);
    assert_string_equal(got.facts[1], "say \"narwhal\"");
    mnemo_obs_release(&got);
    /* The index stays consistent with its table. */
    su_exec(f->st,
            "INSERT INTO observations_fts(observations_fts, rank) VALUES ('integrity-check', 1)");
}

static void test_memory_obs_archive_hides_from_lists_but_not_get(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs a = sample("p", "Kept visible");
    struct mnemo_obs b = sample("p", "Going to the archive");
    struct mnemo_obs_filter flt;
    struct mnemo_obs_list l;
    struct mnemo_obs got;
    struct mnemo_err e = {0};
    int64_t n = 0;
    create_ok(f->st, &a);
    int64_t ib = create_ok(f->st, &b);
    assert_int_equal(mnemo_obs_archive(f->st, ib, "obsolete", &e), 0);

    mnemo_obs_filter_init(&flt);
    flt.project = "p";
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mnemo_obs_list(f->st, &flt, &l, &e), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].title, "Kept visible");
    mnemo_obs_list_release(&l);
    int64_t ids[] = {ib};
    assert_int_equal(mnemo_obs_get_many(f->st, ids, 1, 0, &l, &e), 0);
    assert_int_equal(l.n, 0);
    mnemo_obs_list_release(&l);

    assert_int_equal(mnemo_obs_get(f->st, ib, &got, &e), 0);
    assert_int_equal(got.archived, 1);
    assert_string_equal(got.archived_reason, "obsolete");
    assert_true(got.archived_at > 1577836800000); /* milliseconds */
    mnemo_obs_release(&got);

    flt.include_archived = 1;
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 2);

    assert_int_equal(mnemo_obs_unarchive(f->st, ib, &e), 0);
    flt.include_archived = 0;
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(mnemo_obs_get(f->st, ib, &got, &e), 0);
    assert_int_equal(got.archived, 0);
    assert_string_equal(got.archived_reason, "");
    mnemo_obs_release(&got);
    assert_int_equal(mnemo_obs_archive(f->st, 777, NULL, &e), MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_obs_unarchive(f->st, 777, &e), MNEMO_ENOTFOUND);
}

static void test_memory_obs_supersede_hides_older_and_records_relation(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs a = sample("p", "Use four connections");
    struct mnemo_obs b = sample("p", "Use eight connections");
    struct mnemo_obs_filter flt;
    struct mnemo_obs got;
    struct mnemo_err e = {0};
    int64_t n = 0;
    int64_t older = create_ok(f->st, &a);
    int64_t newer = create_ok(f->st, &b);
    assert_int_equal(mnemo_obs_supersede(f->st, older, newer, &e), 0);
    assert_int_equal(mnemo_obs_get(f->st, older, &got, &e), 0);
    assert_int_equal(got.superseded_by, newer);
    mnemo_obs_release(&got);
    mnemo_obs_filter_init(&flt);
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 1);
    flt.include_superseded = 1;
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM relations WHERE type='supersedes'"),
                     1);
    assert_int_equal(mnemo_obs_supersede(f->st, older, older, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_obs_supersede(f->st, older, 9999, &e), MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_obs_supersede(f->st, 9999, newer, &e), MNEMO_ENOTFOUND);
    /* Deleting the newer one brings the older back (superseded_by ON DELETE SET NULL). */
    assert_int_equal(mnemo_obs_delete(f->st, newer, &e), 0);
    flt.include_superseded = 0;
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 1);
}

static void test_memory_obs_delete_cascades_vectors_relations_and_fts(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs a = sample("p", "Pangolin scales");
    struct mnemo_obs b = sample("p", "Related note");
    struct mnemo_obs got;
    struct mnemo_err e = {0};
    int64_t ia = create_ok(f->st, &a);
    int64_t ib = create_ok(f->st, &b);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO vectors(observation_id, model_id, dim, embedding, created_at)"
             " VALUES (%lld, 'hash-384', 2, zeroblob(8), 1), (%lld, 'other', 2, zeroblob(8), 1),"
             " (%lld, 'hash-384', 2, zeroblob(8), 1);"
             "INSERT INTO relations(source_id, target_id, type, confidence, created_at)"
             " VALUES (%lld, %lld, 'relates_to', 0.5, 1)",
             (long long)ia, (long long)ia, (long long)ib, (long long)ib, (long long)ia);
    su_exec(f->st, sql);
    assert_int_equal(fts_hits(f->st, "pangolin"), 1);
    assert_int_equal(mnemo_obs_delete(f->st, ia, &e), 0);
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM vectors"), 1);
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM relations"), 0);
    assert_int_equal(fts_hits(f->st, "pangolin"), 0);
    assert_int_equal(mnemo_obs_get(f->st, ia, &got, &e), MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_obs_delete(f->st, ia, &e), MNEMO_ENOTFOUND);
}

static void test_memory_obs_feedback_moves_importance(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs in = sample("p", "Feedback target");
    struct mnemo_obs got;
    struct mnemo_err e = {0};
    double up = 0, down = 0, none = 0;
    int64_t id = create_ok(f->st, &in);
    assert_int_equal(mnemo_obs_feedback(f->st, id, 1, &up, &e), 0);
    assert_int_equal(mnemo_obs_feedback(f->st, id, -1, &down, &e), 0);
    assert_int_equal(mnemo_obs_feedback(f->st, id, 0, &none, &e), 0);
    /* The feedback term is 0.30 per vote; ageing between calls is negligible. */
    assert_true(fabs((up - down) - 0.60) < 1e-4);
    assert_true(fabs((up - none) - 0.30) < 1e-4);
    assert_int_equal(mnemo_obs_feedback(f->st, id, 1, NULL, &e), 0);
    assert_int_equal(mnemo_obs_get(f->st, id, &got, &e), 0);
    assert_int_equal(got.feedback, 1);
    assert_true(fabs(got.importance - up) < 1e-4);
    mnemo_obs_release(&got);
    assert_int_equal(mnemo_obs_feedback(f->st, id, 2, NULL, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_obs_feedback(f->st, 5555, 1, NULL, &e), MNEMO_ENOTFOUND);
}

static void test_memory_obs_touch_retrieved_bumps_counts(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs a = sample("p", "One");
    struct mnemo_obs b = sample("p", "Two");
    struct mnemo_obs got;
    struct mnemo_err e = {0};
    int64_t ids[3];
    ids[0] = create_ok(f->st, &a);
    ids[1] = create_ok(f->st, &b);
    ids[2] = 98765; /* missing ids are ignored */
    int64_t now = mnemo_clock_wall_ms();
    assert_int_equal(mnemo_obs_touch_retrieved(f->st, ids, 3, now, &e), 0);
    assert_int_equal(mnemo_obs_touch_retrieved(f->st, ids, 1, now + 5, &e), 0);
    assert_int_equal(mnemo_obs_get(f->st, ids[0], &got, &e), 0);
    assert_int_equal(got.retrieval_count, 2);
    assert_int_equal(got.last_retrieved_at, now + 5);
    mnemo_obs_release(&got);
    assert_int_equal(mnemo_obs_get(f->st, ids[1], &got, &e), 0);
    assert_int_equal(got.retrieval_count, 1);
    mnemo_obs_release(&got);
    assert_int_equal(mnemo_obs_touch_retrieved(f->st, ids, MNEMO_OBS_LIST_MAX + 1, now, &e),
                     MNEMO_EINVAL);
}

static void test_memory_obs_list_filters_and_pages(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs_filter flt;
    struct mnemo_obs_list l;
    struct mnemo_err e = {0};
    int64_t n = 0;
    char title[64];
    static char *bp[] = {"best-practice"};
    /* 25 project rows in p (created 1000 ms apart), 3 in q, one global row in q. */
    for (int i = 0; i < 25; i++) {
        snprintf(title, sizeof title, "p row %02d", i);
        struct mnemo_obs o = sample("p", title);
        o.created_at = INT64_C(1700000000000) + i * 1000;
        if (i % 5 == 0)
            snprintf(o.type, sizeof o.type, "decision");
        create_ok(f->st, &o);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(title, sizeof title, "q row %d", i);
        struct mnemo_obs o = sample("q", title);
        create_ok(f->st, &o);
    }
    struct mnemo_obs g = sample("q", "q global");
    g.concepts = bp, g.n_concepts = 1, g.files_modified = NULL, g.n_files_modified = 0;
    create_ok(f->st, &g);

    mnemo_obs_filter_init(&flt);
    flt.project = "p";
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 25);
    flt.include_global = 1;
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 26);
    flt.include_global = 0;
    flt.type = "decision";
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 5);
    flt.type = NULL;
    flt.since_ms = INT64_C(1700000000000) + 10 * 1000;
    flt.until_ms = INT64_C(1700000000000) + 20 * 1000;
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), 0);
    assert_int_equal(n, 10);

    /* Offset paging, newest first. */
    mnemo_obs_filter_init(&flt);
    flt.project = "p";
    flt.limit = 10;
    flt.offset = 20;
    assert_int_equal(mnemo_obs_list(f->st, &flt, &l, &e), 0);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.items[0].title, "p row 04");
    assert_string_equal(l.items[4].title, "p row 00");
    mnemo_obs_list_release(&l);

    /* Keyset paging in id order visits every row exactly once. */
    mnemo_obs_filter_init(&flt);
    flt.order = MNEMO_OBS_ORDER_ID_ASC;
    flt.limit = 7;
    int64_t seen = 0, last = 0;
    for (;;) {
        assert_int_equal(mnemo_obs_list(f->st, &flt, &l, &e), 0);
        for (size_t i = 0; i < l.n; i++) {
            assert_true(l.items[i].id > last);
            last = l.items[i].id;
        }
        seen += (int64_t)l.n;
        size_t got = l.n;
        mnemo_obs_list_release(&l);
        if (got < 7)
            break;
        flt.after_id = last;
    }
    assert_int_equal(seen, 29);

    /* get_many keeps the caller's order. */
    int64_t ids[] = {3, 1, 2, 4242};
    assert_int_equal(mnemo_obs_get_many(f->st, ids, 4, 0, &l, &e), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].id, 3);
    assert_int_equal(l.items[1].id, 1);
    assert_int_equal(l.items[2].id, 2);
    mnemo_obs_list_release(&l);

    /* Bad filters. */
    mnemo_obs_filter_init(&flt);
    flt.limit = MNEMO_OBS_LIST_MAX + 1;
    assert_int_equal(mnemo_obs_list(f->st, &flt, &l, &e), MNEMO_EINVAL);
    mnemo_obs_filter_init(&flt);
    flt.type = "musing";
    assert_int_equal(mnemo_obs_count(f->st, &flt, &n, &e), MNEMO_EINVAL);
    mnemo_obs_filter_init(&flt);
    flt.offset = -1;
    assert_int_equal(mnemo_obs_list(f->st, &flt, &l, &e), MNEMO_EINVAL);
}

static void test_memory_obs_import_dedups_by_uuid_and_hash(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs_import_result r;
    struct mnemo_obs got;
    struct mnemo_err e = {0};
    struct mnemo_obs existing = sample("p", "Already here");
    int64_t id = create_ok(f->st, &existing);
    assert_int_equal(mnemo_obs_get(f->st, id, &got, &e), 0);

    struct mnemo_obs rows[5];
    rows[0] = sample("p", "Imported one");
    snprintf(rows[0].uuid, sizeof rows[0].uuid, "11111111-1111-4111-8111-111111111111");
    rows[0].created_at = INT64_C(1600000000000);
    rows[0].archived = 1;
    rows[0].archived_reason = "old";
    rows[0].feedback = -1;
    rows[1] = sample("p", "Different title");
    snprintf(rows[1].uuid, sizeof rows[1].uuid, "%s", got.uuid); /* same uuid */
    rows[2] = sample("p", "already HERE");                       /* same hash, new uuid */
    rows[3] = rows[0]; /* same uuid as an earlier row of the batch */
    rows[4] = sample("p", "Broken");
    snprintf(rows[4].type, sizeof rows[4].type, "musing");
    assert_int_equal(mnemo_obs_import(f->st, rows, 5, &r, &e), 0);
    assert_int_equal(r.imported, 1);
    assert_int_equal(r.skipped_uuid, 2);
    assert_int_equal(r.skipped_hash, 1);
    assert_int_equal(r.failed, 1);
    assert_non_null(strstr(e.msg, "type"));
    mnemo_obs_release(&got);

    assert_int_equal(mnemo_obs_get_by_uuid(f->st, "11111111-1111-4111-8111-111111111111", &got, &e),
                     0);
    assert_int_equal(got.created_at, INT64_C(1600000000000));
    assert_int_equal(got.archived, 1);
    assert_string_equal(got.archived_reason, "old");
    assert_int_equal(got.feedback, -1);
    assert_string_equal(got.provenance, "import");
    mnemo_obs_release(&got);
    /* Importing the same batch again adds nothing. */
    assert_int_equal(mnemo_obs_import(f->st, rows, 4, &r, &e), 0);
    assert_int_equal(r.imported, 0);
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM observations"), 2);
}

/* Big batches index FTS in one statement with the insert trigger dropped for the batch: the
 * index must match the content table exactly afterwards, the trigger must be back (rows
 * created later are found), and a small batch still goes through the trigger. */
static void test_memory_obs_bulk_import_keeps_fts_in_step_and_restores_trigger(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_obs_import_result r;
    struct mnemo_err e = {0};
    enum { N = 150 };
    static char titles[N][48];
    struct mnemo_obs rows[N];

    for (int i = 0; i < N; i++) {
        snprintf(titles[i], sizeof titles[i], "Bulk row zqx%04d about walcheckpoint", i);
        rows[i] = sample("p", titles[i]);
    }
    assert_int_equal(mnemo_obs_import(f->st, rows, N, &r, &e), 0);
    assert_int_equal(r.imported, N);
    su_exec(f->st, "INSERT INTO observations_fts(observations_fts) VALUES('integrity-check')");
    assert_int_equal(su_query_int(f->st,
                                  "SELECT count(*) FROM observations_fts WHERE observations_fts "
                                  "MATCH 'walcheckpoint'"),
                     N);
    assert_int_equal(su_query_int(f->st,
                                  "SELECT count(*) FROM observations_fts WHERE observations_fts "
                                  "MATCH 'zqx0149'"),
                     1);
    assert_int_equal(su_query_int(f->st,
                                  "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND "
                                  "name = 'observations_ai'"),
                     1);
    /* The trigger works again: a plain create and a small import are both indexed. */
    assert_int_equal(su_query_int(f->st,
                                  "SELECT count(*) FROM observations_fts WHERE observations_fts "
                                  "MATCH 'afterwards'"),
                     0);
    struct mnemo_obs later = sample("p", "Created afterwards");
    create_ok(f->st, &later);
    struct mnemo_obs small[2] = {sample("p", "Small import one"), sample("p", "Small import two")};
    assert_int_equal(mnemo_obs_import(f->st, small, 2, &r, &e), 0);
    assert_int_equal(r.imported, 2);
    assert_int_equal(su_query_int(f->st,
                                  "SELECT count(*) FROM observations_fts WHERE observations_fts "
                                  "MATCH 'afterwards OR small'"),
                     3);
    su_exec(f->st, "INSERT INTO observations_fts(observations_fts) VALUES('integrity-check')");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, mu_setup, mu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_memory_obs_create_then_get_round_trips_every_field),
        T(test_memory_obs_same_hash_dedups_within_a_project_only),
        T(test_memory_obs_scope_rule_explicit_wins_and_tags_need_no_files),
        T(test_memory_obs_invalid_input_is_rejected_and_nothing_written),
        T(test_memory_obs_update_changes_only_given_fields),
        T(test_memory_obs_facts_and_concepts_are_searchable),
        T(test_memory_obs_archive_hides_from_lists_but_not_get),
        T(test_memory_obs_supersede_hides_older_and_records_relation),
        T(test_memory_obs_delete_cascades_vectors_relations_and_fts),
        T(test_memory_obs_feedback_moves_importance),
        T(test_memory_obs_touch_retrieved_bumps_counts),
        T(test_memory_obs_list_filters_and_pages),
        T(test_memory_obs_import_dedups_by_uuid_and_hash),
        T(test_memory_obs_bulk_import_keeps_fts_in_step_and_restores_trigger),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
