/*
 * sched.c — the scheduler: run queue, switching, the hub, park/ready,
 * deadlines, compact stacks, remote wake-ups, shutdown.
 *
 * Design notes
 * ------------
 * One scheduler per process, bound to the first thread that uses grove (the
 * home thread). main() is a task: its record is made at start-up and its
 * context is the thread's own stack. The hub is a context with a stack of
 * its own that runs the libuv loop; tasks never run on it.
 *
 * Switching: a task that parks or yields picks the next task off the run
 * queue and switches to it directly. Every GV__BUDGET switches, or when the
 * queue is empty, it switches to the hub instead, which polls the loop
 * (without blocking if anything is runnable), fires due deadlines and then
 * switches to the head of the queue. So a yield or a wake-up never costs a
 * trip through the loop, and a task yielding in a loop cannot starve timers
 * or fds.
 *
 * Fresh tasks get no stack until they first run: spawning a million tasks
 * allocates a million small records, not a million stacks. When a task
 * returns and the next queued task is fresh and wants the same kind of
 * stack, it runs at once on the same stack without a switch at all.
 *
 * A finished task cannot give back the stack it is running on. It leaves
 * itself in gv__S.zombie and switches away; whichever context runs next
 * reclaims it (after_switch).
 *
 * Compact tasks all run on one shared stack. The task whose frames are on
 * it is the owner; when another compact task must run, the owner's used
 * part is copied out to a buffer the size of what it uses, and the new
 * one's copied in. Copying over the stack one is running on is impossible,
 * so a switch from one compact task to another goes through the swapper, a
 * small context of its own that does the copies.
 */
#include "sched_int.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#ifdef GV_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef GV_HAVE_VALGRIND_H
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)0)
#endif

#define GV__BUDGET 1024       /* switches between two polls */
#define GV__RUNNEXT_STREAK 64 /* message wake-ups run ahead in a row */
#define GV__HUB_STACK (128 * 1024)
#define GV__SWAPPER_STACK (32 * 1024)
#define GV__RECORD_CACHE 4096
#define GV__SHUTDOWN_GRACE 2000 /* ms killed tasks get to finish */
#ifdef GV_ASAN
#define GV__SAVE_SLACK 2048 /* frames below the reserve point */
#else
#define GV__SAVE_SLACK 384
#endif
#ifdef GV_CONTEXT_UCONTEXT
#define GV__SP_MARGIN 128 /* red zone below a swapcontext's sp */
#else
#define GV__SP_MARGIN 0
#endif

gv__sched gv__S;
_Thread_local int gv__home __attribute__((tls_model("initial-exec")));
size_t gv__cfg_stack_size = 256 * 1024;
int gv__cfg_guard = 1;
int gv__cfg_compact = 0;

static atomic_int claimed;
const gv__actor_hooks *gv__hooks;
static gv__list all_tasks; /* every live record, for shutdown */

#define S gv__S

static void hub_main(void);
static void swapper_main(void);
static void task_entry(void);
static inline void after_switch(void);

/* ================================================================ records */

/* Records come from 2 MiB slabs backed by transparent huge pages when the
 * default allocator is in use: a million records then cost a few hundred
 * page faults instead of seventy thousand (a fault costs ~1.5 us here).
 * Freed records are kept for reuse until gv_shutdown, as Go keeps its
 * goroutine descriptors. With a custom allocator (tests that fail the Nth
 * allocation) each record is allocated through it. */
#define GV__SLAB_BYTES ((size_t)2 << 20)

typedef struct slab {
    struct slab *next;
    char *map;
    size_t len;
} slab;

static slab *slabs;
static char *slab_next, *slab_end;

static gv__task *
slab_alloc(void)
{
    size_t rec = (sizeof(gv__task) + 15) & ~(size_t)15;
    if (slab_next == NULL || slab_next + rec > slab_end) {
        slab *sl = gv__malloc(sizeof *sl);
        if (sl == NULL)
            return NULL;
        /* map twice the size to carve out a 2 MiB-aligned slab */
        size_t len = 2 * GV__SLAB_BYTES;
        char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            gv__free(sl);
            return NULL;
        }
        char *a = (char *)(((uintptr_t)m + GV__SLAB_BYTES - 1) &
                           ~(uintptr_t)(GV__SLAB_BYTES - 1));
        if (a > m)
            munmap(m, (size_t)(a - m));
        if (a + GV__SLAB_BYTES < m + len)
            munmap(a + GV__SLAB_BYTES, (size_t)(m + len - a - GV__SLAB_BYTES));
        madvise(a, GV__SLAB_BYTES, MADV_HUGEPAGE);
        sl->map = a;
        sl->len = GV__SLAB_BYTES;
        sl->next = slabs;
        slabs = sl;
        slab_next = a;
        slab_end = a + GV__SLAB_BYTES;
    }
    gv__task *t = (gv__task *)(void *)slab_next;
    slab_next += rec;
    return t;
}

