/*
 * config.c - the settings table, config.json and MNEMO_<KEY> overrides.
 *
 * A loaded config keeps, per key of the table, its value as canonical text (what `mnemo config
 * get` prints), its number (INT and BOOL keys) and where it came from. Every value, whatever its
 * source, goes through one validator, so the file, the environment and `mnemo config set` can
 * never accept different things.
 */
#include "util/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "util/fs.h"

/* config.json is a handful of keys; anything bigger is not ours. */
#define CONFIG_FILE_MAX ((size_t)1024 * 1024)
/* Longest string value (a path, a URL, a model name). */
#define CONFIG_STR_MAX 4096
/* Longest environment variable name: "MNEMO_" + a key. */
#define CONFIG_ENV_NAME_MAX 96

#define KIB   ((int64_t)1024)
#define MIB   (KIB * 1024)
#define GIB   (MIB * 1024)
#define DAY_S ((int64_t)86400)
/* A century: long enough for any retention a person means, short enough to stay in range. */
#define DAYS_MAX ((int64_t)36500)

/* The table, sorted by name (mnemo_config_key_find searches it with bsearch). */
static const struct mnemo_config_key keys[] = {
    {"autostart", MNEMO_CONFIG_BOOL, "true", 0, 0, 0,
     "hooks start the worker when none answers (MNEMO_AUTOSTART=0 also turns it off)"},
    {"capture.max_attempts", MNEMO_CONFIG_INT, "3", 1, 100, 0,
     "attempts at turning a captured event into observations before it is dead-lettered"},
    {"context.prompt_tokens", MNEMO_CONFIG_INT, "1000", 50, 20000, 0,
     "token budget of the memories added to each prompt"},
    {"context.session_tokens", MNEMO_CONFIG_INT, "1500", 100, 50000, 0,
     "token budget of the index shown at session start"},
    {"embed.api", MNEMO_CONFIG_STRING, "", 0, 0, 0,
     "http embedder protocol: openai or ollama (empty = openai)"},
    {"embed.api_key", MNEMO_CONFIG_STRING, "", 0, 0, 1,
     "http embedder key, sent as a bearer token (empty = none)"},
    {"embed.base_url", MNEMO_CONFIG_STRING, "", 0, 0, 0,
     "http embedder address, e.g. http://127.0.0.1:11434"},
    {"embed.dim", MNEMO_CONFIG_INT, "0", 0, 8192, 0,
     "embedding dimensions (0 = the provider's default; http: probe the model)"},
    {"embed.model", MNEMO_CONFIG_STRING, "", 0, 0, 0, "http embedder model name"},
    {"embed.provider", MNEMO_CONFIG_STRING, "hash", 0, 0, 0,
     "embedder: hash (built in, offline), http (OpenAI or Ollama API) or none"},
    {"extractor", MNEMO_CONFIG_STRING, "rules", 0, 0, 0,
     "what turns events into observations: rules, or llm (a model command; rules take over when "
     "it fails)"},
    {"http.max_body", MNEMO_CONFIG_INT, "10485760", 1024, GIB, 0,
     "largest request body the worker accepts, in bytes"},
    {"http.rate_limit", MNEMO_CONFIG_INT, "200", 0, 1000000, 0,
     "requests per second per client (0 = unlimited)"},
    {"http.timeout_s", MNEMO_CONFIG_INT, "30", 1, 3600, 0,
     "seconds before an idle or slow connection is closed"},
    {"ignore_projects", MNEMO_CONFIG_STRING, "", 0, 0, 0,
     "projects whose hooks do nothing: comma-separated absolute paths (or ~/...; a directory and "
     "all below it) or project folder names"},
    {"llm.command", MNEMO_CONFIG_STRING,
     "claude -p --model haiku --tools \"\" --strict-mcp-config --disable-slash-commands", 0, 0, 0,
     "model command of extractor llm (split like a shell line, run without a shell, prompt on "
     "stdin)"},
    {"llm.daily_calls", MNEMO_CONFIG_INT, "1000", -1, 100000000, 0,
     "model calls per UTC day (-1 = no limit)"},
    {"llm.daily_tokens", MNEMO_CONFIG_INT, "2000000", -1, INT64_C(1000000000000), 0,
     "estimated tokens per UTC day (-1 = no limit)"},
    {"llm.max_concurrent", MNEMO_CONFIG_INT, "2", 1, 64, 0, "model commands running at once"},
    {"llm.prompt_path", MNEMO_CONFIG_STRING, "", 0, 0, 0,
     "prompt template file (empty = built-in copy of prompts/extract.md)"},
    {"llm.timeout_ms", MNEMO_CONFIG_INT, "60000", 1000, 3600000, 0,
     "deadline of one model call; its process group is killed after it"},
    {"log.level", MNEMO_CONFIG_STRING, "info", 0, 0, 0,
     "worker log level: debug, info, warn or error"},
    {"log.max_bytes", MNEMO_CONFIG_INT, "10485760", 64 * KIB, 64 * GIB, 0,
     "size at which the worker's log file is rotated, in bytes"},
    {"maintenance.first_delay_s", MNEMO_CONFIG_INT, "300", 0, 7 * DAY_S, 0,
     "seconds after the worker starts before the first maintenance run"},
    {"maintenance.interval_s", MNEMO_CONFIG_INT, "21600", 60, 30 * DAY_S, 0,
     "seconds between maintenance runs (retention, optimize)"},
    {"privacy.rules_file", MNEMO_CONFIG_STRING, "", 0, 0, 0,
     "JSON file of extra redaction rules (empty = none)"},
    {"reembed.batch", MNEMO_CONFIG_INT, "64", 1, 2048, 0,
     "observations embedded per batch by background re-embedding"},
    {"retention.days", MNEMO_CONFIG_INT, "0", 0, DAYS_MAX, 0,
     "delete observations older than this many days (0 = keep forever)"},
    {"retention.prompt_days", MNEMO_CONFIG_INT, "30", 0, DAYS_MAX, 0,
     "delete recorded prompts older than this many days (0 = keep forever)"},
    {"retention.superseded_days", MNEMO_CONFIG_INT, "30", 0, DAYS_MAX, 0,
     "delete observations superseded longer than this many days ago (0 = keep forever)"},
    {"scoring.batch", MNEMO_CONFIG_INT, "500", 1, 100000, 0,
     "observations rescored per transaction by the importance recalculation"},
    {"scoring.interval_s", MNEMO_CONFIG_INT, "3600", 60, 7 * DAY_S, 0,
     "seconds between importance recalculations"},
    {"store.min_free_bytes", MNEMO_CONFIG_INT, "33554432", 0, 1024 * GIB, 0,
     "the worker refuses writes while the disk has less free, in bytes (0 = no floor)"},
    {"store.wal_threshold_bytes", MNEMO_CONFIG_INT, "4194304", 64 * KIB, 4 * GIB, 0,
     "WAL size that triggers a TRUNCATE checkpoint, in bytes"},
    {"tcp.listen", MNEMO_CONFIG_STRING, "127.0.0.1:37777", 0, 0, 0,
     "worker TCP address HOST:PORT for the dashboard and scripts (off = socket only)"},
};

