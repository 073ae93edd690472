/*
 * context.c - formatting of the session-start index and the per-prompt memory block.
 */
#include "search/context.h"

#include <string.h>

#define OPEN_INDEX   "<mnemo-context>\n"
#define CLOSE_INDEX  "</mnemo-context>\n"
#define OPEN_PROMPT  "<mnemo-memory>\n"
#define CLOSE_PROMPT "</mnemo-memory>\n"
/* Room kept for the "(N more ...)" line and the closing tag. */
#define FOOTER_RESERVE 96

int64_t mnemo_context_estimate_tokens(size_t len)
{
    return (int64_t)((len + MNEMO_CONTEXT_CHARS_PER_TOKEN - 1) / MNEMO_CONTEXT_CHARS_PER_TOKEN);
}

static size_t byte_budget(int budget_tokens, int def)
{
    int64_t t = budget_tokens > 0 ? budget_tokens : def;
    int64_t b = t * MNEMO_CONTEXT_CHARS_PER_TOKEN;
    return b > MNEMO_CONTEXT_HARD_CAP ? MNEMO_CONTEXT_HARD_CAP : (size_t)b;
}

/*
 * Appends s flattened to one line of at most max bytes: control characters become spaces,
 * runs of spaces collapse, '<' and '>' become single guillemets (so no stored text can close
 * the frame), and a cut text ends in "...".
 */
static int put_line(struct mnemo_strbuf *sb, const char *s, size_t max)
{
    char buf[1024];
    size_t n = 0, len = s != NULL ? strlen(s) : 0;
    int cut = 0, space = 1;

    if (max > sizeof(buf) - 4)
        max = sizeof(buf) - 4;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        size_t rlen = 1;
        if (c < 0x20 || c == 0x7f || c == ' ') {
            if (space)
                continue;
            rep = " ";
            space = 1;
        } else if (c == '<') {
            rep = "\xe2\x80\xb9";
            rlen = 3;
            space = 0;
        } else if (c == '>') {
            rep = "\xe2\x80\xba";
            rlen = 3;
            space = 0;
        } else {
            rep = (const char *)&s[i];
            space = 0;
        }
        if (n + rlen > max) {
            cut = 1;
            break;
        }
        memcpy(buf + n, rep, rlen);
        n += rlen;
    }
    n = mnemo_utf8_cut(buf, n);
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    if (cut) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    return mnemo_strbuf_append(sb, buf, n);
}

/* "#<id> [<type>] <title>" */
static int put_head(struct mnemo_strbuf *sb, const struct mnemo_obs *o)
{
    int rc = mnemo_strbuf_appendf(sb, "#%lld [", (long long)o->id);
    if (rc == 0)
        rc = put_line(sb, o->type, sizeof(o->type));
    if (rc == 0)
        rc = mnemo_strbuf_puts(sb, "] ");
    if (rc == 0)
        rc = put_line(sb, o->title, MNEMO_CONTEXT_TITLE_MAX);
    return rc;
}

int mnemo_context_format_index(const char *project, const struct mnemo_obs *obs, size_t n,
                               int64_t total, int budget_tokens, struct mnemo_strbuf *out,
                               int *n_shown)
{
    struct mnemo_strbuf sb, line;
    size_t budget = byte_budget(budget_tokens, MNEMO_CONTEXT_SESSION_TOKENS);
    int shown = 0, rc;

    if (n_shown != NULL)
        *n_shown = 0;
    if (out == NULL || (n > 0 && obs == NULL))
        return MNEMO_EINVAL;
    if (n == 0)
        return 0;
    if (total < (int64_t)n)
        total = (int64_t)n;
    mnemo_strbuf_init(&sb, MNEMO_CONTEXT_HARD_CAP + 1024);
    mnemo_strbuf_init(&line, 4096);
    rc = mnemo_strbuf_puts(&sb, OPEN_INDEX MNEMO_CONTEXT_FRAME "\n# Project memory: ");
    if (rc == 0)
        rc = put_line(&sb, project, 100);
    if (rc == 0)
        rc = mnemo_strbuf_puts(&sb, "\n");
    for (size_t i = 0; i < n && rc == 0; i++) {
        mnemo_strbuf_reset(&line);
        rc = mnemo_strbuf_puts(&line, "- ");
        if (rc == 0)
            rc = put_head(&line, &obs[i]);
        if (rc == 0)
            rc = mnemo_strbuf_puts(&line, "\n");
        if (rc != 0 || sb.len + line.len + FOOTER_RESERVE > budget)
            break;
        rc = mnemo_strbuf_append(&sb, line.data, line.len);
        shown++;
    }
    if (rc == 0 && total > shown)
        rc = mnemo_strbuf_appendf(&sb, "(%lld more not shown; search memory for details)\n",
                                  (long long)(total - shown));
    if (rc == 0)
        rc = mnemo_strbuf_puts(&sb, CLOSE_INDEX);
    if (rc == 0 && shown > 0)
        rc = mnemo_strbuf_append(out, sb.data, sb.len);
    if (rc == 0 && n_shown != NULL && shown > 0)
        *n_shown = shown;
    mnemo_strbuf_release(&sb);
    mnemo_strbuf_release(&line);
    return rc;
}

