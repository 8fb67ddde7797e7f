/* test_error.c — the error table: gv_strerror and gv_err_name. */
#include "gv_test.h"

#include <errno.h>
#include <uv.h>

/* libuv's allocations, counted: a text that is "static" must not cost one */
static long uv_allocs;
static void *
count_malloc(size_t n)
{
    uv_allocs++;
    return malloc(n);
}
static void *
count_realloc(void *p, size_t n)
{
    uv_allocs++;
    return realloc(p, n);
}
static void *
count_calloc(size_t c, size_t n)
{
    uv_allocs++;
    return calloc(c, n);
}

struct code {
    int value;
    const char *name;
    const char *text;
};

static const struct code codes[] = {
#define XX(name, value, text) {value, "GV_" #name, text},
    GV_ERRORS(XX)
#undef XX
};
#define NCODES (sizeof codes / sizeof codes[0])

static void
test_every_grove_code_has_its_name_and_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++) {
        const char *name = gv_err_name(codes[i].value);
        const char *text = gv_strerror(codes[i].value);
        assert_non_null(name);
        assert_non_null(text);
        assert_string_equal(name, codes[i].name);
        assert_string_equal(text, codes[i].text);
    }
}

static void
test_grove_codes_are_distinct_and_negative(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++) {
        assert_true(codes[i].value < 0);
        for (size_t j = i + 1; j < NCODES; j++)
            assert_int_not_equal(codes[i].value, codes[j].value);
    }
    /* grove's own codes sit in their own range, below -30000 */
    assert_true(GV_ECLOSED < -30000);
    assert_true(GV_ETHREAD < -30000);
    /* libuv's codes pass through unchanged on Unix */
    assert_int_equal(GV_ETIMEDOUT, -ETIMEDOUT);
    assert_int_equal(GV_ECANCELED, -ECANCELED);
}

static void
test_a_libuv_code_is_named_and_explained(void **state)
{
    (void)state;
    const char *name = gv_err_name(-ECONNRESET);
    const char *text = gv_strerror(-ECONNRESET);
    assert_non_null(name);
    assert_non_null(text);
    assert_string_equal(name, "ECONNRESET");
    assert_true(strlen(text) > 0);
    assert_string_not_equal(text, gv_strerror(-987654));

    name = gv_err_name(-EPIPE);
    assert_non_null(name);
    assert_string_equal(name, "EPIPE");
}

static void
test_an_unknown_code_is_gv_unknown_and_never_null(void **state)
{
    (void)state;
    const int unknown[] = {-987654, -29999, -30099, 12345, INT32_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = gv_err_name(unknown[i]);
        const char *text = gv_strerror(unknown[i]);
        assert_non_null(name);
        assert_non_null(text);
        assert_string_equal(name, "GV_UNKNOWN");
        assert_true(strlen(text) > 0);
    }
}

static void
test_any_negative_errno_has_a_text(void **state)
{
    (void)state;
    for (int e = 1; e < 134; e++) {
        const char *text = gv_strerror(-e);
        assert_non_null(text);
        assert_true(strlen(text) > 0);
        assert_non_null(gv_err_name(-e));
    }
}

static void
test_texts_for_unusual_errno_values_are_static_and_allocate_nothing(
    void **state)
{
    (void)state;
    long before = uv_allocs;
    int moving = 0, first = 0;
    for (int e = 1; e < 134; e++) {
        const char *t1 = gv_strerror(-e), *t2 = gv_strerror(-e);
        const char *n1 = gv_err_name(-e), *n2 = gv_err_name(-e);
        if (t1 != t2 || n1 != n2) {
            if (!moving)
                first = e;
            moving++;
        }
    }
    long spent = uv_allocs - before;
    if (moving || spent)
        print_error("%d errno values got a fresh string per call (first: "
                    "%d, %s); %ld libuv allocations, never freed\n",
                    moving, first, strerror(first), spent);
    assert_int_equal(moving, 0);
    assert_int_equal(spent, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_grove_code_has_its_name_and_text),
        cmocka_unit_test(test_grove_codes_are_distinct_and_negative),
        cmocka_unit_test(test_a_libuv_code_is_named_and_explained),
        cmocka_unit_test(test_an_unknown_code_is_gv_unknown_and_never_null),
        cmocka_unit_test(test_any_negative_errno_has_a_text),
        cmocka_unit_test(
            test_texts_for_unusual_errno_values_are_static_and_allocate_nothing),
    };
    uv_replace_allocator(count_malloc, count_realloc, count_calloc, free);
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
