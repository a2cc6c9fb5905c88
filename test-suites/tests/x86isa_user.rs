//! x86-64 Linux user mode, the instructions CPUID advertises one by one: a program built with
//! the host gcc (test-suites/guest/x86_64/cas16.c) runs `lock cmpxchg16b` from two threads
//! against 64-bit locked adds to the same bytes from two others, and cmpxchg8b, with the same
//! output under `xlat run` (jit and interpreter) as natively on this host; and `lock
//! cmpxchg16b` faulting on read-only and unmapped pages (test-suites/guest/x86_64/cas16fault.c);
//! #GP (SIGSEGV, SI_KERNEL) from privileged and misaligned instructions (gpfault.c); unmasked
//! SSE (#XM) and x87 (#MF) exceptions: results, si_code, si_addr, FOP/FIP/FDP (fpexc.c).
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_test_suites::user::Reference::Native;
use xlat_test_suites::user::{assert_same_as, compile};
use xlat_test_suites::{have, scratch_dir, workspace_root};

#[test]
fn cmpxchg16b_threads_match_native() {
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let d = scratch_dir("x86isa_user");
    let src = workspace_root().join("test-suites/guest/x86_64/cas16.c");
    let exe = d.join("cas16");
    assert!(
        compile("gcc", &["-O2", "-mcx16", "-pthread"], &src, &exe, &[]),
        "gcc cas16.c"
    );
    assert_same_as(Native, &exe, &[], &d);
}

#[test]
fn cmpxchg16b_faults_match_native() {
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let d = scratch_dir("x86isa_user_fault");
    let src = workspace_root().join("test-suites/guest/x86_64/cas16fault.c");
    let exe = d.join("cas16fault");
    assert!(
        compile("gcc", &["-O2", "-mcx16"], &src, &exe, &[]),
        "gcc cas16fault.c"
    );
    assert_same_as(Native, &exe, &[], &d);
}

#[test]
fn general_protection_is_sigsegv_si_kernel() {
    // x86 #GP in user mode (misaligned lock cmpxchg16b, hlt, cli, in, out, a load and a store
    // at non-canonical addresses): SIGSEGV with
    // si_code SI_KERNEL and si_addr 0, as natively (test-suites/guest/x86_64/gpfault.c).
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let d = scratch_dir("x86isa_user_gp");
    let src = workspace_root().join("test-suites/guest/x86_64/gpfault.c");
    let exe = d.join("gpfault");
    assert!(
        compile("gcc", &["-O2", "-mcx16"], &src, &exe, &[]),
        "gcc gpfault.c"
    );
    assert_same_as(Native, &exe, &[], &d);
}

/// Compiles test-suites/guest/x86_64/fpexc.c into the test's scratch directory.
fn fpexc(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let d = scratch_dir(name);
    let src = workspace_root().join("test-suites/guest/x86_64/fpexc.c");
    let exe = d.join("fpexc");
    assert!(compile("gcc", &["-O2"], &src, &exe, &[]), "gcc fpexc.c");
    (d, exe)
}

#[test]
fn sse_unmasked_exceptions_match_native() {
    // 1,500 SSE instructions (arithmetic, compares, conversions, SSE3/SSE4.1 floating point)
    // with random operands and a random MXCSR, exceptions often unmasked: the results, or the
    // #XM's SIGFPE si_code, si_addr, trap number, the untouched destination and MXCSR from the
    // signal frame, as natively (test-suites/guest/x86_64/fpexc.c).
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let (d, exe) = fpexc("x86isa_user_xm");
    assert_same_as(Native, &exe, &["1500", "sse"], &d);
}

#[test]
fn x87_unmasked_exceptions_match_native() {
    // 600 x87 sequences (two loads, an arithmetic instruction, a store or fscale past the
    // extended range, then fwait) under control words with exceptions unmasked: the #MF's
    // si_code and si_addr (the waiting instruction), FOP, FIP and FDP from the signal frame's
    // fpstate, the status word, st(0) (the exponent-adjusted result of an unmasked overflow
    // or underflow) and the memory a suppressed store left alone, as natively.
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let (d, exe) = fpexc("x86isa_user_mf");
    assert_same_as(Native, &exe, &["1800", "x87"], &d);
}

#[test]
fn xlat_enter_loop_match_native() {
    // xlatb, jrcxz, loop, enter with nesting level 3 and leave, rcl (legacy.c), as natively.
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let d = scratch_dir("x86isa_user_legacy");
    let src = workspace_root().join("test-suites/guest/x86_64/legacy.c");
    let exe = d.join("legacy");
    assert!(compile("gcc", &["-O1"], &src, &exe, &[]), "gcc legacy.c");
    assert_same_as(Native, &exe, &[], &d);
}

#[test]
fn scan_found_encodings_match_native() {
    // What the coverage scan (frontends/x86 lift::scan) found missing: 66 enter, pushfw/popfw,
    // maskmovdqu, mov r/m,sreg, push fs/gs, ffreep, fstpnce, reserved nops, pavgw,
    // cvtpi2ps/cvtpi2pd m64, rcp/rsqrt within the SDM bound (scan_extra.c), as natively.
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let d = scratch_dir("x86isa_user_scan_extra");
    let src = workspace_root().join("test-suites/guest/x86_64/scan_extra.c");
    let exe = d.join("scan_extra");
    assert!(
        compile("gcc", &["-O1"], &src, &exe, &["-lm"]),
        "gcc scan_extra.c"
    );
    assert_same_as(Native, &exe, &[], &d);
}
