//! The x86-64 bare-metal payload (`benches/payload`: ring 0 sets up GDT/TSS, IDT and the
//! syscall MSRs, ring 3 runs integer, memory and floating-point kernels, then privilege probes
//! and a UART interrupt) under `xlat system --arch x86_64 --accel jit`. References: the same
//! kernels as a native program (their checksum lines), qemu-system-x86_64 TCG on the payload's
//! PVH twin (every line, ring-0 reports included), and `--accel kvm` where /dev/kvm exists.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::path::PathBuf;
use std::process::Command;
use xlat_test_suites::kvm::kvm_opens;
use xlat_test_suites::{have, microvm_args, run, scratch_dir, workspace_root, xlat_bin};

/// Builds the payload (scale 1, every kernel and the system checks): (payload, PVH twin,
/// native); `None` with a reason printed when gcc is missing.
fn build() -> Option<(PathBuf, PathBuf, PathBuf)> {
    if !have("gcc") || !have("timeout") {
        eprintln!("skipping: gcc or timeout is not installed (scripts/setup.sh installs them)");
        return None;
    }
    let out = scratch_dir("x86_system");
    let script = workspace_root().join("benches/payload/build.sh");
    let o = run(Command::new("bash").arg(script).arg(&out).args(["1", "7"]));
    assert!(
        o.status.success(),
        "building the payload: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some((
        out.join("payload-s1-w7.elf"),
        out.join("payload-s1-w7-pvh.elf"),
        out.join("native-s1-w7"),
    ))
}

