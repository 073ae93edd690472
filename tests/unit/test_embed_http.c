/*
 * test_embed_http.c - the http embedding provider against a fake server started here.
 *
 * The fake server listens on 127.0.0.1 on an ephemeral port in a thread, speaks just enough
 * HTTP/1.1 (one request per connection, Content-Length bodies, "Connection: close") and
 * answers according to a scenario: OpenAI or Ollama format by path, failures, delays,
 * malformed bodies. Its vectors are a deterministic function of each input text, so the
 * test can check which vector landed where.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "embed/embed.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/strbuf.h"

#define FAKE_DIM    16
#define API_KEY     "sk-test-SECRETKEY-0123456789"
#define MAX_BATCHES 64

enum scenario {
    SC_OK,         /* embeddings; OpenAI answers in reverse index order */
    SC_429_ONCE,   /* first request 429, then OK */
    SC_500_ALWAYS, /* every request 500 */
    SC_SLEEP,      /* waits delay_ms before answering OK */
    SC_MALFORMED,  /* truncated JSON */
    SC_WRONG_DIMS, /* the last vector is one short */
    SC_NAN,        /* a NaN literal */
    SC_ZERO,       /* an all-zero vector */
    SC_COUNT,      /* one embedding fewer than inputs */
    SC_HUGE,       /* a 2 MiB body */
    SC_ECHO_KEY,   /* 401 whose body echoes the Authorization header */
    SC_REDIRECT,   /* 302 to another port */
    SC_BAD_INDEX,  /* OpenAI index repeated */
};

struct fake {
    int lfd;
    int port;
    pthread_t th;
    pthread_mutex_t mu;
    int stop;
    enum scenario sc;
    int delay_ms;
    int requests;
    int batches[MAX_BATCHES];
    char auth[256];
    char path[128];
    int body_valid_json;
};

/* The fake's vector for a text: FNV-1a bytes spread over FAKE_DIM positive values. */
static void fake_vector(const char *s, size_t n, double *v)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(0x100000001b3);
    }
    for (int k = 0; k < FAKE_DIM; k++)
        v[k] = (double)((h >> (k * 4 % 64)) & 0xf) + 1.0;
}

static int fake_stopping(struct fake *f)
{
    int s;

    pthread_mutex_lock(&f->mu);
    s = f->stop;
    pthread_mutex_unlock(&f->mu);
    return s;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w <= 0)
            return; /* the client gave up (timeout tests); nothing to do */
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *extra_hdrs, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     status, len, extra_hdrs != NULL ? extra_hdrs : "");

    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

/* Builds the success body for the inputs, in the format of the requested path. */
static char *ok_body(struct fake *f, json_t *input, int openai, enum scenario sc)
{
    size_t n = json_array_size(input);
    json_t *root = json_object(), *list = json_array();
    char *out;

    for (size_t j = 0; j < n; j++) {
        /* OpenAI answers in reverse, so the client must sort by index. */
        size_t i = openai ? n - 1 - j : j;
        json_t *s = json_array_get(input, i), *vec = json_array();
        double v[FAKE_DIM];
        int dim = FAKE_DIM;

        fake_vector(json_string_value(s), json_string_length(s), v);
        if (sc == SC_WRONG_DIMS && j == n - 1)
            dim--;
        for (int k = 0; k < dim; k++)
            json_array_append_new(vec, json_real(sc == SC_ZERO ? 0.0 : v[k]));
        if (sc == SC_COUNT && j == n - 1) {
            json_decref(vec);
            break;
        }
        if (openai) {
            json_t *item = json_object();
            size_t idx = sc == SC_BAD_INDEX ? 0 : i;

            json_object_set_new(item, "object", json_string("embedding"));
            json_object_set_new(item, "index", json_integer((json_int_t)idx));
            json_object_set_new(item, "embedding", vec);
            json_array_append_new(list, item);
        } else {
            json_array_append_new(list, vec);
        }
    }
    json_object_set_new(root, openai ? "data" : "embeddings", list);
    json_object_set_new(root, "model", json_string("fake"));
    out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}

