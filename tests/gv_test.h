/*
 * gv_test.h — helpers shared by grove's cmocka suites.
 *
 * Design notes: cmocka reports a failed assert by longjmp to its runner, so
 * the assert_* macros here (like cmocka's own) may only be used on main()'s
 * stack, never inside a task body. Tasks write what they observe into
 * static storage and the test asserts after the joins.
 *
 * The counting allocator (gvt_alloc_*) wraps libc's malloc and counts every
 * allocation and free so a test can prove grove frees all it allocated; it
 * can also fail the Nth allocation (malloc, or realloc that must allocate)
 * to sweep out-of-memory paths. Counters are atomic because a notifier may
 * be posted, and so perhaps allocate, on a foreign thread.
 */
#ifndef GV_TEST_H
#define GV_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "grove.h"

/* ----------------------------------------------------------- assertions */

static inline void
gvt_assert_ok(long long got, const char *expr, const char *file, int line)
{
    if (got != 0) {
        print_error("%s returned %lld (%s: %s), expected 0\n", expr, got,
                    gv_err_name((int)got), gv_strerror((int)got));
        _fail(file, line);
    }
}

static inline void
gvt_assert_err(long long got, int want, const char *expr, const char *file,
               int line)
{
    if (got != (long long)want) {
        print_error("%s returned %lld (%s), expected %d (%s)\n", expr, got,
                    got < 0 && got > INT32_MIN ? gv_err_name((int)got)
                                               : "not an error",
                    want, gv_err_name(want));
        _fail(file, line);
    }
}

static inline void
gvt_assert_id(long long got, const char *expr, const char *file, int line)
{
    if (got <= 0) {
        print_error("%s returned %lld (%s), expected a task id > 0\n", expr,
                    got, got > INT32_MIN ? gv_err_name((int)got) : "?");
        _fail(file, line);
    }
}

/* assert_gv_ok(x): x must be 0. */
#define assert_gv_ok(x) gvt_assert_ok((long long)(x), #x, __FILE__, __LINE__)
/* assert_gv_err(x, code): x must equal the GV_E* code. */
#define assert_gv_err(x, code)                                                 \
    gvt_assert_err((long long)(x), (code), #x, __FILE__, __LINE__)
/* assert_gv_id(x): x must be a task id (> 0). */
#define assert_gv_id(x) gvt_assert_id((long long)(x), #x, __FILE__, __LINE__)

/* ------------------------------------------------ the counting allocator */

typedef struct gvt_alloc_state {
    atomic_long allocs;         /* successful allocations */
    atomic_long frees;          /* frees of a non-NULL pointer */
    atomic_long attempts;       /* allocation attempts, failed ones included */
    atomic_long failed;         /* attempts made to fail */
    atomic_long fail_at;        /* fail the attempt with this number (1-based);
                                 * 0: never */
    atomic_bool fail_all_after; /* also fail every attempt after fail_at */
} gvt_alloc_state;

static gvt_alloc_state gvt_alloc_st __attribute__((unused));

static inline int
gvt_alloc_should_fail(void)
{
    long n = atomic_fetch_add(&gvt_alloc_st.attempts, 1) + 1;
    long at = atomic_load(&gvt_alloc_st.fail_at);
    if (at > 0 &&
        (n == at || (n > at && atomic_load(&gvt_alloc_st.fail_all_after)))) {
        atomic_fetch_add(&gvt_alloc_st.failed, 1);
        return 1;
    }
    return 0;
}

static inline void *
gvt_malloc(size_t size)
{
    if (gvt_alloc_should_fail())
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add(&gvt_alloc_st.allocs, 1);
    return p;
}

static inline void *
gvt_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return gvt_malloc(size);
    if (size == 0) {
        /* Treated as free: C23 leaves realloc(p, 0) undefined. */
        free(ptr);
        atomic_fetch_add(&gvt_alloc_st.frees, 1);
        return NULL;
    }
    if (gvt_alloc_should_fail())
        return NULL; /* ptr stays valid, as with realloc */
    return realloc(ptr, size);
}

static inline void
gvt_free(void *ptr)
{
    if (ptr) {
        atomic_fetch_add(&gvt_alloc_st.frees, 1);
        free(ptr);
    }
}

static const gv_allocator gvt_allocator __attribute__((unused)) = {
    .malloc_fn = gvt_malloc,
    .realloc_fn = gvt_realloc,
    .free_fn = gvt_free,
};

/* gvt_alloc_reset zeroes the counters and sets which attempt fails (0:
 * none); with all_after every later attempt fails too. */
