/*
 * test_server.c — servers (gen_server): start and init, call/reply, cast,
 * handle_info, stopping and terminate, calls that must not hang (CAF
 * #442/#1466), deadlines and late replies, mailbox order, concurrent
 * callers, the registry, spawn options, out of memory.
 *
 * Callbacks and task bodies never assert (cmocka longjmps): they record
 * into the statics below and each test asserts on main's stack after the
 * calls and joins. Every test ends with gv_shutdown() (the teardown too).
 */
#include "gv_test.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SECONDS(n) gv_deadline((n)*1000 * GVT_SLOW)

/* --------------------------------------------------------- the echo server */

enum {
    OP_ECHO = 1,        /* reply: tag + 100, the same payload */
    OP_SLOW = 2,        /* sleeps the int ms in the payload, then echoes */
    OP_DIE = 3,         /* gv_exit(GV_EBUSY) inside handle_call */
    OP_STOP = 4,        /* replies, then asks to stop (GV_STOP) */
    OP_FAIL = 5,        /* replies, then stops with GV_EPERM */
    OP_SYNC = 6,        /* an empty reply: all sent before it is handled */
    OP_SEND_BACK = 7,   /* sends tags 1, 2, 3 to the caller, sleeps, replies */
    OP_SELF_CALL = 8,   /* gv_call of itself */
    OP_REPLY_TWICE = 9, /* gv_reply_set three times, the last from itself */
    OP_MONITOR = 10,    /* monitors the id in the payload */
};
enum { INFO_STOP = 50, INFO_FAIL = 51, CAST_FAIL = 60 };

static struct echo_state {
    int inits;
    void *seen_state;
    int calls;
    gv_id call_from;
    int reply_errors; /* gv_reply_set failures */
    int slow_rc;
    int self_call_rc;
    int casts;
    int cast_tags[64];
    size_t cast_lens[64];
    long cast_sum;
    gv_id cast_from;
    int infos;
    int info_tags[64];
    int info_reasons[64];
    gv_id info_from[64];
    int64_t info_refs[64];
    int64_t mon_ref;
    int terminates;
    int term_reason;
    void *term_state;
} E;

static void
reset_echo(void)
{
    memset(&E, 0, sizeof E);
    gvt_trace_reset();
}

static int
echo_init(void *arg, void **statep)
{
    E.inits++;
    *statep = arg;
    return 0;
}

static void
reply(gv_msg *r, int tag, const void *data, size_t len)
{
    if (gv_reply_set(r, tag, data, len) != 0)
        E.reply_errors++;
}

static int
echo_call(void *state, const gv_msg *req, gv_msg *r)
{
    E.seen_state = state;
    E.calls++;
    E.call_from = req->from;
    int ms = 0;
    switch (req->tag) {
    case OP_SLOW:
        if (req->len >= sizeof ms)
            memcpy(&ms, req->data, sizeof ms);
        E.slow_rc = gv_sleep(ms);
        reply(r, req->tag + 100, req->data, req->len);
        return 0;
    case OP_DIE:
        gv_exit(GV_EBUSY, "dies in handle_call");
    case OP_STOP:
        reply(r, req->tag + 100, req->data, req->len);
        return GV_STOP;
    case OP_FAIL:
        reply(r, req->tag + 100, req->data, req->len);
        return GV_EPERM;
    case OP_SYNC:
        return 0; /* left alone: an empty reply of tag 0 */
    case OP_SEND_BACK:
        for (int i = 1; i <= 3; i++)
            gv_send(req->from, i, &i, sizeof i, GV_NOWAIT);
        if (req->len >= sizeof ms)
            memcpy(&ms, req->data, sizeof ms);
        gv_sleep(ms);
        reply(r, req->tag + 100, NULL, 0);
        return 0;
    case OP_SELF_CALL: {
        gv_msg m;
        E.self_call_rc = gv_call(gv_self(), OP_SYNC, NULL, 0, &m, SECONDS(1));
        gv_msg_free(&m);
        reply(r, req->tag + 100, NULL, 0);
        return 0;
    }
    case OP_REPLY_TWICE: {
        unsigned char big[100];
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = (unsigned char)i;
        reply(r, 1, big, sizeof big);
        reply(r, 2, "small", 5);
        reply(r, 3, big, sizeof big);
        /* from its own payload: bytes 10..49 (if the last set worked) */
        if (r->len == sizeof big)
            reply(r, req->tag + 100, (const char *)r->data + 10, 40);
        return 0;
    }
    case OP_MONITOR: {
        gv_id target = 0;
        memcpy(&target, req->data, sizeof target);
        gv_monitor(target, &E.mon_ref);
        reply(r, req->tag + 100, NULL, 0);
        return 0;
    }
    default:
        reply(r, req->tag + 100, req->data, req->len);
        return 0;
    }
}

static int
echo_cast(void *state, const gv_msg *m)
{
    (void)state;
    if (E.casts < (int)NELEM(E.cast_tags)) {
        E.cast_tags[E.casts] = m->tag;
        E.cast_lens[E.casts] = m->len;
    }
    E.casts++;
    E.cast_from = m->from;
    const unsigned char *p = m->data;
    for (size_t i = 0; i < m->len; i++)
        E.cast_sum += p[i];
    return m->tag == CAST_FAIL ? GV_EBUSY : 0;
}

static int
echo_info(void *state, const gv_msg *m)
{
    (void)state;
    if (E.infos < (int)NELEM(E.info_tags)) {
        E.info_tags[E.infos] = m->tag;
        E.info_reasons[E.infos] = m->reason;
        E.info_from[E.infos] = m->from;
        E.info_refs[E.infos] = m->ref;
    }
    E.infos++;
    if (m->tag == INFO_STOP)
        return GV_STOP;
    if (m->tag == INFO_FAIL)
        return GV_EPERM;
    return 0;
}

static void
echo_terminate(void *state, int reason)
{
    E.terminates++;
    E.term_reason = reason;
    E.term_state = state;
}

static const gv_server_ops echo_ops = {
    .init = echo_init,
    .handle_call = echo_call,
    .handle_cast = echo_cast,
    .handle_info = echo_info,
    .terminate = echo_terminate,
};

static int state_token; /* the echo server's state is &state_token */

static gv_id
start_echo(void)
{
    return gv_server_start(&echo_ops, &state_token, NULL);
}

