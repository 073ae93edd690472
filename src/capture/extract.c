/*
 * extract.c - the extractor interface (see extract.h): output lifecycle and dispatch. The
 * extractors themselves live in their own files (rules.c; the LLM extractor later).
 */
#include "capture/extract.h"

#include <stdlib.h>
#include <string.h>

void mnemo_extract_output_init(struct mnemo_extract_output *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < MNEMO_EXTRACT_MAX_OBS; i++)
        mnemo_obs_init(&out->obs[i]);
}

void mnemo_extract_output_release(struct mnemo_extract_output *out)
{
    if (out == NULL)
        return;
    for (size_t i = 0; i < MNEMO_EXTRACT_MAX_OBS; i++)
        mnemo_obs_release(&out->obs[i]);
    free(out->request);
    free(out->investigated);
    free(out->learned);
    free(out->completed);
    free(out->next_steps);
    free(out->notes);
    memset(out, 0, sizeof *out);
}

/*
 * Runs one extractor on one event. A failed extraction leaves nothing half made behind: the
 * output is released and initialised again, so the caller may run the next extractor or
 * record the failure without looking at it.
 */
int mnemo_extractor_run(struct mnemo_extractor *x, const struct mnemo_extract_input *in,
                        struct mnemo_extract_output *out, struct mnemo_err *err)
{
    if (x == NULL || x->ops == NULL || x->ops->extract == NULL || in == NULL || out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "extractor run: missing argument");
    int rc = x->ops->extract(x, in, out, err);
    if (rc != 0) {
        mnemo_extract_output_release(out);
        mnemo_extract_output_init(out);
    }
    return rc;
}

void mnemo_extractor_free(struct mnemo_extractor *x)
{
    if (x == NULL)
        return;
    if (x->ops != NULL && x->ops->destroy != NULL)
        x->ops->destroy(x); /* frees x itself: the extractor allocated it */
}
