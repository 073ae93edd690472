/*
 * tool_search.c - the two retrieval tools that answer compact index lines: `search` (POST
 * /v1/search for a query, GET /v1/observations for a plain listing; the filters the routes do
 * not take - concepts, files, and dates for a query - are applied here on a wider page) and
 * `timeline` (the observations of the anchor's project just before and just after it, found by
 * their position in the worker's created_at order, so the anchor is truly in the middle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mcp/mcp_int.h"

#define SEARCH_DEFAULT_LIMIT 10
#define SEARCH_MAX_LIMIT     100
#define SEARCH_WIDE          200  /* a query's page when filters apply here (the route's max) */
#define LIST_WIDE            1000 /* a listing's page when filters apply here (the route's max) */
#define MAX_QUERY            8192
#define TIMELINE_DEFAULT     5
#define TIMELINE_MAX         50
#define PATH_SIZE            2048

static const char search_desc[] =
    "{\"name\":\"search\",\"title\":\"Search memories\","
    "\"description\":\"Search mnemo's memory of past coding sessions (decisions, bugfixes, "
    "features, refactors, discoveries, changes). Returns one compact index line per memory: "
    "'#id [type] title (date)'. Without a query, lists the newest memories. Then use timeline "
    "(anchor=id) for context and get_observations (ids) for full records. The project defaults "
    "to the one of the current directory; project '*' searches every project.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\",\"description\":\"keywords or a question; empty or '*' "
    "lists the newest\"},"
    "\"project\":{\"type\":\"string\",\"description\":\"project name; '*' for every project; "
    "default: the current directory's project\"},"
    "\"type\":{\"type\":\"string\",\"enum\":[\"decision\",\"bugfix\",\"feature\",\"refactor\","
    "\"discovery\",\"change\"],\"description\":\"only memories of this type\"},"
    "\"concepts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"only "
    "memories tagged with all of these concepts (e.g. gotcha, pattern)\"},"
    "\"files\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"only "
    "memories that read or modified a file whose path contains one of these\"},"
    "\"since\":{\"type\":\"string\",\"description\":\"created on or after this date "
    "(YYYY-MM-DD or RFC 3339 date-time, UTC)\"},"
    "\"until\":{\"type\":\"string\",\"description\":\"created before this date-time, or on or "
    "before this day (YYYY-MM-DD)\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100,\"default\":10}},"
    "\"additionalProperties\":false},"
    "\"annotations\":{\"title\":\"Search memories\",\"readOnlyHint\":true,"
    "\"destructiveHint\":false,\"idempotentHint\":true,\"openWorldHint\":false}}";

static const char timeline_desc[] =
    "{\"name\":\"timeline\",\"title\":\"Memories around one\","
    "\"description\":\"Shows the memories of the same project recorded just before and just "
    "after an anchor memory, oldest first, the anchor marked with '>'. Give anchor (an id from "
    "search) or query (the best match becomes the anchor).\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"anchor\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"id of the memory to "
    "centre on\"},"
    "\"query\":{\"type\":\"string\",\"description\":\"used when anchor is absent: the best "
    "match is the anchor\"},"
    "\"project\":{\"type\":\"string\",\"description\":\"project of the query search; '*' for "
    "every project; default: the current directory's project\"},"
    "\"depth_before\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":50,\"default\":5},"
    "\"depth_after\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":50,\"default\":5}},"
    "\"additionalProperties\":false},"
    "\"annotations\":{\"title\":\"Memories around one\",\"readOnlyHint\":true,"
    "\"destructiveHint\":false,\"idempotentHint\":true,\"openWorldHint\":false}}";

json_t *mcp_describe_search(void)
{
    return json_loads(search_desc, 0, NULL);
}

json_t *mcp_describe_timeline(void)
{
    return json_loads(timeline_desc, 0, NULL);
}

/* The filters applied here rather than by the worker. */
struct filter {
    const char *type;
    json_t *concepts;           /* all required */
    json_t *files;              /* any one, as a substring of a file read or modified */
    int64_t since_ms, until_ms; /* 0: unbounded */
};

