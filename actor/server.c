/*
 * server.c — servers (Erlang's gen_server) on the public actor API.
 *
 * Design notes
 * ------------
 * Everything here is built on grove.h alone (spawn, send, receive,
 * monitors, notifiers, exit handlers); sched_int.h is included only for
 * gv__malloc/gv__free, so that gv_set_allocator covers what servers
 * allocate as it covers the rest of grove (and the OOM sweeps reach it).
 *
 * Wire format. Calls, replies and casts are ordinary user-lane messages
 * with tags of their own, TAG_CALL, TAG_REPLY and TAG_CAST. What the user
 * sent travels first and a small trailer (the user's tag, the call's
 * reference...) is appended behind it. A trailer rather than a header in
 * front: the payload then starts where the mailbox put it, so it keeps
 * malloc's alignment for callbacks that cast it to a struct, and a
 * received reply is handed to the caller as it arrived — same data
 * pointer, same free_fn, only len and tag adjusted — with no copy and no
 * allocation that could fail after the reply came. Trailers are packed
 * with memcpy (no alignment needed).
 *
 * The tags. Negative tags (-16 call, -17 reply, -18 cast) would be the
 * clean choice, but gv_send refuses every tag < 0 with GV_EINVAL, so the
 * tags are the top of the user range (INT_MAX...) and call and cast
 * trailers end in a 64-bit magic: a user's own message that happens to
 * use one of these tags fails the check and goes to handle_info like any
 * other. Replies need no magic: they go to the call's private proxy.
 *
 * Calls never hang (CAF #442/#1466). A call is waited for by a small
 * proxy task spawned for it: the proxy monitors the server (set up by the
 * caller on the proxy's behalf before anything runs), the caller
 * sends the request (so send errors and per-sender order stay the
 * caller's) naming the proxy as the address for the reply, and the proxy
 * selectively waits for the reply carrying the call's reference or the
 * DOWN of its monitor, then demonitors. The caller waits for the proxy in
 * gv_join. Why not receive in the caller's own mailbox: grove's selective
 * receive always matches system messages (grove.h: "system messages always
 * match"), so a caller that traps exits or monitors other actors (a
 * supervisor, a server calling another server) would have its unrelated
 * EXIT and DOWN messages taken by the call, and they cannot be put back.
 * With the proxy the caller's mailbox is not touched at all — both lanes
 * keep their order — and a reply that comes after the call gave up goes
 * to a proxy that is gone (the send fails with GV_ENOENT): late replies
 * never land in the caller's mailbox. The price is a spawn (pooled
 * record and stack) and two switches per call.
 *
 * Who frees a call's record: the proxy owns it while it runs and the
 * caller once the proxy has finished or if it never ran (a task killed
 * before it ran never runs). A caller that gives up while the proxy is
 * parked marks the record abandoned and kills the proxy, which frees it.
 *
 * Starting. gv_server_start spawns the server and waits on a notifier in
 * the server's heap record (a compact task must not be handed pointers to
 * its stack, and a notifier wait leaves the starter's mailbox alone for
 * the same reason as above). The server posts it once init has returned,
 * or from its gv_on_exit handler if it exits first, however it exits. The
 * record is shared by starter and server (a count of two): the server's
 * exit handler drops the server's share, so the handler's argument stays
 * valid as long as the server lives.
 *
 * Stopping. A callback's GV_STOP (any positive value) stops the server
 * with GV_NORMAL, a negative value with that reason; terminate runs, then
 * the server returns (GV_NORMAL) or gv_exit(reason). A GV_MSG_EXIT from
 * the parent (the task that called gv_server_start) stops it the same way
 * with the signal's reason — GV_SHUTDOWN from a supervisor — as OTP does;
 * EXITs from others go to handle_info. A killed server (gv_kill, or an
 * exit signal it does not trap) does not run terminate and does not
 * reply to the call it was handling: it returns and exits with the kill's
 * reason, which its callers' DOWN carries. Nor does a callback that
 * leaves by gv_exit: cleanup that must always run belongs in gv_on_exit.
 * The message being handled and the pending reply live in the server's
 * record, so the exit handler frees them on every path.
 *
 * Choices where grove.h is silent:
 *  - init NULL: the state is arg. init returning GV_STOP (or exiting
 *    normally before it returned) gives GV_ENOENT from gv_server_start:
 *    there is no server. terminate does not run after a failed init.
 *    GV_SPAWN_UNSTARTED in the options is ignored (init must run).
 *  - A call to a server without handle_call fails with GV_EINVAL (the
 *    server tells the caller in the reply's status and goes on). If the
 *    last gv_reply_set of a handle_call failed (GV_ENOMEM), the call fails
 *    with that error rather than deliver a reply the callback did not
 *    mean. A cast without handle_cast, or a message without handle_info,
 *    is dropped.
 *  - An EXIT from the parent stops a trapping server whatever its reason
 *    (OTP's rule), not only GV_SHUTDOWN.
 *  - gv_call of oneself returns GV_EDEADLK (it could only time out).
 *  - gv_cast, like gv_send, may be called from any thread; with a full
 *    mailbox under GV_OVERFLOW_BLOCK it waits for room.
 *  - Each call's proxy is a task: gv_stats counts it.
 */
