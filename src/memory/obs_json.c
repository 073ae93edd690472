/*
 * obs_json.c - observations to and from JSON (the export/import format, the worker's wire
 * format) and the privacy pass every text field goes through before it is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/obs_json.h"

/* ---- observations in --------------------------------------------------------------------- */

int mnemo_obs_list_push(char ***items, size_t *n, size_t max, const char *s)
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

int mnemo_obs_clean(const struct mnemo_privacy *priv, struct mnemo_obs *o, struct mnemo_err *err)
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
        int rc = mnemo_obs_list_push(items, n, max, json_string_value(item));
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

int mnemo_obs_from_json(const json_t *j, int import, struct mnemo_obs *o, char *msg,
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

json_t *mnemo_obs_to_json(const struct mnemo_obs *o)
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
