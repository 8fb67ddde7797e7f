/*
 * task.c — the greenlet-level API: spawn, start, join, get, kill, exit,
 * sleep and the tutorial's "Greenlet State".
 *
 * A task's record outlives the task until its holder calls gv_release (or
 * at once with GV_SPAWN_DETACHED), so gevent-style code can read value and
 * error after a join. Ids carry a generation: a released or reused slot
 * never answers to an old id.
 */
#include "sched_int.h"

#include <string.h>

#define S gv__S

#define GV__SPAWN_FLAGS                                                        \
    (GV_SPAWN_DETACHED | GV_SPAWN_UNSTARTED | GV_SPAWN_COMPACT |               \
     GV_SPAWN_STANDARD)

gv_id
gv_spawn(gv_fn fn, void *arg)
{
    return gv_spawn_ex(fn, arg, NULL);
}

gv_id
gv_spawn_ex(gv_fn fn, void *arg, const gv_spawn_opts *opts)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    static const gv_spawn_opts none;
    if (opts == NULL)
        opts = &none;
    if (fn == NULL || (opts->flags & ~GV__SPAWN_FLAGS) ||
        ((opts->flags & GV_SPAWN_COMPACT) &&
         (opts->flags & GV_SPAWN_STANDARD)) ||
        opts->overflow < GV_OVERFLOW_BLOCK ||
        opts->overflow > GV_OVERFLOW_DROP_OLDEST)
        return GV_EINVAL;
    int mailbox = opts->mailbox_capacity != 0 || opts->overflow != 0;
    if (mailbox && gv__hooks == NULL)
        return GV_EINVAL; /* no actor layer in this program */
    int compact = (opts->flags & GV_SPAWN_COMPACT) ||
                  (gv__cfg_compact && !(opts->flags & GV_SPAWN_STANDARD));
    size_t size = gv__cfg_stack_size;
    if (opts->stack_size != 0) {
        if (opts->stack_size < 16 * 1024 ||
            opts->stack_size > ((size_t)1 << 30))
            return GV_EINVAL;
        size = (opts->stack_size + 4095) & ~(size_t)4095;
    }
    if (compact) {
        if ((rc = gv__compact_setup()) != 0)
            return rc;
        if (opts->stack_size > S.shared->size)
            return GV_EINVAL; /* compact tasks share one stack */
        size = S.shared->size;
    }
    gv__task *t = gv__task_new();
    if (t == NULL)
        return GV_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    t->stack_size = size;
    if (compact)
        t->flags |= GV__F_COMPACT;
    if (opts->flags & GV_SPAWN_DETACHED)
        t->flags |= GV__F_DETACHED;
    if (opts->name != NULL) {
        size_t n = strnlen(opts->name, sizeof t->name - 1);
        memcpy(t->name, opts->name, n);
        t->name[n] = '\0';
    }
    if (mailbox && (rc = gv__hooks->configure(t, opts)) != 0) {
        gv__task_drop(t);
        return rc;
    }
    S.unfinished++;
    S.spawned++;
    if (opts->flags & GV_SPAWN_UNSTARTED) {
        t->state = GV__NEW;
    } else {
        t->state = GV__QUEUED;
        t->flags |= GV__F_STARTED;
        gv__runq_push(t);
    }
    return t->id;
}

/* lookup_home is gv__lookup with the checks every id-taking call makes. */
static int
lookup_home(gv_id id, gv__task **tp)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    *tp = gv__lookup(id);
    return *tp != NULL ? 0 : GV_ENOENT;
}

int
gv_start(gv_id id)
{
    gv__task *t;
    int rc = lookup_home(id, &t);
    if (rc != 0)
        return rc;
    if (t->state != GV__NEW)
        return GV_EBUSY;
    t->state = GV__QUEUED;
    t->flags |= GV__F_STARTED;
    gv__runq_push(t);
    return 0;
}

int
gv_release(gv_id id)
{
    gv__task *t;
    int rc = lookup_home(id, &t);
    if (rc != 0)
        return rc;
    if (t->flags & GV__F_MAIN)
        return GV_EINVAL;
    t->flags |= GV__F_RELEASED;
    gv__task_unslot(t); /* the id is stale from now on */
    gv__task_maybe_free(t);
    return 0;
}

/* join_task waits for t to finish; the caller's own wait node sits in t's
 * joiner list meanwhile. */
static int
join_task(gv__task *t, int64_t deadline)
{
    gv__task *self = S.current;
    if (t == self)
        return GV_EDEADLK;
    if (t->state == GV__DONE)
        return 0;
    gv__waiter *w = &self->wait;
    gv__list_push(&t->joiners, &w->link);
    int rc = gv__park(deadline);
    gv__list_remove(&w->link);
    return rc;
}

int
gv_join(gv_id id, int64_t deadline)
{
    gv__task *t;
    int rc = lookup_home(id, &t);
    if (rc != 0)
        return rc;
    return join_task(t, deadline);
}