static void
slabs_fini(void)
{
    while (slabs != NULL) {
        slab *sl = slabs;
        slabs = sl->next;
        munmap(sl->map, sl->len);
        gv__free(sl);
    }
    slab_next = slab_end = NULL;
}

static gv__task *
record_alloc(void)
{
    gv__task *t = S.record_cache;
    if (t != NULL) {
        S.record_cache = t->next;
        S.ncached--;
    } else {
        t = gv__alloc_is_default() ? slab_alloc() : gv__malloc(sizeof *t);
        if (t == NULL)
            return NULL;
    }
    memset(t, 0, sizeof *t);
    gv__list_init(&t->joiners);
    gv__list_init(&t->wait.link);
    gv__list_init(&t->all);
    t->wait.task = t;
    return t;
}

static void
record_release(gv__task *t)
{
    if (slabs == NULL && S.ncached >= GV__RECORD_CACHE) {
        gv__free(t);
        return;
    }
    t->next = S.record_cache;
    S.record_cache = t;
    S.ncached++;
}

static void
slot_clear(gv__task *t)
{
    uint32_t idx = (uint32_t)t->id;
    if (t->id > 0 && idx < S.nslots && S.slots[idx] == t) {
        S.slots[idx] = NULL;
        S.free_idx[S.nfree++] = idx;
    }
}

static void
record_free(gv__task *t)
{
    slot_clear(t);
    gv__list_remove(&t->all);
    gv__free(t->errmsg);
    gv__free(t->saved);
    S.live_tasks--;
    record_release(t);
}

static void
records_fini(void)
{
    if (slabs == NULL) {
        while (S.record_cache != NULL) {
            gv__task *t = S.record_cache;
            S.record_cache = t->next;
            gv__free(t);
        }
    }
    S.record_cache = NULL;
    S.ncached = 0;
    slabs_fini();
}

static int
slot_grow(void)
{
    uint32_t cap = S.nslots ? S.nslots * 2 : 256;
    if (cap <= S.nslots || cap > 0x7fffffffu)
        return GV_ENOMEM;
    gv__task **slots = gv__realloc(S.slots, cap * sizeof *slots);
    if (slots == NULL)
        return GV_ENOMEM;
    S.slots = slots;
    uint32_t *gens = gv__realloc(S.gens, cap * sizeof *gens);
    if (gens == NULL)
        return GV_ENOMEM;
    S.gens = gens;
    uint32_t *free_idx = gv__realloc(S.free_idx, cap * sizeof *free_idx);
    if (free_idx == NULL)
        return GV_ENOMEM;
    S.free_idx = free_idx;
    /* lowest index handed out first */
    for (uint32_t i = cap; i > S.nslots; i--) {
        S.slots[i - 1] = NULL;
        S.gens[i - 1] = 0;
        S.free_idx[S.nfree++] = i - 1;
    }
    S.nslots = cap;
    return 0;
}

/* gv__task_new makes a record with an id. NULL when out of memory. */
gv__task *
gv__task_new(void)
{
    if (S.nfree == 0 && slot_grow() != 0)
        return NULL;
    gv__task *t = record_alloc();
    if (t == NULL)
        return NULL;
    uint32_t idx = S.free_idx[--S.nfree];
    uint32_t gen = (S.gens[idx] + 1) & 0x7fffffffu;
    if (gen == 0)
        gen = 1;
    S.gens[idx] = gen;
    S.slots[idx] = t;
    t->id = ((gv_id)gen << 32) | idx;
    gv__list_push(&all_tasks, &t->all);
    S.live_tasks++;
    return t;
}

/* gv__task_drop frees a record that never ran (spawn failed half-way). */
void
gv__task_drop(gv__task *t)
{
    record_free(t);
}

void
gv__task_unslot(gv__task *t)
{
    slot_clear(t);
}

/* maybe_free frees a finished record nobody can reach any more. */
static void
maybe_free(gv__task *t)
{
    if (t->state == GV__DONE &&
        (t->flags & (GV__F_DETACHED | GV__F_RELEASED)) &&
        !(t->flags & GV__F_INRUNQ) && t != S.current && t != S.zombie &&
        !(t->flags & GV__F_SYSTEM))
        record_free(t);
}

