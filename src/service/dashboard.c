/*
 * dashboard.c - serves the dashboard's page and assets from the table compiled into the
 * binary (see dashboard.h), with ETag revalidation and the dashboard's own CSP.
 */
#include "service/dashboard.h"

#include <string.h>

#include "service/routes_int.h"

const struct mnemo_dashboard_asset *mnemo_dashboard_asset_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < mnemo__dashboard_n_assets; i++) {
        if (strcmp(mnemo__dashboard_assets[i].name, name) == 0)
            return &mnemo__dashboard_assets[i];
    }
    return NULL;
}

/* 1 when the If-None-Match list names etag (or is "*"); weak tags compare by their value. */
static int etag_listed(const char *list, const char *etag)
{
    size_t n = strlen(etag);
    const char *p = list;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == n && memcmp(p, etag, n) == 0)
            return 1;
        if (end == NULL)
            break;
        p = end;
    }
    return 0;
}

int mnemo_dashboard_answer(const char *name, const char *if_none_match,
                           struct mnemo_http_resp *resp)
{
    const struct mnemo_dashboard_asset *a = mnemo_dashboard_asset_find(name);
    if (a == NULL) {
        mnemo__routes_fail(resp, MNEMO_ENOTFOUND, "no such asset");
        return 0;
    }
    /* no-cache replaces the server's default no-store (http_resp.c): the browser keeps the
     * asset and revalidates it with the ETag, answered by a 304 below. */
    if (mnemo_http_resp_header(resp, "Content-Security-Policy", MNEMO_DASHBOARD_CSP) != 0 ||
        mnemo_http_resp_header(resp, "ETag", a->etag) != 0 ||
        mnemo_http_resp_header(resp, "Cache-Control", "no-cache") != 0) {
        mnemo__routes_fail(resp, MNEMO_ENOMEM, "out of memory");
        return 0;
    }
    if (if_none_match != NULL && etag_listed(if_none_match, a->etag)) {
        resp->status = 304;
        return 0;
    }
    if (mnemo_http_resp_bytes(resp, 200, a->content_type, a->data, a->len) != 0)
        mnemo__routes_fail(resp, MNEMO_ENOMEM, "out of memory");
    return 0;
}

int route_dashboard_index(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)ctx;
    mnemo_dashboard_answer("index.html", mnemo_http_req_header(req, "If-None-Match"), resp);
    return 0;
}

int route_dashboard_asset(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)ctx;
    const char *name = mnemo_http_req_param(req, "name");
    /* The page itself is only ever `/`: one address per document keeps the CSP and the
     * cookie's path story simple. */
    if (name == NULL || strcmp(name, "index.html") == 0) {
        mnemo__routes_fail(resp, MNEMO_ENOTFOUND, "no such asset");
        return 0;
    }
    mnemo_dashboard_answer(name, mnemo_http_req_header(req, "If-None-Match"), resp);
    return 0;
}
