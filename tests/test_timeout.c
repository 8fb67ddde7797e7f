/*
 * test_timeout.c — timeout scopes (gevent's Timeout) and gv_with_timeout.
 *
 * main() is a task, so most scopes are opened right in the test; the ones
 * that need a kill run in a spawned task that records what it saw.
 */
#include "gv_test.h"

#include <unistd.h>

static int task_seen[8];

static void *
sleep_forever(void *arg)
{
    (void)arg;
    gv_sleep(600000);
    return NULL;
}

static void
test_scope_times_out_a_sleep_and_stays_expired_until_cancel(void **state)
{
    (void)state;
    gv_timeout to;
    int64_t t0 = gvt_mono_ms();
    assert_gv_ok(gv_timeout_start(&to, 30));
    assert_false(gv_timeout_expired(&to));
    assert_true(to.owner != NULL);
    assert_gv_err(gv_sleep(60000), GV_ETIMEDOUT);
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 25);
    assert_true(dt < 3000 * GVT_SLOW);
    assert_true(gv_timeout_expired(&to));
    /* sticky: every blocking call fails at once until the cancel */
    gv_id other;
    assert_gv_id(other = gv_spawn(sleep_forever, NULL));
    t0 = gvt_mono_ms();
    assert_gv_err(gv_sleep(60000), GV_ETIMEDOUT);
    assert_gv_err(gv_sleep(1), GV_ETIMEDOUT);
    assert_gv_err(gv_join(other, GV_FOREVER), GV_ETIMEDOUT);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_gv_err(gv_wait_fd(p[0], GV_READABLE, GV_FOREVER), GV_ETIMEDOUT);
    gv_notifier *n;
    assert_gv_ok(gv_notifier_new(&n));
    assert_gv_err(gv_notifier_wait(n, GV_FOREVER), GV_ETIMEDOUT);
    assert_true(gvt_mono_ms() - t0 < 1000 * GVT_SLOW);
    assert_gv_ok(gv_timeout_cancel(&to));
    assert_null(to.owner);
    /* closed: blocking works again */
    assert_gv_ok(gv_sleep(1));
    assert_gv_ok(gv_kill(other, gv_deadline(10000)));
    gv_release(other);
    gv_notifier_free(n);
    close(p[0]);
    close(p[1]);
    gv_shutdown();
}

static void
test_cancelled_scope_no_longer_times_anything_out(void **state)
{
    (void)state;
    gv_timeout to;
    assert_gv_ok(gv_timeout_start(&to, 20));
    assert_gv_ok(gv_sleep(1));
    assert_false(gv_timeout_expired(&to));
    assert_gv_ok(gv_timeout_cancel(&to));
    /* past the old deadline: nothing happens */
    assert_gv_ok(gv_sleep(40));
    assert_gv_ok(gv_sleep(0));
    /* cancelling again: it is not open */
    assert_gv_err(gv_timeout_cancel(&to), GV_EINVAL);
    gv_shutdown();
}

static void
test_scope_deadline_fields_follow_the_header(void **state)
{
    (void)state;
    gv_timeout outer, inner;
    int64_t now = gv_now();
    assert_gv_ok(gv_timeout_start(&outer, 10000));
    assert_true(outer.deadline >= now + 10000);
    assert_true(outer.deadline < now + 10000 + 1000 * GVT_SLOW);
    assert_int_equal(outer.effective, outer.deadline);
    assert_null(outer.outer);
    assert_gv_ok(gv_timeout_start(&inner, 20000));
    assert_ptr_equal(inner.outer, &outer);
    assert_int_equal(inner.effective, outer.deadline);
    assert_gv_ok(gv_timeout_cancel(&inner));
    assert_gv_ok(gv_timeout_start(&inner, 50));
    assert_int_equal(inner.effective, inner.deadline);
    assert_true(inner.deadline < outer.deadline);
    assert_gv_ok(gv_timeout_cancel(&inner));
    assert_gv_ok(gv_timeout_cancel(&outer));
    gv_shutdown();
}

static void
test_nested_scope_inner_shorter_expires_only_the_inner(void **state)
{
    (void)state;
    gv_timeout outer, inner;
    assert_gv_ok(gv_timeout_start(&outer, 60000));
    assert_gv_ok(gv_timeout_start(&inner, 30));
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_sleep(60000), GV_ETIMEDOUT);
    assert_true(gvt_mono_ms() - t0 < 3000 * GVT_SLOW);
    assert_true(gv_timeout_expired(&inner));
    assert_false(gv_timeout_expired(&outer));
    assert_gv_ok(gv_timeout_cancel(&inner));
    /* the outer scope is still open and not due */
    assert_gv_ok(gv_sleep(1));
    assert_false(gv_timeout_expired(&outer));
    assert_gv_ok(gv_timeout_cancel(&outer));
    gv_shutdown();
}

