/*
 * test_mailbox.c — mailboxes: send/recv, payload copies and ownership,
 * per-sender order, deadlines, cancellation, the four overflow policies,
 * selective receive, the system lane, stale ids, leftovers of dead actors,
 * and an out-of-memory sweep.
 *
 * Actor bodies never assert (cmocka longjmps off the green thread's
 * stack): they record into the statics below and each test asserts on
 * main's stack after the joins. Every test ends with gv_shutdown() so the
 * next starts from a fresh scheduler. main() is an actor too, so several
 * tests use its own mailbox.
 */
#include "gv_test.h"

#include <inttypes.h>
#include <pthread.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* a tag for "go on" messages that selective receives wait for */
#define TAG_GO 1000

/* ------------------------------------------------------------- recorders */

/* what an actor saw: results of its calls and fields of its messages */
typedef struct rec {
    int rc[8];
    int tag[8];
    gv_id from[8];
    size_t len[8];
    int seq[64]; /* payload seqs received, in order */
    int nseq;
    int64_t ms;
    int done;
} rec;

static rec R[8];

static void
reset_recorders(void)
{
    memset(R, 0, sizeof R);
    for (size_t i = 0; i < NELEM(R); i++)
        for (int k = 0; k < 8; k++)
            R[i].rc[k] = 0x5555; /* neither 0 nor an error */
    gvt_trace_reset();
}

/* owned payloads: free_fn counts and remembers what it freed */
static atomic_int owned_frees;
static void *owned_last_freed;

static void
count_free(void *p)
{
    owned_last_freed = p;
    atomic_fetch_add(&owned_frees, 1);
    free(p);
}

static void
count_free_static(void *p)
{
    owned_last_freed = p;
    atomic_fetch_add(&owned_frees, 1);
}

static int
send_seq(gv_id to, int tag, int seq, int64_t deadline)
{
    return gv_send(to, tag, &seq, sizeof seq, deadline);
}

static int
msg_seq(const gv_msg *m)
{
    int s = -1;
    if (m->data != NULL && m->len == sizeof s)
        memcpy(&s, m->data, sizeof s);
    return s;
}

/* drains the caller's mailbox without waiting; records each seq */
static void
drain_into(rec *r)
{
    gv_msg m;
    while (gv_recv(&m, GV_NOWAIT) == 0) {
        if (r->nseq < (int)NELEM(r->seq))
            r->seq[r->nseq++] = m.tag < 0 ? 1000 + m.tag : msg_seq(&m);
        gv_msg_free(&m);
    }
}

static void *
drain_body(void *arg)
{
    drain_into(&R[(intptr_t)arg]);
    R[(intptr_t)arg].done = 1;
    return NULL;
}

/* receives up to n messages with a 5 s deadline each */
struct recv_n {
    int slot, n;
};

static void *
recv_n_body(void *arg)
{
    struct recv_n *a = arg;
    rec *r = &R[a->slot];
    for (int i = 0; i < a->n; i++) {
        gv_msg m;
        int rc = gv_recv(&m, gv_deadline(5000));
        if (i < 8)
            r->rc[i] = rc;
        if (rc != 0)
            break;
        if (r->nseq < (int)NELEM(r->seq))
            r->seq[r->nseq++] = msg_seq(&m);
        gv_msg_free(&m);
    }
    r->done = 1;
    return NULL;
}

static void *
return_at_once(void *arg)
{
    return arg;
}

/* an id that was never handed out: a huge generation on slot 3 */
static const gv_id made_up_id = ((gv_id)0x7ffffff0 << 32) | 3;

/* -------------------------------------------------------- round trips */

static void *
echo_once(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    gv_msg m;
    r->rc[0] = gv_recv(&m, gv_deadline(5000));
    if (r->rc[0] != 0)
        return NULL;
    r->tag[0] = m.tag;
    r->from[0] = m.from;
    r->len[0] = m.len;
    r->rc[1] = gv_send(m.from, m.tag + 1, m.data, m.len, gv_deadline(5000));
    gv_msg_free(&m);
    return NULL;
}

static void
test_send_and_recv_round_trip_between_actors(void **state)
{
    (void)state;
    reset_recorders();
    gv_id me = gv_self();
    gv_id e;
    assert_gv_id(e = gv_spawn(echo_once, (void *)0));
    static const char hello[] = "hello, actor";
    assert_gv_ok(gv_send(e, 7, hello, sizeof hello, GV_FOREVER));
    gv_msg m;
    assert_gv_ok(gv_recv(&m, gv_deadline(5000)));
    assert_int_equal(m.tag, 8);
    assert_int_equal(m.from, e);
    assert_int_equal(m.len, sizeof hello);
    assert_non_null(m.data);
    assert_memory_equal(m.data, hello, sizeof hello);
    gv_msg_free(&m);
    assert_gv_ok(gv_join(e, gv_deadline(5000)));
    assert_gv_ok(R[0].rc[0]);
    assert_gv_ok(R[0].rc[1]);
    assert_int_equal(R[0].tag[0], 7);
    assert_int_equal(R[0].from[0], me);
    assert_int_equal(R[0].len[0], sizeof hello);
    gv_release(e);
    gv_shutdown();
}

static void
test_small_payloads_travel_inline_and_are_copied(void **state)
{
    (void)state;
    gv_id me = gv_self();
    unsigned char buf[GV_MSG_INLINE];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7 + 1);
    unsigned char want[GV_MSG_INLINE];
    memcpy(want, buf, sizeof buf);
    assert_gv_ok(gv_send(me, 1, buf, sizeof buf, GV_NOWAIT));
    assert_gv_ok(gv_send(me, 2, buf, 1, GV_NOWAIT));
    assert_gv_ok(gv_send(me, 3, NULL, 0, GV_NOWAIT));
    memset(buf, 0, sizeof buf); /* the sender's buffer is its own again */

    gv_msg m;
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, 1);
    assert_int_equal(m.from, me);
    assert_int_equal(m.len, GV_MSG_INLINE);
    assert_ptr_equal(m.data, m.buf); /* inline: inside the message */
    assert_memory_equal(m.data, want, GV_MSG_INLINE);
    gv_msg_free(&m);
    gv_msg_free(&m); /* twice is fine */

    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, 2);
    assert_int_equal(m.len, 1);
    assert_ptr_equal(m.data, m.buf);
    assert_int_equal(((unsigned char *)m.data)[0], want[0]);
    gv_msg_free(&m);

    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, 3);
    assert_int_equal(m.len, 0);
    assert_null(m.data);
    gv_msg_free(&m);
    gv_shutdown();
}

static void
test_large_payloads_are_copied_to_the_heap(void **state)
{
    (void)state;
    gv_id me = gv_self();
    size_t sizes[] = {GV_MSG_INLINE + 1, 1000, 1u << 20};
    for (size_t k = 0; k < NELEM(sizes); k++) {
        size_t n = sizes[k];
        unsigned char *src = malloc(n);
        unsigned char *want = malloc(n);
        assert_non_null(src);
        assert_non_null(want);
        for (size_t i = 0; i < n; i++)
            src[i] = (unsigned char)(i * 31 + k);
        memcpy(want, src, n);
        assert_gv_ok(gv_send(me, (int)k, src, n, GV_NOWAIT));
        memset(src, 0xEE, n); /* a copy was sent, not src */
        free(src);
        gv_msg m;
        assert_gv_ok(gv_recv(&m, GV_NOWAIT));
        assert_int_equal(m.tag, (int)k);
        assert_int_equal(m.len, n);
        assert_non_null(m.data);
        assert_true(m.data != (void *)m.buf);
        assert_memory_equal(m.data, want, n);
        gv_msg_free(&m);
        gv_msg_free(&m);
        free(want);
    }
    gv_shutdown();
}

