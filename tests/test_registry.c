/*
 * test_registry.c — names for actors: register, whereis, unregister; a
 * name is released when its actor exits, by whatever path.
 *
 * Actor bodies never assert (cmocka longjmps off the green thread's
 * stack): they record into statics and each test asserts on main's stack
 * after the joins. Every test ends with gv_shutdown().
 */
#include "gv_test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define TAG_GO 1000
#define WAIT_MS 5000

static void *
wait_go(void *arg)
{
    static const int go[] = {TAG_GO};
    gv_msg m;
    int rc = gv_recv_tags(&m, go, 1, gv_deadline(WAIT_MS));
    gv_msg_free(&m);
    if (arg != NULL)
        *(int *)arg = rc;
    return NULL;
}

static void *
return_at_once(void *arg)
{
    return arg;
}

static const gv_id made_up_id = ((gv_id)0x7ffffff0 << 32) | 9;

static void
go_and_join(gv_id id)
{
    assert_gv_ok(gv_send(id, TAG_GO, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_join(id, gv_deadline(WAIT_MS)));
}

static void
test_register_whereis_unregister(void **state)
{
    (void)state;
    gv_id a;
    assert_gv_id(a = gv_spawn(wait_go, NULL));
    assert_gv_err(gv_whereis("alpha"), GV_ENOENT);
    assert_gv_ok(gv_register("alpha", a));
    assert_int_equal(gv_whereis("alpha"), a);
    assert_int_equal(gv_whereis("alpha"), a); /* whereis takes nothing */
    assert_gv_err(gv_whereis("alph"), GV_ENOENT);
    assert_gv_err(gv_whereis("alphabet"), GV_ENOENT);
    assert_gv_ok(gv_unregister("alpha"));
    assert_gv_err(gv_whereis("alpha"), GV_ENOENT);
    assert_gv_err(gv_unregister("alpha"), GV_ENOENT);
    /* unregistered, the actor may take a name again */
    assert_gv_ok(gv_register("beta", a));
    assert_int_equal(gv_whereis("beta"), a);
    /* main is an actor too */
    assert_gv_ok(gv_register("main", gv_self()));
    assert_int_equal(gv_whereis("main"), gv_self());
    go_and_join(a);
    gv_shutdown();
}

static void
test_a_name_copied_from_a_buffer_the_caller_reuses(void **state)
{
    (void)state;
    gv_id a;
    assert_gv_id(a = gv_spawn(wait_go, NULL));
    char buf[64];
    snprintf(buf, sizeof buf, "worker-%d", 7);
    assert_gv_ok(gv_register(buf, a));
    memset(buf, 'z', sizeof buf - 1); /* the registry holds a copy */
    buf[sizeof buf - 1] = '\0';
    assert_int_equal(gv_whereis("worker-7"), a);
    assert_gv_err(gv_whereis(buf), GV_ENOENT);
    go_and_join(a);
    gv_shutdown();
}

static void
test_a_taken_name_is_eexist_and_an_actor_has_one_name(void **state)
{
    (void)state;
    gv_id a, b;
    assert_gv_id(a = gv_spawn(wait_go, NULL));
    assert_gv_id(b = gv_spawn(wait_go, NULL));
    assert_gv_ok(gv_register("taken", a));
    assert_gv_err(gv_register("taken", b), GV_EEXIST);
    assert_gv_err(gv_register("taken", a), GV_EEXIST);
    assert_gv_err(gv_register("second", a), GV_EEXIST); /* has a name */
    assert_gv_err(gv_whereis("second"), GV_ENOENT);
    assert_int_equal(gv_whereis("taken"), a);
    assert_gv_ok(gv_register("other", b));
    assert_int_equal(gv_whereis("other"), b);
    go_and_join(a);
    go_and_join(b);
    gv_shutdown();
}

static void *
fail_on_go(void *arg)
{
    wait_go(arg);
    gv_exit(GV_EPERM, "exits with an error");
}

static void *
link_and_wait(void *arg)
{
    gv_link(*(gv_id *)arg);
    return wait_go(NULL);
}

static void
test_the_name_is_released_when_its_actor_exits(void **state)
{
    (void)state;
    static const char *names[] = {"returns", "fails", "killed", "linked",
                                  "never-ran"};
    gv_id v[5];
    assert_gv_id(v[0] = gv_spawn(wait_go, NULL));
    assert_gv_id(v[1] = gv_spawn(fail_on_go, NULL));
    assert_gv_id(v[2] = gv_spawn(wait_go, NULL));
    assert_gv_id(v[3] = gv_spawn(link_and_wait, &v[1])); /* dies with 1 */
    gv_spawn_opts o = {.flags = GV_SPAWN_UNSTARTED};
    assert_gv_id(v[4] = gv_spawn_ex(return_at_once, NULL, &o));
    for (int i = 0; i < 5; i++)
        assert_gv_ok(gv_register(names[i], v[i]));
    assert_gv_ok(gv_sleep(2));
    for (int i = 0; i < 5; i++)
        assert_int_equal(gv_whereis(names[i]), v[i]);

    assert_gv_ok(gv_send(v[0], TAG_GO, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_send(v[1], TAG_GO, NULL, 0, GV_NOWAIT));
    assert_gv_ok(gv_kill(v[2], GV_NOWAIT));
    assert_gv_ok(gv_kill(v[4], GV_NOWAIT));
    assert_int_equal(gv_joinall(v, 5, 0, gv_deadline(WAIT_MS)), 5);
    assert_int_equal(gv_exit_reason(v[3]), GV_EPERM);
    /* finished, records still held: the names are free all the same */
    gv_id fresh[5];
    for (int i = 0; i < 5; i++) {
        assert_gv_err(gv_whereis(names[i]), GV_ENOENT);
        assert_gv_err(gv_unregister(names[i]), GV_ENOENT);
        assert_gv_id(fresh[i] = gv_spawn(wait_go, NULL));
        assert_gv_ok(gv_register(names[i], fresh[i])); /* reusable */
        assert_int_equal(gv_whereis(names[i]), fresh[i]);
    }
    /* a finished actor cannot take a name */
    assert_gv_err(gv_register("late", v[0]), GV_ENOENT);
    for (int i = 0; i < 5; i++) {
        gv_release(v[i]);
        go_and_join(fresh[i]);
        assert_gv_err(gv_whereis(names[i]), GV_ENOENT);
    }
    gv_shutdown();
}

static void
test_an_exit_does_not_release_a_name_that_moved_on(void **state)
{
    (void)state;
    gv_id a, b;
    assert_gv_id(a = gv_spawn(wait_go, NULL));
    assert_gv_id(b = gv_spawn(wait_go, NULL));
    assert_gv_ok(gv_register("shared", a));
    assert_gv_ok(gv_unregister("shared"));
    assert_gv_ok(gv_register("shared", b));
    go_and_join(a); /* a's exit must not touch b's name */
    assert_int_equal(gv_whereis("shared"), b);
    /* and a may have taken another name meanwhile */
    gv_id c;
    assert_gv_id(c = gv_spawn(wait_go, NULL));
    assert_gv_ok(gv_register("first", c));
    assert_gv_ok(gv_unregister("first"));
    assert_gv_ok(gv_register("second", c));
    assert_gv_err(gv_register("first", b), GV_EEXIST); /* b has a name */
    gv_id d;
    assert_gv_id(d = gv_spawn(wait_go, NULL));
    assert_gv_ok(gv_register("first", d));
    go_and_join(c);
    assert_gv_err(gv_whereis("second"), GV_ENOENT);
    assert_int_equal(gv_whereis("first"), d);
    assert_int_equal(gv_whereis("shared"), b);
    go_and_join(b);
    go_and_join(d);
    assert_gv_err(gv_whereis("first"), GV_ENOENT);
    assert_gv_err(gv_whereis("shared"), GV_ENOENT);
    gv_shutdown();
}

static void
test_bad_input_is_einval_and_unknown_actors_enoent(void **state)
{
    (void)state;
    gv_id a;
    assert_gv_id(a = gv_spawn(wait_go, NULL));
    assert_gv_err(gv_register(NULL, a), GV_EINVAL);
    assert_gv_err(gv_register("", a), GV_EINVAL);
    gv_id dead;
    assert_gv_id(dead = gv_spawn(return_at_once, NULL));
    assert_gv_ok(gv_join(dead, gv_deadline(WAIT_MS)));
    assert_gv_ok(gv_release(dead));
    assert_gv_err(gv_register("ghost", dead), GV_ENOENT);
    assert_gv_err(gv_register("ghost", made_up_id), GV_ENOENT);
    int r0 = gv_register("ghost", 0);
    assert_true(r0 == GV_ENOENT || r0 == GV_EINVAL);
    int rn = gv_register("ghost", -1);
    assert_true(rn == GV_ENOENT || rn == GV_EINVAL);
    assert_gv_err(gv_whereis("ghost"), GV_ENOENT);
    /* nothing is registered by a failed call */
    assert_gv_ok(gv_register("ok", a));
    assert_int_equal(gv_whereis("ok"), a);
    gv_id w = gv_whereis(NULL);
    assert_true(w == GV_EINVAL || w == GV_ENOENT);
    int u = gv_unregister(NULL);
    assert_true(u == GV_EINVAL || u == GV_ENOENT);
    u = gv_unregister("");
    assert_true(u == GV_EINVAL || u == GV_ENOENT);
    go_and_join(a);
    gv_shutdown();
}

static void
test_names_of_63_bytes_are_kept_longer_ones_are_refused(void **state)
{
    (void)state;
    gv_id a, b;
    assert_gv_id(a = gv_spawn(wait_go, NULL));
    assert_gv_id(b = gv_spawn(wait_go, NULL));
    char n63[64], n64[65], n63b[64];
    memset(n63, 'n', 63);
    n63[63] = '\0';
    memset(n64, 'n', 64);
    n64[64] = '\0';
    memcpy(n63b, n63, sizeof n63);
    n63b[62] = 'X'; /* differs in its last byte */
    assert_gv_ok(gv_register(n63, a));
    assert_int_equal(gv_whereis(n63), a);
    assert_gv_ok(gv_register(n63b, b));
    assert_int_equal(gv_whereis(n63b), b);
    /* a 64-byte name would be cut to 63 and clash: either refused, or
     * kept whole; never confused with the 63-byte one */
    gv_id c;
    assert_gv_id(c = gv_spawn(wait_go, NULL));
    int r = gv_register(n64, c);
    if (r == 0) {
        assert_int_equal(gv_whereis(n64), c);
        assert_int_equal(gv_whereis(n63), a);
    } else {
        assert_gv_err(r, GV_EINVAL);
        assert_int_equal(gv_whereis(n63), a);
        gv_id w = gv_whereis(n64);
        assert_true(w == GV_ENOENT || w == GV_EINVAL);
    }
    go_and_join(a);
    go_and_join(b);
    go_and_join(c);
    gv_shutdown();
}

static void
test_many_names_resolve_and_free_as_their_actors_exit(void **state)
{
    (void)state;
    enum { N = 600 };
    static gv_id v[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        assert_gv_id(v[i] = gv_spawn(wait_go, NULL));
        snprintf(name, sizeof name, "actor-%d", i);
        assert_gv_ok(gv_register(name, v[i]));
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "actor-%d", i);
        assert_int_equal(gv_whereis(name), v[i]);
    }
    /* the even ones exit */
    for (int i = 0; i < N; i += 2)
        assert_gv_ok(gv_send(v[i], TAG_GO, NULL, 0, GV_NOWAIT));
    for (int i = 0; i < N; i += 2)
        assert_gv_ok(gv_join(v[i], gv_deadline(WAIT_MS)));
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "actor-%d", i);
        if (i % 2 == 0)
            assert_gv_err(gv_whereis(name), GV_ENOENT);
        else
            assert_int_equal(gv_whereis(name), v[i]);
    }
    gv_shutdown();
}

