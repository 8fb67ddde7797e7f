/*
 * io.c — cooperative waits on file descriptors, and signals.
 *
 * Design notes
 * ------------
 * libuv allows one poll handle per fd, so every fd being waited on has one
 * record (a uv_poll_t and the list of tasks waiting on it), found through a
 * table indexed by fd. The poll watches the union of what the waiters want;
 * the record is closed when its last waiter leaves, so grove holds no fd
 * registration while nobody waits and the caller may close the fd at any
 * time it is not waiting on it.
 *
 * Signals run their handler in a new task per delivery, as gevent.signal
 * does: the handler may block, and the loop is never held up by it.
 */
#include "sched_int.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#define S gv__S

typedef struct fdrec {
    uv_poll_t poll;
    int fd;
    int watching; /* events the poll is started for */
    gv__list waiters;
} fdrec;

static fdrec **fds;
static size_t nfds;

static void
fdrec_close_cb(uv_handle_t *h)
{
    gv__free(h->data);
}

static void
fdrec_release(fdrec *r)
{
    fds[r->fd] = NULL;
    uv_close((uv_handle_t *)&r->poll, fdrec_close_cb);
}

static int
uv_mask(int events)
{
    return ((events & GV_READABLE) ? UV_READABLE : 0) |
           ((events & GV_WRITABLE) ? UV_WRITABLE : 0);
}

static void poll_cb(uv_poll_t *h, int status, int uvev);

/* rewatch restarts the poll for what the remaining waiters want. */
static int
rewatch(fdrec *r)
{
    int want = 0;
    for (gv__list *l = r->waiters.next; l != &r->waiters; l = l->next)
        want |= GV__CONTAINER(l, gv__waiter, link)->events;
    if (want == 0) {
        fdrec_release(r);
        return 0;
    }
    if (want == r->watching)
        return 0;
    int rc = uv_poll_start(&r->poll, uv_mask(want), poll_cb);
    if (rc == 0)
        r->watching = want;
    return rc;
}

static void
poll_cb(uv_poll_t *h, int status, int uvev)
{
    fdrec *r = h->data;
    int got = 0;
    if (uvev & (UV_READABLE | UV_DISCONNECT))
        got |= GV_READABLE;
    if (uvev & UV_WRITABLE)
        got |= GV_WRITABLE;
    gv__list *l = r->waiters.next;
    while (l != &r->waiters) {
        gv__waiter *w = GV__CONTAINER(l, gv__waiter, link);
        l = l->next;
        if (status < 0 || (w->events & got)) {
            gv__list_remove(&w->link);
            w->revents = status < 0 ? status : (w->events & got);
            gv__ready(w->task, 0);
        }
    }
    rewatch(r);
}

static int
fd_table_fit(int fd)
{
    if ((size_t)fd < nfds)
        return 0;
    size_t n = nfds ? nfds : 64;
    while (n <= (size_t)fd)
        n *= 2;
    fdrec **t = gv__realloc(fds, n * sizeof *t);
    if (t == NULL)
        return GV_ENOMEM;
    memset(t + nfds, 0, (n - nfds) * sizeof *t);
    fds = t;
    nfds = n;
    return 0;
}

