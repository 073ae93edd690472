/*
 * test_service_capture.c - the worker's capture thread on a hand-built worker (real store
 * file, privacy, hash embedder and vector index; no HTTP): events become observations with
 * vectors in the index, a poison event is dead-lettered after three attempts without holding
 * up the rest, secrets in a payload never reach an observation, and an event whose processing
 * failed midway is retried without duplicating what it wrote.
 */
#include "memutil.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "capture/extract.h"
#include "embed/embed.h"
#include "memory/events.h"
#include "memory/obs.h"
#include "memory/privacy.h"
#include "memory/project.h"
#include "memory/prompt.h"
#include "memory/session.h"
#include "search/vindex.h"
#include "service/capture.h"
#include "service/http.h"
#include "util/strbuf.h"
#include "service/worker.h"

#define T0       INT64_C(1790000000000)
#define WAIT_MS  30000 /* generous: the thread polls at least once a second */
#define AWS_KEY  "AKIAIOSFODNN7EXAMPLE"
#define GH_TOKEN "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"

struct fx {
    struct mu_search_fixture *m;
    struct mnemo_worker *w;
    struct mnemo_privacy *priv;
    int64_t sid;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct mnemo_err e = {0};
    struct mnemo_session s;
    void *m = NULL;
    assert_non_null(f);
    mu_search_setup(&m);
    f->m = m;
    assert_int_equal(mnemo_privacy_new(&f->priv, &e), 0);
    f->w = calloc(1, sizeof *f->w);
    assert_non_null(f->w);
    f->w->st = f->m->st;
    f->w->priv = f->priv;
    f->w->emb = f->m->emb;
    f->w->vx = f->m->vx;
    assert_int_equal(
        mnemo_session_start(f->m->st, "claude", "sess-A", "proj", "/nowhere", T0, &s, NULL, &e), 0);
    f->sid = s.id;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    void *m = f->m;
    mnemo_capture_stop(f->w->capture);
    mnemo_privacy_free(f->priv);
    free(f->w);
    free(f);
    return mu_search_teardown(&m);
}

static int count_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    const char *sql = *(const char **)arg;
    int64_t n = 0;
    int rc = mnemo_conn_query_int(c, sql, &n, err);
    *(int64_t *)arg = n;
    return rc;
}

static int64_t q(struct mnemo_store *st, const char *sql)
{
    union {
        const char *sql;
        int64_t n;
    } u = {.sql = sql};
    struct mnemo_err e = {0};
    if (mnemo_store_read(st, "test-count", 5000, count_fn, &u, &e) != 0)
        fail_msg("'%s': %s", sql, e.msg);
    return u.n;
}

static int64_t append(struct fx *f, const char *kind, int64_t sid, const char *payload)
{
    struct mnemo_err e = {0};
    int64_t id = 0;
    if (mnemo_events_append(f->m->st, "claude", sid > 0 ? "sess-A" : NULL, sid, kind, payload, 0,
                            &id, &e) != 0)
        fail_msg("append: %s", e.msg);
    return id;
}

/* Waits until nothing is pending, done + failed reach the counts and the thread finished
 * the done events (one capture thread per test, so its count is every done event). */
