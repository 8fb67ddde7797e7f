/*
 * test_supervisor.c — supervisors: strategies, restart types, restart
 * intensity in real time, shutdown order and timeouts, simple_one_for_one,
 * terminate_child, trees and their printed form, back-off, start errors,
 * server children, calls that must not hang or steal messages, and an
 * out-of-memory sweep.
 *
 * Actor bodies never assert (cmocka longjmps off the green thread's
 * stack): children record into K[] and the shared trace ("a+" started,
 * "a-shut" ended with GV_SHUTDOWN, "a-crash", "a-kill", "a-norm") and each
 * test asserts on main's stack. main traps exits in every test, so a
 * supervisor's escalation arrives as a GV_MSG_EXIT instead of killing it.
 * Every test ends with gv_shutdown().
 */
#include "gv_test.h"

#include <inttypes.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define TAG_CRASH 1    /* exit with CRASH */
#define TAG_QUIT 2     /* return: GV_NORMAL */
#define TAG_SHUTDOWN 3 /* gv_exit(GV_SHUTDOWN) */
#define CRASH (-EIO)
#define WAIT_MS (5000 * GVT_SLOW)

/* ------------------------------------------------------------- children */

typedef struct tkid {
    const char *name;
    int trap;          /* traps exits: a GV_SHUTDOWN is only a message */
    int64_t linger_ms; /* trapping: leave this long after it (0: never) */
    int starts;
    int stops;
    gv_id id; /* the instance running now */
    int last_reason;
    int64_t started_at;
} tkid;

static tkid K[8];

static const char *
why(int reason)
{
    static char buf[16];
    switch (reason) {
    case GV_NORMAL:
        return "norm";
    case CRASH:
        return "crash";
    case GV_SHUTDOWN:
        return "shut";
    case GV_KILLED:
        return "kill";
    default:
        snprintf(buf, sizeof buf, "%d", reason);
        return buf;
    }
}

static void
kid_exit(void *arg, int reason)
{
    tkid *k = arg;
    k->stops++;
    k->last_reason = reason;
    gvt_trace("%s-%s", k->name, why(reason));
}

static void *
kid_body(void *arg)
{
    tkid *k = arg;
    k->starts++;
    k->id = gv_self();
    k->started_at = gv_now();
    gvt_trace("%s+", k->name);
    gv_on_exit(kid_exit, k);
    if (k->trap)
        gv_trap_exit(true);
    for (;;) {
        gv_msg m;
        if (gv_recv(&m, GV_FOREVER) != 0)
            return NULL; /* killed */
        int tag = m.tag, reason = m.reason;
        gv_msg_free(&m);
        if (tag == TAG_CRASH)
            gv_exit(CRASH, "crash");
        if (tag == TAG_QUIT)
            return NULL;
        if (tag == TAG_SHUTDOWN)
            gv_exit(GV_SHUTDOWN, NULL);
        if (tag == GV_MSG_EXIT && reason == GV_SHUTDOWN && k->linger_ms > 0) {
            gv_sleep(k->linger_ms);
            return NULL;
        }
    }
}

static void
reset(void)
{
    memset(K, 0, sizeof K);
    gvt_trace_reset();
}

/* kspec names K[i] and gives its spec: a plain child, shutdown 1 s. */
static gv_child_spec
kspec(int i, const char *name, int restart)
{
    K[i].name = name;
    return (gv_child_spec){.name = name,
                           .fn = kid_body,
                           .arg = &K[i],
                           .restart = restart,
                           .shutdown_ms = 1000};
}

static gv_sup_spec
sspec(const char *name, int strategy, int max_restarts, int64_t period_ms)
{
    return (gv_sup_spec){.name = name,
                         .strategy = strategy,
                         .max_restarts = max_restarts,
                         .period_ms = period_ms};
}

/* wait_starts waits until K[i] has started n times. */
static int
wait_starts(int i, int n)
{
    int64_t end = gv_now() + WAIT_MS;
    while (K[i].starts < n) {
        if (gv_now() > end)
            return GV_ETIMEDOUT;
        gv_sleep(1);
    }
    return 0;
}

/* settle returns once sup has dealt with every exit already signalled (its
 * system lane comes before the request) and gives the number of children,
 * or an error. */
static int
settle(gv_id sup)
{
    return gv_supervisor_children(sup, NULL, 0, gv_deadline(WAIT_MS));
}

static int
send_tag(int i, int tag)
{
    return gv_send(K[i].id, tag, NULL, 0, GV_NOWAIT);
}

/* crash makes K[i] crash and waits for its next start. */
static int
crash_and_wait(int i)
{
    int n = K[i].starts + 1;
    int rc = send_tag(i, TAG_CRASH);
    return rc != 0 ? rc : wait_starts(i, n);
}

/* recv_exit waits for main's next message, which must be an EXIT. */
static int
recv_exit(gv_id *from, int *reason, int64_t ms)
{
    gv_msg m;
    int rc = gv_recv(&m, gv_deadline(ms));
    if (rc != 0)
        return rc;
    int tag = m.tag;
    *from = m.from;
    *reason = m.reason;
    gv_msg_free(&m);
    return tag == GV_MSG_EXIT ? 0 : GV_EINVAL;
}

static void
assert_no_message(void)
{
    gv_msg m;
    assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);
}

/* ------------------------------------------------------------ starting */

