/*
 * grove — message-passing concurrency for C: green threads on libuv.
 *
 * This is the one header a grove program needs. Conventions (see README.md):
 *
 *  - Functions return int: 0 (or a count) on success, a negative GV_E* code
 *    on error. libuv's codes pass through unchanged (GV_ETIMEDOUT is
 *    UV_ETIMEDOUT); grove's own codes live in their own range.
 *  - Blocking calls take a deadline as their last argument: an absolute time
 *    in milliseconds on the loop clock (see gv_now and gv_deadline),
 *    GV_FOREVER or GV_NOWAIT.
 *  - Green threads ("tasks", the actors of later layers) are named by value
 *    ids (index + generation). A stale id gives GV_ENOENT, never a
 *    use-after-free.
 *  - Every grove call except those marked "any thread" must be made on the
 *    thread that runs grove's scheduler (the first thread that used grove);
 *    elsewhere it returns GV_ETHREAD.
 */
#ifndef GROVE_H
#define GROVE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GV_STATIC)
#define GV_EXTERN extern
#else
#define GV_EXTERN extern __attribute__((visibility("default")))
#endif

#define GV_VERSION_MAJOR 0
#define GV_VERSION_MINOR 1
#define GV_VERSION_PATCH 0

/* ------------------------------------------------------------------ errors */

/* GV_ERRORS is the one table of grove's error codes: name, value, text.
 * The first group are errno values, the same numbers libuv uses on Unix;
 * the second group are grove's own, below -30000. */
#define GV_ERRORS(XX)                                                          \
    XX(EINVAL, (-EINVAL), "invalid argument")                                  \
    XX(ENOMEM, (-ENOMEM), "out of memory")                                     \
    XX(ETIMEDOUT, (-ETIMEDOUT), "deadline passed")                             \
    XX(ECANCELED, (-ECANCELED), "canceled (the actor was killed)")             \
    XX(ENOENT, (-ENOENT), "no such actor or entry")                            \
    XX(EBUSY, (-EBUSY), "resource busy")                                       \
    XX(EAGAIN, (-EAGAIN), "resource temporarily unavailable")                  \
    XX(EPERM, (-EPERM), "operation not permitted")                             \
    XX(EBADF, (-EBADF), "bad file descriptor")                                 \
    XX(EEXIST, (-EEXIST), "already exists")                                    \
    XX(EDEADLK, (-EDEADLK), "operation would block forever")                   \
    XX(ECLOSED, (-30001), "closed")                                            \
    XX(EFULL, (-30002), "full")                                                \
    XX(EEMPTY, (-30003), "empty")                                              \
    XX(ETHREAD, (-30004), "called from a thread that does not run grove")      \
    XX(ESHUTDOWN, (-30005), "shut down by its supervisor")

enum gv_error {
    GV_OK = 0,
#define GV__ERR_ENUM(name, value, text) GV_##name = value,
    GV_ERRORS(GV__ERR_ENUM)
#undef GV__ERR_ENUM
};

/* gv_strerror returns a static text for any grove or libuv error code
 * (and for any other negative errno value). Never NULL. */
GV_EXTERN const char *gv_strerror(int err);

/* gv_err_name returns the code's name ("GV_ETIMEDOUT", "ECONNRESET"), a
 * static string; "GV_UNKNOWN" for a code nobody defined. */
GV_EXTERN const char *gv_err_name(int err);

/* ------------------------------------------------------------------- time */

/* Deadlines are absolute milliseconds on the loop clock. */
#define GV_FOREVER ((int64_t)-1)
#define GV_NOWAIT ((int64_t)0)

/* gv_now returns the loop clock in milliseconds (monotonic; refreshed by the
 * call). */
GV_EXTERN int64_t gv_now(void);

/* gv_deadline returns the deadline ms milliseconds from now; GV_FOREVER for
 * a negative ms. */
GV_EXTERN int64_t gv_deadline(int64_t ms);

/* ------------------------------------------------------------ green threads */

/* A task id: > 0 for a task, a negative GV_E* code where a call failed. */
typedef int64_t gv_id;