static void
test_nested_scope_outer_shorter_wins_and_says_so(void **state)
{
    (void)state;
    gv_timeout outer, inner;
    assert_gv_ok(gv_timeout_start(&outer, 30));
    assert_gv_ok(gv_timeout_start(&inner, 60000));
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_sleep(60000), GV_ETIMEDOUT);
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 25);
    assert_true(dt < 3000 * GVT_SLOW);
    /* the inner scope can tell the timeout is not its own */
    assert_false(gv_timeout_expired(&inner));
    assert_true(gv_timeout_expired(&outer));
    assert_gv_ok(gv_timeout_cancel(&inner));
    /* the outer one still holds */
    assert_gv_err(gv_sleep(1), GV_ETIMEDOUT);
    assert_gv_ok(gv_timeout_cancel(&outer));
    assert_gv_ok(gv_sleep(1));
    gv_shutdown();
}

static void
test_cancel_of_the_outer_scope_closes_the_inner(void **state)
{
    (void)state;
    gv_timeout outer, inner;
    assert_gv_ok(gv_timeout_start(&outer, 20));
    assert_gv_ok(gv_timeout_start(&inner, 25));
    assert_gv_ok(gv_timeout_cancel(&outer));
    assert_null(inner.owner);
    assert_null(outer.owner);
    assert_gv_err(gv_timeout_cancel(&inner), GV_EINVAL);
    /* neither deadline applies any more */
    assert_gv_ok(gv_sleep(40));
    gv_shutdown();
}

static void
test_starting_a_scope_that_is_already_open_is_einval(void **state)
{
    (void)state;
    gv_timeout to;
    assert_gv_ok(gv_timeout_start(&to, 20));
    /* a second start would link the scope to itself */
    assert_gv_err(gv_timeout_start(&to, 30), GV_EINVAL);
    assert_gv_ok(gv_timeout_cancel(&to));
    /* closed for good: its deadline no longer applies */
    assert_gv_ok(gv_sleep(40));
    assert_gv_ok(gv_sleep(1));
    /* a closed scope may be started again */
    assert_gv_ok(gv_timeout_start(&to, 10000));
    assert_gv_ok(gv_timeout_cancel(&to));
    gv_shutdown();
}

static void *
restart_scope_then_sleep(void *arg)
{
    (void)arg;
    gv_timeout to;
    task_seen[0] = gv_timeout_start(&to, 20);
    task_seen[1] = gv_timeout_start(&to, 30); /* a mistake, or refused */
    task_seen[2] = gv_timeout_cancel(&to);
    if (task_seen[1] == 0)
        task_seen[3] = gv_timeout_cancel(&to); /* balance the two starts */
    task_seen[4] = gv_sleep(60);
    task_seen[5] = gv_sleep(1);
    return NULL;
}

static void
test_a_restarted_scope_once_cancelled_times_nothing_out(void **state)
{
    (void)state;
    memset(task_seen, 0x55, sizeof task_seen);
    gv_id id;
    assert_gv_id(id = gv_spawn(restart_scope_then_sleep, NULL));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    print_message("second start %s, cancels %s / %s\n",
                  gv_err_name(task_seen[1]), gv_err_name(task_seen[2]),
                  task_seen[3] == 0x55555555 ? "-" : gv_err_name(task_seen[3]));
    assert_gv_ok(task_seen[0]);
    assert_gv_ok(task_seen[2]);
    /* the task must not stay timed out for the rest of its life */
    assert_gv_ok(task_seen[4]);
    assert_gv_ok(task_seen[5]);
    gv_release(id);
    gv_shutdown();
}

static void
test_scope_with_negative_ms_never_expires(void **state)
{
    (void)state;
    gv_timeout to;
    assert_gv_ok(gv_timeout_start(&to, -1));
    assert_gv_ok(gv_sleep(20));
    assert_false(gv_timeout_expired(&to));
    /* it still nests: an inner scope gets its own deadline */
    gv_timeout in;
    assert_gv_ok(gv_timeout_start(&in, 10));
    assert_gv_err(gv_sleep(60000), GV_ETIMEDOUT);
    assert_true(gv_timeout_expired(&in));
    assert_false(gv_timeout_expired(&to));
    assert_gv_ok(gv_timeout_cancel(&to));
    gv_shutdown();
}

