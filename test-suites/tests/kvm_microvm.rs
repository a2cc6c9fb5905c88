//! The x86_64 microvm under `--accel kvm` with tiny guests assembled here (GNU as, linked at
//! 1 MiB, entered in long mode on the loader's page tables): output through COM1 and the
//! debug-exit status; guests that write garbage to ports and MMIO, triple-fault or halt with
//! interrupts off end with a clear message, never a hang. Bad images and options give
//! one-line errors (those run without KVM too). Needs /dev/kvm for the guest runs; elsewhere
//! they print why they are skipped.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::path::PathBuf;
use std::process::Command;
use xlat_test_suites::kvm::{hardware_kvm, kvm_usable};
use xlat_test_suites::{have, microvm_args, run, scratch_dir, xlat_bin};

/// Assembles `body` (AT&T syntax, 64-bit, `_start` first) into an ELF linked at 0x100000.
fn guest(name: &str, body: &str) -> Option<PathBuf> {
    for tool in ["as", "ld", "timeout"] {
        if !have(tool) {
            eprintln!("skipping {name}: {tool} is not installed");
            return None;
        }
    }
    let dir = scratch_dir("kvm_microvm");
    let src = dir.join(format!("{name}.S"));
    let obj = dir.join(format!("{name}.o"));
    let elf = dir.join(format!("{name}.elf"));
    let text = format!(
        ".code64\n.text\n.globl _start\n_start:\n{body}\n\
         # print the NUL-terminated string at %rsi on COM1\n\
         puts:\n  mov $0x3f8, %dx\n1: lodsb\n  test %al, %al\n  jz 2f\n  out %al, %dx\n  jmp 1b\n2: ret\n"
    );
    std::fs::write(&src, text).expect("write guest source");
    let o = run(Command::new("as").arg("--64").arg("-o").arg(&obj).arg(&src));
    assert!(
        o.status.success(),
        "as {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(Command::new("ld")
        .args([
            "-static",
            "-nostdlib",
            "--build-id=none",
            "-Ttext=0x100000",
            "-e",
            "_start",
            "-o",
        ])
        .arg(&elf)
        .arg(&obj));
    assert!(
        o.status.success(),
        "ld {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(elf)
}

/// (stdout, stderr, status) of `xlat system --arch x86_64 --accel kvm ARGS --kernel K`,
/// stopped by `timeout` after `secs`.
fn xlat(kernel: &PathBuf, args: &[&str], secs: u32) -> (String, String, i32) {
    let o = run(Command::new("timeout")
        .arg(secs.to_string())
        .arg(xlat_bin())
        .args(microvm_args("kvm"))
        .args(args)
        .arg("--kernel")
        .arg(kernel)
        .stdin(std::process::Stdio::null()));
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

/// Exit through the debug port with status `code`.
fn exit_with(code: u8) -> String {
    format!("  mov $0x501, %dx\n  mov ${code}, %al\n  out %al, %dx\n  cli\n  hlt\n")
}

const HELLO: &str = "hello from a long-mode guest";

#[test]
fn hello_and_exit_status() {
    let Some(elf) = guest(
        "hello",
        &format!(
            "  lea msg(%rip), %rsi\n  call puts\n{}\nmsg: .asciz \"{HELLO}\\n\"\n",
            exit_with(7)
        ),
    ) else {
        return;
    };
    if !kvm_usable("hello_and_exit_status") {
        return;
    }
    let (out, err, status) = xlat(&elf, &[], 30);
    assert_eq!(out, format!("{HELLO}\n"), "stderr: {err}");
    assert_eq!(status, 7, "stderr: {err}");
    // with application processors that are never started, the run still ends with the BSP
    let (out, err, status) = xlat(&elf, &["--smp", "3"], 30);
    assert_eq!(out, format!("{HELLO}\n"), "stderr: {err}");
    assert_eq!(status, 7, "stderr: {err}");
}

/// The loader's state as documented for the JIT side: CR0/CR4/EFER, CS and the stack, and the
/// identity map reaching the top of the first 4 GiB (the IOAPIC page at 0xfec00000 reads).
#[test]
fn loader_boot_state() {
    let Some(elf) = guest(
        "bootstate",
        "  mov %cr0, %rax\n  mov $0x80050033, %edx\n  cmp %rdx, %rax\n  jne bad\n\
         mov %cr4, %rax\n  cmp $0x620, %rax\n  jne bad\n\
         mov $0xc0000080, %ecx\n  rdmsr\n  cmp $0xd00, %eax\n  jne bad\n\
         mov %cs, %ax\n  cmp $0x10, %ax\n  jne bad\n\
         cmp $0x8ff0, %rsp\n  jne bad\n\
         mov %cr3, %rax\n  cmp $0x9000, %rax\n  jne bad\n\
         movaps %xmm0, %xmm1\n\
         mov $0xfec00000, %rbx\n  movl $1, (%rbx)\n  mov 0x10(%rbx), %eax\n\
         lea ok(%rip), %rsi\n  call puts\n  jmp done\n\
         bad: lea no(%rip), %rsi\n  call puts\n\
         done:\n  mov $0x501, %dx\n  mov $0, %al\n  out %al, %dx\n  hlt\n\
         ok: .asciz \"state ok\\n\"\nno: .asciz \"state differs\\n\"\n",
    ) else {
        return;
    };
    if !kvm_usable("loader_boot_state") {
        return;
    }
    let (out, err, status) = xlat(&elf, &[], 30);
    assert_eq!((out.as_str(), status), ("state ok\n", 0), "stderr: {err}");
}

#[test]
fn garbage_to_ports_and_mmio_is_survived() {
    // every 7th port but the i8042 (0x60-0x6f), debug exit (0x500-0x50f) and COM1 gets a
    // pseudo-random byte, word and dword; then MMIO: the virtio-rng window, a hole, the IOAPIC
    let body = "  mov $12345, %r8d\n  xor %ecx, %ecx\n\
        ploop:\n  mov %ecx, %eax\n  and $0xfff0, %eax\n  cmp $0x60, %eax\n  je pnext\n\
          cmp $0x500, %eax\n  je pnext\n  cmp $0x3f0, %eax\n  je pnext\n\
          imul $1103515245, %r8d, %r8d\n  add $12345, %r8d\n  mov %r8d, %eax\n  mov %cx, %dx\n\
          out %al, %dx\n  out %ax, %dx\n  out %eax, %dx\n  in %dx, %al\n\
        pnext:\n  add $7, %ecx\n  cmp $0x10000, %ecx\n  jb ploop\n\
        mov $0xfeb00000, %rbx\n  xor %ecx, %ecx\n\
        mloop:\n  imul $1103515245, %r8d, %r8d\n  add $12345, %r8d\n\
          mov %r8d, (%rbx,%rcx)\n  mov (%rbx,%rcx), %eax\n  add $4, %ecx\n  cmp $0x200, %ecx\n  jb mloop\n\
        mov $0xd0000000, %rbx\n  movq $-1, (%rbx)\n  mov (%rbx), %rax\n\
        mov $0xfebff000, %rbx\n  movl $0x55, (%rbx)\n\
        lea msg(%rip), %rsi\n  call puts\n";
    let Some(elf) = guest(
        "garbage",
        &format!("{body}{}\nmsg: .asciz \"survived\\n\"\n", exit_with(3)),
    ) else {
        return;
    };
    if !kvm_usable("garbage_to_ports_and_mmio_is_survived") {
        return;
    }
    let (out, err, status) = xlat(&elf, &["-d", "stats"], 60);
    assert!(
        out.ends_with("survived\n"),
        "stdout: {out:?}, stderr: {err}"
    );
    assert_eq!(status, 3, "stderr: {err}");
    assert!(err.contains("unassigned_port_accesses="), "{err}");
}

#[test]
fn triple_fault_ends_with_a_message() {
    // no IDT: #UD -> #GP -> #DF -> shutdown
    let Some(elf) = guest(
        "triple",
        "  lidt idt(%rip)\n  ud2\n.p2align 3\nidt: .word 0\n .quad 0\n",
    ) else {
        return;
    };
    if !kvm_usable("triple_fault_ends_with_a_message") {
        return;
    }
    let (_, err, status) = xlat(&elf, &[], 30);
    assert!(
        err.contains("triple fault") && err.contains("rip=0x"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(status, 1);
}

#[test]
fn halt_with_interrupts_off_ends_with_a_message() {
    let Some(elf) = guest("cli_hlt", "  cli\n  hlt\n  jmp _start\n") else {
        return;
    };
    if !kvm_usable("halt_with_interrupts_off_ends_with_a_message") {
        return;
    }
    let (_, err, status) = xlat(&elf, &[], 30);
    assert!(
        err.contains("halted with interrupts disabled") && err.contains("rip=0x10000"),
        "{err}"
    );
    assert_eq!(status, 1);
}

#[test]
fn kvm_trace_tells_whether_it_is_hardware_backed() {
    let Some(elf) = guest("int_trace", &exit_with(0)) else {
        return;
    };
    if !kvm_usable("kvm_trace_tells_whether_it_is_hardware_backed") {
        return;
    }
    let hw = hardware_kvm();
    let (_, err, status) = xlat(&elf, &["-d", "int"], 30);
    let want = format!("hardware-backed: {}", if hw { "yes" } else { "no" });
    assert!(err.contains(&want), "{err}");
    assert_eq!(status, 0);
}

/// One line on stderr, status 1, containing `what`.
fn one_line_error(kernel: &PathBuf, args: &[&str], what: &str) {
    let (out, err, status) = xlat(kernel, args, 30);
    assert_eq!(status, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("xlat: ") && err.contains(what),
        "want {what:?}: {err}"
    );
}

#[test]
fn bad_images_and_options_give_one_line_errors() {
    let Some(elf) = guest("hello_for_errors", &exit_with(0)) else {
        return;
    };
    let dir = scratch_dir("kvm_microvm");
    let image = std::fs::read(&elf).expect("read guest");
    let garbage = dir.join("garbage.bin");
    std::fs::write(&garbage, vec![0x5au8; 4096]).expect("write");
    one_line_error(&garbage, &[], "not an x86-64 ELF or bzImage");
    let truncated = dir.join("truncated.elf");
    std::fs::write(&truncated, &image[..200]).expect("write");
    one_line_error(&truncated, &[], "cannot load the ELF");
    let mut arm = image.clone();
    arm[18] = 183; // EM_AARCH64
    let arm_path = dir.join("aarch64.elf");
    std::fs::write(&arm_path, &arm).expect("write");
    one_line_error(&arm_path, &[], "not x86-64");
    let mut bz = vec![0u8; 8192];
    bz[0x202..0x206].copy_from_slice(b"HdrS");
    bz[0x206] = 0x0b; // protocol 2.11
    bz[0x207] = 2;
    let bz_path = dir.join("old.bzImage");
    std::fs::write(&bz_path, &bz).expect("write");
    one_line_error(&bz_path, &[], "bzImage boot protocol 2.11");
    let big = dir.join("big.initrd");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(64 << 20).expect("sparse initrd");
    let big_s = big.display().to_string();
    one_line_error(&elf, &["-m", "32M", "--initrd", &big_s], "larger than RAM");
    one_line_error(&elf, &["-m", "100000G"], "more than the host's");
    one_line_error(&elf, &["-m", "1M"], "at least 2 MiB");
    let missing = dir.join("does-not-exist");
    one_line_error(&missing, &[], "does-not-exist");
}

#[test]
fn kvm_unavailable_is_one_line() {
    let Some(elf) = guest("hello_unavail", &exit_with(0)) else {
        return;
    };
    let o = run(Command::new("timeout")
        .arg("30")
        .arg(xlat_bin())
        .args(["system", "--arch", "x86_64", "--accel", "kvm", "--kernel"])
        .arg(&elf)
        .env("XLAT_KVM_DEVICE", "/nonexistent/kvm")
        .stdin(std::process::Stdio::null()));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("xlat: KVM unavailable: /nonexistent/kvm: ")
            && err.trim_end().ends_with("; try --accel jit"),
        "{err}"
    );
}

/// `--smp 2`: the boot CPU wakes vCPU 1 with INIT and SIPI through the in-kernel LAPIC (the
/// way Linux starts its APs); the AP runs real-mode code at the SIPI vector's page, prints
/// `A` and sets a flag the boot CPU waits for (`Y` when seen, `N` after a long wait). Shown
/// on this project's software-assisted KVM too, so an AP Linux does not bring up there is
/// not an INIT/SIPI delivery problem.
#[test]
fn second_vcpu_starts_through_init_and_sipi() {
    if !kvm_usable("second_vcpu_starts_through_init_and_sipi") {
        return;
    }
    let body = r#"
    lea apcode(%rip), %rsi
    mov $0x7000, %edi
    mov $(apend - apcode), %ecx
    rep movsb
    movb $0, 0x7100
    mov $0xfee00000, %ebx
    movl $0x1ff, 0xf0(%rbx)
    movl $(1 << 24), 0x310(%rbx)
    movl $0x4500, 0x300(%rbx)
    mov $2000, %ecx
1:  dec %ecx
    jnz 1b
    movl $(1 << 24), 0x310(%rbx)
    movl $0x4607, 0x300(%rbx)
    mov $2000, %ecx
1:  dec %ecx
    jnz 1b
    movl $(1 << 24), 0x310(%rbx)
    movl $0x4607, 0x300(%rbx)
    mov $2000000, %ecx
2:  cmpb $0, 0x7100
    jne 3f
    pause
    dec %ecx
    jnz 2b
    mov $'N', %al
    jmp 4f
3:  mov $'Y', %al
4:  mov $0x3f8, %dx
    out %al, %dx
    xor %eax, %eax
    mov $0x501, %dx
    out %al, %dx
    cli
    hlt
.data
apcode:
.code16
    xor %ax, %ax
    mov %ax, %ds
    mov $0x3f8, %dx
    mov $'A', %al
    out %al, %dx
    movb $1, 0x7100
5:  hlt
    jmp 5b
apend:
.code64
.text
"#;
    let Some(elf) = guest("ap_sipi", body) else {
        return;
    };
    let (out, err, status) = xlat(&elf, &["--smp", "2"], 60);
    assert_eq!((out.as_str(), status), ("AY", 0), "stderr: {err}");
}