static void handle(struct fake *f, int fd)
{
    struct mnemo_strbuf req;
    char buf[8192], *hdr_end = NULL, *cl, *au;
    size_t body_len = 0, head_len;
    json_t *root = NULL;
    enum scenario sc;
    int nreq, openai;

    mnemo_strbuf_init(&req, 8 * 1024 * 1024);
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);

        if (r <= 0 || mnemo_strbuf_append(&req, buf, (size_t)r) != 0)
            goto out;
        if (hdr_end == NULL && (hdr_end = strstr(req.data, "\r\n\r\n")) != NULL) {
            cl = strcasestr(req.data, "\r\nContent-Length:");
            body_len = cl != NULL && cl < hdr_end ? strtoul(cl + 17, NULL, 10) : 0;
        }
        if (hdr_end != NULL) {
            head_len = (size_t)(strstr(req.data, "\r\n\r\n") - req.data) + 4;
            if (req.len >= head_len + body_len)
                break;
        }
    }
    hdr_end = strstr(req.data, "\r\n\r\n");
    *hdr_end = '\0';
    root = json_loadb(hdr_end + 4, body_len, 0, NULL);

    pthread_mutex_lock(&f->mu);
    nreq = f->requests++;
    sc = f->sc;
    sscanf(req.data, "POST %127s", f->path);
    au = strcasestr(req.data, "\r\nAuthorization: ");
    f->auth[0] = '\0';
    if (au != NULL)
        sscanf(au + 17, "%255[^\r]", f->auth);
    f->body_valid_json = root != NULL;
    if (nreq < MAX_BATCHES)
        f->batches[nreq] = (int)json_array_size(json_object_get(root, "input"));
    pthread_mutex_unlock(&f->mu);
    openai = strstr(req.data, "/v1/embeddings") != NULL;

    if (sc == SC_SLEEP) {
        int64_t until = tu_now_ms() + f->delay_ms;

        while (tu_now_ms() < until && !fake_stopping(f))
            mnemo_clock_sleep_ms(10);
        sc = SC_OK;
    }
    if (sc == SC_429_ONCE)
        sc = nreq == 0 ? SC_429_ONCE : SC_OK;
    switch (sc) {
    case SC_429_ONCE:
        respond(fd, 429, "Retry-After: 0\r\n", "{\"error\":\"slow down\"}", 21);
        break;
    case SC_500_ALWAYS:
        respond(fd, 500, NULL, "upstream exploded", 17);
        break;
    case SC_MALFORMED:
        respond(fd, 200, NULL, "{\"data\": [", 10);
        break;
    case SC_NAN: {
        const char *b = openai ? "{\"data\":[{\"index\":0,\"embedding\":[NaN,1,2,3,4,5,6,7,8,9,10,"
                                 "11,12,13,14,15]}]}"
                               : "{\"embeddings\":[[NaN,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]]}";
        respond(fd, 200, NULL, b, strlen(b));
        break;
    }
    case SC_HUGE: {
        size_t n = 2 * 1024 * 1024;
        char *b = malloc(n);

        if (b != NULL) {
            memset(b, ' ', n);
            b[0] = '{';
            b[n - 1] = '}';
            respond(fd, 200, NULL, b, n);
        }
        free(b);
        break;
    }
    case SC_ECHO_KEY: {
        char b[512];
        int n = snprintf(b, sizeof(b), "{\"error\":\"invalid key: %s\"}", f->auth);

        respond(fd, 401, NULL, b, (size_t)n);
        break;
    }
    case SC_REDIRECT:
        respond(fd, 302, "Location: http://127.0.0.1:1/v1/embeddings\r\n", "", 0);
        break;
    default: {
        char *b = root != NULL ? ok_body(f, json_object_get(root, "input"), openai, sc) : NULL;

        if (b == NULL)
            respond(fd, 400, NULL, "bad request", 11);
        else
            respond(fd, 200, NULL, b, strlen(b));
        free(b);
        break;
    }
    }
out:
    json_decref(root);
    mnemo_strbuf_release(&req);
}

static void *serve(void *arg)
{
    struct fake *f = arg;

    while (!fake_stopping(f)) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        int fd;

        if (poll(&p, 1, 20) <= 0)
            continue;
        fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        handle(f, fd);
        close(fd);
    }
    return NULL;
}

