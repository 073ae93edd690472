/*
 * hash.c - the built-in embedder: signed feature hashing of normalised text.
 *
 * Lexical, not semantic: two texts are close when they share words, identifier parts or
 * spelling fragments. The pipeline, in order:
 *
 * 1. Normalisation, one code point at a time with utf8proc: compatibility decomposition and
 *    case folding (NFKD + casefold; "Ｆｉｌｅ" -> "file", "ﬁ" -> "fi"), then combining marks
 *    are dropped after Latin, Greek and Cyrillic letters ("Café" -> "cafe"), the same
 *    accent-insensitivity as the FTS5 tokenizer's remove_diacritics. Marks after other
 *    scripts (Devanagari vowel signs, Thai tone marks) are part of the word and are kept.
 *    Invalid UTF-8 bytes act as separators. NFKD rather than NFKC: both map canonically
 *    equivalent inputs (precomposed or not) to the same sequence, which is all hashing
 *    needs, and NFKD can be done per code point without a composition pass.
 * 2. Tokens are maximal runs of letters, digits and '_' (marks continue a token). A token is
 *    split into sub-words at '_' and at case changes (getUserName -> get user name,
 *    HTTPServer -> http server, utf8Decode -> utf8 decode); the original case is read before
 *    folding. A split token contributes its whole form as a unigram and its sub-words as
 *    words, so "getUserName" matches both "getusername" and "user name". Only the first 256
 *    normalised code points of a token are read (longer ones are hashes or blobs).
 * 3. Words in a short English stop-word list are dropped.
 * 4. Features, each hashed with its own seed so classes never collide on purpose:
 *      unigram (each word and each whole split token)  weight 1.00
 *      bigram (consecutive words after stop-words)      weight 0.70
 *      char trigram of "^word$" (boundary markers)      weight 0.25
 *    Trigrams are many (one per character) and individually weak; at 0.25 a word's trigrams
 *    together weigh about as much as its unigram, enough to match "starved" with
 *    "starvation" without drowning exact word matches.
 * 5. Term frequency is sublinear: a feature seen tf times adds sign * weight * (1 + ln tf)
 *    to dimension index; index and sign come from different bits of one 64-bit hash
 *    (FNV-1a over code points, finished with the splitmix64 mixer; no dependency). ln and
 *    sqrt are computed in plain double arithmetic (embed.c), so vectors are bit-identical
 *    across machines and libm versions.
 * 6. The vector is L2-normalised. A text without features (empty, spaces, emoji, stop words
 *    only) gets the fixed unit vector with every component +1/sqrt(dim).
 *
 * Changing anything here changes the vectors: bump the "hash-v1" id in embed.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "embed/embed_int.h"

#define W_UNIGRAM 1.00f
#define W_BIGRAM  0.70f
#define W_TRIGRAM 0.25f

#define SEED_UNIGRAM UINT64_C(0x9e3779b97f4a7c15)
#define SEED_BIGRAM  UINT64_C(0xc2b2ae3d27d4eb4f)
#define SEED_TRIGRAM UINT64_C(0x165667b19e3779f9)

/* Trigram boundary markers: outside Unicode, so they never equal a real code point. */
#define CP_BEGIN 0x110000
#define CP_END   0x110001

/* Sub-word split flag on a normalised code point: a new sub-word starts here. */
#define FLAG_SUBSTART 1u

/* Longest word whose trigrams are taken; beyond it (hashes, base64 blobs) only the unigram
 * counts, which keeps the work per byte bounded. */
#define TRIGRAM_WORD_MAX 48

/* Longest token, in normalised code points, that is read; see mnemo__embed_hash. */
#define TOKEN_MAX 256

/* Term counts below this get their 1 + ln(tf) computed once per call. */
#define TF_CACHE 64

static const char *const stopwords[] = {
    "a",    "about", "after",  "all",   "also",   "am",    "an",    "and",     "any",   "are",
    "as",   "at",    "be",     "been",  "before", "being", "but",   "by",      "can",   "could",
    "did",  "do",    "does",   "for",   "from",   "had",   "has",   "have",    "he",    "her",
    "here", "his",   "how",    "i",     "if",     "in",    "into",  "is",      "it",    "its",
    "just", "me",    "more",   "most",  "my",     "of",    "on",    "only",    "or",    "other",
    "our",  "she",   "should", "so",    "some",   "such",  "than",  "that",    "the",   "their",
    "them", "then",  "there",  "these", "they",   "this",  "those", "through", "to",    "too",
    "very", "was",   "we",     "were",  "what",   "when",  "where", "which",   "while", "who",
    "why",  "will",  "with",   "would", "you",    "your",
};

