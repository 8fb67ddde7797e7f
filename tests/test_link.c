/*
 * test_link.c — links, monitors, trapped exits, exit signals, spawn_link
 * and spawn_monitor, cleanup handlers: Erlang's table.
 *
 *   exit of a linked actor   | not trapping          | trapping
 *   GV_NORMAL                | nothing               | GV_MSG_EXIT, normal
 *   any other reason R       | killed with R         | GV_MSG_EXIT, R
 *   gv_exit_signal(KILLED)   | killed with KILLED    | killed with KILLED
 *
 * Actor bodies never assert (cmocka longjmps off the green thread's
 * stack): they record into the statics below and each test asserts on
 * main's stack after the joins. Every test ends with gv_shutdown(). main
 * never links to anything without trapping exits: it would be killed.
 */
#include "gv_test.h"

#include <inttypes.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define TAG_GO 1000
#define WAIT_MS 5000
#define EOTHER (-4242) /* a reason grove has no name for */

/* ------------------------------------------------------------- recorders */

typedef struct seen {
    int rc;
    int tag;
    int reason;
    gv_id from;
    int64_t ref;
} seen;

typedef struct rec {
    int link_rc;
    int trap_prev[2];
    int rc[4];
    seen msg[8];
    int nmsg;
    int after;   /* ran past its wait */
    int started; /* the body began */
} rec;

static rec R[16];
static gv_id ids[16]; /* set by the test before the actors run */

static void
reset(void)
{
    memset(R, 0, sizeof R);
    memset(ids, 0, sizeof ids);
    for (size_t i = 0; i < NELEM(R); i++) {
        R[i].link_rc = R[i].trap_prev[0] = R[i].trap_prev[1] = 0x5555;
        for (int k = 0; k < 4; k++)
            R[i].rc[k] = 0x5555;
    }
}

static void
record(rec *r, int rc, const gv_msg *m)
{
    if (r->nmsg >= (int)NELEM(r->msg))
        return;
    seen *s = &r->msg[r->nmsg++];
    s->rc = rc;
    if (rc == 0) {
        s->tag = m->tag;
        s->reason = m->reason;
        s->from = m->from;
        s->ref = m->ref;
    }
}

/* what an actor does: optionally trap, link to ids[link], then receive n
 * messages (each within WAIT_MS), then end as told */
typedef struct plan {
    int slot;
    int trap;
    int link; /* index into ids[], -1: none */
    int nrecv;
    int go_only;      /* receive only TAG_GO (plus system messages) */
    int end;          /* 0: return; else gv_exit(end) */
    int64_t delay_ms; /* sleep before ending */
} plan;

static void *
actor_body(void *arg)
{
    const plan *p = arg;
    rec *r = &R[p->slot];
    r->started = 1;
    if (p->trap) {
        r->trap_prev[0] = gv_trap_exit(true);
        r->trap_prev[1] = gv_trap_exit(true);
    }
    if (p->link >= 0)
        r->link_rc = gv_link(ids[p->link]);
    static const int go[] = {TAG_GO};
    for (int i = 0; i < p->nrecv; i++) {
        gv_msg m;
        int rc = p->go_only ? gv_recv_tags(&m, go, 1, gv_deadline(WAIT_MS))
                            : gv_recv(&m, gv_deadline(WAIT_MS));
        record(r, rc, &m);
        gv_msg_free(&m);
        if (rc != 0)
            break;
    }
    if (p->delay_ms > 0)
        r->rc[0] = gv_sleep(p->delay_ms);
    r->rc[1] = gv_sleep(0); /* canceled actors stay canceled */
    r->after = 1;
    if (p->end != 0)
        gv_exit(p->end, "planned failure");
    return NULL;
}

static gv_id
spawn_plan(plan *p)
{
    gv_id id = gv_spawn(actor_body, p);
    ids[p->slot] = id;
    return id;
}

static void *
return_at_once(void *arg)
{
    return arg;
}

static void *
fail_at_once(void *arg)
{
    gv_exit((int)(intptr_t)arg, "failed at once");
}

static const gv_id made_up_id = ((gv_id)0x7ffffff0 << 32) | 5;

static void
join_all(const gv_id *v, int n)
{
    assert_int_equal(gv_joinall(v, (size_t)n, 0, gv_deadline(10000)), n);
}

/* ------------------------------------------------------------ links */