/* gv_fn is a task's body; what it returns is the task's value. */
typedef void *(*gv_fn)(void *arg);

enum gv_spawn_flags {
    /* The task's record is freed as soon as it finishes: nobody will join
     * it or read its value. Its id then reads as stale (GV_ENOENT). */
    GV_SPAWN_DETACHED = 1u << 0,
    /* Created but not scheduled until gv_start (gevent's Greenlet(...)). */
    GV_SPAWN_UNSTARTED = 1u << 1,
    /* Compact mode: the task runs on a shared stack and its used part is
     * copied out when it switches away. Costs a copy per switch and forbids
     * handing pointers to its locals to other tasks; a parked compact task
     * costs only the stack it really uses (see docs/stacks.md). */
    GV_SPAWN_COMPACT = 1u << 2,
    /* Standard mode even when gv_set_compact(true) made compact the
     * default. */
    GV_SPAWN_STANDARD = 1u << 3,
};

typedef struct gv_spawn_opts {
    size_t stack_size; /* 0: the global default (gv_set_stack_size) */
    const char *name;  /* copied (first 31 bytes); NULL: no name */
    unsigned flags;    /* GV_SPAWN_* */
    /* the actor's mailbox (see gv_mailbox_set): user-lane capacity, 0 for
     * unbounded, and a GV_OVERFLOW_* policy for when it is full */
    size_t mailbox_capacity;
    int overflow;
} gv_spawn_opts;

/* gv_spawn creates a task running fn(arg) and schedules it (FIFO). Returns
 * its id (> 0), or GV_ENOMEM, GV_EINVAL (fn NULL) or GV_ETHREAD. The
 * caller holds the task's record until gv_release(id): the value and error
 * stay readable after the task ends, as a gevent Greenlet's do. */
GV_EXTERN gv_id gv_spawn(gv_fn fn, void *arg);

/* gv_spawn_ex is gv_spawn with options (stack size, name, GV_SPAWN_* flags).
 * opts may be NULL. Returns as gv_spawn. */
GV_EXTERN gv_id gv_spawn_ex(gv_fn fn, void *arg, const gv_spawn_opts *opts);

/* gv_start schedules a task made with GV_SPAWN_UNSTARTED. Returns 0,
 * GV_ENOENT (stale id) or GV_EBUSY (already started, or killed before it
 * started). */
GV_EXTERN int gv_start(gv_id id);

/* gv_release gives up the caller's hold on a task's record: it is freed
 * when the task has finished (at once if it has). The id reads as stale
 * afterwards. Returns 0 or GV_ENOENT. */
GV_EXTERN int gv_release(gv_id id);

/* gv_join waits until the task has finished, however it finished. Returns
 * 0, GV_ETIMEDOUT, GV_ECANCELED (the caller was killed), GV_ENOENT (stale
 * id), GV_EDEADLK (joining itself, or nothing could ever wake the caller). */
GV_EXTERN int gv_join(gv_id id, int64_t deadline);

/* gv_joinall waits until count of the n tasks have finished (count 0: all
 * of them). Returns how many have finished (>= count), or GV_ETIMEDOUT,
 * GV_ECANCELED, GV_ENOENT (a stale id), GV_EINVAL, GV_ENOMEM. */
GV_EXTERN int gv_joinall(const gv_id *ids, size_t n, size_t count,
                         int64_t deadline);

/* gv_get joins the task and takes its value into *valuep (which may be
 * NULL; it is set to NULL if the task failed). Returns 0; the task's own
 * error code if it failed (see gv_exit); or what gv_join returns. The value
 * stays the task's: grove never frees it. */
GV_EXTERN int gv_get(gv_id id, void **valuep, int64_t deadline);

/* gv_kill cancels a task. Cancellation is sticky: every blocking call the
 * task makes returns GV_ECANCELED until it returns. A task killed before it
 * started never runs. With GV_NOWAIT it only asks; otherwise it waits until
 * the task has finished or the deadline. Killing oneself only marks the
 * caller canceled. Returns 0, GV_ENOENT, GV_ETIMEDOUT or GV_ECANCELED. */
