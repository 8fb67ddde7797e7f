/*
 * supervisor.c — supervisors (Erlang/OTP's supervisor behaviour), built on
 * the public actor API.
 *
 * Design notes
 * ------------
 * A supervisor is an actor that traps exits and is linked to its parent
 * (the caller of gv_supervisor_start) and to each child. Its body is one
 * receive loop:
 *
 *   GV_MSG_EXIT from a child    the restart type and strategy decide;
 *   GV_MSG_EXIT from its parent stop the children in reverse start order
 *   (any reason)                and exit with the parent's reason;
 *   a request (a private tag)   start_child, terminate_child, list: answered
 *                               with a reply message.
 *
 * Exit signals from anyone else are dropped, as OTP's supervisor does: a
 * stranger linked to it, and the children it has stopped itself (their
 * EXIT arrives under an id it has forgotten, often with GV_SHUTDOWN, so
 * "GV_SHUTDOWN from anyone" cannot mean "stop"). Stray messages too.
 *
 * Client calls never wait in the caller's mailbox: a selective receive
 * always returns system messages, so waiting there for a reply would
 * swallow the caller's own EXIT and DOWN messages (a trapping main would
 * lose its supervisor's escalation). Each call spawns a short-lived helper
 * actor instead, which monitors the supervisor, sends the request and waits
 * for the reply or the DOWN; the caller joins the helper. The call record
 * lives on the heap (a compact caller's stack moves); if the caller gives
 * up (deadline, kill), whichever of the two finishes last frees it. A
 * request is not withdrawn when its caller gives up: a child may still be
 * started, as with a gen_server call that timed out.
 *
 * Stopping a child: gv_exit_signal(GV_SHUTDOWN) (or gv_kill at once when
 * its shutdown_ms is 0), gv_join until shutdown_ms, then gv_kill. The
 * supervisor holds each child's task record (it spawned it), so the join
 * works without a monitor and leaves the supervisor's mailbox alone; it
 * releases the record once the child is dead. The child's own EXIT arrives
 * afterwards under an id the supervisor no longer knows, and is dropped.
 * simple_one_for_one children stop all at once (OTP does the same): one
 * signal each, then one shared deadline.
 *
 * Restart intensity keeps the times (gv_now: the loop's monotonic clock,
 * real elapsed time) of the restarts made within the last period_ms; one
 * more than max_restarts and the supervisor gives up: it stops every child
 * and exits with GV_SHUTDOWN, which its parent gets through the link.
 *
 * Back-off: a child due for a restart is marked with the time it is due;
 * the loop's receive deadline is the earliest such time, so the supervisor
 * keeps answering requests while it waits. one_for_all and rest_for_one
 * restart their whole group together, after the delay of the child that
 * exited. A restart that fails (spawn error, server init error) counts as
 * an exit of that child with the error, so it is retried under the same
 * intensity limit.
 *
 * Nested supervisors. A child spec names a body, not a start function, so
 * a subtree is a child whose body calls gv_supervisor_start and waits for
 * it (the "wrapper"; see test_supervisor.c and samples/supervision.c):
 *
 *     static void *db_tree(void *arg)
 *     {
 *         gv_id s = gv_supervisor_start(&db_spec, db_kids, 2);
 *         if (s < 0)
 *             gv_exit(s, "db tree");
 *         gv_join(s, GV_FOREVER); // lives as long as its supervisor
 *         return NULL;
 *     }
 *
 * This file keeps a table of the live supervisors and the actor that
 * started each. Stopping (or restarting) a child also waits, within the
 * child's shutdown_ms, for the supervisors it started, so a subtree is
 * down before its siblings stop or it starts again; gv_supervisor_print
 * descends through the same table. Give a wrapper GV_FOREVER as
 * shutdown_ms, as OTP does for supervisor children.
 *
 * Servers start with gv_server_start, then gv_link. The window between the
 * two: a server that dies there is seen as exiting with GV_ENOENT (noproc),
 * and its real reason is read with gv_exit_reason (the record is held). A
 * supervisor killed while gv_server_start waits for the init leaves no
 * orphan: gv_server_start kills the half-started server.
 *
 * Memory comes from sched/'s allocator (gv__malloc), so gv_set_allocator
 * covers the supervisor as it does the rest of grove; nothing else of the
 * layers below is used.
 */
#include "sched_int.h"

#include <inttypes.h>
#include <string.h>

/* ------------------------------------------------------------ the wire */

/* User tags are >= 0; these two are unlikely to collide with a user's, and
 * requests carry a magic besides. */
enum { TAG_REQ = 0x67765352, TAG_REP = 0x67765350 };
#define WIRE_MAGIC 0x73757076u
#define NAME_CAP 64 /* names are copied up to 63 bytes */

enum { OP_START_CHILD = 1, OP_TERMINATE_CHILD, OP_LIST };
enum { KIND_WORKER, KIND_SERVER };
enum { ST_RUNNING, ST_RESTARTING, ST_EXITED };

typedef struct wire_req {
    uint32_t magic;
    int op;
    gv_id child; /* OP_TERMINATE_CHILD */
    /* OP_START_CHILD: a spec (has_spec), or only an arg (simple) */
    int has_spec;
    gv_fn fn;
    void *arg;
    const gv_server_ops *server;
    int restart;
    int64_t shutdown_ms;
    gv_spawn_opts opts; /* name NULL: the name travels below */
    char name[NAME_CAP];
} wire_req;

