//! Debian's amd64 kernel (bookworm's linux-image-amd64 as packaged: the bzImage, entered at its
//! 64-bit entry by the microvm's loader, from scripts/setup.d/50-x86-kernel.sh) under
//! `xlat system --arch x86_64 --accel jit` prints its `Linux version` banner on the serial
//! console within 120 s: the decompressor, the kernel's early start-up (page tables, GDT/IDT,
//! far returns, CPUID, MSRs) and the UART work under the JIT. The expected release comes from
//! the .deb's name, not from xlat's output. Then the whole boot: the busybox initramfs of
//! scripts/setup.d/51-x86-initramfs.sh reaches user space, loads the virtio modules, reads a
//! virtio-blk disk (interrupts through the IOAPIC and the local APIC) and powers off through
//! ACPI. Needs no KVM; skipped (with the reason) when the kernel is not cached.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xlat_test_suites::x86linux::{
    assert_booted, console_until, kernel, kernel_and_initrd, marked_disk,
};
use xlat_test_suites::{microvm_args, xlat_bin};

#[test]
fn debian_kernel_prints_its_banner_under_jit() {
    let Some((bzimage, release)) = kernel("bzImage") else {
        return;
    };
    let append = "console=ttyS0 earlyprintk=serial panic=-1 xlat_marker=jit42";
    let (t0, limit) = (Instant::now(), Duration::from_secs(120));
    // The banner, then the command line the kernel echoes right after it.
    let (lines, seen, err) = console_until(
        Command::new(xlat_bin())
            .args(microvm_args("jit"))
            .args(["-m", "256M", "--kernel"])
            .arg(&bzimage)
            .args(["--append", append]),
        limit,
        |l| l.contains("Linux version ") || l.contains("Command line:"),
        |kept| kept.iter().any(|l| l.contains("Command line:")),
    );
    let banner = lines.iter().find(|l| l.contains("Linux version "));
    let cmdline = lines.iter().find(|l| l.contains("Command line:"));
    let (Some(banner), Some(cmdline)) = (banner, cmdline) else {
        panic!(
            "no `Linux version` and `Command line:` lines within {limit:?}; console: {seen:?}; \
             stderr: {err}"
        )
    };
    assert!(banner.contains(&release), "{banner} (expected {release})");
    assert!(cmdline.contains(append), "{cmdline} (expected {append})");
    eprintln!("banner after {:?}: {banner}", t0.elapsed());
}

/// The busybox initramfs under `--accel jit`: user space up with one CPU, the first bytes of a
/// virtio-blk disk that only this run knows, and ACPI power-off (exit status 0), within 120 s.
/// The command line drops work nothing here needs (crypto self-tests, the W^X page-table pass,
/// ftrace's weak-function scan, the lockup watchdog), as the KVM boot test does.
#[test]
fn debian_kernel_boots_busybox_reads_a_disk_and_powers_off_under_jit() {
    let Some((bzimage, initrd)) = kernel_and_initrd("bzImage") else {
        return;
    };
    let (disk, marker) = marked_disk("x86_jit_linux");
    let t0 = Instant::now();
    let out = Command::new("timeout")
        .arg("120")
        .arg(xlat_bin())
        .args(microvm_args("jit"))
        .args(["-m", "128M", "--kernel"])
        .arg(&bzimage)
        .arg("--initrd")
        .arg(&initrd)
        .arg("--drive")
        .arg(format!("file={},format=raw", disk.display()))
        .args([
            "--append",
            "console=ttyS0 panic=-1 cryptomgr.notests rodata=off \
             initcall_blacklist=ftrace_check_for_weak_functions nowatchdog",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("start xlat");
    assert_booted(&out, &marker, 1);
    eprintln!(
        "booted, read the disk and powered off in {:?}",
        t0.elapsed()
    );
}
