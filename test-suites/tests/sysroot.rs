//! Dynamically linked Debian trixie riscv64 programs from the sysroot scripts/sysroot.sh builds
//! (bash, coreutils, python3): stdout, stderr and exit status must be identical under
//! `qemu-riscv64 -L SYSROOT` (the reference) and `xlat run -L SYSROOT` (JIT and interpreter).
//! Where qemu-user cannot be the reference (it hands a guest's execve to the host kernel, which
//! on a host without binfmt_misc runs the host's own `sort` or `echo`, or fails on a riscv64
//! file), the expected output is also computed independently: by hand, or by the host's own
//! tools (`sha256sum`, `python3`).
//!
//! Each test skips with one line on stderr when the sysroot or qemu-riscv64 is missing.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};

use xlat_test_suites::diffrun::{
    Engine, Guest, Outcome, assert_same_as_qemu_with, run_with, xlat_enabled,
};
use xlat_test_suites::{have, scratch_dir, user};

/// The sysroot, or `None` (after one line saying why) when this test cannot run here.
fn sysroot(test: &str) -> Option<PathBuf> {
    user::sysroot(
        test,
        "riscv64",
        "lib/ld-linux-riscv64-lp64d.so.1",
        "qemu-riscv64",
    )
}

/// A program of the sysroot, by its guest path.
fn prog(root: &std::path::Path, guest: &str) -> PathBuf {
    root.join(guest.trim_start_matches('/'))
}

/// Runs `guest` under `qemu-riscv64` (sysroot from QEMU_LD_PREFIX, which the guest then sees
/// in its environment under both emulators) and under `xlat run -L ROOT` with each
/// accelerator; asserts identical stdout, guest stderr and status. Returns qemu's outcome.
fn same_as_qemu(name: &str, root: &std::path::Path, guest: Guest) -> Outcome {
    let root = root.display().to_string();
    let guest = guest.env("QEMU_LD_PREFIX", &root);
    assert_same_as_qemu_with(name, &["-L", &root], &guest)
}

/// Runs `guest` under `xlat run -L ROOT` only (JIT and interpreter), for what qemu-user cannot
/// run without binfmt_misc; returns both outcomes.
fn on_xlat(root: &std::path::Path, guest: &Guest) -> Vec<Outcome> {
    let flag = root.display().to_string();
    [Engine::XlatJit, Engine::XlatInterp]
        .into_iter()
        .map(|e| run_with(e, &["-L", &flag], guest))
        .collect()
}

fn stdout(o: &Outcome) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn workdir(test: &str) -> PathBuf {
    let d = scratch_dir("sysroot").join(test);
    std::fs::create_dir_all(&d).expect("create work dir");
    d
}

#[test]
fn bash_loop_arithmetic_and_pipe() {
    let Some(root) = sysroot("bash_loop_arithmetic_and_pipe") else {
        return;
    };
    let g = Guest::new(prog(&root, "/bin/bash"))
        .args(["-c", "for i in 1 2 3; do echo $((i*i)); done | sort -r"]);
    let want = same_as_qemu("bash pipeline", &root, g);
    // Under qemu the `sort` is the host's; the answer is known anyway.
    assert_eq!(stdout(&want), "9\n4\n1\n");
    assert_eq!(want.status, 0);
}

#[test]
fn bash_builtins_status_and_substitution() {
    let Some(root) = sysroot("bash_builtins_status_and_substitution") else {
        return;
    };
    let script = r#"x=$(printf '%s-' a b c); echo "$x ${#x}"; declare -A m=([k]=v); echo "${m[k]}";
        f() { return 7; }; f; echo "st=$?"; case "$BASH_VERSION" in 5.*) echo five;; esac;
        echo ${PWD##*/}; exit 3"#;
    let g = Guest::new(prog(&root, "/bin/bash"))
        .args(["-c", script])
        .cwd(workdir("bashdir"));
    let want = same_as_qemu("bash builtins", &root, g);
    assert_eq!(stdout(&want), "a-b-c- 6\nv\nst=7\nfive\nbashdir\n");
    assert_eq!(want.status, 3);
}