typedef struct wire_kid {
    gv_id id; /* 0: not running */
    int kind; /* KIND_* */
    int state;
    char name[NAME_CAP];
} wire_kid;

typedef struct wire_rep {
    uint32_t magic;
    int rc;
    gv_id value;
    int strategy;
    char name[NAME_CAP];
    size_t n; /* wire_kid entries follow (OP_LIST) */
} wire_rep;

/* ---------------------------------------------------- supervisor state */

typedef struct kid {
    char *name;
    gv_fn fn;
    void *arg;
    const gv_server_ops *server;
    int restart;
    int64_t shutdown_ms;
    gv_spawn_opts opts;
    gv_id id;             /* > 0 while it runs */
    int64_t restart_at;   /* >= 0: due for a restart then; -1: not */
    unsigned backoff_n;   /* restarts in a row within the period */
    int64_t backoff_last; /* when the last of them was decided */
} kid;

typedef struct supv {
    char *name;
    int strategy;
    int max_restarts;
    int64_t period_ms;
    int64_t backoff_ms;
    int64_t backoff_max_ms;
    gv_id self;
    gv_id parent;  /* the caller of gv_supervisor_start */
    gv_id starter; /* the helper waiting for the start's outcome */
    bool ran;      /* the body has run: it owns this record */
    kid **kids;    /* start order */
    size_t n, cap;
    kid *tmpl;      /* simple_one_for_one */
    int64_t *times; /* restarts within the period, oldest first */
    size_t ntimes, times_cap;
    /* the message being handled: here, not on the stack, so that the exit
     * handler frees it when handling it ends in gv_exit */
    gv_msg cur;
} supv;

/* --------------------------------------------- the table of supervisors */

/* Live supervisors and who started each: how a supervisor finds the
 * subtrees under a child, and how a call tells a supervisor from another
 * actor. Everything here runs on grove's thread. */
typedef struct sup_entry {
    gv_id sup;
    gv_id parent;
} sup_entry;

static sup_entry *table;
static size_t table_n, table_cap;

static int
table_add(gv_id id, gv_id parent)
{
    if (table_n == table_cap) {
        size_t cap = table_cap ? table_cap * 2 : 8;
        sup_entry *t = gv__realloc(table, cap * sizeof *t);
        if (t == NULL)
            return GV_ENOMEM;
        table = t;
        table_cap = cap;
    }
    table[table_n++] = (sup_entry){id, parent};
    return 0;
}

static void
table_remove(gv_id id)
{
    for (size_t i = 0; i < table_n; i++) {
        if (table[i].sup == id) {
            table[i] = table[--table_n];
            break;
        }
    }
    if (table_n == 0) { /* nothing left: grove may be shutting down */
        gv__free(table);
        table = NULL;
        table_cap = 0;
    }
}

static bool
table_has(gv_id id)
{
    for (size_t i = 0; i < table_n; i++)
        if (table[i].sup == id)
            return true;
    return false;
}

/* table_started_by stores up to cap supervisors started by parent into
 * out; returns how many there are. */
static size_t
table_started_by(gv_id parent, gv_id *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < table_n; i++) {
        if (table[i].parent == parent) {
            if (n < cap)
                out[n] = table[i].sup;
            n++;
        }
    }
    return n;
}

/* ------------------------------------------------------------- children */

static int
check_child(const gv_child_spec *c)
{
    if (c == NULL || (c->fn == NULL) == (c->server == NULL))
        return GV_EINVAL;
    if (c->restart < GV_PERMANENT || c->restart > GV_TEMPORARY)
        return GV_EINVAL;
    if (c->shutdown_ms < 0 && c->shutdown_ms != GV_FOREVER)
        return GV_EINVAL;
    return 0;
}

static kid *
child_new(const gv_child_spec *spec)
{
    kid *c = gv__calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->name = gv__strndup(spec->name != NULL ? spec->name : "", NAME_CAP - 1);
    if (c->name == NULL) {
        gv__free(c);
        return NULL;
    }
    c->fn = spec->fn;
    c->arg = spec->arg;
    c->server = spec->server;
    c->restart = spec->restart;
    c->shutdown_ms = spec->shutdown_ms;
    c->opts = spec->opts;
    c->opts.name = c->name;
    /* the supervisor holds the record and wants the child running */
    c->opts.flags &= ~(unsigned)(GV_SPAWN_DETACHED | GV_SPAWN_UNSTARTED);
    c->restart_at = -1;
    return c;
}

static void
child_free(kid *c)
{
    if (c != NULL) {
        gv__free(c->name);
        gv__free(c);
    }
}

/* spec_of views a child record as a spec (its strings stay the child's). */
static gv_child_spec
spec_of(const kid *c)
{
    gv_child_spec s = {.name = c->name,
                       .fn = c->fn,
                       .arg = c->arg,
                       .server = c->server,
                       .restart = c->restart,
                       .shutdown_ms = c->shutdown_ms,
                       .opts = c->opts};
    return s;
}

static int
kid_push(supv *s, kid *c)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        kid **v = gv__realloc(s->kids, cap * sizeof *v);
        if (v == NULL)
            return GV_ENOMEM;
        s->kids = v;
        s->cap = cap;
    }
    s->kids[s->n++] = c;
    return 0;
}

