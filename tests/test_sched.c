/*
 * test_sched.c — green threads: spawn/join, state, release, kill, exit,
 * determinism, stack reuse and compact mode.
 *
 * Built twice: against grove_static (the assembly switch) and, where sched/
 * builds it, grove_ucontext (the portable switch).
 *
 * Task bodies never assert (cmocka longjmps): they record into the statics
 * below and each test asserts on main's stack after the joins. Every test
 * ends with gv_shutdown() so the next starts from a fresh scheduler.
 */
#include "gv_test.h"

#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- recorders */

static int ran[256];         /* ran[i]: how often task i's body ran */
static int results[256][4];  /* return codes seen by task i */
static gv_id seen_self[256]; /* gv_self() inside task i */
static int64_t seen_ms[256]; /* a duration seen by task i */

static void
reset_recorders(void)
{
    memset(ran, 0, sizeof ran);
    memset(results, 0x55, sizeof results); /* neither 0 nor an error */
    memset(seen_self, 0, sizeof seen_self);
    memset(seen_ms, 0, sizeof seen_ms);
    gvt_trace_reset();
}

static void *
trace_index(void *arg)
{
    int i = (int)(intptr_t)arg;
    ran[i]++;
    gvt_trace("%d", i);
    return NULL;
}

static void *
record_self(void *arg)
{
    int i = (int)(intptr_t)arg;
    ran[i]++;
    seen_self[i] = gv_self();
    results[i][0] = gv_sleep(0);
    seen_self[i + 1] = gv_self(); /* still the same after a switch */
    return NULL;
}

/* sleeps arg milliseconds, records the result in results[0..] by slot */
static int sleep_slot;
static void *
sleep_ms(void *arg)
{
    int i = sleep_slot++;
    if (i >= (int)NELEM(results))
        i = NELEM(results) - 1;
    ran[i]++;
    results[i][0] = gv_sleep((int64_t)(intptr_t)arg);
    return (void *)(intptr_t)(i + 1);
}

static void *
return_arg(void *arg)
{
    return arg;
}

/* ----------------------------------------------------- spawn, join, self */

static void
test_spawned_tasks_run_in_spawn_order_once_main_blocks(void **state)
{
    (void)state;
    reset_recorders();
    gv_id ids[10];
    for (int i = 0; i < 10; i++)
        assert_gv_id(ids[i] = gv_spawn(trace_index, (void *)(intptr_t)i));
    /* spawn only schedules: nothing ran before main blocked */
    assert_string_equal(gvt_trace_buf, "");
    assert_int_equal(gv_joinall(ids, 10, 0, GV_FOREVER), 10);
    assert_string_equal(gvt_trace_buf, "0 1 2 3 4 5 6 7 8 9");
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ran[i], 1);
        assert_gv_ok(gv_release(ids[i]));
    }
    gv_shutdown();
}

static void *
tutorial_foo(void *arg)
{
    (void)arg;
    gvt_trace("Running-in-foo");
    results[0][0] = gv_sleep(0);
    gvt_trace("Explicit-context-switch-to-foo-again");
    return NULL;
}

static void *
tutorial_bar(void *arg)
{
    (void)arg;
    gvt_trace("Explicit-context-to-bar");
    results[1][0] = gv_sleep(0);
    gvt_trace("Implicit-context-switch-back-to-bar");
    return NULL;
}

static void
test_sleep_zero_interleaves_foo_and_bar_like_the_tutorial(void **state)
{
    (void)state;
    reset_recorders();
    gv_id ids[2];
    assert_gv_id(ids[0] = gv_spawn(tutorial_foo, NULL));
    assert_gv_id(ids[1] = gv_spawn(tutorial_bar, NULL));
    assert_int_equal(gv_joinall(ids, 2, 0, GV_FOREVER), 2);
    assert_string_equal(gvt_trace_buf, "Running-in-foo Explicit-context-to-bar "
                                       "Explicit-context-switch-to-foo-again "
                                       "Implicit-context-switch-back-to-bar");
    assert_gv_ok(results[0][0]);
    assert_gv_ok(results[1][0]);
    gv_release(ids[0]);
    gv_release(ids[1]);
    gv_shutdown();
}

static void
test_self_names_main_and_each_task(void **state)
{
    (void)state;
    reset_recorders();
    gv_id main_id = gv_self();
    assert_true(main_id > 0);
    assert_int_equal(gv_self(), main_id);
    gv_id a, b;
    assert_gv_id(a = gv_spawn(record_self, (void *)(intptr_t)0));
    assert_gv_id(b = gv_spawn(record_self, (void *)(intptr_t)2));
    assert_true(a != b);
    assert_gv_ok(gv_join(a, GV_FOREVER));
    assert_gv_ok(gv_join(b, GV_FOREVER));
    assert_int_equal(seen_self[0], a);
    assert_int_equal(seen_self[1], a);
    assert_int_equal(seen_self[2], b);
    assert_int_equal(seen_self[3], b);
    assert_true(seen_self[0] != main_id);
    /* main keeps its id across switches */
    assert_int_equal(gv_self(), main_id);
    gv_release(a);
    gv_release(b);
    gv_shutdown();
}

static void
test_main_is_a_task_and_sleeps_without_setup(void **state)
{
    (void)state;
    /* the first grove call of a fresh scheduler is a blocking one */
    int64_t t0 = gvt_mono_ms();
    assert_gv_ok(gv_sleep(20));
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 19);
    assert_true(dt < 2000 * GVT_SLOW);
    assert_true(gv_self() > 0);
    assert_gv_ok(gv_sleep(0));
    gv_stats st;
    assert_gv_ok(gv_get_stats(&st));
    assert_true(st.live_tasks >= 1); /* main is a task */
    gv_shutdown();
}

static void
test_now_and_deadline_agree(void **state)
{
    (void)state;
    int64_t n0 = gv_now();
    int64_t d = gv_deadline(100);
    assert_true(d >= n0 + 100);
    assert_true(d < n0 + 100 + 1000 * GVT_SLOW);
    assert_int_equal(gv_deadline(-1), GV_FOREVER);
    assert_int_equal(gv_deadline(-500), GV_FOREVER);
    assert_gv_ok(gv_sleep(15));
    assert_true(gv_now() >= n0 + 15);
    gv_shutdown();
}

/* ------------------------------------------------------------------ join */

static void
test_join_times_out_while_the_task_sleeps(void **state)
{
    (void)state;
    reset_recorders();
    sleep_slot = 0;
    gv_id id;
    assert_gv_id(id = gv_spawn(sleep_ms, (void *)(intptr_t)60000));
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_join(id, gv_deadline(30)), GV_ETIMEDOUT);
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 25);
    assert_true(dt < 3000 * GVT_SLOW);
    assert_false(gv_ready(id));
    assert_true(gv_started(id));
    /* GV_NOWAIT on a running task times out at once */
    assert_gv_err(gv_join(id, GV_NOWAIT), GV_ETIMEDOUT);
    /* a join that timed out leaves the task alone */
    assert_int_equal(results[0][0], 0x55555555);
    assert_gv_ok(gv_kill(id, GV_FOREVER));
    assert_true(gv_ready(id));
    assert_gv_err(results[0][0], GV_ECANCELED);
    assert_gv_ok(gv_join(id, GV_NOWAIT));
    assert_gv_ok(gv_release(id));
    gv_shutdown();
}

