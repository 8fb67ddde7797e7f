/*
 * test_thread.c — foreign threads: notifiers posted from pthreads, and
 * GV_ETHREAD for grove calls made off the scheduler's thread.
 */
#include "gv_test.h"

#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

static int nres[8][4];
static int64_t nms[8];

struct nwait {
    gv_notifier *n;
    int slot;
    int64_t ms;
};

static void *
notifier_wait_task(void *arg)
{
    struct nwait *w = arg;
    int64_t t0 = gvt_mono_ms();
    nres[w->slot][0] =
        gv_notifier_wait(w->n, w->ms < 0 ? GV_FOREVER : gv_deadline(w->ms));
    nms[w->slot] = gvt_mono_ms() - t0;
    return NULL;
}

static void
reset(void)
{
    memset(nres, 0x55, sizeof nres);
    memset(nms, 0, sizeof nms);
}

struct post_later {
    gv_notifier *n;
    int delay_ms;
};

static void *
post_later_thread(void *arg)
{
    struct post_later *p = arg;
    usleep((useconds_t)p->delay_ms * 1000);
    gv_notifier_post(p->n);
    return NULL;
}

static void
test_a_thread_post_wakes_a_waiting_task(void **state)
{
    (void)state;
    reset();
    gv_notifier *n = NULL;
    assert_gv_ok(gv_notifier_new(&n));
    assert_non_null(n);
    struct nwait w = {n, 0, 20000};
    gv_id id;
    assert_gv_id(id = gv_spawn(notifier_wait_task, &w));
    struct post_later p = {n, 20};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, post_later_thread, &p), 0);
    assert_gv_ok(gv_join(id, gv_deadline(20000)));
    pthread_join(th, NULL);
    assert_gv_ok(nres[0][0]);
    assert_true(nms[0] >= 10);
    assert_true(nms[0] < 5000 * GVT_SLOW);
    gv_release(id);
    gv_notifier_free(n);
    gv_shutdown();
}

static void
test_a_post_before_the_wait_is_remembered_once(void **state)
{
    (void)state;
    gv_notifier *n = NULL;
    assert_gv_ok(gv_notifier_new(&n));
    assert_gv_ok(gv_notifier_post(n));
    assert_gv_ok(gv_notifier_wait(n, GV_NOWAIT));
    assert_gv_err(gv_notifier_wait(n, GV_NOWAIT), GV_ETIMEDOUT);
    /* posts coalesce: three posts, one wake */
    assert_gv_ok(gv_notifier_post(n));
    assert_gv_ok(gv_notifier_post(n));
    assert_gv_ok(gv_notifier_post(n));
    assert_gv_ok(gv_notifier_wait(n, gv_deadline(1000)));
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_notifier_wait(n, gv_deadline(20)), GV_ETIMEDOUT);
    assert_true(gvt_mono_ms() - t0 >= 15);
    gv_notifier_free(n);
    gv_notifier_free(NULL);
    gv_shutdown();
}

static void
test_a_second_waiter_gets_ebusy(void **state)
{
    (void)state;
    reset();
    gv_notifier *n = NULL;
    assert_gv_ok(gv_notifier_new(&n));
    struct nwait w0 = {n, 0, 20000}, w1 = {n, 1, 20000};
    gv_id a, b;
    assert_gv_id(a = gv_spawn(notifier_wait_task, &w0));
    assert_gv_id(b = gv_spawn(notifier_wait_task, &w1));
    assert_gv_ok(gv_join(b, gv_deadline(10000)));
    assert_gv_err(nres[1][0], GV_EBUSY);
    assert_gv_ok(gv_notifier_post(n));
    assert_gv_ok(gv_join(a, gv_deadline(10000)));
    assert_gv_ok(nres[0][0]);
    gv_release(a);
    gv_release(b);
    gv_notifier_free(n);
    gv_shutdown();
}