static void
test_send_owned_hands_over_the_buffer_and_free_runs_once(void **state)
{
    (void)state;
    atomic_store(&owned_frees, 0);
    gv_id me = gv_self();
    size_t sizes[] = {8, 100}; /* small and large: never copied */
    for (size_t k = 0; k < NELEM(sizes); k++) {
        atomic_store(&owned_frees, 0);
        owned_last_freed = NULL;
        char *p = malloc(sizes[k]);
        assert_non_null(p);
        memset(p, 'a' + (int)k, sizes[k]);
        assert_gv_ok(gv_send_owned(me, 5, p, sizes[k], count_free, GV_NOWAIT));
        assert_int_equal(atomic_load(&owned_frees), 0);
        gv_msg m;
        assert_gv_ok(gv_recv(&m, GV_NOWAIT));
        assert_int_equal(m.tag, 5);
        assert_int_equal(m.from, me);
        assert_ptr_equal(m.data, p); /* the buffer itself */
        assert_int_equal(m.len, sizes[k]);
        assert_int_equal(atomic_load(&owned_frees), 0);
        gv_msg_free(&m);
        assert_int_equal(atomic_load(&owned_frees), 1);
        assert_ptr_equal(owned_last_freed, p);
        gv_msg_free(&m); /* safe twice: free_fn not called again */
        assert_int_equal(atomic_load(&owned_frees), 1);
    }

    /* free_fn NULL: data that needs no freeing */
    static char fixed[64] = "static payload";
    gv_msg m;
    assert_gv_ok(gv_send_owned(me, 6, fixed, sizeof fixed, NULL, GV_NOWAIT));
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_ptr_equal(m.data, fixed);
    assert_int_equal(m.len, sizeof fixed);
    gv_msg_free(&m);
    gv_msg_free(&m);
    assert_string_equal(fixed, "static payload");
    gv_shutdown();
}

static void
test_a_failed_owned_send_leaves_the_buffer_with_the_caller(void **state)
{
    (void)state;
    reset_recorders();
    atomic_store(&owned_frees, 0);
    static char buf[32];
    /* a stale id */
    gv_id gone;
    assert_gv_id(gone = gv_spawn(return_at_once, NULL));
    assert_gv_ok(gv_join(gone, gv_deadline(5000)));
    assert_gv_ok(gv_release(gone));
    assert_gv_err(
        gv_send_owned(gone, 1, buf, sizeof buf, count_free_static, GV_NOWAIT),
        GV_ENOENT);
    assert_gv_err(gv_send_owned(made_up_id, 1, buf, sizeof buf,
                                count_free_static, GV_NOWAIT),
                  GV_ENOENT);
    /* a full mailbox that fails */
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED,
                       .mailbox_capacity = 1,
                       .overflow = GV_OVERFLOW_FAIL};
    gv_id full;
    assert_gv_id(full = gv_spawn_ex(drain_body, (void *)0, &o));
    assert_gv_ok(send_seq(full, 1, 1, GV_NOWAIT));
    assert_gv_err(
        gv_send_owned(full, 1, buf, sizeof buf, count_free_static, GV_NOWAIT),
        GV_EFULL);
    /* a full mailbox that blocks until the deadline */
    gv_spawn_opts b = o;
    b.overflow = GV_OVERFLOW_BLOCK;
    gv_id blocked;
    assert_gv_id(blocked = gv_spawn_ex(drain_body, (void *)1, &b));
    assert_gv_ok(send_seq(blocked, 1, 1, GV_NOWAIT));
    assert_gv_err(gv_send_owned(blocked, 1, buf, sizeof buf, count_free_static,
                                gv_deadline(20)),
                  GV_ETIMEDOUT);
    /* bad arguments */
    assert_gv_err(gv_send_owned(full, 1, NULL, 8, count_free_static, GV_NOWAIT),
                  GV_EINVAL);
    assert_int_equal(atomic_load(&owned_frees), 0);

    assert_gv_ok(gv_start(full));
    assert_gv_ok(gv_start(blocked));
    assert_gv_ok(gv_join(full, gv_deadline(5000)));
    assert_gv_ok(gv_join(blocked, gv_deadline(5000)));
    /* only the one queued message arrived at each */
    assert_int_equal(R[0].nseq, 1);
    assert_int_equal(R[1].nseq, 1);
    assert_int_equal(atomic_load(&owned_frees), 0);
    gv_release(full);
    gv_release(blocked);
    gv_shutdown();
}

/* ------------------------------------------------------------ ordering */

#define PER_SENDER 300

static void *
send_seqs(void *arg)
{
    int slot = (int)(intptr_t)arg;
    gv_id to = R[7].from[0]; /* the receiver, set by the test */
    for (int i = 0; i < PER_SENDER; i++) {
        int rc = send_seq(to, slot, i, gv_deadline(5000));
        if (rc != 0) {
            R[slot].rc[0] = rc;
            return NULL;
        }
        if (i % (slot + 2) == 0)
            gv_sleep(0); /* interleave the senders */
    }
    R[slot].rc[0] = 0;
    return NULL;
}

static void
test_each_senders_messages_arrive_in_order(void **state)
{
    (void)state;
    reset_recorders();
    gv_id me = gv_self();
    R[7].from[0] = me;
    gv_id s[3];
    for (int i = 0; i < 3; i++)
        assert_gv_id(s[i] = gv_spawn(send_seqs, (void *)(intptr_t)i));
    int next[3] = {0, 0, 0};
    int order_errors = 0, from_errors = 0, interleaved = 0, last = -1;
    for (int n = 0; n < 3 * PER_SENDER; n++) {
        gv_msg m;
        int rc = gv_recv(&m, gv_deadline(5000));
        assert_gv_ok(rc);
        assert_true(m.tag >= 0 && m.tag < 3);
        if (m.from != s[m.tag])
            from_errors++;
        if (msg_seq(&m) != next[m.tag])
            order_errors++;
        next[m.tag] = msg_seq(&m) + 1;
        if (last != -1 && last != m.tag)
            interleaved++;
        last = m.tag;
        gv_msg_free(&m);
    }
    assert_int_equal(order_errors, 0);
    assert_int_equal(from_errors, 0);
    assert_true(interleaved > 3); /* the senders really did interleave */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(next[i], PER_SENDER);
        assert_gv_ok(gv_join(s[i], gv_deadline(5000)));
        assert_gv_ok(R[i].rc[0]);
        gv_release(s[i]);
    }
    gv_msg m;
    assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);
    gv_shutdown();
}

/* ------------------------------------------------ deadlines and kills */

static void
test_recv_times_out_at_its_deadline(void **state)
{
    (void)state;
    gv_msg m;
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_recv(&m, gv_deadline(60)), GV_ETIMEDOUT);
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 55);
    assert_true(dt < 2000 * GVT_SLOW);
    gv_msg_free(&m); /* safe on a message that failed to arrive */

    t0 = gvt_mono_ms();
    assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);
    static const int tags[] = {4};
    assert_gv_err(gv_recv_tags(&m, tags, 1, GV_NOWAIT), GV_ETIMEDOUT);
    assert_true(gvt_mono_ms() - t0 < 1000 * GVT_SLOW);

    /* a message that does not match does not end a selective wait */
    assert_gv_ok(send_seq(gv_self(), 3, 0, GV_NOWAIT));
    t0 = gvt_mono_ms();
    assert_gv_err(gv_recv_tags(&m, tags, 1, gv_deadline(40)), GV_ETIMEDOUT);
    dt = gvt_mono_ms() - t0;
    assert_true(dt >= 35);
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(gv_self(), &info));
    assert_int_equal(info.len, 1);
    gv_shutdown();
}

static void *
free_after_recv_off_thread(void *arg)
{
    int *rc = arg;
    gv_msg m;
    memset(&m, 0xA5, sizeof m);
    *rc = gv_recv(&m, GV_NOWAIT);
    gv_msg_free(&m);
    return NULL;
}

/* each case: a failed receive into garbage, then gv_msg_free on it */
static int
child_free_after_failed_recv(void *arg)
{
    int which = (int)(intptr_t)arg;
    if (gv_self() <= 0) /* grove runs on this thread */
        return 5;
    gv_msg m;
    memset(&m, 0xA5, sizeof m); /* garbage, as an uninitialised local */
    static const int tags[] = {1};
    int rc, want;
    switch (which) {
    case 0:
        rc = gv_recv(&m, GV_NOWAIT);
        want = GV_ETIMEDOUT;
        break;
    case 1:
        rc = gv_recv_tags(&m, tags, 1, gv_deadline(5));
        want = GV_ETIMEDOUT;
        break;
    case 2:
        rc = gv_recv_tags(&m, NULL, 1, GV_NOWAIT);
        want = GV_EINVAL;
        break;
    case 3:
        rc = gv_recv_match(&m, NULL, NULL, GV_NOWAIT);
        want = GV_EINVAL;
        break;
    default: {
        /* a receive made where grove does not run: GV_ETHREAD */
        pthread_t th;
        rc = 0;
        if (pthread_create(&th, NULL, free_after_recv_off_thread, &rc) != 0)
            return 6;
        pthread_join(th, NULL);
        want = GV_ETHREAD;
        memset(&m, 0, sizeof m);
        break;
    }
    }
    if (rc != want) {
        fprintf(stderr, "case %d returned %s\n", which, gv_err_name(rc));
        return 2;
    }
    gv_msg_free(&m);
    gv_msg_free(&m);
    gv_shutdown();
    return 0;
}

