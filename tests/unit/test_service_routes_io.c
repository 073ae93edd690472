/*
 * test_service_routes_io.c - bulk import (JSON array, {"observations":[...]}, JSON Lines) with
 * per-row errors and privacy, and export as an attachment in jsonl, json and csv.
 */
#include "test_service_routes_fixture.h"

#define OBS_A                                                                                      \
    "{\"project\":\"p1\",\"type\":\"decision\",\"title\":\"use sqlite wal mode\","                 \
    "\"narrative\":\"we chose WAL, for \\\"concurrency\\\"\"}"
#define OBS_B "{\"project\":\"p1\",\"type\":\"bugfix\",\"title\":\"fix the parser crash\"}"
#define OBS_C "{\"project\":\"p2\",\"type\":\"feature\",\"title\":\"add csv export\"}"

static int64_t count_all(struct rt_fixture *f)
{
    assert_int_equal(rt_call(f, route_obs_list, "/v1/observations?archived=all", NULL, NULL), 200);
    return (int64_t)json_integer_value(rt_get(f, "total"));
}

static void test_routes_import_array_reports_each_bad_row_by_index(void **state)
{
    struct rt_fixture *f = *state;
    const char *body = "[" OBS_A ",{\"project\":\"p1\",\"type\":\"change\"},7," OBS_B
                       ",{\"project\":\"p1\",\"type\":\"poem\",\"title\":\"x\"}]";

    assert_int_equal(rt_call(f, route_obs_import, "/v1/observations/import", NULL, body), 200);
    assert_int_equal(json_integer_value(rt_get(f, "imported")), 2);
    assert_int_equal(json_integer_value(rt_get(f, "skipped")), 0);
    assert_int_equal(json_integer_value(rt_get(f, "failed")), 3);
    json_t *errs = rt_get(f, "errors");
    assert_int_equal(json_array_size(errs), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(errs, 0), "index")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(errs, 1), "index")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(errs, 2), "index")), 4);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_array_get(errs, 0), "message")), "title"));
    assert_int_equal(count_all(f), 2);

    /* The same rows again are skipped (same uuid or same content). */
    assert_int_equal(rt_call(f, route_obs_import, "/v1/observations/import", NULL,
                             "{\"observations\":[" OBS_A "," OBS_B "]}"),
                     200);
    assert_int_equal(json_integer_value(rt_get(f, "imported")), 0);
    assert_int_equal(json_integer_value(rt_get(f, "skipped")), 2);
    assert_int_equal(json_integer_value(rt_get(f, "skipped_hash")), 2);
    assert_int_equal(json_integer_value(rt_get(f, "skipped_uuid")), 0);
    assert_int_equal(json_integer_value(rt_get(f, "failed")), 0);
}

static void test_routes_import_ndjson_with_a_malformed_line_and_a_secret(void **state)
{
    struct rt_fixture *f = *state;
    const char *body = OBS_A "\n\n{not json}\r\n{\"project\":\"p3\",\"type\":\"discovery\","
                             "\"title\":\"key AKIAIOSFODNN7EXAMPLE in env\"}\n" OBS_C "\n";

    assert_int_equal(rt_call(f, route_obs_import, "/v1/observations/import", NULL, body), 200);
    assert_int_equal(json_integer_value(rt_get(f, "imported")), 3);
    assert_int_equal(json_integer_value(rt_get(f, "failed")), 1);
    json_t *e = json_array_get(rt_get(f, "errors"), 0);
    assert_int_equal(json_integer_value(json_object_get(e, "index")), 1);
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "malformed"));

    assert_int_equal(rt_call(f, route_obs_list, "/v1/observations?project=p3", NULL, NULL), 200);
    json_t *o = json_array_get(rt_get(f, "observations"), 0);
    const char *title = json_string_value(json_object_get(o, "title"));
    assert_null(strstr(title, "AKIAIOSFODNN7EXAMPLE"));
    assert_non_null(strstr(title, "[REDACTED:"));
    assert_string_equal(json_string_value(json_object_get(o, "provenance")), "import");
}