/* sync makes sure the server has handled all that main sent before. */
static int
sync_server(gv_id id)
{
    gv_msg r;
    int rc = gv_call(id, OP_SYNC, NULL, 0, &r, SECONDS(5));
    gv_msg_free(&r);
    return rc;
}

/* live_tasks counts task records, once the finished ones are reclaimed
 * (a finished task's record may wait for the next switch). */
static uint64_t
live_tasks(void)
{
    gv_sleep(1);
    gv_stats st;
    gv_get_stats(&st);
    return st.live_tasks;
}

/* ------------------------------------------------------------ call, reply */

static void
test_call_round_trips_small_and_large_payloads(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    assert_int_equal(E.inits, 1);

    /* around each inline limit (48 bytes with the trailers) and far past */
    static const size_t sizes[] = {0,  1,  8,  19, 20,  21,   31,    32,
                                   33, 47, 48, 49, 100, 1000, 100000};
    static unsigned char out[100000];
    for (size_t k = 0; k < NELEM(sizes); k++) {
        size_t n = sizes[k];
        for (size_t i = 0; i < n; i++)
            out[i] = (unsigned char)(i * 7 + k);
        gv_msg r;
        assert_gv_ok(gv_call(id, 40 + (int)k, out, n, &r, SECONDS(5)));
        assert_int_equal(r.tag, 140 + (int)k);
        assert_int_equal(r.len, n);
        assert_int_equal(r.from, id);
        assert_int_equal(r.reason, 0);
        if (n == 0) {
            assert_null(r.data);
        } else {
            assert_non_null(r.data);
            assert_memory_equal(r.data, out, n);
        }
        if (n <= GV_MSG_INLINE - 16) /* a reply's trailer is 16 bytes */
            assert_ptr_equal(r.data, n ? (void *)r.buf : NULL);
        gv_msg_free(&r);
        gv_msg_free(&r); /* twice is fine */
    }
    assert_int_equal(E.calls, (int)NELEM(sizes));
    assert_int_equal(E.call_from, gv_self());
    assert_ptr_equal(E.seen_state, &state_token);
    assert_int_equal(E.reply_errors, 0);

    /* handle_call that leaves the reply alone: an empty reply of tag 0 */
    gv_msg r;
    assert_gv_ok(gv_call(id, OP_SYNC, "x", 1, &r, SECONDS(5)));
    assert_int_equal(r.tag, 0);
    assert_int_equal(r.len, 0);
    assert_null(r.data);
    gv_msg_free(&r);

    /* the server goes on: it has not exited */
    assert_false(gv_ready(id));
    assert_int_equal(gv_exit_reason(id), 1);
    assert_int_equal(E.terminates, 0);
    assert_gv_ok(gv_kill(id, SECONDS(5)));
    assert_gv_ok(gv_release(id));
    gv_shutdown();
}

static void
test_reply_set_replaces_the_previous_reply_without_leaking(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    gv_msg r;
    assert_gv_ok(gv_call(id, OP_REPLY_TWICE, NULL, 0, &r, SECONDS(5)));
    assert_int_equal(r.tag, OP_REPLY_TWICE + 100);
    assert_int_equal(r.len, 40);
    unsigned char want[40];
    for (int i = 0; i < 40; i++)
        want[i] = (unsigned char)(10 + i);
    assert_memory_equal(r.data, want, 40);
    gv_msg_free(&r);
    assert_int_equal(E.reply_errors, 0);

    /* bad arguments */
    gv_msg m;
    memset(&m, 0, sizeof m);
    assert_gv_err(gv_reply_set(NULL, 1, "x", 1), GV_EINVAL);
    assert_gv_err(gv_reply_set(&m, -1, "x", 1), GV_EINVAL);
    assert_gv_err(gv_reply_set(&m, 1, NULL, 1), GV_EINVAL);
    assert_gv_ok(gv_reply_set(&m, 1, NULL, 0));
    assert_null(m.data);
    assert_gv_ok(gv_reply_set(&m, 2, want, sizeof want));
    assert_int_equal(m.tag, 2);
    gv_msg_free(&m);
    assert_gv_ok(gv_kill(id, SECONDS(5)));
    gv_release(id);
    gv_shutdown();
}

/* ------------------------------------------------------------------ casts */

static void
test_casts_reach_handle_cast_in_order(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    unsigned char one = 1, big[1000];
    memset(big, 2, sizeof big);
    assert_gv_ok(gv_cast(id, 7, &one, 1));
    assert_gv_ok(gv_cast(id, 8, NULL, 0));
    assert_gv_ok(gv_cast(id, 9, big, sizeof big));
    assert_gv_ok(gv_cast(id, 10, big, 44)); /* the inline limit for casts */
    assert_gv_ok(sync_server(id));
    assert_int_equal(E.casts, 4);
    assert_int_equal(E.cast_tags[0], 7);
    assert_int_equal(E.cast_tags[1], 8);
    assert_int_equal(E.cast_tags[2], 9);
    assert_int_equal(E.cast_tags[3], 10);
    assert_int_equal(E.cast_lens[0], 1);
    assert_int_equal(E.cast_lens[1], 0);
    assert_int_equal(E.cast_lens[2], sizeof big);
    assert_int_equal(E.cast_lens[3], 44);
    assert_int_equal(E.cast_sum, 1 + 2 * 1000 + 2 * 44);
    assert_int_equal(E.cast_from, gv_self());
    assert_int_equal(E.infos, 0); /* none went to handle_info */

    assert_gv_err(gv_cast(id, -1, NULL, 0), GV_EINVAL);
    assert_gv_err(gv_cast(id, 1, NULL, 3), GV_EINVAL);
    assert_gv_ok(gv_kill(id, SECONDS(5)));
    assert_gv_err(gv_cast(id, 1, NULL, 0), GV_ENOENT);
    gv_release(id);
    gv_shutdown();
}

static gv_id foreign_target;
static int foreign_rc = 1;

static void *
foreign_cast(void *arg)
{
    (void)arg;
    int x = 0x01010101;
    foreign_rc = gv_cast(foreign_target, 77, &x, sizeof x);
    return NULL;
}

