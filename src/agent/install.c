/*
 * install.c - mnemo install / uninstall: which files each agent reads, backups, the state
 * that makes uninstall exact, and the two-phase apply (every file read and edited in memory
 * before the first one is written).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/install_int.h"
#include "util/fs.h"

/* ---- what each agent gets ------------------------------------------------------------------ */

/*
 * Timeouts sit well above mnemo's own deadlines (session-start 2 s, user-prompt-submit 1 s,
 * post-tool-use 0.3 s, stop 1 s, session-end 0.8 s): the hook always answers first, so the
 * agent never kills it and never drops its context.
 */
static const struct mnemo__install_hook claude_hooks[] = {
    {"SessionStart", "session-start", 5, NULL}, {"UserPromptSubmit", "user-prompt-submit", 3, NULL},
    {"PostToolUse", "post-tool-use", 2, "*"},   {"Stop", "stop", 3, NULL},
    {"SubagentStop", "subagent-stop", 3, NULL}, {"SessionEnd", "session-end", 2, NULL},
    {"PreCompact", "pre-compact", 3, NULL},
};

/* Codex: Claude's names, seconds; SessionEnd is clamped to 3 s by Codex itself. */
static const struct mnemo__install_hook codex_hooks[] = {
    {"SessionStart", "session-start", 5, NULL}, {"UserPromptSubmit", "user-prompt-submit", 3, NULL},
    {"PostToolUse", "post-tool-use", 2, NULL},  {"Stop", "stop", 3, NULL},
    {"SubagentStop", "subagent-stop", 3, NULL}, {"SessionEnd", "session-end", 2, NULL},
    {"PreCompact", "pre-compact", 3, NULL},
};

/* Gemini CLI: its own event names; timeouts in milliseconds. */
static const struct mnemo__install_hook gemini_hooks[] = {
    {"SessionStart", "session-start", 5000, NULL},
    {"BeforeAgent", "user-prompt-submit", 3000, NULL},
    {"AfterTool", "post-tool-use", 2000, NULL},
    {"AfterAgent", "stop", 3000, NULL},
    {"SessionEnd", "session-end", 2000, NULL},
    {"PreCompress", "pre-compact", 3000, NULL},
};

