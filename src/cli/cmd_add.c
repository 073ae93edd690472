/*
 * cmd_add.c - `mnemo add` (store an observation from flags or JSON on stdin) and `mnemo edit`
 * (partial update from the same flags). Every text goes through the privacy cleaner before it
 * is stored, and the stored observation is embedded in the same run. add goes through the
 * worker when one runs (it stores and embeds), else through the library.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "search/hybrid.h"

/* Largest JSON input `mnemo add --json` reads. */
#define ADD_JSON_MAX ((size_t)64 * 1024 * 1024)
/* Most observations one `mnemo add --json` stores. */
#define ADD_JSON_MAX_DOCS 10000

enum {
    OPT_TITLE = 256,
    OPT_TYPE,
    OPT_SUBTITLE,
    OPT_NARRATIVE,
    OPT_FACT,
    OPT_CONCEPT,
    OPT_FILE_READ,
    OPT_FILE_MODIFIED,
    OPT_SCOPE,
    OPT_PROJECT,
    OPT_JSON,
};

static const struct option obs_opts[] = {
    {"concept", required_argument, NULL, OPT_CONCEPT},
    {"fact", required_argument, NULL, OPT_FACT},
    {"file-modified", required_argument, NULL, OPT_FILE_MODIFIED},
    {"file-read", required_argument, NULL, OPT_FILE_READ},
    {"help", no_argument, NULL, 'h'},
    {"json", no_argument, NULL, OPT_JSON},
    {"narrative", required_argument, NULL, OPT_NARRATIVE},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"scope", required_argument, NULL, OPT_SCOPE},
    {"subtitle", required_argument, NULL, OPT_SUBTITLE},
    {"title", required_argument, NULL, OPT_TITLE},
    {"type", required_argument, NULL, OPT_TYPE},
    {NULL, 0, NULL, 0},
};

/* What the observation flags said: the owned values and which fields were given. */
struct obs_args {
    struct mnemo_obs o;
    unsigned mask; /* enum mnemo_obs_field bits of the flags given */
    int json;
    const char *project; /* --project, borrowed from argv */
};

/* Replaces the owned string *dst by a copy of s. */
static int set_str(char **dst, const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL)
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

/*
 * Parses the observation flags into a (initialised here). Returns -1 to go on, or the status to
 * exit with (help printed, usage error reported).
 */
