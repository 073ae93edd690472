/*
 * rules_bash.c - the rules extractor's commands (see extract.h): a failing command becomes a
 * "discovery" with its error lines; the same command (or the same build/test target) passing
 * later in the session becomes a "bugfix" naming the files changed in between; a git commit
 * becomes a "change" with its message. Other passing commands are noise and give nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/rules_int.h"
#include "memory/obs_json.h"
#include "util/strbuf.h"

/* Longest normalized command kept as a pairing key, and shown in a fact. */
#define KEY_MAX 512
/* Passing output quoted in a bugfix. */
#define PASS_LINES 10
#define PASS_BYTES 500
/* The failure's error quoted again in its bugfix. */
#define FIXED_ERROR_BYTES 1024

/* Build and test tools whose target (first non-option argument) identifies a command. */
static const char *const target_tools[] = {
    "make", "ninja",  "cmake",  "ctest",  "cargo",   "go",  "npm",  "pnpm",   "yarn",
    "bun",  "deno",   "pytest", "python", "python3", "tox", "mvn",  "gradle", "gradlew",
    "jest", "vitest", "tsc",    "meson",  "dotnet",  "mix", "rake", "bundle", "swift",
};

/* ---- command keys ------------------------------------------------------------------------ */

/* One whitespace-separated token of the squashed command s starting at *p; "" at the end. */
static size_t next_token(const char **p, const char **tok)
{
    const char *s = *p;
    while (*s == ' ')
        s++;
    *tok = s;
    while (*s != '\0' && *s != ' ')
        s++;
    *p = s;
    return (size_t)(s - *tok);
}

static int token_is(const char *tok, size_t n, const char *word)
{
    return strlen(word) == n && strncmp(tok, word, n) == 0;
}

/*
 * The build/test target key of a squashed command: the last command of a chain ("cd b &&
 * make test" -> "make test"), options dropped ("make -j2 test" -> "make test"). NULL when
 * the command is not a known build or test tool (the command itself is then the only key).
 */
static char *target_key(const char *key)
{
    const char *seg = key;
    for (const char *p = key; *p != '\0'; p++) {
        if ((p[0] == '&' && p[1] == '&') || (p[0] == '|' && p[1] == '|'))
            seg = p + 2;
        else if (p[0] == ';')
            seg = p + 1;
    }
    char *copy = strdup(seg);
    if (copy == NULL)
        return NULL;
    char *pipe = strchr(copy, '|');
    if (pipe != NULL)
        *pipe = '\0';

    const char *p = copy, *tok;
    size_t n;
    do { /* environment assignments (CC=clang make) */
        n = next_token(&p, &tok);
    } while (n > 0 && memchr(tok, '=', n) != NULL && tok[0] != '-');
    const char *base = tok;
    for (size_t i = 0; i < n; i++)
        if (tok[i] == '/')
            base = tok + i + 1;
    size_t bn = n - (size_t)(base - tok);
    int known = 0;
    for (size_t i = 0; i < sizeof target_tools / sizeof target_tools[0]; i++)
        known |= token_is(base, bn, target_tools[i]);
    char *out = NULL;
    if (known) {
        const char *arg;
        size_t an;
        do {
            an = next_token(&p, &arg);
        } while (an > 0 && arg[0] == '-');
        struct mnemo_strbuf sb;
        mnemo_strbuf_init(&sb, 0);
        if (mnemo_strbuf_append(&sb, base, bn) == 0 &&
            (an == 0 ||
             (mnemo_strbuf_append(&sb, " ", 1) == 0 && mnemo_strbuf_append(&sb, arg, an) == 0)))
            out = mnemo_strbuf_detach(&sb);
        mnemo_strbuf_release(&sb);
    }
    free(copy);
    return out;
}

/* 1 when the token ends a command, so the next token is in command position. */
static int ends_command(const char *tok, size_t n)
{
    char last = n > 0 ? tok[n - 1] : ' ';
    return last == ';' || last == '&' || last == '|' || last == '(';
}

