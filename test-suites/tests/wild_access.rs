//! A wild pointer 2^39 bytes past real data, dereferenced by a hot (compiled) loop, faults at
//! its own address as under Linux: test-suites/guest/wild.c on riscv64 and aarch64 against
//! qemu-user, on x86-64 against native. xlat maps guest memory below 2^39 flat; compiled code
//! once masked addresses into that map, so this load read the variable it aliases (and the
//! store wrote it). `XLAT_MASKED_MAP=1` brings that back (the test then fails).

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::path::Path;
use xlat_test_suites::user::{Reference, assert_same_as, compile};
use xlat_test_suites::{have, scratch_dir, workspace_root};

fn check(cc: &str, reference: Reference, name: &str) {
    let qemu_ok = match reference {
        Reference::Qemu(q) => have(q),
        Reference::Native => true,
    };
    if !have(cc) || !qemu_ok {
        eprintln!("skipping: {cc} or the reference missing (scripts/setup.sh)");
        return;
    }
    let dir = scratch_dir(name);
    let src = workspace_root().join("test-suites/guest/wild.c");
    let exe = dir.join("wild");
    assert!(
        compile(cc, &["-O2", "-static"], &src, &exe, &[]),
        "{cc} wild.c"
    );
    for args in [&[][..], &["store"][..]] {
        // The reference must fault where the program says (not at the variable it aliases).
        let want = match reference {
            Reference::Native => xlat_test_suites::run(std::process::Command::new(&exe).args(args)),
            Reference::Qemu(q) => {
                xlat_test_suites::run(std::process::Command::new(q).arg(&exe).args(args))
            }
        };
        let out = String::from_utf8_lossy(&want.stdout);
        assert!(
            out.starts_with("SIGSEGV at x + 0x8000000000, x = "),
            "reference {args:?}: {out}"
        );
        assert_same_as(reference, Path::new(&exe), args, &dir);
    }
}

#[test]
fn riscv64_wild_access_faults_at_its_address() {
    check(
        "riscv64-linux-gnu-gcc",
        Reference::Qemu("qemu-riscv64"),
        "wild_rv",
    );
}

#[test]
fn aarch64_wild_access_faults_at_its_address() {
    check(
        "aarch64-linux-gnu-gcc",
        Reference::Qemu("qemu-aarch64"),
        "wild_a64",
    );
}

#[test]
fn x86_64_wild_access_faults_at_its_address() {
    check("gcc", Reference::Native, "wild_x86");
}
