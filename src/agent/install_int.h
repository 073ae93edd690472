/*
 * install_int.h - internals of the installers shared by install.c (files, backups, state),
 * install_json.c (JSON edits) and install_toml.c (Codex's config.toml).
 *
 * The editors are pure: text in, text out, no I/O, so the same code computes what install
 * would write (--dry-run), what it writes, and what uninstall leaves.
 * Thread-safety: pure functions.
 */
#ifndef MNEMO_AGENT_INSTALL_INT_H
#define MNEMO_AGENT_INSTALL_INT_H

#include <stddef.h>

#include "agent/install.h"
#include "util/err.h"
#include "util/strbuf.h"

/* Largest config file read (Claude's ~/.claude.json grows with history; 16 MiB is ample). */
#define MNEMO__INSTALL_FILE_MAX ((size_t)16 * 1024 * 1024)

/* One hook to write: the agent's event name, mnemo's event, the timeout in the agent's unit. */
struct mnemo__install_hook {
    const char *native;  /* "SessionStart", "BeforeAgent", "afterFileEdit" */
    const char *event;   /* mnemo's kebab-case event: "session-start" */
    int timeout;         /* seconds, or milliseconds for Gemini */
    const char *matcher; /* NULL: none written */
};

/* The shapes of hook configuration mnemo writes. */
enum mnemo__install_hook_style {
    MNEMO__HOOKS_NONE,
    MNEMO__HOOKS_NESTED, /* Claude, Codex, Gemini: hooks.<Event>[{matcher?, hooks:[handler]}] */
    MNEMO__HOOKS_FLAT,   /* Cursor: {"version":1, hooks.<event>[{command, timeout}]} */
};

/* What one JSON file holds of mnemo's. */
struct mnemo__install_json_spec {
    enum mnemo__install_hook_style hooks;
    const struct mnemo__install_hook *table; /* the hooks (style != NONE) */
    size_t n_hooks;
    const char *agent;  /* "claude": the --agent argument of each hook command */
    int gemini_names;   /* give each handler a "name" (Gemini shows and filters by name) */
    int mcp;            /* an mcpServers.mnemo entry */
    int mcp_type_stdio; /* write "type":"stdio" in it (Claude) */
};

/*
 * Removes mnemo's entries from the JSON text old (old_len bytes; NULL for a missing file)
 * and, when add, adds the current ones for command. Writes the new text into out (the
 * original's indentation and final newline; 2 spaces and a newline for a new file).
 * *found tells whether old held any of mnemo's entries; *skeleton whether nothing but what a
 * new file would start with remains after a removal. Returns 0 or MNEMO_EINVAL with err
 * naming what is wrong (what names the file).
 */
int mnemo__install_json_edit(const char *what, const char *old, size_t old_len,
                             const struct mnemo__install_json_spec *spec, const char *command,
                             int add, struct mnemo_strbuf *out, int *found, int *skeleton,
                             struct mnemo_err *err);

/*
 * The same for Codex's config.toml: removes the [mcp_servers.mnemo] table (and its
 * subtables, with the comment line install writes above it) and, when add, appends it again
 * for command. Every other byte is kept. Refuses (MNEMO_EINVAL) text it cannot edit safely:
 * an unterminated string or array, a malformed table header, mcp_servers or
 * mcp_servers.mnemo defined inline or with dotted keys, or a [mcp_servers.mnemo] table whose
 * command is not mnemo's.
 */
int mnemo__install_toml_edit(const char *what, const char *old, size_t old_len, const char *command,
                             int add, struct mnemo_strbuf *out, int *found, int *skeleton,
                             struct mnemo_err *err);

/* True when cmd (a shell command line) runs a mnemo binary with first argument word. */
int mnemo__install_is_mnemo_command(const char *cmd, const char *word);

/* Appends cmd to sb quoted for a POSIX shell when it needs quoting. 0 or a strbuf error. */
int mnemo__install_shell_quote(struct mnemo_strbuf *sb, const char *cmd);

#endif