static int has_concept(const json_t *o, const char *c)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(o, "concepts"), i, v)
    {
        if (json_is_string(v) && strcasecmp(json_string_value(v), c) == 0)
            return 1;
    }
    return 0;
}

static int has_file(const json_t *o, const char *f)
{
    static const char *const keys[] = {"files_read", "files_modified"};
    for (size_t k = 0; k < 2; k++) {
        size_t i;
        const json_t *v;
        json_array_foreach(json_object_get(o, keys[k]), i, v)
        {
            if (json_is_string(v) && strstr(json_string_value(v), f) != NULL)
                return 1;
        }
    }
    return 0;
}

static int matches(const struct filter *f, const json_t *o)
{
    json_int_t created = json_integer_value(json_object_get(o, "created_at"));
    const char *type = json_string_value(json_object_get(o, "type"));
    if (f->type != NULL && (type == NULL || strcmp(type, f->type) != 0))
        return 0;
    if ((f->since_ms > 0 && created < f->since_ms) || (f->until_ms > 0 && created >= f->until_ms))
        return 0;
    size_t i;
    const json_t *v;
    json_array_foreach(f->concepts, i, v)
    {
        if (!has_concept(o, json_string_value(v)))
            return 0;
    }
    if (json_array_size(f->files) == 0)
        return 1;
    json_array_foreach(f->files, i, v)
    {
        if (has_file(o, json_string_value(v)))
            return 1;
    }
    return 0;
}

static int valid_type(const char *t)
{
    static const char *const types[] = {"decision", "bugfix",    "feature",
                                        "refactor", "discovery", "change"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(t, types[i]) == 0)
            return 1;
    return 0;
}

static int read_date(const json_t *args, const char *key, int end_of_day, int64_t *out,
                     struct mcp_result *r)
{
    const char *s;
    *out = 0;
    if (mcp_arg_str(args, key, 64, &s, r) != 0)
        return -1;
    if (s == NULL || s[0] == '\0')
        return 0;
    *out = mcp_parse_date(s, end_of_day);
    if (*out < 0) {
        mcp_result_fail(r,
                        "argument '%s' must be a date YYYY-MM-DD or an RFC 3339 date-time "
                        "such as 2026-05-01T12:00:00Z (got '%.64s')",
                        key, s);
        return -1;
    }
    return 0;
}

/* Fetches the candidates (new array of observation objects, borrowed from the answer kept in
 * *keep) of a query search or a listing. NULL with r failed. */
static json_t *candidates(struct mcp_server *s, const char *query, const char *project,
                          const struct filter *f, int64_t limit, json_t **keep,
                          struct mcp_result *r)
{
    int here = f->concepts != NULL || f->files != NULL;
    json_t *list;
    *keep = NULL;
    if (query != NULL) {
        here = here || f->type != NULL || f->since_ms > 0 || f->until_ms > 0;
        json_t *body = json_pack("{s:s,s:I,s:b}", "query", query, "limit",
                                 (json_int_t)(here ? SEARCH_WIDE : limit), "include_global", 1);
        if (body != NULL && project != NULL)
            json_object_set_new(body, "project", json_string(project));
        if (body == NULL) {
            mcp_result_fail(r, "out of memory");
            return NULL;
        }
        *keep = mcp_worker_json(s, "POST", "/v1/search", body, 0, r);
        json_decref(body);
        if (*keep == NULL)
            return NULL;
        list = json_array();
        size_t i;
        const json_t *hit;
        json_array_foreach(json_object_get(*keep, "results"), i, hit)
        {
            const json_t *o = json_object_get(hit, "observation");
            if (json_is_object(o))
                json_array_append(list, (json_t *)o);
        }
        return list;
    }
    char path[PATH_SIZE] = "/v1/observations";
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)(here ? LIST_WIDE : limit));
    int bad = mcp_query_add(path, sizeof path, "limit", num);
    if (project != NULL)
        bad |= mcp_query_add(path, sizeof path, "project", project);
    if (f->type != NULL)
        bad |= mcp_query_add(path, sizeof path, "type", f->type);
    if (f->since_ms > 0) {
        snprintf(num, sizeof num, "%lld", (long long)f->since_ms);
        bad |= mcp_query_add(path, sizeof path, "since", num);
    }
    if (f->until_ms > 0) {
        snprintf(num, sizeof num, "%lld", (long long)f->until_ms);
        bad |= mcp_query_add(path, sizeof path, "until", num);
    }
    if (bad) {
        mcp_result_fail(r, "the project name is too long");
        return NULL;
    }
    *keep = mcp_worker_json(s, "GET", path, NULL, 0, r);
    if (*keep == NULL)
        return NULL;
    list = json_object_get(*keep, "observations");
    return json_is_array(list) ? json_incref(list) : json_array();
}