static void
test_msg_free_is_safe_on_a_message_that_failed_to_arrive(void **state)
{
    (void)state;
    static const char *what[] = {
        "gv_recv timed out",
        "gv_recv_tags timed out",
        "gv_recv_tags(tags NULL) was refused (GV_EINVAL)",
        "gv_recv_match(match NULL) was refused (GV_EINVAL)",
        "gv_recv on a foreign thread was refused (GV_ETHREAD)",
    };
    int failures = 0;
    for (int i = 0; i < 5; i++) {
        char err[4096];
        int st = gvt_run_child(child_free_after_failed_recv,
                               (void *)(intptr_t)i, 10000, err, sizeof err);
        if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            char d[96];
            print_error("gv_msg_free after %s: child %s\n%s", what[i],
                        gvt_describe_status(st, d, sizeof d), err);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static bool
match_nothing(const gv_msg *m, void *arg)
{
    (void)m;
    (void)arg;
    return false;
}

static void *
recv_until_killed(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    gv_msg m;
    static const int tags[] = {TAG_GO};
    int kind = (int)(intptr_t)arg;
    if (kind == 0)
        r->rc[0] = gv_recv(&m, GV_FOREVER);
    else if (kind == 1)
        r->rc[0] = gv_recv_tags(&m, tags, 1, GV_FOREVER);
    else
        r->rc[0] = gv_recv_match(&m, match_nothing, NULL, GV_FOREVER);
    gv_msg_free(&m);
    /* cancellation is sticky: a second wait must not block */
    r->rc[1] = gv_recv(&m, GV_FOREVER);
    gv_msg_free(&m);
    r->done = 1;
    return NULL;
}

static void
test_recv_of_a_killed_actor_returns_ecanceled(void **state)
{
    (void)state;
    reset_recorders();
    gv_id a[3];
    for (int i = 0; i < 3; i++)
        assert_gv_id(a[i] = gv_spawn(recv_until_killed, (void *)(intptr_t)i));
    assert_gv_ok(gv_sleep(0));
    assert_gv_ok(gv_sleep(5));
    /* the selective receivers see a message they skip */
    assert_gv_ok(send_seq(a[1], 1, 0, GV_NOWAIT));
    assert_gv_ok(gv_sleep(1));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(R[i].done, 0); /* parked */
        assert_gv_ok(gv_kill(a[i], gv_deadline(5000)));
        assert_int_equal(R[i].done, 1);
        assert_gv_err(R[i].rc[0], GV_ECANCELED);
        assert_gv_err(R[i].rc[1], GV_ECANCELED);
        assert_int_equal(gv_exit_reason(a[i]), GV_KILLED);
        gv_release(a[i]);
    }
    gv_shutdown();
}

/* ------------------------------------------------------ overflow policies */

static gv_id
spawn_unstarted_box(int slot, size_t cap, int overflow)
{
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED,
                       .mailbox_capacity = cap,
                       .overflow = overflow};
    return gv_spawn_ex(drain_body, (void *)(intptr_t)slot, &o);
}

static void
start_and_drain(gv_id id)
{
    assert_gv_ok(gv_start(id));
    assert_gv_ok(gv_join(id, gv_deadline(5000)));
}

static void
test_fail_policy_refuses_with_efull(void **state)
{
    (void)state;
    reset_recorders();
    gv_id r;
    assert_gv_id(r = spawn_unstarted_box(0, 3, GV_OVERFLOW_FAIL));
    for (int i = 1; i <= 3; i++)
        assert_gv_ok(send_seq(r, 1, i, GV_NOWAIT));
    assert_gv_err(send_seq(r, 1, 4, GV_NOWAIT), GV_EFULL);
    assert_gv_err(send_seq(r, 1, 5, gv_deadline(1000)), GV_EFULL);
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(r, &info));
    assert_int_equal(info.len, 3);
    assert_int_equal(info.high_water, 3);
    assert_int_equal(info.capacity, 3);
    assert_int_equal(info.overflow, GV_OVERFLOW_FAIL);
    assert_int_equal(info.system_len, 0);
    start_and_drain(r);
    assert_int_equal(R[0].nseq, 3);
    assert_int_equal(R[0].seq[0], 1);
    assert_int_equal(R[0].seq[1], 2);
    assert_int_equal(R[0].seq[2], 3);
    gv_release(r);
    gv_shutdown();
}

static void
test_drop_newest_policy_keeps_the_first_messages(void **state)
{
    (void)state;
    reset_recorders();
    gv_id r;
    assert_gv_id(r = spawn_unstarted_box(0, 3, GV_OVERFLOW_DROP_NEWEST));
    for (int i = 1; i <= 5; i++)
        assert_gv_ok(send_seq(r, 1, i, GV_NOWAIT)); /* send says 0 */
    /* an owned payload that is dropped is freed, once */
    atomic_store(&owned_frees, 0);
    char *p = malloc(16);
    assert_non_null(p);
    assert_gv_ok(gv_send_owned(r, 1, p, 16, count_free, GV_NOWAIT));
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(r, &info));
    assert_int_equal(info.len, 3);
    assert_int_equal(info.high_water, 3);
    assert_int_equal(info.capacity, 3);
    assert_int_equal(info.overflow, GV_OVERFLOW_DROP_NEWEST);
    assert_int_equal(info.dropped, 3);
    start_and_drain(r);
    assert_int_equal(R[0].nseq, 3);
    assert_int_equal(R[0].seq[0], 1);
    assert_int_equal(R[0].seq[1], 2);
    assert_int_equal(R[0].seq[2], 3);
    gv_release(r);
    assert_int_equal(atomic_load(&owned_frees), 1); /* freed, once */
    gv_shutdown();
}

static void
test_drop_oldest_policy_keeps_the_last_messages(void **state)
{
    (void)state;
    reset_recorders();
    gv_id r;
    assert_gv_id(r = spawn_unstarted_box(0, 3, GV_OVERFLOW_DROP_OLDEST));
    /* the first one is owned: dropping it frees it */
    atomic_store(&owned_frees, 0);
    int *p = malloc(sizeof *p);
    assert_non_null(p);
    *p = 1;
    assert_gv_ok(gv_send_owned(r, 1, p, sizeof *p, count_free, GV_NOWAIT));
    for (int i = 2; i <= 6; i++)
        assert_gv_ok(send_seq(r, 1, i, GV_NOWAIT));
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(r, &info));
    assert_int_equal(info.len, 3);
    assert_int_equal(info.high_water, 3);
    assert_int_equal(info.overflow, GV_OVERFLOW_DROP_OLDEST);
    assert_int_equal(info.dropped, 3);
    start_and_drain(r);
    assert_int_equal(R[0].nseq, 3);
    assert_int_equal(R[0].seq[0], 4);
    assert_int_equal(R[0].seq[1], 5);
    assert_int_equal(R[0].seq[2], 6);
    gv_release(r);
    assert_int_equal(atomic_load(&owned_frees), 1); /* freed, once */
    gv_shutdown();
}

struct blocked_send {
    gv_id to;
    int seq;
    int slot;
    int64_t deadline_ms; /* < 0: forever */
};

static void *
blocked_sender(void *arg)
{
    struct blocked_send *b = arg;
    rec *r = &R[b->slot];
    int64_t t0 = gvt_mono_ms();
    r->rc[0] =
        send_seq(b->to, 1, b->seq,
                 b->deadline_ms < 0 ? GV_FOREVER : gv_deadline(b->deadline_ms));
    r->ms = gvt_mono_ms() - t0;
    r->done = 1;
    return NULL;
}

