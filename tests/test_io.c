/*
 * test_io.c — gv_wait_fd, and fairness between a yielding loop, timers and
 * fds.
 */
#include "gv_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static int fdp[2];
static int wres[8];
static int64_t wms[8];

struct fdwait {
    int slot;
    int fd;
    int events;
    int64_t ms; /* deadline from the start, < 0: forever */
};

static void *
wait_fd_task(void *arg)
{
    struct fdwait *w = arg;
    int64_t t0 = gvt_mono_ms();
    wres[w->slot] = gv_wait_fd(w->fd, w->events,
                               w->ms < 0 ? GV_FOREVER : gv_deadline(w->ms));
    wms[w->slot] = gvt_mono_ms() - t0;
    return NULL;
}

static void
open_pipe(void)
{
    assert_int_equal(pipe(fdp), 0);
    fcntl(fdp[0], F_SETFL, O_NONBLOCK);
    fcntl(fdp[1], F_SETFL, O_NONBLOCK);
    memset(wres, 0x55, sizeof wres);
    memset(wms, 0, sizeof wms);
}

static void
close_pipe(void)
{
    close(fdp[0]);
    close(fdp[1]);
}

static void
test_wait_fd_sees_a_pipe_become_readable(void **state)
{
    (void)state;
    open_pipe();
    struct fdwait w = {0, fdp[0], GV_READABLE, 10000};
    gv_id id;
    assert_gv_id(id = gv_spawn(wait_fd_task, &w));
    assert_gv_ok(gv_sleep(10));
    assert_int_equal(wres[0], 0x55555555); /* still waiting */
    assert_int_equal(write(fdp[1], "x", 1), 1);
    assert_gv_ok(gv_join(id, gv_deadline(10000)));
    assert_int_equal(wres[0], GV_READABLE);
    assert_true(wms[0] < 5000);
    gv_release(id);
    close_pipe();
    gv_shutdown();
}

static void
test_wait_fd_returns_at_once_for_a_ready_fd(void **state)
{
    (void)state;
    open_pipe();
    assert_int_equal(write(fdp[1], "x", 1), 1);
    int64_t t0 = gvt_mono_ms();
    assert_int_equal(gv_wait_fd(fdp[0], GV_READABLE, gv_deadline(10000)),
                     GV_READABLE);
    /* an empty pipe's write end is writable */
    assert_int_equal(gv_wait_fd(fdp[1], GV_WRITABLE, gv_deadline(10000)),
                     GV_WRITABLE);
    /* asked for both, only writable is ready */
    assert_int_equal(
        gv_wait_fd(fdp[1], GV_READABLE | GV_WRITABLE, gv_deadline(10000)),
        GV_WRITABLE);
    assert_true(gvt_mono_ms() - t0 < 3000);
    close_pipe();
    gv_shutdown();
}

static void
test_wait_fd_with_nowait_polls_a_ready_fd(void **state)
{
    (void)state;
    open_pipe();
    /* GV_NOWAIT means "do not block", as for gv_join and
     * gv_notifier_wait: a ready fd is reported, an idle one times out */
    assert_int_equal(gv_wait_fd(fdp[1], GV_WRITABLE, GV_NOWAIT), GV_WRITABLE);
    assert_int_equal(write(fdp[1], "x", 1), 1);
    assert_int_equal(gv_wait_fd(fdp[0], GV_READABLE, GV_NOWAIT), GV_READABLE);
    char c;
    assert_int_equal(read(fdp[0], &c, 1), 1);
    assert_gv_err(gv_wait_fd(fdp[0], GV_READABLE, GV_NOWAIT), GV_ETIMEDOUT);
    close_pipe();
    gv_shutdown();
}