#include "grove.h"
#include "actor_int.h"

#include <limits.h>
#include <stdatomic.h>
#include <string.h>

/* The servers' tags (see the design notes for why not negative ones). */
enum { TAG_CALL = INT_MAX, TAG_CAST = INT_MAX - 1, TAG_REPLY = INT_MAX - 2 };

/* Trailers, behind the payload:
 *   call:  reply_to (gv_id) | ref (int64) | tag (int32) | MAGIC (uint64)
 *   reply: ref (int64) | tag (int32) | status (int32)
 *   cast:  tag (int32) | MAGIC (uint64) */
#define CALL_TRL 28
#define REPLY_TRL 16
#define CAST_TRL 12
#define MAGIC ((int64_t)0x67726f76655f7376) /* "grove_sv" */

static _Atomic int64_t next_ref;

/* ------------------------------------------------------------- framing */

static void
put64(unsigned char *p, int64_t v)
{
    memcpy(p, &v, sizeof v);
}

static void
put32(unsigned char *p, int32_t v)
{
    memcpy(p, &v, sizeof v);
}

static int64_t
get64(const unsigned char *p)
{
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int32_t
get32(const unsigned char *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* trailer returns the trl_len bytes behind the payload of m. */
static const unsigned char *
trailer(const gv_msg *m, size_t trl_len)
{
    return (const unsigned char *)m->data + (m->len - trl_len);
}

/* framed tells whether m is a call or cast (kind) that server.c made. */
static bool
framed(const gv_msg *m, int kind, size_t trl_len)
{
    return m->tag == kind && m->len >= trl_len &&
           get64((const unsigned char *)m->data + m->len - 8) == MAGIC;
}

/* send_framed sends data followed by a trailer as one message: inline
 * sizes through a buffer on the sender's own stack (gv_send copies it),
 * bigger ones in one heap block handed over with gv_send_owned. */
static int
send_framed(gv_id to, int kind, const void *data, size_t len,
            const unsigned char *trl, size_t trl_len, int64_t deadline)
{
    if (len > SIZE_MAX - trl_len)
        return GV_EINVAL;
    size_t total = len + trl_len;
    if (total <= GV_MSG_INLINE) {
        unsigned char buf[GV_MSG_INLINE];
        if (len != 0)
            memcpy(buf, data, len);
        memcpy(buf + len, trl, trl_len);
        return gv_send(to, kind, buf, total, deadline);
    }
    unsigned char *p = gv__malloc(total);
    if (p == NULL)
        return GV_ENOMEM;
    memcpy(p, data, len);
    memcpy(p + len, trl, trl_len);
    int rc = gv_send_owned(to, kind, p, total, gv__free, deadline);
    if (rc != 0)
        gv__free(p);
    return rc;
}

/* reply_buf_free frees a payload gv_reply_set put on the heap. Being a
 * function of its own, it also marks such a payload as having REPLY_TRL
 * spare bytes behind it, so the reply goes out without another copy. */
static void
reply_buf_free(void *p)
{
    gv__free(p);
}

int
gv_reply_set(gv_msg *reply, int tag, const void *data, size_t len)
{
    if (reply == NULL || tag < 0 || (len != 0 && data == NULL))
        return GV_EINVAL;
    if (len > SIZE_MAX - REPLY_TRL)
        return GV_EINVAL;
    void *old = reply->free_fn != NULL ? reply->data : NULL;
    void (*old_free)(void *) = reply->free_fn;
    if (len <= GV_MSG_INLINE) {
        /* memmove: data may be the reply's own payload */
        if (len != 0)
            memmove(reply->buf, data, len);
        reply->data = len != 0 ? reply->buf : NULL;
        reply->free_fn = NULL;
    } else {
        void *p = gv__malloc(len + REPLY_TRL);
        if (p == NULL) {
            /* The reply keeps what it had, marked: unless a later
             * gv_reply_set succeeds, the call fails with GV_ENOMEM rather
             * than answer with something the callback did not mean. */
            reply->reason = GV_ENOMEM;
            return GV_ENOMEM;
        }
        memcpy(p, data, len);
        reply->data = p;
        reply->free_fn = reply_buf_free;
    }
    if (old != NULL)
        old_free(old);
    reply->tag = tag;
    reply->len = len;
    reply->reason = 0;
    return 0;
}

/* send_reply sends what handle_call left in *r to the call's proxy. On
 * success the payload has gone with the message. */
static int
send_reply(gv_id to, int64_t ref, gv_msg *r, int status)
{
    unsigned char trl[REPLY_TRL];
    put64(trl, ref);
    put32(trl + 8, r->tag);
    put32(trl + 12, status);
    if (r->free_fn == reply_buf_free && r->len + REPLY_TRL > GV_MSG_INLINE) {
        memcpy((unsigned char *)r->data + r->len, trl, REPLY_TRL);
        int rc = gv_send_owned(to, TAG_REPLY, r->data, r->len + REPLY_TRL,
                               reply_buf_free, GV_NOWAIT);
        if (rc == 0) {
            r->data = NULL;
            r->free_fn = NULL;
            r->len = 0;
        }
        return rc;
    }
    return send_framed(to, TAG_REPLY, r->data, r->len, trl, REPLY_TRL,
                       GV_NOWAIT);
}

/* -------------------------------------------------------------- servers */

typedef struct server_rec {
    gv_server_ops ops; /* a copy: the caller's may be a local */
    void *arg;
    gv_id parent;
    gv_notifier *started; /* posted once the start's outcome is known */
    int start_rc;         /* 0: running; < 0: why it did not start */
    int refs;             /* the starter's share and the server's */
    bool running;         /* the server's body has begun */
    bool init_done;       /* start_rc is final and posted */
    gv_msg cur;           /* the message being handled */
    gv_msg reply;         /* the reply handle_call is filling */
} server_rec;

static void
server_unref(server_rec *s)
{
    if (--s->refs == 0) {
        gv_notifier_free(s->started);
        gv__free(s);
    }
}

static void
server_started(server_rec *s, int rc)
{
    if (!s->init_done) {
        s->init_done = true;
        s->start_rc = rc;
        gv_notifier_post(s->started);
    }
}

/* server_exiting runs in the server on every exit path once registered. */
static void
server_exiting(void *arg, int reason)
{
    server_rec *s = arg;
    gv_msg_free(&s->cur);
    gv_msg_free(&s->reply);
    server_started(s, reason < 0 ? reason : GV_ENOENT);
    server_unref(s);
}

/* server_stop ends the server with reason, after terminate. */
static void *
server_stop(server_rec *s, void *state, int reason)
{
    if (gv_canceled(gv_self()))
        return NULL; /* killed: no terminate; exits with the kill's reason */
    if (s->ops.terminate != NULL)
        s->ops.terminate(state, reason);
    if (reason == GV_NORMAL)
        return NULL;
    gv_exit(reason, "server stopped");
}

/* handle_call_msg runs handle_call for a TAG_CALL message and sends the
 * reply. Returns the callback's verdict. */
static int
handle_call_msg(server_rec *s, void *state)
{
    gv_msg *m = &s->cur;
    const unsigned char *t = trailer(m, CALL_TRL);
    gv_id reply_to = get64(t);
    int64_t ref = get64(t + 8);
    gv_msg req;
    memset(&req, 0, offsetof(gv_msg, buf));
    req.tag = get32(t + 16);
    req.from = m->from;
    req.len = m->len - CALL_TRL;
    req.data = req.len != 0 ? m->data : NULL;

    gv_msg *r = &s->reply;
    memset(r, 0, sizeof *r);
    int verdict = 0, status = 0;
    if (s->ops.handle_call != NULL) {
        verdict = s->ops.handle_call(state, &req, r);
        if (r->reason < 0)
            status = r->reason; /* a gv_reply_set that failed */
    } else {
        status = GV_EINVAL;
    }
    if (gv_canceled(gv_self())) {
        /* killed meanwhile: as far as the caller is concerned the server
         * is dead, and the DOWN says so with the kill's reason */
        gv_msg_free(r);
        return verdict;
    }
    int rc = send_reply(reply_to, ref, r, status);
    gv_msg_free(r);
    /* GV_ENOENT: the caller gave up. Otherwise (no memory)
     * the caller must still not hang: a bare error reply, or, if even
     * that fails, an exit signal to the proxy. */
    if (rc != 0 && rc != GV_ENOENT) {
        memset(r, 0, sizeof *r);
        if (send_reply(reply_to, ref, r, rc) != 0)
            gv_exit_signal(reply_to, rc);
    }
    return verdict;
}

/* dispatch hands s->cur to its callback and returns the verdict: 0 goes
 * on, > 0 stops normally, < 0 stops with that reason. An EXIT from the
 * parent sets *parent_exit and returns the signal's reason. */
static int
dispatch(server_rec *s, void *state, bool *parent_exit)
{
    gv_msg *m = &s->cur;
    if (framed(m, TAG_CALL, CALL_TRL))
        return handle_call_msg(s, state);
    if (framed(m, TAG_CAST, CAST_TRL)) {
        if (s->ops.handle_cast == NULL)
            return 0;
        gv_msg req;
        memset(&req, 0, offsetof(gv_msg, buf));
        req.tag = get32(trailer(m, CAST_TRL));
        req.from = m->from;
        req.len = m->len - CAST_TRL;
        req.data = req.len != 0 ? m->data : NULL;
        return s->ops.handle_cast(state, &req);
    }
    if (m->tag == GV_MSG_EXIT && m->from == s->parent) {
        *parent_exit = true;
        return m->reason;
    }
    if (s->ops.handle_info == NULL)
        return 0;
    return s->ops.handle_info(state, m);
}

static void *
server_main(void *arg)
{
    server_rec *s = arg;
    s->running = true;
    int rc = gv_on_exit(server_exiting, s);
    if (rc != 0) {
        server_started(s, rc);
        server_unref(s);
        gv_exit(rc, "server: no memory for its exit handler");
    }
    void *state = s->arg;
    if (s->ops.init != NULL) {
        rc = s->ops.init(s->arg, &state);
        if (rc < 0)
            gv_exit(rc, "server: init failed");
        if (rc > 0)
            return NULL; /* stopped normally: no server (GV_ENOENT) */
    }
    if (gv_canceled(gv_self()))
        return NULL; /* killed during init: the exit handler reports it */
    server_started(s, 0);

    for (;;) {
        rc = gv_recv(&s->cur, GV_FOREVER);
        if (rc != 0) {
            if (rc == GV_ECANCELED)
                return NULL; /* killed: exits with the kill's reason */
            return server_stop(s, state, rc);
        }
        bool parent_exit = false;
        int verdict = dispatch(s, state, &parent_exit);
        gv_msg_free(&s->cur);
        if (parent_exit)
            return server_stop(s, state, verdict);
        if (verdict != 0)
            return server_stop(s, state, verdict > 0 ? GV_NORMAL : verdict);
    }
}

gv_id
gv_server_start(const gv_server_ops *ops, void *arg, const gv_spawn_opts *opts)
{
    if (ops == NULL)
        return GV_EINVAL;
    gv_id self = gv_self();
    if (self < 0)
        return self;
    if (gv_canceled(self))
        return GV_ECANCELED;
    server_rec *s = gv__malloc(sizeof *s);
    if (s == NULL)
        return GV_ENOMEM;
    memset(s, 0, sizeof *s);
    int rc = gv_notifier_new(&s->started);
    if (rc != 0) {
        gv__free(s);
        return rc;
    }
    s->ops = *ops;
    s->arg = arg;
    s->parent = self;
    s->refs = 2;

    gv_spawn_opts o = {0};
    if (opts != NULL)
        o = *opts;
    o.flags &= ~(unsigned)GV_SPAWN_UNSTARTED; /* init must run now */
    gv_id id = gv_spawn_ex(server_main, s, &o);
    if (id < 0) {
        gv_notifier_free(s->started);
        gv__free(s);
        return id;
    }

    rc = gv_notifier_wait(s->started, GV_FOREVER);
    if (rc != 0) {
        /* The starter was killed or its timeout scope ran out: nobody
         * will learn the server's id, so it must not outlive the start. */
        bool ran = s->running;
        gv_kill(id, GV_NOWAIT);
        if (!ran)
            s->refs--; /* killed before it ran: it never will */
        gv_release(id);
        server_unref(s);
        return rc;
    }
    rc = s->start_rc;
    server_unref(s);
    if (rc != 0) {
        /* The exit handler posted from the exiting server: let it finish
         * so that "the server has then exited" holds. */
        gv_join(id, GV_FOREVER);
        gv_release(id);
        return rc;
    }
    return id;
}

/* ---------------------------------------------------------------- calls */

typedef struct call_rec {
    gv_id server;
    int64_t ref;
    int64_t mref;   /* the proxy's monitor on the server, set up for it */
    int rc;         /* the proxy's outcome: 0 (reply), GV_ENOENT (DOWN)... */
    int reason;     /* the DOWN's exit reason */
    bool running;   /* the proxy has begun */
    bool done;      /* the proxy has reached its end: rc is final */
    bool abandoned; /* the caller gave up: the proxy frees the record */
    gv_msg reply;
} call_rec;

static void
call_free(call_rec *c)
{
    gv_msg_free(&c->reply);
    gv__free(c);
}

static bool
is_our_reply(const gv_msg *m, void *arg)
{
    const call_rec *c = arg;
    return m->tag == TAG_REPLY && m->len >= REPLY_TRL &&
           get64(trailer(m, REPLY_TRL)) == c->ref;
}

/* take_reply moves a reply into c->reply, minus its trailer. Returns the
 * status the server sent (0, or why it could not answer). */
static int
take_reply(call_rec *c, gv_msg *m)
{
    const unsigned char *t = trailer(m, REPLY_TRL);
    int tag = get32(t + 8);
    int status = get32(t + 12);
    c->reply = *m;
    c->reply.tag = tag;
    c->reply.reason = 0;
    c->reply.ref = 0;
    c->reply.len = m->len - REPLY_TRL;
    if (m->data == m->buf)
        c->reply.data = c->reply.buf; /* the copy's own buffer */
    if (c->reply.len == 0) {
        gv_msg_free(m);
        c->reply.data = NULL;
        c->reply.free_fn = NULL;
    }
    if (status != 0)
        gv_msg_free(&c->reply);
    return status;
}

/* call_wait receives, in the proxy's own mailbox, the reply or the DOWN. */
static int
call_wait(call_rec *c, int64_t mref)
{
    for (;;) {
        gv_msg m;
        int rc = gv_recv(&m, GV_FOREVER);
        if (rc != 0)
            return rc;
        if (is_our_reply(&m, c)) {
            gv_demonitor(mref);
            return take_reply(c, &m);
        }
        if (m.tag == GV_MSG_DOWN && m.ref == mref) {
            /* The system lane is read first: a reply sent just before the
             * server exited may still be queued behind the DOWN. */
            gv_msg r;
            if (gv_recv_match(&r, is_our_reply, c, GV_NOWAIT) == 0) {
                if (is_our_reply(&r, c))
                    return take_reply(c, &r);
                gv_msg_free(&r);
            }
            c->reason = m.reason;
            return GV_ENOENT;
        }
        gv_msg_free(&m); /* strays: nobody else should write here */
    }
}

static void *
call_proxy(void *arg)
{
    call_rec *c = arg;
    c->running = true;
    int rc = call_wait(c, c->mref);
    c->rc = rc;
    if (c->abandoned) {
        call_free(c);
        return NULL;
    }
    c->done = true;
    return NULL;
}

/* call_end settles the call record and the proxy after the caller's wait
 * (rc: the join's result). Returns gv_call's result. */
static int
call_end(gv_id proxy, call_rec *c, int rc, gv_msg *reply)
{
    if (rc == 0) {
        rc = c->done ? c->rc : GV_ECANCELED;
        if (rc == GV_ECANCELED) {
            /* the proxy was killed (shutdown, or the server's exit signal
             * when it could not even send an error reply) */
            int why = gv_exit_reason(proxy);
            if (why < 0)
                rc = why;
        }
        if (rc == 0) {
            *reply = c->reply;
            if (c->reply.data == c->reply.buf)
                reply->data = reply->buf;
            memset(&c->reply, 0, offsetof(gv_msg, buf));
        } else if (rc == GV_ENOENT) {
            reply->reason = c->reason;
        }
    }
    if (c->done || !c->running) {
        /* finished, or never ran: the record is the caller's */
        if (!c->running)
            gv_kill(proxy, GV_NOWAIT);
        call_free(c);
    } else {
        c->abandoned = true; /* before the kill: the proxy reads it */
        gv_kill(proxy, GV_NOWAIT);
    }
    gv_release(proxy);
    return rc;
}

int
gv_call(gv_id server, int tag, const void *data, size_t len, gv_msg *reply,
        int64_t deadline)
{
    if (reply == NULL)
        return GV_EINVAL;
    memset(reply, 0, offsetof(gv_msg, buf));
    if (tag < 0 || (len != 0 && data == NULL) || len > SIZE_MAX - CALL_TRL)
        return GV_EINVAL;
    gv_id self = gv_self();
    if (self < 0)
        return (int)self;
    if (server <= 0) {
        reply->reason = GV_ENOENT;
        return GV_ENOENT;
    }
    if (server == self)
        return GV_EDEADLK;
    if (gv_canceled(self))
        return GV_ECANCELED;

    call_rec *c = gv__malloc(sizeof *c);
    if (c == NULL)
        return GV_ENOMEM;
    memset(c, 0, sizeof *c);
    c->server = server;
    c->ref = atomic_fetch_add_explicit(&next_ref, 1, memory_order_relaxed) + 1;
    gv_spawn_opts po = {.name = "gv_call"};
    gv_id proxy = gv_spawn_ex(call_proxy, c, &po);
    if (proxy < 0) {
        gv__free(c);
        return (int)proxy;
    }
    /* The proxy watches the server before the request leaves: the server
     * may run, and die, before the proxy first does. */
    int mrc = gv__monitor_as(proxy, server, &c->mref);
    if (mrc != 0) {
        call_end(proxy, c, GV_ECANCELED, reply); /* any nonzero: give up */
        return mrc;
    }

    unsigned char trl[CALL_TRL];
    put64(trl, proxy);
    put64(trl + 8, c->ref);
    put32(trl + 16, tag);
    put64(trl + 20, MAGIC);
    int rc = send_framed(server, TAG_CALL, data, len, trl, CALL_TRL, deadline);
    if (rc != 0) {
        call_end(proxy, c, GV_ECANCELED, reply); /* any nonzero: give up */
        if (rc == GV_ENOENT)
            reply->reason = GV_ENOENT; /* noproc */
        return rc;
    }
    rc = gv_join(proxy, deadline);
    return call_end(proxy, c, rc, reply);
}

int
gv_cast(gv_id server, int tag, const void *data, size_t len)
{
    if (tag < 0 || (len != 0 && data == NULL))
        return GV_EINVAL;
    unsigned char trl[CAST_TRL];
    put32(trl, tag);
    put64(trl + 4, MAGIC);
    return send_framed(server, TAG_CAST, data, len, trl, CAST_TRL, GV_FOREVER);
}
