/*
 * embed_int.h - private interface between embed.c (dispatch) and the providers.
 *
 * embed.c validates arguments, cuts every text to max_text_bytes and calls one of the
 * providers below; the providers trust those checks. Not installed, not for other layers.
 */
#ifndef MNEMO_EMBED_EMBED_INT_H
#define MNEMO_EMBED_EMBED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "embed/embed.h"

/* Bytes of a model id, including the provider prefix. */
#define MNEMO__EMBED_MODEL_ID_MAX 192

struct mnemo__embed_http;

struct mnemo_embedder {
    enum mnemo_embed_provider provider;
    int dim;
    size_t max_text_bytes;
    char model_id[MNEMO__EMBED_MODEL_ID_MAX];
    struct mnemo__embed_http *http; /* provider http only */
};

/*
 * Hash provider: embeds text[0..len) (UTF-8, possibly invalid) into out[dim], unit length.
 * Pure function of (text, dim); safe from any thread. Returns 0 or MNEMO_ENOMEM.
 */
int mnemo__embed_hash(const char *text, size_t len, int dim, float *out);

/*
 * Http provider. open validates the http fields of cfg and copies them; when cfg->dim is 0
 * it embeds a probe text to learn the dimension. *dim_out receives the dimension.
 */
int mnemo__embed_http_open(const struct mnemo_embed_config *cfg, struct mnemo__embed_http **out,
                           int *dim_out, struct mnemo_err *err);

/* Embeds texts[i][0..lens[i]) into out (n * dim floats, unit length), in batches. */
int mnemo__embed_http_texts(struct mnemo__embed_http *h, const char *const *texts,
                            const size_t *lens, size_t n, float *out, int64_t deadline_ns,
                            struct mnemo_err *err);

/* The model id "openai:<model>" or "ollama:<model>" into buf. */
void mnemo__embed_http_model_id(const struct mnemo__embed_http *h, char *buf, size_t size);

/* Frees the provider. NULL is a no-op. */
void mnemo__embed_http_close(struct mnemo__embed_http *h);

/*
 * Square root and natural logarithm in plain arithmetic. The hash vectors must be identical
 * on every machine and libm versions differ in the last bit of log(); these use only +, *, /
 * on doubles (IEEE-exact everywhere) and keep the module free of a libm link dependency.
 * sqrt: x >= 0 (else 0). ln: x > 0 (else 0).
 */
double mnemo__embed_sqrt(double x);
double mnemo__embed_ln(double x);

#endif
