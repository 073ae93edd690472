/*
 * test_worker_api_security.c - the worker's security model over a real `mnemo serve`
 * ($MNEMO_BIN): the TCP token (bearer, cookie landing), Host and Origin checks, no CORS,
 * security headers, request limits and the error shape, content types, secrets that never
 * come back (nor reach the database, its -wal or the log), hostile clients, and the rate
 * limit on a worker of its own with a low limit.
 */
#include "worker_api.h"

static void test_api_tcp_data_routes_need_the_token(void **state)
{
    struct api *a = *state;
    char bearer[200], wrong[200], v[512];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", a->token);
    snprintf(wrong, sizeof wrong, "Authorization: Bearer %s", a->token);
    wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == '0' ? '1' : '0';

    struct http_resp r = tcp(a, "GET", "/v1/stats", NULL, NULL);
    expect_error(&r, 401, "no token");
    expect_security_headers(&r);
    http_resp_free(&r);

    const char *const hw[] = {wrong, NULL};
    r = tcp(a, "GET", "/v1/stats", hw, NULL);
    expect_error(&r, 401, "wrong token");
    http_resp_free(&r);

    const char *const hc_wrong[] = {"Cookie: mnemo_token=0123", NULL};
    r = tcp(a, "GET", "/v1/stats", hc_wrong, NULL);
    expect_error(&r, 401, "wrong cookie");
    http_resp_free(&r);

    const char *const hb[] = {bearer, NULL};
    r = tcp(a, "GET", "/v1/stats", hb, NULL);
    expect_json(&r, 200, "Bearer token");
    expect_security_headers(&r);
    http_resp_free(&r);

    /* The landing URL trades the token for a cookie and drops it from the address bar. */
    char path[256];
    snprintf(path, sizeof path, "/?token=%s", a->token);
    r = tcp(a, "GET", path, NULL, NULL);
    assert_int_equal(r.code, 303);
    assert_non_null(header_value(&r, "Location", v, sizeof v));
    assert_string_equal(v, "/");
    assert_non_null(header_value(&r, "Set-Cookie", v, sizeof v));
    char want[256];
    snprintf(want, sizeof want, "mnemo_token=%s;", a->token);
    assert_non_null(strstr(v, want));
    assert_non_null(strstr(v, "HttpOnly"));
    assert_non_null(strstr(v, "SameSite=Strict"));
    http_resp_free(&r);

    char cookie[256];
    snprintf(cookie, sizeof cookie, "Cookie: mnemo_token=%s", a->token);
    const char *const hc[] = {cookie, NULL};
    r = tcp(a, "GET", "/v1/stats", hc, NULL);
    expect_json(&r, 200, "cookie");
    http_resp_free(&r);

    /* A wrong token at the landing URL sets no cookie. */
    r = tcp(a, "GET", "/?token=nope", NULL, NULL);
    assert_true(r.code >= 400);
    assert_null(header_value(&r, "Set-Cookie", v, sizeof v));
    http_resp_free(&r);
}

static void test_api_tcp_refuses_foreign_host_and_origin(void **state)
{
    struct api *a = *state;
    char bearer[200], host[128], port_host[128], own_origin[128];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", a->token);
    snprintf(host, sizeof host, "Host: evil.example:%d", a->port);
    snprintf(port_host, sizeof port_host, "Host: 127.0.0.1:%d", a->port == 65535 ? 1 : a->port + 1);
    snprintf(own_origin, sizeof own_origin, "Origin: http://localhost:%d", a->port);

    const char *const h1[] = {bearer, host, NULL};
    struct http_resp r = tcp(a, "GET", "/v1/stats", h1, NULL);
    expect_error(&r, 403, "foreign Host");
    expect_security_headers(&r);
    http_resp_free(&r);
    /* Even the public route: a rebinding page must not learn the worker is there. */
    r = tcp(a, "GET", "/v1/health", h1 + 1, NULL);
    expect_error(&r, 403, "foreign Host on /v1/health");
    http_resp_free(&r);

    const char *const h2[] = {bearer, port_host, NULL};
    r = tcp(a, "GET", "/v1/stats", h2, NULL);
    expect_error(&r, 403, "wrong port in Host");
    http_resp_free(&r);

    const char *const h3[] = {bearer, "Origin: http://evil.example", NULL};
    r = tcp(a, "POST", "/v1/search", h3, "{\"query\":\"x\"}");
    expect_error(&r, 403, "foreign Origin");
    assert_null(header_value(&r, "Access-Control-Allow-Origin", host, sizeof host));
    http_resp_free(&r);

    const char *const h4[] = {bearer, own_origin, NULL};
    r = tcp(a, "GET", "/v1/stats", h4, NULL);
    expect_json(&r, 200, "own Origin");
    expect_security_headers(&r);
    http_resp_free(&r);

    const char *const h5[] = {bearer, "Host: localhost", NULL};
    r = tcp(a, "GET", "/v1/stats", h5, NULL);
    expect_error(&r, 403, "Host without the port");
    http_resp_free(&r);
}

