/*
 * obs.h - observations: the memories mnemo keeps, with their lifecycle (create with dedup,
 * partial update, archive, supersede, delete, feedback), filtered listing and import.
 *
 * Every call runs its SQL inside mnemo_store_read/mnemo_store_write (one transaction per call,
 * batches included); the *_conn variants run on a connection the caller already holds inside its
 * own transaction (for the search layer). Timestamps are Unix milliseconds.
 *
 * Visibility: "live" = not archived and not superseded. Lists and counts hide archived rows unless
 * include_archived, and superseded rows unless include_superseded. Get by id/uuid and
 * mnemo_obs_get_many always return the row whatever its state (callers filter on the fields).
 *
 * Scope rule at create: an explicit scope ("project" or "global") wins; otherwise global when the
 * concepts include "best-practice" or "anti-pattern" and files_read and files_modified are both
 * empty; otherwise project.
 *
 * Content hash: XXH3-64 as 16 lower-case hex digits over the normalised (ASCII lower-cased,
 * whitespace runs collapsed to one space, trimmed) title, narrative and facts, each followed by
 * a newline. Same hash in the same project = duplicate.
 *
 * Bounds (MNEMO_ETOOBIG when exceeded, MNEMO_EINVAL for empty/invalid values; nothing written):
 * see the MNEMO_OBS_MAX_* constants. Every string must be valid UTF-8. Control characters in list
 * items are replaced by spaces (schema.h explains why).
 *
 * Thread-safety: all functions may be called from any thread with the same store; a struct
 * mnemo_obs or mnemo_obs_list belongs to its caller.
 */
#ifndef MNEMO_MEMORY_OBS_H
#define MNEMO_MEMORY_OBS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define MNEMO_OBS_MAX_PROJECT     512
#define MNEMO_OBS_MAX_TITLE       1024
#define MNEMO_OBS_MAX_SUBTITLE    1024
#define MNEMO_OBS_MAX_NARRATIVE   (64 * 1024)
#define MNEMO_OBS_MAX_FACTS       100
#define MNEMO_OBS_MAX_FACT        4096
#define MNEMO_OBS_MAX_CONCEPTS    32
#define MNEMO_OBS_MAX_CONCEPT     64
#define MNEMO_OBS_MAX_FILES       500 /* per list (files_read, files_modified) */
#define MNEMO_OBS_MAX_FILE        4096
#define MNEMO_OBS_MAX_FILE_MTIMES (256 * 1024) /* bytes of the JSON object */
#define MNEMO_OBS_MAX_REASON      1024
#define MNEMO_OBS_LIST_MAX        1000 /* largest list page and id batch */
#define MNEMO_OBS_UUID_LEN        36
#define MNEMO_OBS_HASH_LEN        16

/* Default lock/work deadline of the calls below. */
#define MNEMO_OBS_TIMEOUT_MS MNEMO_STORE_TIMEOUT_DEFAULT_MS

/*
 * One observation. As a result (get, list, ...) every pointer is owned by the struct and freed by
 * mnemo_obs_release; absent strings are "" (never NULL) and empty lists have n == 0 (items may be
 * NULL). As create/import input it is read only and borrowed for the call: NULL strings mean ""
 * and fields marked "input" below say how an unset value is filled in.
 */
struct mnemo_obs {
    int64_t id;                        /* ignored on input */
    char uuid[MNEMO_OBS_UUID_LEN + 1]; /* input: "" = generate a UUID v4 */
    int64_t session_id;                /* 0 = none */
    char *project;                     /* required, non-empty */
    char scope[8];                     /* "project" | "global"; input: "" = the scope rule */
    char type[16];                     /* decision|bugfix|feature|refactor|discovery|change */
    char *title;                       /* required, non-empty */
    char *subtitle;
    char *narrative;
    char **facts;
    size_t n_facts;
    char **concepts;
    size_t n_concepts;
    char **files_read;
    size_t n_files_read;
    char **files_modified;
    size_t n_files_modified;
    char *file_mtimes;  /* JSON object {path: mtime_ms}; input NULL/"" = {} */
    char provenance[8]; /* rules|llm|agent|user|import; input "" = agent */
    char content_hash[MNEMO_OBS_HASH_LEN + 1]; /* ignored on input (always computed) */
    double importance;                         /* ignored on input (always computed) */
    int feedback;                              /* -1, 0, 1 */
    int64_t retrieval_count;
    int64_t last_retrieved_at; /* 0 = never */
    int64_t superseded_by;     /* 0 = not superseded; ignored on input */
    int archived;              /* 0/1; honoured on import only */
    int64_t archived_at;
    char *archived_reason;
    int64_t created_at; /* input: 0 = now */
    int64_t updated_at; /* input: 0 = created_at */
};

