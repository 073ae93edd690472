/*
 * server.c - the JSON-RPC 2.0 layer of the MCP server: reading one message per line, checking
 * the envelope, the two protocol eras (legacy initialize, modern server/discover with _meta),
 * and writing answers. The tools themselves are in tools.c and the tool_*.c files.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp/mcp_int.h"

/* Legacy versions, oldest first; the last is offered to a client asking for another. */
static const char *const legacy_versions[] = {"2024-11-05", "2025-03-26", "2025-06-18",
                                              "2025-11-25"};
#define N_LEGACY (sizeof legacy_versions / sizeof legacy_versions[0])

/* How long a modern client may cache discover and tools/list answers. */
#define MCP_TTL_MS 300000

static const char instructions[] =
    "mnemo is this machine's long-term memory of coding sessions (decisions, bugfixes, "
    "discoveries, changes), per project. Use it in three steps: `search` for compact index lines "
    "with ids, `timeline` for what happened around one id, then `get_observations` for the full "
    "records you need. Save what a future session should know with `save_memory`.";

/* ---- reading lines --------------------------------------------------------------------------- */

struct reader {
    FILE *f;
    int fd; /* >= 0: read directly with poll/read, so the idle check can run */
    char *buf;
    size_t start, len, cap;
    int eof;
    int skipping; /* inside a line longer than MNEMO_MCP_MAX_LINE */
};

enum { READ_LINE = 0, READ_EOF = 1, READ_STOP = 2, READ_TOOLONG = 3 };

/* Reads more input into r. 0, or READ_EOF / READ_STOP, or a negative code. */
static int reader_fill(struct reader *r, const struct mnemo_mcp_config *cfg)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->len - r->start);
        r->len -= r->start;
        r->start = 0;
    }
    if (r->cap - r->len < 65536) {
        size_t cap = r->cap ? r->cap * 2 : 65536;
        if (cap > MNEMO_MCP_MAX_LINE + 65536)
            cap = MNEMO_MCP_MAX_LINE + 65536;
        if (cap > r->cap) {
            char *b = realloc(r->buf, cap);
            if (b == NULL)
                return MNEMO_ENOMEM;
            r->buf = b;
            r->cap = cap;
        }
    }
    if (r->fd < 0) {
        size_t n = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
        if (n == 0)
            return ferror(r->f) ? MNEMO_EIO : READ_EOF;
        r->len += n;
        return 0;
    }
    for (;;) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        int n = poll(&p, 1, MNEMO_MCP_IDLE_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return MNEMO_EIO;
        if (n == 0) {
            if (cfg->idle != NULL && cfg->idle(cfg->idle_arg) != 0)
                return READ_STOP;
            continue;
        }
        ssize_t k = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k < 0)
            return MNEMO_EIO;
        if (k == 0)
            return READ_EOF;
        r->len += (size_t)k;
        return 0;
    }
}

/*
 * The next line (without its newline) in *line and *n: READ_LINE, READ_TOOLONG (the line was
 * dropped), READ_EOF, READ_STOP or a negative code. The line is valid until the next call.
 */
static int reader_next(struct reader *r, const struct mnemo_mcp_config *cfg, char **line, size_t *n)
{
    for (;;) {
        char *nl = r->len > r->start ? memchr(r->buf + r->start, '\n', r->len - r->start) : NULL;
        if (nl != NULL) {
            char *s = r->buf + r->start;
            size_t k = (size_t)(nl - s);
            r->start += k + 1;
            if (r->skipping) {
                r->skipping = 0;
                return READ_TOOLONG;
            }
            *line = s;
            *n = k;
            return READ_LINE;
        }
        if (r->len - r->start > MNEMO_MCP_MAX_LINE) {
            r->skipping = 1;
            r->start = r->len = 0;
        }
        if (r->eof) {
            if (r->skipping) {
                r->skipping = 0;
                return READ_TOOLONG;
            }
            if (r->len > r->start) { /* a last line without its newline */
                *line = r->buf + r->start;
                *n = r->len - r->start;
                r->start = r->len;
                return READ_LINE;
            }
            return READ_EOF;
        }
        int rc = reader_fill(r, cfg);
        if (rc == READ_EOF)
            r->eof = 1;
        else if (rc != 0)
            return rc;
    }
}

