/*
 * obs_int.h - internals shared by obs.c, obs_row.c and obs_query.c (not a public header).
 */
#ifndef MNEMO_MEMORY_OBS_INT_H
#define MNEMO_MEMORY_OBS_INT_H

#include "memory/obs.h"
#include "memory/scoring.h"

/* The columns every row reader expects, in this order. */
#define MNEMO__OBS_COLS                                                                            \
    "id, uuid, session_id, project, scope, type, title, subtitle, narrative, facts, concepts, "    \
    "files_read, files_modified, file_mtimes, provenance, content_hash, importance, feedback, "    \
    "retrieval_count, last_retrieved_at, superseded_by, archived, archived_at, archived_reason, "  \
    "created_at, updated_at"

/* Reads the current row of stmt (columns MNEMO__OBS_COLS from column 0) into *o (initialised
 * here). Returns 0, MNEMO_ENOMEM or MNEMO_ECORRUPT for a list column that is not a JSON array. */
int mnemo__obs_read_row(sqlite3_stmt *stmt, struct mnemo_obs *o, struct mnemo_err *err);

/* Serialises n strings as a compact JSON array into *out (malloc'd; caller frees), replacing
 * control characters in items by spaces. Returns 0 or MNEMO_ENOMEM. */
int mnemo__obs_json_array(char *const *items, size_t n, char **out, struct mnemo_err *err);

/* The scope to store for in: the explicit one, else the rule. */
const char *mnemo__obs_effective_scope(const struct mnemo_obs *in);

/* Validates in like mnemo_obs_validate but with import rules (archived state, feedback, ...). */
int mnemo__obs_validate(const struct mnemo_obs *in, int for_import, struct mnemo_err *err);

/* The importance of o at now_ms under weights w. */
double mnemo__obs_importance(const struct mnemo_obs *o, const struct mnemo_scoring_weights *w,
                             int64_t now_ms);

/* What mnemo__obs_insert stores beyond the caller's fields. */
struct mnemo__obs_derived {
    const char *uuid;
    const char *hash;
    const char *scope;
    const char *provenance;
    double importance;
    int64_t created_at;
    int64_t updated_at;
    int keep_archive; /* 1: store in's archived state (import); 0: live */
};

/* Inserts in (already validated) with the derived values; *id receives the new rowid. */
int mnemo__obs_insert(struct mnemo_conn *conn, const struct mnemo_obs *in,
                      const struct mnemo__obs_derived *d, int64_t *id, struct mnemo_err *err);

/* Looks up a row in project with hash: *id (0 when none), and optionally uuid/scope/importance. */
int mnemo__obs_find_hash(struct mnemo_conn *conn, const char *project, const char *hash,
                         int64_t *id, struct mnemo_obs_created *info, struct mnemo_err *err);

/* 1 when a row with uuid exists (*exists), else 0. */
int mnemo__obs_uuid_exists(struct mnemo_conn *conn, const char *uuid, int *exists,
                           struct mnemo_err *err);

#endif
