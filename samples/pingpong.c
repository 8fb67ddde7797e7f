/*
 * pingpong — two tasks play ping-pong for N rounds (argv[1], default 10).
 *
 *     ./pingpong 3
 *     ping 1
 *     pong 1
 *     ping 2
 *     ...
 *     pong 3
 *
 * Each player waits for its turn on a gv_notifier that the other posts: a
 * binary flag with one waiter, the smallest wake-up grove has. (Once grove
 * has actors with mailboxes, the ball becomes a message.)
 */
#include <grove.h>

#include <stdio.h>
#include <stdlib.h>

#include "sample.h"

struct player {
    const char *name;   /* what it says when it hits the ball */
    gv_notifier *turn;  /* posted when the ball comes to this player */
    gv_notifier *other; /* the other player's turn */
    long rounds;
};

/* play waits for the ball, hits it and hands the turn over, rounds times.
 * Returns NULL, or ends the task with the error that stopped it. */
static void *
play(void *arg)
{
    struct player *p = arg;
    for (long i = 1; i <= p->rounds; i++) {
        int rc = gv_notifier_wait(p->turn, GV_FOREVER);
        if (rc < 0)
            gv_exit(rc, "waiting for the ball");
        printf("%s %ld\n", p->name, i);
        gv_notifier_post(p->other);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 10;
    if (rounds < 0) {
        fprintf(stderr, "usage: %s [rounds]\n", argv[0]);
        return 2;
    }

    gv_notifier *ping_turn, *pong_turn;
    sample_check(gv_notifier_new(&ping_turn), "notifier");
    sample_check(gv_notifier_new(&pong_turn), "notifier");

    struct player ping = {"ping", ping_turn, pong_turn, rounds};
    struct player pong = {"pong", pong_turn, ping_turn, rounds};

    gv_id players[2];
    players[0] = sample_check(gv_spawn(play, &ping), "spawn ping");
    players[1] = sample_check(gv_spawn(play, &pong), "spawn pong");
    gv_notifier_post(ping_turn); /* ping serves */
    sample_check(gv_joinall(players, 2, 0, GV_FOREVER), "joinall");

    int status = 0;
    for (int i = 0; i < 2; i++) {
        int err = gv_error(players[i]);
        if (err != 0) {
            fprintf(stderr, "%s: %s: %s\n", i == 0 ? "ping" : "pong",
                    gv_error_message(players[i]), gv_strerror(err));
            status = 1;
        }
        gv_release(players[i]);
    }
    gv_notifier_free(ping_turn);
    gv_notifier_free(pong_turn);
    gv_shutdown();
    return status;
}
