/*
 * stack.c — task stacks: mapped, pooled, guarded, and overflow reports.
 *
 * Design notes
 * ------------
 * A fresh mmap with a guard page costs ~9 µs here, fifty times a whole Go
 * spawn, so stacks are never unmapped in steady state: a finished task's
 * stack goes back to a per-size free list (LIFO, so the next task gets a
 * stack whose top pages are still resident and in cache).
 *
 * Guarded stacks are one mapping each: [guard (PROT_NONE) | stack]. That is
 * two kernel mappings per stack, and Linux allows vm.max_map_count (65530
 * here) per process. Past a budget (three quarters of that, leaving the rest
 * to the program) new stacks are carved from big shared mappings instead,
 * with a canary at their low end (64 bytes that must stay zero) checked at
 * every switch away from the task; grove says so once on stderr.
 *
 * Memory is committed lazily: mappings are MAP_NORESERVE and only the pages
 * a task touches become resident. The stack descriptor lives at the top of
 * the stack memory itself, so getting a stack allocates nothing.
 *
 * Overflow: a SIGSEGV handler, running on an alternate signal stack, looks
 * at the faulting address; inside the current task's guard region it prints
 * which task overflowed and aborts. Any other fault goes to the handler
 * that was there before (the default one, or ASan's).
 */
#include "sched_int.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* A stack's memory keeps the poison of the frames of whatever ran on it
 * last, and munmap does not clear shadow memory: a stack handed out fresh
 * must be clean. */
#define GV__UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define GV__UNPOISON(p, n) ((void)0)
#endif

#ifdef GV_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

#define GV__GUARD_LEN (16 * 1024)   /* PROT_NONE below guarded stacks */
#define GV__CHUNK_BYTES (32u << 20) /* canary stacks: per mapping */
#define GV__POOL_KEEP 1024          /* idle stacks kept per size */
#define GV__DESC_SPACE 64           /* descriptor at the top */

typedef struct pool {
    size_t size;
    gv__stack *free;
    size_t nfree;
} pool;

typedef struct chunk {
    struct chunk *next;
    char *map;
    size_t len;
} chunk;

static struct {
    size_t page;
    long map_budget; /* guarded stacks allowed at once */
    pool pools[8];
    int npools;
    chunk *chunks; /* canary mappings (descriptor kept in the map) */
    uint64_t mapped, in_use, pooled, guarded;
    int fallback_warned;
    int fallback;
} P;

static size_t
page_size(void)
{
    if (P.page == 0) {
        long ps = sysconf(_SC_PAGESIZE);
        P.page = ps > 0 ? (size_t)ps : 4096;
    }
    return P.page;
}

static long
read_map_budget(void)
{
    long max = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
    if (f != NULL) {
        if (fscanf(f, "%ld", &max) != 1)
            max = 65530;
        fclose(f);
    }
    /* two mappings per guarded stack; a quarter left to the program */
    return (max - max / 4) / 2;
}

static pool *
pool_for(size_t size)
{
    for (int i = 0; i < P.npools; i++)
        if (P.pools[i].size == size)
            return &P.pools[i];
    if (P.npools < (int)(sizeof P.pools / sizeof P.pools[0])) {
        pool *p = &P.pools[P.npools++];
        p->size = size;
        p->free = NULL;
        p->nfree = 0;
        return p;
    }
    return NULL; /* too many sizes: such stacks are not pooled */
}

/* desc_at builds the descriptor at the top of [lo, lo + span). */
static gv__stack *
desc_at(char *lo, size_t span)
{
    gv__stack *s = (gv__stack *)(void *)(lo + span - GV__DESC_SPACE);
    memset(s, 0, sizeof *s);
    s->lo = lo;
    s->size = span - GV__DESC_SPACE;
    return s;
}

