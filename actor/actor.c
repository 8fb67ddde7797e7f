/*
 * actor.c — actors: every task's mailbox, sends and receives, links,
 * monitors, exit signals, the registry and cleanup handlers.
 *
 * Design notes
 * ------------
 * A task becomes an actor the first time anything actor-like touches it
 * (a send, a receive, a link): its actor state (struct actor) hangs off
 * the task record and dies with the task, in the finished hook, which is
 * where exits propagate. Everything here runs on grove's thread; the only
 * way in from another thread is gv_send, which queues envelopes for
 * delivery here (mailbox.c).
 *
 * Links are two nodes, one on each side, naming the other by id; monitors
 * likewise (the watcher's node and the target's node share a reference).
 * Ids, not pointers: a node whose other side is gone finds nothing on
 * lookup and is simply dropped.
 *
 * Exit signals (Erlang semantics): an actor that exits with reason R sends
 * R to each linked actor. There, GV_NORMAL is ignored and anything else
 * kills, unless the actor traps exits: then it gets a GV_MSG_EXIT message.
 * gv_exit_signal(id, GV_KILLED) is the one signal that cannot be trapped.
 * A kill with a reason is grove's sticky cancellation (sched/) carrying
 * that reason, so the killed actor still unwinds by returning.
 */
#include "actor_int.h"
#include "mailbox.h"

#include <string.h>

#define S gv__S

typedef struct peer_node {
    struct peer_node *next;
    gv_id peer;
    int64_t ref;  /* monitors */
    gv__env *env; /* the EXIT or DOWN this node may have to send to peer,
                     allocated when the link or monitor is made: once
                     that succeeded, the signal cannot fail for memory */
} peer_node;

typedef struct cleanup {
    struct cleanup *next;
    void (*fn)(void *arg, int reason);
    void *arg;
} cleanup;

typedef struct actor {
    gv__mailbox mb;
    peer_node *links;
    peer_node *watchers;   /* monitors others hold on us */
    peer_node *monitoring; /* monitors we hold on others */
    cleanup *cleanups;
    char *regname;
    int trap_exit;
} actor;

static void hook_exiting(gv__task *t, int reason);
static void hook_finished(gv__task *t);
static void hook_discard(gv__task *t);
static void hook_fini(void);
static void deliver_foreign(gv__env *e);

static int configure(gv__task *t, const gv_spawn_opts *opts);
static const gv__actor_hooks hooks = {hook_exiting, hook_finished, hook_discard,
                                      hook_fini, configure};

/* The actor layer announces itself when the program loads. */
__attribute__((constructor)) static void
actor_layer_register(void)
{
    gv__hooks = &hooks;
    gv__foreign_deliver = deliver_foreign;
}
static int64_t next_ref;

/* actor_of gives t's actor state, making it on first use. NULL: no
 * memory. */
static actor *
actor_of(gv__task *t)
{
    actor *a = t->ext;
    if (GV_LIKELY(a != NULL))
        return a;
    a = gv__malloc(sizeof *a);
    if (a == NULL)
        return NULL;
    memset(a, 0, sizeof *a);
    gv__mailbox_init(&a->mb, t);
    t->ext = a;
    return a;
}

/* live is the task behind id if it has not finished. */
static inline gv__task *
live(gv_id id)
{
    gv__task *t = gv__lookup(id);
    return t != NULL && t->state != GV__DONE ? t : NULL;
}

/* ----------------------------------------------------------------- sending */

static int
check_send(int tag, const void *data, size_t len)
{
    if (tag < 0 || (len != 0 && data == NULL))
        return GV_EINVAL;
    return 0;
}

/* send_env delivers e to actor to from grove's thread, parking the sender
 * while a blocking mailbox is full. Frees e unless it returns GV_EFULL...
 * it never hands e back: on any error e is freed, payload and all, unless
 * keep_payload, when the payload is detached first (gv_send_owned's
 * "takes data only on success"). */
static int
send_env(gv_id to, gv__env *e, int64_t deadline, int keep_payload)
{
    gv__task *self = S.current;
    int rc;
    for (;;) {
        gv__task *t = live(to);
        if (t == NULL) {
            rc = GV_ENOENT;
            break;
        }
        actor *a = actor_of(t);
        if (a == NULL) {
            rc = GV_ENOMEM;
            break;
        }
        rc = gv__mailbox_put(&a->mb, e);
        if (GV_LIKELY(rc == 0))
            return 0;
        if (rc != GV_EAGAIN)
            break;
        if (t == self) {
            rc = GV_EFULL; /* waiting on oneself would never end */
            break;
        }
        gv__list_push(&a->mb.senders, &self->wait.link);
        rc = gv__park(deadline);
        gv__list_remove(&self->wait.link);
        if (rc != 0)
            break;
    }
    if (keep_payload)
        e->data = NULL;
    gv__env_free(e);
    return rc;
}

