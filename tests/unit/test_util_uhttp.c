/*
 * test_util_uhttp.c - the Unix-socket HTTP client against a tiny server thread in the test:
 * the request it sends, answers with and without Content-Length, chunked answers, and every
 * failure it must turn into a code in time (nothing listening, a stale socket file, a server
 * that never answers or never reads, a truncated or malformed answer, a too-large body).
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/uhttp.h"

/* How late after its deadline a call may return (the brief's bound: 20 ms). */
#define LATE_MS 20

enum mode {
    ANSWER,     /* reads the request, sends reply, closes */
    HOLD,       /* reads the request, never answers; ends when the client closes */
    NEVER_READ, /* accepts and reads nothing until the client closes */
};

struct server {
    struct tu_dir dir;
    char path[300];
    int lfd;
    enum mode mode;
    const char *reply; /* ANSWER: sent as is */
    size_t reply_len;  /* 0: strlen(reply) */
    char request[65536];
    size_t request_len;
    pthread_t thread;
    int started;
};

static void addr_of(const char *path, struct sockaddr_un *sa)
{
    size_t n = strlen(path);
    assert_true(n < sizeof sa->sun_path);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, n + 1);
}

static int listen_backlog(const char *path, int backlog)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    addr_of(path, &sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, backlog), 0);
    return fd;
}

static int listen_at(const char *path)
{
    return listen_backlog(path, 4);
}

/* Reads the request: headers and the Content-Length body. */
static void read_request(struct server *s, int c)
{
    size_t want = 0;
    char *he = NULL;
    while (s->request_len < sizeof s->request - 1) {
        ssize_t r = read(c, s->request + s->request_len, sizeof s->request - 1 - s->request_len);
        if (r <= 0)
            return;
        s->request_len += (size_t)r;
        s->request[s->request_len] = '\0';
        if (he == NULL && (he = strstr(s->request, "\r\n\r\n")) != NULL) {
            const char *cl = strstr(s->request, "Content-Length: ");
            want = (size_t)(he + 4 - s->request) + (cl != NULL ? strtoul(cl + 16, NULL, 10) : 0);
        }
        if (he != NULL && s->request_len >= want)
            return;
    }
}

static void drain_until_closed(int c)
{
    char buf[4096];
    while (read(c, buf, sizeof buf) > 0) {
    }
}

static void *serve_one(void *arg)
{
    struct server *s = arg;
    int c = accept(s->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    if (s->mode == NEVER_READ) {
        /* The client gives up at its deadline and closes; only then is anything read. */
        char b;
        struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        usleep(600 * 1000);
        while (read(c, &b, 1) > 0) {
        }
    } else {
        read_request(s, c);
        if (s->mode == ANSWER) {
            size_t n = s->reply_len > 0 ? s->reply_len : strlen(s->reply);
            ssize_t w = write(c, s->reply, n);
            (void)w;
        } else {
            drain_until_closed(c);
        }
    }
    close(c);
    return NULL;
}

static int setup(void **state)
{
    struct server *s = calloc(1, sizeof *s);
    assert_non_null(s);
    tu_dir_make(&s->dir);
    tu_path(&s->dir, "t.sock", s->path, sizeof s->path);
    s->lfd = -1;
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct server *s = *state;
    if (s->started)
        pthread_join(s->thread, NULL);
    if (s->lfd >= 0)
        close(s->lfd);
    tu_dir_remove(&s->dir);
    free(s);
    return 0;
}

static void start(struct server *s, enum mode m, const char *reply)
{
    s->mode = m;
    s->reply = reply;
    s->lfd = listen_at(s->path);
    assert_int_equal(pthread_create(&s->thread, NULL, serve_one, s), 0);
    s->started = 1;
}

static int call(struct server *s, const char *method, const char *path, const char *body,
                int64_t timeout_ms, struct mnemo_uhttp_resp *r, struct mnemo_err *e)
{
    mnemo_err_clear(e);
    return mnemo_uhttp_call(s->path, method, path, body, body != NULL ? strlen(body) : 0,
                            mnemo_deadline_in_ms(timeout_ms), r, e);
}

static void test_uhttp_posts_json_and_reads_a_content_length_answer(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER,
          "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\ncontent-length: 11\r\n\r\n"
          "{\"id\":42}\n\nTRAILING GARBAGE");
    int rc = call(s, "POST", "/v1/hooks/stop", "{\"a\":1}", 2000, &r, &e);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.len, 11);
    assert_string_equal(r.body, "{\"id\":42}\n\n");
    mnemo_uhttp_resp_release(&r);
    pthread_join(s->thread, NULL);
    s->started = 0;
    assert_non_null(strstr(s->request, "POST /v1/hooks/stop HTTP/1.1\r\n"));
    assert_non_null(strstr(s->request, "\r\nHost: localhost\r\n"));
    assert_non_null(strstr(s->request, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(s->request, "\r\nContent-Length: 7\r\n"));
    assert_non_null(strstr(s->request, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(s->request, "\r\n\r\n{\"a\":1}"));
}

static void test_uhttp_reads_to_eof_without_content_length(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER, "HTTP/1.0 404 Not Found\r\nX-A: b\r\n\r\n{\"error\":1}");
    assert_int_equal(call(s, "GET", "/v1/health", NULL, 2000, &r, &e), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"error\":1}");
    mnemo_uhttp_resp_release(&r);
    pthread_join(s->thread, NULL);
    s->started = 0;
    assert_non_null(strstr(s->request, "GET /v1/health HTTP/1.1\r\n"));
    assert_null(strstr(s->request, "Content-Length"));
}

