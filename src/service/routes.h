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

#endif
