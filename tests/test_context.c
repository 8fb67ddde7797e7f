/*
 * test_context.c — the context switch alone: no scheduler, no libuv, no
 * cmocka, so it also builds with a cross compiler and runs under qemu
 * (make cross-test runs it for aarch64). Prints "N passed, N failed".
 *
 * What a switch must keep per context: the callee-saved registers (checked
 * through values the compiler keeps in them across calls), the floating
 * point control state (rounding mode: MXCSR and the x87 control word on
 * x86_64, FPCR on aarch64), and a correctly aligned stack at entry.
 */
#include "context.h"

#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gv__ctx main_ctx, a_ctx, b_ctx;
static int passed, failed;
static volatile long counter;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                      \
    } while (0)

/* --------------------------------------------------------- ping-pong */

static void
pingpong_entry(void)
{
    for (;;) {
        counter++;
        gv__ctx_switch(&a_ctx, &main_ctx);
    }
}

static void
test_pingpong(char *stack, size_t size)
{
    gv__ctx_make(&a_ctx, stack, size, pingpong_entry);
    counter = 0;
    for (int i = 0; i < 100000; i++)
        gv__ctx_switch(&main_ctx, &a_ctx);
    CHECK(counter == 100000);
}

/* ------------------------------------------------ callee-saved values */

static volatile double dsink;

static __attribute__((noinline)) long
mix(long x)
{
    /* unsigned: the LCG wraps, and signed overflow is undefined */
    return (long)((unsigned long)x * 6364136223846793005UL +
                  1442695040888963407UL);
}

static void
clobber_entry(void)
{
    for (;;) {
        /* use many registers, integer and floating point */
        long r[12];
        double d[8];
        for (int i = 0; i < 12; i++)
            r[i] = mix(i + counter);
        for (int i = 0; i < 8; i++)
            d[i] = (double)r[i] * 1.5;
        long s = 0;
        double ds = 0;
        for (int i = 0; i < 12; i++)
            s ^= r[i];
        for (int i = 0; i < 8; i++)
            ds += d[i];
        counter = s;
        dsink = ds;
        gv__ctx_switch(&a_ctx, &main_ctx);
    }
}

static void
test_callee_saved(char *stack, size_t size)
{
    gv__ctx_make(&a_ctx, stack, size, clobber_entry);
    long x0 = mix(1), x1 = mix(2), x2 = mix(3), x3 = mix(4), x4 = mix(5),
         x5 = mix(6);
    double f0 = 1.25, f1 = 2.5, f2 = 3.75, f3 = 5.0, f4 = 6.25, f5 = 7.5,
           f6 = 8.75, f7 = 10.0;
    int ok = 1;
    for (int i = 0; i < 1000; i++) {
        gv__ctx_switch(&main_ctx, &a_ctx);
        /* live across the call: the compiler keeps them in callee-saved
         * registers (or spills them to our own stack) */
        ok &= x0 == mix(1) && x1 == mix(2) && x2 == mix(3) && x3 == mix(4) &&
              x4 == mix(5) && x5 == mix(6);
        ok &= f0 == 1.25 && f1 == 2.5 && f2 == 3.75 && f3 == 5.0 &&
              f4 == 6.25 && f5 == 7.5 && f6 == 8.75 && f7 == 10.0;
        x0 ^= 0, f0 *= 1.0;
    }
    CHECK(ok);
}

/* ------------------------------------------------ floating point state */

static int a_seen_at_start, a_seen_after;

static void
fenv_entry(void)
{
    a_seen_at_start = fegetround(); /* a fresh context: round to nearest */
    fesetround(FE_DOWNWARD);
    gv__ctx_switch(&a_ctx, &main_ctx);
    a_seen_after = fegetround(); /* still ours after main changed its own */
    gv__ctx_switch(&a_ctx, &main_ctx);
    abort();
}

#if defined(__x86_64__)
static unsigned
get_mxcsr(void)
{
    unsigned v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}
#endif

static void
test_fp_control(char *stack, size_t size)
{
    gv__ctx_make(&a_ctx, stack, size, fenv_entry);
    fesetround(FE_UPWARD);
    gv__ctx_switch(&main_ctx, &a_ctx);
    CHECK(a_seen_at_start == FE_TONEAREST);
    CHECK(fegetround() == FE_UPWARD); /* main's own, restored */
#if defined(__x86_64__)
    CHECK(((get_mxcsr() >> 13) & 3) == 2); /* MXCSR RC = up */
#endif
    fesetround(FE_TOWARDZERO);
    gv__ctx_switch(&main_ctx, &a_ctx);
    CHECK(a_seen_after == FE_DOWNWARD);
    CHECK(fegetround() == FE_TOWARDZERO);
    fesetround(FE_TONEAREST);
}

/* ------------------------------------------------------ stack alignment */

static uintptr_t entry_align;
static char formatted[64];

static void
align_entry(void)
{
    _Alignas(16) char probe[16];
    entry_align = (uintptr_t)probe & 15;
    /* varargs with doubles use aligned SSE stores on x86_64 */
    snprintf(formatted, sizeof formatted, "%.3f %.3f", 1.5, 2.25);
    gv__ctx_switch(&b_ctx, &main_ctx);
    abort();
}

static void
test_alignment(char *stack, size_t size)
{
    /* an odd stack bound: make must align it */
    gv__ctx_make(&b_ctx, stack + 8, size - 24, align_entry);
    gv__ctx_switch(&main_ctx, &b_ctx);
    CHECK(entry_align == 0);
    CHECK(strcmp(formatted, "1.500 2.250") == 0);
}

int
main(void)
{
    size_t size = 256 * 1024;
    char *stack_a = malloc(size), *stack_b = malloc(size);
    if (stack_a == NULL || stack_b == NULL)
        return 2;
    test_pingpong(stack_a, size);
    test_callee_saved(stack_a, size);
    test_fp_control(stack_a, size);
    test_alignment(stack_b, size);
    free(stack_a);
    free(stack_b);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