static void
test_scope_times_out_a_join(void **state)
{
    (void)state;
    gv_id id;
    assert_gv_id(id = gv_spawn(sleep_forever, NULL));
    gv_timeout to;
    assert_gv_ok(gv_timeout_start(&to, 30));
    assert_gv_err(gv_join(id, GV_FOREVER), GV_ETIMEDOUT);
    assert_gv_ok(gv_timeout_cancel(&to));
    /* the call's own earlier deadline still wins inside a scope */
    assert_gv_ok(gv_timeout_start(&to, 60000));
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_join(id, gv_deadline(20)), GV_ETIMEDOUT);
    assert_true(gvt_mono_ms() - t0 < 3000 * GVT_SLOW);
    assert_false(gv_timeout_expired(&to));
    assert_gv_ok(gv_timeout_cancel(&to));
    assert_gv_ok(gv_kill(id, gv_deadline(10000)));
    gv_release(id);
    gv_shutdown();
}

/* A scope belongs to the task that opened it. */
static gv_timeout shared_scope;

static void *
open_scope_then_wait(void *arg)
{
    (void)arg;
    task_seen[0] = gv_timeout_start(&shared_scope, 60000);
    task_seen[1] = gv_sleep(30);
    task_seen[2] = gv_timeout_cancel(&shared_scope);
    return NULL;
}

static void
test_scope_of_another_task_cannot_be_cancelled_or_time_us_out(void **state)
{
    (void)state;
    memset(task_seen, 0x55, sizeof task_seen);
    gv_id id;
    assert_gv_id(id = gv_spawn(open_scope_then_wait, NULL));
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(task_seen[0]);
    assert_gv_err(gv_timeout_cancel(&shared_scope), GV_EINVAL);
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_gv_ok(task_seen[1]);
    assert_gv_ok(task_seen[2]);
    gv_release(id);
    gv_shutdown();
}

/* Cancellation beats a timeout. */
static int cb_seen[8];
static bool cb_expired;
static void *
expired_scope_then_killed(void *arg)
{
    (void)arg;
    gv_timeout to;
    cb_seen[0] = gv_timeout_start(&to, 100);
    cb_seen[1] = gv_sleep(60000); /* killed while parked, after its deadline */
    cb_expired = gv_timeout_expired(&to);
    cb_seen[2] = gv_sleep(1);
    cb_seen[3] = gv_timeout_cancel(&to);
    cb_seen[4] = gv_sleep(1); /* still killed */
    return NULL;
}

static void
test_kill_beats_an_expired_scope(void **state)
{
    (void)state;
    memset(cb_seen, 0x55, sizeof cb_seen);
    cb_expired = false;
    gv_id id;
    assert_gv_id(id = gv_spawn(expired_scope_then_killed, NULL));
    assert_gv_ok(gv_sleep(10)); /* it parks in its scope */
    /* hold the loop past the scope's deadline so its timer cannot fire
     * before the kill lands */
    int64_t until = gvt_mono_ms() + 200;
    while (gvt_mono_ms() < until)
        ;
    assert_gv_ok(gv_kill(id, gv_deadline(10000)));
    assert_gv_ok(cb_seen[0]);
    assert_gv_err(cb_seen[1], GV_ECANCELED);
    assert_true(cb_expired);
    assert_gv_err(cb_seen[2], GV_ECANCELED);
    assert_gv_ok(cb_seen[3]);
    assert_gv_err(cb_seen[4], GV_ECANCELED);
    assert_gv_err(gv_error(id), GV_ECANCELED);
    gv_release(id);
    gv_shutdown();
}

static void *
self_kill_in_expired_scope(void *arg)
{
    (void)arg;
    gv_timeout to;
    cb_seen[0] = gv_timeout_start(&to, 10);
    int64_t until = gvt_mono_ms() + 40;
    while (gvt_mono_ms() < until)
        ;
    cb_seen[1] = gv_kill(gv_self(), GV_NOWAIT);
    cb_seen[2] = gv_sleep(60000);
    cb_expired = gv_timeout_expired(&to);
    cb_seen[3] = gv_timeout_cancel(&to);
    return NULL;
}

