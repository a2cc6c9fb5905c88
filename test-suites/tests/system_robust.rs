//! `xlat system` against hostile input: bad command lines and images end with one line on
//! stderr and status 1; bare-metal guests that execute garbage, loop forever or poke
//! unmapped physical memory never crash xlat, and Ctrl-A x on stdin always ends it.
//! The guests are a few lines of assembly built with the riscv64 cross gcc (skipped, with a
//! reason, where it is missing); unmapped accesses are compared with qemu-system-riscv64.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use xlat_test_suites::{have, run, scratch_dir, xlat_bin};

/// Assembles `src` (linked at 0x80000000) into a raw image `name.bin`; `None` (with a reason
/// printed) without the cross toolchain.
fn assemble(name: &str, src: &str) -> Option<PathBuf> {
    for tool in [
        "riscv64-linux-gnu-gcc",
        "riscv64-linux-gnu-objcopy",
        "timeout",
    ] {
        if !have(tool) {
            eprintln!("skipping {name}: {tool} is not installed (scripts/setup.sh installs it)");
            return None;
        }
    }
    let dir = scratch_dir("system-robust");
    let (s, elf, bin) = (
        dir.join(format!("{name}.S")),
        dir.join(format!("{name}.elf")),
        dir.join(format!("{name}.bin")),
    );
    std::fs::write(&s, src).unwrap();
    let o = run(Command::new("riscv64-linux-gnu-gcc")
        .args([
            "-march=rv64gc",
            "-mabi=lp64d",
            "-nostdlib",
            "-nostartfiles",
            "-static",
        ])
        .args([
            "-fno-pic",
            "-no-pie",
            "-Wl,--build-id=none",
            "-Wl,-Ttext=0x80000000",
        ])
        .arg("-o")
        .arg(&elf)
        .arg(&s));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(Command::new("riscv64-linux-gnu-objcopy")
        .args(["-O", "binary"])
        .arg(&elf)
        .arg(&bin));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(bin)
}

/// Starts `xlat system --bios none --kernel image` with piped stdio.
fn start(image: &Path, extra: &[&str]) -> Child {
    Command::new(xlat_bin())
        .args(["system", "--machine", "virt", "--bios", "none", "-m", "64M"])
        .args(extra)
        .arg("--kernel")
        .arg(image)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start xlat")
}