#[test]
fn coreutils_ls_la_of_a_fixed_directory() {
    let Some(root) = sysroot("coreutils_ls_la_of_a_fixed_directory") else {
        return;
    };
    // The listed directory and its parent hold only what this test puts there, with fixed
    // modes and times, so `.` and `..` are stable too.
    let parent = workdir("ls");
    let dir = parent.join("fixed");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    for (name, len) in [("a.txt", 5usize), ("b.bin", 4096), ("empty", 0)] {
        let p = dir.join(name);
        std::fs::write(&p, vec![b'x'; len]).expect("write");
        let f = std::fs::File::options().write(true).open(&p).expect("open");
        f.set_modified(t).expect("set mtime");
    }
    std::os::unix::fs::symlink("a.txt", dir.join("link")).expect("symlink");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("b.bin"), std::fs::Permissions::from_mode(0o640))
        .expect("chmod");
    for d in [dir.join("sub"), dir.clone(), parent.clone()] {
        let f = std::fs::File::open(&d).expect("open dir");
        f.set_modified(t).expect("set dir mtime");
    }
    let g = Guest::new(prog(&root, "/bin/ls"))
        .args(["-la", "--time-style=long-iso"])
        .args([&dir])
        .env("TZ", "UTC");
    let want = same_as_qemu("ls -la", &root, g);
    let out = stdout(&want);
    assert!(
        out.contains(" 4096 2020-09-13 12:26 b.bin\n") && out.contains("-rw-r----- "),
        "{out}"
    );
    assert!(out.contains(" link -> a.txt\n"), "{out}");
}