void mcp_tool_search(struct mcp_server *s, const json_t *args, struct mcp_result *r)
{
    static const char *const known[] = {"query", "project", "type",  "concepts", "files",
                                        "since", "until",   "limit", NULL};
    struct filter f = {0};
    const char *query, *project;
    int64_t limit;
    json_t *keep = NULL, *list = NULL;

    if (mcp_arg_known(args, known, r) != 0 || mcp_arg_str(args, "query", MAX_QUERY, &query, r) ||
        mcp_arg_str(args, "project", 512, &project, r) != 0 ||
        mcp_arg_str(args, "type", 32, &f.type, r) != 0 ||
        mcp_arg_strs(args, "concepts", 64, 32, &f.concepts, r) != 0 ||
        mcp_arg_strs(args, "files", 4096, 32, &f.files, r) != 0 ||
        read_date(args, "since", 0, &f.since_ms, r) != 0 ||
        read_date(args, "until", 1, &f.until_ms, r) != 0 ||
        mcp_arg_int(args, "limit", 1, SEARCH_MAX_LIMIT, SEARCH_DEFAULT_LIMIT, &limit, r) != 0)
        goto out;
    if (f.type != NULL && f.type[0] == '\0')
        f.type = NULL;
    if (f.type != NULL && !valid_type(f.type)) {
        mcp_result_fail(r,
                        "argument 'type' must be one of decision, bugfix, feature, refactor, "
                        "discovery, change (got '%.32s')",
                        f.type);
        goto out;
    }
    if (query != NULL && (query[0] == '\0' || strcmp(query, "*") == 0))
        query = NULL; /* "*" lists: claude-mem #714 found nothing for it */
    const char *proj = mcp_project(s, project);
    list = candidates(s, query, proj, &f, limit, &keep, r);
    if (list == NULL)
        goto out;

    int64_t shown = 0;
    size_t i;
    const json_t *o;
    struct mnemo_strbuf lines;
    mnemo_strbuf_init(&lines, MCP_MAX_TEXT);
    json_array_foreach(list, i, o)
    {
        if (shown >= limit)
            break;
        if (!matches(&f, o))
            continue;
        mcp_index_line(&lines, o);
        const char *op = json_string_value(json_object_get(o, "project"));
        if (proj == NULL && op != NULL)
            mnemo_strbuf_appendf(&lines, " {%s}", op);
        mnemo_strbuf_puts(&lines, "\n");
        shown++;
    }
    if (shown == 0) {
        mnemo_strbuf_appendf(&r->text,
                             "No memories found%s%s%s in %s%s. Try other words, fewer filters, "
                             "or project \"*\" for every project.",
                             query != NULL ? " for \"" : "", query != NULL ? query : "",
                             query != NULL ? "\"" : "", proj != NULL ? "project " : "",
                             proj != NULL ? proj : "every project");
    } else {
        mnemo_strbuf_appendf(&r->text, "%lld memor%s (%s%s, %s first):\n", (long long)shown,
                             shown == 1 ? "y" : "ies", proj != NULL ? "project " : "",
                             proj != NULL ? proj : "every project",
                             query != NULL ? "best match" : "newest");
        mnemo_strbuf_puts(&r->text, mnemo_strbuf_str(&lines));
        mnemo_strbuf_puts(&r->text, "Next: timeline(anchor=<id>) for what happened around one, "
                                    "get_observations(ids=[...]) for full records.");
    }
    mnemo_strbuf_release(&lines);
out:
    json_decref(list);
    json_decref(keep);
    json_decref(f.concepts);
    json_decref(f.files);
}

