/*
 * test_service_routes_obs.c - the observation routes called directly on a hand-built worker:
 * create (privacy, embedding, duplicates), get by id and uuid, list filters and paging, batch,
 * update, archive/unarchive, supersede, feedback and delete, with their error answers.
 */
#include "test_service_routes_fixture.h"

#include "memory/session.h"

#define OBS_A                                                                                      \
    "{\"project\":\"p1\",\"type\":\"decision\",\"title\":\"use sqlite wal mode\","                 \
    "\"narrative\":\"we chose WAL for concurrency\",\"facts\":[\"wal is fast\"]}"
#define OBS_B                                                                                      \
    "{\"project\":\"p1\",\"type\":\"bugfix\",\"title\":\"fix the parser crash\","                  \
    "\"narrative\":\"null pointer in the lexer\"}"
#define OBS_C "{\"project\":\"p2\",\"type\":\"feature\",\"title\":\"add csv export\"}"

static char *id_text(int64_t id, char *buf, size_t size)
{
    snprintf(buf, size, "%lld", (long long)id);
    return buf;
}

static void test_routes_obs_create_then_get_by_id_and_uuid(void **state)
{
    struct rt_fixture *f = *state;
    char idb[32];

    int64_t id = rt_create(f, OBS_A);
    assert_true(id > 0);
    assert_false(json_is_true(rt_get(f, "duplicate")));
    assert_string_equal(json_string_value(rt_get(f, "scope")), "project");
    char uuid[64];
    snprintf(uuid, sizeof uuid, "%s", json_string_value(rt_get(f, "uuid")));

    assert_int_equal(rt_call(f, route_obs_get, "/v1/observations/x", id_text(id, idb, 32), NULL),
                     200);
    json_t *o = rt_get(f, "observation");
    assert_string_equal(json_string_value(json_object_get(o, "title")), "use sqlite wal mode");
    assert_string_equal(json_string_value(json_object_get(o, "provenance")), "agent");
    assert_int_equal(json_array_size(json_object_get(o, "facts")), 1);

    assert_int_equal(rt_call(f, route_obs_get, "/v1/observations/x", uuid, NULL), 200);
    o = rt_get(f, "observation");
    assert_int_equal(json_integer_value(json_object_get(o, "id")), id);
}

static void test_routes_obs_create_links_its_session_and_provenance(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_session s;
    char body[256], idb[32];

    assert_int_equal(mnemo_session_start(f->w.st, "claude", "s-1", "p1", NULL, 0, &s, NULL, NULL),
                     0);
    snprintf(body, sizeof body,
             "{\"project\":\"p1\",\"type\":\"change\",\"title\":\"linked\","
             "\"session_id\":%lld,\"provenance\":\"user\"}",
             (long long)s.id);
    int64_t id = rt_create(f, body);
    assert_int_equal(rt_call(f, route_obs_get, "/v1/observations/x", id_text(id, idb, 32), NULL),
                     200);
    json_t *o = rt_get(f, "observation");
    assert_int_equal(json_integer_value(json_object_get(o, "session_id")), s.id);
    assert_string_equal(json_string_value(json_object_get(o, "provenance")), "user");
}

static void test_routes_obs_create_same_content_is_a_duplicate(void **state)
{
    struct rt_fixture *f = *state;
    int64_t id = rt_create(f, OBS_A);
    assert_int_equal(rt_call(f, route_obs_create, "/v1/observations", NULL, OBS_A), 200);
    assert_true(json_is_true(rt_get(f, "duplicate")));
    assert_int_equal(json_integer_value(rt_get(f, "id")), id);
}

