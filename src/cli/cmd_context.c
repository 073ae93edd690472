/*
 * cmd_context.c - `mnemo context [--prompt TEXT] [--project P]`: prints exactly the text mnemo
 * would inject into an agent: the session-start index without --prompt, the per-prompt memory
 * block with it. Nothing is printed when nothing would be injected.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "search/context.h"

/* The prompt as the hook would search it: cleaned first, like everything that is embedded. */
static int clean_prompt(struct mnemo_cli_mem *m, const char *prompt,
                        struct mnemo_privacy_result *res, struct mnemo_err *err)
{
    return mnemo_privacy_clean(m->priv, prompt, strlen(prompt), res, err);
}

static int build(struct mnemo_cli_mem *m, const char *project, const char *prompt,
                 struct mnemo_strbuf *out, struct mnemo_err *err)
{
    if (prompt == NULL)
        return mnemo_context_session_start(m->st, project, 0, out, NULL, err);

    struct mnemo_privacy_result clean;
    int rc = clean_prompt(m, prompt, &clean, err);
    if (rc != 0)
        return rc;
    struct mnemo_vindex *vx = NULL;
    if (!clean.wholly_private && clean.len > 0) {
        rc = mnemo__cli_vindex_build(m, &vx, err);
        if (rc == 0)
            rc = mnemo_context_prompt(m->st, vx, vx != NULL ? m->emb : NULL, project, clean.text, 0,
                                      0, NULL, out, NULL, err);
    }
    mnemo_vindex_close(vx);
    mnemo_privacy_result_release(&clean);
    return rc;
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

    struct mnemo_cli_mem m;
    struct mnemo_strbuf out;
    struct mnemo_err err;
    if (mnemo__cli_mem_open(cli, MNEMO_CLI_MEM_PRIVACY | MNEMO_CLI_MEM_EMBED, &m) != 0)
        return MNEMO_CLI_FAIL;
    mnemo_err_clear(&err);
    mnemo_strbuf_init(&out, 0);
    int status = MNEMO_CLI_OK;
    int rc = build(&m, project, prompt, &out, &err);
    if (rc != 0) {
        status = mnemo__cli_fail_err(NULL, &err, rc);
    } else if (out.len > 0) {
        const char *s = mnemo_strbuf_str(&out);
        fputs(s, stdout);
        if (s[out.len - 1] != '\n')
            putchar('\n');
    }
    mnemo_strbuf_release(&out);
    mnemo__cli_mem_close(cli, &m);
    return status;
}