static void
test_block_policy_makes_the_sender_wait_for_room(void **state)
{
    (void)state;
    reset_recorders();
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED,
                       .mailbox_capacity = 2,
                       .overflow = GV_OVERFLOW_BLOCK};
    struct recv_n rn = {0, 3};
    gv_id r;
    assert_gv_id(r = gv_spawn_ex(recv_n_body, &rn, &o));
    assert_gv_ok(send_seq(r, 1, 1, GV_NOWAIT));
    assert_gv_ok(send_seq(r, 1, 2, GV_NOWAIT));
    /* full, nobody drains: the sender waits until its deadline */
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(send_seq(r, 1, 99, gv_deadline(50)), GV_ETIMEDOUT);
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 45);
    assert_true(dt < 2000 * GVT_SLOW);
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(r, &info));
    assert_int_equal(info.len, 2);
    assert_int_equal(info.capacity, 2);
    assert_int_equal(info.overflow, GV_OVERFLOW_BLOCK);
    assert_int_equal(info.dropped, 0);

    /* another sender waits without a deadline ... */
    struct blocked_send bs = {r, 3, 1, -1};
    gv_id s;
    assert_gv_id(s = gv_spawn(blocked_sender, &bs));
    assert_gv_ok(gv_sleep(30));
    assert_int_equal(R[1].done, 0);
    assert_gv_ok(gv_mailbox_inspect(r, &info));
    assert_int_equal(info.len, 2);
    /* ... until the receiver makes room */
    assert_gv_ok(gv_start(r));
    assert_gv_ok(gv_join(s, gv_deadline(5000)));
    assert_gv_ok(gv_join(r, gv_deadline(5000)));
    assert_gv_ok(R[1].rc[0]);
    assert_true(R[1].ms >= 25);
    assert_int_equal(R[0].nseq, 3);
    assert_int_equal(R[0].seq[0], 1);
    assert_int_equal(R[0].seq[1], 2);
    assert_int_equal(R[0].seq[2], 3); /* 99 never arrived */
    gv_release(r);
    gv_release(s);
    gv_shutdown();
}

static void
test_a_sender_blocked_on_a_full_mailbox_can_be_killed(void **state)
{
    (void)state;
    reset_recorders();
    gv_id r;
    assert_gv_id(r = spawn_unstarted_box(0, 1, GV_OVERFLOW_BLOCK));
    assert_gv_ok(send_seq(r, 1, 1, GV_NOWAIT));
    struct blocked_send bs = {r, 2, 1, -1};
    gv_id s;
    assert_gv_id(s = gv_spawn(blocked_sender, &bs));
    assert_gv_ok(gv_sleep(10));
    assert_int_equal(R[1].done, 0);
    assert_gv_ok(gv_kill(s, gv_deadline(5000)));
    assert_int_equal(R[1].done, 1);
    assert_gv_err(R[1].rc[0], GV_ECANCELED);
    start_and_drain(r);
    assert_int_equal(R[0].nseq, 1); /* the killed sender's never came */
    assert_int_equal(R[0].seq[0], 1);
    gv_release(r);
    gv_release(s);
    gv_shutdown();
}

static void
test_blocked_senders_get_enoent_when_the_receiver_dies(void **state)
{
    (void)state;
    reset_recorders();
    gv_id r;
    assert_gv_id(r = spawn_unstarted_box(0, 1, GV_OVERFLOW_BLOCK));
    assert_gv_ok(send_seq(r, 1, 1, GV_NOWAIT));
    struct blocked_send bs = {r, 2, 1, 5000};
    gv_id s;
    assert_gv_id(s = gv_spawn(blocked_sender, &bs));
    assert_gv_ok(gv_sleep(10));
    assert_int_equal(R[1].done, 0);
    /* the receiver dies without ever running: the send cannot succeed */
    assert_gv_ok(gv_kill(r, gv_deadline(5000)));
    assert_gv_ok(gv_join(s, gv_deadline(10000)));
    assert_gv_err(R[1].rc[0], GV_ENOENT);
    assert_true(R[1].ms < 4000); /* woken, not left to its deadline */
    gv_release(r);
    gv_release(s);
    gv_shutdown();
}

static void
test_spawn_options_and_mailbox_set_bound_the_mailbox(void **state)
{
    (void)state;
    gv_id me = gv_self();
    gv_mailbox_info info;
    /* the default: unbounded */
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.capacity, 0);
    assert_int_equal(info.len, 0);
    for (int i = 0; i < 100; i++)
        assert_gv_ok(send_seq(me, 1, i, GV_NOWAIT));
    /* messages already queued stay when a bound is set */
    assert_gv_ok(gv_mailbox_set(2, GV_OVERFLOW_FAIL));
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.capacity, 2);
    assert_int_equal(info.overflow, GV_OVERFLOW_FAIL);
    assert_int_equal(info.len, 100);
    assert_gv_err(send_seq(me, 1, 100, GV_NOWAIT), GV_EFULL);
    for (int i = 0; i < 100; i++) {
        gv_msg m;
        assert_gv_ok(gv_recv(&m, GV_NOWAIT));
        assert_int_equal(msg_seq(&m), i);
        gv_msg_free(&m);
    }
    assert_gv_ok(send_seq(me, 1, 0, GV_NOWAIT));
    assert_gv_ok(send_seq(me, 1, 1, GV_NOWAIT));
    assert_gv_err(send_seq(me, 1, 2, GV_NOWAIT), GV_EFULL);
    /* bad policies */
    assert_gv_err(gv_mailbox_set(2, 42), GV_EINVAL);
    assert_gv_err(gv_mailbox_set(2, -1), GV_EINVAL);
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.capacity, 2);
    assert_int_equal(info.overflow, GV_OVERFLOW_FAIL);
    /* back to unbounded */
    assert_gv_ok(gv_mailbox_set(0, GV_OVERFLOW_BLOCK));
    for (int i = 0; i < 50; i++)
        assert_gv_ok(send_seq(me, 1, i, GV_NOWAIT));
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.capacity, 0);
    assert_int_equal(info.len, 52);
    assert_int_equal(info.high_water, 100);
    assert_gv_err(gv_mailbox_inspect(me, NULL), GV_EINVAL);
    gv_shutdown();
}

static void
test_high_water_is_the_most_ever_queued(void **state)
{
    (void)state;
    gv_id me = gv_self();
    gv_mailbox_info info;
    for (int i = 0; i < 10; i++)
        assert_gv_ok(send_seq(me, 1, i, GV_NOWAIT));
    for (int i = 0; i < 10; i++) {
        gv_msg m;
        assert_gv_ok(gv_recv(&m, GV_NOWAIT));
        gv_msg_free(&m);
    }
    for (int i = 0; i < 3; i++)
        assert_gv_ok(send_seq(me, 1, i, GV_NOWAIT));
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.len, 3);
    assert_int_equal(info.high_water, 10);
    assert_int_equal(info.dropped, 0);
    assert_int_equal(info.system_len, 0);
    gv_shutdown();
}

static void
test_shutdown_gives_main_a_fresh_mailbox(void **state)
{
    (void)state;
    gv_id me = gv_self();
    assert_gv_ok(gv_mailbox_set(1, GV_OVERFLOW_DROP_NEWEST));
    assert_gv_ok(send_seq(me, 1, 1, GV_NOWAIT));
    assert_gv_ok(send_seq(me, 1, 2, GV_NOWAIT));
    gv_shutdown();
    me = gv_self();
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.len, 0);
    assert_int_equal(info.capacity, 0);
    assert_int_equal(info.dropped, 0);
    assert_int_equal(info.high_water, 0);
    gv_msg m;
    assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);
    gv_shutdown();
}

/* ---------------------------------------------------- selective receive */

static void
test_recv_tags_takes_the_oldest_match_and_keeps_the_rest_in_order(void **state)
{
    (void)state;
    gv_id me = gv_self();
    /* tags 1 2 3 1 2 3, seq 0..5 */
    for (int i = 0; i < 6; i++)
        assert_gv_ok(send_seq(me, 1 + i % 3, i, GV_NOWAIT));
    gv_msg m;
    static const int t3[] = {3};
    static const int t23[] = {2, 3};
    static const int t9[] = {9, 10};
    assert_gv_ok(gv_recv_tags(&m, t3, 1, GV_NOWAIT));
    assert_int_equal(m.tag, 3);
    assert_int_equal(msg_seq(&m), 2);
    assert_int_equal(m.from, me);
    gv_msg_free(&m);
    assert_gv_ok(gv_recv_tags(&m, t23, 2, GV_NOWAIT));
    assert_int_equal(m.tag, 2);
    assert_int_equal(msg_seq(&m), 1);
    gv_msg_free(&m);
    assert_gv_err(gv_recv_tags(&m, t9, 2, GV_NOWAIT), GV_ETIMEDOUT);
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.len, 4);
    /* what is left: seq 0 3 4 5, in order */
    static const int want[] = {0, 3, 4, 5};
    for (size_t i = 0; i < NELEM(want); i++) {
        assert_gv_ok(gv_recv(&m, GV_NOWAIT));
        assert_int_equal(msg_seq(&m), want[i]);
        gv_msg_free(&m);
    }
    assert_gv_err(gv_recv_tags(NULL, t3, 1, GV_NOWAIT), GV_EINVAL);
    assert_gv_err(gv_recv_tags(&m, NULL, 1, GV_NOWAIT), GV_EINVAL);
    gv_shutdown();
}

