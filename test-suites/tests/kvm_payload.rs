//! x86sys's bare-metal payload (`benches/payload`, ring-3 integer/memory/FP kernels behind a
//! ring-0 stub) under `xlat system --arch x86_64 --accel kvm`: its kernel checksum lines equal
//! the same kernels run as a native program, it exits with status 0 through port 0x501, and
//! `-d stats` accounts for the run: every exit counted, xlat's own memory (RSS minus the
//! guest RAM pages resident) under 20 MiB. Needs /dev/kvm; elsewhere it prints why it skips.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::process::{Command, Stdio};
use xlat_test_suites::kvm::kvm_usable;
use xlat_test_suites::{have, microvm_args, run, scratch_dir, workspace_root, xlat_bin};

/// `key=N` from a `-d stats` line.
fn stat(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line}"))
}

#[test]
fn payload_under_kvm_matches_native() {
    if !have("gcc") || !have("timeout") {
        eprintln!("skipping: gcc or timeout is not installed (scripts/setup.sh installs them)");
        return;
    }
    if !kvm_usable("payload_under_kvm_matches_native") {
        return;
    }
    let out = scratch_dir("kvm_payload");
    let o = run(Command::new("bash")
        .arg(workspace_root().join("benches/payload/build.sh"))
        .arg(&out)
        .args(["1", "7"]));
    assert!(
        o.status.success(),
        "building the payload: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let native = run(&mut Command::new(out.join("native-s1-w7")));
    assert!(native.status.success());
    let native = String::from_utf8_lossy(&native.stdout).into_owned();
    assert!(native.lines().count() >= 3, "native output: {native}");

    let o = run(Command::new("timeout")
        .arg("120")
        .arg(xlat_bin())
        .args(microvm_args("kvm"))
        .args(["-m", "256M", "-d", "stats", "--kernel"])
        .arg(out.join("payload-s1-w7.elf"))
        .stdin(Stdio::null()));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let kernels: String = stdout
        .lines()
        .filter(|l| !l.starts_with("sys: "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        kernels, native,
        "kernel checksums: kvm (left) vs native (right)"
    );

    let stats = stderr
        .lines()
        .find(|l| l.starts_with("kvm: exits="))
        .unwrap_or_else(|| panic!("no -d stats line: {stderr}"));
    let exits = stat(stats, "exits");
    let io = stat(stats, "io");
    // Every byte the guest prints is one port exit at least: the count is real.
    assert!(
        io >= stdout.len() as u64,
        "{stats} for {} bytes",
        stdout.len()
    );
    assert!(exits >= io, "{stats}");
    let own = stat(stats, "own_rss_kib");
    assert!(
        own < 20 << 10,
        "xlat's own RSS {own} KiB (beyond guest RAM) >= 20 MiB: {stats}"
    );
    eprintln!("payload under kvm: {stats}");
}
