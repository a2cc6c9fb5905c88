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

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use xlat_test_suites::{cache_dir, microvm_args, scratch_dir, xlat_bin};

#[test]
fn debian_kernel_prints_its_banner_under_jit() {
    let dir = cache_dir().join("x86_64/linux");
    let bzimage = dir.join("bzImage");
    let Ok(deb) = std::fs::read_to_string(dir.join("version")) else {
        eprintln!(
            "skipping: no {} (scripts/setup.d/50-x86-kernel.sh fetches it)",
            bzimage.display()
        );
        return;
    };
    if !bzimage.exists() {
        eprintln!(
            "skipping: no {} (scripts/setup.d/50-x86-kernel.sh fetches it)",
            bzimage.display()
        );
        return;
    }
    // linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb -> the release "6.1.0-56-amd64"
    let release = deb
        .trim()
        .strip_prefix("linux-image-")
        .and_then(|s| s.split('_').next())
        .expect("version file names the .deb")
        .to_string();
    let append = "console=ttyS0 earlyprintk=serial panic=-1 xlat_marker=jit42";
    let mut child = Command::new(xlat_bin())
        .args(microvm_args("jit"))
        .args(["-m", "256M", "--kernel"])
        .arg(&bzimage)
        .args(["--append", append])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start xlat");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let t0 = Instant::now();
    let limit = Duration::from_secs(120);
    let mut seen = Vec::new();
    let mut banner = None;
    let cmdline = loop {
        let left = limit.saturating_sub(t0.elapsed());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains("Linux version ") => banner = Some(l),
            // The kernel echoes the command line right after the banner.
            Ok(l) if banner.is_some() && l.contains("Command line:") => break Some(l),
            Ok(l) => seen.push(l),
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait for xlat");
    let err = String::from_utf8_lossy(&out.stderr);
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
    let dir = cache_dir().join("x86_64/linux");
    let (bzimage, initrd) = (dir.join("bzImage"), dir.join("initrd.cpio.gz"));
    if !bzimage.exists() || !initrd.exists() {
        eprintln!(
            "skipping: no {} or {} (scripts/setup.d/50-x86-kernel.sh, 51-x86-initramfs.sh)",
            bzimage.display(),
            initrd.display()
        );
        return;
    }
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        ^ u128::from(std::process::id());
    let marker = format!("xlat-disk-{:x}", nonce as u64);
    let disk = scratch_dir("x86_jit_linux").join("disk.raw");
    let mut data = marker.clone().into_bytes();
    data.resize(64 << 10, 0);
    std::fs::write(&disk, &data).expect("write the disk image");
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
    let console = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = console.lines().rev().take(30).collect();
    let ctx = || {
        format!(
            "status {:?}; stderr: {err}; console tail: {tail:#?}",
            out.status
        )
    };
    assert!(console.contains("xlat-init: userspace up"), "{}", ctx());
    assert!(
        console
            .lines()
            .any(|l| l.starts_with("xlat-init: cpus online") && l.ends_with("processors 1")),
        "want processors 1: {}",
        ctx()
    );
    assert!(
        console.contains(&format!("xlat-init: /dev/vda begins '{marker}'")),
        "{}",
        ctx()
    );
    assert!(console.contains("xlat-init: done"), "{}", ctx());
    assert_eq!(out.status.code(), Some(0), "ACPI power-off: {}", ctx());
    eprintln!(
        "booted, read the disk and powered off in {:?}",
        t0.elapsed()
    );
}
