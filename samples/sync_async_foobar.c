/*
 * sync_async_foobar — gevent tutorial, "Synchronous & Asynchronous
 * Execution", first example.
 *
 * Two tasks yield to each other with gv_sleep(0) (gevent.sleep(0)): each
 * call lets every other runnable task run once before the caller goes on,
 * so the four lines interleave foo, bar, foo, bar:
 *
 *     Running in foo
 *     Explicit context to bar
 *     Explicit context switch to foo again
 *     Implicit context switch back to bar
 */
#include <grove.h>

#include <stdio.h>

#include "sample.h"

/* def foo(): */
static void *
foo(void *arg)
{
    printf("Running in foo\n");
    gv_sleep(0); /* gevent.sleep(0): yield to bar */
    printf("Explicit context switch to foo again\n");
    return NULL;
}

/* def bar(): */
static void *
bar(void *arg)
{
    printf("Explicit context to bar\n");
    gv_sleep(0); /* yield back to foo */
    printf("Implicit context switch back to bar\n");
    return NULL;
}

int
main(void)
{
    /* gevent.joinall([gevent.spawn(foo), gevent.spawn(bar)]) */
    gv_id tasks[2];
    tasks[0] = sample_check(gv_spawn(foo, NULL), "spawn foo");
    tasks[1] = sample_check(gv_spawn(bar, NULL), "spawn bar");
    sample_check(gv_joinall(tasks, 2, 0, GV_FOREVER), "joinall");

    /* Python frees a finished greenlet when nobody refers to it; in C the
     * spawner says so. */
    gv_release(tasks[0]);
    gv_release(tasks[1]);
    gv_shutdown(); /* free what grove holds (optional right before exit) */
    return 0;
}
