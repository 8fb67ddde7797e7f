/*
 * sync_vs_async_tasks — gevent tutorial, "Synchronous & Asynchronous
 * Execution", the non-deterministic task example.
 *
 * task() sleeps for a random 0, 1 or 2 milliseconds. Called in a loop
 * (synchronous) the tasks finish in order 1..9 and the times add up; spawned
 * as ten tasks and joined (asynchronous) they all sleep at once, so the
 * whole batch takes about as long as the longest sleep and they finish in
 * an order that depends on the draw:
 *
 *     Synchronous:
 *     Task 1 done
 *     ...
 *     Task 9 done
 *     Asynchronous:
 *     Task 3 done        (0..9, each once, in a random order)
 *     ...
 *
 * The random seed comes from GROVE_SEED if set, else from the clock; it is
 * printed on stderr so a run can be repeated.
 */
#include <grove.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sample.h"

/* def task(pid): some non-deterministic task */
static void *
task(void *arg)
{
    int pid = (int)(intptr_t)arg;
    /* gevent.sleep(random.randint(0,2)*0.001) */
    gv_sleep(sample_ms((rand() % 3) * 0.001));
    printf("Task %d done\n", pid);
    return NULL;
}

/* def synchronous(): the same function, called in place: each call blocks
 * main until it is done. */
static void
synchronous(void)
{
    for (int i = 1; i < 10; i++)
        task((void *)(intptr_t)i);
}

/* def asynchronous(): one task per call, then wait for all of them. */
static void
asynchronous(void)
{
    gv_id threads[10];
    for (int i = 0; i < 10; i++)
        threads[i] = sample_check(gv_spawn(task, (void *)(intptr_t)i), "spawn");
    sample_check(gv_joinall(threads, 10, 0, GV_FOREVER), "joinall");
    for (int i = 0; i < 10; i++)
        gv_release(threads[i]);
}

int
main(void)
{
    const char *env = getenv("GROVE_SEED");
    unsigned seed = env != NULL ? (unsigned)strtoul(env, NULL, 0)
                                : (unsigned)time(NULL) ^ (unsigned)getpid();
    fprintf(stderr, "GROVE_SEED=%u\n", seed);
    srand(seed);

    printf("Synchronous:\n");
    synchronous();

    printf("Asynchronous:\n");
    asynchronous();

    gv_shutdown();
    return 0;
}
