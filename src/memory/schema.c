/*
 * schema.c - the memory layer's migrations (see schema.h for the conventions they encode).
 */
#include "memory/schema.h"

/* Unix milliseconds inside SQL (unixepoch('subsec') needs SQLite 3.42; we support 3.40). */
#define MNEMO_SQL_NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

static const char *const schema_v1[] = {
    /* Agent sessions: one row per (agent, the agent's own session id). */
    "CREATE TABLE sessions ("
    " id INTEGER PRIMARY KEY,"
    " agent TEXT NOT NULL,"
    " agent_session_id TEXT NOT NULL,"
    " project TEXT NOT NULL,"
    " cwd TEXT NOT NULL DEFAULT '',"
    " started_at INTEGER NOT NULL,"
    " ended_at INTEGER,"
    " status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','completed','failed')),"
    " prompt_counter INTEGER NOT NULL DEFAULT 0 CHECK (prompt_counter >= 0),"
    " UNIQUE (agent, agent_session_id));"
    "CREATE INDEX sessions_project_started ON sessions(project, started_at DESC);"
    "CREATE INDEX sessions_status ON sessions(status, started_at);"

    ,
    /* User prompts, numbered per session. */
    "CREATE TABLE prompts ("
    " id INTEGER PRIMARY KEY,"
    " session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    " number INTEGER NOT NULL CHECK (number > 0),"
    " text TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " UNIQUE (session_id, number));"
    "CREATE INDEX prompts_created ON prompts(created_at);"

    ,
    /* Observations: the memories themselves. */
    "CREATE TABLE observations ("
    " id INTEGER PRIMARY KEY,"
    " uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),"
    " session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,"
    " project TEXT NOT NULL,"
    " scope TEXT NOT NULL DEFAULT 'project' CHECK (scope IN ('project','global')),"
    " type TEXT NOT NULL"
    "  CHECK (type IN ('decision','bugfix','feature','refactor','discovery','change')),"
    " title TEXT NOT NULL,"
    " subtitle TEXT NOT NULL DEFAULT '',"
    " narrative TEXT NOT NULL DEFAULT '',"
    " facts TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(facts) AND json_type(facts) = 'array'),"
    " concepts TEXT NOT NULL DEFAULT '[]'"
    "  CHECK (json_valid(concepts) AND json_type(concepts) = 'array'),"
    " files_read TEXT NOT NULL DEFAULT '[]'"
    "  CHECK (json_valid(files_read) AND json_type(files_read) = 'array'),"
    " files_modified TEXT NOT NULL DEFAULT '[]'"
    "  CHECK (json_valid(files_modified) AND json_type(files_modified) = 'array'),"
    " file_mtimes TEXT NOT NULL DEFAULT '{}'"
    "  CHECK (json_valid(file_mtimes) AND json_type(file_mtimes) = 'object'),"
    " provenance TEXT NOT NULL DEFAULT 'agent'"
    "  CHECK (provenance IN ('rules','llm','agent','user','import')),"
    " content_hash TEXT NOT NULL CHECK (length(content_hash) = 16),"
    " importance REAL NOT NULL DEFAULT 1.0,"
    " feedback INTEGER NOT NULL DEFAULT 0 CHECK (feedback BETWEEN -1 AND 1),"
    " retrieval_count INTEGER NOT NULL DEFAULT 0 CHECK (retrieval_count >= 0),"
    " last_retrieved_at INTEGER,"
    " superseded_by INTEGER REFERENCES observations(id) ON DELETE SET NULL,"
    " archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0,1)),"
    " archived_at INTEGER,"
    " archived_reason TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);",
    "CREATE INDEX observations_project_created ON observations(project, created_at DESC);"
    "CREATE INDEX observations_scope ON observations(scope);"
    "CREATE INDEX observations_importance ON observations(importance DESC);"
    "CREATE INDEX observations_live ON observations(archived, superseded_by);"
    "CREATE INDEX observations_hash ON observations(content_hash, project);"
    "CREATE INDEX observations_session ON observations(session_id);"
    "CREATE INDEX observations_superseded_by ON observations(superseded_by);"

    ,
    /* Session summaries. */
    "CREATE TABLE summaries ("
    " id INTEGER PRIMARY KEY,"
    " session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,"
    " project TEXT NOT NULL,"
    " request TEXT NOT NULL DEFAULT '',"
    " investigated TEXT NOT NULL DEFAULT '',"
    " learned TEXT NOT NULL DEFAULT '',"
    " completed TEXT NOT NULL DEFAULT '',"
    " next_steps TEXT NOT NULL DEFAULT '',"
    " notes TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX summaries_project_created ON summaries(project, created_at DESC);"
    "CREATE INDEX summaries_session ON summaries(session_id);"

    /* The durable capture queue: redacted raw hook payloads waiting to be processed. */
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY,"
    " session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,"
    " agent_session_id TEXT,"
    " agent TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','done','failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    " last_error TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX events_status ON events(status, id);"

    ,
    /* Concept weights for the importance score. */
    "CREATE TABLE concept_weights ("
    " concept TEXT PRIMARY KEY,"
    " weight REAL NOT NULL DEFAULT 0.1,"
    " updated_at INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO concept_weights(concept, weight, updated_at) VALUES"
    " ('security', 0.30, " MNEMO_SQL_NOW_MS "),"
    " ('gotcha', 0.25, " MNEMO_SQL_NOW_MS "),"
    " ('best-practice', 0.20, " MNEMO_SQL_NOW_MS "),"
    " ('anti-pattern', 0.20, " MNEMO_SQL_NOW_MS "),"
    " ('architecture', 0.15, " MNEMO_SQL_NOW_MS "),"
    " ('performance', 0.15, " MNEMO_SQL_NOW_MS "),"
    " ('error-handling', 0.15, " MNEMO_SQL_NOW_MS "),"
    " ('pattern', 0.10, " MNEMO_SQL_NOW_MS "),"
    " ('testing', 0.10, " MNEMO_SQL_NOW_MS "),"
    " ('debugging', 0.10, " MNEMO_SQL_NOW_MS "),"
    " ('workflow', 0.05, " MNEMO_SQL_NOW_MS "),"
    " ('tooling', 0.05, " MNEMO_SQL_NOW_MS ");"

    ,
    /* Embeddings: one L2-normalised float32 vector per observation and model. */
    "CREATE TABLE vectors ("
    " observation_id INTEGER NOT NULL REFERENCES observations(id) ON DELETE CASCADE,"
    " model_id TEXT NOT NULL,"
    " dim INTEGER NOT NULL CHECK (dim > 0 AND dim <= 8192),"
    " embedding BLOB NOT NULL CHECK (length(embedding) = 4 * dim),"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (observation_id, model_id)) WITHOUT ROWID;"
    "CREATE INDEX vectors_model ON vectors(model_id);"

    /* The knowledge graph between observations. */
    "CREATE TABLE relations ("
    " id INTEGER PRIMARY KEY,"
    " source_id INTEGER NOT NULL REFERENCES observations(id) ON DELETE CASCADE,"
    " target_id INTEGER NOT NULL REFERENCES observations(id) ON DELETE CASCADE,"
    " type TEXT NOT NULL CHECK (type IN"
    "  ('causes','fixes','supersedes','depends_on','relates_to','evolves_from')),"
    " confidence REAL NOT NULL DEFAULT 0.5 CHECK (confidence >= 0 AND confidence <= 1),"
    " created_at INTEGER NOT NULL,"
    " UNIQUE (source_id, target_id, type));"
    "CREATE INDEX relations_target ON relations(target_id);"

    ,
    /* Full-text indexes (external content), kept in step by triggers. */
    "CREATE VIRTUAL TABLE observations_fts USING fts5("
    " title, subtitle, narrative, facts, concepts,"
    " content='observations', content_rowid='id',"
    " tokenize='porter unicode61 remove_diacritics 2');"
    "CREATE TRIGGER observations_ai AFTER INSERT ON observations BEGIN"
    " INSERT INTO observations_fts(rowid, title, subtitle, narrative, facts, concepts)"
    " VALUES (new.id, new.title, new.subtitle, new.narrative, new.facts, new.concepts);"
    " END;"
    "CREATE TRIGGER observations_ad AFTER DELETE ON observations BEGIN"
    " INSERT INTO observations_fts(observations_fts, rowid, title, subtitle, narrative, facts,"
    " concepts) VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.facts,"
    " old.concepts);"
    " END;"
    /* Only when an indexed column changes, so feedback and retrieval bumps skip the FTS work. */
    "CREATE TRIGGER observations_au AFTER UPDATE OF title, subtitle, narrative, facts, concepts"
    " ON observations BEGIN"
    " INSERT INTO observations_fts(observations_fts, rowid, title, subtitle, narrative, facts,"
    " concepts) VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.facts,"
    " old.concepts);"
    " INSERT INTO observations_fts(rowid, title, subtitle, narrative, facts, concepts)"
    " VALUES (new.id, new.title, new.subtitle, new.narrative, new.facts, new.concepts);"
    " END;"

    ,
    "CREATE VIRTUAL TABLE summaries_fts USING fts5("
    " request, investigated, learned, completed, next_steps, notes,"
    " content='summaries', content_rowid='id',"
    " tokenize='porter unicode61 remove_diacritics 2');"
    "CREATE TRIGGER summaries_ai AFTER INSERT ON summaries BEGIN"
    " INSERT INTO summaries_fts(rowid, request, investigated, learned, completed, next_steps,"
    " notes) VALUES (new.id, new.request, new.investigated, new.learned, new.completed,"
    " new.next_steps, new.notes);"
    " END;"
    "CREATE TRIGGER summaries_ad AFTER DELETE ON summaries BEGIN"
    " INSERT INTO summaries_fts(summaries_fts, rowid, request, investigated, learned, completed,"
    " next_steps, notes) VALUES ('delete', old.id, old.request, old.investigated, old.learned,"
    " old.completed, old.next_steps, old.notes);"
    " END;"
    "CREATE TRIGGER summaries_au AFTER UPDATE OF request, investigated, learned, completed,"
    " next_steps, notes ON summaries BEGIN"
    " INSERT INTO summaries_fts(summaries_fts, rowid, request, investigated, learned, completed,"
    " next_steps, notes) VALUES ('delete', old.id, old.request, old.investigated, old.learned,"
    " old.completed, old.next_steps, old.notes);"
    " INSERT INTO summaries_fts(rowid, request, investigated, learned, completed, next_steps,"
    " notes) VALUES (new.id, new.request, new.investigated, new.learned, new.completed,"
    " new.next_steps, new.notes);"
    " END;"

    ,
    "CREATE VIRTUAL TABLE prompts_fts USING fts5("
    " text, content='prompts', content_rowid='id',"
    " tokenize='porter unicode61 remove_diacritics 2');"
    "CREATE TRIGGER prompts_ai AFTER INSERT ON prompts BEGIN"
    " INSERT INTO prompts_fts(rowid, text) VALUES (new.id, new.text);"
    " END;"
    "CREATE TRIGGER prompts_ad AFTER DELETE ON prompts BEGIN"
    " INSERT INTO prompts_fts(prompts_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " END;"
    "CREATE TRIGGER prompts_au AFTER UPDATE OF text ON prompts BEGIN"
    " INSERT INTO prompts_fts(prompts_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " INSERT INTO prompts_fts(rowid, text) VALUES (new.id, new.text);"
    " END;",
};

