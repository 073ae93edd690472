/*
 * test_service_http_sse.c - the HTTP server under concurrent load: publishers, SSE clients
 * that come and go, and plain requests over the socket and TCP, all at once. Run under TSan
 * in CI; the assertions check that every request is answered, every round of every stream
 * client sees events, the metrics add up, and stop ends everything.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <curl/curl.h>

#include "service/http.h"
#include "util/strbuf.h"

#define TOKEN      "feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface"
#define N_PUB      3
#define N_SSE      4
#define N_REQ      4
#define REQS_EACH  60
#define SSE_ROUNDS 3

static int route_item(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)ctx;
    return mnemo_http_resp_json(resp, 200,
                                json_pack("{s:s}", "id", mnemo_http_req_param(req, "id")));
}

static const struct mnemo_http_route ROUTES[] = {
    {"GET", "/v1/items/{id}", route_item, 0},
    {"GET", "/v1/stream", NULL, MNEMO_HTTP_SSE},
};

struct shared {
    char sock[300];
    int port;
    struct mnemo_http *h;
    atomic_int sse_done;
    atomic_int publishes;
    atomic_int failures;
};

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static void *req_main(void *arg)
{
    struct shared *s = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
    for (int i = 0; i < REQS_EACH; i++) {
        char url[128];
        int tcp = i % 2;
        curl_easy_reset(c);
        if (tcp) {
            snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/items/%d", s->port, i);
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        } else {
            snprintf(url, sizeof(url), "http://localhost/v1/items/%d", i);
            curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, s->sock);
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
        long status = 0;
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
            atomic_fetch_add(&s->failures, 1);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return NULL;
}

struct sse_round {
    struct mnemo_strbuf got;
};

/* Leaves the stream (by failing the write) as soon as one whole event has arrived. */
static size_t sse_sink(char *p, size_t sz, size_t n, void *ud)
{
    struct sse_round *r = ud;
    if (mnemo_strbuf_append(&r->got, p, sz * n) != 0)
        return 0;
    const char *ev = strstr(mnemo_strbuf_str(&r->got), "event: tick\ndata: ");
    return (ev != NULL && strstr(ev, "\n\n") != NULL) ? 0 : sz * n;
}

static void *sse_main(void *arg)
{
    struct shared *s = arg;
    int ok_rounds = 0;
    int64_t end = tu_now_ms() + 60000;
    while (ok_rounds < SSE_ROUNDS && tu_now_ms() < end) {
        struct sse_round r;
        mnemo_strbuf_init(&r.got, 0);
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, s->sock);
        curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/stream");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_perform(c);
        curl_easy_cleanup(c);
        /* A round counts once a complete event was read; a client dropped for falling
         * behind simply reconnects, as a browser's EventSource would. */
        if (strstr(mnemo_strbuf_str(&r.got), "event: tick\ndata: {\"n\":") != NULL)
            ok_rounds++;
        mnemo_strbuf_release(&r.got);
    }
    if (ok_rounds < SSE_ROUNDS)
        atomic_fetch_add(&s->failures, 1);
    atomic_fetch_add(&s->sse_done, 1);
    return NULL;
}

static void *pub_main(void *arg)
{
    struct shared *s = arg;
    json_t *data = json_object();
    for (int n = 0; atomic_load(&s->sse_done) < N_SSE; n++) {
        json_object_set_new(data, "n", json_integer(n));
        if (mnemo_http_publish(s->h, "tick", data) != 0)
            atomic_fetch_add(&s->failures, 1);
        atomic_fetch_add(&s->publishes, 1);
        usleep(1000);
    }
    json_decref(data);
    return NULL;
}

static void test_http_concurrent_requests_streams_and_publishers(void **state)
{
    (void)state;
    struct tu_dir dir;
    tu_dir_make(&dir);
    struct shared s = {0};
    tu_path(&dir, "mnemo.sock", s.sock, sizeof(s.sock));
    struct mnemo_http_config cfg;
    mnemo_http_config_init(&cfg);
    cfg.socket_path = s.sock;
    cfg.tcp_enabled = 1;
    cfg.tcp_port = 0;
    cfg.token = TOKEN;
    cfg.rate_limit = 0;
    cfg.sse_keepalive_ms = 20;
    struct mnemo_err err = {0};
    if (mnemo_http_start(&cfg, ROUTES, 2, &s.h, &err) != 0)
        fail_msg("start: %s", err.msg);
    s.port = mnemo_http_tcp_port(s.h);

    pthread_t pub[N_PUB], sse[N_SSE], req[N_REQ];
    for (int i = 0; i < N_SSE; i++)
        assert_int_equal(pthread_create(&sse[i], NULL, sse_main, &s), 0);
    for (int i = 0; i < N_PUB; i++)
        assert_int_equal(pthread_create(&pub[i], NULL, pub_main, &s), 0);
    for (int i = 0; i < N_REQ; i++)
        assert_int_equal(pthread_create(&req[i], NULL, req_main, &s), 0);
    for (int i = 0; i < N_REQ; i++)
        pthread_join(req[i], NULL);
    for (int i = 0; i < N_SSE; i++)
        pthread_join(sse[i], NULL);
    for (int i = 0; i < N_PUB; i++)
        pthread_join(pub[i], NULL);
    assert_int_equal(atomic_load(&s.failures), 0);
    assert_true(atomic_load(&s.publishes) > 0);

    /* Every departed stream client is unregistered (keepalives find the closed ones). */
    int64_t end = tu_now_ms() + 10000;
    while (mnemo_http_sse_clients(s.h) != 0 && tu_now_ms() < end)
        usleep(5000);
    assert_int_equal(mnemo_http_sse_clients(s.h), 0);

    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_http_metrics_write(s.h, &sb), 0);
    char want[128];
    snprintf(want, sizeof(want),
             "mnemo_http_requests_total{route=\"/v1/items/{id}\",method=\"GET\",code=\"200\"} %d\n",
             N_REQ * REQS_EACH);
    assert_non_null(strstr(mnemo_strbuf_str(&sb), want));
    mnemo_strbuf_release(&sb);

    int64_t t0 = tu_now_ms();
    mnemo_http_stop(s.h, 2000);
    assert_true(tu_now_ms() - t0 < 5000);
    tu_dir_remove(&dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_concurrent_requests_streams_and_publishers),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
