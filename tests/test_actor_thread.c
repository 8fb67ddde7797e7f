/*
 * test_actor_thread.c — sends from threads grove does not run: many
 * producers into one mailbox with nothing lost, duplicated or reordered;
 * wake-ups of parked receivers; drops (to the dead, into a full mailbox)
 * that crash nothing and leak nothing; GV_ETHREAD for the rest.
 *
 * Actor bodies never assert (cmocka longjmps off the green thread's
 * stack): they record into statics and each test asserts on main's stack
 * after the joins. Every test ends with gv_shutdown().
 */
#include "gv_test.h"

#include <pthread.h>
#include <unistd.h>

#define NTHREADS 4
#define PER_THREAD 100000
#define WAIT_MS (60000 * GVT_SLOW)

typedef struct payload {
    uint32_t thread;
    uint32_t seq;
} payload;

/* ------------------------------------------------------------ threads */

typedef struct sender {
    pthread_t th;
    gv_id to;
    uint32_t index;
    uint32_t count;
    int delay_ms;  /* before the first send */
    int owned;     /* gv_send_owned with count_free */
    size_t extra;  /* payload bytes beyond the header (heap copies) */
    int errors;    /* sends that did not return 0 */
    int first_err; /* the first such return */
    pthread_barrier_t *start;
} sender;

static atomic_int owned_frees;

static void
count_free(void *p)
{
    atomic_fetch_add(&owned_frees, 1);
    free(p);
}

static void *
sender_main(void *arg)
{
    sender *s = arg;
    if (s->start != NULL)
        pthread_barrier_wait(s->start);
    if (s->delay_ms > 0)
        usleep((useconds_t)s->delay_ms * 1000);
    size_t len = sizeof(payload) + s->extra;
    unsigned char buf[256];
    for (uint32_t i = 0; i < s->count; i++) {
        payload p = {s->index, i};
        int rc;
        if (s->owned) {
            unsigned char *h = malloc(len);
            memset(h, 0, len);
            memcpy(h, &p, sizeof p);
            rc = gv_send_owned(s->to, 1, h, len, count_free, GV_FOREVER);
            if (rc != 0)
                free(h);
        } else {
            memset(buf, 0, len);
            memcpy(buf, &p, sizeof p);
            rc = gv_send(s->to, 1, buf, len, GV_FOREVER);
        }
        if (rc != 0 && s->errors++ == 0)
            s->first_err = rc;
    }
    return NULL;
}

static void
start_sender(sender *s)
{
    assert_int_equal(pthread_create(&s->th, NULL, sender_main, s), 0);
}

/* ---------------------------------------------------------- the receiver */

typedef struct tally {
    uint64_t total;
    uint64_t sum;
    uint32_t next[NTHREADS];
    uint64_t order_errors;
    uint64_t bad; /* wrong from, tag, len or thread */
    int rc;       /* a receive that failed */
    uint64_t target;
} tally;

static tally T;

static void *
count_messages(void *arg)
{
    (void)arg;
    while (T.total < T.target) {
        gv_msg m;
        int rc = gv_recv(&m, gv_deadline(WAIT_MS));
        if (rc != 0) {
            T.rc = rc;
            break;
        }
        payload p;
        if (m.len != sizeof p || m.tag != 1 || m.from != 0) {
            T.bad++;
        } else {
            memcpy(&p, m.data, sizeof p);
            if (p.thread >= NTHREADS) {
                T.bad++;
            } else {
                if (p.seq != T.next[p.thread])
                    T.order_errors++;
                T.next[p.thread] = p.seq + 1;
                T.sum += (uint64_t)p.thread * 1000003u + p.seq;
            }
        }
        T.total++;
        gv_msg_free(&m);
    }
    return NULL;
}

