//! xlat's embedding API against Unicorn 2 on the same x86-64 guest code (issue 8):
//! no hooks, a block hook, a code hook, a memory-write hook, 10,000 short `start` calls, and
//! 10,000 snapshot restores of 64 MiB of RAM (below and above 2^39) with one page dirtied
//! before each, and 1,000 with
//! 256 pages read and one written before each.
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
/// `l: add rax, [rcx]; add rcx, 4096; dec rdi; jnz l; mov [rcx], rax`: reads `rdi` pages,
/// then writes the next one (GNU as encoding).
const READS_BYTES: [u8; 18] = [
    0x48, 0x03, 0x01, 0x48, 0x81, 0xc1, 0x00, 0x10, 0x00, 0x00, 0x48, 0xff, 0xcf, 0x75, 0xf1, 0x48,
    0x89, 0x01,
];
/// `l: mov [rcx], rax; add rcx, 4096; dec rdi; jnz l`: writes `rdi` pages (the encodings of
/// [`READS_BYTES`] with the store first).
const WRITES_BYTES: [u8; 15] = [
    0x48, 0x89, 0x01, 0x48, 0x81, 0xc1, 0x00, 0x10, 0x00, 0x00, 0x48, 0xff, 0xcf, 0x75, 0xf1,
];
/// Pages the write-heavy snapshot case writes per run.
const WRITE_PAGES: u64 = 64;
const WRITES: u64 = CODE + 0x200;
const WRITES_END: u64 = WRITES + 15;
/// Pages the read-heavy snapshot case reads per run.
const READ_PAGES: u64 = 256;
const CODE: u64 = 0x10000;
const READS: u64 = CODE + 0x100;
const READS_END: u64 = READS + 18;
const LOOP_END: u64 = CODE + 11;
const SHORT: u64 = LOOP_END;
const SHORT_END: u64 = CODE + 31;
const DATA: u64 = 0x20000;
/// [`Case::HighData`]'s data page.
const DATA_HIGH: u64 = 0x7fff_f000_0000;
/// The snapshot case's RAM.
const BIG_LOW: u64 = 0x1000_0000;
/// [`Case::SnapshotHigh`]'s RAM (above 2^39, an x86-64 stack-like address).
const BIG_HIGH: u64 = 0x7ff0_0000_0000;
const BIG_SIZE: u64 = 64 << 20;

/// Where a snapshot case's RAM is.
fn big(case: Case) -> u64 {
    if case == Case::SnapshotHigh {
        BIG_HIGH
    } else {
        BIG_LOW
    }
}

/// The page the snapshot case's `i`-th run writes (a different one each time).
fn dirty_addr(case: Case, i: u64) -> u64 {
    big(case) + (i * 7 * 4096 + 8 * (i % 512)) % BIG_SIZE
}

/// What each column runs.
#[derive(Clone, Copy, PartialEq)]
enum Case {
    NoHooks,
    /// The no-hooks loop storing to memory mapped at or above 2^39 (an x86-64 stack address).
    HighData,
    Block,
    Code,
    MemWrite,
    Starts,
    Snapshot,
    /// The same with the RAM at or above 2^39 (engine-owned memory in the high window).
    SnapshotHigh,
    /// The same with `XLAT_EMBED_SNAPSHOT_REMAP` (every region remapped per restore, the way
    /// before the dirty-page record); Unicorn runs the same as for `Snapshot`.
    SnapshotRemap,
    /// Runs that read 256 pages and write one, with restores (dirty-page record / remap all).
    SnapshotReads,
    SnapshotReadsRemap,
    /// Runs that write 64 pages, with restores (the cost of a first write to a page after a
    /// restore).
    SnapshotWrites,
}

const CASES: [(Case, &str, u64); 12] = [
    (Case::NoHooks, "no hooks (20M loop iterations)", 20_000_000),
    (
        Case::HighData,
        "no hooks, stores at 0x7fff_f000_0000 (above 2^39; 20M iterations)",
        20_000_000,
    ),
    (Case::Block, "block hook (2M iterations)", 2_000_000),
    (Case::Code, "code hook (1M iterations)", 1_000_000),
    (
        Case::MemWrite,
        "memory-write hook (2M iterations)",
        2_000_000,
    ),
    (Case::Starts, "10,000 short start calls (5 insns)", 10_000),
    (
        Case::Snapshot,
        "10,000 runs + snapshot restores (64 MiB RAM, 1 page dirtied per run)",
        10_000,
    ),
    (
        Case::SnapshotHigh,
        "10,000 runs + snapshot restores (64 MiB RAM at 0x7ff0_0000_0000, above 2^39, 1 page dirtied per run)",
        10_000,
    ),
    (
        Case::SnapshotRemap,
        "snapshot restores as above, xlat remapping all RAM each time (before the dirty-page record)",
        10_000,
    ),
    (
        Case::SnapshotReads,
        "1,000 runs reading 256 pages and writing 1 + snapshot restores (64 MiB RAM)",
        1_000,
    ),
    (
        Case::SnapshotReadsRemap,
        "snapshot restores as above (256 pages read), xlat remapping all RAM each time",
        1_000,
    ),
    (
        Case::SnapshotWrites,
        "1,000 runs writing 64 pages + snapshot restores (64 MiB RAM)",
        1_000,
    ),
];

