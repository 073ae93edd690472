/*
 * routes_retrieval.c - per-project retrieval counters (routes.h). A fixed table filled in
 * order of first use and searched linearly under one mutex: at most 500 short names, so a
 * lookup costs a few microseconds, less than the search it counts, and recording never
 * allocates on the prompt path.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "memory/project.h"
#include "service/routes.h"
#include "util/err.h"

struct retrieval_row {
    char project[MNEMO_PROJECT_SIZE];
    int64_t searches, context_requests, hits;
};

struct mnemo_routes_retrieval {
    pthread_mutex_t mu;
    size_t n; /* rows in use; the last slot is reserved for MNEMO_ROUTES_RETRIEVAL_OTHER */
    struct retrieval_row rows[MNEMO_ROUTES_RETRIEVAL_MAX_PROJECTS + 1];
};

int mnemo_routes_retrieval_new(struct mnemo_routes_retrieval **out)
{
    *out = NULL;
    struct mnemo_routes_retrieval *r = calloc(1, sizeof *r);
    if (r == NULL)
        return MNEMO_ENOMEM;
    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        free(r);
        return MNEMO_EIO;
    }
    *out = r;
    return 0;
}

void mnemo_routes_retrieval_free(struct mnemo_routes_retrieval *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* The row of name, created when there is room, else the shared "(other)" row. Under mu. */
static struct retrieval_row *row_for(struct mnemo_routes_retrieval *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->rows[i].project, name) == 0)
            return &r->rows[i];
    }
    if (r->n < MNEMO_ROUTES_RETRIEVAL_MAX_PROJECTS && strlen(name) < MNEMO_PROJECT_SIZE) {
        struct retrieval_row *row = &r->rows[r->n++];
        memcpy(row->project, name, strlen(name) + 1);
        return row;
    }
    struct retrieval_row *other = &r->rows[MNEMO_ROUTES_RETRIEVAL_MAX_PROJECTS];
    memcpy(other->project, MNEMO_ROUTES_RETRIEVAL_OTHER, sizeof MNEMO_ROUTES_RETRIEVAL_OTHER);
    return other;
}

void mnemo_routes_retrieval_record(struct mnemo_routes_retrieval *r, const char *project,
                                   enum mnemo_routes_retrieval_kind kind, int64_t hits)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    struct retrieval_row *row = row_for(r, project != NULL ? project : MNEMO_ROUTES_RETRIEVAL_ALL);
    if (kind == MNEMO_ROUTES_RETRIEVAL_SEARCH)
        row->searches++;
    else
        row->context_requests++;
    row->hits += hits > 0 ? hits : 0;
    pthread_mutex_unlock(&r->mu);
}

static int add_row(json_t *o, const struct retrieval_row *row)
{
    return json_object_set_new(o, row->project,
                               json_pack("{s:I,s:I,s:I}", "searches", (json_int_t)row->searches,
                                         "context_requests", (json_int_t)row->context_requests,
                                         "hits", (json_int_t)row->hits));
}

json_t *mnemo_routes_retrieval_json(struct mnemo_routes_retrieval *r)
{
    json_t *o = json_object();
    if (o == NULL || r == NULL)
        return o;
    int bad = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n && !bad; i++)
        bad = add_row(o, &r->rows[i]) != 0;
    const struct retrieval_row *other = &r->rows[MNEMO_ROUTES_RETRIEVAL_MAX_PROJECTS];
    if (!bad && other->project[0] != '\0')
        bad = add_row(o, other) != 0;
    pthread_mutex_unlock(&r->mu);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
