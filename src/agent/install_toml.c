/*
 * install_toml.c - adds and removes the [mcp_servers.mnemo] table in Codex's config.toml.
 *
 * Not a TOML parser: a line scanner that knows just enough of the syntax (strings of the four
 * kinds, comments, arrays and inline tables spanning lines, table headers, dotted keys) to
 * find where tables start and end. It cuts mnemo's table out and appends it again, so every
 * byte outside that table stays as it was. Anything it cannot place safely is refused rather
 * than guessed at.
 */
#include <stdio.h>
#include <string.h>

#include "agent/install_int.h"

/* The comment line install writes above its table; removal takes it (and one blank line
 * before it) away again. */
#define MARKER                                                                                     \
    "# mnemo: memory for coding agents (added by `mnemo install codex`; `mnemo uninstall codex` "  \
    "removes it)"

#define MAX_KEYS 8
#define KEY_MAX  128

/* A dotted key, split. */
struct key {
    int n;
    char part[MAX_KEYS][KEY_MAX];
};

/* One line of the file and what the scanner learned about it. */
struct line {
    size_t start, end; /* [start, end) including the '\n' */
    int header;        /* a [table] or [[array]] header */
    struct key path;   /* the header's key (header) */
    int blank_or_comment;
};

/* Parses a dotted key at s (up to stop characters); returns the position after it or NULL. */
static const char *parse_key(const char *s, const char *end, const char *stops, struct key *k)
{
    k->n = 0;
    for (;;) {
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        if (s >= end || k->n == MAX_KEYS)
            return NULL;
        size_t n = 0;
        char *out = k->part[k->n];
        if (*s == '"' || *s == '\'') {
            char q = *s++;
            while (s < end && *s != q) {
                if (q == '"' && *s == '\\' && s + 1 < end)
                    s++;
                if (n + 1 >= KEY_MAX)
                    return NULL;
                out[n++] = *s++;
            }
            if (s >= end)
                return NULL;
            s++;
        } else {
            while (s < end && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                               (*s >= '0' && *s <= '9') || *s == '_' || *s == '-')) {
                if (n + 1 >= KEY_MAX)
                    return NULL;
                out[n++] = *s++;
            }
            if (n == 0)
                return NULL;
        }
        out[n] = '\0';
        k->n++;
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        if (s < end && *s == '.') {
            s++;
            continue;
        }
        if (s < end && strchr(stops, *s) != NULL)
            return s;
        return NULL;
    }
}

/* True when k starts with the n parts given. */
static int key_has_prefix(const struct key *k, int n, const char *a, const char *b)
{
    if (k->n < n)
        return 0;
    if (strcmp(k->part[0], a) != 0)
        return 0;
    return n < 2 || strcmp(k->part[1], b) == 0;
}

/* Scanner state carried from line to line. */
struct scan {
    int depth; /* open [ and { inside a value */
    int ml;    /* inside a multi-line string: '"' or '\'' (0 when not) */
};

/*
 * Scans the value characters of [s, end) (one line) updating st. Returns 0, or -1 on an
 * unterminated single-line string.
 */
static int scan_value(const char *s, const char *end, struct scan *st)
{
    while (s < end) {
        if (st->ml != 0) {
            char q = st->ml;
            if (q == '"' && *s == '\\') {
                s += 2;
                continue;
            }
            if (s + 2 < end + 0 && s[0] == q && s[1] == q && s[2] == q) {
                s += 3;
                /* A closing delimiter may carry one or two more quotes of content. */
                while (s < end && *s == q)
                    s++;
                st->ml = 0;
                continue;
            }
            s++;
            continue;
        }
        char c = *s;
        if (c == '#' || c == '\n' || c == '\r')
            return 0;
        if ((c == '"' || c == '\'') && s + 2 < end && s[1] == c && s[2] == c) {
            st->ml = c;
            s += 3;
            continue;
        }
        if (c == '"' || c == '\'') {
            s++;
            while (s < end && *s != c && *s != '\n') {
                if (c == '"' && *s == '\\' && s + 1 < end)
                    s++;
                s++;
            }
            if (s >= end || *s != c)
                return -1;
            s++;
            continue;
        }
        if (c == '[' || c == '{')
            st->depth++;
        else if ((c == ']' || c == '}') && st->depth > 0)
            st->depth--;
        s++;
    }
    return 0;
}