/* ---- answers ----------------------------------------------------------------------------------
 */

/* {"jsonrpc":"2.0","id":id,"error":{code,message[,data]}} (id borrowed, may be NULL; data
 * consumed). */
static json_t *rpc_error(const json_t *id, int code, const char *message, json_t *data)
{
    json_t *e = json_pack("{s:i,s:s}", "code", code, "message", message);
    if (e != NULL && data != NULL)
        json_object_set(e, "data", data);
    json_decref(data);
    json_t *j = json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id != NULL ? id : json_null(),
                          "error", e);
    return j;
}

/* {"jsonrpc":"2.0","id":id,"result":result} (result consumed). */
static json_t *rpc_result(const json_t *id, json_t *result)
{
    if (result == NULL)
        return rpc_error(id, MCP_INTERNAL_ERROR, "out of memory", NULL);
    return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

/* ---- methods ------------------------------------------------------------------------------- */

/* What a request is served as: legacy (after initialize) or modern (carries a version). */
struct call {
    const json_t *id;
    const json_t *params; /* an object (possibly empty) */
    const char *modern;   /* the modern version of _meta, NULL for a legacy request */
};

/* Adds resultType (and ttlMs/cacheScope when listed) to a modern request's result. */
static json_t *modern_result(const struct call *c, json_t *result, int list)
{
    if (c->modern == NULL || result == NULL)
        return result;
    json_object_set_new(result, "resultType", json_string("complete"));
    if (list) {
        json_object_set_new(result, "ttlMs", json_integer(MCP_TTL_MS));
        json_object_set_new(result, "cacheScope", json_string("public"));
    }
    return result;
}

static json_t *server_info(const struct mcp_server *s)
{
    return json_pack("{s:s,s:s,s:s}", "name", "mnemo", "title", "mnemo memory", "version",
                     s->cfg->version != NULL ? s->cfg->version : "0");
}

static json_t *m_initialize(struct mcp_server *s, const struct call *c)
{
    const char *asked = json_string_value(json_object_get(c->params, "protocolVersion"));
    if (asked == NULL)
        return rpc_error(
            c->id, MCP_INVALID_PARAMS,
            "initialize needs params.protocolVersion (a string such as \"2025-11-25\")", NULL);
    const char *v = legacy_versions[N_LEGACY - 1];
    for (size_t i = 0; i < N_LEGACY; i++)
        if (strcmp(asked, legacy_versions[i]) == 0)
            v = legacy_versions[i];
    snprintf(s->version, sizeof s->version, "%s", v);
    s->initialized = 0;
    const json_t *ci = json_object_get(c->params, "clientInfo");
    mnemo_log_write(s->cfg->log, MNEMO_LOG_INFO, "mcp initialize",
                    "asked=%.32s version=%s client=%.64s", asked, v,
                    json_string_value(json_object_get(ci, "name")) != NULL
                        ? json_string_value(json_object_get(ci, "name"))
                        : "?");
    return rpc_result(c->id, json_pack("{s:s,s:{s:{s:b}},s:o,s:s}", "protocolVersion", v,
                                       "capabilities", "tools", "listChanged", 0, "serverInfo",
                                       server_info(s), "instructions", instructions));
}

static json_t *m_discover(struct mcp_server *s, const struct call *c)
{
    json_t *r = json_pack("{s:s,s:[s],s:{s:{s:b}},s:s,s:{s:o},s:i,s:s}", "resultType", "complete",
                          "supportedVersions", MCP_MODERN_VERSION, "capabilities", "tools",
                          "listChanged", 0, "instructions", instructions, "_meta", MCP_META_SERVER,
                          server_info(s), "ttlMs", MCP_TTL_MS, "cacheScope", "public");
    return rpc_result(c->id, r);
}

static json_t *m_tools_list(struct mcp_server *s, const struct call *c)
{
    (void)s;
    const json_t *cursor = json_object_get(c->params, "cursor");
    if (cursor != NULL && !json_is_null(cursor))
        /* One page holds every tool, so no cursor this server gave out can exist. */
        return rpc_error(c->id, MCP_INVALID_PARAMS, "unknown cursor: tools/list has one page",
                         NULL);
    json_t *tools = mcp_tools_list();
    if (tools == NULL)
        return rpc_error(c->id, MCP_INTERNAL_ERROR, "out of memory", NULL);
    return rpc_result(c->id, modern_result(c, json_pack("{s:o}", "tools", tools), 1));
}

static json_t *m_tools_call(struct mcp_server *s, const struct call *c)
{
    const json_t *name = json_object_get(c->params, "name");
    const json_t *args = json_object_get(c->params, "arguments");
    if (!json_is_string(name))
        return rpc_error(c->id, MCP_INVALID_PARAMS, "tools/call needs params.name (a string)",
                         NULL);
    if (args != NULL && !json_is_null(args) && !json_is_object(args))
        return rpc_error(c->id, MCP_INVALID_PARAMS, "params.arguments must be an object", NULL);
    const struct mcp_tool *t = mcp_tool_find(json_string_value(name));
    if (t == NULL) {
        char msg[200];
        snprintf(msg, sizeof msg, "Unknown tool: %.128s", json_string_value(name));
        return rpc_error(c->id, MCP_INVALID_PARAMS, msg, NULL);
    }
    json_t *empty = NULL;
    if (!json_is_object(args)) {
        empty = json_object();
        if (empty == NULL)
            return rpc_error(c->id, MCP_INTERNAL_ERROR, "out of memory", NULL);
        args = empty;
    }
    struct mcp_result r;
    mcp_result_init(&r);
    t->call(s, args, &r);
    json_decref(empty);
    mnemo_log_write(s->cfg->log, r.is_error ? MNEMO_LOG_WARN : MNEMO_LOG_DEBUG, "mcp tool call",
                    "tool=%s error=%d", t->name, r.is_error);
    json_t *res = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
                            mnemo_strbuf_str(&r.text), "isError", r.is_error);
    if (res != NULL && r.structured != NULL && !r.is_error)
        json_object_set(res, "structuredContent", r.structured);
    mcp_result_release(&r);
    return rpc_result(c->id, modern_result(c, res, 0));
}

