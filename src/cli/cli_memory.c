/*
 * cli_memory.c - helpers shared by the memory commands (add, show, list, search, edit, archive,
 * forget, stats, export, import, reembed): opening the store with the redactor and the
 * embedder, resolving the project, parsing ids and dates, converting observations to and from
 * JSON, and printing them as tables.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/clock.h"

/* Widths of the observation table's columns (in characters). */
#define COL_PROJECT 20
#define COL_TITLE   56

/* ---- opening ------------------------------------------------------------------------------ */

/*
 * The embedder's config from the MNEMO_EMBED_* variables (provider, api, base_url, model,
 * api_key, dim); unset variables keep the defaults, so the offline hash embedder is used
 * unless the user chose another one.
 */
static int embed_open_from_env(struct mnemo_cli *cli, struct mnemo_embedder **out,
                               struct mnemo_err *err)
{
    static const struct {
        const char *env;
        const char *key;
    } vars[] = {
        {"MNEMO_EMBED_PROVIDER", "provider"}, {"MNEMO_EMBED_API", "api"},
        {"MNEMO_EMBED_BASE_URL", "base_url"}, {"MNEMO_EMBED_MODEL", "model"},
        {"MNEMO_EMBED_API_KEY", "api_key"},   {"MNEMO_EMBED_DIM", "dim"},
    };
    struct mnemo_embed_config cfg;

    mnemo_embed_config_init(&cfg);
    cfg.log = cli->log;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i].env);
        if (v == NULL || v[0] == '\0')
            continue;
        int rc = mnemo_embed_config_set(&cfg, vars[i].key, v, err);
        if (rc != 0)
            return rc;
    }
    return mnemo_embed_open(&cfg, out, err);
}

int mnemo__cli_mem_open(struct mnemo_cli *cli, unsigned flags, struct mnemo_cli_mem *m)
{
    struct mnemo_err err;

    memset(m, 0, sizeof *m);
    mnemo_err_clear(&err);
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;
    /* One-shot commands need one connection and checkpoint at close. */
    if (mnemo__cli_store_open(cli, MNEMO_STORE_NO_CHECKPOINTER | MNEMO_STORE_NO_WARMUP, &m->st) !=
        0)
        return MNEMO_CLI_FAIL;
    if (flags & MNEMO_CLI_MEM_PRIVACY) {
        int rc = mnemo_privacy_new(&m->priv, &err);
        if (rc != 0) {
            mnemo__cli_mem_close(cli, m);
            return mnemo__cli_fail_err(NULL, &err, rc);
        }
    }
    if (flags & MNEMO_CLI_MEM_EMBED) {
        int rc = embed_open_from_env(cli, &m->emb, &err);
        if (rc != 0) {
            mnemo__cli_mem_close(cli, m);
            return mnemo__cli_fail("embedder: %s", mnemo_err_text(&err, rc));
        }
    }
    return 0;
}

void mnemo__cli_mem_close(struct mnemo_cli *cli, struct mnemo_cli_mem *m)
{
    mnemo_embed_close(m->emb);
    mnemo_privacy_free(m->priv);
    mnemo__cli_store_close(cli, m->st);
    memset(m, 0, sizeof *m);
}

int mnemo__cli_project(const char *flag, char out[MNEMO_PROJECT_SIZE])
{
    struct mnemo_err err;
    char cwd[PATH_MAX];

    mnemo_err_clear(&err);
    out[0] = '\0';
    if (flag != NULL) {
        int rc = mnemo_project_validate(flag, &err);
        if (rc != 0)
            return mnemo__cli_fail("invalid project: %s", mnemo_err_text(&err, rc));
        snprintf(out, MNEMO_PROJECT_SIZE, "%s", flag);
        return 0;
    }
    if (getcwd(cwd, sizeof cwd) == NULL)
        return mnemo__cli_fail("cannot read the working directory: %s", strerror(errno));
    int rc = mnemo_project_identify(cwd, getenv("MNEMO_PROJECT"), out, MNEMO_PROJECT_SIZE, &err);
    if (rc != 0)
        return mnemo__cli_fail("cannot name the project: %s", mnemo_err_text(&err, rc));
    return 0;
}

