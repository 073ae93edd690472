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
