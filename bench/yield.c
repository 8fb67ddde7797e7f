/* yield: two tasks each calling gv_sleep(0) N times; ns per switch, counting
 * 2N switches in all — as the Go (runtime.Gosched), Erlang (erlang:yield)
 * and gevent (gevent.sleep(0)) peers count their "yield".
 *
 * Usage: bench_yield [N]   (default 2,000,000)
 * Prints: grove yield <ns> ns/switch
 * On stderr: how many context switches the scheduler counted per
 * gv_sleep(0) (1.0 when a yield is one direct task-to-task switch).
 */
#include "bench.h"

static void *
yielder(void *arg)
{
    long n = *(const long *)arg;
    for (long i = 0; i < n; i++) {
        int rc = gv_sleep(0);
        if (rc != 0)
            bench_die("gv_sleep(0)", rc);
    }
    return NULL;
}

/* run spawns the two yielders and returns the ns from the first switch to
 * both finished (the peers also start their clock after creating them). */
static double
run(long n)
{
    gv_id ids[2];
    for (int i = 0; i < 2; i++) {
        ids[i] = gv_spawn(yielder, &n);
        if (ids[i] < 0)
            bench_die("gv_spawn", ids[i]);
    }
    double t0 = bench_now_ns();
    int rc = gv_joinall(ids, 2, 0, GV_FOREVER);
    double el = bench_now_ns() - t0;
    if (rc < 2)
        bench_die("gv_joinall", rc);
    for (int i = 0; i < 2; i++)
        gv_release(ids[i]);
    return el;
}

int
main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 2000000);
    if (n == 0)
        n = 1;
    run(n / 10 + 1); /* warm-up, as the peers do */

    gv_stats s0, s1;
    gv_get_stats(&s0);
    double el = run(n);
    gv_get_stats(&s1);

    bench_report("yield", el / (2.0 * (double)n), "ns/switch");
    bench_note("yield: %.2f context switches per gv_sleep(0)",
               (double)(s1.switches - s0.switches) / (2.0 * (double)n));
    gv_shutdown();
    return 0;
}