static void
test_a_normal_exit_kills_no_linked_actor(void **state)
{
    (void)state;
    reset();
    /* B ends normally after 20 ms; A linked to it waits for a go */
    plan pb = {.slot = 1, .link = -1, .delay_ms = 20};
    plan pa = {.slot = 0, .link = 1, .nrecv = 1, .go_only = 1};
    gv_id v[2];
    assert_gv_id(v[1] = spawn_plan(&pb));
    assert_gv_id(v[0] = spawn_plan(&pa));
    assert_gv_ok(gv_join(v[1], gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_sleep(10));
    assert_int_equal(gv_exit_reason(v[0]), 1); /* still running */
    assert_gv_ok(gv_send(v[0], TAG_GO, NULL, 0, GV_NOWAIT));
    join_all(v, 2);
    assert_gv_ok(R[0].link_rc);
    assert_int_equal(R[0].nmsg, 1);
    assert_gv_ok(R[0].msg[0].rc);
    assert_int_equal(R[0].msg[0].tag, TAG_GO);
    assert_int_equal(gv_exit_reason(v[0]), GV_NORMAL);
    assert_int_equal(gv_exit_reason(v[1]), GV_NORMAL);
    /* the other way round: gv_exit(0) is normal too */
    reset();
    plan pc = {.slot = 2, .link = -1, .nrecv = 1, .go_only = 1};
    plan pd = {.slot = 3, .link = 2, .end = 0, .delay_ms = 5};
    gv_id w[2];
    assert_gv_id(w[0] = spawn_plan(&pc));
    assert_gv_id(w[1] = spawn_plan(&pd));
    assert_gv_ok(gv_join(w[1], gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_send(w[0], TAG_GO, NULL, 0, GV_NOWAIT));
    join_all(w, 2);
    assert_gv_ok(R[2].msg[0].rc);
    assert_int_equal(gv_exit_reason(w[0]), GV_NORMAL);
    gv_shutdown();
}

static void
test_an_abnormal_exit_kills_the_linked_actor_with_the_same_reason(void **state)
{
    (void)state;
    reset();
    /* A waits; B links to A and fails: links go both ways */
    plan pa = {.slot = 0, .link = -1, .nrecv = 1};
    plan pb = {.slot = 1, .link = 0, .end = GV_EPERM, .delay_ms = 10};
    gv_id v[2];
    assert_gv_id(v[0] = spawn_plan(&pa));
    assert_gv_id(v[1] = spawn_plan(&pb));
    join_all(v, 2);
    assert_gv_ok(R[1].link_rc);
    assert_int_equal(gv_exit_reason(v[1]), GV_EPERM);
    assert_int_equal(gv_exit_reason(v[0]), GV_EPERM);
    assert_gv_err(R[0].msg[0].rc, GV_ECANCELED); /* its wait was cut */
    assert_gv_err(R[0].rc[1], GV_ECANCELED);     /* and stays cut */
    assert_int_equal(gv_error(v[1]), GV_EPERM);
    assert_false(gv_successful(v[0]));

    /* the linking side's partner fails: same */
    reset();
    plan pc = {.slot = 2, .link = -1, .end = EOTHER, .delay_ms = 10};
    plan pd = {.slot = 3, .link = 2, .nrecv = 1};
    gv_id w[2];
    assert_gv_id(w[0] = spawn_plan(&pc));
    assert_gv_id(w[1] = spawn_plan(&pd));
    join_all(w, 2);
    assert_int_equal(gv_exit_reason(w[0]), EOTHER);
    assert_int_equal(gv_exit_reason(w[1]), EOTHER);
    assert_gv_err(R[3].msg[0].rc, GV_ECANCELED);
    gv_shutdown();
}

static void
test_an_exit_propagates_along_a_chain_of_links(void **state)
{
    (void)state;
    reset();
    enum { N = 8 };
    plan p[N];
    gv_id v[N];
    for (int i = 0; i < N; i++) {
        p[i] = (plan){.slot = i, .link = i - 1, .nrecv = 1};
        if (i == N - 1) {
            p[i].nrecv = 0;
            p[i].delay_ms = 10;
            p[i].end = EOTHER;
        }
        assert_gv_id(v[i] = spawn_plan(&p[i]));
    }
    join_all(v, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(gv_exit_reason(v[i]), EOTHER);
        if (i < N - 1)
            assert_gv_err(R[i].msg[0].rc, GV_ECANCELED);
        if (i > 0)
            assert_gv_ok(R[i].link_rc);
    }
    gv_shutdown();
}

static void
test_a_trapping_actor_gets_exit_messages_instead_of_dying(void **state)
{
    (void)state;
    reset();
    /* T traps and links to B, which fails after 20 ms */
    plan pb = {.slot = 1, .link = -1, .end = GV_EPERM, .delay_ms = 20};
    plan pt = {.slot = 0, .trap = 1, .link = 1, .nrecv = 1};
    gv_id v[2];
    assert_gv_id(v[1] = spawn_plan(&pb));
    assert_gv_id(v[0] = spawn_plan(&pt));
    join_all(v, 2);
    assert_int_equal(R[0].trap_prev[0], 0); /* the previous setting */
    assert_int_equal(R[0].trap_prev[1], 1);
    assert_gv_ok(R[0].link_rc);
    assert_int_equal(R[0].nmsg, 1);
    assert_gv_ok(R[0].msg[0].rc);
    assert_int_equal(R[0].msg[0].tag, GV_MSG_EXIT);
    assert_int_equal(R[0].msg[0].from, v[1]);
    assert_int_equal(R[0].msg[0].reason, GV_EPERM);
    assert_int_equal(R[0].msg[0].ref, 0);
    assert_gv_ok(R[0].rc[1]);                          /* not canceled */
    assert_int_equal(gv_exit_reason(v[0]), GV_NORMAL); /* survived */
    assert_int_equal(gv_exit_reason(v[1]), GV_EPERM);
    gv_shutdown();
}

static void *
trap_and_link_two(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    r->trap_prev[0] = gv_trap_exit(true);
    r->link_rc = gv_link(ids[1]);
    r->rc[2] = gv_link(ids[2]);
    for (int i = 0; i < 2; i++) {
        gv_msg m;
        int rc = gv_recv(&m, gv_deadline(WAIT_MS));
        record(r, rc, &m);
        gv_msg_free(&m);
    }
    /* trapping off: the next abnormal exit of a link kills */
    r->trap_prev[1] = gv_trap_exit(false);
    r->rc[3] = gv_link(ids[3]);
    gv_msg m;
    r->rc[0] = gv_recv(&m, gv_deadline(WAIT_MS));
    gv_msg_free(&m);
    r->after = 1;
    return NULL;
}

static void
test_trapping_shows_normal_and_abnormal_exits_and_can_be_turned_off(
    void **state)
{
    (void)state;
    reset();
    plan pb = {.slot = 1, .link = -1, .end = GV_EPERM, .delay_ms = 30};
    plan pc = {.slot = 2, .link = -1, .delay_ms = 10};
    plan pd = {.slot = 3, .link = -1, .end = EOTHER, .delay_ms = 60};
    gv_id v[4];
    assert_gv_id(v[1] = spawn_plan(&pb));
    assert_gv_id(v[2] = spawn_plan(&pc));
    assert_gv_id(v[3] = spawn_plan(&pd));
    assert_gv_id(v[0] = gv_spawn(trap_and_link_two, (void *)0));
    ids[0] = v[0];
    join_all(v, 4);
    rec *r = &R[0];
    assert_int_equal(r->trap_prev[0], 0);
    assert_gv_ok(r->link_rc);
    assert_gv_ok(r->rc[2]);
    assert_int_equal(r->nmsg, 2);
    /* C ended first (normal), then B (GV_EPERM) */
    assert_gv_ok(r->msg[0].rc);
    assert_int_equal(r->msg[0].tag, GV_MSG_EXIT);
    assert_int_equal(r->msg[0].from, v[2]);
    assert_int_equal(r->msg[0].reason, GV_NORMAL);
    assert_gv_ok(r->msg[1].rc);
    assert_int_equal(r->msg[1].tag, GV_MSG_EXIT);
    assert_int_equal(r->msg[1].from, v[1]);
    assert_int_equal(r->msg[1].reason, GV_EPERM);
    assert_int_equal(r->trap_prev[1], 1);
    assert_gv_ok(r->rc[3]);
    assert_gv_err(r->rc[0], GV_ECANCELED); /* D's exit killed it */
    assert_int_equal(gv_exit_reason(v[0]), EOTHER);
    gv_shutdown();
}

static void
test_kill_gives_reason_killed_even_to_a_trapping_actor(void **state)
{
    (void)state;
    reset();
    plan pt = {.slot = 0, .trap = 1, .link = -1, .nrecv = 1};
    gv_id t;
    assert_gv_id(t = spawn_plan(&pt));
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(gv_kill(t, gv_deadline(WAIT_MS)));
    assert_int_equal(R[0].nmsg, 1);
    assert_gv_err(R[0].msg[0].rc, GV_ECANCELED); /* no EXIT message */
    assert_int_equal(gv_exit_reason(t), GV_KILLED);
    assert_int_equal(gv_error(t), GV_ECANCELED);
    /* killed before it ever ran */
    gv_id u;
    assert_gv_id(u = gv_spawn(return_at_once, NULL));
    assert_gv_ok(gv_kill(u, gv_deadline(WAIT_MS)));
    assert_int_equal(gv_exit_reason(u), GV_KILLED);
    gv_shutdown();
}

static void
test_exit_signal_killed_cannot_be_trapped(void **state)
{
    (void)state;
    reset();
    plan pt = {.slot = 0, .trap = 1, .link = -1, .nrecv = 1};
    gv_id t;
    assert_gv_id(t = spawn_plan(&pt));
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(gv_exit_signal(t, GV_KILLED));
    assert_gv_ok(gv_join(t, gv_deadline(WAIT_MS)));
    assert_int_equal(R[0].nmsg, 1);
    assert_gv_err(R[0].msg[0].rc, GV_ECANCELED);
    assert_int_equal(gv_exit_reason(t), GV_KILLED);
    gv_shutdown();
}

static void
test_the_partners_of_a_killed_actor_die_with_killed_or_trap_it(void **state)
{
    (void)state;
    reset();
    /* B waits; A (not trapping) and T (trapping) link to it */
    plan pb = {.slot = 1, .link = -1, .nrecv = 1, .go_only = 1};
    plan pa = {.slot = 0, .link = 1, .nrecv = 1, .go_only = 1};
    plan pt = {.slot = 2, .trap = 1, .link = 1, .nrecv = 1};
    gv_id v[3];
    assert_gv_id(v[1] = spawn_plan(&pb));
    assert_gv_id(v[0] = spawn_plan(&pa));
    assert_gv_id(v[2] = spawn_plan(&pt));
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(gv_kill(v[1], GV_NOWAIT));
    join_all(v, 3);
    assert_int_equal(gv_exit_reason(v[1]), GV_KILLED);
    assert_int_equal(gv_exit_reason(v[0]), GV_KILLED);
    assert_gv_err(R[0].msg[0].rc, GV_ECANCELED);
    /* a supervisor-like trapping actor survives a partner's kill */
    assert_gv_ok(R[2].msg[0].rc);
    assert_int_equal(R[2].msg[0].tag, GV_MSG_EXIT);
    assert_int_equal(R[2].msg[0].from, v[1]);
    assert_int_equal(R[2].msg[0].reason, GV_KILLED);
    assert_int_equal(gv_exit_reason(v[2]), GV_NORMAL);
    gv_shutdown();
}

static void
test_exit_signal_normal_is_ignored_unless_trapping(void **state)
{
    (void)state;
    reset();
    gv_id me = gv_self();
    plan pa = {.slot = 0, .link = -1, .nrecv = 1, .go_only = 1};
    plan pt = {.slot = 1, .trap = 1, .link = -1, .nrecv = 1};
    gv_id a, t;
    assert_gv_id(a = spawn_plan(&pa));
    assert_gv_id(t = spawn_plan(&pt));
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(gv_exit_signal(a, GV_NORMAL));
    assert_gv_ok(gv_exit_signal(t, GV_NORMAL));
    assert_gv_ok(gv_sleep(10));
    assert_int_equal(gv_exit_reason(a), 1); /* ignored: still running */
    assert_gv_ok(gv_send(a, TAG_GO, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_join(a, gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_join(t, gv_deadline(WAIT_MS)));
    assert_gv_ok(R[0].msg[0].rc);
    assert_int_equal(R[0].msg[0].tag, TAG_GO);
    assert_int_equal(gv_exit_reason(a), GV_NORMAL);
    assert_gv_ok(R[1].msg[0].rc);
    assert_int_equal(R[1].msg[0].tag, GV_MSG_EXIT);
    assert_int_equal(R[1].msg[0].reason, GV_NORMAL);
    assert_int_equal(R[1].msg[0].from, me);
    assert_int_equal(gv_exit_reason(t), GV_NORMAL);
    gv_shutdown();
}

static void
test_exit_signal_with_an_error_kills_or_is_trapped(void **state)
{
    (void)state;
    reset();
    gv_id me = gv_self();
    plan pa = {.slot = 0, .link = -1, .nrecv = 1};
    plan pt = {.slot = 1, .trap = 1, .link = -1, .nrecv = 1};
    gv_id a, t;
    assert_gv_id(a = spawn_plan(&pa));
    assert_gv_id(t = spawn_plan(&pt));
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(gv_exit_signal(a, EOTHER));
    assert_gv_ok(gv_exit_signal(t, EOTHER));
    assert_gv_ok(gv_join(a, gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_join(t, gv_deadline(WAIT_MS)));
    assert_gv_err(R[0].msg[0].rc, GV_ECANCELED);
    assert_int_equal(gv_exit_reason(a), EOTHER);
    assert_gv_ok(R[1].msg[0].rc);
    assert_int_equal(R[1].msg[0].tag, GV_MSG_EXIT);
    assert_int_equal(R[1].msg[0].reason, EOTHER);
    assert_int_equal(R[1].msg[0].from, me);
    assert_int_equal(gv_exit_reason(t), GV_NORMAL);
    /* to the dead and the unknown */
    assert_gv_err(gv_exit_signal(a, EOTHER), GV_ENOENT);
    gv_release(a);
    assert_gv_err(gv_exit_signal(a, EOTHER), GV_ENOENT);
    assert_gv_err(gv_exit_signal(made_up_id, GV_KILLED), GV_ENOENT);
    gv_shutdown();
}

static void *
link_then_unlink(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    r->link_rc = gv_link(ids[1]);
    r->rc[2] = gv_unlink(ids[1]);
    r->rc[3] = gv_unlink(ids[1]); /* no link left: still 0 */
    gv_msg m;
    static const int go[] = {TAG_GO};
    r->rc[0] = gv_recv_tags(&m, go, 1, gv_deadline(WAIT_MS));
    gv_msg_free(&m);
    r->after = 1;
    return NULL;
}

static void *
unlink_partner_then_fail(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    gv_sleep(5);
    r->rc[2] = gv_unlink(ids[2]); /* the link was made by the other side */
    gv_exit(GV_EPERM, "fails after unlinking");
}

static void
test_unlink_stops_propagation_from_either_side(void **state)
{
    (void)state;
    reset();
    plan pb = {.slot = 1, .link = -1, .end = GV_EPERM, .delay_ms = 10};
    gv_id v[4];
    assert_gv_id(v[1] = spawn_plan(&pb));
    assert_gv_id(v[0] = gv_spawn(link_then_unlink, (void *)0));
    ids[0] = v[0];
    /* C links to D; D unlinks C and fails */
    assert_gv_id(v[3] = gv_spawn(unlink_partner_then_fail, (void *)3));
    ids[3] = v[3];
    plan pc = {.slot = 2, .link = 3, .nrecv = 1, .go_only = 1};
    assert_gv_id(v[2] = spawn_plan(&pc));
    assert_gv_ok(gv_join(v[1], gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_join(v[3], gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_sleep(5));
    assert_int_equal(gv_exit_reason(v[0]), 1); /* both still running */
    assert_int_equal(gv_exit_reason(v[2]), 1);
    assert_gv_ok(gv_send(v[0], TAG_GO, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_send(v[2], TAG_GO, NULL, 0, GV_NOWAIT));
    join_all(v, 4);
    assert_gv_ok(R[0].link_rc);
    assert_gv_ok(R[0].rc[2]);
    assert_gv_ok(R[0].rc[3]);
    assert_gv_ok(R[0].rc[0]);
    assert_int_equal(gv_exit_reason(v[0]), GV_NORMAL);
    assert_gv_ok(R[2].link_rc);
    assert_gv_ok(R[3].rc[2]);
    assert_gv_ok(R[2].msg[0].rc);
    assert_int_equal(gv_exit_reason(v[2]), GV_NORMAL);
    assert_int_equal(gv_exit_reason(v[3]), GV_EPERM);
    /* unlinking what was never linked, or the unknown, is fine */
    assert_gv_ok(gv_unlink(v[0]));
    assert_gv_ok(gv_unlink(made_up_id));
    gv_shutdown();
}

static void
test_linking_twice_is_one_link_and_one_exit_message(void **state)
{
    (void)state;
    gv_id me = gv_self();
    assert_int_equal(gv_trap_exit(true), 0);
    gv_id b;
    assert_gv_id(b = gv_spawn(fail_at_once, (void *)(intptr_t)GV_EPERM));
    assert_gv_ok(gv_link(b));
    assert_gv_ok(gv_link(b));
    assert_gv_ok(gv_join(b, gv_deadline(WAIT_MS)));
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.system_len, 1);
    gv_msg m;
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, GV_MSG_EXIT);
    assert_int_equal(m.from, b);
    assert_int_equal(m.reason, GV_EPERM);
    gv_msg_free(&m);
    assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);
    gv_shutdown();
}

static void *
link_to_the_dead(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    r->link_rc = gv_link(ids[1]);
    r->rc[0] = gv_sleep(WAIT_MS);
    r->after = 1;
    return NULL;
}

static void
test_linking_to_a_dead_or_unknown_actor_acts_as_noproc(void **state)
{
    (void)state;
    reset();
    gv_id dead;
    assert_gv_id(dead = gv_spawn(return_at_once, NULL));
    assert_gv_ok(gv_join(dead, gv_deadline(WAIT_MS)));
    ids[1] = dead;
    /* not trapping: it dies with GV_ENOENT */
    gv_id a;
    assert_gv_id(a = gv_spawn(link_to_the_dead, (void *)0));
    assert_gv_ok(gv_join(a, gv_deadline(WAIT_MS)));
    assert_gv_ok(R[0].link_rc);
    assert_gv_err(R[0].rc[0], GV_ECANCELED);
    assert_int_equal(gv_exit_reason(a), GV_ENOENT);
    /* trapping (main): a GV_MSG_EXIT with GV_ENOENT at once */
    assert_int_equal(gv_trap_exit(true), 0);
    gv_release(dead);
    gv_id targets[2] = {dead, made_up_id};
    for (int i = 0; i < 2; i++) {
        assert_gv_ok(gv_link(targets[i]));
        gv_msg m;
        assert_gv_ok(gv_recv(&m, GV_NOWAIT));
        assert_int_equal(m.tag, GV_MSG_EXIT);
        assert_int_equal(m.from, targets[i]);
        assert_int_equal(m.reason, GV_ENOENT);
        gv_msg_free(&m);
    }
    assert_int_equal(gv_trap_exit(false), 1);
    gv_shutdown();
}

/* ---------------------------------------------------------- monitors */

static void *
wait_go(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    static const int go[] = {TAG_GO};
    gv_msg m;
    r->rc[0] = gv_recv_tags(&m, go, 1, gv_deadline(WAIT_MS));
    gv_msg_free(&m);
    return NULL;
}

static void
test_monitor_delivers_down_with_the_reason_and_the_ref(void **state)
{
    (void)state;
    reset();
    gv_id v[4];
    assert_gv_id(v[0] = gv_spawn(return_at_once, NULL));
    assert_gv_id(v[1] = gv_spawn(fail_at_once, (void *)(intptr_t)EOTHER));
    assert_gv_id(v[2] = gv_spawn(wait_go, (void *)2));
    assert_gv_id(v[3] = gv_spawn(wait_go, (void *)3));
    int64_t ref[5];
    for (int i = 0; i < 4; i++)
        assert_gv_ok(gv_monitor(v[i], &ref[i]));
    assert_gv_ok(gv_monitor(v[3], &ref[4])); /* twice: two monitors */
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < i; k++)
            assert_true(ref[i] != ref[k]);
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(gv_kill(v[2], GV_NOWAIT));
    assert_gv_ok(gv_exit_signal(v[3], GV_EPERM));
    join_all(v, 4);
    const int reasons[5] = {GV_NORMAL, EOTHER, GV_KILLED, GV_EPERM, GV_EPERM};
    const gv_id from[5] = {v[0], v[1], v[2], v[3], v[3]};
    int got[5] = {0};
    for (int n = 0; n < 5; n++) {
        gv_msg m;
        assert_gv_ok(gv_recv(&m, gv_deadline(WAIT_MS)));
        assert_int_equal(m.tag, GV_MSG_DOWN);
        int i = 0;
        while (i < 5 && ref[i] != m.ref)
            i++;
        assert_true(i < 5);
        got[i]++;
        assert_int_equal(m.from, from[i]);
        assert_int_equal(m.reason, reasons[i]);
        assert_int_equal(m.len, 0);
        assert_null(m.data);
        gv_msg_free(&m);
    }
    for (int i = 0; i < 5; i++)
        assert_int_equal(got[i], 1);
    gv_msg m;
    assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);
    assert_int_equal(gv_exit_reason(gv_self()), 1); /* main unharmed */
    gv_shutdown();
}

static void *
monitor_from_an_actor(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    int64_t ref = 0;
    r->link_rc = gv_monitor(ids[1], &ref);
    gv_msg m;
    int rc = gv_recv(&m, gv_deadline(WAIT_MS));
    record(r, rc, &m);
    r->msg[1].ref = ref;
    r->after = 1;
    return NULL;
}

static void
test_monitors_are_one_way_and_do_not_kill(void **state)
{
    (void)state;
    reset();
    gv_id b, w;
    assert_gv_id(b = gv_spawn(wait_go, (void *)1));
    ids[1] = b;
    assert_gv_id(w = gv_spawn(monitor_from_an_actor, (void *)0));
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(gv_exit_signal(b, EOTHER));
    assert_gv_ok(gv_join(w, gv_deadline(WAIT_MS)));
    assert_gv_ok(R[0].link_rc);
    assert_gv_ok(R[0].msg[0].rc);
    assert_int_equal(R[0].msg[0].tag, GV_MSG_DOWN);
    assert_int_equal(R[0].msg[0].reason, EOTHER);
    assert_int_equal(R[0].msg[0].ref, R[0].msg[1].ref);
    assert_int_equal(gv_exit_reason(w), GV_NORMAL); /* not killed */
    /* the watcher's exit tells the watched nothing */
    reset();
    gv_id b2, w2;
    assert_gv_id(b2 = gv_spawn(wait_go, (void *)1));
    ids[1] = b2;
    assert_gv_id(w2 = gv_spawn(fail_at_once, (void *)(intptr_t)GV_EPERM));
    int64_t ref;
    assert_gv_ok(gv_monitor(b2, &ref));
    assert_gv_ok(gv_join(w2, gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_sleep(5));
    assert_int_equal(gv_exit_reason(b2), 1);
    assert_gv_ok(gv_send(b2, TAG_GO, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_join(b2, gv_deadline(WAIT_MS)));
    assert_gv_ok(R[1].rc[0]);
    gv_shutdown();
}

static void
test_monitoring_a_dead_or_unknown_actor_gives_down_noproc_at_once(void **state)
{
    (void)state;
    gv_id done;
    assert_gv_id(done = gv_spawn(fail_at_once, (void *)(intptr_t)EOTHER));
    assert_gv_ok(gv_join(done, gv_deadline(WAIT_MS)));
    gv_id released;
    assert_gv_id(released = gv_spawn(return_at_once, NULL));
    assert_gv_ok(gv_join(released, gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_release(released));
    gv_id targets[3] = {done, released, made_up_id};
    for (int i = 0; i < 3; i++) {
        int64_t ref = 0;
        assert_gv_ok(gv_monitor(targets[i], &ref));
        assert_true(ref != 0);
        gv_msg m;
        assert_gv_ok(gv_recv(&m, GV_NOWAIT)); /* at once */
        assert_int_equal(m.tag, GV_MSG_DOWN);
        assert_int_equal(m.from, targets[i]);
        assert_int_equal(m.reason, GV_ENOENT);
        assert_int_equal(m.ref, ref);
        gv_msg_free(&m);
    }
    gv_shutdown();
}

static void
test_demonitor_removes_a_queued_down(void **state)
{
    (void)state;
    reset();
    gv_id me = gv_self();
    gv_mailbox_info info;
    /* one DOWN queued, removed */
    gv_id v;
    assert_gv_id(v = gv_spawn(return_at_once, NULL));
    int64_t ref, ref2;
    assert_gv_ok(gv_monitor(v, &ref));
    assert_gv_ok(gv_monitor(v, &ref2));
    assert_gv_ok(gv_join(v, gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.system_len, 2);
    assert_gv_ok(gv_demonitor(ref));
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.system_len, 1);
    /* only that monitor's: the other DOWN stays */
    gv_msg m;
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, GV_MSG_DOWN);
    assert_int_equal(m.ref, ref2);
    gv_msg_free(&m);
    assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);
    assert_gv_err(gv_demonitor(ref), GV_ENOENT); /* gone */

    /* before the exit: no DOWN ever comes */
    gv_id w;
    assert_gv_id(w = gv_spawn(wait_go, (void *)0));
    int64_t ref3;
    assert_gv_ok(gv_monitor(w, &ref3));
    assert_gv_ok(gv_demonitor(ref3));
    assert_gv_ok(gv_send(w, TAG_GO, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_join(w, gv_deadline(WAIT_MS)));
    assert_gv_err(gv_recv(&m, gv_deadline(20)), GV_ETIMEDOUT);

    /* a noproc DOWN too */
    int64_t ref4;
    assert_gv_ok(gv_monitor(made_up_id, &ref4));
    assert_gv_ok(gv_demonitor(ref4));
    assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);

    assert_gv_err(gv_demonitor(987654321), GV_ENOENT);
    assert_gv_err(gv_demonitor(0), GV_ENOENT);
    assert_gv_err(gv_demonitor(-3), GV_ENOENT);
    gv_shutdown();
}

static void *
monitor_then_return(void *arg)
{
    int64_t *refp = arg;
    gv_monitor(ids[1], refp);
    return NULL;
}

static void
test_demonitor_of_someone_elses_ref_is_enoent(void **state)
{
    (void)state;
    reset();
    gv_id t;
    assert_gv_id(t = gv_spawn(wait_go, (void *)1));
    ids[1] = t;
    int64_t theirs = 0;
    gv_id w;
    assert_gv_id(w = gv_spawn(wait_go, (void *)2));
    gv_id m2;
    assert_gv_id(m2 = gv_spawn(monitor_then_return, &theirs));
    assert_gv_ok(gv_join(m2, gv_deadline(WAIT_MS)));
    assert_true(theirs > 0);
    assert_gv_err(gv_demonitor(theirs), GV_ENOENT);
    gv_kill(t, GV_NOWAIT);
    gv_kill(w, GV_NOWAIT);
    gv_shutdown();
}

/* ----------------------------------------------- spawn_link, spawn_monitor */

static void *
parent_spawn_link(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    if ((intptr_t)arg == 1)
        r->trap_prev[0] = gv_trap_exit(true);
    ids[8 + (intptr_t)arg] =
        gv_spawn_link(fail_at_once, (void *)(intptr_t)EOTHER, NULL);
    gv_msg m;
    int rc = gv_recv(&m, gv_deadline(WAIT_MS));
    record(r, rc, &m);
    gv_msg_free(&m);
    r->after = 1;
    return NULL;
}

static void
test_spawn_link_of_a_child_that_fails_at_once_kills_the_parent(void **state)
{
    (void)state;
    reset();
    gv_id p;
    assert_gv_id(p = gv_spawn(parent_spawn_link, (void *)0));
    assert_gv_ok(gv_join(p, gv_deadline(WAIT_MS)));
    assert_gv_id(ids[8]);
    assert_int_equal(gv_exit_reason(ids[8]), EOTHER);
    assert_gv_err(R[0].msg[0].rc, GV_ECANCELED);
    assert_int_equal(gv_exit_reason(p), EOTHER);
    /* a trapping parent is told instead */
    gv_id q;
    assert_gv_id(q = gv_spawn(parent_spawn_link, (void *)1));
    assert_gv_ok(gv_join(q, gv_deadline(WAIT_MS)));
    assert_gv_id(ids[9]);
    assert_gv_ok(R[1].msg[0].rc);
    assert_int_equal(R[1].msg[0].tag, GV_MSG_EXIT);
    assert_int_equal(R[1].msg[0].from, ids[9]);
    assert_int_equal(R[1].msg[0].reason, EOTHER);
    assert_int_equal(gv_exit_reason(q), GV_NORMAL);
    gv_shutdown();
}

static int body_ran;
static void *
mark_ran(void *arg)
{
    body_ran++;
    return arg;
}

static void
test_spawn_link_child_killed_before_it_runs_still_signals(void **state)
{
    (void)state;
    body_ran = 0;
    assert_int_equal(gv_trap_exit(true), 0);
    gv_id c;
    assert_gv_id(c = gv_spawn_link(mark_ran, NULL, NULL));
    assert_gv_ok(gv_kill(c, GV_NOWAIT));
    gv_msg m;
    assert_gv_ok(gv_recv(&m, gv_deadline(WAIT_MS)));
    assert_int_equal(m.tag, GV_MSG_EXIT);
    assert_int_equal(m.from, c);
    assert_int_equal(m.reason, GV_KILLED);
    gv_msg_free(&m);
    assert_int_equal(body_ran, 0);
    assert_int_equal(gv_exit_reason(c), GV_KILLED);
    assert_gv_err(gv_spawn_link(NULL, NULL, NULL), GV_EINVAL);
    gv_shutdown();
}

static void *
parent_fails_after_spawn_link(void *arg)
{
    ids[4] = gv_spawn_link(wait_go, (void *)4, NULL);
    gv_sleep(5);
    gv_exit((int)(intptr_t)arg, "parent fails");
}

static void
test_a_parents_abnormal_exit_kills_its_spawn_linked_child(void **state)
{
    (void)state;
    reset();
    gv_id p;
    assert_gv_id(
        p = gv_spawn(parent_fails_after_spawn_link, (void *)(intptr_t)EOTHER));
    assert_gv_ok(gv_join(p, gv_deadline(WAIT_MS)));
    assert_gv_id(ids[4]);
    assert_gv_ok(gv_join(ids[4], gv_deadline(WAIT_MS)));
    assert_gv_err(R[4].rc[0], GV_ECANCELED);
    assert_int_equal(gv_exit_reason(ids[4]), EOTHER);
    gv_shutdown();
}

static void
test_spawn_monitor_of_a_child_that_fails_at_once_sends_down(void **state)
{
    (void)state;
    body_ran = 0;
    int64_t ref = 0, ref2 = 0;
    gv_id c, c2;
    assert_gv_id(c = gv_spawn_monitor(fail_at_once, (void *)(intptr_t)EOTHER,
                                      NULL, &ref));
    assert_true(ref != 0);
    gv_msg m;
    assert_gv_ok(gv_recv(&m, gv_deadline(WAIT_MS)));
    assert_int_equal(m.tag, GV_MSG_DOWN);
    assert_int_equal(m.from, c);
    assert_int_equal(m.reason, EOTHER);
    assert_int_equal(m.ref, ref);
    gv_msg_free(&m);
    /* killed before it ran */
    gv_spawn_opts o = {.name = "never", .flags = GV_SPAWN_UNSTARTED};
    assert_gv_id(c2 = gv_spawn_monitor(mark_ran, NULL, &o, &ref2));
    assert_true(ref2 != ref);
    assert_gv_ok(gv_kill(c2, GV_NOWAIT));
    assert_gv_ok(gv_recv(&m, gv_deadline(WAIT_MS)));
    assert_int_equal(m.tag, GV_MSG_DOWN);
    assert_int_equal(m.from, c2);
    assert_int_equal(m.reason, GV_KILLED);
    assert_int_equal(m.ref, ref2);
    gv_msg_free(&m);
    assert_int_equal(body_ran, 0);
    assert_gv_err(gv_spawn_monitor(NULL, NULL, NULL, &ref), GV_EINVAL);
    gv_shutdown();
}

/* ------------------------------------------------------------- on_exit */

typedef struct hrec {
    int n;
    int k[4];
    int reason[4];
    int self_ok[4];
} hrec;
static hrec H[16];

static void
handler(void *arg, int reason)
{
    intptr_t v = (intptr_t)arg;
    int slot = (int)(v / 10), k = (int)(v % 10);
    hrec *h = &H[slot];
    if (h->n < 4) {
        h->k[h->n] = k;
        h->reason[h->n] = reason;
        h->self_ok[h->n] = gv_self() == ids[slot];
        h->n++;
    }
}

enum path {
    P_RETURN,
    P_EXIT_ERR,
    P_EXIT_ZERO,
    P_KILLED_SLEEPING,
    P_KILLED_IN_RECV,
    P_LINK_SIGNAL,
    P_EXIT_SIGNAL,
    P_EXIT_SIGNAL_KILLED_TRAPPING,
    P_NPATHS
};

static void *
cleanup_body(void *arg)
{
    int slot = (int)(intptr_t)arg;
    rec *r = &R[slot];
    r->rc[0] = gv_on_exit(handler, (void *)(intptr_t)(slot * 10 + 1));
    r->rc[1] = gv_on_exit(handler, (void *)(intptr_t)(slot * 10 + 2));
    r->rc[2] = gv_on_exit(NULL, NULL);
    gv_msg m;
    switch (slot) {
    case P_RETURN:
        return NULL;
    case P_EXIT_ERR:
        gv_exit(GV_EPERM, "cleanup path");
    case P_EXIT_ZERO:
        gv_exit(0, NULL);
    case P_KILLED_SLEEPING:
        r->rc[3] = gv_sleep(WAIT_MS);
        return NULL;
    case P_KILLED_IN_RECV:
    case P_EXIT_SIGNAL:
        r->rc[3] = gv_recv(&m, gv_deadline(WAIT_MS));
        gv_msg_free(&m);
        return NULL;
    case P_LINK_SIGNAL:
        gv_link(ids[15]);
        r->rc[3] = gv_recv(&m, gv_deadline(WAIT_MS));
        gv_msg_free(&m);
        return NULL;
    case P_EXIT_SIGNAL_KILLED_TRAPPING:
        gv_trap_exit(true);
        r->rc[3] = gv_recv(&m, gv_deadline(WAIT_MS));
        gv_msg_free(&m);
        return NULL;
    }
    return NULL;
}

static void
test_on_exit_handlers_run_on_every_exit_path_last_first(void **state)
{
    (void)state;
    reset();
    memset(H, 0, sizeof H);
    gv_id v[P_NPATHS + 1];
    gv_id failer;
    plan pf = {.slot = 15, .link = -1, .end = EOTHER, .delay_ms = 20};
    assert_gv_id(failer = spawn_plan(&pf));
    for (int i = 0; i < P_NPATHS; i++) {
        assert_gv_id(v[i] = gv_spawn(cleanup_body, (void *)(intptr_t)i));
        ids[i] = v[i];
    }
    v[P_NPATHS] = failer;
    assert_gv_ok(gv_sleep(5)); /* every one at its wait */
    assert_gv_ok(gv_kill(v[P_KILLED_SLEEPING], GV_NOWAIT));
    assert_gv_ok(gv_kill(v[P_KILLED_IN_RECV], GV_NOWAIT));
    assert_gv_ok(gv_exit_signal(v[P_EXIT_SIGNAL], GV_EPERM));
    assert_gv_ok(gv_exit_signal(v[P_EXIT_SIGNAL_KILLED_TRAPPING], GV_KILLED));
    join_all(v, P_NPATHS + 1);
    const int want[P_NPATHS] = {
        [P_RETURN] = GV_NORMAL,
        [P_EXIT_ERR] = GV_EPERM,
        [P_EXIT_ZERO] = GV_NORMAL,
        [P_KILLED_SLEEPING] = GV_KILLED,
        [P_KILLED_IN_RECV] = GV_KILLED,
        [P_LINK_SIGNAL] = EOTHER,
        [P_EXIT_SIGNAL] = GV_EPERM,
        [P_EXIT_SIGNAL_KILLED_TRAPPING] = GV_KILLED,
    };
    for (int i = 0; i < P_NPATHS; i++) {
        print_message("path %d: %d handler(s), reasons %d %d, exit reason "
                      "%d\n",
                      i, H[i].n, H[i].reason[0], H[i].reason[1],
                      gv_exit_reason(v[i]));
        assert_gv_ok(R[i].rc[0]);
        assert_gv_ok(R[i].rc[1]);
        assert_gv_err(R[i].rc[2], GV_EINVAL);
        assert_int_equal(H[i].n, 2);
        assert_int_equal(H[i].k[0], 2); /* last registered first */
        assert_int_equal(H[i].k[1], 1);
        assert_int_equal(H[i].reason[0], want[i]);
        assert_int_equal(H[i].reason[1], want[i]);
        assert_true(H[i].self_ok[0] && H[i].self_ok[1]);
        assert_int_equal(gv_exit_reason(v[i]), want[i]);
    }
    gv_shutdown();
}

static void
tell_main(void *arg, int reason)
{
    gv_send(*(gv_id *)arg, 7, &reason, sizeof reason, GV_NOWAIT);
}

static void *
register_tell_main_then_fail(void *arg)
{
    gv_on_exit(tell_main, arg);
    gv_sleep(1);
    gv_exit(EOTHER, "tells main on the way out");
}

static void
test_an_on_exit_handler_may_send_a_last_message(void **state)
{
    (void)state;
    gv_id me = gv_self();
    gv_id a;
    assert_gv_id(a = gv_spawn(register_tell_main_then_fail, &me));
    int64_t ref;
    assert_gv_ok(gv_monitor(a, &ref));
    assert_gv_ok(gv_join(a, gv_deadline(WAIT_MS)));
    gv_msg m;
    /* the DOWN comes first (system lane), then the handler's message */
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, GV_MSG_DOWN);
    assert_int_equal(m.reason, EOTHER);
    gv_msg_free(&m);
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, 7);
    assert_int_equal(m.from, a);
    assert_int_equal(*(int *)m.data, EOTHER);
    gv_msg_free(&m);
    gv_shutdown();
}

static void
test_exit_reason_is_one_while_running_and_enoent_when_stale(void **state)
{
    (void)state;
    reset();
    gv_id a;
    assert_gv_id(a = gv_spawn(wait_go, (void *)0));
    assert_int_equal(gv_exit_reason(a), 1); /* not even started */
    assert_gv_ok(gv_sleep(1));
    assert_int_equal(gv_exit_reason(a), 1); /* parked */
    assert_int_equal(gv_exit_reason(gv_self()), 1);
    assert_gv_ok(gv_send(a, TAG_GO, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_join(a, gv_deadline(WAIT_MS)));
    assert_int_equal(gv_exit_reason(a), GV_NORMAL);
    assert_gv_ok(gv_release(a));
    assert_int_equal(gv_exit_reason(a), GV_ENOENT);
    assert_int_equal(gv_exit_reason(made_up_id), GV_ENOENT);
    gv_shutdown();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_a_normal_exit_kills_no_linked_actor),
        T(test_an_abnormal_exit_kills_the_linked_actor_with_the_same_reason),
        T(test_an_exit_propagates_along_a_chain_of_links),
        T(test_a_trapping_actor_gets_exit_messages_instead_of_dying),
        T(test_trapping_shows_normal_and_abnormal_exits_and_can_be_turned_off),
        T(test_kill_gives_reason_killed_even_to_a_trapping_actor),
        T(test_exit_signal_killed_cannot_be_trapped),
        T(test_the_partners_of_a_killed_actor_die_with_killed_or_trap_it),
        T(test_exit_signal_normal_is_ignored_unless_trapping),
        T(test_exit_signal_with_an_error_kills_or_is_trapped),
        T(test_unlink_stops_propagation_from_either_side),
        T(test_linking_twice_is_one_link_and_one_exit_message),
        T(test_linking_to_a_dead_or_unknown_actor_acts_as_noproc),
        T(test_monitor_delivers_down_with_the_reason_and_the_ref),
        T(test_monitors_are_one_way_and_do_not_kill),
        T(test_monitoring_a_dead_or_unknown_actor_gives_down_noproc_at_once),
        T(test_demonitor_removes_a_queued_down),
        T(test_demonitor_of_someone_elses_ref_is_enoent),
        T(test_spawn_link_of_a_child_that_fails_at_once_kills_the_parent),
        T(test_spawn_link_child_killed_before_it_runs_still_signals),
        T(test_a_parents_abnormal_exit_kills_its_spawn_linked_child),
        T(test_spawn_monitor_of_a_child_that_fails_at_once_sends_down),
        T(test_on_exit_handlers_run_on_every_exit_path_last_first),
        T(test_an_on_exit_handler_may_send_a_last_message),
        T(test_exit_reason_is_one_while_running_and_enoent_when_stale),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