static void fake_start(struct fake *f, enum scenario sc)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;

    memset(f, 0, sizeof(*f));
    f->sc = sc;
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->lfd, 16), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

static void fake_stop(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    close(f->lfd);
    pthread_mutex_destroy(&f->mu);
}

static int fake_requests(struct fake *f)
{
    int n;

    pthread_mutex_lock(&f->mu);
    n = f->requests;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* An http config for the fake: short retry waits so the tests are quick. */
static void http_config(struct mnemo_embed_config *cfg, const struct fake *f, char *url,
                        size_t size, enum mnemo_embed_api api)
{
    snprintf(url, size, "http://127.0.0.1:%d/", f->port);
    mnemo_embed_config_init(cfg);
    cfg->provider = MNEMO_EMBED_HTTP;
    cfg->api = api;
    cfg->base_url = url;
    cfg->model = "test-model";
    cfg->api_key = API_KEY;
    cfg->dim = FAKE_DIM;
    cfg->retry_base_ms = 10;
    cfg->timeout_ms = 5000;
}

/* Asserts out[i] is the normalised fake vector of texts[i]. */
static void assert_vectors(const char *const *texts, size_t n, const float *out)
{
    for (size_t i = 0; i < n; i++) {
        double v[FAKE_DIM], ss = 0.0, dot = 0.0, vv = 0.0;

        fake_vector(texts[i], strlen(texts[i]), v);
        for (int k = 0; k < FAKE_DIM; k++) {
            ss += (double)out[i * FAKE_DIM + k] * out[i * FAKE_DIM + k];
            dot += v[k] * out[i * FAKE_DIM + k];
            vv += v[k] * v[k];
        }
        assert_true(ss > 1.0 - 2e-5 && ss < 1.0 + 2e-5);
        /* cos(out, v) = 1  <=>  dot^2 = |v|^2 for unit out with positive dot. */
        assert_true(dot > 0.0);
        assert_true(dot * dot > vv * (1.0 - 1e-5));
    }
}

static const char *const TEXTS[] = {"alpha",   "bravo", "charlie", "delta", "echo",
                                    "foxtrot", "golf",  "hotel",   "india", "juliett"};

/* Runs one scenario expecting failure; returns the rc and leaves the message in err. */
static int run_failing(enum scenario sc, enum mnemo_embed_api api, int max_retries, size_t n,
                       struct mnemo_err *err, int *requests)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    char url[64];
    float out[10 * FAKE_DIM];
    int rc;

    fake_start(&f, sc);
    http_config(&cfg, &f, url, sizeof(url), api);
    cfg.max_retries = max_retries;
    cfg.max_response_bytes = 1024 * 1024;
    assert_int_equal(mnemo_embed_open(&cfg, &e, err), 0);
    mnemo_err_clear(err);
    rc = mnemo_embed_texts(e, TEXTS, n, out, 0, err);
    mnemo_embed_close(e);
    if (requests != NULL)
        *requests = fake_requests(&f);
    fake_stop(&f);
    print_message("  scenario %d: rc %s: %s\n", (int)sc, mnemo_rcname(rc), err->msg);
    return rc;
}

static void test_embed_http_openai_format_sorts_by_index_and_sends_key(void **state)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    char url[64];
    float out[5 * FAKE_DIM];

    (void)state;
    fake_start(&f, SC_OK);
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OPENAI);
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    /* dim was given, so open made no request. */
    assert_int_equal(fake_requests(&f), 0);
    assert_int_equal(mnemo_embed_dim(e), FAKE_DIM);
    assert_string_equal(mnemo_embed_model_id(e), "openai:test-model");
    assert_int_equal(mnemo_embed_texts(e, TEXTS, 5, out, 0, &err), 0);
    assert_vectors(TEXTS, 5, out);
    assert_int_equal(fake_requests(&f), 1);
    assert_string_equal(f.path, "/v1/embeddings");
    assert_string_equal(f.auth, "Bearer " API_KEY);
    assert_true(f.body_valid_json);
    mnemo_embed_close(e);
    fake_stop(&f);
}