static void
test_joinall_waits_for_all_tasks(void **state)
{
    (void)state;
    reset_recorders();
    sleep_slot = 0;
    gv_id ids[6];
    for (int i = 0; i < 6; i++)
        assert_gv_id(ids[i] = gv_spawn(sleep_ms, (void *)(intptr_t)(6 - i)));
    assert_int_equal(gv_joinall(ids, 6, 0, gv_deadline(10000)), 6);
    for (int i = 0; i < 6; i++) {
        assert_true(gv_ready(ids[i]));
        assert_true(gv_successful(ids[i]));
        assert_gv_ok(results[i][0]);
        gv_release(ids[i]);
    }
    gv_shutdown();
}

static void
test_joinall_returns_once_count_tasks_finished(void **state)
{
    (void)state;
    reset_recorders();
    sleep_slot = 0;
    gv_id ids[5];
    /* slots 0..2 finish quickly, 3..4 sleep for a minute */
    for (int i = 0; i < 3; i++)
        assert_gv_id(ids[i] = gv_spawn(sleep_ms, (void *)(intptr_t)(1 + i)));
    for (int i = 3; i < 5; i++)
        assert_gv_id(ids[i] = gv_spawn(sleep_ms, (void *)(intptr_t)60000));
    int64_t t0 = gvt_mono_ms();
    assert_int_equal(gv_joinall(ids, 5, 3, gv_deadline(20000)), 3);
    assert_true(gvt_mono_ms() - t0 < 10000);
    for (int i = 0; i < 3; i++)
        assert_true(gv_ready(ids[i]));
    for (int i = 3; i < 5; i++)
        assert_false(gv_ready(ids[i]));
    /* count already reached: returns at once with how many finished */
    assert_int_equal(gv_joinall(ids, 5, 2, GV_NOWAIT), 3);
    for (int i = 3; i < 5; i++)
        assert_gv_ok(gv_kill(ids[i], GV_NOWAIT));
    assert_int_equal(gv_joinall(ids, 5, 0, gv_deadline(10000)), 5);
    for (int i = 0; i < 5; i++)
        gv_release(ids[i]);
    gv_shutdown();
}

static void
test_joinall_times_out_at_its_deadline(void **state)
{
    (void)state;
    reset_recorders();
    sleep_slot = 0;
    gv_id ids[3];
    assert_gv_id(ids[0] = gv_spawn(sleep_ms, (void *)(intptr_t)1));
    assert_gv_id(ids[1] = gv_spawn(sleep_ms, (void *)(intptr_t)60000));
    assert_gv_id(ids[2] = gv_spawn(sleep_ms, (void *)(intptr_t)60000));
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_joinall(ids, 3, 0, gv_deadline(40)), GV_ETIMEDOUT);
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 35);
    assert_true(dt < 3000 * GVT_SLOW);
    assert_true(gv_ready(ids[0]));
    assert_false(gv_ready(ids[1]));
    assert_gv_err(gv_joinall(ids, 3, 3, GV_NOWAIT), GV_ETIMEDOUT);
    for (int i = 0; i < 3; i++) {
        gv_kill(ids[i], GV_FOREVER);
        gv_release(ids[i]);
    }
    gv_shutdown();
}

static void
test_joinall_rejects_bad_arguments(void **state)
{
    (void)state;
    gv_id ids[2];
    assert_gv_id(ids[0] = gv_spawn(return_arg, NULL));
    assert_gv_id(ids[1] = gv_spawn(return_arg, NULL));
    /* count larger than n */
    assert_gv_err(gv_joinall(ids, 2, 3, GV_FOREVER), GV_EINVAL);
    /* ids NULL with n > 0 */
    assert_gv_err(gv_joinall(NULL, 2, 0, GV_FOREVER), GV_EINVAL);
    /* a stale id among them */
    gv_id bad[3] = {ids[0], ids[1], (gv_id)0x7fff00000001LL};
    assert_gv_err(gv_joinall(bad, 3, 0, GV_FOREVER), GV_ENOENT);
    /* n == 0: nothing to wait for */
    assert_int_equal(gv_joinall(ids, 0, 0, GV_FOREVER), 0);
    assert_int_equal(gv_joinall(ids, 2, 0, GV_FOREVER), 2);
    gv_release(ids[0]);
    gv_release(ids[1]);
    gv_shutdown();
}

/* ------------------------------------------------------- values and exit */

static int exit_reached_after;
static volatile int exit_never; /* keeps gcc from calling it endless */

static void __attribute__((noinline))
exit_from_deep(int depth, int code, const char *msg)
{
    if (depth > 0) {
        exit_from_deep(depth - 1, code, msg);
        exit_reached_after = 1; /* never: the frames are abandoned */
        return;
    }
    if (exit_never)
        return;
    gv_exit(code, msg);
}

static void *
exit_with(void *arg)
{
    const int *spec = arg; /* {code, use message} */
    char msg[64];
    snprintf(msg, sizeof msg, "failed with %d", spec[0]);
    gv_sleep(0);
    exit_from_deep(5, spec[0], spec[1] ? msg : NULL);
    exit_reached_after = 2;
    return (void *)0x1;
}

static int
child_exit_from_main(void *arg)
{
    int code = (int)(intptr_t)arg;
    gv_id id = gv_spawn(sleep_ms, (void *)(intptr_t)60000);
    if (id <= 0)
        return 20;
    gv_sleep(1);
    gv_exit(code, "main gives up");
}

static void
test_exit_from_main_exits_the_process_with_status_1_or_0(void **state)
{
    (void)state;
    char err[4096];
    int st = gvt_run_child(child_exit_from_main, (void *)(intptr_t)GV_EPERM,
                           10000, err, sizeof err);
    char d[96];
    if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1))
        print_error("gv_exit(GV_EPERM) from main: %s\n%s",
                    gvt_describe_status(st, d, sizeof d), err);
    assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    st = gvt_run_child(child_exit_from_main, (void *)(intptr_t)0, 10000, err,
                       sizeof err);
    assert_child_exited_0(st, err);
}

static void
test_get_returns_the_value_of_a_task(void **state)
{
    (void)state;
    gv_id id;
    assert_gv_id(id = gv_spawn(return_arg, (void *)0x1234));
    void *v = NULL;
    assert_gv_ok(gv_get(id, &v, gv_deadline(10000)));
    assert_ptr_equal(v, (void *)0x1234);
    /* again: the value stays readable */
    v = NULL;
    assert_gv_ok(gv_get(id, &v, GV_NOWAIT));
    assert_ptr_equal(v, (void *)0x1234);
    assert_gv_ok(gv_get(id, NULL, GV_NOWAIT));
    assert_ptr_equal(gv_value(id), (void *)0x1234);
    gv_release(id);
    gv_shutdown();
}

static void
test_get_returns_the_error_a_task_exited_with(void **state)
{
    (void)state;
    static const int spec[2] = {GV_EPERM, 1};
    exit_reached_after = 0;
    gv_id id;
    assert_gv_id(id = gv_spawn(exit_with, (void *)spec));
    void *v = (void *)0x99;
    assert_gv_err(gv_get(id, &v, gv_deadline(10000)), GV_EPERM);
    assert_gv_err(gv_get(id, NULL, GV_NOWAIT), GV_EPERM);
    /* and gv_join only says it finished */
    assert_gv_ok(gv_join(id, GV_NOWAIT));
    assert_int_equal(exit_reached_after, 0);
    gv_release(id);
    gv_shutdown();
}