/* ---- parsing ----------------------------------------------------------------------------- */

int mnemo__cli_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;

    if (s == NULL || s[0] == '\0' || s[0] == ' ' || s[0] == '+')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int mnemo__cli_parse_id(const char *s, int64_t *out)
{
    if (s != NULL && s[0] == '#')
        s++;
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -1;
    return mnemo__cli_parse_int(s, 1, INT64_MAX, out);
}

int mnemo__cli_parse_since(const char *s, int64_t now_ms, int64_t *out)
{
    int y, mo, d;
    char tail;

    if (s == NULL || s[0] == '\0')
        return -1;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 3 && strlen(s) == 10) {
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31)
            return -1;
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        time_t t = timegm(&tm);
        if (t == (time_t)-1 || tm.tm_mday != d) /* timegm normalises "02-31" into March */
            return -1;
        *out = (int64_t)t * 1000;
        return 0;
    }

    size_t len = strlen(s);
    int64_t unit;
    switch (s[len - 1]) {
    case 'm':
        unit = INT64_C(60) * 1000;
        break;
    case 'h':
        unit = INT64_C(3600) * 1000;
        break;
    case 'd':
        unit = INT64_C(86400) * 1000;
        break;
    case 'w':
        unit = INT64_C(7) * 86400 * 1000;
        break;
    default:
        return -1;
    }
    char num[32];
    if (len < 2 || len - 1 >= sizeof num)
        return -1;
    memcpy(num, s, len - 1);
    num[len - 1] = '\0';
    int64_t n;
    /* 100 years bounds the product well inside int64. */
    if (mnemo__cli_parse_int(num, 0, INT64_C(36500) * 86400 * 1000 / unit, &n) != 0)
        return -1;
    *out = now_ms - n * unit;
    if (*out < 0)
        *out = 0;
    return 0;
}

/* ---- observations in --------------------------------------------------------------------- */

int mnemo__cli_list_push(char ***items, size_t *n, size_t max, const char *s)
{
    if (*n >= max)
        return MNEMO_ETOOBIG;
    char *copy = strdup(s);
    if (copy == NULL)
        return MNEMO_ENOMEM;
    char **grown = realloc(*items, (*n + 1) * sizeof *grown);
    if (grown == NULL) {
        free(copy);
        return MNEMO_ENOMEM;
    }
    grown[(*n)++] = copy;
    *items = grown;
    return 0;
}

/* Replaces the owned string *s (NULL means "") by its cleaned text. */
static int clean_one(const struct mnemo_privacy *priv, char **s, struct mnemo_err *err)
{
    struct mnemo_privacy_result r;

    if (*s == NULL)
        return 0;
    int rc = mnemo_privacy_clean(priv, *s, strlen(*s), &r, err);
    if (rc != 0)
        return rc;
    free(*s);
    *s = r.text;
    return 0;
}

/* Cleans every item of an owned list and drops the items left empty. */
static int clean_list(const struct mnemo_privacy *priv, char **items, size_t *n,
                      struct mnemo_err *err)
{
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        int rc = clean_one(priv, &items[i], err);
        if (rc != 0)
            return rc;
        if (items[i] != NULL && items[i][0] == '\0') {
            free(items[i]);
            items[i] = NULL;
            continue;
        }
        items[kept++] = items[i];
    }
    *n = kept;
    return 0;
}

int mnemo__cli_obs_clean(const struct mnemo_privacy *priv, struct mnemo_obs *o,
                         struct mnemo_err *err)
{
    int rc = clean_one(priv, &o->title, err);
    if (rc == 0)
        rc = clean_one(priv, &o->subtitle, err);
    if (rc == 0)
        rc = clean_one(priv, &o->narrative, err);
    if (rc == 0)
        rc = clean_one(priv, &o->archived_reason, err);
    if (rc == 0)
        rc = clean_list(priv, o->facts, &o->n_facts, err);
    if (rc == 0)
        rc = clean_list(priv, o->concepts, &o->n_concepts, err);
    if (rc == 0)
        rc = clean_list(priv, o->files_read, &o->n_files_read, err);
    if (rc == 0)
        rc = clean_list(priv, o->files_modified, &o->n_files_modified, err);
    return rc;
}

