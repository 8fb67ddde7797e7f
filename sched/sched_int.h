/*
 * sched_int.h — grove's scheduler internals, shared by the files of sched/
 * and, through the park/ready verbs, by the layers above. Never installed.
 *
 * Design notes
 * ------------
 * A task is a green thread: a record (gv__task) plus, once it first runs, a
 * stack. Everything that blocks is built on two verbs:
 *
 *   gv__park(deadline)   suspend the current task until gv__ready() or the
 *                        deadline; returns the code the waker passed, or
 *                        GV_ETIMEDOUT / GV_ECANCELED;
 *   gv__ready(t, code)   make a parked task runnable (home thread only;
 *                        other threads go through gv__remote_post).
 *
 * The run queue is a FIFO drained by direct task-to-task switches. The hub
 * is a context of its own that polls the libuv loop: without blocking when
 * a batch of switches is used up (so a yielding task cannot starve timers or
 * fds), blocking when nothing is runnable. Deadlines live in one binary heap
 * ordered by (deadline, sequence), so equal deadlines fire in the order they
 * were set and a run is deterministic.
 *
 * Wait nodes never live on a task's stack: a compact task's stack is copied
 * away while it is parked, so wakers only ever touch task records.
 */
#ifndef GV_SCHED_INT_H
#define GV_SCHED_INT_H

#include "grove.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#if defined(__SANITIZE_ADDRESS__)
#define GV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GV_ASAN 1
#endif
#endif

