//! Bare-metal riscv64 programs from `test-suites/guest/system/` (built with the cross gcc,
//! linked at 0x80000000) run on the `virt` machine under qemu-system-riscv64 (the reference)
//! and `xlat system` (JIT, JIT compiling everything, interpreter): the UART output and the exit
//! status (from the test finisher) must be identical.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::path::PathBuf;
use std::process::Command;
use xlat_test_suites::{have, run, scratch_dir, workspace_root, xlat_bin};

/// Builds `name.c`; `None` (with a reason printed) when a tool is missing.
fn build(name: &str) -> Option<PathBuf> {
    for tool in ["riscv64-linux-gnu-gcc", "qemu-system-riscv64", "timeout"] {
        if !have(tool) {
            eprintln!("skipping {name}: {tool} is not installed (scripts/setup.sh installs it)");
            return None;
        }
    }
    let out = scratch_dir("system");
    let script = workspace_root().join("test-suites/guest/system/build.sh");
    let o = run(Command::new("bash").arg(script).arg(&out).arg(name));
    assert!(
        o.status.success(),
        "building {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(out.join(format!("{name}.elf")))
}

/// (stdout, exit status) of a run.
fn outcome(cmd: &mut Command) -> (String, i32) {
    let o = run(cmd);
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

/// Runs `name` under QEMU and xlat; returns QEMU's output after checking that every xlat
/// configuration matches it.
fn compare(name: &str) -> Option<String> {
    let elf = build(name)?;
    let q = outcome(
        Command::new("timeout")
            .arg("20")
            .arg("qemu-system-riscv64")
            .args(["-M", "virt", "-bios", "none", "-nographic", "-kernel"])
            .arg(&elf),
    );
    for extra in [
        &["--accel", "jit"][..],
        &["--hot-threshold", "0"],
        &["--accel", "interp"],
    ] {
        let x = outcome(
            Command::new("timeout")
                .arg("20")
                .arg(xlat_bin())
                .args([
                    "system",
                    "--arch",
                    "riscv64",
                    "--machine",
                    "virt",
                    "--bios",
                    "none",
                ])
                .args(extra)
                .arg("--kernel")
                .arg(&elf),
        );
        assert_eq!(
            x, q,
            "{name} with {extra:?}: xlat (left) differs from qemu (right)"
        );
    }
    assert_eq!(q.1, 0, "{name} failed under the reference:\n{}", q.0);
    Some(q.0)
}

#[test]
fn hello_uart_csr_ids_ecall_and_illegal_traps() {
    let Some(out) = compare("hello") else { return };
    assert!(out.contains("fib(20)=6765"), "{out}");
    assert!(out.contains("trap: mcause=0x000000000000000b"), "{out}");
}

#[test]
fn privilege_modes_delegation_and_trap_returns() {
    let Some(out) = compare("priv") else { return };
    assert!(out.contains("in S\n"), "{out}");
    assert!(out.contains("back in S\n"), "{out}");
}

#[test]
fn sv39_sv48_faults_access_dirty_sum_mxr_sfence() {
    let Some(out) = compare("paging") else { return };
    assert!(out.contains("pte after store=0x00000000000000c7"), "{out}");
    assert!(out.contains("faults=0x0000000000000007"), "{out}");
}

#[test]
fn clint_timer_software_interrupts_wfi_vectored_and_sstc() {
    let Some(out) = compare("irq") else { return };
    assert!(out.contains("msi+mti=0x0000000000000017"), "{out}");
    assert!(out.contains("sti after enable=0x0000000000000002"), "{out}");
}

/// Debian's OpenSBI (installed with qemu-system-riscv).
const FW_JUMP: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";

/// The lines of `out` that both machines must print identically: the payload's, and the
/// banner lines that do not depend on which ISA extensions the hart has.
fn comparable(out: &str) -> Vec<&str> {
    const SAME: [&str; 8] = [
        "payload:",
        "OpenSBI v",
        "Platform Name",
        "Platform HART Count",
        "Platform Console Device",
        "Domain0 Next Address",
        "Runtime SBI Version",
        "Boot HART PMP Count",
    ];
    out.lines()
        .filter(|l| SAME.iter().any(|p| l.starts_with(p)))
        .collect()
}

#[test]
fn opensbi_fw_jump_boots_an_s_mode_payload_that_powers_off() {
    if !std::path::Path::new(FW_JUMP).exists() {
        eprintln!("skipping: {FW_JUMP} is missing (scripts/setup.sh installs qemu-system-riscv)");
        return;
    }
    let Some(elf) = build("sbi_payload") else {
        return;
    };
    let payload = elf.with_file_name("sbi_payload.bin");
    let q = outcome(
        Command::new("timeout")
            .arg("20")
            .arg("qemu-system-riscv64")
            .args(["-M", "virt", "-nographic", "-bios", FW_JUMP, "-kernel"])
            .arg(&payload),
    );
    assert_eq!(q.1, 0, "reference failed:\n{}", q.0);
    assert!(q.0.contains("payload: timer interrupt taken"), "{}", q.0);
    for extra in [&["--accel", "jit"][..], &["--accel", "interp"]] {
        let x = outcome(
            Command::new("timeout")
                .arg("20")
                .arg(xlat_bin())
                .args(["system", "--machine", "virt", "--bios", FW_JUMP])
                .args(extra)
                .arg("--kernel")
                .arg(&payload),
        );
        assert_eq!(x.1, 0, "xlat {extra:?} exit status; output:\n{}", x.0);
        assert_eq!(
            comparable(&x.0),
            comparable(&q.0),
            "xlat {extra:?} (left) vs qemu"
        );
    }
}

#[test]
fn pmp_default_deny_tor_napot_permissions_and_lock() {
    let Some(out) = compare("pmp") else { return };
    assert!(
        out.contains("M trap: cause=7 tval is target? 0 from priv 1"),
        "{out}"
    );
    assert!(out.contains("M store denied by the locked entry"), "{out}");
}
