/* Ring-0 entry of the x86-64 bare-metal payload: stacks, the 256 IDT stubs, the common trap
 * path and the syscall entry. _start is entered in 64-bit long mode, paging on (the loader's
 * identity map). With -DPVH the ELF also carries a Xen PVH note whose 32-bit entry builds the
 * same identity map and enters long mode (QEMU's -kernel boots it). */

    .section .text.entry, "ax"
    .code64
    .globl _start
_start:
    cli
    lea kstack_top(%rip), %rsp
    xor %ebp, %ebp
    call kmain
1:  hlt
    jmp 1b

/* 256 stubs of 16 bytes: push a zero error code where the CPU pushes none, the vector, and go
 * to trap_common. */
    .balign 16
    .globl vec_stubs
vec_stubs:
    .set i, 0
    .rept 256
    .balign 16
    .if (i == 8) || ((i >= 10) && (i <= 14)) || (i == 17) || (i == 21) || (i == 29) || (i == 30)
    .else
    pushq $0
    .endif
    pushq $i
    jmp trap_common
    .set i, i + 1
    .endr

trap_common:
    push %rax
    push %rcx
    push %rdx
    push %rbx
    push %rbp
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call trap
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rbp
    pop %rbx
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp
    iretq

/* syscall: rax = number, rdi/rsi/rdx = arguments; rcx/r11 hold the user rip/rflags; r10 is
 * free (the callers treat it as clobbered). Software-assisted KVM (PVM) runs a guest that is
 * not PVM-aware at CPL 3 after syscall: the entry then forwards the call through int 0x80
 * and returns by hand, so the payload behaves the same everywhere. */
    .globl syscall_entry
syscall_entry:
    mov %cs, %r10d
    test $3, %r10b
    jnz syscall_unprivileged
    mov %rsp, saved_user_rsp(%rip)
    lea sys_stack_top(%rip), %rsp
    push %rcx
    push %r11
    mov %rax, %rcx
    call do_syscall
    pop %r11
    pop %rcx
    mov saved_user_rsp(%rip), %rsp
    sysretq

syscall_unprivileged:
    int $0x80
    push %r11
    popfq
    jmp *%rcx

/* enter_user(rip, rsp): iretq to ring 3 (CS 0x2b, SS 0x23, IF set). */
    .globl enter_user
enter_user:
    pushq $0x23
    push %rsi
    pushq $0x202
    pushq $0x2b
    push %rdi
    mov $0x23, %eax
    mov %eax, %ds
    mov %eax, %es
    xor %eax, %eax
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %esi, %esi
    xor %edi, %edi
    xor %ebp, %ebp
    iretq

#ifdef PVH
    .code32
pvh_start:
    cli
    mov $0x9000, %edi
    xor %eax, %eax
    mov $(0x6000 / 4), %ecx
    rep stosl
    movl $0xa007, 0x9000
    movl $0xb007, 0xa000
    movl $0xc007, 0xa008
    movl $0xd007, 0xa010
    movl $0xe007, 0xa018
    mov $0xb000, %edi
    mov $0x87, %eax
    mov $2048, %ecx
2:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 2b
    mov %cr4, %eax
    or $0x620, %eax
    mov %eax, %cr4
    mov $0x9000, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx
    rdmsr
    or $0x900, %eax
    wrmsr
    lgdt pvh_gdt_desc
    mov %cr0, %eax
    and $~0x4, %eax
    or $0x80010022, %eax
    mov %eax, %cr0
    ljmp $0x10, $_start

    .balign 8
pvh_gdt:
    .quad 0
    .quad 0x00cf9b000000ffff
    .quad 0x00af9b000000ffff
    .quad 0x00cf93000000ffff
pvh_gdt_desc:
    .word 31
    .long pvh_gdt

    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .balign 4
    .long pvh_start
    .popsection
#endif

    .section .bss
    .balign 16
    .globl saved_user_rsp
saved_user_rsp:
    .quad 0
    .balign 4096
    .space 16384
    .globl kstack_top
kstack_top:
    .space 8192
sys_stack_top:
    .section .note.GNU-stack, "", @progbits