static void
test_children_start_in_order_and_are_listed_in_start_order(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT),
                            kspec(2, "c", GV_PERMANENT)};
    gv_sup_spec sp = sspec("top", GV_ONE_FOR_ONE, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    /* gv_supervisor_start returns once all have started */
    assert_string_equal(gvt_trace_buf, "a+ b+ c+");
    gv_id ids[3];
    assert_int_equal(gv_supervisor_children(sup, ids, 3, gv_deadline(WAIT_MS)),
                     3);
    for (int i = 0; i < 3; i++)
        assert_true(ids[i] == K[i].id);
    /* a short array still learns how many there are */
    assert_int_equal(gv_supervisor_children(sup, ids, 1, gv_deadline(WAIT_MS)),
                     3);
    assert_true(ids[0] == K[0].id);
    assert_string_equal(gv_name(sup), "top");
    assert_string_equal(gv_name(K[1].id), "b");
    assert_no_message();
    gv_shutdown();
}

static void
test_bad_specs_are_refused(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec k = kspec(0, "a", GV_PERMANENT);
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 1, 1000);
    assert_gv_err(gv_supervisor_start(NULL, &k, 1), GV_EINVAL);
    assert_gv_err(gv_supervisor_start(&sp, NULL, 1), GV_EINVAL);
    gv_sup_spec bad = sp;
    bad.strategy = 42;
    assert_gv_err(gv_supervisor_start(&bad, &k, 1), GV_EINVAL);
    bad = sp;
    bad.period_ms = 0;
    assert_gv_err(gv_supervisor_start(&bad, &k, 1), GV_EINVAL);
    bad = sp;
    bad.max_restarts = -1;
    assert_gv_err(gv_supervisor_start(&bad, &k, 1), GV_EINVAL);
    gv_child_spec kb = k;
    kb.fn = NULL; /* neither a body nor a server */
    assert_gv_err(gv_supervisor_start(&sp, &kb, 1), GV_EINVAL);
    kb = k;
    kb.restart = 7;
    assert_gv_err(gv_supervisor_start(&sp, &kb, 1), GV_EINVAL);
    kb = k;
    kb.shutdown_ms = -5;
    assert_gv_err(gv_supervisor_start(&sp, &kb, 1), GV_EINVAL);
    /* simple_one_for_one takes exactly one template */
    gv_sup_spec simple = sspec("s", GV_SIMPLE_ONE_FOR_ONE, 1, 1000);
    gv_child_spec two[] = {k, k};
    assert_gv_err(gv_supervisor_start(&simple, two, 2), GV_EINVAL);
    assert_gv_err(gv_supervisor_start(&simple, NULL, 0), GV_EINVAL);
    assert_string_equal(gvt_trace_buf, "");
    /* no children at all is fine */
    gv_id sup = gv_supervisor_start(&sp, NULL, 0);
    assert_gv_id(sup);
    assert_int_equal(settle(sup), 0);
    gv_shutdown();
}

static int
bad_init(void *arg, void **statep)
{
    (void)arg;
    (void)statep;
    return -EACCES;
}

static const gv_server_ops bad_server = {.init = bad_init};

static void
test_a_child_that_fails_to_start_fails_the_start_and_stops_those_before(
    void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT),
                            kspec(2, "c", GV_PERMANENT)};
    kids[1].opts.stack_size = (size_t)4 << 30; /* gv_spawn_ex: GV_EINVAL */
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 3, 1000);
    assert_gv_err(gv_supervisor_start(&sp, kids, NELEM(kids)), GV_EINVAL);
    /* a was spawned, and stopped before it ever ran */
    assert_string_equal(gvt_trace_buf, "");
    gv_sleep(10);
    assert_int_equal(K[0].starts, 0);

    /* a server whose init fails: its error comes back; a ran meanwhile
     * (gv_server_start waits for the init) */
    gvt_trace_reset();
    kids[1] = (gv_child_spec){.name = "srv",
                              .server = &bad_server,
                              .restart = GV_PERMANENT,
                              .shutdown_ms = 1000};
    assert_gv_err(gv_supervisor_start(&sp, kids, NELEM(kids)), -EACCES);
    assert_string_equal(gvt_trace_buf, "a+ a-shut");
    /* main is linked to neither failed supervisor: no exit signal */
    gv_sleep(10);
    assert_no_message();
    gv_shutdown();
}

/* ------------------------------------------------------------ strategies */

static void
test_one_for_one_restarts_only_the_child_that_exited(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT),
                            kspec(2, "c", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    gv_id old_b = K[1].id;
    assert_gv_ok(crash_and_wait(1));
    assert_int_equal(settle(sup), 3);
    assert_string_equal(gvt_trace_buf, "a+ b+ c+ b-crash b+");
    gv_id ids[3];
    assert_int_equal(gv_supervisor_children(sup, ids, 3, gv_deadline(WAIT_MS)),
                     3);
    assert_true(ids[0] == K[0].id && ids[1] == K[1].id && ids[2] == K[2].id);
    assert_true(K[1].id != old_b);
    /* the old instance's id is stale: the supervisor released it */
    assert_gv_err(gv_exit_reason(old_b), GV_ENOENT);
    assert_int_equal(K[0].starts, 1);
    assert_int_equal(K[2].starts, 1);
    assert_no_message();
    gv_shutdown();
}

static void
test_one_for_all_stops_the_others_last_first_then_restarts_all_in_order(
    void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT),
                            kspec(2, "c", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ALL, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    assert_gv_ok(crash_and_wait(1));
    assert_gv_ok(wait_starts(2, 2));
    assert_int_equal(settle(sup), 3);
    assert_string_equal(gvt_trace_buf,
                        "a+ b+ c+ b-crash c-shut a-shut a+ b+ c+");
    gv_id ids[3];
    assert_int_equal(gv_supervisor_children(sup, ids, 3, gv_deadline(WAIT_MS)),
                     3);
    assert_true(ids[0] == K[0].id && ids[1] == K[1].id && ids[2] == K[2].id);
    assert_no_message();
    gv_shutdown();
}