void
gv__task_maybe_free(gv__task *t)
{
    maybe_free(t);
}

/* ============================================================== run queue */

static inline __attribute__((always_inline)) gv__task *
runq_pop(void)
{
    gv__task *t = S.runnext;
    if (t != NULL) {
        S.runnext = NULL;
        if (GV_LIKELY(++S.runnext_streak <= GV__RUNNEXT_STREAK ||
                      S.runq_head == NULL)) {
            t->flags &= ~GV__F_INRUNQ;
            if (GV_LIKELY(t->state != GV__DONE))
                return t;
            maybe_free(t);
        } else {
            gv__runq_push(t); /* the queue's turn */
        }
    }
    S.runnext_streak = 0;
    while ((t = S.runq_head) != NULL) {
        S.runq_head = t->next;
        if (S.runq_head == NULL)
            S.runq_tail = NULL;
        t->flags &= ~GV__F_INRUNQ;
        if (t->state != GV__DONE)
            return t;
        maybe_free(t); /* killed before it ever ran */
    }
    return NULL;
}

/* ========================================================== deadline heap */

static inline int
heap_less(const gv__task *a, const gv__task *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->timer_seq < b->timer_seq);
}

static void
heap_set(uint32_t i, gv__task *t)
{
    S.heap[i] = t;
    t->heap_index = i + 1;
}

static void
heap_up(uint32_t i)
{
    gv__task *t = S.heap[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!heap_less(t, S.heap[p]))
            break;
        heap_set(i, S.heap[p]);
        i = p;
    }
    heap_set(i, t);
}

static void
heap_down(uint32_t i)
{
    gv__task *t = S.heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= S.heap_len)
            break;
        if (c + 1 < S.heap_len && heap_less(S.heap[c + 1], S.heap[c]))
            c++;
        if (!heap_less(S.heap[c], t))
            break;
        heap_set(i, S.heap[c]);
        i = c;
    }
    heap_set(i, t);
}

static int
timer_insert(gv__task *t, int64_t deadline)
{
    if (S.heap_len == S.heap_cap) {
        uint32_t cap = S.heap_cap ? S.heap_cap * 2 : 64;
        gv__task **h = gv__realloc(S.heap, cap * sizeof *h);
        if (h == NULL)
            return GV_ENOMEM;
        S.heap = h;
        S.heap_cap = cap;
    }
    t->deadline = deadline;
    t->timer_seq = S.timer_seq++;
    S.heap[S.heap_len] = t;
    heap_up(S.heap_len++);
    return 0;
}

void
gv__timer_remove(gv__task *t)
{
    uint32_t i = t->heap_index - 1;
    t->heap_index = 0;
    gv__task *last = S.heap[--S.heap_len];
    if (i == S.heap_len)
        return;
    heap_set(i, last);
    if (i > 0 && heap_less(last, S.heap[(i - 1) / 2]))
        heap_up(i);
    else
        heap_down(i);
}

static void
fire_expired(void)
{
    uint64_t now = uv_now(&S.loop);
    while (S.heap_len > 0 && S.heap[0]->deadline <= (int64_t)now)
        gv__ready(S.heap[0], GV_ETIMEDOUT); /* removes it from the heap */
}

void
gv__ready_slow(gv__task *t)
{
    if (t->heap_index != 0)
        gv__timer_remove(t);
    /* Woken from a libuv callback: uv_run must not go on to block in its
     * poll (a timer already due fires before the poll, and libuv computes
     * the poll's timeout without knowing about our run queue). uv_stop
     * makes that timeout zero; uv_run clears it on the way out. */
    if (S.in_poll)
        uv_stop(&S.loop);
}

static void
timer_cb(uv_timer_t *h)
{
    S.timer_armed = -1;
    fire_expired();
}

static void
arm_timer(void)
{
    if (S.heap_len == 0) {
        if (S.timer_armed >= 0) {
            uv_timer_stop(&S.timer);
            S.timer_armed = -1;
        }
        return;
    }
    int64_t d = S.heap[0]->deadline;
    if (d == S.timer_armed)
        return;
    int64_t now = (int64_t)uv_now(&S.loop);
    uv_timer_start(&S.timer, timer_cb, d > now ? (uint64_t)(d - now) : 0, 0);
    S.timer_armed = d;
}

/* ============================================================== switching */

