/*
 * routes_sessions.c - the hook-facing routes: sessions (start, prompt, end, summary, list) and
 * the durable event queue (append, list, retry). Prompt and summary text is cleaned by the
 * privacy pass before it is stored; event payloads are redacted before they are queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/events.h"
#include "memory/privacy.h"
#include "memory/project.h"
#include "memory/prompt.h"
#include "memory/session.h"
#include "memory/summary.h"
#include "service/capture.h"
#include "service/routes_int.h"
#include "util/clock.h"

static json_t *session_json(const struct mnemo_session *s)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:I}", "id", (json_int_t)s->id, "agent",
                     s->agent, "agent_session_id", s->agent_session_id, "project", s->project,
                     "cwd", s->cwd, "started_at", (json_int_t)s->started_at, "ended_at",
                     (json_int_t)s->ended_at, "status", mnemo_session_status_name(s->status),
                     "prompt_count", (json_int_t)s->prompt_counter);
}

/*
 * The project of a request: the body's project when given (validated), else the identity of
 * its cwd. *have is 0 when the body gives neither.
 */
static int body_project(struct mnemo_http_resp *resp, const json_t *body,
                        char out[MNEMO_PROJECT_SIZE], int *have)
{
    const char *project, *cwd;
    struct mnemo_err err;

    *have = 0;
    out[0] = '\0';
    if (mnemo__routes_str(resp, body, "project", 0, MNEMO_PROJECT_MAX, &project) != 0 ||
        mnemo__routes_str(resp, body, "cwd", 0, MNEMO_SESSION_CWD_MAX, &cwd) != 0)
        return -1;
    if (project != NULL && project[0] != '\0') {
        if (mnemo__routes_project_check(resp, "field 'project'", project) != 0)
            return -1;
        snprintf(out, MNEMO_PROJECT_SIZE, "%s", project);
        *have = 1;
        return 0;
    }
    if (cwd == NULL || cwd[0] == '\0')
        return 0;
    mnemo_err_clear(&err);
    int rc = mnemo_project_identify(cwd, NULL, out, MNEMO_PROJECT_SIZE, &err);
    if (rc != 0)
        return mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'cwd': %s", mnemo_err_text(&err, rc));
    *have = 1;
    return 0;
}

int route_session_start(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    const char *agent, *asid, *cwd;
    char project[MNEMO_PROJECT_SIZE];
    int have, created = 0;
    struct mnemo_session s;
    struct mnemo_err err;

    if (mnemo__routes_body(req, resp, 1, &body) != 0 ||
        mnemo__routes_str(resp, body, "agent", 1, MNEMO_SESSION_AGENT_MAX, &agent) != 0 ||
        mnemo__routes_str(resp, body, "agent_session_id", 1, MNEMO_SESSION_AGENT_ID_MAX, &asid) !=
            0 ||
        body_project(resp, body, project, &have) != 0 ||
        mnemo__routes_str(resp, body, "cwd", 0, MNEMO_SESSION_CWD_MAX, &cwd) != 0)
        return 0;
    if (!have) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'project' or 'cwd' is required");
        return 0;
    }
    mnemo_err_clear(&err);
    int rc = mnemo_session_start(w->st, agent, asid, project, cwd, 0, &s, &created, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *sj = session_json(&s);
    if (created)
        mnemo__routes_publish(w, "session.started", sj);
    return mnemo__routes_json(resp, created ? 201 : 200,
                              sj != NULL ? json_pack("{s:o,s:b}", "session", sj, "created", created)
                                         : NULL);
}

/* The session of the {id} parameter into *s (400 malformed, 404 unknown). */
static int param_session(struct mnemo_worker *w, const struct mnemo_http_req *req,
                         struct mnemo_http_resp *resp, struct mnemo_session *s)
{
    int64_t id;
    struct mnemo_err err;

    if (mnemo__routes_param_id(req, resp, "id", &id) != 0)
        return -1;
    mnemo_err_clear(&err);
    int rc = mnemo_session_get(w->st, id, s, &err);
    if (rc != 0)
        return mnemo__routes_fail_err(resp, rc, &err);
    return 0;
}

