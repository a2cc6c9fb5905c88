# Bare-metal start for riscv64 virt tests: stack, M-mode trap vector into C, then main().
    .section .text.start
    .globl _start
_start:
    la sp, __stack_top
    la t0, trap_entry
    csrw mtvec, t0
    call main
    call exit_ok
1:  j 1b

# Saves the integer registers on the stack, calls trap_handler(frame), restores and mret's.
# The handler may change frame[0] (the return pc, taken from mepc) and any register.
    .align 4
    .globl trap_entry
trap_entry:
    addi sp, sp, -256
    .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd x\r, (\r*8)(sp)
    .endr
    csrr t0, mepc
    sd t0, 0(sp)
    addi t0, sp, 256
    sd t0, 16(sp)
    mv a0, sp
    call trap_handler
    ld t0, 0(sp)
    csrw mepc, t0
    .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld x\r, (\r*8)(sp)
    .endr
    ld sp, 16(sp)
    mret

# Same for S-mode traps (stvec), using sepc and sret.
    .align 4
    .globl strap_entry
strap_entry:
    addi sp, sp, -256
    .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd x\r, (\r*8)(sp)
    .endr
    csrr t0, sepc
    sd t0, 0(sp)
    addi t0, sp, 256
    sd t0, 16(sp)
    mv a0, sp
    call strap_handler
    ld t0, 0(sp)
    csrw sepc, t0
    .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld x\r, (\r*8)(sp)
    .endr
    ld sp, 16(sp)
    sret

    .bss
    .align 12
    .space 65536
__stack_top:
