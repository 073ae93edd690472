/*
 * schema.h - the memory layer's database schema: every table, index, FTS5 index and trigger
 * of mnemo's memory, as an ordered list of store migrations.
 *
 * Pass mnemo_memory_migrations / mnemo_memory_n_migrations in struct mnemo_store_config; the
 * store applies the pending steps at open, each in its own transaction. The list only ever
 * grows: a released step is never edited, a change is a new step.
 *
 * Conventions every layer relies on:
 * - every timestamp column (*_at) holds Unix milliseconds (UTC) as INTEGER, one unit everywhere;
 * - list columns of observations (facts, concepts, files_read, files_modified) hold a JSON array
 *   of strings, never NULL ('[]' when empty), whose items contain no control characters, so the
 *   FTS5 tokenizer reads the raw JSON exactly as the items' text (quotes, commas and brackets are
 *   separators). This keeps observations_fts a plain external-content index whose 'rebuild' works;
 * - observations_fts(title, subtitle, narrative, facts, concepts), summaries_fts(request,
 *   investigated, learned, completed, next_steps, notes) and prompts_fts(text) are external-content
 *   FTS5 tables (content_rowid 'id') kept in step by AFTER INSERT/DELETE/UPDATE triggers, tokenizer
 *   'porter unicode61 remove_diacritics 2'. Archived and superseded rows stay in the FTS index;
 *   search-facing queries join observations and filter them out.
 *
 * Seeded concept weights: migration 1 seeds the reference's 12 rows (security .30, gotcha .25,
 * best-practice .20, anti-pattern .20, architecture .15, performance .15, error-handling .15,
 * pattern .10, testing .10, debugging .10, workflow .05, tooling .05); migration 2 adds the
 * reference's in-code extras (problem-solution .10, trade-off .10, how-it-works .05,
 * why-it-exists .05, what-changed .05). Both use INSERT OR IGNORE so user-tuned weights survive.
 *
 * Thread-safety: the array is immutable and may be read from any thread.
 */
#ifndef MNEMO_MEMORY_SCHEMA_H
#define MNEMO_MEMORY_SCHEMA_H

#include "store/store.h"

/* The schema version of the first step that holds all tables (and the 12 seeded weights). */
#define MNEMO_MEMORY_SCHEMA_V1 1
/* The step that adds the 5 extra concept weights. */
#define MNEMO_MEMORY_SCHEMA_V2 2
/* The step that indexes observations by age alone, for retention sweeps over all projects. */
#define MNEMO_MEMORY_SCHEMA_V3 3
/* The newest step: what a fully migrated database reports. */
#define MNEMO_MEMORY_SCHEMA_LATEST MNEMO_MEMORY_SCHEMA_V3

/* Number of concept weights seeded by migration 1, and by migrations 1 and 2 together. */
#define MNEMO_MEMORY_SEEDED_WEIGHTS_V1 12
#define MNEMO_MEMORY_SEEDED_WEIGHTS_V2 17

/* The ordered migration list (immutable, static storage). */
extern const struct mnemo_store_migration mnemo_memory_migrations[];
/* Its length. */
extern const int mnemo_memory_n_migrations;

/*
 * Convenience: fills cfg with the store defaults, path, flags and the memory migrations.
 * path is borrowed (as in struct mnemo_store_config). Never fails.
 */
void mnemo_memory_store_config(struct mnemo_store_config *cfg, const char *path, unsigned flags);

#endif