#define N_KEYS (sizeof keys / sizeof keys[0])

/* The values a choice-valued string key accepts (NULL-terminated); other keys accept any. */
struct choices {
    const char *key;
    const char *values[6];
};

static const struct choices key_choices[] = {
    {"embed.api", {"", "openai", "ollama", NULL}},
    {"extractor", {"rules", "llm", NULL}},
    {"embed.provider", {"hash", "http", "none", NULL}},
    {"log.level", {"debug", "info", "warn", "error", NULL}},
};

struct mnemo_config {
    char *text[N_KEYS]; /* canonical text, malloc'd, never NULL once built */
    int64_t num[N_KEYS];
    enum mnemo_config_source source[N_KEYS];
};

/* ---- the table ----------------------------------------------------------------------------- */

const struct mnemo_config_key *mnemo_config_keys(size_t *n)
{
    *n = N_KEYS;
    return keys;
}

static int key_compare(const void *name, const void *elem)
{
    const struct mnemo_config_key *k = elem;
    return strcmp(name, k->name);
}

const struct mnemo_config_key *mnemo_config_key_find(const char *name)
{
    if (name == NULL)
        return NULL;
    return bsearch(name, keys, N_KEYS, sizeof keys[0], key_compare);
}

static size_t key_index(const struct mnemo_config_key *k)
{
    return (size_t)(k - keys);
}