static int parse_obs_args(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                          char **argv, struct obs_args *a)
{
    memset(a, 0, sizeof *a);
    mnemo_obs_init(&a->o);
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", obs_opts, NULL);
        if (c == -1)
            break;
        int rc = 0;
        switch (c) {
        case 'h':
            return mnemo__cli_help(self);
        case OPT_TITLE:
            rc = set_str(&a->o.title, optarg);
            a->mask |= MNEMO_OBS_F_TITLE;
            break;
        case OPT_SUBTITLE:
            rc = set_str(&a->o.subtitle, optarg);
            a->mask |= MNEMO_OBS_F_SUBTITLE;
            break;
        case OPT_NARRATIVE:
            rc = set_str(&a->o.narrative, optarg);
            a->mask |= MNEMO_OBS_F_NARRATIVE;
            break;
        case OPT_TYPE:
            if (!mnemo_obs_type_valid(optarg))
                return mnemo__cli_usage_error(cli, self,
                                              "unknown type '%s' (expected decision, bugfix, "
                                              "feature, refactor, discovery or change)",
                                              optarg);
            snprintf(a->o.type, sizeof a->o.type, "%s", optarg);
            a->mask |= MNEMO_OBS_F_TYPE;
            break;
        case OPT_SCOPE:
            if (!mnemo_obs_scope_valid(optarg))
                return mnemo__cli_usage_error(
                    cli, self, "unknown scope '%s' (expected project or global)", optarg);
            snprintf(a->o.scope, sizeof a->o.scope, "%s", optarg);
            a->mask |= MNEMO_OBS_F_SCOPE;
            break;
        case OPT_FACT:
            rc = mnemo_obs_list_push(&a->o.facts, &a->o.n_facts, MNEMO_OBS_MAX_FACTS, optarg);
            a->mask |= MNEMO_OBS_F_FACTS;
            break;
        case OPT_CONCEPT:
            rc = mnemo_obs_list_push(&a->o.concepts, &a->o.n_concepts, MNEMO_OBS_MAX_CONCEPTS,
                                     optarg);
            a->mask |= MNEMO_OBS_F_CONCEPTS;
            break;
        case OPT_FILE_READ:
            rc = mnemo_obs_list_push(&a->o.files_read, &a->o.n_files_read, MNEMO_OBS_MAX_FILES,
                                     optarg);
            a->mask |= MNEMO_OBS_F_FILES_READ;
            break;
        case OPT_FILE_MODIFIED:
            rc = mnemo_obs_list_push(&a->o.files_modified, &a->o.n_files_modified,
                                     MNEMO_OBS_MAX_FILES, optarg);
            a->mask |= MNEMO_OBS_F_FILES_MODIFIED;
            break;
        case OPT_PROJECT:
            a->project = optarg;
            a->mask |= MNEMO_OBS_F_PROJECT;
            break;
        case OPT_JSON:
            a->json = 1;
            break;
        default:
            return mnemo__cli_bad_option(cli, self, c, argv, obs_opts);
        }
        if (rc == MNEMO_ETOOBIG)
            return mnemo__cli_usage_error(cli, self, "too many values for '%s'", argv[optind - 1]);
        if (rc != 0)
            return mnemo__cli_fail("out of memory");
    }
    return -1;
}

/* Prints one add result: the id, or which observation it duplicates. */
static int print_created(const struct mnemo_obs_created *c, int json)
{
    if (json) {
        json_t *j = json_pack("{s:I,s:s,s:b}", "id", (json_int_t)c->id, "uuid", c->uuid,
                              "duplicate", c->duplicate);
        return mnemo__cli_print_json(j);
    }
    if (c->duplicate)
        printf("duplicate of #%lld\n", (long long)c->id);
    else
        printf("%lld\n", (long long)c->id);
    return MNEMO_CLI_OK;
}

/*
 * Cleans o, fills in its project (its own, else the resolved one) and validates it, so a batch
 * stores nothing when one of its observations is bad. what names o in messages.
 */
static int prepare(const struct mnemo_privacy *priv, struct mnemo_obs *o, const char *project,
                   const char *what)
{
    struct mnemo_err err;

    mnemo_err_clear(&err);
    int rc = mnemo_obs_clean(priv, o, &err);
    if (rc != 0)
        return mnemo__cli_fail("%s: %s", what, mnemo_err_text(&err, rc));
    if (o->project == NULL || o->project[0] == '\0') {
        if (set_str(&o->project, project) != 0)
            return mnemo__cli_fail("out of memory");
    }
    /* A user never creates imports or rule output from here. */
    if (o->provenance[0] == '\0')
        snprintf(o->provenance, sizeof o->provenance, "user");
    rc = mnemo_obs_validate(o, &err);
    if (rc != 0)
        return mnemo__cli_fail("%s: %s", what, mnemo_err_text(&err, rc));
    return 0;
}

/*
 * Where add stores: the worker while one answers, else the library, opened on first need. The
 * texts are cleaned by the CLI either way (the worker cleans them again; cleaning is
 * idempotent), so a batch is validated as a whole before anything is stored.
 */
struct sink {
    struct mnemo_cli *cli;
    struct mnemo_privacy *priv;
    int library;            /* 1 once no worker answered */
    struct mnemo_cli_mem m; /* the store and embedder of the library path */
};

