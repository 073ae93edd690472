/*
 * routes_obs.c - the observation routes: create, get (by id or uuid), batch get, list with
 * filters and paging, partial update, archive/unarchive, supersede, feedback and delete.
 * Every text that is stored goes through the privacy pass first; the vector index follows
 * each change (a row that stops being live leaves it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/obs_json.h"
#include "memory/project.h"
#include "memory/session.h"
#include "service/routes_int.h"

/* The "{observation:{...}}" answer for the row with id (any state). */
static int answer_obs(struct mnemo_worker *w, struct mnemo_http_resp *resp, int64_t id)
{
    struct mnemo_obs o;
    struct mnemo_err err;

    mnemo_err_clear(&err);
    int rc = mnemo_obs_get(w->st, id, &o, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *j = mnemo_obs_to_json(&o);
    mnemo_obs_release(&o);
    return mnemo__routes_json(resp, 200, j != NULL ? json_pack("{s:o}", "observation", j) : NULL);
}

/* Checks the enum fields of o and names the one that is wrong. */
static int check_enums(struct mnemo_http_resp *resp, const struct mnemo_obs *o, unsigned mask)
{
    if ((mask & MNEMO_OBS_F_TYPE) && !mnemo_obs_type_valid(o->type))
        return mnemo__routes_fail(
            resp, MNEMO_EINVAL,
            "field 'type' must be one of decision, bugfix, feature, refactor, discovery, change");
    if ((mask & MNEMO_OBS_F_SCOPE) && o->scope[0] != '\0' && !mnemo_obs_scope_valid(o->scope))
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'scope' must be project or global");
    if ((mask & MNEMO_OBS_F_PROVENANCE) && o->provenance[0] != '\0' &&
        !mnemo_obs_provenance_valid(o->provenance))
        return mnemo__routes_fail(
            resp, MNEMO_EINVAL,
            "field 'provenance' must be one of rules, llm, agent, user, import");
    if ((mask & MNEMO_OBS_F_PROJECT) &&
        mnemo__routes_project_check(resp, "field 'project'",
                                    o->project != NULL ? o->project : "") != 0)
        return -1;
    return 0;
}

/* Reads the fields user input may set beyond mnemo_obs_from_json's: provenance, session_id. */
static int read_extras(struct mnemo_http_resp *resp, const json_t *body, struct mnemo_obs *o)
{
    const char *prov;
    int64_t sid;

    if (mnemo__routes_str(resp, body, "provenance", 0, sizeof o->provenance - 1, &prov) != 0 ||
        mnemo__routes_int(resp, body, "session_id", 0, INT64_MAX, 0, &sid) != 0)
        return -1;
    if (prov != NULL)
        snprintf(o->provenance, sizeof o->provenance, "%s", prov);
    o->session_id = sid;
    const json_t *mt = json_object_get(body, "file_mtimes");
    if (mt != NULL && !json_is_null(mt)) {
        if (!json_is_object(mt))
            return mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'file_mtimes' must be an object");
        o->file_mtimes = json_dumps(mt, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (o->file_mtimes == NULL)
            return mnemo__routes_fail(resp, MNEMO_ENOMEM, "out of memory");
    }
    return 0;
}

/* Parses, checks and cleans the observation in body into *o (released on failure). */
static int read_obs(struct mnemo_worker *w, struct mnemo_http_resp *resp, const json_t *body,
                    unsigned mask, struct mnemo_obs *o)
{
    char msg[200];
    struct mnemo_err err;

    if (mnemo_obs_from_json(body, 0, o, msg, sizeof msg) != 0)
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "%s", msg);
    mnemo_err_clear(&err);
    int rc = 0;
    struct mnemo_session sess;
    if (read_extras(resp, body, o) != 0 || check_enums(resp, o, mask) != 0) {
        rc = -1;
    } else if (o->session_id > 0 && mnemo_session_get(w->st, o->session_id, &sess, &err) != 0) {
        /* Checked here so a dangling id is the client's 400, not a foreign-key failure. */
        rc = mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'session_id': no session %lld",
                                (long long)o->session_id);
    } else if ((rc = mnemo_obs_clean(w->priv, o, &err)) != 0) {
        rc = mnemo__routes_fail_err(resp, rc, &err);
    }
    if (rc != 0)
        mnemo_obs_release(o);
    return rc;
}