/* kid_remove forgets kids[i], which must not be running. */
static void
kid_remove(supv *s, size_t i)
{
    GV_ASSERT(i < s->n && s->kids[i]->id <= 0);
    child_free(s->kids[i]);
    memmove(&s->kids[i], &s->kids[i + 1], (s->n - i - 1) * sizeof *s->kids);
    s->n--;
}

static int
kid_find(const supv *s, gv_id id)
{
    if (id <= 0)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        if (s->kids[i]->id == id)
            return (int)i;
    return -1;
}

static void
sup_free(supv *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        child_free(s->kids[i]);
    gv__free(s->kids);
    child_free(s->tmpl);
    gv__free(s->times);
    gv__free(s->name);
    gv__free(s);
}

static int
check_sup(const gv_sup_spec *spec, const gv_child_spec *children, size_t n)
{
    if (spec == NULL || (n > 0 && children == NULL))
        return GV_EINVAL;
    if (spec->strategy < GV_ONE_FOR_ONE ||
        spec->strategy > GV_SIMPLE_ONE_FOR_ONE)
        return GV_EINVAL;
    if (spec->max_restarts < 0 || spec->period_ms <= 0 ||
        spec->backoff_ms < 0 || spec->backoff_max_ms < 0)
        return GV_EINVAL;
    if (spec->strategy == GV_SIMPLE_ONE_FOR_ONE && n != 1)
        return GV_EINVAL; /* the template, and only it */
    for (size_t i = 0; i < n; i++)
        if (check_child(&children[i]) != 0)
            return GV_EINVAL;
    return 0;
}

static supv *
sup_new(const gv_sup_spec *spec, const gv_child_spec *children, size_t n)
{
    supv *s = gv__calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->name = gv__strndup(spec->name != NULL ? spec->name : "", NAME_CAP - 1);
    if (s->name == NULL)
        goto fail;
    s->strategy = spec->strategy;
    s->max_restarts = spec->max_restarts;
    s->period_ms = spec->period_ms;
    s->backoff_ms = spec->backoff_ms;
    s->backoff_max_ms = spec->backoff_max_ms;
    if (s->strategy == GV_SIMPLE_ONE_FOR_ONE) {
        if ((s->tmpl = child_new(&children[0])) == NULL)
            goto fail;
        return s;
    }
    for (size_t i = 0; i < n; i++) {
        kid *c = child_new(&children[i]);
        if (c == NULL || kid_push(s, c) != 0) {
            child_free(c);
            goto fail;
        }
    }
    return s;
fail:
    sup_free(s);
    return NULL;
}

/* ------------------------------------------------ the supervisor's side */

/* die ends a supervisor that was killed: its cleanup kills the children
 * still running (their links would tell them anyway; trapping ones would
 * only get a message). */
static _Noreturn void
die(void)
{
    gv_exit(0, NULL); /* exits with the reason of the kill */
}

/* start_kid starts c. Returns its id (> 0) or an error. */
static gv_id
start_kid(supv *s, kid *c)
{
    gv_id id;
    if (c->fn != NULL) {
        id = gv_spawn_link(c->fn, c->arg, &c->opts);
    } else {
        id = gv_server_start(c->server, c->arg, &c->opts);
        if (id == 0)
            id = GV_EINVAL;
        if (id > 0) {
            /* a server that died since its init shows as noproc: see
             * on_exit_signal */
            int rc = gv_link(id);
            if (rc != 0) {
                gv_kill(id, GV_FOREVER);
                gv_release(id);
                id = rc;
            }
        }
    }
    if (id == GV_ECANCELED && gv_canceled(s->self))
        die();
    if (id > 0) {
        c->id = id;
        c->restart_at = -1;
    }
    return id;
}

/* reap_subtree waits until deadline for the supervisors started by the
 * actor id (a wrapper child), then kills those left. */
static void
reap_subtree(gv_id id, int64_t deadline)
{
    gv_id sub;
    while (table_started_by(id, &sub, 1) > 0) {
        int rc = gv_join(sub, deadline);
        if (rc == GV_ECANCELED)
            die();
        if (rc != 0 && rc != GV_ENOENT && gv_kill(sub, GV_FOREVER) != 0 &&
            gv_canceled(gv_self()))
            die();
        table_remove(sub); /* ended (or hopeless): never wait twice */
    }
}

static int64_t
shutdown_deadline(const kid *c)
{
    return c->shutdown_ms == GV_FOREVER ? GV_FOREVER
                                        : gv_deadline(c->shutdown_ms);
}

/* finish_stop waits for a child told to stop until deadline, kills it if
 * it is still there, and forgets its id. */
static void
finish_stop(kid *c, int64_t deadline)
{
    gv_id id = c->id;
    int rc = gv_join(id, deadline);
    if (rc == GV_ECANCELED)
        die();
    if (rc != 0 && rc != GV_ENOENT) { /* GV_ETIMEDOUT, GV_EDEADLK */
        rc = gv_kill(id, GV_FOREVER);
        if (rc == GV_ECANCELED)
            die();
    }
    gv_release(id);
    c->id = 0;
    reap_subtree(id, deadline);
}

