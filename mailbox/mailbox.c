/*
 * mailbox.c — envelopes and mailboxes.
 *
 * Design notes
 * ------------
 * Envelopes come from a free list on grove's thread, so a message costs
 * no allocation in steady state; payloads up to GV_MSG_INLINE bytes travel
 * inside the envelope and are copied out into the receiver's gv_msg.
 *
 * The user lane is bounded or not; when full the overflow policy decides.
 * A blocking sender parks on the mailbox's sender list and is woken, first
 * come first served, each time the receiver takes a message. The system
 * lane (exit and down signals) is never bounded and always read first.
 *
 * A selective receive scans the user lane once; when it parks it remembers
 * how far it got, and on waking looks only at what arrived since — unless
 * someone else removed messages meanwhile (drop-oldest), then it rescans.
 *
 * Threads grove does not run push envelopes on one lock-free stack (a CAS
 * per message, per-sender order kept) and wake the loop once; grove's
 * thread takes the whole stack at each wake-up, restores arrival order and
 * hands each envelope to the actor layer for delivery.
 */
#include "mailbox.h"

#include <string.h>

gv__env *gv__env_pool;
size_t gv__env_npool;

gv__env *
gv__env_new_slow(void)
{
    gv__env *e = gv__malloc(sizeof *e);
    if (e == NULL)
        return NULL;
    e->next = NULL;
    e->data = NULL;
    e->free_fn = NULL;
    e->len = 0;
    e->reason = 0;
    e->ref = 0;
    e->from = 0;
    e->to = 0;
    return e;
}

gv__env *
gv__env_new_any(void)
{
    gv__env *e = gv__malloc(sizeof *e);
    if (e != NULL) {
        memset(e, 0, offsetof(gv__env, buf));
    }
    return e;
}

void
gv__env_payload_free(void *p)
{
    gv__free(p);
}

void
gv__env_free(gv__env *e)
{
    if (e->data != NULL && e->free_fn != NULL)
        e->free_fn(e->data);
    gv__env_release(e);
}

int
gv__env_copy_heap(gv__env *e, const void *data, size_t len)
{
    void *p = gv__malloc(len);
    if (p == NULL)
        return GV_ENOMEM;
    memcpy(p, data, len);
    e->len = len;
    e->data = p;
    e->free_fn = gv__env_payload_free;
    return 0;
}

void
gv__mailbox_fini_all(void)
{
    while (gv__env_pool != NULL) {
        gv__env *e = gv__env_pool;
        gv__env_pool = e->next;
        gv__free(e);
    }
    gv__env_npool = 0;
}

/* ---------------------------------------------------------------- mailbox */

void
gv__mailbox_init(gv__mailbox *mb, gv__task *owner)
{
    memset(mb, 0, sizeof *mb);
    mb->owner = owner;
    mb->overflow = GV_OVERFLOW_BLOCK;
    gv__list_init(&mb->senders);
}

static void
free_chain(gv__env *e)
{
    while (e != NULL) {
        gv__env *n = e->next;
        gv__env_free(e);
        e = n;
    }
}

static void
wake_one_sender(gv__mailbox *mb)
{
    if (GV_LIKELY(gv__list_empty(&mb->senders)))
        return;
    gv__waiter *w = GV__CONTAINER(mb->senders.next, gv__waiter, link);
    gv__list_remove(&w->link);
    gv__ready(w->task, 0);
}

void
gv__mailbox_fini(gv__mailbox *mb)
{
    free_chain(mb->sys.head);
    free_chain(mb->user.head);
    mb->sys = mb->user = (gv__lane){NULL, NULL, 0};
    while (!gv__list_empty(&mb->senders))
        wake_one_sender(mb);
}

