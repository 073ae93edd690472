/*
 * routes_io.c - bulk import (a JSON array, {"observations":[...]}, or JSON Lines) and export
 * as an attachment in the formats of `mnemo export` (jsonl, json, csv), built in memory up to
 * ROUTES_EXPORT_MAX.
 *
 * Import answers per row: each row is parsed, cleaned by the privacy pass and validated on its
 * own, so a bad row is reported by its index and never stops the others. Imported rows come
 * without vectors; the worker's background re-embedder gives them one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/obs_json.h"
#include "service/routes_int.h"

/* ---- import ------------------------------------------------------------------------------- */

struct import_state {
    json_t *errors; /* [{index, message}], at most ROUTES_IMPORT_MAX_ERRORS */
    int64_t imported, skipped_uuid, skipped_hash, failed;
};

static int note_error(struct import_state *s, int64_t index, const char *msg)
{
    s->failed++;
    if (json_array_size(s->errors) >= ROUTES_IMPORT_MAX_ERRORS)
        return 0;
    json_t *e = index >= 0 ? json_pack("{s:I,s:s}", "index", (json_int_t)index, "message", msg)
                           : json_pack("{s:n,s:s}", "index", "message", msg);
    return json_array_append_new(s->errors, e) != 0 ? MNEMO_ENOMEM : 0;
}

/* Imports the prepared rows[0..n) in one transaction. */
static int import_rows(struct mnemo_worker *w, struct mnemo_obs *rows, size_t n,
                       struct import_state *s, struct mnemo_err *err)
{
    struct mnemo_obs_import_result res;
    struct mnemo_err rerr;

    if (n == 0)
        return 0;
    mnemo_err_clear(&rerr);
    int rc = mnemo_obs_import(w->st, rows, n, &res, &rerr);
    if (rc != 0) {
        *err = rerr;
        return rc;
    }
    s->imported += res.imported;
    s->skipped_uuid += res.skipped_uuid;
    s->skipped_hash += res.skipped_hash;
    /* Rows were validated one by one before, so this is a row the store itself refused. */
    if (res.failed > 0) {
        s->failed += res.failed - 1;
        return note_error(s, -1, mnemo_err_text(&rerr, MNEMO_EINVAL));
    }
    return 0;
}

/* Parses, cleans and validates doc (row index) into *o; 1 when the row failed (noted). */
static int prepare_row(struct mnemo_worker *w, const json_t *doc, int64_t index,
                       struct mnemo_obs *o, struct import_state *s)
{
    char msg[200];
    struct mnemo_err err;

    if (mnemo_obs_from_json(doc, 1, o, msg, sizeof msg) != 0)
        return note_error(s, index, msg) != 0 ? -1 : 1;
    mnemo_err_clear(&err);
    int rc = mnemo_obs_clean(w->priv, o, &err);
    if (rc == 0)
        rc = mnemo_obs_validate(o, &err);
    if (rc != 0) {
        mnemo_obs_release(o);
        return note_error(s, index, mnemo_err_text(&err, rc)) != 0 ? -1 : 1;
    }
    return 0;
}

/* Feeds one document (or a line's parse error) to the batch, flushing it when full. */
struct import_batch {
    struct mnemo_obs rows[MNEMO_OBS_LIST_MAX];
    size_t n;
};

static int batch_flush(struct mnemo_worker *w, struct import_batch *b, struct import_state *s,
                       struct mnemo_err *err)
{
    int rc = import_rows(w, b->rows, b->n, s, err);
    for (size_t i = 0; i < b->n; i++)
        mnemo_obs_release(&b->rows[i]);
    b->n = 0;
    return rc;
}

static int batch_add(struct mnemo_worker *w, struct import_batch *b, const json_t *doc,
                     int64_t index, struct import_state *s, struct mnemo_err *err)
{
    int rc = prepare_row(w, doc, index, &b->rows[b->n], s);
    if (rc < 0)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    if (rc == 0 && ++b->n == MNEMO_OBS_LIST_MAX)
        return batch_flush(w, b, s, err);
    return 0;
}

/* JSON Lines: one document per non-blank line; a malformed line is that row's error. */
static int import_lines(struct mnemo_worker *w, struct import_batch *b, const char *buf, size_t len,
                        struct import_state *s, struct mnemo_err *err)
{
    int64_t index = 0;
    int rc = 0;

    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - buf) : len;
        size_t start = pos;
        while (start < end && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\r'))
            start++;
        pos = end + 1;
        if (start == end)
            continue;
        json_error_t jerr;
        json_t *doc = json_loadb(buf + start, end - start, 0, &jerr);
        if (doc == NULL) {
            char msg[200];
            snprintf(msg, sizeof msg, "malformed JSON: %s", jerr.text);
            if (note_error(s, index, msg) != 0)
                rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
        } else {
            rc = batch_add(w, b, doc, index, s, err);
            json_decref(doc);
        }
        index++;
    }
    return rc;
}