static void wait_queue(struct fx *f, int64_t done, int64_t failed)
{
    struct mnemo_events_stats s = {0};
    struct mnemo_err e = {0};
    int64_t until = tu_now_ms() + WAIT_MS;
    while (tu_now_ms() < until) {
        assert_int_equal(mnemo_events_stats(f->m->st, &s, &e), 0);
        struct mnemo_capture_stats cs;
        mnemo_capture_stats(f->w->capture, &cs);
        /* processed counts an event after its vectors and index entries, which follow the
         * commit that marks it done */
        if (s.pending == 0 && s.done == done && s.failed == failed && cs.processed == done)
            return;
        mnemo_capture_kick(f->w->capture);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("queue did not drain: pending %lld done %lld failed %lld (want done %lld failed %lld)",
             (long long)s.pending, (long long)s.done, (long long)s.failed, (long long)done,
             (long long)failed);
}

/* Waits until the thread has counted n dead-lettered events (it counts after the commit). */
static void wait_dead(struct fx *f, int64_t n)
{
    struct mnemo_capture_stats cs = {0};
    int64_t until = tu_now_ms() + WAIT_MS;
    while (tu_now_ms() < until) {
        mnemo_capture_stats(f->w->capture, &cs);
        if (cs.dead_lettered == n)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("dead-lettered %lld, want %lld", (long long)cs.dead_lettered, (long long)n);
}

static void start(struct fx *f)
{
    struct mnemo_err e = {0};
    if (mnemo_capture_start(f->w, &f->w->capture, &e) != 0)
        fail_msg("capture start: %s", e.msg);
}

static void test_service_capture_turns_fifty_events_into_indexed_observations(void **state)
{
    struct fx *f = *state;
    char payload[512];
    for (int i = 0; i < 50; i++) {
        snprintf(payload, sizeof payload,
                 "{\"cwd\":\"/repo\",\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":"
                 "\"/repo/src/file%02d.c\",\"old_string\":\"int a;\",\"new_string\":\"long "
                 "a%d;\"},\"tool_response\":{}}",
                 i, i);
        (void)append(f, "post-tool-use", f->sid, payload);
    }
    (void)append(f, "stop", f->sid,
                 "{\"last_assistant_message\":\"Widened fifty integers to long.\"}");
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_prompt_record(f->m->st, f->sid, "Widen the integers", 0, 0, NULL, &e),
                     0);
    assert_int_equal(mnemo_prompt_record(f->m->st, f->sid, "then commit", 0, 0, NULL, &e), 0);
    start(f);
    mnemo_capture_kick(f->w->capture);
    wait_queue(f, 51, 0);

    assert_int_equal(q(f->m->st, "SELECT count(*) FROM observations WHERE project = 'proj'"
                                 " AND provenance = 'rules' AND type = 'change'"),
                     50);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM observations WHERE title = "
                                 "'Edited src/file07.c' AND session_id IS NOT NULL"),
                     1);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM vectors"), 50);
    assert_int_equal(mnemo_vindex_count(f->m->vx), 50);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM summaries WHERE completed = "
                                 "'Widened fifty integers to long.' AND project = 'proj'"
                                 " AND request = 'Widen the integers'"),
                     1);

    struct mnemo_capture_stats cs;
    mnemo_capture_stats(f->w->capture, &cs);
    assert_int_equal(cs.processed, 51);
    assert_int_equal(cs.observations, 50);
    assert_int_equal(cs.failed_tries, 0);
    assert_true(cs.last_run_ms > 0);
}

static void test_service_capture_dead_letters_a_poison_event_and_goes_on(void **state)
{
    struct fx *f = *state;
    int64_t poison = append(f, "post-tool-use", f->sid, "[\"not an object\"]");
    for (int i = 0; i < 3; i++) {
        char payload[300];
        snprintf(payload, sizeof payload,
                 "{\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"w%d.txt\","
                 "\"content\":\"hello %d\"}}",
                 i, i);
        (void)append(f, "post-tool-use", f->sid, payload);
    }
    start(f);
    wait_queue(f, 3, 1);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM observations"), 3);

    struct mnemo_event *list = NULL;
    size_t n = 0;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_events_list(f->m->st, "failed", 10, &list, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, poison);
    assert_int_equal(list[0].attempts, MNEMO_EVENTS_MAX_ATTEMPTS);
    assert_non_null(strstr(list[0].last_error, "not a JSON object"));
    mnemo_events_list_free(list, n);

    struct mnemo_capture_stats cs;
    wait_dead(f, 1);
    mnemo_capture_stats(f->w->capture, &cs);
    assert_int_equal(cs.failed_tries, MNEMO_EVENTS_MAX_ATTEMPTS);
    assert_int_equal(cs.dead_lettered, 1);
    assert_int_equal(cs.processed, 3);

    /* requeued by hand, it fails again and is dead-lettered again: never silently dropped */
    int64_t requeued = 0;
    assert_int_equal(mnemo_events_retry(f->m->st, poison, &requeued, &e), 0);
    assert_int_equal(requeued, 1);
    mnemo_capture_kick(f->w->capture);
    wait_queue(f, 3, 1);
    wait_dead(f, 2);
    mnemo_capture_stats(f->w->capture, &cs);
    assert_int_equal(cs.failed_tries, 2 * MNEMO_EVENTS_MAX_ATTEMPTS);
}