/* Cursor: camelCase events, seconds; tool results arrive through three after* events. */
static const struct mnemo__install_hook cursor_hooks[] = {
    {"sessionStart", "session-start", 5, NULL},
    {"beforeSubmitPrompt", "user-prompt-submit", 3, NULL},
    {"afterFileEdit", "post-tool-use", 2, NULL},
    {"afterShellExecution", "post-tool-use", 2, NULL},
    {"afterMCPExecution", "post-tool-use", 2, NULL},
    {"stop", "stop", 3, NULL},
    {"subagentStop", "subagent-stop", 3, NULL},
    {"sessionEnd", "session-end", 2, NULL},
    {"preCompact", "pre-compact", 3, NULL},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The rule Cursor loads into every chat of the project. */
static const char cursor_rule[] =
    "---\n"
    "description: mnemo - memory of earlier sessions in this project\n"
    "alwaysApply: true\n"
    "---\n"
    "<!-- written by `mnemo install cursor --project`; `mnemo uninstall cursor --project` "
    "removes this file -->\n"
    "\n"
    "This project has a memory of earlier coding sessions, served by the `mnemo` MCP server.\n"
    "\n"
    "- Before starting a task, call the mnemo `search` tool with a few keywords of the task to\n"
    "  find earlier decisions, fixes and gotchas that apply to it.\n"
    "- Use `timeline` to see what happened around a result and `get_observations` to read the\n"
    "  full records of the ids that matter.\n"
    "- When you learn something worth keeping (a decision and its reason, the cause of a bug,\n"
    "  a trap in the code), record it with `save_memory`.\n";

enum fmt { FMT_JSON, FMT_TOML, FMT_RULE };

struct target {
    char path[MNEMO_INSTALL_PATH_MAX]; /* as the agent names it */
    char real[PATH_MAX];               /* where it is written (a symlink's target) */
    enum fmt fmt;
    struct mnemo__install_json_spec spec;
    mode_t new_mode; /* for a file install creates */
    char what[512];  /* what mnemo puts there */
};

static int target_set(struct target *t, const char *base, const char *rel, enum fmt fmt,
                      mode_t mode, struct mnemo_err *err)
{
    memset(t, 0, sizeof *t);
    int n = snprintf(t->path, sizeof t->path, "%s%s%s", base,
                     base[strlen(base) - 1] == '/' ? "" : "/", rel);
    if (n < 0 || (size_t)n >= sizeof t->path)
        return mnemo_err_set(err, MNEMO_EINVAL, "path '%s/%s' is too long", base, rel);
    t->fmt = fmt;
    t->new_mode = mode;
    return 0;
}

static void describe_hooks(struct target *t)
{
    size_t off = strlen(t->what);
    off += (size_t)snprintf(t->what + off, sizeof t->what - off, "%shooks ", off ? "; " : "");
    for (size_t i = 0; i < t->spec.n_hooks && off < sizeof t->what; i++)
        off += (size_t)snprintf(t->what + off, sizeof t->what - off, "%s%s", i ? ", " : "",
                                t->spec.table[i].native);
}

static void describe_mcp(struct target *t)
{
    size_t off = strlen(t->what);
    if (off < sizeof t->what)
        snprintf(t->what + off, sizeof t->what - off, "%sMCP server \"mnemo\"", off ? "; " : "");
}

/* Fills ts with the files of o's agent and scope; returns how many. */
static int plan(const struct mnemo_install_opts *o, struct target ts[MNEMO_INSTALL_MAX_FILES],
                size_t *n, struct mnemo_err *err)
{
    const char *b = o->base;
    const char *dir = o->agent_dir != NULL && o->agent_dir[0] != '\0' ? o->agent_dir : NULL;
    int user = o->scope == MNEMO_INSTALL_USER;
    /* Files in $HOME are private; a project's config is meant to be shared with the repo. */
    mode_t mode = user ? 0600 : 0644;
    int rc = 0;

    *n = 0;
    switch (o->agent) {
    case MNEMO_AGENT_CLAUDE:
        if (user && dir != NULL) {
            rc = target_set(&ts[0], dir, "settings.json", FMT_JSON, mode, err);
            if (rc == 0)
                rc = target_set(&ts[1], dir, ".claude.json", FMT_JSON, mode, err);
        } else {
            rc = target_set(&ts[0], b, ".claude/settings.json", FMT_JSON, mode, err);
            if (rc == 0)
                rc =
                    target_set(&ts[1], b, user ? ".claude.json" : ".mcp.json", FMT_JSON, mode, err);
        }
        ts[0].spec = (struct mnemo__install_json_spec){
            MNEMO__HOOKS_NESTED, claude_hooks, N_OF(claude_hooks), "claude", 0, 0, 0};
        describe_hooks(&ts[0]);
        ts[1].spec =
            (struct mnemo__install_json_spec){MNEMO__HOOKS_NONE, NULL, 0, "claude", 0, 1, 1};
        describe_mcp(&ts[1]);
        *n = 2;
        break;
    case MNEMO_AGENT_CODEX:
        rc = target_set(&ts[0], user && dir != NULL ? dir : b,
                        user && dir != NULL ? "hooks.json" : ".codex/hooks.json", FMT_JSON, mode,
                        err);
        if (rc == 0)
            rc = target_set(&ts[1], user && dir != NULL ? dir : b,
                            user && dir != NULL ? "config.toml" : ".codex/config.toml", FMT_TOML,
                            mode, err);
        ts[0].spec = (struct mnemo__install_json_spec){
            MNEMO__HOOKS_NESTED, codex_hooks, N_OF(codex_hooks), "codex", 0, 0, 0};
        describe_hooks(&ts[0]);
        snprintf(ts[1].what, sizeof ts[1].what, "MCP server [mcp_servers.mnemo]");
        *n = 2;
        break;
    case MNEMO_AGENT_GEMINI:
        rc = target_set(&ts[0], b, ".gemini/settings.json", FMT_JSON, mode, err);
        ts[0].spec = (struct mnemo__install_json_spec){
            MNEMO__HOOKS_NESTED, gemini_hooks, N_OF(gemini_hooks), "gemini", 1, 1, 0};
        describe_hooks(&ts[0]);
        describe_mcp(&ts[0]);
        *n = 1;
        break;
    case MNEMO_AGENT_CURSOR:
        rc = target_set(&ts[0], b, ".cursor/hooks.json", FMT_JSON, mode, err);
        ts[0].spec = (struct mnemo__install_json_spec){
            MNEMO__HOOKS_FLAT, cursor_hooks, N_OF(cursor_hooks), "cursor", 0, 0, 0};
        describe_hooks(&ts[0]);
        if (rc == 0)
            rc = target_set(&ts[1], b, ".cursor/mcp.json", FMT_JSON, mode, err);
        ts[1].spec =
            (struct mnemo__install_json_spec){MNEMO__HOOKS_NONE, NULL, 0, "cursor", 0, 1, 0};
        describe_mcp(&ts[1]);
        *n = 2;
        if (rc == 0 && !user) {
            rc = target_set(&ts[2], b, ".cursor/rules/mnemo.mdc", FMT_RULE, mode, err);
            snprintf(ts[2].what, sizeof ts[2].what, "a rule to search mnemo's memory");
            *n = 3;
        }
        break;
    default:
        return mnemo_err_set(err, MNEMO_EINVAL, "unknown agent %d", (int)o->agent);
    }
    return rc;
}

/* ---- files ---------------------------------------------------------------------------------- */

/* Change detection, not security: FNV-1a 64 over the bytes, kept with their length. */
static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* What install recorded about a file in <file>.mnemo-install. */
struct state {
    int present;
    int created;    /* install created the file */
    int restorable; /* the backup (or absence) is the file as it was before install */
    uint64_t hash;  /* of the bytes install last wrote */
    size_t len;
    char dirs[4][PATH_MAX]; /* directories install created for it, outermost first */
    int n_dirs;
};

static void side_path(char *buf, size_t size, const char *path, const char *suffix)
{
    snprintf(buf, size, "%s%s", path, suffix);
}

static int state_read(const char *real, struct state *s, struct mnemo_err *err)
{
    char p[PATH_MAX + 32];
    char *text = NULL;
    size_t len = 0;

    memset(s, 0, sizeof *s);
    side_path(p, sizeof p, real, ".mnemo-install");
    int rc = mnemo_fs_read_all(p, 65536, &text, &len, err);
    if (rc == MNEMO_ENOTFOUND) {
        mnemo_err_clear(err);
        return 0;
    }
    if (rc != 0)
        return rc;
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    const char *hash = json_string_value(json_object_get(j, "hash"));
    if (!json_is_object(j) || hash == NULL) {
        json_decref(j);
        /* A damaged state file only costs exactness: uninstall falls back to removal. */
        return 0;
    }
    s->present = 1;
    s->created = json_is_true(json_object_get(j, "created"));
    s->restorable = json_is_true(json_object_get(j, "restorable"));
    s->hash = strtoull(hash, NULL, 16);
    s->len = (size_t)json_integer_value(json_object_get(j, "len"));
    json_t *dirs = json_object_get(j, "dirs");
    for (size_t i = 0; i < json_array_size(dirs) && s->n_dirs < 4; i++) {
        const char *d = json_string_value(json_array_get(dirs, i));
        if (d != NULL && strlen(d) < sizeof s->dirs[0])
            memcpy(s->dirs[s->n_dirs++], d, strlen(d) + 1);
    }
    json_decref(j);
    return 0;
}

static int state_write(const char *real, const struct state *s, struct mnemo_err *err)
{
    char p[PATH_MAX + 32];
    char hash[32];

    side_path(p, sizeof p, real, ".mnemo-install");
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)s->hash);
    json_t *dirs = json_array();
    for (int i = 0; dirs != NULL && i < s->n_dirs; i++)
        json_array_append_new(dirs, json_string(s->dirs[i]));
    json_t *j =
        json_pack("{s:i,s:b,s:b,s:s,s:I,s:o}", "version", 1, "created", s->created, "restorable",
                  s->restorable, "hash", hash, "len", (json_int_t)s->len, "dirs", dirs);
    char *text = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    if (text == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    int rc = mnemo_fs_write_atomic(p, text, strlen(text), 0600, err);
    free(text);
    return rc;
}

