/*
 * routes_hooks.c - POST /v1/hooks/{event}: everything one agent hook needs in one round trip,
 * so a hook process makes exactly one request within its deadline.
 *
 * Context comes before writes: user-prompt-submit searches first (a read, which never waits
 * behind the single writer) and records the prompt after, so a busy or locked database costs
 * the prompt record, not the context the agent is waiting for; a failed record is logged and
 * reported in the answer ("prompt_error"), the context is still returned.
 *
 * Events go through route_event_append with the normalized hook object as payload, so the
 * hook route and POST /v1/events share one path for session linking, redaction, the durable
 * append and the capture kick. Strings that would make a payload exceed the queue's limit
 * (a tool's whole output, a long message) are cut first: the extractors read their heads.
 *
 * A cwd that no longer resolves (the agent ran in a directory deleted since) must not lose
 * the event: its project is the session's when the worker knows the session, else the name
 * mnemo_project_name_for_path gives the absolute path as sent (what identify would give a
 * directory outside git). A relative cwd that does not resolve is still refused.
 *
 * session-end only ends a session the worker has seen: one with no such session (`claude mcp
 * list` fires a SessionEnd with nothing before it) answers 200 {event_id:0} and records
 * nothing, so no empty "completed" session appears for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/privacy.h"
#include "memory/project.h"
#include "memory/prompt.h"
#include "memory/session.h"
#include "search/context.h"
#include "search/hybrid.h"
#include "service/routes.h"
#include "service/routes_hooks.h"
#include "service/routes_int.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/log.h"

enum hook_kind {
    HOOK_SESSION_START,
    HOOK_PROMPT,
    HOOK_EVENT,     /* appended to the capture queue */
    HOOK_EVENT_END, /* appended, and the session ends */
};

static const struct {
    const char *name;
    enum hook_kind kind;
} hook_events[] = {
    {"session-start", HOOK_SESSION_START}, {"user-prompt-submit", HOOK_PROMPT},
    {"post-tool-use", HOOK_EVENT},         {"stop", HOOK_EVENT},
    {"subagent-stop", HOOK_EVENT},         {"session-end", HOOK_EVENT_END},
    {"pre-compact", HOOK_EVENT},
};

/* What every hook body carries; strings borrowed from the body. */
struct hook_common {
    const char *agent;
    const char *asid; /* the agent's session id; NULL when not sent */
    const char *cwd;
    char project[MNEMO_PROJECT_SIZE]; /* "" when neither project nor cwd was sent */
    int cwd_gone;                     /* project derived from a cwd that does not resolve */
};

/*
 * The project of a cwd that no longer resolves: the session's when the worker knows it, else
 * the path's own name (mnemo_project_name_for_path). Returns 0 or the identify error rc when
 * cwd is not absolute (a relative path names nothing once its directory is gone).
 */
static int gone_cwd_project(struct mnemo_worker *w, struct hook_common *c, int rc)
{
    struct mnemo_session s;
    if (c->cwd[0] != '/')
        return rc;
    if (c->asid != NULL && mnemo_session_find(w->st, c->agent, c->asid, &s, NULL) == 0 &&
        s.project[0] != '\0') {
        snprintf(c->project, sizeof c->project, "%s", s.project);
        c->cwd_gone = 1;
        return 0;
    }
    if (mnemo_project_name_for_path(c->cwd, c->project, sizeof c->project, NULL) != 0)
        return rc;
    c->cwd_gone = 1;
    return 0;
}

static int read_common(struct mnemo_worker *w, struct mnemo_http_resp *resp, const json_t *body,
                       struct hook_common *c)
{
    const char *project;
    struct mnemo_err err;

    memset(c, 0, sizeof *c);
    if (mnemo__routes_str(resp, body, "agent", 1, MNEMO_SESSION_AGENT_MAX, &c->agent) != 0 ||
        mnemo__routes_str(resp, body, "session_id", 0, MNEMO_SESSION_AGENT_ID_MAX, &c->asid) != 0 ||
        mnemo__routes_str(resp, body, "cwd", 0, MNEMO_SESSION_CWD_MAX, &c->cwd) != 0 ||
        mnemo__routes_str(resp, body, "project", 0, MNEMO_PROJECT_MAX, &project) != 0)
        return -1;
    if (c->asid != NULL && c->asid[0] == '\0')
        c->asid = NULL;
    if (c->cwd != NULL && c->cwd[0] == '\0')
        c->cwd = NULL;
    if (project != NULL && project[0] != '\0') {
        if (mnemo__routes_project_check(resp, "field 'project'", project) != 0)
            return -1;
        snprintf(c->project, sizeof c->project, "%s", project);
    } else if (c->cwd != NULL) {
        mnemo_err_clear(&err);
        int rc = mnemo_project_identify(c->cwd, NULL, c->project, sizeof c->project, &err);
        if (rc == MNEMO_ENOTFOUND || rc == MNEMO_EACCES || rc == MNEMO_EINVAL)
            rc = gone_cwd_project(w, c, rc);
        if (rc != 0)
            return mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'cwd': %s",
                                      mnemo_err_text(&err, rc));
    }
    return 0;
}