/* signal_stop starts stopping c: GV_SHUTDOWN, or a kill for shutdown 0. */
static void
signal_stop(kid *c)
{
    if (c->shutdown_ms == 0)
        gv_kill(c->id, GV_NOWAIT);
    else
        gv_exit_signal(c->id, GV_SHUTDOWN);
}

static void
stop_child(kid *c)
{
    if (c->id <= 0)
        return;
    int64_t deadline = shutdown_deadline(c);
    signal_stop(c);
    finish_stop(c, deadline);
}

/* stop_range stops the running children in [from, to), last first. */
static void
stop_range(supv *s, size_t from, size_t to)
{
    for (size_t k = to; k-- > from;)
        stop_child(s->kids[k]);
}

static void
stop_all(supv *s)
{
    if (s->strategy != GV_SIMPLE_ONE_FOR_ONE) {
        stop_range(s, 0, s->n);
        return;
    }
    /* all at once: one signal each, then the template's one deadline */
    int64_t deadline = shutdown_deadline(s->tmpl);
    for (size_t k = s->n; k-- > 0;)
        if (s->kids[k]->id > 0)
            signal_stop(s->kids[k]);
    for (size_t k = s->n; k-- > 0;)
        if (s->kids[k]->id > 0)
            finish_stop(s->kids[k], deadline);
}

/* shut_down stops every child and ends the supervisor with reason. */
static _Noreturn void
shut_down(supv *s, int reason, const char *why)
{
    stop_all(s);
    gv_exit(reason, why);
}

/* restart_allowed counts a restart now. False when it would be more than
 * max_restarts within period_ms of real time. */
static bool
restart_allowed(supv *s)
{
    int64_t now = gv_now();
    size_t keep = 0;
    for (size_t i = 0; i < s->ntimes; i++)
        if (now - s->times[i] < s->period_ms)
            s->times[keep++] = s->times[i];
    s->ntimes = keep;
    if (s->ntimes + 1 > (size_t)s->max_restarts)
        return false;
    if (s->ntimes == s->times_cap) {
        size_t cap = s->times_cap ? s->times_cap * 2 : 4;
        int64_t *t = gv__realloc(s->times, cap * sizeof *t);
        if (t == NULL)
            return true; /* cannot count it: err on the side of running */
        s->times = t;
        s->times_cap = cap;
    }
    s->times[s->ntimes++] = now;
    return true;
}

/* backoff_delay is how long c waits before this restart: backoff_ms,
 * doubled for each earlier restart of c within the period, at most
 * backoff_max_ms (a smaller max means no doubling). */
static int64_t
backoff_delay(supv *s, kid *c)
{
    if (s->backoff_ms <= 0)
        return 0;
    int64_t now = gv_now();
    if (c->backoff_n > 0 && now - c->backoff_last >= s->period_ms)
        c->backoff_n = 0;
    int64_t cap =
        s->backoff_max_ms > s->backoff_ms ? s->backoff_max_ms : s->backoff_ms;
    int64_t d = s->backoff_ms;
    for (unsigned k = 0; k < c->backoff_n && d < cap; k++)
        d *= 2;
    if (d > cap)
        d = cap;
    c->backoff_n++;
    c->backoff_last = now;
    return d;
}

static bool
wants_restart(int restart, int reason)
{
    switch (restart) {
    case GV_PERMANENT:
        return true;
    case GV_TRANSIENT:
        return reason != GV_NORMAL && reason != GV_SHUTDOWN;
    default:
        return false;
    }
}

/* child_down applies the strategy to kids[i], which no longer runs: it
 * exited with reason, or failed to start again. */
static void
child_down(supv *s, size_t i, int reason)
{
    kid *c = s->kids[i];
    if (!wants_restart(c->restart, reason)) {
        kid_remove(s, i);
        return;
    }
    if (!restart_allowed(s))
        shut_down(s, GV_SHUTDOWN, "supervisor: restart intensity reached");
    int64_t at = gv_now() + backoff_delay(s, c);
    size_t from = i, to = i + 1;
    if (s->strategy == GV_ONE_FOR_ALL) {
        from = 0;
        to = s->n;
    } else if (s->strategy == GV_REST_FOR_ONE) {
        to = s->n;
    }
    stop_range(s, from, to);
    /* The group restarts together, in start order. Temporary children the
     * strategy stopped are forgotten, never restarted (as in OTP). */
    for (size_t k = to; k-- > from;) {
        kid *x = s->kids[k];
        if (x != c && x->restart == GV_TEMPORARY)
            kid_remove(s, k);
        else
            x->restart_at = at;
    }
}

/* run_due_restarts starts, in start order, the children whose restart is
 * due. A failed start is that child going down again. */
static void
run_due_restarts(supv *s)
{
    bool again = true;
    while (again) {
        again = false;
        int64_t now = gv_now();
        for (size_t i = 0; i < s->n; i++) {
            kid *c = s->kids[i];
            if (c->id > 0 || c->restart_at < 0 || c->restart_at > now)
                continue;
            gv_id id = start_kid(s, c);
            if (id < 0) {
                c->restart_at = -1;
                child_down(s, i, (int)id);
                again = true; /* the list may have changed */
                break;
            }
        }
    }
}

