//! Debian trixie's busybox-static for riscv64 (fetched by scripts/setup.sh), one applet per
//! test, on deterministic inputs the test writes: stdout, stderr and exit status must be identical
//! under qemu-riscv64 (the reference) and xlat (JIT and interpreter).

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use xlat_test_suites::cache_dir;
use xlat_test_suites::diffrun::{Guest, Outcome, assert_same_as_qemu};
use xlat_test_suites::scratch_dir;

fn busybox() -> PathBuf {
    let p = cache_dir().join("riscv64").join("busybox");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh",
        p.display()
    );
    p
}

/// A per-test working directory holding the generated inputs.
fn workdir(test: &str) -> PathBuf {
    let d = scratch_dir("busybox").join(test);
    std::fs::create_dir_all(&d).expect("create work dir");
    d
}

/// xorshift64*: the inputs are the same on every run and machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// About `kib` KiB of binary noise with runs (so it compresses somewhat).
fn binary_data(kib: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed);
    let mut v = Vec::with_capacity(kib * 1024);
    while v.len() < kib * 1024 {
        let x = r.next();
        if x.is_multiple_of(5) {
            v.extend(std::iter::repeat_n((x >> 8) as u8, (x >> 16) as usize % 40));
        } else {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    v.truncate(kib * 1024);
    v
}

/// `n` lines of words and numbers with many duplicates (for sort, uniq, wc, tr...).
fn text_data(n: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "alpha", "Beta", "gamma", "delta", "epsilon", "zeta", "Eta", "theta", "iota", "kappa",
        "lambda", "mu",
    ];
    let mut r = Rng(seed);
    let mut s = String::new();
    for _ in 0..n {
        let x = r.next();
        let w = WORDS[(x % 12) as usize];
        match (x >> 8) % 4 {
            0 => s += &format!("{w} {}\n", (x >> 20) % 1000),
            1 => s += &format!("{}\t{w}\n", ((x >> 20) % 200_001) as i64 - 100_000),
            2 => s += &format!("{w}\n"),
            _ => s += &format!("{w} {w} {}\n", (x >> 30) % 7),
        }
    }
    s.into_bytes()
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).expect("write input");
}

/// Runs `busybox ARGS` in `dir` and compares; returns QEMU's outcome.
fn bb(test: &str, dir: &Path, args: &[&str], stdin: &[u8]) -> Outcome {
    let g = Guest::new(busybox())
        .args(args.iter().copied())
        .stdin(stdin.to_vec())
        .cwd(dir)
        .env("TZ", "UTC");
    assert_same_as_qemu(test, &g)
}