int
gv_wait_fd(int fd, int events, int64_t deadline)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (fd < 0 || events == 0 || (events & ~(GV_READABLE | GV_WRITABLE)))
        return GV_EINVAL;
    gv__task *t = S.current;
    if (t->flags & GV__F_CANCELED)
        return GV_ECANCELED;
    /* Ready already? Then no registration and no switch: the common case
     * of a socket with data waiting, and what GV_NOWAIT asks. */
    struct pollfd p = {.fd = fd, .events = 0};
    if (events & GV_READABLE)
        p.events |= POLLIN;
    if (events & GV_WRITABLE)
        p.events |= POLLOUT;
    if (poll(&p, 1, 0) == 1) {
        if (p.revents & POLLNVAL)
            return GV_EBADF;
        int got = 0;
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
            got |= GV_READABLE;
        if (p.revents & (POLLOUT | POLLERR))
            got |= GV_WRITABLE;
        if (got & events)
            return got & events;
    }
    if ((rc = fd_table_fit(fd)) != 0)
        return rc;
    fdrec *r = fds[fd];
    if (r == NULL) {
        r = gv__malloc(sizeof *r);
        if (r == NULL)
            return GV_ENOMEM;
        rc = uv_poll_init(&S.loop, &r->poll, fd);
        if (rc != 0) {
            gv__free(r);
            return rc; /* e.g. a regular file: epoll refuses it */
        }
        r->poll.data = r;
        r->fd = fd;
        r->watching = 0;
        gv__list_init(&r->waiters);
        fds[fd] = r;
    }
    gv__waiter *w = &t->wait;
    w->events = events;
    w->revents = 0;
    gv__list_push(&r->waiters, &w->link);
    if ((rc = rewatch(r)) != 0) {
        gv__list_remove(&w->link);
        rewatch(r);
        return rc;
    }
    rc = gv__park(deadline);
    if (gv__list_linked(&w->link)) {
        gv__list_remove(&w->link);
        rewatch(r);
    }
    if (rc != 0)
        return rc;
    return w->revents; /* > 0, or the poll's error */
}

void
gv__io_fini(void)
{
    for (size_t i = 0; i < nfds; i++)
        if (fds[i] != NULL)
            fdrec_release(fds[i]);
    gv__free(fds);
    fds = NULL;
    nfds = 0;
}

/* ---------------------------------------------------------------- signals */

typedef struct sigrec {
    uv_signal_t handle;
    gv_signal_cb cb;
    void *arg;
    int signum;
} sigrec;

static sigrec *sigs[65];

static void
sigrec_close_cb(uv_handle_t *h)
{
    gv__free(h->data);
}

static void *
signal_task(void *arg)
{
    sigrec *r = arg;
    if (r->cb != NULL) /* not removed since the delivery */
        r->cb(r->signum, r->arg);
    return NULL;
}

static void
signal_cb(uv_signal_t *h, int signum)
{
    sigrec *r = h->data;
    gv_spawn_opts o = {.name = "signal", .flags = GV_SPAWN_DETACHED};
    gv_id id = gv_spawn_ex(signal_task, r, &o);
    if (id < 0)
        fprintf(stderr, "grove: signal %d: no task for its handler: %s\n",
                signum, gv_strerror((int)id));
}

int
gv_signal(int signum, gv_signal_cb cb, void *arg)
{
    int rc = gv__init();
    if (rc != 0)
        return rc;
    if (signum <= 0 || signum >= (int)(sizeof sigs / sizeof sigs[0]) ||
        signum == SIGKILL || signum == SIGSTOP || signum == SIGSEGV ||
        signum == SIGBUS)
        return GV_EINVAL;
    sigrec *r = sigs[signum];
    if (cb == NULL) {
        /* stop, but keep the record: a handler task already spawned for
         * an earlier delivery still points at it */
        if (r != NULL && r->cb != NULL) {
            uv_signal_stop(&r->handle);
            r->cb = NULL;
        }
        return 0;
    }
    if (r != NULL && r->cb == NULL) {
        if ((rc = uv_signal_start(&r->handle, signal_cb, signum)) != 0)
            return rc;
    } else if (r == NULL) {
        r = gv__malloc(sizeof *r);
        if (r == NULL)
            return GV_ENOMEM;
        rc = uv_signal_init(&S.loop, &r->handle);
        if (rc != 0) {
            gv__free(r);
            return rc;
        }
        r->handle.data = r;
        r->signum = signum;
        rc = uv_signal_start(&r->handle, signal_cb, signum);
        if (rc != 0) {
            uv_close((uv_handle_t *)&r->handle, sigrec_close_cb);
            return rc;
        }
        sigs[signum] = r;
    }
    r->cb = cb;
    r->arg = arg;
    return 0;
}

void
gv__signal_fini(void)
{
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        if (sigs[i] != NULL) {
            uv_close((uv_handle_t *)&sigs[i]->handle, sigrec_close_cb);
            sigs[i] = NULL;
        }
    }
}