/*
 * 1 when the squashed command runs `git [options] commit` in command position (first word of
 * a command, after environment assignments or a wrapper such as sudo), so `echo git commit`
 * and `grep "git commit"` do not count.
 */
static int is_git_commit(const char *key)
{
    const char *p = key, *tok;
    size_t n;
    int cmdpos = 1;
    while ((n = next_token(&p, &tok)) > 0) {
        if (cmdpos && tok[0] == '(') {
            tok++;
            n--;
        }
        if (cmdpos && token_is(tok, n, "git")) {
            const char *q = p, *t;
            size_t tn;
            for (;;) {
                tn = next_token(&q, &t);
                if (tn == 0 || t[0] != '-')
                    break;
                if (token_is(t, tn, "-C") || token_is(t, tn, "-c"))
                    next_token(&q, &t); /* the option's value */
            }
            if (token_is(t, tn, "commit"))
                return 1;
        }
        if (ends_command(tok, n))
            cmdpos = 1;
        else if (cmdpos &&
                 (token_is(tok, n, "sudo") || token_is(tok, n, "env") || token_is(tok, n, "time") ||
                  token_is(tok, n, "command") || (tok[0] != '-' && memchr(tok, '=', n) != NULL)))
            cmdpos = 1;
        else
            cmdpos = 0;
    }
    return 0;
}

/* ---- commit messages --------------------------------------------------------------------- */

/* The body of the first here-document of cmd (git commit -m "$(cat <<'EOF' ... EOF)"). */
static char *heredoc_body(const char *cmd)
{
    const char *h = strstr(cmd, "<<");
    if (h == NULL)
        return NULL;
    const char *p = h + 2;
    if (*p == '-')
        p++;
    while (*p == ' ')
        p++;
    char quote = (*p == '\'' || *p == '"') ? *p++ : '\0';
    const char *w = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    size_t wn = (size_t)(p - w);
    if (wn == 0 || (quote && *p != quote))
        return NULL;
    const char *body = strchr(p, '\n');
    if (body == NULL)
        return NULL;
    body++;
    for (const char *line = body; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t ln = end ? (size_t)(end - line) : strlen(line);
        const char *t = line;
        size_t tn = ln;
        while (tn > 0 && (*t == ' ' || *t == '\t')) {
            t++;
            tn--;
        }
        if (tn == wn && strncmp(t, w, wn) == 0)
            return mnemo__rules_head(body, 200, (size_t)(line - body));
        if (end == NULL)
            break;
        line = end + 1;
    }
    return NULL;
}

/* The argument of the first -m/--message option (quoted or a single word). */
static char *message_arg(const char *cmd)
{
    static const char *const opts[] = {" -m", " -am", " --message=", " --message"};
    const char *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const char *p = strstr(cmd, opts[i]);
        if (p != NULL && (best == NULL || p < best)) {
            best = p;
            best_len = strlen(opts[i]);
        }
    }
    if (best == NULL)
        return NULL;
    const char *p = best + best_len;
    if (*p != ' ' && *p != '"' && *p != '\'' && best[best_len - 1] != '=')
        return NULL;
    while (*p == ' ')
        p++;
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, RULES_COMMIT_MAX);
    int rc = mnemo_strbuf_puts(&sb, "");
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        for (; rc == 0 && *p != '\0' && *p != q && sb.len < RULES_COMMIT_MAX; p++) {
            if (q == '"' && *p == '\\' && p[1] != '\0')
                p++;
            rc = mnemo_strbuf_append(&sb, p, 1);
        }
    } else {
        for (; rc == 0 && *p != '\0' && !isspace((unsigned char)*p); p++)
            rc = mnemo_strbuf_append(&sb, p, 1);
    }
    char *out = rc == 0 && sb.len > 0 ? mnemo_strbuf_detach(&sb) : NULL;
    mnemo_strbuf_release(&sb);
    return out;
}

