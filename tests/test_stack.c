/*
 * test_stack.c — stack sizes and stack overflow reports.
 *
 * An overflow aborts the process, so each overflow runs in a forked child
 * (gvt_run_child) whose stderr the parent reads through a pipe. The parent
 * never starts grove before forking: each test ends with gv_shutdown().
 */
#include "gv_test.h"

#include <sys/mman.h>

/* ---------------------------------------------------------- stack sizes */

static void *
use_stack(void *arg)
{
    size_t bytes = (size_t)(uintptr_t)arg;
    volatile unsigned char *buf = __builtin_alloca(bytes);
    for (size_t i = 0; i < bytes; i += 512)
        buf[i] = (unsigned char)i;
    gv_sleep(0); /* switch away and back with the stack deep */
    unsigned ok = 1;
    for (size_t i = 0; i < bytes; i += 512)
        ok &= buf[i] == (unsigned char)i;
    return (void *)(uintptr_t)ok;
}

static void
test_default_stack_holds_a_100_kib_frame(void **state)
{
    (void)state;
    gv_id id;
    assert_gv_id(id = gv_spawn(use_stack, (void *)(uintptr_t)(100 * 1024)));
    void *v = NULL;
    assert_gv_ok(gv_get(id, &v, gv_deadline(10000)));
    assert_ptr_equal(v, (void *)1);
    gv_release(id);
    gv_shutdown();
}

static void
test_a_spawn_option_gives_a_bigger_stack(void **state)
{
    (void)state;
    gv_spawn_opts o = {.stack_size = 2 * 1024 * 1024, .name = "big"};
    gv_id id;
    assert_gv_id(
        id = gv_spawn_ex(use_stack, (void *)(uintptr_t)(1536 * 1024), &o));
    void *v = NULL;
    assert_gv_ok(gv_get(id, &v, gv_deadline(10000)));
    assert_ptr_equal(v, (void *)1);
    gv_release(id);
    gv_shutdown();
}

static void
test_set_stack_size_changes_the_default(void **state)
{
    (void)state;
    assert_gv_ok(gv_set_stack_size(1024 * 1024));
    gv_id id;
    assert_gv_id(id = gv_spawn(use_stack, (void *)(uintptr_t)(700 * 1024)));
    void *v = NULL;
    assert_gv_ok(gv_get(id, &v, gv_deadline(10000)));
    assert_ptr_equal(v, (void *)1);
    gv_release(id);
    /* below the 16 KiB floor: rounded up or refused, never taken as is */
    int r = gv_set_stack_size(1);
    assert_true(r == 0 || r == GV_EINVAL);
    assert_gv_ok(gv_set_stack_size(16 * 1024 + 1));
    assert_gv_ok(gv_set_stack_size(256 * 1024));
    gv_shutdown();
}

/* ------------------------------------------------------------- overflow */

struct overflow_case {
    bool guard;
    bool compact;
    const char *name;
    volatile gv_id *idp; /* shared with the parent */
};

static volatile int stop_recursion;

static int __attribute__((noinline)) recurse(int depth)
{
    volatile char pad[512];
    for (int i = 0; i < (int)sizeof pad; i++)
        pad[i] = (char)(depth + i);
    /* switch often: with canaries the check runs at a switch */
    if ((depth & 3) == 0)
        gv_sleep(0);
    if (stop_recursion)
        return 0;
    return recurse(depth + 1) + pad[0] + pad[sizeof pad - 1];
}

static void *
overflow_body(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)recurse(0);
}

static void *
spin_forever(void *arg)
{
    (void)arg;
    for (;;)
        if (gv_sleep(0) != 0)
            break;
    return NULL;
}

static int
child_overflow(void *arg)
{
    struct overflow_case *c = arg;
    gv_set_guard_pages(c->guard);
    gv_set_stack_size(64 * 1024);
    gv_spawn_opts o = {.name = c->name,
                       .flags = c->compact ? GV_SPAWN_COMPACT : 0};
    gv_id id = gv_spawn_ex(overflow_body, NULL, &o);
    if (id <= 0)
        return 10;
    *c->idp = id;
    /* a second task so that every gv_sleep(0) really switches */
    gv_spawn_opts so = {.name = "spinner"};
    if (gv_spawn_ex(spin_forever, NULL, &so) <= 0)
        return 11;
    gv_join(id, gv_deadline(20000));
    return 12; /* should have died */
}

static void
check_overflow_report(bool guard, bool compact, const char *name)
{
    volatile gv_id *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    *shared = 0;
    struct overflow_case c = {guard, compact, name, shared};
    char err[8192];
    int st = gvt_run_child(child_overflow, &c, 30000, err, sizeof err);
    char d[96];
    print_message("child %s; stderr: %s", gvt_describe_status(st, d, sizeof d),
                  err);
    gv_id id = *shared;
    munmap((void *)shared, 4096);
    assert_true(st >= 0);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    assert_non_null(strstr(err, "stack overflow"));
    assert_non_null(strstr(err, name));
    assert_true(id > 0);
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    if (strstr(err, idtext) == NULL)
        print_error("the report does not name id %s\n", idtext);
    assert_non_null(strstr(err, idtext));
}

static void
test_stack_overflow_with_guard_pages_names_the_task_and_aborts(void **state)
{
    (void)state;
    check_overflow_report(true, false, "deep-diver");
}

static void
test_stack_overflow_with_canaries_names_the_task_and_aborts(void **state)
{
    (void)state;
    check_overflow_report(false, false, "canary-smasher");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_default_stack_holds_a_100_kib_frame),
        T(test_a_spawn_option_gives_a_bigger_stack),
        T(test_set_stack_size_changes_the_default),
        T(test_stack_overflow_with_guard_pages_names_the_task_and_aborts),
        T(test_stack_overflow_with_canaries_names_the_task_and_aborts),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
