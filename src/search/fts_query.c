/*
 * fts_query.c - the FTS5 query builder: user text in, a MATCH expression of quoted terms out.
 */
#include "search/fts_query.h"

#include <string.h>

/*
 * English function words plus words that appear in nearly every coding note ("code", "file",
 * "function"...). Matching them would rank almost every row, and FTS5's bm25 cost grows with
 * the number of matches, so they cost time and add no signal.
 */
static const char *const stopwords[] = {
    "a",       "about",   "above",   "after",    "again", "all",    "also",    "am",     "an",
    "and",     "any",     "are",     "as",       "at",    "be",     "because", "been",   "before",
    "being",   "below",   "between", "both",     "but",   "by",     "can",     "could",  "did",
    "do",      "does",    "doing",   "done",     "down",  "during", "each",    "few",    "for",
    "from",    "further", "get",     "got",      "had",   "has",    "have",    "having", "he",
    "her",     "here",    "him",     "his",      "how",   "i",      "if",      "in",     "into",
    "is",      "it",      "its",     "just",     "let",   "like",   "make",    "me",     "more",
    "most",    "my",      "need",    "no",       "nor",   "not",    "now",     "of",     "off",
    "on",      "once",    "only",    "or",       "other", "our",    "out",     "over",   "own",
    "please",  "same",    "she",     "should",   "so",    "some",   "such",    "than",   "that",
    "the",     "their",   "them",    "then",     "there", "these",  "they",    "this",   "those",
    "through", "to",      "too",     "under",    "until", "up",     "use",     "used",   "using",
    "very",    "want",    "was",     "we",       "were",  "what",   "when",    "where",  "which",
    "while",   "who",     "whom",    "why",      "will",  "with",   "would",   "you",    "your",
    "code",    "file",    "files",   "function", "thing", "things", "way",     "work",   "works",
    "yes",
};

const char *mnemo_fts_bm25_expr(void)
{
    return MNEMO_FTS_BM25_EXPR;
}

int mnemo_fts_is_stopword(const char *w, size_t len)
{
    if (w == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(stopwords) / sizeof(stopwords[0]); i++) {
        if (strlen(stopwords[i]) == len && memcmp(stopwords[i], w, len) == 0)
            return 1;
    }
    return 0;
}

static int is_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

int mnemo_fts_tokenize(const char *text, size_t len, size_t min_len, int drop_stopwords,
                       mnemo_fts_token_fn fn, void *arg)
{
    char tok[MNEMO_FTS_MAX_TERM + 1];
    size_t i = 0;

    if (text == NULL || fn == NULL)
        return 0;
    if (len > MNEMO_FTS_MAX_INPUT)
        len = mnemo_utf8_cut(text, MNEMO_FTS_MAX_INPUT);
    while (i < len) {
        while (i < len && !is_word_byte((unsigned char)text[i]))
            i++;
        if (i >= len)
            break;
        size_t start = i;
        while (i < len && is_word_byte((unsigned char)text[i]))
            i++;
        size_t n = i - start;
        if (n > MNEMO_FTS_MAX_TERM)
            n = mnemo_utf8_cut(text + start, MNEMO_FTS_MAX_TERM);
        for (size_t j = 0; j < n; j++) {
            char c = text[start + j];
            tok[j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        tok[n] = '\0';
        if (n == 0 || n < min_len)
            continue;
        if (drop_stopwords && mnemo_fts_is_stopword(tok, n))
            continue;
        int rc = fn(tok, n, i == len, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * 1 when tok holds a letter or digit: an ASCII alphanumeric, or a non-ASCII code point outside
 * the common punctuation and symbol blocks. FTS5's unicode61 tokenizer drops punctuation, so a
 * prefix query on "—" becomes an empty prefix, which matches every row.
 */
static int has_wordlike(const char *tok, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)tok[i];
        if (c < 0x80) {
            if (c != '_')
                return 1;
            i++;
            continue;
        }
        unsigned cp;
        size_t n;
        if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            n = 2;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            n = 3;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07;
            n = 4;
        } else {
            i++;
            continue;
        }
        if (i + n > len)
            break;
        for (size_t k = 1; k < n; k++)
            cp = (cp << 6) | ((unsigned char)tok[i + k] & 0x3F);
        i += n;
        int punct = (cp >= 0x80 && cp <= 0xBF) || (cp >= 0x2000 && cp <= 0x2BFF) ||
                    (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE10 && cp <= 0xFE6F) ||
                    (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
                    cp == 0xD7 || cp == 0xF7;
        if (!punct)
            return 1;
    }
    return 0;
}

struct collect {
    char terms[MNEMO_FTS_MAX_TERMS][MNEMO_FTS_MAX_TERM + 1];
    size_t lens[MNEMO_FTS_MAX_TERMS];
    int n;
    int prefix_idx; /* index of the term to match as a prefix, -1 for none */
};

static int collect_term(const char *tok, size_t len, int at_end, void *arg)
{
    struct collect *c = arg;
    int idx = -1;

    for (int i = 0; i < c->n; i++) {
        if (c->lens[i] == len && memcmp(c->terms[i], tok, len) == 0) {
            idx = i;
            break;
        }
    }
    if (idx < 0) {
        /* Once full, keep reading only to learn whether a later token ends the text; a
         * term beyond the cap is never added. */
        if (c->n >= MNEMO_FTS_MAX_TERMS)
            return 0;
        idx = c->n++;
        memcpy(c->terms[idx], tok, len);
        c->terms[idx][len] = '\0';
        c->lens[idx] = len;
    }
    if (at_end && len >= 3 && has_wordlike(tok, len))
        c->prefix_idx = idx;
    return 0;
}

int mnemo_fts_query_build(const char *text, size_t len, struct mnemo_strbuf *out, int *n_terms,
                          struct mnemo_err *err)
{
    struct collect c;
    size_t mark;
    int rc = 0;

    if (n_terms != NULL)
        *n_terms = 0;
    if (text == NULL || out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "fts query: text and output are required");
    c.n = 0;
    c.prefix_idx = -1;
    mnemo_fts_tokenize(text, len, MNEMO_FTS_MIN_TERM, 1, collect_term, &c);
    if (c.n == 0)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "fts query: nothing to search for");
    /* A prefix serves search-as-you-type of a word or two. In longer text the last word is
     * almost always complete and the other terms carry the match, while a prefix of a common
     * word ("socket"*) expands to every identifier that starts with it: at 100k observations
     * the slowest queries were all of that kind, 60-70 ms against 15-35 ms without it. */
    if (c.n > MNEMO_FTS_PREFIX_MAX_TERMS)
        c.prefix_idx = -1;

    mark = out->len;
    for (int i = 0; i < c.n && rc == 0; i++) {
        if (i > 0)
            rc = mnemo_strbuf_puts(out, " OR ");
        if (rc == 0)
            rc = mnemo_strbuf_puts(out, "\"");
        /* Embedded quotes are doubled: inside an FTS5 string that is the only special. */
        const char *t = c.terms[i];
        for (size_t j = 0; j < c.lens[i] && rc == 0; j++)
            rc = mnemo_strbuf_append(out, t[j] == '"' ? "\"\"" : &t[j], t[j] == '"' ? 2 : 1);
        if (rc == 0)
            rc = mnemo_strbuf_puts(out, i == c.prefix_idx ? "\"*" : "\"");
    }
    if (rc != 0) {
        out->len = mark;
        if (out->data != NULL)
            out->data[mark] = '\0';
        return mnemo_err_set(err, rc, "fts query: %s", mnemo_strerror(rc));
    }
    if (n_terms != NULL)
        *n_terms = c.n;
    return 0;
}