/* The commit's subject from git's answer "[branch abc1234] subject", or NULL. */
static char *summary_line(const char *out)
{
    if (out == NULL || out[0] != '[')
        return NULL;
    const char *close = strchr(out, ']');
    const char *nl = strchr(out, '\n');
    if (close == NULL || (nl != NULL && nl < close))
        return NULL;
    return mnemo__rules_head(out, 1, RULES_TITLE_MAX * 2);
}

/* ---- the observations -------------------------------------------------------------------- */

/* Adds the fact "command: <cmd>" and the concept "debugging". */
static int add_command_facts(struct mnemo_obs *o, const char *key, int debugging)
{
    size_t size = strlen(key) + 10;
    char *fact = malloc(size);
    if (fact == NULL)
        return MNEMO_ENOMEM;
    snprintf(fact, size, "command: %s", key);
    int rc = mnemo_obs_list_push(&o->facts, &o->n_facts, MNEMO_OBS_MAX_FACTS, fact);
    free(fact);
    if (rc == 0 && debugging)
        rc = mnemo_obs_list_push(&o->concepts, &o->n_concepts, MNEMO_OBS_MAX_CONCEPTS, "debugging");
    return rc;
}

/* Moves the finished narrative into o. */
static int set_narrative(struct mnemo_obs *o, struct mnemo_strbuf *sb, int rc)
{
    if (rc == 0 && (o->narrative = mnemo_strbuf_detach(sb)) == NULL)
        rc = MNEMO_ENOMEM;
    mnemo_strbuf_release(sb);
    return rc == 0 ? 0 : MNEMO_ENOMEM;
}

static int emit_discovery(const struct mnemo_extract_input *in, struct rules_session *s,
                          const char *key, const char *why, const char *error,
                          struct mnemo_extract_output *out)
{
    int rc;
    struct mnemo_obs *o = mnemo__rules_draft(out, in, s, "discovery", "Failed: ", key, &rc);
    if (o == NULL)
        return rc;
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    rc = mnemo_strbuf_appendf(&sb, "Command %s: %s", why, key);
    if (rc == 0 && error != NULL && error[0] != '\0')
        rc = mnemo_strbuf_appendf(&sb, "\n\nError output (last lines):\n%s", error);
    if (rc == 0)
        rc = add_command_facts(o, key, 1);
    return set_narrative(o, &sb, rc);
}

static int emit_bugfix(const struct mnemo_extract_input *in, struct rules_session *s,
                       const struct rules_failure *fl, const char *key, const char *output,
                       struct mnemo_extract_output *out)
{
    int rc;
    struct mnemo_obs *o = mnemo__rules_draft(out, in, s, "bugfix", "Fixed: ", key, &rc);
    if (o == NULL)
        return rc;
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    rc = mnemo_strbuf_appendf(&sb, "Command passes now: %s", key);
    if (rc == 0 && strcmp(fl->key, key) != 0)
        rc = mnemo_strbuf_appendf(&sb, "\nIt failed earlier in this session as: %s", fl->key);
    else if (rc == 0)
        rc = mnemo_strbuf_puts(&sb, "\nIt failed earlier in this session.");
    if (rc == 0 && fl->error != NULL && fl->error[0] != '\0') {
        char *err = mnemo__rules_tail(fl->error, RULES_ERROR_LINES, FIXED_ERROR_BYTES);
        rc = err ? mnemo_strbuf_appendf(&sb, "\n\nThe failure was:\n%s", err) : MNEMO_ENOMEM;
        free(err);
    }
    if (rc == 0 && fl->files.n > 0) {
        char *files = mnemo__rules_files_join(&fl->files);
        rc = files ? mnemo_strbuf_appendf(&sb, "\n\nFiles changed in between: %s.", files)
                   : MNEMO_ENOMEM;
        free(files);
    }
    if (rc == 0 && output != NULL && output[0] != '\0') {
        char *pass = mnemo__rules_tail(output, PASS_LINES, PASS_BYTES);
        rc = pass ? mnemo_strbuf_appendf(&sb, "\n\nPassing output (last lines):\n%s", pass)
                  : MNEMO_ENOMEM;
        free(pass);
    }
    for (size_t i = 0; rc == 0 && i < fl->files.n; i++)
        rc = mnemo_obs_list_push(&o->files_modified, &o->n_files_modified, MNEMO_OBS_MAX_FILES,
                                 fl->files.items[i]);
    if (rc == 0)
        rc = add_command_facts(o, key, 1);
    return set_narrative(o, &sb, rc);
}