static void
test_send_by_name(void **state)
{
    (void)state;
    gv_id me = gv_self();
    assert_gv_ok(gv_register("inbox", me));
    int x = 42;
    assert_gv_ok(gv_send(gv_whereis("inbox"), 3, &x, sizeof x, GV_NOWAIT));
    gv_msg m;
    assert_gv_ok(gv_recv(&m, GV_NOWAIT));
    assert_int_equal(m.tag, 3);
    assert_int_equal(*(int *)m.data, 42);
    gv_msg_free(&m);
    /* an unknown name gives GV_ENOENT, which gv_send takes as a stale id */
    assert_gv_err(gv_send(gv_whereis("nobody"), 3, &x, sizeof x, GV_NOWAIT),
                  GV_ENOENT);
    gv_shutdown();
}

static void
test_shutdown_empties_the_registry(void **state)
{
    (void)state;
    gv_id a;
    assert_gv_id(a = gv_spawn(wait_go, NULL));
    assert_gv_ok(gv_register("kept", a));
    assert_gv_ok(gv_register("me", gv_self()));
    gv_shutdown();
    assert_gv_err(gv_whereis("kept"), GV_ENOENT);
    assert_gv_err(gv_whereis("me"), GV_ENOENT);
    assert_gv_ok(gv_register("me", gv_self()));
    assert_int_equal(gv_whereis("me"), gv_self());
    gv_shutdown();
}