static bool
match_odd_seq(const gv_msg *m, void *arg)
{
    int *calls = arg;
    (*calls)++;
    return m->tag >= 0 && msg_seq(m) % 2 == 1;
}

static bool
match_from(const gv_msg *m, void *arg)
{
    return m->from == *(gv_id *)arg;
}

static void
test_recv_match_selects_by_callback_and_keeps_the_rest_in_order(void **state)
{
    (void)state;
    gv_id me = gv_self();
    for (int i = 0; i < 6; i++)
        assert_gv_ok(send_seq(me, 7, i * 2, GV_NOWAIT)); /* all even */
    assert_gv_ok(send_seq(me, 7, 13, GV_NOWAIT));
    assert_gv_ok(send_seq(me, 7, 20, GV_NOWAIT));
    assert_gv_ok(send_seq(me, 7, 15, GV_NOWAIT));
    int calls = 0;
    gv_msg m;
    assert_gv_ok(gv_recv_match(&m, match_odd_seq, &calls, GV_NOWAIT));
    assert_int_equal(msg_seq(&m), 13);
    assert_true(calls >= 7); /* the callback saw the earlier ones */
    gv_msg_free(&m);
    assert_gv_ok(gv_recv_match(&m, match_odd_seq, &calls, GV_NOWAIT));
    assert_int_equal(msg_seq(&m), 15);
    gv_msg_free(&m);
    assert_gv_err(gv_recv_match(&m, match_odd_seq, &calls, GV_NOWAIT),
                  GV_ETIMEDOUT);
    gv_id nobody = made_up_id;
    assert_gv_err(gv_recv_match(&m, match_from, &nobody, GV_NOWAIT),
                  GV_ETIMEDOUT);
    static const int want[] = {0, 2, 4, 6, 8, 10, 20};
    for (size_t i = 0; i < NELEM(want); i++) {
        assert_gv_ok(gv_recv_match(&m, match_from, &me, GV_NOWAIT));
        assert_int_equal(msg_seq(&m), want[i]);
        gv_msg_free(&m);
    }
    assert_gv_err(gv_recv_match(&m, NULL, NULL, GV_NOWAIT), GV_EINVAL);
    gv_shutdown();
}

static void *
wait_for_go(void *arg)
{
    rec *r = &R[(intptr_t)arg];
    static const int tags[] = {TAG_GO};
    gv_msg m;
    r->rc[0] = gv_recv_tags(&m, tags, 1, gv_deadline(5000));
    if (r->rc[0] == 0) {
        r->tag[0] = m.tag;
        r->seq[r->nseq++] = msg_seq(&m);
        gv_msg_free(&m);
    }
    r->done = 1;
    /* then everything else, in order */
    drain_into(r);
    return NULL;
}

static void
test_a_parked_selective_receive_wakes_only_for_a_match(void **state)
{
    (void)state;
    reset_recorders();
    gv_id a;
    assert_gv_id(a = gv_spawn(wait_for_go, (void *)0));
    assert_gv_ok(gv_sleep(0));
    for (int i = 1; i <= 3; i++) {
        assert_gv_ok(send_seq(a, i, i, GV_NOWAIT));
        assert_gv_ok(gv_sleep(2));
        assert_int_equal(R[0].done, 0); /* not woken for a non-match */
    }
    assert_gv_ok(send_seq(a, TAG_GO, 100, GV_NOWAIT));
    assert_gv_ok(gv_join(a, gv_deadline(5000)));
    assert_gv_ok(R[0].rc[0]);
    assert_int_equal(R[0].tag[0], TAG_GO);
    assert_int_equal(R[0].nseq, 4);
    assert_int_equal(R[0].seq[0], 100);
    assert_int_equal(R[0].seq[1], 1);
    assert_int_equal(R[0].seq[2], 2);
    assert_int_equal(R[0].seq[3], 3);
    gv_release(a);
    gv_shutdown();
}

static void
test_a_parked_selective_receive_survives_drop_oldest_under_it(void **state)
{
    (void)state;
    reset_recorders();
    gv_spawn_opts o = {.mailbox_capacity = 2,
                       .overflow = GV_OVERFLOW_DROP_OLDEST};
    gv_id a;
    assert_gv_id(a = gv_spawn_ex(wait_for_go, (void *)0, &o));
    assert_gv_ok(gv_sleep(0));
    /* each step lets the receiver rescan and park again, remembering
     * how far it got; the drops remove what it had looked at */
    for (int i = 1; i <= 6; i++) {
        assert_gv_ok(send_seq(a, 1, i, GV_NOWAIT));
        assert_gv_ok(gv_sleep(1));
        assert_int_equal(R[0].done, 0);
    }
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(a, &info));
    assert_int_equal(info.len, 2);
    assert_int_equal(info.dropped, 4);
    assert_gv_ok(send_seq(a, TAG_GO, 100, GV_NOWAIT)); /* drops 5 */
    assert_gv_ok(gv_join(a, gv_deadline(5000)));
    assert_gv_ok(R[0].rc[0]);
    assert_int_equal(R[0].nseq, 2);
    assert_int_equal(R[0].seq[0], 100);
    assert_int_equal(R[0].seq[1], 6);
    gv_release(a);
    gv_shutdown();
}

static void *
trap_and_wait_for_go(void *arg)
{
    gv_trap_exit(true);
    return wait_for_go(arg);
}

static void
test_a_parked_selective_receive_wakes_for_a_system_message(void **state)
{
    (void)state;
    reset_recorders();
    gv_id a;
    assert_gv_id(a = gv_spawn(trap_and_wait_for_go, (void *)0));
    assert_gv_ok(gv_sleep(1));
    assert_gv_ok(send_seq(a, 1, 1, GV_NOWAIT));
    assert_gv_ok(gv_sleep(1));
    assert_int_equal(R[0].done, 0);
    /* an exit signal from main, trapped: a GV_MSG_EXIT ends the wait */
    assert_gv_ok(gv_exit_signal(a, GV_EPERM));
    assert_gv_ok(gv_join(a, gv_deadline(5000)));
    assert_gv_ok(R[0].rc[0]);
    assert_int_equal(R[0].tag[0], GV_MSG_EXIT);
    assert_int_equal(R[0].nseq, 2);
    assert_int_equal(R[0].seq[1], 1); /* the skipped one is still there */
    gv_shutdown();
}

struct monitor_wait {
    gv_id target;
    int64_t ref;
};

static void *
monitor_and_wait_for_go(void *arg)
{
    struct monitor_wait *mw = arg;
    R[2].rc[1] = gv_monitor(mw->target, &mw->ref);
    return wait_for_go((void *)2);
}

static void
test_a_parked_selective_receive_wakes_for_a_down(void **state)
{
    (void)state;
    reset_recorders();
    gv_id v, a;
    assert_gv_id(v = gv_spawn(recv_until_killed, (void *)0));
    struct monitor_wait mw = {v, 0};
    assert_gv_id(a = gv_spawn(monitor_and_wait_for_go, &mw));
    assert_gv_ok(gv_sleep(1));
    assert_int_equal(R[2].done, 0);
    assert_gv_ok(gv_kill(v, gv_deadline(5000)));
    assert_gv_ok(gv_join(a, gv_deadline(5000)));
    assert_gv_ok(R[2].rc[1]);
    assert_gv_ok(R[2].rc[0]);
    assert_int_equal(R[2].tag[0], GV_MSG_DOWN);
    gv_shutdown();
}

static void
test_blocked_senders_are_let_in_in_the_order_they_blocked(void **state)
{
    (void)state;
    reset_recorders();
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED,
                       .mailbox_capacity = 1,
                       .overflow = GV_OVERFLOW_BLOCK};
    struct recv_n rn = {0, 4};
    gv_id r;
    assert_gv_id(r = gv_spawn_ex(recv_n_body, &rn, &o));
    assert_gv_ok(send_seq(r, 1, 0, GV_NOWAIT));
    struct blocked_send bs[3];
    gv_id s[3];
    for (int i = 0; i < 3; i++) {
        bs[i] = (struct blocked_send){r, i + 1, i + 1, -1};
        assert_gv_id(s[i] = gv_spawn(blocked_sender, &bs[i]));
        assert_gv_ok(gv_sleep(1)); /* s[i] blocks before s[i + 1] */
    }
    assert_gv_ok(gv_start(r));
    assert_gv_ok(gv_join(r, gv_deadline(5000)));
    assert_int_equal(gv_joinall(s, 3, 0, gv_deadline(5000)), 3);
    assert_int_equal(R[0].nseq, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(R[0].seq[i], i);
    for (int i = 0; i < 3; i++)
        assert_gv_ok(R[i + 1].rc[0]);
    gv_shutdown();
}

