/*
 * corpus.h - bench_memory's deterministic corpus of coding-session observations and queries.
 *
 * Header-only on purpose: CMake builds one executable per bench/bench_*.c from that file alone,
 * so the generator lives here, included by bench_memory.c only (one translation unit, hence the
 * static definitions). Observation i depends only on the seed and i, so every size and every
 * ingest path sees the same observations in the same order.
 *
 * The vocabulary is ~3,000 words: ~300 code and prose base words plus identifiers built from them
 * as code names things in camelCase (which FTS5 keeps as one token; snake_case and inflections
 * would fold back into the base words, leaving only ~300 distinct terms), shuffled, then ranked
 * with Zipf-Mandelbrot frequencies 1 / (rank + ZIPF_Q)^ZIPF_S. Prose mixes these with function
 * words (STOP_P of the words), which take the head of the distribution as in natural text, so
 * the offset keeps any one content word under ~2 % of the words (plain Zipf would give the top
 * one 12 % and put it in every narrative).
 *
 * Thread-safety: a struct corpus is read-only after corpus_init; the generators keep no state.
 */
#ifndef MNEMO_BENCH_CORPUS_H
#define MNEMO_BENCH_CORPUS_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/obs.h"

#define SEED       UINT64_C(0x6d6e656d6f2d6233) /* "mnemo-b3" */
#define N_PROJECTS 10
#define VOCAB_SIZE 3000
#define WORD_MAX   40
#define ZIPF_S     1.07
#define ZIPF_Q     10.0 /* Zipf-Mandelbrot rank offset */
#define STOP_P     0.35 /* share of function words in generated prose */
#define G_TITLE    256
#define G_SUB      192
#define G_NARR     4096
#define G_FACT     512
#define G_FILE     160
#define G_FACTS    5
#define G_READ     3
#define G_MOD      2

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static unsigned rng_below(uint64_t *s, unsigned n)
{
    return (unsigned)(rng_next(s) % n);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static const char *const base_words[] = {
    "checkpoint",    "wal",         "starvation",  "reader",     "writer",     "lock",
    "mutex",         "thread",      "pool",        "connection", "statement",  "cache",
    "query",         "index",       "schema",      "migration",  "table",      "row",
    "column",        "transaction", "commit",      "rollback",   "deadline",   "timeout",
    "retry",         "backoff",     "socket",      "request",    "response",   "header",
    "payload",       "json",        "parser",      "token",      "lexer",      "buffer",
    "string",        "utf8",        "unicode",     "encoding",   "hash",       "vector",
    "embedding",     "matrix",      "float",       "score",      "rank",       "fusion",
    "bm25",          "search",      "filter",      "project",    "scope",      "session",
    "prompt",        "summary",     "observation", "memory",     "context",    "budget",
    "limit",         "worker",      "daemon",      "service",    "hook",       "event",
    "queue",         "batch",       "import",      "export",     "config",     "option",
    "flag",          "argument",    "command",     "cli",        "output",     "format",
    "table",         "test",        "fixture",     "assert",     "mock",       "sanitizer",
    "leak",          "race",        "crash",       "signal",     "fork",       "pipe",
    "file",          "path",        "directory",   "permission", "fsync",      "rename",
    "journal",       "page",        "blob",        "allocation", "arena",      "free",
    "pointer",       "struct",      "enum",        "macro",      "header",     "include",
    "compiler",      "warning",     "error",       "errno",      "return",     "callback",
    "iterator",      "heap",        "stack",       "latency",    "throughput", "benchmark",
    "regression",    "profile",     "flamegraph",  "simd",       "kernel",     "scan",
    "quantize",      "int8",        "recall",      "precision",  "threshold",  "cluster",
    "duplicate",     "dedup",       "uuid",        "timestamp",  "clock",      "millisecond",
    "retention",     "archive",     "supersede",   "feedback",   "importance", "decay",
    "weight",        "concept",     "fact",        "narrative",  "title",      "privacy",
    "redact",        "secret",      "pattern",     "regex",      "entropy",    "key",
    "credential",    "http",        "curl",        "server",     "client",     "port",
    "endpoint",      "route",       "handler",     "middleware", "logger",     "metric",
    "health",        "status",      "probe",       "shutdown",   "startup",    "restart",
    "upgrade",       "version",     "release",     "build",      "cmake",      "makefile",
    "linker",        "symbol",      "library",     "module",     "plugin",     "extension",
    "load",          "store",       "read",        "write",      "update",     "delete",
    "insert",        "select",      "join",        "trigger",    "fts5",       "tokenizer",
    "porter",        "stemmer",     "prefix",      "match",      "snippet",    "highlight",
    "window",        "frame",       "offset",      "paging",     "cursor",     "keyset",
    "sort",          "order",       "group",       "count",      "sum",        "average",
    "median",        "percentile",  "histogram",   "sample",     "seed",       "random",
    "deterministic", "stable",      "flaky",       "slow",       "fast",       "bounded",
    "unbounded",     "overflow",    "underflow",   "truncate",   "escape",     "quote",
    "newline",       "whitespace",  "trim",        "normalize",  "lowercase",  "refactor",
    "cleanup",       "rewrite",     "simplify",    "document",   "comment",    "rationale",
    "tradeoff",      "design",      "interface",   "contract",   "invariant",  "precondition",
    "ownership",     "lifetime",    "borrow",      "copy",       "move",       "swap",
    "atomic",        "condition",   "variable",    "notify",     "wait",       "spurious",
    "wakeup",        "starve",      "fairness",    "priority",   "scheduler",  "cpu",
    "core",          "numa",        "bandwidth",   "prefetch",   "alignment",
};

static const char *const stop_words[] = {
    "the",  "a",   "to",   "of", "in",    "is",     "and",     "when", "it",  "that", "for", "on",
    "with", "was", "this", "so", "after", "before", "because", "we",   "now", "then", "but", "not",
};

static const char *const verbs[] = {
    "Fix",  "Add",    "Refactor", "Document", "Investigate", "Remove", "Speed up", "Handle",
    "Test", "Rename", "Bound",    "Cache",    "Validate",    "Log",    "Retry",
};

static const char *const modules[] = {
    "store",   "worker", "search",  "hooks",  "cli",     "embed",     "privacy",    "memory",
    "context", "server", "client",  "parser", "config",  "scheduler", "importer",   "exporter",
    "vindex",  "fusion", "session", "prompt", "summary", "queue",     "migrations", "tests",
};

static const char *const type_names[] = {"decision", "bugfix",    "feature",
                                         "refactor", "discovery", "change"};

/* The reference's concept vocabulary (schema.h, seeded weights). */
static char concept_names[][24] = {
    "security",      "gotcha",         "best-practice",    "anti-pattern", "architecture",
    "performance",   "error-handling", "pattern",          "testing",      "debugging",
    "workflow",      "tooling",        "problem-solution", "trade-off",    "how-it-works",
    "why-it-exists", "what-changed",
};
#define N_CONCEPTS (sizeof concept_names / sizeof concept_names[0])

static const char *const project_bases[N_PROJECTS] = {
    "mnemo",    "webapp",   "billing", "infra",    "mobile",
    "compiler", "dataflow", "gateway", "notebook", "firmware",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct corpus {
    char (*words)[WORD_MAX]; /* VOCAB_SIZE words, in Zipf rank order */
    double *cdf;             /* cumulative Zipf weights, cdf[VOCAB_SIZE - 1] = total */
    char projects[N_PROJECTS][32];
};

static void corpus_free(struct corpus *c)
{
    free(c->words);
    free(c->cdf);
}

/*
 * The vocabulary: the base words, then identifiers built from them the way code names things
 * (snake_case, camelCase, inflections), shuffled so that Zipf ranks mix both kinds.
 */
static int corpus_init(struct corpus *c)
{
    uint64_t s = SEED;
    const size_t nb = ARRAY_LEN(base_words);
    c->words = calloc(VOCAB_SIZE, sizeof *c->words);
    c->cdf = calloc(VOCAB_SIZE, sizeof *c->cdf);
    if (!c->words || !c->cdf) {
        corpus_free(c);
        return -1;
    }
    for (size_t i = 0; i < VOCAB_SIZE; i++) {
        const char *a = base_words[i % nb], *b = base_words[rng_below(&s, (unsigned)nb)];
        if (i < nb)
            snprintf(c->words[i], WORD_MAX, "%s", a);
        else if (i % 3) /* camelCase: FTS5 keeps it as one token of its own */
            snprintf(c->words[i], WORD_MAX, "%s%c%s", a, (char)(b[0] - 32), b + 1);
        else
            snprintf(c->words[i], WORD_MAX, "%s%c%s%c%s", b, (char)(a[0] - 32), a + 1,
                     (char)(base_words[i % 40][0] - 32), base_words[i % 40] + 1);
    }
    for (size_t i = VOCAB_SIZE - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = rng_below(&s, (unsigned)(i + 1));
        char t[WORD_MAX];
        memcpy(t, c->words[i], WORD_MAX);
        memcpy(c->words[i], c->words[j], WORD_MAX);
        memcpy(c->words[j], t, WORD_MAX);
    }
    double total = 0;
    for (size_t r = 0; r < VOCAB_SIZE; r++) {
        total += 1.0 / pow((double)(r + 1) + ZIPF_Q, ZIPF_S);
        c->cdf[r] = total;
    }
    for (int p = 0; p < N_PROJECTS; p++)
        snprintf(c->projects[p], sizeof c->projects[p], "%s_%06" PRIx64, project_bases[p],
                 rng_next(&s) & 0xffffff);
    return 0;
}

static const char *zipf_word(const struct corpus *c, uint64_t *s)
{
    double u = rng_unit(s) * c->cdf[VOCAB_SIZE - 1];
    size_t lo = 0, hi = VOCAB_SIZE - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return c->words[lo];
}

/* A bounded appender: text past the capacity is dropped, the buffer stays terminated. */
struct ap {
    char *p;
    size_t cap, len;
};

static void ap_put(struct ap *a, const char *s)
{
    size_t n = strlen(s);
    if (a->len + n + 1 > a->cap)
        n = a->cap - a->len - 1;
    memcpy(a->p + a->len, s, n);
    a->len += n;
    a->p[a->len] = '\0';
}

/* One sentence of min..max words: prose words mixed with function words, capitalised. */
static void sentence(const struct corpus *c, uint64_t *s, struct ap *a, unsigned min, unsigned max)
{
    unsigned n = min + rng_below(s, max - min + 1);
    size_t start = a->len;
    for (unsigned i = 0; i < n; i++) {
        if (i)
            ap_put(a, " ");
        ap_put(a, rng_unit(s) < STOP_P ? stop_words[rng_below(s, ARRAY_LEN(stop_words))]
                                       : zipf_word(c, s));
    }
    ap_put(a, ".");
    if (a->len > start && a->p[start] >= 'a' && a->p[start] <= 'z')
        a->p[start] = (char)(a->p[start] - 32);
}

/* One generated observation; the struct mnemo_obs points into the buffers beside it. */
struct gen {
    char title[G_TITLE], subtitle[G_SUB], narrative[G_NARR];
    char facts[G_FACTS][G_FACT];
    char files[G_READ + G_MOD][G_FILE];
    char *factp[G_FACTS], *conceptp[3], *readp[G_READ], *modp[G_MOD];
    struct mnemo_obs obs;
};

/* Fills g with observation i of the corpus: the same i always gives the same observation. */
static void gen_obs(struct gen *g, struct corpus *c, int64_t i, int64_t created_at)
{
    uint64_t s = SEED ^ ((uint64_t)i * UINT64_C(0xd1342543de82ef95));
    struct ap a = {g->title, G_TITLE, 0};
    mnemo_obs_init(&g->obs);
    ap_put(&a, verbs[rng_below(&s, ARRAY_LEN(verbs))]);
    for (unsigned k = 0, n = 2 + rng_below(&s, 2); k < n; k++) {
        ap_put(&a, " ");
        ap_put(&a, zipf_word(c, &s));
    }
    ap_put(&a, " in ");
    ap_put(&a, modules[rng_below(&s, ARRAY_LEN(modules))]);
    a = (struct ap){g->subtitle, G_SUB, 0};
    sentence(c, &s, &a, 4, 9);
    a = (struct ap){g->narrative, G_NARR, 0};
    for (unsigned k = 0, n = 2 + rng_below(&s, 5); k < n; k++) {
        if (k)
            ap_put(&a, " ");
        sentence(c, &s, &a, 8, 20);
    }
    g->obs.n_facts = 2 + rng_below(&s, 4);
    for (size_t k = 0; k < g->obs.n_facts; k++) {
        a = (struct ap){g->facts[k], G_FACT, 0};
        sentence(c, &s, &a, 5, 12);
        g->factp[k] = g->facts[k];
    }
    g->obs.n_concepts = 1 + rng_below(&s, 3);
    unsigned first = rng_below(&s, N_CONCEPTS);
    for (size_t k = 0; k < g->obs.n_concepts; k++) /* distinct: consecutive modulo the list */
        g->conceptp[k] = concept_names[(first + k * 5) % N_CONCEPTS];
    g->obs.n_files_read = rng_below(&s, G_READ + 1);
    g->obs.n_files_modified = rng_below(&s, G_MOD + 1);
    for (size_t k = 0; k < g->obs.n_files_read + g->obs.n_files_modified; k++) {
        snprintf(g->files[k], G_FILE, "src/%s/%s.c", modules[rng_below(&s, ARRAY_LEN(modules))],
                 zipf_word(c, &s));
        if (k < g->obs.n_files_read)
            g->readp[k] = g->files[k];
        else
            g->modp[k - g->obs.n_files_read] = g->files[k];
    }
    g->obs.project = c->projects[rng_below(&s, N_PROJECTS)];
    snprintf(g->obs.type, sizeof g->obs.type, "%s",
             type_names[rng_below(&s, ARRAY_LEN(type_names))]);
    g->obs.title = g->title;
    g->obs.subtitle = g->subtitle;
    g->obs.narrative = g->narrative;
    g->obs.facts = g->factp;
    g->obs.concepts = g->conceptp;
    g->obs.files_read = g->readp;
    g->obs.files_modified = g->modp;
    g->obs.created_at = created_at;
}

/*
 * Query i of a set, as a person types it: a few corpus words among question words. A broad query
 * draws its words with the corpus's Zipf frequencies (so it usually holds a very common word); a
 * specific one draws them uniformly from the vocabulary (mostly rare words and identifiers).
 */
static void gen_query(struct corpus *c, int i, int broad, char *out, size_t cap)
{
    static const char *const q_words[] = {"how", "why", "what", "does", "we", "the", "did", "is"};
    uint64_t s = SEED ^ UINT64_C(0x5155455259) ^ ((uint64_t)i << 20) ^ (uint64_t)broad << 60;
    struct ap a = {out, cap, 0};
    for (unsigned k = 0, n = 3 + rng_below(&s, 5); k < n; k++) {
        if (k)
            ap_put(&a, " ");
        if (rng_unit(&s) < 0.3)
            ap_put(&a, q_words[rng_below(&s, ARRAY_LEN(q_words))]);
        else
            ap_put(&a, broad ? zipf_word(c, &s) : c->words[rng_below(&s, VOCAB_SIZE)]);
    }
}

#endif