/* ---- limits and the error shape (socket) ---------------------------------------------------- */

static void test_api_limits_and_errors_over_the_socket(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    char v[256];

    /* Over 10 MB: 413, refused on its length. */
    size_t big = 10 * 1024 * 1024 + 16;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    struct http_opts o = {.content_type = "application/json", .body = body, .body_len = big};
    struct http_resp r = http(f->sock, "POST", "http://localhost/v1/search", &o);
    expect_error(&r, 413, "body over 10 MB");
    http_resp_free(&r);
    free(body);

    o = (struct http_opts){.content_type = "text/plain", .body = "{\"query\":\"x\"}"};
    r = http(f->sock, "POST", "http://localhost/v1/search", &o);
    expect_error(&r, 415, "text/plain");
    http_resp_free(&r);

    r = sock_json(f, "POST", "/v1/search", "{\"query\": \"x\",\n \"limit\": }");
    const char *m = expect_error(&r, 400, "malformed JSON");
    cu_expect_contains(m, "column");
    cu_expect_contains(m, "position");
    http_resp_free(&r);

    size_t deep = 100000;
    char *nest = malloc(deep + 1);
    assert_non_null(nest);
    memset(nest, '[', deep);
    nest[deep] = '\0';
    r = sock_json(f, "POST", "/v1/search", nest);
    expect_error(&r, 400, "100,000 nested '['");
    http_resp_free(&r);
    free(nest);

    r = sock_json(f, "POST", "/v1/search", "{\"query\":\"bad \xc3\x28 byte\"}");
    expect_error(&r, 400, "invalid UTF-8");
    http_resp_free(&r);

    r = sock_json(f, "GET", "/v1/nope", NULL);
    expect_error(&r, 404, "unknown route");
    expect_security_headers(&r);
    http_resp_free(&r);

    r = sock_json(f, "DELETE", "/v1/search", NULL);
    expect_error(&r, 405, "wrong method");
    assert_non_null(header_value(&r, "Allow", v, sizeof v));
    cu_expect_contains(v, "POST");
    http_resp_free(&r);

    r = sock_json(f, "PUT", "/v1/stats", "{}");
    expect_error(&r, 405, "PUT on a GET route");
    assert_non_null(header_value(&r, "Allow", v, sizeof v));
    cu_expect_contains(v, "GET");
    http_resp_free(&r);

    /* A pattern route's 405 names every method of that path. */
    r = sock_json(f, "PUT", "/v1/observations/5", "{}");
    expect_error(&r, 405, "PUT on an {id} route");
    assert_non_null(header_value(&r, "Allow", v, sizeof v));
    cu_expect_contains(v, "GET");
    cu_expect_contains(v, "PATCH");
    cu_expect_contains(v, "DELETE");
    http_resp_free(&r);

    const char *nf[] = {"/v1/observations/", "/v1//stats", "/v1/stats/",
                        "/v1/observations/5/archive/x"};
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++) {
        r = sock_json(f, "GET", nf[i], NULL);
        expect_error(&r, 404, nf[i]);
        http_resp_free(&r);
    }
    const char *bad[] = {"/v1/observations/99999999999999999999",
                         "/v1/observations/-1",
                         "/v1/observations/0",
                         "/v1/observations?limit=1001",
                         "/v1/observations?offset=-1",
                         "/v1/observations?archived=maybe",
                         "/v1/events?limit=abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = sock_json(f, "GET", bad[i], NULL);
        expect_error(&r, 400, bad[i]);
        http_resp_free(&r);
    }

    /* The worker took none of it badly. */
    assert_true(health_ready(f));
}

