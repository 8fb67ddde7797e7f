/*
 * context.h — the machine context of a green thread: how to make one and
 * how to switch between two. Depends on nothing else in grove, so the
 * switch can be tested alone (tests/test_context.c, also under qemu for
 * other architectures).
 */
#ifndef GV_CONTEXT_H
#define GV_CONTEXT_H

#include <stddef.h>

#ifdef GV_CONTEXT_UCONTEXT
#include <ucontext.h>
#endif

#ifdef GV_CONTEXT_UCONTEXT
typedef struct gv__ctx {
    ucontext_t uc;
} gv__ctx;
#else
typedef struct gv__ctx {
    void *sp;
} gv__ctx;
#endif

/* gv__ctx_make prepares c to start entry() on the stack [lo, lo + size). */
void gv__ctx_make(gv__ctx *c, char *lo, size_t size, void (*entry)(void));
#ifdef GV_CONTEXT_UCONTEXT
/* gv__ctx_switch saves the running context into from and resumes to. */
void gv__ctx_switch(gv__ctx *from, gv__ctx *to);
/* gv__ctx_sp is the stack pointer saved in a suspended context. */
char *gv__ctx_sp(gv__ctx *c);
#else
void gv__ctx_switch_asm(void **from_sp, void *to_sp);
static inline void
gv__ctx_switch(gv__ctx *from, gv__ctx *to)
{
    gv__ctx_switch_asm(&from->sp, to->sp);
}
static inline char *
gv__ctx_sp(gv__ctx *c)
{
    return (char *)c->sp;
}
#endif

#endif /* GV_CONTEXT_H */
