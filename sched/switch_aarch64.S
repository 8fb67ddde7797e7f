/*
 * switch_aarch64.S — the context switch for aarch64 (AAPCS64).
 *
 * void gv__ctx_switch_asm(void **from_sp, void *to_sp)
 *
 * Saves the callee-saved registers x19-x28, the frame pointer x29, the
 * link register x30, the callee-saved halves of v8-v15 (d8-d15) and FPCR in
 * a 176-byte frame on the current stack, stores sp in *from_sp, loads to_sp
 * and restores the same frame, then returns through x30. A fresh context is
 * a frame of that shape whose x30 is the entry function.
 *
 * Frame, from the saved stack pointer up:
 *   0: x19 x20  16: x21 x22  32: x23 x24  48: x25 x26  64: x27 x28
 *  80: x29 x30  96: d8 d9  112: d10 d11  128: d12 d13  144: d14 d15
 * 160: fpcr   168: pad
 */
        .text
        .globl  gv__ctx_switch_asm
        .hidden gv__ctx_switch_asm
        .type   gv__ctx_switch_asm, %function
        .p2align 4
gv__ctx_switch_asm:
        .cfi_startproc
        sub     sp, sp, #176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x9, fpcr
        str     x9, [sp, #160]
        mov     x9, sp
        str     x9, [x0]
        mov     sp, x1
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldr     x9, [sp, #160]
        msr     fpcr, x9
        add     sp, sp, #176
        ret
        .cfi_endproc
        .size   gv__ctx_switch_asm, .-gv__ctx_switch_asm

        .section .note.GNU-stack,"",%progbits