/* Removes path; a missing file is fine. */
static int remove_file(const char *path, struct mnemo_err *err)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return mnemo_err_set(err, mnemo_fs_errno_rc(errno), "cannot remove '%s': %s", path,
                             strerror(errno));
    return 0;
}

/* One file being worked on. */
struct work {
    struct target *t;
    char *old; /* current contents, NULL when the file does not exist */
    size_t old_len;
    mode_t mode; /* of the existing file */
    struct mnemo_strbuf next;
    int found, skeleton;
    struct state st;
};

/* Resolves t->real (a symlink's target) and reads the current contents. */
static int load(struct work *w, struct mnemo_err *err)
{
    struct target *t = w->t;
    struct stat sb;

    snprintf(t->real, sizeof t->real, "%s", t->path);
    if (lstat(t->path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        char *r = realpath(t->path, NULL);
        if (r == NULL)
            return mnemo_err_set(err, MNEMO_EINVAL, "'%s' is a symbolic link to nothing (%s)",
                                 t->path, strerror(errno));
        snprintf(t->real, sizeof t->real, "%s", r);
        free(r);
    }
    if (stat(t->real, &sb) == 0) {
        if (!S_ISREG(sb.st_mode))
            return mnemo_err_set(err, MNEMO_EINVAL, "'%s' is not a regular file", t->path);
        w->mode = sb.st_mode & 07777;
        int rc = mnemo_fs_read_all(t->real, MNEMO__INSTALL_FILE_MAX, &w->old, &w->old_len, err);
        if (rc != 0)
            return rc;
    } else if (errno != ENOENT) {
        return mnemo_err_set(err, mnemo_fs_errno_rc(errno), "cannot read '%s': %s", t->path,
                             strerror(errno));
    }
    return state_read(t->real, &w->st, err);
}

/* Computes w->next: the file with mnemo's entries removed and, when add, added again. */
static int edit(struct work *w, const char *command, int add, struct mnemo_err *err)
{
    struct target *t = w->t;
    switch (t->fmt) {
    case FMT_JSON:
        return mnemo__install_json_edit(t->path, w->old, w->old_len, &t->spec, command, add,
                                        &w->next, &w->found, &w->skeleton, err);
    case FMT_TOML:
        return mnemo__install_toml_edit(t->path, w->old, w->old_len, command, add, &w->next,
                                        &w->found, &w->skeleton, err);
    case FMT_RULE:
        w->found = w->old != NULL && strstr(w->old, "mnemo install cursor") != NULL;
        if (w->old != NULL && !w->found)
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "'%s' exists and was not written by mnemo; it was not changed",
                                 t->path);
        w->skeleton = 1;
        mnemo_strbuf_reset(&w->next);
        return mnemo_strbuf_puts(&w->next, add ? cursor_rule : "");
    }
    return MNEMO_EINTERNAL;
}