static void test_routes_import_rejects_bodies_without_rows(void **state)
{
    struct rt_fixture *f = *state;
    rt_call(f, route_obs_import, "/v1/observations/import", NULL, "{\"observations\":5}");
    rt_assert_error(f, 400, "'observations'");
    rt_call(f, route_obs_import, "/v1/observations/import", NULL, NULL);
    rt_assert_error(f, 400, "body");
    assert_int_equal(count_all(f), 0);
}

static void test_routes_export_writes_every_format_as_an_attachment(void **state)
{
    struct rt_fixture *f = *state;
    rt_create(f, OBS_A);
    rt_create(f, OBS_B);
    rt_create(f, OBS_C);

    assert_int_equal(rt_call(f, route_obs_export, "/v1/observations/export", NULL, NULL), 200);
    assert_null(f->resp.json);
    assert_non_null(f->resp.bytes);
    assert_string_equal(f->resp.content_type, "application/x-ndjson");
    assert_int_equal(f->resp.n_headers, 1);
    assert_string_equal(f->resp.header_names[0], "Content-Disposition");
    assert_string_equal(f->resp.header_values[0], "attachment; filename=\"mnemo-export.jsonl\"");
    int lines = 0;
    for (size_t i = 0; i < f->resp.len; i++)
        lines += f->resp.bytes[i] == '\n';
    assert_int_equal(lines, 3);

    assert_int_equal(
        rt_call(f, route_obs_export, "/v1/observations/export?format=json&project=p1", NULL, NULL),
        200);
    json_t *arr = json_loadb(f->resp.bytes, f->resp.len, 0, NULL);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), 2);
    json_decref(arr);
    assert_string_equal(f->resp.header_values[0], "attachment; filename=\"mnemo-export.json\"");

    assert_int_equal(
        rt_call(f, route_obs_export, "/v1/observations/export?format=csv&project=p1", NULL, NULL),
        200);
    assert_string_equal(f->resp.content_type, "text/csv; charset=utf-8");
    assert_true(strncmp(f->resp.bytes, "id,uuid,project,scope,type,title", 32) == 0);
    assert_non_null(strstr(f->resp.bytes, "\"we chose WAL, for \"\"concurrency\"\"\""));
    int records = 0;
    for (const char *p = f->resp.bytes; (p = strstr(p, "\r\n")) != NULL; p += 2)
        records++;
    assert_int_equal(records, 3); /* header + 2 rows */

    /* The export reads back through import as the same rows (all skipped). */
    assert_int_equal(rt_call(f, route_obs_export, "/v1/observations/export", NULL, NULL), 200);
    char *copy = strndup(f->resp.bytes, f->resp.len);
    assert_non_null(copy);
    assert_int_equal(rt_call(f, route_obs_import, "/v1/observations/import", NULL, copy), 200);
    free(copy);
    assert_int_equal(json_integer_value(rt_get(f, "skipped")), 3);
    assert_int_equal(json_integer_value(rt_get(f, "skipped_uuid")), 3);
}

static void test_routes_export_rejects_unknown_formats_and_bad_projects(void **state)
{
    struct rt_fixture *f = *state;
    rt_call(f, route_obs_export, "/v1/observations/export?format=xml", NULL, NULL);
    rt_assert_error(f, 400, "'format'");
    rt_call(f, route_obs_export, "/v1/observations/export?project=..", NULL, NULL);
    rt_assert_error(f, 400, "'project'");
    rt_call(f, route_obs_export, "/v1/observations/export?archived=yes", NULL, NULL);
    rt_assert_error(f, 400, "'archived'");
    assert_int_equal(
        rt_call(f, route_obs_export, "/v1/observations/export?format=json", NULL, NULL), 200);
    assert_string_equal(f->resp.bytes, "[]\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_import_array_reports_each_bad_row_by_index,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(
            test_routes_import_ndjson_with_a_malformed_line_and_a_secret, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_import_rejects_bodies_without_rows, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_export_writes_every_format_as_an_attachment,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_export_rejects_unknown_formats_and_bad_projects,
                                        rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