/* Splits text into lines and classifies them. Returns 0 or MNEMO_EINVAL naming the line. */
static int scan_lines(const char *what, const char *text, size_t len, struct line **out,
                      size_t *n_out, struct mnemo_err *err)
{
    size_t cap = 16, n = 0;
    struct line *lines = malloc(cap * sizeof *lines);
    struct scan st = {0, 0};
    struct key root_table = {0};
    struct key table = root_table;

    if (lines == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) + 1 : len;
        if (n == cap) {
            cap *= 2;
            struct line *grown = realloc(lines, cap * sizeof *lines);
            if (grown == NULL) {
                free(lines);
                return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
            }
            lines = grown;
        }
        struct line *l = &lines[n++];
        memset(l, 0, sizeof *l);
        l->start = pos;
        l->end = end;
        const char *s = text + pos, *e = text + end;
        int lineno = (int)n;
        int in_value = st.ml != 0 || st.depth > 0;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        if (!in_value && (s == e || *s == '#' || *s == '\n' || *s == '\r')) {
            l->blank_or_comment = 1;
        } else if (!in_value && *s == '[') {
            int array = s + 1 < e && s[1] == '[';
            const char *after = parse_key(s + 1 + array, e, "]", &l->path);
            if (after == NULL || (array && (after + 1 >= e || after[1] != ']'))) {
                free(lines);
                return mnemo_err_set(err, MNEMO_EINVAL,
                                     "%s is not valid TOML (line %d: malformed table header); "
                                     "it was not changed",
                                     what, lineno);
            }
            l->header = 1;
            table = l->path;
            if (scan_value(after + 1 + array, e, &st) != 0 || st.depth != 0) {
                free(lines);
                return mnemo_err_set(err, MNEMO_EINVAL,
                                     "%s is not valid TOML (line %d: text after a table "
                                     "header); it was not changed",
                                     what, lineno);
            }
        } else if (!in_value) {
            struct key k;
            const char *eq = parse_key(s, e, "=", &k);
            if (eq == NULL) {
                free(lines);
                return mnemo_err_set(err, MNEMO_EINVAL,
                                     "%s is not valid TOML (line %d: expected key = value); it "
                                     "was not changed",
                                     what, lineno);
            }
            /* The full key of this assignment: table path + dotted key. */
            struct key full = table;
            for (int i = 0; i < k.n && full.n < MAX_KEYS; i++)
                memcpy(full.part[full.n++], k.part[i], KEY_MAX);
            if ((full.n == 1 && strcmp(full.part[0], "mcp_servers") == 0) ||
                (key_has_prefix(&full, 2, "mcp_servers", "mnemo") &&
                 !key_has_prefix(&table, 2, "mcp_servers", "mnemo"))) {
                free(lines);
                return mnemo_err_set(err, MNEMO_EINVAL,
                                     "%s defines %s inline or with dotted keys (line %d); mnemo "
                                     "install only edits a [mcp_servers.mnemo] table, so it "
                                     "changed nothing: write the server as a table or remove it",
                                     what, full.n == 1 ? "mcp_servers" : "mcp_servers.mnemo",
                                     lineno);
            }
            if (scan_value(eq + 1, e, &st) != 0) {
                free(lines);
                return mnemo_err_set(err, MNEMO_EINVAL,
                                     "%s is not valid TOML (line %d: unterminated string); it "
                                     "was not changed",
                                     what, lineno);
            }
        } else if (scan_value(text + pos, e, &st) != 0) {
            free(lines);
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "%s is not valid TOML (line %d: unterminated string); it was "
                                 "not changed",
                                 what, lineno);
        }
        pos = end;
    }
    if (st.ml != 0 || st.depth != 0) {
        free(lines);
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "%s is not valid TOML (an unterminated %s at the end); it was not "
                             "changed",
                             what, st.ml != 0 ? "multi-line string" : "array or inline table");
    }
    *out = lines;
    *n_out = n;
    return 0;
}

/* True when line i is exactly the marker comment. */
static int is_marker(const char *text, const struct line *l)
{
    size_t n = l->end - l->start;
    size_t m = strlen(MARKER);
    return n >= m && memcmp(text + l->start, MARKER, m) == 0 &&
           (n == m || text[l->start + m] == '\n' || text[l->start + m] == '\r');
}

