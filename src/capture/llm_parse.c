/*
 * llm_parse.c - the strict parser of the model's reply (format in extract.h). It reads a
 * small fixed XML subset by hand: a general XML parser would accept (and quietly ignore)
 * exactly the things a model's reply must be rejected for — unknown tags, attributes,
 * comments, stray text — and a reply is untrusted input that ends up in memory.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/llm_int.h"
#include "memory/obs_json.h"
#include "util/strbuf.h"

static const char *const concept_words[] = {
    "security",      "gotcha",         "best-practice",    "anti-pattern", "architecture",
    "performance",   "error-handling", "pattern",          "testing",      "debugging",
    "workflow",      "tooling",        "problem-solution", "trade-off",    "how-it-works",
    "why-it-exists", "what-changed",
};

int mnemo__llm_concept_valid(const char *s)
{
    for (size_t i = 0; s != NULL && i < sizeof concept_words / sizeof concept_words[0]; i++)
        if (strcmp(s, concept_words[i]) == 0)
            return 1;
    return 0;
}

struct cur {
    const char *p, *e;
    int rc; /* first error: MNEMO_EINVAL, MNEMO_ETOOBIG or MNEMO_ENOMEM */
    char why[200];
};

__attribute__((format(printf, 3, 4))) static int fail(struct cur *c, int rc, const char *fmt, ...)
{
    if (c->rc == 0) {
        va_list ap;
        va_start(ap, fmt);
        c->rc = rc;
        vsnprintf(c->why, sizeof c->why, fmt, ap);
        va_end(ap);
    }
    return c->rc;
}