static void
test_four_threads_send_100000_each_nothing_lost_or_reordered(void **state)
{
    (void)state;
    memset(&T, 0, sizeof T);
    T.target = (uint64_t)NTHREADS * PER_THREAD;
    gv_id r;
    assert_gv_id(r = gv_spawn(count_messages, NULL));
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, NTHREADS);
    sender s[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        s[i] = (sender){.to = r,
                        .index = (uint32_t)i,
                        .count = PER_THREAD,
                        .start = &start};
        start_sender(&s[i]);
    }
    int64_t t0 = gvt_mono_ms();
    int jr = gv_join(r, gv_deadline(WAIT_MS));
    int64_t dt = gvt_mono_ms() - t0;
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(s[i].th, NULL);
    pthread_barrier_destroy(&start);
    print_message("%llu messages from %d threads in %lld ms\n",
                  (unsigned long long)T.total, NTHREADS, (long long)dt);
    assert_gv_ok(jr);
    assert_gv_ok(T.rc);
    uint64_t want_sum = 0;
    for (uint64_t t = 0; t < NTHREADS; t++) {
        assert_int_equal(s[t].errors, 0);
        assert_int_equal(T.next[t], PER_THREAD);
        want_sum += t * 1000003u * PER_THREAD +
                    (uint64_t)PER_THREAD * (PER_THREAD - 1) / 2;
    }
    assert_int_equal(T.total, T.target);
    assert_int_equal(T.bad, 0);
    assert_int_equal(T.order_errors, 0);
    assert_int_equal(T.sum, want_sum);
    /* nothing extra is queued either */
    gv_mailbox_info info;
    assert_gv_err(gv_mailbox_inspect(r, &info), GV_ENOENT); /* finished */
    gv_release(r);
    gv_shutdown();
}

/* ------------------------------------------------------------ wake-ups */

typedef struct waiter_rec {
    int rc;
    int64_t ms;
    gv_id from;
    payload p;
} waiter_rec;

static waiter_rec W[4];

static void *
recv_one(void *arg)
{
    waiter_rec *w = &W[(intptr_t)arg];
    int64_t t0 = gvt_mono_ms();
    gv_msg m;
    w->rc = gv_recv(&m, gv_deadline(WAIT_MS));
    w->ms = gvt_mono_ms() - t0;
    if (w->rc == 0) {
        w->from = m.from;
        if (m.len >= sizeof w->p)
            memcpy(&w->p, m.data, sizeof w->p);
        gv_msg_free(&m);
    }
    return NULL;
}

static void *
recv_tagged(void *arg)
{
    waiter_rec *w = &W[(intptr_t)arg];
    static const int tags[] = {1};
    int64_t t0 = gvt_mono_ms();
    gv_msg m;
    w->rc = gv_recv_tags(&m, tags, 1, gv_deadline(WAIT_MS));
    w->ms = gvt_mono_ms() - t0;
    if (w->rc == 0) {
        w->from = m.from;
        gv_msg_free(&m);
    }
    return NULL;
}