static inline void
gvt_alloc_reset(long fail_at, int all_after)
{
    atomic_store(&gvt_alloc_st.allocs, 0);
    atomic_store(&gvt_alloc_st.frees, 0);
    atomic_store(&gvt_alloc_st.attempts, 0);
    atomic_store(&gvt_alloc_st.failed, 0);
    atomic_store(&gvt_alloc_st.fail_at, fail_at);
    atomic_store(&gvt_alloc_st.fail_all_after, all_after != 0);
}

static inline long
gvt_alloc_live(void)
{
    return atomic_load(&gvt_alloc_st.allocs) - atomic_load(&gvt_alloc_st.frees);
}

/* ---------------------------------------------------------------- misc */

/* A margin factor for timing checks: sanitizers and valgrind slow grove
 * down, so bounds that are not about correctness get generous slack. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GVT_SLOW 5
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GVT_SLOW 5
#endif
#endif
#ifndef GVT_SLOW
#define GVT_SLOW 1
#endif

/* gvt_mono_ms reads CLOCK_MONOTONIC in ms, independently of grove. */
#include <time.h>
static inline int64_t
gvt_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* gvt_apply_filter runs only the tests matching $GVT_FILTER (a cmocka
 * pattern: * and ? wildcards), e.g. GVT_FILTER='*deterministic*'. */
static inline void
gvt_apply_filter(void)
{
    const char *f = getenv("GVT_FILTER");
    if (f != NULL && *f != '\0')
        cmocka_set_test_filter(f);
}

/* gvt_teardown is a cmocka teardown that leaves grove as a fresh process
 * would find it, even when a test failed half-way. */
static inline int
gvt_teardown(void **state)
{
    (void)state;
    gv_shutdown();
    return 0;
}

/* --------------------------------------------------------------- traces */

/* A trace of events as space-separated tokens, written by tasks and read
 * by the test on main's stack after the joins. */
static char gvt_trace_buf[1 << 17] __attribute__((unused));
static size_t gvt_trace_len __attribute__((unused));
static int gvt_trace_overflow __attribute__((unused));

static inline void
gvt_trace_reset(void)
{
    gvt_trace_len = 0;
    gvt_trace_buf[0] = '\0';
    gvt_trace_overflow = 0;
}