GV_EXTERN int gv_kill(gv_id id, int64_t deadline);

/* gv_sleep suspends the caller for ms milliseconds; 0 yields to every task
 * runnable now and returns. Returns 0, GV_ECANCELED or GV_ETIMEDOUT (an
 * enclosing timeout scope ran out). */
GV_EXTERN int gv_sleep(int64_t ms);

/* gv_self returns the caller's id (main() is a task too). */
GV_EXTERN gv_id gv_self(void);

/* gv_exit ends the calling task at once with an error: code is a negative
 * error code (a positive one is negated; 0 ends it successfully with value
 * NULL), msg an optional text that is copied. Frames on the task's stack
 * are abandoned, as with pthread_exit. Called from main(), it prints msg
 * (if code is not 0) on stderr, shuts grove down and exits the process with
 * status 1 (0 if code is 0). */
GV_EXTERN _Noreturn void gv_exit(int code, const char *msg);

/* The tutorial's "Greenlet State". For a stale id: false, NULL or
 * GV_ENOENT. */
GV_EXTERN bool gv_started(gv_id id);    /* has been scheduled to run */
GV_EXTERN bool gv_ready(gv_id id);      /* has finished */
GV_EXTERN bool gv_successful(gv_id id); /* finished without an error */
GV_EXTERN bool gv_canceled(gv_id id);   /* has been killed */
/* gv_value returns the value fn returned; NULL while running or failed. */
GV_EXTERN void *gv_value(gv_id id);
/* gv_error returns the task's error code: 0 while running or if it
 * succeeded, GV_ECANCELED if killed, the code given to gv_exit. */
GV_EXTERN int gv_error(gv_id id);
/* gv_error_message returns the message given to gv_exit (or NULL); it
 * belongs to the task's record and lives until gv_release. */
GV_EXTERN const char *gv_error_message(gv_id id);
/* gv_name returns the task's name ("" if none), owned by its record. */
GV_EXTERN const char *gv_name(gv_id id);

/* --------------------------------------------------------------- timeouts */

/* A timeout scope (gevent's Timeout): while it is active every blocking
 * call of the task that started it returns GV_ETIMEDOUT once its deadline
 * has passed. Scopes nest; each call honours the earliest deadline of all
 * enclosing scopes and its own. Cancellation beats a timeout: a killed task
 * gets GV_ECANCELED. The struct belongs to the caller (usually a local)
 * and must stay put until gv_timeout_cancel. */
typedef struct gv_timeout {
    int64_t deadline;         /* this scope's own */
    int64_t effective;        /* min over this and enclosing scopes */
    struct gv_timeout *outer; /* enclosing scope of the same task */
    void *owner;              /* the task; NULL once cancelled */
} gv_timeout;

/* gv_timeout_start opens a scope ending ms milliseconds from now (ms < 0:
 * never). Returns 0, GV_EINVAL (to NULL, or already open) or GV_ETHREAD. */
GV_EXTERN int gv_timeout_start(gv_timeout *to, int64_t ms);

/* gv_timeout_cancel closes the scope (and any scope opened inside it and
 * still open). Returns 0, or GV_EINVAL if it is not open in this task. */
GV_EXTERN int gv_timeout_cancel(gv_timeout *to);

/* gv_timeout_expired tells whether the scope's own deadline has passed:
 * how code tells its own timeout from an enclosing one. */
GV_EXTERN bool gv_timeout_expired(const gv_timeout *to);

/* gv_with_timeout runs fn(arg) in the calling task inside a scope of ms
 * milliseconds and stores what fn returned into *valuep (may be NULL).
 * Returns 0, or GV_ETIMEDOUT if the scope ran out before fn returned. */
GV_EXTERN int gv_with_timeout(int64_t ms, gv_fn fn, void *arg, void **valuep);

/* ------------------------------------------------------ file descriptors */

enum gv_fd_events { GV_READABLE = 1, GV_WRITABLE = 2 };

