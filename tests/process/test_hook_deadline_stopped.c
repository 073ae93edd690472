/*
 * test_hook_deadline_stopped.c - the deadline guarantee with the worker stopped (SIGSTOP): its
 * socket accepts connections into the backlog but nothing answers, so every hook must give up
 * at its deadline, exit 0 and print the minimal output, 100 runs per event. Once the worker
 * continues it serves again: the abandoned connections do not wedge it.
 */
#include "test_hook_procs.h"

static void test_hook_deadline_holds_with_the_worker_stopped(void **state)
{
    struct fixture *f = *state;
    serve(f);
    assert_int_equal(kill(f->child, SIGSTOP), 0);
    expect_deadline_case(f, "worker stopped (SIGSTOP)", f->dir.path);
    assert_int_equal(kill(f->child, SIGCONT), 0);
    wait_ready(f, tu_now_ms());
    stop_child(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_deadline_holds_with_the_worker_stopped, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