static int64_t
next_restart(const supv *s)
{
    int64_t at = GV_FOREVER;
    for (size_t i = 0; i < s->n; i++) {
        int64_t t = s->kids[i]->restart_at;
        if (s->kids[i]->id <= 0 && t >= 0 && (at == GV_FOREVER || t < at))
            at = t;
    }
    return at;
}

static void
on_exit_signal(supv *s, gv_id from, int reason)
{
    int i = kid_find(s, from);
    if (i < 0) {
        if (from == s->parent)
            shut_down(s, reason, NULL);
        return; /* a stranger's exit, or a child stopped already */
    }
    kid *c = s->kids[i];
    if (reason == GV_ENOENT) { /* noproc: a server gone before its link */
        int real = gv_exit_reason(from);
        if (real != 1 && real != GV_ENOENT)
            reason = real;
    }
    int64_t deadline = shutdown_deadline(c);
    gv_release(from);
    c->id = 0;
    reap_subtree(from, deadline);
    child_down(s, (size_t)i, reason);
}

/* reply_failed tells a caller whose reply could not be sent (no memory):
 * its helper traps exits and takes an exit signal from the supervisor as
 * the call's error, rather than wait for a reply that will not come. */
static void
reply_failed(gv_id to, int rc)
{
    gv_exit_signal(to, rc);
}

static int
send_reply(gv_id to, const wire_rep *rep)
{
    int rc = gv_send(to, TAG_REP, rep, sizeof *rep, GV_NOWAIT);
    if (rc != 0 && rc != GV_ENOENT)
        reply_failed(to, rc);
    return rc;
}

static gv_id
add_child(supv *s, const wire_req *r)
{
    gv_child_spec spec;
    if (s->strategy == GV_SIMPLE_ONE_FOR_ONE) {
        if (r->has_spec)
            return GV_EINVAL;
        spec = spec_of(s->tmpl);
        spec.arg = r->arg;
    } else {
        if (!r->has_spec)
            return GV_EINVAL;
        spec = (gv_child_spec){.name = r->name,
                               .fn = r->fn,
                               .arg = r->arg,
                               .server = r->server,
                               .restart = r->restart,
                               .shutdown_ms = r->shutdown_ms,
                               .opts = r->opts};
        if (check_child(&spec) != 0)
            return GV_EINVAL;
    }
    kid *c = child_new(&spec);
    if (c == NULL)
        return GV_ENOMEM;
    if (kid_push(s, c) != 0) {
        child_free(c);
        return GV_ENOMEM;
    }
    gv_id id = start_kid(s, c);
    if (id < 0)
        kid_remove(s, s->n - 1);
    return id;
}

static void
reply_list(supv *s, gv_id to)
{
    size_t len = sizeof(wire_rep) + s->n * sizeof(wire_kid);
    wire_rep *rep = gv__calloc(1, len);
    if (rep == NULL) {
        wire_rep err = {.magic = WIRE_MAGIC, .rc = GV_ENOMEM};
        send_reply(to, &err);
        return;
    }
    rep->magic = WIRE_MAGIC;
    rep->strategy = s->strategy;
    snprintf(rep->name, sizeof rep->name, "%s", s->name);
    rep->n = s->n;
    wire_kid *k = (wire_kid *)(rep + 1);
    for (size_t i = 0; i < s->n; i++) {
        const kid *c = s->kids[i];
        k[i].id = c->id;
        k[i].kind = c->fn != NULL ? KIND_WORKER : KIND_SERVER;
        k[i].state = c->id <= 0        ? ST_RESTARTING
                     : gv_ready(c->id) ? ST_EXITED
                                       : ST_RUNNING;
        snprintf(k[i].name, sizeof k[i].name, "%s", c->name);
    }
    int rc = gv_send_owned(to, TAG_REP, rep, len, gv__free, GV_NOWAIT);
    if (rc != 0) {
        gv__free(rep);
        if (rc != GV_ENOENT)
            reply_failed(to, rc);
    }
}

static void
on_request(supv *s, const gv_msg *m)
{
    wire_req r;
    if (m->len != sizeof r)
        return; /* not ours */
    memcpy(&r, m->data, sizeof r);
    if (r.magic != WIRE_MAGIC)
        return;
    r.name[NAME_CAP - 1] = '\0';
    wire_rep rep = {.magic = WIRE_MAGIC};
    switch (r.op) {
    case OP_START_CHILD: {
        gv_id id = add_child(s, &r);
        rep.rc = id < 0 ? (int)id : 0;
        rep.value = id;
        break;
    }
    case OP_TERMINATE_CHILD: {
        int i = kid_find(s, r.child);
        if (i < 0) {
            rep.rc = GV_ENOENT;
        } else {
            stop_child(s->kids[i]);
            kid_remove(s, (size_t)i);
        }
        break;
    }
    case OP_LIST:
        reply_list(s, m->from);
        return;
    default:
        rep.rc = GV_EINVAL;
        break;
    }
    send_reply(m->from, &rep);
}

static _Noreturn void
sup_loop(supv *s)
{
    for (;;) {
        run_due_restarts(s);
        gv_msg *m = &s->cur;
        int rc = gv_recv(m, next_restart(s));
        if (rc == GV_ETIMEDOUT)
            continue;
        if (rc == GV_ECANCELED)
            die(); /* killed */
        if (rc != 0)
            shut_down(s, rc, "supervisor: cannot receive");
        if (m->tag == GV_MSG_EXIT) {
            on_exit_signal(s, m->from, m->reason);
        } else if (m->tag == TAG_REQ) {
            on_request(s, m);
        }
        /* anything else (a stale DOWN, a stray message) is dropped */
        gv_msg_free(m);
    }
}

