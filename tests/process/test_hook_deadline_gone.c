/*
 * test_hook_deadline_gone.c - the deadline guarantee with no worker: killed with SIGKILL (its
 * socket file left behind, so connecting is refused) and absent (no home, no socket). Every
 * hook exits 0 with the minimal output in time, 100 runs per event, and says why in the hook
 * log; with autostart off none of them starts a worker.
 */
#include "test_hook_procs.h"

static void test_hook_deadline_holds_with_the_worker_killed(void **state)
{
    struct fixture *f = *state;
    serve(f);
    assert_int_equal(kill(f->child, SIGKILL), 0);
    assert_true(wait_child(f->child, EXIT_WAIT_MS) >= 0);
    f->child = 0;
    assert_true(tu_file_size(f->sock) >= 0); /* the stale socket file */
    expect_deadline_case(f, "worker killed (stale socket)", f->dir.path);
    assert_false(health_ready(f));
    char log[700];
    snprintf(log, sizeof log, "%s/logs/hooks.log", f->home);
    assert_true(file_contains(log, "rc=MNEMO_ECLOSED"));
}

static void test_hook_deadline_holds_with_no_worker_and_no_home(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_file_size(f->home), -1);
    expect_deadline_case(f, "worker absent (no home)", f->dir.path);
    assert_int_equal(tu_file_size(f->sock), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_deadline_holds_with_the_worker_killed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_deadline_holds_with_no_worker_and_no_home, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
