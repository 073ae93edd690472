/*
 * mcp_int.h - internal header of the MCP server shared by its files: the JSON-RPC layer
 * (server.c), the tool table (tools.c), the tools (tool_search.c, tool_obs.c) and the worker
 * client with the helpers every tool uses (worker.c).
 *
 * Thread-safety: as mcp.h (one server, one thread).
 */
#ifndef MNEMO_MCP_MCP_INT_H
#define MNEMO_MCP_MCP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mcp/mcp.h"
#include "util/strbuf.h"

/* JSON-RPC and MCP error codes. */
#define MCP_PARSE_ERROR         (-32700)
#define MCP_INVALID_REQUEST     (-32600)
#define MCP_METHOD_NOT_FOUND    (-32601)
#define MCP_INVALID_PARAMS      (-32602)
#define MCP_INTERNAL_ERROR      (-32603)
#define MCP_UNSUPPORTED_VERSION (-32022)

/* The modern revision and its _meta keys. */
#define MCP_MODERN_VERSION "2026-07-28"
#define MCP_META_VERSION   "io.modelcontextprotocol/protocolVersion"
#define MCP_META_SERVER    "io.modelcontextprotocol/serverInfo"

/* Largest tool text answer (Claude warns at 10k tokens and cuts at 25k). */
#define MCP_MAX_TEXT (256 * 1024)

/* One session's state. */
struct mcp_server {
    const struct mnemo_mcp_config *cfg;
    char version[16]; /* the legacy version negotiated by initialize; "" before */
    int initialized;  /* notifications/initialized received */
};

/* What a tool answers: its text, optional structured content, and whether it failed. */
struct mcp_result {
    struct mnemo_strbuf text;
    json_t *structured; /* owned; NULL when the tool has none */
    int is_error;
};

/* A tool: its handler gets the arguments object (never NULL) and fills r. */
struct mcp_tool {
    const char *name;
    void (*call)(struct mcp_server *s, const json_t *args, struct mcp_result *r);
    json_t *(*describe)(void); /* the tools/list entry (new reference) */
};

/* ---- tools.c ------------------------------------------------------------------------------ */

/* The tool table in the stable order tools/list shows it. */
const struct mcp_tool *mcp_tools(size_t *n);
/* The tool called name, NULL when none. */
const struct mcp_tool *mcp_tool_find(const char *name);
/* The tools/list array (new reference, NULL when out of memory). */
json_t *mcp_tools_list(void);

/* The tools' entries (tool_search.c, tool_obs.c). */
json_t *mcp_describe_search(void);
json_t *mcp_describe_timeline(void);
json_t *mcp_describe_get_observations(void);
json_t *mcp_describe_save_memory(void);
json_t *mcp_describe_memory_admin(void);
void mcp_tool_search(struct mcp_server *s, const json_t *args, struct mcp_result *r);
void mcp_tool_timeline(struct mcp_server *s, const json_t *args, struct mcp_result *r);
void mcp_tool_get_observations(struct mcp_server *s, const json_t *args, struct mcp_result *r);
void mcp_tool_save_memory(struct mcp_server *s, const json_t *args, struct mcp_result *r);
void mcp_tool_memory_admin(struct mcp_server *s, const json_t *args, struct mcp_result *r);

/* ---- worker.c: results, the worker client, arguments, formatting ------------------------- */

void mcp_result_init(struct mcp_result *r);
void mcp_result_release(struct mcp_result *r);
/* Marks r failed with the formatted message as its only text. */
void mcp_result_fail(struct mcp_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets j (consumed) as structured content and its compact serialization as the text. */
void mcp_result_json(struct mcp_result *r, json_t *j);

/*
 * One worker request (body may be NULL; borrowed). timeout_ms 0 means the config's call
 * timeout. Returns the HTTP status and *answer (the parsed JSON body, NULL when none or not
 * JSON; caller decrefs), or 0 when the worker could not be asked, with r failed with a message
 * the model can act on (not running, timed out).
 */
int mcp_worker_call(struct mcp_server *s, const char *method, const char *path, const json_t *body,
                    int64_t timeout_ms, json_t **answer, struct mcp_result *r);

/* Fails r for a worker answer that is not a 2xx JSON object (status non-zero; j may be NULL). */
void mcp_worker_fail(struct mcp_result *r, int status, const json_t *j);

/*
 * mcp_worker_call that wants a 2xx JSON object: returns it (caller decrefs), or NULL with r
 * failed (the worker's own message for a 4xx/5xx; 404 says "not found").
 */
json_t *mcp_worker_json(struct mcp_server *s, const char *method, const char *path,
                        const json_t *body, int64_t timeout_ms, struct mcp_result *r);

/*
 * Argument readers: each returns 0 with the value (def when the key is absent or null), or -1
 * with r failed naming the argument and what it must be.
 */
int mcp_arg_str(const json_t *args, const char *key, size_t max, const char **out,
                struct mcp_result *r);
int mcp_arg_int(const json_t *args, const char *key, int64_t lo, int64_t hi, int64_t def,
                int64_t *out, struct mcp_result *r);
/* A string or an array of strings (each at most max bytes, at most max_items) as an array
 * (new reference, NULL when absent). */
int mcp_arg_strs(const json_t *args, const char *key, size_t max, size_t max_items, json_t **out,
                 struct mcp_result *r);
/* Rejects keys of args not in the NULL-terminated list known (a typo must not pass silently). */
int mcp_arg_known(const json_t *args, const char *const *known, struct mcp_result *r);

/*
 * Parses a date argument: "YYYY-MM-DD" (UTC midnight; with end_of_day the next midnight, so an
 * `until` day is included) or RFC 3339 "YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+HH:MM|-HH:MM)". Returns
 * Unix milliseconds, or -1 when malformed.
 */
int64_t mcp_parse_date(const char *s, int end_of_day);

/* The project a tool works on: the argument when given ("*" or "all": every project, NULL),
 * else the server's default (NULL when none). */
const char *mcp_project(struct mcp_server *s, const char *arg);

/* Appends "#id [type] title (YYYY-MM-DD)" for the observation o to sb. */
int mcp_index_line(struct mnemo_strbuf *sb, const json_t *o);
/* Appends "&key=value" (or "?key=value") to path with value percent-encoded; -1 when too long. */
int mcp_query_add(char *path, size_t size, const char *key, const char *value);

#endif
