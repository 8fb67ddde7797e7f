/* timeout.c — timeout scopes (gevent's Timeout) and gv_with_timeout.
 *
 * A scope only records a deadline on the task that opened it; gv__park
 * honours the earliest deadline of the open scopes. Scopes live in the
 * caller's memory and are touched only by their own task, so they are safe
 * on a compact task's stack. */
#include "sched_int.h"

#define S gv__S

int
gv_timeout_start(gv_timeout *to, int64_t ms)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (to == NULL)
        return GV_EINVAL;
    gv__task *t = S.current;
    for (gv_timeout *s = t->scopes; s != NULL; s = s->outer)
        if (s == to)
            return GV_EINVAL; /* already open: it would enclose itself */
    to->deadline = ms < 0 ? GV_FOREVER : gv_now() + ms;
    to->outer = t->scopes;
    to->effective = gv__min_deadline(to->deadline, gv__scope_deadline(t));
    to->owner = t;
    t->scopes = to;
    return 0;
}

int
gv_timeout_cancel(gv_timeout *to)
{
    if (!gv__home || to == NULL || to->owner != S.current)
        return GV_EINVAL;
    gv__task *t = S.current;
    gv_timeout *s = t->scopes;
    while (s != NULL && s != to)
        s = s->outer;
    if (s == NULL)
        return GV_EINVAL;
    /* close it and whatever was opened inside it */
    for (s = t->scopes; s != to; s = s->outer)
        s->owner = NULL;
    t->scopes = to->outer;
    to->owner = NULL;
    return 0;
}

bool
gv_timeout_expired(const gv_timeout *to)
{
    return to != NULL && to->deadline >= 0 && gv_now() >= to->deadline;
}

int
gv_with_timeout(int64_t ms, gv_fn fn, void *arg, void **valuep)
{
    if (fn == NULL)
        return GV_EINVAL;
    gv_timeout to;
    int rc = gv_timeout_start(&to, ms);
    if (rc != 0)
        return rc;
    void *v = fn(arg);
    int expired = gv_timeout_expired(&to);
    gv_timeout_cancel(&to);
    if (valuep != NULL)
        *valuep = v;
    return expired ? GV_ETIMEDOUT : 0;
}