static void *
unbound_later(void *arg)
{
    (void)arg;
    R[0].rc[0] = gv_sleep(20);
    R[0].rc[1] = gv_mailbox_set(0, GV_OVERFLOW_BLOCK);
    R[0].rc[2] = gv_sleep(20);
    gv_mailbox_info info;
    gv_mailbox_inspect(gv_self(), &info);
    R[0].len[0] = info.len; /* the blocked sender got in meanwhile */
    drain_into(&R[0]);
    return NULL;
}

static void
test_raising_the_capacity_lets_blocked_senders_in(void **state)
{
    (void)state;
    reset_recorders();
    gv_spawn_opts o = {.mailbox_capacity = 1, .overflow = GV_OVERFLOW_BLOCK};
    gv_id r;
    assert_gv_id(r = gv_spawn_ex(unbound_later, NULL, &o));
    assert_gv_ok(send_seq(r, 1, 1, GV_NOWAIT));
    struct blocked_send bs = {r, 2, 1, -1};
    gv_id s;
    assert_gv_id(s = gv_spawn(blocked_sender, &bs));
    assert_gv_ok(gv_join(s, gv_deadline(5000)));
    assert_gv_ok(R[1].rc[0]);
    assert_gv_ok(gv_join(r, gv_deadline(5000)));
    assert_gv_ok(R[0].rc[1]);
    assert_int_equal(R[0].len[0], 2);
    assert_int_equal(R[0].nseq, 2);
    assert_int_equal(R[0].seq[0], 1);
    assert_int_equal(R[0].seq[1], 2);
    gv_shutdown();
}

/* ------------------------------------------------------ the system lane */

static void *
fail_with(void *arg)
{
    gv_exit((int)(intptr_t)arg, "failed on purpose");
}

static void
expect_down(gv_msg *m, gv_id from, int reason, int64_t ref)
{
    assert_int_equal(m->tag, GV_MSG_DOWN);
    assert_int_equal(m->from, from);
    assert_int_equal(m->reason, reason);
    assert_int_equal(m->ref, ref);
    gv_msg_free(m);
}

static void
test_system_messages_come_first_and_are_never_skipped(void **state)
{
    (void)state;
    gv_id me = gv_self();
    assert_gv_ok(send_seq(me, 1, 1, GV_NOWAIT));
    assert_gv_ok(send_seq(me, 2, 2, GV_NOWAIT));
    gv_id v[3];
    int64_t ref[3];
    for (int i = 0; i < 3; i++) {
        assert_gv_id(v[i] = gv_spawn(fail_with, (void *)(intptr_t)GV_EPERM));
        assert_gv_ok(gv_monitor(v[i], &ref[i]));
        assert_gv_ok(gv_join(v[i], gv_deadline(5000)));
    }
    assert_true(ref[0] != ref[1] && ref[1] != ref[2] && ref[0] != ref[2]);
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.len, 2);
    assert_int_equal(info.system_len, 3);
    gv_msg m;
    /* a selective receive that matches no user message still gets DOWN */
    static const int t99[] = {99};
    assert_gv_ok(gv_recv_tags(&m, t99, 1, GV_NOWAIT));
    expect_down(&m, v[0], GV_EPERM, ref[0]);
    assert_gv_ok(gv_recv_match(&m, match_nothing, NULL, GV_NOWAIT));
    expect_down(&m, v[1], GV_EPERM, ref[1]);
    /* a plain receive takes the system lane before older user messages */
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    expect_down(&m, v[2], GV_EPERM, ref[2]);
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(msg_seq(&m), 1);
    gv_msg_free(&m);
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(msg_seq(&m), 2);
    gv_msg_free(&m);
    for (int i = 0; i < 3; i++)
        gv_release(v[i]);

    /* GV_MSG_EXIT too (a trapped link) */
    assert_int_equal(gv_trap_exit(true), 0);
    assert_gv_ok(send_seq(me, 1, 3, GV_NOWAIT));
    gv_id x;
    assert_gv_id(x = gv_spawn(fail_with, (void *)(intptr_t)GV_EPERM));
    assert_gv_ok(gv_link(x));
    assert_gv_ok(gv_join(x, gv_deadline(5000)));
    assert_gv_ok(gv_recv_tags(&m, t99, 1, gv_deadline(5000)));
    assert_int_equal(m.tag, GV_MSG_EXIT);
    assert_int_equal(m.from, x);
    assert_int_equal(m.reason, GV_EPERM);
    gv_msg_free(&m);
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(msg_seq(&m), 3);
    gv_msg_free(&m);
    assert_int_equal(gv_trap_exit(false), 1);
    gv_release(x);
    gv_shutdown();
}

static void
test_the_system_lane_is_never_bounded_or_dropped(void **state)
{
    (void)state;
    static const int policies[] = {GV_OVERFLOW_FAIL, GV_OVERFLOW_DROP_NEWEST,
                                   GV_OVERFLOW_DROP_OLDEST, GV_OVERFLOW_BLOCK};
    for (size_t p = 0; p < NELEM(policies); p++) {
        gv_id me = gv_self();
        assert_gv_ok(gv_mailbox_set(1, policies[p]));
        assert_gv_ok(send_seq(me, 1, 1, GV_NOWAIT)); /* full now */
        gv_id v[3];
        int64_t ref[3];
        int reasons[3] = {GV_NORMAL, GV_EPERM, GV_KILLED};
        assert_gv_id(v[0] = gv_spawn(return_at_once, NULL));
        assert_gv_id(v[1] = gv_spawn(fail_with, (void *)(intptr_t)GV_EPERM));
        assert_gv_id(v[2] = gv_spawn(return_at_once, NULL));
        for (int i = 0; i < 3; i++)
            assert_gv_ok(gv_monitor(v[i], &ref[i]));
        assert_gv_ok(gv_kill(v[2], GV_NOWAIT));
        assert_int_equal(gv_joinall(v, 3, 0, gv_deadline(5000)), 3);
        gv_mailbox_info info;
        assert_gv_ok(gv_mailbox_inspect(me, &info));
        assert_int_equal(info.len, 1);
        assert_int_equal(info.system_len, 3);
        assert_int_equal(info.dropped, 0);
        gv_msg m;
        int seen[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++) {
            /* v[2] was killed before it ran: its DOWN may come first */
            assert_gv_ok(gv_recv(&m, GV_NOWAIT));
            int i = m.ref == ref[0] ? 0 : m.ref == ref[1] ? 1 : 2;
            seen[i]++;
            expect_down(&m, v[i], reasons[i], ref[i]);
        }
        assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
        assert_gv_ok(gv_recv(&m, GV_NOWAIT));
        assert_int_equal(m.tag, 1);
        assert_int_equal(msg_seq(&m), 1);
        gv_msg_free(&m);
        assert_gv_err(gv_recv(&m, GV_NOWAIT), GV_ETIMEDOUT);
        for (int i = 0; i < 3; i++)
            gv_release(v[i]);
        gv_shutdown();
    }
}

static void
test_spawn_with_a_bad_overflow_policy_is_einval(void **state)
{
    (void)state;
    gv_spawn_opts o = {.mailbox_capacity = 2, .overflow = 42};
    gv_id id = gv_spawn_ex(return_at_once, NULL, &o);
    if (id > 0) {
        gv_mailbox_info info;
        int rc = gv_mailbox_inspect(id, &info);
        print_error("gv_spawn_ex took overflow 42 (inspect: %d, overflow "
                    "%d); gv_mailbox_set refuses it with GV_EINVAL\n",
                    rc, info.overflow);
        gv_kill(id, GV_NOWAIT);
        gv_release(id);
    }
    assert_gv_err(id, GV_EINVAL);
    o.overflow = -1;
    assert_gv_err(gv_spawn_ex(return_at_once, NULL, &o), GV_EINVAL);
    gv_shutdown();
}

static void
test_user_messages_cannot_use_system_tags(void **state)
{
    (void)state;
    gv_id me = gv_self();
    int x = 1;
    assert_gv_err(gv_send(me, GV_MSG_DOWN, &x, sizeof x, GV_NOWAIT), GV_EINVAL);
    assert_gv_err(gv_send(me, GV_MSG_EXIT, &x, sizeof x, GV_NOWAIT), GV_EINVAL);
    assert_gv_err(gv_send(me, -77, &x, sizeof x, GV_NOWAIT), GV_EINVAL);
    assert_gv_err(gv_send_owned(me, GV_MSG_DOWN, &x, sizeof x, NULL, GV_NOWAIT),
                  GV_EINVAL);
    assert_gv_err(gv_send(me, 1, NULL, 4, GV_NOWAIT), GV_EINVAL);
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.len, 0);
    assert_int_equal(info.system_len, 0);
    gv_shutdown();
}