int
gv__mailbox_put_full(gv__mailbox *mb, gv__env *e)
{
    switch (mb->overflow) {
    case GV_OVERFLOW_FAIL:
        return GV_EFULL;
    case GV_OVERFLOW_DROP_NEWEST:
        mb->dropped++;
        gv__env_free(e);
        return 0;
    case GV_OVERFLOW_DROP_OLDEST: {
        gv__env *old = mb->user.head;
        gv__lane_unlink(&mb->user, NULL, old);
        mb->removals++;
        mb->dropped++;
        gv__env_free(old);
        gv__mailbox_append(mb, e);
        return 0;
    }
    default:
        return GV_EAGAIN;
    }
}

void
gv__mailbox_put_sys(gv__mailbox *mb, gv__env *e)
{
    gv__lane_push(&mb->sys, e);
    if (mb->receiving)
        gv__ready(mb->owner, 0);
}

void
gv__mailbox_remove_sys(gv__mailbox *mb, int tag, int64_t ref)
{
    gv__env *prev = NULL, *e = mb->sys.head;
    while (e != NULL) {
        gv__env *n = e->next;
        if (e->tag == tag && e->ref == ref) {
            gv__lane_unlink(&mb->sys, prev, e);
            gv__env_free(e);
        } else {
            prev = e;
        }
        e = n;
    }
}

void
gv__mailbox_take_head(gv__mailbox *mb, gv_msg *m)
{
    gv__env *e = mb->user.head;
    gv__lane_unlink(&mb->user, NULL, e);
    gv__deliver(m, e);
    if (GV_UNLIKELY(!gv__list_empty(&mb->senders)))
        wake_one_sender(mb);
}

int
gv__mailbox_recv(gv__mailbox *mb, gv_msg *m,
                 int (*match)(const gv__env *e, const void *arg),
                 const void *arg, int64_t deadline)
{
    gv__env *scanned = NULL; /* last user message looked at, unmatched */
    uint64_t removals = mb->removals;
    for (;;) {
        if (mb->sys.head != NULL) {
            gv__env *e = mb->sys.head;
            gv__lane_unlink(&mb->sys, NULL, e);
            gv__deliver(m, e);
            return 0;
        }
        gv__env *prev = NULL, *e = mb->user.head;
        if (scanned != NULL && removals == mb->removals) {
            prev = scanned;
            e = scanned->next;
        }
        for (; e != NULL; prev = e, e = e->next) {
            if (match != NULL && !match(e, arg))
                continue;
            gv__lane_unlink(&mb->user, prev, e);
            gv__deliver(m, e);
            wake_one_sender(mb);
            return 0;
        }
        scanned = prev;
        removals = mb->removals;
        /* any thread may send: a receive is a wait another thread can end,
         * never a deadlock */
        mb->receiving = 1;
        gv__remote_wait(+1);
        int rc = gv__park(deadline);
        gv__remote_wait(-1);
        mb->receiving = 0;
        if (rc != 0)
            return rc;
    }
}

/* -------------------------------------------------------- foreign threads */

void (*gv__foreign_deliver)(gv__env *e);
static gv__env *_Atomic foreign_head;
static void foreign_drain(gv__remote *r);
static gv__remote foreign_remote = {.cb = foreign_drain};

void
gv__foreign_send(gv__env *e)
{
    gv__env *head = atomic_load_explicit(&foreign_head, memory_order_relaxed);
    do {
        e->next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &foreign_head, &head, e, memory_order_release, memory_order_relaxed));
    gv__remote_post(&foreign_remote);
}

static void
foreign_drain(gv__remote *r)
{
    (void)r;
    gv__env *list =
        atomic_exchange_explicit(&foreign_head, NULL, memory_order_acquire);
    gv__env *fifo = NULL;
    while (list != NULL) { /* newest first: reverse into arrival order */
        gv__env *n = list->next;
        list->next = fifo;
        fifo = list;
        list = n;
    }
    while (fifo != NULL) {
        gv__env *n = fifo->next;
        fifo->next = NULL;
        gv__foreign_deliver(fifo);
        fifo = n;
    }
}
