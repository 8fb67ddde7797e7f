/* ring: the thread-ring, as the peers' "ring" (shared/peers): 503 actors
 * in a circle, each forwarding the token it receives, decremented, to the
 * next; the one that receives 0 tells main. main puts N into the first:
 * N hops, ns per hop = time / N. The nodes are spawned and parked in
 * gv_recv before the clock starts (gevent's sleep(0); Go and Erlang spawn
 * them before their clock too). No warm-up, as in the peers.
 *
 * Usage: bench_ring [N]   (default 10,000,000)
 * Prints: grove ring <ns> ns/hop
 * On stderr: which node got 0 (N mod 503 + 1, as in the peers) and
 * context switches per hop.
 */
#include "bench.h"

#include <string.h>

#define RING 503

enum { TOKEN = 0 };

static gv_id nodes[RING];
static gv_id main_id;

static void *
node(void *arg)
{
    long i = (long)(intptr_t)arg;
    gv_id next = nodes[(i + 1) % RING];
    for (;;) {
        gv_msg m;
        int rc = gv_recv(&m, GV_FOREVER);
        if (rc == GV_ECANCELED)
            return NULL; /* the run is over */
        if (rc != 0)
            bench_die("gv_recv (node)", rc);
        long t;
        memcpy(&t, m.data, sizeof t);
        gv_msg_free(&m);
        if (t == 0) {
            long id = i + 1;
            rc = gv_send(main_id, TOKEN, &id, sizeof id, GV_FOREVER);
            if (rc != 0)
                bench_die("gv_send (done)", rc);
            return NULL;
        }
        t--;
        rc = gv_send(next, TOKEN, &t, sizeof t, GV_FOREVER);
        if (rc != 0)
            bench_die("gv_send (node)", rc);
    }
}

int
main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 10000000);
    main_id = gv_self();
    for (long i = 0; i < RING; i++) {
        nodes[i] = gv_spawn(node, (void *)(intptr_t)i);
        if (nodes[i] < 0)
            bench_die("gv_spawn", nodes[i]);
    }
    int rc = gv_sleep(0); /* every node runs up to its first gv_recv */
    if (rc != 0)
        bench_die("gv_sleep(0)", rc);

    gv_stats s0, s1;
    gv_get_stats(&s0);
    double t0 = bench_now_ns();
    rc = gv_send(nodes[0], TOKEN, &n, sizeof n, GV_FOREVER);
    if (rc != 0)
        bench_die("gv_send (main)", rc);
    gv_msg m;
    rc = gv_recv(&m, GV_FOREVER);
    double el = bench_now_ns() - t0;
    gv_get_stats(&s1);
    if (rc != 0)
        bench_die("gv_recv (main)", rc);
    long winner;
    memcpy(&winner, m.data, sizeof winner);
    gv_msg_free(&m);
    if (winner != n % RING + 1) {
        fprintf(stderr, "bench: ring: node %ld got 0, expected %ld\n", winner,
                n % RING + 1);
        exit(1);
    }

    bench_report("ring", el / (double)(n > 0 ? n : 1), "ns/hop");
    bench_note("ring: node %ld got 0; %.2f context switches per hop", winner,
               (double)(s1.switches - s0.switches) / (double)(n > 0 ? n : 1));

    /* The other 502 nodes still wait (the peers kill them or exit). */
    for (int i = 0; i < RING; i++)
        gv_kill(nodes[i], GV_NOWAIT);
    rc = gv_joinall(nodes, RING, 0, GV_FOREVER);
    if (rc < RING)
        bench_die("gv_joinall", rc);
    for (int i = 0; i < RING; i++)
        gv_release(nodes[i]);
    gv_shutdown();
    return 0;
}