/*
 * The session row of c (found, else started). *sid is 0 when the body names no agent
 * session; a failure is logged and leaves *sid 0 (the caller goes on without it).
 */
static void hook_session(struct mnemo_worker *w, const struct hook_common *c, int start,
                         int64_t *sid)
{
    struct mnemo_session s;
    struct mnemo_err err;

    *sid = 0;
    if (c->asid == NULL)
        return;
    mnemo_err_clear(&err);
    int rc = start ? MNEMO_ENOTFOUND : mnemo_session_find(w->st, c->agent, c->asid, &s, &err);
    if (rc == MNEMO_ENOTFOUND) {
        int created = 0;
        rc = mnemo_session_start(w->st, c->agent, c->asid, c->project, c->cwd, 0, &s, &created,
                                 &err);
        if (rc == 0 && created) {
            json_t *sj = json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)s.id, "agent", s.agent,
                                   "agent_session_id", s.agent_session_id, "project", s.project);
            if (sj != NULL)
                mnemo__routes_publish(w, "session.started", sj);
            json_decref(sj);
        }
    }
    if (rc != 0) {
        char q[160];
        mnemo_log_write(w->log, MNEMO_LOG_WARN, "hook: session not recorded", "agent=%s error=%s",
                        c->agent, mnemo_log_quote(q, sizeof q, mnemo_err_text(&err, rc)));
        return;
    }
    *sid = s.id;
}

static int64_t config_tokens(struct mnemo_worker *w, const char *key)
{
    const struct mnemo_config *cfg = mnemo_worker_config_ref(w);
    int64_t v = cfg != NULL ? mnemo_config_int(cfg, key) : 0;
    mnemo_worker_config_unref(w, cfg);
    return v;
}

static int hook_session_start(struct mnemo_worker *w, const json_t *body,
                              struct mnemo_http_resp *resp)
{
    struct hook_common c;
    struct mnemo_strbuf sb;
    struct mnemo_err err;
    int64_t sid;
    int shown = 0;

    if (read_common(w, resp, body, &c) != 0)
        return 0;
    if (c.project[0] == '\0') {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'project' or 'cwd' is required");
        return 0;
    }
    hook_session(w, &c, 1, &sid);
    mnemo_strbuf_init(&sb, MNEMO_CONTEXT_HARD_CAP * 2);
    mnemo_err_clear(&err);
    int rc = mnemo_context_session_start(
        w->st, c.project, (int)config_tokens(w, "context.session_tokens"), &sb, &shown, &err);
    if (rc != 0) {
        mnemo_strbuf_release(&sb);
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    atomic_fetch_add(&w->context_requests, 1);
    mnemo_routes_retrieval_record(w->retrieval, c.project, MNEMO_ROUTES_RETRIEVAL_CONTEXT, shown);
    json_t *j = json_pack("{s:s,s:i,s:o}", "context", mnemo_strbuf_str(&sb), "shown", shown,
                          "session_id", sid > 0 ? json_integer(sid) : json_null());
    mnemo_strbuf_release(&sb);
    return mnemo__routes_json(resp, 200, j);
}

/* The per-prompt block for the cleaned prompt text (its head: what the search reads). */
static int prompt_context(struct mnemo_worker *w, const char *project, char *text, size_t len,
                          struct mnemo_strbuf *sb, int *shown, struct mnemo_err *err)
{
    struct mnemo_embedder *emb;
    struct mnemo_vindex *vx;
    size_t cut = len > MNEMO_SEARCH_MAX_QUERY ? mnemo_utf8_cut(text, MNEMO_SEARCH_MAX_QUERY) : len;
    char saved = text[cut];

