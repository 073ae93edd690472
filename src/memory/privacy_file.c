/*
 * privacy_file.c - user redaction rules from a JSON file (the privacy.rules_file setting).
 *
 * The file is a JSON array of rules:
 *   [{"name": "acme_token", "pattern": "ACME-[0-9]{6}"},
 *    {"name": "pin", "pattern": "pin[:=]\\s*(\\d{4,8})", "group": 1, "keywords": "pin",
 *     "caseless": true, "entropy": false}]
 * with the fields of struct mnemo_privacy_rule: name and pattern required; group (default
 * 0), keywords (default none), caseless and entropy (default false) optional. "entropy"
 * turns on the built-in entropy gate (MNEMO_PRIVACY_MIN_ENTROPY bits per byte); the
 * threshold itself is not per rule. Unknown fields are refused so a typo cannot silently
 * weaken a rule.
 *
 * The privacy library knows nothing of mnemo's config: the caller passes the path.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "memory/privacy.h"
#include "util/fs.h"

/* A rules file is at most a few dozen rules; anything this big is a mistake. */
#define RULES_FILE_MAX ((size_t)1024 * 1024)

/* The fields of one rule, borrowed from the parsed JSON. */
static int parse_rule(const json_t *o, size_t idx, const char *path, struct mnemo_privacy_rule *r,
                      struct mnemo_err *err)
{
    const char *key;
    json_t *v;

    memset(r, 0, sizeof *r);
    if (!json_is_object(o))
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy rules '%s': rule %zu must be an object",
                             path, idx + 1);
    json_object_foreach((json_t *)o, key, v)
    {
        if (strcmp(key, "name") == 0 || strcmp(key, "pattern") == 0 ||
            strcmp(key, "keywords") == 0) {
            if (!json_is_string(v))
                return mnemo_err_set(err, MNEMO_EINVAL,
                                     "privacy rules '%s': rule %zu: %s must be a string", path,
                                     idx + 1, key);
            const char *s = json_string_value(v);
            if (key[0] == 'n')
                r->name = s;
            else if (key[0] == 'p')
                r->pattern = s;
            else
                r->keywords = s;
        } else if (strcmp(key, "group") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 99)
                return mnemo_err_set(err, MNEMO_EINVAL,
                                     "privacy rules '%s': rule %zu: group must be an integer "
                                     "from 0 to 99",
                                     path, idx + 1);
            r->group = (unsigned)json_integer_value(v);
        } else if (strcmp(key, "caseless") == 0 || strcmp(key, "entropy") == 0) {
            if (!json_is_boolean(v))
                return mnemo_err_set(err, MNEMO_EINVAL,
                                     "privacy rules '%s': rule %zu: %s must be true or false", path,
                                     idx + 1, key);
            unsigned flag =
                key[0] == 'c' ? MNEMO_PRIVACY_RULE_CASELESS : MNEMO_PRIVACY_RULE_ENTROPY;
            if (json_is_true(v))
                r->flags |= flag;
        } else {
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "privacy rules '%s': rule %zu: unknown field '%.40s' (fields: "
                                 "name, pattern, group, keywords, caseless, entropy)",
                                 path, idx + 1, key);
        }
    }
    if (r->name == NULL || r->pattern == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "privacy rules '%s': rule %zu needs a name and a pattern", path,
                             idx + 1);
    return 0;
}

/* Reads and parses path as a JSON array. */
static int read_rules(const char *path, json_t **out, struct mnemo_err *err)
{
    char *data = NULL;
    size_t len = 0;
    json_error_t jerr;

    *out = NULL;
    int rc = mnemo_fs_read_all(path, RULES_FILE_MAX, &data, &len, err);
    if (rc != 0)
        return rc;
    json_t *j = json_loadb(data, len, 0, &jerr);
    free(data);
    if (j == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "privacy rules '%s': invalid JSON at line %d, column %d: %s", path,
                             jerr.line, jerr.column, jerr.text);
    if (!json_is_array(j)) {
        json_decref(j);
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "privacy rules '%s': must be a JSON array of rule objects", path);
    }
    *out = j;
    return 0;
}

/* True when p already has a rule called name. */
static int has_rule(const struct mnemo_privacy *p, const char *name)
{
    size_t n = mnemo_privacy_rule_count(p);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(mnemo_privacy_rule_name(p, i), name) == 0)
            return 1;
    }
    return 0;
}

int mnemo_privacy_load_rules_file(struct mnemo_privacy *p, const char *path, struct mnemo_err *err)
{
    json_t *arr = NULL;
    struct mnemo_privacy *scratch = NULL;
    struct mnemo_privacy_rule r;
    struct mnemo_err rerr;
    size_t idx;

    if (p == NULL || path == NULL || path[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy rules: no redactor or no path");
    int rc = read_rules(path, &arr, err);
    if (rc != 0)
        goto out;
    size_t n = json_array_size(arr);
    if (n == 0)
        goto out;
    if (mnemo_privacy_rule_count(p) + n > MNEMO_PRIVACY_MAX_RULES) {
        rc = mnemo_err_set(err, MNEMO_ETOOBIG,
                           "privacy rules '%s': %zu rules do not fit (at most %d in all, %zu "
                           "already)",
                           path, n, MNEMO_PRIVACY_MAX_RULES, mnemo_privacy_rule_count(p));
        goto out;
    }

    /*
     * First every rule is checked and compiled into a scratch redactor, so that a bad rule
     * anywhere in the file leaves p exactly as it was; only then are they added to p, where
     * nothing but memory can fail any more (names and room were checked against p).
     */
    rc = mnemo_privacy_new(&scratch, err);
    if (rc != 0)
        goto out;
    json_t *o;
    json_array_foreach(arr, idx, o)
    {
        rc = parse_rule(o, idx, path, &r, err);
        if (rc != 0)
            goto out;
        mnemo_err_clear(&rerr);
        if (has_rule(p, r.name))
            rc = mnemo_err_set(&rerr, MNEMO_EINVAL, "privacy: rule '%s' already exists", r.name);
        else
            rc = mnemo_privacy_add_rule(scratch, &r, &rerr);
        if (rc != 0) {
            /* rerr starts with "privacy: "; the file and index say which rule it was. */
            const char *m = rerr.msg;
            if (strncmp(m, "privacy: ", 9) == 0)
                m += 9;
            rc = mnemo_err_set(err, rc, "privacy rules '%s': rule %zu: %s", path, idx + 1, m);
            goto out;
        }
    }
    json_array_foreach(arr, idx, o)
    {
        rc = parse_rule(o, idx, path, &r, err);
        if (rc == 0)
            rc = mnemo_privacy_add_rule(p, &r, err);
        if (rc != 0)
            goto out;
    }
out:
    mnemo_privacy_free(scratch);
    json_decref(arr);
    return rc;
}