/* ------------------------------------------------ dead and stale actors */

static void
test_sending_to_a_dead_or_unknown_actor_is_enoent(void **state)
{
    (void)state;
    gv_id done;
    assert_gv_id(done = gv_spawn(return_at_once, NULL));
    assert_gv_ok(gv_join(done, gv_deadline(5000)));
    /* finished but still held: dead all the same */
    assert_gv_err(send_seq(done, 1, 1, GV_NOWAIT), GV_ENOENT);
    assert_gv_err(send_seq(done, 1, 1, GV_FOREVER), GV_ENOENT);
    assert_gv_ok(gv_release(done));
    /* released: the id is stale */
    assert_gv_err(send_seq(done, 1, 1, GV_NOWAIT), GV_ENOENT);
    gv_mailbox_info info;
    assert_gv_err(gv_mailbox_inspect(done, &info), GV_ENOENT);
    assert_gv_err(send_seq(made_up_id, 1, 1, GV_NOWAIT), GV_ENOENT);
    assert_gv_err(gv_mailbox_inspect(made_up_id, &info), GV_ENOENT);
    int r0 = send_seq(0, 1, 1, GV_NOWAIT);
    assert_true(r0 == GV_ENOENT || r0 == GV_EINVAL);
    int rn = send_seq(-5, 1, 1, GV_NOWAIT);
    assert_true(rn == GV_ENOENT || rn == GV_EINVAL);

    /* the slot is reused by a new actor: the old id must not reach it */
    gv_id fresh[8];
    for (int i = 0; i < 8; i++)
        assert_gv_id(fresh[i] = spawn_unstarted_box(0, 0, 0));
    assert_gv_err(send_seq(done, 1, 1, GV_NOWAIT), GV_ENOENT);
    for (int i = 0; i < 8; i++) {
        assert_true(fresh[i] != done);
        assert_gv_ok(gv_mailbox_inspect(fresh[i], &info));
        assert_int_equal(info.len, 0);
        assert_gv_ok(gv_kill(fresh[i], GV_NOWAIT));
        gv_release(fresh[i]);
    }
    gv_shutdown();
}

static void *
exit_without_reading(void *arg)
{
    int how = (int)(intptr_t)arg;
    if (how == 1)
        gv_exit(GV_EPERM, "leaving mail behind");
    if (how == 2)
        gv_sleep(60000); /* killed */
    return NULL;
}

static void
test_messages_left_in_a_dead_actors_mailbox_are_freed(void **state)
{
    (void)state;
    /* the counting allocator shows grove's copies are freed too */
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    atomic_store(&owned_frees, 0);
    int expected_frees = 0;
    for (int how = 0; how < 4; how++) {
        gv_spawn_opts o = {.flags = how == 3 ? GV_SPAWN_UNSTARTED : 0};
        gv_id a;
        assert_gv_id(
            a = gv_spawn_ex(exit_without_reading, (void *)(intptr_t)how, &o));
        /* it has not run yet: all of this is left behind */
        for (int i = 0; i < 5; i++) {
            char *p = malloc(100);
            assert_non_null(p);
            assert_gv_ok(gv_send_owned(a, 1, p, 100, count_free, GV_NOWAIT));
            expected_frees++;
        }
        char big[500];
        memset(big, 'b', sizeof big);
        for (int i = 0; i < 5; i++) {
            assert_gv_ok(gv_send(a, 2, big, sizeof big, GV_NOWAIT));
            assert_gv_ok(gv_send(a, 2, big, 8, GV_NOWAIT));
        }
        if (how == 2) {
            assert_gv_ok(gv_sleep(1));
            assert_gv_ok(gv_kill(a, gv_deadline(5000)));
        } else if (how == 3) {
            assert_gv_ok(gv_kill(a, gv_deadline(5000))); /* never ran */
        } else {
            assert_gv_ok(gv_join(a, gv_deadline(5000)));
        }
        gv_release(a);
        assert_int_equal(atomic_load(&owned_frees), expected_frees);
    }
    gv_shutdown();
    assert_int_equal(gvt_alloc_live(), 0);
    assert_gv_ok(gv_set_allocator(NULL));
}

static void
test_messages_left_at_shutdown_are_freed(void **state)
{
    (void)state;
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    atomic_store(&owned_frees, 0);
    gv_id me = gv_self();
    gv_id a;
    assert_gv_id(a = spawn_unstarted_box(0, 0, 0));
    char big[300] = {0};
    for (int i = 0; i < 3; i++) {
        char *p = malloc(10);
        assert_non_null(p);
        assert_gv_ok(gv_send_owned(a, 1, p, 10, count_free, GV_NOWAIT));
        p = malloc(10);
        assert_non_null(p);
        assert_gv_ok(gv_send_owned(me, 1, p, 10, count_free, GV_NOWAIT));
        assert_gv_ok(gv_send(a, 1, big, sizeof big, GV_NOWAIT));
        assert_gv_ok(gv_send(me, 1, big, sizeof big, GV_NOWAIT));
    }
    int64_t ref;
    assert_gv_ok(gv_monitor(a, &ref));
    gv_shutdown();
    assert_int_equal(atomic_load(&owned_frees), 6);
    assert_int_equal(gvt_alloc_live(), 0);
    assert_gv_ok(gv_set_allocator(NULL));
}

/* ------------------------------------------------- out-of-memory sweep */

#define MAX_SWEEP 3000
#define CHILD_MS (4000 * GVT_SLOW)

static int bad;
static char bad_what[256];
static int owned_made; /* owned payloads the caller handed over */

static void
expect(const char *what, long long got, long long want)
{
    if (got == want || got == GV_ENOMEM)
        return;
    if (!bad)
        snprintf(bad_what, sizeof bad_what, "%s returned %lld (%s), want %lld",
                 what, got, gv_err_name((int)got), want);
    bad = 1;
}

static void
flag(const char *what)
{
    if (!bad)
        snprintf(bad_what, sizeof bad_what, "%s", what);
    bad = 1;
}

static int echo_ok;  /* replies the echo actor sent */
static int echo_bad; /* a call of the echo actor went wrong */

static void *
oom_echo(void *arg)
{
    (void)arg;
    for (;;) {
        gv_msg m;
        int rc = gv_recv(&m, gv_deadline(10000));
        if (rc == GV_ENOMEM)
            continue;
        if (rc != 0) {
            echo_bad = rc;
            return NULL;
        }
        int tag = m.tag;
        if (tag == 99) {
            gv_msg_free(&m);
            return NULL;
        }
        rc = gv_send(m.from, tag, m.data, m.len, gv_deadline(10000));
        if (rc == 0)
            echo_ok++;
        else if (rc != GV_ENOMEM)
            echo_bad = rc;
        gv_msg_free(&m);
    }
}

static void
send_owned_or_free(gv_id to, int tag, size_t len)
{
    char *p = malloc(len);
    if (p == NULL) {
        flag("malloc");
        return;
    }
    memset(p, 'o', len);
    owned_made++;
    int rc = gv_send_owned(to, tag, p, len, count_free, gv_deadline(10000));
    expect("gv_send_owned", rc, 0);
    if (rc != 0)
        count_free(p); /* still the caller's */
}

/* join_retry joins id; a join that failed for want of memory (the timer
 * heap could not grow) is tried again: only one allocation fails. */
static int
join_retry(gv_id id)
{
    int rc = GV_ENOMEM;
    for (int i = 0; i < 3 && rc == GV_ENOMEM; i++)
        rc = gv_join(id, gv_deadline(20000));
    return rc;
}