#[test]
fn coreutils_sort_sha256sum_date() {
    let Some(root) = sysroot("coreutils_sort_sha256sum_date") else {
        return;
    };
    let mut lines: Vec<String> = (0..2000u64)
        .map(|i| {
            format!(
                "{:x} line {}",
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40,
                i % 97
            )
        })
        .collect();
    let input = lines.join("\n") + "\n";
    let g = Guest::new(prog(&root, "/usr/bin/sort")).stdin(input.clone());
    let want = same_as_qemu("sort", &root, g);
    lines.sort(); // LC_ALL=C: byte order
    assert_eq!(stdout(&want), lines.join("\n") + "\n");

    let data = workdir("sha").join("data.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(&data, &bytes).expect("write data");
    let g = Guest::new(prog(&root, "/usr/bin/sha256sum")).args([&data]);
    let want = same_as_qemu("sha256sum", &root, g);
    if have("sha256sum") {
        let host = Command::new("sha256sum")
            .arg(&data)
            .output()
            .expect("sha256sum");
        assert_eq!(want.stdout, host.stdout, "the host's sha256sum agrees");
    }

    let g = Guest::new(prog(&root, "/bin/date")).args(["-d", "@0", "-u"]);
    let want = same_as_qemu("date", &root, g);
    assert_eq!(stdout(&want), "Thu Jan  1 00:00:00 UTC 1970\n");
}

/// Runs a python3 program under both emulators; returns its stdout.
fn python(name: &str, root: &std::path::Path, code: &str) -> String {
    let g = Guest::new(prog(root, "/usr/bin/python3")).args(["-c", code]);
    let want = same_as_qemu(name, root, g);
    assert_eq!(
        want.status,
        0,
        "{name}: {}",
        String::from_utf8_lossy(&want.stderr)
    );
    stdout(&want)
}

/// The same program under the host's python3, for an independent expected value.
fn host_python(code: &str) -> Option<String> {
    let o = Command::new("python3").args(["-c", code]).output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn python3_hashlib_and_json() {
    let Some(root) = sysroot("python3_hashlib_and_json") else {
        return;
    };
    let code = r#"
import hashlib, json, zlib
data = bytes(range(256)) * 1000
for h in ("md5", "sha1", "sha256", "sha512", "sha3_256", "blake2b"):
    print(h, hashlib.new(h, data).hexdigest())
doc = {"n": [1, 2.5, -3e10, None, True], "s": "caf\u00e9 \u2603", "nested": {"k": list(range(5))}}
text = json.dumps(doc, sort_keys=True, ensure_ascii=False)
print(text)
print(json.loads(text) == doc, zlib.crc32(text.encode()))
print(sum(i * i for i in range(100000)), 2 ** 200 % 1000003, round(3.0 ** 0.5, 12))
"#;
    let out = python("python3 hashlib/json", &root, code);
    if let Some(host) = host_python(code) {
        assert_eq!(out, host, "the host's python3 agrees");
    }
}

#[test]
fn python3_threading() {
    let Some(root) = sysroot("python3_threading") else {
        return;
    };
    let code = r#"
import threading, queue
lock = threading.Lock()
total = [0]
q = queue.Queue()
def work(k):
    s = 0
    for i in range(20000):
        s += (i * k) % 7
    with lock:
        total[0] += s
    q.put(k)
ts = [threading.Thread(target=work, args=(k,)) for k in range(1, 9)]
for t in ts: t.start()
for t in ts: t.join()
print(total[0], sorted(q.get() for _ in range(8)))
ev = threading.Event(); out = []
def waiter(): ev.wait(); out.append("woke")
t = threading.Thread(target=waiter); t.start(); ev.set(); t.join()
print(out, threading.active_count())
"#;
    let out = python("python3 threading", &root, code);
    if let Some(host) = host_python(code) {
        assert_eq!(out, host, "the host's python3 agrees");
    }
}

#[test]
fn python3_subprocess_echo() {
    let Some(root) = sysroot("python3_subprocess_echo") else {
        return;
    };
    // Under qemu the child `/bin/echo` is the host's own; under xlat it is the sysroot's,
    // run by a re-executed xlat with the same -L. The output is the same either way.
    let code = r#"
import subprocess
r = subprocess.run(["/bin/echo", "hello", "from", "echo"], capture_output=True, text=True)
print(repr(r.stdout), r.returncode)
r = subprocess.run(["/bin/sh", "-c", "exit 5"])
print(r.returncode)
print(subprocess.check_output("echo piped | tr a-z A-Z", shell=True).decode().strip())
"#;
    let out = python("python3 subprocess", &root, code);
    assert_eq!(out, "'hello from echo\\n' 0\n5\nPIPED\n");
}

#[test]
fn python3_runs_itself_as_a_child_xlat_only() {
    let Some(root) = sysroot("python3_runs_itself_as_a_child_xlat_only") else {
        return;
    };
    if !xlat_enabled() {
        return;
    }
    // qemu-user cannot be the reference here: without binfmt_misc the host kernel refuses to
    // execute the riscv64 python3 that sys.executable names. The answer is known.
    let code = r#"
import subprocess, sys
out = subprocess.check_output([sys.executable, "-c", "import os, sys; print(sys.argv[1:], os.getppid() > 1)", "x", "y"])
print(out.decode(), end="")
print(sys.executable)
"#;
    let g = Guest::new(prog(&root, "/usr/bin/python3")).args(["-c", code]);
    for o in on_xlat(&root, &g) {
        assert_eq!(o.status, 0, "{}", String::from_utf8_lossy(&o.stderr));
        let out = stdout(&o);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("['x', 'y'] True"), "{out}");
        assert!(lines.next().is_some_and(|l| l.contains("python3")), "{out}");
    }
}

#[test]
fn python3_socketpair_and_loopback_tcp() {
    let Some(root) = sysroot("python3_socketpair_and_loopback_tcp") else {
        return;
    };
    let code = r#"
import socket, threading
a, b = socket.socketpair()
a.sendall(b"ping" * 1000)
got = b""
while len(got) < 4000:
    got += b.recv(65536)
print("pair", len(got), got[:8])
a.close(); b.close()

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
def serve():
    c, _ = srv.accept()
    data = b""
    while not data.endswith(b"\n"):
        data += c.recv(100)
    c.sendall(data.upper())
    c.close()
t = threading.Thread(target=serve); t.start()
cl = socket.create_connection(("127.0.0.1", port))
cl.sendall(b"hello over loopback\n")
reply = b""
while True:
    chunk = cl.recv(100)
    if not chunk:
        break
    reply += chunk
t.join(); cl.close(); srv.close()
print("tcp", reply, port > 0)
"#;
    let out = python("python3 sockets", &root, code);
    assert_eq!(
        out,
        "pair 4000 b'pingping'\ntcp b'HELLO OVER LOOPBACK\\n' True\n"
    );
}

#[test]
fn missing_interpreter_is_one_clear_line() {
    let Some(root) = sysroot("missing_interpreter_is_one_clear_line") else {
        return;
    };
    let empty = workdir("empty-sysroot");
    let o = Command::new(xlat_test_suites::xlat_bin())
        .args(["run", "-L"])
        .arg(&empty)
        .arg(prog(&root, "/bin/true"))
        .env_remove("XLAT_LD_PREFIX")
        .output()
        .expect("run xlat");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "interpreter /lib/ld-linux-riscv64-lp64d.so.1 not found in sysroot {}",
            empty.display()
        )),
        "{err}"
    );
    // XLAT_LD_PREFIX stands in for -L.
    let o = Command::new(xlat_test_suites::xlat_bin())
        .args(["run"])
        .arg(prog(&root, "/bin/echo"))
        .arg("via env")
        .env("XLAT_LD_PREFIX", &root)
        .output()
        .expect("run xlat");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "via env\n");
}