static void
test_a_thread_grove_does_not_run_can_cast(void **state)
{
    (void)state;
    reset_echo();
    assert_gv_id(foreign_target = start_echo());
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, foreign_cast, NULL), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_gv_ok(foreign_rc);
    for (int i = 0; i < 2000 && E.casts == 0; i++)
        gv_sleep(1);
    assert_int_equal(E.casts, 1);
    assert_int_equal(E.cast_tags[0], 77);
    assert_int_equal(E.cast_sum, 4);
    assert_int_equal(E.cast_from, 0); /* from a foreign thread */
    gv_kill(foreign_target, SECONDS(5));
    gv_release(foreign_target);
    gv_shutdown();
}

/* ------------------------------------------------------------ handle_info */

static void *
sleep_then_return(void *arg)
{
    gv_sleep((int64_t)(intptr_t)arg);
    return NULL;
}

static void
test_plain_sends_and_downs_go_to_handle_info(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    unsigned char junk[40];
    memset(junk, 0x5a, sizeof junk);
    assert_gv_ok(gv_send(id, 3, "x", 1, GV_NOWAIT));
    /* a user's own message with any tag is not taken for a call or cast */
    assert_gv_ok(gv_send(id, INT_MAX, junk, sizeof junk, GV_NOWAIT));
    assert_gv_ok(gv_send(id, INT_MAX - 1, junk, sizeof junk, GV_NOWAIT));
    assert_gv_ok(gv_send(id, INT_MAX - 2, junk, 4, GV_NOWAIT));
    assert_gv_ok(gv_send(id, INT_MAX, NULL, 0, GV_NOWAIT));

    /* a DOWN for a monitor the server holds */
    gv_id t;
    assert_gv_id(t = gv_spawn(sleep_then_return, (void *)(intptr_t)5));
    gv_msg r;
    assert_gv_ok(gv_call(id, OP_MONITOR, &t, sizeof t, &r, SECONDS(5)));
    gv_msg_free(&r);
    assert_gv_ok(gv_join(t, SECONDS(5)));
    assert_gv_ok(sync_server(id));

    assert_int_equal(E.calls, 2);
    assert_int_equal(E.casts, 0);
    assert_int_equal(E.infos, 6);
    assert_int_equal(E.info_tags[0], 3);
    assert_int_equal(E.info_tags[1], INT_MAX);
    assert_int_equal(E.info_tags[2], INT_MAX - 1);
    assert_int_equal(E.info_tags[3], INT_MAX - 2);
    assert_int_equal(E.info_tags[4], INT_MAX);
    assert_int_equal(E.info_from[0], gv_self());
    assert_int_equal(E.info_tags[5], GV_MSG_DOWN);
    assert_int_equal(E.info_from[5], t);
    assert_int_equal(E.info_reasons[5], GV_NORMAL);
    assert_int_equal(E.info_refs[5], E.mon_ref);
    gv_release(t);
    assert_gv_ok(gv_kill(id, SECONDS(5)));
    gv_release(id);
    gv_shutdown();
}

/* ---------------------------------------------------------------- init */

static int
init_fails(void *arg, void **statep)
{
    (void)statep;
    E.inits++;
    return (int)(intptr_t)arg;
}

static int
init_exits(void *arg, void **statep)
{
    (void)arg;
    (void)statep;
    E.inits++;
    gv_exit(GV_EBUSY, "init gives up");
}

static void
test_init_failure_is_what_start_returns(void **state)
{
    (void)state;
    reset_echo();
    uint64_t before = live_tasks();
    gv_server_ops ops = echo_ops; /* a local copy: start copies it */
    ops.init = init_fails;
    assert_gv_err(gv_server_start(&ops, (void *)(intptr_t)GV_EPERM, NULL),
                  GV_EPERM);
    /* GV_STOP from init: no server */
    assert_gv_err(gv_server_start(&ops, (void *)(intptr_t)GV_STOP, NULL),
                  GV_ENOENT);
    ops.init = init_exits;
    assert_gv_err(gv_server_start(&ops, NULL, NULL), GV_EBUSY);
    assert_int_equal(E.inits, 3);
    assert_int_equal(E.terminates, 0); /* not after a failed init */
    /* the failed servers have exited and their records are gone */
    assert_int_equal(live_tasks(), before);

    assert_gv_err(gv_server_start(NULL, NULL, NULL), GV_EINVAL);
    gv_shutdown();
}

static void
test_without_init_the_state_is_arg(void **state)
{
    (void)state;
    reset_echo();
    gv_server_ops ops = {.handle_call = echo_call};
    int token;
    gv_id id;
    assert_gv_id(id = gv_server_start(&ops, &token, NULL));
    assert_gv_ok(sync_server(id));
    assert_ptr_equal(E.seen_state, &token);
    assert_int_equal(E.inits, 0);
    /* no handle_cast, no handle_info: dropped; no terminate: fine */
    assert_gv_ok(gv_cast(id, 1, NULL, 0));
    assert_gv_ok(gv_send(id, 1, NULL, 0, GV_NOWAIT));
    gv_msg r;
    assert_gv_ok(gv_call(id, OP_STOP, NULL, 0, &r, SECONDS(5)));
    assert_int_equal(r.tag, OP_STOP + 100);
    gv_msg_free(&r);
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(gv_exit_reason(id), GV_NORMAL);
    gv_release(id);
    gv_shutdown();
}

static void
test_a_call_without_handle_call_is_einval_and_the_server_goes_on(void **state)
{
    (void)state;
    reset_echo();
    gv_server_ops ops = {.handle_cast = echo_cast};
    gv_id id;
    assert_gv_id(id = gv_server_start(&ops, NULL, NULL));
    gv_msg r;
    assert_gv_err(gv_call(id, 1, "abc", 3, &r, SECONDS(5)), GV_EINVAL);
    gv_msg_free(&r);
    assert_gv_ok(gv_cast(id, 2, NULL, 0));
    assert_gv_err(gv_call(id, 1, NULL, 0, &r, SECONDS(5)), GV_EINVAL);
    assert_int_equal(E.casts, 1);
    assert_false(gv_ready(id));
    assert_gv_ok(gv_kill(id, SECONDS(5)));
    gv_release(id);
    gv_shutdown();
}

/* --------------------------------------------------- stopping, terminate */