fn is_snapshot(case: Case) -> bool {
    matches!(
        case,
        Case::Snapshot
            | Case::SnapshotHigh
            | Case::SnapshotRemap
            | Case::SnapshotReads
            | Case::SnapshotReadsRemap
            | Case::SnapshotWrites
    )
}

fn reads(case: Case) -> bool {
    matches!(case, Case::SnapshotReads | Case::SnapshotReadsRemap)
}

/// Where a snapshot case's `i`-th run starts, its `rcx` and `rdi`, and where it stops.
fn snapshot_run(case: Case, i: u64) -> (u64, u64, u64, u64) {
    if case == Case::SnapshotWrites {
        (WRITES, big(case), WRITE_PAGES, WRITES_END)
    } else if reads(case) {
        (READS, big(case), READ_PAGES, READS_END)
    } else {
        (CODE, dirty_addr(case, i), 1, LOOP_END)
    }
}

/// The address a snapshot case's `i`-th run writes.
fn written(case: Case, i: u64) -> u64 {
    if case == Case::SnapshotWrites {
        big(case) + (WRITE_PAGES - 1) * 4096
    } else if reads(case) {
        big(case) + READ_PAGES * 4096
    } else {
        dirty_addr(case, i)
    }
}

fn expected(case: Case, n: u64) -> u64 {
    match case {
        Case::Starts => n * 15,
        // restored to the snapshot's rax each time
        c if is_snapshot(c) => 0,
        _ => n * (n + 1) / 2,
    }
}

fn run_xlat(case: Case, n: u64) -> (f64, u64) {
    // SAFETY: the bench is single-threaded here; the variable is read by Engine::new.
    unsafe {
        if matches!(case, Case::SnapshotRemap | Case::SnapshotReadsRemap) {
            std::env::set_var("XLAT_EMBED_SNAPSHOT_REMAP", "1");
        } else {
            std::env::remove_var("XLAT_EMBED_SNAPSHOT_REMAP");
        }
    }
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
    if case == Case::HighData {
        e.mem_map(DATA_HIGH, 0x1000, Perm::READ | Perm::WRITE)
            .unwrap();
        e.reg_write(X86Reg::Rcx, DATA_HIGH).unwrap();
    }
    if is_snapshot(case) {
        e.mem_write(READS, &READS_BYTES).unwrap();
        e.mem_write(WRITES, &WRITES_BYTES).unwrap();
        e.mem_map(big(case), BIG_SIZE, Perm::READ | Perm::WRITE)
            .unwrap();
        for k in 0..READ_PAGES * u64::from(reads(case)) {
            e.mem_write(big(case) + k * 4096, &1u64.to_le_bytes())
                .unwrap();
        }
        let snap = e.snapshot().unwrap();
        let t0 = Instant::now();
        for i in 0..n {
            // writes rax (1, or the 256 pages read) to a page
            let (begin, rcx, rdi, until) = snapshot_run(case, i);
            e.reg_write(X86Reg::Rcx, rcx).unwrap();
            e.reg_write(X86Reg::Rdi, rdi).unwrap();
            e.start(begin, until, None, 0).unwrap();
            e.snapshot_restore(&snap).unwrap();
        }
        let dt = t0.elapsed().as_secs_f64();
        for i in [0, n / 2, n - 1] {
            let mut b = [0xffu8; 8];
            e.mem_read(written(case, i), &mut b).unwrap();
            assert_eq!(b, [0; 8], "xlat: page {i} restored");
        }
        assert_eq!(e.reg_read(X86Reg::Rax).unwrap(), expected(case, n));
        return (dt, 0);
    }
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
type UcMemRead = unsafe extern "C" fn(*mut c_void, u64, *mut c_void, usize) -> c_int;
type UcCtl = unsafe extern "C" fn(*mut c_void, c_int, ...) -> c_int;
type UcContextAlloc = unsafe extern "C" fn(*mut c_void, *mut *mut c_void) -> c_int;
type UcContext = unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;
type UcContextFree = unsafe extern "C" fn(*mut c_void) -> c_int;
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
    mem_read: UcMemRead,
    ctl: UcCtl,
    context_alloc: UcContextAlloc,
    context_save: UcContext,
    context_restore: UcContext,
    context_free: UcContextFree,
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
            mem_read: std::mem::transmute::<*mut c_void, UcMemRead>(sym("uc_mem_read")),
            ctl: std::mem::transmute::<*mut c_void, UcCtl>(sym("uc_ctl")),
            context_alloc: std::mem::transmute::<*mut c_void, UcContextAlloc>(sym(
                "uc_context_alloc",
            )),
            context_save: std::mem::transmute::<*mut c_void, UcContext>(sym("uc_context_save")),
            context_restore: std::mem::transmute::<*mut c_void, UcContext>(sym(
                "uc_context_restore",
            )),
            context_free: std::mem::transmute::<*mut c_void, UcContextFree>(sym("uc_context_free")),
        })
    }
}

