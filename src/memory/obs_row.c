/*
 * obs_row.c - the pure parts of observations: validation, the scope rule, the content hash,
 * UUIDs, JSON list columns and reading a row into a struct mnemo_obs.
 */
#define XXH_STATIC_LINKING_ONLY
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>
#include <xxhash.h>

#include "memory/obs_int.h"

/* ---- lifecycle of the structs ---------------------------------------------------------------- */

void mnemo_obs_init(struct mnemo_obs *o)
{
    memset(o, 0, sizeof *o);
}

static void free_list(char **items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

void mnemo_obs_release(struct mnemo_obs *o)
{
    if (!o)
        return;
    free(o->project);
    free(o->title);
    free(o->subtitle);
    free(o->narrative);
    free_list(o->facts, o->n_facts);
    free_list(o->concepts, o->n_concepts);
    free_list(o->files_read, o->n_files_read);
    free_list(o->files_modified, o->n_files_modified);
    free(o->file_mtimes);
    free(o->archived_reason);
    memset(o, 0, sizeof *o);
}

void mnemo_obs_list_release(struct mnemo_obs_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        mnemo_obs_release(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* ---- enums and the scope rule ---------------------------------------------------------------- */

static int in_set(const char *s, const char *const *set, size_t n)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return 1;
    return 0;
}

static const char *const obs_types[] = {"decision", "bugfix",    "feature",
                                        "refactor", "discovery", "change"};
static const char *const obs_scopes[] = {"project", "global"};
static const char *const obs_provenances[] = {"rules", "llm", "agent", "user", "import"};

int mnemo_obs_type_valid(const char *s)
{
    return in_set(s, obs_types, sizeof obs_types / sizeof obs_types[0]);
}

int mnemo_obs_scope_valid(const char *s)
{
    return in_set(s, obs_scopes, sizeof obs_scopes / sizeof obs_scopes[0]);
}

int mnemo_obs_provenance_valid(const char *s)
{
    return in_set(s, obs_provenances, sizeof obs_provenances / sizeof obs_provenances[0]);
}

const char *mnemo_obs_scope_rule(const char *const *concepts, size_t n_concepts,
                                 size_t n_files_read, size_t n_files_modified)
{
    /* A note that names project files is about this project, whatever it is tagged with. */
    if (n_files_read > 0 || n_files_modified > 0 || !concepts)
        return "project";
    for (size_t i = 0; i < n_concepts; i++)
        if (concepts[i] &&
            (strcmp(concepts[i], "best-practice") == 0 || strcmp(concepts[i], "anti-pattern") == 0))
            return "global";
    return "project";
}

const char *mnemo__obs_effective_scope(const struct mnemo_obs *in)
{
    if (in->scope[0])
        return mnemo_obs_scope_valid(in->scope) ? (in->scope[0] == 'g' ? "global" : "project")
                                                : "project";
    return mnemo_obs_scope_rule((const char *const *)in->concepts, in->n_concepts, in->n_files_read,
                                in->n_files_modified);
}

/* ---- content hash and UUIDs ------------------------------------------------------------------ */

struct hash_sink {
    XXH3_state_t *state;
    char buf[256];
    size_t len;
};

static void sink_put(struct hash_sink *s, char c)
{
    s->buf[s->len++] = c;
    if (s->len == sizeof s->buf) {
        (void)XXH3_64bits_update(s->state, s->buf, s->len);
        s->len = 0;
    }
}

/* Feeds s lower-cased with whitespace runs collapsed and the ends trimmed, then a newline. */
static void sink_field(struct hash_sink *s, const char *text)
{
    int pending_space = 0, started = 0;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (isspace(*p) || *p < 0x20 || *p == 0x7f) {
            pending_space = started;
            continue;
        }
        if (pending_space)
            sink_put(s, ' ');
        pending_space = 0;
        started = 1;
        sink_put(s, (char)((*p < 0x80) ? tolower(*p) : *p));
    }
    sink_put(s, '\n');
}

void mnemo_obs_content_hash(const char *title, const char *narrative, const char *const *facts,
                            size_t n_facts, char out[MNEMO_OBS_HASH_LEN + 1])
{
    XXH3_state_t state;
    struct hash_sink s = {.state = &state, .len = 0};
    (void)XXH3_64bits_reset(&state);
    sink_field(&s, title);
    sink_field(&s, narrative);
    for (size_t i = 0; facts && i < n_facts; i++)
        sink_field(&s, facts[i]);
    if (s.len)
        (void)XXH3_64bits_update(&state, s.buf, s.len);
    snprintf(out, MNEMO_OBS_HASH_LEN + 1, "%016llx",
             (unsigned long long)XXH3_64bits_digest(&state));
}

int mnemo_obs_uuid4(char out[MNEMO_OBS_UUID_LEN + 1], struct mnemo_err *err)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return mnemo_err_set(err, MNEMO_EIO, "cannot generate a uuid: getrandom: %s",
                                 strerror(errno));
        got += (size_t)r;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, MNEMO_OBS_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

static int uuid_well_formed(const char *u)
{
    if (strnlen(u, MNEMO_OBS_UUID_LEN + 1) != MNEMO_OBS_UUID_LEN)
        return 0;
    for (int i = 0; i < MNEMO_OBS_UUID_LEN; i++) {
        int dash = (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash ? u[i] != '-' : !isxdigit((unsigned char)u[i]))
            return 0;
    }
    return 1;
}

/* ---- validation ------------------------------------------------------------------------------ */

/* 1 when s is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int n;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        p++;
        for (int i = 0; i < n; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (*p & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
    }
    return 1;
}

static int check_text(const char *field, const char *s, size_t max, int required,
                      struct mnemo_err *err)
{
    if (!s || !*s) {
        if (required)
            return mnemo_err_set(err, MNEMO_EINVAL, "observation %s is required", field);
        return 0;
    }
    size_t len = strnlen(s, max + 1);
    if (len > max)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "observation %s is longer than %zu bytes", field,
                             max);
    if (!utf8_valid(s))
        return mnemo_err_set(err, MNEMO_EINVAL, "observation %s is not valid UTF-8", field);
    return 0;
}

static int check_list(const char *field, char *const *items, size_t n, size_t max_n, size_t max_len,
                      struct mnemo_err *err)
{
    if (n > max_n)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "observation %s has %zu items (at most %zu)",
                             field, n, max_n);
    if (n > 0 && !items)
        return mnemo_err_set(err, MNEMO_EINVAL, "observation %s: %zu items but no array", field, n);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s[%zu]", field, i);
        int rc = check_text(name, items[i], max_len, 1, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Checks a fixed-size enum field: NUL-terminated, and empty only when allowed. */
static int check_enum(const char *field, const char *s, size_t size, int allow_empty,
                      int (*valid)(const char *), struct mnemo_err *err)
{
    if (strnlen(s, size) == size)
        return mnemo_err_set(err, MNEMO_EINVAL, "observation %s is not terminated", field);
    if (!*s && allow_empty)
        return 0;
    if (!valid(s))
        return mnemo_err_set(err, MNEMO_EINVAL, "observation %s '%s' is not valid", field, s);
    return 0;
}

int mnemo__obs_validate(const struct mnemo_obs *in, int for_import, struct mnemo_err *err)
{
    int rc;
    if (!in)
        return mnemo_err_set(err, MNEMO_EINVAL, "no observation given");
    if ((rc = check_text("project", in->project, MNEMO_OBS_MAX_PROJECT, 1, err)) != 0 ||
        (rc = check_enum("type", in->type, sizeof in->type, 0, mnemo_obs_type_valid, err)) != 0 ||
        (rc = check_enum("scope", in->scope, sizeof in->scope, 1, mnemo_obs_scope_valid, err)) !=
            0 ||
        (rc = check_enum("provenance", in->provenance, sizeof in->provenance, 1,
                         mnemo_obs_provenance_valid, err)) != 0 ||
        (rc = check_text("title", in->title, MNEMO_OBS_MAX_TITLE, 1, err)) != 0 ||
        (rc = check_text("subtitle", in->subtitle, MNEMO_OBS_MAX_SUBTITLE, 0, err)) != 0 ||
        (rc = check_text("narrative", in->narrative, MNEMO_OBS_MAX_NARRATIVE, 0, err)) != 0 ||
        (rc = check_list("facts", in->facts, in->n_facts, MNEMO_OBS_MAX_FACTS, MNEMO_OBS_MAX_FACT,
                         err)) != 0 ||
        (rc = check_list("concepts", in->concepts, in->n_concepts, MNEMO_OBS_MAX_CONCEPTS,
                         MNEMO_OBS_MAX_CONCEPT, err)) != 0 ||
        (rc = check_list("files_read", in->files_read, in->n_files_read, MNEMO_OBS_MAX_FILES,
                         MNEMO_OBS_MAX_FILE, err)) != 0 ||
        (rc = check_list("files_modified", in->files_modified, in->n_files_modified,
                         MNEMO_OBS_MAX_FILES, MNEMO_OBS_MAX_FILE, err)) != 0 ||
        (rc = check_text("file_mtimes", in->file_mtimes, MNEMO_OBS_MAX_FILE_MTIMES, 0, err)) != 0 ||
        (rc = check_text("archived_reason", in->archived_reason, MNEMO_OBS_MAX_REASON, 0, err)) !=
            0)
        return rc;
    if (strnlen(in->uuid, sizeof in->uuid) == sizeof in->uuid ||
        (in->uuid[0] && !uuid_well_formed(in->uuid)))
        return mnemo_err_set(err, MNEMO_EINVAL, "observation uuid is not a well-formed UUID");
    if (in->file_mtimes && in->file_mtimes[0]) {
        json_t *j = json_loads(in->file_mtimes, JSON_REJECT_DUPLICATES, NULL);
        int ok = j && json_is_object(j);
        json_decref(j);
        if (!ok)
            return mnemo_err_set(err, MNEMO_EINVAL, "observation file_mtimes is not a JSON object");
    }
    if (in->feedback < -1 || in->feedback > 1)
        return mnemo_err_set(err, MNEMO_EINVAL, "observation feedback %d is not -1, 0 or 1",
                             in->feedback);
    if (in->session_id < 0 || in->retrieval_count < 0 || in->created_at < 0 || in->updated_at < 0 ||
        in->last_retrieved_at < 0 || in->archived_at < 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "observation ids, counts and times must be >= 0");
    if (for_import && in->archived != 0 && in->archived != 1)
        return mnemo_err_set(err, MNEMO_EINVAL, "observation archived must be 0 or 1");
    return 0;
}

int mnemo_obs_validate(const struct mnemo_obs *in, struct mnemo_err *err)
{
    return mnemo__obs_validate(in, 0, err);
}

/* ---- JSON list columns ----------------------------------------------------------------------- */

int mnemo__obs_json_array(char *const *items, size_t n, char **out, struct mnemo_err *err)
{
    *out = NULL;
    json_t *arr = json_array();
    if (!arr)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory building a JSON list");
    for (size_t i = 0; i < n; i++) {
        /* FTS reads the raw JSON, so an escaped control character (\n) would glue words together
         * in the index; items are one line each anyway. */
        char *copy = strdup(items[i]);
        if (!copy)
            goto oom;
        for (char *p = copy; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
        json_t *s = json_string(copy);
        free(copy);
        if (!s || json_array_append_new(arr, s) != 0)
            goto oom;
    }
    *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (!*out)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory building a JSON list");
    return 0;
oom:
    json_decref(arr);
    return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory building a JSON list");
}

static int parse_list(const char *field, const unsigned char *text, int len, char ***items,
                      size_t *n, struct mnemo_err *err)
{
    *items = NULL;
    *n = 0;
    if (!text || len <= 0)
        return 0;
    json_t *arr = json_loadb((const char *)text, (size_t)len, 0, NULL);
    if (!arr || !json_is_array(arr)) {
        json_decref(arr);
        return mnemo_err_set(err, MNEMO_ECORRUPT, "observation column %s is not a JSON array",
                             field);
    }
    size_t count = json_array_size(arr);
    int rc = 0;
    if (count > 0) {
        *items = calloc(count, sizeof **items);
        if (!*items) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory reading %s", field);
            goto out;
        }
    }
    for (size_t i = 0; i < count; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        (*items)[i] = strdup(s ? s : "");
        if (!(*items)[i]) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory reading %s", field);
            goto out;
        }
        *n = i + 1;
    }
out:
    json_decref(arr);
    return rc;
}

