/*
 * fuzz_llm_reply.c - libFuzzer target: the LLM extractor's strict reply parser
 * (capture/llm_parse.c, mnemo__llm_parse), which reads the model's stdout: untrusted text that
 * ends up as observations.
 *
 * Input: the model's reply. Proves: no crash, leak or undefined behaviour; a rejected reply
 * leaves no drafts; every accepted draft passes mnemo_obs_validate, the same check the store
 * applies (a draft the parser accepts but the store refuses would fail the capture of the
 * event). Cannot prove: that the accepted drafts say what the model meant.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "capture/llm_int.h"
#include "memory/obs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *g_payload;

static void free_payload(void)
{
    json_decref(g_payload);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    g_payload = json_pack("{s:s,s:{s:s},s:s}", "tool_name", "Bash", "tool_input", "command",
                          "make test", "tool_response", "ok");
    if (g_payload == NULL)
        abort();
    atexit(free_payload);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mnemo_extract_output out;
    struct mnemo_err err = {0};
    int skipped = 0;
    struct mnemo_extract_input in = {
        .event_id = 1,
        .agent = "claude",
        .kind = "post-tool-use",
        .agent_session_id = "s1",
        .session_id = 7,
        .project = "proj",
        .payload = g_payload,
        .created_at = 1700000000000,
    };

    mnemo_extract_output_init(&out);
    int rc = mnemo__llm_parse((const char *)data, size, &in, &out, &skipped, &err);
    if (rc != 0 && out.n_obs != 0) {
        fprintf(stderr, "rejected reply (%s) left %zu drafts\n", err.msg, out.n_obs);
        abort();
    }
    if (rc == 0 && out.n_obs > LLM_MAX_OBS) {
        fprintf(stderr, "%zu drafts\n", out.n_obs);
        abort();
    }
    for (size_t i = 0; rc == 0 && i < out.n_obs; i++) {
        struct mnemo_err verr = {0};
        if (mnemo_obs_validate(&out.obs[i], &verr) != 0) {
            fprintf(stderr, "accepted draft %zu fails validation: %s\n", i, verr.msg);
            abort();
        }
    }
    mnemo_extract_output_release(&out);
    return 0;
}
