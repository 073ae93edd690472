/*
 * worker.c - what every MCP tool shares: its result, the worker client (one uhttp request per
 * call, each with its own deadline), argument readers and the compact index line.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/mcp_int.h"
#include "util/clock.h"
#include "util/uhttp.h"

void mcp_result_init(struct mcp_result *r)
{
    mnemo_strbuf_init(&r->text, MCP_MAX_TEXT);
    r->structured = NULL;
    r->is_error = 0;
}

void mcp_result_release(struct mcp_result *r)
{
    mnemo_strbuf_release(&r->text);
    json_decref(r->structured);
    r->structured = NULL;
}

void mcp_result_fail(struct mcp_result *r, const char *fmt, ...)
{
    va_list ap;
    mnemo_strbuf_reset(&r->text);
    json_decref(r->structured);
    r->structured = NULL;
    r->is_error = 1;
    va_start(ap, fmt);
    (void)mnemo_strbuf_vappendf(&r->text, fmt, ap);
    va_end(ap);
}

void mcp_result_json(struct mcp_result *r, json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s == NULL) {
        json_decref(j);
        mcp_result_fail(r, "out of memory while formatting the answer");
        return;
    }
    mnemo_strbuf_reset(&r->text);
    if (mnemo_strbuf_puts(&r->text, s) != 0) {
        free(s);
        json_decref(j);
        mcp_result_fail(r, "the answer is too big to return (over %d KiB): ask for fewer items",
                        MCP_MAX_TEXT / 1024);
        return;
    }
    free(s);
    json_decref(r->structured);
    r->structured = j;
}

int mcp_worker_call(struct mcp_server *s, const char *method, const char *path, const json_t *body,
                    int64_t timeout_ms, json_t **answer, struct mcp_result *r)
{
    const struct mnemo_mcp_config *cfg = s->cfg;
    struct mnemo_uhttp_resp resp;
    struct mnemo_err err;
    char *text = NULL;

    *answer = NULL;
    if (timeout_ms <= 0)
        timeout_ms = cfg->call_timeout_ms > 0 ? cfg->call_timeout_ms : MNEMO_MCP_CALL_TIMEOUT_MS;
    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        if (text == NULL) {
            mcp_result_fail(r, "out of memory while building the request");
            return 0;
        }
    }
    mnemo_err_clear(&err);
    memset(&resp, 0, sizeof resp);
    int rc = mnemo_uhttp_call(cfg->socket_path, method, path, text, text != NULL ? strlen(text) : 0,
                              mnemo_deadline_in_ms(timeout_ms), &resp, &err);
    free(text);
    if (rc != 0) {
        mnemo_log_write(cfg->log, MNEMO_LOG_WARN, "worker request failed",
                        "method=%s path=%s err=%s", method, path, mnemo_rcname(rc));
        if (rc == MNEMO_ECLOSED)
            mcp_result_fail(r,
                            "mnemo worker is not running: start it with `mnemo start` "
                            "(socket %s), then call this tool again",
                            cfg->socket_path);
        else if (rc == MNEMO_ETIMEDOUT)
            mcp_result_fail(r,
                            "mnemo worker did not answer within %lld ms; it may be busy: try "
                            "again later, or check `mnemo status`",
                            (long long)timeout_ms);
        else
            mcp_result_fail(r, "cannot reach the mnemo worker: %s; check `mnemo status`",
                            mnemo_err_text(&err, rc));
        return 0;
    }
    if (resp.body != NULL)
        *answer = json_loadb(resp.body, resp.len, 0, NULL);
    int status = resp.status;
    mnemo_uhttp_resp_release(&resp);
    return status;
}

void mcp_worker_fail(struct mcp_result *r, int status, const json_t *j)
{
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (status == 503)
        mcp_result_fail(r, "mnemo worker is not ready yet (%s): try again in a few seconds",
                        msg != NULL ? msg : "starting");
    else if (status == 429)
        mcp_result_fail(r,
                        "mnemo worker is rate-limiting requests (%s): wait a few seconds, then "
                        "call this tool again",
                        msg != NULL ? msg : "too many requests");
    else if (status >= 400 && status < 500)
        mcp_result_fail(r, "mnemo refused the request: %s", msg != NULL ? msg : "bad request");
    else
        mcp_result_fail(r, "mnemo worker failed (HTTP %d): %s; see `mnemo doctor`", status,
                        msg != NULL ? msg : "no detail");
}

json_t *mcp_worker_json(struct mcp_server *s, const char *method, const char *path,
                        const json_t *body, int64_t timeout_ms, struct mcp_result *r)
{
    json_t *j = NULL;
    int status = mcp_worker_call(s, method, path, body, timeout_ms, &j, r);
    if (status == 0)
        return NULL;
    if (status >= 200 && status < 300 && json_is_object(j))
        return j;
    mcp_worker_fail(r, status, j);
    json_decref(j);
    return NULL;
}

int mcp_arg_str(const json_t *args, const char *key, size_t max, const char **out,
                struct mcp_result *r)
{
    const json_t *v = json_object_get(args, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        mcp_result_fail(r, "argument '%s' must be a string", key);
        return -1;
    }
    if (max > 0 && json_string_length(v) > max) {
        mcp_result_fail(r, "argument '%s' is longer than %zu bytes", key, max);
        return -1;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        mcp_result_fail(r, "argument '%s' must not contain NUL characters", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int mcp_arg_int(const json_t *args, const char *key, int64_t lo, int64_t hi, int64_t def,
                int64_t *out, struct mcp_result *r)
{
    const json_t *v = json_object_get(args, key);
    *out = def;
    if (v == NULL || json_is_null(v))
        return 0;
    json_int_t n;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == (double)(json_int_t)json_real_value(v)) {
        n = (json_int_t)json_real_value(v); /* 5.0 from a client that only has doubles */
    } else {
        mcp_result_fail(r, "argument '%s' must be an integer from %lld to %lld", key, (long long)lo,
                        (long long)hi);
        return -1;
    }
    if (n < lo || n > hi) {
        mcp_result_fail(r, "argument '%s' must be from %lld to %lld (got %lld)", key, (long long)lo,
                        (long long)hi, (long long)n);
        return -1;
    }
    *out = (int64_t)n;
    return 0;
}

