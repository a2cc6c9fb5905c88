//! Self-modifying x86-64 code in Linux user mode (test-suites/guest/x86_64/smc.c, built with
//! the host gcc): code rewritten in place and called again, a store that rewrites the next
//! instruction of its own block, a thread patching code another thread runs, read(2) into a
//! code page, data stored next to hot code, and the mprotect RW/RX pattern of JITs. Each
//! scenario's stdout and exit status under `xlat run` (jit and interpreter) must match native
//! execution on this host.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_test_suites::user::Reference::Native;
use xlat_test_suites::user::{assert_same_as, compile};
use xlat_test_suites::{have, scratch_dir, workspace_root};

fn smc_matches_native(mode: &str) {
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let d = scratch_dir(&format!("smc_{mode}"));
    let src = workspace_root().join("test-suites/guest/x86_64/smc.c");
    let exe = d.join("smc");
    assert!(
        compile("gcc", &["-O2", "-pthread"], &src, &exe, &[]),
        "gcc smc.c"
    );
    assert_same_as(Native, &exe, &[mode], &d);
}

#[test]
fn rewritten_in_place_matches_native() {
    smc_matches_native("rewrite");
}

#[test]
fn data_next_to_code_matches_native() {
    smc_matches_native("mixed");
}

#[test]
fn store_to_the_next_instruction_matches_native() {
    smc_matches_native("next");
}

#[test]
fn patched_by_another_thread_matches_native() {
    smc_matches_native("thread");
}

#[test]
fn read_into_a_code_page_matches_native() {
    smc_matches_native("read");
}

#[test]
fn mprotect_rw_rx_rewrite_matches_native() {
    smc_matches_native("jit");
}