static int
foreign_send(gv_id to, int tag, const void *data, size_t len, void *owned,
             void (*free_fn)(void *))
{
    if (!S.inited)
        return GV_ENOENT; /* no scheduler: no actor can exist */
    gv__env *e = gv__env_new_any();
    if (e == NULL)
        return GV_ENOMEM;
    e->tag = tag;
    e->to = to;
    if (owned != NULL) {
        e->data = owned;
        e->len = len;
        e->free_fn = free_fn;
    } else if (gv__env_copy(e, data, len) != 0) {
        gv__free(e);
        return GV_ENOMEM;
    }
    gv__foreign_send(e);
    return 0;
}

static void
deliver_foreign(gv__env *e)
{
    gv__task *t = live(e->to);
    actor *a = t != NULL ? actor_of(t) : NULL;
    if (a == NULL) { /* gone: dropped, as grove.h says */
        gv__env_free(e);
        return;
    }
    int rc = gv__mailbox_put(&a->mb, e);
    if (rc != 0) { /* full, and a thread cannot wait: dropped */
        a->mb.dropped++;
        gv__env_free(e);
    }
}

int
gv_send(gv_id to, int tag, const void *data, size_t len, int64_t deadline)
{
    int rc = check_send(tag, data, len);
    if (GV_UNLIKELY(rc != 0))
        return rc;
    if (GV_UNLIKELY(!gv__home))
        return foreign_send(to, tag, data, len, NULL, NULL);
    /* The common case in one go: a live actor with room, a small payload. */
    gv__task *t = gv__lookup(to);
    actor *a = t != NULL ? t->ext : NULL;
    if (GV_LIKELY(a != NULL && t->state != GV__DONE && len <= GV_MSG_INLINE &&
                  (a->mb.capacity == 0 || a->mb.user.len < a->mb.capacity))) {
        gv__env *e = gv__env_new();
        if (GV_UNLIKELY(e == NULL))
            return GV_ENOMEM;
        e->tag = tag;
        e->from = S.current->id;
        gv__env_copy(e, data, len);
        gv__mailbox_append(&a->mb, e);
        return 0;
    }
    gv__env *e = gv__env_new();
    if (e == NULL)
        return GV_ENOMEM;
    e->tag = tag;
    e->from = S.current->id;
    if (gv__env_copy(e, data, len) != 0) {
        gv__env_free(e);
        return GV_ENOMEM;
    }
    return send_env(to, e, deadline, 0);
}

int
gv_send_owned(gv_id to, int tag, void *data, size_t len,
              void (*free_fn)(void *), int64_t deadline)
{
    int rc = check_send(tag, data, len);
    if (rc != 0)
        return rc;
    if (data == NULL) /* nothing to own: a plain empty message */
        return gv_send(to, tag, NULL, 0, deadline);
    if (GV_UNLIKELY(!gv__home))
        return foreign_send(to, tag, NULL, len, data, free_fn);
    gv__env *e = gv__env_new();
    if (e == NULL)
        return GV_ENOMEM;
    e->tag = tag;
    e->from = S.current->id;
    e->data = data;
    e->len = len;
    e->free_fn = free_fn;
    return send_env(to, e, deadline, 1);
}

/* ---------------------------------------------------------------- receiving */

void
gv_msg_free(gv_msg *m)
{
    if (m == NULL)
        return;
    if (m->free_fn != NULL && m->data != NULL && m->data != (void *)m->buf)
        m->free_fn(m->data);
    m->free_fn = NULL;
    m->data = NULL;
    m->len = 0;
}

/* msg_clear makes *m safe for gv_msg_free whatever happens next. */
static inline void
msg_clear(gv_msg *m)
{
    if (m != NULL) {
        m->data = NULL;
        m->free_fn = NULL;
        m->len = 0;
    }
}

static int
recv_setup(gv_msg *m, actor **ap)
{
    msg_clear(m);
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (m == NULL)
        return GV_EINVAL;
    gv__task *t = S.current;
    if (t->flags & GV__F_CANCELED)
        return GV_ECANCELED;
    *ap = actor_of(t);
    return *ap != NULL ? 0 : GV_ENOMEM;
}