/* gv_wait_fd parks the caller until fd is readable and/or writable (events,
 * a GV_READABLE|GV_WRITABLE mask) or the deadline. Returns the mask of
 * events that are ready (> 0), GV_ETIMEDOUT, GV_ECANCELED, GV_EINVAL or
 * GV_EBADF. Several tasks may wait on one fd. */
GV_EXTERN int gv_wait_fd(int fd, int events, int64_t deadline);

/* ---------------------------------------------------- signals and shutdown */

typedef void (*gv_signal_cb)(int signum, void *arg);

/* gv_signal makes each delivery of signum run cb(signum, arg) in a new task
 * (gevent.signal); cb NULL removes the handler. Returns 0, GV_EINVAL,
 * GV_ENOMEM or a libuv error. */
GV_EXTERN int gv_signal(int signum, gv_signal_cb cb, void *arg);

/* gv_shutdown kills every task. From main() it waits for them to finish,
 * closes the loop and frees everything grove holds: grove starts afresh at
 * the next call. From another task it kills all others and wakes main()'s
 * blocking call with GV_ECANCELED (once), so main can wind up. */
GV_EXTERN void gv_shutdown(void);

/* ---------------------------------------------------- foreign-thread wakes */

/* A gv_notifier lets a thread grove does not run (a library callback, a
 * worker) wake a task: a binary flag posted from any thread and waited on
 * by one task. */
typedef struct gv_notifier gv_notifier;

/* gv_notifier_new makes a notifier in *np. Returns 0, GV_ENOMEM or
 * GV_ETHREAD. The caller owns it (gv_notifier_free). */
GV_EXTERN int gv_notifier_new(gv_notifier **np);

/* gv_notifier_post sets the flag and wakes the waiter. Any thread;
 * lock-free (on grove's own thread it wakes the waiter directly). Posts
 * before a wait are remembered (once). Returns 0 or GV_EINVAL. */
GV_EXTERN int gv_notifier_post(gv_notifier *n);

/* gv_notifier_wait parks the caller until the flag is set, then clears it.
 * While a task waits, the loop counts as alive: only another thread knows
 * when the post comes, so the wait is never reported as a deadlock
 * (GV_EDEADLK) — a wait nobody will post lasts until its deadline. Returns
 * 0, GV_ETIMEDOUT, GV_ECANCELED, GV_EBUSY (another task waits) or
 * GV_ETHREAD. */
GV_EXTERN int gv_notifier_wait(gv_notifier *n, int64_t deadline);

/* gv_notifier_free frees it; no thread may post to it afterwards. NULL is
 * fine. */
GV_EXTERN void gv_notifier_free(gv_notifier *n);

/* ------------------------------------------------------------ configuration */

/* gv_set_stack_size sets the default stack size of new tasks (rounded up to
 * pages; at least 16 KiB). Default 256 KiB, committed lazily. Returns 0 or
 * GV_EINVAL. */
GV_EXTERN int gv_set_stack_size(size_t bytes);

/* gv_set_guard_pages turns guard pages below new stacks on (the default)
 * or off (a canary checked at every switch instead). Returns 0. */
GV_EXTERN int gv_set_guard_pages(bool on);

/* gv_set_compact makes compact mode the default for new tasks. Returns 0. */
GV_EXTERN int gv_set_compact(bool on);

/* A heap allocator for everything grove allocates (not stacks). */
typedef struct gv_allocator {
    void *(*malloc_fn)(size_t size);
    void *(*realloc_fn)(void *ptr, size_t size);
    void (*free_fn)(void *ptr);
} gv_allocator;

/* gv_set_allocator installs a (NULL: the default libc) allocator. Only
 * before grove is first used or after gv_shutdown from main: otherwise
 * GV_EBUSY. */
GV_EXTERN int gv_set_allocator(const gv_allocator *a);