static void
test_exit_ends_the_task_and_sets_its_state(void **state)
{
    (void)state;
    static const int spec[2] = {GV_EBUSY, 1};
    exit_reached_after = 0;
    gv_id id;
    assert_gv_id(id = gv_spawn(exit_with, (void *)spec));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_int_equal(exit_reached_after, 0);
    assert_true(gv_started(id));
    assert_true(gv_ready(id));
    assert_false(gv_successful(id));
    assert_false(gv_canceled(id));
    assert_null(gv_value(id));
    assert_gv_err(gv_error(id), GV_EBUSY);
    const char *m = gv_error_message(id);
    assert_non_null(m);
    /* copied: the task's local buffer is long gone */
    char want[64];
    snprintf(want, sizeof want, "failed with %d", GV_EBUSY);
    assert_string_equal(m, want);
    gv_release(id);
    gv_shutdown();
}

static void
test_exit_with_a_positive_code_negates_it(void **state)
{
    (void)state;
    static const int spec[2] = {EAGAIN, 0};
    gv_id id;
    assert_gv_id(id = gv_spawn(exit_with, (void *)spec));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_gv_err(gv_error(id), -EAGAIN);
    assert_null(gv_error_message(id));
    assert_false(gv_successful(id));
    gv_release(id);
    gv_shutdown();
}

static void
test_exit_with_zero_is_success_with_a_null_value(void **state)
{
    (void)state;
    static const int spec[2] = {0, 0};
    exit_reached_after = 0;
    gv_id id;
    assert_gv_id(id = gv_spawn(exit_with, (void *)spec));
    void *v = (void *)0x77;
    assert_gv_ok(gv_get(id, &v, gv_deadline(10000)));
    assert_null(v);
    assert_true(gv_successful(id));
    assert_gv_ok(gv_error(id));
    assert_null(gv_value(id));
    assert_int_equal(exit_reached_after, 0);
    gv_release(id);
    gv_shutdown();
}

static void
test_a_successful_task_has_the_tutorial_state(void **state)
{
    (void)state;
    gv_id id;
    assert_gv_id(id = gv_spawn(return_arg, (void *)0x42));
    /* scheduled but not yet run */
    assert_true(gv_started(id));
    assert_false(gv_ready(id));
    assert_false(gv_successful(id));
    assert_null(gv_value(id));
    assert_gv_ok(gv_error(id));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_true(gv_started(id));
    assert_true(gv_ready(id));
    assert_true(gv_successful(id));
    assert_false(gv_canceled(id));
    assert_ptr_equal(gv_value(id), (void *)0x42);
    assert_gv_ok(gv_error(id));
    assert_null(gv_error_message(id));
    gv_release(id);
    gv_shutdown();
}

static void
test_name_is_copied_and_truncated_to_31_bytes(void **state)
{
    (void)state;
    char name[64];
    strcpy(name, "worker-7");
    gv_spawn_opts o = {.name = name};
    gv_id a, b, c;
    assert_gv_id(a = gv_spawn_ex(return_arg, NULL, &o));
    strcpy(name, "overwritten");
    assert_string_equal(gv_name(a), "worker-7");
    memset(name, 'x', 40);
    name[40] = '\0';
    assert_gv_id(b = gv_spawn_ex(return_arg, NULL, &o));
    assert_int_equal(strlen(gv_name(b)), 31);
    assert_int_equal(strncmp(gv_name(b), name, 31), 0);
    assert_gv_id(c = gv_spawn(return_arg, NULL));
    assert_string_equal(gv_name(c), "");
    gv_id ids[3] = {a, b, c};
    assert_int_equal(gv_joinall(ids, 3, 0, gv_deadline(10000)), 3);
    assert_string_equal(gv_name(a), "worker-7"); /* lives until release */
    for (int i = 0; i < 3; i++)
        gv_release(ids[i]);
    assert_null(gv_name(a));
    gv_shutdown();
}

/* ------------------------------------------------ release and stale ids */

static void
assert_reads_as_stale(gv_id id)
{
    assert_gv_err(gv_join(id, GV_NOWAIT), GV_ENOENT);
    assert_gv_err(gv_join(id, GV_FOREVER), GV_ENOENT);
    assert_gv_err(gv_get(id, NULL, GV_FOREVER), GV_ENOENT);
    assert_gv_err(gv_kill(id, GV_NOWAIT), GV_ENOENT);
    assert_gv_err(gv_start(id), GV_ENOENT);
    assert_gv_err(gv_release(id), GV_ENOENT);
    assert_false(gv_started(id));
    assert_false(gv_ready(id));
    assert_false(gv_successful(id));
    assert_false(gv_canceled(id));
    assert_null(gv_value(id));
    assert_gv_err(gv_error(id), GV_ENOENT);
    assert_null(gv_error_message(id));
    assert_null(gv_name(id));
}

static void
test_released_id_reads_as_stale(void **state)
{
    (void)state;
    gv_id id;
    assert_gv_id(id = gv_spawn(return_arg, (void *)0x5));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_gv_ok(gv_release(id));
    assert_reads_as_stale(id);
    gv_shutdown();
}

static void
test_release_of_a_running_task_lets_it_finish(void **state)
{
    (void)state;
    reset_recorders();
    sleep_slot = 0;
    gv_stats st0, st1;
    gv_sleep(0); /* grove is up: main counts among the live tasks */
    assert_gv_ok(gv_get_stats(&st0));
    gv_id id;
    assert_gv_id(id = gv_spawn(sleep_ms, (void *)(intptr_t)5));
    assert_gv_ok(gv_release(id));
    assert_reads_as_stale(id);
    for (int i = 0; i < 200 && ran[0] == 0; i++)
        gv_sleep(5);
    for (int i = 0; i < 200 && results[0][0] != 0; i++)
        gv_sleep(5);
    assert_int_equal(ran[0], 1);
    assert_gv_ok(results[0][0]);
    gv_sleep(5);
    assert_gv_ok(gv_get_stats(&st1));
    assert_int_equal(st1.live_tasks, st0.live_tasks); /* record freed */
    gv_shutdown();
}

static void
test_ids_are_not_reused_after_release(void **state)
{
    (void)state;
    gv_id seen[64];
    for (int i = 0; i < 64; i++) {
        assert_gv_id(seen[i] = gv_spawn(return_arg, (void *)(intptr_t)i));
        assert_gv_ok(gv_join(seen[i], gv_deadline(10000)));
        assert_gv_ok(gv_release(seen[i]));
        for (int j = 0; j < i; j++)
            assert_true(seen[i] != seen[j]);
    }
    /* the newest slot is reused but the old ids stay stale */
    gv_id fresh;
    assert_gv_id(fresh = gv_spawn(return_arg, (void *)0x9));
    for (int i = 0; i < 64; i++)
        assert_false(gv_started(seen[i]));
    assert_gv_ok(gv_join(fresh, gv_deadline(10000)));
    assert_ptr_equal(gv_value(fresh), (void *)0x9);
    gv_release(fresh);
    gv_shutdown();
}