static void
test_gv_stop_from_handle_call_replies_then_terminates_normally(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    gv_msg r;
    assert_gv_ok(gv_call(id, OP_STOP, "bye", 3, &r, SECONDS(5)));
    assert_int_equal(r.tag, OP_STOP + 100);
    assert_memory_equal(r.data, "bye", 3);
    gv_msg_free(&r);
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(E.terminates, 1);
    assert_int_equal(E.term_reason, GV_NORMAL);
    assert_ptr_equal(E.term_state, &state_token);
    assert_int_equal(gv_exit_reason(id), GV_NORMAL);
    assert_true(gv_successful(id));
    gv_release(id);
    gv_shutdown();
}

static void
test_a_negative_verdict_stops_the_server_with_that_reason(void **state)
{
    (void)state;
    reset_echo();
    /* from handle_call: the reply still goes out */
    gv_id id;
    assert_gv_id(id = start_echo());
    gv_msg r;
    assert_gv_ok(gv_call(id, OP_FAIL, NULL, 0, &r, SECONDS(5)));
    assert_int_equal(r.tag, OP_FAIL + 100);
    gv_msg_free(&r);
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(E.terminates, 1);
    assert_int_equal(E.term_reason, GV_EPERM);
    assert_int_equal(gv_exit_reason(id), GV_EPERM);
    assert_int_equal(gv_error(id), GV_EPERM);
    assert_false(gv_successful(id));
    gv_release(id);

    /* from handle_cast */
    reset_echo();
    assert_gv_id(id = start_echo());
    assert_gv_ok(gv_cast(id, CAST_FAIL, NULL, 0));
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(E.terminates, 1);
    assert_int_equal(E.term_reason, GV_EBUSY);
    assert_int_equal(gv_exit_reason(id), GV_EBUSY);
    gv_release(id);

    /* from handle_info, and GV_STOP from handle_info */
    reset_echo();
    assert_gv_id(id = start_echo());
    assert_gv_ok(gv_send(id, INFO_FAIL, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(E.term_reason, GV_EPERM);
    assert_int_equal(gv_exit_reason(id), GV_EPERM);
    gv_release(id);
    reset_echo();
    assert_gv_id(id = start_echo());
    assert_gv_ok(gv_send(id, INFO_STOP, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(E.terminates, 1);
    assert_int_equal(E.term_reason, GV_NORMAL);
    assert_int_equal(gv_exit_reason(id), GV_NORMAL);
    gv_release(id);
    gv_shutdown();
}

static int
trapping_init(void *arg, void **statep)
{
    E.inits++;
    gv_trap_exit(true);
    *statep = arg;
    return 0;
}

static gv_id signal_target;

static void *
send_shutdown_signal(void *arg)
{
    (void)arg;
    gv_exit_signal(signal_target, GV_SHUTDOWN);
    return NULL;
}

static void
test_shutdown_from_the_parent_runs_terminate_when_trapping_exits(void **state)
{
    (void)state;
    reset_echo();
    gv_server_ops ops = echo_ops;
    ops.init = trapping_init;
    gv_id id;
    assert_gv_id(id = gv_server_start(&ops, &state_token, NULL));

    /* from someone else than the parent: just a message */
    signal_target = id;
    gv_id t;
    assert_gv_id(t = gv_spawn(send_shutdown_signal, NULL));
    assert_gv_ok(gv_join(t, SECONDS(5)));
    assert_gv_ok(sync_server(id));
    assert_int_equal(E.infos, 1);
    assert_int_equal(E.info_tags[0], GV_MSG_EXIT);
    assert_int_equal(E.info_from[0], t);
    assert_int_equal(E.info_reasons[0], GV_SHUTDOWN);
    assert_int_equal(E.terminates, 0);
    assert_false(gv_ready(id));
    gv_release(t);

    /* from the parent (main started it): terminate, then exit */
    assert_gv_ok(gv_exit_signal(id, GV_SHUTDOWN));
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(E.terminates, 1);
    assert_int_equal(E.term_reason, GV_SHUTDOWN);
    assert_int_equal(gv_exit_reason(id), GV_SHUTDOWN);
    assert_int_equal(E.infos, 1);
    gv_release(id);
    gv_shutdown();
}

static gv_id linked_child;
static int linked_start_rc = 1;

/* starts a trapping server, links to it and fails */
static void *
failing_parent(void *arg)
{
    (void)arg;
    gv_server_ops ops = echo_ops;
    ops.init = trapping_init;
    linked_child = gv_server_start(&ops, &state_token, NULL);
    if (linked_child < 0) {
        linked_start_rc = (int)linked_child;
        return NULL;
    }
    linked_start_rc = gv_link(linked_child);
    gv_exit(GV_EPERM, "the parent fails");
}

static void
test_a_trapping_server_stops_with_its_linked_parents_reason(void **state)
{
    (void)state;
    reset_echo();
    gv_id p;
    assert_gv_id(p = gv_spawn(failing_parent, NULL));
    assert_gv_ok(gv_join(p, SECONDS(5)));
    assert_gv_ok(linked_start_rc);
    assert_gv_ok(gv_join(linked_child, SECONDS(5)));
    assert_int_equal(E.terminates, 1);
    assert_int_equal(E.term_reason, GV_EPERM);
    assert_int_equal(gv_exit_reason(linked_child), GV_EPERM);
    assert_int_equal(E.infos, 0);
    gv_release(linked_child);
    gv_release(p);
    gv_shutdown();
}

static void
test_a_server_not_trapping_exits_dies_without_terminate(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    assert_gv_ok(gv_exit_signal(id, GV_SHUTDOWN));
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(gv_exit_reason(id), GV_SHUTDOWN);
    assert_int_equal(E.terminates, 0);
    gv_release(id);

    assert_gv_id(id = start_echo());
    assert_gv_ok(gv_kill(id, SECONDS(5)));
    assert_int_equal(gv_exit_reason(id), GV_KILLED);
    assert_int_equal(E.terminates, 0);
    gv_release(id);
    gv_shutdown();
}

/* ------------------------------------------- calls that must not hang */

static void
test_a_call_whose_server_dies_before_replying_is_enoent(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    uint64_t before = live_tasks();
    int64_t t0 = gvt_mono_ms();
    gv_msg r;
    assert_gv_err(gv_call(id, OP_DIE, "x", 1, &r, gv_deadline(60000)),
                  GV_ENOENT);
    assert_true(gvt_mono_ms() - t0 < 2000 * GVT_SLOW);
    assert_int_equal(r.reason, GV_EBUSY); /* its exit reason */
    assert_null(r.data);
    gv_msg_free(&r);
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(gv_exit_reason(id), GV_EBUSY);
    assert_int_equal(E.terminates, 0); /* left by gv_exit */
    gv_release(id);
    assert_int_equal(live_tasks(), before - 1); /* no proxy left behind */
    gv_shutdown();
}

static gv_id busy_server;
static int queued_rc[2], queued_reason[2];

static void *
queued_caller(void *arg)
{
    int i = (int)(intptr_t)arg;
    int ms = 10000;
    gv_msg r;
    queued_rc[i] = gv_call(busy_server, i == 0 ? OP_SLOW : OP_ECHO, &ms,
                           sizeof ms, &r, gv_deadline(60000));
    queued_reason[i] = r.reason;
    gv_msg_free(&r);
    return NULL;
}

static void
test_calls_in_progress_and_queued_fail_when_the_server_is_killed(void **state)
{
    (void)state;
    reset_echo();
    assert_gv_id(busy_server = start_echo());
    gv_id c[2];
    assert_gv_id(c[0] = gv_spawn(queued_caller, (void *)(intptr_t)0));
    assert_gv_id(c[1] = gv_spawn(queued_caller, (void *)(intptr_t)1));
    gv_sleep(20); /* the first call sleeps in handle_call, the second waits */
    int64_t t0 = gvt_mono_ms();
    assert_gv_ok(gv_kill(busy_server, SECONDS(5)));
    assert_int_equal(gv_joinall(c, 2, 0, SECONDS(5)), 2);
    assert_true(gvt_mono_ms() - t0 < 2000 * GVT_SLOW);
    assert_gv_err(queued_rc[0], GV_ENOENT);
    assert_gv_err(queued_rc[1], GV_ENOENT);
    assert_int_equal(queued_reason[0], GV_KILLED);
    assert_int_equal(queued_reason[1], GV_KILLED);
    assert_gv_err(E.slow_rc, GV_ECANCELED);
    assert_int_equal(E.calls, 1);
    gv_release(c[0]);
    gv_release(c[1]);
    gv_release(busy_server);
    gv_shutdown();
}

static void *
return_at_once(void *arg)
{
    return arg;
}

static void
test_a_call_to_a_dead_or_unknown_id_is_enoent(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    gv_msg r;
    assert_gv_ok(gv_call(id, OP_STOP, NULL, 0, &r, SECONDS(5)));
    gv_msg_free(&r);
    assert_gv_ok(gv_join(id, SECONDS(5)));
    uint64_t before = live_tasks();
    /* finished, record still held */
    assert_gv_err(gv_call(id, OP_ECHO, "x", 1, &r, SECONDS(5)), GV_ENOENT);
    assert_int_equal(r.reason, GV_ENOENT);
    gv_msg_free(&r);
    /* stale */
    gv_release(id);
    assert_gv_err(gv_call(id, OP_ECHO, "x", 1, &r, SECONDS(5)), GV_ENOENT);
    assert_int_equal(r.reason, GV_ENOENT);
    /* a plain task that has finished, and ids that never were */
    gv_id t;
    assert_gv_id(t = gv_spawn(return_at_once, NULL));
    assert_gv_ok(gv_join(t, SECONDS(5)));
    assert_gv_err(gv_call(t, 1, NULL, 0, &r, SECONDS(5)), GV_ENOENT);
    gv_release(t);
    assert_gv_err(gv_call(0, 1, NULL, 0, &r, SECONDS(5)), GV_ENOENT);
    assert_int_equal(r.reason, GV_ENOENT);
    assert_gv_err(gv_call(GV_ENOMEM, 1, NULL, 0, &r, SECONDS(5)), GV_ENOENT);
    assert_int_equal(live_tasks(), before - 1);
    gv_shutdown();
}

/* a plain actor that never answers: the call can only time out */
static void *
mute_actor(void *arg)
{
    (void)arg;
    gv_msg m;
    while (gv_recv(&m, GV_FOREVER) == 0)
        gv_msg_free(&m);
    return NULL;
}

static void
test_a_call_past_its_deadline_times_out_and_the_late_reply_is_lost(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    int ms = 200;
    gv_msg r;
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_call(id, OP_SLOW, &ms, sizeof ms, &r, gv_deadline(30)),
                  GV_ETIMEDOUT);
    int64_t took = gvt_mono_ms() - t0;
    assert_true(took >= 25);
    assert_true(took < 150 * GVT_SLOW);
    gv_msg_free(&r);

    /* the next call gets its own reply, not the late one */
    assert_gv_ok(gv_call(id, OP_ECHO, "next", 4, &r, SECONDS(5)));
    assert_int_equal(r.tag, OP_ECHO + 100);
    assert_int_equal(r.len, 4);
    assert_memory_equal(r.data, "next", 4);
    gv_msg_free(&r);
    assert_int_equal(E.calls, 2);
    assert_gv_ok(E.slow_rc); /* the slow call did finish, too late */

    /* nothing stray landed in the caller's mailbox */
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(gv_self(), &info));
    assert_int_equal(info.len, 0);
    assert_int_equal(info.system_len, 0);

    /* a timeout scope bounds a call as well */
    gv_timeout to;
    assert_gv_ok(gv_timeout_start(&to, 30));
    assert_gv_err(gv_call(id, OP_SLOW, &ms, sizeof ms, &r, GV_FOREVER),
                  GV_ETIMEDOUT);
    assert_true(gv_timeout_expired(&to));
    assert_gv_ok(gv_timeout_cancel(&to));
    assert_gv_ok(sync_server(id));

    /* a callee that never answers */
    gv_id mute;
    assert_gv_id(mute = gv_spawn(mute_actor, NULL));
    assert_gv_err(gv_call(mute, 1, "x", 1, &r, gv_deadline(20)), GV_ETIMEDOUT);
    assert_gv_ok(gv_kill(mute, SECONDS(5)));
    gv_release(mute);

    assert_gv_ok(gv_kill(id, SECONDS(5)));
    gv_release(id);
    gv_shutdown();
}

static void *
sleep_then_fail(void *arg)
{
    gv_sleep((int64_t)(intptr_t)arg);
    gv_exit(GV_EPERM, "linked task fails");
}

static void
test_the_callers_mailbox_keeps_its_messages_and_order_across_a_call(
    void **state)
{
    (void)state;
    reset_echo();
    gv_id id, me = gv_self();
    assert_gv_id(id = start_echo());
    /* mail already there */
    int v = 10;
    assert_gv_ok(gv_send(me, 10, &v, sizeof v, GV_NOWAIT));
    v = 11;
    assert_gv_ok(gv_send(me, 11, &v, sizeof v, GV_NOWAIT));
    /* system messages that arrive during the call: an EXIT (trapped) from
     * a linked task and a DOWN from a monitored one */
    assert_int_equal(gv_trap_exit(true), 0);
    gv_id linked, watched;
    int64_t ref;
    assert_gv_id(linked =
                     gv_spawn_link(sleep_then_fail, (void *)(intptr_t)5, NULL));
    assert_gv_id(watched = gv_spawn_monitor(sleep_then_return,
                                            (void *)(intptr_t)5, NULL, &ref));
    /* the server sends 1, 2, 3 to the caller and replies 30 ms later */
    int ms = 30;
    gv_msg r;
    assert_gv_ok(gv_call(id, OP_SEND_BACK, &ms, sizeof ms, &r, SECONDS(5)));
    assert_int_equal(r.tag, OP_SEND_BACK + 100);
    gv_msg_free(&r);

    gv_msg m;
    int got_exit = 0, got_down = 0;
    for (int i = 0; i < 2; i++) { /* the system lane comes first */
        assert_gv_ok(gv_recv(&m, GV_NOWAIT));
        if (m.tag == GV_MSG_EXIT) {
            got_exit++;
            assert_int_equal(m.from, linked);
            assert_int_equal(m.reason, GV_EPERM);
        } else {
            assert_int_equal(m.tag, GV_MSG_DOWN);
            got_down++;
            assert_int_equal(m.from, watched);
            assert_int_equal(m.ref, ref);
            assert_int_equal(m.reason, GV_NORMAL);
        }
        gv_msg_free(&m);
    }
    assert_int_equal(got_exit, 1);
    assert_int_equal(got_down, 1);
    static const int order[] = {10, 11, 1, 2, 3};
    for (size_t i = 0; i < NELEM(order); i++) {
        assert_gv_ok(gv_recv(&m, GV_NOWAIT));
        assert_int_equal(m.tag, order[i]);
        gv_msg_free(&m);
    }
    assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);
    gv_trap_exit(false);
    gv_release(linked);
    gv_release(watched);
    assert_gv_ok(gv_kill(id, SECONDS(5)));
    gv_release(id);
    gv_shutdown();
}

/* ---------------------------------------------------- concurrent callers */

#define NCALLERS 8
#define NCALLS 25

static gv_id shared_server;
static int caller_errors[NCALLERS];
static int caller_ok[NCALLERS];

static void *
busy_caller(void *arg)
{
    int me = (int)(intptr_t)arg;
    unsigned char buf[300];
    for (int k = 0; k < NCALLS; k++) {
        size_t n = (k % 3 == 0) ? sizeof buf : 8;
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)(me * 31 + k + i);
        gv_msg r;
        int tag = 1000 + me * 1000 + k;
        int rc = gv_call(shared_server, tag, buf, n, &r, SECONDS(10));
        if (rc != 0 || r.tag != tag + 100 || r.len != n ||
            memcmp(r.data, buf, n) != 0 || r.from != shared_server)
            caller_errors[me]++;
        else
            caller_ok[me]++;
        gv_msg_free(&r);
        if (k % 4 == 0)
            gv_sleep(0);
    }
    return NULL;
}