/// A program built here against the cross toolchain's own riscv64 libraries
/// (`/usr/riscv64-linux-gnu`, which is also the sysroot for it), as a PIE with the default
/// dynamic linker. It checks what the kernel's loader promises: AT_BASE is where ld.so sits,
/// AT_PHDR/AT_ENTRY describe the main program at its load bias, dlopen/dlsym work, and
/// thread-local storage works in the main program and across threads.
const DYNAMIC_C: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

extern void _start(void);
static __thread int tls = 5;
static void *thread(void *arg) { tls += (int)(long)arg; return (void *)(long)tls; }

static int main_phdr(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    if (strstr(info->dlpi_name, "ld-linux"))
        printf("ld.so at AT_BASE: %d\n", info->dlpi_addr == getauxval(AT_BASE));
    if (info->dlpi_name[0] == 0 && !*(int *)data) {
        *(int *)data = 1;
        printf("main phdr matches: %d\n", (unsigned long)info->dlpi_phdr == getauxval(AT_PHDR));
        printf("main is biased: %d\n", info->dlpi_addr != 0);
    }
    return 0;
}

int main(int argc, char **argv) {
    unsigned long base = getauxval(AT_BASE);
    printf("AT_BASE page-aligned, nonzero: %d\n", base != 0 && base % 4096 == 0);
    printf("AT_ENTRY is _start: %d\n", getauxval(AT_ENTRY) == (unsigned long)&_start);
    printf("AT_PHENT: %lu, AT_EXECFN: %s\n", getauxval(AT_PHENT), (char *)getauxval(AT_EXECFN) == argv[0] ? "argv[0]" : "elsewhere");
    int seen = 0;
    dl_iterate_phdr(main_phdr, &seen);
    void *m = dlopen("libm.so.6", RTLD_NOW);
    double (*cosp)(double) = m ? (double (*)(double))dlsym(m, "cos") : 0;
    printf("dlopen libm: %s, cos(0) = %.1f\n", m ? "ok" : dlerror(), cosp ? cosp(0.0) : -1.0);
    pthread_t t[4];
    long sum = 0;
    for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, thread, (void *)(i + 1));
    for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    printf("tls: main %d, threads sum %ld\n", tls, sum);
    printf("argc %d, last arg %s\n", argc, argv[argc - 1]);
    return 0;
}
"#;