/* sup_cleanup runs however the supervisor ends. On the orderly paths the
 * children are stopped already; a killed supervisor kills those left. */
static void
sup_cleanup(void *arg, int reason)
{
    (void)reason;
    supv *s = arg;
    for (size_t i = 0; i < s->n; i++) {
        if (s->kids[i]->id > 0) {
            gv_kill(s->kids[i]->id, GV_NOWAIT);
            gv_release(s->kids[i]->id);
            s->kids[i]->id = 0;
        }
    }
    gv_msg_free(&s->cur);
    table_remove(s->self);
    sup_free(s);
}

static int
send_start_reply(supv *s, int rc)
{
    wire_rep rep = {.magic = WIRE_MAGIC, .rc = rc};
    return send_reply(s->starter, &rep);
}

static void *
sup_main(void *arg)
{
    supv *s = arg;
    s->ran = true;
    s->self = gv_self();
    if (gv_on_exit(sup_cleanup, s) != 0) {
        send_start_reply(s, GV_ENOMEM);
        sup_free(s);
        return NULL;
    }
    int rc = gv_trap_exit(true);
    if (rc >= 0)
        rc = table_add(s->self, s->parent);
    if (rc >= 0)
        rc = gv_link(s->parent); /* a dead parent: its EXIT is queued */
    for (size_t i = 0; rc >= 0 && i < s->n; i++) {
        gv_id id = start_kid(s, s->kids[i]);
        if (id < 0) {
            stop_range(s, 0, i);
            rc = (int)id;
        }
    }
    if (rc >= 0) {
        rc = send_start_reply(s, 0);
        if (rc == 0)
            sup_loop(s);
        stop_range(s, 0, s->n); /* nobody learnt of the start */
    }
    /* gv_supervisor_start returns the error: the caller must not get an
     * exit signal too */
    gv_unlink(s->parent);
    send_start_reply(s, rc);
    gv_exit(rc, "supervisor: start failed");
}

/* ---------------------------------------------------------- client side */

enum { CALL_NEW, CALL_RUNNING, CALL_DONE };

typedef struct call {
    gv_id sup;
    int64_t deadline;
    wire_req *req; /* NULL: only wait for a reply (the start) */
    int phase;
    bool abandoned;  /* the caller gave up: the helper frees this */
    int rc;          /* the exchange's own result */
    int down_reason; /* rc GV_ENOENT: how the supervisor ended */
    wire_rep *rep;   /* the reply, owned */
    size_t rep_len;
} call;

static call *
call_new(gv_id sup, int64_t deadline)
{
    call *c = gv__calloc(1, sizeof *c);
    if (c != NULL) {
        c->sup = sup;
        c->deadline = deadline;
        c->phase = CALL_NEW;
    }
    return c;
}

static void
call_free(call *c)
{
    gv__free(c->req);
    gv__free(c->rep);
    gv__free(c);
}

static int
take_reply(call *c, const gv_msg *m)
{
    wire_rep head;
    if (m->len < sizeof head)
        return GV_EINVAL;
    memcpy(&head, m->data, sizeof head);
    if (head.magic != WIRE_MAGIC || head.n > SIZE_MAX / sizeof(wire_kid) ||
        m->len != sizeof head + head.n * sizeof(wire_kid))
        return GV_EINVAL;
    c->rep = gv__malloc(m->len);
    if (c->rep == NULL)
        return GV_ENOMEM;
    memcpy(c->rep, m->data, m->len);
    c->rep_len = m->len;
    return 0;
}

static int
call_exchange(call *c)
{
    int64_t ref = 0;
    int rc = gv_trap_exit(true); /* see reply_failed */
    if (rc < 0)
        return rc;
    rc = gv_monitor(c->sup, &ref);
    if (rc != 0)
        return rc;
    if (c->req != NULL) {
        rc = gv_send(c->sup, TAG_REQ, c->req, sizeof *c->req, c->deadline);
        if (rc != 0) {
            gv_demonitor(ref);
            return rc;
        }
    }
    for (;;) {
        gv_msg m;
        rc = gv_recv(&m, c->deadline);
        if (rc != 0)
            break;
        if (m.tag == TAG_REP && m.from == c->sup) {
            rc = take_reply(c, &m);
            gv_msg_free(&m);
            if (rc == GV_EINVAL)
                continue; /* not a reply of ours */
            break;
        }
        if (m.tag == GV_MSG_DOWN && m.ref == ref) {
            /* The system lane comes first: a reply sent before the end
             * may still be queued behind the DOWN. */
            int reason = m.reason;
            gv_msg_free(&m);
            static const int tags[] = {TAG_REP};
            gv_msg r;
            if (gv_recv_tags(&r, tags, 1, GV_NOWAIT) == 0 && r.tag == TAG_REP &&
                take_reply(c, &r) == 0) {
                gv_msg_free(&r);
                return 0;
            }
            gv_msg_free(&r);
            c->down_reason = reason;
            return GV_ENOENT;
        }
        if (m.tag == GV_MSG_EXIT && m.from == c->sup && m.reason < 0) {
            rc = m.reason; /* the reply could not be sent */
            gv_msg_free(&m);
            break;
        }
        gv_msg_free(&m);
    }
    gv_demonitor(ref);
    return rc;
}

