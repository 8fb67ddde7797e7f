/* blocked: N live tasks blocked at once; ns per spawn (until all are
 * blocked) and resident memory per task.
 *
 * Each task bumps a counter (the last one to start posts a notifier main
 * waits on), then blocks in gv_join on one shared "gate" task: all N wait
 * on one object, as in the peers' Go "blocked_shared" (one channel),
 * gevent "blocked_event" (one Event) and Erlang "blocked" (receive).
 * Memory per task is (RSS with N blocked - RSS before spawning) / N, from
 * /proc/self/statm, the peers' in-process figure (*_inproc_rss); run.sh of
 * the peers also derives one from peak RSS, which agrees within 0.1%.
 * Then main opens the gate, every task wakes and finishes, and grove shuts
 * down: a benchmark that cannot release its tasks fails.
 *
 *  - compact: GV_SPAWN_COMPACT tasks (shared stack, used part copied out).
 *    Prints blocked_compact_spawn, blocked_compact_rss_per_actor,
 *    blocked_compact_actors.
 *  - default: standard tasks with the default stack (a stack each).
 *    Prints blocked_default_spawn, blocked_default_rss_per_actor,
 *    blocked_default_actors.
 *
 * Usage: bench_blocked [N] [compact|default] [stack_kib]
 *        (default N: 1,000,000 compact, 100,000 default)
 */
#include "bench.h"

#include <string.h>

static long n_tasks, n_started, n_finished;
static gv_notifier *gate_open, *all_started, *all_finished;
static gv_id gate;

static void *
gate_fn(void *arg)
{
    int rc = gv_notifier_wait(gate_open, GV_FOREVER);
    if (rc != 0)
        bench_die("gv_notifier_wait (gate)", rc);
    return arg;
}

static void *
blocker(void *arg)
{
    if (++n_started == n_tasks)
        gv_notifier_post(all_started);
    int rc = gv_join(gate, GV_FOREVER);
    if (rc != 0)
        bench_die("gv_join (gate)", rc);
    if (++n_finished == n_tasks)
        gv_notifier_post(all_finished);
    return arg;
}

int
main(int argc, char **argv)
{
    const char *mode = argc > 2 ? argv[2] : "compact";
    int compact = strcmp(mode, "compact") == 0;
    if (!compact && strcmp(mode, "default") != 0) {
        fprintf(stderr,
                "usage: bench_blocked [N] [compact|default] [stack_kib]\n");
        return 2;
    }
    long n = bench_arg_long(argc, argv, 1, compact ? 1000000 : 100000);
    long stack_kib = bench_arg_long(argc, argv, 3, 0);
    if (stack_kib > 0) {
        int rc = gv_set_stack_size((size_t)stack_kib * 1024);
        if (rc != 0)
            bench_die("gv_set_stack_size", rc);
    }

    int rc;
    if ((rc = gv_notifier_new(&gate_open)) != 0 ||
        (rc = gv_notifier_new(&all_started)) != 0 ||
        (rc = gv_notifier_new(&all_finished)) != 0)
        bench_die("gv_notifier_new", rc);
    gate = gv_spawn(gate_fn, NULL);
    if (gate < 0)
        bench_die("gv_spawn (gate)", gate);
    rc = gv_sleep(0); /* the hub is up and the gate parked: baseline */
    if (rc != 0)
        bench_die("gv_sleep(0)", rc);

    gv_spawn_opts opts = {.flags = GV_SPAWN_DETACHED |
                                   (compact ? GV_SPAWN_COMPACT : 0)};
    n_tasks = n;
    long long rss0 = bench_rss_bytes();
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        gv_id id = gv_spawn_ex(blocker, NULL, &opts);
        if (id < 0)
            bench_die("gv_spawn_ex", id);
    }
    if (n > 0 && (rc = gv_notifier_wait(all_started, GV_FOREVER)) != 0)
        bench_die("gv_notifier_wait (started)", rc);
    double el = bench_now_ns() - t0;
    long long rss1 = bench_rss_bytes();

    char name[64];
    if (n > 0) {
        snprintf(name, sizeof name, "blocked_%s_spawn", mode);
        bench_report(name, el / (double)n, "ns/spawn");
        snprintf(name, sizeof name, "blocked_%s_rss_per_actor", mode);
        bench_report(name, (double)(rss1 - rss0) / (double)n, "bytes/actor");
    }
    snprintf(name, sizeof name, "blocked_%s_actors", mode);
    bench_report(name, (double)n, "actors");
    bench_note("blocked %s: rss before %lld KiB, with %ld blocked %lld KiB",
               mode, rss0 / 1024, n, rss1 / 1024);
    bench_note_stats("blocked: all blocked");

    double t1 = bench_now_ns();
    gv_notifier_post(gate_open);
    if (n > 0 && (rc = gv_notifier_wait(all_finished, GV_FOREVER)) != 0)
        bench_die("gv_notifier_wait (finished)", rc);
    double t2 = bench_now_ns();
    if ((rc = gv_join(gate, GV_FOREVER)) != 0)
        bench_die("gv_join (gate)", rc);
    gv_release(gate);
    bench_note("blocked %s: waking and finishing all took %.1f ns/actor", mode,
               n ? (t2 - t1) / (double)n : 0.0);
    bench_note_stats("blocked: all finished");
    gv_notifier_free(gate_open);
    gv_notifier_free(all_started);
    gv_notifier_free(all_finished);
    double t3 = bench_now_ns();
    gv_shutdown();
    bench_note("blocked %s: gv_shutdown took %.1f ms; peak rss %ld KiB", mode,
               (bench_now_ns() - t3) / 1e6, bench_peak_rss_kib());
    return 0;
}