static int emit_commit(const struct mnemo_extract_input *in, struct rules_session *s,
                       const char *cmd, const char *key, const char *output,
                       struct mnemo_extract_output *out)
{
    char *subject = summary_line(output);
    char *message = heredoc_body(cmd);
    if (message == NULL)
        message = message_arg(cmd);
    const char *title = message ? message : subject;
    const char *shown = title;
    if (shown != NULL && subject != NULL) {
        /* git's "[main abc1234] subject": the title wants the subject, not the bracket */
        const char *close = strchr(subject, ']');
        if (title == subject && close != NULL)
            shown = close[1] == ' ' ? close + 2 : close + 1;
    }
    int rc;
    struct mnemo_obs *o = mnemo__rules_draft(
        out, in, s, "change", "Committed: ", shown && shown[0] ? shown : "changes", &rc);
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    if (o == NULL)
        goto out;
    if (message != NULL)
        rc = mnemo_strbuf_appendf(&sb, "Commit message:\n%s", message);
    else
        rc = mnemo_strbuf_appendf(&sb, "Committed with: %s", key);
    if (rc == 0 && subject != NULL)
        rc = mnemo_strbuf_appendf(&sb, "\n\n%s", subject);
    if (rc == 0 && s != NULL && s->uncommitted.n > 0) {
        char *files = mnemo__rules_files_join(&s->uncommitted);
        rc = files ? mnemo_strbuf_appendf(&sb, "\n\nFiles changed since the previous commit: %s.",
                                          files)
                   : MNEMO_ENOMEM;
        free(files);
        for (size_t i = 0; rc == 0 && i < s->uncommitted.n; i++)
            rc = mnemo_obs_list_push(&o->files_modified, &o->n_files_modified, MNEMO_OBS_MAX_FILES,
                                     s->uncommitted.items[i]);
    }
    rc = set_narrative(o, &sb, rc);
out:
    mnemo_strbuf_release(&sb);
    if (rc == 0 && s != NULL)
        mnemo__rules_files_clear(&s->uncommitted);
    free(subject);
    free(message);
    return rc;
}

/* ---- the event --------------------------------------------------------------------------- */

/* The open failure of s whose command or target matches; NULL when none. */
static struct rules_failure *find_failure(struct rules_session *s, const char *key,
                                          const char *target)
{
    for (size_t i = 0; s != NULL && i < s->n_fail; i++) {
        struct rules_failure *fl = &s->fail[i];
        if (strcmp(fl->key, key) == 0 || (target && fl->target && strcmp(fl->target, target) == 0))
            return fl;
    }
    return NULL;
}

static void drop_failure(struct rules_session *s, struct rules_failure *fl)
{
    size_t i = (size_t)(fl - s->fail);
    mnemo__rules_failure_clear(fl);
    memmove(&s->fail[i], &s->fail[i + 1], (s->n_fail - i - 1) * sizeof s->fail[0]);
    s->n_fail--;
    memset(&s->fail[s->n_fail], 0, sizeof s->fail[0]);
}