static void *
call_helper(void *arg)
{
    call *c = arg;
    c->phase = CALL_RUNNING;
    c->rc = call_exchange(c);
    c->phase = CALL_DONE;
    if (c->abandoned)
        call_free(c);
    return NULL;
}

/* call_spawn spawns c's helper; it runs once the caller blocks. On error
 * c is freed. */
static gv_id
call_spawn(call *c)
{
    gv_spawn_opts o = {.name = "gv_sup_call"};
    gv_id h = gv_spawn_ex(call_helper, c, &o);
    if (h < 0)
        call_free(c);
    return h;
}

/* call_wait joins the helper. Returns 0 (c->rc then says how the exchange
 * went; the caller frees c) or the join's error (c is taken care of). */
static int
call_wait(call *c, gv_id h)
{
    int rc = gv_join(h, c->deadline);
    if (rc != 0) {
        gv_kill(h, GV_NOWAIT);
        if (c->phase == CALL_RUNNING)
            c->abandoned = true; /* it wakes canceled and frees c */
        else
            call_free(c); /* killed before it ran, or finished */
    } else if (c->phase != CALL_DONE || c->rc == GV_ECANCELED) {
        /* Killed before it could answer: by an exit signal the supervisor
         * sent instead of a reply before the helper trapped exits, or by
         * an exit signal grove had no memory to queue. Its exit reason
         * says which. */
        int why = gv_exit_reason(h);
        c->rc = why < 0 ? why : GV_ECANCELED;
    }
    gv_release(h);
    return rc;
}

/* check_target tells a live supervisor from a dead one or another actor. */
static int
check_target(gv_id sup)
{
    gv_id self = gv_self();
    if (self < 0)
        return (int)self;
    if (table_has(sup))
        return sup == self ? GV_EDEADLK : 0;
    return gv_exit_reason(sup) == 1 ? GV_EINVAL : GV_ENOENT;
}

/* sup_call sends req to sup and waits for the reply into *repp (the caller
 * frees it with gv__free). Returns 0 or an error. */
static int
sup_call(gv_id sup, const wire_req *req, int64_t deadline, wire_rep **repp)
{
    *repp = NULL;
    int rc = check_target(sup);
    if (rc != 0)
        return rc;
    call *c = call_new(sup, deadline);
    if (c == NULL)
        return GV_ENOMEM;
    if ((c->req = gv__malloc(sizeof *req)) == NULL) {
        call_free(c);
        return GV_ENOMEM;
    }
    *c->req = *req;
    gv_id h = call_spawn(c);
    if (h < 0)
        return (int)h;
    rc = call_wait(c, h);
    if (rc != 0)
        return rc;
    rc = c->rc;
    if (rc == 0) {
        *repp = c->rep;
        c->rep = NULL;
    }
    call_free(c);
    return rc;
}

/* ------------------------------------------------------------ the API */

gv_id
gv_supervisor_start(const gv_sup_spec *spec, const gv_child_spec *children,
                    size_t n)
{
    int rc = check_sup(spec, children, n);
    if (rc != 0)
        return rc;
    gv_id self = gv_self();
    if (self < 0)
        return self;
    supv *s = sup_new(spec, children, n);
    call *c = call_new(0, GV_FOREVER);
    if (s == NULL || c == NULL) {
        sup_free(s);
        gv__free(c);
        return GV_ENOMEM;
    }
    s->parent = self;
    /* Detached: nobody holds a supervisor's record; its id goes stale once
     * it has ended. It links itself to the caller when it first runs,
     * after it traps exits (the caller gets the start's outcome before
     * anything else can happen). */
    gv_spawn_opts o = {.name = s->name, .flags = GV_SPAWN_DETACHED};
    gv_id id = gv_spawn_ex(sup_main, s, &o);
    if (id < 0) {
        sup_free(s);
        call_free(c);
        return id;
    }
    c->sup = id;
    gv_id h = call_spawn(c);
    if (h < 0) {
        gv_kill(id, GV_NOWAIT); /* before it ran: it never will */
        sup_free(s);
        return h;
    }
    s->starter = h;
    rc = call_wait(c, h);
    if (rc != 0) {
        if (!s->ran) {
            gv_kill(id, GV_NOWAIT);
            sup_free(s);
        }
        return rc; /* else it runs, linked to us: our exit tells it */
    }
    rc = c->rc;
    if (rc == 0)
        rc = c->rep->rc;
    else if (rc == GV_ENOENT && c->down_reason < 0)
        rc = c->down_reason; /* it ended before it could answer */
    call_free(c);
    if (rc < 0) {
        /* It ended after an error of its own, or it runs but the answer
         * got lost (no memory): either way the caller is told it failed,
         * so it must not run on, nor send the caller an exit signal. */
        gv_unlink(id);
        gv_exit_signal(id, GV_SHUTDOWN);
        return rc;
    }
    return id;
}