/// Lets `child` run for `run_for`, types Ctrl-A h then Ctrl-A x, and returns its output once
/// it has exited (failing if it does not within 20 s).
fn quit_with_ctrl_a_x(mut child: Child, run_for: Duration, what: &str) -> Output {
    std::thread::sleep(run_for);
    let mut stdin = child.stdin.take().unwrap();
    // the guest may have powered off already: a closed pipe is fine
    let _ = stdin.write_all(b"\x01h");
    let _ = stdin.flush();
    std::thread::sleep(Duration::from_millis(100));
    let _ = stdin.write_all(b"\x01x");
    let _ = stdin.flush();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("{what}: xlat did not quit on Ctrl-A x");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// xlat ended by itself or by Ctrl-A x, never by a signal or a panic.
fn assert_clean_end(o: &Output, what: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code().is_some(),
        "{what}: killed by a signal ({:?}); stderr:\n{err}",
        o.status
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{what}: {err}"
    );
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let dir = scratch_dir("system-robust");
    let raw = dir.join("raw.bin");
    std::fs::write(&raw, [0x6fu8, 0, 0, 0]).unwrap(); // j .
    let bad_elf = dir.join("bad.elf");
    std::fs::write(
        &bad_elf,
        b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\xf3\0",
    )
    .unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, b"").unwrap();
    let junk = dir.join("junk.qcow2");
    std::fs::write(&junk, [0x55u8; 4096]).unwrap();
    let big = dir.join("big.img");
    std::fs::write(&big, vec![1u8; 15 << 20]).unwrap();
    let (raw, bad_elf, empty, junk, big) = (
        raw.to_str().unwrap(),
        bad_elf.to_str().unwrap(),
        empty.to_str().unwrap(),
        junk.to_str().unwrap(),
        big.to_str().unwrap(),
    );
    let junk_drive = format!("file={junk},format=qcow2");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--bios", "none", "--kernel", "/nonexistent/Image"],
            "/nonexistent/Image",
        ),
        (vec!["--bios", "none", "--kernel", bad_elf], "ELF"),
        (vec!["--bios", "none", "--kernel", empty], "empty"),
        (
            vec!["--bios", "/nonexistent/fw.bin", "--kernel", raw],
            "/nonexistent/fw.bin",
        ),
        (vec!["--bios", empty, "--kernel", raw], "empty"),
    ];
    // each after `--bios none --kernel RAW`
    let on_raw: [(&[&str], &str); 11] = [
        (&["--initrd", "/nonexistent/initrd"], "/nonexistent/initrd"),
        (&["-m", "16M", "--initrd", big], "does not fit"),
        (
            &["--drive", "file=/nonexistent/d.img,format=raw"],
            "/nonexistent/d.img",
        ),
        (&["--drive", &junk_drive], "qcow2"),
        (&["--drive", "d.img"], "key=value"),
        (&["--drive", "file=d.img,format=vmdk"], "format"),
        (&["--drive", "file=d.img,if=scsi"], "virtio"),
        (&["-m", "100000G"], "-m"),
        (&["-m", "lots"], "-m"),
        (&["--smp", "0"], "--smp"),
        (&["-d", "everything"], "-d"),
    ];
    let cases = cases
        .into_iter()
        .chain(on_raw.into_iter().map(|(extra, needle)| {
            (
                [&["--bios", "none", "--kernel", raw], extra].concat(),
                needle,
            )
        }));
    for (args, needle) in cases {
        let o = run(Command::new("timeout")
            .arg("20")
            .arg(xlat_bin())
            .args(["system", "--machine", "virt"])
            .args(&args)
            .stdin(Stdio::null()));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {:?} {err}", o.status);
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line:\n{err}");
        assert!(
            err.starts_with("xlat: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(
            o.stdout.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

/// A trap handler that skips the faulting instruction, then whatever follows `garbage:`.
const GARBAGE_PRELUDE: &str = "
    .globl _start
_start:
    la t0, handler
    csrw mtvec, t0
    j garbage
    .align 2
handler:
    csrr t0, mepc
    addi t0, t0, 4
    csrw mepc, t0
    mret
    .align 4
garbage:
";

#[test]
fn garbage_code_never_crashes_xlat() {
    let Some(prelude) = assemble("garbage", GARBAGE_PRELUDE) else {
        return;
    };
    let prelude = std::fs::read(prelude).unwrap();
    for (seed, accel) in [(1u64, "jit"), (2, "jit"), (3, "interp")] {
        // xorshift: a reproducible stream of random words
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ seed;
        let mut image = prelude.clone();
        for _ in 0..16384 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            image.extend_from_slice(&(x as u32).to_le_bytes());
        }
        let path = scratch_dir("system-robust").join(format!("garbage{seed}.bin"));
        std::fs::write(&path, &image).unwrap();
        let what = format!("garbage seed {seed} --accel {accel}");
        let child = start(&path, &["--accel", accel]);
        let o = quit_with_ctrl_a_x(child, Duration::from_millis(1500), &what);
        assert_clean_end(&o, &what);
    }
}

#[test]
fn a_guest_looping_forever_still_quits_on_ctrl_a_x() {
    let Some(image) = assemble(
        "spin",
        "
    .globl _start
_start:
    csrw mie, zero
    csrw mstatus, zero
1:  j 1b
",
    ) else {
        return;
    };
    for accel in ["jit", "interp"] {
        let what = format!("spin --accel {accel}");
        let o = quit_with_ctrl_a_x(
            start(&image, &["--accel", accel]),
            Duration::from_secs(1),
            &what,
        );
        assert_clean_end(&o, &what);
        assert_eq!(o.status.code(), Some(0), "{what}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("C-a x    exit emulator"),
            "{what}: no help: {err}"
        );
        assert!(err.contains("QEMU: Terminated"), "{what}: {err}");
    }
}

/// Loads from, stores to and jumps to physical addresses where neither QEMU's `virt` nor
/// xlat's has anything; the handler accumulates the causes (4 bits each) and powers off
/// with them as the status.
const UNMAPPED: &str = "
    .globl _start
_start:
    la t0, handler
    csrw mtvec, t0
    li s0, 0
    li a0, 0x1f000000
    ld a1, 0(a0)
    sd a1, 8(a0)
    li a0, 0x90000000
    lw a1, 0(a0)
    sw a1, 0(a0)
    la ra, 1f
    li a0, 0x1f000000
    jr a0
1:  li t0, 0x100000
    slli s0, s0, 16
    li t1, 0x3333
    or s0, s0, t1
    sw s0, 0(t0)
2:  j 2b
    .align 2
handler:
    csrr t1, mcause
    slli s0, s0, 4
    or s0, s0, t1
    csrr t2, mtval
    bne t2, a0, 3f
    li t2, 1
    bne t1, t2, 3f
    csrw mepc, ra
    mret
3:  csrr t0, mepc
    addi t0, t0, 4
    csrw mepc, t0
    mret
";

#[test]
fn unmapped_physical_memory_faults_as_under_qemu() {
    let Some(image) = assemble("unmapped", UNMAPPED) else {
        return;
    };
    if !have("qemu-system-riscv64") {
        eprintln!("skipping: qemu-system-riscv64 is not installed");
        return;
    }
    let q = run(Command::new("timeout")
        .args([
            "20",
            "qemu-system-riscv64",
            "-M",
            "virt",
            "-m",
            "64M",
            "-bios",
            "none",
        ])
        .args(["-nographic", "-kernel"])
        .arg(&image)
        .stdin(Stdio::null()));
    // QEMU faults the loads and the fetch and ignores the stores: causes 5 5 1, so the
    // status is the low 8 bits of 0x551
    assert_eq!(q.status.code(), Some(0x51), "reference: {q:?}");
    for accel in ["jit", "interp"] {
        let what = format!("unmapped --accel {accel}");
        let o = run(Command::new("timeout")
            .arg("20")
            .arg(xlat_bin())
            .args(["system", "--machine", "virt", "--bios", "none", "-m", "64M"])
            .args(["--accel", accel, "-d", "guest_error", "--kernel"])
            .arg(&image)
            .stdin(Stdio::null()));
        assert_clean_end(&o, &what);
        assert_eq!(o.status.code(), q.status.code(), "{what}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            err.matches("guest_error:").count(),
            3,
            "{what}: -d guest_error should note the 3 faults:\n{err}"
        );
    }
}