/* Creates the parent directories of t->real, recording in st those this call made. */
static int make_dirs(struct work *w, struct mnemo_err *err)
{
    char dir[PATH_MAX];
    char missing[8][PATH_MAX];
    int n = 0;

    if (mnemo_fs_dirname(w->t->real, dir, sizeof dir) != 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "path '%s' is too long", w->t->real);
    /* Walk up to the first existing ancestor, noting what is missing. */
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s", dir);
    while (!mnemo_fs_exists(probe) && n < 8) {
        memcpy(missing[n++], probe, strlen(probe) + 1);
        char up[PATH_MAX];
        if (mnemo_fs_dirname(probe, up, sizeof up) != 0 || strcmp(up, probe) == 0)
            break;
        snprintf(probe, sizeof probe, "%s", up);
    }
    if (n == 0)
        return 0;
    /* One at a time, outermost first, so each gets exactly mode whatever the umask. */
    mode_t mode = w->t->new_mode == 0600 ? 0700 : 0755;
    for (int i = n; i-- > 0;) {
        int rc = mnemo_fs_mkdir_p(missing[i], mode, err);
        if (rc != 0)
            return rc;
    }
    for (int i = n; i-- > 0 && w->st.n_dirs < 4;)
        memcpy(w->st.dirs[w->st.n_dirs++], missing[i], strlen(missing[i]) + 1);
    return 0;
}

static void change(struct mnemo_install_report *rep, const struct target *t,
                   enum mnemo_install_action a, const char *note)
{
    struct mnemo_install_change *c = &rep->files[rep->n++];
    snprintf(c->path, sizeof c->path, "%s", t->path);
    c->action = a;
    snprintf(c->what, sizeof c->what, "%s", t->what);
    snprintf(c->note, sizeof c->note, "%s", note != NULL ? note : "");
}