static void test_routes_obs_create_redacts_secrets_and_strips_private(void **state)
{
    struct rt_fixture *f = *state;
    char idb[32];
    int64_t id = rt_create(f, "{\"project\":\"p1\",\"type\":\"discovery\",\"title\":\"aws key "
                              "AKIAIOSFODNN7EXAMPLE leaked\",\"narrative\":\"token "
                              "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 <private>my "
                              "diary</private> end\"}");
    assert_int_equal(rt_call(f, route_obs_get, "/v1/observations/x", id_text(id, idb, 32), NULL),
                     200);
    json_t *o = rt_get(f, "observation");
    const char *title = json_string_value(json_object_get(o, "title"));
    const char *narr = json_string_value(json_object_get(o, "narrative"));
    assert_null(strstr(title, "AKIAIOSFODNN7EXAMPLE"));
    assert_non_null(strstr(title, "[REDACTED:"));
    assert_null(strstr(narr, "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"));
    assert_non_null(strstr(narr, "[REDACTED:"));
    assert_null(strstr(narr, "diary"));
}

static void test_routes_obs_create_embeds_into_the_index(void **state)
{
    struct rt_fixture *f = *state;
    int64_t id = rt_create(f, OBS_B);
    assert_true(mnemo_vindex_contains(f->w.vx, id));
}

static void test_routes_obs_create_rejects_bad_input_naming_the_field(void **state)
{
    struct rt_fixture *f = *state;

    rt_call(f, route_obs_create, "/v1/observations", NULL, "{\"project\":\"p1\",\"type\":\"fix\"}");
    rt_assert_error(f, 400, "title");
    rt_call(f, route_obs_create, "/v1/observations", NULL,
            "{\"project\":\"p1\",\"type\":\"nope\",\"title\":\"t\"}");
    rt_assert_error(f, 400, "'type'");
    rt_call(f, route_obs_create, "/v1/observations", NULL,
            "{\"project\":\"p1\",\"type\":\"change\",\"title\":\"t\",\"scope\":\"world\"}");
    rt_assert_error(f, 400, "'scope'");
    rt_call(f, route_obs_create, "/v1/observations", NULL,
            "{\"project\":\"p1\",\"type\":\"change\",\"title\":\"t\",\"facts\":\"one\"}");
    rt_assert_error(f, 400, "facts");
    rt_call(f, route_obs_create, "/v1/observations", NULL,
            "{\"project\":\"p1\",\"type\":\"change\",\"title\":\"t\",\"provenance\":\"robot\"}");
    rt_assert_error(f, 400, "'provenance'");
    rt_call(f, route_obs_create, "/v1/observations", NULL,
            "{\"project\":\"a/b\",\"type\":\"change\",\"title\":\"t\"}");
    rt_assert_error(f, 400, "project");
    rt_call(f, route_obs_create, "/v1/observations", NULL,
            "{\"project\":\"p1\",\"type\":\"change\",\"title\":\"t\",\"session_id\":99}");
    rt_assert_error(f, 400, "'session_id'");
    rt_call(f, route_obs_create, "/v1/observations", NULL, "[1,2]");
    rt_assert_error(f, 400, "object");
    rt_call(f, route_obs_create, "/v1/observations", NULL, NULL);
    rt_assert_error(f, 400, "body");

    /* Nothing was written by any of them. */
    assert_int_equal(rt_call(f, route_obs_list, "/v1/observations?archived=all", NULL, NULL), 200);
    assert_int_equal(json_integer_value(rt_get(f, "total")), 0);
}

static void test_routes_obs_get_answers_400_for_malformed_and_404_for_unknown_ids(void **state)
{
    struct rt_fixture *f = *state;
    rt_call(f, route_obs_get, "/v1/observations/abc", "abc", NULL);
    rt_assert_error(f, 400, "positive integer");
    rt_call(f, route_obs_get, "/v1/observations/0", "0", NULL);
    rt_assert_error(f, 400, "positive integer");
    rt_call(f, route_obs_get, "/v1/observations/-3", "-3", NULL);
    rt_assert_error(f, 400, "positive integer");
    rt_call(f, route_obs_get, "/v1/observations/12x", "12x", NULL);
    rt_assert_error(f, 400, "positive integer");
    assert_int_equal(rt_call(f, route_obs_get, "/v1/observations/999", "999", NULL), 404);
    assert_int_equal(rt_call(f, route_obs_get, "/v1/observations/u",
                             "00000000-0000-4000-8000-000000000000", NULL),
                     404);
}

