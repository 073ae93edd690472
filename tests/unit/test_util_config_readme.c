/*
 * test_util_config_readme.c - the README's configuration table says what the key table in
 * src/util/config.c says: every key has its row, with its default and its help text, so a
 * key added to the code (autostart was one) cannot go undocumented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "util/config.h"

/* README.md, found from this file's path so ctest works from any build directory. */
static char *read_readme(void)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dir_len = slash ? (int)(slash - file) : 1;
    char path[1024];
    snprintf(path, sizeof path, "%.*s/../../README.md", dir_len, slash ? file : ".");
    char *text = tu_file_read(path, 1 << 22, NULL);
    if (text == NULL)
        fail_msg("cannot read %s", path);
    return text;
}

static void test_config_readme_has_a_row_for_every_key(void **state)
{
    (void)state;
    size_t n = 0;
    const struct mnemo_config_key *keys = mnemo_config_keys(&n);
    char *readme = read_readme();
    char row[1024];
    int missing = 0;

    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(row, sizeof row, "\n| `%s` | `%s` | %s |\n", keys[i].name,
                 keys[i].def[0] != '\0' ? keys[i].def : "\"\"", keys[i].help);
        if (strstr(readme, row) == NULL) {
            print_error("README.md lacks the row:%s", row);
            missing++;
        }
    }
    free(readme);
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_readme_has_a_row_for_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