/* Writes one file of an install. */
static int install_one(struct work *w, int dry_run, struct mnemo_install_report *rep,
                       struct mnemo_err *err)
{
    struct target *t = w->t;
    const char *data = mnemo_strbuf_str(&w->next);
    size_t len = w->next.len;
    uint64_t cur = w->old != NULL ? fnv1a(w->old, w->old_len) : 0;
    int changed_since =
        w->st.present && (w->old == NULL || cur != w->st.hash || w->old_len != w->st.len);
    char note[MNEMO_INSTALL_PATH_MAX + 128] = "";
    char backup[PATH_MAX + 32];
    int rc;

    side_path(backup, sizeof backup, t->real, ".mnemo-backup");
    if (w->old != NULL && len == w->old_len && memcmp(data, w->old, len) == 0) {
        if (!dry_run && w->st.present && changed_since) {
            w->st.restorable = 0;
            w->st.hash = cur;
            w->st.len = w->old_len;
            rc = state_write(t->real, &w->st, err);
            if (rc != 0)
                return rc;
        }
        change(rep, t, MNEMO_INSTALL_UNCHANGED, NULL);
        return 0;
    }
    if (w->old != NULL && !mnemo_fs_exists(backup))
        snprintf(note, sizeof note, "the original is saved in %s", backup);
    if (dry_run) {
        change(rep, t, w->old == NULL ? MNEMO_INSTALL_CREATED : MNEMO_INSTALL_UPDATED, note);
        return 0;
    }

    struct state st = w->st;
    if (w->old == NULL) {
        /* The file is absent (again): whatever was recorded, the original is "no file". */
        st.created = 1;
        st.restorable = 1;
    } else if (!st.present) {
        st.created = w->old == NULL;
        /* Without a state file, an older backup is not this file's original. */
        st.restorable = w->old == NULL || note[0] != '\0';
    } else if (changed_since) {
        st.restorable = 0;
    }
    w->st = st;
    rc = make_dirs(w, err);
    if (rc == 0 && note[0] != '\0')
        rc = mnemo_fs_write_atomic(backup, w->old, w->old_len, 0600, err);
    if (rc == 0)
        rc = mnemo_fs_write_atomic(t->real, data, len, w->old != NULL ? w->mode : t->new_mode, err);
    if (rc != 0)
        return rc;
    w->st.present = 1;
    w->st.hash = fnv1a(data, len);
    w->st.len = len;
    rc = state_write(t->real, &w->st, err);
    if (rc != 0)
        return rc;
    change(rep, t, w->old == NULL ? MNEMO_INSTALL_CREATED : MNEMO_INSTALL_UPDATED, note);
    return 0;
}

/* Undoes one file of an install. */
static int remove_one(struct work *w, int dry_run, struct mnemo_install_report *rep,
                      struct mnemo_err *err)
{
    struct target *t = w->t;
    char backup[PATH_MAX + 32];
    char statep[PATH_MAX + 32];
    char note[MNEMO_INSTALL_PATH_MAX + 128] = "";
    int rc = 0;

    side_path(backup, sizeof backup, t->real, ".mnemo-backup");
    side_path(statep, sizeof statep, t->real, ".mnemo-install");
    if (w->old == NULL) {
        if (!dry_run && w->st.present)
            rc = remove_file(statep, err);
        change(rep, t, MNEMO_INSTALL_UNCHANGED, "the file does not exist");
        return rc;
    }
    int unchanged = w->st.present && w->st.restorable && fnv1a(w->old, w->old_len) == w->st.hash &&
                    w->old_len == w->st.len;
    enum mnemo_install_action a;
    if (unchanged && w->st.created) {
        a = MNEMO_INSTALL_REMOVED;
        if (!dry_run)
            rc = remove_file(t->real, err);
    } else if (unchanged && mnemo_fs_exists(backup)) {
        a = MNEMO_INSTALL_RESTORED;
        snprintf(note, sizeof note, "restored from %s", backup);
        if (!dry_run) {
            char *orig = NULL;
            size_t olen = 0;
            rc = mnemo_fs_read_all(backup, MNEMO__INSTALL_FILE_MAX, &orig, &olen, err);
            if (rc == 0)
                rc = mnemo_fs_write_atomic(t->real, orig, olen, w->mode, err);
            free(orig);
            if (rc == 0)
                rc = remove_file(backup, err);
        }
    } else if (!w->found) {
        a = MNEMO_INSTALL_KEPT;
        snprintf(note, sizeof note, "nothing of mnemo's in it");
    } else if (t->fmt == FMT_RULE) {
        a = MNEMO_INSTALL_KEPT;
        snprintf(note, sizeof note, "it was edited since install; delete it yourself if unwanted");
    } else if (w->st.present && w->st.created && w->skeleton) {
        a = MNEMO_INSTALL_REMOVED;
        if (!dry_run)
            rc = remove_file(t->real, err);
    } else {
        a = MNEMO_INSTALL_CLEANED;
        if (mnemo_fs_exists(backup))
            snprintf(note, sizeof note,
                     "the file changed since install, so only mnemo's entries were taken out; "
                     "the original stays in %s",
                     backup);
        if (!dry_run)
            rc = mnemo_fs_write_atomic(t->real, mnemo_strbuf_str(&w->next), w->next.len, w->mode,
                                       err);
    }
    if (rc == 0 && !dry_run && w->st.present)
        rc = remove_file(statep, err);
    if (rc != 0)
        return rc;
    change(rep, t, a, note);
    return 0;
}