static void
test_rest_for_one_restarts_the_child_and_those_started_after_it(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {
        kspec(0, "a", GV_PERMANENT), kspec(1, "b", GV_PERMANENT),
        kspec(2, "c", GV_PERMANENT), kspec(3, "d", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_REST_FOR_ONE, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    assert_gv_ok(crash_and_wait(1));
    assert_gv_ok(wait_starts(3, 2));
    assert_int_equal(settle(sup), 4);
    assert_string_equal(gvt_trace_buf,
                        "a+ b+ c+ d+ b-crash d-shut c-shut b+ c+ d+");
    assert_int_equal(K[0].starts, 1);
    /* the last one crashing restarts only itself */
    gvt_trace_reset();
    assert_gv_ok(crash_and_wait(3));
    assert_int_equal(settle(sup), 4);
    assert_string_equal(gvt_trace_buf, "d-crash d+");
    gv_shutdown();
}

/* ------------------------------------------------------- restart types */

static void
test_restart_types_decide_which_exits_restart(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {
        kspec(0, "p", GV_PERMANENT), kspec(1, "t1", GV_TRANSIENT),
        kspec(2, "t2", GV_TRANSIENT), kspec(3, "t3", GV_TRANSIENT),
        kspec(4, "tmp", GV_TEMPORARY)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 10, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);

    /* permanent: even a normal exit restarts it */
    assert_gv_ok(send_tag(0, TAG_QUIT));
    assert_gv_ok(wait_starts(0, 2));
    /* transient: a normal exit or GV_SHUTDOWN is the end of it */
    assert_gv_ok(send_tag(1, TAG_QUIT));
    assert_gv_ok(send_tag(2, TAG_SHUTDOWN));
    /* ... an abnormal one restarts it */
    assert_gv_ok(crash_and_wait(3));
    /* temporary: never restarted */
    assert_gv_ok(send_tag(4, TAG_CRASH));
    assert_int_equal(settle(sup), 2);
    gv_sleep(20);
    assert_int_equal(settle(sup), 2);
    assert_int_equal(K[1].starts, 1);
    assert_int_equal(K[2].starts, 1);
    assert_int_equal(K[4].starts, 1);
    assert_string_equal(gvt_trace_buf, "p+ t1+ t2+ t3+ tmp+ p-norm p+ t1-norm "
                                       "t2-shut t3-crash t3+ tmp-crash");
    gv_id ids[2];
    assert_int_equal(gv_supervisor_children(sup, ids, 2, gv_deadline(WAIT_MS)),
                     2);
    assert_true(ids[0] == K[0].id && ids[1] == K[3].id);
    gv_shutdown();
}

static void
test_a_temporary_sibling_stopped_by_one_for_all_is_not_restarted(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "tmp", GV_TEMPORARY),
                            kspec(2, "t", GV_TRANSIENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ALL, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    assert_gv_ok(crash_and_wait(0));
    assert_gv_ok(wait_starts(2, 2));
    assert_int_equal(settle(sup), 2);
    /* the transient sibling was stopped by the supervisor, not by its own
     * normal exit: it restarts with the group */
    assert_string_equal(gvt_trace_buf,
                        "a+ tmp+ t+ a-crash t-shut tmp-shut a+ t+");
    assert_int_equal(K[1].starts, 1);
    gv_shutdown();
}

/* ---------------------------------------------------- restart intensity */

static void
test_crashes_spread_beyond_the_period_do_not_trip_the_intensity(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT)};
    /* at most 2 restarts in 150 ms; 5 crashes 100 ms apart: never more
     * than 2 of them in any 150 ms */
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 2, 150);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    int64_t t0 = gvt_mono_ms();
    for (int i = 0; i < 5; i++) {
        if (i > 0)
            gv_sleep(100);
        assert_gv_ok(crash_and_wait(0));
    }
    assert_true(gvt_mono_ms() - t0 >= 400);
    assert_int_equal(settle(sup), 2);
    assert_int_equal(K[0].starts, 6);
    assert_int_equal(K[1].starts, 1);
    assert_int_equal(K[1].stops, 0);
    assert_no_message(); /* the supervisor did not give up */
    gv_shutdown();
}

static void
test_one_restart_too_many_within_the_period_stops_all_and_exits_shutdown(
    void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT),
                            kspec(2, "c", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 2, 10000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    gv_id b = K[1].id, c = K[2].id;
    int64_t ref_b, ref_c;
    assert_gv_ok(gv_monitor(b, &ref_b));
    assert_gv_ok(gv_monitor(c, &ref_c));
    assert_gv_ok(crash_and_wait(0));
    assert_gv_ok(crash_and_wait(0));
    assert_gv_ok(send_tag(0, TAG_CRASH)); /* the third: one too many */

    /* the children go first, last started first, then the supervisor */
    gv_msg m;
    assert_gv_ok(gv_recv(&m, gv_deadline(WAIT_MS)));
    assert_int_equal(m.tag, GV_MSG_DOWN);
    assert_true(m.from == c && m.ref == ref_c);
    assert_int_equal(m.reason, GV_SHUTDOWN);
    assert_gv_ok(gv_recv(&m, gv_deadline(WAIT_MS)));
    assert_int_equal(m.tag, GV_MSG_DOWN);
    assert_true(m.from == b && m.ref == ref_b);
    assert_int_equal(m.reason, GV_SHUTDOWN);
    gv_id from;
    int reason;
    assert_gv_ok(recv_exit(&from, &reason, WAIT_MS));
    assert_true(from == sup);
    assert_int_equal(reason, GV_SHUTDOWN);

    assert_string_equal(gvt_trace_buf, "a+ b+ c+ a-crash a+ a-crash a+ "
                                       "a-crash c-shut b-shut");
    assert_int_equal(K[0].starts, 3);
    /* the supervisor and its children are gone */
    assert_gv_err(settle(sup), GV_ENOENT);
    assert_gv_err(gv_exit_reason(sup), GV_ENOENT);
    assert_gv_err(gv_send(b, 5, NULL, 0, GV_NOWAIT), GV_ENOENT);
    assert_gv_err(gv_send(K[0].id, 5, NULL, 0, GV_NOWAIT), GV_ENOENT);
    gv_shutdown();
}