static void
test_a_foreign_send_wakes_a_parked_receiver(void **state)
{
    (void)state;
    memset(W, 0, sizeof W);
    gv_id a, b;
    assert_gv_id(a = gv_spawn(recv_one, (void *)0));
    assert_gv_id(b = gv_spawn(recv_tagged, (void *)1));
    assert_gv_ok(gv_sleep(5)); /* both parked */
    sender s = {.to = a, .index = 3, .count = 1, .delay_ms = 50};
    sender s2 = {.to = b, .index = 2, .count = 1, .delay_ms = 80};
    start_sender(&s);
    start_sender(&s2);
    assert_gv_ok(gv_join(a, gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_join(b, gv_deadline(WAIT_MS)));
    pthread_join(s.th, NULL);
    pthread_join(s2.th, NULL);
    assert_int_equal(s.errors, 0);
    assert_gv_ok(W[0].rc);
    assert_int_equal(W[0].from, 0); /* not sent by an actor */
    assert_int_equal(W[0].p.thread, 3);
    assert_true(W[0].ms >= 30);
    assert_true(W[0].ms < 5000 * GVT_SLOW);
    assert_gv_ok(W[1].rc);
    assert_true(W[1].ms >= 60);
    assert_true(W[1].ms < 5000 * GVT_SLOW);
    gv_shutdown();
}

/* main parks with no deadline while only a thread can send: that is no
 * deadlock (GV_EDEADLK), as with a notifier. In a child: it could hang. */
static int
child_main_recv_forever_woken_by_a_thread(void *arg)
{
    (void)arg;
    sender s = {.to = gv_self(), .index = 1, .count = 1, .delay_ms = 100};
    start_sender(&s);
    gv_msg m;
    int rc = gv_recv(&m, GV_FOREVER);
    pthread_join(s.th, NULL);
    if (rc != 0) {
        fprintf(stderr, "main's gv_recv(GV_FOREVER) returned %s\n",
                gv_err_name(rc));
        return 2;
    }
    gv_msg_free(&m);
    gv_shutdown();
    return 0;
}

static void
test_main_parked_forever_in_recv_is_woken_by_a_thread(void **state)
{
    (void)state;
    char err[4096];
    int st = gvt_run_child(child_main_recv_forever_woken_by_a_thread, NULL,
                           10000, err, sizeof err);
    assert_child_exited_0(st, err);
}

static void *
recv_one_forever(void *arg)
{
    waiter_rec *w = &W[(intptr_t)arg];
    gv_msg m;
    w->rc = gv_recv(&m, GV_FOREVER);
    gv_msg_free(&m);
    return NULL;
}

static int
child_join_forever_a_receiver_only_a_thread_feeds(void *arg)
{
    (void)arg;
    memset(W, 0, sizeof W);
    W[0].rc = 0x5555;
    gv_id r = gv_spawn(recv_one_forever, (void *)0);
    if (r < 0)
        return 3;
    gv_sleep(1);
    sender s = {.to = r, .index = 1, .count = 1, .delay_ms = 100};
    start_sender(&s);
    int rc = gv_join(r, GV_FOREVER);
    pthread_join(s.th, NULL);
    if (rc != 0 || W[0].rc != 0) {
        fprintf(stderr, "gv_join(GV_FOREVER) returned %s, the receive %s\n",
                gv_err_name(rc), gv_err_name(W[0].rc));
        return 2;
    }
    gv_shutdown();
    return 0;
}

static void
test_join_forever_of_a_receiver_only_a_thread_feeds_is_no_deadlock(void **state)
{
    (void)state;
    char err[4096];
    int st = gvt_run_child(child_join_forever_a_receiver_only_a_thread_feeds,
                           NULL, 10000, err, sizeof err);
    assert_child_exited_0(st, err);
}

/* ---------------------------------------------------------------- drops */

static void *
return_at_once(void *arg)
{
    return arg;
}

/* waits (up to 5 s) until cond() holds, letting grove deliver */
static int
wait_until(int (*cond)(void *), void *arg)
{
    int64_t end = gvt_mono_ms() + 5000 * GVT_SLOW;
    while (!cond(arg)) {
        if (gvt_mono_ms() > end)
            return 0;
        gv_sleep(1);
    }
    return 1;
}

static int
frees_reached(void *arg)
{
    return atomic_load(&owned_frees) >= *(int *)arg;
}

static void
test_a_foreign_send_to_a_dead_actor_is_dropped_and_freed(void **state)
{
    (void)state;
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    atomic_store(&owned_frees, 0);
    gv_id finished, released;
    assert_gv_id(finished = gv_spawn(return_at_once, NULL));
    assert_gv_id(released = gv_spawn(return_at_once, NULL));
    assert_gv_ok(gv_join(finished, gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_join(released, gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_release(released));
    const gv_id targets[3] = {finished, released,
                              ((gv_id)0x7ffffff0 << 32) | 2};
    sender s[6];
    for (int i = 0; i < 3; i++) {
        /* copies, inline and on the heap */
        s[i] = (sender){.to = targets[i], .count = 50, .extra = 100 * i};
        /* owned payloads: grove must free each once */
        s[3 + i] = (sender){.to = targets[i], .count = 20, .owned = 1};
    }
    for (int i = 0; i < 6; i++)
        start_sender(&s[i]);
    for (int i = 0; i < 6; i++)
        pthread_join(s[i].th, NULL);
    for (int i = 0; i < 6; i++) {
        if (s[i].errors)
            print_error("sender %d: %d errors, first %s\n", i, s[i].errors,
                        gv_err_name(s[i].first_err));
        assert_int_equal(s[i].errors, 0); /* queued: 0 */
    }
    int want = 60;
    int ok = wait_until(frees_reached, &want);
    print_message("owned payloads freed: %d of 60\n",
                  atomic_load(&owned_frees));
    assert_true(ok);
    assert_gv_ok(gv_sleep(5));
    assert_int_equal(atomic_load(&owned_frees), 60); /* once each */
    /* grove still works */
    gv_msg m;
    assert_gv_ok(gv_send(gv_self(), 2, "x", 1, GV_NOWAIT));
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, 2);
    gv_msg_free(&m);
    gv_release(finished);
    gv_shutdown();
    assert_int_equal(gvt_alloc_live(), 0); /* the copies were freed too */
    assert_gv_ok(gv_set_allocator(NULL));
}

static int
delivered(void *arg)
{
    gv_id id = *(gv_id *)arg;
    gv_mailbox_info info;
    if (gv_mailbox_inspect(id, &info) != 0)
        return 1;
    return info.len + info.dropped >= 10;
}

typedef struct drained {
    int seq[16];
    int n;
} drained;
static drained D;

static void *
drain_seqs(void *arg)
{
    (void)arg;
    gv_msg m;
    while (gv_recv(&m, GV_NOWAIT) == 0) {
        payload p;
        if (D.n < 16 && m.len >= sizeof p) {
            memcpy(&p, m.data, sizeof p);
            D.seq[D.n++] = (int)p.seq;
        }
        gv_msg_free(&m);
    }
    return NULL;
}

static void
test_foreign_sends_into_a_full_mailbox_are_dropped_and_counted(void **state)
{
    (void)state;
    static const int policies[] = {GV_OVERFLOW_BLOCK, GV_OVERFLOW_FAIL,
                                   GV_OVERFLOW_DROP_NEWEST,
                                   GV_OVERFLOW_DROP_OLDEST};
    for (size_t k = 0; k < sizeof policies / sizeof policies[0]; k++) {
        memset(&D, 0, sizeof D);
        atomic_store(&owned_frees, 0);
        gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED,
                           .mailbox_capacity = 2,
                           .overflow = policies[k]};
        gv_id r;
        assert_gv_id(r = gv_spawn_ex(drain_seqs, NULL, &o));
        /* owned payloads: the dropped ones must be freed */
        sender s = {.to = r, .count = 10, .owned = 1};
        start_sender(&s);
        pthread_join(s.th, NULL); /* a thread never blocks on a send */
        assert_int_equal(s.errors, 0);
        assert_true(wait_until(delivered, &r));
        gv_mailbox_info info;
        assert_gv_ok(gv_mailbox_inspect(r, &info));
        print_message("policy %d: len %zu dropped %llu\n", policies[k],
                      info.len, (unsigned long long)info.dropped);
        assert_int_equal(info.len, 2);
        assert_int_equal(info.dropped, 8);
        assert_int_equal(atomic_load(&owned_frees), 8);
        assert_gv_ok(gv_start(r));
        assert_gv_ok(gv_join(r, gv_deadline(WAIT_MS)));
        assert_int_equal(D.n, 2);
        if (policies[k] == GV_OVERFLOW_DROP_OLDEST) {
            assert_int_equal(D.seq[0], 8);
            assert_int_equal(D.seq[1], 9);
        } else {
            assert_int_equal(D.seq[0], 0);
            assert_int_equal(D.seq[1], 1);
        }
        assert_int_equal(atomic_load(&owned_frees), 10);
        gv_release(r);
        gv_shutdown();
    }
}

static void
test_foreign_sends_left_undelivered_at_shutdown_are_freed(void **state)
{
    (void)state;
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    atomic_store(&owned_frees, 0);
    gv_id r;
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED};
    assert_gv_id(r = gv_spawn_ex(return_at_once, NULL, &o));
    sender s[2] = {{.to = r, .count = 30, .extra = 150},
                   {.to = r, .count = 30, .owned = 1}};
    start_sender(&s[0]);
    start_sender(&s[1]);
    pthread_join(s[0].th, NULL);
    pthread_join(s[1].th, NULL);
    /* grove never got to run its loop: all of it is still in flight */
    gv_shutdown();
    assert_int_equal(atomic_load(&owned_frees), 30);
    assert_int_equal(gvt_alloc_live(), 0);
    assert_gv_ok(gv_set_allocator(NULL));
    /* and none of it reaches an actor of the next run with the same id */
    gv_id r2;
    assert_gv_id(r2 = gv_spawn_ex(return_at_once, NULL, &o));
    assert_gv_ok(gv_sleep(5));
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(r2, &info));
    assert_int_equal(info.len, 0);
    gv_kill(r2, GV_NOWAIT);
    gv_shutdown();
}