/* Zeroes o (a valid empty struct). */
void mnemo_obs_init(struct mnemo_obs *o);
/* Frees everything o owns and zeroes it. NULL is a no-op. */
void mnemo_obs_release(struct mnemo_obs *o);

/* A page of observations; caller owns it and frees it with mnemo_obs_list_release. */
struct mnemo_obs_list {
    struct mnemo_obs *items;
    size_t n;
};
void mnemo_obs_list_release(struct mnemo_obs_list *l);

/* 1 when s names a valid type / scope / provenance (NULL is not valid). Pure. */
int mnemo_obs_type_valid(const char *s);
int mnemo_obs_scope_valid(const char *s);
int mnemo_obs_provenance_valid(const char *s);

/*
 * The scope the rule gives an observation without an explicit scope: "global" or "project"
 * (static strings). Pure.
 */
const char *mnemo_obs_scope_rule(const char *const *concepts, size_t n_concepts,
                                 size_t n_files_read, size_t n_files_modified);

/*
 * The content hash of title, narrative and facts (see the header comment) into out (17 bytes).
 * Pure; NULL strings count as "".
 */
void mnemo_obs_content_hash(const char *title, const char *narrative, const char *const *facts,
                            size_t n_facts, char out[MNEMO_OBS_HASH_LEN + 1]);

/* Fills out with a random UUID v4 (getrandom). Returns 0 or MNEMO_EIO. */
int mnemo_obs_uuid4(char out[MNEMO_OBS_UUID_LEN + 1], struct mnemo_err *err);

/*
 * Checks every bound and enum of in as create would (scope "" and provenance "" allowed).
 * Returns 0, MNEMO_EINVAL or MNEMO_ETOOBIG, naming the field. Pure.
 */
int mnemo_obs_validate(const struct mnemo_obs *in, struct mnemo_err *err);

/* ---- create, get ----------------------------------------------------------------------------- */

struct mnemo_obs_created {
    int64_t id;
    char uuid[MNEMO_OBS_UUID_LEN + 1];
    int duplicate; /* 1: an observation with the same hash exists in the project; nothing added */
    char scope[8]; /* the scope the row has */
    double importance;
};

/*
 * Validates in, computes hash, scope and importance, and inserts it, unless a row with the same
 * content hash exists in the same project: then out describes that row and out->duplicate = 1.
 * A uuid given in in that already exists fails with MNEMO_EEXIST. out may be NULL.
 * Returns 0, MNEMO_EINVAL/ETOOBIG (invalid input), MNEMO_EEXIST, or a store error.
 */
int mnemo_obs_create(struct mnemo_store *st, const struct mnemo_obs *in,
                     struct mnemo_obs_created *out, struct mnemo_err *err);

/* Same, on conn inside the caller's write transaction. */
int mnemo_obs_create_conn(struct mnemo_conn *conn, const struct mnemo_obs *in,
                          struct mnemo_obs_created *out, struct mnemo_err *err);

/* Loads the row with id (any state) into *out (initialised here; release it). MNEMO_ENOTFOUND. */
int mnemo_obs_get(struct mnemo_store *st, int64_t id, struct mnemo_obs *out, struct mnemo_err *err);
/* Same by uuid. */
int mnemo_obs_get_by_uuid(struct mnemo_store *st, const char *uuid, struct mnemo_obs *out,
                          struct mnemo_err *err);

/*
 * Loads the rows with the given ids (n <= MNEMO_OBS_LIST_MAX) in the order of ids, skipping ids
 * that do not exist and, unless include_hidden, archived or superseded rows. *out is initialised
 * here. Returns 0 or an error (EINVAL when n is too large).
 */
int mnemo_obs_get_many(struct mnemo_store *st, const int64_t *ids, size_t n, int include_hidden,
                       struct mnemo_obs_list *out, struct mnemo_err *err);
int mnemo_obs_get_many_conn(struct mnemo_conn *conn, const int64_t *ids, size_t n,
                            int include_hidden, struct mnemo_obs_list *out, struct mnemo_err *err);

/* ---- update and lifecycle -------------------------------------------------------------------- */

