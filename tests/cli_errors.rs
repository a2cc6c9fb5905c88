//! Bad input gets one clear line on stderr and a non-zero exit, never a backtrace.

use std::process::Command;

fn xlat(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xlat"))
        .args(args)
        .output()
        .expect("run xlat");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line_error(args: &[&str], needle: &str) {
    let (code, stdout, stderr) = xlat(args);
    assert_ne!(code, 0, "{args:?} must fail");
    assert!(stdout.is_empty(), "{args:?} printed to stdout: {stdout}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?} must print one line, got:\n{stderr}"
    );
    assert!(stderr.starts_with("xlat: "), "{stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: expected '{needle}' in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_program() {
    assert_one_line_error(&["run", "/nonexistent/prog"], "No such file or directory");
}

#[test]
fn not_an_elf() {
    let p = std::env::temp_dir().join(format!("xlat-cli-notelf-{}", std::process::id()));
    std::fs::write(&p, "#!/bin/sh\necho hi\n").unwrap();
    assert_one_line_error(&["run", p.to_str().unwrap()], "is not an ELF file");
    let _ = std::fs::remove_file(p);
}

#[test]
fn wrong_architecture() {
    // The host's own /bin/true is an x86-64 ELF: this build runs riscv64 guests.
    assert_one_line_error(&["run", "/bin/true"], "x86-64 program");
    assert_one_line_error(
        &["run", "--arch", "mips", "/bin/true"],
        "unknown architecture 'mips'",
    );
}

#[test]
fn a_directory() {
    assert_one_line_error(&["run", "/"], "cannot open '/'");
}

#[test]
fn unknown_flag_and_trace() {
    assert_one_line_error(
        &["run", "--frobnicate", "x"],
        "unknown option '--frobnicate'",
    );
    assert_one_line_error(
        &["run", "-d", "nonsense", "x"],
        "unknown trace flag 'nonsense'",
    );
    assert_one_line_error(&["bogus"], "unknown command 'bogus'");
}
