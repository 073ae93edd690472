/*
 * obs_json.h - observations to and from JSON, and the privacy pass over their text.
 *
 * The JSON shape is the one `mnemo export` writes and `mnemo import` and the worker's
 * /v1/observations routes read: one object per observation, keys in a stable order.
 *
 * Thread-safety: every function works only on its arguments; mnemo_obs_clean needs the
 * redactor to be usable from the calling thread (memory/privacy.h: it is, once built).
 */
#ifndef MNEMO_MEMORY_OBS_JSON_H
#define MNEMO_MEMORY_OBS_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "memory/obs.h"
#include "memory/privacy.h"
#include "util/err.h"

/*
 * Appends a copy of s to the owned list (*items, *n) unless the list already holds max items.
 * Returns 0, MNEMO_ETOOBIG or MNEMO_ENOMEM.
 */
int mnemo_obs_list_push(char ***items, size_t *n, size_t max, const char *s);

/*
 * Runs every text field of the owned observation o (title, subtitle, narrative, list items,
 * archive reason) through the privacy cleaner in place: private blocks stripped, secrets
 * redacted. List items left empty are dropped. Returns 0 or the cleaner's error.
 */
int mnemo_obs_clean(const struct mnemo_privacy *priv, struct mnemo_obs *o, struct mnemo_err *err);

/*
 * Fills the owned observation o (initialised here; release with mnemo_obs_release) from a JSON
 * object as mnemo_obs_to_json writes it. Without import only the fields a user may set are read
 * (type, scope, project, title, subtitle, narrative, facts, concepts, files_read,
 * files_modified); with import also uuid, provenance, timestamps, feedback, retrieval data,
 * archive state and file_mtimes. Unknown keys are ignored. Returns 0, or -1 with a message
 * in msg (a field of the wrong JSON type, not an object); o is then released.
 */
int mnemo_obs_from_json(const json_t *j, int import, struct mnemo_obs *o, char *msg,
                        size_t msg_size);

/*
 * A new JSON object for o (caller owns the reference), or NULL when out of memory. Keys:
 * id, uuid, project, scope, type, title, subtitle, narrative, facts, concepts, files_read,
 * files_modified, file_mtimes, provenance, content_hash, importance, feedback,
 * retrieval_count, last_retrieved_at, superseded_by, archived, archived_at, archived_reason,
 * session_id, created_at, updated_at (times in Unix milliseconds).
 */
json_t *mnemo_obs_to_json(const struct mnemo_obs *o);

#endif