static int
oom_program(void)
{
    bad = 0;
    bad_what[0] = '\0';
    echo_ok = echo_bad = 0;
    owned_made = 0;
    atomic_store(&owned_frees, 0);
    gv_id me = gv_self();
    if (me < 0) { /* grove itself could not start: try again */
        expect("gv_self", me, 0);
        me = gv_self();
        if (me < 0) {
            flag("gv_self failed twice");
            return bad;
        }
    }
    char big[200];
    memset(big, 'x', sizeof big);
    char small[16] = "small";
    gv_msg m = {0};
    int rc;

    /* First, before any message exists: a monitor and a trapped link that
     * were set must deliver their DOWN and EXIT. */
    gv_id q = gv_spawn(return_at_once, NULL);
    if (q < 0) {
        expect("gv_spawn(q)", q, 0);
    } else {
        int64_t ref = 0;
        int mon = gv_monitor(q, &ref);
        expect("gv_monitor(q)", mon, 0);
        int trap = gv_trap_exit(true);
        expect("gv_trap_exit", trap, 0);
        int lk = trap == 0 ? gv_link(q) : GV_ENOMEM;
        expect("gv_link(q)", lk, 0);
        expect("gv_join(q)", join_retry(q), 0);
        int downs = 0, exits = 0;
        while ((rc = gv_recv(&m, GV_NOWAIT)) == 0) {
            if (m.tag == GV_MSG_DOWN && m.ref == ref && m.from == q)
                downs++;
            else if (m.tag == GV_MSG_EXIT && m.from == q &&
                     m.reason == GV_NORMAL)
                exits++;
            else
                flag("an unexpected message");
            gv_msg_free(&m);
        }
        expect("gv_recv(q)", rc, GV_ETIMEDOUT);
        if (mon == 0 && downs != 1)
            flag("a monitor that was set delivered no DOWN (first)");
        if (lk == 0 && exits != 1)
            flag("a trapped link that was set delivered no EXIT");
        if (trap == 0)
            gv_trap_exit(false);
        gv_release(q);
    }

    gv_id e = gv_spawn(oom_echo, NULL);
    if (e < 0) {
        expect("gv_spawn(echo)", e, 0);
    } else {
        int64_t ref = 0;
        int mon = gv_monitor(e, &ref);
        expect("gv_monitor", mon, 0);
        expect("gv_send(small)",
               gv_send(e, 1, small, sizeof small, gv_deadline(10000)), 0);
        expect("gv_send(big)",
               gv_send(e, 2, big, sizeof big, gv_deadline(10000)), 0);
        send_owned_or_free(e, 3, 64);
        send_owned_or_free(e, 4, 8);
        rc = GV_ENOMEM;
        for (int i = 0; i < 3 && rc == GV_ENOMEM; i++)
            rc = gv_send(e, 99, NULL, 0, gv_deadline(10000));
        expect("gv_send(stop)", rc, 0);
        expect("gv_join(echo)", join_retry(e), 0);
        if (echo_bad)
            flag("the echo actor saw an unexpected error");
        /* every reply it sent, and the DOWN if the monitor was set */
        int replies = 0, downs = 0;
        while ((rc = gv_recv(&m, GV_NOWAIT)) == 0) {
            if (m.tag == GV_MSG_DOWN) {
                downs++;
                if (m.ref != ref || m.from != e || m.reason != GV_NORMAL)
                    flag("a DOWN with wrong fields");
            } else {
                replies++;
            }
            gv_msg_free(&m);
        }
        expect("gv_recv(drain)", rc, GV_ETIMEDOUT);
        if (replies != echo_ok)
            flag("a reply was lost");
        if (mon == 0 && downs != 1)
            flag("a monitor that was set delivered no DOWN");
        gv_release(e);
    }

    /* selective receive on main's own mailbox */
    expect("gv_send(self,1)", gv_send(me, 1, big, sizeof big, GV_NOWAIT), 0);
    expect("gv_send(self,2)", gv_send(me, 2, small, 4, GV_NOWAIT), 0);
    static const int t2[] = {2};
    rc = gv_recv_tags(&m, t2, 1, GV_NOWAIT);
    if (rc != GV_ETIMEDOUT) /* the send may have failed */
        expect("gv_recv_tags", rc, 0);
    gv_msg_free(&m);
    while (gv_recv(&m, GV_NOWAIT) == 0)
        gv_msg_free(&m);

    /* a bounded mailbox dropping the oldest */
    expect("gv_mailbox_set", gv_mailbox_set(1, GV_OVERFLOW_DROP_OLDEST), 0);
    send_owned_or_free(me, 1, 32);
    send_owned_or_free(me, 1, 32);
    while (gv_recv(&m, GV_NOWAIT) == 0)
        gv_msg_free(&m);
    expect("gv_mailbox_set(0)", gv_mailbox_set(0, GV_OVERFLOW_BLOCK), 0);

    /* mail left behind in an actor that never reads it */
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED};
    gv_id lazy = gv_spawn_ex(return_at_once, NULL, &o);
    if (lazy < 0) {
        expect("gv_spawn_ex(lazy)", lazy, 0);
    } else {
        send_owned_or_free(lazy, 1, 40);
        expect("gv_send(lazy)", gv_send(lazy, 1, big, sizeof big, GV_NOWAIT),
               0);
        expect("gv_start", gv_start(lazy), 0);
        expect("gv_join(lazy)", join_retry(lazy), 0);
        gv_release(lazy);
    }
    /* a dead id, with an owned payload that stays the caller's */
    char *p = malloc(8);
    owned_made++;
    rc = gv_send_owned(made_up_id, 1, p, 8, count_free, GV_NOWAIT);
    expect("gv_send_owned(stale)", rc, GV_ENOENT);
    if (rc != 0)
        count_free(p);
    return bad;
}

static int
oom_child(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (gvt_oom_install(n, 0) != 0)
        return GVT_RUN_SETUP;
    int b = oom_program();
    gv_shutdown();
    int v = gvt_oom_verdict(n, b, bad_what);
    if ((v == GVT_RUN_OK_INJECTED || v == GVT_RUN_OK_CLEAN) &&
        atomic_load(&owned_frees) != owned_made) {
        fprintf(stderr, "N=%ld: %d owned payloads, %d freed\n", n, owned_made,
                atomic_load(&owned_frees));
        return GVT_RUN_LEAK;
    }
    return v;
}

static void
test_every_allocation_failure_is_enomem_and_nothing_leaks(void **state)
{
    (void)state;
    gvt_oom_sweep(oom_child, MAX_SWEEP, CHILD_MS);
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
    assert_int_equal(echo_ok, 4);
    gv_shutdown();
    assert_int_equal(gvt_alloc_live(), 0);
    assert_int_equal(atomic_load(&owned_frees), owned_made);
    assert_gv_ok(gv_set_allocator(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_send_and_recv_round_trip_between_actors),
        T(test_small_payloads_travel_inline_and_are_copied),
        T(test_large_payloads_are_copied_to_the_heap),
        T(test_send_owned_hands_over_the_buffer_and_free_runs_once),
        T(test_a_failed_owned_send_leaves_the_buffer_with_the_caller),
        T(test_each_senders_messages_arrive_in_order),
        T(test_recv_times_out_at_its_deadline),
        T(test_msg_free_is_safe_on_a_message_that_failed_to_arrive),
        T(test_recv_of_a_killed_actor_returns_ecanceled),
        T(test_fail_policy_refuses_with_efull),
        T(test_drop_newest_policy_keeps_the_first_messages),
        T(test_drop_oldest_policy_keeps_the_last_messages),
        T(test_block_policy_makes_the_sender_wait_for_room),
        T(test_a_sender_blocked_on_a_full_mailbox_can_be_killed),
        T(test_blocked_senders_get_enoent_when_the_receiver_dies),
        T(test_spawn_options_and_mailbox_set_bound_the_mailbox),
        T(test_high_water_is_the_most_ever_queued),
        T(test_shutdown_gives_main_a_fresh_mailbox),
        T(test_recv_tags_takes_the_oldest_match_and_keeps_the_rest_in_order),
        T(test_recv_match_selects_by_callback_and_keeps_the_rest_in_order),
        T(test_a_parked_selective_receive_wakes_only_for_a_match),
        T(test_a_parked_selective_receive_survives_drop_oldest_under_it),
        T(test_a_parked_selective_receive_wakes_for_a_system_message),
        T(test_a_parked_selective_receive_wakes_for_a_down),
        T(test_blocked_senders_are_let_in_in_the_order_they_blocked),
        T(test_raising_the_capacity_lets_blocked_senders_in),
        T(test_system_messages_come_first_and_are_never_skipped),
        T(test_the_system_lane_is_never_bounded_or_dropped),
        T(test_spawn_with_a_bad_overflow_policy_is_einval),
        T(test_user_messages_cannot_use_system_tags),
        T(test_sending_to_a_dead_or_unknown_actor_is_enoent),
        T(test_messages_left_in_a_dead_actors_mailbox_are_freed),
        T(test_messages_left_at_shutdown_are_freed),
        T(test_a_clean_run_of_the_oom_program_frees_everything),
        T(test_every_allocation_failure_is_enomem_and_nothing_leaks),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