fn ok(o: &Outcome) -> String {
    assert_eq!(
        o.status,
        0,
        "reference run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn sha256sum() {
    let d = workdir("sha256sum");
    write(&d, "data.bin", &binary_data(300, 1));
    write(&d, "empty", b"");
    let out = ok(&bb(
        "sha256sum",
        &d,
        &["sha256sum", "data.bin", "empty"],
        b"",
    ));
    // SHA-256 of the empty string (FIPS 180-4 test vector).
    assert!(
        out.contains("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty")
    );
}

#[test]
fn sha1sum() {
    let d = workdir("sha1sum");
    write(&d, "data.bin", &binary_data(200, 2));
    let out = ok(&bb("sha1sum", &d, &["sha1sum", "data.bin", "-"], b"abc"));
    assert!(out.contains("a9993e364706816aba3e25717850c26c9cd0d89d  -")); // SHA-1("abc")
}

#[test]
fn sha512sum() {
    let d = workdir("sha512sum");
    write(&d, "data.bin", &binary_data(200, 22));
    ok(&bb("sha512sum", &d, &["sha512sum", "data.bin"], b""));
}

#[test]
fn md5sum() {
    let d = workdir("md5sum");
    write(&d, "data.bin", &binary_data(300, 3));
    let out = ok(&bb("md5sum", &d, &["md5sum", "data.bin", "-"], b""));
    assert!(out.contains("d41d8cd98f00b204e9800998ecf8427e  -")); // MD5("")
}

#[test]
fn gzip_then_gunzip_round_trip() {
    let d = workdir("gzip");
    let mut input = text_data(8000, 4);
    input.extend(binary_data(100, 5));
    write(&d, "input", &input);
    let gz = bb("gzip", &d, &["gzip", "-c", "input"], b"");
    assert_eq!(gz.status, 0);
    assert_eq!(
        &gz.stdout[..2],
        &[0x1f, 0x8b],
        "not gzip output (RFC 1952 magic)"
    );
    write(&d, "input.gz", &gz.stdout);
    let back = bb("gunzip", &d, &["gunzip", "-c", "input.gz"], b"");
    assert_eq!(back.status, 0);
    assert!(
        back.stdout == input,
        "gunzip -c of gzip -c output is not the input"
    );
    let best = bb("gzip-9", &d, &["gzip", "-9", "-c"], &input);
    assert_eq!(best.status, 0);
    // Independent references: the host's gzip reads the guest's output, and the guest reads the host's.
    let host = std::process::Command::new("gzip")
        .args(["-d", "-c", "input.gz"])
        .current_dir(&d)
        .output()
        .expect("host gzip");
    assert!(
        host.status.success() && host.stdout == input,
        "host gzip -d disagrees with the guest's gzip output"
    );
    let host_gz = std::process::Command::new("gzip")
        .args(["-9", "-c", "input"])
        .current_dir(&d)
        .output()
        .expect("host gzip");
    write(&d, "host.gz", &host_gz.stdout);
    let from_host = bb("gunzip-host", &d, &["gunzip", "-c", "host.gz"], b"");
    assert!(
        from_host.stdout == input,
        "gunzip of the host's gzip output is not the input"
    );
}

#[test]
fn sort() {
    let d = workdir("sort");
    write(&d, "t.txt", &text_data(6000, 6));
    ok(&bb("sort", &d, &["sort", "t.txt"], b""));
    ok(&bb("sort-n", &d, &["sort", "-n", "-k", "2", "t.txt"], b""));
    ok(&bb(
        "sort-ru",
        &d,
        &["sort", "-r", "-u", "-f", "t.txt"],
        b"",
    ));
}

#[test]
fn uniq() {
    let d = workdir("uniq");
    let mut lines: Vec<&[u8]> = Vec::new();
    let t = text_data(3000, 7);
    lines.extend(t.split_inclusive(|&b| b == b'\n'));
    lines.sort();
    write(&d, "s.txt", &lines.concat());
    ok(&bb("uniq-c", &d, &["uniq", "-c", "s.txt"], b""));
    ok(&bb("uniq-d", &d, &["uniq", "-d", "s.txt"], b""));
}

#[test]
fn wc() {
    let d = workdir("wc");
    let t = text_data(5000, 8);
    write(&d, "t.txt", &t);
    let out = ok(&bb("wc", &d, &["wc", "t.txt"], b""));
    assert!(
        out.starts_with(&format!("{:>7}", 5000)) || out.contains(" 5000 "),
        "wc line count: {out}"
    );
    let bytes = ok(&bb("wc-c", &d, &["wc", "-c"], &t));
    assert_eq!(bytes.trim(), t.len().to_string());
}

#[test]
fn od_x() {
    let d = workdir("od");
    write(&d, "b.bin", &binary_data(64, 9));
    ok(&bb("od-x", &d, &["od", "-x", "b.bin"], b""));
    ok(&bb(
        "od-c",
        &d,
        &["od", "-A", "d", "-t", "x1", "-N", "4096", "b.bin"],
        b"",
    ));
}

#[test]
fn ls_l() {
    let d = workdir("ls");
    let dir = d.join("tree");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    for (i, (name, size)) in [
        ("a.txt", 10),
        ("b.bin", 4096),
        ("c", 0),
        ("long name.txt", 123_457),
    ]
    .iter()
    .enumerate()
    {
        let f = std::fs::File::create(dir.join(name)).expect("create");
        f.set_len(*size).expect("set_len");
        f.set_modified(base + Duration::from_secs(86_400 * i as u64 + 3_600))
            .expect("set mtime");
    }
    std::fs::File::open(dir.join("sub"))
        .and_then(|f| f.set_modified(base))
        .expect("dir mtime");
    ok(&bb("ls-l", &d, &["ls", "-l", "tree"], b""));
    ok(&bb(
        "ls-la",
        &d,
        &["ls", "-lan", "--full-time", "tree/sub"],
        b"",
    ));
    let names = ok(&bb("ls-1", &d, &["ls", "-1", "tree"], b""));
    assert_eq!(names, "a.txt\nb.bin\nc\nlong name.txt\nsub\n");
}

#[test]
fn cat() {
    let d = workdir("cat");
    let a = binary_data(150, 10);
    write(&d, "a", &a);
    write(&d, "b", b"tail\n");
    let o = bb("cat", &d, &["cat", "a", "-", "b"], b"from stdin\n");
    assert_eq!(
        o.stdout,
        [a.as_slice(), b"from stdin\n", b"tail\n"].concat()
    );
    let missing = bb("cat-missing", &d, &["cat", "no-such-file"], b"");
    assert_eq!(missing.status, 1);
}

#[test]
fn expr() {
    let d = workdir("expr");
    assert_eq!(
        ok(&bb("expr", &d, &["expr", "7", "*", "6", "+", "3"], b"")),
        "45\n"
    );
    ok(&bb(
        "expr-div",
        &d,
        &["expr", "-9223372036854775807", "/", "7", "%", "5"],
        b"",
    ));
    ok(&bb(
        "expr-match",
        &d,
        &["expr", "abcdef", ":", "a\\(.*\\)e"],
        b"",
    ));
    let zero = bb("expr-zero", &d, &["expr", "0", "&", "1"], b"");
    assert_eq!(zero.status, 1); // POSIX: exit 1 when the result is null or zero
    let div0 = bb("expr-div0", &d, &["expr", "1", "/", "0"], b"");
    assert_eq!(div0.status, 2);
}

#[test]
fn printf() {
    let d = workdir("printf");
    let out = ok(&bb(
        "printf",
        &d,
        &[
            "printf",
            "%s|%5d|%-4x|%o|%c|%%|%b\n",
            "str",
            "42",
            "255",
            "8",
            "Z",
            "a\\tb",
        ],
        b"",
    ));
    assert_eq!(out, "str|   42|ff  |10|Z|%|a\tb\n");
    ok(&bb(
        "printf-float",
        &d,
        &[
            "printf",
            "%.3f %e %g %10.4f\n",
            "3.14159",
            "12345.678",
            "0.0001",
            "-2.5",
        ],
        b"",
    ));
}

#[test]
fn seq() {
    let d = workdir("seq");
    let out = ok(&bb("seq", &d, &["seq", "1", "3", "20000"], b""));
    assert_eq!(out.lines().count(), 6667);
    ok(&bb(
        "seq-w",
        &d,
        &["seq", "-w", "-s", ",", "-5", "7", "105"],
        b"",
    ));
}

#[test]
fn tr() {
    let d = workdir("tr");
    let t = text_data(4000, 11);
    let up = ok(&bb("tr", &d, &["tr", "a-z", "A-Z"], &t));
    assert_eq!(up.as_bytes(), t.to_ascii_uppercase().as_slice());
    ok(&bb("tr-d", &d, &["tr", "-d", "aeiou\\n"], &t));
    ok(&bb("tr-s", &d, &["tr", "-s", " \\t", "_"], &t));
}

#[test]
fn head_and_tail() {
    let d = workdir("head");
    write(&d, "t.txt", &text_data(3000, 12));
    ok(&bb("head", &d, &["head", "-n", "25", "t.txt"], b""));
    ok(&bb("head-c", &d, &["head", "-c", "1000", "t.txt"], b""));
    ok(&bb("tail", &d, &["tail", "-n", "40", "t.txt"], b""));
}

#[test]
fn basename_and_dirname() {
    let d = workdir("basename");
    assert_eq!(
        ok(&bb(
            "basename",
            &d,
            &["basename", "/usr/lib/libc.so.6", ".6"],
            b""
        )),
        "libc.so\n"
    );
    assert_eq!(
        ok(&bb("dirname", &d, &["dirname", "/usr/lib/libc.so.6"], b"")),
        "/usr/lib\n"
    );
}

#[test]
fn echo() {
    let d = workdir("echo");
    assert_eq!(
        ok(&bb("echo", &d, &["echo", "hello", "  world", ""], b"")),
        "hello   world \n"
    );
    assert_eq!(
        ok(&bb("echo-ne", &d, &["echo", "-ne", "a\\tb\\n\\x41"], b"")),
        "a\tb\nA"
    );
}

#[test]
fn true_and_false_exit_status() {
    let d = workdir("true");
    assert_eq!(bb("true", &d, &["true"], b"").status, 0);
    assert_eq!(bb("false", &d, &["false"], b"").status, 1);
}

#[test]
fn base64() {
    let d = workdir("base64");
    let data = binary_data(100, 13);
    write(&d, "b.bin", &data);
    let enc = ok(&bb("base64", &d, &["base64", "b.bin"], b""));
    write(&d, "b.b64", enc.as_bytes());
    let dec = bb("base64-d", &d, &["base64", "-d", "b.b64"], b"");
    assert!(
        dec.stdout == data,
        "base64 -d of base64 output is not the input"
    );
    assert_eq!(
        ok(&bb("base64-rfc", &d, &["base64"], b"foobar")),
        "Zm9vYmFy\n"
    ); // RFC 4648 §10
}

#[test]
fn sed_awk_grep_cut() {
    let d = workdir("text-tools");
    write(&d, "t.txt", &text_data(4000, 14));
    ok(&bb(
        "sed",
        &d,
        &["sed", "-e", "s/a\\(.\\)/<\\1>/g", "-e", "/mu/d", "t.txt"],
        b"",
    ));
    ok(&bb(
        "awk",
        &d,
        &[
            "awk",
            "{ n[$1]++; s += $2 } END { for (k in n) print k, n[k]; printf \"%.2f\\n\", s / NR }",
            "t.txt",
        ],
        b"",
    ));
    ok(&bb(
        "grep-c",
        &d,
        &["grep", "-c", "-E", "^(alpha|Beta) [0-9]+$", "t.txt"],
        b"",
    ));
    ok(&bb("cut", &d, &["cut", "-f", "2", "t.txt"], b""));
    let none = bb("grep-none", &d, &["grep", "no-such-word", "t.txt"], b"");
    assert_eq!(none.status, 1);
}

#[test]
fn uname_m() {
    let d = workdir("uname");
    assert_eq!(ok(&bb("uname-m", &d, &["uname", "-m"], b"")), "riscv64\n");
}

#[test]
fn sh_builtins_loops_arithmetic_expansions() {
    let d = workdir("sh");
    let script = "i=0; s=0; while [ $i -lt 3000 ]; do s=$((s + i * i % 7)); i=$((i+1)); done; echo $s; \
                  x=abcdef; echo ${x#ab} ${#x} ${x%ef}; for w in c b a; do printf '%s-' $w; done; echo; \
                  case $x in ab*) echo match;; *) echo nomatch;; esac; f() { return 3; }; f; echo rc=$?";
    let out = ok(&bb("sh", &d, &["sh", "-c", script], b""));
    assert!(out.contains("cdef 6 abcd\nc-b-a-\nmatch\nrc=3\n"), "{out}");
    assert_eq!(bb("sh-exit", &d, &["sh", "-c", "exit 7"], b"").status, 7);
}

/// A pipeline forks and execs applets through /proc/self/exe. qemu-user hands execve to the
/// host kernel, which cannot run the riscv64 busybox without binfmt_misc, so busybox falls back
/// to PATH and runs the *host's* tools: QEMU is no reference here, the expected text is.
#[test]
fn sh_pipeline_forks_and_execs_applets() {
    use xlat_test_suites::diffrun::{Engine, run_on, xlat_enabled};
    let d = workdir("sh-pipe");
    let text = text_data(700, 21);
    write(&d, "t.txt", &text);
    if !xlat_enabled() {
        return;
    }
    for engine in [Engine::XlatJit, Engine::XlatInterp] {
        let g = Guest::new(busybox())
            .args(["sh", "-c", "seq 5 | wc -l; echo a | tr a b; sort t.txt | uniq | wc -l; tar -cf - t.txt | tar -tf -"])
            .cwd(&d);
        let o = run_on(engine, &g);
        let mut lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        lines.sort();
        lines.dedup();
        let want = format!("5\nb\n{}\nt.txt\n", lines.len());
        assert_eq!(
            (o.status, String::from_utf8_lossy(&o.stdout).into_owned()),
            (0, want),
            "{}",
            engine.label()
        );
    }
}

#[test]
fn date_utc_from_epoch() {
    let d = workdir("date");
    // 1600000000 s after the epoch is 2020-09-13 12:26:40 UTC.
    let out = ok(&bb(
        "date",
        &d,
        &[
            "date",
            "-u",
            "-d",
            "@1600000000",
            "+%Y-%m-%d %H:%M:%S %j %a",
        ],
        b"",
    ));
    assert_eq!(out, "2020-09-13 12:26:40 257 Sun\n");
}

#[test]
fn dd_skip_count() {
    let d = workdir("dd");
    let data = binary_data(64, 15);
    write(&d, "in.bin", &data);
    let o = bb(
        "dd",
        &d,
        &["dd", "if=in.bin", "bs=1000", "skip=3", "count=5"],
        b"",
    );
    assert_eq!(o.stdout, &data[3000..8000]);
}

#[test]
fn find_name_and_type() {
    let d = workdir("find");
    std::fs::create_dir_all(d.join("t/a/b")).expect("mkdir");
    for f in ["t/x.txt", "t/a/y.txt", "t/a/b/z.bin"] {
        std::fs::write(d.join(f), f).expect("write");
    }
    ok(&bb("find", &d, &["find", "t", "-name", "*.txt"], b""));
    ok(&bb("find-type", &d, &["find", "t", "-type", "d"], b""));
}

#[test]
fn cmp_and_diff() {
    let d = workdir("cmp");
    let t = text_data(500, 16);
    let mut t2 = t.clone();
    t2[1234] ^= 0x20;
    write(&d, "a.txt", &t);
    write(&d, "b.txt", &t2);
    assert_eq!(
        bb("cmp-same", &d, &["cmp", "a.txt", "a.txt"], b"").status,
        0
    );
    assert_eq!(
        bb("cmp-differ", &d, &["cmp", "a.txt", "b.txt"], b"").status,
        1
    );
    assert_eq!(
        bb("diff", &d, &["diff", "-u", "a.txt", "b.txt"], b"").status,
        1
    );
}

#[test]
fn xargs_echo() {
    let d = workdir("xargs");
    ok(&bb(
        "xargs",
        &d,
        &["xargs", "-n", "7", "echo"],
        &text_data(300, 17),
    ));
}

#[test]
fn bzip2_round_trip() {
    let d = workdir("bzip2");
    let input = text_data(4000, 18);
    write(&d, "input", &input);
    let bz = bb("bzip2", &d, &["bzip2", "-c", "input"], b"");
    assert_eq!(bz.status, 0);
    assert_eq!(&bz.stdout[..3], b"BZh", "bzip2 stream magic");
    write(&d, "input.bz2", &bz.stdout);
    assert!(
        bb("bunzip2", &d, &["bunzip2", "-c", "input.bz2"], b"").stdout == input,
        "bunzip2 round trip"
    );
}

#[test]
fn xz_decompress_host_stream() {
    let d = workdir("xz");
    let input = text_data(3000, 19);
    write(&d, "input", &input);
    if !xlat_test_suites::have("xz") {
        eprintln!("skipped: host xz is not installed");
        return;
    }
    let host = std::process::Command::new("xz")
        .args(["-c", "input"])
        .current_dir(&d)
        .output()
        .expect("host xz");
    write(&d, "input.xz", &host.stdout);
    assert!(
        bb("unxz", &d, &["unxz", "-c", "input.xz"], b"").stdout == input,
        "unxz of the host's xz output"
    );
}

#[test]
fn tar_create_list_extract() {
    let d = workdir("tar");
    let tree = d.join("t");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(tree.join("sub")).expect("mkdir");
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    let files = ["t/a.bin", "t/sub/b.txt", "t/sub/c.bin"];
    for (name, kib) in files.iter().zip([3usize, 1, 20]) {
        write(&d, name, &binary_data(kib, kib as u64));
        std::fs::File::options()
            .write(true)
            .open(d.join(name))
            .and_then(|f| f.set_modified(when))
            .expect("mtime");
    }
    let archive = bb(
        "tar-c",
        &d,
        &["tar", "-cf", "-", files[0], files[1], files[2]],
        b"",
    );
    assert_eq!(archive.status, 0);
    assert_eq!(
        &archive.stdout[257..262],
        b"ustar",
        "POSIX ustar magic at offset 257"
    );
    write(&d, "a.tar", &archive.stdout);
    let listing = ok(&bb("tar-tv", &d, &["tar", "-tvf", "a.tar"], b""));
    assert!(
        listing.contains("2017-07-14 02:40:00 t/sub/c.bin"),
        "{listing}"
    );
    let b = bb("tar-xO", &d, &["tar", "-xOf", "a.tar", "t/sub/b.txt"], b"");
    assert!(b.stdout == binary_data(1, 1), "tar -xO gives the file back");
}

#[test]
fn small_text_applets() {
    let d = workdir("small");
    let t = text_data(800, 20);
    write(&d, "t.txt", &t);
    for (name, args) in [
        ("tac", vec!["tac", "t.txt"]),
        ("rev", vec!["rev", "t.txt"]),
        ("nl", vec!["nl", "t.txt"]),
        ("fold", vec!["fold", "-w", "7", "t.txt"]),
        ("paste", vec!["paste", "-d", ":", "t.txt", "t.txt"]),
        ("expand", vec!["expand", "-t", "5", "t.txt"]),
        ("strings", vec!["strings", "-n", "6", "t.txt"]),
        ("hexdump", vec!["hexdump", "-C", "t.txt"]),
        ("xxd", vec!["xxd", "t.txt"]),
        ("crc32", vec!["crc32", "t.txt"]),
        ("sha3sum", vec!["sha3sum", "t.txt"]),
        (
            "factor",
            vec!["factor", "4294967291", "600851475143", "1234567890"],
        ),
        (
            "bc",
            vec![
                "sh",
                "-c",
                "echo 'scale=40; 4*a(1); 2^200; sqrt(2)' | bc -l",
            ],
        ),
        ("dc", vec!["dc", "-e", "2 64 ^ 1 - p 7 3 / p"]),
        ("cal", vec!["cal", "2", "2024"]),
        ("stat", vec!["stat", "-c", "%s %F %a", "t.txt"]),
        (
            "test",
            vec![
                "sh",
                "-c",
                "test -f t.txt && [ 3 -lt 10 ] && [[ abc == a* ]] && echo yes",
            ],
        ),
    ] {
        ok(&bb(name, &d, &args, b""));
    }
    let bc = ok(&bb(
        "bc",
        &d,
        &["bc", "-l"],
        b"scale=40; 4*a(1)\n2^200\nsqrt(2)\n",
    ));
    assert!(
        bc.starts_with("3.14159265358979323846264338327950288419"),
        "{bc}"
    );
}

/// A shell script of builtins, subshells and redirections: everything forks but nothing execs
/// another program, so qemu-riscv64 is a full reference (pipes into `read`, command
/// substitution, redirections and fds, `trap` on USR1 sent with `kill $$` and on EXIT,
/// background jobs and `wait` with their statuses, subshells killed by TERM and INT).
#[test]
fn sh_script_pipes_redirections_substitution_trap_jobs() {
    let d = workdir("sh-script");
    let script = r#"echo one | { read x; echo "piped: $x"; }
printf 'a\nb\nc\n' | while read l; do echo "line $l"; done
x=$(echo inner; echo second); echo "subst: $x"
y=`printf %s back`; echo "backticks: $y"
echo "to file" > out.txt; echo "appended" >> out.txt; while read l; do echo "read back: $l"; done < out.txt
{ echo to-stderr >&2; } 2>err.txt; echo "stderr went to file: $(cat < err.txt)"
exec 3>fd3.txt; echo "via fd 3" >&3; exec 3>&-; read z < fd3.txt; echo "fd3: $z"
trap 'echo trapped USR1' USR1
kill -USR1 $$
echo "after kill"
trap 'echo "in EXIT trap, status $?"' EXIT
( i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; exit 3 ) &
p1=$!
( exit 5 ) &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
echo "bg statuses: $r1 $r2"
( kill -TERM $(sh -c 'echo $PPID') ) ; echo "self-term subshell: $?"
( trap 'echo sub got INT; exit 9' INT; kill -INT $(exec sh -c 'echo $PPID'); sleep 5 ) ; echo "sub status: $?"
set -- $(echo a b c); echo "args: $# $2"
false | true; echo "pipe status: $?"
exit 4
"#;
    write(&d, "script.sh", script.as_bytes());
    let o = bb("sh-script", &d, &["sh", "script.sh"], b"");
    assert_eq!(o.status, 4);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("trapped USR1\nafter kill\nbg statuses: 3 5\n"),
        "{out}"
    );
    assert!(
        out.contains("self-term subshell: 143\nsub got INT\nsub status: 9\n"),
        "{out}"
    );
    assert!(
        out.ends_with("pipe status: 0\nin EXIT trap, status 4\n"),
        "{out}"
    );
}