int route_obs_create(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    struct mnemo_obs o;
    struct mnemo_obs_created out;
    struct mnemo_err err;

    if (mnemo__routes_body(req, resp, 1, &body) != 0)
        return 0;
    const char *title;
    const char *project;
    const char *type;
    if (mnemo__routes_str(resp, body, "project", 1, 0, &project) != 0 ||
        mnemo__routes_str(resp, body, "type", 1, 0, &type) != 0 ||
        mnemo__routes_str(resp, body, "title", 1, 0, &title) != 0)
        return 0;
    if (read_obs(w, resp, body, MNEMO_OBS_F_ALL, &o) != 0)
        return 0;
    if (o.provenance[0] == '\0')
        snprintf(o.provenance, sizeof o.provenance, "agent");
    mnemo_err_clear(&err);
    int rc = mnemo_obs_create(w->st, &o, &out, &err);
    if (rc != 0) {
        mnemo_obs_release(&o);
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    if (!out.duplicate) {
        mnemo__routes_reindex(w, out.id);
        json_t *ev =
            json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)out.id, "uuid", out.uuid,
                      "project", o.project, "scope", out.scope, "type", o.type, "title", o.title);
        mnemo__routes_publish(w, "observation.created", ev);
        json_decref(ev);
    }
    mnemo_obs_release(&o);
    return mnemo__routes_json(resp, out.duplicate ? 200 : 201,
                              json_pack("{s:I,s:s,s:b,s:s,s:f}", "id", (json_int_t)out.id, "uuid",
                                        out.uuid, "duplicate", out.duplicate, "scope", out.scope,
                                        "importance", out.importance));
}

int route_obs_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const char *s = mnemo_http_req_param(req, "id");
    struct mnemo_obs o;
    struct mnemo_err err;
    int rc;

    mnemo_err_clear(&err);
    if (s != NULL && strlen(s) == MNEMO_OBS_UUID_LEN && strchr(s, '-') != NULL) {
        rc = mnemo_obs_get_by_uuid(w->st, s, &o, &err);
    } else {
        int64_t id;
        if (mnemo__routes_param_id(req, resp, "id", &id) != 0)
            return 0;
        rc = mnemo_obs_get(w->st, id, &o, &err);
    }
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *j = mnemo_obs_to_json(&o);
    mnemo_obs_release(&o);
    return mnemo__routes_json(resp, 200, j != NULL ? json_pack("{s:o}", "observation", j) : NULL);
}