/* --------------------------------------------------------- GV_ETHREAD */

typedef struct off_thread {
    gv_id target;
    int recv, recv_tags, mailbox_set, link, monitor, reg, whereis, unreg;
    int trap, exit_signal, send_bad;
} off_thread;

static void *
calls_off_thread(void *arg)
{
    off_thread *o = arg;
    gv_msg m;
    static const int tags[] = {1};
    int64_t ref;
    o->recv = gv_recv(&m, GV_NOWAIT);
    o->recv_tags = gv_recv_tags(&m, tags, 1, GV_NOWAIT);
    o->mailbox_set = gv_mailbox_set(1, GV_OVERFLOW_FAIL);
    o->link = gv_link(o->target);
    o->monitor = gv_monitor(o->target, &ref);
    o->reg = gv_register("from-a-thread", o->target);
    o->whereis = (int)gv_whereis("from-a-thread");
    o->unreg = gv_unregister("from-a-thread");
    o->trap = gv_trap_exit(true);
    o->exit_signal = gv_exit_signal(o->target, GV_KILLED);
    o->send_bad = gv_send(o->target, -1, NULL, 0, GV_NOWAIT);
    return NULL;
}

static void
test_other_actor_calls_from_a_thread_are_ethread(void **state)
{
    (void)state;
    gv_id me = gv_self();
    off_thread o = {.target = me};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, calls_off_thread, &o), 0);
    pthread_join(th, NULL);
    assert_gv_err(o.recv, GV_ETHREAD);
    assert_gv_err(o.recv_tags, GV_ETHREAD);
    assert_gv_err(o.mailbox_set, GV_ETHREAD);
    assert_gv_err(o.link, GV_ETHREAD);
    assert_gv_err(o.monitor, GV_ETHREAD);
    assert_gv_err(o.reg, GV_ETHREAD);
    assert_gv_err(o.whereis, GV_ETHREAD);
    assert_gv_err(o.unreg, GV_ETHREAD);
    assert_gv_err(o.trap, GV_ETHREAD);
    assert_gv_err(o.exit_signal, GV_ETHREAD);
    assert_gv_err(o.send_bad, GV_EINVAL);
    /* none of it touched grove's state */
    assert_gv_err(gv_whereis("from-a-thread"), GV_ENOENT);
    assert_int_equal(gv_exit_reason(me), 1);
    gv_mailbox_info info;
    assert_gv_ok(gv_mailbox_inspect(me, &info));
    assert_int_equal(info.capacity, 0);
    assert_int_equal(info.system_len, 0);
    gv_shutdown();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_four_threads_send_100000_each_nothing_lost_or_reordered),
        T(test_a_foreign_send_wakes_a_parked_receiver),
        T(test_main_parked_forever_in_recv_is_woken_by_a_thread),
        T(test_join_forever_of_a_receiver_only_a_thread_feeds_is_no_deadlock),
        T(test_a_foreign_send_to_a_dead_actor_is_dropped_and_freed),
        T(test_foreign_sends_into_a_full_mailbox_are_dropped_and_counted),
        T(test_foreign_sends_left_undelivered_at_shutdown_are_freed),
        T(test_other_actor_calls_from_a_thread_are_ethread),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
