/*
 * test_cli_dashboard.c - `mnemo dashboard` against a real worker: it refuses clearly when no
 * worker runs or TCP is off, prints the tokenized address that the worker trades for the
 * cookie, and starts xdg-open (a stand-in on PATH) only with a display and without --no-open,
 * detached with its standard streams on /dev/null. The address it prints works end to end: the
 * cookie, the page and its CSP, a 304 for an asset whose ETag the client has, and a 403 for a
 * foreign Host.
 */
#include "worker_procs.h"

#include <netinet/in.h>
#include <sys/socket.h>

/* A TCP port nobody listens on right now. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Runs mnemo with f's environment plus extra ("K=V", NULL-terminated list) and the args. */
static struct cu_result run_with(struct fixture *f, char *const *extra, ...)
{
    char *env[16];
    int n = 0;
    for (int i = 0; f->env[i] != NULL; i++)
        env[n++] = f->env[i];
    for (int i = 0; extra != NULL && extra[i] != NULL; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    va_list ap;
    va_start(ap, extra);
    struct cu_result r = cu_run_va(env, NULL, ap);
    va_end(ap);
    return r;
}

/* The status of GET url with an optional extra header; *hdrs gets the response headers. */
static long get(const char *url, const char *header, char **hdrs, char **body)
{
    struct mnemo_strbuf h, b;
    mnemo_strbuf_init(&h, 0);
    mnemo_strbuf_init(&b, 0);
    CURL *c = curl_easy_init();
    struct curl_slist *list = header != NULL ? curl_slist_append(NULL, header) : NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    *hdrs = strdup(mnemo_strbuf_str(&h));
    *body = strdup(mnemo_strbuf_str(&b));
    mnemo_strbuf_release(&h);
    mnemo_strbuf_release(&b);
    return code;
}

static void test_dashboard_help_and_usage(void **state)
{
    struct fixture *f = *state;
    struct cu_result r = run(f, "dashboard", "--help", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "mnemo dashboard [--no-open]");
    cu_expect_contains(r.out, "--no-open");
    cu_result_free(&r);
    r = run(f, "dashboard", "--bogus", NULL);
    cu_expect_status(&r, 2);
    cu_result_free(&r);
    r = run(f, "dashboard", "extra", NULL);
    cu_expect_status(&r, 2);
    cu_result_free(&r);
}

static void test_dashboard_needs_a_running_worker_with_tcp(void **state)
{
    struct fixture *f = *state;
    struct cu_result r = run(f, "dashboard", "--no-open", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "the worker is not running");
    cu_expect_contains(r.err, "mnemo start");
    assert_string_equal(r.out, "");
    cu_result_free(&r);

    serve(f); /* the fixture's environment: MNEMO_TCP_LISTEN=off */
    r = run(f, "dashboard", "--no-open", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "tcp.listen is off");
    cu_expect_contains(r.err, "mnemo config set tcp.listen");
    assert_string_equal(r.out, "");
    cu_result_free(&r);
    stop_child(f);
}

static void test_dashboard_prints_and_opens_the_tokenized_address(void **state)
{
    struct fixture *f = *state;
    char listen_env[64], url[256], want[256], bin[600], fake[700], opened[600], script[2400];
    int port = free_port();

    snprintf(listen_env, sizeof listen_env, "MNEMO_TCP_LISTEN=127.0.0.1:%d", port);
    f->env[1] = listen_env;
    serve(f);
    char *token = tu_file_read(f->token, 256, NULL);
    assert_non_null(token);
    token[strcspn(token, "\n")] = '\0';
    snprintf(want, sizeof want, "http://127.0.0.1:%d/?token=%s\n", port, token);

    /* A display and an xdg-open on PATH, but --no-open: only the address. */
    tu_path(&f->dir, "bin", bin, sizeof bin);
    assert_int_equal(mkdir(bin, 0700), 0);
    tu_path(&f->dir, "opened", opened, sizeof opened);
    snprintf(fake, sizeof fake, "%s/xdg-open", bin);
    snprintf(script, sizeof script,
             "#!/bin/sh\n"
             "in=$(readlink /proc/$$/fd/0); out=$(readlink /proc/$$/fd/1)\n"
             "printf '%%s\\n%%s\\n%%s\\n' \"$1\" \"$in\" \"$out\" > '%s.tmp'\n"
             "mv '%s.tmp' '%s'\n",
             opened, opened, opened);
    tu_file_write(fake, script, strlen(script));
    assert_int_equal(chmod(fake, 0700), 0);
    char path_env[700];
    snprintf(path_env, sizeof path_env, "PATH=%s:/usr/bin:/bin", bin);
    char *const with_display[] = {path_env, (char *)"DISPLAY=:99", NULL};

    struct cu_result r = run_with(f, with_display, "dashboard", "--no-open", NULL);
    cu_expect_status(&r, 0);
    assert_string_equal(r.out, want);
    cu_result_free(&r);
    usleep(300 * 1000);
    assert_int_equal(access(opened, F_OK), -1);

    /* Without a display: the address and a hint, no browser. */
    char *const no_display[] = {path_env, NULL};
    r = run_with(f, no_display, "dashboard", NULL);
    cu_expect_status(&r, 0);
    assert_string_equal(r.out, want);
    cu_expect_contains(r.err, "no display found");
    cu_result_free(&r);
    usleep(300 * 1000);
    assert_int_equal(access(opened, F_OK), -1);

    /* With one: xdg-open gets the address, detached, its streams on /dev/null. */
    r = run_with(f, with_display, "dashboard", NULL);
    cu_expect_status(&r, 0);
    assert_string_equal(r.out, want);
    cu_result_free(&r);
    char *got = NULL;
    for (int i = 0; i < 500 && got == NULL; i++) {
        got = tu_file_read(opened, 4096, NULL);
        if (got == NULL)
            usleep(10000);
    }
    assert_non_null(got);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?token=%s\n/dev/null\n/dev/null\n", port, token);
    assert_string_equal(got, url);
    free(got);

    /* The address works: the token becomes the cookie, and the page answers with it. */
    char *hdrs = NULL, *body = NULL;
    want[strlen(want) - 1] = '\0';
    assert_int_equal(get(want, NULL, &hdrs, &body), 303);
    cu_expect_contains(hdrs, "HttpOnly");
    free(hdrs);
    free(body);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    char cookie[256];
    snprintf(cookie, sizeof cookie, "Cookie: mnemo_token=%s", token);
    assert_int_equal(get(url, cookie, &hdrs, &body), 200);
    cu_expect_contains(body, "/assets/app.js");
    cu_expect_contains(hdrs, "frame-ancestors 'none'");
    free(hdrs);
    free(body);
    /* A foreign Host (DNS rebinding) gets nothing, not even the public page. */
    char host[96];
    snprintf(host, sizeof host, "Host: evil.example:%d", port);
    assert_int_equal(get(url, host, &hdrs, &body), 403);
    free(hdrs);
    free(body);
    /* Assets revalidate: the ETag comes back as a 304 without a body. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/assets/app.js", port);
    assert_int_equal(get(url, NULL, &hdrs, &body), 200);
    cu_expect_contains(hdrs, "text/javascript");
    /* One Cache-Control, the asset's own: a second no-store would win in the browser. */
    cu_expect_contains(hdrs, "Cache-Control: no-cache");
    cu_expect_lacks(hdrs, "no-store");
    cu_expect_lacks(hdrs, "Content-Security-Policy: default-src 'self'\r");
    const char *et = strstr(hdrs, "ETag: ");
    assert_non_null(et);
    char inm[96];
    snprintf(inm, sizeof inm, "If-None-Match: %.*s", (int)strcspn(et + 6, "\r\n"), et + 6);
    free(body);
    char *hdrs2 = NULL;
    assert_int_equal(get(url, inm, &hdrs2, &body), 304);
    assert_string_equal(body, "");
    free(hdrs);
    free(hdrs2);
    free(body);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/dashboard/health", port);
    assert_int_equal(get(url, NULL, &hdrs, &body), 401);
    free(hdrs);
    free(body);
    assert_int_equal(get(url, cookie, &hdrs, &body), 200);
    cu_expect_contains(body, "\"samples\"");
    free(hdrs);
    free(body);
    free(token);
    stop_child(f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dashboard_help_and_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_needs_a_running_worker_with_tcp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_prints_and_opens_the_tokenized_address,
                                        setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
