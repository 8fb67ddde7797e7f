/* pingpong: one-way message latency between two actors, as the peers'
 * "pingpong" (shared/peers): main is the pinger and sends an int v to a
 * ponger spawned before the clock starts; the ponger answers v + 1 to the
 * message's sender (Erlang's {From, V} -> From ! V + 1). N round trips,
 * 2N messages: ns per message = time / 2N. A warm-up of N/10 round trips
 * runs first, as in the Go and Erlang peers.
 *
 * Usage: bench_pingpong [N]   (default 2,000,000)
 * Prints: grove pingpong <ns> ns/msg
 * On stderr: context switches per message and the ponger's mailbox high
 * water (1 when every message is taken as soon as it arrives).
 */
#include "bench.h"

#include <string.h>

enum { VALUE = 0, STOP = 1 };

static void *
ponger(void *arg)
{
    for (;;) {
        gv_msg m;
        int rc = gv_recv(&m, GV_FOREVER);
        if (rc != 0)
            bench_die("gv_recv (ponger)", rc);
        if (m.tag == STOP) {
            gv_msg_free(&m);
            gv_mailbox_info info;
            if (gv_mailbox_inspect(gv_self(), &info) == 0)
                bench_note("pingpong: ponger mailbox high water %zu",
                           info.high_water);
            return NULL;
        }
        long v;
        memcpy(&v, m.data, sizeof v);
        v++;
        rc = gv_send(m.from, VALUE, &v, sizeof v, GV_FOREVER);
        gv_msg_free(&m);
        if (rc != 0)
            bench_die("gv_send (ponger)", rc);
    }
}

/* run plays n round trips and returns their ns (spawn and stop outside
 * the clock, as in the Go, Erlang and gevent peers). */
static double
run(long n)
{
    gv_id p = gv_spawn(ponger, NULL);
    if (p < 0)
        bench_die("gv_spawn", p);
    double t0 = bench_now_ns();
    long v = 0;
    for (long i = 0; i < n; i++) {
        int rc = gv_send(p, VALUE, &v, sizeof v, GV_FOREVER);
        if (rc != 0)
            bench_die("gv_send (pinger)", rc);
        gv_msg m;
        rc = gv_recv(&m, GV_FOREVER);
        if (rc != 0)
            bench_die("gv_recv (pinger)", rc);
        memcpy(&v, m.data, sizeof v);
        gv_msg_free(&m);
    }
    double el = bench_now_ns() - t0;
    if (v != n) {
        fprintf(stderr, "bench: pingpong: value %ld after %ld round trips\n", v,
                n);
        exit(1);
    }
    int rc = gv_send(p, STOP, NULL, 0, GV_FOREVER);
    if (rc != 0)
        bench_die("gv_send (stop)", rc);
    rc = gv_join(p, GV_FOREVER);
    if (rc != 0)
        bench_die("gv_join", rc);
    gv_release(p);
    return el;
}

int
main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 2000000);
    if (n == 0)
        n = 1;
    run(n / 10 + 1); /* warm-up */

    gv_stats s0, s1;
    gv_get_stats(&s0);
    double el = run(n);
    gv_get_stats(&s1);

    bench_report("pingpong", el / (2.0 * (double)n), "ns/msg");
    bench_note("pingpong: %.2f context switches per message",
               (double)(s1.switches - s0.switches) / (2.0 * (double)n));
    gv_shutdown();
    return 0;
}
