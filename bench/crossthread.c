/* crossthread: messages per second into one actor from threads grove does
 * not run. T pthreads (1, then 4) each gv_send N/T messages to main, as
 * fast as they can; main receives them all. The clock starts when the
 * threads are released (they are created first and spin on a flag) and
 * stops when main has taken the last message; msgs/s = N / time. main
 * checks the count, the sum of the payloads, that every message says it
 * came from no task (from == 0) and that the mailbox dropped nothing.
 * No peer runs this figure.
 *
 * Usage: bench_crossthread [N]   (default 2,000,000)
 * Prints: grove crossthread_1 <rate> msgs/s
 *         grove crossthread_4 <rate> msgs/s
 * On stderr: the mailbox high water (how far the senders got ahead).
 */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define MAX_THREADS 4

enum { NUM = 0 };

static gv_id receiver;
static long per_thread;
static atomic_int go;
static atomic_long failed;

static void *
thread_main(void *arg)
{
    long base = (long)(intptr_t)arg * per_thread;
    while (!atomic_load_explicit(&go, memory_order_acquire))
        ;
    for (long j = 0; j < per_thread; j++) {
        long v = base + j;
        if (gv_send(receiver, NUM, &v, sizeof v, GV_FOREVER) != 0)
            atomic_fetch_add(&failed, 1);
    }
    return NULL;
}

/* run has nthreads threads send n messages in all; returns msgs/s. */
static double
run(int nthreads, long n)
{
    pthread_t th[MAX_THREADS];
    per_thread = n / nthreads;
    long total = per_thread * nthreads;
    atomic_store(&go, 0);
    atomic_store(&failed, 0);
    for (int i = 0; i < nthreads; i++) {
        int err =
            pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i);
        if (err != 0)
            bench_die("pthread_create", -err);
    }

    double t0 = bench_now_ns();
    atomic_store_explicit(&go, 1, memory_order_release);
    long long acc = 0;
    long got = 0, foreign = 0;
    for (; got < total; got++) {
        gv_msg m;
        /* A dropped message would leave main waiting: give up after 10 s
         * without one and say how many arrived. */
        int rc = gv_recv(&m, gv_deadline(10000));
        if (rc != 0) {
            fprintf(stderr,
                    "bench: crossthread: %ld of %ld messages arrived "
                    "(%ld sends failed)\n",
                    got, total, atomic_load(&failed));
            bench_die("gv_recv", rc);
        }
        long v;
        memcpy(&v, m.data, sizeof v);
        acc += v;
        foreign += m.from == 0;
        gv_msg_free(&m);
    }
    double el = bench_now_ns() - t0;
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);

    gv_mailbox_info info;
    int rc = gv_mailbox_inspect(receiver, &info);
    if (rc != 0)
        bench_die("gv_mailbox_inspect", rc);
    long long want = (long long)total * (total - 1) / 2;
    if (acc != want || foreign != total || atomic_load(&failed) != 0 ||
        info.dropped != 0 || info.len != 0) {
        fprintf(stderr,
                "bench: crossthread: sum %lld (expected %lld), %ld of %ld "
                "from no task, %ld sends failed, %llu dropped, %zu left\n",
                acc, want, foreign, total, atomic_load(&failed),
                (unsigned long long)info.dropped, info.len);
        exit(1);
    }
    bench_note("crossthread: %d thread(s), %ld messages, all received; "
               "mailbox high water %zu",
               nthreads, total, info.high_water);
    return (double)total / (el / 1e9);
}

int
main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 2000000);
    if (n < MAX_THREADS)
        n = MAX_THREADS;
    receiver = gv_self();
    run(1, n / 10 + 1); /* warm-up: the threads' first sends set up the
                            foreign-send path */
    bench_report("crossthread_1", run(1, n), "msgs/s");
    bench_report("crossthread_4", run(4, n), "msgs/s");
    gv_shutdown();
    return 0;
}