static void test_uhttp_decodes_a_chunked_answer(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER,
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "4\r\n{\"a\"\r\nA;ext=1\r\n:123456789\r\n1\r\n}\r\n0\r\n\r\n");
    assert_int_equal(call(s, "GET", "/x", NULL, 2000, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"a\":123456789}");
    assert_int_equal(r.len, 15);
    mnemo_uhttp_resp_release(&r);
}

static void test_uhttp_empty_body_is_null(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_int_equal(call(s, "POST", "/x", NULL, 2000, &r, &e), 0);
    assert_int_equal(r.status, 204);
    assert_null(r.body);
    assert_int_equal(r.len, 0);
    pthread_join(s->thread, NULL);
    s->started = 0;
    /* A POST without a body still says its length, so the server does not wait for one. */
    assert_non_null(strstr(s->request, "Content-Length: 0\r\n"));
}

static void expect_late_at_most(int64_t t0, int64_t timeout_ms)
{
    int64_t took = tu_now_ms() - t0;
    if (took > timeout_ms + LATE_MS || took < timeout_ms - 1)
        fail_msg("returned after %lld ms for a %lld ms deadline", (long long)took,
                 (long long)timeout_ms);
}

static void test_uhttp_deadline_holds_when_the_server_never_answers(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, HOLD, NULL);
    int64_t t0 = tu_now_ms();
    assert_int_equal(call(s, "POST", "/v1/hooks/x", "{}", 150, &r, &e), MNEMO_ETIMEDOUT);
    expect_late_at_most(t0, 150);
    assert_int_equal(r.status, 0);
    assert_null(r.body);
}

static void test_uhttp_deadline_holds_when_the_server_never_accepts(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    s->lfd = listen_at(s->path); /* listening, but nobody accepts */
    int64_t t0 = tu_now_ms();
    assert_int_equal(call(s, "GET", "/v1/health", NULL, 120, &r, &e), MNEMO_ETIMEDOUT);
    expect_late_at_most(t0, 120);
}

static void test_uhttp_full_backlog_is_retried_until_the_deadline(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    struct sockaddr_un sa;
    addr_of(s->path, &sa);
    s->lfd = listen_backlog(s->path, 0);
    /* Fill the backlog: nobody accepts, so further connections are refused with EAGAIN. */
    int filler[4];
    for (int i = 0; i < 4; i++) {
        filler[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(filler[i] >= 0);
        (void)connect(filler[i], (struct sockaddr *)&sa, sizeof sa);
    }
    int64_t t0 = tu_now_ms();
    assert_int_equal(call(s, "GET", "/v1/health", NULL, 120, &r, &e), MNEMO_ETIMEDOUT);
    expect_late_at_most(t0, 120);
    for (int i = 0; i < 4; i++)
        close(filler[i]);
}

static void test_uhttp_deadline_holds_when_the_server_never_reads(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    size_t n = 8u << 20; /* far more than the socket buffers hold */
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'x', n);
    big[n] = '\0';
    start(s, NEVER_READ, NULL);
    int64_t t0 = tu_now_ms();
    int rc = call(s, "POST", "/x", big, 150, &r, &e);
    free(big);
    assert_int_equal(rc, MNEMO_ETIMEDOUT);
    expect_late_at_most(t0, 150);
}