int route_obs_import(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    struct import_state s = {0};
    struct mnemo_err err;
    const char *buf = req->raw_body;
    size_t len = req->raw_len;
    int rc = 0;

    /* The route takes the raw body (JSON Lines is not JSON); a hand-built request may give
     * the parsed body instead. */
    json_t *whole = NULL;
    if (buf == NULL && req->body != NULL)
        whole = json_incref((json_t *)req->body);
    else if (buf != NULL)
        whole = json_loadb(buf, len, 0, NULL);
    if (whole == NULL && (buf == NULL || len == 0)) {
        mnemo__routes_fail(resp, MNEMO_EINVAL,
                           "a body is required: {\"observations\":[...]}, an array or JSON Lines");
        return 0;
    }
    const json_t *docs = whole;
    if (json_is_object(whole) && json_object_get(whole, "observations") != NULL) {
        docs = json_object_get(whole, "observations");
        if (!json_is_array(docs)) {
            json_decref(whole);
            mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'observations' must be an array");
            return 0;
        }
    }

    struct import_batch *b = calloc(1, sizeof *b);
    s.errors = json_array();
    if (b == NULL || s.errors == NULL) {
        free(b);
        json_decref(s.errors);
        json_decref(whole);
        return MNEMO_ENOMEM;
    }
    mnemo_err_clear(&err);
    if (json_is_array(docs)) {
        size_t i;
        const json_t *doc;
        json_array_foreach(docs, i, doc)
        {
            rc = batch_add(w, b, doc, (int64_t)i, &s, &err);
            if (rc != 0)
                break;
        }
    } else if (docs != NULL) {
        rc = batch_add(w, b, docs, 0, &s, &err); /* one object: a one-line JSON Lines body */
    } else {
        rc = import_lines(w, b, buf, len, &s, &err);
    }
    if (rc == 0) {
        rc = batch_flush(w, b, &s, &err);
    } else {
        for (size_t i = 0; i < b->n; i++)
            mnemo_obs_release(&b->rows[i]);
    }
    free(b);
    json_decref(whole);
    if (rc != 0) {
        json_decref(s.errors);
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    return mnemo__routes_json(
        resp, 200,
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:o}", "imported", (json_int_t)s.imported, "skipped",
                  (json_int_t)(s.skipped_uuid + s.skipped_hash), "skipped_uuid",
                  (json_int_t)s.skipped_uuid, "skipped_hash", (json_int_t)s.skipped_hash, "failed",
                  (json_int_t)s.failed, "errors", s.errors));
}

/* ---- export ------------------------------------------------------------------------------- */

enum export_format { FMT_JSONL, FMT_JSON, FMT_CSV };

/* Appends s as one CSV field: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
static int csv_field(struct mnemo_strbuf *sb, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL)
        return mnemo_strbuf_puts(sb, s);
    int rc = mnemo_strbuf_puts(sb, "\"");
    for (const char *p = s; *p != '\0' && rc == 0; p++) {
        rc = mnemo_strbuf_append(sb, p, 1);
        if (rc == 0 && *p == '"')
            rc = mnemo_strbuf_append(sb, p, 1);
    }
    return rc != 0 ? rc : mnemo_strbuf_puts(sb, "\"");
}

/* One CSV record of j's values (or, with header, its keys); lists and objects as JSON. */
static int csv_record(struct mnemo_strbuf *sb, const json_t *j, int header)
{
    const char *key;
    const json_t *v;
    int first = 1, rc = 0;

    json_object_foreach((json_t *)j, key, v)
    {
        if (!first && rc == 0)
            rc = mnemo_strbuf_puts(sb, ",");
        first = 0;
        if (rc != 0)
            break;
        if (header) {
            rc = csv_field(sb, key);
        } else if (json_is_string(v)) {
            rc = csv_field(sb, json_string_value(v));
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
            if (s == NULL)
                return MNEMO_ENOMEM;
            rc = csv_field(sb, s);
            free(s);
        }
    }
    return rc != 0 ? rc : mnemo_strbuf_puts(sb, "\r\n");
}

