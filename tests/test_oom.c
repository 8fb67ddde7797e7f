/*
 * test_oom.c — out of memory is an error, never a crash or a leak.
 *
 * A sweep over N = 1, 2, 3, ...: install the counting allocator failing the
 * Nth allocation, run a small program touching every part of sched/ (spawn,
 * join, joinall, get, sleep, timeout scopes, notifier, fd wait, detached and
 * compact tasks), check that every call returned success or GV_ENOMEM, shut
 * grove down and check that every allocation was freed. The sweep ends at
 * the first N whose run needed fewer than N allocations.
 *
 * Each run happens in a forked child so a crash at one N is reported as
 * such (with N) and the sweep goes on.
 */
#include "gv_test.h"

#include <unistd.h>

#define MAX_SWEEP 5000
/* one run takes milliseconds: longer is a hang */
#define CHILD_MS (4000 * GVT_SLOW)

/* what a run found; the child reports through its exit status */

static int bad;
static char bad_what[256];

static void
expect(const char *what, long long got, long long want)
{
    if (got == want || got == GV_ENOMEM)
        return;
    if (!bad)
        snprintf(bad_what, sizeof bad_what, "%s returned %lld (%s), want %lld",
                 what, got, gv_err_name((int)got), want);
    bad = 1;
}

static void
expect_id(const char *what, gv_id got)
{
    if (got > 0 || got == GV_ENOMEM)
        return;
    if (!bad)
        snprintf(bad_what, sizeof bad_what, "%s returned %lld (%s)", what,
                 (long long)got, gv_err_name((int)got));
    bad = 1;
}

/* Task results: checked by main after the joins. */
static int task_res[16][4];

static void *
worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    gv_timeout to;
    task_res[i][0] = gv_timeout_start(&to, 60000);
    task_res[i][1] = gv_sleep(1);
    if (task_res[i][0] == 0)
        task_res[i][2] = gv_timeout_cancel(&to);
    else
        task_res[i][2] = 0;
    task_res[i][3] = gv_sleep(0);
    return (void *)(intptr_t)(i + 100);
}

static gv_notifier *note;
static void *
note_waiter(void *arg)
{
    (void)arg;
    task_res[10][0] = gv_notifier_wait(note, gv_deadline(60000));
    return NULL;
}

static void *
quick(void *arg)
{
    gv_sleep(0);
    return arg;
}

static void
on_sig(int signum, void *arg)
{
    (void)signum;
    (void)arg;
}

