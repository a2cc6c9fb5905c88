//! The C example builds against include/xlat.h and runs; the header is what cbindgen makes
//! of capi/src/lib.rs.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory holding libxlat_capi.so: the profile directory of this test binary.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds the C program `src` against include/xlat.h and libxlat_capi (gcc `-std=c11 -Wall
/// -Werror`, then `flags`, then `-lxlat_capi` and `libs`) into `exe`, runs it with the library
/// on LD_LIBRARY_PATH, removes `exe`, asserts that it exited with status 0 and returns its
/// stdout.
fn build_and_run(src: &Path, exe: &Path, flags: &[&str], libs: &[&str]) -> String {
    let dir = lib_dir();
    assert!(
        dir.join("libxlat_capi.so").exists(),
        "no libxlat_capi.so in {} (build it first: cargo build --release -p xlat-capi; scripts/test.sh does)",
        dir.display()
    );
    let cc = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Werror"])
        .args(flags)
        .arg("-o")
        .arg(exe)
        .arg(src)
        .arg("-I")
        .arg(root().join("include"))
        .arg("-L")
        .arg(&dir)
        .arg("-lxlat_capi")
        .args(libs)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = Command::new(exe)
        .env("LD_LIBRARY_PATH", &dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(exe);
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

#[test]
fn c_example_builds_and_runs() {
    let out = std::env::temp_dir().join(format!("xlat-shellcode-{}", std::process::id()));
    let stdout = build_and_run(
        &root().join("examples/shellcode.c"),
        &out,
        &["-O1"],
        &["-lpthread"],
    );
    // The shellcode writes "hello\n" to fd 1 and exits with 42: two blocks, each ending at a
    // syscall; the exit hook stops the engine. The cpuid hook runs once, after `cpuid`
    // (rbx = 0x1000 + the highest leaf that cpuid put in rax). `in al, 0x60` reads 0x70 from
    // the port hook, which `out 0x61, al` then writes. `cmpxchg16b` finds rdx:rax
    // (0x2222:0x1111) in memory and stores rcx:rbx: one 16-byte read-after and write, whole
    // values from xlat_mem_value128; xmm0 then loads them (xlat_reg_read128).
    assert_eq!(
        stdout,
        "write(1): hello\nexit status 42 after 2 blocks\n\
         bad mapping: address or size not page-aligned\n\
         cpuid hook: 1 call(s), rbx rewritten\n\
         out port 0x61 size 1 value 0x70\n2 port accesses\n\
         read-after 16 bytes: 0x2222:0x1111\nwrite 16 bytes: 0x4444:0x3333\n\
         xmm0 0x4444:0x3333\nthreads ok\n"
    );
}

#[test]
fn header_is_generated_from_the_source() {
    let cache = std::env::var_os("XLAT_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/xlat")));
    let Some(cbindgen) = cache
        .map(|c| c.join("tools/bin/cbindgen"))
        .filter(|p| p.exists())
    else {
        println!("skipped: no cbindgen (scripts/setup.d/60-embed.sh installs it)");
        return;
    };
    let out = std::env::temp_dir().join(format!("xlat-h-{}.h", std::process::id()));
    let r = Command::new(cbindgen)
        .current_dir(root())
        .args([
            "--config",
            "capi/cbindgen.toml",
            "--crate",
            "xlat-capi",
            "--output",
        ])
        .arg(&out)
        .arg("capi")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let fresh = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let committed = std::fs::read_to_string(root().join("include/xlat.h")).unwrap();
    assert!(
        fresh == committed,
        "include/xlat.h is stale: regenerate it (see its first lines)"
    );
}

/// The fenced block of `lang` in the README's "Embedding xlat" section.
fn readme_block(lang: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let sec = &readme[readme
        .find("## Embedding xlat")
        .expect("README: no embedding section")..];
    let open = format!("```{lang}\n");
    let at = sec
        .find(&open)
        .unwrap_or_else(|| panic!("README: no {lang} block"))
        + open.len();
    sec[at..at + sec[at..].find("```\n").unwrap()].to_string()
}

#[test]
fn readme_rust_example_is_the_doc_test() {
    // The README's Rust example is, line for line, the doc test of `xlat::embed` that
    // `cargo test -p xlat --doc` compiles and runs.
    let src = std::fs::read_to_string(root().join("src/embed/mod.rs")).unwrap();
    let doc: Vec<&str> = src
        .lines()
        .skip_while(|l| !l.contains("The README's shellcode example"))
        .skip_while(|l| l.trim() != "//! ```")
        .skip(1)
        .take_while(|l| l.trim() != "//! ```")
        .map(|l| {
            l.strip_prefix("//! ")
                .unwrap_or(l.strip_prefix("//!").unwrap_or(l))
        })
        .collect();
    assert!(!doc.is_empty(), "no README example in src/embed/mod.rs");
    assert_eq!(readme_block("rust"), doc.join("\n") + "\n");
}

#[test]
fn readme_c_example_builds_and_runs() {
    let tmp = std::env::temp_dir().join(format!("xlat-readme-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (src, exe) = (tmp.join("readme.c"), tmp.join("readme"));
    std::fs::write(&src, readme_block("c")).unwrap();
    let stdout = build_and_run(&src, &exe, &["-Wno-unused-parameter"], &[]);
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(stdout, "write: hello\nexit(42)\n");
}
