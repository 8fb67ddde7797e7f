/*
 * test_signal.c — gv_signal handlers run in tasks; gv_shutdown from a task.
 */
#include "gv_test.h"

#include <signal.h>

static int sig_calls;
static int sig_signum;
static void *sig_arg;
static gv_id sig_self;
static int sig_sleep_res;

static void
on_signal(int signum, void *arg)
{
    sig_signum = signum;
    sig_arg = arg;
    sig_self = gv_self();
    sig_sleep_res = gv_sleep(1); /* a task may block */
    sig_calls++;                 /* counted once the callback is over */
}

static void
wait_for_calls(int n)
{
    for (int i = 0; i < 1000 && sig_calls < n; i++)
        gv_sleep(2);
}

static void
test_a_signal_runs_its_callback_in_a_task(void **state)
{
    (void)state;
    sig_calls = 0;
    sig_sleep_res = 0x55;
    int cookie;
    assert_gv_ok(gv_signal(SIGUSR1, on_signal, &cookie));
    gv_id main_id = gv_self();
    assert_int_equal(raise(SIGUSR1), 0);
    wait_for_calls(1);
    assert_int_equal(sig_calls, 1);
    assert_int_equal(sig_signum, SIGUSR1);
    assert_ptr_equal(sig_arg, &cookie);
    assert_true(sig_self > 0);
    assert_true(sig_self != main_id);
    assert_gv_ok(sig_sleep_res);
    /* each delivery runs the callback again */
    assert_int_equal(raise(SIGUSR1), 0);
    wait_for_calls(2);
    assert_int_equal(raise(SIGUSR1), 0);
    wait_for_calls(3);
    assert_int_equal(sig_calls, 3);
    assert_gv_ok(gv_signal(SIGUSR1, NULL, NULL));
    gv_shutdown();
}

static void
test_a_signal_handler_can_be_replaced(void **state)
{
    (void)state;
    sig_calls = 0;
    int a, b;
    assert_gv_ok(gv_signal(SIGUSR2, on_signal, &a));
    assert_gv_ok(gv_signal(SIGUSR2, on_signal, &b));
    assert_int_equal(raise(SIGUSR2), 0);
    wait_for_calls(1);
    gv_sleep(10);
    assert_int_equal(sig_calls, 1);
    assert_ptr_equal(sig_arg, &b);
    assert_gv_ok(gv_signal(SIGUSR2, NULL, NULL));
    gv_shutdown();
}

static void
test_gv_signal_rejects_bad_signal_numbers(void **state)
{
    (void)state;
    assert_gv_err(gv_signal(0, on_signal, NULL), GV_EINVAL);
    assert_gv_err(gv_signal(-3, on_signal, NULL), GV_EINVAL);
    assert_gv_err(gv_signal(100000, on_signal, NULL), GV_EINVAL);
    assert_true(gv_signal(SIGKILL, on_signal, NULL) < 0);
    gv_shutdown();
}

static int
child_removed_handler(void *arg)
{
    (void)arg;
    sig_calls = 0;
    if (gv_signal(SIGUSR1, on_signal, NULL) != 0)
        return 10;
    raise(SIGUSR1);
    wait_for_calls(1);
    if (sig_calls != 1)
        return 11;
    if (gv_signal(SIGUSR1, NULL, NULL) != 0)
        return 12;
    /* grove no longer handles it: the default action (terminate) or
     * whatever disposition was there before applies */
    raise(SIGUSR1);
    gv_sleep(50);
    if (sig_calls != 1) {
        fprintf(stderr, "the callback ran after its removal\n");
        return 13;
    }
    gv_shutdown();
    return 0;
}

static void
test_removing_a_handler_stops_its_callback(void **state)
{
    (void)state;
    char err[4096];
    int st = gvt_run_child(child_removed_handler, NULL, 10000, err, sizeof err);
    char d[96];
    print_message("child after removal: %s\n",
                  gvt_describe_status(st, d, sizeof d));
    /* either killed by the default action or still alive without a call */
    bool killed = st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1;
    bool exited = st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!killed && !exited)
        print_error("child: %s\n%s", d, err);
    assert_true(killed || exited);
}

/* gv_shutdown from a signal handler's task */
static int sd_long_res;
static int sd_long_ran;

static void
shutdown_on_signal(int signum, void *arg)
{
    (void)signum;
    (void)arg;
    sig_calls++;
    gv_shutdown();
}

static void *
sleep_long(void *arg)
{
    (void)arg;
    sd_long_ran = 1;
    sd_long_res = gv_sleep(60000);
    return NULL;
}

static void *
raise_later(void *arg)
{
    (void)arg;
    gv_sleep(20);
    raise(SIGUSR2);
    return NULL;
}

static void
test_shutdown_from_a_signal_task_wakes_mains_join(void **state)
{
    (void)state;
    sig_calls = 0;
    sd_long_res = 0x55;
    sd_long_ran = 0;
    assert_gv_ok(gv_signal(SIGUSR2, shutdown_on_signal, NULL));
    gv_id sleeper, raiser;
    assert_gv_id(sleeper = gv_spawn(sleep_long, NULL));
    assert_gv_id(raiser = gv_spawn(raise_later, NULL));
    int64_t t0 = gvt_mono_ms();
    int r = gv_join(sleeper, gv_deadline(30000));
    int64_t dt = gvt_mono_ms() - t0;
    print_message("main's join after gv_shutdown in a task returned %d (%s) "
                  "after %lld ms\n",
                  r, gv_err_name(r), (long long)dt);
    assert_int_equal(sig_calls, 1);
    assert_true(dt < 10000 * GVT_SLOW);
    /* the header: main's blocking call is woken with GV_ECANCELED; a join
     * whose task the shutdown killed may also just see it finish */
    assert_true(r == GV_ECANCELED || r == 0);
    /* the other tasks were killed */
    for (int i = 0; i < 100 && sd_long_res == 0x55; i++)
        gv_sleep(1);
    assert_int_equal(sd_long_ran, 1);
    assert_gv_err(sd_long_res, GV_ECANCELED);
    /* once: main can block again to wind up */
    assert_gv_ok(gv_sleep(1));
    gv_shutdown();
}

static void
test_shutdown_from_a_signal_task_wakes_mains_sleep_with_ecanceled_once(
    void **state)
{
    (void)state;
    sig_calls = 0;
    sd_long_res = 0x55;
    sd_long_ran = 0;
    assert_gv_ok(gv_signal(SIGUSR2, shutdown_on_signal, NULL));
    gv_id sleeper, raiser;
    assert_gv_id(sleeper = gv_spawn(sleep_long, NULL));
    assert_gv_id(raiser = gv_spawn(raise_later, NULL));
    int64_t t0 = gvt_mono_ms();
    int r = gv_sleep(30000);
    int64_t dt = gvt_mono_ms() - t0;
    assert_int_equal(sig_calls, 1);
    assert_true(dt < 10000 * GVT_SLOW);
    assert_gv_err(r, GV_ECANCELED);
    /* once: the next blocking call of main works */
    assert_gv_ok(gv_join(sleeper, gv_deadline(10000)));
    assert_gv_err(sd_long_res, GV_ECANCELED);
    assert_gv_ok(gv_sleep(1));
    gv_shutdown();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_a_signal_runs_its_callback_in_a_task),
        T(test_a_signal_handler_can_be_replaced),
        T(test_gv_signal_rejects_bad_signal_numbers),
        T(test_removing_a_handler_stops_its_callback),
        T(test_shutdown_from_a_signal_task_wakes_mains_join),
        T(test_shutdown_from_a_signal_task_wakes_mains_sleep_with_ecanceled_once),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