static void
test_max_restarts_zero_gives_up_at_the_first_exit(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 0, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    assert_gv_ok(send_tag(0, TAG_QUIT)); /* even a normal exit, permanent */
    gv_id from;
    int reason;
    assert_gv_ok(recv_exit(&from, &reason, WAIT_MS));
    assert_true(from == sup);
    assert_int_equal(reason, GV_SHUTDOWN);
    assert_string_equal(gvt_trace_buf, "a+ a-norm");
    gv_shutdown();
}

static gv_id parent_sup;

static void *
start_and_wait(void *arg)
{
    (void)arg;
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 0, 1000);
    parent_sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    if (parent_sup > 0)
        gv_sleep(WAIT_MS); /* killed by the link before this ends */
    return NULL;
}

static void
test_an_escalation_kills_a_parent_that_does_not_trap_exits(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    parent_sup = 0;
    gv_id t = gv_spawn(start_and_wait, NULL);
    assert_gv_id(t);
    while (K[0].starts == 0)
        gv_sleep(1);
    assert_gv_id(parent_sup);
    assert_gv_ok(send_tag(0, TAG_CRASH));
    assert_gv_ok(gv_join(t, gv_deadline(WAIT_MS)));
    assert_int_equal(gv_exit_reason(t), GV_SHUTDOWN);
    assert_gv_ok(gv_release(t));
    assert_no_message(); /* main was linked to nothing */
    gv_shutdown();
}

/* ------------------------------------------------------------- stopping */

static void
test_children_stop_last_first_with_their_shutdown_timeouts(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {
        kspec(0, "a", GV_PERMANENT), kspec(1, "b", GV_PERMANENT),
        kspec(2, "c", GV_PERMANENT), kspec(3, "d", GV_PERMANENT)};
    K[1].trap = 1; /* ignores GV_SHUTDOWN: killed after 60 ms */
    kids[1].shutdown_ms = 60;
    kids[2].shutdown_ms = 0; /* killed at once */
    K[3].trap = 1;           /* takes 40 ms, and may */
    K[3].linger_ms = 40;
    kids[3].shutdown_ms = GV_FOREVER;
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);

    int64_t t0 = gvt_mono_ms();
    assert_gv_ok(gv_exit_signal(sup, GV_SHUTDOWN)); /* from its parent */
    gv_id from;
    int reason;
    assert_gv_ok(recv_exit(&from, &reason, WAIT_MS));
    int64_t took = gvt_mono_ms() - t0;
    assert_true(from == sup);
    assert_int_equal(reason, GV_SHUTDOWN);
    assert_string_equal(gvt_trace_buf,
                        "a+ b+ c+ d+ d-norm c-kill b-kill a-shut");
    assert_true(took >= 95);
    assert_true(took < 1000 * GVT_SLOW);
    gv_shutdown();
}

static gv_id tree_sup;

static void *
parent_of_a_supervisor(void *arg)
{
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 3, 1000);
    tree_sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    gv_sleep(10);
    if (arg != NULL)
        gv_exit(CRASH, "parent crash");
    return NULL;
}

static void
test_a_supervisor_stops_its_children_when_its_parent_exits(void **state)
{
    (void)state;
    for (int crash = 0; crash < 2; crash++) {
        reset();
        gv_trap_exit(true);
        gv_id t = gv_spawn(parent_of_a_supervisor, crash ? "crash" : NULL);
        assert_gv_id(t);
        while (K[1].starts == 0)
            gv_sleep(1);
        int64_t ref;
        assert_gv_ok(gv_monitor(tree_sup, &ref));
        gv_msg m;
        assert_gv_ok(gv_recv(&m, gv_deadline(WAIT_MS)));
        assert_int_equal(m.tag, GV_MSG_DOWN);
        assert_true(m.from == tree_sup);
        /* it ends as its parent did */
        assert_int_equal(m.reason, crash ? CRASH : GV_NORMAL);
        assert_string_equal(gvt_trace_buf, "a+ b+ b-shut a-shut");
        assert_gv_ok(gv_join(t, GV_FOREVER));
        assert_gv_ok(gv_release(t));
        gv_shutdown();
    }
}

/* ---------------------------------------------------- simple_one_for_one */

