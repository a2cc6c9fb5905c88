//! Linux user mode for real programs (issue 3): processes, threads, signals, memory and the
//! wider syscall set, each a guest C program from `test-suites/guest/` compared with
//! qemu-riscv64 (the reference: stdout, the guest's stderr and the exit status must match
//! under both xlat accelerators). Where qemu-user itself departs from Linux (vfork runs as a
//! plain fork there; robust futex lists are refused), the part is checked under xlat alone
//! against the answer Linux gives, written out in the test.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use xlat_test_suites::diffrun::{
    Engine, Guest, Outcome, assert_same_as_qemu, build_guest, run_on, run_with, xlat_enabled,
};

fn stdout(o: &Outcome) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts the reference run printed `needle` (a broken setup must not pass silently).
fn expect(o: &Outcome, needle: &str) {
    let out = stdout(o);
    assert!(
        out.contains(needle),
        "reference output lacks {needle:?}:\n{out}"
    );
}

#[test]
fn signals_altstack_restart_timers_sigwait_sigill_sigtrap() {
    let bin = build_guest("sigdeliver", &["sigdeliver.c"], &[]);
    let o = assert_same_as_qemu("sigdeliver", &Guest::new(bin));
    // The program ends with kill(getpid(), SIGTERM) under the default action.
    assert_eq!(o.status, 128 + 15);
    expect(&o, "SA_ONSTACK: on_alt=1 ss_flags=1 change_errno=EPERM\n");
    expect(&o, "read without SA_RESTART: n=-1 errno=EINTR hits=1\n");
    expect(&o, "read with SA_RESTART: n=1 c=x hits=2\n");
    expect(&o, "sigtimedwait: sig=10 from child 1 code=0\n");
    expect(&o, "  SIGTRAP: code=1 addr==pc 1\nstepped over both\n");
    expect(&o, "stack overflow caught on the alternate stack: 1\n");
}

#[test]
fn processes_clone_wait_waitid_host_exec_proc_self_exe() {
    let bin = build_guest("procs2", &["procs2.c"], &[]);
    let o = assert_same_as_qemu("procs2", &Guest::new(&bin));
    assert_eq!(o.status, 0);
    expect(&o, "waitid killed: code=1 sig=10\n");
    expect(&o, "host echo\nhost echo status=0\n");
    expect(
        &o,
        "/proc/self/exe: procs2 (argv[0] procs2)\nAT_EXECFN: procs2\n",
    );
}

/// vfork: Linux suspends the parent until the child exits, so the child's write comes first;
/// and stat("/proc/self/exe") is the program. qemu-user runs vfork as a plain fork (the parent
/// races ahead) and stats itself there, so it is no reference here.
#[test]
fn vfork_parent_waits_for_the_child() {
    let bin = build_guest("procs2", &["procs2.c"], &[]);
    if !xlat_enabled() {
        return;
    }
    for engine in [Engine::XlatJit, Engine::XlatInterp] {
        let o = run_on(engine, &Guest::new(&bin).args(["vfork"]));
        assert_eq!(
            (o.status, stdout(&o)),
            (
                0,
                "stat /proc/self/exe is the program: 1\nvfork order: child,parent status=4\n"
                    .to_string()
            ),
            "{}",
            engine.label()
        );
    }
}

#[test]
fn memory_shared_fixed_noreplace_dontneed_mprotect_mremap() {
    let bin = build_guest("memmap", &["memmap.c"], &[]);
    let g = Guest::new(bin);
    let o = assert_same_as_qemu("memmap", &g);
    expect(&o, "shared anon after child: 42, private: 1\n");
    expect(&o, "generated code: 17 then 99\n");
    expect(&o, "after DONTNEED: 0 0\n");
    if xlat_enabled() {
        // Compile every block at once: rewritten code must still be retranslated.
        let hot = run_with(Engine::XlatJit, &["--hot-threshold", "0"], &g);
        assert_eq!((hot.status, stdout(&hot)), (o.status, stdout(&o)));
    }
}

#[test]
fn syscalls_poll_epoll_fds_sockets_files_misc() {
    let bin = build_guest("syscalls", &["syscalls.c"], &[]);
    let o = assert_same_as_qemu("syscalls", &Guest::new(bin));
    assert_eq!(o.status, 0);
    assert!(!stdout(&o).contains("FAILED"), "{}", stdout(&o));
    // riscv64's epoll_event is 16 bytes with the data at offset 8 (x86-64's is packed).
    expect(
        &o,
        "epoll: n=1 events=1 data=1122334455667788 next=eeeeeeee sizeof=16\n",
    );
    expect(
        &o,
        "recvmsg: 9 'hello fd' passed fd works=1 controllen=24\n",
    );
    expect(&o, "spliced: 'memfd content'\n");
}

