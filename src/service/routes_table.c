/*
 * routes_table.c - the worker's route table: every route of docs/API.md with its handler and
 * flags. health and version are public and answer before the store is ready; every other route
 * needs the token over TCP and a ready worker.
 */
#include "service/dashboard.h"
#include "service/routes.h"
#include "service/routes_hooks.h"
#include "service/routes_int.h"

#define READY MNEMO_HTTP_NEEDS_READY

/*
 * First match wins, so the literal /v1/observations/{import,export,batch} come before the
 * {id} patterns they would otherwise match.
 */
static const struct mnemo_http_route routes[] = {
    {"GET", "/v1/health", route_health_get, MNEMO_HTTP_PUBLIC},
    {"GET", "/v1/version", route_version_get, MNEMO_HTTP_PUBLIC},
    {"POST", "/v1/restart", route_restart_post, READY},
    {"GET", "/v1/stats", route_stats_get, READY},
    {"POST", "/v1/sessions", route_session_start, READY},
    {"GET", "/v1/sessions", route_session_list, READY},
    {"POST", "/v1/sessions/{id}/prompts", route_session_prompt, READY},
    {"POST", "/v1/sessions/{id}/end", route_session_end, READY},
    {"POST", "/v1/sessions/{id}/summary", route_session_summary, READY},
    {"POST", "/v1/events", route_event_append, READY},
    {"GET", "/v1/events", route_event_list, READY},
    {"POST", "/v1/events/retry", route_event_retry, READY},
    {"POST", "/v1/observations", route_obs_create, READY},
    {"GET", "/v1/observations", route_obs_list, READY},
    {"POST", "/v1/observations/import", route_obs_import, READY | MNEMO_HTTP_RAW_BODY},
    {"GET", "/v1/observations/export", route_obs_export, READY},
    {"POST", "/v1/observations/batch", route_obs_batch, READY},
    {"GET", "/v1/observations/{id}", route_obs_get, READY},
    {"PATCH", "/v1/observations/{id}", route_obs_update, READY},
    {"DELETE", "/v1/observations/{id}", route_obs_delete, READY},
    {"POST", "/v1/observations/{id}/archive", route_obs_archive, READY},
    {"POST", "/v1/observations/{id}/unarchive", route_obs_unarchive, READY},
    {"POST", "/v1/observations/{id}/supersede", route_obs_supersede, READY},
    {"POST", "/v1/observations/{id}/feedback", route_obs_feedback, READY},
    {"POST", "/v1/search", route_search_run, READY},
    {"POST", "/v1/context/session-start", route_context_session_start, READY},
    {"POST", "/v1/context/prompt", route_context_prompt, READY},
    {"POST", "/v1/hooks/{event}", route_hook_post, READY},
    {"POST", "/v1/maintenance", route_maintenance_run, READY},
    {"GET", "/v1/maintenance", route_maintenance_get, READY},
    {"POST", "/v1/checkpoint", route_checkpoint_run, READY},
    {"GET", "/v1/selfcheck", route_selfcheck_get, READY},
    {"GET", "/v1/stream", NULL, READY | MNEMO_HTTP_SSE},
    {"GET", "/metrics", route_metrics_get, READY},
    {"GET", "/", route_dashboard_index, MNEMO_HTTP_PUBLIC},
    {"GET", "/assets/{name}", route_dashboard_asset, MNEMO_HTTP_PUBLIC},
    {"GET", "/v1/dashboard/timeline", route_dashboard_timeline, READY},
    {"GET", "/v1/dashboard/projects", route_dashboard_projects, READY},
    {"GET", "/v1/dashboard/health", route_dashboard_health, READY},
};

const struct mnemo_http_route *mnemo_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