static void
test_simple_one_for_one_starts_children_from_the_template_with_their_args(
    void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    for (int i = 0; i < 3; i++)
        K[i].name = (const char *[]){"w0", "w1", "w2"}[i];
    gv_child_spec tmpl = {.name = "worker",
                          .fn = kid_body,
                          .arg = NULL,
                          .restart = GV_TRANSIENT,
                          .shutdown_ms = 1000};
    gv_sup_spec sp = sspec("pool", GV_SIMPLE_ONE_FOR_ONE, 5, 1000);
    gv_id sup = gv_supervisor_start(&sp, &tmpl, 1);
    assert_gv_id(sup);
    assert_int_equal(settle(sup), 0); /* the template does not start */
    assert_string_equal(gvt_trace_buf, "");

    gv_id ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] =
            gv_supervisor_start_child(sup, NULL, &K[i], gv_deadline(WAIT_MS));
        assert_gv_id(ids[i]);
        assert_true(ids[i] == K[i].id); /* the body got its own arg */
        assert_string_equal(gv_name(ids[i]), "worker");
    }
    assert_int_equal(settle(sup), 3);
    /* a spec is for the other strategies */
    gv_child_spec other = kspec(4, "x", GV_PERMANENT);
    assert_gv_err(
        gv_supervisor_start_child(sup, &other, NULL, gv_deadline(WAIT_MS)),
        GV_EINVAL);
    /* a crash restarts that child with its arg */
    assert_gv_ok(crash_and_wait(1));
    assert_int_equal(K[0].starts, 1);
    assert_int_equal(K[2].starts, 1);
    /* transient: a normal exit ends it */
    assert_gv_ok(send_tag(2, TAG_QUIT));
    assert_int_equal(settle(sup), 2);
    assert_gv_ok(
        gv_supervisor_terminate_child(sup, K[0].id, gv_deadline(WAIT_MS)));
    assert_int_equal(settle(sup), 1);
    gv_id left;
    assert_int_equal(
        gv_supervisor_children(sup, &left, 1, gv_deadline(WAIT_MS)), 1);
    assert_true(left == K[1].id);
    assert_string_equal(gvt_trace_buf,
                        "w0+ w1+ w2+ w1-crash w1+ w2-norm w0-shut");
    gv_shutdown();
}

static void
test_simple_one_for_one_stops_its_children_all_at_once(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec tmpl = {.name = "worker",
                          .fn = kid_body,
                          .restart = GV_PERMANENT,
                          .shutdown_ms = 80};
    gv_sup_spec sp = sspec("pool", GV_SIMPLE_ONE_FOR_ONE, 5, 1000);
    gv_id sup = gv_supervisor_start(&sp, &tmpl, 1);
    assert_gv_id(sup);
    for (int i = 0; i < 4; i++) {
        K[i].name = (const char *[]){"w0", "w1", "w2", "w3"}[i];
        K[i].trap = 1; /* all ignore GV_SHUTDOWN */
        assert_gv_id(
            gv_supervisor_start_child(sup, NULL, &K[i], gv_deadline(WAIT_MS)));
    }
    int64_t t0 = gvt_mono_ms();
    assert_gv_ok(gv_exit_signal(sup, GV_SHUTDOWN));
    gv_id from;
    int reason;
    assert_gv_ok(recv_exit(&from, &reason, WAIT_MS));
    int64_t took = gvt_mono_ms() - t0;
    assert_int_equal(reason, GV_SHUTDOWN);
    /* one 80 ms wait for all four, not four in a row */
    assert_true(took >= 75);
    assert_true(took < 300 * GVT_SLOW);
    for (int i = 0; i < 4; i++)
        assert_int_equal(K[i].last_reason, GV_KILLED);
    gv_shutdown();
}

/* ---------------------------------------------- start_child, terminate */

static void
test_terminate_child_stops_it_and_forgets_it(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ALL, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    gv_id b = K[1].id;
    assert_gv_ok(gv_supervisor_terminate_child(sup, b, gv_deadline(WAIT_MS)));
    /* stopped, not restarted, and no one_for_all restart either */
    assert_int_equal(settle(sup), 1);
    assert_string_equal(gvt_trace_buf, "a+ b+ b-shut");
    assert_gv_err(gv_supervisor_terminate_child(sup, b, gv_deadline(WAIT_MS)),
                  GV_ENOENT);
    assert_gv_err(
        gv_supervisor_terminate_child(sup, gv_self(), gv_deadline(WAIT_MS)),
        GV_ENOENT);

    /* start_child adds at the end, from a spec */
    gv_child_spec c = kspec(2, "c", GV_PERMANENT);
    gv_id cid = gv_supervisor_start_child(sup, &c, NULL, gv_deadline(WAIT_MS));
    assert_gv_id(cid);
    assert_true(cid == K[2].id);
    assert_gv_err(
        gv_supervisor_start_child(sup, NULL, NULL, gv_deadline(WAIT_MS)),
        GV_EINVAL);
    gv_id ids[2];
    assert_int_equal(gv_supervisor_children(sup, ids, 2, gv_deadline(WAIT_MS)),
                     2);
    assert_true(ids[0] == K[0].id && ids[1] == cid);
    /* an added child is supervised like the others (one_for_all) */
    assert_gv_ok(crash_and_wait(2));
    assert_gv_ok(wait_starts(0, 2));
    assert_int_equal(settle(sup), 2);
    assert_string_equal(gvt_trace_buf, "a+ b+ b-shut c+ c-crash a-shut a+ c+");
    gv_shutdown();
}

/* ------------------------------------------------------------ a tree */

static gv_id sub_sup;

static void
wrapper_exit(void *arg, int reason)
{
    (void)arg;
    gvt_trace("tree-%s", why(reason));
}

/* A subtree: a child whose body starts a supervisor and lives as long as
 * it does. */
static void *
subtree(void *arg)
{
    (void)arg;
    gv_on_exit(wrapper_exit, NULL);
    gv_child_spec kids[] = {kspec(2, "x", GV_PERMANENT),
                            kspec(3, "y", GV_PERMANENT)};
    gv_sup_spec sp = sspec("sub", GV_REST_FOR_ONE, 3, 1000);
    sub_sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    if (sub_sup < 0)
        gv_exit((int)sub_sup, "subtree");
    gv_join(sub_sup, GV_FOREVER);
    return NULL;
}

/* normalize replaces every <digits> of a printed tree by <id>. */
static void
normalize(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    while (*in != '\0' && o + 5 < cap) {
        if (in[0] == '<' && in[1] >= '0' && in[1] <= '9') {
            const char *p = in + 1;
            while (*p >= '0' && *p <= '9')
                p++;
            if (*p == '>') {
                memcpy(out + o, "<id>", 4);
                o += 4;
                in = p + 1;
                continue;
            }
        }
        out[o++] = *in++;
    }
    out[o] = '\0';
}

