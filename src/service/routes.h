/*
 * routes.h - the worker's HTTP routes (the table in docs/API.md and the README): JSON
 * handlers over the memory, search and store layers. Handlers borrow the worker passed as
 * ctx; they validate every input and answer errors as {"error":{...}} through http.h.
 *
 * Thread-safety: handlers run concurrently on the HTTP server's threads.
 */
#ifndef MNEMO_SERVICE_ROUTES_H
#define MNEMO_SERVICE_ROUTES_H

#include <stddef.h>

#include "service/http.h"

/* The route table (static). ctx of every handler is the struct mnemo_worker. */
const struct mnemo_http_route *mnemo_routes(size_t *n);

/*
 * Per-project retrieval counters for GET /v1/stats ("retrieval": {<project>: {searches,
 * context_requests, hits}}): searches run, context blocks served and observations returned or
 * shown. At most MNEMO_ROUTES_RETRIEVAL_MAX_PROJECTS projects are kept (as the reference did);
 * later ones are added up under MNEMO_ROUTES_RETRIEVAL_OTHER, and a search over every project
 * under MNEMO_ROUTES_RETRIEVAL_ALL. Counters live in memory and restart at zero with the worker.
 *
 * Ownership: created and freed by the worker (before the listeners start, after they stop);
 * handlers borrow it. Thread-safety: record and json may be called from any thread at once.
 * (Added for the routes; the worker needs a field to hold it, see the routes report.)
 */
#define MNEMO_ROUTES_RETRIEVAL_MAX_PROJECTS 500
#define MNEMO_ROUTES_RETRIEVAL_OTHER        "(other)"
#define MNEMO_ROUTES_RETRIEVAL_ALL          "(all)"

enum mnemo_routes_retrieval_kind {
    MNEMO_ROUTES_RETRIEVAL_SEARCH,
    MNEMO_ROUTES_RETRIEVAL_CONTEXT,
};

struct mnemo_routes_retrieval;

/* A new, empty set of counters (*out; free with mnemo_routes_retrieval_free). Returns 0,
 * MNEMO_ENOMEM or MNEMO_EIO (mutex). */
int mnemo_routes_retrieval_new(struct mnemo_routes_retrieval **out);

/* Frees r. NULL is a no-op. */
void mnemo_routes_retrieval_free(struct mnemo_routes_retrieval *r);

/* Counts one request of kind for project (NULL = every project) that returned hits rows.
 * r NULL is a no-op. Never allocates (the table is sized at creation). */
void mnemo_routes_retrieval_record(struct mnemo_routes_retrieval *r, const char *project,
                                   enum mnemo_routes_retrieval_kind kind, int64_t hits);

/* The counters as {<project>: {searches, context_requests, hits}} (a new reference; NULL when
 * out of memory); r NULL gives {}. */
json_t *mnemo_routes_retrieval_json(struct mnemo_routes_retrieval *r);

#endif
