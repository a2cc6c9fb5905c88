//! x86-64 Linux user mode: Debian's amd64 busybox-static (fetched by
//! scripts/setup.d/20-x86.sh) and a static program built with the host gcc
//! (test-suites/guest/x86_64/) give the same stdout and exit status under `xlat run` (jit and
//! interpreter) as natively on this host.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::path::Path;

use xlat_test_suites::user::Reference::Native;
use xlat_test_suites::user::{BUSYBOX_APPLETS, assert_same_as, compile, input_dir};
use xlat_test_suites::{cache_dir, have, scratch_dir, workspace_root};

/// Builds test-suites/guest/x86_64/NAME.c with the host gcc (`gcc FLAGS -o EXE SRC LIBS`)
/// and compares it run natively and under xlat; skips where there is no x86-64 host with gcc.
fn gcc_program_matches_native(name: &str, flags: &[&str], libs: &[&str]) {
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let d = scratch_dir("x86_user");
    let src = workspace_root().join(format!("test-suites/guest/x86_64/{name}.c"));
    let exe = d.join(name);
    assert!(compile("gcc", flags, &src, &exe, libs), "gcc {name}.c");
    assert_same_as(Native, &exe, &[], &d);
}

#[test]
fn busybox_applets_match_native() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipping: needs an x86-64 host");
        return;
    }
    let bb = cache_dir().join("x86_64").join("busybox");
    if !bb.exists() {
        eprintln!("skipping: {} is missing (scripts/setup.sh)", bb.display());
        return;
    }
    let d = input_dir("x86_user");
    let own: &[&[&str]] = &[
        &[
            "awk",
            "{s += $2} END {print s, s/NR; printf \"%.3f %e\\n\", sqrt(s), s*1.5}",
            "in.txt",
        ],
        &["printf", "%5.2f %x %s\\n", "3.14159", "255", "ok"],
        &["dc", "-e", "2 64 ^ p"],
        &["tr", "a-z", "A-Z"],
        &["sh", "-c", "bzip2 -c in.txt | bzip2 -d | sha1sum"],
    ];
    for args in BUSYBOX_APPLETS.iter().chain(own) {
        assert_same_as(Native, &bb, args, &d);
    }
}

#[test]
fn static_gcc_program_matches_native() {
    if !cfg!(target_arch = "x86_64") || !have("gcc") {
        eprintln!("skipping: needs an x86-64 host with gcc");
        return;
    }
    let d = scratch_dir("x86_user");
    let src = workspace_root().join("test-suites/guest/x86_64/hello.c");
    let exe = d.join("hello");
    if !compile("gcc", &["-static", "-O2"], &src, &exe, &[]) {
        eprintln!("skipping: gcc -static failed (no static libc?)");
        return;
    }
    assert_same_as(Native, &exe, &["arg"], &d);
}

/// libm and printf of doubles, dynamically linked against the host's libm.
#[test]
fn fp_math_program_matches_native() {
    gcc_program_matches_native("fpmath", &["-O2"], &["-lm"]);
}

/// 80-bit long double arithmetic, conversions, printf/strtold and the exact x87 libm
/// functions in every rounding mode (test-suites/guest/x86_64/longdouble.c).
#[test]
fn long_double_program_matches_native() {
    gcc_program_matches_native("longdouble", &["-O2"], &["-lm"]);
}

/// The legacy poll(2)/select(2) syscalls and x86-64's packed epoll_event
/// (test-suites/guest/x86_64/pollsel.c).
#[test]
fn poll_select_epoll_program_matches_native() {
    gcc_program_matches_native("pollsel", &["-O2"], &[]);
}

/// 8- and 16-bit locked operations from four threads (test-suites/guest/x86_64/atomics.c).
#[test]
fn narrow_atomics_program_matches_native() {
    gcc_program_matches_native("atomics", &["-O2", "-pthread"], &[]);
}

/// The host's own dynamically linked programs, through the host's ld.so.
#[test]
fn host_dynamic_programs_match_native() {
    if !cfg!(target_arch = "x86_64") || !Path::new("/bin/bash").exists() {
        eprintln!("skipping: needs an x86-64 host with /bin/bash");
        return;
    }
    let d = input_dir("x86_user");
    assert_same_as(
        Native,
        Path::new("/bin/bash"),
        &[
            "-c",
            "x=0; for i in $(seq 1 50); do x=$((x + i * i)); done; echo $x; echo ${PATH:0:4}",
        ],
        &d,
    );
    assert_same_as(
        Native,
        Path::new("/bin/bash"),
        &["-c", "ls -la /usr/bin | sha256sum"],
        &d,
    );
    assert_same_as(Native, Path::new("/usr/bin/sort"), &["-r", "in.txt"], &d);
    if Path::new("/usr/bin/python3").exists() {
        let py = "import hashlib, json, threading, decimal\n\
                  print(hashlib.sha256(b'xlat' * 1000).hexdigest())\n\
                  print(json.dumps({'a': [1, 2.5, None], 'b': {'c': True}}, sort_keys=True))\n\
                  decimal.getcontext().prec = 40\n\
                  print(decimal.Decimal(1) / decimal.Decimal(7))\n\
                  out = []\n\
                  ts = [threading.Thread(target=lambda i=i: out.append(sum(range(i * 999)))) for i in range(4)]\n\
                  [t.start() for t in ts]; [t.join() for t in ts]\n\
                  print(sorted(out), 2.0 ** 0.5, 1e300 * 10)\n";
        assert_same_as(Native, Path::new("/usr/bin/python3"), &["-c", py], &d);
    }
}

/// Signal handlers (SA_SIGINFO, FP state kept across the handler) and SIGSEGV recovery.
#[test]
fn signal_program_matches_native() {
    gcc_program_matches_native("signals", &["-O2"], &[]);
}