static void
run_concurrent_callers(void)
{
    memset(caller_errors, 0, sizeof caller_errors);
    memset(caller_ok, 0, sizeof caller_ok);
    assert_gv_id(shared_server = start_echo());
    gv_id ids[NCALLERS];
    for (int i = 0; i < NCALLERS; i++) {
        /* half of them compact: a call hands the proxy no stack pointer */
        gv_spawn_opts o = {.flags = i % 2 ? GV_SPAWN_COMPACT : 0};
        assert_gv_id(ids[i] =
                         gv_spawn_ex(busy_caller, (void *)(intptr_t)i, &o));
    }
    assert_int_equal(gv_joinall(ids, NCALLERS, 0, SECONDS(30)), NCALLERS);
    for (int i = 0; i < NCALLERS; i++) {
        assert_int_equal(caller_errors[i], 0);
        assert_int_equal(caller_ok[i], NCALLS);
        gv_release(ids[i]);
    }
    assert_int_equal(E.calls, NCALLERS * NCALLS);
    assert_gv_ok(gv_kill(shared_server, SECONDS(5)));
    gv_release(shared_server);
}

static void
test_concurrent_callers_each_get_their_own_reply(void **state)
{
    (void)state;
    reset_echo();
    run_concurrent_callers();
    gv_shutdown();
}

