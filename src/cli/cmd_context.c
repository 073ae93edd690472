/*
 * cmd_context.c - `mnemo context [--prompt TEXT] [--project P]`: prints exactly the text mnemo
 * would inject into an agent: the session-start index without --prompt, the per-prompt memory
 * block with it. Nothing is printed when nothing would be injected.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/config.h"
#include "search/context.h"

/* The prompt as the hook would search it: cleaned first, like everything that is embedded. */
static int clean_prompt(struct mnemo_cli_mem *m, const char *prompt,
                        struct mnemo_privacy_result *res, struct mnemo_err *err)
{
    return mnemo_privacy_clean(m->priv, prompt, strlen(prompt), res, err);
}

static int build(struct mnemo_cli_mem *m, const char *project, const char *prompt, int tokens,
                 struct mnemo_strbuf *out, struct mnemo_err *err)
{
    if (prompt == NULL)
        return mnemo_context_session_start(m->st, project, tokens, out, NULL, err);

    struct mnemo_privacy_result clean;
    int rc = clean_prompt(m, prompt, &clean, err);
    if (rc != 0)
        return rc;
    struct mnemo_vindex *vx = NULL;
    if (!clean.wholly_private && clean.len > 0) {
        rc = mnemo__cli_vindex_build(m, &vx, err);
        if (rc == 0)
            rc = mnemo_context_prompt(m->st, vx, vx != NULL ? m->emb : NULL, project, clean.text,
                                      tokens, 0, NULL, out, NULL, err);
    }
    mnemo_vindex_close(vx);
    mnemo_privacy_result_release(&clean);
    return rc;
}

/*
 * The token budget the worker would use: context.session_tokens or context.prompt_tokens from
 * the config (0, the library's default, when the config cannot be read: the command still
 * works, and the worker would refuse to start on a bad config anyway).
 */
static int budget(struct mnemo_cli *cli, int prompt)
{
    struct mnemo_config *c = NULL;
    int64_t tokens = 0;
    if (mnemo_config_load(cli->home, cli->log, &c, NULL) == 0) {
        tokens = mnemo_config_int(c, prompt ? "context.prompt_tokens" : "context.session_tokens");
        mnemo_config_free(c);
    }
    return (int)tokens;
}

/* The library's answer in the worker's shape: {context}. */
static int library_context(struct mnemo_cli *cli, const char *project, const char *prompt,
                           json_t **ans, struct mnemo_err *err)
{
    struct mnemo_cli_mem m;
    struct mnemo_strbuf out;

    if (mnemo__cli_mem_open_config(cli, MNEMO_CLI_MEM_PRIVACY | MNEMO_CLI_MEM_EMBED, &m) != 0)
        return MNEMO_CLI_FAIL;
    mnemo_strbuf_init(&out, 0);
    int rc = build(&m, project, prompt, budget(cli, prompt != NULL), &out, err);
    mnemo__cli_mem_close(cli, &m);
    if (rc == 0) {
        *ans = json_pack("{s:s}", "context", mnemo_strbuf_str(&out));
        if (*ans == NULL)
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    mnemo_strbuf_release(&out);
    return rc;
}

/* Asks the worker, else the library. 0 with *ans, a code with err, or MNEMO_CLI_FAIL. */
static int context(struct mnemo_cli *cli, const char *project, const char *prompt, json_t **ans,
                   struct mnemo_err *err)
{
    *ans = NULL;
    json_t *body = prompt != NULL ? json_pack("{s:s,s:s}", "project", project, "prompt", prompt)
                                  : json_pack("{s:s}", "project", project);
    if (body == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    int rc = mnemo__cli_worker_json(
        cli, "POST", prompt != NULL ? "/v1/context/prompt" : "/v1/context/session-start", body, ans,
        err);
    json_decref(body);
    if (rc == 0 && !json_is_string(json_object_get(*ans, "context"))) {
        json_decref(*ans);
        *ans = NULL;
        return mnemo_err_set(err, MNEMO_EIO, "the worker's answer has no context");
    }
    if (rc != MNEMO_ECLOSED)
        return rc;
    mnemo_err_clear(err);
    return library_context(cli, project, prompt, ans, err);
}

int cmd_context(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    enum { OPT_PROMPT = 256, OPT_PROJECT };
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"project", required_argument, NULL, OPT_PROJECT},
        {"prompt", required_argument, NULL, OPT_PROMPT},
        {NULL, 0, NULL, 0},
    };
    const char *prompt = NULL, *project_flag = NULL;

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == OPT_PROMPT)
            prompt = optarg;
        else if (c == OPT_PROJECT)
            project_flag = optarg;
        else
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);
    if (prompt != NULL && strlen(prompt) > MNEMO_PRIVACY_MAX_INPUT)
        return mnemo__cli_usage_error(cli, self, "the prompt is too long");

    char project[MNEMO_PROJECT_SIZE];
    if (mnemo__cli_project(project_flag, project) != 0)
        return MNEMO_CLI_FAIL;

    json_t *ans = NULL;
    struct mnemo_err err;
    mnemo_err_clear(&err);
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;
    int rc = context(cli, project, prompt, &ans, &err);
    if (rc == MNEMO_CLI_FAIL)
        return MNEMO_CLI_FAIL;
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    const char *s = json_string_value(json_object_get(ans, "context"));
    size_t len = strlen(s);
    if (len > 0) {
        fputs(s, stdout);
        if (s[len - 1] != '\n')
            putchar('\n');
    }
    json_decref(ans);
    int status = MNEMO_CLI_OK;
    return status;
}