/* ---- secrets -------------------------------------------------------------------------------- */

static void expect_no_secret(const struct http_resp *r, const char *what)
{
    if (r->body != NULL && (strstr(r->body, AWS_KEY) != NULL || strstr(r->body, GH_TOKEN) != NULL))
        fail_msg("%s leaks a secret: %s", what, r->body);
}

static void test_api_secrets_never_come_back(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    struct http_resp r = sock_json(
        f, "POST", "/v1/events",
        "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"s-sec\","
        "\"project\":\"secproj\",\"payload\":{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":"
        "\"deploy --key " AWS_KEY " --gh " GH_TOKEN "\"},\"tool_response\":{\"stdout\":\"\","
        "\"stderr\":\"denied for " AWS_KEY "\",\"exit_code\":1}}}");
    int64_t ev = json_integer_value(json_object_get(expect_json(&r, 202, "secret event"), "id"));
    http_resp_free(&r);
    wait_event_done(f, ev);

    create_obs(f,
               "{\"project\":\"secproj\",\"type\":\"discovery\",\"title\":\"Pelican deploy keys\","
               "\"narrative\":\"The pelican deploy used " AWS_KEY " and " GH_TOKEN ".\","
               "\"facts\":[\"token " GH_TOKEN "\"]}",
               201);

    const char *gets[] = {"/v1/events?limit=100", "/v1/observations?project=secproj&archived=all",
                          "/v1/observations/export?format=jsonl",
                          "/v1/observations/export?format=json",
                          "/v1/observations/export?format=csv"};
    for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++) {
        r = sock_json(f, "GET", gets[i], NULL);
        assert_int_equal(r.code, 200);
        expect_no_secret(&r, gets[i]);
        http_resp_free(&r);
    }
    /* The failing command became an observation, with the secrets redacted out of it. */
    r = sock_json(f, "GET", "/v1/observations/export?format=jsonl&project=secproj", NULL);
    assert_int_equal(r.code, 200);
    cu_expect_contains(r.body, "deploy --key");
    expect_no_secret(&r, "export of the extracted observation");
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/search",
                  "{\"query\":\"pelican deploy\",\"project\":\"secproj\"}");
    assert_true(json_array_size(json_object_get(expect_json(&r, 200, "search"), "results")) >= 1);
    expect_no_secret(&r, "search");
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/context/prompt",
                  "{\"project\":\"secproj\",\"prompt\":\"pelican deploy\"}");
    expect_no_secret(&r, "context");
    http_resp_free(&r);
}

/* ---- edges: content types, body shapes, TCP token and Origin corner cases ------------------- */

