/* consumer.c — a program built against an installed grove. */
#include <grove.h>
#include <stdio.h>

static void *
worker(void *arg)
{
    gv_sleep(5);
    return arg;
}

int
main(void)
{
    gv_id t = gv_spawn(worker, "installed grove works");
    if (t < 0 || gv_join(t, GV_FOREVER) != 0)
        return 1;
    puts((const char *)gv_value(t));
    gv_shutdown();
    return 0;
}
