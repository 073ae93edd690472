/*
 * install_json.c - adds and removes mnemo's hooks and MCP server in an agent's JSON config.
 *
 * The text is parsed with jansson (duplicate keys refused: keeping only the last would lose
 * the user's data silently), edited as a tree and written back with the original's
 * indentation and final newline. Keys keep their order; what mnemo adds goes at the end of
 * its object or array, so removing it and adding it again gives the same bytes.
 */
#include <string.h>

#include <jansson.h>

#include "agent/install_int.h"

/* ---- commands ---------------------------------------------------------------------------- */

/* Characters a shell word may hold unquoted. */
static int shell_safe(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("_./+-:@%,=", c) != NULL;
}

int mnemo__install_shell_quote(struct mnemo_strbuf *sb, const char *cmd)
{
    int safe = cmd[0] != '\0';
    for (const char *p = cmd; *p != '\0'; p++)
        if (!shell_safe(*p))
            safe = 0;
    if (safe)
        return mnemo_strbuf_puts(sb, cmd);
    int rc = mnemo_strbuf_puts(sb, "'");
    for (const char *p = cmd; rc == 0 && *p != '\0'; p++)
        rc = *p == '\'' ? mnemo_strbuf_puts(sb, "'\\''") : mnemo_strbuf_append(sb, p, 1);
    return rc == 0 ? mnemo_strbuf_puts(sb, "'") : rc;
}

/*
 * Reads one shell word of s into buf (quotes removed); returns a pointer past it, or NULL
 * when there is none or it does not fit.
 */
static const char *shell_word(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    char quote = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return NULL;
    for (; *s != '\0'; s++) {
        char c = *s;
        if (quote != 0) {
            if (c == quote) {
                quote = 0;
                continue;
            }
            if (quote == '"' && c == '\\' && s[1] != '\0')
                c = *++s;
        } else if (c == ' ' || c == '\t') {
            break;
        } else if (c == '\'' || c == '"') {
            quote = c;
            continue;
        } else if (c == '\\' && s[1] != '\0') {
            c = *++s;
        }
        if (n + 1 >= size)
            return NULL;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return s;
}

int mnemo__install_is_mnemo_command(const char *cmd, const char *word)
{
    char prog[4096];
    char arg[64];

    if (cmd == NULL)
        return 0;
    const char *rest = shell_word(cmd, prog, sizeof prog);
    if (rest == NULL || shell_word(rest, arg, sizeof arg) == NULL)
        return 0;
    const char *base = strrchr(prog, '/');
    base = base != NULL ? base + 1 : prog;
    return strstr(base, "mnemo") != NULL && strcmp(arg, word) == 0;
}

/* ---- format of the original --------------------------------------------------------------- */

struct layout {
    size_t flags; /* json_dumps flags */
    int newline;  /* end with "\n" */
};

/*
 * The original's layout: indentation of its first indented line (spaces; tabs cannot be
 * reproduced and fall back to 2), compact when it is all on one line, and its final newline.
 */
static struct layout layout_of(const char *text, size_t len)
{
    struct layout l = {JSON_INDENT(2), 1};
    if (text == NULL)
        return l;
    size_t end = len;
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' '))
        end--;
    l.newline = len > 0 && text[len - 1] == '\n';
    const char *nl = memchr(text, '\n', end);
    if (nl == NULL) {
        l.flags = JSON_COMPACT;
        return l;
    }
    for (const char *p = text; p < text + end; p++) {
        if (*p != '\n')
            continue;
        size_t spaces = 0;
        while (p + 1 + spaces < text + end && p[1 + spaces] == ' ')
            spaces++;
        if (spaces > 0 && spaces <= 31 && p + 1 + spaces < text + end) {
            l.flags = JSON_INDENT(spaces);
            break;
        }
    }
    return l;
}

/* ---- removal ------------------------------------------------------------------------------- */

/* True when handler (a hook handler object) is one of mnemo's. */
static int is_mnemo_handler(const json_t *handler)
{
    return json_is_object(handler) &&
           mnemo__install_is_mnemo_command(json_string_value(json_object_get(handler, "command")),
                                           "hook");
}

/* True when server (an mcpServers value) runs `mnemo mcp`. */
static int is_mnemo_server(const json_t *server)
{
    const char *cmd = json_string_value(json_object_get(server, "command"));
    if (cmd == NULL)
        return 0;
    if (mnemo__install_is_mnemo_command(cmd, "mcp"))
        return 1;
    const json_t *args = json_object_get(server, "args");
    const char *first = json_string_value(json_array_get(args, 0));
    const char *base = strrchr(cmd, '/');
    base = base != NULL ? base + 1 : cmd;
    return first != NULL && strcmp(first, "mcp") == 0 && strstr(base, "mnemo") != NULL;
}