/*
 * Serves one request (id non-NULL). Legacy requests need an initialize first (ping excepted);
 * modern ones carry their version and need nothing before.
 */
static json_t *serve_request(struct mcp_server *s, const char *method, const struct call *c)
{
    if (strcmp(method, "server/discover") == 0)
        return m_discover(s, c);
    if (strcmp(method, "initialize") == 0)
        return m_initialize(s, c);
    if (strcmp(method, "ping") == 0) {
        if (c->modern != NULL)
            return rpc_error(c->id, MCP_METHOD_NOT_FOUND,
                             "ping is not part of protocol " MCP_MODERN_VERSION, NULL);
        return rpc_result(c->id, json_object());
    }
    int known = strcmp(method, "tools/list") == 0 || strcmp(method, "tools/call") == 0;
    if (!known) {
        char msg[200];
        snprintf(msg, sizeof msg, "Method not found: %.128s", method);
        return rpc_error(c->id, MCP_METHOD_NOT_FOUND, msg, NULL);
    }
    if (c->modern == NULL && s->version[0] == '\0')
        return rpc_error(c->id, MCP_INVALID_REQUEST,
                         "not initialized: send initialize first, or carry "
                         "params._meta[\"" MCP_META_VERSION "\"]",
                         NULL);
    if (strcmp(method, "tools/list") == 0)
        return m_tools_list(s, c);
    return m_tools_call(s, c);
}