/* ---- reading a row --------------------------------------------------------------------------- */

static int col_str(sqlite3_stmt *st, int col, char **out, struct mnemo_err *err)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    int len = sqlite3_column_bytes(st, col);
    *out = malloc((size_t)len + 1);
    if (!*out)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory reading an observation");
    if (t && len > 0)
        memcpy(*out, t, (size_t)len);
    (*out)[len] = '\0';
    return 0;
}

static void col_fixed(sqlite3_stmt *st, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, size, "%s", t ? (const char *)t : "");
}

int mnemo__obs_read_row(sqlite3_stmt *st, struct mnemo_obs *o, struct mnemo_err *err)
{
    int rc;
    mnemo_obs_init(o);
    o->id = sqlite3_column_int64(st, 0);
    col_fixed(st, 1, o->uuid, sizeof o->uuid);
    o->session_id = sqlite3_column_int64(st, 2);
    col_fixed(st, 4, o->scope, sizeof o->scope);
    col_fixed(st, 5, o->type, sizeof o->type);
    col_fixed(st, 14, o->provenance, sizeof o->provenance);
    col_fixed(st, 15, o->content_hash, sizeof o->content_hash);
    o->importance = sqlite3_column_double(st, 16);
    o->feedback = sqlite3_column_int(st, 17);
    o->retrieval_count = sqlite3_column_int64(st, 18);
    o->last_retrieved_at = sqlite3_column_int64(st, 19);
    o->superseded_by = sqlite3_column_int64(st, 20);
    o->archived = sqlite3_column_int(st, 21);
    o->archived_at = sqlite3_column_int64(st, 22);
    o->created_at = sqlite3_column_int64(st, 24);
    o->updated_at = sqlite3_column_int64(st, 25);
    if ((rc = col_str(st, 3, &o->project, err)) != 0 ||
        (rc = col_str(st, 6, &o->title, err)) != 0 ||
        (rc = col_str(st, 7, &o->subtitle, err)) != 0 ||
        (rc = col_str(st, 8, &o->narrative, err)) != 0 ||
        (rc = parse_list("facts", sqlite3_column_text(st, 9), sqlite3_column_bytes(st, 9),
                         &o->facts, &o->n_facts, err)) != 0 ||
        (rc = parse_list("concepts", sqlite3_column_text(st, 10), sqlite3_column_bytes(st, 10),
                         &o->concepts, &o->n_concepts, err)) != 0 ||
        (rc = parse_list("files_read", sqlite3_column_text(st, 11), sqlite3_column_bytes(st, 11),
                         &o->files_read, &o->n_files_read, err)) != 0 ||
        (rc =
             parse_list("files_modified", sqlite3_column_text(st, 12), sqlite3_column_bytes(st, 12),
                        &o->files_modified, &o->n_files_modified, err)) != 0 ||
        (rc = col_str(st, 13, &o->file_mtimes, err)) != 0 ||
        (rc = col_str(st, 23, &o->archived_reason, err)) != 0) {
        mnemo_obs_release(o);
        return rc;
    }
    return 0;
}

double mnemo__obs_importance(const struct mnemo_obs *o, const struct mnemo_scoring_weights *w,
                             int64_t now_ms)
{
    double csum = mnemo_scoring_concept_sum(w, (const char *const *)o->concepts, o->n_concepts);
    return mnemo_scoring_importance(o->type, o->created_at, now_ms, o->feedback, csum,
                                    o->retrieval_count);
}