/// What threads8.c must print: 8 threads x 5000 iterations; LR/SC adds id+1 per iteration
/// (1+..+8 = 36), AMO adds 2, C11 adds 3; thread `id` returns id*1000 + id (sum 28 * 1001).
const THREADS8: &str = "counter=40000 c11=120000 lrsc=180000 amo=80000 order=abcdefgh returns=28028 main tls=5\n\
futex requeue: moved=2 woken before wake=0 woken on f2=2 total=2\n\
futex wait mismatch: -1 EAGAIN\n\
futex wait timeout: -1 ETIMEDOUT\n\
futex wait_bitset absolute timeout: -1 ETIMEDOUT\n";

#[test]
fn pthreads_8_threads_atomics_futex_requeue_and_timeouts() {
    let bin = build_guest("threads8", &["threads8.c"], &["-lpthread"]);
    let o = assert_same_as_qemu("threads8", &Guest::new(bin));
    assert_eq!(stdout(&o), THREADS8);
}

#[test]
fn main_thread_exit_leaves_the_process_to_its_other_threads() {
    let bin = build_guest("threads8", &["threads8.c"], &["-lpthread"]);
    let o = assert_same_as_qemu("threads8-mainexit", &Guest::new(bin).args(["mainexit"]));
    assert_eq!(
        (o.status, stdout(&o)),
        (
            0,
            "main calls pthread_exit\nworker still ran after main's pthread_exit\n".to_string()
        )
    );
}

/// The acceptance run: the pthreads program gives the right answer 100 times in a row. The
/// robust-mutex part (EOWNERDEAD after the owner exits) is Linux's answer; qemu-user refuses
/// set_robust_list, so glibc there cannot even create the mutex.
#[test]
fn pthreads_right_100_times_in_a_row_with_robust_mutexes() {
    let bin = build_guest("threads8", &["threads8.c"], &["-lpthread"]);
    if !xlat_enabled() {
        return;
    }
    let want = format!("{THREADS8}robust: init=0 lock=EOWNERDEAD relock=0\n");
    let g = Guest::new(bin).args(["robust"]);
    for i in 0..100 {
        let engine = if i % 10 == 9 {
            Engine::XlatInterp
        } else {
            Engine::XlatJit
        };
        let o = run_on(engine, &g);
        assert_eq!(
            (o.status, stdout(&o)),
            (0, want.clone()),
            "run {i} under {}: {}",
            engine.label(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// riscv_hwprobe, several queued instances of two real-time signals, each in sending order
/// with its si_value, and clone3 with CLONE_CLEAR_SIGHAND. Linux sets up the lower signal's
/// frame first, then the higher one's on top (its handler does not block it), so the higher
/// signal's handlers run first.
#[test]
fn hwprobe_queued_rt_signals_clone3_clear_sighand() {
    let bin = build_guest("usercore", &["usercore.c"], &[]);
    let o = assert_same_as_qemu("usercore", &Guest::new(&bin));
    assert_eq!(o.status, 0);
    // Expected values from the kernel's ABI: BASE_BEHAVIOR_IMA = 1, unknown keys become -1.
    expect(
        &o,
        "hwprobe ret=0 base=1 ext(fd,c,zba,zbb,zbs)=0x3b unknown key=-1 value=0\n",
    );
    expect(&o, "hwprobe bad flags: -1\n");
    expect(&o, "pending rtmin=1 rtmin+1=1\n");
    expect(
        &o,
        "delivered 7: rtmin+1/11 rtmin+1/12 rtmin+1/13 rtmin+0/1 rtmin+0/2 rtmin+0/3 rtmin+0/4\n",
    );
    // qemu-user 10.0 refuses CLONE_CLEAR_SIGHAND: checked under xlat alone against what
    // Linux does (caught signals back to default in the child, ignored ones kept; with
    // CLONE_SIGHAND, EINVAL).
    if !xlat_enabled() {
        return;
    }
    for engine in [Engine::XlatJit, Engine::XlatInterp] {
        let o = run_on(engine, &Guest::new(&bin).args(["clone3"]));
        assert_eq!(
            (o.status, stdout(&o)),
            (
                0,
                "clone3 CLEAR_SIGHAND: child default=1 ignored kept=1; parent keeps handler=1\n\
                 clone3 CLEAR_SIGHAND|SIGHAND: -1\n"
                    .to_string()
            ),
            "{}",
            engine.label()
        );
    }
}