static void test_embed_http_ollama_format(void **state)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    char url[64];
    float out[3 * FAKE_DIM];

    (void)state;
    fake_start(&f, SC_OK);
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OLLAMA);
    cfg.api_key = NULL;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_string_equal(mnemo_embed_model_id(e), "ollama:test-model");
    assert_int_equal(mnemo_embed_texts(e, TEXTS, 3, out, 0, &err), 0);
    assert_vectors(TEXTS, 3, out);
    assert_string_equal(f.path, "/api/embed");
    /* No key configured: no Authorization header at all. */
    assert_string_equal(f.auth, "");
    mnemo_embed_close(e);
    fake_stop(&f);
}

static void test_embed_http_batches_split_requests_and_keep_order(void **state)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    char url[64];
    float out[10 * FAKE_DIM];

    (void)state;
    fake_start(&f, SC_OK);
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OPENAI);
    cfg.batch_size = 3;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_int_equal(mnemo_embed_texts(e, TEXTS, 10, out, 0, &err), 0);
    assert_vectors(TEXTS, 10, out);
    /* ceil(10 / 3) requests of 3, 3, 3 and 1 inputs. */
    assert_int_equal(fake_requests(&f), 4);
    assert_int_equal(f.batches[0], 3);
    assert_int_equal(f.batches[1], 3);
    assert_int_equal(f.batches[2], 3);
    assert_int_equal(f.batches[3], 1);
    mnemo_embed_close(e);
    fake_stop(&f);
}

static void test_embed_http_probes_dimension_at_open(void **state)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    char url[64];

    (void)state;
    fake_start(&f, SC_OK);
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OLLAMA);
    cfg.dim = 0;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_int_equal(mnemo_embed_dim(e), FAKE_DIM);
    assert_int_equal(fake_requests(&f), 1);
    mnemo_embed_close(e);
    fake_stop(&f);
}

static void test_embed_http_configured_dim_mismatch_is_an_error(void **state)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    char url[64];
    float out[2 * 32];

    (void)state;
    fake_start(&f, SC_OK);
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OPENAI);
    cfg.dim = 32;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_int_equal(mnemo_embed_texts(e, TEXTS, 2, out, 0, &err), MNEMO_EIO);
    assert_non_null(strstr(err.msg, "expected 32"));
    mnemo_embed_close(e);
    fake_stop(&f);
}

static void test_embed_http_retries_429_then_succeeds(void **state)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    char url[64];
    float out[2 * FAKE_DIM];

    (void)state;
    fake_start(&f, SC_429_ONCE);
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OPENAI);
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_int_equal(mnemo_embed_texts(e, TEXTS, 2, out, 0, &err), 0);
    assert_vectors(TEXTS, 2, out);
    assert_int_equal(fake_requests(&f), 2);
    mnemo_embed_close(e);
    fake_stop(&f);
}

static void test_embed_http_persistent_500_fails_naming_status_and_url(void **state)
{
    struct mnemo_err err = {0};
    int requests = 0;

    (void)state;
    assert_int_equal(run_failing(SC_500_ALWAYS, MNEMO_EMBED_API_OPENAI, 2, 2, &err, &requests),
                     MNEMO_EIO);
    /* One try and two retries. */
    assert_int_equal(requests, 3);
    assert_non_null(strstr(err.msg, "HTTP 500"));
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    assert_non_null(strstr(err.msg, "/v1/embeddings"));
    assert_non_null(strstr(err.msg, "upstream exploded"));
}

static void test_embed_http_slow_server_times_out_within_bound(void **state)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    char url[64];
    float out[FAKE_DIM];
    int64_t t0, el;

    (void)state;
    fake_start(&f, SC_SLEEP);
    f.delay_ms = 3000;
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OPENAI);
    cfg.timeout_ms = 300;
    cfg.max_retries = 0;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    t0 = tu_now_ms();
    assert_int_equal(mnemo_embed_texts(e, TEXTS, 1, out, 0, &err), MNEMO_ETIMEDOUT);
    el = tu_now_ms() - t0;
    print_message("  request timeout after %lld ms: %s\n", (long long)el, err.msg);
    assert_true(el >= 250 && el < 1300);
    assert_non_null(strstr(err.msg, "timed out"));

    /* The caller's deadline wins over a long configured timeout. */
    mnemo_embed_close(e);
    cfg.timeout_ms = 30000;
    cfg.max_retries = 3;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    t0 = tu_now_ms();
    assert_int_equal(mnemo_embed_texts(e, TEXTS, 1, out, mnemo_deadline_in_ms(400), &err),
                     MNEMO_ETIMEDOUT);
    el = tu_now_ms() - t0;
    print_message("  deadline after %lld ms: %s\n", (long long)el, err.msg);
    assert_true(el >= 350 && el < 1400);
    mnemo_embed_close(e);
    fake_stop(&f);
}

