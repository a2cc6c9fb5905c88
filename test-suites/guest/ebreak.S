/* Writes a line, then executes ebreak: Linux delivers SIGTRAP, the process dies with it
 * (shell status 133), and nothing after the ebreak runs. */
    .section .rodata
msg: .ascii "before ebreak\n"
    .set msg_len, . - msg
    .text
    .globl main
main:
    li a0, 1
    la a1, msg
    li a2, msg_len
    li a7, 64           /* write */
    ecall
    ebreak
    li a0, 0            /* not reached */
    li a7, 93
    ecall
    .section .note.GNU-stack,"",@progbits
