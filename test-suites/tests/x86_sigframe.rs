//! x86-64 Linux user mode, the x87/SSE state in a signal frame: a gcc program
//! (test-suites/guest/x86_64/sigfpstate.c) loads x87 registers, the control word, MXCSR and xmm
//! registers, signals itself, and its handler prints and then edits `uc_mcontext.fpregs` (the
//! fxsave image: control word, MXCSR, a register, xmm1 and the abridged tag byte); after
//! rt_sigreturn the program prints its own fxsave image. The output under `xlat run` (jit and
//! interpreter) must equal the native run's on this host.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_test_suites::user::Reference::Native;
use xlat_test_suites::user::{assert_same_as, compile};
use xlat_test_suites::{have, scratch_dir, workspace_root};

#[test]
fn signal_frame_fpstate_matches_native() {
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let d = scratch_dir("x86_sigframe");
    let src = workspace_root().join("test-suites/guest/x86_64/sigfpstate.c");
    let exe = d.join("sigfpstate");
    assert!(
        compile("gcc", &["-O2"], &src, &exe, &[]),
        "gcc sigfpstate.c"
    );
    assert_same_as(Native, &exe, &[], &d);
}
