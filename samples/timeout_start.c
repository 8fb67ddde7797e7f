/*
 * timeout_start — gevent tutorial, "Timeouts", first example.
 *
 * A timeout scope is a constraint on the runtime of a block of code: once
 * started, every blocking call of the task that started it returns
 * GV_ETIMEDOUT after its deadline, until it is cancelled. Here main opens a
 * 10-second scope (Timeout(seconds).start()) and joins a task that sleeps as
 * long; the join gives up when the scope runs out. Prints:
 *
 *     Could not complete
 */
#include <grove.h>

#include <stdio.h>

#include "sample.h"

/* def wait(): gevent.sleep(10) */
static void *
wait_task(void *arg)
{
    gv_sleep(sample_ms(10));
    return NULL;
}

int
main(void)
{
    double seconds = 10;

    /* timeout = Timeout(seconds); timeout.start()
     * The scope is a plain struct the caller owns: it must stay put until
     * gv_timeout_cancel. */
    gv_timeout timeout;
    sample_check(gv_timeout_start(&timeout, sample_ms(seconds)), "timeout");

    /* try: gevent.spawn(wait).join()  except Timeout: ... */
    gv_id thread = sample_check(gv_spawn(wait_task, NULL), "spawn");
    int rc = gv_join(thread, GV_FOREVER);
    if (rc == GV_ETIMEDOUT)
        printf("Could not complete\n");
    gv_timeout_cancel(&timeout);

    /* The scope bounded main's join, not the task: it still sleeps. */
    gv_kill(thread, GV_FOREVER);
    gv_release(thread);
    gv_shutdown();
    return 0;
}