static void test_service_capture_never_stores_a_secret_from_a_payload(void **state)
{
    struct fx *f = *state;
    (void)append(f, "post-tool-use", f->sid,
                 "{\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":\"cfg.env\","
                 "\"old_string\":\"\",\"new_string\":\"AWS_ACCESS_KEY_ID=" AWS_KEY
                 "\\nTOKEN=" GH_TOKEN "\\n\"}}");
    (void)append(f, "post-tool-use", f->sid,
                 "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"curl -H 'x: " GH_TOKEN
                 "' https://api\"},\"tool_response\":{\"stderr\":\"denied for " AWS_KEY
                 "\",\"exit_code\":22}}");
    (void)append(f, "stop", f->sid, "{\"last_assistant_message\":\"Used " GH_TOKEN " to log in\"}");
    start(f);
    wait_queue(f, 3, 0);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM observations"), 2);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM observations WHERE narrative LIKE "
                                 "'%[REDACTED:%'"),
                     2);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM observations WHERE"
                                 " title || narrative || facts LIKE '%" AWS_KEY "%'"
                                 " OR title || narrative || facts LIKE '%" GH_TOKEN "%'"),
                     0);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM summaries WHERE completed LIKE "
                                 "'%" GH_TOKEN "%'"),
                     0);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM summaries WHERE completed LIKE "
                                 "'%[REDACTED:github_token]%'"),
                     1);
}

static void test_service_capture_finds_the_project_from_the_working_directory(void **state)
{
    struct fx *f = *state;
    struct tu_dir d;
    char payload[1024], project[MNEMO_PROJECT_SIZE], sql[512];
    struct mnemo_err e = {0};
    tu_dir_make(&d);
    assert_int_equal(mnemo_project_identify(d.path, NULL, project, sizeof project, &e), 0);
    snprintf(payload, sizeof payload,
             "{\"cwd\":\"%s\",\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"%s/a.c\","
             "\"content\":\"x\"}}",
             d.path, d.path);
    (void)append(f, "post-tool-use", 0, payload);
    /* no session, no cwd, no project: done, with nothing stored */
    (void)append(f, "post-tool-use", 0,
                 "{\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"b.c\",\"content\":"
                 "\"y\"}}");
    start(f);
    wait_queue(f, 2, 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM observations WHERE project = '%s' AND title = 'Created a.c'",
             project);
    assert_int_equal(q(f->m->st, sql), 1);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM observations"), 1);
    tu_dir_remove(&d);
}

/* ---- server-sent events ------------------------------------------------------------------ */

struct sse_client {
    const char *sock;
    pthread_mutex_t mu;
    struct mnemo_strbuf got;
};

/* Collects the stream; returning 0 ends the transfer once both events have arrived. */
static size_t sse_write(char *p, size_t size, size_t n, void *arg)
{
    struct sse_client *c = arg;
    pthread_mutex_lock(&c->mu);
    int rc = mnemo_strbuf_append(&c->got, p, size * n);
    int enough = rc != 0 || (strstr(c->got.data, "event: observation.created") != NULL &&
                             strstr(c->got.data, "event: queue.status") != NULL);
    pthread_mutex_unlock(&c->mu);
    return enough ? 0 : size * n;
}