static void
test_calls_work_when_every_task_is_compact(void **state)
{
    (void)state;
    reset_echo();
    assert_gv_ok(gv_set_compact(true));
    run_concurrent_callers();
    gv_set_compact(false);
    gv_shutdown();
}

/* ------------------------------------------------- registry, options */

static int
registering_init(void *arg, void **statep)
{
    E.inits++;
    *statep = arg;
    return gv_register("echo", gv_self());
}

static void
test_a_server_registered_by_name_is_found_with_whereis(void **state)
{
    (void)state;
    reset_echo();
    gv_server_ops ops = echo_ops;
    ops.init = registering_init;
    gv_id id;
    assert_gv_id(id = gv_server_start(&ops, &state_token, NULL));
    assert_int_equal(gv_whereis("echo"), id);
    /* a second one cannot take the name: its init fails */
    assert_gv_err(gv_server_start(&ops, &state_token, NULL), GV_EEXIST);
    gv_msg r;
    assert_gv_ok(gv_call(gv_whereis("echo"), OP_ECHO, "hi", 2, &r, SECONDS(5)));
    assert_memory_equal(r.data, "hi", 2);
    assert_int_equal(r.from, id);
    gv_msg_free(&r);
    assert_gv_ok(gv_cast(gv_whereis("echo"), 5, NULL, 0));
    assert_gv_ok(gv_call(gv_whereis("echo"), OP_STOP, NULL, 0, &r, SECONDS(5)));
    gv_msg_free(&r);
    assert_gv_ok(gv_join(id, SECONDS(5)));
    assert_int_equal(E.casts, 1);
    assert_gv_err(gv_whereis("echo"), GV_ENOENT); /* released at exit */
    gv_release(id);
    gv_shutdown();
}

