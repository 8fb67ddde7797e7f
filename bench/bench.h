/* bench.h — helpers shared by grove's benchmark mains in bench/.
 *
 * Each benchmark prints one line per figure, "grove <name> <value> <unit>",
 * the shape of the peers' lines (shared/peers): run.sh takes medians of them.
 * Diagnostics go to stderr as "# ..." lines so stdout stays machine-readable.
 */
#ifndef GV_BENCH_H
#define GV_BENCH_H

#include <grove.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static inline double
bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline void
bench_report(const char *name, double value, const char *unit)
{
    printf("grove %s %.1f %s\n", name, value, unit);
    fflush(stdout);
}

static inline void
bench_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* bench_die reports a grove error on stderr and exits 1: a benchmark that
 * saw an error prints no figure rather than a wrong one. */
static inline _Noreturn void
bench_die(const char *what, long long err)
{
    fprintf(stderr, "bench: %s failed: %lld %s (%s)\n", what, err,
            gv_err_name((int)err), gv_strerror((int)err));
    exit(1);
}

/* bench_arg_long returns argv[i] as a count, or def if absent. */
static inline long
bench_arg_long(int argc, char **argv, int i, long def)
{
    if (argc <= i)
        return def;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "bench: bad count '%s'\n", argv[i]);
        exit(2);
    }
    return v;
}

/* bench_rss_bytes returns the resident set now, from /proc/self/statm (the
 * peers read VmRSS from /proc/self/status: the same number). */
static inline long long
bench_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* bench_peak_rss_kib returns the peak resident set so far (ru_maxrss, KiB:
 * what /usr/bin/time -v reports for the peers). */
static inline long
bench_peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static inline void
bench_note_stats(const char *when)
{
    gv_stats st;
    if (gv_get_stats(&st) != 0)
        return;
    bench_note(
        "%s: switches=%llu spawned=%llu live_tasks=%llu "
        "stacks_mapped=%llu stacks_in_use=%llu stacks_pooled=%llu "
        "guarded_stacks=%llu guard_fallback=%d",
        when, (unsigned long long)st.switches, (unsigned long long)st.spawned,
        (unsigned long long)st.live_tasks, (unsigned long long)st.stacks_mapped,
        (unsigned long long)st.stacks_in_use,
        (unsigned long long)st.stacks_pooled,
        (unsigned long long)st.guarded_stacks, (int)st.guard_fallback);
}

#endif /* GV_BENCH_H */
