/*
 * rules.c - the built-in rules extractor (see extract.h): dispatch by event kind and tool,
 * file edits, reads, session summaries, the per-session state (an LRU of RULES_SESSIONS),
 * and the text helpers rules_bash.c shares. Deterministic: the output depends only on the
 * events seen, never on time, randomness or the file system.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/extract.h"
#include "capture/rules_int.h"
#include "memory/obs_json.h"
#include "util/strbuf.h"

/* Outputs of the most recent events, replayed when an event comes again (see replay_find). */
#define REPLAY_SLOTS 8

struct rules_replay {
    int64_t event_id; /* 0 = free */
    struct mnemo_extract_output out;
};

struct rules_state {
    struct rules_session s[RULES_SESSIONS];
    uint64_t clock; /* bumped on every use, for the LRU */
    struct rules_replay replay[REPLAY_SLOTS];
    size_t replay_next;
};

/* Bounds of the excerpts of an edit. */
#define EXCERPT_LINES 12
#define EXCERPT_BYTES 800
/* Paths taken from one Grep/Glob answer. */
#define SEARCH_FILES 10
/* Longest path kept, in bytes (longer ones are not remembered). */
#define PATH_MAX_BYTES 1024

/* ---- small text helpers ------------------------------------------------------------------ */

const char *mnemo__rules_str(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

char *mnemo__rules_squash(const char *s, size_t max_bytes)
{
    struct mnemo_strbuf sb;
    int space = 0;
    mnemo_strbuf_init(&sb, 0);
    if (mnemo_strbuf_puts(&sb, "") != 0)
        return NULL;
    for (const char *p = s ? s : ""; *p != '\0' && sb.len < max_bytes; p++) {
        if (isspace((unsigned char)*p)) {
            space = sb.len > 0;
            continue;
        }
        if ((space && mnemo_strbuf_append(&sb, " ", 1) != 0) || mnemo_strbuf_append(&sb, p, 1) != 0)
            goto oom;
        space = 0;
    }
    if (sb.len > max_bytes) {
        sb.len = mnemo_utf8_cut(sb.data, max_bytes);
        sb.data[sb.len] = '\0';
    }
    return mnemo_strbuf_detach(&sb);
oom:
    mnemo_strbuf_release(&sb);
    return NULL;
}

/* A malloc'd copy of s[0..n) cut to a UTF-8 boundary, with "..." on a line of its own when
 * more text followed. */
static char *copy_cut(const char *s, size_t n, int more)
{
    n = mnemo_utf8_cut(s, n);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    char *out = malloc(n + 5);
    if (out == NULL)
        return NULL;
    memcpy(out, s, n);
    if (more)
        memcpy(out + n, n > 0 ? "\n..." : "...", n > 0 ? 5 : 4);
    else
        out[n] = '\0';
    return out;
}

char *mnemo__rules_head(const char *text, int max_lines, size_t max_bytes)
{
    const char *p = text ? text : "";
    size_t len = strlen(p), end = 0;
    int lines = 0;
    while (end < len && lines < max_lines) {
        const char *nl = memchr(p + end, '\n', len - end);
        end = nl ? (size_t)(nl - p) + 1 : len;
        lines++;
    }
    int more = end < len;
    if (end > max_bytes) {
        end = max_bytes;
        more = 1;
    }
    return copy_cut(p, end, more);
}

char *mnemo__rules_tail(const char *text, int max_lines, size_t max_bytes)
{
    const char *p = text ? text : "";
    size_t end = strlen(p);
    while (end > 0 && isspace((unsigned char)p[end - 1]))
        end--;
    size_t start = end;
    int lines = 0;
    while (start > 0 && lines < max_lines) {
        start--;
        while (start > 0 && p[start - 1] != '\n')
            start--;
        lines++;
    }
    if (end - start > max_bytes) {
        start = end - max_bytes;
        const char *nl = memchr(p + start, '\n', end - start);
        if (nl != NULL && nl + 1 < p + end)
            start = (size_t)(nl - p) + 1;
        while (start < end && ((unsigned char)p[start] & 0xC0) == 0x80)
            start++;
    }
    return copy_cut(p + start, end - start, 0);
}

/* "prefix subject" with subject's first line squashed, cut to RULES_TITLE_MAX bytes. */
static char *make_title(const char *prefix, const char *subject)
{
    const char *s = subject ? subject : "";
    const char *nl = strchr(s, '\n');
    size_t first = nl ? (size_t)(nl - s) : strlen(s);
    char *line = malloc(first + 1);
    if (line == NULL)
        return NULL;
    memcpy(line, s, first);
    line[first] = '\0';
    char *sq = mnemo__rules_squash(line, RULES_TITLE_MAX * 2);
    free(line);
    if (sq == NULL)
        return NULL;
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    int rc = mnemo_strbuf_appendf(&sb, "%s%s", prefix, sq);
    free(sq);
    if (rc != 0) {
        mnemo_strbuf_release(&sb);
        return NULL;
    }
    if (sb.len > RULES_TITLE_MAX) {
        sb.len = mnemo_utf8_cut(sb.data, RULES_TITLE_MAX - 3);
        memcpy(sb.data + sb.len, "...", 4);
        sb.len += 3;
    }
    return mnemo_strbuf_detach(&sb);
}

/* path relative to cwd when it lies below it (borrowed from path). */
static const char *rel_path(const char *path, const char *cwd)
{
    size_t n = cwd ? strlen(cwd) : 0;
    while (n > 1 && cwd[n - 1] == '/')
        n--;
    if (n > 0 && strncmp(path, cwd, n) == 0 && path[n] == '/' && path[n + 1] != '\0')
        return path + n + 1;
    return path;
}

/* ---- file lists -------------------------------------------------------------------------- */

int mnemo__rules_files_add(struct rules_files *f, const char *path)
{
    if (path == NULL || path[0] == '\0' || strlen(path) > PATH_MAX_BYTES)
        return 0;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i], path) == 0)
            return 0;
    char *copy = strdup(path);
    if (copy == NULL)
        return MNEMO_ENOMEM;
    if (f->n == RULES_FILES) {
        free(f->items[0]);
        memmove(f->items, f->items + 1, (RULES_FILES - 1) * sizeof f->items[0]);
        f->n--;
    }
    f->items[f->n++] = copy;
    return 0;
}