static inline void __attribute__((format(printf, 1, 2)))
gvt_trace(const char *fmt, ...)
{
    char tok[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tok, sizeof tok, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t need = (size_t)n + (gvt_trace_len ? 1 : 0);
    if (gvt_trace_len + need + 1 > sizeof gvt_trace_buf) {
        gvt_trace_overflow = 1;
        return;
    }
    if (gvt_trace_len)
        gvt_trace_buf[gvt_trace_len++] = ' ';
    memcpy(gvt_trace_buf + gvt_trace_len, tok, (size_t)n + 1);
    gvt_trace_len += (size_t)n;
}

/* ------------------------------------------------------ child processes */

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define GVT_CHILD_TIMEOUT (-1)

/* gvt_run_child runs fn(arg) in a forked child whose stderr goes into
 * errbuf (NUL-terminated, may be NULL), and returns its wait status, or
 * GVT_CHILD_TIMEOUT if it had not ended after timeout_ms (it is then
 * killed). The child exits with fn's return value. It starts with the
 * default disposition for the fault signals cmocka catches, as a plain
 * program would. Call it only while grove is shut down in the parent. */
static inline int
gvt_run_child(int (*fn)(void *), void *arg, int timeout_ms, char *errbuf,
              size_t errcap)
{
    int p[2];
    if (pipe(p) != 0)
        return -2;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        alarm((unsigned)(timeout_ms / 1000 + 5));
        _exit(fn(arg));
    }
    close(p[1]);
    size_t len = 0;
    int64_t end = gvt_mono_ms() + timeout_ms;
    int timed_out = 0;
    for (;;) {
        int64_t left = end - gvt_mono_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        char tmp[512];
        ssize_t n = read(p[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF: the child is gone or closed stderr */
        if (errbuf && errcap > 1) {
            size_t room = errcap - 1 - len;
            size_t take = (size_t)n < room ? (size_t)n : room;
            memcpy(errbuf + len, tmp, take);
            len += take;
        }
    }
    close(p[0]);
    if (errbuf && errcap > 0)
        errbuf[len] = '\0';
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (timed_out || gvt_mono_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return GVT_CHILD_TIMEOUT;
        }
        usleep(2000);
    }
    return timed_out ? GVT_CHILD_TIMEOUT : status;
}

/* gvt_describe_status writes a wait status as text. */
static inline const char *
gvt_describe_status(int status, char *buf, size_t cap)
{
    if (status == GVT_CHILD_TIMEOUT)
        snprintf(buf, cap, "timed out (killed)");
    else if (status < 0)
        snprintf(buf, cap, "could not fork");
    else if (WIFEXITED(status))
        snprintf(buf, cap, "exited with %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, cap, "status 0x%x", status);
    return buf;
}

/* ---------------------------------------------------- out-of-memory sweeps
 *
 * A sweep runs a program once per N = 1, 2, 3, ... in a forked child whose
 * allocator fails the Nth allocation (or every one from the Nth on), and
 * stops at the first run that reached no Nth allocation. Each child
 * reports through its exit status what gvt_oom_verdict found. */
enum {
    GVT_RUN_OK_INJECTED = 0, /* the Nth allocation failed; all went well */
    GVT_RUN_OK_CLEAN = 1,    /* fewer than N allocations: the sweep is done */
    GVT_RUN_BAD_RESULT = 2,  /* a call returned something else than ok/ENOMEM */
    GVT_RUN_LEAK = 3,        /* allocations left after gv_shutdown */
    GVT_RUN_NO_ALLOCS = 4,   /* the allocator was never used */
    GVT_RUN_SETUP = 5,       /* gv_set_allocator refused */
};

/* gvt_oom_install installs the counting allocator failing the Nth
 * allocation (every one from the Nth on with all_after). Returns 0 or
 * GVT_RUN_SETUP for the child to exit with. */
static inline int
gvt_oom_install(long n, int all_after)
{
    gvt_alloc_reset(n, all_after);
    int r = gv_set_allocator(&gvt_allocator);
    if (r != 0) {
        fprintf(stderr, "gv_set_allocator: %s\n", gv_err_name(r));
        return GVT_RUN_SETUP;
    }
    return 0;
}

/* gvt_oom_verdict judges a run after gv_shutdown: bad is what the program
 * said of its own results (bad_what its words). */
static inline int
gvt_oom_verdict(long n, int bad, const char *bad_what)
{
    long allocs = atomic_load(&gvt_alloc_st.allocs);
    long frees = atomic_load(&gvt_alloc_st.frees);
    if (bad) {
        fprintf(stderr, "N=%ld: %s\n", n, bad_what);
        return GVT_RUN_BAD_RESULT;
    }
    if (allocs != frees) {
        fprintf(stderr, "N=%ld: %ld allocations, %ld frees (%ld leaked)\n", n,
                allocs, frees, allocs - frees);
        return GVT_RUN_LEAK;
    }
    if (atomic_load(&gvt_alloc_st.attempts) == 0)
        return GVT_RUN_NO_ALLOCS;
    return atomic_load(&gvt_alloc_st.failed) ? GVT_RUN_OK_INJECTED
                                             : GVT_RUN_OK_CLEAN;
}

static inline bool
gvt_exited_with(int st, int code)
{
    return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == code;
}

/* gvt_oom_sweep sweeps child (which takes N as its argument) over N and
 * asserts that every run went well. */
static inline void
gvt_oom_sweep(int (*child)(void *), long max_sweep, int child_ms)
{
    int failures = 0;
    long n;
    char err[4096];
    for (n = 1; n <= max_sweep; n++) {
        int st = gvt_run_child(child, (void *)(intptr_t)n, child_ms, err,
                               sizeof err);
        if (gvt_exited_with(st, GVT_RUN_OK_CLEAN))
            break;
        if (gvt_exited_with(st, GVT_RUN_OK_INJECTED))
            continue;
        char d[96];
        if (failures < 10)
            print_error("allocation %ld failing: child %s\n%s", n,
                        gvt_describe_status(st, d, sizeof d), err);
        failures++;
        if (gvt_exited_with(st, GVT_RUN_NO_ALLOCS) ||
            gvt_exited_with(st, GVT_RUN_SETUP))
            break; /* the sweep cannot tell anything */
    }
    print_message("swept %ld allocation points: %d failed\n", n, failures);
    assert_true(n <= max_sweep);
    assert_true(n > 1);
    assert_int_equal(failures, 0);
}

/* assert_child_exited_0(status, errbuf): the child ran to exit(0). */
#define assert_child_exited_0(status, errbuf)                                  \
    do {                                                                       \
        int st_ = (status);                                                    \
        if (!(st_ >= 0 && WIFEXITED(st_) && WEXITSTATUS(st_) == 0)) {          \
            char d_[96];                                                       \
            print_error("child %s; its stderr:\n%s\n",                         \
                        gvt_describe_status(st_, d_, sizeof d_),               \
                        (const char *)(errbuf));                               \
            _fail(__FILE__, __LINE__);                                         \
        }                                                                      \
    } while (0)

#endif /* GV_TEST_H */