/* Records a new open failure (the oldest goes when full); takes key and target. */
static int add_failure(struct rules_session *s, char **key, char **target, const char *cmd,
                       const char *error)
{
    if (s->n_fail == RULES_FAILURES)
        drop_failure(s, &s->fail[0]);
    struct rules_failure *fl = &s->fail[s->n_fail];
    fl->command = strdup(cmd);
    fl->error = strdup(error ? error : "");
    if (fl->command == NULL || fl->error == NULL) {
        mnemo__rules_failure_clear(fl);
        return MNEMO_ENOMEM;
    }
    fl->key = *key;
    fl->target = *target;
    *key = *target = NULL;
    s->n_fail++;
    return 0;
}

/* The output text of a Bash response: a string, or the stderr/stdout of an object. */
static const char *response_text(const json_t *resp, int want_error)
{
    if (json_is_string(resp))
        return json_string_value(resp);
    const char *e = mnemo__rules_str(resp, "stderr");
    const char *o = mnemo__rules_str(resp, "stdout");
    if (want_error && e != NULL && e[strspn(e, " \t\r\n")] != '\0')
        return e;
    return o ? o : e;
}

/* Whether the response says the command failed, and why ("failed (exit code 2)"). */
static int response_failed(const json_t *resp, char *why, size_t size)
{
    static const char *const code_keys[] = {"exit_code", "exitCode", "returncode", "return_code",
                                            "code"};
    if (!json_is_object(resp))
        return 0;
    if (json_is_true(json_object_get(resp, "interrupted"))) {
        snprintf(why, size, "was interrupted");
        return 1;
    }
    for (size_t i = 0; i < sizeof code_keys / sizeof code_keys[0]; i++) {
        const json_t *c = json_object_get(resp, code_keys[i]);
        if (json_is_integer(c) && json_integer_value(c) != 0) {
            snprintf(why, size, "failed (exit code %lld)", (long long)json_integer_value(c));
            return 1;
        }
    }
    if (json_is_true(json_object_get(resp, "is_error"))) {
        snprintf(why, size, "failed");
        return 1;
    }
    return 0;
}

int mnemo__rules_bash(const struct mnemo_extract_input *in, struct rules_session *s,
                      int failed_kind, struct mnemo_extract_output *out)
{
    const json_t *input = json_object_get(in->payload, "tool_input");
    const json_t *resp = json_object_get(in->payload, "tool_response");
    const char *cmd = mnemo__rules_str(input, "command");
    char why[64] = "failed";
    char *key = NULL, *target = NULL, *error = NULL;
    int rc = 0;

    if (cmd == NULL)
        return 0;
    key = mnemo__rules_squash(cmd, KEY_MAX);
    if (key == NULL)
        return MNEMO_ENOMEM;
    if (key[0] == '\0')
        goto out;
    target = target_key(key); /* NULL for an unknown tool (or out of memory: exact key only) */
    int failed = failed_kind || response_failed(resp, why, sizeof why);
    if (failed) {
        const char *text = failed_kind ? mnemo__rules_str(in->payload, "error") : NULL;
        if (text == NULL)
            text = response_text(resp, 1);
        error = mnemo__rules_tail(text, RULES_ERROR_LINES, RULES_ERROR_MAX);
        if (error == NULL) {
            rc = MNEMO_ENOMEM;
            goto out;
        }
        struct rules_failure *fl = find_failure(s, key, target);
        if (fl != NULL) {
            /* Still failing: keep the latest error for the fix, say nothing new. */
            free(fl->error);
            fl->error = error;
            error = NULL;
            goto out;
        }
        rc = emit_discovery(in, s, key, why, error, out);
        if (rc == 0 && s != NULL)
            rc = add_failure(s, &key, &target, cmd, error);
        goto out;
    }

    const char *output = response_text(resp, 0);
    struct rules_failure *fl = find_failure(s, key, target);
    if (fl != NULL) {
        rc = emit_bugfix(in, s, fl, key, output, out);
        if (rc == 0)
            drop_failure(s, fl);
    }
    if (rc == 0 && is_git_commit(key))
        rc = emit_commit(in, s, cmd, key, output, out);
out:
    free(key);
    free(target);
    free(error);
    return rc;
}
