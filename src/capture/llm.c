/*
 * llm.c - the LLM extractor (see extract.h): which events go to the model, the daily budget,
 * the slots that bound concurrent children, the fallback that takes every event the model
 * does not, the replay of retried events, and the counters.
 *
 * Locks: fb_mu serialises the fallback (the rules extractor is single-threaded) and the
 * replay slots; mu guards the slots, the budget and the counters. They are never held
 * together, and neither is held while a child runs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/llm_int.h"
#include "capture/rules_int.h"
#include "memory/obs_json.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"

#define DAY_MS     INT64_C(86400000)
#define LLM_REPLAY 4

/* Tools whose calls the model never sees (the original's skip list, plus the reads the
 * fallback turns into files_read). */
static const char *const skip_tools[] = {
    "Read",          "Grep",         "Glob",       "LS",           "ListDir",
    "TodoWrite",     "Task",         "TaskOutput", "KillShell",    "AskUserQuestion",
    "EnterPlanMode", "ExitPlanMode", "Skill",      "SlashCommand",
};

struct llm_replay {
    int64_t event_id; /* 0 = free */
    struct mnemo_extract_output out;
};

struct llm_state {
    char **argv;
    char *tmpl;
    int timeout_ms, max_concurrent;
    int64_t daily_calls, daily_tokens; /* <= 0: no limit */
    struct mnemo_log *log;
    struct mnemo_extractor *fallback;

    pthread_mutex_t fb_mu;
    struct llm_replay replay[LLM_REPLAY];
    size_t replay_next;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC: a slot was freed */
    int running;
    int64_t day;
    int64_t refused_day; /* the day a call was last refused for the budget */
    struct mnemo_llm_stats st;
};

/* Why the model's answer was not used. */
enum outcome { OK = 0, BUDGET, BUSY, FAILED, TIMEOUT, REJECTED };

/* ---- which events ------------------------------------------------------------------------ */

