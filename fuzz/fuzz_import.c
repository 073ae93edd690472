/*
 * fuzz_import.c - libFuzzer target: bulk import (POST /v1/observations/import), the path of
 * `mnemo import` through a worker: a JSON array, {"observations":[...]} or JSON Lines, read
 * from the raw body, redacted, validated and written in batches to a real store.
 *
 * Input: the body. Proves: no crash, leak or undefined behaviour on hostile import files;
 * every answer keeps the API's shape. Cannot prove: that what was imported is right (the
 * unit tests check that).
 */
#include <stdint.h>

#include "fuzz_worker.h"
#include "service/routes_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_worker();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_worker_call(route_obs_import, "POST", "/v1/observations/import", NULL, NULL, 0,
                     (const char *)data, size);
    fuzz_worker_trim(2000);
    return 0;
}