static void *sse_main(void *arg)
{
    struct sse_client *c = arg;
    CURL *h = curl_easy_init();
    if (h == NULL)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, "http://localhost/v1/stream");
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    (void)curl_easy_perform(h);
    curl_easy_cleanup(h);
    return NULL;
}

static void test_service_capture_publishes_new_observations_and_queue_status(void **state)
{
    static const struct mnemo_http_route routes[] = {
        {"GET", "/v1/stream", NULL, MNEMO_HTTP_SSE},
    };
    struct fx *f = *state;
    struct mnemo_http_config cfg;
    struct mnemo_err e = {0};
    struct mnemo_http *h = NULL;
    struct sse_client c = {0};
    char sock[300];
    pthread_t th;

    tu_path(&f->m->su.dir, "t.sock", sock, sizeof sock);
    mnemo_http_config_init(&cfg);
    cfg.socket_path = sock;
    cfg.sse_keepalive_ms = 50;
    if (mnemo_http_start(&cfg, routes, 1, &h, &e) != 0)
        fail_msg("http start: %s", e.msg);
    f->w->http = h;
    c.sock = sock;
    pthread_mutex_init(&c.mu, NULL);
    mnemo_strbuf_init(&c.got, 0);
    assert_int_equal(pthread_create(&th, NULL, sse_main, &c), 0);
    int64_t until = tu_now_ms() + WAIT_MS;
    while (mnemo_http_sse_clients(h) < 1 && tu_now_ms() < until) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(mnemo_http_sse_clients(h), 1);

    (void)append(f, "post-tool-use", f->sid,
                 "{\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"sse.c\","
                 "\"content\":\"x\"}}");
    start(f);
    assert_int_equal(pthread_join(th, NULL), 0);
    mnemo_capture_stop(f->w->capture);
    f->w->capture = NULL;
    mnemo_http_stop(h, 1000);
    f->w->http = NULL;

    const char *got = c.got.data ? c.got.data : "";
    static const char head[] = "event: observation.created\ndata: ";
    const char *ev = strstr(got, head);
    if (ev == NULL)
        fail_msg("no observation.created in: %s", got);
    const char *line_end = strchr(ev + sizeof head - 1, '\n');
    assert_non_null(line_end);
    json_t *j =
        json_loadb(ev + sizeof head - 1, (size_t)(line_end - ev - (sizeof head - 1)), 0, NULL);
    assert_non_null(j);
    assert_true(json_integer_value(json_object_get(j, "id")) > 0);
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Created sse.c");
    assert_string_equal(json_string_value(json_object_get(j, "type")), "change");
    assert_string_equal(json_string_value(json_object_get(j, "project")), "proj");
    json_decref(j);
    assert_non_null(
        strstr(got, "event: queue.status\ndata: {\"pending\":0,\"failed\":0,\"done\":1}"));
    mnemo_strbuf_release(&c.got);
    pthread_mutex_destroy(&c.mu);
}

/* ---- crash safety ------------------------------------------------------------------------ */

/*
 * An extractor that, on its first call, returns a summary, a valid draft and a draft the
 * store rejects: the summary is written, then the observations' transaction fails midway and
 * rolls back. The retry returns the same summary and two valid drafts.
 */
struct flaky {
    int calls;
};

static int flaky_draft(struct mnemo_obs *o, const struct mnemo_extract_input *in, const char *type,
                       const char *title)
{
    mnemo_obs_init(o);
    o->project = strdup(in->project);
    o->title = strdup(title);
    o->narrative = strdup("written by the flaky extractor");
    snprintf(o->type, sizeof o->type, "%s", type);
    snprintf(o->provenance, sizeof o->provenance, "llm");
    o->session_id = in->session_id;
    return o->project && o->title && o->narrative ? 0 : MNEMO_ENOMEM;
}