static void test_api_content_types_and_body_shapes(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    const char *q = "{\"query\":\"quokka\"}";
    const char *ok_types[] = {"application/json; charset=utf-8", "APPLICATION/JSON"};
    for (size_t i = 0; i < 2; i++) {
        struct http_opts o = {.content_type = ok_types[i], .body = q};
        struct http_resp r = http(f->sock, "POST", "http://localhost/v1/search", &o);
        expect_json(&r, 200, ok_types[i]);
        http_resp_free(&r);
    }
    struct http_opts o = {.content_type = "application/jsonx", .body = q};
    struct http_resp r = http(f->sock, "POST", "http://localhost/v1/search", &o);
    expect_error(&r, 415, "application/jsonx");
    http_resp_free(&r);
    o = (struct http_opts){.body = q}; /* no Content-Type at all (curl: form-urlencoded) */
    r = http(f->sock, "POST", "http://localhost/v1/search", &o);
    expect_error(&r, 415, "form-urlencoded");
    http_resp_free(&r);

    const char *bad[] = {"[1,2]", "", "{} trailing", "{\"query\":\"a\\u0000b\"}",
                         "\"just a string\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = sock_json(f, "POST", "/v1/observations", bad[i]);
        char what[64];
        snprintf(what, sizeof what, "body '%s'", bad[i]);
        expect_error(&r, 400, what);
        http_resp_free(&r);
    }

    r = sock_json(f, "POST", "/v1/events/retry", "{\"id\":999999}");
    assert_int_equal(json_integer_value(json_object_get(expect_json(&r, 200, "retry"), "requeued")),
                     0);
    http_resp_free(&r);

    /* The same version asks for no restart. */
    r = sock_json(f, "GET", "/v1/version", NULL);
    char body[128];
    snprintf(body, sizeof body, "{\"version\":\"%s\"}",
             json_string_value(json_object_get(expect_json(&r, 200, "version"), "version")));
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/restart", body);
    assert_false(json_is_true(json_object_get(expect_json(&r, 200, "restart"), "restarting")));
    http_resp_free(&r);
}

static void test_api_tcp_token_and_origin_corner_cases(void **state)
{
    struct api *a = *state;
    char bearer[200], path[256], v[256], upper[128], evil[128];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", a->token);
    snprintf(upper, sizeof upper, "Origin: http://LOCALHOST:%d", a->port);
    snprintf(evil, sizeof evil, "Host: evil.example:%d", a->port);

    /* The token is not accepted in a data route's query string. */
    snprintf(path, sizeof path, "/v1/stats?token=%s", a->token);
    struct http_resp r = tcp(a, "GET", path, NULL, NULL);
    expect_error(&r, 401, "token in the query");
    http_resp_free(&r);
    const char *const basic[] = {"Authorization: Basic bW5lbW86dG9rZW4=", NULL};
    r = tcp(a, "GET", "/v1/stats", basic, NULL);
    expect_error(&r, 401, "Basic auth");
    http_resp_free(&r);
    /* Unknown paths are not revealed before the token (documented order). */
    r = tcp(a, "GET", "/v1/nope", NULL, NULL);
    expect_error(&r, 401, "unknown path without token");
    http_resp_free(&r);

    const char *origins[] = {"Origin: null", NULL, NULL};
    char https[128];
    snprintf(https, sizeof https, "Origin: https://localhost:%d", a->port);
    origins[1] = https;
    for (size_t i = 0; i < 2; i++) {
        const char *const h[] = {bearer, origins[i], NULL};
        r = tcp(a, "GET", "/v1/stats", h, NULL);
        expect_error(&r, 403, origins[i]);
        http_resp_free(&r);
    }
    const char *const hu[] = {bearer, upper, NULL};
    r = tcp(a, "GET", "/v1/stats", hu, NULL);
    expect_json(&r, 200, "own origin in capitals");
    http_resp_free(&r);

    /* A rebinding page cannot collect the cookie either. */
    snprintf(path, sizeof path, "/?token=%s", a->token);
    const char *const he[] = {evil, NULL};
    r = tcp(a, "GET", path, he, NULL);
    expect_error(&r, 403, "landing with a foreign Host");
    assert_null(header_value(&r, "Set-Cookie", v, sizeof v));
    http_resp_free(&r);

    /* Over TCP the body limit holds too, with the token. */
    size_t big = 10 * 1024 * 1024 + 1;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    char url[128];
    snprintf(url, sizeof url, "%s/v1/search", a->base);
    const char *const hb[] = {bearer, NULL};
    struct http_opts o = {
        .content_type = "application/json", .headers = hb, .body = body, .body_len = big};
    r = http(NULL, "POST", url, &o);
    expect_error(&r, 413, "TCP body over 10 MB");
    http_resp_free(&r);
    free(body);
}