gv_id
gv_supervisor_start_child(gv_id sup, const gv_child_spec *spec, void *arg,
                          int64_t deadline)
{
    wire_req r;
    memset(&r, 0, sizeof r);
    r.magic = WIRE_MAGIC;
    r.op = OP_START_CHILD;
    r.arg = arg;
    if (spec != NULL) {
        if (check_child(spec) != 0)
            return GV_EINVAL;
        r.has_spec = 1;
        r.fn = spec->fn;
        r.arg = spec->arg;
        r.server = spec->server;
        r.restart = spec->restart;
        r.shutdown_ms = spec->shutdown_ms;
        r.opts = spec->opts;
        r.opts.name = NULL;
        snprintf(r.name, sizeof r.name, "%s",
                 spec->name != NULL ? spec->name : "");
    }
    wire_rep *rep;
    int rc = sup_call(sup, &r, deadline, &rep);
    if (rc != 0)
        return rc;
    gv_id id = rep->rc < 0 ? rep->rc : rep->value;
    gv__free(rep);
    return id;
}

int
gv_supervisor_terminate_child(gv_id sup, gv_id child, int64_t deadline)
{
    wire_req r;
    memset(&r, 0, sizeof r);
    r.magic = WIRE_MAGIC;
    r.op = OP_TERMINATE_CHILD;
    r.child = child;
    wire_rep *rep;
    int rc = sup_call(sup, &r, deadline, &rep);
    if (rc != 0)
        return rc;
    rc = rep->rc;
    gv__free(rep);
    return rc;
}

static int
list_call(gv_id sup, int64_t deadline, wire_rep **repp)
{
    wire_req r;
    memset(&r, 0, sizeof r);
    r.magic = WIRE_MAGIC;
    r.op = OP_LIST;
    int rc = sup_call(sup, &r, deadline, repp);
    if (rc == 0 && (*repp)->rc != 0) {
        rc = (*repp)->rc;
        gv__free(*repp);
        *repp = NULL;
    }
    return rc;
}

int
gv_supervisor_children(gv_id sup, gv_id *ids, size_t cap, int64_t deadline)
{
    if (ids == NULL && cap > 0)
        return GV_EINVAL;
    wire_rep *rep;
    int rc = list_call(sup, deadline, &rep);
    if (rc != 0)
        return rc;
    const wire_kid *k = (const wire_kid *)(rep + 1);
    int n = 0;
    for (size_t i = 0; i < rep->n; i++) {
        if (k[i].id <= 0)
            continue; /* waiting out a back-off: no actor to name */
        if ((size_t)n < cap)
            ids[n] = k[i].id;
        n++;
    }
    gv__free(rep);
    return n;
}

static const char *
strategy_name(int strategy)
{
    switch (strategy) {
    case GV_ONE_FOR_ONE:
        return "one_for_one";
    case GV_ONE_FOR_ALL:
        return "one_for_all";
    case GV_REST_FOR_ONE:
        return "rest_for_one";
    default:
        return "simple_one_for_one";
    }
}

static void
print_line(FILE *out, int depth, const char *name, const char *kind, gv_id id,
           const char *state)
{
    gv_mailbox_info info;
    fprintf(out, "%*s%s %s ", depth * 2, "", name[0] ? name : "(unnamed)",
            kind);
    if (id > 0)
        fprintf(out, "<%" PRId64 "> %s", (int64_t)id, state);
    else
        fprintf(out, "<-> %s", state);
    if (id > 0 && gv_mailbox_inspect(id, &info) == 0)
        fprintf(out, " mailbox=%zu\n", info.len);
    else
        fprintf(out, " mailbox=-\n");
}

static int
print_tree(gv_id sup, FILE *out, int depth, int64_t deadline)
{
    wire_rep *rep;
    int rc = list_call(sup, deadline, &rep);
    if (rc != 0)
        return rc;
    char kind[40];
    snprintf(kind, sizeof kind, "supervisor(%s)", strategy_name(rep->strategy));
    print_line(out, depth, rep->name, kind, sup, "running");
    static const char *const states[] = {"running", "restarting", "exited"};
    const wire_kid *k = (const wire_kid *)(rep + 1);
    for (size_t i = 0; rc == 0 && i < rep->n; i++) {
        print_line(
            out, depth + 1, k[i].name,
            k[i].kind == KIND_SERVER ? "server" : "worker", k[i].id,
            states[k[i].state >= 0 && k[i].state <= ST_EXITED ? k[i].state
                                                              : ST_RUNNING]);
        if (k[i].id <= 0)
            continue;
        /* the subtrees this child started (a wrapper), copied first: the
         * table may change while we wait for their answers */
        size_t nsub = table_started_by(k[i].id, NULL, 0);
        gv_id *subs = nsub ? gv__malloc(nsub * sizeof *subs) : NULL;
        if (nsub && subs == NULL) {
            rc = GV_ENOMEM;
            break;
        }
        nsub = table_started_by(k[i].id, subs, nsub);
        for (size_t j = 0; rc == 0 && j < nsub; j++) {
            rc = print_tree(subs[j], out, depth + 2, deadline);
            if (rc == GV_ENOENT)
                rc = 0; /* it ended meanwhile */
        }
        gv__free(subs);
    }
    gv__free(rep);
    return rc;
}

int
gv_supervisor_print(gv_id sup, FILE *out, int64_t deadline)
{
    if (out == NULL)
        return GV_EINVAL;
    int rc = print_tree(sup, out, 0, deadline);
    fflush(out);
    return rc;
}