static void
test_wait_fd_times_out_on_an_idle_pipe(void **state)
{
    (void)state;
    open_pipe();
    int64_t t0 = gvt_mono_ms();
    assert_gv_err(gv_wait_fd(fdp[0], GV_READABLE, gv_deadline(30)),
                  GV_ETIMEDOUT);
    int64_t dt = gvt_mono_ms() - t0;
    assert_true(dt >= 25);
    assert_true(dt < 3000 * GVT_SLOW);
    /* and the fd can be waited on again afterwards */
    assert_int_equal(write(fdp[1], "x", 1), 1);
    assert_int_equal(gv_wait_fd(fdp[0], GV_READABLE, gv_deadline(10000)),
                     GV_READABLE);
    close_pipe();
    gv_shutdown();
}

static void
test_wait_fd_rejects_bad_fds_and_events(void **state)
{
    (void)state;
    open_pipe();
    int r = gv_wait_fd(-1, GV_READABLE, gv_deadline(1000));
    assert_true(r == GV_EBADF || r == GV_EINVAL);
    /* an fd number nobody has open */
    int spare = dup(fdp[0]);
    assert_true(spare >= 0);
    close(spare);
    r = gv_wait_fd(spare, GV_READABLE, gv_deadline(1000));
    assert_true(r == GV_EBADF || r == GV_EINVAL);
    assert_gv_err(gv_wait_fd(fdp[0], 0, gv_deadline(1000)), GV_EINVAL);
    close_pipe();
    gv_shutdown();
}

static void
test_two_tasks_wait_on_the_same_fd(void **state)
{
    (void)state;
    open_pipe();
    struct fdwait a = {0, fdp[0], GV_READABLE, 10000};
    struct fdwait b = {1, fdp[0], GV_READABLE, 10000};
    gv_id ids[2];
    assert_gv_id(ids[0] = gv_spawn(wait_fd_task, &a));
    assert_gv_id(ids[1] = gv_spawn(wait_fd_task, &b));
    assert_gv_ok(gv_sleep(10));
    assert_int_equal(write(fdp[1], "x", 1), 1);
    assert_int_equal(gv_joinall(ids, 2, 0, gv_deadline(10000)), 2);
    /* the byte is still there: both saw the pipe readable */
    assert_int_equal(wres[0], GV_READABLE);
    assert_int_equal(wres[1], GV_READABLE);
    gv_release(ids[0]);
    gv_release(ids[1]);
    close_pipe();
    gv_shutdown();
}

static void
test_two_tasks_wait_for_different_events_on_one_fd(void **state)
{
    (void)state;
    /* a socketpair end is writable at once and readable later */
    int sv[2];
    memset(wres, 0x55, sizeof wres);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct fdwait r = {0, sv[0], GV_READABLE, 10000};
    struct fdwait w = {1, sv[0], GV_WRITABLE, 10000};
    gv_id ids[2];
    assert_gv_id(ids[0] = gv_spawn(wait_fd_task, &r));
    assert_gv_id(ids[1] = gv_spawn(wait_fd_task, &w));
    assert_gv_ok(gv_join(ids[1], gv_deadline(10000)));
    assert_int_equal(wres[1], GV_WRITABLE);
    assert_int_equal(wres[0], 0x55555555);
    assert_int_equal(write(sv[1], "y", 1), 1);
    assert_gv_ok(gv_join(ids[0], gv_deadline(10000)));
    assert_int_equal(wres[0], GV_READABLE);
    gv_release(ids[0]);
    gv_release(ids[1]);
    close(sv[0]);
    close(sv[1]);
    gv_shutdown();
}

static void
test_kill_wakes_a_task_waiting_on_an_fd(void **state)
{
    (void)state;
    open_pipe();
    struct fdwait a = {0, fdp[0], GV_READABLE, -1};
    gv_id id;
    assert_gv_id(id = gv_spawn(wait_fd_task, &a));
    assert_gv_ok(gv_sleep(5));
    assert_gv_ok(gv_kill(id, gv_deadline(10000)));
    assert_gv_err(wres[0], GV_ECANCELED);
    /* the fd's watcher was cleaned up: a new wait works */
    assert_int_equal(write(fdp[1], "x", 1), 1);
    assert_int_equal(gv_wait_fd(fdp[0], GV_READABLE, gv_deadline(10000)),
                     GV_READABLE);
    gv_release(id);
    close_pipe();
    gv_shutdown();
}