/* Appends one observation in fmt; n is how many were written before it. */
static int export_obs(struct mnemo_strbuf *sb, enum export_format fmt, const struct mnemo_obs *o,
                      int64_t n)
{
    json_t *j = mnemo_obs_to_json(o);
    if (j == NULL)
        return MNEMO_ENOMEM;
    int rc = 0;
    if (fmt == FMT_CSV) {
        if (n == 0)
            rc = csv_record(sb, j, 1);
        if (rc == 0)
            rc = csv_record(sb, j, 0);
    } else {
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        if (s == NULL) {
            rc = MNEMO_ENOMEM;
        } else {
            if (fmt == FMT_JSON)
                rc = mnemo_strbuf_puts(sb, n == 0 ? "[\n" : ",\n");
            if (rc == 0)
                rc = mnemo_strbuf_puts(sb, s);
            if (rc == 0 && fmt == FMT_JSONL)
                rc = mnemo_strbuf_puts(sb, "\n");
            free(s);
        }
    }
    json_decref(j);
    return rc;
}

int route_obs_export(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    static const char *const names[] = {"jsonl", "json", "csv"};
    static const char *const types[] = {"application/x-ndjson", "application/json",
                                        "text/csv; charset=utf-8"};
    struct mnemo_worker *w = ctx;
    char fbuf[16], pbuf[MNEMO_OBS_MAX_PROJECT + 1], abuf[8];
    const char *format, *project, *archived;
    struct mnemo_obs_filter f;
    struct mnemo_strbuf sb;
    struct mnemo_err err;
    size_t fmt = FMT_JSONL;

    if (mnemo__routes_query(req, resp, "format", fbuf, sizeof fbuf, &format) != 0 ||
        mnemo__routes_query(req, resp, "project", pbuf, sizeof pbuf, &project) != 0 ||
        mnemo__routes_query(req, resp, "archived", abuf, sizeof abuf, &archived) != 0)
        return 0;
    if (format != NULL && format[0] != '\0') {
        while (fmt < 3 && strcmp(names[fmt], format) != 0)
            fmt++;
        if (fmt == 3) {
            mnemo__routes_fail(resp, MNEMO_EINVAL,
                               "query argument 'format' must be jsonl, json or csv");
            return 0;
        }
    }
    mnemo_obs_filter_init(&f);
    if (project != NULL && project[0] != '\0') {
        if (mnemo__routes_project_check(resp, "query argument 'project'", project) != 0)
            return 0;
        f.project = project;
    }
    if (archived != NULL && archived[0] != '\0' && strcmp(archived, "0") != 0) {
        if (strcmp(archived, "1") != 0) {
            mnemo__routes_fail(resp, MNEMO_EINVAL, "query argument 'archived' must be 0 or 1");
            return 0;
        }
        f.include_archived = 1;
    }
    /* As `mnemo export`: superseded rows are history a backup keeps; id paging sees each once. */
    f.include_superseded = 1;
    f.order = MNEMO_OBS_ORDER_ID_ASC;
    f.limit = MNEMO_OBS_LIST_MAX;

    mnemo_strbuf_init(&sb, ROUTES_EXPORT_MAX);
    mnemo_err_clear(&err);
    int64_t n = 0;
    int rc = 0;
    for (;;) {
        struct mnemo_obs_list l;
        rc = mnemo_obs_list(w->st, &f, &l, &err);
        if (rc != 0)
            break;
        for (size_t i = 0; i < l.n && rc == 0; i++)
            rc = export_obs(&sb, (enum export_format)fmt, &l.items[i], n++);
        size_t got = l.n;
        if (got > 0)
            f.after_id = l.items[got - 1].id;
        mnemo_obs_list_release(&l);
        if (rc != 0 || got < (size_t)f.limit)
            break;
    }
    if (rc == 0 && fmt == FMT_JSON)
        rc = mnemo_strbuf_puts(&sb, n == 0 ? "[]\n" : "\n]\n");
    if (rc == MNEMO_ETOOBIG)
        mnemo_err_set(&err, rc, "the export is larger than %zu MiB: use `mnemo export`",
                      ROUTES_EXPORT_MAX >> 20);
    if (rc != 0) {
        mnemo_strbuf_release(&sb);
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    char disp[64];
    snprintf(disp, sizeof disp, "attachment; filename=\"mnemo-export.%s\"", names[fmt]);
    size_t len = sb.len;
    char *data = mnemo_strbuf_detach(&sb);
    if (data == NULL)
        return MNEMO_ENOMEM;
    rc = mnemo_http_resp_header(resp, "Content-Disposition", disp);
    if (rc != 0) {
        free(data);
        return rc;
    }
    mnemo__routes_bytes_owned(resp, 200, types[fmt], data, len);
    return 0;
}