static int
print_to(gv_id sup, char *out, size_t cap)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return GV_ENOMEM;
    int rc = gv_supervisor_print(sup, f, gv_deadline(WAIT_MS));
    fclose(f);
    normalize(buf, out, cap);
    free(buf);
    return rc;
}

static void
test_a_tree_prints_and_stops_depth_first(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    sub_sup = 0;
    gv_child_spec kids[] = {kspec(0, "w", GV_PERMANENT),
                            {.name = "tree",
                             .fn = subtree,
                             .restart = GV_PERMANENT,
                             .shutdown_ms = GV_FOREVER}};
    gv_sup_spec sp = sspec("top", GV_ONE_FOR_ONE, 3, 1000);
    gv_id top = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(top);
    assert_gv_ok(wait_starts(3, 1));
    assert_gv_id(sub_sup);

    char out[2048];
    assert_gv_ok(print_to(top, out, sizeof out));
    assert_string_equal(out,
                        "top supervisor(one_for_one) <id> running mailbox=0\n"
                        "  w worker <id> running mailbox=0\n"
                        "  tree worker <id> running mailbox=0\n"
                        "    sub supervisor(rest_for_one) <id> running "
                        "mailbox=0\n"
                        "      x worker <id> running mailbox=0\n"
                        "      y worker <id> running mailbox=0\n");
    /* the subtree alone */
    assert_gv_ok(print_to(sub_sup, out, sizeof out));
    assert_string_equal(out,
                        "sub supervisor(rest_for_one) <id> running mailbox=0\n"
                        "  x worker <id> running mailbox=0\n"
                        "  y worker <id> running mailbox=0\n");

    /* a crash down there is the subtree's business */
    assert_gv_ok(crash_and_wait(2));
    assert_gv_ok(wait_starts(3, 2));
    assert_int_equal(settle(sub_sup), 2);
    assert_int_equal(settle(top), 2);
    assert_int_equal(K[0].starts, 1);

    /* stopping the top: the subtree (last started) is down, its children
     * last first, before w stops */
    gvt_trace_reset();
    assert_gv_ok(gv_exit_signal(top, GV_SHUTDOWN));
    gv_id from;
    int reason;
    assert_gv_ok(recv_exit(&from, &reason, WAIT_MS));
    assert_true(from == top);
    assert_int_equal(reason, GV_SHUTDOWN);
    assert_string_equal(gvt_trace_buf, "tree-shut y-shut x-shut w-shut");
    assert_gv_err(settle(sub_sup), GV_ENOENT);
    gv_shutdown();
}

static void
test_a_subtree_that_gives_up_is_restarted_by_its_parent(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    sub_sup = 0;
    gv_child_spec kids[] = {kspec(0, "w", GV_PERMANENT),
                            {.name = "tree",
                             .fn = subtree,
                             .restart = GV_PERMANENT,
                             .shutdown_ms = GV_FOREVER}};
    gv_sup_spec sp = sspec("top", GV_ONE_FOR_ONE, 3, 1000);
    gv_id top = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(top);
    assert_gv_ok(wait_starts(3, 1));
    gv_id first_sub = sub_sup;
    /* sub allows 3 restarts: the 4th crash makes it give up, which takes
     * the wrapper down (GV_SHUTDOWN through the link) */
    for (int i = 0; i < 3; i++)
        assert_gv_ok(crash_and_wait(2));
    assert_gv_ok(send_tag(2, TAG_CRASH));
    assert_gv_ok(wait_starts(2, 5)); /* the new subtree's x */
    assert_int_equal(settle(top), 2);
    assert_true(sub_sup != first_sub);
    assert_gv_err(settle(first_sub), GV_ENOENT);
    assert_int_equal(settle(sub_sup), 2);
    assert_int_equal(K[0].starts, 1);
    assert_no_message();
    gv_shutdown();
}

/* -------------------------------------------------------------- back-off */

static void
test_backoff_delays_restarts_doubling_up_to_the_max(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 10, 60000);
    sp.backoff_ms = 40;
    sp.backoff_max_ms = 100;
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    const int64_t want[] = {40, 80, 100, 100};
    for (size_t i = 0; i < NELEM(want); i++) {
        int64_t t0 = gv_now();
        assert_gv_ok(send_tag(0, TAG_CRASH));
        if (i == 2) {
            /* meanwhile the supervisor answers, and shows the wait */
            gv_sleep(10);
            int64_t t1 = gvt_mono_ms();
            assert_int_equal(settle(sup), 1); /* only b runs */
            char out[1024];
            assert_gv_ok(print_to(sup, out, sizeof out));
            assert_true(gvt_mono_ms() - t1 < 50 * GVT_SLOW);
            assert_string_equal(out, "s supervisor(one_for_one) <id> running "
                                     "mailbox=0\n"
                                     "  a worker <-> restarting mailbox=-\n"
                                     "  b worker <id> running mailbox=0\n");
        }
        assert_gv_ok(wait_starts(0, (int)i + 2));
        int64_t waited = K[0].started_at - t0;
        assert_true(waited >= want[i] - 1);
        assert_true(waited < want[i] + 40 * GVT_SLOW);
    }
    assert_int_equal(K[1].starts, 1);
    gv_shutdown();
}

static void
test_backoff_starts_over_after_a_quiet_period(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 10, 150);
    sp.backoff_ms = 30;
    sp.backoff_max_ms = 1000;
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    const int64_t want[] = {30, 60, 30};
    for (size_t i = 0; i < NELEM(want); i++) {
        if (i == 2)
            gv_sleep(200); /* longer than the period */
        int64_t t0 = gv_now();
        assert_gv_ok(send_tag(0, TAG_CRASH));
        assert_gv_ok(wait_starts(0, (int)i + 2));
        int64_t waited = K[0].started_at - t0;
        assert_true(waited >= want[i] - 1);
        assert_true(waited < want[i] + 25 * GVT_SLOW);
    }
    gv_shutdown();
}

