/*
 * rules_replay.c - deep copies of extractor output, for the rules extractor's replay of a
 * retried event (see replay_find in rules.c).
 */
#include <stdlib.h>
#include <string.h>

#include "capture/rules_int.h"
#include "memory/obs_json.h"

static int dup_str(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : MNEMO_ENOMEM;
}

static int dup_list(char ***dst, size_t *dn, char *const *src, size_t n, size_t max)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = mnemo_obs_list_push(dst, dn, max, src[i]);
    return rc;
}

static int copy_obs(struct mnemo_obs *d, const struct mnemo_obs *o)
{
    mnemo_obs_init(d);
    d->session_id = o->session_id;
    d->created_at = o->created_at;
    memcpy(d->type, o->type, sizeof d->type);
    memcpy(d->scope, o->scope, sizeof d->scope);
    memcpy(d->provenance, o->provenance, sizeof d->provenance);
    int rc = dup_str(&d->project, o->project);
    if (rc == 0)
        rc = dup_str(&d->title, o->title);
    if (rc == 0)
        rc = dup_str(&d->subtitle, o->subtitle);
    if (rc == 0)
        rc = dup_str(&d->narrative, o->narrative);
    if (rc == 0)
        rc = dup_list(&d->facts, &d->n_facts, o->facts, o->n_facts, MNEMO_OBS_MAX_FACTS);
    if (rc == 0)
        rc = dup_list(&d->concepts, &d->n_concepts, o->concepts, o->n_concepts,
                      MNEMO_OBS_MAX_CONCEPTS);
    if (rc == 0)
        rc = dup_list(&d->files_read, &d->n_files_read, o->files_read, o->n_files_read,
                      MNEMO_OBS_MAX_FILES);
    if (rc == 0)
        rc = dup_list(&d->files_modified, &d->n_files_modified, o->files_modified,
                      o->n_files_modified, MNEMO_OBS_MAX_FILES);
    return rc == 0 ? 0 : MNEMO_ENOMEM;
}

int mnemo__rules_output_copy(struct mnemo_extract_output *dst,
                             const struct mnemo_extract_output *src)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < src->n_obs; i++) {
        rc = copy_obs(&dst->obs[i], &src->obs[i]);
        dst->n_obs = i + 1;
    }
    dst->has_summary = src->has_summary;
    if (rc == 0)
        rc = dup_str(&dst->request, src->request);
    if (rc == 0)
        rc = dup_str(&dst->investigated, src->investigated);
    if (rc == 0)
        rc = dup_str(&dst->learned, src->learned);
    if (rc == 0)
        rc = dup_str(&dst->completed, src->completed);
    if (rc == 0)
        rc = dup_str(&dst->next_steps, src->next_steps);
    if (rc == 0)
        rc = dup_str(&dst->notes, src->notes);
    return rc;
}