/* True when the table's lines [from, to) set a command that is not a mnemo binary. */
static int foreign_command(const char *text, const struct line *lines, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const char *s = text + lines[i].start;
        const char *e = text + lines[i].end;
        struct key k;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        const char *eq = parse_key(s, e, "=", &k);
        if (eq == NULL || k.n != 1 || strcmp(k.part[0], "command") != 0)
            continue;
        size_t n = (size_t)(e - eq);
        char val[4096];
        if (n >= sizeof val)
            n = sizeof val - 1;
        memcpy(val, eq, n);
        val[n] = '\0';
        if (strstr(val, "mnemo") == NULL)
            return 1;
    }
    return 0;
}

/* Appends a TOML basic string. */
static int toml_string(struct mnemo_strbuf *sb, const char *s)
{
    int rc = mnemo_strbuf_puts(sb, "\"");
    for (; rc == 0 && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = mnemo_strbuf_appendf(sb, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            rc = mnemo_strbuf_appendf(sb, "\\u%04x", c);
        else
            rc = mnemo_strbuf_append(sb, s, 1);
    }
    return rc == 0 ? mnemo_strbuf_puts(sb, "\"") : rc;
}

int mnemo__install_toml_edit(const char *what, const char *old, size_t old_len, const char *command,
                             int add, struct mnemo_strbuf *out, int *found, int *skeleton,
                             struct mnemo_err *err)
{
    struct line *lines = NULL;
    size_t n = 0;
    int rc;

    *found = 0;
    *skeleton = 0;
    mnemo_strbuf_reset(out);
    if (old == NULL) {
        old = "";
        old_len = 0;
    }
    rc = scan_lines(what, old, old_len, &lines, &n, err);
    if (rc != 0)
        return rc;

    /* Mark the lines that belong to mnemo's table and its subtables. */
    unsigned char *drop = calloc(n + 1, 1);
    if (drop == NULL) {
        free(lines);
        return mnemo_err_set(err, MNEMO_ENOMEM, "%s: out of memory", what);
    }
    for (size_t i = 0; i < n; i++) {
        if (!lines[i].header || !key_has_prefix(&lines[i].path, 2, "mcp_servers", "mnemo"))
            continue;
        size_t j = i + 1;
        while (j < n && !lines[j].header)
            j++;
        /* Trailing comments and blank lines introduce whatever follows; they stay. */
        size_t k = j;
        while (k > i + 1 && lines[k - 1].blank_or_comment)
            k--;
        if (foreign_command(old, lines, i + 1, k)) {
            free(drop);
            free(lines);
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "%s: a [mcp_servers.mnemo] table that does not run mnemo is "
                                 "already configured; rename or remove it first",
                                 what);
        }
        *found = 1;
        for (size_t m = i; m < k; m++)
            drop[m] = 1;
        if (i > 0 && is_marker(old, &lines[i - 1])) {
            drop[i - 1] = 1;
            if (i > 1 && lines[i - 2].blank_or_comment &&
                lines[i - 2].end - lines[i - 2].start <= 2 &&
                (old[lines[i - 2].start] == '\n' || old[lines[i - 2].start] == '\r'))
                drop[i - 2] = 1;
        }
        i = j - 1;
    }

    rc = 0;
    int only_blank = 1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (drop[i])
            continue;
        if (!lines[i].blank_or_comment || old[lines[i].start] == '#')
            only_blank = 0;
        rc = mnemo_strbuf_append(out, old + lines[i].start, lines[i].end - lines[i].start);
    }
    free(drop);
    free(lines);
    *skeleton = only_blank;

    if (rc == 0 && add) {
        if (out->len > 0 && out->data[out->len - 1] != '\n')
            rc = mnemo_strbuf_puts(out, "\n");
        if (rc == 0 && out->len > 0)
            rc = mnemo_strbuf_puts(out, "\n");
        if (rc == 0)
            rc = mnemo_strbuf_puts(out, MARKER "\n[mcp_servers.mnemo]\ncommand = ");
        if (rc == 0)
            rc = toml_string(out, command);
        if (rc == 0)
            rc = mnemo_strbuf_puts(out, "\nargs = [\"mcp\"]\n");
    }
    if (rc == 0 && out->data == NULL)
        rc = mnemo_strbuf_puts(out, "");
    if (rc != 0)
        return mnemo_err_set(err, rc, "%s: %s", what, mnemo_strerror(rc));
    return 0;
}