/* Copies j[key] (a string, or absent/null = leave) into the owned *dst. */
static int json_str(const json_t *j, const char *key, char **dst, char *msg, size_t size)
{
    const json_t *v = json_object_get(j, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(msg, size, "field '%s' must be a string", key);
        return -1;
    }
    char *copy = strdup(json_string_value(v));
    if (copy == NULL) {
        snprintf(msg, size, "out of memory");
        return -1;
    }
    free(*dst);
    *dst = copy;
    return 0;
}

/* Copies j[key] into the fixed buffer dst (size bytes); too long is an error naming the value. */
static int json_fixed(const json_t *j, const char *key, char *dst, size_t dsize, char *msg,
                      size_t size)
{
    const json_t *v = json_object_get(j, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(msg, size, "field '%s' must be a string", key);
        return -1;
    }
    const char *s = json_string_value(v);
    if (strlen(s) >= dsize) {
        snprintf(msg, size, "invalid %s '%.40s'", key, s);
        return -1;
    }
    snprintf(dst, dsize, "%s", s);
    return 0;
}

/* Appends the strings of the array j[key] to an owned list. */
static int json_list(const json_t *j, const char *key, char ***items, size_t *n, size_t max,
                     char *msg, size_t size)
{
    const json_t *v = json_object_get(j, key);
    size_t i;
    const json_t *item;

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v)) {
        snprintf(msg, size, "field '%s' must be an array of strings", key);
        return -1;
    }
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item)) {
            snprintf(msg, size, "field '%s' must be an array of strings", key);
            return -1;
        }
        int rc = mnemo__cli_list_push(items, n, max, json_string_value(item));
        if (rc != 0) {
            snprintf(msg, size, "field '%s': %s", key,
                     rc == MNEMO_ETOOBIG ? "too many items" : "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Reads the integer j[key] (absent/null = leave). */
static int json_int(const json_t *j, const char *key, int64_t *dst, char *msg, size_t size)
{
    const json_t *v = json_object_get(j, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *dst = json_is_true(v);
        return 0;
    }
    if (!json_is_integer(v)) {
        snprintf(msg, size, "field '%s' must be an integer", key);
        return -1;
    }
    *dst = (int64_t)json_integer_value(v);
    return 0;
}

int mnemo__cli_obs_from_json(const json_t *j, int import, struct mnemo_obs *o, char *msg,
                             size_t msg_size)
{
    mnemo_obs_init(o);
    if (!json_is_object(j)) {
        snprintf(msg, msg_size, "expected a JSON object");
        return -1;
    }
    if (json_fixed(j, "type", o->type, sizeof o->type, msg, msg_size) != 0 ||
        json_fixed(j, "scope", o->scope, sizeof o->scope, msg, msg_size) != 0 ||
        json_str(j, "project", &o->project, msg, msg_size) != 0 ||
        json_str(j, "title", &o->title, msg, msg_size) != 0 ||
        json_str(j, "subtitle", &o->subtitle, msg, msg_size) != 0 ||
        json_str(j, "narrative", &o->narrative, msg, msg_size) != 0 ||
        json_list(j, "facts", &o->facts, &o->n_facts, MNEMO_OBS_MAX_FACTS, msg, msg_size) != 0 ||
        json_list(j, "concepts", &o->concepts, &o->n_concepts, MNEMO_OBS_MAX_CONCEPTS, msg,
                  msg_size) != 0 ||
        json_list(j, "files_read", &o->files_read, &o->n_files_read, MNEMO_OBS_MAX_FILES, msg,
                  msg_size) != 0 ||
        json_list(j, "files_modified", &o->files_modified, &o->n_files_modified,
                  MNEMO_OBS_MAX_FILES, msg, msg_size) != 0)
        goto fail;
    if (!import)
        return 0;

    int64_t feedback = 0, archived = 0;
    if (json_fixed(j, "uuid", o->uuid, sizeof o->uuid, msg, msg_size) != 0 ||
        json_fixed(j, "provenance", o->provenance, sizeof o->provenance, msg, msg_size) != 0 ||
        json_str(j, "archived_reason", &o->archived_reason, msg, msg_size) != 0 ||
        json_int(j, "feedback", &feedback, msg, msg_size) != 0 ||
        json_int(j, "retrieval_count", &o->retrieval_count, msg, msg_size) != 0 ||
        json_int(j, "last_retrieved_at", &o->last_retrieved_at, msg, msg_size) != 0 ||
        json_int(j, "archived", &archived, msg, msg_size) != 0 ||
        json_int(j, "archived_at", &o->archived_at, msg, msg_size) != 0 ||
        json_int(j, "created_at", &o->created_at, msg, msg_size) != 0 ||
        json_int(j, "updated_at", &o->updated_at, msg, msg_size) != 0)
        goto fail;
    if (feedback < -1 || feedback > 1) {
        snprintf(msg, msg_size, "field 'feedback' must be -1, 0 or 1");
        goto fail;
    }
    o->feedback = (int)feedback;
    o->archived = archived != 0;
    const json_t *mt = json_object_get(j, "file_mtimes");
    if (mt != NULL && !json_is_null(mt)) {
        if (!json_is_object(mt)) {
            snprintf(msg, msg_size, "field 'file_mtimes' must be an object");
            goto fail;
        }
        o->file_mtimes = json_dumps(mt, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (o->file_mtimes == NULL) {
            snprintf(msg, msg_size, "out of memory");
            goto fail;
        }
    }
    return 0;

fail:
    mnemo_obs_release(o);
    return -1;
}

/* ---- observations out -------------------------------------------------------------------- */

static json_t *json_strs(char *const *items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_string(items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* json_string of a possibly NULL string ("" then). */
static json_t *json_s(const char *s)
{
    return json_string(s != NULL ? s : "");
}

json_t *mnemo__cli_obs_to_json(const struct mnemo_obs *o)
{
    json_t *j = json_object();
    if (j == NULL)
        return NULL;

    json_t *mt = NULL;
    if (o->file_mtimes != NULL && o->file_mtimes[0] != '\0')
        mt = json_loads(o->file_mtimes, 0, NULL);
    if (mt == NULL)
        mt = json_object();

    /* The order is the export format's column order: keep it stable. */
    int bad = 0;
    bad |= json_object_set_new(j, "id", json_integer(o->id));
    bad |= json_object_set_new(j, "uuid", json_string(o->uuid));
    bad |= json_object_set_new(j, "project", json_s(o->project));
    bad |= json_object_set_new(j, "scope", json_string(o->scope));
    bad |= json_object_set_new(j, "type", json_string(o->type));
    bad |= json_object_set_new(j, "title", json_s(o->title));
    bad |= json_object_set_new(j, "subtitle", json_s(o->subtitle));
    bad |= json_object_set_new(j, "narrative", json_s(o->narrative));
    bad |= json_object_set_new(j, "facts", json_strs(o->facts, o->n_facts));
    bad |= json_object_set_new(j, "concepts", json_strs(o->concepts, o->n_concepts));
    bad |= json_object_set_new(j, "files_read", json_strs(o->files_read, o->n_files_read));
    bad |=
        json_object_set_new(j, "files_modified", json_strs(o->files_modified, o->n_files_modified));
    bad |= json_object_set_new(j, "file_mtimes", mt);
    bad |= json_object_set_new(j, "provenance", json_string(o->provenance));
    bad |= json_object_set_new(j, "content_hash", json_string(o->content_hash));
    bad |= json_object_set_new(j, "importance", json_real(o->importance));
    bad |= json_object_set_new(j, "feedback", json_integer(o->feedback));
    bad |= json_object_set_new(j, "retrieval_count", json_integer(o->retrieval_count));
    bad |= json_object_set_new(j, "last_retrieved_at", json_integer(o->last_retrieved_at));
    bad |= json_object_set_new(j, "superseded_by", json_integer(o->superseded_by));
    bad |= json_object_set_new(j, "archived", json_boolean(o->archived));
    bad |= json_object_set_new(j, "archived_at", json_integer(o->archived_at));
    bad |= json_object_set_new(j, "archived_reason", json_s(o->archived_reason));
    bad |= json_object_set_new(j, "session_id", json_integer(o->session_id));
    bad |= json_object_set_new(j, "created_at", json_integer(o->created_at));
    bad |= json_object_set_new(j, "updated_at", json_integer(o->updated_at));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int mnemo__cli_print_json(json_t *j)
{
    if (j == NULL)
        return mnemo__cli_fail("out of memory");
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(j);
    if (s == NULL)
        return mnemo__cli_fail("out of memory");
    puts(s);
    free(s);
    return MNEMO_CLI_OK;
}

/*
 * Copies at most max characters of s into buf (size bytes), control characters as spaces, and
 * ends a cut text with "…" so a reader sees it was cut. Returns the characters written.
 */
static size_t cut_text(const char *s, size_t max, char *buf, size_t size)
{
    size_t total = 0;
    for (const char *p = s; *p != '\0'; p++)
        if (((unsigned char)*p & 0xC0) != 0x80)
            total++;

    size_t keep = total <= max ? total : max - 1;
    size_t chars = 0, o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p & 0xC0) != 0x80) {
            if (chars == keep)
                break;
            chars++;
        }
        if (o + 4 >= size)
            break;
        buf[o++] = *p < 0x20 || *p == 0x7F ? ' ' : (char)*p;
    }
    if (total > max && o + 4 < size) {
        memcpy(buf + o, "\xE2\x80\xA6", 3);
        o += 3;
        chars++;
    }
    buf[o] = '\0';
    return chars;
}

/* "YYYY-MM-DD HH:MM" (UTC) of Unix milliseconds. */
static const char *fmt_date(int64_t ms, char *buf, size_t size)
{
    char iso[MNEMO_CLOCK_ISO_LEN];
    mnemo_clock_format_utc(ms, iso, sizeof iso);
    snprintf(buf, size, "%.10s %.5s", iso, iso + 11);
    return buf;
}

void mnemo__cli_obs_table_header(int with_score)
{
    printf("%6s  %-9s  %-16s  %-*s  %s%s\n", "ID", "TYPE", "CREATED", COL_PROJECT, "PROJECT",
           with_score ? "SCORE   " : "", "TITLE");
}

void mnemo__cli_obs_table_row(const struct mnemo_obs *o, int with_score, double score)
{
    char date[32], project[COL_PROJECT * 4 + 8], title[COL_TITLE * 4 + 8], sc[16] = "";
    size_t pw =
        cut_text(o->project != NULL ? o->project : "", COL_PROJECT, project, sizeof project);
    cut_text(o->title != NULL ? o->title : "", COL_TITLE, title, sizeof title);
    if (with_score)
        snprintf(sc, sizeof sc, "%-6.4f  ", score);
    /* Pad by characters, not bytes, so multi-byte names keep the columns aligned. */
    printf("%6lld  %-9s  %s  %s%*s  %s%s%s\n", (long long)o->id, o->type,
           fmt_date(o->created_at, date, sizeof date), project, (int)(COL_PROJECT - pw), "", sc,
           title, o->archived ? "  [archived]" : "");
}

static void print_list(const char *name, char *const *items, size_t n)
{
    if (n == 0)
        return;
    printf("%s:\n", name);
    for (size_t i = 0; i < n; i++)
        printf("  - %s\n", items[i]);
}

void mnemo__cli_obs_print_full(const struct mnemo_obs *o)
{
    char d[MNEMO_CLOCK_ISO_LEN];

    printf("id:          %lld\n", (long long)o->id);
    printf("uuid:        %s\n", o->uuid);
    printf("title:       %s\n", o->title);
    if (o->subtitle != NULL && o->subtitle[0] != '\0')
        printf("subtitle:    %s\n", o->subtitle);
    printf("type:        %s\n", o->type);
    printf("project:     %s\n", o->project);
    printf("scope:       %s\n", o->scope);
    printf("provenance:  %s\n", o->provenance);
    printf("importance:  %.4f\n", o->importance);
    printf("feedback:    %d\n", o->feedback);
    printf("retrieved:   %lld times", (long long)o->retrieval_count);
    if (o->last_retrieved_at > 0)
        printf(", last %s", mnemo_clock_format_utc(o->last_retrieved_at, d, sizeof d));
    putchar('\n');
    printf("created:     %s\n", mnemo_clock_format_utc(o->created_at, d, sizeof d));
    printf("updated:     %s\n", mnemo_clock_format_utc(o->updated_at, d, sizeof d));
    printf("hash:        %s\n", o->content_hash);
    if (o->session_id > 0)
        printf("session:     %lld\n", (long long)o->session_id);
    if (o->superseded_by > 0)
        printf("superseded:  by #%lld\n", (long long)o->superseded_by);
    if (o->archived)
        printf("archived:    %s%s%s\n", mnemo_clock_format_utc(o->archived_at, d, sizeof d),
               o->archived_reason != NULL && o->archived_reason[0] != '\0' ? " - " : "",
               o->archived_reason != NULL ? o->archived_reason : "");
    if (o->narrative != NULL && o->narrative[0] != '\0')
        printf("narrative:\n  %s\n", o->narrative);
    print_list("facts", o->facts, o->n_facts);
    print_list("concepts", o->concepts, o->n_concepts);
    print_list("files read", o->files_read, o->n_files_read);
    print_list("files modified", o->files_modified, o->n_files_modified);
}

/* ---- reading JSON input ------------------------------------------------------------------ */

int mnemo__cli_read_stream(FILE *f, const char *name, size_t max, char **out, size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap + 1);

    *out = NULL;
    *len = 0;
    if (buf == NULL)
        return mnemo__cli_fail("out of memory");
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                return mnemo__cli_fail("%s is larger than %zu bytes", name, max);
            }
            size_t ncap = cap * 2 > max ? max : cap * 2;
            char *grown = realloc(buf, ncap + 1);
            if (grown == NULL) {
                free(buf);
                return mnemo__cli_fail("out of memory");
            }
            buf = grown;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                return mnemo__cli_fail("cannot read %s: %s", name, strerror(e));
            }
            break;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

json_t *mnemo__cli_parse_docs(const char *buf, size_t len, char *msg, size_t msg_size)
{
    json_error_t jerr;
    json_t *whole = json_loadb(buf, len, 0, &jerr);

    if (whole != NULL) {
        if (json_is_array(whole))
            return whole;
        json_t *arr = json_array();
        if (arr == NULL || json_array_append_new(arr, whole) != 0) {
            json_decref(arr);
            snprintf(msg, msg_size, "out of memory");
            return NULL;
        }
        return arr;
    }

    /* Not one document: JSON Lines, one object per non-blank line. */
    json_t *arr = json_array();
    if (arr == NULL) {
        snprintf(msg, msg_size, "out of memory");
        return NULL;
    }
    size_t line = 0, n_docs = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - buf) : len;
        line++;
        size_t s = pos;
        while (s < end && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\r'))
            s++;
        if (s < end) {
            json_t *doc = json_loadb(buf + s, end - s, 0, &jerr);
            if (doc == NULL) {
                snprintf(msg, msg_size, "malformed JSON on line %zu: %s", line, jerr.text);
                json_decref(arr);
                return NULL;
            }
            if (json_array_append_new(arr, doc) != 0) {
                snprintf(msg, msg_size, "out of memory");
                json_decref(arr);
                return NULL;
            }
            n_docs++;
        }
        pos = end + 1;
    }
    if (n_docs == 0) {
        snprintf(msg, msg_size, "no JSON object in the input");
        json_decref(arr);
        return NULL;
    }
    return arr;
}
