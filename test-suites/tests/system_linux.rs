//! Boots Debian trixie's riscv64 kernel (OpenSBI fw_jump, the busybox initramfs of
//! scripts/setup.d/42-riscv-linux.sh) under qemu-system-riscv64 and under `xlat system`, with
//! a virtio-blk disk: a tar holding `xlat-test.sh` and a random file, converted to qcow2 by
//! qemu-img. The initramfs's /init runs the script, which prints `uname -a`,
//! `/proc/cpuinfo`, `nproc` and the sha256 of the file as read from the disk, then powers
//! off. Both machines must print the same lines (QEMU's CPU is given xlat's extensions and
//! Sv48, so even the ISA strings must match), the hash must be the host's, and xlat must
//! power off by itself with status 0.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;
use xlat_test_suites::{cache_dir, have, run, scratch_dir, xlat_bin};

const FW_JUMP: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";
const APPEND: &str = "console=ttyS0 panic=-1 quiet";
/// QEMU's `rv64` CPU without the extensions xlat does not implement, and with Sv48 as the
/// largest translation mode (xlat's device tree says `riscv,sv48`).
const QEMU_CPU: &str = "rv64,h=false,zicbom=false,zicboz=false,zihintntl=false,\
zihintpause=false,zawrs=false,zfa=false,zbc=false,svvptc=false,sv57=false";

const SCRIPT: &str = r#"echo "t: uname: $(uname -a)"
sed 's/^/t: cpuinfo: /' /proc/cpuinfo
echo "t: nproc: $(nproc)"
echo "t: sha256: $(tar -xOf "$1" payload.bin | sha256sum)"
"#;

/// The kernel and initramfs, or `None` (with the reason printed) when a test must skip.
fn images() -> Option<(PathBuf, PathBuf)> {
    let dir = cache_dir().join("riscv64/linux");
    let (kernel, initrd) = (dir.join("Image"), dir.join("initrd.cpio.gz"));
    for p in [&kernel, &initrd, &PathBuf::from(FW_JUMP)] {
        if !p.exists() {
            eprintln!(
                "skipping: {} is missing (scripts/setup.sh fetches it)",
                p.display()
            );
            return None;
        }
    }
    for tool in [
        "qemu-system-riscv64",
        "qemu-img",
        "tar",
        "sha256sum",
        "timeout",
    ] {
        if !have(tool) {
            eprintln!("skipping: {tool} is not installed (scripts/setup.sh)");
            return None;
        }
    }
    Some((kernel, initrd))
}

/// Two qcow2 copies (one per machine) of a tar with the test script and a random payload;
/// returns them and the payload's sha256 as the host computes it.
fn disks(name: &str) -> (PathBuf, PathBuf, String) {
    let dir = scratch_dir(name);
    let payload: Vec<u8> = (0..3_000_000).map(|_| rand::random::<u8>()).collect();
    std::fs::write(dir.join("payload.bin"), payload).unwrap();
    std::fs::write(dir.join("xlat-test.sh"), SCRIPT).unwrap();
    let tar = dir.join("disk.tar");
    let ok = |c: &mut Command| {
        let o = run(c);
        assert!(o.status.success(), "{c:?}: {o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ok(Command::new("tar")
        .current_dir(&dir)
        .arg("-cf")
        .arg(&tar)
        .args(["xlat-test.sh", "payload.bin"]));
    let (q, x) = (dir.join("qemu.qcow2"), dir.join("xlat.qcow2"));
    for d in [&q, &x] {
        let _ = std::fs::remove_file(d);
        ok(Command::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", "qcow2"])
            .arg(&tar)
            .arg(d));
    }
    let sum = ok(Command::new("sha256sum").arg(dir.join("payload.bin")));
    let sum = sum.split_whitespace().next().unwrap().to_string();
    (q, x, sum)
}

/// The lines the initramfs and the script printed.
fn guest_lines(out: &str) -> Vec<&str> {
    out.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.starts_with("t: ") || l.starts_with("xlat-init:"))
        .collect()
}

/// Runs a boot up to five times while the kernel says a secondary hart missed its start-up
/// window. Linux waits 1 s of real time for each secondary CPU (`__cpu_up`); on a two-core
/// host the secondary hart's start can take longer than that, and then even qemu-system-riscv64 boots
/// with one hart (seen in one to two boots in five on the CI machine; `-accel tcg,thread=single`
/// is worse: the second hart never starts). A hart that never comes online still fails: the
/// fifth boot's output is returned as it is.
fn until_all_harts_online(engine: &str, boot: impl Fn() -> Output) -> Output {
    let mut out = boot();
    for retry in 1..5 {
        if !String::from_utf8_lossy(&out.stdout).contains("failed to come online") {
            break;
        }
        eprintln!(
            "{engine}: a secondary hart missed Linux's 1 s start-up wait; boot again ({retry})"
        );
        out = boot();
    }
    out
}