/* ---------------------------------------------------------- server kids */

static int srv_inits, srv_terms, srv_term_reason;

static int
srv_init(void *arg, void **statep)
{
    srv_inits++;
    gv_trap_exit(true);
    *statep = arg;
    gvt_trace("srv+");
    return 0;
}

static int
srv_cast(void *st, const gv_msg *m)
{
    (void)st;
    return m->tag == TAG_CRASH ? CRASH : 0;
}

static int
srv_call(void *st, const gv_msg *req, gv_msg *reply)
{
    (void)st;
    (void)req;
    return gv_reply_set(reply, 7, "pong", 4);
}

static void
srv_terminate(void *st, int reason)
{
    (void)st;
    srv_terms++;
    srv_term_reason = reason;
    gvt_trace("srv-%s", why(reason));
}

static const gv_server_ops srv_ops = {.init = srv_init,
                                      .handle_call = srv_call,
                                      .handle_cast = srv_cast,
                                      .terminate = srv_terminate};

static void
test_server_children_are_started_linked_and_restarted(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    srv_inits = srv_terms = 0;
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            {.name = "srv",
                             .server = &srv_ops,
                             .restart = GV_PERMANENT,
                             .shutdown_ms = 1000}};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    gv_id ids[2];
    assert_int_equal(gv_supervisor_children(sup, ids, 2, gv_deadline(WAIT_MS)),
                     2);
    gv_msg reply;
    assert_gv_ok(gv_call(ids[1], 1, NULL, 0, &reply, gv_deadline(WAIT_MS)));
    assert_int_equal(reply.tag, 7);
    gv_msg_free(&reply);
    /* a callback's error stops the server: restarted */
    assert_gv_ok(gv_cast(ids[1], TAG_CRASH, NULL, 0));
    int64_t end = gv_now() + WAIT_MS;
    while (srv_inits < 2 && gv_now() < end)
        gv_sleep(1);
    assert_int_equal(srv_inits, 2);
    assert_int_equal(settle(sup), 2);
    char out[1024];
    assert_gv_ok(print_to(sup, out, sizeof out));
    assert_string_equal(out, "s supervisor(one_for_one) <id> running "
                             "mailbox=0\n"
                             "  a worker <id> running mailbox=0\n"
                             "  srv server <id> running mailbox=0\n");
    /* shut down: the server's terminate sees GV_SHUTDOWN */
    assert_gv_ok(gv_exit_signal(sup, GV_SHUTDOWN));
    gv_id from;
    int reason;
    assert_gv_ok(recv_exit(&from, &reason, WAIT_MS));
    assert_int_equal(reason, GV_SHUTDOWN);
    assert_string_equal(gvt_trace_buf,
                        "a+ srv+ srv-crash srv+ srv-shut a-shut");
    assert_int_equal(srv_term_reason, GV_SHUTDOWN);
    gv_shutdown();
}

/* ------------------------------------------------------------- the calls */

static void *
return_at_once(void *arg)
{
    (void)arg;
    return NULL;
}

static void
test_calls_to_a_dead_supervisor_or_another_actor_fail(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    gv_id ids[1];
    assert_gv_err(gv_supervisor_children(sup, NULL, 1, GV_NOWAIT), GV_EINVAL);
    assert_gv_err(gv_supervisor_print(sup, NULL, GV_NOWAIT), GV_EINVAL);
    /* not a supervisor */
    assert_gv_err(gv_supervisor_children(K[0].id, ids, 1, GV_FOREVER),
                  GV_EINVAL);
    assert_gv_err(gv_supervisor_children(gv_self(), ids, 1, GV_FOREVER),
                  GV_EINVAL);
    assert_gv_ok(gv_exit_signal(sup, GV_SHUTDOWN));
    gv_id from;
    int reason;
    assert_gv_ok(recv_exit(&from, &reason, WAIT_MS));
    /* gone */
    assert_gv_err(gv_supervisor_children(sup, ids, 1, GV_FOREVER), GV_ENOENT);
    assert_gv_err(gv_supervisor_print(sup, stdout, GV_FOREVER), GV_ENOENT);
    assert_gv_err(gv_supervisor_start_child(sup, &kids[0], NULL, GV_FOREVER),
                  GV_ENOENT);
    assert_gv_err(gv_supervisor_terminate_child(sup, 1, GV_FOREVER), GV_ENOENT);
    gv_id t = gv_spawn(return_at_once, NULL);
    assert_gv_ok(gv_join(t, GV_FOREVER));
    assert_gv_err(gv_supervisor_children(t, ids, 1, GV_FOREVER), GV_ENOENT);
    gv_release(t);
    gv_shutdown();
}

static void *
crash_now(void *arg)
{
    (void)arg;
    gv_exit(CRASH, NULL);
}

static void
test_a_call_leaves_the_callers_mailbox_alone(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    gv_id t = gv_spawn_link(crash_now, NULL, NULL);
    assert_gv_id(t);
    assert_gv_ok(gv_send(gv_self(), 42, "hi", 2, GV_NOWAIT));
    assert_gv_ok(gv_join(t, GV_FOREVER)); /* its EXIT waits for main */
    assert_int_equal(settle(sup), 1);
    char out[512];
    assert_gv_ok(print_to(sup, out, sizeof out));
    gv_msg m;
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, GV_MSG_EXIT);
    assert_true(m.from == t);
    assert_int_equal(m.reason, CRASH);
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, 42);
    gv_msg_free(&m);
    assert_no_message();
    gv_release(t);
    gv_shutdown();
}