/// Applets exec'd from the shell: a trap on USR1 sent by a background job while the shell
/// waits (POSIX: `wait` then returns 128 + the signal), 200 fork+exec of `busybox true`, a
/// pipeline of exec'd applets, and a child shell killing itself. qemu-user hands the guest's
/// execve to the host kernel, which cannot run riscv64 busybox without binfmt_misc, so the
/// expected text here is the POSIX/Linux answer, not qemu's output.
#[test]
fn sh_applets_trap_wait_and_200_fork_exec() {
    use xlat_test_suites::diffrun::{Engine, run_on, xlat_enabled};
    let d = workdir("sh-exec");
    if !xlat_enabled() {
        return;
    }
    let script = "trap 'echo got USR1' USR1; trap 'echo exiting' EXIT; \
        (busybox sleep 0.5; kill -USR1 $$) & wait; echo \"wait: $?\"; \
        i=0; while [ $i -lt 200 ]; do busybox true; i=$((i+1)); done; echo \"loop $i\"; \
        echo abc | busybox tr a-c x-z | busybox wc -c; \
        busybox sh -c 'kill -TERM $$'; echo \"child: $?\"; exit 6";
    for engine in [Engine::XlatJit, Engine::XlatInterp] {
        let o = run_on(
            engine,
            &Guest::new(busybox()).args(["sh", "-c", script]).cwd(&d),
        );
        assert_eq!(
            (o.status, String::from_utf8_lossy(&o.stdout).into_owned()),
            (
                6,
                "got USR1\nwait: 138\nloop 200\n4\nchild: 143\nexiting\n".to_string()
            ),
            "{}: {}",
            engine.label(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