const char *mnemo_config_source_name(enum mnemo_config_source s)
{
    switch (s) {
    case MNEMO_CONFIG_DEFAULT:
        return "default";
    case MNEMO_CONFIG_FROM_FILE:
        return "file";
    case MNEMO_CONFIG_FROM_ENV:
        return "env";
    }
    return "unknown";
}

/* ---- validation ---------------------------------------------------------------------------- */

static const struct choices *choices_of(const struct mnemo_config_key *k)
{
    for (size_t i = 0; i < sizeof key_choices / sizeof key_choices[0]; i++) {
        if (strcmp(key_choices[i].key, k->name) == 0)
            return &key_choices[i];
    }
    return NULL;
}

/* Parses a whole decimal integer (optional sign, no spaces). 0 or -1. */
static int parse_int(const char *s, int64_t *out)
{
    if (s[0] == '\0' || isspace((unsigned char)s[0]))
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* Parses true/false, 1/0, yes/no, on/off (case-insensitive). 0 or -1. */
static int parse_bool(const char *s, int64_t *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/*
 * Checks a tcp.listen value: "off", or HOST:PORT with a port in [0, 65535] (0 = any free
 * port) and a host of letters, digits, '.', '-', or a bracketed IPv6 address. 0 or -1.
 */
static int valid_listen(const char *s)
{
    if (strcmp(s, "off") == 0)
        return 0;
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0')
        return -1;
    int64_t port;
    for (const char *p = colon + 1; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
    }
    if (strlen(colon + 1) > 5 || parse_int(colon + 1, &port) != 0 || port > 65535)
        return -1;
    size_t hlen = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hlen < 3 || s[hlen - 1] != ']')
            return -1;
        for (size_t i = 1; i + 1 < hlen; i++) {
            if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
                return -1;
        }
        return 0;
    }
    for (size_t i = 0; i < hlen; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
            return -1;
    }
    return 0;
}

/* Writes the choices as "a, b or c" ("" shown as ''). */
static void join_choices(const struct choices *ch, char *buf, size_t size)
{
    size_t n = 0;
    while (ch->values[n] != NULL)
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        const char *v = ch->values[i][0] == '\0' ? "''" : ch->values[i];
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", sep, v);
    }
}

/*
 * Validates text as a value of k and produces its canonical text (malloc'd into *canon) and
 * number. origin starts any message and says where the value came from ("MNEMO_X: ",
 * "config '/h/config.json': ", or "" for a value given directly). Secret values are never quoted
 * back.
 */
