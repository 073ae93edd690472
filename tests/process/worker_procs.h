/*
 * worker_procs.h - helpers of the worker's process tests (tests/process/test_worker_*.c): a
 * fixture with a fresh MNEMO_HOME, starting `mnemo serve` as a child with its output in a file,
 * HTTP over the worker's socket or TCP with libcurl, waiting for readiness and exit, and the
 * checks of a clean stop. Header-only (static inline) because CMake builds each process test
 * from its one source file; include it first, instead of cliutil.h.
 * Thread-safety: for the test's main thread.
 */
#ifndef MNEMO_TESTS_WORKER_PROCS_H
#define MNEMO_TESTS_WORKER_PROCS_H

#include "cliutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "service/worker.h"

extern char **environ;

/* Generous deadlines: a loaded CI machine under ASan is slow, but a hang must still end. */
#define READY_WAIT_MS 30000
#define EXIT_WAIT_MS  20000

struct fixture {
    struct tu_dir dir;
    char home[512];
    char sock[600];
    char db[600];
    char wal[600];
    char pidfile[600];
    char lockfile[600];
    char token[600];
    char out[600]; /* a foreground worker's stdout and stderr */
    char home_env[600];
    char *env[4];
    pid_t child; /* a foreground worker started by the test; 0 when none */
};

static inline int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "home", f->home, sizeof f->home);
    snprintf(f->sock, sizeof f->sock, "%s/mnemo.sock", f->home);
    snprintf(f->db, sizeof f->db, "%s/mnemo.db", f->home);
    snprintf(f->wal, sizeof f->wal, "%s/mnemo.db-wal", f->home);
    snprintf(f->pidfile, sizeof f->pidfile, "%s/worker.pid", f->home);
    snprintf(f->lockfile, sizeof f->lockfile, "%s/worker.lock", f->home);
    snprintf(f->token, sizeof f->token, "%s/token", f->home);
    tu_path(&f->dir, "worker.out", f->out, sizeof f->out);
    snprintf(f->home_env, sizeof f->home_env, "MNEMO_HOME=%s", f->home);
    f->env[0] = f->home_env;
    /* Never the developer's port 37777: tests that want TCP ask for a free port. */
    f->env[1] = (char *)"MNEMO_TCP_LISTEN=off";
    f->env[2] = (char *)"MNEMO_LOG_LEVEL=info";
    f->env[3] = NULL;
    *state = f;
    return 0;
}

/* Runs mnemo with the NULL-terminated arguments that follow, in f's environment. */
static inline struct cu_result run(struct fixture *f, ...)
{
    va_list ap;
    va_start(ap, f);
    struct cu_result r = cu_run_va(f->env, NULL, ap);
    va_end(ap);
    return r;
}

/* The pid in the worker's pid file, 0 when there is none. */
static inline pid_t pid_file(struct fixture *f)
{
    char *text = tu_file_read(f->pidfile, 64, NULL);
    if (text == NULL)
        return 0;
    pid_t pid = (pid_t)strtol(text, NULL, 10);
    free(text);
    return pid;
}

/* Waits for pid (a child of the test) to exit; returns its exit status, or -1 on timeout. */
static inline int wait_child(pid_t pid, int64_t timeout_ms)
{
    int64_t end = tu_now_ms() + timeout_ms;
    for (;;) {
        int status = 0;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (got < 0 && errno != EINTR)
            fail_msg("waitpid(%ld): %s", (long)pid, strerror(errno));
        if (tu_now_ms() > end)
            return -1;
        usleep(10000);
    }
}

static inline int teardown(void **state)
{
    struct fixture *f = *state;
    /* A test that failed half-way must not leave a worker behind. */
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        wait_child(f->child, EXIT_WAIT_MS);
    }
    /* Only a pid that holds the lock is a worker: a stale pid file may name anybody. */
    pid_t daemon = 0;
    if (mnemo_worker_running_pid(f->home, &daemon, NULL) == 0 && daemon > 0)
        kill(daemon, SIGKILL);
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

/* Starts `mnemo <args>` as a child with stdout and stderr in f->out; returns its pid. */
static inline pid_t spawn(struct fixture *f, ...)
{
    char *argv[CU_MAX_ARGS + 2];
    int n = 0;
    va_list ap;

    argv[n++] = (char *)tu_mnemo_bin();
    va_start(ap, f);
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
        assert_true(n <= CU_MAX_ARGS);
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n] = NULL;

    size_t ne = 0;
    while (environ[ne] != NULL)
        ne++;
    char **env = calloc(ne + 4, sizeof *env);
    assert_non_null(env);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "MNEMO_", 6) != 0)
            env[k++] = environ[i];
    for (size_t i = 0; f->env[i] != NULL; i++)
        env[k++] = f->env[i];
    env[k] = NULL;

    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0),
                     0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, f->out,
                                                      O_WRONLY | O_CREAT | O_APPEND, 0600),
                     0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO), 0);
    pid_t pid = 0;
    int e = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (e != 0)
        fail_msg("cannot run %s: %s", argv[0], strerror(e));
    return pid;
}