#ifdef GV_ASAN
static void
ctx_bounds(const gv__task *t, const void **lo, size_t *size)
{
    if (t->flags & GV__F_COMPACT) {
        *lo = S.shared->lo;
        *size = S.shared->size;
    } else if (t->stack != NULL) {
        *lo = t->stack->lo;
        *size = t->stack->size;
    } else {
        *lo = t->asan_lo; /* main: learnt when we first left it */
        *size = t->asan_size;
    }
}

/* arrived finishes a fiber switch in the context that resumes. */
static void
asan_arrived(void *fake)
{
    const void *lo;
    size_t size;
    __sanitizer_finish_switch_fiber(fake, &lo, &size);
    gv__task *prev = S.prev;
    if (prev != NULL && (prev->flags & GV__F_MAIN) && prev->asan_lo == NULL) {
        prev->asan_lo = lo;
        prev->asan_size = size;
    }
}
#endif

static inline void
raw_switch(gv__task *from, gv__task *to)
{
    S.switches++;
#ifdef GV_ASAN
    S.prev = from;
    const void *lo;
    size_t size;
    ctx_bounds(to, &lo, &size);
    __sanitizer_start_switch_fiber(
        from->state == GV__DONE ? NULL : &from->asan_fake, lo, size);
#endif
    gv__ctx_switch(&from->ctx, &to->ctx);
#ifdef GV_ASAN
    asan_arrived(from->asan_fake);
#endif
}

/* copy_stack copies stack bytes without instrumentation: the shared stack
 * holds other frames' ASan redzones, which are not errors to copy. */
#ifdef GV_ASAN
__attribute__((no_sanitize_address))
#endif
static void
copy_stack(char *dst, const char *src, size_t n)
{
    /* volatile keeps the compiler from calling (instrumented) memcpy */
    volatile char *d = dst;
    const volatile char *s = src;
    size_t i = 0;
    for (; i + sizeof(uint64_t) <= n; i += sizeof(uint64_t)) {
        uint64_t v;
        __builtin_memcpy(&v, (const char *)s + i, sizeof v);
        __builtin_memcpy((char *)d + i, &v, sizeof v);
    }
    for (; i < n; i++)
        d[i] = s[i];
}

static inline char *
shared_top(void)
{
    return S.shared->lo + S.shared->size;
}

/* shared_swap_in puts to's frames on the shared stack, saving the owner's.
 * Never runs on the shared stack itself. */
static void
shared_swap_in(gv__task *to)
{
    gv__task *o = S.shared_owner;
    char *top = shared_top();
    if (o != NULL && o != to) {
        char *sp = gv__ctx_sp(&o->ctx) - GV__SP_MARGIN;
        size_t len = (size_t)(top - sp);
        if (len > o->saved_cap) {
            /* gv__park reserved room for what it foresaw; deeper frames
             * than that are a bug we cannot report to anyone */
            char *p = gv__realloc(o->saved, len);
            if (p == NULL)
                gv__overflow_report("no memory to save a compact stack");
            o->saved = p;
            o->saved_cap = len;
        }
        copy_stack(o->saved, sp, len);
        o->saved_len = len;
    }
#ifdef GV_ASAN
    /* The shadow of the shared stack still describes the frames of the
     * task copied out: clean all of it for the one coming in. */
    __asan_unpoison_memory_region(S.shared->lo, S.shared->size);
#endif
    if (to->state == GV__QUEUED) {
        gv__ctx_make(&to->ctx, S.shared->lo, S.shared->size, task_entry);
    } else {
        /* memcheck counts the bytes below the stack pointer it last saw
         * here as unaddressable: they are the incoming task's frames */
        VALGRIND_MAKE_MEM_UNDEFINED(top - to->saved_len, to->saved_len);
        copy_stack(top - to->saved_len, to->saved, to->saved_len);
    }
    S.shared_owner = to;
}

static inline __attribute__((always_inline)) void
switch_to(gv__task *from, gv__task *to)
{
    if (from->stack != NULL && GV_UNLIKELY(gv__stack_overflowed(from->stack)))
        gv__overflow_report("canary smashed");
    S.current = to;
    if (GV_UNLIKELY(to->flags & GV__F_COMPACT) && S.shared_owner != to) {
        if (from->flags & GV__F_COMPACT) {
            /* we are running on the stack that must be overwritten */
            S.swap_to = to;
            raw_switch(from, &S.swapper);
            after_switch();
            return;
        }
        shared_swap_in(to);
    }
    to->state = GV__RUNNING;
    raw_switch(from, to);
    after_switch();
}

