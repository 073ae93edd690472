/*
 * cmd_config.c - `mnemo config get|set|unset|list`: read and change $MNEMO_HOME/config.json
 * through util/config.h, which validates every value the same way the worker does at start.
 *
 * Secret values (embed.api_key) print as "***" unless --reveal is given, so a pasted `mnemo
 * config list` never leaks a key. A running worker picks changes up on SIGHUP or restart.
 */
#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "util/config.h"

/* What a secret shows as unless revealed (an empty secret shows as empty: nothing to hide). */
#define SECRET_MASK "***"

static int config_get(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                      char **argv);
static int config_list(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                       char **argv);
static int config_set(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                      char **argv);
static int config_unset(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                        char **argv);

/* The subcommands, sorted by name. */
static const struct mnemo_cli_cmd config_commands[] = {
    {
        "get",
        config_get,
        "mnemo config get KEY [--reveal]",
        "print one setting's value",
        "Prints the value of KEY as the worker would use it: from the environment\n"
        "(MNEMO_<KEY>), else config.json, else the built-in default. Secret values print as\n"
        "*** unless --reveal is given.\n"
        "\n"
        "options:\n"
        "  --reveal    print secret values as they are\n",
    },
    {
        "list",
        config_list,
        "mnemo config list [--json] [--reveal]",
        "print every setting with its value and where it comes from",
        "Prints every key with its value and its source (default, file or env). Secret values\n"
        "print as *** unless --reveal is given.\n"
        "\n"
        "options:\n"
        "  --json      one JSON object: {\"<key>\": {\"value\", \"source\", \"default\", \"secret\",\n"
        "              \"help\"}}\n"
        "  --reveal    print secret values as they are\n",
    },
    {
        "set",
        config_set,
        "mnemo config set KEY VALUE",
        "write a setting into config.json",
        "Checks VALUE against KEY's type and bounds and writes it into config.json (mode 0600,\n"
        "replaced atomically, other keys kept). A MNEMO_<KEY> variable still overrides it.\n",
    },
    {
        "unset",
        config_unset,
        "mnemo config unset KEY",
        "remove a setting from config.json (back to the default)",
        "Removes KEY from config.json, so the built-in default applies again (unless a\n"
        "MNEMO_<KEY> variable is set).\n",
    },
};

#define N_CONFIG_COMMANDS (sizeof config_commands / sizeof config_commands[0])

/* Prints config's help, the subcommands and the key table. */
static int config_help(const struct mnemo_cli_cmd *self)
{
    size_t n;
    const struct mnemo_config_key *keys = mnemo_config_keys(&n);

    mnemo__cli_help(self);
    fputs("\nsubcommands:\n", stdout);
    for (size_t i = 0; i < N_CONFIG_COMMANDS; i++)
        printf("  %-8s %s\n", config_commands[i].name, config_commands[i].summary);
    fputs("\nkeys (default in brackets):\n", stdout);
    for (size_t i = 0; i < n; i++)
        printf("  %-26s %s [%s]\n", keys[i].name, keys[i].help,
               keys[i].def[0] != '\0' ? keys[i].def : "\"\"");
    fputs("\nRun 'mnemo config <subcommand> --help' for a subcommand's help.\n", stdout);
    return MNEMO_CLI_OK;
}

int cmd_config(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    return mnemo__cli_run_subcommand(cli, self, argc, argv, config_commands, N_CONFIG_COMMANDS,
                                     config_help, "config");
}

/*
 * Parses a subcommand's options: --help always, --json and --reveal where the flags
 * pointers are given. Positional arguments are left at argv[optind..]. Returns -1 to go on,
 * or the status to exit with.
 */
static int parse_sub(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv,
                     int *json, int *reveal, int n_args)
{
    static const struct option all[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, 'j'},
        {"reveal", no_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    struct option opts[4];
    size_t n = 0;

    opts[n++] = all[0];
    if (json != NULL)
        opts[n++] = all[1];
    if (reveal != NULL)
        opts[n++] = all[2];
    opts[n] = all[3];

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == 'j' && json != NULL) {
            *json = 1;
            continue;
        }
        if (c == 'r' && reveal != NULL) {
            *reveal = 1;
            continue;
        }
        return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    int have = argc - optind;
    if (have < n_args)
        return mnemo__cli_usage_error(cli, self, "%s needs %s", self->name,
                                      n_args == 2 ? "a key and a value" : "a key");
    if (have > n_args)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind + n_args]);
    return -1;
}