const UC_ARCH_X86: c_int = 4;
const UC_MODE_64: c_int = 8;
const UC_HOOK_CODE: c_int = 4;
const UC_HOOK_BLOCK: c_int = 8;
const UC_HOOK_MEM_WRITE: c_int = 2048;
/// `UC_CTL_WRITE(UC_CTL_CONTEXT_MODE, 1)`: `type | nr << 26 | UC_CTL_IO_WRITE << 30`.
const UC_CTL_CONTEXT_MODE_WRITE: c_int = 14 | (1 << 26) | (1 << 30);
/// `UC_CTL_CONTEXT_CPU | UC_CTL_CONTEXT_MEMORY`: contexts snapshot memory too.
const UC_CTX_CPU_AND_MEMORY: c_int = 3;
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
        let data = if case == Case::HighData {
            check((uc.mem_map)(h, DATA_HIGH, 0x1000, 3), "mem_map");
            DATA_HIGH
        } else {
            DATA
        };
        check(
            (uc.reg_write)(h, UC_X86_REG_RCX, (&data as *const u64).cast()),
            "reg",
        );
        let zero = 0u64;
        check(
            (uc.reg_write)(h, UC_X86_REG_RAX, (&zero as *const u64).cast()),
            "reg",
        );
        if is_snapshot(case) {
            check(
                (uc.mem_write)(h, READS, READS_BYTES.as_ptr().cast(), READS_BYTES.len()),
                "write",
            );
            check(
                (uc.mem_write)(h, WRITES, WRITES_BYTES.as_ptr().cast(), WRITES_BYTES.len()),
                "write",
            );
            check((uc.mem_map)(h, big(case), BIG_SIZE as usize, 3), "mem_map");
            for k in 0..READ_PAGES * u64::from(reads(case)) {
                let one = 1u64;
                check(
                    (uc.mem_write)(h, big(case) + k * 4096, (&one as *const u64).cast(), 8),
                    "write",
                );
            }
            check(
                (uc.ctl)(h, UC_CTL_CONTEXT_MODE_WRITE, UC_CTX_CPU_AND_MEMORY),
                "ctl context mode",
            );
            let mut ctx: *mut c_void = std::ptr::null_mut();
            check((uc.context_alloc)(h, &mut ctx), "context_alloc");
            check((uc.context_save)(h, ctx), "context_save");
            let t0 = Instant::now();
            for i in 0..n {
                let (begin, rcx, rdi, until) = snapshot_run(case, i);
                check(
                    (uc.reg_write)(h, UC_X86_REG_RCX, (&rcx as *const u64).cast()),
                    "reg",
                );
                check(
                    (uc.reg_write)(h, UC_X86_REG_RDI, (&rdi as *const u64).cast()),
                    "reg",
                );
                check((uc.start)(h, begin, until, 0, 0), "start");
                check((uc.context_restore)(h, ctx), "context_restore");
            }
            let dt = t0.elapsed().as_secs_f64();
            for i in [0, n / 2, n - 1] {
                let mut b = [0xffu8; 8];
                check(
                    (uc.mem_read)(h, written(case, i), b.as_mut_ptr().cast(), 8),
                    "mem_read",
                );
                assert_eq!(b, [0; 8], "unicorn: page {i} restored");
            }
            let mut rax = 1u64;
            check(
                (uc.reg_read)(h, UC_X86_REG_RAX, (&mut rax as *mut u64).cast()),
                "reg",
            );
            assert_eq!(rax, expected(case, n), "unicorn result");
            (uc.context_free)(ctx);
            (uc.close)(h);
            return (dt, 0);
        }
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
    // An optional second argument keeps the cases whose name contains it.
    let only = std::env::args().nth(2).unwrap_or_default();
    // `EMBED_BENCH_XLAT_ONLY=1`: xlat's runs only (to profile it), the Unicorn columns 0.
    let xlat_only = std::env::var_os("EMBED_BENCH_XLAT_ONLY").is_some();
    for (case, name, n) in CASES.into_iter().filter(|c| c.1.contains(only.as_str())) {
        let (mut xs, mut us) = (Vec::new(), Vec::new());
        let (mut xc, mut ucn) = (0, 0);
        for _ in 0..runs {
            let (t, c) = run_xlat(case, n);
            xs.push(t);
            xc = c;
            if xlat_only {
                continue;
            }
            let (t, c) = run_unicorn(&uc, case, n);
            us.push(t);
            ucn = c;
        }
        let (x, u) = (
            median(&mut xs),
            if xlat_only { 0.0 } else { median(&mut us) },
        );
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {xc} = {ucn}: {} |",
            x * 1e3,
            u * 1e3,
            u / x,
            if xc == ucn { "same" } else { "differ" }
        );
    }
}