/// (stdout, exit status).
fn outcome(cmd: &mut Command) -> (String, i32) {
    let o = run(cmd);
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

fn xlat(accel: &str, kernel: &PathBuf) -> (String, i32) {
    outcome(
        Command::new("timeout")
            .arg("120")
            .arg(xlat_bin())
            .args(microvm_args(accel))
            .arg("--kernel")
            .arg(kernel),
    )
}

/// Runs a guest with `run(accel)` under the JIT, wants exit status 0 and lets `check` judge
/// the output; then, where /dev/kvm opens, under KVM: status 0 and the very same output (the
/// JIT's, checked, is the reference). Says why when KVM is not compared.
fn jit_then_kvm(what: &str, run: impl Fn(&str) -> (String, i32), check: impl FnOnce(&str)) {
    let (jit, js) = run("jit");
    assert_eq!(js, 0, "{what}: jit: {jit}");
    check(&jit);
    match kvm_opens() {
        Ok(()) => {
            let (kvm, ks) = run("kvm");
            assert_eq!(ks, 0, "{what}: kvm: {kvm}");
            assert_eq!(jit, kvm, "{what}: jit (left) vs kvm (right)");
        }
        Err(e) => eprintln!("no kvm comparison: /dev/kvm: {e}"),
    }
}

fn kernel_lines(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("sys: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn payload_under_jit_matches_native_qemu_and_kvm() {
    let Some((elf, pvh, native)) = build() else {
        return;
    };
    let (jit, status) = xlat("jit", &elf);
    assert_eq!(status, 0, "xlat --accel jit exit status; output:\n{jit}");
    let (nat, nstatus) = outcome(&mut Command::new(&native));
    assert_eq!(nstatus, 0);
    assert_eq!(
        kernel_lines(&jit),
        nat,
        "kernel checksums: jit (left) vs native (right)"
    );
    assert!(
        jit.lines().any(|l| l.starts_with("sys: ")),
        "no ring-0 report lines:\n{jit}"
    );

    if have("qemu-system-x86_64") {
        let (q, qstatus) = outcome(
            Command::new("timeout")
                .arg("120")
                .arg("qemu-system-x86_64")
                .args(["-M", "microvm", "-bios", "/usr/share/qemu/qboot.rom"])
                .args(["-accel", "tcg", "-m", "256M", "-nographic", "-no-reboot"])
                .args(["-device", "isa-debug-exit,iobase=0x501,iosize=2", "-kernel"])
                .arg(&pvh),
        );
        // isa-debug-exit: status (value << 1) | 1.
        assert_eq!(qstatus, 1, "qemu exit status; output:\n{q}");
        assert_eq!(
            jit, q,
            "payload output: jit (left) vs qemu-system-x86_64 (right)"
        );
    } else {
        eprintln!("qemu-system-x86_64 not installed (scripts/setup.d/43): no QEMU comparison");
    }

    match kvm_opens() {
        Ok(()) => {
            let (k, kstatus) = xlat("kvm", &elf);
            assert_eq!(kstatus, 0, "xlat --accel kvm exit status; output:\n{k}");
            assert_eq!(jit, k, "payload output: jit (left) vs kvm (right)");
        }
        Err(e) => eprintln!("skipping the kvm column: /dev/kvm: {e}"),
    }
}

#[test]
fn jit_refuses_what_it_does_not_model() {
    let bin = xlat_bin();
    let o = run(Command::new(&bin).args([
        "system",
        "--arch",
        "x86_64",
        "--accel",
        "jit",
        "--smp",
        "2",
        "--kernel",
        "/nonexistent",
    ]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    assert!(err.contains("--smp"), "{err}");
    let o = run(Command::new(&bin).args([
        "system",
        "--arch",
        "x86_64",
        "--accel",
        "jit",
        "--kernel",
        "/nonexistent",
    ]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
}

/// Builds a one-file long-mode payload from `asm` (linked as the payload is).
fn tiny(name: &str, asm: &str) -> Option<PathBuf> {
    if !have("gcc") {
        eprintln!("skipping {name}: gcc is not installed");
        return None;
    }
    let dir = scratch_dir("x86_system");
    let src = dir.join(format!("{name}.S"));
    std::fs::write(&src, asm).expect("write the source");
    let elf = dir.join(format!("{name}.elf"));
    let o = run(Command::new("gcc")
        .args([
            "-nostdlib",
            "-static",
            "-no-pie",
            "-Wl,--build-id=none",
            "-Wl,-T",
        ])
        .arg(workspace_root().join("benches/payload/link.ld"))
        .arg("-o")
        .arg(&elf)
        .arg(&src));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(elf)
}

/// How a run ended: (status, the last stderr line).
fn ending(accel: &str, elf: &PathBuf) -> (i32, String) {
    let o = run(Command::new("timeout")
        .arg("30")
        .arg(xlat_bin())
        .args(["system", "--arch", "x86_64", "--accel", accel, "--kernel"])
        .arg(elf));
    let err = String::from_utf8_lossy(&o.stderr);
    (
        o.status.code().unwrap_or(-1),
        err.lines().last().unwrap_or("").to_string(),
    )
}

#[test]
fn halt_with_interrupts_off_and_triple_fault_end_the_run_as_under_kvm() {
    let cases = [
        (
            "halt_cli",
            ".text\n.globl _start\n_start: cli\nhlt\n",
            "halted with interrupts disabled",
        ),
        (
            "triple",
            ".text\n.globl _start\n_start: lidt zero(%rip)\nud2\n.data\nzero: .quad 0, 0\n",
            "triple fault",
        ),
    ];
    let kvm = kvm_opens().is_ok();
    for (name, asm, what) in cases {
        let Some(elf) = tiny(name, asm) else { return };
        let (status, line) = ending("jit", &elf);
        assert_eq!(status, 1, "{name}: jit status ({line})");
        assert!(line.contains(what), "{name}: jit says {line:?}");
        if kvm {
            let (ks, kl) = ending("kvm", &elf);
            assert_eq!(ks, status, "{name}: kvm status ({kl}) vs jit");
            assert!(kl.contains(what), "{name}: kvm says {kl:?}");
        } else {
            eprintln!("{name}: no kvm comparison: /dev/kvm does not open");
        }
    }
}

/// RFLAGS.IF as ring-0 code sees it through pushfq after cli, sti, popfq and iretq, printed
/// as digits on COM1: the JIT (whose lifter leaves pushfq/popfq to the system emulator in
/// system mode) prints what KVM's hardware does.
#[test]
fn interrupt_flag_through_pushfq_popfq_and_iretq_matches_kvm() {
    let asm = r#"
.text
.globl _start
_start:
    cli
    call report
    sti
    call report
    pushq $0x2
    popfq
    call report
    pushq $0x202
    popfq
    call report
    cli
    mov %rsp, %rbx
    xor %eax, %eax
    mov %ss, %ax
    push %rax
    push %rbx
    pushq $0x202
    mov %cs, %ax
    push %rax
    lea 1f(%rip), %rax
    push %rax
    iretq
1:  call report
    mov %rsp, %rbx
    xor %eax, %eax
    mov %ss, %ax
    push %rax
    push %rbx
    pushq $0x2
    mov %cs, %ax
    push %rax
    lea 2f(%rip), %rax
    push %rax
    iretq
2:  call report
    mov $0x0a, %al
    mov $0x3f8, %dx
    out %al, %dx
    xor %eax, %eax
    mov $0x501, %dx
    out %al, %dx
    hlt
# prints RFLAGS.IF (as seen by pushfq) as '0' or '1'
report:
    pushfq
    pop %rax
    shr $9, %rax
    and $1, %eax
    add $0x30, %eax
    mov $0x3f8, %dx
    out %al, %dx
    ret
"#;
    let Some(elf) = tiny("iflag", asm) else {
        return;
    };
    jit_then_kvm(
        "IF after cli, sti, popfq 0/1, iretq 1/0",
        |accel| xlat(accel, &elf),
        |jit| assert_eq!(jit.trim().len(), 6, "jit printed {jit:?}"),
    );
}

/// `-m 5G`: RAM below the 32-bit MMIO hole (3 GiB) and 2 GiB from 4 GiB up. A guest writes
/// `!addr` at addresses in both parts, including each high address's 4 GiB alias below and
/// the last bytes of each part, reads them all back through the loader's identity map and
/// prints how many differ: 0 under the JIT (two RAM regions of the softmmu bus) and under
/// KVM (two memory slots), with the same output.
#[test]
fn ram_above_4g_under_jit_and_kvm() {
    let asm = r#"
.text
.globl _start
_start:
    lea addrs(%rip), %rsi
    xor %ebx, %ebx
1:  mov (%rsi,%rbx,8), %rdi
    mov %rdi, %rax
    not %rax
    mov %rax, (%rdi)
    inc %rbx
    cmp $NADDR, %rbx
    jb 1b
    xor %ebx, %ebx
    xor %r8d, %r8d
2:  mov (%rsi,%rbx,8), %rdi
    mov %rdi, %rax
    not %rax
    cmp (%rdi), %rax
    je 3f
    inc %r8
3:  inc %rbx
    cmp $NADDR, %rbx
    jb 2b
    mov $0x3f8, %dx
    lea msg(%rip), %rsi
4:  lodsb
    test %al, %al
    jz 5f
    out %al, %dx
    jmp 4b
5:  mov %r8, %rax
    add $0x30, %al
    out %al, %dx
    mov $0x0a, %al
    out %al, %dx
    xor %eax, %eax
    mov $0x501, %dx
    out %al, %dx
    cli
    hlt
.data
.balign 8
addrs:
    .quad 0x300000, 0x100300000
    .quad 0x40123450, 0x140123450
    .quad 0x7ffffff8, 0x17ffffff8
    .quad 0xbffffff8, 0x100000000
    .quad 0x4000000, 0x104000000
addrs_end:
.set NADDR, (addrs_end - addrs) / 8
msg: .asciz "RAM words that differ: "
"#;
    let Some(elf) = tiny("above4g", asm) else {
        return;
    };
    let run5g = |accel: &str| {
        outcome(
            Command::new("timeout")
                .arg("60")
                .arg(xlat_bin())
                .args(microvm_args(accel))
                .args(["-m", "5G", "--kernel"])
                .arg(&elf),
        )
    };
    jit_then_kvm("-m 5G", run5g, |jit| {
        assert_eq!(jit, "RAM words that differ: 0\n", "jit")
    });
}

/// `ldmxcsr`/`stmxcsr` in ring 0 (Linux's `kernel_fpu_begin` loads the default MXCSR): the
/// guest loads 0x7f80 (round toward zero, all exceptions masked) from the stack, stores MXCSR
/// back and prints it in hex. On a software-assisted KVM the ring-0 emulator fails on both
/// and xlat carries them out (accel-kvm `mxcsr_insn`); the JIT's output is the reference.
#[test]
fn ldmxcsr_stmxcsr_in_ring_0_match_kvm() {
    let asm = r#"
.text
.globl _start
_start:
    sub $16, %rsp
    movl $0x7f80, 4(%rsp)
    ldmxcsr 4(%rsp)
    movl $0, 8(%rsp)
    stmxcsr 8(%rsp)
    mov 8(%rsp), %ebx
    mov $0x3f8, %dx
    mov $4, %ecx
1:  rol $4, %bx
    mov %bl, %al
    and $0xf, %al
    add $0x30, %al
    cmp $0x39, %al
    jbe 2f
    add $7, %al
2:  out %al, %dx
    dec %ecx
    jnz 1b
    mov $0x0a, %al
    out %al, %dx
    xor %eax, %eax
    mov $0x501, %dx
    out %al, %dx
    cli
    hlt
"#;
    let Some(elf) = tiny("mxcsr", asm) else {
        return;
    };
    jit_then_kvm(
        "MXCSR after ldmxcsr",
        |accel| xlat(accel, &elf),
        |jit| assert_eq!(jit.trim().len(), 4, "jit printed {jit:?}"),
    );
}

/// A periodic timer interrupt: the guest programs the 8259 (vector 0x20), the 8254 PIT's
/// channel 0 in mode 2 at about 100 Hz and an IDT gate, then halts until its handler has
/// counted 5 interrupts and reads the counter through the latch command (in range 1..=11932).
/// The JIT's PIT (src/system/x86_64_jit.rs) and KVM's in-kernel PIT print the same; neither
/// gets there in under 5 periods (40 ms, a floor against a timer that fires too fast).
#[test]
fn pit_timer_interrupts_counted_under_jit_and_kvm() {
    let asm = r#"
.text
.globl _start
_start:
    lea tick(%rip), %rax
    lea idt + 0x20 * 16(%rip), %rdi
    mov %ax, (%rdi)
    movw $0x10, 2(%rdi)
    movw $0x8e00, 4(%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)
    lidt idtr(%rip)
    mov $0xfee00000, %edi
    movl $0x1ff, 0xf0(%rdi)
    movl $0x700, 0x350(%rdi)
    mov $0x11, %al
    out %al, $0x20
    out %al, $0xa0
    mov $0x20, %al
    out %al, $0x21
    mov $0x28, %al
    out %al, $0xa1
    mov $4, %al
    out %al, $0x21
    mov $2, %al
    out %al, $0xa1
    mov $1, %al
    out %al, $0x21
    out %al, $0xa1
    mov $0xfe, %al
    out %al, $0x21
    mov $0xff, %al
    out %al, $0xa1
    mov $0x34, %al
    out %al, $0x43
    mov $(11932 & 0xff), %al
    out %al, $0x40
    mov $(11932 >> 8), %al
    out %al, $0x40
    sti
1:  hlt
    cmpl $5, ticks(%rip)
    jb 1b
    cli
    xor %al, %al
    out %al, $0x43
    in $0x40, %al
    mov %al, %bl
    in $0x40, %al
    mov %al, %bh
    movzwl %bx, %ebx
    mov $0x3f8, %dx
    mov ticks(%rip), %eax
    add $0x30, %al
    out %al, %dx
    mov $0x20, %al
    out %al, %dx
    xor %eax, %eax
    test %ebx, %ebx
    jz 2f
    cmp $11932, %ebx
    ja 2f
    inc %eax
2:  add $0x30, %al
    out %al, %dx
    mov $0x0a, %al
    out %al, %dx
    xor %eax, %eax
    mov $0x501, %dx
    out %al, %dx
    hlt
tick:
    push %rax
    incl ticks(%rip)
    mov $0x20, %al
    out %al, $0x20
    pop %rax
    iretq
.data
.balign 16
idtr:
    .word 0x21 * 16 - 1
    .quad idt
ticks:
    .long 0
.balign 16
idt:
    .fill 0x21 * 16, 1, 0
"#;
    let Some(elf) = tiny("pit", asm) else {
        return;
    };
    let timed = |accel: &str| {
        let t = std::time::Instant::now();
        let r = xlat(accel, &elf);
        let took = t.elapsed();
        assert!(
            took >= std::time::Duration::from_millis(40),
            "{accel}: {took:?}"
        );
        r
    };
    jit_then_kvm("PIT", timed, |jit| {
        assert_eq!(jit, "5 1\n", "jit: ticks counted, latched counter in range")
    });
}

/// The local APIC timer in ring 0, counted by interrupt handlers that write the APIC's EOI
/// register: periodic mode (vector 0x40, divide by 16, 62500 counts = 1 ms at the 1 GHz bus
/// KVM's in-kernel APIC has) until 5 ticks, with the current count read in range; then one
/// shot (vector 0x41, 2 ms) whose current count reads 0 once it fired, and 3 more periodic
/// ticks during which it stays at one; then, when CPUID.1:ECX[24] says so, the TSC-deadline
/// mode (vector 0x42, 1 ms of TSC ahead; the MSR reads 0 after it fired). Printed on COM1 as
/// digits. The JIT (src/system/x86_64_jit/apic.rs) prints what KVM's in-kernel LAPIC does
/// (where KVM does not advertise TSC-deadline it prints '-' for that part, and the JIT must
/// still print 'D'); neither takes less than the 5 + 2 + 3 ms the timers ask for.
#[test]
fn lapic_timer_interrupts_counted_under_jit_and_kvm() {
    let asm = r#"
.text
.globl _start
_start:
    lea tick(%rip), %rax
    lea idt + 0x40 * 16(%rip), %rdi
    call setgate
    lea once(%rip), %rax
    lea idt + 0x41 * 16(%rip), %rdi
    call setgate
    lea dline(%rip), %rax
    lea idt + 0x42 * 16(%rip), %rdi
    call setgate
    lidt idtr(%rip)
    mov $0xfee00000, %edi
    movl $0x1ff, 0xf0(%rdi)
    movl $0x3, 0x3e0(%rdi)
    movl $0x20040, 0x320(%rdi)
    movl $62500, 0x380(%rdi)
    sti
1:  hlt
    cmpl $5, ticks(%rip)
    jb 1b
    mov 0x390(%rdi), %ebx
    movl $0, 0x380(%rdi)
    mov ticks(%rip), %eax
    call digit
    xor %eax, %eax
    test %ebx, %ebx
    jz 2f
    cmp $62500, %ebx
    ja 2f
    inc %eax
2:  call digit
    movl $0x41, 0x320(%rdi)
    movl $125000, 0x380(%rdi)
3:  hlt
    cmpl $1, oneshot(%rip)
    jb 3b
    mov 0x390(%rdi), %eax
    test %eax, %eax
    setz %al
    movzbl %al, %eax
    call digit
    movl $0, ticks(%rip)
    movl $0x20040, 0x320(%rdi)
    movl $62500, 0x380(%rdi)
4:  hlt
    cmpl $3, ticks(%rip)
    jb 4b
    movl $0, 0x380(%rdi)
    mov oneshot(%rip), %eax
    call digit
    mov $1, %eax
    cpuid
    mov $0xfee00000, %edi
    bt $24, %ecx
    jnc 6f
    movl $0x40042, 0x320(%rdi)
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    add $1000000, %rax
    mov %rax, %rdx
    shr $32, %rdx
    mov $0x6e0, %ecx
    wrmsr
5:  hlt
    cmpl $1, deadline(%rip)
    jb 5b
    mov $0x6e0, %ecx
    rdmsr
    or %edx, %eax
    jnz 7f
    mov $('D' - 0x30), %eax
    call digit
    jmp 8f
6:  mov $('-' - 0x30), %eax
    call digit
    jmp 8f
7:  mov $('x' - 0x30), %eax
    call digit
8:  mov $0x0a, %al
    mov $0x3f8, %dx
    out %al, %dx
    cli
    xor %eax, %eax
    mov $0x501, %dx
    out %al, %dx
    hlt
# prints al + '0' and a space on COM1
digit:
    push %rdx
    add $0x30, %al
    mov $0x3f8, %dx
    out %al, %dx
    mov $0x20, %al
    out %al, %dx
    pop %rdx
    ret
# an interrupt gate at rdi for the handler at rax (CS 0x10)
setgate:
    mov %ax, (%rdi)
    movw $0x10, 2(%rdi)
    movw $0x8e00, 4(%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)
    ret
eoi:
    push %rdi
    mov $0xfee00000, %edi
    movl $0, 0xb0(%rdi)
    pop %rdi
    ret
tick:
    incl ticks(%rip)
    call eoi
    iretq
once:
    incl oneshot(%rip)
    call eoi
    iretq
dline:
    incl deadline(%rip)
    call eoi
    iretq
.data
.balign 16
idtr:
    .word 0x43 * 16 - 1
    .quad idt
ticks:
    .long 0
oneshot:
    .long 0
deadline:
    .long 0
.balign 16
idt:
    .fill 0x43 * 16, 1, 0
"#;
    let Some(elf) = tiny("lapic", asm) else {
        return;
    };
    let timed = |accel: &str| {
        let t = std::time::Instant::now();
        let r = xlat(accel, &elf);
        (r, t.elapsed())
    };
    let floor = std::time::Duration::from_millis(10);
    let ((jit, js), jt) = timed("jit");
    assert_eq!(js, 0, "jit: {jit}");
    assert_eq!(
        jit, "5 1 1 1 D \n",
        "jit: periodic ticks, count in range, one-shot count 0, one shot only, deadline"
    );
    assert!(jt >= floor, "jit: {jt:?}");
    match kvm_opens() {
        Ok(()) => {
            let ((kvm, ks), kt) = timed("kvm");
            assert_eq!(ks, 0, "kvm: {kvm}");
            if kvm.contains('-') {
                eprintln!("kvm does not advertise the TSC-deadline timer; compared without it");
                assert_eq!(jit.replace('D', "-"), kvm, "jit (left) vs kvm (right)");
            } else {
                assert_eq!(jit, kvm, "jit (left) vs kvm (right)");
            }
            assert!(kt >= floor, "kvm: {kt:?}");
        }
        Err(e) => eprintln!("no kvm comparison: /dev/kvm: {e}"),
    }
}

/// XSAVE in system mode: CPUID.1:ECX reports XSAVE, and OSXSAVE only once ring 0 sets
/// CR4.OSXSAVE; xsetbv refuses XCR0 = 2 (x87 off) with #GP and takes 3; leaf 0xd sub-leaf 0
/// lists x87|SSE and 576 bytes for XCR0 = 3. Then ring 3 (where software-assisted KVM runs
/// the instructions on the CPU; its ring-0 emulator has no xgetbv/xsave) reads XCR0 (its low
/// two bits: PVM leaves the host's XCR0, 7, in place for user mode), fills the x87 and SSE
/// state, xsaves it (XSTATE_BV, XMM0, FCW, MXCSR in the image), xrstors it over a cleared
/// XMM0, and xrstors with the SSE bit of XSTATE_BV clear (XMM0 back to its init value, 0); a
/// ud2 returns to ring 0, which prints the results. Any other exception prints `E` and the
/// RIP and exits 7. The JIT prints what KVM does.
#[test]
fn xsave_xrstor_xsetbv_with_cr4_osxsave_match_kvm() {
    let asm = r#"
.text
.globl _start
_start:
    xor %ebx, %ebx
1:  lea unexpected(%rip), %rax
    mov %rbx, %rdi
    shl $4, %rdi
    lea idt(%rip), %rcx
    add %rcx, %rdi
    call setgate
    inc %ebx
    cmp $32, %ebx
    jb 1b
    lea gp(%rip), %rax
    lea idt + 13 * 16(%rip), %rdi
    call setgate
    lidt idtr(%rip)
    lea tss(%rip), %rax
    mov %rax, %rbx
    shl $16, %rbx
    mov $0xffffff0000, %rcx
    and %rcx, %rbx
    mov %rax, %rcx
    shr $24, %rcx
    and $0xff, %ecx
    shl $56, %rcx
    or %rcx, %rbx
    mov $0x890000000067, %rcx
    or %rcx, %rbx
    mov %rbx, gdt + 0x30(%rip)
    shr $32, %rax
    mov %rax, gdt + 0x38(%rip)
    lea kstack_top(%rip), %rax
    mov %rax, tss + 4(%rip)
    lgdt gdtr(%rip)
    mov $0x30, %ax
    ltr %ax
    mov $1, %eax
    cpuid
    mov %ecx, %eax
    shr $26, %eax
    and $1, %eax
    call digit
    mov $1, %eax
    cpuid
    mov %ecx, %eax
    shr $27, %eax
    and $1, %eax
    call digit
    mov %cr4, %rax
    bts $18, %rax
    mov %rax, %cr4
    mov $1, %eax
    cpuid
    mov %ecx, %eax
    shr $27, %eax
    and $1, %eax
    call digit
    movl $0, faults(%rip)
    xor %ecx, %ecx
    xor %edx, %edx
    mov $2, %eax
    xsetbv
    mov faults(%rip), %eax
    call digit
    xor %ecx, %ecx
    xor %edx, %edx
    mov $3, %eax
    xsetbv
    mov $0xd, %eax
    xor %ecx, %ecx
    cpuid
    and $3, %eax
    call digit
    xor %eax, %eax
    cmp $576, %ebx
    sete %al
    call digit
    lea back(%rip), %rax
    lea idt + 6 * 16(%rip), %rdi
    call setgate
    mov %rsp, %rbx
    pushq $0x23
    push %rbx
    pushq $0x2
    pushq $0x2b
    lea user(%rip), %rax
    push %rax
    iretq
user:
    xor %ecx, %ecx
    xgetbv
    mov %eax, r_xcr0(%rip)
    fninit
    fld1
    movdqa pattern(%rip), %xmm0
    mov $3, %eax
    xor %edx, %edx
    xsave area(%rip)
    mov area + 512(%rip), %rax
    mov %rax, r_bv(%rip)
    pxor %xmm0, %xmm0
    mov $3, %eax
    xor %edx, %edx
    xrstor area(%rip)
    movq %xmm0, %rax
    mov %rax, r_rst(%rip)
    andq $~2, area + 512(%rip)
    mov $3, %eax
    xor %edx, %edx
    xrstor area(%rip)
    movq %xmm0, %rax
    mov %rax, r_init(%rip)
    ud2
back:
    mov r_xcr0(%rip), %eax
    and $3, %eax
    call digit
    mov r_bv(%rip), %eax
    and $3, %eax
    call digit
    xor %eax, %eax
    mov area + 160(%rip), %rbx
    cmp pattern(%rip), %rbx
    sete %al
    call digit
    xor %eax, %eax
    cmpw $0x37f, area(%rip)
    sete %al
    call digit
    xor %eax, %eax
    cmpl $0x1f80, area + 24(%rip)
    sete %al
    call digit
    xor %eax, %eax
    mov r_rst(%rip), %rbx
    cmp pattern(%rip), %rbx
    sete %al
    call digit
    xor %eax, %eax
    cmpq $0, r_init(%rip)
    sete %al
    call digit
    mov $0x0a, %al
    mov $0x3f8, %dx
    out %al, %dx
    xor %eax, %eax
    mov $0x501, %dx
    out %al, %dx
    hlt
# any other exception: 'E', the RIP in hex, exit 7
unexpected:
    mov $'E', %al
    mov $0x3f8, %dx
    out %al, %dx
    mov (%rsp), %rbx
    mov $16, %ecx
2:  rol $4, %rbx
    mov %ebx, %eax
    and $15, %eax
    add $0x30, %al
    out %al, %dx
    dec %ecx
    jnz 2b
    mov $0x501, %dx
    mov $7, %al
    out %al, %dx
    hlt
# prints al + '0' and a space on COM1
digit:
    push %rdx
    add $0x30, %al
    mov $0x3f8, %dx
    out %al, %dx
    mov $0x20, %al
    out %al, %dx
    pop %rdx
    ret
# an interrupt gate at rdi for the handler at rax (CS 0x10)
setgate:
    mov %ax, (%rdi)
    movw $0x10, 2(%rdi)
    movw $0x8e00, 4(%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)
    ret
# #GP from a 3-byte instruction (xsetbv): counted and skipped
gp:
    add $8, %rsp
    incl faults(%rip)
    addq $3, (%rsp)
    iretq
.data
.balign 16
pattern:
    .quad 0x0123456789abcdef, 0x1122334455667788
idtr:
    .word 32 * 16 - 1
    .quad idt
gdtr:
    .word 8 * 8 - 1
    .quad gdt
.balign 8
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff
    .quad 0x00af9b000000ffff
    .quad 0x00cf93000000ffff
    .quad 0x00cff3000000ffff
    .quad 0x00affb000000ffff
    .quad 0, 0
faults:
    .long 0
r_xcr0:
    .long 0
r_bv:
    .quad 0
r_rst:
    .quad 0
r_init:
    .quad 0
.balign 16
idt:
    .fill 32 * 16, 1, 0
.balign 16
tss:
    .fill 0x68, 1, 0
.balign 16
kstack:
    .fill 4096, 1, 0
kstack_top:
.balign 64
area:
    .fill 1024, 1, 0
"#;
    let Some(elf) = tiny("xsave", asm) else {
        return;
    };
    jit_then_kvm(
        "XSAVE with CR4.OSXSAVE",
        |accel| xlat(accel, &elf),
        |jit| {
            assert_eq!(
                jit, "1 0 1 1 3 1 3 3 1 1 1 1 1 \n",
                "XSAVE, OSXSAVE before/after CR4, #GP for XCR0=2, leaf 0xd, XCR0, XSTATE_BV, \
                 XMM0/FCW/MXCSR saved, xrstor, SSE init"
            )
        },
    );
}

/// jmp far m16:64 to the 64-bit code segment goes on there (JIT = KVM); jmp far m16:32 to the
/// loader's 32-bit code segment (0x08) would enter compatibility mode, which the JIT does not
/// model: the run ends with status 1 and says so (Linux's BIOS reboot path after a panic does
/// this), never a hang or a #UD loop.
#[test]
fn far_jump_to_64_bit_code_runs_and_to_32_bit_code_ends_the_jit_run() {
    let far64 = r#"
.text
.globl _start
_start:
    rex.w ljmp *target(%rip)
    hlt
there:
    mov $'J', %al
    mov $0x3f8, %dx
    out %al, %dx
    mov $0x0a, %al
    out %al, %dx
    xor %eax, %eax
    mov $0x501, %dx
    out %al, %dx
    hlt
.data
target:
    .quad there
    .word 0x10
"#;
    let far32 = r#"
.text
.globl _start
_start:
    ljmp *target(%rip)
    hlt
.data
target:
    .long 0x100000
    .word 0x08
"#;
    let (Some(e64), Some(e32)) = (tiny("far64", far64), tiny("far32", far32)) else {
        return;
    };
    jit_then_kvm(
        "jmp far to 64-bit code",
        |accel| xlat(accel, &e64),
        |jit| assert_eq!(jit, "J\n"),
    );
    let (status, line) = ending("jit", &e32);
    assert_eq!(status, 1, "{line}");
    assert!(
        line.contains("compatibility mode is not modelled"),
        "{line}"
    );
}
