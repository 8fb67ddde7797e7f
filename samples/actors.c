/*
 * actors — the tutorial's "Actors": an Actor type with an inbox and a
 * receive function, and a Pinger and a Ponger that keep sending each other
 * "ping" and "pong".
 *
 *     ./actors 2
 *     start
 *     ping
 *     pong
 *     ping
 *     pong
 *
 * gevent has no Actor type, so the tutorial builds one from a Greenlet and a
 * Queue. In grove every task already is an actor with a mailbox: the inbox
 * is the task's own mailbox, inbox.put() is gv_send to the task, and
 * inbox.get() is gv_recv inside it. "Subclassing" is a struct whose first
 * member is the base struct, as in greenlet_subclass.c.
 *
 * The tutorial's actors play forever. Here the Pinger stops after the
 * pong of round N (argv[1], default 10; 0 plays forever, as the tutorial
 * does) and the Ponger after the ping of round N, so both return, every
 * message sent has been received, and main joins them as gevent.joinall
 * does.
 */
#include <grove.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

/* ---------------------------------------------------------------- Actor */

/* The one user tag these actors send: a text message. */
enum { TEXT = 0 };

struct actor {
    gv_id id; /* the green thread; its mailbox is the inbox */
    /* receive handles one message ("define in your subclass"); the
     * message is freed after it returns */
    void (*receive)(struct actor *self, const gv_msg *message);
    bool running;
};

/* actor_run is Actor._run: take messages from the inbox one at a time and
 * hand each to receive, while running. */
static void *
actor_run(void *arg)
{
    struct actor *self = arg;
    self->running = true;
    while (self->running) {
        gv_msg message;
        int rc = gv_recv(&message, GV_FOREVER); /* self.inbox.get() */
        if (rc < 0)
            gv_exit(rc, "receive");
        self->receive(self, &message);
        gv_msg_free(&message);
    }
    return NULL;
}

/* actor_init is Actor.__init__: a green thread created but not started
 * (Greenlet.__init__), whose mailbox is the inbox. Returns 0 or an error. */
static int
actor_init(struct actor *self, const char *name,
           void (*receive)(struct actor *, const gv_msg *))
{
    self->receive = receive;
    self->running = false;
    gv_spawn_opts opts = {.name = name, .flags = GV_SPAWN_UNSTARTED};
    self->id = gv_spawn_ex(actor_run, self, &opts);
    return self->id < 0 ? (int)self->id : 0;
}

/* actor_put is actor.inbox.put(text): a copy of the text, its NUL
 * included, goes to the actor's mailbox. Returns what gv_send returns. */
static int
actor_put(struct actor *to, const char *text)
{
    return gv_send(to->id, TEXT, text, strlen(text) + 1, GV_FOREVER);
}

/* ------------------------------------------------------- Pinger, Ponger */

struct pinger {
    struct actor actor; /* first: a struct actor * is a struct pinger * */
    long rounds;        /* 0: forever */
    long pongs;         /* pongs received so far */
};

struct ponger {
    struct actor actor;
    long rounds;
    long pings;
};

static struct pinger ping;
static struct ponger pong;

/* text returns a message's text, or "" for anything else. */
static const char *
text(const gv_msg *message)
{
    if (message->tag != TEXT || message->len == 0 ||
        ((const char *)message->data)[message->len - 1] != '\0')
        return "";
    return message->data;
}

static void
pinger_receive(struct actor *self, const gv_msg *message)
{
    struct pinger *p = (struct pinger *)self;
    printf("%s\n", text(message));
    if (strcmp(text(message), "pong") == 0 && ++p->pongs == p->rounds) {
        self->running = false; /* that was the last round */
        return;
    }
    sample_check(actor_put(&pong.actor, "ping"), "pong.inbox.put");
    gv_sleep(0);
}

static void
ponger_receive(struct actor *self, const gv_msg *message)
{
    struct ponger *p = (struct ponger *)self;
    printf("%s\n", text(message));
    sample_check(actor_put(&ping.actor, "pong"), "ping.inbox.put");
    if (strcmp(text(message), "ping") == 0 && ++p->pings == p->rounds)
        self->running = false; /* the Pinger stops at this pong */
    gv_sleep(0);
}

int
main(int argc, char **argv)
{
    char *end = NULL;
    long rounds = argc > 1 ? strtol(argv[1], &end, 10) : 10;
    if (argc > 1 && (*argv[1] == '\0' || *end != '\0' || rounds < 0)) {
        fprintf(stderr, "usage: %s [rounds]   (0: forever)\n", argv[0]);
        return 2;
    }

    ping.rounds = pong.rounds = rounds;
    sample_check(actor_init(&ping.actor, "ping", pinger_receive), "Pinger()");
    sample_check(actor_init(&pong.actor, "pong", ponger_receive), "Ponger()");

    sample_check(gv_start(ping.actor.id), "ping.start()");
    sample_check(gv_start(pong.actor.id), "pong.start()");

    sample_check(actor_put(&ping.actor, "start"), "ping.inbox.put");
    gv_id both[2] = {ping.actor.id, pong.actor.id};
    sample_check(gv_joinall(both, 2, 0, GV_FOREVER), "joinall");

    int status = 0;
    for (int i = 0; i < 2; i++) {
        if (gv_error(both[i]) != 0) {
            fprintf(stderr, "%s: %s: %s\n", gv_name(both[i]),
                    gv_error_message(both[i]), gv_strerror(gv_error(both[i])));
            status = 1;
        }
        gv_release(both[i]);
    }
    gv_shutdown();
    return status;
}
