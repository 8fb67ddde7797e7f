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
    XX(ETHREAD, (-30004), "called from a thread that does not run grove")

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

#ifdef __cplusplus
}
#endif
#endif /* GROVE_H */
