//! riscv64 guest programs from `test-suites/guest/`, compiled with the cross gcc at test time
//! and run under qemu-riscv64 (the reference) and xlat (JIT and interpreter): stdout and the
//! guest's stderr must be byte-identical and the exit status the same. `XLAT_REFERENCE_ONLY=1` runs only QEMU.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use xlat_test_suites::diffrun::{Guest, Outcome, assert_same_as_qemu, build_guest};

/// Builds one C program (linked with libm) and compares it.
fn c_program(name: &str, guest: impl FnOnce(Guest) -> Guest) -> Outcome {
    let bin = build_guest(name, &[&format!("{name}.c")], &["-lm"]);
    assert_same_as_qemu(name, &guest(Guest::new(bin)))
}

/// Asserts the reference did what the program is written to do, so a broken test setup
/// (e.g. a program that crashes under QEMU too) cannot pass silently.
fn expect_ok(o: &Outcome, needle: &str) {
    assert_eq!(
        o.status,
        0,
        "reference run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(needle),
        "reference output lacks {needle:?}:\n{out}"
    );
}

#[test]
fn hello_world_stdout_and_exit_0() {
    let o = c_program("hello", |g| g);
    assert_eq!(o.stdout, b"Hello, world!\n");
}

#[test]
fn printf_float_f_e_g_a_formats() {
    let o = c_program("printf_float", |g| g);
    expect_ok(&o, "3.141593|3.142|3.141593e+00");
}

#[test]
fn qsort_ints_strings_structs() {
    let o = c_program("qsort", |g| g);
    expect_ok(&o, "bsearch: found");
}

#[test]
fn setjmp_longjmp_across_frames() {
    let o = c_program("setjmp", |g| g);
    expect_ok(&o, "longjmp(0) became 1");
}

#[test]
fn int128_mul_div_mod_shift_print() {
    let o = c_program("int128", |g| g);
    // 34! is an independent constant (it fits in 128 bits; 35! does not).
    expect_ok(&o, "295232799039604140847618609643520000000\n");
}

#[test]
fn libm_functions_and_rounding_modes() {
    let o = c_program("libm", |g| g);
    expect_ok(&o, "divbyzero=1");
}

#[test]
fn string_functions_sizes_and_alignments() {
    let o = c_program("strings", |g| g);
    expect_ok(&o, "alpha-beta-gamma 16");
}

#[test]
fn malloc_realloc_free_churn() {
    let o = c_program("malloc", |g| g);
    expect_ok(&o, "calloc zeroed: yes\naligned: yes\ndone\n");
}

#[test]
fn int_edge_div_by_zero_overflow_and_w_forms() {
    let o = c_program("int_edge", |g| g);
    // RISC-V defines x/0 = -1 and INT_MIN/-1 = INT_MIN (Unprivileged ISA, "M" chapter).
    expect_ok(
        &o,
        "0 0: div=ffffffffffffffff divu=ffffffffffffffff rem=0 remu=0",
    );
    expect_ok(
        &o,
        "8000000000000000 ffffffffffffffff: div=8000000000000000",
    );
}

#[test]
fn atomics_amo_and_lr_sc_loops() {
    let bin = build_guest("atomics", &["atomics.c"], &["-latomic"]);
    let o = assert_same_as_qemu("atomics", &Guest::new(bin));
    expect_ok(&o, "lr/sc sum=499500\nlr/sc max=100\n");
}

#[test]
fn zba_zbb_zbs_instructions() {
    let bin = build_guest(
        "bitmanip",
        &["bitmanip.S", "bitmanip_driver.c"],
        &["-march=rv64gc_zba_zbb_zbs"],
    );
    let o = assert_same_as_qemu("bitmanip", &Guest::new(bin));
    // clz(0) = 64 and rev8 of 0x0123456789abcdef, from the Zbb specification.
    expect_ok(
        &o,
        "x=0 y=0 sh1add=0 sh2add=0 sh3add=0 add.uw=0 sh1add.uw=0 sh2add.uw=0 sh3add.uw=0 slli.uw=0 andn=0 orn=ffffffffffffffff xnor=ffffffffffffffff clz=40 ",
    );
    expect_ok(&o, "rev8=efcdab8967452301");
}

