/* many2one: 1000 senders x N/1000 messages each to one receiver, as the
 * peers' "many" (shared/peers): the clock starts before the senders are
 * spawned and stops when the receiver (main) has taken the last message,
 * so it covers spawning the senders too, as in every peer. Each sender
 * sends j = 0 .. M-1 (Go's shape); main sums them and checks the sum.
 * The senders are detached: nobody joins them. ns per message = time / N.
 *
 *  - unbounded (the default mailbox; Erlang's and gevent's shape): senders
 *    never block, so all of them may run before main takes one message
 *    and all N messages are queued at once.
 *  - cap1024: main bounds its mailbox to 1024 messages with
 *    GV_OVERFLOW_BLOCK, so a sender waits for room: Go's many_buf (a
 *    channel with a 1024 buffer).
 *
 * Usage: bench_many2one [N] [unbounded|cap1024]   (default 1,000,000)
 * Prints: grove many2one <ns> ns/msg   (or many2one_cap1024)
 * On stderr: the receiver's mailbox high water and the peak RSS.
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
    const char *mode = argc > 2 ? argv[2] : "unbounded";
    const char *name = "many2one";
    static char capname[64];
    if (strncmp(mode, "cap", 3) == 0 && atol(mode + 3) > 0) {
        /* capN: the receiver's mailbox bounded to N, senders wait for room
         * (cap1 is the nearest to Go's unbuffered channel) */
        int rc = gv_mailbox_set((size_t)atol(mode + 3), GV_OVERFLOW_BLOCK);
        if (rc != 0)
            bench_die("gv_mailbox_set", rc);
        snprintf(capname, sizeof capname, "many2one_%s", mode);
        name = capname;
    } else if (strcmp(mode, "unbounded") != 0) {
        fprintf(stderr, "usage: %s [N] [unbounded|capN]\n", argv[0]);
        return 2;
    }
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
    bench_report(name, el / (double)total, "ns/msg");
    gv_mailbox_info info;
    if (gv_mailbox_inspect(receiver, &info) == 0)
        bench_note("%s: %ld messages, mailbox high water %zu, "
                   "peak RSS %ld KiB",
                   name, total, info.high_water, bench_peak_rss_kib());
    gv_shutdown();
    return 0;
}
