//! xlat's embedding API against Unicorn 2 on the same x86-64 guest code (issue 8):
//! no hooks, a block hook, a code hook, a memory-write hook, and 10,000 short `start` calls.
//! Unicorn is the `libunicorn.so.2` of the PyPI `unicorn` package (scripts/setup.d/60-embed.sh
//! installs it under `$CACHE/unicorn-venv`; `XLAT_UNICORN_LIB` overrides the path), loaded with
//! dlopen. Prints a markdown table of medians over interleaved runs.
//!
//! `cargo run --release -p xlat-benches --bin embed_unicorn [runs]`

use std::ffi::{CString, c_int, c_void};
use std::path::PathBuf;
use std::time::Instant;

use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};

/// `l: add rax, rdi; mov [rcx], rax; dec rdi; jnz l` then five `add rax, k` (k = 1..5), as
/// GNU as encodes them.
const CODE_BYTES: [u8; 31] = [
    0x48, 0x01, 0xf8, 0x48, 0x89, 0x01, 0x48, 0xff, 0xcf, 0x75, 0xf5, 0x48, 0x83, 0xc0, 0x01, 0x48,
    0x83, 0xc0, 0x02, 0x48, 0x83, 0xc0, 0x03, 0x48, 0x83, 0xc0, 0x04, 0x48, 0x83, 0xc0, 0x05,
];
const CODE: u64 = 0x10000;
const LOOP_END: u64 = CODE + 11;
const SHORT: u64 = LOOP_END;
const SHORT_END: u64 = CODE + 31;
const DATA: u64 = 0x20000;

/// What each column runs.
#[derive(Clone, Copy, PartialEq)]
enum Case {
    NoHooks,
    Block,
    Code,
    MemWrite,
    Starts,
}

const CASES: [(Case, &str, u64); 5] = [
    (Case::NoHooks, "no hooks (20M loop iterations)", 20_000_000),
    (Case::Block, "block hook (2M iterations)", 2_000_000),
    (Case::Code, "code hook (1M iterations)", 1_000_000),
    (
        Case::MemWrite,
        "memory-write hook (2M iterations)",
        2_000_000,
    ),
    (Case::Starts, "10,000 short start calls (5 insns)", 10_000),
];

fn expected(case: Case, n: u64) -> u64 {
    if case == Case::Starts {
        n * 15
    } else {
        n * (n + 1) / 2
    }
}