/* start_fresh gives a queued task its stack and first context. Returns -1
 * (having finished the task with GV_ENOMEM) when no stack can be had. */
static int
start_fresh(gv__task *t)
{
    if (t->flags & GV__F_COMPACT)
        return 0; /* set up on the shared stack by shared_swap_in */
    t->stack = gv__stack_get(t->stack_size, gv__cfg_guard);
    if (t->stack == NULL) {
        gv__task_finish(t, GV_ENOMEM, "no memory for the task's stack");
        return -1;
    }
    gv__ctx_make(&t->ctx, t->stack->lo, t->stack->size, task_entry);
    return 0;
}

/* pop_runnable takes the next task to run, ready to be switched to. */
static inline __attribute__((always_inline)) gv__task *
pop_runnable(void)
{
    gv__task *t;
    while ((t = runq_pop()) != NULL) {
        if (t->state != GV__QUEUED || t->stack != NULL || start_fresh(t) == 0)
            return t;
    }
    return NULL;
}

/* sched_away leaves the current task (parked, queued or finished) for the
 * next runnable one, or for the hub. */
static inline __attribute__((always_inline)) void
sched_away(gv__task *self)
{
    gv__task *next = NULL;
    if (GV_LIKELY(--S.budget > 0))
        next = pop_runnable();
    if (next == NULL)
        next = &S.hub;
    if (next == self) {
        self->state = GV__RUNNING;
        return;
    }
    switch_to(self, next);
}

static __attribute__((noinline)) void
reclaim_zombie(gv__task *z)
{
    S.zombie = NULL;
    if (z->stack != NULL) {
        gv__stack_put(z->stack);
        z->stack = NULL;
    }
    if (S.shared_owner == z)
        S.shared_owner = NULL;
    gv__free(z->saved);
    z->saved = NULL;
    z->saved_len = z->saved_cap = 0;
    maybe_free(z);
}

static inline __attribute__((always_inline)) void
after_switch(void)
{
    if (GV_UNLIKELY(S.zombie != NULL))
        reclaim_zombie(S.zombie);
}

/* ======================================================= tasks: life cycle */

void
gv__task_finish(gv__task *t, int error, const char *msg)
{
    if (t->heap_index != 0)
        gv__timer_remove(t);
    t->state = GV__DONE;
    t->error = error;
    if (error != 0) {
        t->value = NULL;
        if (msg != NULL && t->errmsg == NULL)
            t->errmsg = gv__strndup(msg, 4096); /* NULL if no memory */
    }
    if (t->ext != NULL && gv__hooks != NULL)
        gv__hooks->finished(t);
    while (!gv__list_empty(&t->joiners)) {
        gv__waiter *w = GV__CONTAINER(t->joiners.next, gv__waiter, link);
        gv__list_remove(&w->link);
        gv__ready(w->task, 0);
    }
    S.unfinished--;
    if (S.unfinished == 0 && S.shutdown_waiter != NULL)
        gv__ready(S.shutdown_waiter, 0);
    maybe_free(t);
}

static int
same_stack_kind(const gv__task *a, const gv__task *b)
{
    if ((a->flags ^ b->flags) & GV__F_COMPACT)
        return 0;
    return (a->flags & GV__F_COMPACT) || a->stack_size == b->stack_size;
}

static void
task_entry(void)
{
#ifdef GV_ASAN
    asan_arrived(NULL);
#endif
    after_switch();
    gv__task *t = S.current;
    for (;;) {
        void *v = t->fn(t->arg);
        if (t->state != GV__DONE) {
            int err = (t->flags & GV__F_CANCELED) ? gv__cancel_reason(t) : 0;
            if (t->ext != NULL && gv__hooks != NULL)
                gv__hooks->exiting(t, err);
            t->value = v;
            gv__task_finish(t, err, err == GV_ECANCELED ? "killed" : NULL);
        }
        /* Run the next fresh task right here on this stack if it wants the
         * same kind: no switch, no stack from the pool. */
        gv__task *n = S.runnext == NULL ? S.runq_head : NULL;
        if (n != NULL && n->state == GV__QUEUED && S.budget > 1 &&
            same_stack_kind(t, n) && n->stack == NULL &&
            (t->stack == NULL || !gv__stack_overflowed(t->stack))) {
            S.budget--;
            runq_pop();
            n->stack = t->stack;
            t->stack = NULL;
            if (n->flags & GV__F_COMPACT)
                S.shared_owner = n;
            n->state = GV__RUNNING;
            S.current = n;
            gv__free(t->saved);
            t->saved = NULL;
            t->saved_len = t->saved_cap = 0;
            maybe_free(t);
            t = n;
            continue;
        }
        S.zombie = t;
        sched_away(t);
        GV_ASSERT(!"a finished task was resumed");
    }
}