    text[cut] = '\0';
    mnemo__routes_search_vectors(w, &emb, &vx, NULL);
    int rc = mnemo_context_prompt(w->st, vx, emb, project, text,
                                  (int)config_tokens(w, "context.prompt_tokens"), 0, NULL, sb,
                                  shown, err);
    text[cut] = saved;
    return rc;
}

static int hook_prompt(struct mnemo_worker *w, const json_t *body, struct mnemo_http_resp *resp)
{
    struct hook_common c;
    const char *prompt;
    struct mnemo_privacy_result clean = {0};
    struct mnemo_prompt_recorded rec = {0};
    struct mnemo_strbuf sb;
    struct mnemo_err err;
    int64_t sid;
    int shown = 0;

    if (read_common(w, resp, body, &c) != 0 ||
        mnemo__routes_str(resp, body, "prompt", 1, 0, &prompt) != 0)
        return 0;
    if (c.project[0] == '\0') {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'project' or 'cwd' is required");
        return 0;
    }

    /* Cleaned once for both uses: the search (which may reach an embedding server) and the
     * record. Cleaning also drops mnemo's own earlier context quoted back in the prompt. */
    size_t len = strlen(prompt);
    if (len > MNEMO_PRIVACY_MAX_INPUT)
        len = mnemo_utf8_cut(prompt, MNEMO_PRIVACY_MAX_INPUT);
    mnemo_err_clear(&err);
    int rc = mnemo_privacy_clean(w->priv, prompt, len, &clean, &err);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    int wholly_private = clean.wholly_private || clean.len == 0;

    mnemo_strbuf_init(&sb, MNEMO_CONTEXT_HARD_CAP * 2);
    if (!wholly_private)
        rc = prompt_context(w, c.project, clean.text, clean.len, &sb, &shown, &err);
    if (rc != 0) {
        mnemo_privacy_result_release(&clean);
        mnemo_strbuf_release(&sb);
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    atomic_fetch_add(&w->context_requests, 1);
    mnemo_routes_retrieval_record(w->retrieval, c.project, MNEMO_ROUTES_RETRIEVAL_CONTEXT, shown);

    hook_session(w, &c, 0, &sid);
    const char *record_error = NULL;
    if (sid > 0) {
        if (clean.len > MNEMO_PROMPT_TEXT_MAX)
            clean.text[mnemo_utf8_cut(clean.text, MNEMO_PROMPT_TEXT_MAX)] = '\0';
        mnemo_err_clear(&err);
        rc = mnemo_prompt_record(w->st, sid, wholly_private ? NULL : clean.text, wholly_private, 0,
                                 &rec, &err);
        if (rc != 0) {
            char q[160];
            record_error = mnemo_err_text(&err, rc);
            mnemo_log_write(w->log, MNEMO_LOG_WARN, "hook: prompt not recorded",
                            "session=%lld error=%s", (long long)sid,
                            mnemo_log_quote(q, sizeof q, record_error));
        }
    }
    mnemo_privacy_result_release(&clean);
    json_t *j = json_pack("{s:s,s:i,s:I}", "context", mnemo_strbuf_str(&sb), "shown", shown,
                          "prompt_number", (json_int_t)rec.number);
    mnemo_strbuf_release(&sb);
    if (j != NULL && record_error != NULL &&
        json_object_set_new(j, "prompt_error", json_string(record_error)) != 0) {
        json_decref(j);
        j = NULL;
    }
    return mnemo__routes_json(resp, 200, j);
}

/* Cuts every string of the JSON tree j longer than max bytes (at a UTF-8 boundary). */
static int cut_strings(json_t *j, size_t max, int depth)
{
    if (json_is_string(j)) {
        size_t len = json_string_length(j);
        if (len <= max)
            return 0;
        return json_string_setn(j, json_string_value(j), mnemo_utf8_cut(json_string_value(j), max));
    }
    if (depth > MNEMO_HTTP_MAX_JSON_DEPTH)
        return 0;
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (cut_strings(v, max, depth + 1) != 0)
                return -1;
        }
    } else if (json_is_object(j)) {
        json_object_foreach(j, k, v)
        {
            if (cut_strings(v, max, depth + 1) != 0)
                return -1;
        }
    }
    return 0;
}

/*
 * The payload stored for an event: the hook object without the routing fields, long strings
 * cut. A new reference, NULL when out of memory.
 */
static json_t *event_payload(const json_t *body)
{
    static const char *const bounded[] = {"tool_input", "tool_response"};
    static const char *const messages[] = {"last_assistant_message", "last_user_message", "prompt"};
    json_t *p = json_deep_copy(body);
    if (p == NULL)
        return NULL;
    json_object_del(p, "agent");
    json_object_del(p, "project");
    for (size_t i = 0; i < sizeof bounded / sizeof bounded[0]; i++) {
        json_t *v = json_object_get(p, bounded[i]);
        if (v != NULL && cut_strings(v, MNEMO_HOOKS_FIELD_MAX, 0) != 0)
            goto oom;
    }
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        json_t *v = json_object_get(p, messages[i]);
        if (v != NULL && cut_strings(v, MNEMO_HOOKS_MESSAGE_MAX, 0) != 0)
            goto oom;
    }
    return p;