static inline size_t collect(char *data, size_t size, size_t n, void *userdata)
{
    struct mnemo_strbuf *sb = userdata;
    return mnemo_strbuf_append(sb, data, size * n) == 0 ? size * n : 0;
}

/*
 * One request over the socket (sock non-NULL) or TCP: method "GET" or "POST" (json_body, may
 * be NULL, sent as application/json). Returns the HTTP status (0 when nothing answered) and
 * the body in *body (malloc'd, may be NULL).
 */
static inline long http_request(const char *sock, const char *method, const char *url,
                                const char *json_body, char **body)
{
    struct mnemo_strbuf sb;
    struct curl_slist *headers = NULL;
    long code = 0;

    mnemo_strbuf_init(&sb, 1 << 20);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    if (sock != NULL)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
    if (strcmp(method, "POST") == 0) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        assert_non_null(headers);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body != NULL ? json_body : "");
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    if (body != NULL)
        *body = code != 0 ? mnemo_strbuf_detach(&sb) : NULL;
    mnemo_strbuf_release(&sb);
    return code;
}

static inline long http_get(const char *sock, const char *url, char **body)
{
    return http_request(sock, "GET", url, NULL, body);
}

/* True when /v1/health over the socket says ready. */
static inline int health_ready(struct fixture *f)
{
    char *body = NULL;
    long code = http_get(f->sock, "http://localhost/v1/health", &body);
    int ready = 0;
    if (code == 200 && body != NULL) {
        json_t *j = json_loads(body, 0, NULL);
        const char *status = j != NULL ? json_string_value(json_object_get(j, "status")) : NULL;
        ready = json_is_true(json_object_get(j, "ready")) && status != NULL &&
                strcmp(status, "ready") == 0;
        json_decref(j);
    }
    free(body);
    return ready;
}

/* Waits until the worker answers ready; returns how long it took (ms). Fails on timeout. */
static inline int64_t wait_ready(struct fixture *f, int64_t t0)
{
    for (;;) {
        if (health_ready(f))
            return tu_now_ms() - t0;
        if (f->child > 0) {
            int status = 0;
            if (waitpid(f->child, &status, WNOHANG) == f->child) {
                f->child = 0;
                char *out = tu_file_read(f->out, 1 << 20, NULL);
                fail_msg("the worker exited during start-up:\n%s", out ? out : "");
            }
        }
        if (tu_now_ms() - t0 > READY_WAIT_MS) {
            char *out = tu_file_read(f->out, 1 << 20, NULL);
            fail_msg("the worker was not ready within %d ms:\n%s", READY_WAIT_MS, out ? out : "");
        }
        usleep(5000);
    }
}

/* Starts a foreground worker and waits until it is ready; returns start-to-ready ms. */
static inline int64_t serve(struct fixture *f)
{
    int64_t t0 = tu_now_ms();
    f->child = spawn(f, "serve", NULL);
    return wait_ready(f, t0);
}

/*
 * Fails the test with msg, after printing the worker's whole output on stderr (cmocka's own
 * message buffer would cut a sanitizer report short).
 */
static inline void fail_worker(struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void fail_worker(struct fixture *f, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *out = tu_file_read(f->out, 1 << 20, NULL);
    fprintf(stderr, "---- worker output (%s):\n%s\n---- end of worker output\n", f->out,
            out != NULL ? out : "(none)");
    free(out);
    fail_msg("%s", msg);
}

/* SIGTERM to the foreground worker; asserts it exits 0 in time. */
static inline void stop_child(struct fixture *f)
{
    assert_int_equal(kill(f->child, SIGTERM), 0);
    int status = wait_child(f->child, EXIT_WAIT_MS);
    if (status >= 0)
        f->child = 0; /* reaped: teardown must not wait for it again */
    if (status != 0)
        fail_worker(f, "the worker exited with %d after SIGTERM", status);
}

static inline mode_t mode_of(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        fail_msg("cannot stat '%s': %s", path, strerror(errno));
    return sb.st_mode & 07777;
}

/* What a clean stop leaves: the database, but no -wal, no socket and no pid file. */
static inline void expect_clean_stop(struct fixture *f)
{
    assert_true(tu_file_size(f->db) > 0);
    if (tu_file_size(f->wal) >= 0)
        fail_msg("'%s' remains after a clean stop (%lld bytes)", f->wal,
                 (long long)tu_file_size(f->wal));
    assert_int_equal(tu_file_size(f->sock), -1);
    assert_int_equal(tu_file_size(f->pidfile), -1);
}

static inline int file_contains(const char *path, const char *needle)
{
    char *text = tu_file_read(path, 16 << 20, NULL);
    int found = text != NULL && strstr(text, needle) != NULL;
    free(text);
    return found;
}

#endif
