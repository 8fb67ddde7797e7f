/* notifier.c — gv_notifier: how a thread grove does not run wakes a task.
 *
 * A post sets the flag and queues the notifier on the scheduler's lock-free
 * stack (once until drained), then uv_async_send wakes the loop; the drain
 * on the home thread readies the waiter. uv_async_send coalesces, so the
 * drain takes the whole stack each time (libuv #619). The async handle is
 * unreferenced unless a task waits on a notifier, so a program whose only
 * hope is a foreign thread is not reported as deadlocked, and one with no
 * such waiter is. */
#include "sched_int.h"

#define S gv__S

struct gv_notifier {
    gv__remote remote;
    atomic_int posted;
    int freed; /* freed while queued: the drain frees it */
    gv__task *waiter;
};

static void
notifier_drained(gv__remote *r)
{
    gv_notifier *n = (gv_notifier *)r;
    if (n->freed) {
        gv__free(n);
        return;
    }
    if (n->waiter != NULL && atomic_load(&n->posted))
        gv__ready(n->waiter, 0);
}

int
gv_notifier_new(gv_notifier **np)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (np == NULL)
        return GV_EINVAL;
    gv_notifier *n = gv__calloc(1, sizeof *n);
    if (n == NULL)
        return GV_ENOMEM;
    n->remote.cb = notifier_drained;
    atomic_init(&n->remote.queued, 0);
    atomic_init(&n->posted, 0);
    *np = n;
    return 0;
}

int
gv_notifier_post(gv_notifier *n)
{
    if (n == NULL)
        return GV_EINVAL;
    atomic_store_explicit(&n->posted, 1, memory_order_release);
    if (gv__home) {
        /* the scheduler's own thread: wake the waiter directly, no trip
         * through the loop and no system call */
        if (n->waiter != NULL)
            gv__ready(n->waiter, 0);
        return 0;
    }
    gv__remote_post(&n->remote);
    return 0;
}

int
gv_notifier_wait(gv_notifier *n, int64_t deadline)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (n == NULL)
        return GV_EINVAL;
    if (n->waiter != NULL)
        return GV_EBUSY;
    gv__task *t = S.current;
    for (;;) {
        if (atomic_exchange_explicit(&n->posted, 0, memory_order_acq_rel))
            return 0;
        n->waiter = t;
        gv__remote_wait(+1);
        rc = gv__park(deadline);
        gv__remote_wait(-1);
        n->waiter = NULL;
        if (rc != 0)
            return rc;
    }
}

void
gv_notifier_free(gv_notifier *n)
{
    if (n == NULL)
        return;
    if (atomic_load(&n->remote.queued) && gv__home && S.inited) {
        n->freed = 1; /* still on the remote stack: the drain frees it */
        return;
    }
    gv__free(n);
}
