/*
 * install.h - writes and removes mnemo's hook and MCP configuration in each agent's own files.
 *
 * `mnemo install <agent> [--user|--project]` merges mnemo's entries into the agent's config
 * (JSON with jansson; Codex's config.toml with a small line editor that only adds or removes
 * mnemo's own [mcp_servers.mnemo] table and leaves every other byte as it was), and
 * `mnemo uninstall <agent>` takes exactly those entries out again. Files per agent:
 *
 *   claude  user: ~/.claude/settings.json (hooks), ~/.claude.json (mcpServers.mnemo)
 *           project: .claude/settings.json (hooks), .mcp.json (mcpServers.mnemo)
 *   codex   <base>/.codex/hooks.json (hooks), <base>/.codex/config.toml ([mcp_servers.mnemo])
 *   gemini  <base>/.gemini/settings.json (hooks and mcpServers.mnemo)
 *   cursor  <base>/.cursor/hooks.json (hooks), <base>/.cursor/mcp.json (mcpServers.mnemo), and
 *           for --project .cursor/rules/mnemo.mdc (Cursor's prompt hook cannot inject context,
 *           so a rule tells the agent to call the mnemo search tool; Cursor reads rules per
 *           project only, so --user relies on the sessionStart hook's additional_context)
 *
 * where <base> is $HOME for --user and the current directory for --project. Claude Code's
 * CLAUDE_CONFIG_DIR and Codex's CODEX_HOME move their user files (opts.agent_dir).
 *
 * mnemo's entries are recognised by their command: a hook whose command's program name
 * contains "mnemo" followed by the word "hook", an MCP server whose command names a mnemo
 * binary with the argument "mcp". Installing removes any such entries and adds the current
 * ones, so installing twice gives the same bytes and never duplicates an entry; other hooks
 * and servers are kept in their places.
 *
 * Round trip. Before the first change of an existing file, install copies it to
 * <file>.mnemo-backup (0600, only when no backup exists yet), and after every write it records
 * in <file>.mnemo-install (0600) whether install created the file and a hash of the bytes it
 * wrote. Uninstall then:
 *   - when the file still holds exactly what install wrote (same hash): deletes it if install
 *     had created it, otherwise restores the backup byte for byte (and deletes the backup);
 *   - when the file was changed since (by the user or the agent): removes mnemo's entries from
 *     the current content and keeps everything else. TOML keeps every other byte; JSON is
 *     written back by jansson with the file's indentation and final newline, which reproduces
 *     the usual 2- or 4-space layouts but not every hand formatting; the backup is kept.
 * Writes are atomic (temporary file and rename) and keep the file's mode; a symlinked config
 * is edited at its target. Nothing is written when any file cannot be parsed: every file is
 * read and checked before the first one changes.
 *
 * Ownership: the caller owns the options and the report. Thread-safety: no shared state, but
 * two installs of the same files at once race like any two editors.
 */
#ifndef MNEMO_AGENT_INSTALL_H
#define MNEMO_AGENT_INSTALL_H

#include <stddef.h>

#include "agent/adapter.h"
#include "util/err.h"

enum mnemo_install_scope {
    MNEMO_INSTALL_USER,    /* the user's own config under $HOME */
    MNEMO_INSTALL_PROJECT, /* the project's config under the current directory */
};

struct mnemo_install_opts {
    enum mnemo_agent agent;
    enum mnemo_install_scope scope;
    const char *base;      /* absolute directory: $HOME (user) or the project directory */
    const char *command;   /* the mnemo binary hooks and the MCP server run; its file name must
                              contain "mnemo" so that uninstall recognises the entries */
    int dry_run;           /* compute and report, write nothing */
    const char *agent_dir; /* user scope only, may be NULL: the agent's own config directory
                              when the user moved it (CLAUDE_CONFIG_DIR holds settings.json and
                              .claude.json; CODEX_HOME holds hooks.json and config.toml) */
};

/* What happened to one file. */
enum mnemo_install_action {
    MNEMO_INSTALL_CREATED,   /* install created the file */
    MNEMO_INSTALL_UPDATED,   /* install merged mnemo's entries into an existing file */
    MNEMO_INSTALL_UNCHANGED, /* the file already held exactly this (install or uninstall) */
    MNEMO_INSTALL_REMOVED,   /* uninstall deleted a file install had created */
    MNEMO_INSTALL_RESTORED,  /* uninstall put the backup of the original back */
    MNEMO_INSTALL_CLEANED,   /* uninstall took mnemo's entries out of a changed file */
    MNEMO_INSTALL_KEPT,      /* uninstall left a file alone (see note) */
};

#define MNEMO_INSTALL_PATH_MAX  4096
#define MNEMO_INSTALL_MAX_FILES 4

struct mnemo_install_change {
    char path[MNEMO_INSTALL_PATH_MAX];
    enum mnemo_install_action action;
    char what[512];                          /* what was added or removed, for people */
    char note[MNEMO_INSTALL_PATH_MAX + 128]; /* backup or caveat; "" when none */
};

struct mnemo_install_report {
    size_t n;
    struct mnemo_install_change files[MNEMO_INSTALL_MAX_FILES];
};

/*
 * Installs mnemo's hooks and MCP server for o->agent at o->scope (see above). Fills rep with
 * one entry per file. Returns 0; MNEMO_EINVAL when an existing file is not valid JSON/TOML or
 * holds something in the way (a server named "mnemo" that is not mnemo's, an inline
 * mcp_servers table), with err naming the file and the problem, and no file changed; or an
 * I/O code. A failure while writing the second file leaves the first one written (each file
 * is consistent on its own; running install again completes it).
 */
int mnemo_install_apply(const struct mnemo_install_opts *o, struct mnemo_install_report *rep,
                        struct mnemo_err *err);

/* Removes what mnemo_install_apply added (see above); o->command is not used. Same returns. */
int mnemo_install_remove(const struct mnemo_install_opts *o, struct mnemo_install_report *rep,
                         struct mnemo_err *err);

/* "created", "updated", ... for messages. */
const char *mnemo_install_action_name(enum mnemo_install_action a);

#endif