static gv__stack *
map_guarded(size_t size)
{
    size_t span = size + GV__DESC_SPACE;
    span = (span + page_size() - 1) & ~(page_size() - 1);
    size_t len = GV__GUARD_LEN + span;
    char *m =
        mmap(NULL, len, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (mprotect(m, GV__GUARD_LEN, PROT_NONE) != 0) {
        munmap(m, len);
        return NULL;
    }
    gv__stack *s = desc_at(m + GV__GUARD_LEN, span);
    s->req = size;
    s->kind = GV__STACK_GUARDED;
    s->guard = m;
    s->guard_len = GV__GUARD_LEN;
    P.mapped++;
    P.guarded++;
    return s;
}

/* map_canary_chunk maps room for many stacks of one size at once and puts
 * all but the first in the pool. */
static gv__stack *
map_canary(size_t size, pool *p)
{
    size_t span = size + GV__DESC_SPACE;
    span = (span + page_size() - 1) & ~(page_size() - 1);
    size_t n = GV__CHUNK_BYTES / span;
    if (n < 1 || p == NULL)
        n = 1;
    if (n > 4096)
        n = 4096;
    chunk *c = gv__malloc(sizeof *c);
    if (c == NULL)
        return NULL;
    c->len = n * span;
    c->map =
        mmap(NULL, c->len, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (c->map == MAP_FAILED) {
        gv__free(c);
        return NULL;
    }
    c->next = P.chunks;
    P.chunks = c;
    P.mapped++;
    gv__stack *first = NULL;
    for (size_t i = 0; i < n; i++) {
        gv__stack *s = desc_at(c->map + i * span, span);
        s->req = size;
        s->kind = GV__STACK_CANARY;
        s->guard = s->lo;
        s->guard_len = GV__CANARY_LEN;
        s->lo += GV__CANARY_LEN; /* zero from the mapping: left untouched */
        s->size -= GV__CANARY_LEN;
        if (i == 0) {
            first = s;
        } else {
            s->next = p->free;
            p->free = s;
            p->nfree++;
            P.pooled++;
        }
    }
    return first;
}

gv__stack *
gv__stack_get(size_t size, int guard)
{
    if (P.map_budget == 0)
        P.map_budget = read_map_budget();
    pool *p = pool_for(size);
    gv__stack *s = NULL;
    if (p != NULL && p->free != NULL) {
        /* A pooled stack of the kind asked for if there is one at the head;
         * otherwise whatever the pool has (both are safe). */
        s = p->free;
        p->free = s->next;
        p->nfree--;
        P.pooled--;
    } else if (guard && (long)P.guarded < P.map_budget) {
        s = map_guarded(size);
    } else {
        if (guard && !P.fallback_warned) {
            P.fallback_warned = 1;
            fprintf(stderr,
                    "grove: warning: %ld guarded stacks use the mapping "
                    "budget (vm.max_map_count); new stacks get a canary "
                    "checked at every switch instead of a guard page\n",
                    P.map_budget);
        }
        if (guard)
            P.fallback = 1;
        s = map_canary(size, p);
    }
    if (s == NULL)
        return NULL;
    s->next = NULL;
    GV__UNPOISON(s->lo, s->size);
    s->vg_id = VALGRIND_STACK_REGISTER(s->lo, s->lo + s->size);
    P.in_use++;
    return s;
}

static void
unmap_guarded(gv__stack *s)
{
    char *m = s->guard;
    size_t len = (size_t)(s->lo - m) + s->size + GV__DESC_SPACE;
    GV__UNPOISON(s->lo, s->size);
    P.guarded--;
    munmap(m, len);
}

void
gv__stack_put(gv__stack *s)
{
    VALGRIND_STACK_DEREGISTER(s->vg_id);
    P.in_use--;
    pool *p = pool_for(s->req);
    if (p != NULL &&
        (p->nfree < GV__POOL_KEEP || s->kind == GV__STACK_CANARY)) {
        if (p->nfree >= GV__POOL_KEEP) {
            /* canary stacks cannot be unmapped one by one: give their
             * memory back but keep the address range (and the top page,
             * which holds the descriptor) */
            uintptr_t a = (uintptr_t)s->guard; /* page-aligned */
            uintptr_t b = ((uintptr_t)(s->lo + s->size)) & ~(page_size() - 1);
            if (b > a)
                madvise((void *)a, b - a, MADV_DONTNEED);
        }
        s->next = p->free;
        p->free = s;
        p->nfree++;
        P.pooled++;
        return;
    }
    unmap_guarded(s);
}

void
gv__stack_fini(void)
{
    for (int i = 0; i < P.npools; i++) {
        gv__stack *s = P.pools[i].free;
        while (s != NULL) {
            gv__stack *n = s->next;
            if (s->kind == GV__STACK_GUARDED)
                unmap_guarded(s);
            s = n;
        }
    }
    while (P.chunks != NULL) {
        chunk *c = P.chunks;
        P.chunks = c->next;
        GV__UNPOISON(c->map, c->len);
        munmap(c->map, c->len);
        gv__free(c);
    }
    size_t page = P.page;
    long budget = P.map_budget;
    int warned = P.fallback_warned;
    uint64_t mapped = P.mapped;
    memset(&P, 0, sizeof P);
    P.page = page;
    P.map_budget = budget;
    P.fallback_warned = warned; /* say it once per process */
    P.mapped = mapped;
}

void
gv__stack_stats(gv_stats *st)
{
    st->stacks_mapped = P.mapped;
    st->stacks_in_use = P.in_use;
    st->stacks_pooled = P.pooled;
    st->guarded_stacks = P.guarded;
    st->guard_fallback = P.fallback;
}

/* ------------------------------------------------------ overflow reports */

static struct sigaction old_segv, old_bus;
static void *altstack;
static size_t altstack_len;
static int installed;

/* put_str/put_u64 format without stdio: we may be in a signal handler. */
static size_t
put_str(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s != '\0' && at + 1 < cap)
        buf[at++] = *s++;
    return at;
}

static size_t
put_u64(char *buf, size_t at, size_t cap, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0 && at + 1 < cap)
        buf[at++] = tmp[--n];
    return at;
}

