/*
 * shutdown — gevent tutorial, "Program Shutdown".
 *
 * A task that never yields its sleep would keep the program alive. The
 * pattern: handle SIGQUIT by calling gv_shutdown, which kills every task and
 * wakes main's blocking call with GV_ECANCELED, so main can wind up:
 *
 *     ./shutdown &
 *     kill -QUIT $!      # exits at once, status 0
 *
 * It prints nothing on stdout; on stderr it says when it is ready for the
 * signal and when it leaves. (samples/check_shutdown.sh is its test.)
 */
#include <grove.h>

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "sample.h"

/* def run_forever(): gevent.sleep(1000) */
static void *
run_forever(void *arg)
{
    gv_sleep(sample_ms(1000));
    return NULL;
}

/* gevent.signal(signal.SIGQUIT, gevent.shutdown): the handler runs in a
 * task of its own, so it may call anything grove offers. */
static void
on_sigquit(int signum, void *arg)
{
    gv_shutdown();
}

int
main(void)
{
    sample_check(gv_signal(SIGQUIT, on_sigquit, NULL), "signal");
    fprintf(stderr, "shutdown: pid %ld waits for SIGQUIT\n", (long)getpid());

    /* thread = gevent.spawn(run_forever); thread.join() */
    gv_id thread = sample_check(gv_spawn(run_forever, NULL), "spawn");
    int rc = gv_join(thread, GV_FOREVER);

    /* GV_ECANCELED: gv_shutdown ran in the handler. 0 would mean
     * run_forever came to its end. */
    fprintf(stderr, "shutdown: join returned %s\n",
            rc == 0 ? "0" : gv_err_name(rc));
    gv_release(thread);
    gv_shutdown(); /* from main: wait for the killed tasks, free everything */
    return rc == 0 || rc == GV_ECANCELED ? 0 : 1;
}