/* ============================================================ park, ready */

static int
compact_reserve(gv__task *t)
{
    char *here = __builtin_frame_address(0);
    size_t need = (size_t)(shared_top() - here) + GV__SAVE_SLACK;
    if (need <= t->saved_cap)
        return 0;
    char *p = gv__realloc(t->saved, need);
    if (p == NULL)
        return GV_ENOMEM;
    t->saved = p;
    t->saved_cap = need;
    return 0;
}

static inline __attribute__((always_inline)) int
park_common(int64_t d)
{
    gv__task *t = S.current;
    if (d >= 0 && d <= (int64_t)uv_now(&S.loop))
        return GV_ETIMEDOUT;
    if ((t->flags & GV__F_COMPACT) && compact_reserve(t) != 0)
        return GV_ENOMEM;
    if (d >= 0 && timer_insert(t, d) != 0)
        return GV_ENOMEM;
    t->state = GV__PARKED;
    t->park_result = 0;
    sched_away(t);
    return t->park_result;
}

int
gv__park(int64_t deadline)
{
    gv__task *t = S.current;
    if (t->flags & GV__F_CANCELED)
        return GV_ECANCELED;
    int rc = park_common(gv__min_deadline(deadline, gv__scope_deadline(t)));
    if (rc == GV_ETIMEDOUT && (t->flags & GV__F_CANCELED))
        rc = GV_ECANCELED; /* a cancel beats a timeout */
    return rc;
}

static inline __attribute__((always_inline)) int
yield_now(void)
{
    gv__task *t = S.current;
    if ((t->flags & GV__F_COMPACT) && compact_reserve(t) != 0)
        return GV_ENOMEM;
    t->state = GV__RUNNABLE;
    gv__runq_push(t);
    sched_away(t);
    if (t->flags & GV__F_CANCELED)
        return GV_ECANCELED;
    int64_t d = gv__scope_deadline(t);
    if (d >= 0 && d <= (int64_t)uv_now(&S.loop))
        return GV_ETIMEDOUT;
    return 0;
}

int
gv_sleep(int64_t ms)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (ms <= 0)
        return yield_now();
    gv__task *t = S.current;
    if (t->flags & GV__F_CANCELED)
        return GV_ECANCELED;
    uv_update_time(&S.loop);
    int64_t until = (int64_t)uv_now(&S.loop) + ms;
    rc = gv__park(until);
    if (rc == GV_ETIMEDOUT) {
        /* whose deadline: ours ends the sleep, a scope's is an error */
        int64_t sd = gv__scope_deadline(t);
        if (sd < 0 || sd > (int64_t)uv_now(&S.loop))
            rc = 0;
    }
    return rc;
}

_Noreturn void
gv__exit_current(void)
{
    gv__task *t = S.current;
    S.zombie = t;
    sched_away(t);
    GV_ASSERT(!"a finished task was resumed");
    abort();
}

/* ==================================================================== hub */

static void
hub_poll(void)
{
    int block = S.runq_head == NULL && S.runnext == NULL;
    arm_timer();
    if (block) {
        /* a task waiting for another thread keeps the loop alive */
        if (S.remote_waiters > 0)
            uv_ref((uv_handle_t *)&S.async);
        else
            uv_unref((uv_handle_t *)&S.async);
    }
    S.in_poll = 1;
    uv_run(&S.loop, block ? UV_RUN_ONCE : UV_RUN_NOWAIT);
    S.in_poll = 0;
    fire_expired();
    if (block && S.runq_head == NULL && S.runnext == NULL &&
        !uv_loop_alive(&S.loop)) {
        /* Every task is parked and nothing in the loop can wake any of
         * them: tell main rather than sleep forever. */
        if (S.main->state == GV__PARKED)
            gv__ready(S.main, GV_EDEADLK);
    }
}

static void
hub_main(void)
{
#ifdef GV_ASAN
    asan_arrived(NULL);
#endif
    for (;;) {
        after_switch();
        hub_poll();
        S.budget = GV__BUDGET;
        gv__task *next = pop_runnable();
        if (next != NULL)
            switch_to(&S.hub, next);
    }
}

static void
swapper_main(void)
{
#ifdef GV_ASAN
    asan_arrived(NULL);
#endif
    for (;;) {
        after_switch();
        gv__task *to = S.swap_to;
        shared_swap_in(to);
        to->state = GV__RUNNING;
        raw_switch(&S.swapper, to);
    }
}