static void
test_made_up_ids_are_stale(void **state)
{
    (void)state;
    gv_sleep(0);
    assert_reads_as_stale((gv_id)123456789);
    assert_reads_as_stale((gv_id)0x7fffffff00000001LL);
    gv_id zero = 0;
    assert_false(gv_started(zero));
    assert_true(gv_join(zero, GV_NOWAIT) == GV_ENOENT ||
                gv_join(zero, GV_NOWAIT) == GV_EINVAL);
    assert_true(gv_join(GV_ENOMEM, GV_NOWAIT) == GV_ENOENT ||
                gv_join(GV_ENOMEM, GV_NOWAIT) == GV_EINVAL);
    gv_shutdown();
}

static void
test_detached_task_runs_and_its_id_goes_stale(void **state)
{
    (void)state;
    reset_recorders();
    sleep_slot = 0;
    gv_stats st0, st1;
    gv_sleep(0);
    assert_gv_ok(gv_get_stats(&st0));
    gv_spawn_opts o = {.flags = GV_SPAWN_DETACHED};
    gv_id id;
    assert_gv_id(id = gv_spawn_ex(sleep_ms, (void *)(intptr_t)2, &o));
    for (int i = 0; i < 400 && results[0][0] != 0; i++)
        gv_sleep(5);
    assert_int_equal(ran[0], 1);
    assert_gv_ok(results[0][0]);
    gv_sleep(0);
    assert_false(gv_ready(id));
    assert_gv_err(gv_join(id, GV_FOREVER), GV_ENOENT);
    assert_gv_err(gv_error(id), GV_ENOENT);
    assert_gv_ok(gv_get_stats(&st1));
    assert_int_equal(st1.live_tasks, st0.live_tasks);
    gv_shutdown();
}

static void
test_unstarted_task_runs_only_after_start(void **state)
{
    (void)state;
    reset_recorders();
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED};
    gv_id id;
    assert_gv_id(id = gv_spawn_ex(trace_index, (void *)(intptr_t)3, &o));
    assert_false(gv_started(id));
    assert_false(gv_ready(id));
    assert_gv_ok(gv_sleep(10));
    assert_int_equal(ran[3], 0);
    assert_false(gv_started(id));
    assert_gv_err(gv_join(id, gv_deadline(20)), GV_ETIMEDOUT);
    assert_int_equal(ran[3], 0);
    assert_gv_ok(gv_start(id));
    assert_true(gv_started(id));
    assert_gv_err(gv_start(id), GV_EBUSY);
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_int_equal(ran[3], 1);
    assert_gv_err(gv_start(id), GV_EBUSY);
    assert_true(gv_successful(id));
    gv_release(id);
    gv_shutdown();
}

static void
test_start_of_a_normally_spawned_task_is_ebusy(void **state)
{
    (void)state;
    gv_id id;
    assert_gv_id(id = gv_spawn(return_arg, NULL));
    assert_gv_err(gv_start(id), GV_EBUSY);
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    gv_release(id);
    gv_shutdown();
}

static void
test_invalid_arguments_give_einval(void **state)
{
    (void)state;
    assert_gv_err(gv_spawn(NULL, NULL), GV_EINVAL);
    assert_gv_err(gv_spawn_ex(NULL, NULL, NULL), GV_EINVAL);
    gv_spawn_opts o = {.name = "x"};
    assert_gv_err(gv_spawn_ex(NULL, NULL, &o), GV_EINVAL);
    /* compact and standard at once contradict each other */
    o.flags = GV_SPAWN_COMPACT | GV_SPAWN_STANDARD;
    assert_gv_err(gv_spawn_ex(return_arg, NULL, &o), GV_EINVAL);
    /* flags nobody defined */
    o.flags = 1u << 20;
    assert_gv_err(gv_spawn_ex(return_arg, NULL, &o), GV_EINVAL);
    /* an absurd stack size */
    o.flags = 0;
    o.stack_size = SIZE_MAX;
    gv_id r = gv_spawn_ex(return_arg, NULL, &o);
    assert_true(r == GV_EINVAL || r == GV_ENOMEM);
    assert_gv_err(gv_set_stack_size(SIZE_MAX), GV_EINVAL);
    assert_gv_err(gv_get_stats(NULL), GV_EINVAL);
    assert_gv_err(gv_timeout_start(NULL, 10), GV_EINVAL);
    assert_gv_err(gv_timeout_cancel(NULL), GV_EINVAL);
    /* options with defaults are fine; opts NULL too */
    gv_spawn_opts ok = {0};
    gv_id a, b;
    assert_gv_id(a = gv_spawn_ex(return_arg, (void *)1, &ok));
    assert_gv_id(b = gv_spawn_ex(return_arg, (void *)2, NULL));
    assert_gv_ok(gv_join(a, gv_deadline(10000)));
    assert_gv_ok(gv_join(b, gv_deadline(10000)));
    assert_ptr_equal(gv_value(b), (void *)2);
    gv_release(a);
    gv_release(b);
    gv_shutdown();
}

/* ------------------------------------------------------------------ kill */

static void
test_kill_before_start_means_the_body_never_runs(void **state)
{
    (void)state;
    reset_recorders();
    gv_id id, id2;
    assert_gv_id(id = gv_spawn(trace_index, (void *)(intptr_t)1));
    assert_gv_id(id2 = gv_spawn(trace_index, (void *)(intptr_t)2));
    assert_gv_ok(gv_kill(id, GV_FOREVER));
    assert_gv_ok(gv_kill(id2, GV_NOWAIT));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_gv_ok(gv_join(id2, gv_deadline(10000)));
    gv_sleep(1);
    assert_int_equal(ran[1], 0);
    assert_int_equal(ran[2], 0);
    assert_true(gv_ready(id));
    assert_true(gv_canceled(id));
    assert_false(gv_successful(id));
    assert_gv_err(gv_error(id), GV_ECANCELED);
    assert_gv_err(gv_get(id, NULL, GV_NOWAIT), GV_ECANCELED);
    assert_gv_err(gv_error(id2), GV_ECANCELED);
    gv_release(id);
    gv_release(id2);
    gv_shutdown();
}

static void
test_kill_of_an_unstarted_task_means_it_never_runs(void **state)
{
    (void)state;
    reset_recorders();
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED};
    gv_id id;
    assert_gv_id(id = gv_spawn_ex(trace_index, (void *)(intptr_t)4, &o));
    assert_gv_ok(gv_kill(id, gv_deadline(10000)));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_true(gv_ready(id));
    assert_gv_err(gv_error(id), GV_ECANCELED);
    gv_start(id); /* whatever it returns, the body must not run */
    gv_sleep(5);
    assert_int_equal(ran[4], 0);
    gv_release(id);
    gv_shutdown();
}

static void *
sleep_twice(void *arg)
{
    (void)arg;
    ran[0]++;
    results[0][0] = gv_sleep(60000);
    int64_t t0 = gvt_mono_ms();
    results[0][1] = gv_sleep(60000); /* sticky: at once */
    results[0][2] = gv_sleep(0);
    results[0][3] = gv_join(gv_self(), GV_FOREVER);
    seen_ms[0] = gvt_mono_ms() - t0;
    return (void *)0x1;
}