/* Removes mnemo's handlers from one array (of handlers, or of groups for nested). */
static int remove_from_array(json_t *arr, int nested)
{
    int found = 0;
    for (size_t i = json_array_size(arr); i-- > 0;) {
        json_t *item = json_array_get(arr, i);
        if (!nested) {
            if (is_mnemo_handler(item)) {
                json_array_remove(arr, i);
                found = 1;
            }
            continue;
        }
        json_t *handlers = json_object_get(item, "hooks");
        if (!json_is_array(handlers))
            continue;
        size_t before = json_array_size(handlers);
        if (remove_from_array(handlers, 0)) {
            found = 1;
            /* A group left empty by mnemo's removal was mnemo's group. */
            if (before > 0 && json_array_size(handlers) == 0)
                json_array_remove(arr, i);
        }
    }
    return found;
}

/* Removes mnemo's hooks from root (any event: a renamed event must not leave stale ones). */
static int remove_hooks(json_t *root, int nested)
{
    json_t *hooks = json_object_get(root, "hooks");
    if (!json_is_object(hooks))
        return 0;
    int found = 0;
    const char *key;
    json_t *val;
    void *tmp;
    json_object_foreach_safe(hooks, tmp, key, val)
    {
        if (!json_is_array(val))
            continue;
        size_t before = json_array_size(val);
        if (remove_from_array(val, nested)) {
            found = 1;
            if (before > 0 && json_array_size(val) == 0)
                json_object_del(hooks, key);
        }
    }
    if (found && json_object_size(hooks) == 0)
        json_object_del(root, "hooks");
    return found;
}

/* Removes every server running `mnemo mcp` from root.mcpServers. */
static int remove_servers(json_t *root)
{
    json_t *servers = json_object_get(root, "mcpServers");
    if (!json_is_object(servers))
        return 0;
    int found = 0;
    const char *key;
    json_t *val;
    void *tmp;
    json_object_foreach_safe(servers, tmp, key, val)
    {
        if (is_mnemo_server(val)) {
            json_object_del(servers, key);
            found = 1;
        }
    }
    if (found && json_object_size(servers) == 0)
        json_object_del(root, "mcpServers");
    return found;
}

/* ---- addition ----------------------------------------------------------------------------- */

/* The object at root[key], created (at the end) when missing. NULL when it is not an object. */
static json_t *child_object(json_t *root, const char *key)
{
    json_t *o = json_object_get(root, key);
    if (o == NULL) {
        o = json_object();
        if (o == NULL || json_object_set_new(root, key, o) != 0)
            return NULL;
    }
    return json_is_object(o) ? o : NULL;
}

static int add_hooks(json_t *root, const struct mnemo__install_json_spec *spec, const char *command,
                     const char *what, struct mnemo_err *err)
{
    json_t *hooks = json_object_get(root, "hooks");
    if (hooks != NULL && !json_is_object(hooks))
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: \"hooks\" is not an object", what);
    hooks = child_object(root, "hooks");
    if (hooks == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);

    for (size_t i = 0; i < spec->n_hooks; i++) {
        const struct mnemo__install_hook *h = &spec->table[i];
        json_t *arr = json_object_get(hooks, h->native);
        if (arr != NULL && !json_is_array(arr))
            return mnemo_err_set(err, MNEMO_EINVAL, "%s: \"hooks.%s\" is not an array", what,
                                 h->native);
        struct mnemo_strbuf cmd;
        mnemo_strbuf_init(&cmd, 8192);
        int rc = mnemo__install_shell_quote(&cmd, command);
        if (rc == 0)
            rc = mnemo_strbuf_appendf(&cmd, " hook %s --agent %s", h->event, spec->agent);
        json_t *handler = NULL;
        if (rc == 0 && spec->hooks == MNEMO__HOOKS_NESTED) {
            handler = json_pack("{s:s,s:s,s:i}", "type", "command", "command",
                                mnemo_strbuf_str(&cmd), "timeout", h->timeout);
            if (handler != NULL && spec->gemini_names) {
                char name[64];
                snprintf(name, sizeof name, "mnemo-%s", h->event);
                json_object_set_new(handler, "name", json_string(name));
            }
        } else if (rc == 0) {
            handler =
                json_pack("{s:s,s:i}", "command", mnemo_strbuf_str(&cmd), "timeout", h->timeout);
        }
        mnemo_strbuf_release(&cmd);
        if (handler == NULL)
            return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
        json_t *item = handler;
        if (spec->hooks == MNEMO__HOOKS_NESTED) {
            item = json_object();
            if (item == NULL) {
                json_decref(handler);
                return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
            }
            if (h->matcher != NULL)
                json_object_set_new(item, "matcher", json_string(h->matcher));
            /* json_pack's "o" takes the handler's reference, even when it fails. */
            if (json_object_set_new(item, "hooks", json_pack("[o]", handler)) != 0) {
                json_decref(item);
                return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
            }
        }
        if (arr == NULL) {
            arr = json_array();
            if (arr == NULL || json_object_set_new(hooks, h->native, arr) != 0) {
                json_decref(item);
                return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
            }
        }
        if (json_array_append_new(arr, item) != 0)
            return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
    }
    return 0;
}

