//! Synchronous memory faults delivered to guest handlers (issue 3: "a program that installs a
//! SIGSEGV handler, touches unmapped memory and recovers with siglongjmp works as on Linux").
//! `guest/segv.c` is compared byte for byte with qemu-riscv64 in every tier: the JIT with
//! every unit compiled at once (`--hot-threshold 0`, so the faulting accesses are compiled
//! code), the default tiering, and the interpreter.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use xlat_test_suites::diffrun::{
    Engine, Guest, Outcome, build_guest, first_difference, run_on, run_with, xlat_enabled,
};

fn segv() -> Guest {
    Guest::new(build_guest("segv", &["segv.c"], &[]))
}

/// The reference run, checked against what the program is written to do (so a broken setup
/// cannot pass): independent facts, not copied from any emulator's output.
fn reference(g: &Guest) -> Outcome {
    let o = run_on(Engine::Qemu, g);
    assert_eq!(o.status, 0, "qemu: {}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for want in [
        // si_code 1 = SEGV_MAPERR (nothing mapped), 2 = SEGV_ACCERR (mapped, not allowed).
        "store unmapped: signo=11 code=1 addr=base+12304 faults=1\n",
        "load unmapped: signo=11 code=1 addr=base+12312 faults=2\n",
        "store read-only: signo=11 code=2 addr=base+4106 faults=3\n",
        "load prot-none: signo=11 code=2 addr=base+8292 faults=4\n",
        "amo read-only: signo=11 code=2 addr=base+4160 faults=5\n",
        "hot loop: signo=11 code=1 addr=base+0 faults=6\n",
        "resumed: same result",
        "keep intact",
        "call unmapped: signo=11 code=1 addr=base+12320 faults=8\n",
        "call no-exec: signo=11 code=2 addr=base+16 faults=9\n",
        "total faults 9\n",
    ] {
        assert!(
            out.contains(want),
            "reference output lacks {want:?}:\n{out}"
        );
    }
    o
}

fn assert_same(label: &str, want: &Outcome, got: &Outcome) {
    assert_eq!(
        got.stdout,
        want.stdout,
        "{label}: stdout differs from qemu-riscv64:\n{}\nstderr:\n{}",
        first_difference(&want.stdout, &got.stdout),
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(got.status, want.status, "{label}: exit status");
}

#[test]
fn segv_handler_recovers_with_siglongjmp_in_every_tier() {
    let g = segv();
    let want = reference(&g);
    if !xlat_enabled() {
        return;
    }
    let hot = run_with(Engine::XlatJit, &["--hot-threshold", "0"], &g);
    assert_same("xlat --accel jit --hot-threshold 0", &want, &hot);
    assert_same("xlat --accel jit", &want, &run_on(Engine::XlatJit, &g));
    assert_same(
        "xlat --accel interp",
        &want,
        &run_on(Engine::XlatInterp, &g),
    );
}

#[test]
fn handler_that_fixes_the_page_resumes_compiled_code_exactly() {
    // The program's "resumed" line counts loop iterations: if compiled code left a stale pc or
    // stale registers at the fault, the loop re-runs iterations and the count differs. With
    // precise faults kept off (a test-only switch), xlat must get it wrong: the check bites.
    let g = segv();
    let want = reference(&g);
    if !xlat_enabled() {
        return;
    }
    let line = |o: &Outcome| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.starts_with("resumed:"))
            .map(str::to_owned)
    };
    let hot = run_with(Engine::XlatJit, &["--hot-threshold", "0"], &g);
    assert_eq!(line(&hot), line(&want));
    let sloppy = run_with(
        Engine::XlatJit,
        &["--hot-threshold", "0"],
        &g.clone().env("XLAT_TEST_IMPRECISE", "1"),
    );
    assert_ne!(
        line(&sloppy),
        line(&want),
        "imprecise faults went unnoticed: the program no longer tests precision"
    );
}

#[test]
fn no_handler_kills_with_sigsegv_like_qemu() {
    let g = segv().args(["nohandler"]);
    let want = run_on(Engine::Qemu, &g);
    assert_eq!(want.status, 128 + 11, "reference: killed by SIGSEGV");
    assert_eq!(want.stdout, b"touching unmapped memory\n");
    if !xlat_enabled() {
        return;
    }
    for e in [Engine::XlatJit, Engine::XlatInterp] {
        let got = run_on(e, &g);
        assert_same(e.label(), &want, &got);
    }
    let hot = run_with(Engine::XlatJit, &["--hot-threshold", "0"], &g);
    assert_same("xlat --accel jit --hot-threshold 0", &want, &hot);
}

#[test]
fn access_past_the_end_of_a_file_mapping_is_sigbus_adrerr() {
    let g = Guest::new(build_guest("bus", &["bus.c"], &[]));
    let want = run_on(Engine::Qemu, &g);
    assert_eq!(
        want.status,
        0,
        "qemu: {}",
        String::from_utf8_lossy(&want.stderr)
    );
    // SIGBUS = 7, BUS_ADRERR = 2 (Linux), at the byte touched.
    assert_eq!(want.stdout, b"first page: ho\nsigno=7 code=2 addr=m+4099\n");
    let fatal = g.clone().args(["nohandler"]);
    let want_fatal = run_on(Engine::Qemu, &fatal);
    assert_eq!(want_fatal.status, 128 + 7, "reference: killed by SIGBUS");
    if !xlat_enabled() {
        return;
    }
    for (label, opts) in [
        (
            "xlat --accel jit --hot-threshold 0",
            &["--hot-threshold", "0"][..],
        ),
        ("xlat --accel jit", &[][..]),
    ] {
        assert_same(label, &want, &run_with(Engine::XlatJit, opts, &g));
        assert_same(label, &want_fatal, &run_with(Engine::XlatJit, opts, &fatal));
    }
    assert_same(
        "xlat --accel interp",
        &want,
        &run_on(Engine::XlatInterp, &g),
    );
    assert_same(
        "xlat --accel interp",
        &want_fatal,
        &run_on(Engine::XlatInterp, &fatal),
    );
}

#[test]
fn threads_fault_concurrently_each_into_its_own_handler_run() {
    let g = Guest::new(build_guest(
        "segv_threads",
        &["segv_threads.c"],
        &["-lpthread"],
    ));
    let sorted = |o: &Outcome| {
        let mut l: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        l.sort();
        l
    };
    let want = run_on(Engine::Qemu, &g);
    assert_eq!(
        want.status,
        0,
        "qemu: {}",
        String::from_utf8_lossy(&want.stderr)
    );
    let lines = sorted(&want);
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().filter(|l| l.ends_with("faults 300")).count() == 4);
    if !xlat_enabled() {
        return;
    }
    for _ in 0..3 {
        for (engine, opts) in [
            (Engine::XlatJit, &["--hot-threshold", "0"][..]),
            (Engine::XlatJit, &[][..]),
            (Engine::XlatInterp, &[][..]),
        ] {
            let got = run_with(engine, opts, &g);
            assert_eq!(got.status, 0, "{} {opts:?}: status", engine.label());
            assert_eq!(sorted(&got), lines, "{} {opts:?}", engine.label());
        }
    }
}
