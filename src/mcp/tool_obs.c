/*
 * tool_obs.c - the tools that answer JSON (structuredContent, with the same JSON as text for
 * clients that read only text): get_observations (POST /v1/observations/batch), save_memory
 * (POST /v1/observations, provenance "agent") and memory_admin (stats, health, maintenance,
 * checkpoint).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp_int.h"

#define GET_MAX_IDS 100

static const char get_desc[] =
    "{\"name\":\"get_observations\",\"title\":\"Get memories by id\","
    "\"description\":\"Full records of memories by their ids (from search or timeline): title, "
    "subtitle, narrative, facts, concepts, files read and modified, project, scope, dates. Ask "
    "only for the ids you need.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"ids\":{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"minimum\":1},\"minItems\":1,"
    "\"maxItems\":100,\"description\":\"memory ids, e.g. [12, 40]\"}},"
    "\"required\":[\"ids\"],\"additionalProperties\":false},"
    "\"outputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"observations\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},"
    "\"missing\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}},"
    "\"required\":[\"observations\",\"missing\"]},"
    "\"annotations\":{\"title\":\"Get memories by id\",\"readOnlyHint\":true,"
    "\"destructiveHint\":false,\"idempotentHint\":true,\"openWorldHint\":false}}";

static const char save_desc[] =
    "{\"name\":\"save_memory\",\"title\":\"Save a memory\","
    "\"description\":\"Saves something a future session should know (a decision and its reason, "
    "a bug's cause and fix, a gotcha, how something works) as a memory of the current project, "
    "or of every project with scope 'global'. Secrets are redacted before storing. Saving the "
    "same content twice keeps one memory.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1024,\"description\":\"one "
    "line that says what it is\"},"
    "\"narrative\":{\"type\":\"string\",\"description\":\"the full story: context, what and "
    "why\"},"
    "\"text\":{\"type\":\"string\",\"description\":\"same as narrative\"},"
    "\"subtitle\":{\"type\":\"string\"},"
    "\"type\":{\"type\":\"string\",\"enum\":[\"decision\",\"bugfix\",\"feature\",\"refactor\","
    "\"discovery\",\"change\"],\"default\":\"discovery\"},"
    "\"concepts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"tags "
    "such as gotcha, pattern, best-practice, security\"},"
    "\"facts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"short "
    "standalone facts\"},"
    "\"files\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"files it "
    "is about\"},"
    "\"scope\":{\"type\":\"string\",\"enum\":[\"project\",\"global\"],\"description\":\"global: "
    "useful in every project; default: decided by its concepts\"},"
    "\"project\":{\"type\":\"string\",\"description\":\"default: the current directory's "
    "project\"}},"
    "\"required\":[\"title\"],\"additionalProperties\":false},"
    "\"outputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"integer\"},\"uuid\":{\"type\":\"string\"},"
    "\"duplicate\":{\"type\":\"boolean\"},\"scope\":{\"type\":\"string\"},"
    "\"importance\":{\"type\":\"number\"},\"project\":{\"type\":\"string\"}},"
    "\"required\":[\"id\",\"duplicate\"]},"
    "\"annotations\":{\"title\":\"Save a memory\",\"readOnlyHint\":false,"
    "\"destructiveHint\":false,\"idempotentHint\":true,\"openWorldHint\":false}}";

static const char admin_desc[] =
    "{\"name\":\"memory_admin\",\"title\":\"Memory administration\","
    "\"description\":\"Looks after mnemo's store. action 'stats': counts by project, type and "
    "scope, queue, vectors, WAL size; 'health': the worker's and the database's health; "
    "'run_maintenance': runs maintenance now (checkpoint, optimize, retention, scores) and "
    "returns its report; 'checkpoint': a forced WAL checkpoint.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"action\":{\"type\":\"string\",\"enum\":[\"stats\",\"health\",\"run_maintenance\","
    "\"checkpoint\"]}},"
    "\"required\":[\"action\"],\"additionalProperties\":false},"
    "\"outputSchema\":{\"type\":\"object\"},"
    "\"annotations\":{\"title\":\"Memory administration\",\"readOnlyHint\":false,"
    "\"destructiveHint\":true,\"idempotentHint\":true,\"openWorldHint\":false}}";

json_t *mcp_describe_get_observations(void)
{
    return json_loads(get_desc, 0, NULL);
}

json_t *mcp_describe_save_memory(void)
{
    return json_loads(save_desc, 0, NULL);
}

json_t *mcp_describe_memory_admin(void)
{
    return json_loads(admin_desc, 0, NULL);
}

/* An id given as 12, 12.0, "12" or "#12"; 0 when it is none of these. */
static int64_t read_id(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
    if (json_is_real(v) && json_real_value(v) >= 1 && json_real_value(v) < 9e15 &&
        json_real_value(v) == (double)(int64_t)json_real_value(v))
        return (int64_t)json_real_value(v);
    const char *s = json_string_value(v);
    if (s == NULL)
        return 0;
    if (*s == '#')
        s++;
    if (!isdigit((unsigned char)*s))
        return 0;
    char *end;
    long long n = strtoll(s, &end, 10);
    return *end == '\0' && n > 0 ? (int64_t)n : 0;
}