int route_session_prompt(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    const char *text;
    int priv_flag;
    int64_t id;
    struct mnemo_privacy_result clean = {0};
    struct mnemo_prompt_recorded rec;
    struct mnemo_err err;

    if (mnemo__routes_param_id(req, resp, "id", &id) != 0 ||
        mnemo__routes_body(req, resp, 1, &body) != 0 ||
        mnemo__routes_str(resp, body, "text", 0, 0, &text) != 0 ||
        mnemo__routes_bool(resp, body, "private", 0, &priv_flag) != 0)
        return 0;
    if (text == NULL && !priv_flag) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'text' is required");
        return 0;
    }
    mnemo_err_clear(&err);
    int rc = 0;
    int wholly_private = priv_flag;
    if (!wholly_private) {
        /* Prompts beyond what is stored are cut first: the privacy pass has its own ceiling. */
        size_t len = strlen(text);
        if (len > MNEMO_PRIVACY_MAX_INPUT)
            len = mnemo_utf8_cut(text, MNEMO_PRIVACY_MAX_INPUT);
        rc = mnemo_privacy_clean(w->priv, text, len, &clean, &err);
        if (rc == 0) {
            /* Nothing left (private blocks or mnemo's own context only): count, do not store. */
            wholly_private = clean.wholly_private || clean.len == 0;
            if (clean.len > MNEMO_PROMPT_TEXT_MAX)
                clean.text[mnemo_utf8_cut(clean.text, MNEMO_PROMPT_TEXT_MAX)] = '\0';
        }
    }
    if (rc == 0)
        rc = mnemo_prompt_record(w->st, id, wholly_private ? NULL : clean.text, wholly_private, 0,
                                 &rec, &err);
    mnemo_privacy_result_release(&clean);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    return mnemo__routes_json(resp, 200,
                              json_pack("{s:I,s:I,s:b,s:b}", "number", (json_int_t)rec.number, "id",
                                        (json_int_t)rec.id, "stored", rec.stored, "duplicate",
                                        rec.duplicate));
}