typedef struct gv_stats {
    uint64_t switches;       /* context switches so far */
    uint64_t spawned;        /* tasks created so far */
    uint64_t live_tasks;     /* task records alive now (main included) */
    uint64_t stacks_mapped;  /* mmap calls made for stacks so far */
    uint64_t stacks_in_use;  /* stacks held by tasks now */
    uint64_t stacks_pooled;  /* idle stacks kept for reuse now */
    uint64_t guarded_stacks; /* stacks with a guard page now */
    bool guard_fallback;     /* the mapping budget ran out: canaries */
} gv_stats;

/* gv_get_stats fills *st. Returns 0 or GV_EINVAL. */
GV_EXTERN int gv_get_stats(gv_stats *st);

/* ================================================================ actors
 *
 * Every task is an actor: it owns a mailbox (made on first use) with two
 * lanes. The user lane holds what gv_send delivers, bounded or not; the
 * system lane holds exit and down signals and is never bounded, dropped or
 * skipped by a selective receive.
 */

/* Exit reasons: how an actor ended, as links and monitors report it. */
#define GV_NORMAL 0              /* returned, or gv_exit(0, ...) */
#define GV_KILLED GV_ECANCELED   /* gv_kill: cannot be trapped */
#define GV_SHUTDOWN GV_ESHUTDOWN /* stopped by its supervisor */
/* any other negative code: failed (gv_exit(code, msg)) */

/* System tags (user tags are >= 0). */
enum gv_msg_tags {
    GV_MSG_EXIT = -1, /* a linked actor exited (with gv_trap_exit on) */
    GV_MSG_DOWN = -2, /* a monitored actor exited */
};

#define GV_MSG_INLINE 48 /* payloads up to this size travel inside */

/* A received message. data points at the payload: into buf when it was
 * copied inline, else at an owned buffer that gv_msg_free releases. Do not
 * copy a gv_msg by value while data points into its buf. */
typedef struct gv_msg {
    int tag;
    int reason;  /* GV_MSG_EXIT, GV_MSG_DOWN: the exit reason */
    gv_id from;  /* the sender; for EXIT/DOWN, the actor that exited;
                    0 from a thread grove does not run */
    int64_t ref; /* GV_MSG_DOWN: the monitor's reference */
    void *data;  /* NULL when len is 0 */
    size_t len;
    void (*free_fn)(void *); /* private: frees an owned payload */
    unsigned char buf[GV_MSG_INLINE];
} gv_msg;

/* gv_msg_free releases the payload of a received message if it owns one;
 * safe to call twice and on a message that failed to arrive. */
GV_EXTERN void gv_msg_free(gv_msg *m);

enum gv_overflow {
    GV_OVERFLOW_BLOCK,       /* the sender waits for room (its deadline) */
    GV_OVERFLOW_FAIL,        /* the send fails with GV_EFULL */
    GV_OVERFLOW_DROP_NEWEST, /* the new message is dropped; send says 0 */
    GV_OVERFLOW_DROP_OLDEST, /* the oldest queued message is dropped */
};

/* gv_send copies len bytes of data into a message for actor to. Returns 0;
 * GV_ENOENT if to is dead or unknown (nothing is sent); GV_EFULL, or
 * GV_ETIMEDOUT/GV_ECANCELED while blocked, by the receiver's overflow
 * policy; GV_EINVAL; GV_ENOMEM. Any thread may send: from a thread grove
 * does not run the message is queued without blocking and delivered by
 * grove's thread, which drops it if the receiver is gone, or full (then
 * counted in gv_mailbox_info's dropped); the send returns 0 or GV_ENOMEM. */
GV_EXTERN int gv_send(gv_id to, int tag, const void *data, size_t len,
                      int64_t deadline);

/* gv_send_owned sends data itself, not a copy: the receiver's gv_msg_free
 * calls free_fn(data) (free_fn may be NULL for data that needs no freeing).
 * Takes data only if it returns 0; on error the caller still owns it.
 * Returns as gv_send. */
GV_EXTERN int gv_send_owned(gv_id to, int tag, void *data, size_t len,
                            void (*free_fn)(void *), int64_t deadline);

