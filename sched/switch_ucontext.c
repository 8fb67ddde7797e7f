/*
 * switch_ucontext.c — the portable context switch (makecontext/swapcontext),
 * chosen at build time with -DGV_CONTEXT=ucontext. About 40x slower than the
 * assembly one: swapcontext saves the signal mask with a system call.
 */
#define _GNU_SOURCE 1 /* REG_RSP and friends */
#include "context.h"

#include <stdio.h>
#include <stdlib.h>

void
gv__ctx_make(gv__ctx *c, char *lo, size_t size, void (*entry)(void))
{
    if (getcontext(&c->uc) != 0) {
        perror("grove: getcontext");
        abort();
    }
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, entry, 0);
}

void
gv__ctx_switch(gv__ctx *from, gv__ctx *to)
{
    if (swapcontext(&from->uc, &to->uc) != 0) {
        perror("grove: swapcontext");
        abort();
    }
}

char *
gv__ctx_sp(gv__ctx *c)
{
#if defined(__x86_64__)
    return (char *)c->uc.uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (char *)c->uc.uc_mcontext.sp;
#elif defined(__i386__)
    return (char *)c->uc.uc_mcontext.gregs[REG_ESP];
#else
#error "grove: teach gv__ctx_sp where this architecture keeps its sp"
#endif
}