void mnemo__rules_files_clear(struct rules_files *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->items[i]);
    memset(f, 0, sizeof *f);
}

char *mnemo__rules_files_join(const struct rules_files *f)
{
    struct mnemo_strbuf sb;
    if (f->n == 0)
        return NULL;
    mnemo_strbuf_init(&sb, 0);
    for (size_t i = 0; i < f->n; i++) {
        if (mnemo_strbuf_appendf(&sb, "%s%s", i > 0 ? ", " : "", f->items[i]) != 0) {
            mnemo_strbuf_release(&sb);
            return NULL;
        }
    }
    return mnemo_strbuf_detach(&sb);
}

void mnemo__rules_failure_clear(struct rules_failure *fl)
{
    free(fl->key);
    free(fl->target);
    free(fl->command);
    free(fl->error);
    mnemo__rules_files_clear(&fl->files);
    memset(fl, 0, sizeof *fl);
}

int mnemo__rules_note_modified(struct rules_session *s, const char *path)
{
    int rc = mnemo__rules_files_add(&s->modified, path);
    if (rc == 0)
        rc = mnemo__rules_files_add(&s->uncommitted, path);
    for (size_t i = 0; rc == 0 && i < s->n_fail; i++)
        rc = mnemo__rules_files_add(&s->fail[i].files, path);
    return rc;
}

/* ---- drafts ------------------------------------------------------------------------------ */