/* gv_recv takes the next message: system lane first, then the oldest of
 * the user lane. Returns 0, GV_ETIMEDOUT, GV_ECANCELED, GV_EINVAL,
 * GV_ENOMEM or GV_ETHREAD. The caller owns *m and releases it with
 * gv_msg_free. Since any thread may send, a receive is never taken for a
 * deadlock: a receive nobody will feed lasts until its deadline. */
GV_EXTERN int gv_recv(gv_msg *m, int64_t deadline);

/* gv_recv_tags is a selective receive (Erlang's receive): the oldest
 * message whose tag is one of tags[0..ntags). Messages that do not match
 * keep their place and order; system messages always match. Returns as
 * gv_recv, or GV_EINVAL. */
GV_EXTERN int gv_recv_tags(gv_msg *m, const int *tags, size_t ntags,
                           int64_t deadline);

typedef bool (*gv_match_cb)(const gv_msg *m, void *arg);

/* gv_recv_match is a selective receive by a callback that must not block.
 * System messages always match. Returns as gv_recv_tags. */
GV_EXTERN int gv_recv_match(gv_msg *m, gv_match_cb match, void *arg,
                            int64_t deadline);

/* gv_mailbox_set bounds the caller's own user lane to capacity messages (0:
 * unbounded, the default) with a GV_OVERFLOW_* policy. Messages already
 * queued stay. Returns 0, GV_EINVAL or GV_ENOMEM. */
GV_EXTERN int gv_mailbox_set(size_t capacity, int overflow);

typedef struct gv_mailbox_info {
    size_t len;        /* user-lane messages queued now */
    size_t high_water; /* the most ever queued at once */
    size_t capacity;   /* 0: unbounded */
    int overflow;      /* GV_OVERFLOW_* */
    size_t system_len; /* system-lane messages queued now */
    uint64_t dropped;  /* messages dropped by the overflow policy */
} gv_mailbox_info;

/* gv_mailbox_inspect reads an actor's mailbox figures. Returns 0, GV_ENOENT
 * or GV_EINVAL. */
GV_EXTERN int gv_mailbox_inspect(gv_id id, gv_mailbox_info *info);

/* -------------------------------------------------- links and monitors */

/* gv_link links the caller and id both ways: when one exits abnormally the
 * other is killed with the same reason, or, trapping exits, gets a
 * GV_MSG_EXIT message. A normal exit kills nobody (a trapping actor still
 * gets GV_MSG_EXIT with GV_NORMAL). Linking to a dead or unknown actor
 * acts as if it exited with GV_ENOENT (noproc) at once. Returns 0 or
 * GV_ENOMEM. */
GV_EXTERN int gv_link(gv_id id);

/* gv_unlink removes the link both ways. Returns 0 (also if there was
 * none). */
GV_EXTERN int gv_unlink(gv_id id);

/* gv_monitor watches id: when it exits the caller gets a GV_MSG_DOWN
 * message with its reason and *refp; for an actor already dead or unknown,
 * at once with reason GV_ENOENT (noproc). Returns 0 or GV_ENOMEM. */
GV_EXTERN int gv_monitor(gv_id id, int64_t *refp);

/* gv_demonitor stops a monitor; a DOWN message already queued for it is
 * removed. Returns 0 or GV_ENOENT. */
GV_EXTERN int gv_demonitor(int64_t ref);

/* gv_trap_exit turns exit signals from links into GV_MSG_EXIT messages
 * (on) or back into exits (off). Returns the previous setting (0 or 1). */
GV_EXTERN int gv_trap_exit(bool on);

/* gv_exit_signal sends an exit signal with reason to id, as if a linked
 * actor had exited with it (Erlang's exit/2): GV_NORMAL is ignored unless
 * id traps exits. Sent this way, and only this way, GV_KILLED kills even a
 * trapping actor; an actor killed so exits with GV_KILLED, which its own
 * trapping partners get as a GV_MSG_EXIT like any other reason. Returns 0,
 * GV_ENOENT or GV_ENOMEM. */
GV_EXTERN int gv_exit_signal(gv_id id, int reason);

/* gv_spawn_link spawns and links in one step: the child cannot exit
 * between the two. Returns as gv_spawn_ex. */
