/*
 * actor_int.h — what actor.c offers the rest of actor/ (servers,
 * supervisors) beyond grove.h. Never installed.
 */
#ifndef GV_ACTOR_INT_H
#define GV_ACTOR_INT_H

#include "sched_int.h"

/* gv__monitor_as makes watcher monitor target, as if watcher had called
 * gv_monitor itself: a call's helper actor is watching the server before
 * the request leaves, whoever then runs first. Returns 0, GV_ENOENT
 * (watcher unknown) or GV_ENOMEM. */
int gv__monitor_as(gv_id watcher, gv_id target, int64_t *refp);

#endif /* GV_ACTOR_INT_H */