int
gv_recv(gv_msg *m, int64_t deadline)
{
    /* The common case: a message waiting, nothing on the system lane. */
    gv__task *self = gv__home ? S.current : NULL;
    actor *a = self != NULL ? self->ext : NULL;
    if (GV_LIKELY(a != NULL && m != NULL && a->mb.sys.head == NULL &&
                  !(self->flags & GV__F_CANCELED))) {
        if (a->mb.user.head == NULL) {
            /* nothing yet: wait for the next message (any thread may send,
             * so this is a wait another thread can end) */
            a->mb.receiving = 1;
            gv__remote_wait(+1);
            int rc = gv__park(deadline);
            gv__remote_wait(-1);
            a->mb.receiving = 0;
            if (rc != 0) {
                msg_clear(m);
                return rc;
            }
        }
        if (GV_LIKELY(a->mb.user.head != NULL && a->mb.sys.head == NULL)) {
            gv__mailbox_take_head(&a->mb, m);
            return 0;
        }
    }
    int rc = recv_setup(m, &a);
    if (rc != 0)
        return rc;
    return gv__mailbox_recv(&a->mb, m, NULL, NULL, deadline);
}

typedef struct tag_set {
    const int *tags;
    size_t n;
} tag_set;

static int
match_tags(const gv__env *e, const void *arg)
{
    const tag_set *ts = arg;
    for (size_t i = 0; i < ts->n; i++)
        if (ts->tags[i] == e->tag)
            return 1;
    return 0;
}

int
gv_recv_tags(gv_msg *m, const int *tags, size_t ntags, int64_t deadline)
{
    msg_clear(m);
    if (tags == NULL && ntags != 0)
        return GV_EINVAL;
    actor *a;
    int rc = recv_setup(m, &a);
    if (rc != 0)
        return rc;
    tag_set ts = {tags, ntags};
    return gv__mailbox_recv(&a->mb, m, match_tags, &ts, deadline);
}

typedef struct match_fn {
    gv_match_cb cb;
    void *arg;
} match_fn;

/* match_user shows the callback a gv_msg view of the envelope. */
static int
match_user(const gv__env *e, const void *arg)
{
    const match_fn *mf = arg;
    gv_msg view;
    view.tag = e->tag;
    view.reason = e->reason;
    view.from = e->from;
    view.ref = e->ref;
    view.len = e->len;
    view.free_fn = NULL;
    view.data = e->data != NULL ? e->data : (void *)e->buf;
    if (e->len == 0)
        view.data = NULL;
    return mf->cb(&view, mf->arg) ? 1 : 0;
}

int
gv_recv_match(gv_msg *m, gv_match_cb match, void *arg, int64_t deadline)
{
    msg_clear(m);
    if (match == NULL)
        return GV_EINVAL;
    actor *a;
    int rc = recv_setup(m, &a);
    if (rc != 0)
        return rc;
    match_fn mf = {match, arg};
    return gv__mailbox_recv(&a->mb, m, match_user, &mf, deadline);
}

int
gv_mailbox_set(size_t capacity, int overflow)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (overflow < GV_OVERFLOW_BLOCK || overflow > GV_OVERFLOW_DROP_OLDEST)
        return GV_EINVAL;
    actor *a = actor_of(S.current);
    if (a == NULL)
        return GV_ENOMEM;
    a->mb.capacity = capacity;
    a->mb.overflow = overflow;
    /* room may have appeared for blocked senders */
    while (!gv__list_empty(&a->mb.senders) &&
           (capacity == 0 || a->mb.user.len < capacity)) {
        gv__waiter *w = GV__CONTAINER(a->mb.senders.next, gv__waiter, link);
        gv__list_remove(&w->link);
        gv__ready(w->task, 0);
    }
    return 0;
}

int
gv_mailbox_inspect(gv_id id, gv_mailbox_info *info)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (info == NULL)
        return GV_EINVAL;
    gv__task *t = live(id);
    if (t == NULL)
        return GV_ENOENT;
    memset(info, 0, sizeof *info);
    actor *a = t->ext;
    if (a == NULL) {
        info->overflow = GV_OVERFLOW_BLOCK;
        return 0;
    }
    info->len = a->mb.user.len;
    info->high_water = a->mb.high_water;
    info->capacity = a->mb.capacity;
    info->overflow = a->mb.overflow;
    info->system_len = a->mb.sys.len;
    info->dropped = a->mb.dropped;
    return 0;
}