/* Fields an update may set (bit mask). */
enum mnemo_obs_field {
    MNEMO_OBS_F_TYPE = 1u << 0,
    MNEMO_OBS_F_SCOPE = 1u << 1, /* "" re-applies the scope rule to the updated row */
    MNEMO_OBS_F_TITLE = 1u << 2,
    MNEMO_OBS_F_SUBTITLE = 1u << 3,
    MNEMO_OBS_F_NARRATIVE = 1u << 4,
    MNEMO_OBS_F_FACTS = 1u << 5, /* lists are replaced; an empty list clears */
    MNEMO_OBS_F_CONCEPTS = 1u << 6,
    MNEMO_OBS_F_FILES_READ = 1u << 7,
    MNEMO_OBS_F_FILES_MODIFIED = 1u << 8,
    MNEMO_OBS_F_FILE_MTIMES = 1u << 9,
    MNEMO_OBS_F_PROVENANCE = 1u << 10,
    MNEMO_OBS_F_SESSION = 1u << 11,
    MNEMO_OBS_F_PROJECT = 1u << 12,
};
#define MNEMO_OBS_F_ALL ((1u << 13) - 1)

/*
 * Sets the fields named in mask from values (borrowed), leaves the others unchanged, recomputes
 * content hash and importance, bumps updated_at (FTS follows by trigger). mask 0 changes nothing
 * and returns the row. values NULL with a non-zero mask, or unknown bits, is MNEMO_EINVAL. An
 * explicit scope other than "" is kept as given; without MNEMO_OBS_F_SCOPE the scope is unchanged.
 * out (may be NULL) receives the row after the update (initialised here).
 * Returns 0, MNEMO_ENOTFOUND, MNEMO_EINVAL/ETOOBIG (nothing written), or a store error.
 */
int mnemo_obs_update(struct mnemo_store *st, int64_t id, unsigned mask,
                     const struct mnemo_obs *values, struct mnemo_obs *out, struct mnemo_err *err);

/* Archives id with reason (may be NULL; <= MNEMO_OBS_MAX_REASON). MNEMO_ENOTFOUND. Idempotent. */
int mnemo_obs_archive(struct mnemo_store *st, int64_t id, const char *reason,
                      struct mnemo_err *err);
/* Clears the archive flag, time and reason. MNEMO_ENOTFOUND. Idempotent. */
int mnemo_obs_unarchive(struct mnemo_store *st, int64_t id, struct mnemo_err *err);

/*
 * Marks older as superseded by newer (older.superseded_by = newer) and records a 'supersedes'
 * relation newer -> older. Both must exist (MNEMO_ENOTFOUND) and differ (MNEMO_EINVAL).
 */
int mnemo_obs_supersede(struct mnemo_store *st, int64_t older_id, int64_t newer_id,
                        struct mnemo_err *err);

/* Deletes id; its vectors and relations go with it (FK cascade). MNEMO_ENOTFOUND. */
int mnemo_obs_delete(struct mnemo_store *st, int64_t id, struct mnemo_err *err);

/*
 * Records feedback vote (-1, 0 or 1; else MNEMO_EINVAL) and recomputes importance, returned in
 * *importance (may be NULL). MNEMO_ENOTFOUND.
 */
int mnemo_obs_feedback(struct mnemo_store *st, int64_t id, int vote, double *importance,
                       struct mnemo_err *err);

/*
 * For each id (n <= MNEMO_OBS_LIST_MAX): retrieval_count + 1 and last_retrieved_at = now_ms, in one
 * transaction. Missing ids are ignored. Importance is left to the batched recalculation.
 */
int mnemo_obs_touch_retrieved(struct mnemo_store *st, const int64_t *ids, size_t n, int64_t now_ms,
                              struct mnemo_err *err);

/* ---- list, count ----------------------------------------------------------------------------- */

enum mnemo_obs_order {
    MNEMO_OBS_ORDER_CREATED_DESC = 0, /* created_at DESC, id DESC (default) */
    MNEMO_OBS_ORDER_IMPORTANCE_DESC,  /* importance DESC, created_at DESC, id DESC */
    MNEMO_OBS_ORDER_ID_ASC,           /* id ASC; with after_id = keyset paging (export) */
};

