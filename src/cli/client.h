/*
 * client.h - the CLI's client of a running worker, and the JSON -> output code every data
 * command shares between its two paths.
 *
 * A data command (search, add, show, list, stats, context, archive/unarchive/forget, export,
 * import) first asks the worker over $MNEMO_HOME/mnemo.sock. When no worker listens (or
 * MNEMO_NO_WORKER=1 is set) it does the same work through the library and builds the JSON the
 * worker would have answered. Either way the answer is printed by one function, so the output
 * cannot depend on which path ran.
 *
 * Thread-safety: the CLI is single-threaded; so is this.
 */
#ifndef MNEMO_CLI_CLIENT_H
#define MNEMO_CLI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/cli.h"
#include "memory/obs.h"
#include "memory/privacy.h"
#include "util/err.h"

/* How long the CLI waits to connect to the worker's socket before using the library. */
#define MNEMO_CLI_WORKER_CONNECT_MS 500
/* Whole request deadline. */
#define MNEMO_CLI_WORKER_TIMEOUT_MS 10000
/* Largest worker answer the CLI reads (an export of a big memory). */
#define MNEMO_CLI_WORKER_MAX_ANSWER ((size_t)512 * 1024 * 1024)

/*
 * One request to the worker of cli's home: method and path ("/v1/search?x=y"), body (may be
 * NULL) sent as JSON. On return 0, *status is the HTTP status; *out (may be NULL: not wanted)
 * is the answer parsed as JSON when it is JSON (else NULL); *raw and *raw_len (may be NULL) the
 * answer's bytes, malloc'd and NUL-terminated. The caller frees *out with json_decref and *raw
 * with free. Returns MNEMO_ECLOSED when no worker answers - no socket, nobody listening, not
 * connected within MNEMO_CLI_WORKER_CONNECT_MS, a worker that is not ready yet (503), or
 * MNEMO_NO_WORKER=1 - so the caller falls back to the library; MNEMO_ETIMEDOUT when the worker
 * took the request but did not answer within MNEMO_CLI_WORKER_TIMEOUT_MS (it may have acted:
 * no fallback then); MNEMO_ETOOBIG, MNEMO_ENOMEM or MNEMO_EIO otherwise.
 */
int mnemo__cli_worker_call(struct mnemo_cli *cli, const char *method, const char *path,
                           const json_t *body, long *status, json_t **out, char **raw,
                           size_t *raw_len, struct mnemo_err *err);

/*
 * mnemo__cli_worker_call for JSON routes: returns 0 and the answer in *out for a 2xx; for an
 * error answer, the code named in {"error":{"code","message"}} (MNEMO_ENOTFOUND for a 404...)
 * with the worker's message in err; MNEMO_ECLOSED as above.
 */
int mnemo__cli_worker_json(struct mnemo_cli *cli, const char *method, const char *path,
                           const json_t *body, json_t **out, struct mnemo_err *err);

/*
 * Appends "&key=value" (or "?key=value" when path has no '?' yet) to path, percent-encoding
 * value. Returns 0 or -1 when it does not fit in size.
 */
int mnemo__cli_query_add(char *path, size_t size, const char *key, const char *value);

/*
 * Fills the owned observation o from its JSON (memory/obs_json.h's shape) including the fields
 * the store computes (id, session_id, content_hash, importance, superseded_by), for printing.
 * Returns 0, or -1 with msg set (o released).
 */
int mnemo__cli_obs_from_json(const json_t *j, struct mnemo_obs *o, char *msg, size_t msg_size);

/*
 * The redactor the worker uses: the built-in rules plus the user's privacy.rules_file from the
 * config (a relative path is taken from the home), so text the CLI stores is cleaned the same
 * on both paths. Returns 0 and *out (free with mnemo_privacy_free), or a negative code with
 * err (a config or rules file that does not load is an error: running without the user's
 * rules would store what they meant to keep out).
 */
int mnemo__cli_privacy_open(struct mnemo_cli *cli, struct mnemo_privacy **out,
                            struct mnemo_err *err);

/*
 * mnemo__cli_mem_open for the library path of a data command, configured as the worker would
 * be: with MNEMO_CLI_MEM_PRIVACY the redactor of mnemo__cli_privacy_open, with
 * MNEMO_CLI_MEM_EMBED the embedder of the embed.* settings (config.json and MNEMO_EMBED_*). On
 * failure prints why and returns MNEMO_CLI_FAIL with m released; release m with
 * mnemo__cli_mem_close.
 */
int mnemo__cli_mem_open_config(struct mnemo_cli *cli, unsigned flags, struct mnemo_cli_mem *m);

#endif