static void test_routes_obs_list_filters_pages_and_validates(void **state)
{
    struct rt_fixture *f = *state;
    rt_create(f, OBS_A);
    rt_create(f, OBS_B);
    rt_create(f, OBS_C);

    assert_int_equal(rt_call(f, route_obs_list, "/v1/observations", NULL, NULL), 200);
    assert_int_equal(json_integer_value(rt_get(f, "total")), 3);
    assert_int_equal(rt_call(f, route_obs_list, "/v1/observations?project=p1", NULL, NULL), 200);
    assert_int_equal(json_integer_value(rt_get(f, "total")), 2);
    assert_int_equal(
        rt_call(f, route_obs_list, "/v1/observations?project=p1&type=bugfix", NULL, NULL), 200);
    assert_int_equal(json_array_size(rt_get(f, "observations")), 1);
    assert_int_equal(rt_call(f, route_obs_list, "/v1/observations?limit=1&offset=1", NULL, NULL),
                     200);
    assert_int_equal(json_array_size(rt_get(f, "observations")), 1);
    assert_int_equal(json_integer_value(rt_get(f, "total")), 3);
    assert_int_equal(json_integer_value(rt_get(f, "limit")), 1);
    assert_int_equal(json_integer_value(rt_get(f, "offset")), 1);

    rt_call(f, route_obs_list, "/v1/observations?limit=1001", NULL, NULL);
    rt_assert_error(f, 400, "'limit'");
    rt_call(f, route_obs_list, "/v1/observations?limit=0", NULL, NULL);
    rt_assert_error(f, 400, "'limit'");
    rt_call(f, route_obs_list, "/v1/observations?type=poem", NULL, NULL);
    rt_assert_error(f, 400, "'type'");
    rt_call(f, route_obs_list, "/v1/observations?scope=galaxy", NULL, NULL);
    rt_assert_error(f, 400, "'scope'");
    rt_call(f, route_obs_list, "/v1/observations?archived=maybe", NULL, NULL);
    rt_assert_error(f, 400, "'archived'");
    rt_call(f, route_obs_list, "/v1/observations?since=yesterday", NULL, NULL);
    rt_assert_error(f, 400, "'since'");
}

static void test_routes_obs_batch_leaves_out_missing_ids_and_checks_them(void **state)
{
    struct rt_fixture *f = *state;
    char body[128];
    int64_t a = rt_create(f, OBS_A);
    int64_t b = rt_create(f, OBS_B);

    snprintf(body, sizeof body, "{\"ids\":[%lld,999,%lld]}", (long long)b, (long long)a);
    assert_int_equal(rt_call(f, route_obs_batch, "/v1/observations/batch", NULL, body), 200);
    json_t *l = rt_get(f, "observations");
    assert_int_equal(json_array_size(l), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "id")), b);

    rt_call(f, route_obs_batch, "/v1/observations/batch", NULL, "{\"ids\":[1,\"2\"]}");
    rt_assert_error(f, 400, "'ids'");
    rt_call(f, route_obs_batch, "/v1/observations/batch", NULL, "{\"ids\":5}");
    rt_assert_error(f, 400, "'ids'");

    /* More ids than one batch may hold. */
    size_t cap = 8 * (MNEMO_OBS_LIST_MAX + 2);
    char *big = malloc(cap);
    assert_non_null(big);
    size_t n = (size_t)snprintf(big, cap, "{\"ids\":[1");
    for (int i = 0; i < MNEMO_OBS_LIST_MAX; i++)
        n += (size_t)snprintf(big + n, cap - n, ",1");
    snprintf(big + n, cap - n, "]}");
    rt_call(f, route_obs_batch, "/v1/observations/batch", NULL, big);
    free(big);
    rt_assert_error(f, 400, "more than");
}