void mcp_tool_get_observations(struct mcp_server *s, const json_t *args, struct mcp_result *r)
{
    static const char *const known[] = {"ids", NULL};
    if (mcp_arg_known(args, known, r) != 0)
        return;
    const json_t *ids = json_object_get(args, "ids");
    if (json_is_integer(ids) || json_is_string(ids)) {
        json_t *one = json_pack("[O]", ids); /* a lone id: what the model meant is plain */
        json_t *a2 = json_pack("{s:o}", "ids", one);
        if (a2 != NULL)
            mcp_tool_get_observations(s, a2, r);
        else
            mcp_result_fail(r, "out of memory");
        json_decref(a2);
        return;
    }
    if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > GET_MAX_IDS) {
        mcp_result_fail(r, "argument 'ids' must be an array of 1 to %d memory ids, e.g. [12, 40]",
                        GET_MAX_IDS);
        return;
    }
    json_t *want = json_array();
    size_t i;
    const json_t *v;
    json_array_foreach(ids, i, v)
    {
        int64_t id = read_id(v);
        if (id <= 0) {
            json_decref(want);
            mcp_result_fail(r, "argument 'ids' item %zu is not a memory id (a positive integer)",
                            i);
            return;
        }
        json_array_append_new(want, json_integer((json_int_t)id));
    }
    json_t *body = json_pack("{s:O}", "ids", want);
    json_t *ans =
        body != NULL ? mcp_worker_json(s, "POST", "/v1/observations/batch", body, 0, r) : NULL;
    json_decref(body);
    if (ans == NULL) {
        json_decref(want);
        if (!r->is_error)
            mcp_result_fail(r, "out of memory");
        return;
    }
    json_t *obs = json_object_get(ans, "observations");
    if (!json_is_array(obs)) {
        json_decref(ans);
        json_decref(want);
        mcp_result_fail(r, "the worker's answer has no observations");
        return;
    }
    json_t *missing = json_array();
    json_array_foreach(want, i, v)
    {
        size_t k;
        const json_t *o;
        int found = 0;
        json_array_foreach(obs, k, o)
        {
            if (json_integer_value(json_object_get(o, "id")) == json_integer_value(v))
                found = 1;
        }
        if (!found)
            json_array_append(missing, (json_t *)v);
    }
    mcp_result_json(r, json_pack("{s:O,s:o}", "observations", obs, "missing", missing));
    json_decref(ans);
    json_decref(want);
}

/* Copies args[from] (an array of strings, or one string) into body[to]. */
static int copy_strs(const json_t *args, const char *from, json_t *body, const char *to, size_t max,
                     size_t max_items, struct mcp_result *r)
{
    json_t *a;
    if (mcp_arg_strs(args, from, max, max_items, &a, r) != 0)
        return -1;
    if (a != NULL)
        json_object_set_new(body, to, a);
    return 0;
}