static void test_uhttp_passed_deadline_fails_at_once(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    mnemo_err_clear(&e);
    assert_int_equal(
        mnemo_uhttp_call(s->path, "GET", "/", NULL, 0, mnemo_clock_mono_ns() - 1, &r, &e),
        MNEMO_ETIMEDOUT);
}

static void test_uhttp_missing_socket_is_closed(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    int64_t t0 = tu_now_ms();
    assert_int_equal(call(s, "GET", "/v1/health", NULL, 1000, &r, &e), MNEMO_ECLOSED);
    assert_true(tu_now_ms() - t0 < 100);
    assert_non_null(strstr(e.msg, s->path));
}

static void test_uhttp_stale_socket_file_is_closed(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    int fd = listen_at(s->path);
    close(fd); /* the file stays, as after a worker killed with SIGKILL */
    assert_true(tu_file_size(s->path) >= 0);
    assert_int_equal(call(s, "GET", "/v1/health", NULL, 1000, &r, &e), MNEMO_ECLOSED);
}

static void test_uhttp_truncated_answer_is_eio(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"context\":\"");
    assert_int_equal(call(s, "GET", "/", NULL, 2000, &r, &e), MNEMO_EIO);
    assert_non_null(strstr(e.msg, "truncated"));
    assert_null(r.body);
}

static void test_uhttp_truncated_headers_are_eio(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER, "HTTP/1.1 200 OK\r\nContent-Le");
    assert_int_equal(call(s, "GET", "/", NULL, 2000, &r, &e), MNEMO_EIO);
}

static void test_uhttp_close_without_answer_is_eio(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER, "");
    assert_int_equal(call(s, "GET", "/", NULL, 2000, &r, &e), MNEMO_EIO);
}

static void test_uhttp_malformed_status_line_is_eio(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER, "SSH-2.0-OpenSSH\r\n\r\n");
    assert_int_equal(call(s, "GET", "/", NULL, 2000, &r, &e), MNEMO_EIO);
}

static void test_uhttp_bad_content_length_is_eio(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n{}");
    assert_int_equal(call(s, "GET", "/", NULL, 2000, &r, &e), MNEMO_EIO);
}

static void test_uhttp_body_over_the_cap_is_toobig(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    start(s, ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n{}");
    assert_int_equal(call(s, "GET", "/", NULL, 2000, &r, &e), MNEMO_ETOOBIG);
}

static void test_uhttp_rejects_a_bad_request_line(void **state)
{
    struct server *s = *state;
    struct mnemo_uhttp_resp r;
    struct mnemo_err e;
    assert_int_equal(call(s, "GET", "no-slash", NULL, 1000, &r, &e), MNEMO_EINVAL);
    assert_int_equal(call(s, "GET", "/a b", NULL, 1000, &r, &e), MNEMO_EINVAL);
    assert_int_equal(call(s, "GET\r\n", "/", NULL, 1000, &r, &e), MNEMO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_uhttp_posts_json_and_reads_a_content_length_answer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_reads_to_eof_without_content_length, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_decodes_a_chunked_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_empty_body_is_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_deadline_holds_when_the_server_never_answers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_deadline_holds_when_the_server_never_accepts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_full_backlog_is_retried_until_the_deadline,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_deadline_holds_when_the_server_never_reads,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_passed_deadline_fails_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_missing_socket_is_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_stale_socket_file_is_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_truncated_answer_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_truncated_headers_are_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_close_without_answer_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_malformed_status_line_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_bad_content_length_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_body_over_the_cap_is_toobig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uhttp_rejects_a_bad_request_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