static int
small_program(void)
{
    bad = 0;
    bad_what[0] = '\0';
    for (int i = 0; i < 16; i++)
        for (int k = 0; k < 4; k++)
            task_res[i][k] = 0;

    gv_id ids[6];
    int nids = 0;
    for (int i = 0; i < 4; i++) {
        gv_spawn_opts o = {.name = "worker",
                           .flags = i == 3 ? GV_SPAWN_COMPACT : 0};
        gv_id id = gv_spawn_ex(worker, (void *)(intptr_t)i, &o);
        expect_id("gv_spawn_ex(worker)", id);
        if (id > 0)
            ids[nids++] = id;
        else
            task_res[i][0] = task_res[i][1] = task_res[i][2] = task_res[i][3] =
                0;
    }
    note = NULL;
    int r = gv_notifier_new(&note);
    expect("gv_notifier_new", r, 0);
    gv_id nw = 0;
    if (r == 0) {
        nw = gv_spawn(note_waiter, NULL);
        expect_id("gv_spawn(note_waiter)", nw);
    }
    if (nids > 0) {
        r = gv_joinall(ids, (size_t)nids, 0, gv_deadline(60000));
        expect("gv_joinall", r, nids);
    }
    for (int i = 0; i < nids; i++) {
        void *v = NULL;
        r = gv_get(ids[i], &v, gv_deadline(60000));
        expect("gv_get", r, 0);
        expect("gv_release", gv_release(ids[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++)
            expect("worker's call", task_res[i][k], 0);
    if (nw > 0) {
        expect("gv_notifier_post", gv_notifier_post(note), 0);
        r = gv_join(nw, gv_deadline(60000));
        expect("gv_join(note_waiter)", r, 0);
        expect("note_waiter's wait", task_res[10][0], 0);
        gv_release(nw);
    }
    gv_notifier_free(note);

    expect("gv_sleep", gv_sleep(1), 0);
    void *v = NULL;
    expect("gv_with_timeout", gv_with_timeout(60000, quick, (void *)7, &v), 0);

    gv_timeout to;
    r = gv_timeout_start(&to, 60000);
    expect("gv_timeout_start", r, 0);
    expect("gv_sleep in scope", gv_sleep(0), 0);
    if (r == 0)
        expect("gv_timeout_cancel", gv_timeout_cancel(&to), 0);

    int p[2];
    if (pipe(p) == 0) {
        if (write(p[1], "x", 1) != 1)
            bad = 1;
        expect("gv_wait_fd", gv_wait_fd(p[0], GV_READABLE, gv_deadline(60000)),
               GV_READABLE);
        close(p[0]);
        close(p[1]);
    }

    gv_spawn_opts d = {.flags = GV_SPAWN_DETACHED};
    expect_id("gv_spawn_ex(detached)", gv_spawn_ex(quick, NULL, &d));
    gv_spawn_opts u = {.flags = GV_SPAWN_UNSTARTED};
    gv_id un = gv_spawn_ex(quick, (void *)3, &u);
    expect_id("gv_spawn_ex(unstarted)", un);
    if (un > 0) {
        expect("gv_start", gv_start(un), 0);
        expect("gv_join(unstarted)", gv_join(un, gv_deadline(60000)), 0);
        gv_release(un);
    }
    /* enough tasks at once to grow whatever tables hold them */
    gv_id many[150];
    int nmany = 0;
    for (int i = 0; i < 150; i++) {
        gv_id id = gv_spawn(quick, (void *)(intptr_t)i);
        expect_id("gv_spawn(many)", id);
        if (id > 0)
            many[nmany++] = id;
    }
    if (nmany > 0) {
        r = gv_joinall(many, (size_t)nmany, 0, gv_deadline(60000));
        if (r == GV_ENOMEM)
            for (int i = 0; i < nmany; i++)
                expect("gv_join(many)", gv_join(many[i], gv_deadline(60000)),
                       0);
        else
            expect("gv_joinall(many)", r, nmany);
        for (int i = 0; i < nmany; i++)
            gv_release(many[i]);
    }

    /* a high fd number, to grow an fd table */
    int q[2];
    if (pipe(q) == 0) {
        int hi = dup2(q[1], 700);
        if (hi == 700) {
            expect("gv_wait_fd(700)",
                   gv_wait_fd(hi, GV_WRITABLE, gv_deadline(60000)),
                   GV_WRITABLE);
            close(hi);
        }
        close(q[0]);
        close(q[1]);
    }

    /* a signal handler, installed and removed */
    r = gv_signal(SIGUSR1, on_sig, NULL);
    expect("gv_signal", r, 0);
    if (r == 0)
        expect("gv_signal(NULL)", gv_signal(SIGUSR1, NULL, NULL), 0);

    gv_stats st;
    expect("gv_get_stats", gv_get_stats(&st), 0);
    expect("gv_sleep(0) at the end", gv_sleep(0), 0);
    return bad;
}

static int
child_run(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (gvt_oom_install(n, 0) != 0)
        return GVT_RUN_SETUP;
    int b = small_program();
    gv_shutdown();
    return gvt_oom_verdict(n, b, bad_what);
}

static void
test_every_allocation_failure_is_enomem_and_nothing_leaks(void **state)
{
    (void)state;
    gvt_oom_sweep(child_run, MAX_SWEEP, CHILD_MS);
}

static void
test_a_clean_run_frees_every_allocation(void **state)
{
    (void)state;
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    assert_int_equal(small_program(), 0);
    gv_shutdown();
    long allocs = atomic_load(&gvt_alloc_st.allocs);
    print_message("%ld allocations, %ld frees\n", allocs,
                  atomic_load(&gvt_alloc_st.frees));
    assert_true(allocs > 0);
    assert_int_equal(gvt_alloc_live(), 0);
    assert_gv_ok(gv_set_allocator(NULL));
    gv_shutdown();
}

static void
test_set_allocator_while_grove_runs_is_ebusy(void **state)
{
    (void)state;
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_sleep(0)); /* grove is in use now */
    assert_gv_err(gv_set_allocator(&gvt_allocator), GV_EBUSY);
    assert_gv_err(gv_set_allocator(NULL), GV_EBUSY);
    assert_int_equal(atomic_load(&gvt_alloc_st.attempts), 0);
    gv_shutdown();
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    assert_gv_ok(gv_sleep(0));
    gv_shutdown();
    assert_gv_ok(gv_set_allocator(NULL));
    assert_int_equal(gvt_alloc_live(), 0);
}

static void
test_everything_failing_gives_enomem_not_a_crash(void **state)
{
    (void)state;
    /* every allocation fails from the very first */
    gvt_alloc_reset(1, 1);
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    gv_id id = gv_spawn(quick, NULL);
    assert_gv_err(id, GV_ENOMEM);
    gv_notifier *n = NULL;
    assert_gv_err(gv_notifier_new(&n), GV_ENOMEM);
    int r = gv_sleep(1);
    assert_true(r == 0 || r == GV_ENOMEM);
    gv_shutdown();
    assert_int_equal(gvt_alloc_live(), 0);
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_set_allocator(NULL));
    /* and grove works again afterwards */
    assert_gv_id(id = gv_spawn(quick, (void *)5));
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_ptr_equal(gv_value(id), (void *)5);
    gv_shutdown();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_allocator_while_grove_runs_is_ebusy),
        cmocka_unit_test(test_a_clean_run_frees_every_allocation),
        cmocka_unit_test(test_everything_failing_gives_enomem_not_a_crash),
        cmocka_unit_test(
            test_every_allocation_failure_is_enomem_and_nothing_leaks),
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
