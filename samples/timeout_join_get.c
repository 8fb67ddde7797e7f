/*
 * timeout_join_get — gevent tutorial, "Timeouts", the last example.
 *
 * Besides scopes, every blocking call takes a deadline of its own: an
 * absolute time on the loop clock (gv_deadline(ms) is "ms from now"). A join
 * or get whose deadline passes returns GV_ETIMEDOUT; gv_with_timeout runs a
 * function in the calling task inside a scope. Prints:
 *
 *     Thread 1 timed out
 *     Thread 2 timed out
 *     Thread 3 timed out
 */
#include <grove.h>

#include <stdio.h>

#include "sample.h"

/* def wait(): gevent.sleep(2) */
static void *
wait_task(void *arg)
{
    gv_sleep(sample_ms(2));
    return NULL;
}

int
main(void)
{
    /* timer = Timeout(1).start(); thread1.join(timeout=timer) */
    int64_t timer = gv_deadline(sample_ms(1));
    gv_id thread1 = sample_check(gv_spawn(wait_task, NULL), "spawn 1");
    if (gv_join(thread1, timer) == GV_ETIMEDOUT)
        printf("Thread 1 timed out\n");

    /* timer = Timeout.start_new(1); thread2.get(timeout=timer) */
    timer = gv_deadline(sample_ms(1));
    gv_id thread2 = sample_check(gv_spawn(wait_task, NULL), "spawn 2");
    void *value;
    if (gv_get(thread2, &value, timer) == GV_ETIMEDOUT)
        printf("Thread 2 timed out\n");

    /* gevent.with_timeout(1, wait): wait runs in main, inside a scope */
    if (gv_with_timeout(sample_ms(1), wait_task, NULL, NULL) == GV_ETIMEDOUT)
        printf("Thread 3 timed out\n");

    /* A join that timed out leaves its task running. thread1 has finished
     * by now (it slept 2 s of the 3 s that passed); thread2 is still
     * asleep. */
    gv_kill(thread2, GV_FOREVER);
    gv_release(thread1);
    gv_release(thread2);
    gv_shutdown();
    return 0;
}
