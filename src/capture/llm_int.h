/*
 * llm_int.h - what the LLM extractor's files share (llm.c: the extractor, budget and slots;
 * llm_run.c: splitting the command and running the child; llm_parse.c: the strict reply
 * parser; llm_prompt.c: the built-in template and its rendering); not a public API.
 *
 * Thread-safety: every function here is reentrant (no shared state).
 */
#ifndef MNEMO_CAPTURE_LLM_INT_H
#define MNEMO_CAPTURE_LLM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "capture/extract.h"

/* Bounds of the event text put into the prompt, and of what the child may write. */
#define LLM_INPUT_MAX    3000
#define LLM_RESPONSE_MAX 5000
#define LLM_STDOUT_MAX   (256 * 1024)
#define LLM_STDERR_MAX   4096
#define LLM_PROMPT_MAX   (64 * 1024) /* a template file larger than this is not used */
/* Bounds of a reply beyond those of memory/obs.h. */
#define LLM_MAX_OBS      3
#define LLM_TITLE_MAX    200
#define LLM_MAX_FACTS    10
#define LLM_MAX_CONCEPTS 3
#define LLM_MAX_FILES    50

/*
 * Splits cmd into a NULL-terminated argv (malloc'd; free with mnemo__llm_argv_free) the way
 * a POSIX shell splits words, without any expansion: blanks separate words; '...' keeps
 * everything literally; "..." keeps everything but \" \\ \$ \` (backslash escapes); a
 * backslash outside quotes escapes the next character. MNEMO_EINVAL for an unterminated
 * quote, a trailing backslash or no word at all; MNEMO_ENOMEM.
 */
int mnemo__llm_split(const char *cmd, char ***argv_out, struct mnemo_err *err);
void mnemo__llm_argv_free(char **argv);

/* What one run of the child gave. */
struct llm_run_result {
    int exited; /* 1: exited normally with exit_code */
    int exit_code;
    int signal;    /* the signal that ended it when !exited (SIGKILL after a timeout) */
    int timed_out; /* killed at the deadline */
    int oversized; /* stdout passed out_max: killed, out holds the first out_max bytes */
    char *out;     /* stdout, NUL-terminated (malloc'd, never NULL after success) */
    size_t out_len;
    char *errtext; /* the first LLM_STDERR_MAX bytes of stderr, NUL-terminated */
    int64_t elapsed_ms;
};

/*
 * Runs argv[0] (searched on PATH) as described in extract.h, writes input to its stdin,
 * collects stdout (up to out_max) and stderr, and reaps it; at timeout_ms after the spawn
 * its process group is SIGKILLed. Returns 0 once the child was run (whatever its outcome,
 * see *res), or an error when it could not be started (MNEMO_ENOTFOUND for a program that is
 * not found, MNEMO_EIO, MNEMO_ENOMEM). *res is initialised here; release it.
 */
int mnemo__llm_run(char *const *argv, const char *input, size_t input_len, int timeout_ms,
                   size_t out_max, struct llm_run_result *res, struct mnemo_err *err);
void mnemo__llm_run_release(struct llm_run_result *res);

/*
 * Parses a reply (see extract.h) into drafts appended to out (project, session, time and
 * provenance "llm" from in). *skipped = 1 for <skip/>. On MNEMO_EINVAL (malformed, with the
 * reason in err) or MNEMO_ETOOBIG (a bound) out is left with no drafts from this call.
 */
int mnemo__llm_parse(const char *reply, size_t len, const struct mnemo_extract_input *in,
                     struct mnemo_extract_output *out, int *skipped, struct mnemo_err *err);

/* 1 when s is one of the concept vocabulary's words. */
int mnemo__llm_concept_valid(const char *s);

/*
 * Renders tmpl for the event in (see extract.h for the placeholders) into *out (malloc'd,
 * NUL-terminated, *len bytes). Returns 0 or MNEMO_ENOMEM.
 */
int mnemo__llm_render(const char *tmpl, const struct mnemo_extract_input *in, char **out,
                      size_t *len, struct mnemo_err *err);

#endif
