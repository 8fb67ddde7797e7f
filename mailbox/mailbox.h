/*
 * mailbox.h — message envelopes and the per-actor mailbox (internal).
 *
 * A mailbox is a data structure owned by one task: two FIFO lanes of
 * envelopes (system, user), the user lane's capacity and overflow policy,
 * the senders blocked on it, and the receive that parks its owner. Who owns
 * which mailbox (ids, liveness) is the actor layer's business: this file
 * knows tasks only as things to park and ready.
 */
#ifndef GV_MAILBOX_H
#define GV_MAILBOX_H

#include "sched_int.h"

typedef struct gv__env {
    struct gv__env *next;
    int tag;
    int reason;
    gv_id from;
    gv_id to; /* foreign sends: the target, resolved on grove's thread */
    int64_t ref;
    size_t len;
    void *data; /* heap payload, or NULL when it sits in buf */
    void (*free_fn)(void *);
    unsigned char buf[GV_MSG_INLINE];
} gv__env;

/* A lane: a FIFO of envelopes. */
typedef struct gv__lane {
    gv__env *head, *tail;
    size_t len;
} gv__lane;

static inline void
gv__lane_push(gv__lane *l, gv__env *e)
{
    e->next = NULL;
    if (l->tail != NULL)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
    l->len++;
}

/* gv__lane_unlink takes e out of l; prev is the envelope before it (NULL
 * for the head). */
static inline void
gv__lane_unlink(gv__lane *l, gv__env *prev, gv__env *e)
{
    if (prev != NULL)
        prev->next = e->next;
    else
        l->head = e->next;
    if (l->tail == e)
        l->tail = prev;
    l->len--;
}

typedef struct gv__mailbox {
    gv__lane sys;  /* exit and down signals: never bounded */
    gv__lane user; /* everything sent */
    size_t high_water, capacity;
    uint64_t dropped;
    uint64_t removals; /* bumped when anyone but the receiver takes one */
    int overflow;
    int receiving; /* the owner is parked in a receive */
    gv__task *owner;
    gv__list senders; /* gv__waiter nodes of senders waiting for room */
} gv__mailbox;

#define GV__ENV_POOL_MAX 65536
extern gv__env *gv__env_pool; /* free envelopes, grove's thread only */
extern size_t gv__env_npool;
gv__env *gv__env_new_slow(void);

/* gv__env_new takes an envelope (home thread: from a pool). NULL: no
 * memory. */
static inline gv__env *
gv__env_new(void)
{
    gv__env *e = gv__env_pool;
    if (GV_UNLIKELY(e == NULL))
        return gv__env_new_slow();
    gv__env_pool = e->next;
    gv__env_npool--;
    e->next = NULL;
    e->data = NULL;
    e->free_fn = NULL;
    e->len = 0;
    e->reason = 0;
    e->ref = 0;
    e->from = 0;
    return e;
}

/* gv__env_release returns an envelope (payload already handed on). */
static inline void
gv__env_release(gv__env *e)
{
    if (GV_LIKELY(gv__env_npool < GV__ENV_POOL_MAX)) {
        e->next = gv__env_pool;
        gv__env_pool = e;
        gv__env_npool++;
    } else {
        gv__free(e);
    }
}
/* gv__env_new_any is gv__env_new for any thread (plain allocation). */
gv__env *gv__env_new_any(void);
/* gv__env_free releases the payload (if owned) and the envelope. Home
 * thread. */
void gv__env_free(gv__env *e);
int gv__env_copy_heap(gv__env *e, const void *data, size_t len);

/* gv__copy_small copies n <= GV_MSG_INLINE bytes without a call into
 * libc: fixed-size moves, the last one overlapping. */
