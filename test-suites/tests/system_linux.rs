//! Boots Debian trixie's riscv64 kernel (OpenSBI fw_jump, a busybox initramfs whose /init
//! prints a few lines and powers off; both from scripts/setup.d/42-riscv-linux.sh) under
//! qemu-system-riscv64 and under `xlat system`: both must reach userspace, print the same
//! lines from it, and power off.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::process::Command;
use std::time::Instant;
use xlat_test_suites::{cache_dir, have, run, xlat_bin};

const FW_JUMP: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";
const APPEND: &str = "console=ttyS0 earlycon=sbi panic=-1";

/// The lines /init printed, without the one naming the ISA extensions (they differ).
fn init_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.starts_with("xlat-init:") && !l.contains("isa"))
        .collect()
}

#[test]
fn debian_kernel_boots_to_a_busybox_init_and_powers_off() {
    let dir = cache_dir().join("riscv64/linux");
    let (kernel, initrd) = (dir.join("Image"), dir.join("initrd.cpio.gz"));
    for p in [&kernel, &initrd, &std::path::PathBuf::from(FW_JUMP)] {
        if !p.exists() {
            eprintln!(
                "skipping: {} is missing (scripts/setup.sh fetches it)",
                p.display()
            );
            return;
        }
    }
    if !have("qemu-system-riscv64") || !have("timeout") {
        eprintln!("skipping: qemu-system-riscv64 is not installed");
        return;
    }
    let t0 = Instant::now();
    let q = run(Command::new("timeout")
        .arg("120")
        .arg("qemu-system-riscv64")
        .args([
            "-M",
            "virt",
            "-m",
            "512M",
            "-nographic",
            "-bios",
            FW_JUMP,
            "-kernel",
        ])
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", APPEND]));
    let tq = t0.elapsed();
    let qout = String::from_utf8_lossy(&q.stdout);
    assert!(q.status.success(), "reference boot failed:\n{qout}");
    assert_eq!(
        init_lines(&qout),
        ["xlat-init: userspace up", "xlat-init: 6*7=42"],
        "reference output:\n{qout}"
    );
    let t0 = Instant::now();
    let x = run(Command::new("timeout")
        .arg("120")
        .arg(xlat_bin())
        .args([
            "system",
            "--machine",
            "virt",
            "-m",
            "512M",
            "--bios",
            FW_JUMP,
            "--kernel",
        ])
        .arg(&kernel)
        .arg("--initrd")
        .arg(&initrd)
        .args(["--append", APPEND]));
    let tx = t0.elapsed();
    let xout = String::from_utf8_lossy(&x.stdout);
    assert!(
        x.status.success(),
        "xlat boot failed ({:?}):\n{xout}",
        x.status
    );
    assert_eq!(init_lines(&xout), init_lines(&qout), "xlat output:\n{xout}");
    assert!(xout.contains("reboot: Power down"), "{xout}");
    eprintln!("boot to init and power-off: qemu {tq:.2?}, xlat {tx:.2?}");
}