/* GET /v1/observations of project with extra query arguments; the "observations" array (new
 * reference) or NULL with r failed. *total (may be NULL) gets the answer's total. */
static json_t *list_page(struct mcp_server *s, const char *project, int64_t since, int64_t until,
                         int64_t offset, int64_t limit, int64_t *total, struct mcp_result *r)
{
    char path[PATH_SIZE] = "/v1/observations";
    char num[32];
    int bad = 0;
    if (project != NULL)
        bad |= mcp_query_add(path, sizeof path, "project", project);
    const struct {
        const char *key;
        int64_t v;
    } ints[] = {{"since", since}, {"until", until}, {"offset", offset}, {"limit", limit}};
    for (size_t i = 0; i < 4; i++) {
        if (ints[i].v <= 0)
            continue;
        snprintf(num, sizeof num, "%lld", (long long)ints[i].v);
        bad |= mcp_query_add(path, sizeof path, ints[i].key, num);
    }
    if (bad) {
        mcp_result_fail(r, "the project name is too long");
        return NULL;
    }
    json_t *ans = mcp_worker_json(s, "GET", path, NULL, 0, r);
    if (ans == NULL)
        return NULL;
    json_t *list = json_object_get(ans, "observations");
    list = json_is_array(list) ? json_incref(list) : json_array();
    if (total != NULL)
        *total = (int64_t)json_integer_value(json_object_get(ans, "total"));
    json_decref(ans);
    return list;
}

/* The anchor observation (new reference) of args, or NULL with r failed. */
static json_t *find_anchor(struct mcp_server *s, int64_t id, const char *query, const char *project,
                           struct mcp_result *r)
{
    if (id > 0) {
        char path[64];
        snprintf(path, sizeof path, "/v1/observations/%lld", (long long)id);
        json_t *j = NULL;
        int status = mcp_worker_call(s, "GET", path, NULL, 0, &j, r);
        json_t *o = status >= 200 && status < 300 ? json_object_get(j, "observation") : NULL;
        if (json_is_object(o)) {
            json_incref(o);
        } else if (status == 404) {
            mcp_result_fail(r, "no memory #%lld: use search to find ids", (long long)id);
        } else if (status != 0) {
            mcp_worker_fail(r, status, j);
        }
        json_decref(j);
        return json_is_object(o) ? o : NULL;
    }
    json_t *body = json_pack("{s:s,s:i,s:b}", "query", query, "limit", 1, "include_global", 1);
    if (body != NULL && project != NULL)
        json_object_set_new(body, "project", json_string(project));
    json_t *ans = body != NULL ? mcp_worker_json(s, "POST", "/v1/search", body, 0, r) : NULL;
    json_decref(body);
    if (ans == NULL) {
        if (!r->is_error)
            mcp_result_fail(r, "out of memory");
        return NULL;
    }
    json_t *o = json_incref(
        json_object_get(json_array_get(json_object_get(ans, "results"), 0), "observation"));
    json_decref(ans);
    if (o == NULL)
        mcp_result_fail(r, "no memory matches \"%s\" in %s: try other words or project \"*\"",
                        query, project != NULL ? project : "any project");
    return o;
}