/* Resolves the home and loads its config; prints the error and returns MNEMO_CLI_FAIL. */
static int load(struct mnemo_cli *cli, struct mnemo_config **c)
{
    struct mnemo_err err;

    *c = NULL;
    mnemo_err_clear(&err);
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;
    int rc = mnemo_config_load(cli->home, cli->log, c, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    return 0;
}

/* The key named by the user, or NULL after printing that there is no such key. */
static const struct mnemo_config_key *find_key(const char *name)
{
    const struct mnemo_config_key *k = mnemo_config_key_find(name);
    if (k == NULL)
        mnemo__cli_fail("unknown config key '%s' (run `mnemo config list` for the keys)", name);
    return k;
}

/* The value to show: masked for a non-empty secret unless revealed. */
static const char *shown(const struct mnemo_config_key *k, const char *value, int reveal)
{
    return k->secret && !reveal && value[0] != '\0' ? SECRET_MASK : value;
}

static int config_get(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                      char **argv)
{
    int reveal = 0;
    int st = parse_sub(cli, self, argc, argv, NULL, &reveal, 1);
    if (st >= 0)
        return st;

    const struct mnemo_config_key *k = find_key(argv[optind]);
    if (k == NULL)
        return MNEMO_CLI_FAIL;
    struct mnemo_config *c;
    if (load(cli, &c) != 0)
        return MNEMO_CLI_FAIL;
    const char *value = "";
    int rc = mnemo_config_get_text(c, k->name, &value, NULL, NULL);
    assert(rc == 0);
    (void)rc;
    printf("%s\n", shown(k, value, reveal));
    mnemo_config_free(c);
    return MNEMO_CLI_OK;
}

/* The value as JSON of its type (masked secrets stay strings). NULL when out of memory. */
static json_t *value_json(const struct mnemo_config *c, const struct mnemo_config_key *k,
                          const char *text, int reveal)
{
    switch (k->type) {
    case MNEMO_CONFIG_INT:
        return json_integer((json_int_t)mnemo_config_int(c, k->name));
    case MNEMO_CONFIG_BOOL:
        return json_boolean(mnemo_config_bool(c, k->name));
    case MNEMO_CONFIG_STRING:
        break;
    }
    return json_string(shown(k, text, reveal));
}

static int config_list(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                       char **argv)
{
    int json = 0, reveal = 0;
    int st = parse_sub(cli, self, argc, argv, &json, &reveal, 0);
    if (st >= 0)
        return st;

    struct mnemo_config *c;
    if (load(cli, &c) != 0)
        return MNEMO_CLI_FAIL;
    size_t n;
    const struct mnemo_config_key *keys = mnemo_config_keys(&n);
    json_t *out = json ? json_object() : NULL;
    int status = MNEMO_CLI_OK;

    if (json && out == NULL) {
        status = mnemo__cli_fail("out of memory");
        goto done;
    }
    if (!json)
        printf("%-26s %-24s %s\n", "KEY", "VALUE", "SOURCE");
    for (size_t i = 0; i < n; i++) {
        const char *text = "";
        enum mnemo_config_source src = MNEMO_CONFIG_DEFAULT;
        int rc = mnemo_config_get_text(c, keys[i].name, &text, &src, NULL);
        assert(rc == 0);
        (void)rc;
        if (!json) {
            printf("%-26s %-24s %s\n", keys[i].name, shown(&keys[i], text, reveal),
                   mnemo_config_source_name(src));
            continue;
        }
        json_t *row =
            json_pack("{s:o?,s:s,s:s,s:b,s:s}", "value", value_json(c, &keys[i], text, reveal),
                      "source", mnemo_config_source_name(src), "default", keys[i].def, "secret",
                      keys[i].secret, "help", keys[i].help);
        if (row == NULL || json_object_set_new(out, keys[i].name, row) != 0) {
            status = mnemo__cli_fail("out of memory");
            goto done;
        }
    }
    if (json) {
        status = mnemo__cli_print_json(out);
        out = NULL;
    }
done:
    json_decref(out);
    mnemo_config_free(c);
    return status;
}

/* Writes (value) or removes (NULL) key in config.json; notes an overriding variable. */
static int write_key(struct mnemo_cli *cli, const char *name, const char *value)
{
    struct mnemo_err err;

    const struct mnemo_config_key *k = find_key(name);
    if (k == NULL)
        return MNEMO_CLI_FAIL;
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;
    mnemo_err_clear(&err);
    int rc = mnemo_config_set(cli->home, k->name, value, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);

    char env[128];
    int len = snprintf(env, sizeof env, "MNEMO_%s", k->name);
    assert(len > 0 && (size_t)len < sizeof env);
    (void)len;
    for (char *p = env; *p != '\0'; p++)
        *p = *p == '.' ? '_' : (*p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p);
    const char *v = getenv(env);
    if (v != NULL && v[0] != '\0')
        fprintf(stderr, "mnemo: note: %s is set in the environment and overrides config.json\n",
                env);
    return MNEMO_CLI_OK;
}

static int config_set(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                      char **argv)
{
    int st = parse_sub(cli, self, argc, argv, NULL, NULL, 2);
    if (st >= 0)
        return st;
    return write_key(cli, argv[optind], argv[optind + 1]);
}

static int config_unset(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                        char **argv)
{
    int st = parse_sub(cli, self, argc, argv, NULL, NULL, 1);
    if (st >= 0)
        return st;
    return write_key(cli, argv[optind], NULL);
}