#[test]
fn dynamic_pie_built_here_against_the_cross_libraries() {
    let cross = PathBuf::from("/usr/riscv64-linux-gnu");
    if !cross.join("lib/ld-linux-riscv64-lp64d.so.1").exists()
        || !have("riscv64-linux-gnu-gcc")
        || !have("qemu-riscv64")
    {
        eprintln!(
            "dynamic_pie: skipped: needs riscv64-linux-gnu-gcc and qemu-riscv64 (scripts/setup.sh)"
        );
        return;
    }
    let dir = workdir("dynpie");
    let src = dir.join("dynamic.c");
    std::fs::write(&src, DYNAMIC_C).expect("write source");
    let exe = dir.join(format!("dynamic-{}", std::process::id()));
    let o = Command::new("riscv64-linux-gnu-gcc")
        .args(["-O2", "-pie", "-fPIE", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .arg("-ldl")
        .output()
        .expect("run riscv64-linux-gnu-gcc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let g = Guest::new(&exe).args(["one", "two"]);
    let want = same_as_qemu("dynamic PIE", &cross, g);
    let _ = std::fs::remove_file(&exe);
    assert_eq!(
        stdout(&want),
        "AT_BASE page-aligned, nonzero: 1\nAT_ENTRY is _start: 1\n\
         AT_PHENT: 56, AT_EXECFN: elsewhere\n\
         main phdr matches: 1\nmain is biased: 1\nld.so at AT_BASE: 1\ndlopen libm: ok, cos(0) = 1.0\n\
         tls: main 5, threads sum 30\nargc 3, last arg two\n"
    );
}

#[test]
fn python3_stdlib_sqlite_asyncio_ctypes_multiprocessing() {
    let Some(root) = sysroot("python3_stdlib_sqlite_asyncio_ctypes_multiprocessing") else {
        return;
    };
    // asyncio runs on epoll and a self-pipe/eventfd, multiprocessing forks workers that talk
    // over pipes, ctypes dlopens libc, sqlite3 and the compressors are shared libraries.
    let code = r#"
import asyncio, bz2, ctypes, decimal, lzma, sqlite3, zlib
import multiprocessing as mp
def sq(x): return x * x
async def f(i):
    await asyncio.sleep(0.005 * (10 - i)); return i * i
async def main():
    return await asyncio.gather(*(f(i) for i in range(10)))
if __name__ == "__main__":
    c = sqlite3.connect(":memory:")
    c.execute("create table t(x)")
    c.executemany("insert into t values(?)", [(i,) for i in range(1000)])
    print("sqlite", c.execute("select sum(x), count(*), max(x) from t").fetchone())
    print("asyncio", asyncio.run(main()))
    libc = ctypes.CDLL("libc.so.6")
    print("ctypes", libc.strlen(b"hello"), ctypes.sizeof(ctypes.c_long))
    decimal.getcontext().prec = 30
    print("decimal", decimal.Decimal(2).sqrt())
    d = b"xyz" * 5000 + bytes(range(256))
    print("codecs", all(m.decompress(m.compress(d)) == d for m in (zlib, bz2, lzma)))
    with mp.get_context("fork").Pool(2) as p:
        print("pool", p.map(sq, range(8)))
"#;
    let out = python("python3 stdlib", &root, code);
    assert_eq!(
        out,
        "sqlite (499500, 1000, 999)\n\
         asyncio [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n\
         ctypes 5 8\n\
         decimal 1.41421356237309504880168872421\n\
         codecs True\n\
         pool [0, 1, 4, 9, 16, 25, 36, 49]\n"
    );
}

#[test]
fn shebang_script_runs_under_the_sysroot_interpreter_xlat_only() {
    let Some(root) = sysroot("shebang_script_runs_under_the_sysroot_interpreter_xlat_only") else {
        return;
    };
    if !xlat_enabled() {
        return;
    }
    // qemu-user hands a script to the host kernel, which runs the host's bash: no reference.
    // The sysroot's bash reports HOSTTYPE riscv64; the kernel's binfmt_script passes the
    // optional argument, then the script as named to execve, then the arguments.
    let dir = workdir("shebang");
    let script = dir.join("s.sh");
    std::fs::write(
        &script,
        "#!/bin/bash -e\necho \"$HOSTTYPE $0 $*\"\nfalse\necho not reached\n",
    )
    .unwrap();
    let mut perm = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).unwrap();
    let s = script.display().to_string();
    let g = Guest::new(prog(&root, "/bin/bash")).args(["-c", &format!("{s} a 'b c'; echo $?")]);
    for o in on_xlat(&root, &g) {
        assert_eq!(stdout(&o), format!("riscv64 {s} a b c\n1\n"), "{o:?}");
        assert_eq!(o.status, 0);
    }
}

#[test]
fn proc_self_exe_names_the_guest_program_after_execve_xlat_only() {
    let Some(root) = sysroot("proc_self_exe_names_the_guest_program_after_execve_xlat_only") else {
        return;
    };
    if !xlat_enabled() {
        return;
    }
    // bash execs /usr/bin/python3 (a symlink to python3.N): Linux names the resolved program,
    // in the guest's file system (qemu-user cannot exec it without binfmt_misc).
    let code = "import os, sys; print(os.readlink('/proc/self/exe'), sys.executable)";
    let g = Guest::new(prog(&root, "/bin/bash"))
        .args(["-c", &format!("exec /usr/bin/python3 -c \"{code}\"")]);
    for o in on_xlat(&root, &g) {
        let out = stdout(&o);
        let (exe, executable) = out.trim_end().split_once(' ').unwrap_or_default();
        assert!(exe.starts_with("/usr/bin/python3."), "{out:?} {o:?}");
        assert_eq!(executable, "/usr/bin/python3", "{out:?}");
    }
}
