/*
 * http_resp.c - the request accessors and response helpers handlers use, and the one place
 * a struct mnemo_http_resp becomes an MHD response (with the security headers).
 */
#include <stdlib.h>
#include <string.h>

#include "service/http_int.h"

const char *mnemo_http_req_query(const struct mnemo_http_req *req, const char *name)
{
    if (req == NULL || req->conn == NULL || name == NULL)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *mnemo_http_req_header(const struct mnemo_http_req *req, const char *name)
{
    if (req == NULL || req->conn == NULL || name == NULL)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *mnemo_http_req_param(const struct mnemo_http_req *req, const char *name)
{
    if (req == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < req->n_params; i++) {
        if (strcmp(req->param_names[i], name) == 0)
            return req->param_values[i];
    }
    return NULL;
}

void mnemo__http_resp_release(struct mnemo_http_resp *resp)
{
    json_decref(resp->json);
    free(resp->bytes);
    for (size_t i = 0; i < resp->n_headers; i++)
        free(resp->header_values[i]);
    memset(resp, 0, sizeof(*resp));
}

/* Drops the body a handler set earlier so that the last setter wins without a leak. */
static void clear_body(struct mnemo_http_resp *resp)
{
    json_decref(resp->json);
    resp->json = NULL;
    free(resp->bytes);
    resp->bytes = NULL;
    resp->len = 0;
    resp->content_type = NULL;
}

int mnemo_http_resp_json(struct mnemo_http_resp *resp, int status, json_t *json)
{
    clear_body(resp);
    if (json == NULL)
        return mnemo_http_resp_error(resp, 500, MNEMO_ENOMEM, NULL);
    resp->status = status;
    resp->json = json;
    return 0;
}

int mnemo_http_resp_error(struct mnemo_http_resp *resp, int status, int rc, const char *msg)
{
    clear_body(resp);
    resp->status = status != 0 ? status : mnemo_rc_http_status(rc);
    const char *text = msg != NULL ? msg : mnemo_strerror(rc);
    /* A message quoting bad input may hold invalid UTF-8, which jansson refuses: the
     * code still has to reach the client, so the message falls back to the generic text. */
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", mnemo_rcname(rc), "message", text);
    if (j == NULL)
        j = json_pack("{s:{s:s,s:s}}", "error", "code", mnemo_rcname(rc), "message",
                      mnemo_strerror(rc));
    resp->json = j; /* NULL only when out of memory: mnemo__http_send answers a static 500 */
    return 0;
}

int mnemo_http_resp_bytes(struct mnemo_http_resp *resp, int status, const char *content_type,
                          const void *data, size_t len)
{
    clear_body(resp);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return MNEMO_ENOMEM;
    if (len > 0)
        memcpy(copy, data, len);
    copy[len] = '\0';
    resp->status = status;
    resp->bytes = copy;
    resp->len = len;
    resp->content_type = content_type;
    return 0;
}

int mnemo_http_resp_header(struct mnemo_http_resp *resp, const char *name, const char *value)
{
    if (resp->n_headers >= MNEMO_HTTP_MAX_HEADERS)
        return MNEMO_ETOOBIG;
    char *copy = strdup(value);
    if (copy == NULL)
        return MNEMO_ENOMEM;
    resp->header_names[resp->n_headers] = name;
    resp->header_values[resp->n_headers] = copy;
    resp->n_headers++;
    return 0;
}

int mnemo__http_add_security_headers(struct MHD_Response *r)
{
    static const char *const h[][2] = {
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"},
        {"Cache-Control", "no-store"},
        {"Content-Security-Policy", "default-src 'self'"},
    };
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
        /* A handler's own value (the dashboard's CSP, an asset's revalidation rule) wins:
         * two Cache-Control headers would make a browser apply the stricter no-store. */
        if (MHD_get_response_header(r, h[i][0]) != NULL)
            continue;
        if (MHD_add_response_header(r, h[i][0], h[i][1]) != MHD_YES)
            return MNEMO_ENOMEM;
    }
    return 0;
}

/* The last-resort body when even the error JSON could not be built. */
static const char OOM_BODY[] =
    "{\"error\":{\"code\":\"MNEMO_ENOMEM\",\"message\":\"out of memory\"}}";

enum MHD_Result mnemo__http_send(struct mnemo__http_rctx *rc, struct MHD_Connection *conn,
                                 struct mnemo_http_resp *resp)
{
    struct MHD_Response *r = NULL;
    int status = resp->status != 0 ? resp->status : 200;
    const char *ctype = NULL;

    if (resp->json != NULL) {
        char *text = json_dumps(resp->json, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text != NULL) {
            /* jansson allocates with malloc unless told otherwise, so MHD may free() it. */
            r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
            if (r == NULL)
                free(text);
        }
        ctype = "application/json";
    } else if (resp->bytes != NULL) {
        r = MHD_create_response_from_buffer(resp->len, resp->bytes, MHD_RESPMEM_MUST_FREE);
        if (r != NULL)
            resp->bytes = NULL; /* MHD owns it now */
        ctype = resp->content_type != NULL ? resp->content_type : "application/octet-stream";
    } else if (status >= 400) {
        /* An error with no body at all only happens when building the JSON ran out of memory. */
        r = MHD_create_response_from_buffer(sizeof(OOM_BODY) - 1, (void *)OOM_BODY,
                                            MHD_RESPMEM_PERSISTENT);
        status = 500;
        ctype = "application/json";
    } else {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (r == NULL) {
        mnemo__http_resp_release(resp);
        return MHD_NO;
    }
    int bad = 0;
    if (ctype != NULL && MHD_add_response_header(r, "Content-Type", ctype) != MHD_YES)
        bad = 1;
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (MHD_add_response_header(r, resp->header_names[i], resp->header_values[i]) != MHD_YES)
            bad = 1;
    }
    if (mnemo__http_add_security_headers(r) != 0)
        bad = 1;
    mnemo__http_resp_release(resp);
    if (bad) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES) {
        rc->status = status;
        rc->answered = 1;
    }
    return ok;
}