int
gv_joinall(const gv_id *ids, size_t n, size_t count, int64_t deadline)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if ((ids == NULL && n != 0) || count > n || n > INT32_MAX)
        return GV_EINVAL;
    for (size_t i = 0; i < n; i++) {
        gv__task *t = gv__lookup(ids[i]);
        if (t == NULL)
            return GV_ENOENT;
        if (t == S.current)
            return GV_EDEADLK;
    }
    if (count == 0 || count == n) {
        /* all of them: one after the other, one wait node */
        for (size_t i = 0; i < n; i++) {
            gv__task *t = gv__lookup(ids[i]);
            if (t == NULL)
                return GV_ENOENT; /* released meanwhile by someone else */
            if ((rc = join_task(t, deadline)) != 0)
                return rc;
        }
        return (int)n;
    }
    /* count of them: a node in each unfinished task's joiner list */
    gv__waiter *w = NULL;
    size_t done = 0, nw = 0;
    for (;;) {
        done = 0;
        for (size_t i = 0; i < n; i++) {
            gv__task *t = gv__lookup(ids[i]);
            if (t == NULL || t->state == GV__DONE)
                done++;
        }
        if (done >= count)
            break;
        if (w == NULL) {
            w = gv__calloc(n, sizeof *w);
            if (w == NULL)
                return GV_ENOMEM;
            for (size_t i = 0; i < n; i++) {
                gv__task *t = gv__lookup(ids[i]);
                gv__list_init(&w[i].link);
                w[i].task = S.current;
                if (t != NULL && t->state != GV__DONE)
                    gv__list_push(&t->joiners, &w[nw++].link);
            }
        }
        if ((rc = gv__park(deadline)) != 0)
            break;
    }
    if (w != NULL) {
        for (size_t i = 0; i < nw; i++)
            gv__list_remove(&w[i].link);
        gv__free(w);
    }
    return rc != 0 ? rc : (int)done;
}

int
gv_get(gv_id id, void **valuep, int64_t deadline)
{
    gv__task *t;
    int rc = lookup_home(id, &t);
    if (rc != 0)
        return rc;
    if ((rc = join_task(t, deadline)) != 0)
        return rc;
    if ((t = gv__lookup(id)) == NULL)
        return GV_ENOENT;
    if (valuep != NULL)
        *valuep = t->error != 0 ? NULL : t->value;
    return t->error;
}

void
gv__kill_task(gv__task *t)
{
    gv__kill_task_reason(t, 0);
}

void
gv__kill_task_reason(gv__task *t, int reason)
{
    if (t->state == GV__DONE)
        return;
    if (!(t->flags & GV__F_CANCELED))
        t->kill_reason = reason; /* the first kill says why */
    t->flags |= GV__F_CANCELED;
    switch (t->state) {
    case GV__NEW:
    case GV__QUEUED:
        /* never ran: it never will (gevent #330). A queued record stays in
         * the run queue, which skips finished tasks. */
        t->flags |= GV__F_STARTED;
        gv__task_finish(t, gv__cancel_reason(t),
                        gv__cancel_reason(t) == GV_ECANCELED ? "killed" : NULL);
        break;
    case GV__PARKED:
        gv__ready(t, GV_ECANCELED);
        break;
    default: /* runnable or running: its next blocking call fails */
        break;
    }
}

int
gv_kill(gv_id id, int64_t deadline)
{
    gv__task *t;
    int rc = lookup_home(id, &t);
    if (rc != 0)
        return rc;
    if (t == S.current) {
        t->flags |= GV__F_CANCELED;
        return 0;
    }
    gv__kill_task(t);
    if (deadline == GV_NOWAIT)
        return 0;
    return join_task(t, deadline);
}

gv_id
gv_self(void)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    return S.current->id;
}

void
gv_exit(int code, const char *msg)
{
    if (gv__init() != 0) {
        fprintf(stderr, "grove: gv_exit called on a thread that does not "
                        "run grove\n");
        abort();
    }
    gv__task *t = S.current;
    if (code > 0)
        code = -code;
    if (t->flags & GV__F_MAIN) {
        if (code != 0 && msg != NULL)
            fprintf(stderr, "%s\n", msg);
        gv_shutdown();
        exit(code != 0 ? 1 : 0);
    }
    if (code == 0 && (t->flags & GV__F_CANCELED))
        code = gv__cancel_reason(t);
    if (t->ext != NULL && gv__hooks != NULL)
        gv__hooks->exiting(t, code);
    t->value = NULL;
    gv__task_finish(t, code, code != 0 ? msg : NULL);
    gv__exit_current();
}

/* --------------------------------------------------------- greenlet state */

bool
gv_started(gv_id id)
{
    gv__task *t = gv__lookup(id);
    return t != NULL && (t->flags & GV__F_STARTED);
}

bool
gv_ready(gv_id id)
{
    gv__task *t = gv__lookup(id);
    return t != NULL && t->state == GV__DONE;
}

bool
gv_successful(gv_id id)
{
    gv__task *t = gv__lookup(id);
    return t != NULL && t->state == GV__DONE && t->error == 0;
}

bool
gv_canceled(gv_id id)
{
    gv__task *t = gv__lookup(id);
    return t != NULL && (t->flags & GV__F_CANCELED);
}

void *
gv_value(gv_id id)
{
    gv__task *t = gv__lookup(id);
    return t != NULL && t->state == GV__DONE ? t->value : NULL;
}

int
gv_error(gv_id id)
{
    gv__task *t = gv__lookup(id);
    return t != NULL ? t->error : GV_ENOENT;
}

const char *
gv_error_message(gv_id id)
{
    gv__task *t = gv__lookup(id);
    return t != NULL ? t->errmsg : NULL;
}

const char *
gv_name(gv_id id)
{
    gv__task *t = gv__lookup(id);
    return t != NULL ? t->name : NULL;
}