/* Runs the pieces of schema_v1 in order (ISO C bounds one string literal to 4095 bytes). */
static int apply_v1(sqlite3 *db, struct mnemo_err *err)
{
    for (size_t i = 0; i < sizeof schema_v1 / sizeof schema_v1[0]; i++) {
        char *msg = NULL;
        int src = sqlite3_exec(db, schema_v1[i], NULL, NULL, &msg);
        if (src != SQLITE_OK) {
            int rc = mnemo_err_set(err, MNEMO_ESQLITE, "memory schema step 1, part %zu: %s", i,
                                   msg ? msg : sqlite3_errstr(src));
            sqlite3_free(msg);
            return rc;
        }
    }
    return 0;
}

static const char schema_v2[] =
    "INSERT OR IGNORE INTO concept_weights(concept, weight, updated_at) VALUES"
    " ('problem-solution', 0.10, " MNEMO_SQL_NOW_MS "),"
    " ('trade-off', 0.10, " MNEMO_SQL_NOW_MS "),"
    " ('how-it-works', 0.05, " MNEMO_SQL_NOW_MS "),"
    " ('why-it-exists', 0.05, " MNEMO_SQL_NOW_MS "),"
    " ('what-changed', 0.05, " MNEMO_SQL_NOW_MS ");";

const struct mnemo_store_migration mnemo_memory_migrations[] = {
    {MNEMO_MEMORY_SCHEMA_V1,
     "memory: sessions, prompts, observations, summaries, events, "
     "concept weights, vectors, relations, FTS5 indexes",
     NULL, apply_v1},
    {MNEMO_MEMORY_SCHEMA_V2, "memory: extra concept weights", schema_v2, NULL},
    /* Retention deletes by age across every project; without this index each sweep read the
     * whole table (70 ms at 100k rows) through observations_project_created. */
    {MNEMO_MEMORY_SCHEMA_V3, "memory: observations by creation time",
     "CREATE INDEX observations_created ON observations(created_at);", NULL},
};

const int mnemo_memory_n_migrations =
    (int)(sizeof mnemo_memory_migrations / sizeof mnemo_memory_migrations[0]);

void mnemo_memory_store_config(struct mnemo_store_config *cfg, const char *path, unsigned flags)
{
    mnemo_store_config_init(cfg);
    cfg->path = path;
    cfg->flags = flags;
    cfg->migrations = mnemo_memory_migrations;
    cfg->n_migrations = mnemo_memory_n_migrations;
}