/* Fails when a secret's bytes are anywhere in the file (the database, its -wal, the log). */
static void expect_file_without_secrets(const char *path)
{
    size_t len = 0;
    char *data = tu_file_read(path, 256u << 20, &len);
    if (data == NULL)
        return; /* no such file: nothing stored there */
    const char *secrets[] = {AWS_KEY, GH_TOKEN};
    for (size_t i = 0; i < 2; i++)
        if (memmem(data, len, secrets[i], strlen(secrets[i])) != NULL) {
            free(data);
            fail_msg("'%s' holds the secret %s", path, secrets[i]);
        }
    free(data);
}

static void
test_api_secrets_and_private_blocks_stay_out_of_updates_imports_and_summaries(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    int64_t id = create_obs(f,
                            "{\"project\":\"sec2proj\",\"type\":\"decision\",\"title\":\"Cormorant "
                            "release plan\",\"narrative\":\"public part <private>hidden walrus "
                            "nine</private> end\"}",
                            201);
    char path[128];
    snprintf(path, sizeof path, "/v1/observations/%lld", (long long)id);
    struct http_resp r = sock_json(
        f, "PATCH", path, "{\"narrative\":\"now with " AWS_KEY "\",\"facts\":[\"" GH_TOKEN "\"]}");
    expect_json(&r, 200, "PATCH with secrets");
    expect_no_secret(&r, "PATCH answer");
    http_resp_free(&r);
    r = sock_json(f, "GET", path, NULL);
    expect_json(&r, 200, "GET");
    expect_no_secret(&r, "GET after PATCH");
    http_resp_free(&r);

    r = sock_json(f, "POST", "/v1/observations/import",
                  "{\"observations\":[{\"project\":\"sec2proj\",\"type\":\"change\",\"title\":"
                  "\"Imported cormorant key\",\"narrative\":\"key " AWS_KEY "\"}]}");
    assert_int_equal(
        json_integer_value(json_object_get(expect_json(&r, 200, "import"), "imported")), 1);
    http_resp_free(&r);

    r = sock_json(
        f, "POST", "/v1/sessions",
        "{\"agent\":\"claude\",\"agent_session_id\":\"s-sec2\",\"project\":\"sec2proj\"}");
    int64_t sid = json_integer_value(
        json_object_get(json_object_get(expect_json(&r, 201, "session"), "session"), "id"));
    http_resp_free(&r);
    snprintf(path, sizeof path, "/v1/sessions/%lld/summary", (long long)sid);
    r = sock_json(f, "POST", path,
                  "{\"request\":\"cormorant release\",\"learned\":\"the key is " GH_TOKEN "\","
                  "\"completed\":\"released with " AWS_KEY "\"}");
    expect_json(&r, 201, "summary with secrets");
    http_resp_free(&r);

    const char *gets[] = {"/v1/observations/export?format=jsonl&project=sec2proj",
                          "/v1/observations?project=sec2proj"};
    for (size_t i = 0; i < 2; i++) {
        r = sock_json(f, "GET", gets[i], NULL);
        assert_int_equal(r.code, 200);
        cu_expect_contains(r.body, "ormorant");
        expect_no_secret(&r, gets[i]);
        if (strstr(r.body, "hidden walrus") != NULL)
            fail_msg("%s shows a <private> block: %s", gets[i], r.body);
        http_resp_free(&r);
    }
    /* A prompt and an event whose payload has the secret as a key are stored redacted too. */
    snprintf(path, sizeof path, "/v1/sessions/%lld/prompts", (long long)sid);
    r = sock_json(f, "POST", path, "{\"text\":\"log in with " AWS_KEY " then " GH_TOKEN "\"}");
    expect_json(&r, 200, "prompt with secrets");
    expect_no_secret(&r, "prompt answer");
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/events",
                  "{\"agent\":\"claude\",\"kind\":\"notification\",\"project\":\"sec2proj\","
                  "\"payload\":{\"" AWS_KEY "\":\"as a key\",\"nested\":[{\"deep\":\"" GH_TOKEN
                  "\"}]}}");
    int64_t ev = json_integer_value(json_object_get(expect_json(&r, 202, "event"), "id"));
    http_resp_free(&r);
    wait_event_done(f, ev);

    const char *posts[][2] = {
        {"/v1/context/session-start", "{\"project\":\"sec2proj\"}"},
        {"/v1/context/prompt", "{\"project\":\"sec2proj\",\"prompt\":\"cormorant release key\"}"},
        {"/v1/search", "{\"query\":\"cormorant\",\"project\":\"sec2proj\"}"}};
    for (size_t i = 0; i < 3; i++) {
        r = sock_json(f, "POST", posts[i][0], posts[i][1]);
        expect_json(&r, 200, posts[i][0]);
        expect_no_secret(&r, posts[i][0]);
        if (strstr(r.body, "hidden walrus") != NULL)
            fail_msg("%s shows a <private> block: %s", posts[i][0], r.body);
        http_resp_free(&r);
    }

    /* Nothing on disk holds them: the -wal as it is, then the database and the -wal after a
     * forced checkpoint, and the worker's log. */
    expect_file_without_secrets(f->wal);
    r = sock_json(f, "POST", "/v1/checkpoint", NULL);
    expect_json(&r, 200, "checkpoint");
    http_resp_free(&r);
    expect_file_without_secrets(f->db);
    expect_file_without_secrets(f->wal);
    expect_file_without_secrets(f->out);
}