int route_session_end(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    const char *status_name;
    enum mnemo_session_status status = MNEMO_SESSION_COMPLETED;
    struct mnemo_session s;
    struct mnemo_err err;

    if (mnemo__routes_body(req, resp, 0, &body) != 0 ||
        mnemo__routes_str(resp, body, "status", 0, 0, &status_name) != 0)
        return 0;
    if (status_name != NULL && strcmp(status_name, "completed") != 0) {
        if (strcmp(status_name, "failed") != 0) {
            mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'status' must be completed or failed");
            return 0;
        }
        status = MNEMO_SESSION_FAILED;
    }
    if (param_session(w, req, resp, &s) != 0)
        return 0;
    mnemo_err_clear(&err);
    int rc = mnemo_session_end(w->st, s.id, status, 0, &err);
    if (rc == 0)
        rc = mnemo_session_get(w->st, s.id, &s, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *sj = session_json(&s);
    mnemo__routes_publish(w, "session.ended", sj);
    return mnemo__routes_json(resp, 200, sj != NULL ? json_pack("{s:o}", "session", sj) : NULL);
}

int route_session_summary(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    static const char *const keys[6] = {"request",   "investigated", "learned",
                                        "completed", "next_steps",   "notes"};
    struct mnemo_worker *w = ctx;
    const json_t *body;
    struct mnemo_session s;
    struct mnemo_privacy_result clean[6];
    const char *vals[6];
    struct mnemo_err err;
    int64_t id = 0;
    int rc = 0;

    memset(clean, 0, sizeof clean);
    if (mnemo__routes_body(req, resp, 1, &body) != 0)
        return 0;
    for (size_t i = 0; i < 6; i++) {
        if (mnemo__routes_str(resp, body, keys[i], 0, MNEMO_PRIVACY_MAX_INPUT, &vals[i]) != 0)
            return 0;
    }
    if (param_session(w, req, resp, &s) != 0)
        return 0;
    mnemo_err_clear(&err);
    for (size_t i = 0; i < 6 && rc == 0; i++) {
        if (vals[i] != NULL)
            rc = mnemo_privacy_clean(w->priv, vals[i], strlen(vals[i]), &clean[i], &err);
    }
    if (rc == 0) {
        struct mnemo_summary_fields f = {clean[0].text, clean[1].text, clean[2].text,
                                         clean[3].text, clean[4].text, clean[5].text};
        rc = mnemo_summary_create(w->st, s.id, NULL, &f, 0, &id, &err);
    }
    for (size_t i = 0; i < 6; i++)
        mnemo_privacy_result_release(&clean[i]);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    return mnemo__routes_json(resp, 201, json_pack("{s:I}", "id", (json_int_t)id));
}

int route_session_list(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    char pbuf[MNEMO_PROJECT_SIZE + 1];
    const char *project;
    int64_t limit;
    struct mnemo_session *list = NULL;
    int n = 0;
    struct mnemo_err err;

    if (mnemo__routes_query(req, resp, "project", pbuf, sizeof pbuf, &project) != 0 ||
        mnemo__routes_query_int(req, resp, "limit", 1, MNEMO_SESSION_LIST_MAX,
                                ROUTES_SESSIONS_LIMIT, &limit) != 0)
        return 0;
    if (project != NULL && project[0] == '\0')
        project = NULL;
    if (project != NULL && mnemo__routes_project_check(resp, "query argument 'project'", project))
        return 0;
    mnemo_err_clear(&err);
    int rc = mnemo_session_list_recent(w->st, project, (int)limit, &list, &n, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *a = json_array();
    for (int i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, session_json(&list[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    free(list);
    return mnemo__routes_json(resp, 200, a != NULL ? json_pack("{s:o}", "sessions", a) : NULL);
}

/* ---- events ------------------------------------------------------------------------------- */

/*
 * Redacts the strings of the JSON tree j. With fix 0 it only looks: *hits counts the strings
 * that hold a secret, and j is not touched (the request body is read-only). With fix 1 it
 * replaces those strings in place (j is then a private copy).
 */
static int redact_tree(const struct mnemo_privacy *priv, json_t *j, int fix, int *hits,
                       struct mnemo_err *err)
{
    if (json_is_string(j)) {
        char *out = NULL;
        size_t len = 0;
        unsigned n = 0;
        int rc = mnemo_privacy_redact(priv, json_string_value(j), json_string_length(j), &out, &len,
                                      &n, err);
        if (rc == 0 && n > 0) {
            (*hits)++;
            if (fix && json_string_setn(j, out, len) != 0)
                rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
        }
        free(out);
        return rc;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            int rc = redact_tree(priv, v, fix, hits, err);
            if (rc != 0)
                return rc;
        }
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            int rc = redact_tree(priv, v, fix, hits, err);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/*
 * The redacted payload text (*out, malloc'd). Two passes, because each misses what the other
 * sees: every string on its own (escaping hides secrets from the dumped document: a PEM key's
 * newlines are "\n" there, and "\nghp_..." has no word boundary before the token), then the
 * dumped document (rules that need the key beside the value, as in "password": "..."). The
 * second pass's output is kept only when it still parses; a match across an escape that broke
 * it leaves the first pass's text. Payloads are large and usually clean, so the common path
 * costs one read-only walk, one dump and one redaction of the dump, and copies nothing.
 */
static int redact_payload(const struct mnemo_privacy *priv, const json_t *payload, char **out,
                          struct mnemo_err *err)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    json_t *copy = NULL;
    char *text = NULL, *red = NULL;
    size_t len = 0;
    unsigned n = 0;
    int hits = 0;

    *out = NULL;
    int rc = redact_tree(priv, (json_t *)payload, 0, &hits, err);
    if (rc == 0 && hits > 0) {
        copy = json_deep_copy(payload);
        hits = 0;
        rc = copy == NULL ? mnemo_err_set(err, MNEMO_ENOMEM, "out of memory")
                          : redact_tree(priv, copy, 1, &hits, err);
    }
    if (rc == 0) {
        text = json_dumps(copy != NULL ? copy : payload, flags);
        if (text == NULL)
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    json_decref(copy);
    if (rc == 0 && strlen(text) > MNEMO_EVENTS_MAX_PAYLOAD)
        rc = mnemo_err_set(err, MNEMO_ETOOBIG, "field 'payload' is larger than %d bytes",
                           MNEMO_EVENTS_MAX_PAYLOAD);
    if (rc == 0)
        rc = mnemo_privacy_redact(priv, text, strlen(text), &red, &len, &n, err);
    if (rc != 0) {
        free(text);
        return rc;
    }
    json_t *check = n > 0 ? json_loadb(red, len, 0, NULL) : NULL;
    if (check != NULL) {
        json_decref(check);
        free(text);
        *out = red;
    } else {
        free(red);
        *out = text;
    }
    return 0;
}

/*
 * The session row an event belongs to: session_id when it exists, else (agent,
 * agent_session_id), started here when the body names its project or cwd, so the capture
 * thread knows the project of an event that arrives before the session-start hook. 0 when
 * none can be found.
 */
static int event_session(struct mnemo_worker *w, struct mnemo_http_resp *resp, const json_t *body,
                         const char *agent, const char *asid, int64_t sid, int64_t *out)
{
    struct mnemo_session s;
    char project[MNEMO_PROJECT_SIZE];
    int have = 0;
    struct mnemo_err err;

    *out = 0;
    mnemo_err_clear(&err);
    if (sid > 0 && mnemo_session_get(w->st, sid, &s, &err) == 0) {
        *out = s.id;
        return 0;
    }
    if (asid == NULL || asid[0] == '\0')
        return 0;
    if (mnemo_session_find(w->st, agent, asid, &s, &err) == 0) {
        *out = s.id;
        return 0;
    }
    const char *name = json_string_value(json_object_get(body, "project"));
    const char *cwd = json_string_value(json_object_get(body, "cwd"));
    if (name != NULL && name[0] != '\0') {
        if (mnemo__routes_project_check(resp, "field 'project'", name) != 0)
            return -1;
        snprintf(project, sizeof project, "%s", name);
        have = 1;
    } else if (cwd != NULL && cwd[0] != '\0') {
        /* An unknown cwd must not lose the event: it is queued without a session then. */
        have = mnemo_project_identify(cwd, NULL, project, sizeof project, &err) == 0;
    }
    if (have && mnemo_session_start(w->st, agent, asid, project, cwd, 0, &s, NULL, &err) == 0)
        *out = s.id;
    return 0;
}

int route_event_append(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    const char *agent, *kind, *asid;
    int64_t sid, session_id, id = 0;
    char *payload = NULL;
    struct mnemo_err err;

    if (mnemo__routes_body(req, resp, 1, &body) != 0 ||
        mnemo__routes_str(resp, body, "agent", 1, MNEMO_SESSION_AGENT_MAX, &agent) != 0 ||
        mnemo__routes_str(resp, body, "kind", 1, 64, &kind) != 0 ||
        mnemo__routes_str(resp, body, "agent_session_id", 0, MNEMO_SESSION_AGENT_ID_MAX, &asid) !=
            0 ||
        mnemo__routes_int(resp, body, "session_id", 0, INT64_MAX, 0, &sid) != 0)
        return 0;
    const json_t *p = json_object_get(body, "payload");
    if (!json_is_object(p)) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'payload' must be a JSON object");
        return 0;
    }
    if (event_session(w, resp, body, agent, asid, sid, &session_id) != 0)
        return 0;
    mnemo_err_clear(&err);
    int rc = redact_payload(w->priv, p, &payload, &err);
    if (rc == 0)
        rc = mnemo_events_append(w->st, agent, asid, session_id, kind, payload, 0, &id, &err);
    free(payload);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    atomic_fetch_add(&w->events_appended, 1);
    if (w->capture != NULL)
        mnemo_capture_kick(w->capture);
    return mnemo__routes_json(resp, 202, json_pack("{s:I}", "id", (json_int_t)id));
}

int route_event_list(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    char sbuf[16];
    const char *status;
    int64_t limit;
    struct mnemo_event *list = NULL;
    size_t n = 0;
    struct mnemo_err err;

    if (mnemo__routes_query(req, resp, "status", sbuf, sizeof sbuf, &status) != 0 ||
        mnemo__routes_query_int(req, resp, "limit", 1, MNEMO_OBS_LIST_MAX, ROUTES_DEFAULT_LIMIT,
                                &limit) != 0)
        return 0;
    if (status != NULL && status[0] == '\0')
        status = NULL;
    if (status != NULL && strcmp(status, "pending") != 0 && strcmp(status, "done") != 0 &&
        strcmp(status, "failed") != 0) {
        mnemo__routes_fail(resp, MNEMO_EINVAL,
                           "query argument 'status' must be pending, done or failed");
        return 0;
    }
    mnemo_err_clear(&err);
    int rc = mnemo_events_list(w->st, status, (int)limit, &list, &n, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        const struct mnemo_event *e = &list[i];
        json_t *ej =
            json_pack("{s:I,s:s,s:s,s:s,s:i,s:s?,s:I}", "id", (json_int_t)e->id, "agent", e->agent,
                      "kind", e->kind, "status", e->status, "attempts", e->attempts, "last_error",
                      e->last_error, "created_at", (json_int_t)e->created_at);
        if (json_array_append_new(a, ej) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    mnemo_events_list_free(list, n);
    return mnemo__routes_json(resp, 200, a != NULL ? json_pack("{s:o}", "events", a) : NULL);
}

int route_event_retry(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    int64_t id, n = 0;
    struct mnemo_err err;

    if (mnemo__routes_body(req, resp, 0, &body) != 0 ||
        mnemo__routes_int(resp, body, "id", 1, INT64_MAX, 0, &id) != 0)
        return 0;
    mnemo_err_clear(&err);
    int rc = mnemo_events_retry(w->st, id, &n, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    if (n > 0 && w->capture != NULL)
        mnemo_capture_kick(w->capture);
    return mnemo__routes_json(resp, 200, json_pack("{s:I}", "requeued", (json_int_t)n));
}