/* A JSON array of the observations of l (NULL when out of memory). */
static json_t *obs_array(const struct mnemo_obs_list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < l->n; i++) {
        if (json_array_append_new(a, mnemo_obs_to_json(&l->items[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

int route_obs_batch(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    int64_t ids[MNEMO_OBS_LIST_MAX];
    size_t i;
    const json_t *v;

    if (mnemo__routes_body(req, resp, 1, &body) != 0)
        return 0;
    const json_t *arr = json_object_get(body, "ids");
    if (!json_is_array(arr)) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'ids' must be an array of ids");
        return 0;
    }
    if (json_array_size(arr) > MNEMO_OBS_LIST_MAX) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'ids' holds more than %d ids",
                           MNEMO_OBS_LIST_MAX);
        return 0;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            mnemo__routes_fail(resp, MNEMO_EINVAL,
                               "field 'ids' item %zu must be a positive integer", i);
            return 0;
        }
        ids[i] = (int64_t)json_integer_value(v);
    }
    struct mnemo_obs_list l;
    struct mnemo_err err;
    mnemo_err_clear(&err);
    int rc = mnemo_obs_get_many(w->st, ids, json_array_size(arr), 1, &l, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *a = obs_array(&l);
    mnemo_obs_list_release(&l);
    return mnemo__routes_json(resp, 200, a != NULL ? json_pack("{s:o}", "observations", a) : NULL);
}

/* Reads the list filter of the query arguments into f (strings in bufs). */
static int read_filter(const struct mnemo_http_req *req, struct mnemo_http_resp *resp,
                       struct mnemo_obs_filter *f, char (*bufs)[MNEMO_OBS_MAX_PROJECT + 1])
{
    const char *project, *type, *scope, *archived;

    mnemo_obs_filter_init(f);
    if (mnemo__routes_query(req, resp, "project", bufs[0], sizeof bufs[0], &project) != 0 ||
        mnemo__routes_query(req, resp, "type", bufs[1], sizeof bufs[1], &type) != 0 ||
        mnemo__routes_query(req, resp, "scope", bufs[2], sizeof bufs[2], &scope) != 0 ||
        mnemo__routes_query(req, resp, "archived", bufs[3], sizeof bufs[3], &archived) != 0 ||
        mnemo__routes_query_int(req, resp, "since", 0, INT64_MAX, 0, &f->since_ms) != 0 ||
        mnemo__routes_query_int(req, resp, "until", 0, INT64_MAX, 0, &f->until_ms) != 0 ||
        mnemo__routes_query_int(req, resp, "limit", 1, MNEMO_OBS_LIST_MAX, ROUTES_DEFAULT_LIMIT,
                                &f->limit) != 0 ||
        mnemo__routes_query_int(req, resp, "offset", 0, INT64_MAX / 2, 0, &f->offset) != 0)
        return -1;
    if (project != NULL && project[0] != '\0') {
        if (mnemo__routes_project_check(resp, "query argument 'project'", project) != 0)
            return -1;
        f->project = project;
    }
    if (type != NULL && type[0] != '\0') {
        if (!mnemo_obs_type_valid(type))
            return mnemo__routes_fail(resp, MNEMO_EINVAL,
                                      "query argument 'type' must be one of decision, bugfix, "
                                      "feature, refactor, discovery, change");
        f->type = type;
    }
    if (scope != NULL && scope[0] != '\0') {
        if (!mnemo_obs_scope_valid(scope))
            return mnemo__routes_fail(resp, MNEMO_EINVAL,
                                      "query argument 'scope' must be project or global");
        f->scope = scope;
    }
    /* 0: live rows; 1: archived ones too; all: archived and superseded ones too. */
    if (archived != NULL && archived[0] != '\0') {
        if (strcmp(archived, "1") == 0) {
            f->include_archived = 1;
        } else if (strcmp(archived, "all") == 0) {
            f->include_archived = 1;
            f->include_superseded = 1;
        } else if (strcmp(archived, "0") != 0) {
            return mnemo__routes_fail(resp, MNEMO_EINVAL,
                                      "query argument 'archived' must be 0, 1 or all");
        }
    }
    return 0;
}

int route_obs_list(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    struct mnemo_obs_filter f;
    char bufs[4][MNEMO_OBS_MAX_PROJECT + 1];
    struct mnemo_obs_list l;
    struct mnemo_err err;
    int64_t total = 0;

    if (read_filter(req, resp, &f, bufs) != 0)
        return 0;
    mnemo_err_clear(&err);
    int rc = mnemo_obs_list(w->st, &f, &l, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    rc = mnemo_obs_count(w->st, &f, &total, &err);
    if (rc != 0) {
        mnemo_obs_list_release(&l);
        {
            mnemo__routes_fail_err(resp, rc, &err);
            return 0;
        }
    }
    json_t *a = obs_array(&l);
    mnemo_obs_list_release(&l);
    return mnemo__routes_json(resp, 200,
                              a != NULL ? json_pack("{s:o,s:I,s:I,s:I}", "observations", a, "total",
                                                    (json_int_t)total, "limit", (json_int_t)f.limit,
                                                    "offset", (json_int_t)f.offset)
                                        : NULL);
}

/* The update mask of the keys present (and not null) in body. */
static unsigned update_mask(const json_t *body)
{
    static const struct {
        const char *key;
        unsigned bit;
    } keys[] = {
        {"type", MNEMO_OBS_F_TYPE},
        {"scope", MNEMO_OBS_F_SCOPE},
        {"title", MNEMO_OBS_F_TITLE},
        {"subtitle", MNEMO_OBS_F_SUBTITLE},
        {"narrative", MNEMO_OBS_F_NARRATIVE},
        {"facts", MNEMO_OBS_F_FACTS},
        {"concepts", MNEMO_OBS_F_CONCEPTS},
        {"files_read", MNEMO_OBS_F_FILES_READ},
        {"files_modified", MNEMO_OBS_F_FILES_MODIFIED},
        {"file_mtimes", MNEMO_OBS_F_FILE_MTIMES},
        {"provenance", MNEMO_OBS_F_PROVENANCE},
        {"session_id", MNEMO_OBS_F_SESSION},
        {"project", MNEMO_OBS_F_PROJECT},
    };
    unsigned mask = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = json_object_get(body, keys[i].key);
        if (v != NULL && !json_is_null(v))
            mask |= keys[i].bit;
    }
    return mask;
}

int route_obs_update(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    int64_t id;
    struct mnemo_obs o, out;
    struct mnemo_err err;

    if (mnemo__routes_param_id(req, resp, "id", &id) != 0 ||
        mnemo__routes_body(req, resp, 1, &body) != 0)
        return 0;
    unsigned mask = update_mask(body);
    if (read_obs(w, resp, body, mask, &o) != 0)
        return 0;
    mnemo_err_clear(&err);
    int rc = mnemo_obs_update(w->st, id, mask, mask != 0 ? &o : NULL, &out, &err);
    mnemo_obs_release(&o);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    if (mask != 0 && mask != MNEMO_OBS_F_PROVENANCE && mask != MNEMO_OBS_F_SESSION) {
        if (out.archived || out.superseded_by != 0)
            mnemo__routes_unindex(w, id);
        else
            mnemo__routes_reindex(w, id);
    }
    json_t *j = mnemo_obs_to_json(&out);
    mnemo_obs_release(&out);
    return mnemo__routes_json(resp, 200, j != NULL ? json_pack("{s:o}", "observation", j) : NULL);
}

int route_obs_archive(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    const char *reason;
    int64_t id;
    struct mnemo_err err;
    struct mnemo_privacy_result clean = {0};

    if (mnemo__routes_param_id(req, resp, "id", &id) != 0 ||
        mnemo__routes_body(req, resp, 0, &body) != 0 ||
        mnemo__routes_str(resp, body, "reason", 0, MNEMO_OBS_MAX_REASON, &reason) != 0)
        return 0;
    mnemo_err_clear(&err);
    int rc = 0;
    if (reason != NULL)
        rc = mnemo_privacy_clean(w->priv, reason, strlen(reason), &clean, &err);
    if (rc == 0)
        rc = mnemo_obs_archive(w->st, id, reason != NULL ? clean.text : NULL, &err);
    mnemo_privacy_result_release(&clean);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    mnemo__routes_unindex(w, id);
    return answer_obs(w, resp, id);
}

int route_obs_unarchive(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    int64_t id;
    struct mnemo_err err;

    if (mnemo__routes_param_id(req, resp, "id", &id) != 0)
        return 0;
    mnemo_err_clear(&err);
    int rc = mnemo_obs_unarchive(w->st, id, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    mnemo__routes_reindex(w, id);
    return answer_obs(w, resp, id);
}

int route_obs_supersede(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    int64_t id, by;
    struct mnemo_err err;

    if (mnemo__routes_param_id(req, resp, "id", &id) != 0 ||
        mnemo__routes_body(req, resp, 1, &body) != 0)
        return 0;
    if (json_object_get(body, "by") == NULL) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'by' is required");
        return 0;
    }
    if (mnemo__routes_int(resp, body, "by", 1, INT64_MAX, 0, &by) != 0)
        return 0;
    if (by == id) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'by' must name another observation");
        return 0;
    }
    mnemo_err_clear(&err);
    int rc = mnemo_obs_supersede(w->st, id, by, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    mnemo__routes_unindex(w, id);
    return answer_obs(w, resp, id);
}

int route_obs_feedback(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    int64_t id;
    struct mnemo_err err;

    if (mnemo__routes_param_id(req, resp, "id", &id) != 0 ||
        mnemo__routes_body(req, resp, 1, &body) != 0)
        return 0;
    const json_t *v = json_object_get(body, "vote");
    if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 1) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'vote' must be -1, 0 or 1");
        return 0;
    }
    double importance = 0;
    mnemo_err_clear(&err);
    int rc = mnemo_obs_feedback(w->st, id, (int)json_integer_value(v), &importance, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    return mnemo__routes_json(resp, 200, json_pack("{s:f}", "importance", importance));
}

int route_obs_delete(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    int64_t id;
    struct mnemo_err err;

    if (mnemo__routes_param_id(req, resp, "id", &id) != 0)
        return 0;
    mnemo_err_clear(&err);
    int rc = mnemo_obs_delete(w->st, id, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    mnemo__routes_unindex(w, id);
    return mnemo__routes_json(resp, 200, json_pack("{s:b}", "deleted", 1));
}