/* configure applies spawn options to a fresh task (gv_spawn_ex). */
static int
configure(gv__task *t, const gv_spawn_opts *opts)
{
    actor *a = actor_of(t);
    if (a == NULL)
        return GV_ENOMEM;
    a->mb.capacity = opts->mailbox_capacity;
    a->mb.overflow = opts->overflow;
    return 0;
}

/* ------------------------------------------------------- exit signals */

/* post_sys queues a system message for t, in *envp if the caller made
 * one beforehand (taken), else in a new one. Returns 0 or GV_ENOMEM. */
static int
post_sys(gv__task *t, int tag, gv_id from, int reason, int64_t ref,
         gv__env **envp)
{
    actor *a = actor_of(t);
    gv__env *e = NULL;
    if (envp != NULL && *envp != NULL) {
        e = *envp;
        *envp = NULL;
    } else if (a != NULL) {
        e = gv__env_new();
    }
    if (a == NULL || e == NULL) {
        if (e != NULL)
            gv__env_free(e);
        return GV_ENOMEM;
    }
    e->tag = tag;
    e->from = from;
    e->reason = reason;
    e->ref = ref;
    e->len = 0;
    e->data = NULL;
    e->free_fn = NULL;
    gv__mailbox_put_sys(&a->mb, e);
    return 0;
}

/* exit_signal delivers reason from from to t (Erlang semantics). Returns
 * 0 or GV_ENOMEM (a trapping t and no envelope). */
static int
exit_signal(gv__task *t, gv_id from, int reason, int untrappable,
            gv__env **envp)
{
    actor *a = t->ext;
    if (untrappable) {
        gv__kill_task_reason(t, GV_KILLED);
    } else if (a != NULL && a->trap_exit) {
        return post_sys(t, GV_MSG_EXIT, from, reason, 0, envp);
    } else if (reason != GV_NORMAL) {
        gv__kill_task_reason(t, reason);
    }
    return 0;
}

int
gv_exit_signal(gv_id id, int reason)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    gv__task *t = live(id);
    if (t == NULL)
        return GV_ENOENT;
    return exit_signal(t, S.current->id, reason, reason == GV_KILLED, NULL);
}

int
gv_trap_exit(bool on)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    actor *a = actor_of(S.current);
    if (a == NULL)
        return GV_ENOMEM;
    int was = a->trap_exit;
    a->trap_exit = on;
    return was;
}

int
gv_exit_reason(gv_id id)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    gv__task *t = gv__lookup(id);
    if (t == NULL)
        return GV_ENOENT;
    return t->state == GV__DONE ? t->error : 1;
}

/* ----------------------------------------------------------------- links */

static void
node_free(peer_node *n)
{
    if (n->env != NULL)
        gv__env_free(n->env);
    gv__free(n);
}

/* node_new makes a node, with the envelope for its signal if with_env. */
static peer_node *
node_new(gv_id peer, int64_t ref, int with_env)
{
    peer_node *n = gv__malloc(sizeof *n);
    if (n == NULL)
        return NULL;
    n->peer = peer;
    n->ref = ref;
    n->next = NULL;
    n->env = NULL;
    if (with_env && (n->env = gv__env_new()) == NULL) {
        gv__free(n);
        return NULL;
    }
    return n;
}

/* unlist removes the first node naming peer (and ref, if ref != 0). */
static int
unlist(peer_node **list, gv_id peer, int64_t ref)
{
    for (peer_node **p = list; *p != NULL; p = &(*p)->next) {
        peer_node *n = *p;
        if ((ref != 0 && n->ref == ref) || (ref == 0 && n->peer == peer)) {
            *p = n->next;
            node_free(n);
            return 1;
        }
    }
    return 0;
}

static int
listed(const peer_node *n, gv_id peer)
{
    for (; n != NULL; n = n->next)
        if (n->peer == peer)
            return 1;
    return 0;
}

static int
link_tasks(gv__task *self, gv__task *t)
{
    actor *a = actor_of(self), *b = actor_of(t);
    if (a == NULL || b == NULL)
        return GV_ENOMEM;
    if (self == t || listed(a->links, t->id))
        return 0;
    peer_node *na = node_new(t->id, 0, 1), *nb = node_new(self->id, 0, 1);
    if (na == NULL || nb == NULL) {
        if (na != NULL)
            node_free(na);
        if (nb != NULL)
            node_free(nb);
        return GV_ENOMEM;
    }
    na->next = a->links;
    a->links = na;
    nb->next = b->links;
    b->links = nb;
    return 0;
}