GV_EXTERN gv_id gv_spawn_link(gv_fn fn, void *arg, const gv_spawn_opts *opts);

/* gv_spawn_monitor spawns and monitors in one step; *refp gets the
 * monitor's reference. Returns as gv_spawn_ex. */
GV_EXTERN gv_id gv_spawn_monitor(gv_fn fn, void *arg, const gv_spawn_opts *opts,
                                 int64_t *refp);

/* gv_exit_reason returns how a finished actor exited (GV_NORMAL,
 * GV_KILLED, GV_SHUTDOWN, or its error), GV_ENOENT for a stale id, or 1
 * while it runs. */
GV_EXTERN int gv_exit_reason(gv_id id);

/* gv_on_exit registers fn(arg, reason) to run when the calling actor exits
 * by any path: return, gv_exit, kill, exit signal, supervisor shutdown.
 * Handlers run last registered first, in the exiting actor, and must not
 * block. Returns 0, GV_ENOMEM or GV_EINVAL. */
GV_EXTERN int gv_on_exit(void (*fn)(void *arg, int reason), void *arg);

/* ---------------------------------------------------------------- registry */

/* gv_register names an actor; the name is released when it exits. Names
 * are copied (at most 63 bytes). Returns 0, GV_EEXIST (name taken, or the
 * actor has a name), GV_ENOENT or GV_EINVAL. */
GV_EXTERN int gv_register(const char *name, gv_id id);

/* gv_unregister releases a name. Returns 0 or GV_ENOENT. */
GV_EXTERN int gv_unregister(const char *name);

/* gv_whereis returns the id registered under name, or GV_ENOENT. */
GV_EXTERN gv_id gv_whereis(const char *name);

/* ------------------------------------------------- servers (gen_server) */

/* A server is an actor defined by callbacks instead of a receive loop, as
 * Erlang's gen_server. Every callback runs in the server actor. A callback
 * returns 0 to go on, GV_STOP to stop with reason GV_NORMAL, or a negative
 * reason to stop with it; terminate then runs (if set). */
#define GV_STOP 1

typedef struct gv_server_ops {
    /* init(arg, &state) runs first; gv_server_start returns when it has. */
    int (*init)(void *arg, void **statep);
    /* handle_call answers gv_call: it fills *reply with gv_reply_set
     * (left alone, the reply is an empty message of tag 0). The reply is
     * sent even when the callback asks to stop. */
    int (*handle_call)(void *state, const gv_msg *request, gv_msg *reply);
    /* handle_cast gets what gv_cast sent. */
    int (*handle_cast)(void *state, const gv_msg *msg);
    /* handle_info gets every other message: plain gv_send, GV_MSG_DOWN,
     * GV_MSG_EXIT (servers that trap exits). */
    int (*handle_info)(void *state, const gv_msg *msg);
    /* terminate(state, reason) runs when the server stops by a callback's
     * return or a GV_SHUTDOWN exit signal (with exits trapped). */
    void (*terminate)(void *state, int reason);
} gv_server_ops;

/* gv_server_start spawns a server and waits for its init. Returns its id,
 * or init's negative return (the server has then exited), GV_EINVAL,
 * GV_ENOMEM. opts may be NULL. */
GV_EXTERN gv_id gv_server_start(const gv_server_ops *ops, void *arg,
                                const gv_spawn_opts *opts);

/* gv_reply_set fills a reply inside handle_call: tag and a copy of data.
 * Returns 0, GV_ENOMEM or GV_EINVAL. */
GV_EXTERN int gv_reply_set(gv_msg *reply, int tag, const void *data,
                           size_t len);

/* gv_call sends a request to a server and waits for its reply into *reply
 * (the caller frees it with gv_msg_free). The callee is monitored for the
 * call: if it is dead or dies before replying the call returns GV_ENOENT
 * with reply->reason set to its exit reason, never hangs. Returns 0,
 * GV_ENOENT, GV_ETIMEDOUT, GV_ECANCELED, GV_EFULL, GV_ENOMEM, GV_EINVAL. */