int mcp_arg_strs(const json_t *args, const char *key, size_t max, size_t max_items, json_t **out,
                 struct mcp_result *r)
{
    const json_t *v = json_object_get(args, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    json_t *a = json_array();
    if (a == NULL) {
        mcp_result_fail(r, "out of memory");
        return -1;
    }
    if (json_is_string(v)) {
        json_array_append(a, (json_t *)v);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item)) {
                json_decref(a);
                mcp_result_fail(r, "argument '%s' must be an array of strings (item %zu is not)",
                                key, i);
                return -1;
            }
            if (json_array_append(a, (json_t *)item) != 0) {
                json_decref(a);
                mcp_result_fail(r, "out of memory");
                return -1;
            }
        }
    } else {
        json_decref(a);
        mcp_result_fail(r, "argument '%s' must be a string or an array of strings", key);
        return -1;
    }
    size_t i;
    const json_t *item;
    if (json_array_size(a) > max_items) {
        json_decref(a);
        mcp_result_fail(r, "argument '%s' holds more than %zu items", key, max_items);
        return -1;
    }
    json_array_foreach(a, i, item)
    {
        if (json_string_length(item) > max ||
            strlen(json_string_value(item)) != json_string_length(item)) {
            json_decref(a);
            mcp_result_fail(r, "argument '%s' item %zu is longer than %zu bytes or holds NUL", key,
                            i, max);
            return -1;
        }
    }
    *out = a;
    return 0;
}

int mcp_arg_known(const json_t *args, const char *const *known, struct mcp_result *r)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)args, key, v)
    {
        (void)v;
        size_t i = 0;
        while (known[i] != NULL && strcmp(known[i], key) != 0)
            i++;
        if (known[i] == NULL) {
            struct mnemo_strbuf list;
            mnemo_strbuf_init(&list, 1024);
            for (i = 0; known[i] != NULL; i++)
                (void)mnemo_strbuf_appendf(&list, "%s%s", i ? ", " : "", known[i]);
            mcp_result_fail(r, "unknown argument '%s' (expected: %s)", key,
                            mnemo_strbuf_str(&list));
            mnemo_strbuf_release(&list);
            return -1;
        }
    }
    return 0;
}

/* Reads exactly n digits at *p into *out and advances. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int64_t mcp_parse_date(const char *s, int end_of_day)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    int64_t offset_s = 0;
    const char *p = s;

    if (s == NULL || digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &mo) != 0 ||
        *p++ != '-' || digits(&p, 2, &d) != 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1970)
        return -1;
    int date_only = *p == '\0';
    if (!date_only) {
        if ((*p != 'T' && *p != 't' && *p != ' ') || (p++, digits(&p, 2, &h)) != 0 || *p++ != ':' ||
            digits(&p, 2, &mi) != 0)
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec) != 0)
                return -1;
            if (*p == '.') {
                p++;
                int scale = 100;
                if (!isdigit((unsigned char)*p))
                    return -1;
                while (isdigit((unsigned char)*p)) {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om;
            p++;
            if (digits(&p, 2, &oh) != 0 || *p++ != ':' || digits(&p, 2, &om) != 0 || oh > 23 ||
                om > 59)
                return -1;
            offset_s = sign * (int64_t)(oh * 3600 + om * 60);
        } else if (*p != '\0') {
            return -1;
        }
        if (*p != '\0' || h > 23 || mi > 59 || sec > 60)
            return -1;
    }
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* timegm normalises 2026-02-31 to March */
        return -1;
    int64_t out = ((int64_t)t - offset_s) * 1000 + ms;
    if (date_only && end_of_day)
        out += 86400000;
    return out < 0 ? -1 : out;
}

const char *mcp_project(struct mcp_server *s, const char *arg)
{
    if (arg != NULL && arg[0] != '\0')
        return strcmp(arg, "*") == 0 || strcmp(arg, "all") == 0 ? NULL : arg;
    const char *def = s->cfg->project;
    return def != NULL && def[0] != '\0' ? def : NULL;
}

int mcp_index_line(struct mnemo_strbuf *sb, const json_t *o)
{
    char date[16] = "?";
    json_int_t created = json_integer_value(json_object_get(o, "created_at"));
    time_t t = (time_t)(created / 1000);
    struct tm tm;
    if (created > 0 && gmtime_r(&t, &tm) != NULL)
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *title = json_string_value(json_object_get(o, "title"));
    return mnemo_strbuf_appendf(sb, "#%lld [%s] %s (%s)",
                                (long long)json_integer_value(json_object_get(o, "id")),
                                type != NULL ? type : "?", title != NULL ? title : "", date);
}

int mcp_query_add(char *path, size_t size, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    int w = snprintf(path + n, size - n, "%c%s=", strchr(path, '?') != NULL ? '&' : '?', key);
    if (w < 0 || (size_t)w >= size - n)
        return -1;
    n += (size_t)w;
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        if (n + 4 > size)
            return -1;
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            path[n++] = (char)*p;
        } else {
            path[n++] = '%';
            path[n++] = hex[*p >> 4];
            path[n++] = hex[*p & 15];
        }
    }
    path[n] = '\0';
    return 0;
}