static void
report(const gv__task *t, const char *why)
{
    char buf[256];
    size_t n = 0;
    n = put_str(buf, n, sizeof buf, "grove: stack overflow (");
    n = put_str(buf, n, sizeof buf, why);
    n = put_str(buf, n, sizeof buf, ") in ");
    if (t == &gv__S.hub) {
        n = put_str(buf, n, sizeof buf, "the hub");
    } else if (t == &gv__S.swapper) {
        n = put_str(buf, n, sizeof buf, "the stack swapper");
    } else {
        n = put_str(buf, n, sizeof buf, "actor ");
        n = put_u64(buf, n, sizeof buf, (uint64_t)t->id);
        n = put_str(buf, n, sizeof buf, " '");
        n = put_str(buf, n, sizeof buf, t->name);
        n = put_str(buf, n, sizeof buf, "'");
    }
    const gv__stack *s = t->stack;
    if (s != NULL) {
        n = put_str(buf, n, sizeof buf, ", stack size ");
        n = put_u64(buf, n, sizeof buf, s->size);
        n = put_str(buf, n, sizeof buf, " bytes");
    }
    if (t->flags & GV__F_COMPACT)
        n = put_str(buf, n, sizeof buf, ", compact (shared stack)");
    n = put_str(buf, n, sizeof buf, "; aborting\n");
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
}

void
gv__overflow_report(const char *why)
{
    report(gv__S.current, why);
    signal(SIGABRT, SIG_DFL);
    abort();
}

static void
on_fault(int sig, siginfo_t *si, void *uctx)
{
    const gv__task *t = gv__home ? gv__S.current : NULL;
    const gv__stack *s = t != NULL ? t->stack : NULL;
    char *addr = si->si_addr;
    if (s != NULL && s->kind == GV__STACK_GUARDED && addr >= s->guard &&
        addr < s->lo) {
        report(t, "guard page hit");
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    if (s != NULL && s->kind == GV__STACK_CANARY && addr < s->lo &&
        addr + 65536 >= s->lo) {
        report(t, "fault below the stack");
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    /* Not ours: hand the fault to whoever had it before. */
    const struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction != NULL) {
            old->sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN &&
               old->sa_handler != NULL) {
        old->sa_handler(sig);
        return;
    }
    /* default action: restore it and let the fault happen again */
    signal(sig, SIG_DFL);
}

int
gv__overflow_install(void)
{
    if (installed)
        return 0;
    altstack_len = 64 * 1024;
    altstack = mmap(NULL, altstack_len, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (altstack == MAP_FAILED) {
        altstack = NULL;
        return GV_ENOMEM;
    }
    stack_t ss = {.ss_sp = altstack, .ss_size = altstack_len, .ss_flags = 0};
    stack_t old_ss;
    /* keep an alternate stack someone (ASan) already set up */
    if (sigaltstack(NULL, &old_ss) == 0 && !(old_ss.ss_flags & SS_DISABLE)) {
        munmap(altstack, altstack_len);
        altstack = NULL;
    } else if (sigaltstack(&ss, NULL) != 0) {
        munmap(altstack, altstack_len);
        altstack = NULL;
        return GV_ENOMEM;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    installed = 1;
    return 0;
}

void
gv__overflow_uninstall(void)
{
    if (!installed)
        return;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    if (altstack != NULL) {
        stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
        munmap(altstack, altstack_len);
        altstack = NULL;
    }
    installed = 0;
}
