/*
 * test_worker_llm.c - a real worker with `extractor: llm` in config.json: captured tool events
 * go to the model command (a script from tests/data/llm standing in for the model), its
 * observations are stored with provenance "llm", and /v1/stats counts the calls. With a
 * model command that fails, the rules extractor takes the event: nothing is dropped.
 */
#include "worker_http.h"

#include "util/fs.h"

/* tests/data/llm/<name>, found from this file's path so ctest works from any build dir. */
static void data_path(const char *name, char *buf, size_t size)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dir_len = slash ? (int)(slash - file) : 1;
    snprintf(buf, size, "%.*s/../data/llm/%s", dir_len, slash ? file : ".", name);
}

/* Writes config.json in the home (before the worker starts) choosing the llm extractor. */
static void use_llm(struct fixture *f, const char *command)
{
    char path[700];
    json_t *cfg = json_pack("{s:s,s:s,s:i}", "extractor", "llm", "llm.command", command,
                            "llm.timeout_ms", 5000);
    assert_non_null(cfg);
    assert_int_equal(mnemo_fs_mkdir_p(f->home, 0700, NULL), 0);
    snprintf(path, sizeof path, "%s/config.json", f->home);
    assert_int_equal(json_dump_file(cfg, path, 0), 0);
    json_decref(cfg);
}

static const char edit_event[] =
    "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"s-llm\","
    "\"project\":\"pager_000001\",\"cwd\":\"/tmp/pager\",\"payload\":{\"hook_event_name\":"
    "\"PostToolUse\",\"session_id\":\"s-llm\",\"cwd\":\"/tmp/pager\",\"tool_name\":\"Edit\","
    "\"tool_input\":{\"file_path\":\"src/pager.c\",\"old_string\":\"n / size\",\"new_string\":"
    "\"(n + size - 1) / size\"},\"tool_response\":{\"success\":true}}}";

/* Polls the project's observations until one has provenance prov (or the wait ends). */
static int wait_for_provenance(struct fixture *f, const char *prov)
{
    for (int i = 0; i < 200; i++) {
        struct http_resp r = sock_json(f, "GET", "/v1/observations?project=pager_000001", NULL);
        json_t *j = json_incref(r.json);
        size_t k;
        json_t *o;
        int found = 0;
        json_array_foreach(json_object_get(j, "observations"), k, o)
        {
            const char *p = json_string_value(json_object_get(o, "provenance"));
            if (p != NULL && strcmp(p, prov) == 0)
                found = 1;
        }
        json_decref(j);
        http_resp_free(&r);
        if (found)
            return 1;
        usleep(50000);
    }
    return 0;
}

static json_t *llm_stats(struct fixture *f)
{
    struct http_resp r = sock_json(f, "GET", "/v1/stats", NULL);
    json_t *j = expect_json(&r, 200, "stats"); /* borrowed from r */
    json_t *llm = json_incref(json_object_get(j, "llm"));
    http_resp_free(&r);
    assert_non_null(llm);
    return llm;
}

static void test_worker_llm_extractor_stores_model_observations(void **state)
{
    struct fixture *f = *state;
    char script[600], reply[600], cmd[1300];
    data_path("reply.sh", script, sizeof script);
    data_path("good_reply.xml", reply, sizeof reply);
    snprintf(cmd, sizeof cmd, "sh '%s' '%s'", script, reply);
    use_llm(f, cmd);
    serve(f);

    struct http_resp r = sock_json(f, "POST", "/v1/events", edit_event);
    expect_json(&r, 202, "append"); /* borrowed from r */
    http_resp_free(&r);
    if (!wait_for_provenance(f, "llm"))
        fail_worker(f, "no observation with provenance llm");
    json_t *llm = llm_stats(f);
    assert_true(json_is_true(json_object_get(llm, "enabled")));
    assert_int_equal(json_integer_value(json_object_get(llm, "calls")), 1);
    assert_int_equal(json_integer_value(json_object_get(llm, "successes")), 1);
    assert_int_equal(json_integer_value(json_object_get(llm, "fallbacks")), 0);
    json_decref(llm);
    stop_child(f);
}

static void test_worker_llm_failure_falls_back_to_rules(void **state)
{
    struct fixture *f = *state;
    char script[600], cmd[700];
    data_path("fail.sh", script, sizeof script);
    snprintf(cmd, sizeof cmd, "sh '%s'", script);
    use_llm(f, cmd);
    serve(f);

    struct http_resp r = sock_json(f, "POST", "/v1/events", edit_event);
    expect_json(&r, 202, "append"); /* borrowed from r */
    http_resp_free(&r);
    if (!wait_for_provenance(f, "rules"))
        fail_worker(f, "the rules extractor did not take the event");
    json_t *llm = llm_stats(f);
    assert_int_equal(json_integer_value(json_object_get(llm, "failures")), 1);
    assert_int_equal(json_integer_value(json_object_get(llm, "fallbacks")), 1);
    json_decref(llm);
    stop_child(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_worker_llm_extractor_stores_model_observations, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_llm_failure_falls_back_to_rules, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