static int check_value(const struct mnemo_config_key *k, const char *text, const char *origin,
                       char **canon, int64_t *num, struct mnemo_err *err)
{
    char buf[32];
    const char *c = text;

    *canon = NULL;
    *num = 0;
    switch (k->type) {
    case MNEMO_CONFIG_INT:
        if (parse_int(text, num) != 0)
            return mnemo_err_set(err, MNEMO_EINVAL, "%s%s must be an integer, not '%.64s'", origin,
                                 k->name, text);
        if (*num < k->min || *num > k->max)
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "%s%s = %" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]",
                                 origin, k->name, *num, k->min, k->max);
        snprintf(buf, sizeof buf, "%" PRId64, *num);
        c = buf;
        break;
    case MNEMO_CONFIG_BOOL:
        if (parse_bool(text, num) != 0)
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "%s%s must be true or false (or 1/0, yes/no, on/off), not "
                                 "'%.64s'",
                                 origin, k->name, text);
        c = *num ? "true" : "false";
        break;
    case MNEMO_CONFIG_STRING: {
        size_t len = strlen(text);
        if (len > CONFIG_STR_MAX)
            return mnemo_err_set(err, MNEMO_EINVAL, "%s%s is longer than %d bytes", origin, k->name,
                                 CONFIG_STR_MAX);
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
                return mnemo_err_set(err, MNEMO_EINVAL, "%s%s must not contain control characters",
                                     origin, k->name);
        }
        const struct choices *ch = choices_of(k);
        if (ch != NULL) {
            size_t i = 0;
            while (ch->values[i] != NULL && strcmp(ch->values[i], text) != 0)
                i++;
            if (ch->values[i] == NULL) {
                char list[128];
                join_choices(ch, list, sizeof list);
                return mnemo_err_set(err, MNEMO_EINVAL, "%s%s must be one of %s, not '%.64s'",
                                     origin, k->name, list, text);
            }
        }
        if (strcmp(k->name, "tcp.listen") == 0 && valid_listen(text) != 0)
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "%stcp.listen must be HOST:PORT or off, not '%.64s'", origin,
                                 text);
        break;
    }
    }
    *canon = strdup(c);
    if (*canon == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    return 0;
}

/* Stores an already-validated value in slot i, replacing what was there. */
static void put(struct mnemo_config *c, size_t i, char *canon, int64_t num,
                enum mnemo_config_source src)
{
    free(c->text[i]);
    c->text[i] = canon;
    c->num[i] = num;
    c->source[i] = src;
}

/* ---- building -------------------------------------------------------------------------------- */

void mnemo_config_free(struct mnemo_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < N_KEYS; i++)
        free(c->text[i]);
    free(c);
}

/* A new config holding the built-in defaults. */
static int config_new(struct mnemo_config **out, struct mnemo_err *err)
{
    struct mnemo_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    for (size_t i = 0; i < N_KEYS; i++) {
        char *canon;
        int64_t num;
        /* A default the validator refuses is a bug in the table, not bad input. */
        int rc = check_value(&keys[i], keys[i].def, "default: ", &canon, &num, err);
        assert(rc == 0 || rc == MNEMO_ENOMEM);
        if (rc != 0) {
            mnemo_config_free(c);
            return rc;
        }
        put(c, i, canon, num, MNEMO_CONFIG_DEFAULT);
    }
    *out = c;
    return 0;
}

/* "MNEMO_" + the key upper-cased with '.' turned into '_'. */
static void env_name(const struct mnemo_config_key *k, char *buf, size_t size)
{
    int n = snprintf(buf, size, "MNEMO_%s", k->name);
    assert(n > 0 && (size_t)n < size);
    for (char *p = buf; *p != '\0'; p++)
        *p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
}

/* Applies every non-empty MNEMO_<KEY> variable. An empty variable counts as unset, as
 * MNEMO_HOME does, so `MNEMO_TCP_LISTEN= mnemo serve` keeps the file's value. */
static int apply_env(struct mnemo_config *c, struct mnemo_err *err)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        char name[CONFIG_ENV_NAME_MAX], origin[CONFIG_ENV_NAME_MAX + 2];
        env_name(&keys[i], name, sizeof name);
        const char *v = getenv(name);
        if (v == NULL || v[0] == '\0')
            continue;
        snprintf(origin, sizeof origin, "%s: ", name);
        char *canon;
        int64_t num;
        int rc = check_value(&keys[i], v, origin, &canon, &num, err);
        if (rc != 0)
            return rc;
        put(c, i, canon, num, MNEMO_CONFIG_FROM_ENV);
    }
    return 0;
}

/* A JSON type's name for messages. */
static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/*
 * The text of a file value of key k, written into buf (numbers, booleans) or borrowed from v
 * (strings). A value of the wrong JSON type is MNEMO_EINVAL naming the key and the file.
 */