static void
test_kill_wakes_a_sleeping_task_and_cancellation_is_sticky(void **state)
{
    (void)state;
    reset_recorders();
    gv_id id;
    assert_gv_id(id = gv_spawn(sleep_twice, NULL));
    assert_gv_ok(gv_sleep(5)); /* let it block */
    assert_int_equal(ran[0], 1);
    int64_t t0 = gvt_mono_ms();
    assert_gv_ok(gv_kill(id, GV_FOREVER));
    assert_true(gvt_mono_ms() - t0 < 5000);
    /* a waiting kill returns once the task has finished */
    assert_true(gv_ready(id));
    assert_gv_err(results[0][0], GV_ECANCELED);
    assert_gv_err(results[0][1], GV_ECANCELED);
    assert_gv_err(results[0][2], GV_ECANCELED);
    assert_true(results[0][3] == GV_ECANCELED || results[0][3] == GV_EDEADLK);
    assert_true(seen_ms[0] < 1000);
    assert_true(gv_canceled(id));
    assert_gv_err(gv_error(id), GV_ECANCELED);
    assert_false(gv_successful(id));
    gv_release(id);
    gv_shutdown();
}

static void
test_kill_nowait_only_asks(void **state)
{
    (void)state;
    reset_recorders();
    sleep_slot = 0;
    gv_id id;
    assert_gv_id(id = gv_spawn(sleep_ms, (void *)(intptr_t)60000));
    assert_gv_ok(gv_sleep(2));
    assert_gv_ok(gv_kill(id, GV_NOWAIT));
    /* asked, not waited: the task has not run since */
    assert_false(gv_ready(id));
    assert_int_equal(results[0][0], 0x55555555);
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_gv_err(results[0][0], GV_ECANCELED);
    assert_true(gv_canceled(id));
    /* a second kill of a finished task is harmless */
    assert_gv_ok(gv_kill(id, GV_NOWAIT));
    gv_release(id);
    gv_shutdown();
}

static void *
slow_cleanup(void *arg)
{
    (void)arg;
    ran[5]++;
    results[5][0] = gv_sleep(60000);
    /* cleanup that keeps yielding for 300 ms after the kill */
    int64_t until = gvt_mono_ms() + 300;
    int yields = 0;
    while (gvt_mono_ms() < until) {
        results[5][1] = gv_sleep(0);
        yields++;
    }
    results[5][2] = yields;
    return NULL;
}

static void
test_kill_with_a_deadline_times_out_while_the_task_cleans_up(void **state)
{
    (void)state;
    reset_recorders();
    gv_id id;
    assert_gv_id(id = gv_spawn(slow_cleanup, NULL));
    assert_gv_ok(gv_sleep(2));
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_kill(id, gv_deadline(30)), GV_ETIMEDOUT);
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 25);
    assert_true(dt < 280);
    assert_false(gv_ready(id));
    assert_gv_err(results[5][0], GV_ECANCELED);
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    /* a canceled task's yields still yield, and say it is canceled */
    assert_gv_err(results[5][1], GV_ECANCELED);
    assert_true(results[5][2] > 1);
    assert_gv_err(gv_error(id), GV_ECANCELED);
    gv_release(id);
    gv_shutdown();
}

static void
test_kill_of_a_finished_task_keeps_its_result(void **state)
{
    (void)state;
    gv_id id;
    assert_gv_id(id = gv_spawn(return_arg, (void *)0x31));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_gv_ok(gv_kill(id, GV_FOREVER));
    assert_gv_ok(gv_kill(id, GV_NOWAIT));
    assert_true(gv_successful(id));
    assert_gv_ok(gv_error(id));
    assert_ptr_equal(gv_value(id), (void *)0x31);
    void *v = NULL;
    assert_gv_ok(gv_get(id, &v, GV_NOWAIT));
    assert_ptr_equal(v, (void *)0x31);
    gv_release(id);
    gv_shutdown();
}

static void *
kill_self(void *arg)
{
    (void)arg;
    results[0][0] = gv_kill(gv_self(), GV_FOREVER);
    ran[0]++; /* killing oneself only marks: we are still here */
    results[0][1] = gv_sleep(1);
    results[0][2] = gv_sleep(1);
    return (void *)0x2;
}

static void
test_kill_of_oneself_marks_the_caller_canceled(void **state)
{
    (void)state;
    reset_recorders();
    gv_id id;
    assert_gv_id(id = gv_spawn(kill_self, NULL));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_gv_ok(results[0][0]);
    assert_int_equal(ran[0], 1);
    assert_gv_err(results[0][1], GV_ECANCELED);
    assert_gv_err(results[0][2], GV_ECANCELED);
    assert_true(gv_canceled(id));
    assert_gv_err(gv_error(id), GV_ECANCELED);
    gv_release(id);
    gv_shutdown();
}

static gv_id victim_target;
static void *
join_then_record(void *arg)
{
    (void)arg;
    ran[1]++;
    results[1][0] = gv_join(victim_target, GV_FOREVER);
    results[1][1] = gv_join(victim_target, GV_FOREVER);
    results[1][2] = gv_kill(victim_target, GV_FOREVER);
    return NULL;
}

static void
test_kill_wakes_a_join_and_the_killed_task_cannot_block_again(void **state)
{
    (void)state;
    reset_recorders();
    sleep_slot = 0;
    assert_gv_id(victim_target = gv_spawn(sleep_ms, (void *)(intptr_t)60000));
    gv_id j;
    assert_gv_id(j = gv_spawn(join_then_record, NULL));
    assert_gv_ok(gv_sleep(2));
    assert_gv_ok(gv_kill(j, gv_deadline(10000)));
    assert_int_equal(ran[1], 1);
    assert_gv_err(results[1][0], GV_ECANCELED);
    assert_gv_err(results[1][1], GV_ECANCELED);
    /* a waiting kill from a canceled task cannot wait either */
    assert_true(results[1][2] == GV_ECANCELED || results[1][2] == 0);
    assert_gv_ok(gv_kill(victim_target, gv_deadline(10000)));
    gv_release(j);
    gv_release(victim_target);
    gv_shutdown();
}

/* ------------------------------------------------- timers due at the poll */

/* The hub arms its libuv timer for the earliest deadline, then polls. If
 * the deadline has passed by the time uv_run starts (a task kept the CPU a
 * few ms), the timer fires at the top of uv_run, before the poll: the poll
 * must then not block, or the woken task waits for some unrelated event. A
 * watchdog thread posts a notifier after 10 s so a failure is bounded. */
static gv_notifier *due_note;
static sem_t due_dismiss;
static int due_sleep_res, due_wait_res;

static void *
due_sleeper(void *arg)
{
    (void)arg;
    due_sleep_res = gv_sleep(1);
    return NULL;
}

static void *
due_hog(void *arg)
{
    (void)arg;
    int64_t until = gvt_mono_ms() + 5;
    while (gvt_mono_ms() < until)
        ; /* the sleeper's deadline passes while we hold the CPU */
    due_wait_res = gv_notifier_wait(due_note, GV_FOREVER);
    return NULL;
}

static void *
due_watchdog(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    while (sem_timedwait(&due_dismiss, &ts) != 0 && errno == EINTR)
        ;
    gv_notifier_post(due_note);
    return NULL;
}