static void test_routes_obs_update_changes_only_the_given_fields(void **state)
{
    struct rt_fixture *f = *state;
    char idb[32];
    int64_t id = rt_create(f, OBS_B);

    id_text(id, idb, 32);
    assert_int_equal(rt_call(f, route_obs_update, "/v1/observations/x", idb,
                             "{\"title\":\"fix the lexer crash\",\"facts\":[\"a\",\"b\"]}"),
                     200);
    json_t *o = rt_get(f, "observation");
    assert_string_equal(json_string_value(json_object_get(o, "title")), "fix the lexer crash");
    assert_string_equal(json_string_value(json_object_get(o, "narrative")),
                        "null pointer in the lexer");
    assert_int_equal(json_array_size(json_object_get(o, "facts")), 2);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "bugfix");

    rt_call(f, route_obs_update, "/v1/observations/x", idb, "{\"type\":\"poem\"}");
    rt_assert_error(f, 400, "'type'");
    rt_call(f, route_obs_update, "/v1/observations/x", idb, "{\"title\":7}");
    rt_assert_error(f, 400, "title");
    assert_int_equal(
        rt_call(f, route_obs_update, "/v1/observations/x", "4242", "{\"title\":\"x\"}"), 404);
    rt_call(f, route_obs_update, "/v1/observations/x", "x1", "{\"title\":\"x\"}");
    rt_assert_error(f, 400, "positive integer");
    /* An empty patch changes nothing and answers the row. */
    assert_int_equal(rt_call(f, route_obs_update, "/v1/observations/x", idb, "{}"), 200);
    o = rt_get(f, "observation");
    assert_string_equal(json_string_value(json_object_get(o, "title")), "fix the lexer crash");
}

static void test_routes_obs_archive_and_unarchive_follow_the_index(void **state)
{
    struct rt_fixture *f = *state;
    char idb[32];
    int64_t id = rt_create(f, OBS_A);

    id_text(id, idb, 32);
    assert_true(mnemo_vindex_contains(f->w.vx, id));
    assert_int_equal(
        rt_call(f, route_obs_archive, "/v1/observations/x/archive", idb, "{\"reason\":\"stale\"}"),
        200);
    json_t *o = rt_get(f, "observation");
    assert_true(json_is_true(json_object_get(o, "archived")));
    assert_string_equal(json_string_value(json_object_get(o, "archived_reason")), "stale");
    assert_false(mnemo_vindex_contains(f->w.vx, id));

    /* Archived rows are hidden from the default list. */
    assert_int_equal(rt_call(f, route_obs_list, "/v1/observations", NULL, NULL), 200);
    assert_int_equal(json_integer_value(rt_get(f, "total")), 0);
    assert_int_equal(rt_call(f, route_obs_list, "/v1/observations?archived=1", NULL, NULL), 200);
    assert_int_equal(json_integer_value(rt_get(f, "total")), 1);

    assert_int_equal(rt_call(f, route_obs_unarchive, "/v1/observations/x/unarchive", idb, NULL),
                     200);
    o = rt_get(f, "observation");
    assert_false(json_is_true(json_object_get(o, "archived")));
    assert_true(mnemo_vindex_contains(f->w.vx, id));

    assert_int_equal(rt_call(f, route_obs_archive, "/v1/observations/x/archive", "777", NULL), 404);
    rt_call(f, route_obs_archive, "/v1/observations/x/archive", idb, "{\"reason\":5}");
    rt_assert_error(f, 400, "'reason'");
}