#[test]
fn fence_i_sees_rewritten_code_rwx_and_w_then_x() {
    let o = c_program("fencei", |g| g);
    expect_ok(&o, "rwx round 4: 104\nloop k=2: 2047\n");
    expect_ok(&o, "w^x round 2: -14\n");
}

#[test]
fn ebreak_kills_with_sigtrap() {
    let bin = build_guest("ebreak", &["ebreak.S"], &[]);
    let o = assert_same_as_qemu("ebreak", &Guest::new(bin));
    assert_eq!(
        (o.status, o.stdout.as_slice()),
        (128 + 5, b"before ebreak\n".as_slice())
    );
}

#[test]
fn illegal_instruction_kills_with_sigill() {
    let bin = build_guest("illegal", &["illegal.S"], &[]);
    let o = assert_same_as_qemu("illegal", &Guest::new(bin));
    assert_eq!(
        (o.status, o.stdout.as_slice()),
        (128 + 4, b"before illegal\n".as_slice())
    );
}

#[test]
fn exit_group_status_42() {
    let bin = build_guest("exit_code", &["exit_code.S"], &[]);
    let o = assert_same_as_qemu("exit_code", &Guest::new(bin));
    assert_eq!(o.status, 42);
}

#[test]
fn argv_envp_auxv_hwcap_pagesz() {
    let o = c_program("auxv", |g| {
        g.args(["one", "two words", "", "ünïcödé"])
            .env("XLAT_T_A", "1")
            .env("XLAT_T_B", "x=y")
    });
    expect_ok(&o, "argc=5\n");
    expect_ok(&o, "AT_PAGESZ=4096\n");
    expect_ok(&o, "AT_HWCAP letters (V excluded): acdfim\n"); // rv64gc = IMAFDC
    expect_ok(&o, "env XLAT_T_B=x=y\n");
}

#[test]
fn stdin_read_in_chunks_until_eof() {
    let mut input = Vec::new();
    for i in 0..5000u32 {
        input.extend_from_slice(format!("line {i} {}\n", "z".repeat((i % 97) as usize)).as_bytes());
    }
    let o = c_program("stdin", |g| g.stdin(input.clone()));
    expect_ok(&o, &format!("bytes={} lines=5000", input.len()));
    expect_ok(&o, "after EOF getchar=-1\n");
}

#[test]
fn demo_program_args() {
    let o = c_program("demo", |g| g.args(["a", "b c"]));
    expect_ok(&o, "30! = 265252859812191058636308480000000\n");
}

#[test]
fn file_syscalls_dirs_pipes_dup2() {
    let o = c_program("fileio", |g| g);
    expect_ok(&o, "after pwrite: LINE 042\ntruncated size=50\n");
    expect_ok(&o, "dir: . .. f0 f1 f2 f3 f4\n");
}

#[test]
#[ignore = "xlat: guest signal handlers are not run yet (linux-user); run with --ignored"]
fn signal_handlers_mask_siginfo_segv_recovery() {
    let o = c_program("signals", |g| g);
    assert_eq!(o.status, 128 + 15, "the program ends by raising SIGTERM");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "usr1 delivered 3 times, last=10\nblocked: count=3 pending=1\nunblocked: count=4\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("recovered from SIGSEGV at 0x2010 (sig 11)\n"),
        "{out}"
    );
}

#[test]
fn pthreads_mutex_condvar_tls() {
    let bin = build_guest("threads", &["threads.c"], &["-lpthread"]);
    let o = assert_same_as_qemu("threads", &Guest::new(bin));
    // 4 threads x 20000 increments; returns sum (100 id + id) over ids 0..4 = 606.
    expect_ok(
        &o,
        "counter=80000 atomic=160000 turns=4 returns=606 main tls=7\n",
    );
}

