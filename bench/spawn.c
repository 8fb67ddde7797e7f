/* spawn: spawn N trivial tasks and wait until all have finished; ns per
 * spawn (spawn + run + finish + free), and the process's peak RSS.
 *
 * Mirrors the peers' "spawn": Go starts N goroutines and waits on a
 * WaitGroup, Erlang spawns N processes counted with an atomic whose last
 * increment messages the parent, gevent spawns N greenlets and joinall()s.
 *
 *  - detached (default; the Go/Erlang shape): GV_SPAWN_DETACHED tasks bump a
 *    counter; the last one posts a notifier that main waits on.
 *    Prints "spawn" and "spawn_peak_rss".
 *  - joinall (the gevent shape): plain gv_spawn, then gv_joinall over all N
 *    ids, then gv_release of each (inside the timing: the record is freed
 *    there). Prints "spawn_joinall" and "spawn_joinall_peak_rss".
 *
 * Every task is spawned before any runs (main does not block until the
 * last spawn), as in the peers.
 *
 * Usage: bench_spawn [N] [detached|joinall]   (default 1,000,000 detached)
 */
#include "bench.h"

#include <string.h>

static long n_tasks, n_done;
static gv_notifier *all_done;

static void *
trivial(void *arg)
{
    if (++n_done == n_tasks)
        gv_notifier_post(all_done);
    return arg;
}

static double
run_detached(long n)
{
    static const gv_spawn_opts opts = {.flags = GV_SPAWN_DETACHED};
    n_tasks = n;
    n_done = 0;
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        gv_id id = gv_spawn_ex(trivial, NULL, &opts);
        if (id < 0)
            bench_die("gv_spawn_ex", id);
    }
    if (n > 0) {
        int rc = gv_notifier_wait(all_done, GV_FOREVER);
        if (rc != 0)
            bench_die("gv_notifier_wait", rc);
    }
    double el = bench_now_ns() - t0;
    if (n_done != n)
        bench_die("counting finished tasks", GV_EINVAL);
    return el;
}

static double
run_joinall(long n)
{
    gv_id *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    if (ids == NULL)
        bench_die("malloc", GV_ENOMEM);
    n_tasks = -1; /* nobody posts */
    n_done = 0;
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        ids[i] = gv_spawn(trivial, NULL);
        if (ids[i] < 0)
            bench_die("gv_spawn", ids[i]);
    }
    if (n > 0) {
        int rc = gv_joinall(ids, (size_t)n, 0, GV_FOREVER);
        if (rc != n)
            bench_die("gv_joinall", rc);
    }
    for (long i = 0; i < n; i++)
        gv_release(ids[i]);
    double el = bench_now_ns() - t0;
    free(ids);
    if (n_done != n)
        bench_die("counting finished tasks", GV_EINVAL);
    return el;
}

int
main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 1000000);
    const char *mode = argc > 2 ? argv[2] : "detached";
    int joinall = strcmp(mode, "joinall") == 0;
    if (!joinall && strcmp(mode, "detached") != 0) {
        fprintf(stderr, "usage: bench_spawn [N] [detached|joinall]\n");
        return 2;
    }
    int rc = gv_notifier_new(&all_done);
    if (rc != 0)
        bench_die("gv_notifier_new", rc);
    rc = gv_sleep(0); /* start the hub outside the timing */
    if (rc != 0)
        bench_die("gv_sleep(0)", rc);

    double el = joinall ? run_joinall(n) : run_detached(n);
    long peak = bench_peak_rss_kib();
    if (n > 0)
        bench_report(joinall ? "spawn_joinall" : "spawn", el / (double)n,
                     "ns/spawn");
    /* The first burst pays the kernel for fresh pages (the records of all
     * n tasks exist at once). The same burst again reuses grove's recycled
     * records: the steady-state cost of a spawn. */
    double warm = joinall ? run_joinall(n) : run_detached(n);
    if (n > 0)
        bench_report(joinall ? "spawn_joinall_warm" : "spawn_warm",
                     warm / (double)n, "ns/spawn");
    bench_report(joinall ? "spawn_joinall_peak_rss" : "spawn_peak_rss",
                 (double)peak, "KiB");
    bench_note_stats("spawn: after");
    gv_notifier_free(all_done);
    gv_shutdown();
    return 0;
}