static void
test_a_task_killed_in_an_expired_scope_gets_ecanceled(void **state)
{
    (void)state;
    memset(cb_seen, 0x55, sizeof cb_seen);
    cb_expired = false;
    gv_id id;
    assert_gv_id(id = gv_spawn(self_kill_in_expired_scope, NULL));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_gv_ok(cb_seen[0]);
    assert_gv_ok(cb_seen[1]);
    assert_gv_err(cb_seen[2], GV_ECANCELED);
    assert_true(cb_expired);
    assert_gv_ok(cb_seen[3]);
    gv_release(id);
    gv_shutdown();
}

/* gv_with_timeout */
static int wt_seen;
static void *
slow_fn(void *arg)
{
    wt_seen = gv_sleep((int64_t)(intptr_t)arg);
    return (void *)0x51;
}

static void *
quick_fn(void *arg)
{
    wt_seen = gv_sleep(0);
    return arg;
}

static void
test_with_timeout_returns_etimedout_when_fn_is_too_slow(void **state)
{
    (void)state;
    wt_seen = 0x55;
    int64_t t0 = gvt_mono_ms();
    void *v = NULL;
    assert_gv_err(gv_with_timeout(30, slow_fn, (void *)60000, &v),
                  GV_ETIMEDOUT);
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 25);
    assert_true(dt < 3000 * GVT_SLOW);
    assert_gv_err(wt_seen, GV_ETIMEDOUT);
    /* the scope is closed again */
    assert_gv_ok(gv_sleep(1));
    assert_gv_err(gv_with_timeout(30, slow_fn, (void *)60000, NULL),
                  GV_ETIMEDOUT);
    gv_shutdown();
}

static void
test_with_timeout_returns_0_and_the_value_when_fn_is_quick(void **state)
{
    (void)state;
    wt_seen = 0x55;
    void *v = NULL;
    assert_gv_ok(gv_with_timeout(10000, quick_fn, (void *)0x42, &v));
    assert_ptr_equal(v, (void *)0x42);
    assert_gv_ok(wt_seen);
    assert_gv_ok(gv_with_timeout(10000, slow_fn, (void *)5, &v));
    assert_ptr_equal(v, (void *)0x51);
    assert_gv_ok(wt_seen);
    assert_gv_ok(gv_with_timeout(10000, quick_fn, NULL, NULL));
    /* and nothing lingers past the scope's deadline */
    assert_gv_ok(gv_with_timeout(20, quick_fn, NULL, NULL));
    assert_gv_ok(gv_sleep(40));
    gv_shutdown();
}

static void
test_with_timeout_inside_a_shorter_scope(void **state)
{
    (void)state;
    gv_timeout to;
    assert_gv_ok(gv_timeout_start(&to, 30));
    wt_seen = 0x55;
    int64_t t0 = gvt_mono_ms();
    int r = gv_with_timeout(60000, slow_fn, (void *)60000, NULL);
    assert_true(gvt_mono_ms() - t0 < 3000 * GVT_SLOW);
    /* fn was timed out by the enclosing scope; gv_with_timeout's own did
     * not run out, so it returns 0 (or passes the code on) */
    assert_true(r == 0 || r == GV_ETIMEDOUT);
    assert_gv_err(wt_seen, GV_ETIMEDOUT);
    assert_true(gv_timeout_expired(&to));
    assert_gv_ok(gv_timeout_cancel(&to));
    gv_shutdown();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_scope_times_out_a_sleep_and_stays_expired_until_cancel),
        T(test_cancelled_scope_no_longer_times_anything_out),
        T(test_scope_deadline_fields_follow_the_header),
        T(test_nested_scope_inner_shorter_expires_only_the_inner),
        T(test_nested_scope_outer_shorter_wins_and_says_so),
        T(test_cancel_of_the_outer_scope_closes_the_inner),
        T(test_starting_a_scope_that_is_already_open_is_einval),
        T(test_a_restarted_scope_once_cancelled_times_nothing_out),
        T(test_scope_with_negative_ms_never_expires),
        T(test_scope_times_out_a_join),
        T(test_scope_of_another_task_cannot_be_cancelled_or_time_us_out),
        T(test_kill_beats_an_expired_scope),
        T(test_a_task_killed_in_an_expired_scope_gets_ecanceled),
        T(test_with_timeout_returns_etimedout_when_fn_is_too_slow),
        T(test_with_timeout_returns_0_and_the_value_when_fn_is_quick),
        T(test_with_timeout_inside_a_shorter_scope),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