static void test_embed_http_invalid_responses_are_clear_errors(void **state)
{
    struct {
        enum scenario sc;
        enum mnemo_embed_api api;
        const char *needle;
    } cases[] = {
        {SC_MALFORMED, MNEMO_EMBED_API_OPENAI, "malformed JSON"},
        {SC_MALFORMED, MNEMO_EMBED_API_OLLAMA, "malformed JSON"},
        {SC_WRONG_DIMS, MNEMO_EMBED_API_OPENAI, "15 dimensions, expected 16"},
        {SC_WRONG_DIMS, MNEMO_EMBED_API_OLLAMA, "15 dimensions, expected 16"},
        {SC_NAN, MNEMO_EMBED_API_OPENAI, "invalid embedding response"},
        {SC_NAN, MNEMO_EMBED_API_OLLAMA, "invalid embedding response"},
        {SC_ZERO, MNEMO_EMBED_API_OLLAMA, "zero vector"},
        {SC_COUNT, MNEMO_EMBED_API_OPENAI, "2 embeddings for 3 inputs"},
        {SC_COUNT, MNEMO_EMBED_API_OLLAMA, "2 embeddings for 3 inputs"},
        {SC_BAD_INDEX, MNEMO_EMBED_API_OPENAI, "appears twice"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mnemo_err err = {0};
        int requests = 0;

        assert_int_equal(run_failing(cases[i].sc, cases[i].api, 3, 3, &err, &requests), MNEMO_EIO);
        assert_non_null(strstr(err.msg, cases[i].needle));
        assert_non_null(strstr(err.msg, "127.0.0.1"));
        /* A server that answers nonsense is not retried. */
        assert_int_equal(requests, 1);
    }
}

static void test_embed_http_api_key_never_appears_in_errors(void **state)
{
    struct mnemo_err err = {0};

    (void)state;
    assert_int_equal(run_failing(SC_ECHO_KEY, MNEMO_EMBED_API_OPENAI, 0, 1, &err, NULL), MNEMO_EIO);
    assert_non_null(strstr(err.msg, "HTTP 401"));
    assert_null(strstr(err.msg, API_KEY));
    assert_null(strstr(err.msg, "SECRETKEY"));
}

static void test_embed_http_oversized_response_is_refused(void **state)
{
    struct mnemo_err err = {0};
    int requests = 0;

    (void)state;
    assert_int_equal(run_failing(SC_HUGE, MNEMO_EMBED_API_OPENAI, 3, 1, &err, &requests),
                     MNEMO_ETOOBIG);
    assert_non_null(strstr(err.msg, "exceeds"));
    assert_int_equal(requests, 1);
}

static void test_embed_http_redirect_is_not_followed(void **state)
{
    struct mnemo_err err = {0};

    (void)state;
    assert_int_equal(run_failing(SC_REDIRECT, MNEMO_EMBED_API_OPENAI, 3, 1, &err, NULL), MNEMO_EIO);
    assert_non_null(strstr(err.msg, "302"));
    assert_non_null(strstr(err.msg, "not followed"));
}

static void test_embed_http_unreachable_server_fails_after_retries(void **state)
{
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    struct fake f;
    char url[64];
    float out[FAKE_DIM];

    (void)state;
    /* A port that was just free: start and stop a fake to learn one. */
    fake_start(&f, SC_OK);
    fake_stop(&f);
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OLLAMA);
    cfg.max_retries = 1;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_int_equal(mnemo_embed_texts(e, TEXTS, 1, out, 0, &err), MNEMO_EIO);
    print_message("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "2 attempts"));
    assert_non_null(strstr(err.msg, "/api/embed"));
    mnemo_embed_close(e);
}

static void test_embed_http_invalid_utf8_text_is_sent_as_valid_json(void **state)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    char url[64];
    const char *bad[] = {"caf\xe9 \xff\xfe", "ok"};
    float out[2 * FAKE_DIM];

    (void)state;
    fake_start(&f, SC_OK);
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OPENAI);
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_int_equal(mnemo_embed_texts(e, bad, 2, out, 0, &err), 0);
    assert_true(f.body_valid_json);
    assert_vectors(bad + 1, 1, out + FAKE_DIM);
    mnemo_embed_close(e);
    fake_stop(&f);
}