void mcp_tool_timeline(struct mcp_server *s, const json_t *args, struct mcp_result *r)
{
    static const char *const known[] = {"anchor",       "query",       "project",
                                        "depth_before", "depth_after", NULL};
    const char *query, *project;
    int64_t id, before_n, after_n;
    json_t *anchor = NULL, *same = NULL, *before = NULL, *after = NULL;

    if (mcp_arg_known(args, known, r) != 0 ||
        mcp_arg_int(args, "anchor", 1, INT64_MAX, 0, &id, r) != 0 ||
        mcp_arg_str(args, "query", MAX_QUERY, &query, r) != 0 ||
        mcp_arg_str(args, "project", 512, &project, r) != 0 ||
        mcp_arg_int(args, "depth_before", 0, TIMELINE_MAX, TIMELINE_DEFAULT, &before_n, r) != 0 ||
        mcp_arg_int(args, "depth_after", 0, TIMELINE_MAX, TIMELINE_DEFAULT, &after_n, r) != 0)
        goto out;
    if (id == 0 && (query == NULL || query[0] == '\0')) {
        mcp_result_fail(r, "give anchor (a memory id from search) or query");
        goto out;
    }
    anchor = find_anchor(s, id, query, mcp_project(s, project), r);
    if (anchor == NULL)
        goto out;
    id = (int64_t)json_integer_value(json_object_get(anchor, "id"));
    const char *proj = json_string_value(json_object_get(anchor, "project"));
    int64_t c = (int64_t)json_integer_value(json_object_get(anchor, "created_at"));
    const json_t *sup = json_object_get(anchor, "superseded_by");
    int live = !json_is_true(json_object_get(anchor, "archived")) &&
               (sup == NULL || json_is_null(sup) || json_integer_value(sup) == 0);

    /*
     * The worker lists newest first (created_at, then id, descending). Rows of the anchor's own
     * millisecond with a higher id come before it in that order; counting them places the anchor
     * exactly, so "before" starts right after it and "after" ends right before it.
     */
    same = list_page(s, proj, c, c + 1, 0, 1000, NULL, r);
    if (same == NULL)
        goto out;
    int64_t newer_same = 0;
    size_t i;
    const json_t *o;
    json_array_foreach(same, i, o)
    {
        if (json_integer_value(json_object_get(o, "id")) > id)
            newer_same++;
    }
    if (before_n > 0) {
        before = list_page(s, proj, 0, c + 1, newer_same + (live ? 1 : 0), before_n, NULL, r);
        if (before == NULL)
            goto out;
    }
    if (after_n > 0) {
        int64_t later = 0;
        json_t *probe = list_page(s, proj, c + 1, 0, 0, 1, &later, r);
        if (probe == NULL)
            goto out;
        json_decref(probe);
        int64_t pos = later + newer_same; /* rows after the anchor */
        int64_t n = pos < after_n ? pos : after_n;
        if (n > 0) {
            after = list_page(s, proj, 0, 0, pos - n, n, NULL, r);
            if (after == NULL)
                goto out;
        }
    }

    mnemo_strbuf_appendf(&r->text,
                         "Timeline of project %s around #%lld (%zu before, %zu after, "
                         "oldest first):\n",
                         proj != NULL ? proj : "?", (long long)id, json_array_size(before),
                         json_array_size(after));
    for (size_t k = json_array_size(before); k > 0; k--) {
        mnemo_strbuf_puts(&r->text, "  ");
        mcp_index_line(&r->text, json_array_get(before, k - 1));
        mnemo_strbuf_puts(&r->text, "\n");
    }
    mnemo_strbuf_puts(&r->text, "> ");
    mcp_index_line(&r->text, anchor);
    mnemo_strbuf_appendf(&r->text, "%s\n", live ? "" : " (archived or superseded)");
    for (size_t k = json_array_size(after); k > 0; k--) {
        mnemo_strbuf_puts(&r->text, "  ");
        mcp_index_line(&r->text, json_array_get(after, k - 1));
        mnemo_strbuf_puts(&r->text, "\n");
    }
    mnemo_strbuf_puts(&r->text, "Next: get_observations(ids=[...]) for full records.");
out:
    json_decref(anchor);
    json_decref(same);
    json_decref(before);
    json_decref(after);
}