GV_EXTERN int gv_call(gv_id server, int tag, const void *data, size_t len,
                      gv_msg *reply, int64_t deadline);

/* gv_cast sends a request that needs no reply (handle_cast). Returns as
 * gv_send. */
GV_EXTERN int gv_cast(gv_id server, int tag, const void *data, size_t len);

/* ------------------------------------------------------------ supervisors */

enum gv_strategy {
    GV_ONE_FOR_ONE,        /* restart the child that exited */
    GV_ONE_FOR_ALL,        /* stop all (reverse order), restart all */
    GV_REST_FOR_ONE,       /* stop those started after it, restart them */
    GV_SIMPLE_ONE_FOR_ONE, /* one_for_one over children added at run time
                              from one template */
};

enum gv_restart {
    GV_PERMANENT, /* always restarted */
    GV_TRANSIENT, /* restarted after an abnormal exit only */
    GV_TEMPORARY, /* never restarted */
};

typedef struct gv_child_spec {
    const char *name; /* copied; for the tree and logs */
    gv_fn fn;         /* a plain actor running fn(arg), ... */
    void *arg;
    const gv_server_ops *server; /* ... or, with fn NULL, a server */
    int restart;                 /* GV_PERMANENT, GV_TRANSIENT, ... */
    /* stopping it: a GV_SHUTDOWN exit signal, then a kill after this many
     * ms (0: kill at once; GV_FOREVER: wait as long as it takes) */
    int64_t shutdown_ms;
    gv_spawn_opts opts; /* stack, mailbox; name from above */
} gv_child_spec;

typedef struct gv_sup_spec {
    const char *name; /* the supervisor's own name (copied) */
    int strategy;     /* GV_ONE_FOR_ONE ... */
    /* restart intensity: more than max_restarts restarts within period_ms
     * of real time and the supervisor stops its children and exits with
     * GV_SHUTDOWN... its parent (linked) decides what follows */
    int max_restarts;
    int64_t period_ms;
    /* optional back-off: wait backoff_ms before a restart, doubling for
     * each restart of the same child within the period, up to
     * backoff_max_ms. 0: restart at once. */
    int64_t backoff_ms;
    int64_t backoff_max_ms;
} gv_sup_spec;

/* gv_supervisor_start spawns a supervisor linked to the caller, which
 * starts the children in order (for GV_SIMPLE_ONE_FOR_ONE, children[0] is
 * the template and none starts). Returns once all have started: its id,
 * or the error of the child that failed to start (the ones started before
 * are stopped), GV_EINVAL, GV_ENOMEM. The supervisor's record is detached:
 * no gv_release; its id reads as stale once it has exited. It stops (its
 * children first) when the caller exits, for any reason, as in OTP. */
GV_EXTERN gv_id gv_supervisor_start(const gv_sup_spec *spec,
                                    const gv_child_spec *children, size_t n);

/* gv_supervisor_start_child adds and starts a child: spec for the other
 * strategies; for GV_SIMPLE_ONE_FOR_ONE spec is NULL and arg replaces the
 * template's. Returns the child's id or an error. */
GV_EXTERN gv_id gv_supervisor_start_child(gv_id sup, const gv_child_spec *spec,
                                          void *arg, int64_t deadline);

/* gv_supervisor_terminate_child stops a child (its shutdown, then a kill)
 * and forgets it. Returns 0, GV_ENOENT, GV_ETIMEDOUT. */
GV_EXTERN int gv_supervisor_terminate_child(gv_id sup, gv_id child,
                                            int64_t deadline);

/* gv_supervisor_children stores up to cap child ids in start order.
 * Returns how many children there are (may exceed cap). */
GV_EXTERN int gv_supervisor_children(gv_id sup, gv_id *ids, size_t cap,
                                     int64_t deadline);

/* gv_supervisor_print writes the tree under sup, one line per actor
 * (indented by depth): name, id, state, mailbox length. Returns 0 or an
 * error. */
GV_EXTERN int gv_supervisor_print(gv_id sup, FILE *out, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif /* GROVE_H */
