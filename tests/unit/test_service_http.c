/*
 * test_service_http.c - the worker's HTTP server, run in-process on a small route table and
 * driven with libcurl over its Unix socket and over TCP (port 0): routing, body limits, JSON
 * checks and the TCP security model (Host, Origin, token). The socket's life cycle, rate
 * limit, readiness, SSE, metrics and stop are in test_service_http_life.c.
 */
#include "testutil.h"

#include "test_service_http_util.h"

/* ---- routing and the success path ---- */

static void test_http_socket_serves_routes_with_params_query_and_body(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    assert_int_equal(request(f->sock, 0, "GET", "/v1/items/42", NULL, NULL, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(has(&r.body, "\"id\":\"42\""));
    assert_true(has(&r.body, "\"route\":\"/v1/items/{id}\""));
    reply_free(&r);
    /* The path is decoded before matching. */
    assert_int_equal(request(f->sock, 0, "GET", "/v1/items/a%20b", NULL, NULL, 0, &r), CURLE_OK);
    assert_true(has(&r.body, "\"id\":\"a b\""));
    assert_true(has(&r.hdrs, "Content-Type: application/json"));
    reply_free(&r);

    const char *b = "{\"a\":[1,2,{\"b\":\"x\"}]}";
    assert_int_equal(
        request(f->sock, 0, "POST", "/v1/echo?q=hello%20there", JSON_CT, b, strlen(b), &r),
        CURLE_OK);
    assert_int_equal(r.status, 201);
    assert_string_equal(mnemo_strbuf_str(&r.body),
                        "{\"got\":{\"a\":[1,2,{\"b\":\"x\"}]},\"q\":\"hello there\"}");
    reply_free(&r);
}

/* A decoded %00 would end a value early as a C string ("/v1/items/2%00junk" naming item 2,
 * "?q=%00x" dropping the argument): it stays escaped, so handlers see an invalid value. */
static void test_http_percent_00_is_never_decoded_into_a_value(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    assert_int_equal(request(f->sock, 0, "GET", "/v1/items/2%00junk", NULL, NULL, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(has(&r.body, "\"id\":\"2%00junk\""));
    reply_free(&r);
    const char *b = "{}";
    assert_int_equal(request(f->sock, 0, "POST", "/v1/echo?q=%00x%41", JSON_CT, b, strlen(b), &r),
                     CURLE_OK);
    assert_true(has(&r.body, "\"q\":\"%00xA\""));
    reply_free(&r);
}

static void test_http_every_response_carries_security_headers(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    const char *paths[] = {"/v1/health", "/nope"};
    for (size_t i = 0; i < 2; i++) {
        request(f->sock, 0, "GET", paths[i], NULL, NULL, 0, &r);
        assert_true(has(&r.hdrs, "X-Content-Type-Options: nosniff"));
        assert_true(has(&r.hdrs, "X-Frame-Options: DENY"));
        assert_true(has(&r.hdrs, "Referrer-Policy: no-referrer"));
        assert_true(has(&r.hdrs, "Cache-Control: no-store"));
        assert_true(has(&r.hdrs, "Content-Security-Policy: default-src 'self'"));
        assert_false(has(&r.hdrs, "Access-Control-Allow-Origin"));
        reply_free(&r);
    }
}

static void test_http_unknown_path_is_404_json(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(f->sock, 0, "GET", "/v1/items", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    error_of(&r, "MNEMO_ENOTFOUND");
    reply_free(&r);
}

static void test_http_wrong_method_is_405_with_allow(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(f->sock, 0, "PUT", "/v1/items/7", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 405);
    assert_true(has(&r.hdrs, "Allow: GET, DELETE"));
    error_of(&r, "MNEMO_EINVAL");
    reply_free(&r);
}

static void test_http_handler_error_code_becomes_json_error(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(f->sock, 0, "GET", "/v1/fail", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(error_of(&r, "MNEMO_ENOTFOUND"), "not found");
    reply_free(&r);
}

/* ---- body limits and JSON checks ---- */

static void test_http_oversized_body_is_413_before_it_is_read(void **state)
{
    struct fixture *f = *state;
    size_t n = 4 * 1024 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, big, n, &r);
    assert_int_equal(r.status, 413);
    error_of(&r, "MNEMO_ETOOBIG");
    reply_free(&r);
    free(big);
}

static void test_http_oversized_chunked_body_is_cut_off(void **state)
{
    struct fixture *f = *state;
    size_t n = 4 * 1024 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    const char *const chunked[] = {"Content-Type: application/json", "Transfer-Encoding: chunked",
                                   NULL};
    struct reply r;
    /* Without a length to refuse up front, the server cuts the connection at the limit. */
    CURLcode rc = request(f->sock, 0, "POST", "/v1/echo", chunked, big, n, &r);
    assert_int_not_equal(rc, CURLE_OK);
    assert_int_not_equal(r.status, 201);
    reply_free(&r);
    free(big);
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_http_metrics_write(f->h, &sb), 0);
    assert_non_null(
        strstr(mnemo_strbuf_str(&sb), "mnemo_http_rejected_total{reason=\"too_big\"} 1\n"));
    mnemo_strbuf_release(&sb);
    /* A chunked body under the limit is read and parsed as usual. */
    request(f->sock, 0, "POST", "/v1/echo", chunked, "{\"x\":1}", 7, &r);
    assert_int_equal(r.status, 201);
    reply_free(&r);
}

static void test_http_body_without_json_content_type_is_415(void **state)
{
    struct fixture *f = *state;
    const char *const plain[] = {"Content-Type: text/plain", NULL};
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", plain, "{}", 2, &r);
    assert_int_equal(r.status, 415);
    error_of(&r, "MNEMO_EINVAL");
    reply_free(&r);
    /* A raw-body route takes any type and gets the bytes unparsed. */
    request(f->sock, 0, "POST", "/v1/raw", plain, "not json", 8, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(mnemo_strbuf_str(&r.body), "not json");
    reply_free(&r);
}

static void test_http_malformed_json_is_400_with_position(void **state)
{
    struct fixture *f = *state;
    const char *b = "{\"a\":\n  1,,}";
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, b, strlen(b), &r);
    assert_int_equal(r.status, 400);
    const char *m = error_of(&r, "MNEMO_EINVAL");
    assert_non_null(strstr(m, "malformed JSON"));
    assert_non_null(strstr(m, "line 2"));
    assert_non_null(strstr(m, "column"));
    assert_non_null(strstr(m, "position"));
    reply_free(&r);
}

static void test_http_deeply_nested_json_is_400(void **state)
{
    struct fixture *f = *state;
    size_t n = 100000;
    char *deep = malloc(n);
    assert_non_null(deep);
    memset(deep, '[', n);
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, deep, n, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(error_of(&r, "MNEMO_EINVAL"), "nested deeper than 64"));
    reply_free(&r);
    /* Brackets inside strings are data, not nesting. */
    memset(deep, 'x', n);
    memcpy(deep, "{\"s\":\"", 6);
    memset(deep + 6, '[', 1000);
    memcpy(deep + 1006, "\"}", 3);
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, deep, strlen(deep), &r);
    assert_int_equal(r.status, 201);
    reply_free(&r);
    free(deep);
}

static void test_http_invalid_utf8_json_is_400(void **state)
{
    struct fixture *f = *state;
    const char b[] = "{\"a\":\"caf\xc3\x28\"}";
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, b, sizeof(b) - 1, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(error_of(&r, "MNEMO_EINVAL"), "not valid UTF-8"));
    reply_free(&r);
}

/* ---- the TCP security model ---- */

static void test_http_tcp_foreign_host_is_403(void **state)
{
    struct fixture *f = *state;
    char host[64];
    snprintf(host, sizeof(host), "Host: evil.com:%d", f->port);
    const char *const h1[] = {host, "Authorization: Bearer " TOKEN, NULL};
    struct reply r;
    request(NULL, f->port, "GET", "/v1/health", h1, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(error_of(&r, "MNEMO_EACCES"), "Host"));
    reply_free(&r);
    /* The right name with another port is just as foreign. */
    snprintf(host, sizeof(host), "Host: localhost:%d", f->port + 1);
    request(NULL, f->port, "GET", "/v1/health", h1, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    reply_free(&r);
    snprintf(host, sizeof(host), "Host: localhost:%d", f->port);
    request(NULL, f->port, "GET", "/v1/health", h1, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_http_tcp_foreign_origin_is_403(void **state)
{
    struct fixture *f = *state;
    char own[80];
    snprintf(own, sizeof(own), "Origin: http://127.0.0.1:%d", f->port);
    const char *const bad[] = {"Origin: http://evil.com", "Authorization: Bearer " TOKEN, NULL};
    const char *const good[] = {own, "Authorization: Bearer " TOKEN, NULL};
    struct reply r;
    request(NULL, f->port, "GET", "/v1/items/1", bad, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(error_of(&r, "MNEMO_EACCES"), "Origin"));
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", good, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_http_tcp_token_required_bearer_or_cookie(void **state)
{
    struct fixture *f = *state;
    const char *const wrong[] = {"Authorization: Bearer " TOKEN "0", NULL};
    const char *const cookie[] = {"Cookie: theme=dark; mnemo_token=" TOKEN, NULL};
    struct reply r;
    request(NULL, f->port, "GET", "/v1/items/1", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 401);
    error_of(&r, "MNEMO_EACCES");
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", wrong, NULL, 0, &r);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", BEARER, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", cookie, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    /* Public routes need no token; the Unix socket never does. */
    request(NULL, f->port, "GET", "/v1/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    request(f->sock, 0, "GET", "/v1/items/1", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_http_token_in_query_sets_cookie_and_redirects(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(NULL, f->port, "GET", "/?token=" TOKEN, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 303);
    assert_true(has(&r.hdrs, "Location: /\r\n"));
    assert_true(has(&r.hdrs, "Set-Cookie: mnemo_token=" TOKEN));
    assert_true(has(&r.hdrs, "HttpOnly"));
    assert_true(has(&r.hdrs, "SameSite=Strict"));
    assert_true(has(&r.hdrs, "Path=/"));
    reply_free(&r);
    request(NULL, f->port, "GET", "/?token=nope", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 401);
    assert_false(has(&r.hdrs, "Set-Cookie"));
    reply_free(&r);
}

static void test_http_tcp_on_ipv6_loopback_serves_bracketed_host(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    f.cfg.socket_path = NULL;
    f.cfg.tcp_host = "::1";
    struct mnemo_err err = {0};
    if (mnemo_http_start(&f.cfg, ROUTES, 1, &f.h, &err) != 0) {
        tu_dir_remove(&f.dir);
        skip(); /* no IPv6 loopback here */
    }
    int port = mnemo_http_tcp_port(f.h);
    char url[64];
    snprintf(url, sizeof(url), "http://[::1]:%d/v1/health", port);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    struct mnemo_strbuf body;
    mnemo_strbuf_init(&body, 0);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    mnemo_strbuf_release(&body);
    assert_int_equal(status, 200);
    mnemo_http_stop(f.h, 1000);
    tu_dir_remove(&f.dir);
}

static void test_http_non_loopback_tcp_without_token_is_refused(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    f.cfg.socket_path = NULL;
    f.cfg.tcp_host = "0.0.0.0";
    f.cfg.token = NULL;
    struct mnemo_err err = {0};
    struct mnemo_http *h = NULL;
    assert_int_equal(mnemo_http_start(&f.cfg, ROUTES, 1, &h, &err), MNEMO_EINVAL);
    assert_null(h);
    assert_non_null(strstr(err.msg, "0.0.0.0"));
    tu_dir_remove(&f.dir);
}

static void test_http_tcp_port_in_use_is_eexist(void **state)
{
    struct fixture *f = *state;
    struct fixture g = {0};
    fx_config(&g);
    g.cfg.socket_path = NULL;
    g.cfg.tcp_port = f->port;
    struct mnemo_err err = {0};
    struct mnemo_http *h = NULL;
    assert_int_equal(mnemo_http_start(&g.cfg, ROUTES, 1, &h, &err), MNEMO_EEXIST);
    assert_null(h);
    char port[16];
    snprintf(port, sizeof(port), "%d", f->port);
    assert_non_null(strstr(err.msg, port));
    tu_dir_remove(&g.dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_percent_00_is_never_decoded_into_a_value, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_socket_serves_routes_with_params_query_and_body,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_every_response_carries_security_headers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_unknown_path_is_404_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_wrong_method_is_405_with_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_handler_error_code_becomes_json_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_oversized_body_is_413_before_it_is_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_oversized_chunked_body_is_cut_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_body_without_json_content_type_is_415, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_malformed_json_is_400_with_position, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_deeply_nested_json_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_invalid_utf8_json_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_tcp_foreign_host_is_403, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_tcp_foreign_origin_is_403, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_tcp_token_required_bearer_or_cookie, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_token_in_query_sets_cookie_and_redirects, setup,
                                        teardown),
        cmocka_unit_test(test_http_tcp_on_ipv6_loopback_serves_bracketed_host),
        cmocka_unit_test(test_http_non_loopback_tcp_without_token_is_refused),
        cmocka_unit_test_setup_teardown(test_http_tcp_port_in_use_is_eexist, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