struct mnemo_obs *mnemo__rules_draft(struct mnemo_extract_output *out,
                                     const struct mnemo_extract_input *in, struct rules_session *s,
                                     const char *type, const char *prefix, const char *subject,
                                     int *rc)
{
    *rc = 0;
    /* Without a project nothing can be stored; the state above was still updated. */
    if (in->project == NULL || in->project[0] == '\0' || out->n_obs >= MNEMO_EXTRACT_MAX_OBS)
        return NULL;
    struct mnemo_obs *o = &out->obs[out->n_obs];
    mnemo_obs_init(o);
    o->project = strdup(in->project);
    o->title = make_title(prefix, subject);
    if (o->project == NULL || o->title == NULL)
        goto oom;
    o->session_id = in->session_id;
    snprintf(o->type, sizeof o->type, "%s", type);
    snprintf(o->provenance, sizeof o->provenance, "rules");
    o->created_at = in->created_at;
    if (s != NULL) {
        for (size_t i = 0; i < s->read.n; i++)
            if (mnemo_obs_list_push(&o->files_read, &o->n_files_read, MNEMO_OBS_MAX_FILES,
                                    s->read.items[i]) == MNEMO_ENOMEM)
                goto oom;
        mnemo__rules_files_clear(&s->read);
    }
    out->n_obs++;
    return o;
oom:
    mnemo_obs_release(o);
    *rc = MNEMO_ENOMEM;
    return NULL;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static void session_clear(struct rules_session *s)
{
    free(s->id);
    free(s->first_prompt);
    mnemo__rules_files_clear(&s->read);
    mnemo__rules_files_clear(&s->modified);
    mnemo__rules_files_clear(&s->uncommitted);
    for (size_t i = 0; i < s->n_fail; i++)
        mnemo__rules_failure_clear(&s->fail[i]);
    memset(s, 0, sizeof *s);
}

/*
 * The state of the event's session, created (evicting the least recently used) when new.
 * NULL with *rc 0 when the event names no session.
 */
static struct rules_session *session_for(struct rules_state *st,
                                         const struct mnemo_extract_input *in, int *rc)
{
    char key[400];
    const char *sid = in->agent_session_id;
    *rc = 0;
    if (sid == NULL || sid[0] == '\0')
        sid = mnemo__rules_str(in->payload, "session_id");
    if (sid != NULL && sid[0] != '\0')
        snprintf(key, sizeof key, "%s:%s", in->agent ? in->agent : "", sid);
    else if (in->session_id > 0)
        snprintf(key, sizeof key, "#%lld", (long long)in->session_id);
    else
        return NULL;

    struct rules_session *victim = &st->s[0];
    for (size_t i = 0; i < RULES_SESSIONS; i++) {
        struct rules_session *s = &st->s[i];
        if (s->id != NULL && strcmp(s->id, key) == 0) {
            s->used = ++st->clock;
            return s;
        }
        if (victim->id != NULL && (s->id == NULL || s->used < victim->used))
            victim = s;
    }
    session_clear(victim);
    victim->id = strdup(key);
    if (victim->id == NULL) {
        *rc = MNEMO_ENOMEM;
        return NULL;
    }
    victim->used = ++st->clock;
    return victim;
}

/* ---- file edits -------------------------------------------------------------------------- */

/* Past the end of the line starting at p (after its '\n'), or e. */
static const char *line_end(const char *p, const char *e)
{
    const char *nl = memchr(p, '\n', (size_t)(e - p));
    return nl ? nl + 1 : e;
}

/* Start of the last line of [p, e) (e > p). */
static const char *line_start(const char *p, const char *e)
{
    const char *q = e;
    if (q > p && q[-1] == '\n')
        q--;
    while (q > p && q[-1] != '\n')
        q--;
    return q;
}

static int count_lines(const char *p, const char *e)
{
    int n = 0;
    if (p == e)
        return 0;
    for (const char *q = p; q < e; q++)
        n += *q == '\n';
    return n + (e[-1] != '\n');
}

struct change {
    int added, removed;
    char *excerpt; /* the first changed lines (new text, or the removed text for a deletion) */
    int excerpt_removed;
};

/* Lines added and removed going from a to b, ignoring their common first and last lines. */
static int line_diff(const char *a, const char *b, struct change *c)
{
    const char *pa = a, *pb = b, *ea = a + strlen(a), *eb = b + strlen(b);
    while (pa < ea && pb < eb) {
        const char *na = line_end(pa, ea), *nb = line_end(pb, eb);
        if (na - pa != nb - pb || memcmp(pa, pb, (size_t)(na - pa)) != 0)
            break;
        pa = na;
        pb = nb;
    }
    while (ea > pa && eb > pb) {
        const char *sa = line_start(pa, ea), *sb = line_start(pb, eb);
        if (ea - sa != eb - sb || memcmp(sa, sb, (size_t)(ea - sa)) != 0)
            break;
        ea = sa;
        eb = sb;
    }
    c->added += count_lines(pb, eb);
    c->removed += count_lines(pa, ea);
    if (c->excerpt != NULL || (pb == eb && pa == ea))
        return 0;
    int removed_only = pb == eb;
    const char *from = removed_only ? pa : pb;
    size_t n = (size_t)(removed_only ? ea - pa : eb - pb);
    char *region = malloc(n + 1);
    if (region == NULL)
        return MNEMO_ENOMEM;
    memcpy(region, from, n);
    region[n] = '\0';
    c->excerpt = mnemo__rules_head(region, EXCERPT_LINES, EXCERPT_BYTES);
    c->excerpt_removed = removed_only;
    free(region);
    return c->excerpt ? 0 : MNEMO_ENOMEM;
}

/*
 * Reads the change an edit tool made. Returns 1 when the input has the expected shape, 0 when
 * it does not (wrong types: nothing is extracted), or MNEMO_ENOMEM.
 */
static int read_change(const char *tool, const json_t *input, const json_t *resp, struct change *c,
                       int *created)
{
    *created = 0;
    if (strcmp(tool, "Edit") == 0) {
        const char *o = mnemo__rules_str(input, "old_string");
        const char *n = mnemo__rules_str(input, "new_string");
        if (o == NULL || n == NULL)
            return 0;
        return line_diff(o, n, c) == 0 ? 1 : MNEMO_ENOMEM;
    }
    if (strcmp(tool, "MultiEdit") == 0) {
        const json_t *edits = json_object_get(input, "edits");
        size_t i;
        const json_t *e;
        if (!json_is_array(edits) || json_array_size(edits) == 0)
            return 0;
        json_array_foreach(edits, i, e) if (mnemo__rules_str(e, "old_string") == NULL ||
                                            mnemo__rules_str(e, "new_string") == NULL) return 0;
        json_array_foreach(edits, i, e) if (line_diff(mnemo__rules_str(e, "old_string"),
                                                      mnemo__rules_str(e, "new_string"),
                                                      c) != 0) return MNEMO_ENOMEM;
        return 1;
    }
    if (strcmp(tool, "Write") == 0) {
        const char *content = mnemo__rules_str(input, "content");
        const char *type = mnemo__rules_str(resp, "type");
        if (content == NULL)
            return 0;
        *created = type == NULL || strcmp(type, "update") != 0;
        c->added = count_lines(content, content + strlen(content));
        c->excerpt = mnemo__rules_head(content, EXCERPT_LINES, EXCERPT_BYTES);
        return c->excerpt ? 1 : MNEMO_ENOMEM;
    }
    /* NotebookEdit: new_source replaces, is inserted as, or (delete) removes one cell. */
    const char *src = mnemo__rules_str(input, "new_source");
    const char *mode = mnemo__rules_str(input, "edit_mode");
    const json_t *jsrc = json_object_get(input, "new_source");
    if ((jsrc != NULL && src == NULL) || (json_object_get(input, "edit_mode") && mode == NULL))
        return 0;
    if (mode != NULL && strcmp(mode, "delete") == 0) {
        c->removed = 1;
        return 1;
    }
    if (src == NULL)
        return 0;
    *created = mode != NULL && strcmp(mode, "insert") == 0;
    c->added = count_lines(src, src + strlen(src));
    c->excerpt = mnemo__rules_head(src, EXCERPT_LINES, EXCERPT_BYTES);
    return c->excerpt ? 1 : MNEMO_ENOMEM;
}

/* Write/Edit/MultiEdit/NotebookEdit: a "change" naming the file and what changed. */
static int on_edit(const struct mnemo_extract_input *in, struct rules_session *s, const char *tool,
                   struct mnemo_extract_output *out)
{
    const json_t *input = json_object_get(in->payload, "tool_input");
    const json_t *resp = json_object_get(in->payload, "tool_response");
    int notebook = strcmp(tool, "NotebookEdit") == 0;
    const char *path = mnemo__rules_str(input, notebook ? "notebook_path" : "file_path");
    struct change c = {0};
    struct mnemo_strbuf sb;
    int created = 0, rc;

    if (path == NULL || path[0] == '\0')
        return 0;
    rc = read_change(tool, input, resp, &c, &created);
    if (rc <= 0) {
        free(c.excerpt);
        return rc;
    }
    const char *shown = rel_path(path, mnemo__rules_str(in->payload, "cwd"));
    rc = s != NULL ? mnemo__rules_note_modified(s, shown) : 0;
    struct mnemo_obs *o = NULL;
    if (rc == 0)
        o = mnemo__rules_draft(out, in, s, "change", created ? "Created " : "Edited ", shown, &rc);
    if (o == NULL) {
        free(c.excerpt);
        return rc;
    }
    mnemo_strbuf_init(&sb, 0);
    if (notebook) {
        const char *cell = mnemo__rules_str(input, "cell_id");
        const char *mode = mnemo__rules_str(input, "edit_mode");
        rc = mnemo_strbuf_appendf(&sb, "Notebook %s: cell %s %s", shown, cell ? cell : "(new)",
                                  mode ? mode : "replace");
    } else if (strcmp(tool, "Write") == 0) {
        rc = mnemo_strbuf_appendf(&sb, "%s %s", created ? "Created" : "Rewrote", shown);
    } else {
        size_t n =
            strcmp(tool, "MultiEdit") == 0 ? json_array_size(json_object_get(input, "edits")) : 1;
        rc = mnemo_strbuf_appendf(
            &sb, "Edited %s (%zu edit%s%s)", shown, n, n == 1 ? "" : "s",
            json_is_true(json_object_get(input, "replace_all")) ? ", all occurrences" : "");
    }
    if (rc == 0 && strcmp(tool, "Write") == 0 && !created)
        /* a rewrite replaces the whole file; what it held before is not in the event */
        rc = mnemo_strbuf_appendf(&sb, ": %d line%s written.", c.added, c.added == 1 ? "" : "s");
    else if (rc == 0)
        rc = mnemo_strbuf_appendf(&sb, ": +%d -%d lines.", c.added, c.removed);
    if (rc == 0 && c.excerpt != NULL && c.excerpt[0] != '\0')
        rc = mnemo_strbuf_appendf(&sb, "\n\n%s:\n%s",
                                  c.excerpt_removed ? "Removed lines" : "Changed lines", c.excerpt);
    if (rc == 0)
        rc = mnemo_obs_list_push(&o->files_modified, &o->n_files_modified, MNEMO_OBS_MAX_FILES,
                                 shown);
    if (rc == 0 && (o->narrative = mnemo_strbuf_detach(&sb)) == NULL)
        rc = MNEMO_ENOMEM;
    mnemo_strbuf_release(&sb);
    free(c.excerpt);
    return rc == 0 ? 0 : MNEMO_ENOMEM;
}

/* ---- reads, prompts, summaries ----------------------------------------------------------- */

/* Read/Grep/Glob: no observation; the files go into the next one's files_read. */
static int on_read(const struct mnemo_extract_input *in, struct rules_session *s, const char *tool)
{
    const json_t *input = json_object_get(in->payload, "tool_input");
    const char *cwd = mnemo__rules_str(in->payload, "cwd");
    if (s == NULL)
        return 0;
    if (strcmp(tool, "Read") == 0) {
        const char *path = mnemo__rules_str(input, "file_path");
        return path ? mnemo__rules_files_add(&s->read, rel_path(path, cwd)) : 0;
    }
    const json_t *names =
        json_object_get(json_object_get(in->payload, "tool_response"), "filenames");
    size_t i;
    const json_t *v;
    int rc = 0;
    if (!json_is_array(names))
        return 0;
    json_array_foreach(names, i, v)
    {
        if (i >= SEARCH_FILES || rc != 0)
            break;
        if (json_is_string(v))
            rc = mnemo__rules_files_add(&s->read, rel_path(json_string_value(v), cwd));
    }
    return rc;
}

/* stop / session-end: the last assistant message becomes the session's summary. */
static int on_stop(const struct mnemo_extract_input *in, struct rules_session *s,
                   struct mnemo_extract_output *out)
{
    const char *msg = mnemo__rules_str(in->payload, "last_assistant_message");
    const char *prompt = mnemo__rules_str(in->payload, "first_prompt");
    if (msg == NULL || in->project == NULL || in->project[0] == '\0')
        return 0;
    char *completed = mnemo__rules_head(msg, 200, RULES_MESSAGE_MAX);
    if (completed == NULL)
        return MNEMO_ENOMEM;
    char *sq = mnemo__rules_squash(completed, 16);
    int empty = sq != NULL && sq[0] == '\0';
    free(sq);
    if (empty) {
        free(completed);
        return 0;
    }
    out->has_summary = 1;
    out->completed = completed;
    if (prompt == NULL && s != NULL)
        prompt = s->first_prompt;
    if (prompt != NULL && (out->request = mnemo__rules_head(prompt, 40, RULES_PROMPT_MAX)) == NULL)
        return MNEMO_ENOMEM;
    if (s != NULL && s->modified.n > 0) {
        char *files = mnemo__rules_files_join(&s->modified);
        struct mnemo_strbuf sb;
        mnemo_strbuf_init(&sb, 0);
        int rc = files ? mnemo_strbuf_appendf(&sb, "Files modified: %s", files) : MNEMO_ENOMEM;
        free(files);
        if (rc != 0 || (out->notes = mnemo_strbuf_detach(&sb)) == NULL) {
            mnemo_strbuf_release(&sb);
            return MNEMO_ENOMEM;
        }
    }
    return 0;
}

/* ---- replay ------------------------------------------------------------------------------ */

/*
 * The capture thread retries an event whose writes failed. Extraction changes the session
 * state (a failure is opened, a fix closes it, files_read are consumed), so running a retried
 * event again would produce less than the first time: the fix it paired is gone. Instead the
 * output of the last REPLAY_SLOTS events is kept and a retried event gets the same drafts
 * back, leaving the state as the first attempt left it.
 */
static const struct rules_replay *replay_find(const struct rules_state *st, int64_t event_id)
{
    for (size_t i = 0; event_id > 0 && i < REPLAY_SLOTS; i++)
        if (st->replay[i].event_id == event_id)
            return &st->replay[i];
    return NULL;
}

/* Remembers out as event_id's output; out of memory only costs the replay. */
static void replay_keep(struct rules_state *st, int64_t event_id,
                        const struct mnemo_extract_output *out)
{
    struct rules_replay *r = &st->replay[st->replay_next];
    if (event_id <= 0)
        return;
    mnemo_extract_output_release(&r->out);
    mnemo_extract_output_init(&r->out);
    r->event_id = event_id;
    if (mnemo__rules_output_copy(&r->out, out) != 0) {
        mnemo_extract_output_release(&r->out);
        mnemo_extract_output_init(&r->out);
        r->event_id = 0;
        return;
    }
    st->replay_next = (st->replay_next + 1) % REPLAY_SLOTS;
}

/* ---- the extractor ----------------------------------------------------------------------- */

/* kind lower-cased without '-' and '_' ("post-tool-use", "PostToolUse" -> "posttooluse"). */
static void norm_kind(const char *kind, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = kind ? kind : ""; *p != '\0' && n + 1 < size; p++)
        if (*p != '-' && *p != '_')
            out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
}