static int file_value_text(const struct mnemo_config_key *k, const json_t *v, const char *path,
                           char *buf, size_t size, const char **text, struct mnemo_err *err)
{
    const char *want = NULL;
    switch (k->type) {
    case MNEMO_CONFIG_STRING:
        if (json_is_string(v)) {
            *text = json_string_value(v);
            return 0;
        }
        want = "a string";
        break;
    case MNEMO_CONFIG_INT:
        if (json_is_integer(v)) {
            snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            *text = buf;
            return 0;
        }
        want = "an integer";
        break;
    case MNEMO_CONFIG_BOOL:
        if (json_is_boolean(v)) {
            *text = json_is_true(v) ? "true" : "false";
            return 0;
        }
        want = "true or false";
        break;
    }
    return mnemo_err_set(err, MNEMO_EINVAL, "config '%s': %s must be %s, not %s", path, k->name,
                         want, json_type_name(v));
}

/*
 * Reads and parses home/config.json into *root (NULL when the file does not exist). A file
 * that is not a JSON object is MNEMO_EINVAL with the line and column of the problem.
 */
static int read_file(const char *path, json_t **root, struct mnemo_err *err)
{
    char *data = NULL;
    size_t len = 0;

    *root = NULL;
    int rc = mnemo_fs_read_all(path, CONFIG_FILE_MAX, &data, &len, err);
    if (rc == MNEMO_ENOTFOUND) {
        mnemo_err_clear(err);
        return 0;
    }
    if (rc != 0)
        return rc;

    json_error_t jerr;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    free(data);
    if (j == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "config '%s': invalid JSON at line %d, column %d: %s", path, jerr.line,
                             jerr.column, jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "config '%s': must be a JSON object of \"key\": value pairs", path);
    }
    *root = j;
    return 0;
}

/* Applies the keys of the parsed file; unknown keys are logged and skipped. */
static int apply_file(struct mnemo_config *c, const json_t *root, const char *path,
                      struct mnemo_log *log, struct mnemo_err *err)
{
    const char *name;
    json_t *v;

    json_object_foreach((json_t *)root, name, v)
    {
        const struct mnemo_config_key *k = mnemo_config_key_find(name);
        if (k == NULL) {
            char qk[128], qp[512];
            mnemo_log_write(log, MNEMO_LOG_WARN, "unknown config key ignored", "key=%s file=%s",
                            mnemo_log_quote(qk, sizeof qk, name),
                            mnemo_log_quote(qp, sizeof qp, path));
            continue;
        }
        char buf[32], origin[64 + MNEMO_ERR_MSG_MAX];
        const char *text = NULL;
        int rc = file_value_text(k, v, path, buf, sizeof buf, &text, err);
        if (rc != 0)
            return rc;
        snprintf(origin, sizeof origin, "config '%.*s': ", (int)(sizeof origin - 16), path);
        char *canon;
        int64_t num;
        rc = check_value(k, text, origin, &canon, &num, err);
        if (rc != 0)
            return rc;
        put(c, key_index(k), canon, num, MNEMO_CONFIG_FROM_FILE);
    }
    return 0;
}