static void skip_ws(struct cur *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Consumes lit when it comes next. */
static int eat(struct cur *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->e - c->p) < n || memcmp(c->p, lit, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/*
 * Reads a start tag without attributes: "<name>" or "<name/>" (*empty = 1). name gets the
 * tag's name (letters and '_', at most size-1). Returns 0 or the error.
 */
static int open_tag(struct cur *c, char *name, size_t size, int *empty)
{
    size_t n = 0;
    if (!eat(c, "<"))
        return fail(c, MNEMO_EINVAL, "expected a tag");
    while (c->p < c->e && (islower((unsigned char)*c->p) || *c->p == '_') && n + 1 < size)
        name[n++] = *c->p++;
    name[n] = '\0';
    if (n == 0)
        return fail(c, MNEMO_EINVAL, "expected a start tag");
    *empty = eat(c, "/>");
    if (!*empty && !eat(c, ">"))
        return fail(c, MNEMO_EINVAL, "unexpected character in tag <%s> (no attributes)", name);
    return 0;
}

static int close_tag(struct cur *c, const char *name)
{
    char want[40];
    snprintf(want, sizeof want, "</%s>", name);
    if (!eat(c, want))
        return fail(c, MNEMO_EINVAL, "expected </%s>", name);
    return 0;
}

static int put_utf8(struct mnemo_strbuf *sb, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return mnemo_strbuf_append(sb, b, n);
}

/* One entity after '&' (c->p past it) into sb. */
static int entity(struct cur *c, struct mnemo_strbuf *sb)
{
    static const struct {
        const char *name;
        char ch;
    } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (eat(c, named[i].name))
            return mnemo_strbuf_append(sb, &named[i].ch, 1);
    if (!eat(c, "#"))
        return fail(c, MNEMO_EINVAL, "unknown entity");
    int hex = eat(c, "x");
    unsigned long cp = 0;
    int digits = 0;
    while (c->p < c->e && (hex ? isxdigit((unsigned char)*c->p) : isdigit((unsigned char)*c->p))) {
        int d = isdigit((unsigned char)*c->p) ? *c->p - '0'
                                              : (tolower((unsigned char)*c->p) - 'a' + 10);
        cp = cp * (hex ? 16 : 10) + (unsigned long)d;
        c->p++;
        if (++digits > 8)
            return fail(c, MNEMO_EINVAL, "character reference too long");
    }
    if (digits == 0 || !eat(c, ";") || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(c, MNEMO_EINVAL, "bad character reference");
    return put_utf8(sb, cp);
}

/*
 * Text up to the next '<', entities decoded, trimmed, into a malloc'd string (*out). More
 * than max bytes is MNEMO_ETOOBIG (what for names the field in the message).
 */
static int text(struct cur *c, size_t max, const char *what, char **out)
{
    struct mnemo_strbuf sb;
    *out = NULL;
    mnemo_strbuf_init(&sb, max + 64);
    while (c->rc == 0 && c->p < c->e && *c->p != '<') {
        int rc;
        if (*c->p == '&') {
            c->p++;
            rc = entity(c, &sb);
        } else if (*c->p == '\0') {
            rc = fail(c, MNEMO_EINVAL, "NUL byte in %s", what);
        } else {
            const char *q = c->p;
            while (q < c->e && *q != '<' && *q != '&' && *q != '\0')
                q++;
            rc = mnemo_strbuf_append(&sb, c->p, (size_t)(q - c->p));
            c->p = q;
        }
        if (rc != 0 && c->rc == 0)
            fail(c, rc == MNEMO_ETOOBIG ? MNEMO_ETOOBIG : MNEMO_ENOMEM, "%s too long", what);
    }
    if (c->rc != 0) {
        mnemo_strbuf_release(&sb);
        return c->rc;
    }
    size_t start = 0, end = sb.len;
    while (start < end && isspace((unsigned char)sb.data[start]))
        start++;
    while (end > start && isspace((unsigned char)sb.data[end - 1]))
        end--;
    if (end - start > max) {
        mnemo_strbuf_release(&sb);
        return fail(c, MNEMO_ETOOBIG, "%s too long", what);
    }
    *out = malloc(end - start + 1);
    if (*out == NULL) {
        mnemo_strbuf_release(&sb);
        return fail(c, MNEMO_ENOMEM, "out of memory");
    }
    if (end > start)
        memcpy(*out, sb.data + start, end - start);
    (*out)[end - start] = '\0';
    mnemo_strbuf_release(&sb);
    return 0;
}

/* <name>text</name> after its start tag (or the empty <name/>) into *field. */
static int text_field(struct cur *c, const char *name, int empty, size_t max, char **field)
{
    if (empty)
        return (*field = strdup("")) != NULL ? 0 : fail(c, MNEMO_ENOMEM, "out of memory");
    if (text(c, max, name, field) != 0)
        return c->rc;
    return close_tag(c, name);
}

/* A list element (<facts>, <concepts>, <files_*>) after its start tag: items <item>text</item>. */
static int list_field(struct cur *c, const char *name, int empty, const char *item, size_t max_n,
                      size_t max_len, char ***items, size_t *n)
{
    while (!empty && c->rc == 0) {
        char end[40];
        snprintf(end, sizeof end, "</%s>", name);
        skip_ws(c);
        if (eat(c, end))
            return 0;
        char tag[32];
        int item_empty = 0;
        char *s = NULL;
        if (open_tag(c, tag, sizeof tag, &item_empty) != 0)
            return c->rc;
        if (strcmp(tag, item) != 0)
            return fail(c, MNEMO_EINVAL, "unexpected tag <%s> in a list", tag);
        if (item_empty || text(c, max_len, item, &s) != 0 || close_tag(c, item) != 0) {
            free(s);
            return c->rc ? c->rc : fail(c, MNEMO_EINVAL, "empty <%s>", item);
        }
        if (s[0] == '\0') {
            free(s);
            return fail(c, MNEMO_EINVAL, "empty <%s>", item);
        }
        if (*n >= max_n) {
            free(s);
            return fail(c, MNEMO_ETOOBIG, "too many items in <%s>", name);
        }
        int rc = mnemo_obs_list_push(items, n, max_n, s);
        free(s);
        if (rc != 0)
            return fail(c, rc, "cannot keep an item of <%s>", name);
    }
    return c->rc;
}

enum {
    F_TYPE = 1,
    F_TITLE = 2,
    F_SUBTITLE = 4,
    F_NARRATIVE = 8,
    F_FACTS = 16,
    F_CONCEPTS = 32,
    F_READ = 64,
    F_MODIFIED = 128
};

/* One <observation>...</observation> after its start tag, into o (initialised). */
static int observation(struct cur *c, struct mnemo_obs *o)
{
    unsigned seen = 0;
    char *type = NULL;
    for (;;) {
        char tag[32];
        int empty = 0;
        skip_ws(c);
        if (eat(c, "</observation>"))
            break;
        if (open_tag(c, tag, sizeof tag, &empty) != 0)
            break;
        unsigned bit = 0;
        if (strcmp(tag, "type") == 0) {
            bit = F_TYPE;
            if (!(seen & bit))
                text_field(c, tag, empty, 16, &type);
        } else if (strcmp(tag, "title") == 0) {
            bit = F_TITLE;
            if (!(seen & bit))
                text_field(c, tag, empty, LLM_TITLE_MAX, &o->title);
        } else if (strcmp(tag, "subtitle") == 0) {
            bit = F_SUBTITLE;
            if (!(seen & bit))
                text_field(c, tag, empty, MNEMO_OBS_MAX_SUBTITLE, &o->subtitle);
        } else if (strcmp(tag, "narrative") == 0) {
            bit = F_NARRATIVE;
            if (!(seen & bit))
                text_field(c, tag, empty, MNEMO_OBS_MAX_NARRATIVE, &o->narrative);
        } else if (strcmp(tag, "facts") == 0) {
            bit = F_FACTS;
            if (!(seen & bit))
                list_field(c, tag, empty, "fact", LLM_MAX_FACTS, MNEMO_OBS_MAX_FACT, &o->facts,
                           &o->n_facts);
        } else if (strcmp(tag, "concepts") == 0) {
            bit = F_CONCEPTS;
            if (!(seen & bit))
                list_field(c, tag, empty, "concept", LLM_MAX_CONCEPTS, MNEMO_OBS_MAX_CONCEPT,
                           &o->concepts, &o->n_concepts);
        } else if (strcmp(tag, "files_read") == 0) {
            bit = F_READ;
            if (!(seen & bit))
                list_field(c, tag, empty, "file", LLM_MAX_FILES, MNEMO_OBS_MAX_FILE, &o->files_read,
                           &o->n_files_read);
        } else if (strcmp(tag, "files_modified") == 0) {
            bit = F_MODIFIED;
            if (!(seen & bit))
                list_field(c, tag, empty, "file", LLM_MAX_FILES, MNEMO_OBS_MAX_FILE,
                           &o->files_modified, &o->n_files_modified);
        } else {
            fail(c, MNEMO_EINVAL, "unknown tag <%s>", tag);
        }
        if (c->rc == 0 && (seen & bit))
            fail(c, MNEMO_EINVAL, "<%s> given twice", tag);
        seen |= bit;
        if (c->rc != 0)
            break;
    }
    if (c->rc == 0) {
        if (type == NULL || type[0] == '\0')
            fail(c, MNEMO_EINVAL, "missing <type>");
        else if (!mnemo_obs_type_valid(type))
            fail(c, MNEMO_EINVAL, "unknown type \"%s\"", type);
        else if (o->title == NULL || o->title[0] == '\0')
            fail(c, MNEMO_EINVAL, "missing <title>");
        else if (o->narrative == NULL || o->narrative[0] == '\0')
            fail(c, MNEMO_EINVAL, "missing <narrative>");
        for (size_t i = 0; c->rc == 0 && i < o->n_concepts; i++)
            if (!mnemo__llm_concept_valid(o->concepts[i]))
                fail(c, MNEMO_EINVAL, "concept \"%s\" is not in the vocabulary", o->concepts[i]);
    }
    if (c->rc == 0)
        snprintf(o->type, sizeof o->type, "%s", type);
    free(type);
    return c->rc;
}

/* <skip/> or <skip reason="..."/> (c->p past "<skip"). */
static int skip_tag(struct cur *c)
{
    skip_ws(c);
    if (eat(c, "/>"))
        return 0;
    if (!eat(c, "reason"))
        return fail(c, MNEMO_EINVAL, "unexpected attribute in <skip>");
    skip_ws(c);
    if (!eat(c, "="))
        return fail(c, MNEMO_EINVAL, "bad <skip> attribute");
    skip_ws(c);
    if (c->p >= c->e || (*c->p != '"' && *c->p != '\''))
        return fail(c, MNEMO_EINVAL, "bad <skip> attribute");
    char q = *c->p++;
    const char *end = memchr(c->p, q, (size_t)(c->e - c->p));
    if (end == NULL || memchr(c->p, '<', (size_t)(end - c->p)) != NULL || end - c->p > 1024)
        return fail(c, MNEMO_EINVAL, "bad <skip> attribute");
    c->p = end + 1;
    skip_ws(c);
    if (!eat(c, "/>"))
        return fail(c, MNEMO_EINVAL, "<skip> must be empty");
    return 0;
}

/* Narrows [p, e) to the inside of one ```xml fence around the whole reply, if there is one. */
static void unfence(const char **p, const char **e)
{
    const char *s = *p, *t = *e;
    while (s < t && isspace((unsigned char)*s))
        s++;
    while (t > s && isspace((unsigned char)t[-1]))
        t--;
    if (t - s < 6 || memcmp(s, "```", 3) != 0 || memcmp(t - 3, "```", 3) != 0)
        return;
    const char *nl = memchr(s, '\n', (size_t)(t - s));
    if (nl == NULL || nl >= t - 3)
        return;
    size_t lang = (size_t)(nl - s - 3);
    while (lang > 0 && (s[3 + lang - 1] == '\r' || s[3 + lang - 1] == ' '))
        lang--;
    if (lang != 0 && !(lang == 3 && memcmp(s + 3, "xml", 3) == 0))
        return;
    *p = nl + 1;
    *e = t - 3;
}

int mnemo__llm_parse(const char *reply, size_t len, const struct mnemo_extract_input *in,
                     struct mnemo_extract_output *out, int *skipped, struct mnemo_err *err)
{
    struct cur c = {.p = reply, .e = reply + len, .rc = 0, .why = ""};
    size_t first = out->n_obs, made = 0;
    *skipped = 0;
    unfence(&c.p, &c.e);
    skip_ws(&c);
    if (c.p == c.e) {
        fail(&c, MNEMO_EINVAL, "empty reply");
    } else if (eat(&c, "<skip")) {
        if (skip_tag(&c) == 0)
            *skipped = 1;
    } else {
        while (c.rc == 0 && c.p < c.e) {
            if (!eat(&c, "<observation>")) {
                fail(&c, MNEMO_EINVAL, "expected <observation> or <skip/>");
                break;
            }
            if (made >= LLM_MAX_OBS || first + made >= MNEMO_EXTRACT_MAX_OBS) {
                fail(&c, MNEMO_ETOOBIG, "more than 3 observations");
                break;
            }
            struct mnemo_obs *o = &out->obs[first + made];
            mnemo_obs_init(o);
            made++;
            if (observation(&c, o) != 0)
                break;
            o->project = strdup(in->project ? in->project : "");
            if (o->project == NULL) {
                fail(&c, MNEMO_ENOMEM, "out of memory");
                break;
            }
            o->session_id = in->session_id;
            o->created_at = in->created_at;
            snprintf(o->provenance, sizeof o->provenance, "llm");
            struct mnemo_err verr = {0};
            if (mnemo_obs_validate(o, &verr) != 0) {
                fail(&c, verr.code == MNEMO_ETOOBIG ? MNEMO_ETOOBIG : MNEMO_EINVAL, "%s", verr.msg);
                break;
            }
            skip_ws(&c);
        }
    }
    if (c.rc == 0) {
        skip_ws(&c);
        if (c.p != c.e)
            fail(&c, MNEMO_EINVAL, "text after the reply");
    }
    if (c.rc != 0) {
        for (size_t i = first; i < first + made; i++)
            mnemo_obs_release(&out->obs[i]);
        *skipped = 0;
        return mnemo_err_set(err, c.rc, "llm reply rejected: %s", c.why);
    }
    out->n_obs = first + made;
    return 0;
}
