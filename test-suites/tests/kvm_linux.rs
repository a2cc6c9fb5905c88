//! Debian's amd64 kernel (bookworm's linux-image-amd64, the uncompressed vmlinux with its PVH
//! entry, from scripts/setup.d/50-x86-kernel.sh) under `xlat system --arch x86_64 --accel kvm`
//! prints its `Linux version` banner on the serial console within 120 s: the PVH loader,
//! start info, e820, command line, CPUID and the UART work. Needs /dev/kvm and the cached
//! kernel; elsewhere it prints why it is skipped.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xlat_test_suites::kvm::{hardware_kvm, kvm_usable};
use xlat_test_suites::x86linux::{
    assert_booted, console_until, kernel, kernel_and_initrd, marked_disk,
};
use xlat_test_suites::{cache_dir, microvm_args, xlat_bin};

#[test]
fn debian_kernel_prints_its_banner() {
    let Some((vmlinux, release)) = kernel("vmlinux") else {
        return;
    };
    if !kvm_usable("debian_kernel_prints_its_banner") {
        return;
    }
    let (t0, limit) = (Instant::now(), Duration::from_secs(120));
    let (lines, seen, err) = console_until(
        Command::new(xlat_bin())
            .args(microvm_args("kvm"))
            .args(["-m", "256M", "--kernel"])
            .arg(&vmlinux)
            .args(["--append", "console=ttyS0 earlyprintk=serial panic=-1"]),
        limit,
        |l| l.contains("Linux version "),
        |kept| !kept.is_empty(),
    );
    let Some(banner) = lines.first() else {
        panic!("no `Linux version` line within {limit:?}; console: {seen:?}; stderr: {err}")
    };
    assert!(banner.contains(&release), "{banner} (expected {release})");
    eprintln!("banner after {:?}: {banner}", t0.elapsed());
}

/// Debian's kernel with the busybox initramfs of scripts/setup.d/51-x86-initramfs.sh under
/// `--accel kvm`: its /init prints its markers (with the CPUs the kernel brought up), reads
/// the first bytes of a virtio-blk disk (found through the DSDT) and powers off through the
/// ACPI sleep control register, which ends xlat with status 0. With VT-x/AMD-V this runs
/// with `--smp 2` and wants 2 CPUs. Guest ring 0 is emulated on a software-assisted KVM, so
/// a boot takes most of an hour there: it runs by itself only where the CPU flags show vmx or
/// svm, elsewhere with XLAT_SLOW_KVM=1 (XLAT_KVM_SMP=N overrides
/// the CPU count, XLAT_SLOW_KVM_LIMIT=secs the time limit). xlat samples where the vCPUs are
/// every minute (XLAT_KVM_SAMPLE, symbolised with the System.map of setup.d/53 when it is
/// there), so a failed run's stderr says where the guest was.
///
/// The kernel command line cuts ring-0 work the emulator makes slow and nothing here needs:
/// crypto self-tests (`cryptomgr.notests`), the read-only/W^X page-table pass and its checker
/// walk (`rodata=off`), the ftrace check that looks up all 40k traceable functions in kallsyms
/// while holding ftrace_lock, and the trace-event "eval map" rewrite of every event's format,
/// both of which block init for many minutes (`initcall_blacklist=`
/// `ftrace_check_for_weak_functions,trace_eval_init`), the soft-lockup watchdog; a
/// periodic tick without hrtimer reprogramming (`highres=off nohz=off
/// lapic=notscdeadline`: every tick's handler is emulated too) and expedited RCU grace
/// periods (`rcupdate.rcu_expedited=1`, which need no ticks on one CPU).
#[test]
fn debian_kernel_boots_busybox_reads_a_disk_and_powers_off() {
    if !hardware_kvm() && std::env::var("XLAT_SLOW_KVM").as_deref() != Ok("1") {
        eprintln!(
            "skipping: no vmx/svm here (software-assisted KVM): a full boot takes most of an \
             hour; set XLAT_SLOW_KVM=1 to run it"
        );
        return;
    }
    let Some((vmlinux, initrd)) = kernel_and_initrd("vmlinux") else {
        return;
    };
    if !kvm_usable("debian_kernel_boots_busybox_reads_a_disk_and_powers_off") {
        return;
    }
    let smp: u32 = std::env::var("XLAT_KVM_SMP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if hardware_kvm() { 2 } else { 1 });
    let (disk, marker) = marked_disk("kvm_linux");
    let limit: u64 = std::env::var("XLAT_SLOW_KVM_LIMIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600);
    let map = cache_dir().join("x86_64/linux/System.map");
    let mut cmd = Command::new("timeout");
    cmd.env("XLAT_KVM_SAMPLE", "60");
    if map.exists() {
        cmd.env("XLAT_KVM_SYSTEM_MAP", &map);
    }
    let t0 = Instant::now();
    let out = cmd
        .arg(limit.to_string())
        .arg(xlat_bin())
        .args(microvm_args("kvm"))
        .args(["-m", "128M", "--smp", &smp.to_string(), "--kernel"])
        .arg(&vmlinux)
        .arg("--initrd")
        .arg(&initrd)
        .arg("--drive")
        .arg(format!("file={},format=raw", disk.display()))
        .args([
            "--append",
            "console=ttyS0 panic=-1 init_on_alloc=0 mitigations=off cryptomgr.notests \
             rodata=off initcall_blacklist=ftrace_check_for_weak_functions,trace_eval_init \
             nowatchdog \
             highres=off nohz=off lapic=notscdeadline rcupdate.rcu_expedited=1",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("start xlat");
    assert_booted(&out, &marker, smp);
    eprintln!(
        "booted, read the disk and powered off in {:?}",
        t0.elapsed()
    );
}