/* ---- hostile clients ----------------------------------------------------------------------- */

/* A TCP connection to the worker that sent the start of a request and then nothing. */
static int half_request(struct api *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[128];
    int n = snprintf(req, sizeof req, "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", a->port);
    assert_int_equal(write(fd, req, (size_t)n), n);
    return fd;
}

struct chunked {
    size_t left;
};

static size_t read_spaces(char *buf, size_t size, size_t n, void *userdata)
{
    struct chunked *c = userdata;
    size_t k = size * n < c->left ? size * n : c->left;
    memset(buf, ' ', k);
    c->left -= k;
    return k;
}

static void test_api_hostile_clients_do_not_hurt_the_worker(void **state)
{
    struct api *a = *state;
    struct fixture *f = a->f;

    /* Idle half-requests hold no one up, and are closed after the idle timeout (2 s here). */
    int fds[20];
    for (int i = 0; i < 20; i++)
        fds[i] = half_request(a);
    struct http_resp r = tcp(a, "GET", "/v1/health", NULL, NULL);
    expect_json(&r, 200, "health beside 20 idle connections");
    http_resp_free(&r);
    int64_t t0 = tu_now_ms();
    for (int i = 0; i < 20; i++) {
        struct timeval tv = {.tv_sec = 20};
        assert_int_equal(setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
        char buf[256];
        ssize_t got = read(fds[i], buf, sizeof buf);
        if (got < 0 && errno != ECONNRESET)
            fail_msg("idle connection %d not closed by the worker: %s", i, strerror(errno));
        close(fds[i]);
    }
    int64_t took = tu_now_ms() - t0;
    print_message("idle connections closed after %lld ms (timeout 2 s)\n", (long long)took);
    assert_true(took < 15000);

    /* A chunked body past the limit has no length to refuse up front: the connection is closed. */
    char url[128];
    snprintf(url, sizeof url, "%s/v1/observations", a->base);
    char bearer[200];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", a->token);
    struct curl_slist *hl = curl_slist_append(NULL, bearer);
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
    assert_non_null(hl);
    struct chunked ch = {.left = 11u * 1024 * 1024};
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_spaces);
    curl_easy_setopt(c, CURLOPT_READDATA, &ch);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 1 << 20);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    mnemo_strbuf_release(&sb);
    if (cc == CURLE_OK && code < 400)
        fail_msg("an 11 MB chunked body was answered %ld", code);
    /* Closed by the worker, not unreachable or hanging. */
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT)
        fail_msg("the chunked upload did not reach the worker: %s", curl_easy_strerror(cc));
    print_message("11 MB chunked body: %s, status %ld\n", curl_easy_strerror(cc), code);

    /* A header block over MHD's limit gets an error, not a crash. */
    size_t hn = 40 * 1024;
    char *big = malloc(hn + 16);
    assert_non_null(big);
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', hn);
    big[7 + hn] = '\0';
    const char *const hb[] = {big, NULL};
    struct http_resp br;
    char surl[64];
    snprintf(surl, sizeof surl, "http://localhost/v1/health");
    struct http_opts o = {.headers = hb};
    cc = http_call(f->sock, "GET", surl, &o, &br);
    if (cc == CURLE_OK && br.code < 400)
        fail_msg("a 40 KiB header was answered %ld", br.code);
    http_resp_free(&br);
    free(big);

    /* A flood of TCP connections (past the listener's 128) does not starve the socket. */
    int flood[140];
    for (int i = 0; i < 140; i++) {
        flood[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(flood[i] >= 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(flood[i], (struct sockaddr *)&sa, sizeof sa), 0);
    }
    assert_true(health_ready(f));
    for (int i = 0; i < 140; i++)
        close(flood[i]);

    /* TCP serves again once the flood is gone (closed connections free their slots). */
    int64_t end = tu_now_ms() + 15000;
    for (;;) {
        struct http_resp h;
        char hurl[96];
        snprintf(hurl, sizeof hurl, "%s/v1/health", a->base);
        struct http_opts ho = {.timeout_ms = 2000};
        CURLcode hc = http_call(NULL, "GET", hurl, &ho, &h);
        long hcode = h.code;
        http_resp_free(&h);
        if (hc == CURLE_OK && hcode == 200)
            break;
        if (tu_now_ms() > end)
            fail_worker(f, "TCP did not serve again after the flood");
        usleep(50000);
    }
}