struct mnemo_obs_filter {
    const char *project; /* NULL = every project */
    int include_global;  /* with project: also global-scope rows of other projects */
    const char *scope;   /* NULL = any; else "project" or "global" */
    const char *type;    /* NULL = any */
    int64_t since_ms;    /* created_at >= since_ms; 0 = unbounded */
    int64_t until_ms;    /* created_at < until_ms; 0 = unbounded */
    int include_archived;
    int include_superseded;
    enum mnemo_obs_order order;
    int64_t limit;    /* 1..MNEMO_OBS_LIST_MAX; 0 = 100 */
    int64_t offset;   /* >= 0 */
    int64_t after_id; /* only with MNEMO_OBS_ORDER_ID_ASC: rows with id > after_id */
};

/* Zeroes f (every project, default order, limit 100). */
void mnemo_obs_filter_init(struct mnemo_obs_filter *f);

/* One page of rows matching f. *out is initialised here. MNEMO_EINVAL for a bad filter. */
int mnemo_obs_list(struct mnemo_store *st, const struct mnemo_obs_filter *f,
                   struct mnemo_obs_list *out, struct mnemo_err *err);

/* Number of rows matching f (limit, offset, order and after_id ignored). */
int mnemo_obs_count(struct mnemo_store *st, const struct mnemo_obs_filter *f, int64_t *out,
                    struct mnemo_err *err);

/* ---- import ---------------------------------------------------------------------------------- */

struct mnemo_obs_import_result {
    int64_t imported;
    int64_t skipped_uuid; /* a row with that uuid exists */
    int64_t skipped_hash; /* a row with that content hash exists in that project */
    int64_t failed;       /* invalid rows (the first error is in err, rc stays 0) */
};

/*
 * Imports n rows (n <= MNEMO_OBS_LIST_MAX per call) in one write transaction, keeping their uuid
 * (generated when ""), timestamps, feedback, retrieval counts and archive state; provenance "" is
 * "import"; hash and importance are recomputed. Rows are skipped when their uuid or (project,
 * hash) already exists, including earlier rows of the same batch. Invalid rows count as failed
 * and do not stop the batch. *res is zeroed first. Returns 0 or a store error (nothing imported).
 */
int mnemo_obs_import(struct mnemo_store *st, const struct mnemo_obs *rows, size_t n,
                     struct mnemo_obs_import_result *res, struct mnemo_err *err);

/* ---- statistics and maintenance queries -------------------------------------------------------
 */

/* Most groups a grouped count returns (the largest first). */
#define MNEMO_OBS_STATS_MAX_GROUPS 500

/* One row of a grouped count; name is owned by the enclosing struct mnemo_obs_stats. */
struct mnemo_obs_group {
    char *name;
    int64_t count;
};

/* What the memory holds. Filled by mnemo_obs_stats; freed with mnemo_obs_stats_release. */
struct mnemo_obs_stats {
    int64_t total;      /* every row */
    int64_t live;       /* neither archived nor superseded */
    int64_t archived;   /* archived (superseded or not) */
    int64_t superseded; /* superseded (archived or not) */
    int64_t sessions;   /* session rows */
    int64_t prompts;    /* stored prompt rows (wholly private prompts are only counted per
                           session, never stored) */
    struct mnemo_obs_group *by_project, *by_type, *by_scope, *vectors_by_model;
    size_t n_by_project, n_by_type, n_by_scope, n_vectors_by_model;
};

/*
 * Counts observations in total and by state, grouped by project, type and scope (every row),
 * vectors grouped by model, and session and prompt rows, in one read transaction. *out is
 * initialised here and owned by the caller afterwards. Returns 0, MNEMO_ENOMEM or a store error.
 */
int mnemo_obs_stats(struct mnemo_store *st, struct mnemo_obs_stats *out, struct mnemo_err *err);

/* Frees what stats owns and zeroes it. NULL is a no-op. */
void mnemo_obs_stats_release(struct mnemo_obs_stats *stats);

/*
 * Pages through observations that have no vector of model_id, in id order: fills ids with up to
 * max (1..MNEMO_OBS_LIST_MAX) ids greater than after_id and sets *n. When total is not NULL it
 * also counts every such observation. Re-embedding tools loop on it until *n is 0, so an
 * interrupted run resumes where it stopped. Returns 0, MNEMO_EINVAL or a store error.
 */
int mnemo_obs_missing_vectors(struct mnemo_store *st, const char *model_id, int64_t after_id,
                              int64_t *ids, size_t max, size_t *n, int64_t *total,
                              struct mnemo_err *err);

#endif
