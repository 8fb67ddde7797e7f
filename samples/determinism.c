/*
 * determinism — gevent tutorial, "Determinism".
 *
 * Green threads are deterministic: the same tasks with the same inputs run
 * in the same order every time. The tutorial shows it with a gevent Pool's
 * imap_unordered; until grove has pools, this sample does the same with
 * plain spawns: ten echo tasks that each sleep a millisecond and record the
 * order in which they finish. Four runs give four equal orders:
 *
 *     True
 *
 * (The tutorial's multiprocessing half, which prints False, has no grove
 * counterpart: OS processes are what make it non-deterministic.)
 */
#include <grove.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sample.h"

#define NTASKS 10
#define NRUNS 4

/* One run: the order in which its echo tasks finished. */
struct run {
    int order[NTASKS];
    int done;
};

struct echo_arg {
    int i;
    struct run *run;
};

/* def echo(i): time.sleep(0.001); return i
 * "returning" here means reporting i as the next result of the run, as
 * imap_unordered yields results in the order they complete. */
static void *
echo(void *arg)
{
    struct echo_arg *a = arg;
    gv_sleep(sample_ms(0.001));
    a->run->order[a->run->done++] = a->i;
    return (void *)(intptr_t)a->i;
}

/* [a for a in p.imap_unordered(echo, xrange(10))] */
static void
run_echoes(struct run *run)
{
    struct echo_arg args[NTASKS];
    gv_id tasks[NTASKS];

    run->done = 0;
    for (int i = 0; i < NTASKS; i++) {
        args[i].i = i;
        args[i].run = run;
        tasks[i] = sample_check(gv_spawn(echo, &args[i]), "spawn echo");
    }
    /* args lives on this stack until every echo has finished */
    sample_check(gv_joinall(tasks, NTASKS, 0, GV_FOREVER), "joinall");
    for (int i = 0; i < NTASKS; i++)
        gv_release(tasks[i]);
}

int
main(void)
{
    struct run runs[NRUNS];
    for (int r = 0; r < NRUNS; r++)
        run_echoes(&runs[r]);

    /* print(run1 == run2 == run3 == run4) */
    bool equal = true;
    for (int r = 1; r < NRUNS; r++)
        equal = equal && runs[r].done == NTASKS && runs[0].done == NTASKS &&
                memcmp(runs[r].order, runs[0].order, sizeof runs[0].order) == 0;
    printf("%s\n", sample_bool(equal));

    gv_shutdown();
    return 0;
}
