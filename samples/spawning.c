/*
 * spawning — gevent tutorial, "Spawning Greenlets", first example.
 *
 * The common ways to start a task: with options (gevent's Greenlet.spawn,
 * here gv_spawn_ex with a name), plainly (gevent.spawn, here gv_spawn), and
 * with a tiny function standing in for Python's lambda. A C task takes one
 * void * argument, so foo's two arguments travel in a struct. Prints:
 *
 *     Hello
 *     I live!
 */
#include <grove.h>

#include <stdint.h>
#include <stdio.h>

#include "sample.h"

/* foo's arguments: (message, n) */
struct foo_args {
    const char *message;
    double n; /* seconds */
};

/* def foo(message, n): each task is passed the message and n in its
 * initialization. */
static void *
foo(void *arg)
{
    const struct foo_args *a = arg;
    gv_sleep(sample_ms(a->n));
    printf("%s\n", a->message);
    return NULL;
}

/* lambda x: (x+1) — its value is what the task returns. */
static void *
plus_one(void *x)
{
    return (void *)((intptr_t)x + 1);
}

int
main(void)
{
    /* The arguments must outlive the tasks: main's locals do, because main
     * joins them before returning. */
    struct foo_args hello = {"Hello", 1};
    struct foo_args alive = {"I live!", 2};

    /* thread1 = Greenlet.spawn(foo, "Hello", 1): a new task with options */
    gv_spawn_opts opts = {.name = "thread1"};
    gv_id thread1 = sample_check(gv_spawn_ex(foo, &hello, &opts), "spawn 1");

    /* thread2 = gevent.spawn(foo, "I live!", 2) */
    gv_id thread2 = sample_check(gv_spawn(foo, &alive), "spawn 2");

    /* thread3 = gevent.spawn(lambda x: (x+1), 2) */
    gv_id thread3 =
        sample_check(gv_spawn(plus_one, (void *)(intptr_t)2), "spawn 3");

    /* gevent.joinall(threads): block until all threads complete */
    gv_id threads[] = {thread1, thread2, thread3};
    sample_check(gv_joinall(threads, 3, 0, GV_FOREVER), "joinall");

    /* thread3's value, 3, stays readable until it is released: */
    void *value = gv_value(thread3);
    if ((intptr_t)value != 3)
        fprintf(stderr, "thread3 returned %ld, not 3\n", (long)(intptr_t)value);

    for (int i = 0; i < 3; i++)
        gv_release(threads[i]);
    gv_shutdown();
    return 0;
}