#[test]
fn fd_instructions_results_fflags_all_rounding_modes() {
    let bin = build_guest("fp_insns", &["fp_insns.S", "fp_driver.c"], &[]);
    let o = assert_same_as_qemu("fp_insns", &Guest::new(bin));
    // From the F/D chapters: x/0 = inf with DZ (0x08); sqrt(-1) = the canonical NaN with NV (0x10).
    expect_ok(
        &o,
        "rm=0 a=0x1p+0 b=0x0p+0\n  fadd.d=3ff0000000000000/00\n  fsub.d=3ff0000000000000/00\n  fmul.d=0000000000000000/00\n  fdiv.d=7ff0000000000000/08\n",
    );
    expect_ok(
        &o,
        "rm=0 a=-0x1p+0 b=0x0p+0\n  fadd.d=bff0000000000000/00\n  fsub.d=bff0000000000000/00\n  fmul.d=8000000000000000/00\n  fdiv.d=fff0000000000000/08\n  fsqrt.d=7ff8000000000000/10\n",
    );
}

#[test]
fn trace_flags_go_to_stderr_and_leave_stdout_alone() {
    use xlat_test_suites::diffrun::{Engine, run_on, run_with, xlat_enabled};
    let bin = build_guest("hello", &["hello.c"], &["-lm"]);
    let g = Guest::new(bin);
    let want = run_on(Engine::Qemu, &g);
    if !xlat_enabled() {
        return;
    }
    let got = run_with(
        Engine::XlatJit,
        &["-d", "in_asm,ir,out_asm,exec,strace,unimp,stats"],
        &g,
    );
    assert_eq!(
        (got.status, &got.stdout),
        (want.status, &want.stdout),
        "stdout must not carry traces"
    );
    let err = String::from_utf8_lossy(&got.stderr);
    assert!(
        err.contains("write("),
        "-d strace shows the write system call:\n{}",
        &err[..err.len().min(2000)]
    );
}

#[test]
fn clocks_nanosleep_uname_getrandom() {
    let o = c_program("clock", |g| g);
    expect_ok(
        &o,
        "monotonic went backwards 0 times\nnanosleep=0 slept>=20ms: 1 <5s: 1\n",
    );
    expect_ok(
        &o,
        "uname: Linux riscv64\ngetrandom=64 nonzero bytes>32: 1\n",
    );
}

#[test]
fn fork_waitpid_pipe_kill() {
    let o = c_program("procs", |g| g);
    expect_ok(
        &o,
        "child 2: exited=1 code=12\npipe: 6537 bytes, sum of squares 332833500, child status 0\n",
    );
    expect_ok(&o, "killed child: signaled=1 sig=9\n");
}

/// Forks in the middle of hot loops (compiled on xlat's background thread, which is paused
/// around each fork), 8 times; parent and children run more hot loops after.
#[test]
fn fork_while_compiling() {
    let o = c_program("forkhot", |g| g);
    expect_ok(&o, "child 7: ");
    expect_ok(&o, "parent 7: ");
}

/// qemu-riscv64 passes execve to the host kernel, which cannot run a riscv64 program without
/// binfmt_misc, so QEMU is no reference here: the expected lines follow from procs.c itself.
#[test]
fn execve_of_a_riscv64_program_stays_in_the_translator() {
    use xlat_test_suites::diffrun::{Engine, run_on, xlat_enabled};
    let bin = build_guest("procs", &["procs.c"], &["-lm"]);
    if !xlat_enabled() {
        return;
    }
    for engine in [Engine::XlatJit, Engine::XlatInterp] {
        let o = run_on(engine, &Guest::new(&bin).args(["exec"]));
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status, 0, "{}: {out}", engine.label());
        assert!(
            out.ends_with("exec'd child: argc=3 arg2=second env=yes\nexec'd child status 7\n"),
            "{}: {out}",
            engine.label()
        );
    }
}