/* The modern version a request carries: 0 and *out (NULL when none), or an error answer. */
static json_t *read_meta(const json_t *id, const json_t *params, const char **out)
{
    *out = NULL;
    const json_t *meta = json_object_get(params, "_meta");
    if (meta == NULL || json_is_null(meta))
        return NULL;
    if (!json_is_object(meta))
        return rpc_error(id, MCP_INVALID_PARAMS, "params._meta must be an object", NULL);
    const json_t *v = json_object_get(meta, MCP_META_VERSION);
    if (v == NULL)
        return NULL;
    if (json_is_string(v) && strcmp(json_string_value(v), MCP_MODERN_VERSION) == 0) {
        *out = MCP_MODERN_VERSION;
        return NULL;
    }
    return rpc_error(id, MCP_UNSUPPORTED_VERSION, "Unsupported protocol version",
                     json_pack("{s:[s],s:O}", "supported", MCP_MODERN_VERSION, "requested", v));
}

/* Answers one message (an object or anything else in a batch): a response, or NULL for none. */
static json_t *handle_one(struct mcp_server *s, const json_t *msg)
{
    if (!json_is_object(msg))
        return rpc_error(NULL, MCP_INVALID_REQUEST, "a message must be a JSON object", NULL);
    const json_t *id = json_object_get(msg, "id");
    const json_t *method = json_object_get(msg, "method");
    const json_t *jsonrpc = json_object_get(msg, "jsonrpc");
    const json_t *params = json_object_get(msg, "params");

    /* MCP ids are strings or integers, never null. */
    int id_ok = id == NULL || json_is_string(id) || json_is_integer(id);
    const json_t *reply_id = id != NULL && id_ok ? id : NULL;
    if (!id_ok)
        return rpc_error(NULL, MCP_INVALID_REQUEST, "id must be a string or an integer", NULL);
    if (id == NULL && json_is_string(method)) {
        /* A notification: acted on when known, never answered, even when malformed. */
        const char *nm = json_string_value(method);
        if (strcmp(nm, "notifications/initialized") == 0)
            s->initialized = 1;
        else
            mnemo_log_write(s->cfg->log, MNEMO_LOG_DEBUG, "mcp notification", "method=%.64s", nm);
        return NULL;
    }
    if (!json_is_string(jsonrpc) || strcmp(json_string_value(jsonrpc), "2.0") != 0)
        return rpc_error(reply_id, MCP_INVALID_REQUEST, "jsonrpc must be \"2.0\"", NULL);
    if (method == NULL && id != NULL &&
        (json_object_get(msg, "result") != NULL || json_object_get(msg, "error") != NULL)) {
        /* A response: this server sends no requests, so there is nothing to match it to. */
        mnemo_log_write(s->cfg->log, MNEMO_LOG_DEBUG, "mcp ignored a response", NULL);
        return NULL;
    }
    if (!json_is_string(method))
        return rpc_error(reply_id, MCP_INVALID_REQUEST, "method must be a string", NULL);
    const char *m = json_string_value(method);

    if (params != NULL && !json_is_null(params) && !json_is_object(params)) {
        if (json_is_array(params))
            return rpc_error(id, MCP_INVALID_PARAMS, "params must be an object (named)", NULL);
        return rpc_error(id, MCP_INVALID_REQUEST, "params must be an object", NULL);
    }
    json_t *empty = NULL;
    if (!json_is_object(params)) {
        empty = json_object();
        if (empty == NULL)
            return rpc_error(id, MCP_INTERNAL_ERROR, "out of memory", NULL);
        params = empty;
    }
    struct call c = {.id = id, .params = params};
    json_t *answer = read_meta(id, params, &c.modern);
    if (answer == NULL)
        answer = serve_request(s, m, &c);
    json_decref(empty);
    return answer;
}