static void test_embed_http_rejects_bad_config(void **state)
{
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    const char *urls[] = {"ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1:11434", "",
                          "http://127.0.0.1/?x=1"};

    (void)state;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        mnemo_embed_config_init(&cfg);
        cfg.provider = MNEMO_EMBED_HTTP;
        cfg.base_url = urls[i];
        cfg.model = "m";
        assert_int_equal(mnemo_embed_open(&cfg, &e, &err), MNEMO_EINVAL);
        assert_null(e);
    }
    /* Credentials in the URL are refused without echoing them. */
    cfg.base_url = "http://user:hunter2@127.0.0.1:9/";
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), MNEMO_EINVAL);
    assert_null(strstr(err.msg, "hunter2"));
    cfg.base_url = "http://127.0.0.1:9/";
    cfg.model = NULL;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "model"));
    cfg.model = "m";
    cfg.api_key = "abc\r\nX-Injected: 1";
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), MNEMO_EINVAL);
    cfg.api_key = NULL;
    cfg.batch_size = 0;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "batch_size"));
}

struct worker {
    struct mnemo_embedder *e;
    int rc;
    float out[10 * FAKE_DIM];
};

static void *embed_worker(void *arg)
{
    struct worker *w = arg;
    struct mnemo_err err = {0};

    for (int i = 0; i < 5 && w->rc == 0; i++)
        w->rc = mnemo_embed_texts(w->e, TEXTS, 10, w->out, 0, &err);
    return NULL;
}

static void test_embed_http_concurrent_callers_share_one_embedder(void **state)
{
    struct fake f;
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    struct worker w[4];
    pthread_t th[4];
    char url[64];

    (void)state;
    fake_start(&f, SC_OK);
    http_config(&cfg, &f, url, sizeof(url), MNEMO_EMBED_API_OPENAI);
    cfg.batch_size = 4;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    for (int i = 0; i < 4; i++) {
        w[i].e = e;
        w[i].rc = 0;
        assert_int_equal(pthread_create(&th[i], NULL, embed_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
        assert_vectors(TEXTS, 10, w[i].out);
    }
    /* 4 threads x 5 calls x ceil(10/4) batches. */
    assert_int_equal(fake_requests(&f), 4 * 5 * 3);
    mnemo_embed_close(e);
    fake_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_http_openai_format_sorts_by_index_and_sends_key),
        cmocka_unit_test(test_embed_http_ollama_format),
        cmocka_unit_test(test_embed_http_batches_split_requests_and_keep_order),
        cmocka_unit_test(test_embed_http_probes_dimension_at_open),
        cmocka_unit_test(test_embed_http_configured_dim_mismatch_is_an_error),
        cmocka_unit_test(test_embed_http_retries_429_then_succeeds),
        cmocka_unit_test(test_embed_http_persistent_500_fails_naming_status_and_url),
        cmocka_unit_test(test_embed_http_slow_server_times_out_within_bound),
        cmocka_unit_test(test_embed_http_invalid_responses_are_clear_errors),
        cmocka_unit_test(test_embed_http_api_key_never_appears_in_errors),
        cmocka_unit_test(test_embed_http_oversized_response_is_refused),
        cmocka_unit_test(test_embed_http_redirect_is_not_followed),
        cmocka_unit_test(test_embed_http_unreachable_server_fails_after_retries),
        cmocka_unit_test(test_embed_http_invalid_utf8_text_is_sent_as_valid_json),
        cmocka_unit_test(test_embed_http_rejects_bad_config),
        cmocka_unit_test(test_embed_http_concurrent_callers_share_one_embedder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
