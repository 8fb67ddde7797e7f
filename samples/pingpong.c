/*
 * pingpong — two actors play ping-pong for N rounds (argv[1], default 10).
 *
 *     ./pingpong 3
 *     ping 1
 *     pong 1
 *     ping 2
 *     ...
 *     pong 3
 *
 * The ball is a message: a BALL carrying the round number, sent with
 * gv_send into the other actor's mailbox and taken out with gv_recv. The
 * ponger knows nobody: it sends the ball back to whoever sent it (the
 * message's from), and stops when the pinger sends GAME_OVER. Every
 * message received is released with gv_msg_free.
 */
#include <grove.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

enum { BALL = 1, GAME_OVER = 2 }; /* user tags */

/* ball_round returns the round number a BALL carries, or -1. */
static long
ball_round(const gv_msg *m)
{
    long round = -1;
    if (m->tag == BALL && m->len == sizeof round)
        memcpy(&round, m->data, sizeof round);
    return round;
}

/* ponger hits back every ball it gets until the game is over. */
static void *
ponger(void *arg)
{
    for (;;) {
        gv_msg m;
        int rc = gv_recv(&m, GV_FOREVER);
        if (rc < 0)
            gv_exit(rc, "waiting for the ball");
        if (m.tag == GAME_OVER) {
            gv_msg_free(&m);
            return NULL;
        }
        long round = ball_round(&m);
        printf("pong %ld\n", round);
        rc = gv_send(m.from, BALL, &round, sizeof round, GV_FOREVER);
        gv_msg_free(&m);
        if (rc < 0)
            gv_exit(rc, "hitting the ball back");
    }
}

struct pinger {
    gv_id pong; /* the other player */
    long rounds;
};

/* pinger serves rounds balls, waiting for each to come back, then ends
 * the game. */
static void *
pinger(void *arg)
{
    const struct pinger *p = arg;
    for (long round = 1; round <= p->rounds; round++) {
        printf("ping %ld\n", round);
        int rc = gv_send(p->pong, BALL, &round, sizeof round, GV_FOREVER);
        if (rc < 0)
            gv_exit(rc, "serving");
        gv_msg m;
        rc = gv_recv(&m, GV_FOREVER);
        if (rc < 0)
            gv_exit(rc, "waiting for the ball");
        long back = ball_round(&m);
        gv_msg_free(&m);
        if (back != round)
            gv_exit(GV_EINVAL, "a ball from another round");
    }
    int rc = gv_send(p->pong, GAME_OVER, NULL, 0, GV_FOREVER);
    if (rc < 0)
        gv_exit(rc, "ending the game");
    return NULL;
}

int
main(int argc, char **argv)
{
    char *end = NULL;
    long rounds = argc > 1 ? strtol(argv[1], &end, 10) : 10;
    if (argc > 1 && (*argv[1] == '\0' || *end != '\0' || rounds < 0)) {
        fprintf(stderr, "usage: %s [rounds]\n", argv[0]);
        return 2;
    }

    gv_spawn_opts pong_opts = {.name = "pong"};
    gv_spawn_opts ping_opts = {.name = "ping"};
    gv_id players[2];
    players[1] = sample_check(gv_spawn_ex(ponger, NULL, &pong_opts), "pong");
    struct pinger ping = {.pong = players[1], .rounds = rounds};
    players[0] = sample_check(gv_spawn_ex(pinger, &ping, &ping_opts), "ping");
    sample_check(gv_joinall(players, 2, 0, GV_FOREVER), "joinall");

    int status = 0;
    for (int i = 0; i < 2; i++) {
        int err = gv_error(players[i]);
        if (err != 0) {
            fprintf(stderr, "%s: %s: %s\n", gv_name(players[i]),
                    gv_error_message(players[i]), gv_strerror(err));
            status = 1;
        }
        gv_release(players[i]);
    }
    gv_shutdown();
    return status;
}
