/*
 * switch_x86_64.S — the context switch for x86_64 (System V ABI).
 *
 * void gv__ctx_switch_asm(void **from_sp, void *to_sp)
 *
 * Saves the callee-saved registers (rbp, rbx, r12-r15) and the floating
 * point control state (MXCSR and the x87 control word, which the ABI makes
 * callee-saved) on the current stack, stores the stack pointer in *from_sp,
 * loads to_sp and restores the same frame from there. A fresh context is a
 * frame of that shape whose return address is the entry function (see
 * gv__ctx_make in sched.c).
 *
 * Frame, from the saved stack pointer up:
 *   0: mxcsr (4 bytes) | x87 cw (2 bytes) | pad
 *   8: r15  16: r14  24: r13  32: r12  40: rbx  48: rbp  56: return address
 */
        .text
        .globl  gv__ctx_switch_asm
        .hidden gv__ctx_switch_asm
        .type   gv__ctx_switch_asm, @function
        .p2align 4
gv__ctx_switch_asm:
        .cfi_startproc
        endbr64
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movl    (%rsp), %eax
        movzwl  4(%rsp), %ecx
        movq    %rsi, %rsp
        /* Loading MXCSR or the x87 control word stalls the pipeline; the
         * incoming values nearly always equal the outgoing ones. */
        cmpl    (%rsp), %eax
        je      1f
        ldmxcsr (%rsp)
1:      cmpw    4(%rsp), %cx
        je      2f
        fldcw   4(%rsp)
2:      addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .cfi_endproc
        .size   gv__ctx_switch_asm, .-gv__ctx_switch_asm

        .section .note.GNU-stack,"",@progbits