fn run_xlat(case: Case, n: u64) -> (f64, u64) {
    let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    e.mem_write(CODE, &CODE_BYTES).unwrap();
    e.mem_map(DATA, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let c = counter.clone();
    match case {
        Case::Block => {
            e.hook_add_block(1, 0, move |_, _, _| {
                c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
        Case::Code => {
            e.hook_add_code(1, 0, move |_, _, _| {
                c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
        Case::MemWrite => {
            e.hook_add_mem(MemHookKind::WRITE, 1, 0, move |_, _, _, _, _| {
                c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                true
            });
        }
        _ => {}
    }
    e.reg_write(X86Reg::Rcx, DATA).unwrap();
    let t0 = Instant::now();
    if case == Case::Starts {
        for _ in 0..n {
            e.start(SHORT, SHORT_END, None, 0).unwrap();
        }
    } else {
        e.reg_write(X86Reg::Rdi, n).unwrap();
        e.start(CODE, LOOP_END, None, 0).unwrap();
    }
    let dt = t0.elapsed().as_secs_f64();
    let rax = e.reg_read(X86Reg::Rax).unwrap();
    assert_eq!(rax, expected(case, n), "xlat result");
    (dt, counter.load(std::sync::atomic::Ordering::Relaxed))
}

type UcOpen = unsafe extern "C" fn(c_int, c_int, *mut *mut c_void) -> c_int;
type UcClose = unsafe extern "C" fn(*mut c_void) -> c_int;
type UcMemMap = unsafe extern "C" fn(*mut c_void, u64, usize, u32) -> c_int;
type UcMemWrite = unsafe extern "C" fn(*mut c_void, u64, *const c_void, usize) -> c_int;
type UcRegWrite = unsafe extern "C" fn(*mut c_void, c_int, *const c_void) -> c_int;
type UcRegRead = unsafe extern "C" fn(*mut c_void, c_int, *mut c_void) -> c_int;
type UcStart = unsafe extern "C" fn(*mut c_void, u64, u64, u64, usize) -> c_int;
type UcHookAdd = unsafe extern "C" fn(
    *mut c_void,
    *mut usize,
    c_int,
    *mut c_void,
    *mut c_void,
    u64,
    u64,
    ...
) -> c_int;

struct Uc {
    open: UcOpen,
    close: UcClose,
    mem_map: UcMemMap,
    mem_write: UcMemWrite,
    reg_write: UcRegWrite,
    reg_read: UcRegRead,
    start: UcStart,
    hook_add: UcHookAdd,
}

fn unicorn_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("XLAT_UNICORN_LIB") {
        return Some(PathBuf::from(p));
    }
    let cache = std::env::var_os("XLAT_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/xlat")))?;
    let lib = cache.join("unicorn-venv/lib");
    for py in std::fs::read_dir(&lib).ok()?.flatten() {
        let p = py.path().join("site-packages/unicorn/lib/libunicorn.so.2");
        if p.exists() {
            return Some(p);
        }
    }
    None
}

fn load_unicorn() -> Option<Uc> {
    let path = unicorn_path()?;
    let c = CString::new(path.to_str()?).ok()?;
    // SAFETY: dlopen of a library path; RTLD_NOW resolves everything up front.
    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW) };
    if h.is_null() {
        return None;
    }
    let sym = |name: &str| {
        let n = CString::new(name).unwrap();
        // SAFETY: dlsym on the handle we opened.
        let p = unsafe { libc::dlsym(h, n.as_ptr()) };
        assert!(!p.is_null(), "{name} missing from libunicorn");
        p
    };
    // SAFETY: each symbol is the Unicorn 2 function of that name, whose C signature the type
    // spells out (unicorn/unicorn.h).
    unsafe {
        Some(Uc {
            open: std::mem::transmute::<*mut c_void, UcOpen>(sym("uc_open")),
            close: std::mem::transmute::<*mut c_void, UcClose>(sym("uc_close")),
            mem_map: std::mem::transmute::<*mut c_void, UcMemMap>(sym("uc_mem_map")),
            mem_write: std::mem::transmute::<*mut c_void, UcMemWrite>(sym("uc_mem_write")),
            reg_write: std::mem::transmute::<*mut c_void, UcRegWrite>(sym("uc_reg_write")),
            reg_read: std::mem::transmute::<*mut c_void, UcRegRead>(sym("uc_reg_read")),
            start: std::mem::transmute::<*mut c_void, UcStart>(sym("uc_emu_start")),
            hook_add: std::mem::transmute::<*mut c_void, UcHookAdd>(sym("uc_hook_add")),
        })
    }
}

const UC_ARCH_X86: c_int = 4;
const UC_MODE_64: c_int = 8;
const UC_HOOK_CODE: c_int = 4;
const UC_HOOK_BLOCK: c_int = 8;
const UC_HOOK_MEM_WRITE: c_int = 2048;
const UC_X86_REG_RAX: c_int = 35;
const UC_X86_REG_RCX: c_int = 38;
const UC_X86_REG_RDI: c_int = 39;

extern "C" fn uc_code_cb(_: *mut c_void, _: u64, _: u32, user: *mut c_void) {
    // SAFETY: `user` is the counter passed to uc_hook_add, alive during the run.
    unsafe { *(user as *mut u64) += 1 };
}

extern "C" fn uc_mem_cb(
    _: *mut c_void,
    _: c_int,
    _: u64,
    _: c_int,
    _: i64,
    user: *mut c_void,
) -> bool {
    // SAFETY: as above.
    unsafe { *(user as *mut u64) += 1 };
    true
}

fn check(r: c_int, what: &str) {
    assert_eq!(r, 0, "unicorn {what} failed ({r})");
}

fn run_unicorn(uc: &Uc, case: Case, n: u64) -> (f64, u64) {
    let mut counter = 0u64;
    // SAFETY: the Unicorn C API used as documented; pointers are to live locals.
    unsafe {
        let mut h: *mut c_void = std::ptr::null_mut();
        check((uc.open)(UC_ARCH_X86, UC_MODE_64, &mut h), "open");
        check((uc.mem_map)(h, CODE, 0x1000, 5), "mem_map");
        check(
            (uc.mem_write)(h, CODE, CODE_BYTES.as_ptr().cast(), CODE_BYTES.len()),
            "write",
        );
        check((uc.mem_map)(h, DATA, 0x1000, 3), "mem_map");
        let mut hh = 0usize;
        let user = &mut counter as *mut u64 as *mut c_void;
        match case {
            Case::Block => check(
                (uc.hook_add)(
                    h,
                    &mut hh,
                    UC_HOOK_BLOCK,
                    uc_code_cb as *mut c_void,
                    user,
                    1,
                    0,
                ),
                "hook",
            ),
            Case::Code => check(
                (uc.hook_add)(
                    h,
                    &mut hh,
                    UC_HOOK_CODE,
                    uc_code_cb as *mut c_void,
                    user,
                    1,
                    0,
                ),
                "hook",
            ),
            Case::MemWrite => check(
                (uc.hook_add)(
                    h,
                    &mut hh,
                    UC_HOOK_MEM_WRITE,
                    uc_mem_cb as *mut c_void,
                    user,
                    1,
                    0,
                ),
                "hook",
            ),
            _ => {}
        }
        let data = DATA;
        check(
            (uc.reg_write)(h, UC_X86_REG_RCX, (&data as *const u64).cast()),
            "reg",
        );
        let zero = 0u64;
        check(
            (uc.reg_write)(h, UC_X86_REG_RAX, (&zero as *const u64).cast()),
            "reg",
        );
        let t0 = Instant::now();
        if case == Case::Starts {
            for _ in 0..n {
                check((uc.start)(h, SHORT, SHORT_END, 0, 0), "start");
            }
        } else {
            check(
                (uc.reg_write)(h, UC_X86_REG_RDI, (&n as *const u64).cast()),
                "reg",
            );
            check((uc.start)(h, CODE, LOOP_END, 0, 0), "start");
        }
        let dt = t0.elapsed().as_secs_f64();
        let mut rax = 0u64;
        check(
            (uc.reg_read)(h, UC_X86_REG_RAX, (&mut rax as *mut u64).cast()),
            "reg",
        );
        assert_eq!(rax, expected(case, n), "unicorn result");
        (uc.close)(h);
        (dt, counter)
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let Some(uc) = load_unicorn() else {
        eprintln!(
            "embed_unicorn: no libunicorn.so.2 (run scripts/setup.d/60-embed.sh or set XLAT_UNICORN_LIB)"
        );
        std::process::exit(1);
    };
    println!(
        "| case | xlat median ms | unicorn median ms | unicorn/xlat | hook calls (xlat = unicorn) |"
    );
    println!("|---|---:|---:|---:|---|");
    for (case, name, n) in CASES {
        let (mut xs, mut us) = (Vec::new(), Vec::new());
        let (mut xc, mut ucn) = (0, 0);
        for _ in 0..runs {
            let (t, c) = run_xlat(case, n);
            xs.push(t);
            xc = c;
            let (t, c) = run_unicorn(&uc, case, n);
            us.push(t);
            ucn = c;
        }
        let (x, u) = (median(&mut xs), median(&mut us));
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {xc} = {ucn}: {} |",
            x * 1e3,
            u * 1e3,
            u / x,
            if xc == ucn { "same" } else { "differ" }
        );
    }
}
