/*
 * routes_hooks.h - the hook route, POST /v1/hooks/{event} (docs/API.md, "Hook route"): one
 * round trip per agent hook. Its own header because routes_int.h belongs to the routes'
 * owner; the table (routes_table.c) includes both.
 *
 * Thread-safety: as every handler, it runs concurrently on the server's threads.
 */
#ifndef MNEMO_SERVICE_ROUTES_HOOKS_H
#define MNEMO_SERVICE_ROUTES_HOOKS_H

#include "service/http.h"

/* Longest string kept in a hook event's tool_input/tool_response (bytes, cut at UTF-8). */
#define MNEMO_HOOKS_FIELD_MAX (64 * 1024)
/* Longest last_user_message / last_assistant_message kept (bytes). */
#define MNEMO_HOOKS_MESSAGE_MAX (16 * 1024)

/*
 * The normalized hook event of src/agent/adapter.h as JSON, for event (the {event} parameter:
 * session-start, user-prompt-submit, post-tool-use, stop, subagent-stop, session-end,
 * pre-compact). session-start answers {context, shown, session_id}; user-prompt-submit records
 * the prompt and answers {context, shown, prompt_number}; the other events are appended to
 * the capture queue (redacted, long strings cut) and answer 202 {event_id}; session-end also
 * ends the session. ctx is the struct mnemo_worker.
 */
int route_hook_post(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);

#endif