static void
test_kill_wakes_a_notifier_wait_and_the_notifier_still_works(void **state)
{
    (void)state;
    reset();
    gv_notifier *n = NULL;
    assert_gv_ok(gv_notifier_new(&n));
    struct nwait w = {n, 0, -1};
    gv_id id;
    assert_gv_id(id = gv_spawn(notifier_wait_task, &w));
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(gv_kill(id, gv_deadline(10000)));
    assert_gv_err(nres[0][0], GV_ECANCELED);
    gv_release(id);
    /* the killed waiter no longer holds it */
    struct post_later p = {n, 5};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, post_later_thread, &p), 0);
    assert_gv_ok(gv_notifier_wait(n, gv_deadline(10000)));
    pthread_join(th, NULL);
    gv_notifier_free(n);
    gv_shutdown();
}

/* ---------------------------------------------------- ping-pong handshake */

#define PP_THREADS 4
#define PP_ROUNDS 2000

static gv_notifier *pp_n[PP_THREADS];
static sem_t pp_ack[PP_THREADS];
static int pp_task_seen[PP_THREADS];
static int pp_task_err[PP_THREADS];
static int pp_thread_fail[PP_THREADS];

static void *
pp_thread(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (int i = 0; i < PP_ROUNDS; i++) {
        gv_notifier_post(pp_n[k]);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10 * GVT_SLOW;
        int r;
        while ((r = sem_timedwait(&pp_ack[k], &ts)) != 0 && errno == EINTR)
            ;
        if (r != 0) {
            pp_thread_fail[k] = i + 1;
            return NULL;
        }
    }
    return NULL;
}

static void *
pp_task(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (int i = 0; i < PP_ROUNDS; i++) {
        int r = gv_notifier_wait(pp_n[k], gv_deadline(10000 * GVT_SLOW));
        if (r != 0) {
            pp_task_err[k] = r;
            return NULL;
        }
        pp_task_seen[k]++;
        sem_post(&pp_ack[k]);
    }
    return NULL;
}

static void
test_ping_pong_with_four_threads_never_misses_a_post(void **state)
{
    (void)state;
    gv_id ids[PP_THREADS];
    pthread_t th[PP_THREADS];
    for (int k = 0; k < PP_THREADS; k++) {
        assert_gv_ok(gv_notifier_new(&pp_n[k]));
        assert_int_equal(sem_init(&pp_ack[k], 0, 0), 0);
        pp_task_seen[k] = pp_task_err[k] = pp_thread_fail[k] = 0;
        assert_gv_id(ids[k] = gv_spawn(pp_task, (void *)(intptr_t)k));
    }
    for (int k = 0; k < PP_THREADS; k++)
        assert_int_equal(
            pthread_create(&th[k], NULL, pp_thread, (void *)(intptr_t)k), 0);
    int r = gv_joinall(ids, PP_THREADS, 0, gv_deadline(120000));
    for (int k = 0; k < PP_THREADS; k++)
        pthread_join(th[k], NULL);
    for (int k = 0; k < PP_THREADS; k++) {
        if (pp_task_err[k] || pp_thread_fail[k])
            print_error("pair %d: task saw %d posts, its wait failed with "
                        "%s; thread stalled at round %d\n",
                        k, pp_task_seen[k], gv_err_name(pp_task_err[k]),
                        pp_thread_fail[k]);
    }
    assert_int_equal(r, PP_THREADS);
    for (int k = 0; k < PP_THREADS; k++) {
        assert_gv_ok(pp_task_err[k]);
        assert_int_equal(pp_thread_fail[k], 0);
        assert_int_equal(pp_task_seen[k], PP_ROUNDS);
        gv_release(ids[k]);
        gv_notifier_free(pp_n[k]);
        sem_destroy(&pp_ack[k]);
    }
    gv_shutdown();
}

/* --------------------------------------------- a storm of posts, one waiter */

#define STORM_POSTS 20000
static gv_notifier *storm_n;
static atomic_int storm_finished;
static atomic_int storm_done;
static int storm_wakes, storm_err;

static void *
storm_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < STORM_POSTS; i++)
        gv_notifier_post(storm_n);
    if (atomic_fetch_add(&storm_finished, 1) + 1 == PP_THREADS) {
        atomic_store(&storm_done, 1);
        gv_notifier_post(storm_n); /* the last post must be seen */
    }
    return NULL;
}

static void *
storm_task(void *arg)
{
    (void)arg;
    for (;;) {
        int r = gv_notifier_wait(storm_n, gv_deadline(10000 * GVT_SLOW));
        if (r != 0) {
            storm_err = r;
            return NULL;
        }
        storm_wakes++;
        if (atomic_load(&storm_done))
            return NULL;
    }
}