/* gv__compact_setup makes the shared stack and the swapper on first use. */
int
gv__compact_setup(void)
{
    if (S.shared != NULL)
        return 0;
    gv__stack *sw = gv__stack_get(GV__SWAPPER_STACK, 1);
    if (sw == NULL)
        return GV_ENOMEM;
    size_t size = gv__cfg_stack_size;
    S.shared = gv__stack_get(size, 1);
    if (S.shared == NULL) {
        gv__stack_put(sw);
        return GV_ENOMEM;
    }
    S.swapper.stack = sw;
    gv__ctx_make(&S.swapper.ctx, sw->lo, sw->size, swapper_main);
    return 0;
}

/* ======================================================= remote wake-ups */

void
gv__remote_post(gv__remote *r)
{
    if (atomic_exchange_explicit(&r->queued, 1, memory_order_acq_rel))
        return; /* already queued: the drain will see it */
    gv__remote *head =
        atomic_load_explicit(&S.remote_head, memory_order_relaxed);
    do {
        r->next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &S.remote_head, &head, r, memory_order_release, memory_order_relaxed));
    uv_async_send(&S.async);
}

void
gv__drain_remote(void)
{
    gv__remote *list =
        atomic_exchange_explicit(&S.remote_head, NULL, memory_order_acquire);
    gv__remote *fifo = NULL;
    while (list != NULL) { /* the stack is newest first: reverse it */
        gv__remote *n = list->next;
        list->next = fifo;
        fifo = list;
        list = n;
    }
    while (fifo != NULL) {
        gv__remote *n = fifo->next;
        atomic_store_explicit(&fifo->queued, 0, memory_order_release);
        fifo->cb(fifo);
        fifo = n;
    }
}

static void
async_cb(uv_async_t *h)
{
    gv__drain_remote();
}

/* ================================================================== init */

int
gv__init_slow(void)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&claimed, &expected, 1))
        return GV_ETHREAD;
    memset(&S, 0, sizeof S);
    gv__list_init(&all_tasks);
    S.timer_armed = -1;
    S.budget = GV__BUDGET;
    int rc = uv_loop_init(&S.loop);
    if (rc != 0)
        goto fail_claim;
    uv_timer_init(&S.loop, &S.timer);
    rc = uv_async_init(&S.loop, &S.async, async_cb);
    if (rc != 0)
        goto fail_loop;
    uv_unref((uv_handle_t *)&S.async);
    gv__home = 1; /* gv__task_new and gv__lookup need it */
    S.main = gv__task_new();
    if (S.main == NULL) {
        rc = GV_ENOMEM;
        goto fail_handles;
    }
    S.main->flags = GV__F_MAIN | GV__F_STARTED;
    S.main->state = GV__RUNNING;
    memcpy(S.main->name, "main", 5);
    S.current = S.main;

    S.hub.flags = GV__F_SYSTEM;
    S.hub.stack = gv__stack_get(GV__HUB_STACK, 1);
    if (S.hub.stack == NULL) {
        rc = GV_ENOMEM;
        goto fail_handles;
    }
    gv__ctx_make(&S.hub.ctx, S.hub.stack->lo, S.hub.stack->size, hub_main);
    S.swapper.flags = GV__F_SYSTEM;
    memcpy(S.hub.name, "hub", 4);
    memcpy(S.swapper.name, "swapper", 8);
    rc = gv__overflow_install();
    if (rc != 0)
        goto fail_handles;
    S.inited = 1;
    return 0;

fail_handles:
    uv_close((uv_handle_t *)&S.async, NULL);
fail_loop:
    uv_close((uv_handle_t *)&S.timer, NULL);
    uv_run(&S.loop, UV_RUN_DEFAULT);
    uv_loop_close(&S.loop);
    if (S.main != NULL)
        record_free(S.main);
    if (S.hub.stack != NULL)
        gv__stack_put(S.hub.stack);
    records_fini();
    gv__free(S.slots);
    gv__free(S.gens);
    gv__free(S.free_idx);
    gv__stack_fini();
    memset(&S, 0, sizeof S);
    gv__home = 0;
fail_claim:
    atomic_store(&claimed, 0);
    return rc;
}

/* ============================================================== shutdown */

