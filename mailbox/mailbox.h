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

typedef struct gv__mailbox {
    gv__env *sys_head, *sys_tail;
    gv__env *head, *tail;
    size_t sys_len, len, high_water, capacity;
    uint64_t dropped;
    uint64_t removals; /* bumped when anyone but the receiver takes one */
    int overflow;
    int receiving; /* the owner is parked in a receive */
    gv__task *owner;
    gv__list senders; /* gv__waiter nodes of senders waiting for room */
} gv__mailbox;

/* gv__env_new takes an envelope (home thread: from a pool). NULL: no
 * memory. */
gv__env *gv__env_new(void);
/* gv__env_new_any is gv__env_new for any thread (plain allocation). */
gv__env *gv__env_new_any(void);
/* gv__env_free releases the payload (if owned) and the envelope. Home
 * thread. */
void gv__env_free(gv__env *e);
/* gv__env_copy puts a copy of data in e: inline when it fits. Returns 0 or
 * GV_ENOMEM. Any thread. */
int gv__env_copy(gv__env *e, const void *data, size_t len);
/* gv__env_payload_free frees payloads gv__env_copy put on the heap. */
void gv__env_payload_free(void *p);

void gv__mailbox_init(gv__mailbox *mb, gv__task *owner);
/* gv__mailbox_fini frees every queued envelope and wakes blocked senders
 * (their retry finds the owner gone). */
void gv__mailbox_fini(gv__mailbox *mb);

/* gv__mailbox_put queues e on the user lane under the overflow policy.
 * Returns 0 (queued, or dropped by a drop policy: then e is freed),
 * GV_EFULL (fail policy; e is the caller's again) or GV_EAGAIN (block
 * policy and full: the caller parks on mb->senders and tries again). */
int gv__mailbox_put(gv__mailbox *mb, gv__env *e);
/* gv__mailbox_put_sys queues e on the system lane: never refused. */
void gv__mailbox_put_sys(gv__mailbox *mb, gv__env *e);

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
