/* switch: micro figures below "yield", for reading a profile.
 *
 *  - yield_solo: main alone calling gv_sleep(0) N times: the scheduler's
 *    yield path (run queue, loop poll) with no other task to switch to.
 *  - pingpong_notifier: main and one task hand a gv_notifier flag back and
 *    forth N times: park + ready + one switch per message (ns per message,
 *    2N messages, as the peers count their channel ping-pong): the floor
 *    under bench_pingpong's mailbox messages, without envelopes or
 *    payloads. run.sh does not ratio it.
 *
 * Usage: bench_switch [N]   (default 2,000,000)
 */
#include "bench.h"

static gv_notifier *to_main, *to_task;

static void *
ponger(void *arg)
{
    long n = *(const long *)arg;
    for (long i = 0; i < n; i++) {
        int rc = gv_notifier_wait(to_task, GV_FOREVER);
        if (rc != 0)
            bench_die("gv_notifier_wait (task)", rc);
        gv_notifier_post(to_main);
    }
    return NULL;
}

static double
pingpong(long n)
{
    gv_id id = gv_spawn(ponger, &n);
    if (id < 0)
        bench_die("gv_spawn", id);
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        gv_notifier_post(to_task);
        int rc = gv_notifier_wait(to_main, GV_FOREVER);
        if (rc != 0)
            bench_die("gv_notifier_wait (main)", rc);
    }
    double el = bench_now_ns() - t0;
    int rc = gv_join(id, GV_FOREVER);
    if (rc != 0)
        bench_die("gv_join", rc);
    gv_release(id);
    return el;
}

static double
solo(long n)
{
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        int rc = gv_sleep(0);
        if (rc != 0)
            bench_die("gv_sleep(0)", rc);
    }
    return bench_now_ns() - t0;
}

int
main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 2000000);
    if (n == 0)
        n = 1;
    int rc = gv_notifier_new(&to_main);
    if (rc != 0)
        bench_die("gv_notifier_new", rc);
    rc = gv_notifier_new(&to_task);
    if (rc != 0)
        bench_die("gv_notifier_new", rc);

    solo(n / 10 + 1);
    bench_report("yield_solo", solo(n) / (double)n, "ns/call");

    pingpong(n / 10 + 1);
    bench_report("pingpong_notifier", pingpong(n) / (2.0 * (double)n),
                 "ns/msg");

    gv_notifier_free(to_main);
    gv_notifier_free(to_task);
    gv_shutdown();
    return 0;
}