int
gv_link(gv_id id)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    gv__task *self = S.current, *t = live(id);
    if (t == NULL) {
        if (actor_of(self) == NULL)
            return GV_ENOMEM;
        return exit_signal(self, id, GV_ENOENT, 0, NULL); /* noproc */
    }
    return link_tasks(self, t);
}

int
gv_unlink(gv_id id)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    actor *a = S.current->ext;
    if (a != NULL)
        unlist(&a->links, id, 0);
    gv__task *t = live(id);
    if (t != NULL && t->ext != NULL)
        unlist(&((actor *)t->ext)->links, S.current->id, 0);
    return 0;
}

/* -------------------------------------------------------------- monitors */

static int
monitor_task(gv__task *self, gv_id id, int64_t *refp)
{
    int rc;
    actor *a = actor_of(self);
    if (a == NULL)
        return GV_ENOMEM;
    int64_t ref = ++next_ref;
    gv__task *t = live(id);
    if (t == NULL) {
        rc = post_sys(self, GV_MSG_DOWN, id, GV_ENOENT, ref, NULL); /* noproc */
        if (rc != 0)
            return rc;
    } else {
        actor *b = actor_of(t);
        peer_node *mine = node_new(id, ref, 0);
        peer_node *theirs = node_new(self->id, ref, 1);
        if (b == NULL || mine == NULL || theirs == NULL) {
            if (mine != NULL)
                node_free(mine);
            if (theirs != NULL)
                node_free(theirs);
            return GV_ENOMEM;
        }
        mine->next = a->monitoring;
        a->monitoring = mine;
        theirs->next = b->watchers;
        b->watchers = theirs;
    }
    if (refp != NULL)
        *refp = ref;
    return 0;
}

int
gv_monitor(gv_id id, int64_t *refp)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    return monitor_task(S.current, id, refp);
}

int
gv__monitor_as(gv_id watcher, gv_id target, int64_t *refp)
{
    gv__task *w = live(watcher);
    if (w == NULL)
        return GV_ENOENT;
    return monitor_task(w, target, refp);
}

int
gv_demonitor(int64_t ref)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    actor *a = S.current->ext;
    if (a == NULL || ref <= 0)
        return GV_ENOENT;
    gv_id target = 0;
    for (peer_node *n = a->monitoring; n != NULL; n = n->next)
        if (n->ref == ref)
            target = n->peer;
    int found = target != 0 && unlist(&a->monitoring, target, ref);
    gv__task *t = found ? live(target) : NULL;
    if (t != NULL && t->ext != NULL)
        unlist(&((actor *)t->ext)->watchers, S.current->id, ref);
    /* a DOWN already queued (the target died, or noproc) goes too */
    size_t before = a->mb.sys.len;
    gv__mailbox_remove_sys(&a->mb, GV_MSG_DOWN, ref);
    return found || a->mb.sys.len != before ? 0 : GV_ENOENT;
}

/* ------------------------------------------------------------ spawning */

static gv_id
spawn_watched(gv_fn fn, void *arg, const gv_spawn_opts *opts, int link,
              int64_t *refp)
{
    gv_id id = gv_spawn_ex(fn, arg, opts);
    if (id < 0)
        return id;
    gv__task *t = gv__lookup(id);
    /* The child has not run: nothing can happen between spawn and link. */
    int rc =
        link ? link_tasks(S.current, t) : monitor_task(S.current, id, refp);
    if (rc != 0) {
        gv__kill_task(t);
        gv_release(id);
        return rc;
    }
    return id;
}

gv_id
gv_spawn_link(gv_fn fn, void *arg, const gv_spawn_opts *opts)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    return spawn_watched(fn, arg, opts, 1, NULL);
}

gv_id
gv_spawn_monitor(gv_fn fn, void *arg, const gv_spawn_opts *opts, int64_t *refp)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    return spawn_watched(fn, arg, opts, 0, refp);
}

/* --------------------------------------------------------------- cleanup */

int
gv_on_exit(void (*fn)(void *arg, int reason), void *arg)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (fn == NULL)
        return GV_EINVAL;
    actor *a = actor_of(S.current);
    cleanup *c = a != NULL ? gv__malloc(sizeof *c) : NULL;
    if (c == NULL)
        return GV_ENOMEM;
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

/* -------------------------------------------------------------- registry */

#define NBUCKETS 256

typedef struct name_entry {
    struct name_entry *next;
    gv_id id;
    char name[64];
} name_entry;