static inline void
gv__copy_small(unsigned char *d, const unsigned char *s, size_t n)
{
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            __builtin_memcpy(d + i, s + i, 8);
        if (i < n)
            __builtin_memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        __builtin_memcpy(d, s, 4);
        __builtin_memcpy(d + n - 4, s + n - 4, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* gv__env_copy puts a copy of data in e: inline when it fits. Returns 0 or
 * GV_ENOMEM. Any thread. */
static inline int
gv__env_copy(gv__env *e, const void *data, size_t len)
{
    if (GV_UNLIKELY(len > GV_MSG_INLINE))
        return gv__env_copy_heap(e, data, len);
    e->len = len;
    if (data != NULL)
        gv__copy_small(e->buf, data, len);
    return 0;
}
/* gv__env_payload_free frees payloads gv__env_copy put on the heap. */
void gv__env_payload_free(void *p);

void gv__mailbox_init(gv__mailbox *mb, gv__task *owner);
/* gv__mailbox_fini frees every queued envelope and wakes blocked senders
 * (their retry finds the owner gone). */
void gv__mailbox_fini(gv__mailbox *mb);

static inline void
gv__mailbox_append(gv__mailbox *mb, gv__env *e)
{
    gv__lane_push(&mb->user, e);
    if (mb->user.len > mb->high_water)
        mb->high_water = mb->user.len;
    if (mb->receiving)
        gv__ready_next(mb->owner, 0);
}

int gv__mailbox_put_full(gv__mailbox *mb, gv__env *e);

/* gv__mailbox_put queues e on the user lane under the overflow policy.
 * Returns 0 (queued, or dropped by a drop policy: then e is freed),
 * GV_EFULL (fail policy; e is the caller's again) or GV_EAGAIN (block
 * policy and full: the caller parks on mb->senders and tries again). */
static inline int
gv__mailbox_put(gv__mailbox *mb, gv__env *e)
{
    if (GV_LIKELY(mb->capacity == 0 || mb->user.len < mb->capacity)) {
        gv__mailbox_append(mb, e);
        return 0;
    }
    return gv__mailbox_put_full(mb, e);
}
/* gv__mailbox_put_sys queues e on the system lane: never refused. */
void gv__mailbox_put_sys(gv__mailbox *mb, gv__env *e);

/* gv__deliver moves e into *m: the payload's ownership goes with it. */
static inline void
gv__deliver(gv_msg *m, gv__env *e)
{
    m->tag = e->tag;
    m->reason = e->reason;
    m->from = e->from;
    m->ref = e->ref;
    m->len = e->len;
    if (e->data != NULL) {
        m->data = e->data;
        m->free_fn = e->free_fn;
    } else {
        /* a fixed-size copy: no call, and the bytes past len are ours */
        __builtin_memcpy(m->buf, e->buf, GV_MSG_INLINE);
        m->data = e->len != 0 ? m->buf : NULL;
        m->free_fn = NULL;
    }
    gv__env_release(e);
}

/* gv__mailbox_take_head takes the oldest user message (there is one). */
void gv__mailbox_take_head(gv__mailbox *mb, gv_msg *m);

/* gv__mailbox_recv takes the next message matching (match NULL: any),
 * parking the owner until one comes or the deadline. Owner only. */
int gv__mailbox_recv(gv__mailbox *mb, gv_msg *m,
                     int (*match)(const gv__env *e, const void *arg),
                     const void *arg, int64_t deadline);

/* gv__mailbox_remove_sys removes queued system messages with this tag and
 * ref (a demonitor's DOWN). */
void gv__mailbox_remove_sys(gv__mailbox *mb, int tag, int64_t ref);

/* Foreign threads: gv__foreign_send queues e (e->to set) for delivery on
 * grove's thread, where deliver(e) takes it over. Lock-free. */
void gv__foreign_send(gv__env *e);
extern void (*gv__foreign_deliver)(gv__env *e);
/* gv__mailbox_fini_all frees the envelope pool (shutdown). */
void gv__mailbox_fini_all(void);

#endif /* GV_MAILBOX_H */