/* ---- rate limit (own worker: 5 requests per second, burst 10) -------------------------------- */

static void test_api_rate_limit_answers_429_with_retry_after(void **state)
{
    struct api *a = *state;
    char v[64];
    int retry_after = 0;
    /* 60 requests at once are far over 5 per second with a burst of 10, whatever the start-up
     * health polls already took from the bucket. */
    for (int i = 0; i < 60 && retry_after == 0; i++) {
        struct http_resp r = sock_json(a->f, "GET", "/v1/version", NULL);
        if (r.code == 429) {
            expect_error(&r, 429, "rate limited");
            expect_security_headers(&r);
            assert_non_null(header_value(&r, "Retry-After", v, sizeof v));
            retry_after = atoi(v);
            assert_true(retry_after >= 1 && retry_after <= 2);
        } else {
            assert_int_equal(r.code, 200);
        }
        http_resp_free(&r);
    }
    assert_true(retry_after > 0);
    /* The limit is per client: TCP is keyed by address, not by the socket's peer uid. */
    struct http_resp t = tcp(a, "GET", "/v1/version", NULL, NULL);
    expect_json(&t, 200, "TCP while the socket's user is limited");
    http_resp_free(&t);
    /* Waiting as told is enough to be served again. */
    usleep((useconds_t)retry_after * 1000000u);
    struct http_resp r = sock_json(a->f, "GET", "/v1/version", NULL);
    expect_json(&r, 200, "after Retry-After");
    http_resp_free(&r);
    stop_child(a->f);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_tcp_data_routes_need_the_token),
        cmocka_unit_test(test_api_tcp_refuses_foreign_host_and_origin),
        cmocka_unit_test(test_api_limits_and_errors_over_the_socket),
        cmocka_unit_test(test_api_secrets_never_come_back),
        cmocka_unit_test(test_api_content_types_and_body_shapes),
        cmocka_unit_test(test_api_tcp_token_and_origin_corner_cases),
        cmocka_unit_test(
            test_api_secrets_and_private_blocks_stay_out_of_updates_imports_and_summaries),
        cmocka_unit_test(test_api_hostile_clients_do_not_hurt_the_worker),
        cmocka_unit_test(test_api_sigterm_exits_0_leaving_no_wal),
    };
    const struct CMUnitTest rate[] = {
        cmocka_unit_test(test_api_rate_limit_answers_429_with_retry_after),
    };
    int rc = cmocka_run_group_tests_name("worker_api_security", tests, group_setup, group_teardown);
    rc += cmocka_run_group_tests_name("worker_api_rate", rate, rate_group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
