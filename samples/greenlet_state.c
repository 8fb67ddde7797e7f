/*
 * greenlet_state — gevent tutorial, "Greenlet State".
 *
 * A task's state stays readable after it ends, until its spawner releases
 * it: gv_started, gv_ready, gv_successful, gv_value (what it returned) and
 * gv_error / gv_error_message (how it failed). C has no exceptions: a task
 * fails by calling gv_exit with an error code and a message, and the failure
 * stays inside the task, as an uncaught exception stays inside a greenlet.
 * Prints:
 *
 *     True
 *     True
 *     You win!
 *     None
 *     True
 *     True
 *     True
 *     False
 *     You fail at failing.
 */
#include <grove.h>

#include <stdio.h>

#include "sample.h"

/* def win(): return 'You win!' — a task's value is a void *. */
static void *
win(void *arg)
{
    return "You win!";
}

/* def fail(): raise Exception('You fail at failing.')
 * Any negative error code will do; the message is copied into the task's
 * record. */
static void *
fail(void *arg)
{
    gv_exit(GV_EINVAL, "You fail at failing.");
}

/* print(x) for a string value, None for NULL */
static void
print_value(const void *value)
{
    printf("%s\n", value != NULL ? (const char *)value : "None");
}

int
main(void)
{
    gv_id winner = sample_check(gv_spawn(win, NULL), "spawn win");
    gv_id loser = sample_check(gv_spawn(fail, NULL), "spawn fail");

    printf("%s\n", sample_bool(gv_started(winner))); /* True */
    printf("%s\n", sample_bool(gv_started(loser)));  /* True */

    /* Failures stay inside the task: joining both does not fail. */
    gv_id both[] = {winner, loser};
    if (gv_joinall(both, 2, 0, GV_FOREVER) < 0)
        printf("This will never be reached\n");

    print_value(gv_value(winner)); /* 'You win!' */
    print_value(gv_value(loser));  /* None */

    printf("%s\n", sample_bool(gv_ready(winner))); /* True */
    printf("%s\n", sample_bool(gv_ready(loser)));  /* True */

    printf("%s\n", sample_bool(gv_successful(winner))); /* True */
    printf("%s\n", sample_bool(gv_successful(loser)));  /* False */

    /* print(loser.exception): the failure does not unwind main's stack. It
     * could be "raised again" here: gv_get(loser, ...) returns its code. */
    if (gv_error(loser) != 0)
        printf("%s\n", gv_error_message(loser));

    gv_release(winner);
    gv_release(loser);
    gv_shutdown();
    return 0;
}