static void
test_a_timer_already_due_when_the_hub_polls_still_wakes_its_task(void **state)
{
    (void)state;
    assert_gv_ok(gv_notifier_new(&due_note));
    assert_int_equal(sem_init(&due_dismiss, 0, 0), 0);
    pthread_t wd;
    assert_int_equal(pthread_create(&wd, NULL, due_watchdog, NULL), 0);
    int64_t worst = 0;
    for (int round = 0; round < 5; round++) {
        due_sleep_res = due_wait_res = 0x55;
        gv_id a, b;
        assert_gv_id(a = gv_spawn(due_sleeper, NULL));
        assert_gv_id(b = gv_spawn(due_hog, NULL));
        int64_t t0 = gvt_mono_ms();
        int r = gv_join(a, gv_deadline(30000));
        int64_t dt = gvt_mono_ms() - t0;
        if (dt > worst)
            worst = dt;
        assert_gv_ok(r);
        assert_gv_ok(due_sleep_res);
        gv_notifier_post(due_note);
        assert_gv_ok(gv_join(b, gv_deadline(30000)));
        gv_release(a);
        gv_release(b);
        if (worst > 3000)
            break;
    }
    sem_post(&due_dismiss);
    pthread_join(wd, NULL);
    print_message("slowest 1 ms sleep took %lld ms\n", (long long)worst);
    /* a 1 ms sleep behind a 5 ms hog: far below the watchdog's 10 s */
    assert_true(worst < 3000);
    gv_notifier_free(due_note);
    sem_destroy(&due_dismiss);
    gv_shutdown();
}

/* ---------------------------------------------------------------- EDEADLK */

static void
test_join_of_oneself_is_edeadlk(void **state)
{
    (void)state;
    assert_gv_err(gv_join(gv_self(), GV_FOREVER), GV_EDEADLK);
    assert_gv_err(gv_join(gv_self(), gv_deadline(50)), GV_EDEADLK);
    gv_shutdown();
}

static void *
join_self_in_task(void *arg)
{
    (void)arg;
    results[0][0] = gv_join(gv_self(), GV_FOREVER);
    return NULL;
}

static void
test_join_of_oneself_in_a_task_is_edeadlk(void **state)
{
    (void)state;
    reset_recorders();
    gv_id id;
    assert_gv_id(id = gv_spawn(join_self_in_task, NULL));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_gv_err(results[0][0], GV_EDEADLK);
    gv_release(id);
    gv_shutdown();
}

/* A task waiting on a notifier is not deadlocked: only another thread can
 * tell when the post comes, so the loop stays alive (grove.h,
 * gv_notifier_wait). A post from a thread 300 ms later ends main's join;
 * had grove called it a deadlock, the join would return GV_EDEADLK at
 * once. */
static gv_notifier *lonely;
static void *
wait_on_lonely(void *arg)
{
    (void)arg;
    results[0][0] = gv_notifier_wait(lonely, GV_FOREVER);
    return NULL;
}

static void *
late_poster(void *arg)
{
    (void)arg;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    gv_notifier_post(lonely);
    return NULL;
}

static int
child_join_task_a_thread_wakes_late(void *arg)
{
    (void)arg;
    reset_recorders();
    if (gv_notifier_new(&lonely) != 0)
        return 10;
    gv_id id = gv_spawn(wait_on_lonely, NULL);
    if (id <= 0)
        return 11;
    pthread_t th;
    if (pthread_create(&th, NULL, late_poster, NULL) != 0)
        return 12;
    int64_t t0 = gvt_mono_ms();
    int r = gv_join(id, GV_FOREVER);
    int64_t dt = gvt_mono_ms() - t0;
    pthread_join(th, NULL);
    if (r != 0 || results[0][0] != 0) {
        fprintf(stderr, "gv_join returned %d (%s), the wait %d; want 0, 0\n", r,
                gv_err_name(r), results[0][0]);
        return 1;
    }
    if (dt < 250) {
        fprintf(stderr, "the join returned after %lld ms, before the post\n",
                (long long)dt);
        return 2;
    }
    gv_release(id);
    gv_notifier_free(lonely);
    gv_shutdown();
    return 0;
}

static void
test_a_notifier_wait_is_no_deadlock_a_late_post_from_a_thread_wakes_it(
    void **state)
{
    (void)state;
    char err[4096];
    int st = gvt_run_child(child_join_task_a_thread_wakes_late, NULL, 10000,
                           err, sizeof err);
    assert_child_exited_0(st, err);
}

static gv_id never_started;
static void *
join_never_started(void *arg)
{
    (void)arg;
    results[0][0] = gv_join(never_started, GV_FOREVER);
    return NULL;
}

static int
child_join_chain_to_an_unstarted_task(void *arg)
{
    (void)arg;
    reset_recorders();
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED};
    never_started = gv_spawn_ex(return_arg, NULL, &o);
    if (never_started <= 0)
        return 10;
    gv_id id = gv_spawn(join_never_started, NULL);
    if (id <= 0)
        return 11;
    int r = gv_join(id, GV_FOREVER);
    if (r != GV_EDEADLK) {
        fprintf(stderr, "gv_join returned %d (%s), want GV_EDEADLK\n", r,
                gv_err_name(r));
        return 1;
    }
    gv_kill(id, gv_deadline(5000));
    gv_shutdown();
    return 0;
}

static void
test_join_of_a_task_waiting_for_an_unstarted_task_is_edeadlk(void **state)
{
    (void)state;
    char err[4096];
    int st = gvt_run_child(child_join_chain_to_an_unstarted_task, NULL, 10000,
                           err, sizeof err);
    assert_child_exited_0(st, err);
}

static gv_id mutual_main;
static void *
join_main(void *arg)
{
    (void)arg;
    results[0][0] = gv_join(mutual_main, GV_FOREVER);
    return NULL;
}

static int
child_mutual_join(void *arg)
{
    (void)arg;
    reset_recorders();
    mutual_main = gv_self();
    gv_id id = gv_spawn(join_main, NULL);
    if (id <= 0)
        return 11;
    int r = gv_join(id, GV_FOREVER);
    /* one of the two joins must be told; if the task's was, main's join
     * returns 0 because the task then finished */
    if (!(r == GV_EDEADLK || (r == 0 && results[0][0] == GV_EDEADLK))) {
        fprintf(stderr, "main's join %d (%s), the task's %d (%s)\n", r,
                gv_err_name(r), results[0][0], gv_err_name(results[0][0]));
        return 1;
    }
    gv_kill(id, gv_deadline(5000));
    gv_shutdown();
    return 0;
}

static void
test_mutual_join_is_edeadlk_not_a_hang(void **state)
{
    (void)state;
    char err[4096];
    int st = gvt_run_child(child_mutual_join, NULL, 10000, err, sizeof err);
    assert_child_exited_0(st, err);
}

/* ------------------------------------------------------------ determinism */

#define DET_TASKS 50
#define DET_ROUNDS 8
#define DET_YIELDS 2
/* Tasks sleep 0, 1 or 2 ticks. A tick is 10 ms rather than 1: the groups
 * woken at T+1 and T+2 ms merge into one loop iteration whenever the
 * process is held up for a millisecond, and the traces then differ for
 * reasons that have nothing to do with grove. Even 10 ms is not safe from
 * a loaded machine, so each run also checks it was not disturbed (every
 * sleep started in the round's first millisecond, every task finished
 * within 4 ms of its wake-up); a disturbed pair of runs is retried. */
#define DET_TICK_MS 10
#define DET_LATE_MS 4

static int det_round;
static int64_t det_round_tick;  /* gv_now() when the round started */
static int64_t det_round_start; /* gvt_mono_ms() then */
static int det_disturbed;

