/* many2one: 1000 senders x N/1000 messages each to one receiver, as the
 * peers' "many" (shared/peers): the clock starts before the senders are
 * spawned and stops when the receiver (main) has taken the last message,
 * so it covers spawning the senders too, as in every peer. Each sender
 * sends j = 0 .. M-1 (Go's shape); main sums them and checks the sum.
 * The senders are detached: nobody joins them. ns per message = time / N.
 *
 * Usage: bench_many2one [N]   (default 1,000,000)
 * Prints: grove many2one <ns> ns/msg
 * On stderr: the receiver's mailbox high water (senders never block on
 * an unbounded mailbox, so all of them may run before main takes any) and
 * the peak RSS.
 */
#include "bench.h"

#include <string.h>

#define SENDERS 1000

enum { NUM = 0 };

static gv_id receiver;
static long per_sender;

static void *
sender(void *arg)
{
    for (long j = 0; j < per_sender; j++) {
        int rc = gv_send(receiver, NUM, &j, sizeof j, GV_FOREVER);
        if (rc != 0)
            bench_die("gv_send", rc);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 1000000);
    per_sender = n / SENDERS;
    if (per_sender == 0)
        per_sender = 1;
    long total = SENDERS * per_sender;
    receiver = gv_self();
    gv_spawn_opts detached = {.flags = GV_SPAWN_DETACHED};

    double t0 = bench_now_ns();
    for (int i = 0; i < SENDERS; i++) {
        gv_id id = gv_spawn_ex(sender, NULL, &detached);
        if (id < 0)
            bench_die("gv_spawn_ex", id);
    }
    long long acc = 0;
    for (long k = 0; k < total; k++) {
        gv_msg m;
        int rc = gv_recv(&m, GV_FOREVER);
        if (rc != 0)
            bench_die("gv_recv", rc);
        long j;
        memcpy(&j, m.data, sizeof j);
        acc += j;
        gv_msg_free(&m);
    }
    double el = bench_now_ns() - t0;

    long long want = (long long)SENDERS * per_sender * (per_sender - 1) / 2;
    if (acc != want) {
        fprintf(stderr, "bench: many2one: sum %lld, expected %lld\n", acc,
                want);
        exit(1);
    }
    bench_report("many2one", el / (double)total, "ns/msg");
    gv_mailbox_info info;
    if (gv_mailbox_inspect(receiver, &info) == 0)
        bench_note("many2one: %ld messages, mailbox high water %zu, "
                   "peak RSS %ld KiB",
                   total, info.high_water, bench_peak_rss_kib());
    gv_shutdown();
    return 0;
}