/// Boots both machines with `smp` harts; returns (qemu's output, xlat's output, the hash).
fn boot_both(name: &str, smp: u32, kernel: &Path, initrd: &Path) -> (String, String, String) {
    let (qdisk, xdisk, sum) = disks(name);
    let smp = smp.to_string();
    // QEMU first, then xlat: not side by side, so that neither starves the other's harts on a
    // small host (a secondary hart that does not come online within the kernel's 1 s wait
    // would make the two outputs differ for reasons that are not the emulator's)
    let qemu = until_all_harts_online("qemu-system-riscv64", || {
        Command::new("timeout")
            .args(["120", "qemu-system-riscv64", "-M", "virt", "-cpu", QEMU_CPU])
            .args(["-smp", &smp, "-m", "512M", "-nographic", "-bios", FW_JUMP])
            .arg("-kernel")
            .arg(kernel)
            .arg("-initrd")
            .arg(initrd)
            .args(["-append", APPEND, "-drive"])
            .arg(format!("file={},format=qcow2,if=virtio", qdisk.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run qemu-system-riscv64")
    });
    let t0 = Instant::now();
    let x = until_all_harts_online("xlat", || {
        run(Command::new("timeout")
            .arg("180")
            .arg(xlat_bin())
            .args(["system", "--machine", "virt", "--smp", &smp, "-m", "512M"])
            .args(["--bios", FW_JUMP, "--kernel"])
            .arg(kernel)
            .arg("--initrd")
            .arg(initrd)
            .args(["--append", APPEND, "--drive"])
            .arg(format!("file={},format=qcow2", xdisk.display())))
    });
    let tx = t0.elapsed();
    let q = qemu;
    let qout = String::from_utf8_lossy(&q.stdout).into_owned();
    let xout = String::from_utf8_lossy(&x.stdout).into_owned();
    assert!(q.status.success(), "reference boot failed:\n{qout}");
    assert!(
        x.status.success(),
        "xlat boot failed ({:?}):\n{xout}\n{}",
        x.status,
        String::from_utf8_lossy(&x.stderr)
    );
    assert!(xout.contains("reboot: Power down"), "{xout}");
    eprintln!("--smp {smp}: xlat booted, ran the script and powered off in {tx:.2?}");
    (qout, xout, sum)
}

#[test]
fn debian_kernel_reads_a_qcow2_disk_as_under_qemu() {
    let Some((kernel, initrd)) = images() else {
        return;
    };
    let (qout, xout, sum) = boot_both("system-linux-1", 1, &kernel, &initrd);
    let (q, x) = (guest_lines(&qout), guest_lines(&xout));
    // the reference ran the whole script
    assert!(q.contains(&"xlat-init: userspace up"), "{qout}");
    assert!(q.contains(&"xlat-init: xlat-test.sh exit 0"), "{qout}");
    assert!(q.iter().any(|l| l.starts_with("t: uname: Linux")), "{qout}");
    assert!(q.contains(&"t: cpuinfo: hart\t\t: 0"), "{qout}");
    assert!(q.contains(&"t: nproc: 1"), "{qout}");
    let hash = format!("t: sha256: {sum}  -");
    assert!(q.contains(&hash.as_str()), "{qout}");
    assert_eq!(x, q, "xlat output:\n{xout}");
}

#[test]
fn two_harts_boot_and_the_guest_sees_both() {
    let Some((kernel, initrd)) = images() else {
        return;
    };
    let (qout, xout, sum) = boot_both("system-linux-2", 2, &kernel, &initrd);
    let (mut q, mut x) = (guest_lines(&qout), guest_lines(&xout));
    // Which hart becomes Linux's CPU 0 is OpenSBI's boot-hart lottery (the first hart to get
    // there): compare the harts /proc/cpuinfo lists as a set, the rest line for line.
    let harts = |l: &mut Vec<&str>| {
        let mut h: Vec<String> = l
            .iter()
            .filter(|s| s.starts_with("t: cpuinfo: hart\t"))
            .map(|s| s.to_string())
            .collect();
        h.sort();
        l.retain(|s| !s.starts_with("t: cpuinfo: hart\t"));
        h
    };
    let (qh, xh) = (harts(&mut q), harts(&mut x));
    assert_eq!(
        qh,
        ["t: cpuinfo: hart\t\t: 0", "t: cpuinfo: hart\t\t: 1"],
        "{qout}"
    );
    assert_eq!(xh, qh, "xlat output:\n{xout}");
    assert!(q.contains(&"t: nproc: 2"), "{qout}");
    let hash = format!("t: sha256: {sum}  -");
    assert!(q.contains(&hash.as_str()), "{qout}");
    // (both harts: the guest's nproc and cpuinfo above, equal to QEMU's; the kernel's
    // "Brought up 2 CPUs" line is not printed under `quiet`)
    assert_eq!(x, q, "xlat output:\n{xout}");
}