static void test_routes_obs_supersede_marks_the_older_row(void **state)
{
    struct rt_fixture *f = *state;
    char idb[32], body[64];
    int64_t older = rt_create(f, OBS_A);
    int64_t newer = rt_create(f, OBS_B);

    id_text(older, idb, 32);
    rt_call(f, route_obs_supersede, "/v1/observations/x/supersede", idb, "{}");
    rt_assert_error(f, 400, "'by'");
    rt_call(f, route_obs_supersede, "/v1/observations/x/supersede", idb, "{\"by\":\"2\"}");
    rt_assert_error(f, 400, "'by'");
    snprintf(body, sizeof body, "{\"by\":%lld}", (long long)older);
    rt_call(f, route_obs_supersede, "/v1/observations/x/supersede", idb, body);
    rt_assert_error(f, 400, "another");
    assert_int_equal(
        rt_call(f, route_obs_supersede, "/v1/observations/x/supersede", idb, "{\"by\":9999}"), 404);

    snprintf(body, sizeof body, "{\"by\":%lld}", (long long)newer);
    assert_int_equal(rt_call(f, route_obs_supersede, "/v1/observations/x/supersede", idb, body),
                     200);
    json_t *o = rt_get(f, "observation");
    assert_int_equal(json_integer_value(json_object_get(o, "superseded_by")), newer);
    assert_false(mnemo_vindex_contains(f->w.vx, older));
}

static void test_routes_obs_feedback_accepts_only_minus_one_zero_one(void **state)
{
    struct rt_fixture *f = *state;
    char idb[32];
    int64_t id = rt_create(f, OBS_A);

    id_text(id, idb, 32);
    assert_int_equal(
        rt_call(f, route_obs_feedback, "/v1/observations/x/feedback", idb, "{\"vote\":1}"), 200);
    double up = json_real_value(rt_get(f, "importance"));
    assert_int_equal(
        rt_call(f, route_obs_feedback, "/v1/observations/x/feedback", idb, "{\"vote\":-1}"), 200);
    assert_true(json_real_value(rt_get(f, "importance")) < up);

    rt_call(f, route_obs_feedback, "/v1/observations/x/feedback", idb, "{\"vote\":2}");
    rt_assert_error(f, 400, "'vote'");
    rt_call(f, route_obs_feedback, "/v1/observations/x/feedback", idb, "{\"vote\":\"1\"}");
    rt_assert_error(f, 400, "'vote'");
    rt_call(f, route_obs_feedback, "/v1/observations/x/feedback", idb, "{}");
    rt_assert_error(f, 400, "'vote'");
    assert_int_equal(
        rt_call(f, route_obs_feedback, "/v1/observations/x/feedback", "5555", "{\"vote\":0}"), 404);
}

static void test_routes_obs_delete_removes_the_row_and_its_vector(void **state)
{
    struct rt_fixture *f = *state;
    char idb[32];
    int64_t id = rt_create(f, OBS_A);

    id_text(id, idb, 32);
    assert_int_equal(rt_call(f, route_obs_delete, "/v1/observations/x", idb, NULL), 200);
    assert_true(json_is_true(rt_get(f, "deleted")));
    assert_false(mnemo_vindex_contains(f->w.vx, id));
    assert_int_equal(rt_call(f, route_obs_get, "/v1/observations/x", idb, NULL), 404);
    assert_int_equal(rt_call(f, route_obs_delete, "/v1/observations/x", idb, NULL), 404);
    rt_call(f, route_obs_delete, "/v1/observations/x", "1.5", NULL);
    rt_assert_error(f, 400, "positive integer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_obs_create_then_get_by_id_and_uuid, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_create_links_its_session_and_provenance,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_create_same_content_is_a_duplicate,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_create_redacts_secrets_and_strips_private,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_create_embeds_into_the_index, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_create_rejects_bad_input_naming_the_field,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(
            test_routes_obs_get_answers_400_for_malformed_and_404_for_unknown_ids, rt_setup,
            rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_list_filters_pages_and_validates, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(
            test_routes_obs_batch_leaves_out_missing_ids_and_checks_them, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_update_changes_only_the_given_fields,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_archive_and_unarchive_follow_the_index,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_supersede_marks_the_older_row, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_feedback_accepts_only_minus_one_zero_one,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_obs_delete_removes_the_row_and_its_vector,
                                        rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