static int is_edit_tool(const char *t)
{
    return strcmp(t, "Write") == 0 || strcmp(t, "Edit") == 0 || strcmp(t, "MultiEdit") == 0 ||
           strcmp(t, "NotebookEdit") == 0;
}

static int rules_extract(struct mnemo_extractor *x, const struct mnemo_extract_input *in,
                         struct mnemo_extract_output *out, struct mnemo_err *err)
{
    struct rules_state *st = x->state;
    char kind[40];
    int rc = 0;

    if (!json_is_object(in->payload))
        return 0;
    const struct rules_replay *again = replay_find(st, in->event_id);
    if (again != NULL) {
        if (mnemo__rules_output_copy(out, &again->out) != 0)
            return mnemo_err_set(err, MNEMO_ENOMEM, "rules extractor: out of memory");
        return 0;
    }
    norm_kind(in->kind, kind, sizeof kind);
    struct rules_session *s = session_for(st, in, &rc);
    if (rc != 0)
        return mnemo_err_set(err, rc, "rules extractor: out of memory");

    if (strcmp(kind, "posttooluse") == 0 || strcmp(kind, "posttoolusefailure") == 0) {
        int failed = kind[11] != '\0';
        const char *tool = mnemo__rules_str(in->payload, "tool_name");
        if (tool == NULL)
            rc = 0;
        else if (strcmp(tool, "Bash") == 0)
            rc = mnemo__rules_bash(in, s, failed, out);
        else if (failed)
            rc = 0; /* a failed edit or read changed and showed nothing */
        else if (is_edit_tool(tool))
            rc = on_edit(in, s, tool, out);
        else if (strcmp(tool, "Read") == 0 || strcmp(tool, "Grep") == 0 ||
                 strcmp(tool, "Glob") == 0)
            rc = on_read(in, s, tool);
    } else if (strcmp(kind, "userpromptsubmit") == 0 || strcmp(kind, "prompt") == 0) {
        const char *prompt = mnemo__rules_str(in->payload, "prompt");
        if (s != NULL && s->first_prompt == NULL && prompt != NULL && prompt[0] != '\0' &&
            (s->first_prompt = mnemo__rules_head(prompt, 40, RULES_PROMPT_MAX)) == NULL)
            rc = MNEMO_ENOMEM;
    } else if (strcmp(kind, "stop") == 0) {
        rc = on_stop(in, s, out);
    } else if (strcmp(kind, "sessionend") == 0) {
        rc = on_stop(in, s, out);
        if (s != NULL)
            session_clear(s); /* the session is over: its pairing state goes with it */
    }
    if (rc != 0)
        return mnemo_err_set(err, MNEMO_ENOMEM, "rules extractor: out of memory");
    replay_keep(st, in->event_id, out);
    return 0;
}

static void rules_destroy(struct mnemo_extractor *x)
{
    struct rules_state *st = x->state;
    if (st != NULL) {
        for (size_t i = 0; i < RULES_SESSIONS; i++)
            session_clear(&st->s[i]);
        for (size_t i = 0; i < REPLAY_SLOTS; i++)
            mnemo_extract_output_release(&st->replay[i].out);
        free(st);
    }
    free(x);
}

static const struct mnemo_extractor_ops rules_ops = {
    .name = "rules",
    .extract = rules_extract,
    .destroy = rules_destroy,
};

int mnemo_extractor_rules_new(struct mnemo_extractor **out, struct mnemo_err *err)
{
    if (out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "rules extractor: out is NULL");
    *out = NULL;
    struct mnemo_extractor *x = calloc(1, sizeof *x);
    struct rules_state *st = calloc(1, sizeof *st);
    if (x == NULL || st == NULL) {
        free(x);
        free(st);
        return mnemo_err_set(err, MNEMO_ENOMEM, "rules extractor: out of memory");
    }
    for (size_t i = 0; i < REPLAY_SLOTS; i++)
        mnemo_extract_output_init(&st->replay[i].out);
    x->ops = &rules_ops;
    x->state = st;
    *out = x;
    return 0;
}