/* home/config.json into buf, or MNEMO_EINVAL when it does not fit. */
static int config_path(const char *home, char *buf, size_t size, struct mnemo_err *err)
{
    if (home == NULL || home[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "no mnemo home given for the config");
    int n = snprintf(buf, size, "%s/%s", home, MNEMO_CONFIG_FILE);
    if (n < 0 || (size_t)n >= size)
        return mnemo_err_set(err, MNEMO_EINVAL, "mnemo home path is too long: '%.64s...'", home);
    return 0;
}

int mnemo_config_load(const char *home, struct mnemo_log *log, struct mnemo_config **out,
                      struct mnemo_err *err)
{
    char path[4096];
    struct mnemo_config *c = NULL;
    json_t *root = NULL;

    *out = NULL;
    int rc = config_path(home, path, sizeof path, err);
    if (rc == 0)
        rc = config_new(&c, err);
    if (rc == 0)
        rc = read_file(path, &root, err);
    if (rc == 0 && root != NULL)
        rc = apply_file(c, root, path, log, err);
    if (rc == 0)
        rc = apply_env(c, err);
    json_decref(root);
    if (rc != 0) {
        mnemo_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int mnemo_config_defaults(struct mnemo_config **out, struct mnemo_err *err)
{
    struct mnemo_config *c = NULL;

    *out = NULL;
    int rc = config_new(&c, err);
    if (rc == 0)
        rc = apply_env(c, err);
    if (rc != 0) {
        mnemo_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- getters -----------------------------------------------------------------------------------
 */

/* The slot of key, which must be in the table with type t (a programmer error otherwise). */
static size_t slot(const char *key, enum mnemo_config_type t)
{
    const struct mnemo_config_key *k = mnemo_config_key_find(key);
    assert(k != NULL && k->type == t);
    if (k == NULL || k->type != t)
        abort();
    return key_index(k);
}

const char *mnemo_config_str(const struct mnemo_config *c, const char *key)
{
    return c->text[slot(key, MNEMO_CONFIG_STRING)];
}

int64_t mnemo_config_int(const struct mnemo_config *c, const char *key)
{
    return c->num[slot(key, MNEMO_CONFIG_INT)];
}

int mnemo_config_bool(const struct mnemo_config *c, const char *key)
{
    return c->num[slot(key, MNEMO_CONFIG_BOOL)] != 0;
}

int mnemo_config_get_text(const struct mnemo_config *c, const char *key, const char **value,
                          enum mnemo_config_source *source, struct mnemo_err *err)
{
    const struct mnemo_config_key *k = mnemo_config_key_find(key);
    if (k == NULL)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "unknown config key '%.64s'",
                             key != NULL ? key : "");
    size_t i = key_index(k);
    if (value != NULL)
        *value = c->text[i];
    if (source != NULL)
        *source = c->source[i];
    return 0;
}

/* ---- writing ------------------------------------------------------------------------------------
 */

/* The JSON form of an already-validated value of k. NULL when out of memory. */
static json_t *value_json(const struct mnemo_config_key *k, const char *canon, int64_t num)
{
    switch (k->type) {
    case MNEMO_CONFIG_INT:
        return json_integer((json_int_t)num);
    case MNEMO_CONFIG_BOOL:
        return json_boolean(num != 0);
    case MNEMO_CONFIG_STRING:
        return json_string(canon);
    }
    return NULL;
}

int mnemo_config_set(const char *home, const char *key, const char *value, struct mnemo_err *err)
{
    char path[4096];
    json_t *root = NULL;
    char *canon = NULL;
    char *dump = NULL;
    int rc;

    const struct mnemo_config_key *k = mnemo_config_key_find(key);
    if (k == NULL)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "unknown config key '%.64s'",
                             key != NULL ? key : "");
    rc = config_path(home, path, sizeof path, err);
    if (rc != 0)
        return rc;

    json_t *jv = NULL;
    if (value != NULL) {
        int64_t num;
        rc = check_value(k, value, "", &canon, &num, err);
        if (rc != 0)
            goto out;
        jv = value_json(k, canon, num);
        if (jv == NULL) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
            goto out;
        }
    }

    /* A malformed file is refused, not replaced: it may hold settings the user wants back. */
    rc = read_file(path, &root, err);
    if (rc != 0) {
        json_decref(jv);
        goto out;
    }
    if (root == NULL) {
        root = json_object();
        if (root == NULL) {
            json_decref(jv);
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (jv != NULL) {
        if (json_object_set_new(root, k->name, jv) != 0) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
            goto out;
        }
    } else {
        json_object_del(root, k->name);
    }

    dump = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (dump == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
        goto out;
    }
    size_t len = strlen(dump);
    char *nl = realloc(dump, len + 2);
    if (nl == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
        goto out;
    }
    dump = nl;
    dump[len++] = '\n';
    dump[len] = '\0';

    /* The home holds the database and the token: it is the user's alone. */
    rc = mnemo_fs_mkdir_p(home, 0700, err);
    if (rc == 0)
        rc = mnemo_fs_write_atomic(path, dump, len, 0600, err);
out:
    free(dump);
    free(canon);
    json_decref(root);
    return rc;
}
