/*
 * mcp.h - the MCP server of `mnemo mcp`: JSON-RPC 2.0 over a pair of streams (stdin and stdout
 * for an agent), one message per line, UTF-8, forwarding its tools to the worker's HTTP API over
 * the worker's Unix socket.
 *
 * Both protocol eras are served by one process (see reference/agents-and-peers.md §2.2):
 * - legacy: `initialize` (protocol versions 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25; the
 *   client's version is echoed when supported, else the newest is offered), then
 *   `notifications/initialized`, `ping`, `tools/list`, `tools/call`. Batches (JSON arrays) are
 *   served only in a session that negotiated 2024-11-05 or 2025-03-26; later revisions dropped
 *   batching, so elsewhere an array is an invalid request;
 * - modern (2026-07-28, stateless): `server/discover`, and requests that carry
 *   params._meta["io.modelcontextprotocol/protocolVersion"]; their results carry resultType
 *   (and ttlMs, cacheScope for lists). An unknown modern version is error -32022.
 * Notifications are never answered. Protocol errors use the JSON-RPC codes (-32700 parse error
 * with id null, -32600 invalid request, -32601 method not found, -32602 invalid params or unknown
 * tool, -32603 internal); a tool that fails (worker absent or refusing, bad arguments) answers a
 * result with isError:true and a message the model can act on.
 *
 * Tools: search, timeline, get_observations, save_memory, memory_admin (see tools.c for their
 * schemas). The server never touches the database: every tool is one or a few worker requests,
 * each with its own deadline.
 *
 * Thread-safety: a server runs on the caller's thread; nothing is shared between calls.
 * Ownership: the config and everything it points to are borrowed for the duration of the call.
 */
#ifndef MNEMO_MCP_MCP_H
#define MNEMO_MCP_MCP_H

#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "util/log.h"

/* Default deadline of one worker request, and of a maintenance run (it really runs). */
#define MNEMO_MCP_CALL_TIMEOUT_MS  10000
#define MNEMO_MCP_MAINT_TIMEOUT_MS 60000
/* Longest message line read; a longer one is answered with a parse error and skipped. */
#define MNEMO_MCP_MAX_LINE (4 * 1024 * 1024)
/* How often the server calls the idle callback while it waits for input (descriptors only). */
#define MNEMO_MCP_IDLE_MS 1000

/* Called while the server waits for input; a non-zero return ends the session (parent gone). */
typedef int (*mnemo_mcp_idle_fn)(void *arg);

struct mnemo_mcp_config {
    const char *socket_path;  /* required: the worker's socket ($MNEMO_HOME/mnemo.sock) */
    const char *project;      /* default project of search and save_memory; NULL/"": none */
    const char *version;      /* serverInfo.version; NULL: "0" */
    struct mnemo_log *log;    /* diagnostics (never stdout); may be NULL */
    int64_t call_timeout_ms;  /* 0: MNEMO_MCP_CALL_TIMEOUT_MS */
    int64_t maint_timeout_ms; /* 0: MNEMO_MCP_MAINT_TIMEOUT_MS */
    mnemo_mcp_idle_fn idle;   /* may be NULL */
    void *idle_arg;
};

/*
 * Serves one session: reads messages from in until end of file (or until cfg->idle returns
 * non-zero) and writes each answer to out as one line, flushed at once. When in has a file
 * descriptor it is read directly (poll and read, no stdio buffering), so the idle callback runs
 * about every MNEMO_MCP_IDLE_MS; a stream without one (fmemopen) is read with stdio.
 * Returns 0 at end of input or when idle asked to stop; MNEMO_EIO when reading in or writing
 * out fails (the client went away), MNEMO_ENOMEM, MNEMO_EINVAL for a config without socket_path.
 */
int mnemo_mcp_serve(const struct mnemo_mcp_config *cfg, FILE *in, FILE *out, struct mnemo_err *err);

#endif
