# An S-mode payload for OpenSBI fw_jump (linked at 0x80200000): prints through the SBI debug
# console and the legacy putchar, checks the hart id and device-tree magic it was handed,
# takes one supervisor timer interrupt set with SBI TIME, then powers off with SBI SRST.
    .section .text.start
    .globl _start
_start:
    mv s0, a0                 # hart id
    mv s1, a1                 # device tree
    la sp, stack_top
    la a0, msg_hello
    call print
    # hart id must be 0
    la a0, msg_hart
    call print
    addi a0, s0, '0'
    call putchar
    li a0, '\n'
    call putchar
    # device tree magic d00dfeed (big-endian)
    lwu t0, 0(s1)
    li t1, 0xedfe0dd0
    la a0, msg_fdt_ok
    beq t0, t1, 1f
    la a0, msg_fdt_bad
1:  call print
    # SBI spec version (BASE, fid 0)
    li a7, 0x10
    li a6, 0
    ecall
    la a0, msg_base
    bnez a0, 2f
2:  srli t0, a1, 24
    addi t0, t0, '0'
    mv s2, t0
    call print
    mv a0, s2
    call putchar
    li a0, '\n'
    call putchar
    # timer: stvec, set_timer(now + 1 ms), STIE, then wait with SIE off around the check
    # (wfi wakes on a pending enabled interrupt whatever SIE says; taking it in the window
    # between the check and wfi would sleep forever)
    la t0, strap
    csrw stvec, t0
    rdtime a0
    li t0, 10000
    add a0, a0, t0
    li a7, 0x54494d45         # TIME
    li a6, 0
    ecall
    li t0, 1 << 5
    csrs sie, t0
3:  bnez s3, 9f
    wfi
    csrsi sstatus, 2          # take the interrupt here
    csrci sstatus, 2
    j 3b
9:
    la a0, msg_timer
    call print
    # shutdown: SRST, reset_type 0 (shutdown), reason 0
    li a7, 0x53525354
    li a6, 0
    li a0, 0
    li a1, 0
    ecall
4:  j 4b

    .align 4
strap:
    csrr t0, scause
    li t1, (1 << 63) | 5
    bne t0, t1, 5f
    li s3, 1
    # stop the timer: set_timer(-1)
    li a0, -1
    li a7, 0x54494d45
    li a6, 0
    ecall
    sret
5:  la a0, msg_trap
    call print
6:  j 6b

# print(a0 = NUL-terminated string) with the debug console extension (DBCN write, fid 0)
print:
    mv t2, a0
    li t3, 0
7:  add t4, t2, t3
    lbu t5, 0(t4)
    beqz t5, 8f
    addi t3, t3, 1
    j 7b
8:  mv a0, t3
    mv a1, t2
    li a2, 0
    li a7, 0x4442434e
    li a6, 0
    ecall
    ret

# putchar(a0) with the legacy console extension
putchar:
    li a7, 1
    ecall
    ret

    .section .rodata
msg_hello: .asciz "payload: hello from S-mode\n"
msg_hart: .asciz "payload: hart "
msg_fdt_ok: .asciz "payload: device tree magic ok\n"
msg_fdt_bad: .asciz "payload: bad device tree magic\n"
msg_base: .asciz "payload: SBI major version "
msg_timer: .asciz "payload: timer interrupt taken\n"
msg_trap: .asciz "payload: unexpected trap\n"

    .bss
    .align 12
    .space 8192
stack_top:
