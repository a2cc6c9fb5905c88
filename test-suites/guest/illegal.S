/* Writes a line, then executes an all-zero halfword (the defined illegal instruction):
 * SIGILL, shell status 132. */
    .section .rodata
msg: .ascii "before illegal\n"
    .set msg_len, . - msg
    .text
    .globl main
main:
    li a0, 1
    la a1, msg
    li a2, msg_len
    li a7, 64           /* write */
    ecall
    .2byte 0
    li a0, 0            /* not reached */
    li a7, 93
    ecall
    .section .note.GNU-stack,"",@progbits