static void
test_start_applies_the_spawn_options(void **state)
{
    (void)state;
    reset_echo();
    gv_spawn_opts o = {
        .name = "echo-server",
        .stack_size = 64 * 1024,
        .flags = GV_SPAWN_UNSTARTED | GV_SPAWN_COMPACT, /* started anyway */
        .mailbox_capacity = 4,
        .overflow = GV_OVERFLOW_FAIL,
    };
    gv_id id;
    assert_gv_id(id = gv_server_start(&echo_ops, &state_token, &o));
    assert_true(gv_started(id));
    assert_string_equal(gv_name(id), "echo-server");
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(id, &info));
    assert_int_equal(info.capacity, 4);
    assert_int_equal(info.overflow, GV_OVERFLOW_FAIL);
    /* calls and casts obey the server's mailbox policy */
    for (int i = 0; i < 4; i++)
        assert_gv_ok(gv_cast(id, i, NULL, 0));
    assert_gv_err(gv_cast(id, 9, NULL, 0), GV_EFULL);
    gv_msg r;
    assert_gv_err(gv_call(id, OP_ECHO, NULL, 0, &r, SECONDS(5)), GV_EFULL);
    gv_sleep(0);                   /* the server empties its mailbox */
    assert_gv_ok(sync_server(id)); /* room again */
    assert_int_equal(E.casts, 4);
    /* a compact server with a big payload */
    static unsigned char big[5000];
    memset(big, 0xab, sizeof big);
    assert_gv_ok(gv_call(id, OP_ECHO, big, sizeof big, &r, SECONDS(5)));
    assert_int_equal(r.len, sizeof big);
    assert_memory_equal(r.data, big, sizeof big);
    gv_msg_free(&r);
    assert_gv_ok(gv_kill(id, SECONDS(5)));
    gv_release(id);
    gv_shutdown();
}

static void
test_invalid_calls(void **state)
{
    (void)state;
    reset_echo();
    gv_id id;
    assert_gv_id(id = start_echo());
    gv_msg r;
    assert_gv_err(gv_call(id, 1, NULL, 0, NULL, SECONDS(1)), GV_EINVAL);
    assert_gv_err(gv_call(id, -1, NULL, 0, &r, SECONDS(1)), GV_EINVAL);
    assert_gv_err(gv_call(id, 1, NULL, 4, &r, SECONDS(1)), GV_EINVAL);
    /* calling oneself could only time out */
    assert_gv_err(gv_call(gv_self(), 1, NULL, 0, &r, SECONDS(1)), GV_EDEADLK);
    assert_gv_ok(gv_call(id, OP_SELF_CALL, NULL, 0, &r, SECONDS(5)));
    gv_msg_free(&r);
    assert_gv_err(E.self_call_rc, GV_EDEADLK);
    assert_int_equal(E.calls, 1);
    assert_gv_ok(gv_kill(id, SECONDS(5)));
    gv_release(id);
    gv_shutdown();
}

/* ---------------------------------------------- a starter that is killed */

static gv_id slow_init_server;
static int slow_init_sleep_rc = 1;
static int starter_rc = 1;
static int starter_ran;

static int
slow_init(void *arg, void **statep)
{
    (void)arg;
    (void)statep;
    slow_init_server = gv_self();
    slow_init_sleep_rc = gv_sleep(10000);
    return 0; /* ignores the kill: the server must still not start */
}

static void *
starter(void *arg)
{
    (void)arg;
    gv_server_ops ops = echo_ops;
    ops.init = slow_init;
    starter_ran++;
    starter_rc = (int)gv_server_start(&ops, NULL, NULL);
    return NULL;
}

static void
test_a_killed_starter_takes_the_server_down_with_it(void **state)
{
    (void)state;
    reset_echo();
    uint64_t before = live_tasks();
    gv_id t;
    assert_gv_id(t = gv_spawn(starter, NULL));
    gv_sleep(20);
    assert_int_equal(starter_ran, 1);
    assert_true(slow_init_server > 0);
    assert_gv_ok(gv_kill(t, SECONDS(5)));
    assert_gv_err(starter_rc, GV_ECANCELED);
    gv_sleep(5);
    assert_gv_err(slow_init_sleep_rc, GV_ECANCELED);
    assert_true(gv_ready(t));
    gv_release(t);
    /* the server's record is gone: its id is stale */
    assert_gv_err(gv_exit_reason(slow_init_server), GV_ENOENT);
    assert_int_equal(live_tasks(), before);
    assert_int_equal(E.terminates, 0);
    gv_shutdown();
}

static void *
shutdown_from_a_task(void *arg)
{
    (void)arg;
    gv_shutdown();
    return NULL;
}

static void
test_a_start_cut_short_by_shutdown_before_the_server_ran_frees_all(void **state)
{
    (void)state;
    reset_echo();
    slow_init_server = 0;
    starter_ran = 0;
    starter_rc = 1;
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    gv_id t, k;
    assert_gv_id(t = gv_spawn(starter, NULL));
    /* the starter spawns the server and parks; the killer then kills
     * every task, the server before it ever ran */
    assert_gv_id(k = gv_spawn(shutdown_from_a_task, NULL));
    assert_gv_err(gv_join(k, SECONDS(5)), GV_ECANCELED);
    assert_gv_ok(gv_join(t, SECONDS(5)));
    assert_int_equal(starter_ran, 1);
    assert_gv_err(starter_rc, GV_ECANCELED);
    assert_int_equal(slow_init_server, 0); /* it never ran */
    gv_release(t);
    gv_release(k);
    gv_shutdown();
    assert_int_equal(gvt_alloc_live(), 0);
    assert_gv_ok(gv_set_allocator(NULL));
}

static void *
canceled_starter(void *arg)
{
    (void)arg;
    gv_kill(gv_self(), GV_NOWAIT); /* marks itself canceled */
    starter_rc = (int)gv_server_start(&echo_ops, NULL, NULL);
    return NULL;
}

static void
test_a_canceled_starter_starts_nothing(void **state)
{
    (void)state;
    reset_echo();
    uint64_t before = live_tasks();
    starter_rc = 1;
    gv_id t;
    assert_gv_id(t = gv_spawn(canceled_starter, NULL));
    assert_gv_ok(gv_join(t, SECONDS(5)));
    assert_gv_err(starter_rc, GV_ECANCELED);
    gv_release(t);
    assert_int_equal(E.inits, 0);
    assert_int_equal(live_tasks(), before);
    gv_shutdown();
}

/* ---------------------------------------------------- out of memory */

#define MAX_SWEEP 5000
#define CHILD_MS (4000 * GVT_SLOW)

static int bad;
static char bad_what[256];

static void
flag(const char *what, long long got)
{
    if (!bad)
        snprintf(bad_what, sizeof bad_what, "%s returned %lld (%s)", what, got,
                 got < 0 ? gv_err_name((int)got) : "");
    bad = 1;
}

/* a call may fail for want of memory, here or in the server, which may
 * then have stopped for it: then it is gone (GV_ENOENT) */
static void
expect_call(const char *what, int rc, const gv_msg *r)
{
    if (rc == 0 || rc == GV_ENOMEM)
        return;
    if (rc == GV_ENOENT && r->reason == GV_ENOMEM)
        return;
    flag(what, rc);
}

static int
oom_program(void)
{
    bad = 0;
    reset_echo();
    gv_id id = gv_server_start(&echo_ops, &state_token, NULL);
    if (id < 0) {
        if (id != GV_ENOMEM)
            flag("gv_server_start", id);
        return bad;
    }
    static unsigned char big[1000];
    memset(big, 1, sizeof big);
    gv_msg r;
    int rc = gv_call(id, OP_ECHO, "abc", 3, &r, SECONDS(5));
    expect_call("gv_call(small)", rc, &r);
    if (rc == 0 && (r.len != 3 || memcmp(r.data, "abc", 3) != 0))
        flag("gv_call(small) payload", 0);
    gv_msg_free(&r);
    rc = gv_call(id, OP_ECHO, big, sizeof big, &r, SECONDS(5));
    expect_call("gv_call(big)", rc, &r);
    if (rc == 0 && (r.len != sizeof big || memcmp(r.data, big, r.len) != 0))
        flag("gv_call(big) payload", 0);
    gv_msg_free(&r);
    rc = gv_cast(id, 1, big, sizeof big);
    if (rc != 0 && rc != GV_ENOMEM && rc != GV_ENOENT)
        flag("gv_cast", rc);
    rc = gv_call(id, OP_REPLY_TWICE, NULL, 0, &r, SECONDS(5));
    expect_call("gv_call(reply twice)", rc, &r);
    gv_msg_free(&r);
    int ms = 100;
    rc = gv_call(id, OP_SLOW, &ms, sizeof ms, &r, gv_deadline(10));
    if (rc != GV_ETIMEDOUT)
        expect_call("gv_call(slow)", rc, &r);
    gv_msg_free(&r);
    rc = gv_call(id, OP_STOP, NULL, 0, &r, SECONDS(5));
    expect_call("gv_call(stop)", rc, &r);
    gv_msg_free(&r);
    if (rc == 0) {
        rc = gv_join(id, SECONDS(5));
        if (rc != 0)
            flag("gv_join", rc);
    } else {
        gv_kill(id, SECONDS(5));
    }
    gv_release(id);
    return bad;
}

static int oom_all_after; /* every allocation from the Nth on fails */

static int
oom_child(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (gvt_oom_install(n, oom_all_after) != 0)
        return GVT_RUN_SETUP;
    int b = oom_program();
    gv_shutdown();
    return gvt_oom_verdict(n, b, bad_what);
}

static void
oom_sweep(int all_after)
{
    oom_all_after = all_after;
    gvt_oom_sweep(oom_child, MAX_SWEEP, CHILD_MS);
}

static void
test_every_allocation_failure_is_an_error_and_nothing_leaks(void **state)
{
    (void)state;
    oom_sweep(0);
}

static void
test_running_out_of_memory_for_good_hangs_nothing_and_leaks_nothing(
    void **state)
{
    (void)state;
    oom_sweep(1);
}

static void
test_a_clean_run_of_the_oom_program_frees_everything(void **state)
{
    (void)state;
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    int b = oom_program();
    if (b)
        print_error("%s\n", bad_what);
    assert_int_equal(b, 0);
    assert_int_equal(E.calls, 5);
    assert_int_equal(E.casts, 1);
    gv_shutdown();
    assert_int_equal(gvt_alloc_live(), 0);
    assert_gv_ok(gv_set_allocator(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_call_round_trips_small_and_large_payloads),
        T(test_reply_set_replaces_the_previous_reply_without_leaking),
        T(test_casts_reach_handle_cast_in_order),
        T(test_a_thread_grove_does_not_run_can_cast),
        T(test_plain_sends_and_downs_go_to_handle_info),
        T(test_init_failure_is_what_start_returns),
        T(test_without_init_the_state_is_arg),
        T(test_a_call_without_handle_call_is_einval_and_the_server_goes_on),
        T(test_gv_stop_from_handle_call_replies_then_terminates_normally),
        T(test_a_negative_verdict_stops_the_server_with_that_reason),
        T(test_shutdown_from_the_parent_runs_terminate_when_trapping_exits),
        T(test_a_trapping_server_stops_with_its_linked_parents_reason),
        T(test_a_server_not_trapping_exits_dies_without_terminate),
        T(test_a_call_whose_server_dies_before_replying_is_enoent),
        T(test_calls_in_progress_and_queued_fail_when_the_server_is_killed),
        T(test_a_call_to_a_dead_or_unknown_id_is_enoent),
        T(test_a_call_past_its_deadline_times_out_and_the_late_reply_is_lost),
        T(test_the_callers_mailbox_keeps_its_messages_and_order_across_a_call),
        T(test_concurrent_callers_each_get_their_own_reply),
        T(test_calls_work_when_every_task_is_compact),
        T(test_a_server_registered_by_name_is_found_with_whereis),
        T(test_start_applies_the_spawn_options),
        T(test_invalid_calls),
        T(test_a_killed_starter_takes_the_server_down_with_it),
        T(test_a_start_cut_short_by_shutdown_before_the_server_ran_frees_all),
        T(test_a_canceled_starter_starts_nothing),
        T(test_every_allocation_failure_is_an_error_and_nothing_leaks),
        T(test_running_out_of_memory_for_good_hangs_nothing_and_leaks_nothing),
        T(test_a_clean_run_of_the_oom_program_frees_everything),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