/* Batches exist in the revisions up to 2025-03-26 only. */
static int batch_allowed(const struct mcp_server *s)
{
    return strcmp(s->version, "2024-11-05") == 0 || strcmp(s->version, "2025-03-26") == 0;
}

/* Answers one line: a response, an array of responses, or NULL when nothing is due. */
static json_t *handle_line(struct mcp_server *s, const char *line, size_t n)
{
    json_error_t jerr;
    json_t *msg = json_loadb(line, n, JSON_DECODE_ANY, &jerr);
    if (msg == NULL) {
        char text[240];
        snprintf(text, sizeof text, "Parse error: %s (column %d)", jerr.text, jerr.column);
        return rpc_error(NULL, MCP_PARSE_ERROR, text, NULL);
    }
    json_t *answer = NULL;
    if (!json_is_array(msg)) {
        answer = handle_one(s, msg);
    } else if (!batch_allowed(s)) {
        answer = rpc_error(NULL, MCP_INVALID_REQUEST,
                           "batches (JSON arrays) are not supported in this protocol version: "
                           "send one message per line",
                           NULL);
    } else if (json_array_size(msg) == 0) {
        answer = rpc_error(NULL, MCP_INVALID_REQUEST, "an empty batch", NULL);
    } else {
        answer = json_array();
        size_t i;
        const json_t *item;
        json_array_foreach(msg, i, item)
        {
            json_t *one = handle_one(s, item);
            if (one != NULL && (answer == NULL || json_array_append_new(answer, one) != 0)) {
                json_decref(answer);
                answer = rpc_error(NULL, MCP_INTERNAL_ERROR, "out of memory", NULL);
                break;
            }
        }
        if (answer != NULL && json_is_array(answer) && json_array_size(answer) == 0) {
            json_decref(answer); /* only notifications: nothing is sent */
            answer = NULL;
        }
    }
    json_decref(msg);
    return answer;
}

/* Writes j as one line and flushes. 0 or MNEMO_EIO / MNEMO_ENOMEM. */
static int write_answer(FILE *out, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s == NULL)
        return MNEMO_ENOMEM;
    int ok = fputs(s, out) >= 0 && fputc('\n', out) != EOF && fflush(out) == 0;
    free(s);
    return ok ? 0 : MNEMO_EIO;
}

int mnemo_mcp_serve(const struct mnemo_mcp_config *cfg, FILE *in, FILE *out, struct mnemo_err *err)
{
    if (cfg == NULL || cfg->socket_path == NULL || in == NULL || out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "mcp: a socket path and two streams are needed");
    struct mcp_server s = {.cfg = cfg};
    struct reader r = {.f = in, .fd = fileno(in)};
    int rc = 0;

    for (;;) {
        char *line = NULL;
        size_t n = 0;
        int got = reader_next(&r, cfg, &line, &n);
        json_t *answer = NULL;
        if (got == READ_EOF || got == READ_STOP) {
            mnemo_log_write(cfg->log, MNEMO_LOG_INFO, "mcp session ends",
                            got == READ_EOF ? "reason=eof" : "reason=parent_gone");
            break;
        }
        if (got < 0) {
            rc = mnemo_err_set(err, got, "mcp: cannot read the input: %s", mnemo_strerror(got));
            break;
        }
        if (got == READ_TOOLONG) {
            answer = rpc_error(NULL, MCP_PARSE_ERROR,
                               "Parse error: message longer than 4 MiB (dropped)", NULL);
        } else {
            while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
                n--;
            size_t lead = 0;
            while (lead < n && (line[lead] == ' ' || line[lead] == '\t'))
                lead++;
            if (lead == n)
                continue; /* blank lines carry nothing */
            answer = handle_line(&s, line + lead, n - lead);
        }
        if (answer != NULL) {
            int w = write_answer(out, answer);
            json_decref(answer);
            if (w != 0) {
                rc = mnemo_err_set(err, w, "mcp: cannot write the answer: %s", mnemo_strerror(w));
                break;
            }
        }
    }
    free(r.buf);
    return rc;
}