oom:
    json_decref(p);
    return NULL;
}

static int hook_event(struct mnemo_worker *w, const char *kind, int end, const json_t *body,
                      const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct hook_common c;
    struct mnemo_session ended;
    struct mnemo_err err;

    if (read_common(w, resp, body, &c) != 0)
        return 0;
    memset(&ended, 0, sizeof ended);
    if (end) {
        mnemo_err_clear(&err);
        int frc = c.asid != NULL ? mnemo_session_find(w->st, c.agent, c.asid, &ended, &err)
                                 : MNEMO_ENOTFOUND;
        if (frc == MNEMO_ENOTFOUND)
            return mnemo__routes_json(resp, 200, json_pack("{s:i}", "event_id", 0));
        if (frc != 0)
            ended.id = 0; /* the append below meets the same store trouble and says so */
    }
    json_t *payload = event_payload(body);
    /* The capture thread cannot derive it again from a cwd that is gone: it travels along. */
    if (payload != NULL && c.cwd_gone &&
        json_object_set_new(payload, "project", json_string(c.project)) != 0) {
        json_decref(payload);
        payload = NULL;
    }
    json_t *wrap = payload != NULL ? json_pack("{s:s,s:s,s:o}", "agent", c.agent, "kind", kind,
                                               "payload", payload)
                                   : NULL;
    if (wrap != NULL && c.asid != NULL &&
        json_object_set_new(wrap, "agent_session_id", json_string(c.asid)) != 0)
        json_object_clear(wrap);
    if (wrap != NULL && c.project[0] != '\0' &&
        json_object_set_new(wrap, "project", json_string(c.project)) != 0)
        json_object_clear(wrap);
    if (wrap != NULL && c.cwd != NULL && json_object_set_new(wrap, "cwd", json_string(c.cwd)) != 0)
        json_object_clear(wrap);
    if (wrap == NULL || json_object_size(wrap) == 0) {
        json_decref(wrap);
        mnemo__routes_fail(resp, MNEMO_ENOMEM, "out of memory");
        return 0;
    }

    struct mnemo_http_req sub = *req;
    sub.body = wrap;
    sub.raw_body = NULL;
    sub.raw_len = 0;
    sub.n_params = 0;
    int rc = route_event_append(w, &sub, resp);
    json_decref(wrap);
    if (rc != 0 || resp->status != 202 || resp->json == NULL)
        return rc; /* the append's own error answer */
    json_int_t id = json_integer_value(json_object_get(resp->json, "id"));

    if (end && ended.id > 0) {
        mnemo_err_clear(&err);
        rc = mnemo_session_end(w->st, ended.id, MNEMO_SESSION_COMPLETED, 0, &err);
        if (rc != 0 && rc != MNEMO_ENOTFOUND) {
            char q[160];
            mnemo_log_write(w->log, MNEMO_LOG_WARN, "hook: session not ended", "error=%s",
                            mnemo_log_quote(q, sizeof q, mnemo_err_text(&err, rc)));
        }
    }
    json_decref(resp->json);
    resp->json = NULL;
    return mnemo__routes_json(resp, 202, json_pack("{s:I}", "event_id", id));
}

int route_hook_post(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const char *name = mnemo_http_req_param(req, "event");
    const json_t *body;

    for (size_t i = 0; name != NULL && i < sizeof hook_events / sizeof hook_events[0]; i++) {
        if (strcmp(name, hook_events[i].name) != 0)
            continue;
        if (mnemo__routes_body(req, resp, 1, &body) != 0)
            return 0;
        switch (hook_events[i].kind) {
        case HOOK_SESSION_START:
            return hook_session_start(w, body, resp);
        case HOOK_PROMPT:
            return hook_prompt(w, body, resp);
        case HOOK_EVENT:
        case HOOK_EVENT_END:
            return hook_event(w, name, hook_events[i].kind == HOOK_EVENT_END, body, req, resp);
        }
    }
    mnemo__routes_fail(resp, MNEMO_ENOTFOUND, "'%.40s' is not a hook event (see docs/API.md)",
                       name != NULL ? name : "");
    return 0;
}