/* Stores o through the worker. 0 with *c filled, MNEMO_ECLOSED, or the failure printed. */
static int store_worker(struct sink *s, const struct mnemo_obs *o, struct mnemo_obs_created *c)
{
    struct mnemo_err err;
    json_t *ans = NULL;

    mnemo_err_clear(&err);
    json_t *body = mnemo_obs_to_json(o);
    if (body == NULL)
        return mnemo__cli_fail("out of memory");
    int rc = mnemo__cli_worker_json(s->cli, "POST", "/v1/observations", body, &ans, &err);
    json_decref(body);
    if (rc == MNEMO_ECLOSED)
        return rc;
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    const char *uuid = json_string_value(json_object_get(ans, "uuid"));
    c->id = (int64_t)json_integer_value(json_object_get(ans, "id"));
    c->duplicate = json_is_true(json_object_get(ans, "duplicate"));
    snprintf(c->uuid, sizeof c->uuid, "%s", uuid != NULL ? uuid : "");
    json_decref(ans);
    return c->id > 0 ? 0 : mnemo__cli_fail("the worker's answer has no id");
}

/* Stores o through the library and embeds it. 0 with *c filled, or the failure printed. */
static int store_library(struct sink *s, const struct mnemo_obs *o, struct mnemo_obs_created *c)
{
    struct mnemo_err err;

    if (!s->library) {
        if (mnemo__cli_mem_open_config(s->cli, MNEMO_CLI_MEM_EMBED, &s->m) != 0)
            return MNEMO_CLI_FAIL;
        s->library = 1;
    }
    mnemo_err_clear(&err);
    int rc = mnemo_obs_create(s->m.st, o, c, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    if (!c->duplicate) {
        rc = mnemo_search_embed_obs(s->m.st, NULL, s->m.emb, c->id, 0, &err);
        if (rc != 0 && rc != MNEMO_EINVAL) /* EINVAL: embeddings are off (provider none) */
            return mnemo__cli_fail("stored #%lld but could not embed it (run `mnemo reembed`): %s",
                                   (long long)c->id, mnemo_err_text(&err, rc));
    }
    return 0;
}

/* Stores o (worker or library) and prints the result. */
static int store_one(struct sink *s, const struct mnemo_obs *o, int json)
{
    struct mnemo_obs_created c;

    memset(&c, 0, sizeof c);
    int rc = s->library ? MNEMO_ECLOSED : store_worker(s, o, &c);
    if (rc == MNEMO_ECLOSED)
        rc = store_library(s, o, &c);
    if (rc != 0)
        return MNEMO_CLI_FAIL;
    return print_created(&c, json);
}

/* `mnemo add --json`: one object, an array or JSON Lines on stdin, all validated first. */
static int add_json(struct sink *s, const char *project)
{
    char *buf = NULL, msg[256] = "";
    size_t len = 0;
    int status = MNEMO_CLI_OK;

    if (mnemo__cli_read_stream(stdin, "standard input", ADD_JSON_MAX, &buf, &len) != 0)
        return MNEMO_CLI_FAIL;
    json_t *docs = mnemo__cli_parse_docs(buf, len, msg, sizeof msg);
    free(buf);
    if (docs == NULL)
        return mnemo__cli_fail("%s", msg);
    size_t n = json_array_size(docs);
    if (n > ADD_JSON_MAX_DOCS) {
        json_decref(docs);
        return mnemo__cli_fail("too many observations (%zu; at most %d per add)", n,
                               ADD_JSON_MAX_DOCS);
    }
    struct mnemo_obs *obs = calloc(n, sizeof *obs);
    if (obs == NULL) {
        json_decref(docs);
        return mnemo__cli_fail("out of memory");
    }
    size_t ready = 0;
    for (; ready < n && status == MNEMO_CLI_OK; ready++) {
        char what[48];
        snprintf(what, sizeof what, "observation %zu", ready + 1);
        if (mnemo_obs_from_json(json_array_get(docs, ready), 0, &obs[ready], msg, sizeof msg) !=
            0) {
            status = mnemo__cli_fail("%s: %s", what, msg);
            break;
        }
        status = prepare(s->priv, &obs[ready], project, what);
    }
    for (size_t i = 0; status == MNEMO_CLI_OK && i < n; i++)
        status = store_one(s, &obs[i], 1);
    for (size_t i = 0; i < n; i++)
        mnemo_obs_release(&obs[i]);
    free(obs);
    json_decref(docs);
    return status;
}

int cmd_add(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    struct obs_args a;
    char project[MNEMO_PROJECT_SIZE];

    int status = parse_obs_args(cli, self, argc, argv, &a);
    if (status >= 0)
        goto out;
    status = MNEMO_CLI_OK;
    if (optind < argc) {
        status = mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    /* --json alone reads JSON from stdin; with observation flags it only shapes the output. */
    int from_stdin = a.json && (a.mask & ~MNEMO_OBS_F_PROJECT) == 0;
    if (!from_stdin && !(a.mask & MNEMO_OBS_F_TITLE)) {
        status = mnemo__cli_usage_error(cli, self, "--title is required");
        goto out;
    }
    if (!from_stdin && !(a.mask & MNEMO_OBS_F_TYPE)) {
        status = mnemo__cli_usage_error(cli, self, "--type is required");
        goto out;
    }
    if (mnemo__cli_project(a.project, project) != 0) {
        status = MNEMO_CLI_FAIL;
        goto out;
    }
    struct sink sk;
    struct mnemo_err err;
    memset(&sk, 0, sizeof sk);
    sk.cli = cli;
    mnemo_err_clear(&err);
    int rc = mnemo__cli_privacy_open(cli, &sk.priv, &err);
    if (rc != 0) {
        status = mnemo__cli_fail_err(NULL, &err, rc);
        goto out;
    }
    if (from_stdin) {
        status = add_json(&sk, project);
    } else {
        status = prepare(sk.priv, &a.o, project, "observation");
        if (status == MNEMO_CLI_OK)
            status = store_one(&sk, &a.o, a.json);
    }
    mnemo_privacy_free(sk.priv);
    if (sk.library)
        mnemo__cli_mem_close(cli, &sk.m);
out:
    mnemo_obs_release(&a.o);
    return status;
}

/* The JSON keys of the fields edit may change, by mask bit. */
static const struct {
    const char *key;
    unsigned bit;
} edit_keys[] = {
    {"type", MNEMO_OBS_F_TYPE},
    {"scope", MNEMO_OBS_F_SCOPE},
    {"title", MNEMO_OBS_F_TITLE},
    {"subtitle", MNEMO_OBS_F_SUBTITLE},
    {"narrative", MNEMO_OBS_F_NARRATIVE},
    {"facts", MNEMO_OBS_F_FACTS},
    {"concepts", MNEMO_OBS_F_CONCEPTS},
    {"files_read", MNEMO_OBS_F_FILES_READ},
    {"files_modified", MNEMO_OBS_F_FILES_MODIFIED},
    {"project", MNEMO_OBS_F_PROJECT},
};

/*
 * `mnemo edit` through the worker: PATCH with only the fields given (the worker cleans them).
 * Returns 0 with the updated observation's JSON in *after, MNEMO_ECLOSED, or a code with err.
 */
static int edit_worker(struct mnemo_cli *cli, int64_t id, const struct obs_args *a, json_t **after,
                       struct mnemo_err *err)
{
    char path[64];
    json_t *ans = NULL;

    json_t *all = mnemo_obs_to_json(&a->o);
    json_t *body = json_object();
    for (size_t i = 0; all != NULL && body != NULL && i < sizeof edit_keys / sizeof edit_keys[0];
         i++) {
        if ((a->mask & edit_keys[i].bit) &&
            json_object_set(body, edit_keys[i].key, json_object_get(all, edit_keys[i].key)) != 0) {
            json_decref(body);
            body = NULL;
        }
    }
    json_decref(all);
    if (body == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    snprintf(path, sizeof path, "/v1/observations/%lld", (long long)id);
    int rc = mnemo__cli_worker_json(cli, "PATCH", path, body, &ans, err);
    json_decref(body);
    if (rc != 0)
        return rc;
    *after = json_incref(json_object_get(ans, "observation"));
    json_decref(ans);
    return *after != NULL ? 0 : mnemo_err_set(err, MNEMO_EIO, "the worker sent no observation");
}

/* The same through the library: clean, update, re-embed. MNEMO_CLI_FAIL when printed. */
static int edit_library(struct mnemo_cli *cli, int64_t id, struct obs_args *a, json_t **after,
                        struct mnemo_err *err)
{
    struct mnemo_cli_mem m;
    struct mnemo_obs o;

    if (mnemo__cli_mem_open_config(cli, MNEMO_CLI_MEM_PRIVACY | MNEMO_CLI_MEM_EMBED, &m) != 0)
        return MNEMO_CLI_FAIL;
    int rc = mnemo_obs_clean(m.priv, &a->o, err);
    if (rc == 0)
        rc = mnemo_obs_update(m.st, id, a->mask, &a->o, &o, err);
    if (rc == 0) {
        *after = mnemo_obs_to_json(&o);
        mnemo_obs_release(&o);
        int erc = mnemo_search_embed_obs(m.st, NULL, m.emb, id, 0, err);
        if (erc != 0 && erc != MNEMO_EINVAL) { /* EINVAL: embeddings are off */
            mnemo__cli_fail("updated #%lld but could not embed it (run `mnemo reembed`): %s",
                            (long long)id, mnemo_err_text(err, erc));
            json_decref(*after);
            *after = NULL;
            rc = MNEMO_CLI_FAIL;
        } else if (*after == NULL) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
        }
    }
    mnemo__cli_mem_close(cli, &m);
    return rc;
}

int cmd_edit(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    struct obs_args a;
    struct mnemo_err err;
    int64_t id;

    int status = parse_obs_args(cli, self, argc, argv, &a);
    if (status >= 0)
        goto out;
    status = MNEMO_CLI_OK;
    if (optind >= argc) {
        status = mnemo__cli_usage_error(cli, self, "edit needs an observation id");
        goto out;
    }
    if (optind + 1 < argc) {
        status = mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind + 1]);
        goto out;
    }
    if (mnemo__cli_parse_id(argv[optind], &id) != 0) {
        status = mnemo__cli_usage_error(cli, self, "invalid observation id '%s'", argv[optind]);
        goto out;
    }
    if ((a.mask & MNEMO_OBS_F_ALL) == 0) {
        status = mnemo__cli_usage_error(cli, self, "nothing to change: give at least one field");
        goto out;
    }
    if (a.project != NULL) {
        char project[MNEMO_PROJECT_SIZE];
        if (mnemo__cli_project(a.project, project) != 0 || set_str(&a.o.project, project) != 0) {
            status = MNEMO_CLI_FAIL;
            goto out;
        }
    }
    json_t *after = NULL;
    mnemo_err_clear(&err);
    int rc = edit_worker(cli, id, &a, &after, &err);
    if (rc == MNEMO_ECLOSED) {
        mnemo_err_clear(&err);
        rc = edit_library(cli, id, &a, &after, &err);
    }
    if (rc == MNEMO_CLI_FAIL)
        status = MNEMO_CLI_FAIL;
    else if (rc == MNEMO_ENOTFOUND)
        status = mnemo__cli_fail("no observation #%lld", (long long)id);
    else if (rc != 0)
        status = mnemo__cli_fail_err(NULL, &err, rc);
    else if (a.json)
        status = mnemo__cli_print_json(json_incref(after));
    else
        printf("updated #%lld\n", (long long)id);
    json_decref(after);
out:
    mnemo_obs_release(&a.o);
    return status;
}