static void
test_a_storm_of_posts_from_four_threads_ends_in_a_wake(void **state)
{
    (void)state;
    assert_gv_ok(gv_notifier_new(&storm_n));
    atomic_store(&storm_finished, 0);
    atomic_store(&storm_done, 0);
    storm_wakes = 0;
    storm_err = 0;
    gv_id id;
    assert_gv_id(id = gv_spawn(storm_task, NULL));
    assert_gv_ok(gv_sleep(1));
    pthread_t th[PP_THREADS];
    for (int k = 0; k < PP_THREADS; k++)
        assert_int_equal(pthread_create(&th[k], NULL, storm_thread, NULL), 0);
    assert_gv_ok(gv_join(id, gv_deadline(60000)));
    for (int k = 0; k < PP_THREADS; k++)
        pthread_join(th[k], NULL);
    print_message("%d posts woke the task %d times\n",
                  PP_THREADS * STORM_POSTS + 1, storm_wakes);
    assert_gv_ok(storm_err);
    assert_true(storm_wakes >= 1);
    assert_true(storm_wakes <= PP_THREADS * STORM_POSTS + 1);
    gv_release(id);
    gv_notifier_free(storm_n);
    gv_shutdown();
}

/* ------------------------------------------------------------- GV_ETHREAD */

static int eth[16];
static gv_notifier *eth_n;
static gv_id eth_task;

static void *
nop(void *arg)
{
    return arg;
}

static void *
foreign_calls(void *arg)
{
    (void)arg;
    int i = 0;
    eth[i++] = (int)gv_spawn(nop, NULL);
    eth[i++] = gv_sleep(1);
    eth[i++] = gv_sleep(0);
    eth[i++] = gv_join(eth_task, GV_NOWAIT);
    eth[i++] = gv_kill(eth_task, GV_NOWAIT);
    gv_notifier *n = NULL;
    eth[i++] = gv_notifier_new(&n);
    eth[i++] = gv_notifier_wait(eth_n, GV_NOWAIT);
    gv_timeout to;
    eth[i++] = gv_timeout_start(&to, 10);
    eth[i++] = gv_wait_fd(0, GV_READABLE, GV_NOWAIT);
    gv_spawn_opts o = {0};
    eth[i++] = (int)gv_spawn_ex(nop, NULL, &o);
    /* marked "any thread" */
    eth[i++] = gv_notifier_post(eth_n);
    return NULL;
}

static void
test_grove_calls_on_a_foreign_thread_give_ethread(void **state)
{
    (void)state;
    memset(eth, 0x55, sizeof eth);
    gv_sleep(0); /* this thread runs grove now */
    assert_gv_ok(gv_notifier_new(&eth_n));
    assert_gv_id(eth_task = gv_spawn(nop, NULL));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, foreign_calls, NULL), 0);
    pthread_join(th, NULL);
    for (int i = 0; i < 10; i++) {
        if (eth[i] != GV_ETHREAD)
            print_error("foreign call %d returned %d (%s)\n", i, eth[i],
                        gv_err_name(eth[i]));
        assert_gv_err(eth[i], GV_ETHREAD);
    }
    assert_gv_ok(eth[10]);
    /* the post from the thread went through */
    assert_gv_ok(gv_notifier_wait(eth_n, gv_deadline(5000)));
    /* and the foreign calls changed nothing */
    assert_gv_ok(gv_join(eth_task, gv_deadline(5000)));
    assert_false(gv_canceled(eth_task));
    assert_true(gv_successful(eth_task));
    gv_release(eth_task);
    gv_notifier_free(eth_n);
    gv_shutdown();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_a_thread_post_wakes_a_waiting_task),
        T(test_a_post_before_the_wait_is_remembered_once),
        T(test_a_second_waiter_gets_ebusy),
        T(test_kill_wakes_a_notifier_wait_and_the_notifier_still_works),
        T(test_ping_pong_with_four_threads_never_misses_a_post),
        T(test_a_storm_of_posts_from_four_threads_ends_in_a_wake),
        T(test_grove_calls_on_a_foreign_thread_give_ethread),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
