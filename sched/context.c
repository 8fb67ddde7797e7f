/* context.c — fresh contexts for the assembly switch (switch_*.S). */
#include "context.h"

#include <stdint.h>

#ifndef GV_CONTEXT_UCONTEXT
#include <string.h>

void
gv__ctx_make(gv__ctx *c, char *lo, size_t size, void (*entry)(void))
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* The frame gv__ctx_switch_asm pops: control words, six registers, the
     * return address (entry), then a zero "return address" for entry, so
     * entry starts with rsp = 8 mod 16 as after a call. */
    uint64_t *sp = (uint64_t *)top - 9;
    memset(sp, 0, 9 * sizeof *sp);
    ((uint32_t *)sp)[0] = 0x1F80; /* MXCSR: all exceptions masked */
    ((uint16_t *)sp)[2] = 0x037F; /* x87 CW: extended precision, masked */
    sp[7] = (uint64_t)(uintptr_t)entry;
    c->sp = sp;
#elif defined(__aarch64__)
    /* The 176-byte frame gv__ctx_switch_asm restores; x30 = entry and sp
     * ends 16-aligned at top. FPCR 0: round to nearest, no traps. */
    uint64_t *sp = (uint64_t *)(top - 176);
    memset(sp, 0, 176);
    sp[11] = (uint64_t)(uintptr_t)entry; /* x30 */
    c->sp = sp;
#else
#error                                                                         \
    "grove: no assembly context switch here; build with -DGV_CONTEXT=ucontext"
#endif
}
#endif