static void
test_registry_frees_everything(void **state)
{
    (void)state;
    gvt_alloc_reset(0, 0);
    assert_gv_ok(gv_set_allocator(&gvt_allocator));
    gv_id a, b;
    assert_gv_id(a = gv_spawn(wait_go, NULL));
    assert_gv_id(b = gv_spawn(wait_go, NULL));
    assert_gv_ok(gv_register("a", a));
    assert_gv_ok(gv_register("b", b));
    assert_gv_ok(gv_unregister("a"));
    go_and_join(b); /* released at its exit */
    gv_shutdown();  /* a is still running: killed, its state freed */
    assert_int_equal(gvt_alloc_live(), 0);
    assert_gv_ok(gv_set_allocator(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gvt_teardown)
        T(test_register_whereis_unregister),
        T(test_a_name_copied_from_a_buffer_the_caller_reuses),
        T(test_a_taken_name_is_eexist_and_an_actor_has_one_name),
        T(test_the_name_is_released_when_its_actor_exits),
        T(test_an_exit_does_not_release_a_name_that_moved_on),
        T(test_bad_input_is_einval_and_unknown_actors_enoent),
        T(test_names_of_63_bytes_are_kept_longer_ones_are_refused),
        T(test_many_names_resolve_and_free_as_their_actors_exit),
        T(test_send_by_name),
        T(test_shutdown_empties_the_registry),
        T(test_registry_frees_everything),
#undef T
    };
    gvt_apply_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