static void *
det_task(void *arg)
{
    int i = (int)(intptr_t)arg;
    gvt_trace("%d.%d", det_round, i);
    int64_t ticks = (i * 7 + det_round * 5) % 3;
    if (gv_now() != det_round_tick)
        det_disturbed = 1;
    gv_sleep(ticks * DET_TICK_MS);
    gvt_trace("w%d.%d", det_round, i);
    for (int k = 0; k < DET_YIELDS; k++) {
        gv_sleep(0);
        gvt_trace("y%d.%d.%d", det_round, i, k);
    }
    if (gvt_mono_ms() - det_round_start - ticks * DET_TICK_MS > DET_LATE_MS)
        det_disturbed = 1;
    return NULL;
}

static char *
det_run(int *disturbed)
{
    gvt_trace_reset();
    det_disturbed = 0;
    for (det_round = 0; det_round < DET_ROUNDS; det_round++) {
        gv_id ids[DET_TASKS];
        for (int i = 0; i < DET_TASKS; i++)
            ids[i] = gv_spawn(det_task, (void *)(intptr_t)i);
        /* start the round just after the clock ticked, so every task
         * starts its sleep within the same millisecond */
        int64_t t = gv_now();
        while ((det_round_tick = gv_now()) == t)
            ;
        det_round_start = gvt_mono_ms();
        gv_joinall(ids, DET_TASKS, 0, gv_deadline(10000));
        for (int i = 0; i < DET_TASKS; i++)
            gv_release(ids[i]);
    }
    gv_shutdown();
    *disturbed = det_disturbed;
    return strdup(gvt_trace_buf);
}

static void
test_scheduling_is_deterministic_across_runs(void **state)
{
    (void)state;
    char *a = NULL, *b = NULL;
    int da = 1, db = 1, tries;
    for (tries = 1; tries <= 10; tries++) {
        free(a);
        free(b);
        a = det_run(&da);
        b = det_run(&db);
        assert_non_null(a);
        assert_non_null(b);
        if (!da && !db)
            break;
    }
    if (da || db) {
        free(a);
        free(b);
        print_message("the machine was too busy for 10 tries: skipped\n");
        skip();
    }
    if (tries > 1)
        print_message("%d tries until an undisturbed pair of runs\n", tries);
    /* every event happened */
    size_t tokens = 1;
    for (const char *p = a; *p; p++)
        tokens += *p == ' ';
    assert_int_equal(tokens, DET_ROUNDS * DET_TASKS * (2 + DET_YIELDS));
    /* the first events of round 0 come in spawn order */
    char want[64 * DET_TASKS] = "";
    for (int i = 0; i < DET_TASKS; i++) {
        char tok[32];
        snprintf(tok, sizeof tok, "%s0.%d", i ? " " : "", i);
        strcat(want, tok);
    }
    assert_int_equal(strncmp(a, want, strlen(want)), 0);
    if (strcmp(a, b) != 0) {
        size_t k = 0;
        while (a[k] && a[k] == b[k])
            k++;
        size_t from = k > 60 ? k - 60 : 0;
        print_error("traces differ at byte %zu:\n run 1: ...%.120s\n"
                    " run 2: ...%.120s\n",
                    k, a + from, b + from);
    }
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* ----------------------------------------------------------- stack reuse */

static void
spawn_batch_and_finish(int n, gv_fn fn, const gv_spawn_opts *o)
{
    gv_id ids[64];
    assert_true(n <= 64);
    for (int i = 0; i < n; i++)
        assert_gv_id(ids[i] = gv_spawn_ex(fn, (void *)(intptr_t)(i % 2), o));
    assert_int_equal(gv_joinall(ids, (size_t)n, 0, gv_deadline(30000)), n);
    for (int i = 0; i < n; i++)
        assert_gv_ok(gv_release(ids[i]));
}

static void *
yield_arg_times(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++)
        gv_sleep(0);
    return NULL;
}

static void
test_finished_tasks_stacks_are_reused(void **state)
{
    (void)state;
    gv_stats st0, st1, st2;
    /* warm up: as many at once as any batch below */
    spawn_batch_and_finish(16, yield_arg_times, NULL);
    assert_gv_ok(gv_get_stats(&st0));
    assert_true(st0.stacks_mapped >= 1);
    assert_true(st0.stacks_pooled >= 1);
    for (int b = 0; b < 10000 / 16; b++)
        spawn_batch_and_finish(16, yield_arg_times, NULL);
    for (int i = 0; i < 10000 % 16; i++)
        spawn_batch_and_finish(1, yield_arg_times, NULL);
    assert_gv_ok(gv_get_stats(&st1));
    assert_int_equal(st1.stacks_mapped, st0.stacks_mapped);
    assert_int_equal(st1.spawned - st0.spawned, 10000);
    assert_int_equal(st1.stacks_in_use, st0.stacks_in_use);
    assert_int_equal(st1.live_tasks, st0.live_tasks);
    /* sequential spawn/finish: one stack goes round */
    for (int i = 0; i < 1000; i++)
        spawn_batch_and_finish(1, return_arg, NULL);
    assert_gv_ok(gv_get_stats(&st2));
    assert_int_equal(st2.stacks_mapped, st0.stacks_mapped);
    gv_shutdown();
}

static void
test_stats_count_spawns_switches_and_live_tasks(void **state)
{
    (void)state;
    gv_stats st0, st1, st2;
    gv_sleep(0);
    assert_gv_ok(gv_get_stats(&st0));
    assert_true(st0.live_tasks >= 1);
    gv_id ids[10];
    for (int i = 0; i < 10; i++)
        assert_gv_id(ids[i] = gv_spawn(yield_arg_times, (void *)(intptr_t)3));
    assert_gv_ok(gv_get_stats(&st1));
    assert_int_equal(st1.spawned - st0.spawned, 10);
    assert_int_equal(st1.live_tasks - st0.live_tasks, 10);
    assert_int_equal(gv_joinall(ids, 10, 0, gv_deadline(10000)), 10);
    assert_gv_ok(gv_get_stats(&st2));
    /* each task ran at least 4 times (start + 3 yields) */
    assert_true(st2.switches - st1.switches >= 40);
    assert_int_equal(st2.live_tasks - st0.live_tasks, 10); /* held */
    for (int i = 0; i < 10; i++)
        gv_release(ids[i]);
    assert_gv_ok(gv_get_stats(&st2));
    assert_int_equal(st2.live_tasks, st0.live_tasks);
    gv_shutdown();
}

/* ---------------------------------------------------------- compact mode */

#define CK_WORDS 300
static int ck_bad[256];
static int ck_done[256];

static uint32_t
ck_sum(const volatile uint32_t *w, int n)
{
    uint32_t s = 2166136261u;
    for (int i = 0; i < n; i++)
        s = (s ^ w[i]) * 16777619u;
    return s;
}

static void *
compact_keeps_locals(void *arg)
{
    int i = (int)(intptr_t)arg;
    volatile uint32_t local[CK_WORDS];
    uint32_t x = (uint32_t)i * 2654435761u + 1;
    for (int k = 0; k < CK_WORDS; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        local[k] = x;
    }
    uint32_t want = ck_sum(local, CK_WORDS);
    /* deeper frames too: state below us must survive as well */
    for (int r = 0; r < 25; r++) {
        if (gv_sleep(r % 5 == 4 ? 1 : 0) != 0)
            ck_bad[i] |= 4;
        if (ck_sum(local, CK_WORDS) != want)
            ck_bad[i] |= 1;
        if (gv_self() <= 0)
            ck_bad[i] |= 2;
        local[(r * 37 + i) % CK_WORDS] += (uint32_t)r + 1;
        want = ck_sum(local, CK_WORDS);
    }
    ck_done[i] = 1;
    return (void *)(uintptr_t)want;
}