static void
test_wait_fd_survives_close_and_reuse_of_the_fd_number(void **state)
{
    (void)state;
    open_pipe();
    assert_gv_err(gv_wait_fd(fdp[0], GV_READABLE, gv_deadline(5)),
                  GV_ETIMEDOUT);
    close_pipe();
    /* the same numbers again, for new pipes */
    open_pipe();
    assert_int_equal(write(fdp[1], "x", 1), 1);
    assert_int_equal(gv_wait_fd(fdp[0], GV_READABLE, gv_deadline(10000)),
                     GV_READABLE);
    close_pipe();
    gv_shutdown();
}

/* ------------------------------------------------------------- fairness */

static volatile int timer_done, fd_done;
static int spin_stopped_by_time;
static long spins;
static int timer_res, fd_res;
static int64_t timer_ms;

static void *
spinner(void *arg)
{
    (void)arg;
    int64_t end = gvt_mono_ms() + 2000 * GVT_SLOW;
    spins = 0;
    spin_stopped_by_time = 0;
    while (!(timer_done && fd_done)) {
        if (gvt_mono_ms() > end) {
            spin_stopped_by_time = 1;
            break;
        }
        if (gv_sleep(0) != 0)
            break;
        spins++;
    }
    return NULL;
}

static void *
timer_task(void *arg)
{
    (void)arg;
    int64_t t0 = gvt_mono_ms();
    timer_res = gv_sleep(10);
    timer_ms = gvt_mono_ms() - t0;
    timer_done = 1;
    return NULL;
}

static void *
fd_task(void *arg)
{
    (void)arg;
    fd_res = gv_wait_fd(fdp[0], GV_READABLE, gv_deadline(10000 * GVT_SLOW));
    fd_done = 1;
    return NULL;
}

static void *
write_later(void *arg)
{
    (void)arg;
    usleep(10000);
    ssize_t n = write(fdp[1], "z", 1);
    (void)n;
    return NULL;
}

static void
test_a_yielding_loop_starves_neither_timers_nor_fds(void **state)
{
    (void)state;
    open_pipe();
    timer_done = fd_done = 0;
    timer_res = fd_res = 0x55;
    gv_id ids[3];
    assert_gv_id(ids[0] = gv_spawn(spinner, NULL));
    assert_gv_id(ids[1] = gv_spawn(timer_task, NULL));
    assert_gv_id(ids[2] = gv_spawn(fd_task, NULL));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_later, NULL), 0);
    assert_int_equal(gv_joinall(ids, 3, 0, gv_deadline(30000 * GVT_SLOW)), 3);
    pthread_join(th, NULL);
    print_message("spins %ld, timer slept %lld ms\n", spins,
                  (long long)timer_ms);
    assert_gv_ok(timer_res);
    assert_int_equal(fd_res, GV_READABLE);
    /* the loop ended because the others finished, not at its time cap */
    assert_int_equal(spin_stopped_by_time, 0);
    assert_true(spins > 0);
    assert_true(timer_ms >= 9);
    assert_true(timer_ms < 1500 * GVT_SLOW);
    for (int i = 0; i < 3; i++)
        gv_release(ids[i]);
    close_pipe();
    gv_shutdown();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_wait_fd_sees_a_pipe_become_readable),
        T(test_wait_fd_returns_at_once_for_a_ready_fd),
        T(test_wait_fd_with_nowait_polls_a_ready_fd),
        T(test_wait_fd_times_out_on_an_idle_pipe),
        T(test_wait_fd_rejects_bad_fds_and_events),
        T(test_two_tasks_wait_on_the_same_fd),
        T(test_two_tasks_wait_for_different_events_on_one_fd),
        T(test_kill_wakes_a_task_waiting_on_an_fd),
        T(test_wait_fd_survives_close_and_reuse_of_the_fd_number),
        T(test_a_yielding_loop_starves_neither_timers_nor_fds),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
