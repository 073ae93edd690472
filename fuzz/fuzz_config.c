/*
 * fuzz_config.c - libFuzzer target: the configuration (util/config.h) as mnemo reads it from
 * $MNEMO_HOME/config.json, and `mnemo config set` with any value.
 *
 * Input: with byte 0 even, bytes 1.. are the config.json file, loaded with mnemo_config_load
 * (unknown-key warnings go to a real logger writing to /dev/null) and every key read back as
 * text; with byte 0 odd, byte 1 picks a key and bytes 2.. (up to a NUL) are the value given to
 * mnemo_config_set, and the file it wrote must load again. Proves: no crash, leak or
 * undefined behaviour on any file or value; a value set is a value that loads. Cannot prove:
 * anything about the environment overrides (the process's environment is left alone).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/config.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_home[64];
static char g_file[96];
static struct mnemo_log *g_log;

static void cleanup(void)
{
    mnemo_log_close(g_log);
    unlink(g_file);
    rmdir(g_home);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct mnemo_err err = {0};
    (void)argc, (void)argv;
    snprintf(g_home, sizeof g_home, "/tmp/mnemo-fuzz-config-XXXXXX");
    if (mkdtemp(g_home) == NULL)
        abort();
    snprintf(g_file, sizeof g_file, "%s/config.json", g_home);
    if (mnemo_log_open("/dev/null", MNEMO_LOG_DEBUG, &g_log, &err) != 0) {
        fprintf(stderr, "fuzz_config: %s\n", err.msg);
        abort();
    }
    atexit(cleanup);
    return 0;
}

static void write_file(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_file, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

/* Loads the home's config and reads every key back as text; returns the load's result. */
static int load_all(struct mnemo_err *err)
{
    struct mnemo_config *c = NULL;
    size_t n = 0;
    int rc = mnemo_config_load(g_home, g_log, &c, err);
    if (rc != 0)
        return rc;
    const struct mnemo_config_key *keys = mnemo_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        const char *value = NULL;
        enum mnemo_config_source src;
        if (mnemo_config_get_text(c, keys[i].name, &value, &src, err) != 0 || value == NULL)
            abort();
    }
    mnemo_config_free(c);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mnemo_err err = {0};
    size_t n = 0;

    if (size < 1)
        return 0;
    if ((data[0] & 1) == 0) {
        write_file(data + 1, size - 1);
        load_all(&err);
        return 0;
    }
    if (size < 2)
        return 0;
    const struct mnemo_config_key *keys = mnemo_config_keys(&n);
    const char *key = keys[data[1] % n].name;
    size_t vlen = strnlen((const char *)data + 2, size - 2);
    char *value = malloc(vlen + 1); /* not strndup: data has no terminating NUL */
    if (value == NULL)
        abort();
    memcpy(value, data + 2, vlen);
    value[vlen] = '\0';
    write_file((const uint8_t *)"{}", 2);
    if (mnemo_config_set(g_home, key, value, &err) == 0 && load_all(&err) != 0) {
        fprintf(stderr, "config set %s='%s' but the file does not load: %s\n", key, value, err.msg);
        abort();
    }
    free(value);
    return 0;
}