static int add_server(json_t *root, const struct mnemo__install_json_spec *spec,
                      const char *command, const char *what, struct mnemo_err *err)
{
    json_t *servers = json_object_get(root, "mcpServers");
    if (servers != NULL && !json_is_object(servers))
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: \"mcpServers\" is not an object", what);
    if (json_object_get(servers, "mnemo") != NULL)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "%s: an MCP server named \"mnemo\" that does not run `mnemo mcp` is "
                             "already configured; rename or remove it first",
                             what);
    servers = child_object(root, "mcpServers");
    json_t *entry =
        spec->mcp_type_stdio
            ? json_pack("{s:s,s:s,s:[s]}", "type", "stdio", "command", command, "args", "mcp")
            : json_pack("{s:s,s:[s]}", "command", command, "args", "mcp");
    if (servers == NULL || entry == NULL || json_object_set_new(servers, "mnemo", entry) != 0)
        return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
    return 0;
}

/* ---- the edit ----------------------------------------------------------------------------- */

/* True when root holds nothing but what a new file starts with. */
static int is_skeleton(const json_t *root, const struct mnemo__install_json_spec *spec)
{
    size_t n = json_object_size(root);
    if (n == 0)
        return 1;
    return spec->hooks == MNEMO__HOOKS_FLAT && n == 1 &&
           json_integer_value(json_object_get(root, "version")) == 1;
}

int mnemo__install_json_edit(const char *what, const char *old, size_t old_len,
                             const struct mnemo__install_json_spec *spec, const char *command,
                             int add, struct mnemo_strbuf *out, int *found, int *skeleton,
                             struct mnemo_err *err)
{
    json_t *root = NULL;
    json_error_t jerr;
    int rc = 0;

    *found = 0;
    *skeleton = 0;
    /* An empty file (some tools create one) is an empty configuration, not an error. */
    size_t blank = 0;
    while (old != NULL && blank < old_len && old[blank] != '\0' &&
           strchr(" \t\r\n", old[blank]) != NULL)
        blank++;
    if (old != NULL && blank == old_len)
        old = NULL;
    if (old != NULL) {
        root = json_loadb(old, old_len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL)
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "%s is not valid JSON (line %d, column %d: %s); it was not "
                                 "changed",
                                 what, jerr.line, jerr.column, jerr.text);
        if (!json_is_object(root)) {
            json_decref(root);
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "%s does not hold a JSON object; it was not changed", what);
        }
    } else {
        root = spec->hooks == MNEMO__HOOKS_FLAT ? json_pack("{s:i}", "version", 1) : json_object();
        if (root == NULL)
            return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
    }

    if (spec->hooks != MNEMO__HOOKS_NONE && remove_hooks(root, spec->hooks == MNEMO__HOOKS_NESTED))
        *found = 1;
    if (spec->mcp && remove_servers(root))
        *found = 1;
    *skeleton = is_skeleton(root, spec);

    if (add && spec->hooks != MNEMO__HOOKS_NONE)
        rc = add_hooks(root, spec, command, what, err);
    if (rc == 0 && add && spec->mcp)
        rc = add_server(root, spec, command, what, err);
    if (rc == 0) {
        struct layout l = layout_of(old, old_len);
        char *text = json_dumps(root, l.flags);
        if (text == NULL) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "%s: cannot serialize JSON", what);
        } else {
            mnemo_strbuf_reset(out);
            rc = mnemo_strbuf_puts(out, text);
            if (rc == 0 && l.newline)
                rc = mnemo_strbuf_puts(out, "\n");
            if (rc != 0)
                rc = mnemo_err_set(err, rc, "%s: %s", what, mnemo_strerror(rc));
            free(text);
        }
    }
    json_decref(root);
    return rc;
}
