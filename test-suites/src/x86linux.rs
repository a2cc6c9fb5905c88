//! Shared by the x86-64 Linux boot tests (tests/kvm_linux.rs under `--accel kvm`,
//! tests/x86_jit_linux.rs under `--accel jit`): Debian's cached kernel and the release its
//! .deb names, the serial console read line by line until a deadline, a disk only this run
//! knows, and what a busybox boot of scripts/setup.d/51-x86-initramfs.sh must print.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{cache_dir, scratch_dir};

/// The cached kernel image `file` (`bzImage` or `vmlinux`, scripts/setup.d/50-x86-kernel.sh)
/// and the release its .deb names (`linux-image-6.1.0-56-amd64_..._amd64.deb` ->
/// `6.1.0-56-amd64`); `None`, saying why on stderr, when it is not cached.
pub fn kernel(file: &str) -> Option<(PathBuf, String)> {
    let dir = cache_dir().join("x86_64/linux");
    let image = dir.join(file);
    let deb = std::fs::read_to_string(dir.join("version")).ok();
    let (Some(deb), true) = (deb, image.exists()) else {
        eprintln!(
            "skipping: no {} (scripts/setup.d/50-x86-kernel.sh fetches it)",
            image.display()
        );
        return None;
    };
    let release = deb
        .trim()
        .strip_prefix("linux-image-")
        .and_then(|s| s.split('_').next())
        .expect("version file names the .deb")
        .to_string();
    Some((image, release))
}

/// The kernel image `file` and the busybox initramfs, when both are cached (else `None`,
/// saying why on stderr).
pub fn kernel_and_initrd(file: &str) -> Option<(PathBuf, PathBuf)> {
    let dir = cache_dir().join("x86_64/linux");
    let (image, initrd) = (dir.join(file), dir.join("initrd.cpio.gz"));
    if !image.exists() || !initrd.exists() {
        eprintln!(
            "skipping: no {} or {} (scripts/setup.d/50-x86-kernel.sh, 51-x86-initramfs.sh)",
            image.display(),
            initrd.display()
        );
        return None;
    }
    Some((image, initrd))
}

/// Runs `cmd` (an xlat machine) and reads its console until `done` says a line ends the wait
/// or `limit` passes; then kills it. Returns the lines `keep` chose (in order), the other
/// lines, and xlat's stderr.
pub fn console_until(
    cmd: &mut Command,
    limit: Duration,
    mut keep: impl FnMut(&str) -> bool,
    mut done: impl FnMut(&[String]) -> bool,
) -> (Vec<String>, Vec<String>, String) {
    let mut child = cmd
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
    let (mut kept, mut seen) = (Vec::new(), Vec::new());
    while !done(&kept) {
        match rx.recv_timeout(limit.saturating_sub(t0.elapsed())) {
            Ok(l) if keep(&l) => kept.push(l),
            Ok(l) => seen.push(l),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait for xlat");
    (
        kept,
        seen,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A raw disk image in scratch directory `test` whose first bytes are a marker only this run
/// knows: `(path, marker)`.
pub fn marked_disk(test: &str) -> (PathBuf, String) {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        ^ u128::from(std::process::id());
    let marker = format!("xlat-disk-{:x}", nonce as u64);
    let disk = scratch_dir(test).join("disk.raw");
    let mut data = marker.clone().into_bytes();
    data.resize(64 << 10, 0);
    std::fs::write(&disk, &data).expect("write the disk image");
    (disk, marker)
}

/// Asserts what the initramfs's /init prints on a whole boot: user space up, `cpus` CPUs
/// online, the disk's `marker` read, done, and the ACPI power-off's exit status 0.
pub fn assert_booted(out: &Output, marker: &str, cpus: u32) {
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
    let want = format!("processors {cpus}");
    assert!(
        console
            .lines()
            .any(|l| l.starts_with("xlat-init: cpus online") && l.ends_with(&want)),
        "want {want}: {}",
        ctx()
    );
    assert!(
        console.contains(&format!("xlat-init: /dev/vda begins '{marker}'")),
        "{}",
        ctx()
    );
    assert!(console.contains("xlat-init: done"), "{}", ctx());
    assert_eq!(out.status.code(), Some(0), "ACPI power-off: {}", ctx());
}