/* splitmix64's finaliser: spreads every input bit over the whole word. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* FNV-1a over code points (values, not memory bytes, so it is endian-independent). */
static uint64_t hash_cps(const uint32_t *cp, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < n; i++) {
        h ^= cp[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

#define N_STOPWORDS (sizeof(stopwords) / sizeof(stopwords[0]))

/* A word of at most 8 lowercase ASCII letters as one integer, first letter in the top byte:
 * integer order is then the list's strcmp order, so the packed list needs no sorting. */
static uint64_t pack_ascii(const char *s, size_t n)
{
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++)
        k = (k << 8) | (i < n ? (uint8_t)s[i] : 0);
    return k;
}

/* Packs the list once per call (a hundred operations), so the lookup compares integers and
 * can never disagree with the readable list above. */
static void stopword_pack(uint64_t packed[N_STOPWORDS])
{
    for (size_t i = 0; i < N_STOPWORDS; i++)
        packed[i] = pack_ascii(stopwords[i], strlen(stopwords[i]));
}

static int is_stopword(const uint64_t packed[N_STOPWORDS], const uint32_t *cp, size_t n)
{
    char buf[8];
    size_t lo = 0, hi = N_STOPWORDS;

    if (n > sizeof(buf))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (cp[i] < 'a' || cp[i] > 'z')
            return 0;
        buf[i] = (char)cp[i];
    }
    uint64_t key = pack_ascii(buf, n);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (packed[mid] == key)
            return 1;
        if (packed[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ---- feature table: 64-bit key -> weight, count (open addressing, linear probing) ---- */

struct feature {
    uint64_t key; /* 0 = empty slot; a real key of 0 is remapped to 1 */
    float weight;
    uint32_t count;
};

/* Slots of the table inside the per-call state; a short text needs a single allocation. */
#define TAB_INLINE 512
/* Upper bound on table slots (16 MiB); past it new features of a huge text are dropped. */
#define TAB_MAX ((size_t)1 << 20)

struct state {
    struct feature *tab;
    size_t mask;
    size_t used;
    int oom;            /* growing the table failed; the vector would be incomplete */
    uint64_t prev_word; /* hash of the previous kept word, for bigrams */
    int have_prev;
    uint64_t stop_packed[N_STOPWORDS]; /* see stopword_pack */
    struct feature inline_tab[TAB_INLINE];
};

static void insert_slot(struct feature *tab, size_t mask, const struct feature *f)
{
    size_t i = (size_t)f->key & mask;

    while (tab[i].key != 0)
        i = (i + 1) & mask;
    tab[i] = *f;
}

/* Doubles the table, keeping the load factor under 1/2 so probes stay short. */
static int grow(struct state *st)
{
    size_t size = (st->mask + 1) * 2;
    struct feature *tab;

    if (size > TAB_MAX)
        return MNEMO_ETOOBIG;
    tab = calloc(size, sizeof(*tab));
    if (tab == NULL)
        return MNEMO_ENOMEM;
    for (size_t i = 0; i <= st->mask; i++) {
        if (st->tab[i].key != 0)
            insert_slot(tab, size - 1, &st->tab[i]);
    }
    if (st->tab != st->inline_tab)
        free(st->tab);
    st->tab = tab;
    st->mask = size - 1;
    return 0;
}

static void add_feature(struct state *st, uint64_t key, float weight)
{
    size_t i;

    if (key == 0)
        key = 1;
    i = (size_t)key & st->mask;
    while (st->tab[i].key != 0 && st->tab[i].key != key)
        i = (i + 1) & st->mask;
    if (st->tab[i].key == 0) {
        if ((st->used + 1) * 2 > st->mask + 1) {
            int rc = grow(st);

            if (rc == MNEMO_ENOMEM)
                st->oom = 1;
            if (rc != 0)
                return; /* at TAB_MAX further new features are dropped: bounded work */
            add_feature(st, key, weight);
            return;
        }
        st->tab[i].key = key;
        st->tab[i].weight = weight;
        st->used++;
    }
    st->tab[i].count++;
}

static void add_unigram(struct state *st, uint64_t word_hash)
{
    add_feature(st, mix64(word_hash ^ SEED_UNIGRAM), W_UNIGRAM);
}

/* One word of the stream: unigram, bigram with the previous word, trigrams. */
static void add_word(struct state *st, const uint32_t *cp, size_t n)
{
    uint64_t h;

    if (n == 0 || is_stopword(st->stop_packed, cp, n))
        return;
    h = hash_cps(cp, n);
    add_unigram(st, h);
    if (st->have_prev)
        add_feature(st, mix64((st->prev_word * UINT64_C(31)) ^ mix64(h) ^ SEED_BIGRAM), W_BIGRAM);
    st->prev_word = h;
    st->have_prev = 1;
    if (n > TRIGRAM_WORD_MAX)
        return;
    for (size_t i = 0; i < n; i++) {
        /* Trigram i covers padded positions i..i+2 of "^word$". */
        uint32_t tri[3];

        tri[0] = i == 0 ? CP_BEGIN : cp[i - 1];
        tri[1] = cp[i];
        tri[2] = i + 1 < n ? cp[i + 1] : CP_END;
        add_feature(st, mix64(hash_cps(tri, 3) ^ SEED_TRIGRAM), W_TRIGRAM);
    }
}

/* Walks the sub-words of cps[0..n) (split at '_' and at flagged case changes), feeding each
 * to add_word when emit is set. Returns how many there are. */
static size_t subwords(struct state *st, const uint32_t *cps, const uint8_t *flags, size_t n,
                       int emit)
{
    size_t parts = 0, start = 0;

    for (size_t i = 0; i <= n; i++) {
        int end = i == n || cps[i] == '_' || (i > start && (flags[i] & FLAG_SUBSTART));

        if (!end)
            continue;
        if (i > start) {
            parts++;
            if (emit)
                add_word(st, cps + start, i - start);
        }
        start = i < n && cps[i] == '_' ? i + 1 : i;
    }
    return parts;
}

/* A finished token cps[0..n) with its sub-word flags: emits words (and the whole form). */
static void add_token(struct state *st, const uint32_t *cps, const uint8_t *flags, size_t n)
{
    /* Leading and trailing '_' belong to no word (__init__ is "init"). */
    while (n > 0 && cps[0] == '_') {
        cps++;
        flags++;
        n--;
    }
    while (n > 0 && cps[n - 1] == '_')
        n--;
    if (n == 0)
        return;
    if (subwords(st, cps, flags, n, 0) < 2) {
        add_word(st, cps, n);
        return;
    }
    /* The whole identifier is a unigram only, so the stream has no bigram twice. */
    if (!is_stopword(st->stop_packed, cps, n))
        add_unigram(st, hash_cps(cps, n));
    subwords(st, cps, flags, n, 1);
}

static int is_letter(utf8proc_category_t c)
{
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
           c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_LO;
}

static int is_digit(utf8proc_category_t c)
{
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

static int is_mark(utf8proc_category_t c)
{
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

/* Case classes of an original code point, for sub-word splitting. */
enum ccase { C_OTHER, C_UPPER, C_LOWER, C_DIGIT };

static enum ccase case_of(utf8proc_category_t c)
{
    if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LT)
        return C_UPPER;
    if (c == UTF8PROC_CATEGORY_LL)
        return C_LOWER;
    if (is_digit(c))
        return C_DIGIT;
    return C_OTHER;
}

/* utf8proc_category for an ASCII code point, as far as this file asks: letters, digits and
 * '_' exactly; everything else reported as punctuation (ASCII has no marks). */
static utf8proc_category_t ascii_category(utf8proc_int32_t c)
{
    if (c >= 'a' && c <= 'z')
        return UTF8PROC_CATEGORY_LL;
    if (c >= 'A' && c <= 'Z')
        return UTF8PROC_CATEGORY_LU;
    if (c >= '0' && c <= '9')
        return UTF8PROC_CATEGORY_ND;
    if (c == '_')
        return UTF8PROC_CATEGORY_PC;
    if (c < 0x20 || c == 0x7f)
        return UTF8PROC_CATEGORY_CC;
    return UTF8PROC_CATEGORY_PO;
}

static void fill_uniform(float *out, int dim)
{
    float v = (float)(1.0 / mnemo__embed_sqrt((double)dim));

    for (int i = 0; i < dim; i++)
        out[i] = v;
}

int mnemo__embed_hash(const char *text, size_t len, int dim, float *out)
{
    /* The token being read, normalised; characters past TOKEN_MAX are ignored (a token that
     * long is a hash or a blob, and its head identifies it well enough). */
    uint32_t cps[TOKEN_MAX + 24];
    uint8_t flags[TOKEN_MAX + 24];
    struct state *st;
    const uint8_t *p = (const uint8_t *)text;
    size_t ncp = 0, pos = 0, prev_pos = 0;
    int in_token = 0, oom;
    enum ccase prev_case = C_OTHER, prev2_case = C_OTHER;
    uint32_t base = 0;
    double ss = 0.0;

    /* The state (with its inline table) is too big for a thread's stack comfort. */
    st = malloc(sizeof(*st));
    if (st == NULL)
        return MNEMO_ENOMEM;
    memset(st, 0, offsetof(struct state, inline_tab));
    st->tab = st->inline_tab;
    st->mask = TAB_INLINE - 1;
    memset(st->inline_tab, 0, sizeof(st->inline_tab));
    stopword_pack(st->stop_packed);

    while (pos <= len) {
        utf8proc_int32_t c = -1;
        utf8proc_ssize_t step = 1;
        utf8proc_category_t cat = UTF8PROC_CATEGORY_CN;
        int word_char = 0;

        if (pos < len && p[pos] < 0x80) {
            /* ASCII, most of any code or prose: same answers as utf8proc, without its tables. */
            c = p[pos];
            cat = ascii_category(c);
            word_char = is_letter(cat) || is_digit(cat) || c == '_';
        } else if (pos < len) {
            step = utf8proc_iterate(p + pos, (utf8proc_ssize_t)(len - pos), &c);
            if (step < 1) {
                step = 1; /* an invalid byte is a separator */
                c = -1;
            }
            if (c >= 0) {
                cat = utf8proc_category(c);
                word_char =
                    is_letter(cat) || is_digit(cat) || c == '_' || (in_token && is_mark(cat));
            }
        }
        if (word_char) {
            utf8proc_int32_t dec[24];
            utf8proc_ssize_t nd;
            if (c < 0x80) {
                dec[0] = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; /* casefold of ASCII */
                nd = 1;
            } else {
                nd = utf8proc_decompose_char(
                    c, dec, 24, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD, NULL);
            }
            enum ccase cc = case_of(cat);
            size_t start_pos = ncp;

            if (!in_token) {
                in_token = 1;
                ncp = start_pos = 0;
                prev_case = prev2_case = C_OTHER;
                base = 0;
            }
            for (utf8proc_ssize_t k = 0; nd > 0 && nd <= 24 && k < nd && ncp < TOKEN_MAX; k++) {
                uint32_t d = (uint32_t)dec[k];
                utf8proc_category_t dcat =
                    dec[k] < 0x80 ? ascii_category(dec[k]) : utf8proc_category(dec[k]);

                if (is_mark(dcat)) {
                    if (base < 0x0530)
                        continue; /* accent on a Latin/Greek/Cyrillic letter */
                } else if (!is_letter(dcat) && !is_digit(dcat) && d != '_') {
                    continue; /* compatibility forms may expand to punctuation */
                } else {
                    base = d;
                }
                cps[ncp] = d;
                flags[ncp] = 0;
                ncp++;
            }
            if (ncp > start_pos) {
                /* lower|Upper and digit|Upper start a sub-word at this character ... */
                if (cc == C_UPPER && (prev_case == C_LOWER || prev_case == C_DIGIT))
                    flags[start_pos] |= FLAG_SUBSTART;
                /* ... and UPPER|Upper lower starts one at the previous character (HTTPServer). */
                if (cc == C_LOWER && prev_case == C_UPPER && prev2_case == C_UPPER && prev_pos > 0)
                    flags[prev_pos] |= FLAG_SUBSTART;
                prev2_case = prev_case;
                prev_case = cc;
                prev_pos = start_pos;
            }
        } else if (in_token) {
            add_token(st, cps, flags, ncp);
            in_token = 0;
        }
        if (pos == len)
            break;
        pos += (size_t)step;
    }

    /* ln is a series (see embed.c) and most features occur once, where 1 + ln 1 is exactly 1;
     * the small counts that repeat are computed once per call. Same values, bit for bit. */
    double tf_cache[TF_CACHE];
    for (size_t i = 0; i < TF_CACHE; i++)
        tf_cache[i] = 0.0;
    memset(out, 0, (size_t)dim * sizeof(*out));
    for (size_t i = 0; i <= st->mask; i++) {
        const struct feature *f = &st->tab[i];
        size_t idx;
        double tf;
        float v;

        if (f->key == 0)
            continue;
        idx = (size_t)(((f->key >> 32) * (uint64_t)dim) >> 32);
        if (f->count == 1) {
            tf = 1.0;
        } else if (f->count < TF_CACHE) {
            if (tf_cache[f->count] == 0.0)
                tf_cache[f->count] = 1.0 + mnemo__embed_ln((double)f->count);
            tf = tf_cache[f->count];
        } else {
            tf = 1.0 + mnemo__embed_ln((double)f->count);
        }
        v = f->weight * (float)tf;
        out[idx] += (f->key & 1) ? -v : v;
    }
    oom = st->oom;
    if (st->tab != st->inline_tab)
        free(st->tab);
    free(st);
    if (oom)
        return MNEMO_ENOMEM;

    for (int i = 0; i < dim; i++)
        ss += (double)out[i] * (double)out[i];
    if (!(ss > 1e-12)) {
        fill_uniform(out, dim);
        return 0;
    }
    double inv = 1.0 / mnemo__embed_sqrt(ss);
    for (int i = 0; i < dim; i++)
        out[i] = (float)((double)out[i] * inv);
    return 0;
}