static void
run_checksum_tasks(int n, const unsigned *flags, int nflags)
{
    memset(ck_bad, 0, sizeof ck_bad);
    memset(ck_done, 0, sizeof ck_done);
    gv_id ids[256];
    for (int i = 0; i < n; i++) {
        gv_spawn_opts o = {.flags = flags[i % nflags]};
        assert_gv_id(ids[i] = gv_spawn_ex(compact_keeps_locals,
                                          (void *)(intptr_t)i, &o));
    }
    assert_int_equal(gv_joinall(ids, (size_t)n, 0, gv_deadline(60000)), n);
    for (int i = 0; i < n; i++) {
        if (ck_bad[i])
            print_error("task %d: local state damaged (0x%x)\n", i, ck_bad[i]);
        assert_int_equal(ck_bad[i], 0);
        assert_int_equal(ck_done[i], 1);
        assert_true(gv_successful(ids[i]));
        gv_release(ids[i]);
    }
}

static void
test_compact_tasks_keep_local_state_across_switches(void **state)
{
    (void)state;
    const unsigned f[] = {GV_SPAWN_COMPACT};
    run_checksum_tasks(200, f, 1);
    gv_shutdown();
}

static void
test_compact_and_standard_tasks_mix(void **state)
{
    (void)state;
    const unsigned f[] = {GV_SPAWN_COMPACT, 0, GV_SPAWN_COMPACT,
                          GV_SPAWN_STANDARD};
    run_checksum_tasks(200, f, 4);
    gv_shutdown();
}

static void *
park_long(void *arg)
{
    (void)arg;
    gv_sleep(60000);
    return NULL;
}

/* how many more stacks are in use while n tasks made with o are parked */
static int64_t
stacks_held_by_parked(int n, const gv_spawn_opts *o)
{
    gv_stats st0, st1;
    gv_id ids[64];
    assert_true(n <= 64);
    gv_sleep(0);
    assert_gv_ok(gv_get_stats(&st0));
    for (int i = 0; i < n; i++)
        assert_gv_id(ids[i] = gv_spawn_ex(park_long, NULL, o));
    gv_sleep(0); /* each runs to its sleep */
    gv_sleep(0);
    assert_gv_ok(gv_get_stats(&st1));
    for (int i = 0; i < n; i++)
        gv_kill(ids[i], GV_NOWAIT);
    assert_int_equal(gv_joinall(ids, (size_t)n, 0, gv_deadline(10000)), n);
    for (int i = 0; i < n; i++)
        gv_release(ids[i]);
    return (int64_t)st1.stacks_in_use - (int64_t)st0.stacks_in_use;
}

static void
test_parked_compact_tasks_hold_no_stack_of_their_own(void **state)
{
    (void)state;
    gv_spawn_opts compact = {.flags = GV_SPAWN_COMPACT};
    gv_spawn_opts standard = {.flags = 0};
    int64_t c = stacks_held_by_parked(48, &compact);
    int64_t s = stacks_held_by_parked(48, &standard);
    print_message("stacks in use by 48 parked tasks: compact %" PRId64
                  ", standard %" PRId64 "\n",
                  c, s);
    assert_true(s >= 48);
    assert_true(c < 24);
    gv_shutdown();
}

static void
test_set_compact_makes_compact_the_default(void **state)
{
    (void)state;
    gv_spawn_opts dflt = {0};
    gv_spawn_opts standard = {.flags = GV_SPAWN_STANDARD};
    assert_gv_ok(gv_set_compact(true));
    int64_t c = stacks_held_by_parked(48, &dflt);
    int64_t s = stacks_held_by_parked(48, &standard);
    const unsigned f[] = {0, GV_SPAWN_STANDARD};
    run_checksum_tasks(100, f, 2);
    assert_gv_ok(gv_set_compact(false));
    int64_t d = stacks_held_by_parked(48, &dflt);
    print_message("compact default: %" PRId64 ", standard flag: %" PRId64
                  ", default after reset: %" PRId64 "\n",
                  c, s, d);
    assert_true(c < 24);
    assert_true(s >= 48);
    assert_true(d >= 48);
    gv_shutdown();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_spawned_tasks_run_in_spawn_order_once_main_blocks),
        T(test_sleep_zero_interleaves_foo_and_bar_like_the_tutorial),
        T(test_self_names_main_and_each_task),
        T(test_main_is_a_task_and_sleeps_without_setup),
        T(test_now_and_deadline_agree),
        T(test_join_times_out_while_the_task_sleeps),
        T(test_joinall_waits_for_all_tasks),
        T(test_joinall_returns_once_count_tasks_finished),
        T(test_joinall_times_out_at_its_deadline),
        T(test_joinall_rejects_bad_arguments),
        T(test_exit_from_main_exits_the_process_with_status_1_or_0),
        T(test_get_returns_the_value_of_a_task),
        T(test_get_returns_the_error_a_task_exited_with),
        T(test_exit_ends_the_task_and_sets_its_state),
        T(test_exit_with_a_positive_code_negates_it),
        T(test_exit_with_zero_is_success_with_a_null_value),
        T(test_a_successful_task_has_the_tutorial_state),
        T(test_name_is_copied_and_truncated_to_31_bytes),
        T(test_released_id_reads_as_stale),
        T(test_release_of_a_running_task_lets_it_finish),
        T(test_ids_are_not_reused_after_release),
        T(test_made_up_ids_are_stale),
        T(test_detached_task_runs_and_its_id_goes_stale),
        T(test_unstarted_task_runs_only_after_start),
        T(test_start_of_a_normally_spawned_task_is_ebusy),
        T(test_invalid_arguments_give_einval),
        T(test_kill_before_start_means_the_body_never_runs),
        T(test_kill_of_an_unstarted_task_means_it_never_runs),
        T(test_kill_wakes_a_sleeping_task_and_cancellation_is_sticky),
        T(test_kill_nowait_only_asks),
        T(test_kill_with_a_deadline_times_out_while_the_task_cleans_up),
        T(test_kill_of_a_finished_task_keeps_its_result),
        T(test_kill_of_oneself_marks_the_caller_canceled),
        T(test_kill_wakes_a_join_and_the_killed_task_cannot_block_again),
        T(test_a_timer_already_due_when_the_hub_polls_still_wakes_its_task),
        T(test_join_of_oneself_is_edeadlk),
        T(test_join_of_oneself_in_a_task_is_edeadlk),
        T(test_a_notifier_wait_is_no_deadlock_a_late_post_from_a_thread_wakes_it),
        T(test_join_of_a_task_waiting_for_an_unstarted_task_is_edeadlk),
        T(test_mutual_join_is_edeadlk_not_a_hang),
        T(test_scheduling_is_deterministic_across_runs),
        T(test_finished_tasks_stacks_are_reused),
        T(test_stats_count_spawns_switches_and_live_tasks),
        T(test_compact_tasks_keep_local_state_across_switches),
        T(test_compact_and_standard_tasks_mix),
        T(test_parked_compact_tasks_hold_no_stack_of_their_own),
        T(test_set_compact_makes_compact_the_default),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