/* ---- entry points ------------------------------------------------------------------------- */

static int run(const struct mnemo_install_opts *o, int add, struct mnemo_install_report *rep,
               struct mnemo_err *err)
{
    struct target ts[MNEMO_INSTALL_MAX_FILES];
    struct work ws[MNEMO_INSTALL_MAX_FILES];
    size_t n = 0;
    int rc;

    memset(rep, 0, sizeof *rep);
    memset(ws, 0, sizeof ws);
    if (o->base == NULL || o->base[0] != '/')
        return mnemo_err_set(err, MNEMO_EINVAL, "the base directory must be an absolute path");
    if (o->agent_dir != NULL && o->agent_dir[0] != '\0' && o->agent_dir[0] != '/')
        return mnemo_err_set(err, MNEMO_EINVAL, "the agent's directory '%s' is not absolute",
                             o->agent_dir);
    if (add) {
        const char *c = o->command;
        const char *slash = c != NULL ? strrchr(c, '/') : NULL;
        if (c == NULL || c[0] == '\0' || strstr(slash != NULL ? slash + 1 : c, "mnemo") == NULL)
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "the command '%s' must name the mnemo binary (its file name "
                                 "must contain \"mnemo\", which is how uninstall finds the "
                                 "entries again)",
                                 c != NULL ? c : "");
    }
    rc = plan(o, ts, &n, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        ws[i].t = &ts[i];
        mnemo_strbuf_init(&ws[i].next, MNEMO__INSTALL_FILE_MAX * 2);
    }
    /* Phase 1: read and edit everything in memory; any problem stops before a write. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = load(&ws[i], err);
        if (rc == 0)
            rc = edit(&ws[i], o->command, add, err);
    }
    /* Phase 2: write. */
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = add ? install_one(&ws[i], o->dry_run, rep, err)
                 : remove_one(&ws[i], o->dry_run, rep, err);
    /* Directories install created go when they are empty again, deepest first. */
    for (size_t i = n; rc == 0 && !add && !o->dry_run && i-- > 0;)
        for (int d = ws[i].st.n_dirs; d-- > 0;)
            (void)rmdir(ws[i].st.dirs[d]);
    for (size_t i = 0; i < n; i++) {
        free(ws[i].old);
        mnemo_strbuf_release(&ws[i].next);
    }
    return rc;
}

int mnemo_install_apply(const struct mnemo_install_opts *o, struct mnemo_install_report *rep,
                        struct mnemo_err *err)
{
    return run(o, 1, rep, err);
}

int mnemo_install_remove(const struct mnemo_install_opts *o, struct mnemo_install_report *rep,
                         struct mnemo_err *err)
{
    return run(o, 0, rep, err);
}

const char *mnemo_install_action_name(enum mnemo_install_action a)
{
    switch (a) {
    case MNEMO_INSTALL_CREATED:
        return "created";
    case MNEMO_INSTALL_UPDATED:
        return "updated";
    case MNEMO_INSTALL_UNCHANGED:
        return "unchanged";
    case MNEMO_INSTALL_REMOVED:
        return "removed";
    case MNEMO_INSTALL_RESTORED:
        return "restored";
    case MNEMO_INSTALL_CLEANED:
        return "cleaned";
    case MNEMO_INSTALL_KEPT:
        return "kept";
    }
    return "?";
}
