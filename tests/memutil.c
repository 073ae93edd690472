/*
 * memutil.c - see memutil.h.
 */
#include "memutil.h"

#include "embed/embed.h"
#include "memory/schema.h"
#include "search/vindex.h"

struct mnemo_store *mu_open(const char *path)
{
    struct mnemo_store_config cfg;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    mnemo_memory_store_config(&cfg, path, MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER);
    if (mnemo_store_open(&cfg, &st, &e) != 0)
        fail_msg("cannot open store '%s': %s", path, e.msg);
    return st;
}

int mu_setup(void **state)
{
    void *su = NULL;
    su_setup(&su);
    struct mu_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->su = *(struct su_fixture *)su;
    free(su);
    f->st = mu_open(f->su.db);
    *state = f;
    return 0;
}

int mu_teardown(void **state)
{
    struct mu_fixture *f = *state;
    assert_int_equal(mnemo_store_close(f->st), 0);
    tu_dir_remove(&f->su.dir);
    free(f);
    return 0;
}

int mu_search_setup(void **state)
{
    void *su = NULL;
    struct mnemo_embed_config ec;
    struct mnemo_err e = {0};
    su_setup(&su);
    struct mu_search_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->su = *(struct su_fixture *)su;
    free(su);
    f->st = mu_open(f->su.db);
    mnemo_embed_config_init(&ec);
    if (mnemo_embed_open(&ec, &f->emb, &e) != 0)
        fail_msg("embed: %s", e.msg);
    if (mnemo_vindex_open(mnemo_embed_dim(f->emb), MNEMO_VINDEX_FLOAT, &f->vx, &e) != 0)
        fail_msg("vindex: %s", e.msg);
    *state = f;
    return 0;
}

int mu_search_teardown(void **state)
{
    struct mu_search_fixture *f = *state;
    mnemo_vindex_close(f->vx);
    mnemo_embed_close(f->emb);
    assert_int_equal(mnemo_store_close(f->st), 0);
    tu_dir_remove(&f->su.dir);
    free(f);
    return 0;
}