void mcp_tool_save_memory(struct mcp_server *s, const json_t *args, struct mcp_result *r)
{
    static const char *const known[] = {"title", "narrative", "text",  "subtitle",
                                        "type",  "concepts",  "facts", "files",
                                        "scope", "project",   NULL};
    const char *title, *narrative, *text, *subtitle, *type, *scope, *project;
    json_t *body = json_object();
    if (body == NULL) {
        mcp_result_fail(r, "out of memory");
        return;
    }
    if (mcp_arg_known(args, known, r) != 0 || mcp_arg_str(args, "title", 1024, &title, r) != 0 ||
        mcp_arg_str(args, "narrative", 64 * 1024, &narrative, r) != 0 ||
        mcp_arg_str(args, "text", 64 * 1024, &text, r) != 0 ||
        mcp_arg_str(args, "subtitle", 1024, &subtitle, r) != 0 ||
        mcp_arg_str(args, "type", 32, &type, r) != 0 ||
        mcp_arg_str(args, "scope", 32, &scope, r) != 0 ||
        mcp_arg_str(args, "project", 512, &project, r) != 0 ||
        copy_strs(args, "concepts", body, "concepts", 64, 32, r) != 0 ||
        copy_strs(args, "facts", body, "facts", 4096, 100, r) != 0 ||
        copy_strs(args, "files", body, "files_read", 4096, 500, r) != 0)
        goto out;
    if (title == NULL || title[0] == '\0') {
        mcp_result_fail(r, "argument 'title' is required: one line that says what to remember");
        goto out;
    }
    if (narrative != NULL && text != NULL && strcmp(narrative, text) != 0) {
        mcp_result_fail(r, "give either 'narrative' or 'text' (they are the same field)");
        goto out;
    }
    const char *proj = mcp_project(s, project);
    if (proj == NULL) {
        mcp_result_fail(r, "no project: this server has no default project, pass 'project'");
        goto out;
    }
    json_object_set_new(body, "title", json_string(title));
    json_object_set_new(body, "project", json_string(proj));
    json_object_set_new(body, "type",
                        json_string(type != NULL && type[0] != '\0' ? type : "discovery"));
    json_object_set_new(body, "provenance", json_string("agent"));
    if (narrative != NULL || text != NULL)
        json_object_set_new(body, "narrative", json_string(narrative != NULL ? narrative : text));
    if (subtitle != NULL)
        json_object_set_new(body, "subtitle", json_string(subtitle));
    if (scope != NULL && scope[0] != '\0')
        json_object_set_new(body, "scope", json_string(scope));
    json_t *ans = mcp_worker_json(s, "POST", "/v1/observations", body, 0, r);
    if (ans == NULL)
        goto out;
    json_object_set_new(ans, "project", json_string(proj));
    mcp_result_json(r, ans);
out:
    json_decref(body);
}

void mcp_tool_memory_admin(struct mcp_server *s, const json_t *args, struct mcp_result *r)
{
    static const char *const known[] = {"action", NULL};
    const char *action;
    if (mcp_arg_known(args, known, r) != 0 || mcp_arg_str(args, "action", 32, &action, r) != 0)
        return;
    if (action == NULL) {
        mcp_result_fail(r, "argument 'action' is required: stats, health, run_maintenance or "
                           "checkpoint");
        return;
    }
    json_t *ans = NULL;
    if (strcmp(action, "stats") == 0) {
        ans = mcp_worker_json(s, "GET", "/v1/stats", NULL, 0, r);
    } else if (strcmp(action, "health") == 0) {
        /* A worker that is starting answers 503 with its health: that is the answer asked for. */
        int status = mcp_worker_call(s, "GET", "/v1/health", NULL, 0, &ans, r);
        if (status != 0 && !json_is_object(ans)) {
            mcp_worker_fail(r, status, ans);
            json_decref(ans);
            ans = NULL;
        }
    } else if (strcmp(action, "run_maintenance") == 0) {
        int64_t deadline =
            s->cfg->maint_timeout_ms > 0 ? s->cfg->maint_timeout_ms : MNEMO_MCP_MAINT_TIMEOUT_MS;
        /* The worker stops its run a little before the client gives up, to still answer. */
        int64_t run = deadline > 4000 ? deadline - 2000 : deadline / 2;
        json_t *body = json_pack("{s:I}", "timeout_ms", (json_int_t)run);
        ans =
            body != NULL ? mcp_worker_json(s, "POST", "/v1/maintenance", body, deadline, r) : NULL;
        json_decref(body);
    } else if (strcmp(action, "checkpoint") == 0) {
        ans = mcp_worker_json(s, "POST", "/v1/checkpoint", NULL, 0, r);
    } else {
        mcp_result_fail(r,
                        "argument 'action' must be stats, health, run_maintenance or "
                        "checkpoint (got '%.32s')",
                        action);
        return;
    }
    if (ans == NULL) {
        if (!r->is_error)
            mcp_result_fail(r, "out of memory");
        return;
    }
    mcp_result_json(r, ans);
}
