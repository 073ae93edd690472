/*
 * test_service_http_life.c - the worker's HTTP server over time: the Unix socket's life
 * cycle (mode, single owner, stale file), the rate limit, readiness, server-sent events
 * (delivery, departed and stalled readers), metrics and the graceful stop.
 */
#include "testutil.h"

#include "test_service_http_util.h"

#include <fcntl.h>
#include <sys/wait.h>

/* ---- the Unix socket's life cycle ---- */

static void test_http_socket_is_private_and_single(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    assert_int_equal(lstat(f->sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    struct mnemo_http_config cfg = f->cfg;
    cfg.tcp_enabled = 0;
    struct mnemo_err err = {0};
    struct mnemo_http *h = NULL;
    assert_int_equal(mnemo_http_start(&cfg, ROUTES, 1, &h, &err), MNEMO_EEXIST);
    assert_null(h);
    /* The failed start left the live server's socket alone. */
    struct reply r;
    request(f->sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* Connects as uid 65534 in a child process and returns the status line's code (0 on error). */
static int status_as_other_user(const char *sock)
{
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        int code = 0;
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        const char *get = "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        char buf[256] = "";
        if (setgid(65534) == 0 && setuid(65534) == 0 && fd >= 0 &&
            connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
            write(fd, get, strlen(get)) == (ssize_t)strlen(get) &&
            read(fd, buf, sizeof(buf) - 1) > 12)
            code = atoi(buf + 9);
        if (write(pipefd[1], &code, sizeof(code)) != sizeof(code))
            _exit(1);
        _exit(0);
    }
    close(pipefd[1]);
    int code = 0;
    assert_int_equal(read(pipefd[0], &code, sizeof(code)), (ssize_t)sizeof(code));
    close(pipefd[0]);
    waitpid(pid, NULL, 0);
    return code;
}

static void test_http_socket_peer_of_another_uid_is_403(void **state)
{
    struct fixture *f = *state;
    if (geteuid() != 0)
        skip(); /* needs root to act as another user */
    /* Open the file permissions, which normally stop other users first, so that the
     * server's own SO_PEERCRED check is what answers. */
    assert_int_equal(chmod(f->dir.path, 0711), 0);
    assert_int_equal(chmod(f->sock, 0666), 0);
    int code = status_as_other_user(f->sock);
    chmod(f->sock, 0600);
    chmod(f->dir.path, 0700);
    assert_int_equal(code, 403);
}

static void test_http_stale_socket_is_replaced_and_removed_at_stop(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    f.cfg.tcp_enabled = 0;
    /* A socket file nobody listens on, as a killed server leaves behind. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(f.sock) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, f.sock, strlen(f.sock) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    struct mnemo_err err = {0};
    assert_int_equal(mnemo_http_start(&f.cfg, ROUTES, 1, &f.h, &err), 0);
    struct reply r;
    request(f.sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    mnemo_http_stop(f.h, 1000);
    struct stat st;
    assert_int_equal(lstat(f.sock, &st), -1);

    /* A regular file at the path is not a socket to replace. */
    tu_file_write(f.sock, "keep", 4);
    assert_int_equal(mnemo_http_start(&f.cfg, ROUTES, 1, &f.h, &err), MNEMO_EEXIST);
    assert_int_equal(tu_file_size(f.sock), 4);
    tu_dir_remove(&f.dir);
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++) {
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    }
    return n;
}

static void test_http_start_stop_cycles_leak_no_descriptors(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    fx_start(&f);
    struct reply r;
    request(f.sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
    reply_free(&r);
    mnemo_http_stop(f.h, 1000);
    int before = open_fds();
    for (int i = 0; i < 20; i++) {
        fx_start(&f);
        request(f.sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        reply_free(&r);
        request(NULL, f.port, "GET", "/v1/health", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        reply_free(&r);
        mnemo_http_stop(f.h, 1000);
    }
    assert_int_equal(open_fds(), before);
    tu_dir_remove(&f.dir);
}

/* ---- rate limit and readiness ---- */

static void test_http_rate_limit_answers_429_with_retry_after(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    f.cfg.rate_limit = 5; /* burst of 10 */
    fx_start(&f);
    int ok = 0, limited = 0;
    struct reply r;
    for (int i = 0; i < 40 && limited == 0; i++) {
        request(f.sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
        if (r.status == 200) {
            ok++;
        } else {
            assert_int_equal(r.status, 429);
            assert_true(has(&r.hdrs, "Retry-After: "));
            error_of(&r, "MNEMO_EBUSY");
            limited++;
        }
        reply_free(&r);
    }
    assert_int_equal(limited, 1);
    assert_true(ok >= 10);
    mnemo_http_stop(f.h, 1000);
    tu_dir_remove(&f.dir);
}

static void test_http_needs_ready_route_is_503_until_ready(void **state)
{
    struct fixture *f = *state;
    atomic_store(&f->ctx.ready, 0);
    struct reply r;
    request(f->sock, 0, "GET", "/v1/ready", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(error_of(&r, "MNEMO_EBUSY"), "starting");
    reply_free(&r);
    /* Routes without the flag answer meanwhile. */
    request(f->sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    atomic_store(&f->ctx.ready, 1);
    request(f->sock, 0, "GET", "/v1/ready", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* ---- SSE ---- */

struct sse_reader {
    const char *sock;
    pthread_t thread;
    pthread_mutex_t mu;
    struct mnemo_strbuf got;
    atomic_int quit;        /* abort at the next chunk */
    atomic_int quit_on_any; /* abort as soon as anything arrives (a client that leaves) */
    CURLcode rc;
};

static size_t sse_sink(char *p, size_t sz, size_t n, void *ud)
{
    struct sse_reader *s = ud;
    if (atomic_load(&s->quit) || atomic_load(&s->quit_on_any))
        return 0;
    pthread_mutex_lock(&s->mu);
    int rc = mnemo_strbuf_append(&s->got, p, sz * n);
    pthread_mutex_unlock(&s->mu);
    return rc == 0 ? sz * n : 0;
}

static void *sse_main(void *arg)
{
    struct sse_reader *s = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, s->sock);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/stream");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    s->rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    return NULL;
}

static void sse_open(struct sse_reader *s, const char *sock)
{
    memset(s, 0, sizeof(*s));
    s->sock = sock;
    pthread_mutex_init(&s->mu, NULL);
    mnemo_strbuf_init(&s->got, 0);
    assert_int_equal(pthread_create(&s->thread, NULL, sse_main, s), 0);
}

static int sse_has(struct sse_reader *s, const char *needle)
{
    pthread_mutex_lock(&s->mu);
    int yes = strstr(mnemo_strbuf_str(&s->got), needle) != NULL;
    pthread_mutex_unlock(&s->mu);
    return yes;
}

static void sse_close(struct sse_reader *s)
{
    atomic_store(&s->quit, 1);
    pthread_join(s->thread, NULL);
    mnemo_strbuf_release(&s->got);
    pthread_mutex_destroy(&s->mu);
}

/* Waits up to 10 s for cond(h, arg). */
static int wait_for_clients(struct mnemo_http *h, int n)
{
    int64_t end = tu_now_ms() + 10000;
    while (tu_now_ms() < end) {
        if (mnemo_http_sse_clients(h) == n)
            return 1;
        usleep(5000);
    }
    return 0;
}

static void test_http_sse_client_receives_published_event(void **state)
{
    struct fixture *f = *state;
    struct sse_reader s;
    sse_open(&s, f->sock);
    assert_true(wait_for_clients(f->h, 1));
    json_t *data = json_pack("{s:i,s:s}", "id", 7, "title", "line\nbreak");
    assert_int_equal(mnemo_http_publish(f->h, "observation.created", data), 0);
    json_decref(data);
    int64_t end = tu_now_ms() + 10000;
    const char *want =
        "event: observation.created\ndata: {\"id\":7,\"title\":\"line\\nbreak\"}\n\n";
    while (!sse_has(&s, want) && tu_now_ms() < end)
        usleep(5000);
    assert_true(sse_has(&s, want));
    /* Idle streams carry keepalive comments (50 ms in this fixture). */
    end = tu_now_ms() + 10000;
    while (!sse_has(&s, ": keepalive\n\n") && tu_now_ms() < end)
        usleep(5000);
    assert_true(sse_has(&s, ": keepalive\n\n"));
    /* An event name with a line break would forge fields: refused. */
    assert_int_equal(mnemo_http_publish(f->h, "a\nevent: b", json_null()), MNEMO_EINVAL);
    sse_close(&s);
    assert_true(wait_for_clients(f->h, 0));
}

static void test_http_sse_departed_client_does_not_break_others(void **state)
{
    struct fixture *f = *state;
    struct sse_reader stay, leave;
    sse_open(&stay, f->sock);
    sse_open(&leave, f->sock);
    assert_true(wait_for_clients(f->h, 2));
    atomic_store(&leave.quit_on_any, 1);
    json_t *data = json_pack("{s:i}", "n", 1);
    char want[64];
    for (int i = 0; i < 50; i++) {
        json_object_set_new(data, "n", json_integer(i));
        assert_int_equal(mnemo_http_publish(f->h, "queue.status", data), 0);
    }
    /* The departed client is noticed (its next write fails) and unregistered. */
    assert_true(wait_for_clients(f->h, 1));
    pthread_join(leave.thread, NULL);
    for (int i = 50; i < 60; i++) {
        json_object_set_new(data, "n", json_integer(i));
        assert_int_equal(mnemo_http_publish(f->h, "queue.status", data), 0);
    }
    json_decref(data);
    snprintf(want, sizeof(want), "data: {\"n\":59}\n\n");
    int64_t end = tu_now_ms() + 10000;
    while (!sse_has(&stay, want) && tu_now_ms() < end)
        usleep(5000);
    assert_true(sse_has(&stay, want));
    assert_true(sse_has(&stay, "data: {\"n\":0}\n\n"));
    mnemo_strbuf_release(&leave.got);
    pthread_mutex_destroy(&leave.mu);
    sse_close(&stay);
}

static void test_http_sse_stalled_reader_is_dropped_without_blocking_publish(void **state)
{
    struct fixture *f = *state;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, f->sock, strlen(f->sock) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char *get = "GET /v1/stream HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_int_equal(write(fd, get, strlen(get)), (ssize_t)strlen(get));
    assert_true(wait_for_clients(f->h, 1));

    char *pad = malloc(16001);
    assert_non_null(pad);
    memset(pad, 'p', 16000);
    pad[16000] = '\0';
    json_t *data = json_pack("{s:s}", "pad", pad);
    free(pad);
    /* Far more than the socket buffers and the client's queue hold: the reader never reads,
     * yet every publish returns at once and the reader is dropped. */
    int64_t t0 = tu_now_ms();
    for (int i = 0; i < 2 * MNEMO_HTTP_SSE_QUEUE; i++)
        assert_int_equal(mnemo_http_publish(f->h, "queue.status", data), 0);
    assert_true(tu_now_ms() - t0 < 5000);
    json_decref(data);
    assert_int_equal(mnemo_http_sse_clients(f->h), 0);

    /* Once the reader reads again, it gets what was queued and then the end of the stream. */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t total = 0;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        total += (size_t)n;
    assert_int_equal(n, 0); /* the server ended the stream (not our 10 s timeout) */
    close(fd);
    assert_true(total < (size_t)2 * MNEMO_HTTP_SSE_QUEUE * 16000);
}

/* ---- metrics and stop ---- */

static void test_http_metrics_count_requests_and_rejections(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(f->sock, 0, "GET", "/v1/items/1", NULL, NULL, 0, &r);
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", NULL, NULL, 0, &r);
    reply_free(&r);
    request(f->sock, 0, "GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_true(has(&r.hdrs, "Content-Type: text/plain"));
    const char *m = mnemo_strbuf_str(&r.body);
    assert_non_null(strstr(
        m, "mnemo_http_requests_total{route=\"/v1/items/{id}\",method=\"GET\",code=\"200\"} 1\n"));
    assert_non_null(strstr(m, "mnemo_http_request_duration_seconds_bucket{route=\"/v1/items/{id}\","
                              "method=\"GET\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(m, "mnemo_http_rejected_total{reason=\"auth\"} 1\n"));
    assert_non_null(strstr(m, "mnemo_http_sse_clients 0\n"));
    reply_free(&r);
}

struct slow_call {
    const char *sock;
    struct reply r;
};

static void *slow_main(void *arg)
{
    struct slow_call *s = arg;
    request(s->sock, 0, "GET", "/v1/slow", NULL, NULL, 0, &s->r);
    return NULL;
}

static void test_http_stop_lets_in_flight_request_finish(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    fx_start(&f);
    struct slow_call s = {.sock = f.sock};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_main, &s), 0);
    int64_t end = tu_now_ms() + 10000;
    while (!atomic_load(&f.ctx.slow_entered) && tu_now_ms() < end)
        usleep(2000);
    assert_true(atomic_load(&f.ctx.slow_entered));
    struct sse_reader sse;
    sse_open(&sse, f.sock);
    assert_true(wait_for_clients(f.h, 1));
    mnemo_http_stop(f.h, 10000);
    pthread_join(t, NULL);
    assert_int_equal(s.r.status, 200);
    assert_true(has(&s.r.body, "\"slow\":true"));
    reply_free(&s.r);
    /* The stream ended with the server, so its reader returns by itself. */
    pthread_join(sse.thread, NULL);
    mnemo_strbuf_release(&sse.got);
    pthread_mutex_destroy(&sse.mu);
    struct stat st;
    assert_int_equal(lstat(f.sock, &st), -1);
    tu_dir_remove(&f.dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_socket_is_private_and_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_socket_peer_of_another_uid_is_403, setup,
                                        teardown),
        cmocka_unit_test(test_http_stale_socket_is_replaced_and_removed_at_stop),
        cmocka_unit_test(test_http_start_stop_cycles_leak_no_descriptors),
        cmocka_unit_test(test_http_rate_limit_answers_429_with_retry_after),
        cmocka_unit_test_setup_teardown(test_http_needs_ready_route_is_503_until_ready, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_sse_client_receives_published_event, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_sse_departed_client_does_not_break_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_http_sse_stalled_reader_is_dropped_without_blocking_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_metrics_count_requests_and_rejections, setup,
                                        teardown),
        cmocka_unit_test(test_http_stop_lets_in_flight_request_finish),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
