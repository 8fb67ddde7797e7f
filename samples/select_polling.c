/*
 * select_polling — gevent tutorial, "Synchronous & Asynchronous Execution",
 * the select() example.
 *
 * select() is a blocking call; under gevent (and grove) it only blocks the
 * task that makes it. Here gv_wait_fd on a pipe that nobody writes, with a
 * deadline 2 seconds away, is the cooperative select.select([], [], [], 2):
 * while gr1 and gr2 poll, gr3 runs at once, and both polls end together
 * 2 seconds after the start, not 4:
 *
 *     Started Polling: at 0.0 seconds
 *     Started Polling: at 0.0 seconds
 *     Hey lets do some stuff while the greenlets poll, at 0.0 seconds
 *     Ended Polling: at 2.0 seconds
 *     Ended Polling: at 2.0 seconds
 *
 * (Times scale with GROVE_TIME_SCALE; see sample.h.)
 */
#include <grove.h>

#include <stdio.h>
#include <unistd.h>

#include "sample.h"

static int64_t start;  /* start = time.time() */
static int never_read; /* the read end of a pipe nobody writes */

/* tic = lambda: 'at %1.1f seconds' % (time.time() - start) */
static double
tic(void)
{
    return sample_seconds(gv_now() - start);
}

/* select.select([], [], [], 2): park this task until the fd is readable
 * (never) or the deadline passes. Only this task waits; the others run. */
static void
poll_two_seconds(void)
{
    int rc = gv_wait_fd(never_read, GV_READABLE, gv_deadline(sample_ms(2)));
    if (rc != GV_ETIMEDOUT)
        fprintf(stderr, "gv_wait_fd: expected a timeout, got %d\n", rc);
}

/* def gr1(): and def gr2(): are the same */
static void *
gr(void *arg)
{
    printf("Started Polling: at %1.1f seconds\n", tic());
    poll_two_seconds();
    printf("Ended Polling: at %1.1f seconds\n", tic());
    return NULL;
}

/* def gr3(): */
static void *
gr3(void *arg)
{
    printf(
        "Hey lets do some stuff while the greenlets poll, at %1.1f seconds\n",
        tic());
    gv_sleep(sample_ms(1));
    return NULL;
}

int
main(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        return 1;
    }
    never_read = fds[0];
    start = gv_now();

    /* gevent.joinall([gevent.spawn(gr1), gevent.spawn(gr2),
     *                 gevent.spawn(gr3)]) */
    gv_id tasks[3];
    tasks[0] = sample_check(gv_spawn(gr, NULL), "spawn gr1");
    tasks[1] = sample_check(gv_spawn(gr, NULL), "spawn gr2");
    tasks[2] = sample_check(gv_spawn(gr3, NULL), "spawn gr3");
    sample_check(gv_joinall(tasks, 3, 0, GV_FOREVER), "joinall");

    for (int i = 0; i < 3; i++)
        gv_release(tasks[i]);
    gv_shutdown();
    close(fds[0]);
    close(fds[1]);
    return 0;
}