static void
kill_others(gv__task *keep1, gv__task *keep2)
{
    /* Killing readies tasks but never frees records or changes the list,
     * except records of tasks killed before they ran: walk with care. */
    gv__list *l = all_tasks.next;
    while (l != &all_tasks) {
        gv__task *t = GV__CONTAINER(l, gv__task, all);
        l = l->next;
        if (t != keep1 && t != keep2 && t->state != GV__DONE)
            gv__kill_task(t);
    }
}

static void
teardown(void)
{
    /* Posted, never drained: run the callbacks first, while every record
     * is whole, so that what they free or deliver is released below
     * (readying an abandoned task is harmless). */
    gv__drain_remote();
    /* Tasks that would not finish are abandoned: they never run again. */
    gv__list *l = all_tasks.next;
    while (l != &all_tasks) {
        gv__task *t = GV__CONTAINER(l, gv__task, all);
        l = l->next;
        if (t->stack != NULL) {
            gv__stack_put(t->stack);
            t->stack = NULL;
        }
        if (t->ext != NULL && gv__hooks != NULL)
            gv__hooks->discard(t);
    }
    if (gv__hooks != NULL)
        gv__hooks->fini();
    gv__io_fini();
    gv__signal_fini();
    uv_close((uv_handle_t *)&S.timer, NULL);
    uv_close((uv_handle_t *)&S.async, NULL);
    uv_run(&S.loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&S.loop);
    GV_ASSERT(rc == 0);
    while (!gv__list_empty(&all_tasks)) {
        gv__task *t = GV__CONTAINER(all_tasks.next, gv__task, all);
        gv__list_remove(&t->all);
        gv__free(t->errmsg);
        gv__free(t->saved);
        if (slabs == NULL)
            gv__free(t);
    }
    records_fini();
    gv__stack_put(S.hub.stack);
    if (S.swapper.stack != NULL)
        gv__stack_put(S.swapper.stack);
    if (S.shared != NULL)
        gv__stack_put(S.shared);
    gv__free(S.slots);
    gv__free(S.gens);
    gv__free(S.free_idx);
    gv__free(S.heap);
    gv__stack_fini();
    gv__overflow_uninstall();
    memset(&S, 0, sizeof S);
    gv__home = 0;
    atomic_store(&claimed, 0);
}

void
gv_shutdown(void)
{
    if (!gv__home || !S.inited)
        return;
    gv__task *self = S.current;
    if (self != S.main) {
        kill_others(self, S.main);
        self->flags |= GV__F_CANCELED;
        if (S.main->state == GV__PARKED)
            gv__ready(S.main, GV_ECANCELED);
        return;
    }
    kill_others(self, NULL);
    uv_update_time(&S.loop);
    int64_t until = (int64_t)uv_now(&S.loop) + GV__SHUTDOWN_GRACE;
    while (S.unfinished > 0) {
        S.shutdown_waiter = self;
        int rc = park_common(until);
        if (rc == GV_ENOMEM) /* no room in the deadline heap: wait anyway */
            rc = park_common(GV_FOREVER);
        S.shutdown_waiter = NULL;
        if (rc == GV_ETIMEDOUT || rc == GV_EDEADLK) {
            if (S.unfinished > 0 && rc == GV_ETIMEDOUT)
                fprintf(stderr,
                        "grove: shutdown: %llu task(s) ignored "
                        "cancellation; abandoned\n",
                        (unsigned long long)S.unfinished);
            break;
        }
    }
    teardown();
}

/* ================================================================= misc */

int64_t
gv_now(void)
{
    if (gv__init() != 0)
        return (int64_t)(uv_hrtime() / 1000000);
    uv_update_time(&S.loop);
    return (int64_t)uv_now(&S.loop);
}

int64_t
gv_deadline(int64_t ms)
{
    if (ms < 0)
        return GV_FOREVER;
    return gv_now() + ms;
}

int
gv_get_stats(gv_stats *st)
{
    if (st == NULL)
        return GV_EINVAL;
    memset(st, 0, sizeof *st);
    if (gv__home) {
        st->switches = S.switches;
        st->spawned = S.spawned;
        st->live_tasks = S.live_tasks;
    }
    gv__stack_stats(st);
    return 0;
}

int
gv_set_stack_size(size_t bytes)
{
    if (bytes < 16 * 1024 || bytes > ((size_t)1 << 30))
        return GV_EINVAL;
    gv__cfg_stack_size = (bytes + 4095) & ~(size_t)4095;
    return 0;
}

int
gv_set_guard_pages(bool on)
{
    gv__cfg_guard = on;
    return 0;
}

int
gv_set_compact(bool on)
{
    gv__cfg_compact = on;
    return 0;
}
