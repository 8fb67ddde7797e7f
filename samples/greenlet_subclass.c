/*
 * greenlet_subclass — gevent tutorial, "Spawning Greenlets", the MyGreenlet
 * example.
 *
 * Python subclasses Greenlet and overrides _run. The C way: a struct that
 * holds the task's state (what __init__ stored on self) and a run function
 * that takes it. GV_SPAWN_UNSTARTED creates the task without scheduling it,
 * like constructing a Greenlet; gv_start is g.start(). Prints:
 *
 *     Hi there!
 */
#include <grove.h>

#include <stdio.h>

#include "sample.h"

/* class MyGreenlet(Greenlet) */
struct my_greenlet {
    gv_id id;            /* the Greenlet part */
    const char *message; /* self.message */
    double n;            /* self.n, seconds */
};

/* def _run(self): */
static void *
my_greenlet_run(void *arg)
{
    struct my_greenlet *self = arg;
    printf("%s\n", self->message);
    gv_sleep(sample_ms(self->n));
    return NULL;
}

/* def __init__(self, message, n): create the task, unstarted, with self as
 * its argument. Returns 0 or a GV_E* code. */
static int
my_greenlet_init(struct my_greenlet *self, const char *message, double n)
{
    self->message = message;
    self->n = n;
    gv_spawn_opts opts = {.name = "MyGreenlet", .flags = GV_SPAWN_UNSTARTED};
    self->id = gv_spawn_ex(my_greenlet_run, self, &opts);
    return self->id < 0 ? (int)self->id : 0;
}

int
main(void)
{
    /* g = MyGreenlet("Hi there!", 3) */
    struct my_greenlet g;
    sample_check(my_greenlet_init(&g, "Hi there!", 3), "MyGreenlet");

    sample_check(gv_start(g.id), "start");           /* g.start() */
    sample_check(gv_join(g.id, GV_FOREVER), "join"); /* g.join() */

    gv_release(g.id);
    gv_shutdown();
    return 0;
}
