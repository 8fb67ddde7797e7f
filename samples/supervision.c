/*
 * supervision.c — a supervision tree at work.
 *
 *     app   one_for_one, at most 3 restarts in 1 s
 *     ├── clock   a steady worker
 *     └── flaky   crashes on every third job
 *
 * main hands out jobs to flaky, one at a time. Every third job crashes it
 * and app starts a fresh one: three crashes 0.6 s apart stay within the
 * restart intensity. Then every job crashes it, as fast as it comes back:
 * the fourth crash within a second is one too many, so app stops clock
 * and exits with GV_SHUTDOWN. main traps exits: the escalation arrives as
 * a GV_MSG_EXIT message instead of killing it.
 *
 * Sleeps and the period are scaled by GROVE_TIME_SCALE (see sample.h).
 */
#include "sample.h"

#include <errno.h>
#include <string.h>

enum { TAG_JOB = 1, TAG_DONE = 2 };

static int crash_every = 3; /* flaky crashes on this job of each run */
static int runs;            /* how many times flaky has started */

static void
say_stopped(void *arg, int reason)
{
    printf("%s: stopped (%s)\n", (const char *)arg, gv_err_name(reason));
}

static void *
clock_body(void *arg)
{
    (void)arg;
    gv_on_exit(say_stopped, "clock");
    gv_msg m;
    while (gv_recv(&m, GV_FOREVER) == 0)
        gv_msg_free(&m);
    return NULL;
}

static void *
flaky_body(void *arg)
{
    (void)arg;
    int run = ++runs, done = 0;
    gv_register("flaky", gv_self()); /* released when this run ends */
    printf("flaky: run %d up\n", run);
    gv_msg m;
    while (gv_recv(&m, GV_FOREVER) == 0) {
        int job = 0;
        if (m.tag == TAG_JOB && m.len == sizeof job)
            memcpy(&job, m.data, sizeof job);
        gv_id from = m.from;
        gv_msg_free(&m);
        if (job == 0)
            continue;
        if (++done == crash_every) {
            printf("flaky: job %d -- crash!\n", job);
            gv_exit(-EPROTO, "flaky: bad job");
        }
        printf("flaky: job %d done\n", job);
        gv_send(from, TAG_DONE, NULL, 0, GV_NOWAIT);
    }
    return NULL;
}

/* await_flaky returns flaky's id once it runs, or 0 if app gave up
 * meanwhile (its exit reason then in *reason). */
static gv_id
await_flaky(gv_id app, int *reason)
{
    for (;;) {
        gv_id f = gv_whereis("flaky");
        if (f > 0)
            return f;
        gv_msg m;
        if (gv_recv(&m, gv_deadline(sample_ms(0.01))) == 0) {
            bool gave_up = m.tag == GV_MSG_EXIT && m.from == app;
            *reason = m.reason;
            gv_msg_free(&m);
            if (gave_up)
                return 0;
        }
    }
}

/* run_job gives flaky one job and waits until it is done (true) or flaky
 * went down (false). */
static bool
run_job(gv_id flaky, int job)
{
    int64_t ref;
    sample_check(gv_monitor(flaky, &ref), "monitor");
    sample_check(gv_send(flaky, TAG_JOB, &job, sizeof job, GV_FOREVER), "send");
    for (;;) {
        gv_msg m;
        sample_check(gv_recv(&m, GV_FOREVER), "recv");
        int tag = m.tag;
        int64_t mref = m.ref;
        gv_msg_free(&m);
        if (tag == TAG_DONE) {
            gv_demonitor(ref);
            return true;
        }
        if (tag == GV_MSG_DOWN && mref == ref)
            return false;
    }
}

/* print_tree prints app's tree with every id shown as <id>: ids depend on
 * what else the program spawned, and the smoke test compares text. */
static void
print_tree(gv_id app)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return;
    sample_check(gv_supervisor_print(app, f, gv_deadline(sample_ms(1))),
                 "print");
    fclose(f);
    for (const char *p = buf; *p != '\0'; p++) {
        if (p[0] == '<' && p[1] >= '0' && p[1] <= '9') {
            fputs("<id>", stdout);
            while (*p != '>')
                p++;
        } else {
            putchar(*p);
        }
    }
    free(buf);
}

int
main(void)
{
    gv_trap_exit(true);
    gv_child_spec kids[] = {
        {.name = "clock",
         .fn = clock_body,
         .restart = GV_PERMANENT,
         .shutdown_ms = sample_ms(1)},
        {.name = "flaky",
         .fn = flaky_body,
         .restart = GV_PERMANENT,
         .shutdown_ms = sample_ms(1)},
    };
    gv_sup_spec spec = {.name = "app",
                        .strategy = GV_ONE_FOR_ONE,
                        .max_restarts = 3,
                        .period_ms = sample_ms(1)};
    printf("main: app supervises clock and flaky "
           "(one_for_one, at most 3 restarts in 1 s)\n");
    gv_id app = sample_check(gv_supervisor_start(&spec, kids, 2), "start");

    int reason = 0, job = 1;
    for (; job <= 9; job++) {
        run_job(await_flaky(app, &reason), job);
        gv_sleep(sample_ms(0.2));
    }
    await_flaky(app, &reason);
    printf("main: %d restarts so far; the tree:\n", runs - 1);
    print_tree(app);

    gv_sleep(sample_ms(1.2)); /* quiet: the old restarts leave the period */
    printf("main: now every job crashes flaky\n");
    crash_every = 1;
    for (;; job++) {
        gv_id flaky = await_flaky(app, &reason);
        if (flaky == 0)
            break;
        run_job(flaky, job);
    }
    printf("main: app gave up (%s: %s)\n", gv_err_name(reason),
           gv_strerror(reason));
    gv_shutdown();
    return 0;
}
