/*
 * fuzz_worker.h - a worker without its HTTP server for the fuzzers that call route handlers
 * in-process (fuzz_http_json.c, fuzz_import.c): store with the memory schema in a temporary
 * directory, redactor, hash embedder, vector index, default config, status ready. Built once
 * per process (LLVMFuzzerInitialize), because opening a store costs milliseconds and an
 * execution should cost far less; fuzz_worker_call runs one handler the way the HTTP server
 * does after it has read and parsed the body.
 *
 * Thread-safety: one fuzzer thread. Ownership: the worker lives until the process exits
 * (libFuzzer never returns from its loop; an atexit hook closes the store and removes the
 * directory so LeakSanitizer sees nothing and /tmp is left clean).
 */
#ifndef MNEMO_FUZZ_WORKER_H
#define MNEMO_FUZZ_WORKER_H

#include <stddef.h>

#include "service/http.h"
#include "service/worker.h"

/* Builds the worker once; aborts with a message on any failure (the fuzzer cannot run). */
struct mnemo_worker *fuzz_worker(void);

/*
 * Calls handler h for method and path with path parameter name=value (name may be NULL) and
 * the body data[0..size) as the server would hand it over: raw_body always, and with parse
 * set (routes without MNEMO_HTTP_RAW_BODY) body parsed when it is JSON of at most 64 levels. A
 * negative return becomes the server's error answer. Aborts when the answer breaks the API's shape
 * (an error status without
 * {"error":{"code","message"}}, a 2xx without a body). Returns the HTTP status.
 */
int fuzz_worker_call(mnemo_http_handler h, const char *method, const char *path,
                     const char *param_name, const char *param_value, int parse, const char *data,
                     size_t size);

/* Every n calls, empties the data tables so a long run does not grow the database without
 * bound (what accumulates would only slow executions down). */
void fuzz_worker_trim(unsigned every);

#endif