#define GV_LIKELY(x) __builtin_expect(!!(x), 1)
#define GV_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* GV_ASSERT is for bugs only and stays on in release builds. */
#define GV_ASSERT(x)                                                           \
    (GV_LIKELY(x) ? (void)0 : gv__assert_fail(#x, __FILE__, __LINE__))
_Noreturn void gv__assert_fail(const char *expr, const char *file, int line);

/* ------------------------------------------------------------- allocation */

void *gv__malloc(size_t size);
void *gv__calloc(size_t n, size_t size);
void *gv__realloc(void *ptr, size_t size);
void gv__free(void *ptr);
char *gv__strndup(const char *s, size_t max);
/* gv__alloc_is_default: no custom allocator is installed. */
int gv__alloc_is_default(void);

/* ----------------------------------------------------------- intrusive list */

typedef struct gv__list {
    struct gv__list *next, *prev;
} gv__list;

static inline void
gv__list_init(gv__list *l)
{
    l->next = l->prev = l;
}

static inline int
gv__list_empty(const gv__list *l)
{
    return l->next == l;
}

static inline void
gv__list_push(gv__list *l, gv__list *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}

/* gv__list_remove unlinks n and leaves it self-linked, so removing twice or
 * asking gv__list_linked afterwards is safe. */
static inline void
gv__list_remove(gv__list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

static inline int
gv__list_linked(const gv__list *n)
{
    return n->next != n;
}

#define GV__CONTAINER(ptr, type, member)                                       \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#include "context.h"

/* ----------------------------------------------------------------- stacks */

enum gv__stack_kind {
    GV__STACK_GUARDED, /* own mapping, PROT_NONE guard below */
    GV__STACK_CANARY,  /* carved from a shared mapping, canary below */
};

typedef struct gv__stack {
    char *lo;               /* lowest usable byte */
    size_t size;            /* usable bytes */
    size_t req;             /* the size asked for: its pool's key */
    struct gv__stack *next; /* free list of the pool */
    char *guard;            /* guard region (GUARDED) or canary (CANARY) */
    size_t guard_len;
    unsigned vg_id; /* valgrind stack id */
    uint8_t kind;
} gv__stack;

/* A canary stack's lowest 64 bytes are not stack and stay zero: a task
 * that writes there has overflowed. Zero, because reading a page nobody
 * wrote maps the shared zero page: the canary costs no memory. */
#define GV__CANARY_LEN 64

/* gv__stack_get takes a stack of at least size usable bytes from the pool or
 * maps one. NULL when the system has no memory for it. */
gv__stack *gv__stack_get(size_t size, int guard);
/* gv__stack_put returns a stack to the pool. */
void gv__stack_put(gv__stack *s);
/* gv__stack_fini unmaps every stack (shutdown). */
void gv__stack_fini(void);
/* gv__stack_overflowed reports a smashed canary. */
static inline int
gv__stack_overflowed(const gv__stack *s)
{
    if (s->kind != GV__STACK_CANARY)
        return 0;
    const uint64_t *w = (const uint64_t *)(const void *)s->guard;
    uint64_t any = 0;
    for (int i = 0; i < GV__CANARY_LEN / 8; i++)
        any |= w[i];
    return any != 0;
}
void gv__stack_stats(gv_stats *st);
/* gv__overflow_install sets up the SIGSEGV handler on an alternate stack. */
int gv__overflow_install(void);
void gv__overflow_uninstall(void);
_Noreturn void gv__overflow_report(const char *why);

/* ------------------------------------------------------------------ tasks */

enum gv__state {
    GV__NEW,      /* made with GV_SPAWN_UNSTARTED, not scheduled yet */
    GV__QUEUED,   /* scheduled, never ran yet: no stack */
    GV__RUNNING,  /* the current task */
    GV__RUNNABLE, /* in the run queue, has run before */
    GV__PARKED,   /* suspended in gv__park */
    GV__DONE,     /* finished; record kept until released */
};

enum gv__task_flags {
    GV__F_DETACHED = 1u << 0,
    GV__F_RELEASED = 1u << 1,
    GV__F_CANCELED = 1u << 2,
    GV__F_COMPACT = 1u << 3,
    GV__F_INRUNQ = 1u << 4,
    GV__F_STARTED = 1u << 5, /* gevent's "started" */
    GV__F_SYSTEM = 1u << 6,  /* main, the hub, the swapper: no slot */
    GV__F_MAIN = 1u << 7,
};

struct gv__task;

/* A wait node: how a task sits in somebody's wait list. Every task has one
 * (gv__task.wait) for the one thing it usually waits on. */
typedef struct gv__waiter {
    gv__list link;
    struct gv__task *task;
    int events;  /* what it waits for (fd waits) */
    int revents; /* what happened */
} gv__waiter;

typedef struct gv__task {
    gv__ctx ctx;
    struct gv__task *next; /* run queue */
    gv__stack *stack;
    unsigned flags;
    uint8_t state;
    int park_result;
    gv_fn fn;
    void *arg;
    void *value;
    gv_id id;
    int error;
    char *errmsg;
    size_t stack_size;
    int64_t deadline; /* while in the timer heap */
    uint64_t timer_seq;
    uint32_t heap_index; /* 1-based; 0: not in the heap */
    gv__list joiners;    /* gv__waiter nodes of tasks joining this one */
    gv__list all;        /* every live record (shutdown walks them) */
    gv__waiter wait;
    gv_timeout *scopes; /* innermost open timeout scope */
    void *ext;          /* the actor layer's state (actor/), or NULL */
    int kill_reason;    /* exit reason a kill asked for (0: GV_KILLED) */
    /* compact mode: the used part of the shared stack, saved */
    char *saved;
    size_t saved_len, saved_cap;
#ifdef GV_ASAN
    void *asan_fake;
    const void *asan_lo;
    size_t asan_size;
#endif
    char name[32];
} gv__task;

/* ------------------------------------------------------- remote wake-ups */

/* A node that foreign threads push on the scheduler's lock-free stack; its
 * callback runs on the home thread when the loop drains the stack. */
typedef struct gv__remote {
    struct gv__remote *next;
    atomic_int queued;
    void (*cb)(struct gv__remote *r);
} gv__remote;

/* gv__remote_post queues r (once until drained) and wakes the loop. Any
 * thread. */
void gv__remote_post(gv__remote *r);
/* gv__remote_wait marks the start (+1) or end (-1) of a wait that another
 * thread may end (a notifier, a mailbox): while one lasts the loop counts
 * as alive, so it is never taken for a deadlock. (Only a counter: the hub
 * refs its async handle by it before it blocks.) */
#define gv__remote_wait(delta) (gv__S.remote_waiters += (delta))

/* ------------------------------------------------------------- scheduler */

typedef struct gv__sched {
    int inited;
    uv_loop_t loop;
    gv__task *current;
    gv__task *main;
    gv__task hub;
    gv__task swapper;
    gv__task *runq_head, *runq_tail;
    gv__task *runnext;  /* runs before the queue: woken by a message */
    int runnext_streak; /* tasks taken from runnext in a row */
    int budget;
    gv__task *zombie; /* finished task whose stack/record wait for the next
                         context to reclaim them */
    gv__task *prev;   /* the context we switched away from (ASan bounds) */
    /* task table: ids are (generation << 32 | index) */
    gv__task **slots;
    uint32_t *gens;
    uint32_t *free_idx;
    uint32_t nslots, nfree;
    gv__task *record_cache;
    uint32_t ncached;
    uint64_t live_tasks; /* records alive, main included */
    uint64_t unfinished; /* tasks not DONE, main excluded */
    /* timers */
    uv_timer_t timer;
    gv__task **heap;
    uint32_t heap_len, heap_cap;
    uint64_t timer_seq;
    int64_t timer_armed; /* deadline the uv timer is set for, or -1 */
    /* foreign threads */
    uv_async_t async;
    gv__remote *_Atomic remote_head;
    int64_t remote_waiters; /* tasks another thread may wake */
    /* compact mode */
    gv__stack *shared;
    gv__task *shared_owner;
    gv__task *swap_to;
    int in_poll; /* the hub is inside uv_run */
    /* shutdown */
    gv__task *shutdown_waiter;
    uint64_t switches, spawned;
} gv__sched;

extern gv__sched gv__S;
extern _Thread_local int gv__home __attribute__((tls_model("initial-exec")));

/* configuration (kept across shutdowns) */
extern size_t gv__cfg_stack_size;
extern int gv__cfg_guard;
extern int gv__cfg_compact;

/* gv__init starts the scheduler on the calling thread if it is not running.
 * Returns 0, GV_ENOMEM, GV_ETHREAD or a libuv error. */
int gv__init_slow(void);
static inline int
gv__init(void)
{
    if (GV_LIKELY(gv__home))
        return 0;
    return gv__init_slow();
}

int gv__park(int64_t deadline);

static inline void
gv__runq_push(gv__task *t)
{
    t->next = NULL;
    t->flags |= GV__F_INRUNQ;
    if (gv__S.runq_tail != NULL)
        gv__S.runq_tail->next = t;
    else
        gv__S.runq_head = t;
    gv__S.runq_tail = t;
}

void gv__ready_slow(gv__task *t);

/* gv__ready makes a parked task runnable; its gv__park returns code. A
 * task that is not parked is left alone (a wake-up that lost a race with a
 * deadline or a kill). Home thread only. */
static inline void
gv__ready(gv__task *t, int code)
{
    if (t->state != GV__PARKED)
        return;
    t->park_result = code;
    t->state = GV__RUNNABLE;
    gv__runq_push(t);
    if (GV_UNLIKELY(t->heap_index != 0 || gv__S.in_poll))
        gv__ready_slow(t);
}
/* gv__ready_next is gv__ready for a task woken by a message: it runs
 * next, ahead of the queue (as Go's runnext), so a receiver drains what a
 * sender queued before the sender's peers queue more. Tasks that keep
 * waking each other cannot starve the queue: after GV__RUNNEXT_STREAK of
 * them in a row, the next one queues at the back like anyone else. */
static inline void
gv__ready_next(gv__task *t, int code)
{
    if (t->state != GV__PARKED)
        return;
    t->park_result = code;
    t->state = GV__RUNNABLE;
    if (gv__S.runnext == NULL) {
        gv__S.runnext = t;
        t->flags |= GV__F_INRUNQ;
    } else {
        gv__runq_push(t); /* the slot is taken: wake-ups keep their order */
    }
    if (GV_UNLIKELY(t->heap_index != 0 || gv__S.in_poll))
        gv__ready_slow(t);
}

/* gv__lookup finds the live record of an id; NULL for a stale one or
 * off grove's thread. */
static inline gv__task *
gv__lookup(gv_id id)
{
    if (id <= 0 || !gv__home)
        return NULL;
    uint32_t idx = (uint32_t)id;
    if (idx >= gv__S.nslots)
        return NULL;
    gv__task *t = gv__S.slots[idx];
    return t != NULL && t->id == id ? t : NULL;
}
gv__task *gv__task_new(void);
void gv__task_drop(gv__task *t);
void gv__task_unslot(gv__task *t);
void gv__task_maybe_free(gv__task *t);
void gv__task_finish(gv__task *t, int error, const char *msg);
void gv__kill_task(gv__task *t);
/* gv__kill_task_reason kills t so that it exits with reason (an exit
 * signal from a link, a supervisor's shutdown). */
void gv__kill_task_reason(gv__task *t, int reason);
/* gv__cancel_reason is the reason a canceled task exits with. */
static inline int
gv__cancel_reason(const gv__task *t)
{
    return t->kill_reason != 0 ? t->kill_reason : GV_ECANCELED;
}

/* The actor layer (actor/) hooks into a task's start and end; sched/ knows
 * nothing more of actors. The actor layer sets gv__hooks when the program
 * loads (a constructor), so it is NULL only in a program without it. */
typedef struct gv__actor_hooks {
    /* exiting runs in the task itself, before it finishes: cleanup
     * handlers. Not for a task that never ran. */
    void (*exiting)(gv__task *t, int reason);
    /* finished runs once the task is DONE: links, monitors, names. */
    void (*finished)(gv__task *t);
    /* discard frees a task's actor state at shutdown, telling no one. */
    void (*discard)(gv__task *t);
    /* fini frees the layer's global state at shutdown. */
    void (*fini)(void);
    /* configure applies gv_spawn_opts' mailbox settings to a new task. */
    int (*configure)(gv__task *t, const gv_spawn_opts *opts);
} gv__actor_hooks;
extern const gv__actor_hooks *gv__hooks;
_Noreturn void gv__exit_current(void);
int gv__compact_setup(void);
void gv__timer_remove(gv__task *t);
void gv__drain_remote(void);
/* gv__scope_deadline is the earliest deadline of the task's open scopes. */
static inline int64_t
gv__scope_deadline(const gv__task *t)
{
    return t->scopes ? t->scopes->effective : GV_FOREVER;
}
static inline int64_t
gv__min_deadline(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/* io.c and the signal table, torn down at shutdown */
void gv__io_fini(void);
void gv__signal_fini(void);

#endif /* GV_SCHED_INT_H */