int mnemo_context_format_prompt(const struct mnemo_search_hit *hits, size_t n, int budget_tokens,
                                struct mnemo_strbuf *out, int *n_shown)
{
    struct mnemo_strbuf sb, entry;
    size_t budget = byte_budget(budget_tokens, MNEMO_CONTEXT_PROMPT_TOKENS);
    int shown = 0, rc;

    if (n_shown != NULL)
        *n_shown = 0;
    if (out == NULL || (n > 0 && hits == NULL))
        return MNEMO_EINVAL;
    if (n == 0)
        return 0;
    mnemo_strbuf_init(&sb, MNEMO_CONTEXT_HARD_CAP + 1024);
    mnemo_strbuf_init(&entry, 8192);
    rc = mnemo_strbuf_puts(&sb, OPEN_PROMPT MNEMO_CONTEXT_FRAME "\n");
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct mnemo_obs *o = &hits[i].obs;
        mnemo_strbuf_reset(&entry);
        rc = mnemo_strbuf_puts(&entry, "## ");
        if (rc == 0)
            rc = put_head(&entry, o);
        if (rc == 0)
            rc = mnemo_strbuf_puts(&entry, "\n");
        if (rc == 0 && o->narrative != NULL && o->narrative[0] != '\0') {
            rc = put_line(&entry, o->narrative, MNEMO_CONTEXT_NARRATIVE_MAX);
            if (rc == 0)
                rc = mnemo_strbuf_puts(&entry, "\n");
        }
        for (size_t f = 0; f < o->n_facts && f < MNEMO_CONTEXT_FACTS_MAX && rc == 0; f++) {
            rc = mnemo_strbuf_puts(&entry, "- ");
            if (rc == 0)
                rc = put_line(&entry, o->facts[f], MNEMO_CONTEXT_FACT_MAX);
            if (rc == 0)
                rc = mnemo_strbuf_puts(&entry, "\n");
        }
        if (rc != 0 || sb.len + entry.len + sizeof(CLOSE_PROMPT) > budget)
            break;
        rc = mnemo_strbuf_append(&sb, entry.data, entry.len);
        shown++;
    }
    if (rc == 0)
        rc = mnemo_strbuf_puts(&sb, CLOSE_PROMPT);
    if (rc == 0 && shown > 0)
        rc = mnemo_strbuf_append(out, sb.data, sb.len);
    if (rc == 0 && n_shown != NULL && shown > 0)
        *n_shown = shown;
    mnemo_strbuf_release(&sb);
    mnemo_strbuf_release(&entry);
    return rc;
}

int mnemo_context_session_start(struct mnemo_store *st, const char *project, int budget_tokens,
                                struct mnemo_strbuf *out, int *n_shown, struct mnemo_err *err)
{
    struct mnemo_obs_filter f;
    struct mnemo_obs_list list = {0};
    int64_t total = 0;
    int rc;

    if (n_shown != NULL)
        *n_shown = 0;
    if (st == NULL || project == NULL || project[0] == '\0' || out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "context: store, project and output are required");
    mnemo_obs_filter_init(&f);
    f.project = project;
    f.include_global = 1;
    f.order = MNEMO_OBS_ORDER_IMPORTANCE_DESC;
    f.limit = MNEMO_CONTEXT_SESSION_MAX_OBS;
    rc = mnemo_obs_list(st, &f, &list, err);
    if (rc == 0)
        rc = mnemo_obs_count(st, &f, &total, err);
    if (rc == 0) {
        rc = mnemo_context_format_index(project, list.items, list.n, total, budget_tokens, out,
                                        n_shown);
        if (rc != 0)
            rc = mnemo_err_set(err, rc, "context: %s", mnemo_strerror(rc));
    }
    mnemo_obs_list_release(&list);
    return rc;
}

int mnemo_context_prompt(struct mnemo_store *st, struct mnemo_vindex *vx,
                         struct mnemo_embedder *emb, const char *project, const char *prompt,
                         int budget_tokens, int64_t deadline_ns,
                         const struct mnemo_fusion_params *params, struct mnemo_strbuf *out,
                         int *n_shown, struct mnemo_err *err)
{
    struct mnemo_search_results r;
    int rc;

    if (n_shown != NULL)
        *n_shown = 0;
    if (out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "context: output is required");
    rc = mnemo_search_hybrid(st, vx, emb, project, prompt, MNEMO_CONTEXT_PROMPT_MAX_OBS, 1,
                             deadline_ns, params, &r, err);
    if (rc != 0)
        return rc;
    rc = mnemo_context_format_prompt(r.items, r.n, budget_tokens, out, n_shown);
    if (rc != 0)
        rc = mnemo_err_set(err, rc, "context: %s", mnemo_strerror(rc));
    mnemo_search_results_release(&r);
    return rc;
}