static int flaky_extract(struct mnemo_extractor *x, const struct mnemo_extract_input *in,
                         struct mnemo_extract_output *out, struct mnemo_err *err)
{
    struct flaky *fl = x->state;
    fl->calls++;
    out->has_summary = 1;
    out->completed = strdup("finished the flaky work");
    int rc = out->completed ? 0 : MNEMO_ENOMEM;
    if (rc == 0)
        rc = flaky_draft(&out->obs[0], in, "change", "Flaky draft one");
    out->n_obs = 1;
    if (rc == 0)
        rc = flaky_draft(&out->obs[1], in, fl->calls == 1 ? "bogus" : "change", "Flaky draft two");
    out->n_obs = 2;
    return rc == 0 ? 0 : mnemo_err_set(err, rc, "flaky: out of memory");
}

static void flaky_destroy(struct mnemo_extractor *x)
{
    free(x->state);
    free(x);
}

static const struct mnemo_extractor_ops flaky_ops = {"flaky", flaky_extract, flaky_destroy};

static void test_service_capture_retry_after_a_midway_failure_duplicates_nothing(void **state)
{
    struct fx *f = *state;
    struct mnemo_err e = {0};
    struct mnemo_extractor *x[2] = {NULL, NULL};
    x[0] = calloc(1, sizeof *x[0]);
    assert_non_null(x[0]);
    x[0]->ops = &flaky_ops;
    x[0]->state = calloc(1, sizeof(struct flaky));
    assert_non_null(x[0]->state);
    assert_int_equal(mnemo_extractor_rules_new(&x[1], &e), 0);

    int64_t id = append(f, "stop", f->sid, "{\"last_assistant_message\":\"rules summary\"}");
    if (mnemo_capture_start_with(f->w, x, 2, &f->w->capture, &e) != 0)
        fail_msg("start: %s", e.msg);
    wait_queue(f, 1, 0);

    struct flaky *fl = x[0]->state;
    assert_int_equal(fl->calls, 2);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM observations"), 2);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM observations WHERE title = "
                                 "'Flaky draft one'"),
                     1);
    /* One summary per session (memory/summary.h): the last extractor's text is the one kept. */
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM summaries"), 1);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM summaries WHERE completed = "
                                 "'rules summary'"),
                     1);
    assert_int_equal(q(f->m->st, "SELECT attempts FROM events"), 1);
    assert_int_equal(q(f->m->st, "SELECT count(*) FROM events WHERE last_error LIKE '%bogus%'"
                                 " AND status = 'done'"),
                     1);
    assert_int_equal(mnemo_vindex_count(f->m->vx), 2);
    (void)id;
}

static void test_service_capture_start_needs_a_store_and_privacy(void **state)
{
    struct fx *f = *state;
    struct mnemo_err e = {0};
    struct mnemo_capture *c = (struct mnemo_capture *)&e; /* must be reset to NULL */
    f->w->priv = NULL;
    assert_int_equal(mnemo_capture_start(f->w, &c, &e), MNEMO_EINVAL);
    assert_null(c);
    f->w->priv = f->priv;
    struct mnemo_extractor *none[1] = {NULL};
    assert_int_equal(mnemo_capture_start_with(f->w, none, 1, &c, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_capture_start_with(f->w, none, 0, &c, &e), MNEMO_EINVAL);

    /* start and stop with an empty queue; stop of NULL is a no-op */
    start(f);
    mnemo_capture_kick(f->w->capture);
    mnemo_capture_stop(f->w->capture);
    f->w->capture = NULL;
    mnemo_capture_stop(NULL);
    mnemo_capture_kick(NULL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_service_capture_turns_fifty_events_into_indexed_observations),
        T(test_service_capture_dead_letters_a_poison_event_and_goes_on),
        T(test_service_capture_never_stores_a_secret_from_a_payload),
        T(test_service_capture_finds_the_project_from_the_working_directory),
        T(test_service_capture_publishes_new_observations_and_queue_status),
        T(test_service_capture_retry_after_a_midway_failure_duplicates_nothing),
        T(test_service_capture_start_needs_a_store_and_privacy),
    };
#undef T
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
