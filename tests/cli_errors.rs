//! Bad input gets one clear line on stderr and a non-zero exit, never a backtrace.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

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
    // The host's own /bin/true is an x86-64 ELF, not a riscv64 one.
    assert_one_line_error(&["run", "--arch", "riscv64", "/bin/true"], "x86_64 program");
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

/// A minimal dynamically linked riscv64 executable naming `/lib/ld-test-xlat.so.1`.
fn dynamic_riscv64_elf() -> Vec<u8> {
    let interp = b"/lib/ld-test-xlat.so.1\0";
    let mut d = vec![0u8; 0x1000];
    d[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    d[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
    d[18..20].copy_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    d[20..24].copy_from_slice(&1u32.to_le_bytes());
    d[24..32].copy_from_slice(&0x800u64.to_le_bytes()); // e_entry
    d[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    d[52..54].copy_from_slice(&64u16.to_le_bytes());
    d[54..56].copy_from_slice(&56u16.to_le_bytes());
    d[56..58].copy_from_slice(&2u16.to_le_bytes());
    // (type, flags, offset, vaddr, filesz, memsz)
    let phdrs = [
        (
            3u32,
            4u32,
            0x200u64,
            0x200u64,
            interp.len() as u64,
            interp.len() as u64,
        ),
        (1, 5, 0, 0, 0x1000, 0x1000),
    ];
    for (i, (t, f, off, va, fs, ms)) in phdrs.into_iter().enumerate() {
        let o = 64 + i * 56;
        d[o..o + 4].copy_from_slice(&t.to_le_bytes());
        d[o + 4..o + 8].copy_from_slice(&f.to_le_bytes());
        d[o + 8..o + 16].copy_from_slice(&off.to_le_bytes());
        d[o + 16..o + 24].copy_from_slice(&va.to_le_bytes());
        d[o + 24..o + 32].copy_from_slice(&va.to_le_bytes());
        d[o + 32..o + 40].copy_from_slice(&fs.to_le_bytes());
        d[o + 40..o + 48].copy_from_slice(&ms.to_le_bytes());
        d[o + 48..o + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    }
    d[0x200..0x200 + interp.len()].copy_from_slice(interp);
    d
}

#[test]
fn dynamic_program_without_its_interpreter() {
    let dir = std::env::temp_dir().join(format!("xlat-cli-dyn-{}", std::process::id()));
    let root = dir.join("empty-root");
    std::fs::create_dir_all(&root).unwrap();
    let prog = dir.join("dyn");
    std::fs::write(&prog, dynamic_riscv64_elf()).unwrap();
    let p = prog.to_str().unwrap();
    let run = |args: &[&str], env: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_xlat"));
        c.args(args).env_remove("XLAT_LD_PREFIX");
        if let Some(v) = env {
            c.env("XLAT_LD_PREFIX", v);
        }
        let o = c.output().expect("run xlat");
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    let e = run(&["run", p], None);
    assert!(
        e.contains("interpreter /lib/ld-test-xlat.so.1 is not a program for this guest")
            && e.contains("pass -L"),
        "{e}"
    );
    let r = root.to_str().unwrap();
    let want = format!("interpreter /lib/ld-test-xlat.so.1 not found in sysroot {r}");
    assert!(run(&["run", "-L", r, p], None).contains(&want));
    assert!(run(&["run", p], Some(r)).contains(&want), "XLAT_LD_PREFIX");
    let e = run(&["run", "-L", "/nonexistent/sysroot", p], None);
    assert!(e.contains("-L /nonexistent/sysroot: No such file"), "{e}");
    // An interpreter of the wrong machine is named as such.
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::copy("/bin/true", root.join("lib/ld-test-xlat.so.1")).unwrap();
    let e = run(&["run", "-L", r, p], None);
    assert!(e.contains("ld-test-xlat.so.1: is a x86-64 program"), "{e}");
    // PROGRAM stays a host path with -L (as with qemu); the error names the sysroot's copy.
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::write(root.join("bin/true"), b"").unwrap();
    let e = run(&["run", "--arch", "riscv64", "-L", r, "/bin/true"], None);
    assert!(e.contains("x86_64 program"), "{e}");
    assert!(e.contains(&format!("did you mean {r}/bin/true?")), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