static int wants_llm(const struct mnemo_extract_input *in)
{
    char kind[40];
    size_t n = 0;
    for (const char *p = in->kind ? in->kind : ""; *p != '\0' && n + 1 < sizeof kind; p++)
        if (*p != '-' && *p != '_')
            kind[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    kind[n] = '\0';
    if (strcmp(kind, "posttooluse") != 0 && strcmp(kind, "posttoolusefailure") != 0)
        return 0;
    if (in->project == NULL || in->project[0] == '\0' || !json_is_object(in->payload))
        return 0;
    const char *tool = mnemo__rules_str(in->payload, "tool_name");
    if (tool == NULL || tool[0] == '\0')
        return 0;
    for (size_t i = 0; i < sizeof skip_tools / sizeof skip_tools[0]; i++)
        if (strcmp(tool, skip_tools[i]) == 0)
            return 0;
    return 1;
}

/* ---- budget and slots -------------------------------------------------------------------- */

/* Starts a new day's counters when the UTC day changed (under mu). */
static void roll_day(struct llm_state *s)
{
    int64_t day = mnemo_clock_wall_ms() / DAY_MS;
    if (day != s->day) {
        s->day = day;
        s->st.calls_today = 0;
        s->st.tokens_today = 0;
    }
}

static int budget_spent(struct llm_state *s, int64_t prompt_tokens)
{
    roll_day(s);
    return (s->daily_calls > 0 && s->st.calls_today >= s->daily_calls) ||
           (s->daily_tokens > 0 && s->st.tokens_today + prompt_tokens > s->daily_tokens);
}

/*
 * Takes a slot and charges the call to today's budget. Returns OK, BUDGET (*first_refusal = 1
 * for the day's first) or BUSY (no slot within the timeout).
 */
static enum outcome acquire(struct llm_state *s, int64_t prompt_tokens, int *first_refusal)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += s->timeout_ms / 1000;
    until.tv_nsec += (long)(s->timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    enum outcome r = OK;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (budget_spent(s, prompt_tokens)) {
            s->st.budget_exhausted++;
            *first_refusal = s->refused_day != s->day;
            s->refused_day = s->day;
            r = BUDGET;
            break;
        }
        if (s->running < s->max_concurrent) {
            s->running++;
            s->st.calls_today++;
            s->st.calls++;
            s->st.tokens_today += prompt_tokens;
            break;
        }
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT &&
            s->running >= s->max_concurrent) {
            s->st.busy++;
            r = BUSY;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static void release_slot(struct llm_state *s, int64_t reply_tokens)
{
    pthread_mutex_lock(&s->mu);
    s->running--;
    roll_day(s);
    s->st.tokens_today += reply_tokens;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void count(struct llm_state *s, int64_t *counter)
{
    pthread_mutex_lock(&s->mu);
    (*counter)++;
    pthread_mutex_unlock(&s->mu);
}

/* ---- one call ---------------------------------------------------------------------------- */

/* Copies msg into why, cut at a UTF-8 boundary. */
static void set_why(char *why, size_t size, const char *msg)
{
    size_t n = mnemo_utf8_cut(msg, strnlen(msg, size - 1));
    memcpy(why, msg, n);
    why[n] = '\0';
}

/*
 * Asks the model about in. OK with the drafts in *out (skip: none), or the outcome that
 * says why not, with a one-line reason in why and the child's stderr (malloc'd or NULL) in
 * *errtext. *quiet = 1 when the reason was logged before today (log it at debug).
 */
static enum outcome ask(struct llm_state *s, const struct mnemo_extract_input *in,
                        struct mnemo_extract_output *out, char *why, size_t why_size,
                        char **errtext, int *quiet)
{
    struct mnemo_err e = {0};
    struct llm_run_result res;
    char *prompt = NULL;
    size_t len = 0;
    *errtext = NULL;
    *quiet = 0;
    if (mnemo__llm_render(s->tmpl, in, &prompt, &len, &e) != 0) {
        set_why(why, why_size, e.msg);
        count(s, &s->st.failures);
        return FAILED;
    }
    int first_refusal = 0;
    enum outcome r = acquire(s, (int64_t)len / 4, &first_refusal);
    if (r == BUDGET) {
        /* logged once a day: every event after it would say the same */
        *quiet = !first_refusal;
        snprintf(why, why_size, "daily budget spent");
        free(prompt);
        return r;
    }
    if (r == BUSY) {
        snprintf(why, why_size, "no free slot within %d ms", s->timeout_ms);
        free(prompt);
        return r;
    }
    int rc = mnemo__llm_run(s->argv, prompt, len, s->timeout_ms, LLM_STDOUT_MAX, &res, &e);
    free(prompt);
    release_slot(s, rc == 0 ? (int64_t)res.out_len / 4 : 0);
    if (rc != 0) {
        set_why(why, why_size, e.msg);
        count(s, &s->st.failures);
        return FAILED;
    }
    *errtext = res.errtext;
    res.errtext = NULL;
    if (res.timed_out) {
        snprintf(why, why_size, "timed out after %d ms", s->timeout_ms);
        count(s, &s->st.timeouts);
        r = TIMEOUT;
    } else if (res.oversized) {
        snprintf(why, why_size, "reply larger than %d bytes", LLM_STDOUT_MAX);
        count(s, &s->st.rejected);
        r = REJECTED;
    } else if (!res.exited || res.exit_code != 0) {
        if (res.exited)
            snprintf(why, why_size, "command exited with status %d", res.exit_code);
        else if (res.signal != 0)
            snprintf(why, why_size, "command killed by signal %d", res.signal);
        else /* reaped by someone else (SIGCHLD ignored): no status to trust */
            snprintf(why, why_size, "command's exit status lost");
        count(s, &s->st.failures);
        r = FAILED;
    } else {
        int skipped = 0;
        if (mnemo__llm_parse(res.out, res.out_len, in, out, &skipped, &e) != 0) {
            set_why(why, why_size, e.msg);
            count(s, &s->st.rejected);
            r = REJECTED;
        } else {
            pthread_mutex_lock(&s->mu);
            s->st.successes++;
            s->st.skips += skipped;
            pthread_mutex_unlock(&s->mu);
            r = OK;
        }
    }
    mnemo__llm_run_release(&res);
    return r;
}

/* Adds the files the fallback collected as read to every LLM draft. */
static int merge_reads(struct mnemo_extract_output *llm, const struct mnemo_extract_output *fb)
{
    for (size_t i = 0; i < llm->n_obs; i++) {
        struct mnemo_obs *o = &llm->obs[i];
        for (size_t k = 0; k < fb->n_obs; k++) {
            for (size_t f = 0; f < fb->obs[k].n_files_read; f++) {
                const char *path = fb->obs[k].files_read[f];
                int dup = 0;
                for (size_t j = 0; j < o->n_files_read && !dup; j++)
                    dup = strcmp(o->files_read[j], path) == 0;
                int rc = dup ? 0
                             : mnemo_obs_list_push(&o->files_read, &o->n_files_read,
                                                   MNEMO_OBS_MAX_FILES, path);
                if (rc == MNEMO_ENOMEM)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- replay ------------------------------------------------------------------------------ */

/* Under fb_mu. Returns 1 and fills out when event_id was answered before; < 0 on ENOMEM. */
static int replay_get(struct llm_state *s, int64_t event_id, struct mnemo_extract_output *out)
{
    for (size_t i = 0; event_id > 0 && i < LLM_REPLAY; i++) {
        if (s->replay[i].event_id != event_id)
            continue;
        if (mnemo__rules_output_copy(out, &s->replay[i].out) != 0)
            return MNEMO_ENOMEM;
        memcpy(out->note, s->replay[i].out.note, sizeof out->note);
        return 1;
    }
    return 0;
}

/* Under fb_mu; out of memory only costs the replay. */
static void replay_keep(struct llm_state *s, int64_t event_id,
                        const struct mnemo_extract_output *out)
{
    struct llm_replay *r = &s->replay[s->replay_next];
    if (event_id <= 0)
        return;
    mnemo_extract_output_release(&r->out);
    mnemo_extract_output_init(&r->out);
    r->event_id = 0;
    if (mnemo__rules_output_copy(&r->out, out) != 0) {
        mnemo_extract_output_release(&r->out);
        mnemo_extract_output_init(&r->out);
        return;
    }
    memcpy(r->out.note, out->note, sizeof r->out.note);
    r->event_id = event_id;
    s->replay_next = (s->replay_next + 1) % LLM_REPLAY;
}

/* ---- the extractor ----------------------------------------------------------------------- */

static int llm_extract(struct mnemo_extractor *x, const struct mnemo_extract_input *in,
                       struct mnemo_extract_output *out, struct mnemo_err *err)
{
    struct llm_state *s = x->state;
    struct mnemo_extract_output fb, mine;
    int rc;

    pthread_mutex_lock(&s->fb_mu);
    rc = replay_get(s, in->event_id, out);
    if (rc != 0) {
        pthread_mutex_unlock(&s->fb_mu);
        return rc < 0 ? mnemo_err_set(err, MNEMO_ENOMEM, "llm extractor: out of memory") : 0;
    }
    mnemo_extract_output_init(&fb);
    rc = mnemo_extractor_run(s->fallback, in, &fb, err);
    pthread_mutex_unlock(&s->fb_mu);
    if (rc != 0) {
        mnemo_extract_output_release(&fb);
        return rc;
    }
    if (!wants_llm(in)) {
        *out = fb; /* out is initialised and empty (the interface's contract) */
        return 0;
    }

    char why[200] = "", *errtext = NULL;
    mnemo_extract_output_init(&mine);
    int quiet = 0;
    enum outcome r = ask(s, in, &mine, why, sizeof why, &errtext, &quiet);
    if (r == OK) {
        rc = merge_reads(&mine, &fb);
        mnemo_extract_output_release(&fb);
        if (rc != 0) {
            mnemo_extract_output_release(&mine);
            free(errtext);
            return mnemo_err_set(err, MNEMO_ENOMEM, "llm extractor: out of memory");
        }
        *out = mine;
    } else {
        mnemo_extract_output_release(&mine);
        *out = fb;
        snprintf(out->note, sizeof out->note, "llm: %s; %s output used", why,
                 s->fallback->ops->name ? s->fallback->ops->name : "fallback");
        count(s, &s->st.fallbacks);
        char q1[256], q2[1024];
        mnemo_log_write(s->log,
                        quiet         ? MNEMO_LOG_DEBUG
                        : r == BUDGET ? MNEMO_LOG_INFO
                                      : MNEMO_LOG_WARN,
                        "llm extractor: fell back", "event=%lld reason=%s stderr=%s",
                        (long long)in->event_id, mnemo_log_quote(q1, sizeof q1, why),
                        mnemo_log_quote(q2, sizeof q2, errtext ? errtext : ""));
    }
    free(errtext);
    pthread_mutex_lock(&s->fb_mu);
    replay_keep(s, in->event_id, out);
    pthread_mutex_unlock(&s->fb_mu);
    return 0;
}

static void llm_destroy(struct mnemo_extractor *x)
{
    struct llm_state *s = x->state;
    if (s != NULL) {
        mnemo_extractor_free(s->fallback);
        mnemo__llm_argv_free(s->argv);
        free(s->tmpl);
        for (size_t i = 0; i < LLM_REPLAY; i++)
            mnemo_extract_output_release(&s->replay[i].out);
        pthread_mutex_destroy(&s->fb_mu);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
    }
    free(x);
}

static const struct mnemo_extractor_ops llm_ops = {
    .name = "llm",
    .extract = llm_extract,
    .destroy = llm_destroy,
};

/* The template from path, or NULL (logged) when it cannot be used. */
static char *read_template(const char *path, struct mnemo_log *log)
{
    char q[512];
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(LLM_PROMPT_MAX + 1) : NULL;
    size_t n = buf ? fread(buf, 1, LLM_PROMPT_MAX + 1, f) : 0;
    int bad = f == NULL || buf == NULL || ferror(f) || n == 0 || n > LLM_PROMPT_MAX ||
              memchr(buf, '\0', n) != NULL;
    int e = errno;
    if (f != NULL)
        fclose(f);
    if (bad) {
        free(buf);
        mnemo_log_write(log, MNEMO_LOG_WARN,
                        "llm extractor: prompt template not usable; "
                        "using the built-in copy",
                        "path=%s error=%s", mnemo_log_quote(q, sizeof q, path),
                        f == NULL ? strerror(e) : "empty, too large or binary");
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int state_init(struct llm_state *s)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int crc = pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (crc != 0)
        return -1;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        pthread_cond_destroy(&s->cv);
        return -1;
    }
    if (pthread_mutex_init(&s->fb_mu, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        return -1;
    }
    for (size_t i = 0; i < LLM_REPLAY; i++)
        mnemo_extract_output_init(&s->replay[i].out);
    return 0;
}

int mnemo_extractor_llm_new(const struct mnemo_llm_config *cfg, struct mnemo_extractor *fallback,
                            struct mnemo_extractor **out, struct mnemo_err *err)
{
    static const struct mnemo_llm_config none = {0};
    struct llm_state *s = NULL;
    struct mnemo_extractor *x = NULL;
    char **argv = NULL;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (cfg == NULL)
        cfg = &none;
    if (out == NULL || fallback == NULL) {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "llm extractor: needs a fallback and out");
        goto fail;
    }
    if (cfg->timeout_ms < 0 || cfg->timeout_ms > 3600000 || cfg->max_concurrent < 0 ||
        cfg->max_concurrent > 64) {
        rc = mnemo_err_set(err, MNEMO_EINVAL,
                           "llm extractor: timeout_ms must be 1..3600000 and max_concurrent "
                           "1..64 (0 = default)");
        goto fail;
    }
    const char *cmd = cfg->command && cfg->command[0] ? cfg->command : MNEMO_LLM_DEFAULT_COMMAND;
    rc = mnemo__llm_split(cmd, &argv, err);
    if (rc != 0)
        goto fail;
    x = calloc(1, sizeof *x);
    s = calloc(1, sizeof *s);
    if (x == NULL || s == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "llm extractor: out of memory");
        goto fail;
    }
    if (state_init(s) != 0) {
        free(s);
        s = NULL;
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "llm extractor: cannot create its locks");
        goto fail;
    }
    s->argv = argv;
    s->fallback = fallback;
    s->log = cfg->log;
    s->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : MNEMO_LLM_DEFAULT_TIMEOUT_MS;
    s->max_concurrent =
        cfg->max_concurrent ? cfg->max_concurrent : MNEMO_LLM_DEFAULT_MAX_CONCURRENT;
    s->daily_calls = cfg->daily_calls ? cfg->daily_calls : MNEMO_LLM_DEFAULT_DAILY_CALLS;
    s->daily_tokens = cfg->daily_tokens ? cfg->daily_tokens : MNEMO_LLM_DEFAULT_DAILY_TOKENS;
    s->day = mnemo_clock_wall_ms() / DAY_MS;
    s->refused_day = -1;
    if (cfg->prompt_path != NULL && cfg->prompt_path[0] != '\0')
        s->tmpl = read_template(cfg->prompt_path, cfg->log);
    if (s->tmpl == NULL)
        s->tmpl = strdup(mnemo_extractor_llm_builtin_prompt());
    x->ops = &llm_ops;
    x->state = s;
    if (s->tmpl == NULL) {
        llm_destroy(x); /* frees fallback and argv with it */
        return mnemo_err_set(err, MNEMO_ENOMEM, "llm extractor: out of memory");
    }
    *out = x;
    return 0;
fail:
    free(x);
    free(s);
    mnemo__llm_argv_free(argv);
    mnemo_extractor_free(fallback);
    return rc;
}

void mnemo_extractor_llm_stats(struct mnemo_extractor *x, struct mnemo_llm_stats *out)
{
    memset(out, 0, sizeof *out);
    if (x == NULL || x->ops != &llm_ops || x->state == NULL)
        return;
    struct llm_state *s = x->state;
    pthread_mutex_lock(&s->mu);
    roll_day(s);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}
