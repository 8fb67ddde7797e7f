/*
 * test_stress.c — 100 000 live tasks parked at once: with guard pages (past
 * vm.max_map_count grove must fall back to canaries, not fail), without
 * them, and in compact mode. Label "stress".
 */
#include "gv_test.h"

#include <stdlib.h>

#define MANY 100000

static gv_id *ids;
static int parked;
static int canceled;
static int other;

static void *
park(void *arg)
{
    (void)arg;
    parked++;
    int r = gv_sleep(3600 * 1000);
    if (r == GV_ECANCELED)
        canceled++;
    else
        other++;
    return NULL;
}

static gv_stats before;

static void
park_many(unsigned flags, gv_stats *while_parked)
{
    ids = calloc(MANY, sizeof *ids);
    assert_non_null(ids);
    parked = canceled = other = 0;
    assert_gv_ok(gv_set_stack_size(16 * 1024));
    assert_gv_ok(gv_sleep(0)); /* grove's own stacks exist now */
    assert_gv_ok(gv_get_stats(&before));
    int64_t t0 = gvt_mono_ms();
    gv_spawn_opts o = {.flags = flags};
    for (int i = 0; i < MANY; i++) {
        ids[i] = gv_spawn_ex(park, NULL, &o);
        if (ids[i] <= 0) {
            print_error("spawn %d failed: %s\n", i, gv_err_name((int)ids[i]));
            assert_gv_id(ids[i]);
        }
    }
    /* let every task run to its sleep */
    for (int i = 0; i < 100 && parked < MANY; i++)
        assert_gv_ok(gv_sleep(0));
    int64_t t1 = gvt_mono_ms();
    assert_int_equal(parked, MANY);
    assert_gv_ok(gv_get_stats(while_parked));
    assert_true(while_parked->live_tasks >= MANY + 1);
    for (int i = 0; i < MANY; i++)
        assert_gv_ok(gv_kill(ids[i], GV_NOWAIT));
    int n = gv_joinall(ids, MANY, 0, gv_deadline(300000));
    int64_t t2 = gvt_mono_ms();
    assert_int_equal(n, MANY);
    assert_int_equal(canceled, MANY);
    assert_int_equal(other, 0);
    for (int i = 0; i < MANY; i++)
        assert_gv_ok(gv_release(ids[i]));
    gv_stats after;
    assert_gv_ok(gv_get_stats(&after));
    assert_int_equal(after.live_tasks, while_parked->live_tasks - MANY);
    print_message("%d tasks: spawn+park %lld ms, kill+join %lld ms; stacks "
                  "in use %llu, guarded %llu, fallback %d\n",
                  MANY, (long long)(t1 - t0), (long long)(t2 - t1),
                  (unsigned long long)while_parked->stacks_in_use,
                  (unsigned long long)while_parked->guarded_stacks,
                  (int)while_parked->guard_fallback);
    free(ids);
    ids = NULL;
}

static void
test_100k_parked_tasks_with_guard_pages_fall_back_to_canaries(void **state)
{
    (void)state;
    assert_gv_ok(gv_set_guard_pages(true));
    gv_stats st;
    park_many(0, &st);
    /* vm.max_map_count is 65530 here: not every stack can have a guard */
    assert_true(st.guard_fallback);
    assert_true(st.guarded_stacks > before.guarded_stacks);
    assert_true(st.guarded_stacks < MANY);
    assert_true(st.stacks_in_use >= MANY);
    gv_shutdown();
    assert_gv_ok(gv_set_stack_size(256 * 1024));
}

static void
test_100k_parked_tasks_without_guard_pages(void **state)
{
    (void)state;
    assert_gv_ok(gv_set_guard_pages(false));
    gv_stats st;
    park_many(0, &st);
    /* grove's own stacks may keep theirs; the tasks' have none */
    assert_int_equal(st.guarded_stacks, before.guarded_stacks);
    assert_false(st.guard_fallback);
    assert_true(st.stacks_in_use >= MANY);
    gv_shutdown();
    assert_gv_ok(gv_set_guard_pages(true));
    assert_gv_ok(gv_set_stack_size(256 * 1024));
}

static void
test_100k_parked_compact_tasks(void **state)
{
    (void)state;
    assert_gv_ok(gv_set_guard_pages(true));
    gv_stats st;
    park_many(GV_SPAWN_COMPACT, &st);
    /* parked compact tasks hold no stack of their own */
    assert_true(st.stacks_in_use - before.stacks_in_use < MANY / 10);
    gv_shutdown();
    assert_gv_ok(gv_set_stack_size(256 * 1024));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_100k_parked_tasks_with_guard_pages_fall_back_to_canaries),
        T(test_100k_parked_tasks_without_guard_pages),
        T(test_100k_parked_compact_tasks),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