static name_entry *names[NBUCKETS];

static unsigned
name_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

static name_entry **
name_find(const char *name)
{
    name_entry **p = &names[name_hash(name)];
    while (*p != NULL && strcmp((*p)->name, name) != 0)
        p = &(*p)->next;
    return p;
}

static int
name_ok(const char *name)
{
    return name != NULL && name[0] != '\0' && strlen(name) < 64;
}

int
gv_register(const char *name, gv_id id)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (!name_ok(name))
        return GV_EINVAL;
    gv__task *t = live(id);
    if (t == NULL)
        return GV_ENOENT;
    actor *a = actor_of(t);
    if (a == NULL)
        return GV_ENOMEM;
    name_entry **p = name_find(name);
    if (*p != NULL || a->regname != NULL)
        return GV_EEXIST;
    name_entry *n = gv__malloc(sizeof *n);
    if (n == NULL)
        return GV_ENOMEM;
    n->id = id;
    n->next = NULL;
    strcpy(n->name, name);
    *p = n;
    a->regname = n->name;
    return 0;
}

static void
name_drop(name_entry **p)
{
    name_entry *n = *p;
    *p = n->next;
    gv__free(n);
}

int
gv_unregister(const char *name)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (!name_ok(name))
        return GV_EINVAL;
    name_entry **p = name_find(name);
    if (*p == NULL)
        return GV_ENOENT;
    gv__task *t = gv__lookup((*p)->id);
    if (t != NULL && t->ext != NULL)
        ((actor *)t->ext)->regname = NULL;
    name_drop(p);
    return 0;
}

gv_id
gv_whereis(const char *name)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (!name_ok(name))
        return GV_EINVAL;
    name_entry **p = name_find(name);
    return *p != NULL ? (*p)->id : GV_ENOENT;
}

/* ------------------------------------------------------------------ hooks */

static void
hook_exiting(gv__task *t, int reason)
{
    actor *a = t->ext;
    while (a->cleanups != NULL) { /* last registered first */
        cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->arg, reason);
        gv__free(c);
    }
}

static void
free_nodes(peer_node *n)
{
    while (n != NULL) {
        peer_node *next = n->next;
        node_free(n);
        n = next;
    }
}

static void
actor_free(gv__task *t)
{
    actor *a = t->ext;
    t->ext = NULL;
    if (a->regname != NULL) {
        name_entry **p = name_find(a->regname);
        if (*p != NULL)
            name_drop(p);
    }
    gv__mailbox_fini(&a->mb);
    free_nodes(a->links);
    free_nodes(a->watchers);
    free_nodes(a->monitoring);
    while (a->cleanups != NULL) {
        cleanup *c = a->cleanups;
        a->cleanups = c->next;
        gv__free(c);
    }
    gv__free(a);
}

static void
hook_finished(gv__task *t)
{
    actor *a = t->ext;
    int reason = t->error;
    /* Take the lists first: signals below may finish other tasks, whose
     * own propagation must not find half-walked lists here. */
    peer_node *links = a->links, *watchers = a->watchers,
              *monitoring = a->monitoring;
    a->links = a->watchers = a->monitoring = NULL;
    for (peer_node *n = monitoring; n != NULL; n = n->next) {
        gv__task *p = live(n->peer);
        if (p != NULL && p->ext != NULL)
            unlist(&((actor *)p->ext)->watchers, t->id, n->ref);
    }
    for (peer_node *n = watchers; n != NULL; n = n->next) {
        gv__task *p = live(n->peer);
        if (p != NULL && p->ext != NULL) {
            unlist(&((actor *)p->ext)->monitoring, t->id, n->ref);
            post_sys(p, GV_MSG_DOWN, t->id, reason, n->ref, &n->env);
        }
    }
    for (peer_node *n = links; n != NULL; n = n->next) {
        gv__task *p = live(n->peer);
        if (p != NULL && p->ext != NULL) {
            unlist(&((actor *)p->ext)->links, t->id, 0);
            exit_signal(p, t->id, reason, 0, &n->env);
        }
    }
    free_nodes(links);
    free_nodes(watchers);
    free_nodes(monitoring);
    actor_free(t);
}

static void
hook_discard(gv__task *t)
{
    actor_free(t);
}

static void
hook_fini(void)
{
    for (int i = 0; i < NBUCKETS; i++)
        while (names[i] != NULL)
            name_drop(&names[i]);
    next_ref = 0;
    gv__mailbox_fini_all();
}