static gv_id victim;

static void *
kill_later(void *arg)
{
    (void)arg;
    gv_sleep(30);
    gv_kill(victim, GV_NOWAIT);
    return NULL;
}

static void
test_a_call_fails_instead_of_hanging_when_the_supervisor_dies(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT)};
    K[0].trap = 1; /* ignores GV_SHUTDOWN, and may take forever */
    kids[0].shutdown_ms = GV_FOREVER;
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    victim = sup;
    gv_id k = gv_spawn(kill_later, NULL);
    assert_gv_err(gv_supervisor_terminate_child(sup, K[0].id, GV_FOREVER),
                  GV_ENOENT);
    gv_id from;
    int reason;
    assert_gv_ok(recv_exit(&from, &reason, WAIT_MS));
    assert_true(from == sup);
    assert_int_equal(reason, GV_KILLED);
    /* a killed supervisor takes its children along */
    int64_t end = gv_now() + WAIT_MS;
    while (K[0].stops == 0 && gv_now() < end)
        gv_sleep(1);
    assert_int_equal(K[0].last_reason, GV_KILLED);
    gv_join(k, GV_FOREVER);
    gv_release(k);
    gv_shutdown();
}

static void
test_a_call_times_out_at_its_deadline(void **state)
{
    (void)state;
    reset();
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT)};
    K[0].trap = 1;
    kids[0].shutdown_ms = 150;
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ONE, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    assert_gv_id(sup);
    gv_id a = K[0].id;
    /* stopping a takes the supervisor 150 ms; the call gives up after 30,
     * the supervisor carries on */
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_supervisor_terminate_child(sup, a, gv_deadline(30)),
                  GV_ETIMEDOUT);
    assert_true(gvt_mono_ms() - t0 < 140);
    assert_int_equal(settle(sup), 0); /* served once a is gone */
    assert_true(gvt_mono_ms() - t0 >= 140);
    assert_int_equal(K[0].last_reason, GV_KILLED);
    gv_shutdown();
}

/* ------------------------------------------------------- out of memory */

static void
oom_round(void)
{
    gv_trap_exit(true);
    gv_child_spec kids[] = {kspec(0, "a", GV_PERMANENT),
                            kspec(1, "b", GV_PERMANENT)};
    gv_sup_spec sp = sspec("s", GV_ONE_FOR_ALL, 3, 1000);
    gv_id sup = gv_supervisor_start(&sp, kids, NELEM(kids));
    if (sup < 0)
        return;
    if (K[0].id > 0 && send_tag(0, TAG_CRASH) == 0)
        wait_starts(0, 2);
    gv_id ids[2];
    gv_supervisor_children(sup, ids, 2, gv_deadline(1000));
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull != NULL) {
        gv_supervisor_print(sup, devnull, gv_deadline(1000));
        fclose(devnull);
    }
    gv_exit_signal(sup, GV_SHUTDOWN);
    gv_id from;
    int reason;
    recv_exit(&from, &reason, 200);
}

static void
test_out_of_memory_is_an_error_never_a_crash_or_a_leak(void **state)
{
    (void)state;
    gv_shutdown();
    /* how many allocations a round makes */
    reset();
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    gvt_alloc_reset(0, 0);
    oom_round();
    gv_shutdown();
    long total = atomic_load(&gvt_alloc_st.attempts);
    assert_int_equal(gvt_alloc_live(), 0);
    assert_true(total > 10);
    for (long n = 1; n <= total; n++) {
        reset();
        gvt_alloc_reset(n, 0);
        oom_round();
        gv_shutdown();
        if (gvt_alloc_live() != 0)
            fail_msg("failing allocation %ld of %ld leaks %ld", n, total,
                     gvt_alloc_live());
    }
    assert_gv_ok(gv_set_allocator(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_children_start_in_order_and_are_listed_in_start_order),
        T(test_bad_specs_are_refused),
        T(test_a_child_that_fails_to_start_fails_the_start_and_stops_those_before),
        T(test_one_for_one_restarts_only_the_child_that_exited),
        T(test_one_for_all_stops_the_others_last_first_then_restarts_all_in_order),
        T(test_rest_for_one_restarts_the_child_and_those_started_after_it),
        T(test_restart_types_decide_which_exits_restart),
        T(test_a_temporary_sibling_stopped_by_one_for_all_is_not_restarted),
        T(test_crashes_spread_beyond_the_period_do_not_trip_the_intensity),
        T(test_one_restart_too_many_within_the_period_stops_all_and_exits_shutdown),
        T(test_max_restarts_zero_gives_up_at_the_first_exit),
        T(test_an_escalation_kills_a_parent_that_does_not_trap_exits),
        T(test_children_stop_last_first_with_their_shutdown_timeouts),
        T(test_a_supervisor_stops_its_children_when_its_parent_exits),
        T(test_simple_one_for_one_starts_children_from_the_template_with_their_args),
        T(test_simple_one_for_one_stops_its_children_all_at_once),
        T(test_terminate_child_stops_it_and_forgets_it),
        T(test_a_tree_prints_and_stops_depth_first),
        T(test_a_subtree_that_gives_up_is_restarted_by_its_parent),
        T(test_backoff_delays_restarts_doubling_up_to_the_max),
        T(test_backoff_starts_over_after_a_quiet_period),
        T(test_server_children_are_started_linked_and_restarted),
        T(test_calls_to_a_dead_supervisor_or_another_actor_fail),
        T(test_a_call_leaves_the_callers_mailbox_alone),
        T(test_a_call_fails_instead_of_hanging_when_the_supervisor_dies),
        T(test_a_call_times_out_at_its_deadline),
        T(test_out_of_memory_is_an_error_never_a_crash_or_a_leak),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
