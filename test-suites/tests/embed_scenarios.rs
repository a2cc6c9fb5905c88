//! The common embedding scenarios (issue 8) on every frontend: guest code is assembled by the
//! installed cross assemblers; expected values come from arithmetic on the programs' meaning.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use xlat::embed::{
    Arch, Arm64Reg, Engine, Error, Insn, MemHookKind, Mode, Perm, Reg, RiscvReg, X86Reg,
};

const CODE: u64 = 0x10000;
const STACK: u64 = 0x80000;
const DATA: u64 = 0x300000;
const LAZY: u64 = 0x400000;
/// A return address nothing is mapped at: `start` stops when the pc gets there.
const END: u64 = 0xdead_0000;

/// Per-arch register roles.
struct Abi {
    arch: Arch,
    arg: Reg,
    ret: Reg,
    nr: Reg,
}

fn abi(arch: Arch) -> Abi {
    match arch {
        Arch::Riscv64 => Abi {
            arch,
            arg: RiscvReg::X(10).into(),
            ret: RiscvReg::X(10).into(),
            nr: RiscvReg::X(17).into(),
        },
        Arch::Aarch64 => Abi {
            arch,
            arg: Arm64Reg::X(0).into(),
            ret: Arm64Reg::X(0).into(),
            nr: Arm64Reg::X(8).into(),
        },
        Arch::X86_64 => Abi {
            arch,
            arg: X86Reg::Rdi.into(),
            ret: X86Reg::Rax.into(),
            nr: X86Reg::Rax.into(),
        },
    }
}

/// The test programs, one per scenario, in each arch's assembly.
fn source(arch: Arch) -> &'static str {
    match arch {
        Arch::Riscv64 => {
            r#"
            .option norvc
            sum:  li a1, 0
            loop: add a1, a1, a0
                  addi a0, a0, -1
                  bnez a0, loop
                  mv a0, a1
                  ret
            sys:  li a7, 93
                  li a0, 5
                  ecall
                  addi a0, a0, 1
                  ret
            lazy: li t0, 0x400000
                  ld a0, 8(t0)
                  addi a0, a0, 1
                  ret
            spin: addi a0, a0, 1
                  j spin
            bump: li t0, 0x300000
                  ld a0, 0(t0)
                  addi a0, a0, 1
                  sd a0, 0(t0)
                  sd a0, 8(t0)
                  ret
            mmio: li t0, 0x500000
                  lw a0, 16(t0)
                  sw a0, 4(t0)
                  ret
            atom: li t0, 0x300000
                  li t1, 5
                  amoadd.d a1, t1, (t0)
                  lr.d a2, (t0)
                  addi a2, a2, 1
                  sc.d a3, a2, (t0)
                  addi t2, t0, 8
                  li t3, 100
                  amoswap.w a4, t3, (t2)
                  add a0, a1, a3
                  ret
            far:  ld a0, 0(a1)
                  ret
            poke: sd a0, 0(a1)
                  ret
            bkpt: ebreak
                  li a0, 7
                  ret
            badi: .word 0
                  li a0, 8
                  ret
            wro:  li t0, 0x300000
                  li a1, 9
                  sd a1, 0(t0)
                  ld a0, 0(t0)
                  ret
            natom: li t0, 0x300000
                  addi t1, t0, 8
                  sc.w t2, a0, (t1)
                  lr.w t3, (t1)
                  li a1, 0x55
                  sc.w t2, a1, (t1)
                  ret
            "#
        }
        Arch::Aarch64 => {
            r#"
            .arch armv8.1-a
            sum:  mov x1, #0
            loop: add x1, x1, x0
                  subs x0, x0, #1
                  b.ne loop
                  mov x0, x1
                  ret
            sys:  mov x8, #93
                  mov x0, #5
                  svc #0
                  add x0, x0, #1
                  ret
            lazy: mov x1, #0x400000
                  ldr x0, [x1, #8]
                  add x0, x0, #1
                  ret
            spin: add x0, x0, #1
                  b spin
            bump: mov x1, #0x300000
                  ldr x0, [x1]
                  add x0, x0, #1
                  str x0, [x1]
                  str x0, [x1, #8]
                  ret
            mmio: mov x1, #0x500000
                  ldr w0, [x1, #16]
                  str w0, [x1, #4]
                  ret
            atom: mov x1, #0x300000
                  mov x2, #5
                  ldadd x2, x3, [x1]
                  ldxr x4, [x1]
                  add x4, x4, #1
                  stxr w5, x4, [x1]
                  add x7, x1, #8
                  mov w6, #100
                  swp w6, w8, [x7]
                  add x0, x3, x5
                  ret
            far:  ldr x0, [x1]
                  ret
            poke: str x0, [x1]
                  ret
            pair: ldp x0, x3, [x1]
                  ret
            bkpt: brk #0
                  mov x0, #7
                  ret
            badi: udf #0
                  mov x0, #8
                  ret
            wro:  mov x1, #0x300000
                  mov x2, #9
                  str x2, [x1]
                  ldr x0, [x1]
                  ret
            natom: mov x1, #0x300000
                  add x2, x1, #1
                  mov w3, #3
                  ldaddb w3, w4, [x2]
                  add x2, x1, #6
                  mov w3, #0x1234
                  swph w3, w4, [x2]
                  add x2, x1, #2
                  mov w5, #9
                  mov w6, #0x55
                  casb w5, w6, [x2]
                  add x2, x1, #3
                  mov w5, #9
                  casb w5, w6, [x2]
                  add x2, x1, #8
                  mov w5, #1
                  cas w5, w6, [x2]
                  stxrb w7, w6, [x1]
                  ldxrb w8, [x1]
                  stxrb w7, w6, [x1]
                  ret
            "#
        }
        Arch::X86_64 => {
            r#"
            .intel_syntax noprefix
            sum:  xor eax, eax
            loop: add rax, rdi
                  dec rdi
                  jnz loop
                  ret
            sys:  mov eax, 93
                  mov edi, 5
                  syscall
                  add rax, 1
                  ret
            lazy: mov ecx, 0x400000
                  mov rax, [rcx + 8]
                  add rax, 1
                  ret
            spin: add rax, 1
                  jmp spin
            bump: mov ecx, 0x300000
                  mov rax, [rcx]
                  add rax, 1
                  mov [rcx], rax
                  mov [rcx + 8], rax
                  ret
            mmio: mov ecx, 0x500000
                  mov eax, [rcx + 16]
                  mov [rcx + 4], eax
                  ret
            pio:  mov eax, edi
                  out 0x80, al
                  mov dx, 0x3f8
                  out dx, ax
                  out dx, eax
                  mov rax, -1
                  in al, 0x71
                  shl rax, 8
                  in ax, dx
                  mov rcx, rax
                  in eax, dx
                  add rax, rcx
                  ret
            souts: rep outsb
                  ret
            sins: insw
                  std
                  rep insd
                  cld
                  ret
            atom: mov ecx, 0x300000
                  mov eax, 5
                  lock xadd [rcx], rax
                  mov r8, rax
                  mov eax, 46
                  mov edx, 47
                  lock cmpxchg [rcx], rdx
                  mov edx, 100
                  xchg [rcx + 8], edx
                  lock add dword ptr [rcx + 8], 5
                  mov rax, r8
                  ret
            far:  mov rax, [rsi]
                  ret
            poke: mov [rsi], rdi
                  ret
            pair: fld tbyte ptr [rsi]
                  ret
            bkpt: int3
                  mov eax, 7
                  ret
            badi: ud2
                  mov eax, 8
                  ret
            wro:  mov ecx, 0x300000
                  mov qword ptr [rcx], 9
                  mov rax, [rcx]
                  ret
            natom: mov ecx, 0x300000
                  mov al, 3
                  lock xadd [rcx + 1], al
                  mov dx, 0x1234
                  xchg [rcx + 6], dx
                  mov eax, 9
                  mov dl, 0x55
                  lock cmpxchg [rcx + 2], dl
                  mov al, 9
                  lock cmpxchg [rcx + 3], dl
                  mov eax, 1
                  lock cmpxchg [rcx + 8], edx
                  ret
            "#
        }
    }
}

/// Assembled code and its symbols (offsets from the start).
struct Prog {
    code: Vec<u8>,
    syms: HashMap<String, u64>,
}

fn tool(arch: Arch, t: &str) -> String {
    match arch {
        Arch::Riscv64 => format!("riscv64-linux-gnu-{t}"),
        Arch::Aarch64 => format!("aarch64-linux-gnu-{t}"),
        Arch::X86_64 => t.to_string(),
    }
}

fn assemble(arch: Arch) -> Prog {
    assemble_src(arch, source(arch))
}

fn assemble_src(arch: Arch, src: &str) -> Prog {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "xlat-embed-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (s, o, b) = (dir.join("p.s"), dir.join("p.o"), dir.join("p.bin"));
    std::fs::write(&s, src).unwrap();
    let run = |c: &mut Command| {
        let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert!(
            out.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(Command::new(tool(arch, "as")).arg("-o").arg(&o).arg(&s));
    run(Command::new(tool(arch, "objcopy"))
        .args(["-O", "binary", "-j", ".text"])
        .arg(&o)
        .arg(&b));
    let nm = run(Command::new(tool(arch, "nm")).arg(&o));
    let syms = String::from_utf8_lossy(&nm)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3).then(|| (f[2].to_string(), u64::from_str_radix(f[0], 16).unwrap()))
        })
        .collect();
    let code = std::fs::read(&b).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Prog { code, syms }
}

struct T {
    e: Engine,
    p: Prog,
    a: Abi,
    code: u64,
    stack: u64,
}

impl T {
    fn new(arch: Arch) -> T {
        T::new_at(arch, CODE, STACK)
    }

    /// The programs at `code`, a 64 KiB stack below `stack`.
    fn new_at(arch: Arch, code: u64, stack: u64) -> T {
        let p = assemble(arch);
        let mut e = Engine::new(arch, Mode::Mode64).unwrap();
        e.mem_map(code, 0x10000, Perm::READ | Perm::EXEC).unwrap();
        e.mem_write(code, &p.code).unwrap();
        e.mem_map(stack - 0x10000, 0x10000, Perm::READ | Perm::WRITE)
            .unwrap();
        T {
            e,
            p,
            a: abi(arch),
            code,
            stack,
        }
    }

    fn at(&self, sym: &str) -> u64 {
        self.code + self.p.syms[sym]
    }

    /// Calls the function at `sym` with `arg`; returns its result.
    fn call(&mut self, sym: &str, arg: u64) -> Result<u64, Error> {
        self.call_with(sym, arg, None, 0)
    }

    fn call_with(
        &mut self,
        sym: &str,
        arg: u64,
        timeout: Option<Duration>,
        count: u64,
    ) -> Result<u64, Error> {
        let begin = self.at(sym);
        let stack = self.stack;
        let e = &mut self.e;
        e.reg_write(self.a.ret, 0)?;
        e.reg_write(self.a.arg, arg)?;
        match self.a.arch {
            Arch::Riscv64 => {
                e.reg_write(RiscvReg::X(1), END)?;
                e.reg_write(RiscvReg::X(2), stack)?;
            }
            Arch::Aarch64 => {
                e.reg_write(Arm64Reg::X(30), END)?;
                e.reg_write(Arm64Reg::Sp, stack)?;
            }
            Arch::X86_64 => {
                e.mem_write(stack - 8, &END.to_le_bytes())?;
                e.reg_write(X86Reg::Rsp, stack - 8)?;
            }
        }
        e.start(begin, END, timeout, count)?;
        e.reg_read(self.a.ret)
    }
}

fn emulate_a_function(arch: Arch) {
    let mut t = T::new(arch);
    for n in [1u64, 10, 1000, 100_000] {
        assert_eq!(t.call("sum", n).unwrap(), n * (n + 1) / 2, "sum({n})");
    }
}

fn count_blocks(arch: Arch) {
    let mut t = T::new(arch);
    // Run once without hooks so the code is translated (and compiled: it is hot) before
    // the hook exists: the hook must still fire.
    t.call("sum", 200).unwrap();
    let blocks = Arc::new(AtomicU64::new(0));
    let b = blocks.clone();
    let (lo, hi) = (t.at("sum"), t.at("sys") - 1);
    let id = t.e.hook_add_block(lo, hi, move |_, _, _| {
        b.fetch_add(1, Ordering::Relaxed);
    });
    let n = 300;
    t.call("sum", n).unwrap();
    // Entry block, the loop block taken n - 1 more times, the return block.
    assert_eq!(blocks.load(Ordering::Relaxed), n + 1);
    t.e.hook_del(id).unwrap();
    t.call("sum", n).unwrap();
    assert_eq!(blocks.load(Ordering::Relaxed), n + 1, "removed hook fired");
}

fn hook_syscalls(arch: Arch) {
    let mut t = T::new(arch);
    assert!(t.call("sys", 0).is_err(), "an unhandled syscall stops");
    let (nr, arg, ret) = (t.a.nr, t.a.arg, t.a.ret);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let sys_pc = t.at("sys");
    t.e.hook_add_insn(Insn::Syscall, move |v| {
        let (n, a) = (v.reg_read(nr).unwrap(), v.reg_read(arg).unwrap());
        s.lock()
            .unwrap()
            .push(v.reg_read(RegPc::of(nr)).unwrap() - sys_pc);
        v.reg_write(ret, a * 10 + n).unwrap();
    });
    assert_eq!(t.call("sys", 0).unwrap(), 5 * 10 + 93 + 1);
    let off = seen.lock().unwrap().clone();
    assert_eq!(off.len(), 1);
    assert!(off[0] == 8 || off[0] == 10, "syscall at offset {}", off[0]);
}

/// The pc register of the arch a register belongs to.
struct RegPc;
impl RegPc {
    fn of(r: Reg) -> Reg {
        match r {
            Reg::Riscv(_) => RiscvReg::Pc.into(),
            Reg::Arm64(_) => Arm64Reg::Pc.into(),
            Reg::X86(_) => X86Reg::Rip.into(),
        }
    }
}

/// The accesses (kind, offset from `DATA`, size, value) that [`log_data`]'s hook saw.
type Log = Arc<Mutex<Vec<(MemHookKind, u64, usize, i64)>>>;

/// Adds a memory hook on `kinds` of accesses to `begin..=end` that logs each relative to
/// `DATA`; returns the log.
fn log_data(e: &mut Engine, kinds: MemHookKind, begin: u64, end: u64) -> Log {
    let log = Log::default();
    let l = log.clone();
    e.hook_add_mem(kinds, begin, end, move |_, kind, addr, size, value| {
        l.lock().unwrap().push((kind, addr - DATA, size, value));
        true
    });
    log
}

/// The unmapped accesses (kind, address, size) that [`unmapped_hook`]'s hook saw.
type Faults = Arc<Mutex<Vec<(MemHookKind, u64, usize)>>>;

/// Adds a hook on unmapped accesses that records each; with `map_1234`, it maps the page
/// read-write, stores 1234 at the faulting address and retries the access, else lets it
/// fault. Returns what it saw.
fn unmapped_hook(e: &mut Engine, map_1234: bool) -> Faults {
    let faults = Faults::default();
    let f = faults.clone();
    e.hook_add_mem(
        MemHookKind::UNMAPPED,
        1,
        0,
        move |v, kind, addr, size, _| {
            f.lock().unwrap().push((kind, addr, size));
            if map_1234 {
                v.mem_map(addr & !0xfff, 0x1000, Perm::READ | Perm::WRITE)
                    .unwrap();
                v.mem_write(addr, &1234u64.to_le_bytes()).unwrap();
            }
            map_1234
        },
    );
    faults
}

fn map_on_demand(arch: Arch) {
    // Twice: loads compiled inline (the fault comes from the host), then through the memory
    // helpers (a read hook is installed); the fault hook sees the load's size (8) both ways.
    for helpers in [false, true] {
        let mut t = T::new(arch);
        assert_eq!(t.call("lazy", 0), Err(Error::ReadUnmapped(LAZY + 8)));
        if helpers {
            t.e.hook_add_mem(MemHookKind::READ, 1, 0, |_, _, _, _, _| true);
        }
        let faults = unmapped_hook(&mut t.e, true);
        assert_eq!(t.call("lazy", 0).unwrap(), 1235);
        assert_eq!(
            *faults.lock().unwrap(),
            vec![(MemHookKind::READ_UNMAPPED, LAZY + 8, 8)],
            "helpers: {helpers}"
        );
    }
}

fn stop_after_n(arch: Arch) {
    let mut t = T::new(arch);
    for count in [1u64, 2, 1001, 20_000] {
        // spin alternates an add and a jump: (count + 1) / 2 adds run.
        assert_eq!(
            t.call_with("spin", 0, None, count).unwrap(),
            count.div_ceil(2),
            "count {count}"
        );
        let pc = t.e.reg_read(RegPc::of(t.a.ret)).unwrap();
        let spin = t.at("spin");
        // x86's `add rax, 1` is 4 bytes long, as each riscv and aarch64 instruction.
        let next = if count % 2 == 0 { spin } else { spin + 4 };
        assert_eq!(pc, next, "pc after {count} instructions");
    }
    // A later start without a count runs to the end.
    assert_eq!(t.call("sum", 10).unwrap(), 55);
}

fn stop_on_timeout(arch: Arch) {
    let mut t = T::new(arch);
    let t0 = Instant::now();
    let r = t
        .call_with("spin", 0, Some(Duration::from_millis(50)), 0)
        .unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(50));
    assert!(r > 1000, "the loop ran ({r})");
    // And from another thread.
    let h = t.e.stop_handle();
    let th = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        h.stop();
    });
    let r = t.call("spin", 0).unwrap();
    th.join().unwrap();
    assert!(r > 1000);
}

fn snapshot_loop(arch: Arch) {
    let mut t = T::new(arch);
    t.e.mem_map(DATA, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    t.e.mem_write(DATA, &7u64.to_le_bytes()).unwrap();
    let snap = t.e.snapshot().unwrap();
    for i in 0..10_000u64 {
        t.e.snapshot_restore(&snap).unwrap();
        if i % 1000 == 7 {
            // Memory mapped after the snapshot goes away on restore.
            t.e.mem_map(LAZY, 0x1000, Perm::READ).unwrap();
        }
        assert_eq!(t.call("bump", 0).unwrap(), 8, "iteration {i}");
    }
    let mut b = [0u8; 16];
    t.e.mem_read(DATA, &mut b).unwrap();
    assert_eq!(b, [8, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
    t.e.snapshot_restore(&snap).unwrap();
    t.e.mem_read(DATA, &mut b).unwrap();
    assert_eq!(b[..9], [7, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(t.e.mem_regions().iter().all(|r| r.begin != LAZY));
}

fn snapshot_loop_high(arch: Arch) {
    // The snapshot loop with code, stack and data at or above 2^39 (the high window and
    // memory outside it): each restore undoes a write by the API and the guest's stack
    // writes, and memory mapped after the snapshot goes.
    let (code, stack) = high_layout(arch);
    let mut t = T::new_at(arch, code, stack);
    let ptr = ptr_reg(arch);
    let (data, lazy) = (code + 0x20_0000, code + 0x30_0000);
    t.e.mem_map(data, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    t.e.mem_write(data, &7u64.to_le_bytes()).unwrap();
    let mut st = [0u8; 8];
    t.e.mem_read(stack - 0x100, &mut st).unwrap();
    let snap = t.e.snapshot().unwrap();
    for i in 0..10_000u64 {
        t.e.snapshot_restore(&snap).unwrap();
        let mut b = [0u8; 8];
        t.e.mem_read(stack - 0x100, &mut b).unwrap();
        assert_eq!(b, st, "iteration {i}: the stack");
        if i % 1000 == 7 {
            t.e.mem_map(lazy, 0x1000, Perm::READ).unwrap();
        }
        t.e.reg_write(ptr, data).unwrap();
        assert_eq!(t.call("far", 0).unwrap(), 7, "iteration {i}");
        t.e.mem_write(data, &(i + 8).to_le_bytes()).unwrap();
        t.e.mem_write(stack - 0x100, &i.to_le_bytes()).unwrap();
        t.e.reg_write(ptr, data).unwrap();
        assert_eq!(t.call("far", 0).unwrap(), i + 8, "iteration {i}");
    }
    t.e.snapshot_restore(&snap).unwrap();
    assert!(t.e.mem_regions().iter().all(|r| r.begin != lazy));
    assert_eq!(t.call("sum", 100).unwrap(), 5050);
}

fn snapshot_high_dirty_pages(arch: Arch) {
    // Restores of a 64 MiB mapping at or above 2^39 put back exactly the pages written since
    // (by guest stores, compiled once hot, by the API, and by a hook through the API), counted
    // by `restore_stats`, not the whole mapping; a read-only page written by the API is put back
    // too, above and below 2^39; a layout change in between falls back to copying everything.
    let (code, stack) = high_layout(arch);
    let mut t = T::new_at(arch, code, stack);
    let ptr = ptr_reg(arch);
    let (data, size) = (code + 0x100_0000, 64u64 << 20);
    t.e.mem_map(data, size, Perm::READ | Perm::WRITE).unwrap();
    let ro = code + 0x20_0000;
    t.e.mem_map(ro, 0x1000, Perm::READ).unwrap();
    t.e.mem_write(ro, b"read-only").unwrap();
    t.e.mem_map(0x70_0000, 0x1000, Perm::READ).unwrap();
    t.e.mem_write(0x70_0000, b"low read-only").unwrap();
    let page = |k: u64| data + k * 0x1000 + 8 * (k % 500);
    for k in [0u64, 1, 77, 16383] {
        t.e.mem_write(page(k), &(k + 1000).to_le_bytes()).unwrap();
    }
    let snap = t.e.snapshot().unwrap();
    let base = t.e.restore_stats();
    let read = |t: &mut T, a: u64| {
        let mut b = [0u8; 8];
        t.e.mem_read(a, &mut b).unwrap();
        u64::from_le_bytes(b)
    };
    for round in 0..300u64 {
        // Guest stores to `n` distinct pages (the same routine each round: compiled when hot).
        let n = 1 + round % 5;
        for j in 0..n {
            let k = (round * 7 + j * 1031) % 16384;
            t.e.reg_write(ptr, page(k)).unwrap();
            t.call("poke", 0xdead_0000 + round).unwrap();
        }
        // The API, on a read-only page above and below 2^39, and a page already written.
        t.e.mem_write(ro, b"scribbled").unwrap();
        t.e.mem_write(0x70_0000, b"scribbled").unwrap();
        t.e.mem_write(page(77), &[0xee; 8]).unwrap();
        t.e.snapshot_restore(&snap).unwrap();
        let st = t.e.restore_stats();
        assert!(!st.remapped, "round {round}: {st:?}");
        // Pages put back: the guest's (one of them may be page 77 too), the two read-only
        // pages, page 77, the stack page the calls wrote (x86 pushes the return address).
        assert!(
            st.pages >= n + 2 && st.pages <= n + 5,
            "round {round}: {n} pages stored, {st:?}"
        );
        // Bytes copied: those pages only (the stack is in a window too: its pages written).
        assert!(st.copied <= 8 << 12, "round {round}: {st:?}");
        for k in [0u64, 1, 77, 16383] {
            assert_eq!(read(&mut t, page(k)), k + 1000, "round {round}, page {k}");
        }
        for j in 0..n {
            let k = (round * 7 + j * 1031) % 16384;
            let want = if [0, 1, 77, 16383].contains(&k) {
                k + 1000
            } else {
                0
            };
            assert_eq!(read(&mut t, page(k)), want, "round {round}, page {k}");
        }
        let mut b = [0u8; 9];
        t.e.mem_read(ro, &mut b).unwrap();
        assert_eq!(&b, b"read-only", "round {round}");
        let mut b = [0u8; 13];
        t.e.mem_read(0x70_0000, &mut b).unwrap();
        assert_eq!(&b, b"low read-only", "round {round}");
    }
    // The page stays protected for the guest after all this: a store to the read-only page
    // still faults.
    t.e.reg_write(ptr, ro).unwrap();
    assert!(t.call("poke", 1).is_err());
    // A hook writing through the API is recorded as well.
    let hook_page = page(4000);
    let id = t.e.hook_add_block(1, 0, move |v, _, _| {
        let _ = v.mem_write(hook_page, &[0x5a; 8]);
    });
    assert_eq!(t.call("sum", 3).unwrap(), 6);
    t.e.hook_del(id).unwrap();
    assert_eq!(read(&mut t, hook_page), 0x5a5a_5a5a_5a5a_5a5a);
    t.e.snapshot_restore(&snap).unwrap();
    assert_eq!(read(&mut t, hook_page), 0);
    // After a layout change everything is copied again, and the next restore is cheap again.
    t.e.mem_protect(data, 0x1000, Perm::READ).unwrap();
    t.e.snapshot_restore(&snap).unwrap();
    let full = t.e.restore_stats();
    assert!(full.remapped && full.copied >= size, "{full:?}");
    t.e.reg_write(ptr, page(1)).unwrap();
    t.call("poke", 5).unwrap();
    assert_eq!(read(&mut t, page(1)), 5);
    t.e.snapshot_restore(&snap).unwrap();
    assert_eq!(read(&mut t, page(1)), 1001);
    let again = t.e.restore_stats();
    assert!(
        !again.remapped && again.copied <= 8 << 12,
        "{again:?} (first: {base:?})"
    );
}

fn high_windows_inline(arch: Arch) {
    // RAM above 2^39 under two tags (x86-64: code in the kernel half, the stack at the top of
    // the user half) is reached inline by translated code in both windows: no access through
    // the memory helpers once warm; RAM under a third tag goes through the helpers, and
    // reads right.
    let (code, stack) = high_layout(arch);
    let mut t = T::new_at(arch, code, stack);
    let ptr = ptr_reg(arch);
    let data = stack - 0x8000;
    t.e.mem_write(data, &77u64.to_le_bytes()).unwrap();
    let (a, b) = (0x4000_0001_0000u64, 0x5000_0001_0000u64);
    for (at, v) in [(a, 88u64), (b, 99)] {
        t.e.mem_map(at, 0x1000, Perm::READ | Perm::WRITE).unwrap();
        t.e.mem_write(at, &v.to_le_bytes()).unwrap();
    }
    let far = |t: &mut T, at: u64| {
        t.e.reg_write(ptr, at).unwrap();
        t.call("far", 0).unwrap()
    };
    let windows: Vec<u64> = if arch == Arch::Aarch64 {
        vec![data, a] // the code's and stack's tag, then `a`'s; `b` is a third
    } else {
        vec![data] // the code's tag, the stack's; `a` and `b` are third and fourth
    };
    for &at in &windows {
        for _ in 0..200 {
            far(&mut t, at);
        }
        let before = t.e.helper_accesses();
        for _ in 0..1000 {
            assert_eq!(far(&mut t, at), if at == data { 77 } else { 88 });
        }
        let n = t.e.helper_accesses() - before;
        assert_eq!(n, 0, "{at:#x}: inline in a window ({n} helper accesses)");
    }
    let before = t.e.helper_accesses();
    for _ in 0..100 {
        assert_eq!(far(&mut t, b), 99);
    }
    assert!(
        t.e.helper_accesses() >= before + 100,
        "a third tag goes through the helpers"
    );
    assert_eq!(t.call("sum", 100).unwrap(), 5050);
}

fn snapshot_dirty_pages(arch: Arch) {
    // Restores with the dirty-page record: guest stores (inline, then through the memory
    // helpers once a caller-owned region exists) and API writes to varying pages are undone,
    // pages only read keep their contents, a permission change in between is undone too, and
    // caller-owned memory is copied back.
    for helpers in [false, true] {
        let mut t = T::new(arch);
        let pages = 16u64;
        t.e.mem_map(DATA, pages * 0x1000, Perm::READ | Perm::WRITE)
            .unwrap();
        let fill = |k: u64| vec![k as u8 + 1; 0x1000];
        for k in 0..pages {
            t.e.mem_write(DATA + k * 0x1000, &fill(k)).unwrap();
        }
        let mut host = vec![0u8; 0x1000];
        if helpers {
            host[..4].copy_from_slice(b"host");
            // SAFETY: `host` outlives the engine (dropped at the end of this iteration, after
            // `t`) and nothing else touches it meanwhile.
            unsafe {
                t.e.mem_map_ptr(
                    0x600000,
                    0x1000,
                    Perm::READ | Perm::WRITE,
                    host.as_mut_ptr(),
                )
                .unwrap()
            };
        }
        let snap = t.e.snapshot().unwrap();
        let check = |t: &T, what: &str| {
            for k in 0..pages {
                let mut b = vec![0u8; 0x1000];
                t.e.mem_read(DATA + k * 0x1000, &mut b).unwrap();
                assert!(b == fill(k), "{what}: page {k}, helpers: {helpers}");
            }
            if helpers {
                let mut b = [0u8; 4];
                t.e.mem_read(0x600000, &mut b).unwrap();
                assert_eq!(&b, b"host", "{what}: caller-owned memory");
            }
        };
        for i in 0..300u64 {
            // bump: loads DATA (a byte 1 repeated), stores it + 1 to DATA and DATA + 8.
            assert_eq!(
                t.call("bump", 0).unwrap(),
                0x0101_0101_0101_0102,
                "iteration {i}"
            );
            let k = (i * 7) % pages;
            t.e.mem_write(DATA + k * 0x1000 + i % 0x1000, &[0xee; 3])
                .unwrap();
            if helpers {
                t.e.mem_write(0x600000, b"gone").unwrap();
            }
            if i % 50 == 49 {
                // A layout change: the next restore remaps everything.
                t.e.mem_protect(DATA, 0x1000, Perm::READ).unwrap();
                assert_eq!(t.call("bump", 0), Err(Error::WriteProt(DATA)));
            }
            t.e.snapshot_restore(&snap).unwrap();
            check(&t, "after restore");
        }
        drop(t);
        drop(host);
    }
}

fn hooks_added_mid_run(arch: Arch) {
    let mut t = T::new(arch);
    t.call("sum", 500).unwrap(); // translated and compiled before any hook
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    let lp = t.at("loop");
    let entry = t.at("sum");
    t.e.hook_add_code(entry, entry, move |v, _, _| {
        let h = h.clone();
        v.hook_add_code(lp, lp, move |_, _, _| {
            h.fetch_add(1, Ordering::Relaxed);
        });
    });
    let n = 400;
    assert_eq!(t.call("sum", n).unwrap(), n * (n + 1) / 2);
    // The loop head runs n times, every one after the hook was added.
    assert_eq!(hits.load(Ordering::Relaxed), n);
}

fn memory_hooks_and_mmio(arch: Arch) {
    let mut t = T::new(arch);
    t.e.mem_map(DATA, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    t.e.mem_write(DATA, &41u64.to_le_bytes()).unwrap();
    let log = log_data(
        &mut t.e,
        MemHookKind::WRITE | MemHookKind::READ_AFTER,
        DATA,
        DATA + 0xfff,
    );
    assert_eq!(t.call("bump", 0).unwrap(), 42);
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            (MemHookKind::READ_AFTER, 0, 8, 41),
            (MemHookKind::WRITE, 0, 8, 42),
            (MemHookKind::WRITE, 8, 8, 42),
        ]
    );
    let writes = Arc::new(Mutex::new(Vec::new()));
    let w = writes.clone();
    t.e.mmio_map(
        0x500000,
        0x1000,
        Some(Box::new(|off, size| 0x1000 + off * 2 + size as u64)),
        Some(Box::new(move |off, size, v| {
            w.lock().unwrap().push((off, size, v))
        })),
    )
    .unwrap();
    let want = 0x1000 + 32 + 4;
    assert_eq!(t.call("mmio", 0).unwrap(), want);
    assert_eq!(*writes.lock().unwrap(), vec![(4, 4, want)]);
}

fn atomic_memory_hooks(arch: Arch) {
    // Atomic read-modify-writes, a load-reserved/store-conditional pair (x86: lock cmpxchg)
    // and a 32-bit swap: the read hooks fire before each, read-after with the old value,
    // write with the value stored (the code was translated before the hook existed).
    let mut t = T::new(arch);
    t.e.mem_map(DATA, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    let init = |t: &mut T| {
        t.e.mem_write(DATA, &41u64.to_le_bytes()).unwrap();
        t.e.mem_write(DATA + 8, &7u32.to_le_bytes()).unwrap();
    };
    init(&mut t);
    // Without hooks: the result is the old value (+ the store-conditional's status, 0).
    assert_eq!(t.call("atom", 0).unwrap(), 41);
    let log = log_data(
        &mut t.e,
        MemHookKind::READ | MemHookKind::WRITE | MemHookKind::READ_AFTER,
        DATA,
        DATA + 0xfff,
    );
    init(&mut t);
    assert_eq!(t.call("atom", 0).unwrap(), 41);
    let mut b = [0u8; 12];
    t.e.mem_read(DATA, &mut b).unwrap();
    assert_eq!(u64::from_le_bytes(b[..8].try_into().unwrap()), 47);
    // x86 adds 5 to it with `lock add`
    let last = if arch == Arch::X86_64 { 105 } else { 100 };
    assert_eq!(u32::from_le_bytes(b[8..].try_into().unwrap()), last);
    let (r, ra, w) = (
        MemHookKind::READ,
        MemHookKind::READ_AFTER,
        MemHookKind::WRITE,
    );
    let mut want = vec![(r, 0, 8, 0), (ra, 0, 8, 41), (w, 0, 8, 46)];
    if arch == Arch::X86_64 {
        // lock cmpxchg
        want.extend([(r, 0, 8, 0), (ra, 0, 8, 46), (w, 0, 8, 47)]);
    } else {
        // the load-reserved, then the store-conditional: its store only
        want.extend([(r, 0, 8, 0), (ra, 0, 8, 46), (w, 0, 8, 47)]);
    }
    want.extend([(r, 8, 4, 0), (ra, 8, 4, 7), (w, 8, 4, 100)]);
    if arch == Arch::X86_64 {
        want.extend([(r, 8, 4, 0), (ra, 8, 4, 100), (w, 8, 4, 105)]);
    }
    assert_eq!(*log.lock().unwrap(), want);
}

fn narrow_and_conditional_atomics(arch: Arch) {
    // Memory hooks see a byte or halfword atomic as the guest's own access (address, size,
    // values), not the containing word the lifter works on; a compare-and-swap whose
    // comparison fails shows its read but no write; a store-conditional shows only its store
    // when it succeeds, and nothing when it fails (riscv sc, aarch64 stxrb without a
    // reservation). riscv64 has no byte or halfword atomics.
    let mut t = T::new(arch);
    t.e.mem_map(DATA, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    let init = |t: &mut T| {
        t.e.mem_write(DATA, &0x7777_0000_0930_2010u64.to_le_bytes())
            .unwrap();
        t.e.mem_write(DATA + 8, &7u32.to_le_bytes()).unwrap();
    };
    let log = log_data(
        &mut t.e,
        MemHookKind::READ | MemHookKind::WRITE | MemHookKind::READ_AFTER,
        DATA,
        DATA + 0xfff,
    );
    let (r, ra, w) = (
        MemHookKind::READ,
        MemHookKind::READ_AFTER,
        MemHookKind::WRITE,
    );
    let narrow = [
        (r, 1, 1, 0),
        (ra, 1, 1, 0x20),
        (w, 1, 1, 0x23),
        (r, 6, 2, 0),
        (ra, 6, 2, 0x7777),
        (w, 6, 2, 0x1234),
        (r, 2, 1, 0),
        (ra, 2, 1, 0x30),
        (r, 3, 1, 0),
        (ra, 3, 1, 9),
        (w, 3, 1, 0x55),
        (r, 8, 4, 0),
        (ra, 8, 4, 7),
    ];
    let (want, bytes): (Vec<_>, [u8; 12]) = match arch {
        Arch::Riscv64 => (
            vec![(r, 8, 4, 0), (ra, 8, 4, 7), (w, 8, 4, 0x55)],
            [0x10, 0x20, 0x30, 9, 0, 0, 0x77, 0x77, 0x55, 0, 0, 0],
        ),
        Arch::Aarch64 => {
            let mut v = narrow.to_vec();
            v.extend([(r, 0, 1, 0), (ra, 0, 1, 0x10), (w, 0, 1, 0x55)]);
            (v, [0x55, 0x23, 0x30, 0x55, 0, 0, 0x34, 0x12, 7, 0, 0, 0])
        }
        Arch::X86_64 => (
            narrow.to_vec(),
            [0x10, 0x23, 0x30, 0x55, 0, 0, 0x34, 0x12, 7, 0, 0, 0],
        ),
    };
    for round in 0..2 {
        init(&mut t);
        log.lock().unwrap().clear();
        t.call("natom", 0).unwrap();
        assert_eq!(*log.lock().unwrap(), want, "round {round}");
        let mut b = [0u8; 12];
        t.e.mem_read(DATA, &mut b).unwrap();
        assert_eq!(b, bytes, "round {round}");
    }
    // A fault: at the guest's address and size, compiled inline or through the helpers.
    let first = if arch == Arch::Riscv64 {
        (8, 4)
    } else {
        (1, 1)
    };
    for helpers in [false, true] {
        let mut t = T::new(arch);
        let faults = Arc::new(Mutex::new(Vec::new()));
        let f = faults.clone();
        t.e.hook_add_mem(MemHookKind::UNMAPPED, 1, 0, move |_, _, addr, size, _| {
            f.lock().unwrap().push((addr - DATA, size));
            false
        });
        if helpers {
            t.e.hook_add_mem(MemHookKind::READ, 1, 0, |_, _, _, _, _| true);
        }
        assert!(t.call("natom", 0).is_err());
        assert_eq!(*faults.lock().unwrap(), [first], "helpers: {helpers}");
    }
}

fn fault_access_size(arch: Arch) {
    // The fault hooks see the access that faulted, with its own address and size: a load
    // that straddles into an unmapped page (reported at its start), the second access of a
    // two-access instruction (aarch64 ldp, x86 fld tbyte: 8 bytes then 2), and a fetch from
    // unmapped memory (the first fetch the decoder makes: aarch64 4 bytes, riscv a 2-byte
    // parcel, x86 one byte). Inline accesses first, then through the memory helpers.
    for helpers in [false, true] {
        let mut t = T::new(arch);
        t.e.mem_map(DATA, 0x1000, Perm::READ | Perm::WRITE).unwrap();
        if helpers {
            t.e.hook_add_mem(MemHookKind::READ, 1, 0, |_, _, _, _, _| true);
        }
        let faults = unmapped_hook(&mut t.e, false);
        let ptr = ptr_reg(arch);
        let run = |t: &mut T, sym: &str, at: u64| {
            t.e.reg_write(ptr, at).unwrap();
            let r = t.call(sym, 0);
            (r, faults.lock().unwrap().pop())
        };
        let ru = MemHookKind::READ_UNMAPPED;
        let at = DATA + 0xffc;
        assert_eq!(
            run(&mut t, "far", at),
            (Err(Error::ReadUnmapped(at)), Some((ru, at, 8))),
            "straddling load, helpers: {helpers}"
        );
        if arch != Arch::Riscv64 {
            let at = DATA + 0xff8;
            let second = if arch == Arch::X86_64 { 2 } else { 8 };
            assert_eq!(
                run(&mut t, "pair", at),
                (
                    Err(Error::ReadUnmapped(DATA + 0x1000)),
                    Some((ru, DATA + 0x1000, second))
                ),
                "second access, helpers: {helpers}"
            );
        }
        let fetch = match arch {
            Arch::Aarch64 => 4,
            Arch::Riscv64 => 2,
            Arch::X86_64 => 1,
        };
        assert_eq!(
            t.e.start(LAZY + 0x10, END, None, 0),
            Err(Error::FetchUnmapped(LAZY + 0x10))
        );
        assert_eq!(
            faults.lock().unwrap().pop(),
            Some((MemHookKind::FETCH_UNMAPPED, LAZY + 0x10, fetch))
        );
    }
}

#[test]
fn x86_high_half_addresses() {
    // A range across 2^39 maps (RAM below, engine-owned host memory above) and reads and
    // writes across the boundary; the last page below 2^64 cannot be mapped (its end does
    // not fit). With nothing mapped above 2^39, a load up there (nothing at its low alias)
    // faults with its own address, and a start there is a fetch fault.
    let mut t = T::new(Arch::X86_64);
    let high = 0xffff_ffff_8000_0000u64;
    assert_eq!(
        t.e.mem_map(u64::MAX - 0xfff, 0x1000, Perm::ALL),
        Err(Error::OutOfRange)
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    t.e.hook_add_mem(
        MemHookKind::READ_UNMAPPED,
        1,
        0,
        move |_, _, addr, size, _| {
            s.lock().unwrap().push((addr, size));
            false
        },
    );
    let far = high + 0x1000;
    t.e.reg_write(X86Reg::Rsi, far).unwrap();
    assert_eq!(t.call("far", 0), Err(Error::ReadUnmapped(far)));
    assert_eq!(*seen.lock().unwrap(), vec![(far, 8)]);
    assert_eq!(
        t.e.start(high, END, None, 0),
        Err(Error::FetchUnmapped(high))
    );
    let edge = (1u64 << 39) - 0x1000;
    t.e.mem_map(edge, 0x2000, Perm::READ | Perm::WRITE).unwrap();
    let r: Vec<_> = t.e.mem_regions().iter().map(|r| (r.begin, r.end)).collect();
    assert!(r.contains(&(edge, edge + 0xfff)) && r.contains(&(edge + 0x1000, edge + 0x1fff)));
    t.e.mem_write(edge + 0xffc, &0x1122_3344_5566_7788u64.to_le_bytes())
        .unwrap();
    t.e.reg_write(X86Reg::Rsi, edge + 0xffc).unwrap();
    assert_eq!(t.call("far", 0).unwrap(), 0x1122_3344_5566_7788);
    let mut b = [0u8; 8];
    t.e.mem_read(edge + 0xffc, &mut b).unwrap();
    assert_eq!(u64::from_le_bytes(b), 0x1122_3344_5566_7788);
    t.e.mem_unmap(edge, 0x2000).unwrap();
    assert_eq!(t.e.mem_read(edge + 0x1000, &mut b), Err(Error::Unmapped));
}

#[test]
fn x86_straddling_fetch_fault_size() {
    // An instruction that runs off its page into unmapped memory: the fetch fault is at the
    // next page, with the instruction's bytes from there on when the bytes before fix its
    // length (the page ends in a displacement or an immediate), else the one byte the decoder
    // fetches next (opcode, ModRM, SIB). `fixed` is where each instruction's displacement or
    // immediate starts.
    for (insn, fixed) in [
        ("movabs rax, 0x1122334455667788", 2),
        ("mov rax, [rax + 0x12345678]", 3),
        ("add dword ptr [rsp], 0x12345678", 3), // SIB base 5 would add a disp32
    ] {
        let p = assemble_src(
            Arch::X86_64,
            &format!(".intel_syntax noprefix\n.globl a, b\na: {insn}\nb:\n"),
        );
        let len = p.syms["b"] as usize;
        assert_eq!(p.code.len(), len, "{insn}");
        for k in 1..len {
            let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
            e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
            let at = CODE + 0x1000 - k as u64;
            e.mem_write(at, &p.code[..k]).unwrap();
            let seen = unmapped_hook(&mut e, false);
            let next = CODE + 0x1000;
            assert_eq!(e.start(at, END, None, 0), Err(Error::FetchUnmapped(next)));
            let want = if k >= fixed { len - k } else { 1 };
            assert_eq!(
                *seen.lock().unwrap(),
                vec![(MemHookKind::FETCH_UNMAPPED, next, want)],
                "{insn} with {k} bytes mapped"
            );
        }
    }
}

#[test]
fn x86_misaligned_cmpxchg_hooks() {
    // `lock cmpxchg` aligned and split over words (the lifter's load and store): the hooks see
    // a read and a read-after of the old value, and a write of the new value only when the
    // comparison succeeds (the failed one's write-back of the old value is not shown).
    let p = assemble_src(
        Arch::X86_64,
        ".intel_syntax noprefix\n.globl a, b\na: lock cmpxchg [rsi], ecx\nb:\n",
    );
    let end = CODE + p.syms["b"];
    let (r, ra, w) = (
        MemHookKind::READ,
        MemHookKind::READ_AFTER,
        MemHookKind::WRITE,
    );
    for off in [4u64, 2, 0xffe] {
        for (eax, ok) in [(0x1111_2222u64, true), (5, false)] {
            let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
            e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
            e.mem_write(CODE, &p.code).unwrap();
            e.mem_map(DATA, 0x2000, Perm::READ | Perm::WRITE).unwrap();
            e.mem_write(DATA + off, &0x1111_2222u32.to_le_bytes())
                .unwrap();
            let log = log_data(&mut e, r | ra | w, 1, 0);
            e.reg_write(X86Reg::Rsi, DATA + off).unwrap();
            e.reg_write(X86Reg::Rax, eax).unwrap();
            e.reg_write(X86Reg::Rcx, 0x3333_4444).unwrap();
            e.start(CODE, end, None, 0).unwrap();
            let mut want = vec![(r, off, 4, 0), (ra, off, 4, 0x1111_2222)];
            if ok {
                want.push((w, off, 4, 0x3333_4444));
            }
            assert_eq!(*log.lock().unwrap(), want, "offset {off:#x}, eax {eax:#x}");
            let mut b = [0u8; 4];
            e.mem_read(DATA + off, &mut b).unwrap();
            let now = if ok { 0x3333_4444 } else { 0x1111_2222 };
            assert_eq!(u32::from_le_bytes(b), now);
            assert_eq!(
                e.reg_read(X86Reg::Rax).unwrap(),
                if ok { eax } else { 0x1111_2222 }
            );
        }
    }
}

#[test]
fn x86_noncanonical_jump_is_gp() {
    // x86-64 code at a non-canonical address is #GP (interrupt 13 at that pc, as Unicorn
    // reports it), not a fetch fault: a jump there (also with memory mapped there), and an
    // instruction running on from the last canonical page into it.
    let nc = 0x8000_0000_0000u64;
    // movabs rax, nc; jmp rax
    let mut jmp = vec![0x48, 0xb8];
    jmp.extend_from_slice(&nc.to_le_bytes());
    jmp.extend_from_slice(&[0xff, 0xe0]);
    let last = nc - 0x1000;
    for (code, bytes, mapped) in [
        (CODE, jmp.clone(), false),
        (CODE, jmp.clone(), true),
        // movabs rax, ... at the last canonical bytes: its immediate is past them
        (nc - 2, vec![0x48, 0xb8], false),
    ] {
        let what = format!("code {code:#x}, mapped {mapped}");
        let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
        e.mem_map(CODE, 0x1000, Perm::ALL).unwrap();
        e.mem_map(last, 0x1000, Perm::ALL).unwrap();
        if mapped {
            e.mem_map(nc, 0x1000, Perm::ALL).unwrap();
            e.mem_write(nc, &[0x90; 16]).unwrap();
        }
        e.mem_write(code, &bytes).unwrap();
        let faults = Arc::new(Mutex::new(0));
        let f = faults.clone();
        e.hook_add_mem(
            MemHookKind::UNMAPPED | MemHookKind::PROT,
            1,
            0,
            move |_, _, _, _, _| {
                *f.lock().unwrap() += 1;
                false
            },
        );
        assert_eq!(
            e.start(code, END, None, 0),
            Err(Error::Exception(13)),
            "{what}"
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        e.hook_add_intr(move |v, n| {
            s.lock()
                .unwrap()
                .push((n, v.reg_read(X86Reg::Rip).unwrap()));
            v.reg_write(X86Reg::Rip, END).unwrap();
        });
        assert_eq!(e.start(code, END, None, 0), Ok(()), "{what}");
        let at = if code == CODE { nc } else { code };
        assert_eq!(*seen.lock().unwrap(), vec![(13, at)], "{what}");
        assert_eq!(*faults.lock().unwrap(), 0, "{what}: no fetch fault");
    }
}

/// x86-64: `loop: mov rax, [rsi]; add rdx, rax; dec rcx; jnz loop` (11 bytes).
const X86_LOAD_LOOP: &[u8] = &[
    0x48, 0x8b, 0x06, 0x48, 0x01, 0xc2, 0x48, 0xff, 0xc9, 0x75, 0xf5,
];

/// Runs [`X86_LOAD_LOOP`] at `CODE` `n` times loading from `ptr`; the sum of the loads.
fn x86_load_loop(e: &mut Engine, ptr: u64, n: u64) -> Result<u64, Error> {
    e.reg_write(X86Reg::Rsi, ptr)?;
    e.reg_write(X86Reg::Rcx, n)?;
    e.reg_write(X86Reg::Rdx, 0)?;
    e.start(CODE, CODE + X86_LOAD_LOOP.len() as u64, None, 0)?;
    e.reg_read(X86Reg::Rdx)
}

#[test]
fn x86_hot_loads_beyond_2_39_fault_at_their_own_address() {
    // Code compiled hot (a million iterations, far past the Cranelift threshold) that loads
    // from an address at or above 2^39 faults there, not at (or with the value of) its alias
    // `address mod 2^39`, which is mapped; with RAM mapped up there (the high window) it
    // reads that RAM, and an unmapped page next to it faults with its own address again.
    let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    e.mem_write(CODE, X86_LOAD_LOOP).unwrap();
    e.mem_map(0x1000, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    e.mem_write(0x1000, &7u64.to_le_bytes()).unwrap();
    for _ in 0..3 {
        assert_eq!(x86_load_loop(&mut e, 0x1000, 1_000_000), Ok(7_000_000));
    }
    let far = 0x80_0000_1000u64;
    assert_eq!(x86_load_loop(&mut e, far, 1), Err(Error::ReadUnmapped(far)));
    let top = 0x7fff_f000_1000u64;
    assert_eq!(x86_load_loop(&mut e, top, 1), Err(Error::ReadUnmapped(top)));

    // RAM at `top`: the window's inline path, hot again, and exact at its edges.
    e.mem_map(top, 0x1000, Perm::READ).unwrap();
    e.mem_write(top, &5u64.to_le_bytes()).unwrap();
    for _ in 0..3 {
        assert_eq!(x86_load_loop(&mut e, top, 1_000_000), Ok(5_000_000));
    }
    assert_eq!(x86_load_loop(&mut e, 0x1000, 10), Ok(70));
    for a in [top + 0x1000, top - 8, far, top - (1 << 39)] {
        assert_eq!(
            x86_load_loop(&mut e, a, 1),
            Err(Error::ReadUnmapped(a)),
            "{a:#x}"
        );
    }
    // Straddling the mapped page's end: faults at the access's address, as below 2^39.
    let kind = |r: Result<u64, Error>, base: u64| match r {
        Err(Error::ReadUnmapped(a)) => Some((0, a - base)),
        Err(Error::ReadProt(a)) => Some((1, a - base)),
        _ => None,
    };
    let low = kind(x86_load_loop(&mut e, 0x1ffc, 1), 0x1000);
    assert!(low.is_some());
    assert_eq!(kind(x86_load_loop(&mut e, top + 0xffc, 1), top), low);
    e.mem_protect(top, 0x1000, Perm::NONE).unwrap();
    assert_eq!(x86_load_loop(&mut e, top, 1), Err(Error::ReadProt(top)));
    e.mem_protect(top, 0x1000, Perm::READ).unwrap();
    assert_eq!(x86_load_loop(&mut e, top, 1000), Ok(5000));
    e.mem_unmap(top, 0x1000).unwrap();
    assert_eq!(x86_load_loop(&mut e, top, 1), Err(Error::ReadUnmapped(top)));
}

#[test]
fn x86_non_canonical_data_access_is_gp() {
    // A load at a non-canonical address (bits 63..47 not all equal), or one running into
    // such addresses from the last canonical bytes, is #GP (interrupt 13), as Unicorn and the
    // hardware report it, not a read fault; the fault hooks are not called. A canonical
    // unmapped address still is a read fault.
    let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    e.mem_write(CODE, X86_LOAD_LOOP).unwrap();
    let faults = Arc::new(Mutex::new(0));
    let f = faults.clone();
    e.hook_add_mem(
        MemHookKind::UNMAPPED | MemHookKind::PROT,
        1,
        0,
        move |_, _, _, _, _| {
            *f.lock().unwrap() += 1;
            false
        },
    );
    for a in [0x8000_0000_0000u64, 0x1234_5678_9abc_def0, 0x7fff_ffff_fffc] {
        assert_eq!(
            x86_load_loop(&mut e, a, 1),
            Err(Error::Exception(13)),
            "{a:#x}"
        );
    }
    assert_eq!(*faults.lock().unwrap(), 0);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    e.hook_add_intr(move |v, n| {
        s.lock()
            .unwrap()
            .push((n, v.reg_read(X86Reg::Rip).unwrap()));
        v.reg_write(X86Reg::Rip, CODE + X86_LOAD_LOOP.len() as u64)
            .unwrap();
    });
    assert_eq!(x86_load_loop(&mut e, 0xffff_0000_0000_0000, 1), Ok(0));
    assert_eq!(*seen.lock().unwrap(), vec![(13, CODE)]);
    assert_eq!(
        x86_load_loop(&mut e, 0x7fff_ffff_0000, 1),
        Err(Error::ReadUnmapped(0x7fff_ffff_0000))
    );
    assert_eq!(*faults.lock().unwrap(), 1);
}

#[test]
fn snapshot_many_dirty_pages() {
    // More dirty pages than the record holds (16,384): the restore remaps everything, and
    // every page is back either way.
    let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    let pages = 20_000u64;
    e.mem_map(DATA, pages * 0x1000, Perm::READ | Perm::WRITE)
        .unwrap();
    e.mem_write(DATA + 0x10, b"base").unwrap();
    let snap = e.snapshot().unwrap();
    for round in 0..2u8 {
        for k in 0..pages {
            e.mem_write(DATA + k * 0x1000 + 0x10, &[round + 1; 4])
                .unwrap();
        }
        e.snapshot_restore(&snap).unwrap();
        for k in [0, 1, 511, 512, 16_383, 16_384, pages - 1] {
            let mut b = [0u8; 4];
            e.mem_read(DATA + k * 0x1000 + 0x10, &mut b).unwrap();
            let want: [u8; 4] = if k == 0 { *b"base" } else { [0; 4] };
            assert_eq!(b, want, "round {round}, page {k}");
        }
    }
}

#[test]
fn two_snapshots_alternating() {
    // Restores of two snapshots in turn (each restore of the other one remaps everything),
    // with writes in between: each restore gives that snapshot's bytes.
    let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    e.mem_map(DATA, 0x4000, Perm::READ | Perm::WRITE).unwrap();
    e.mem_write(DATA + 0x1000, b"A").unwrap();
    let a = e.snapshot().unwrap();
    e.mem_write(DATA + 0x1000, b"B").unwrap();
    e.mem_write(DATA + 0x3000, b"b").unwrap();
    let b = e.snapshot().unwrap();
    let read = |e: &Engine| {
        let (mut x, mut y) = ([0u8; 1], [0u8; 1]);
        e.mem_read(DATA + 0x1000, &mut x).unwrap();
        e.mem_read(DATA + 0x3000, &mut y).unwrap();
        (x[0], y[0])
    };
    for i in 0..20u8 {
        e.mem_write(DATA + 0x1000, &[i]).unwrap();
        e.mem_write(DATA + 0x3000, &[i]).unwrap();
        let (snap, want) = if i % 3 == 0 {
            (&a, (b'A', 0))
        } else {
            (&b, (b'B', b'b'))
        };
        e.snapshot_restore(snap).unwrap();
        assert_eq!(read(&e), want, "round {i}");
    }
}

/// Runs from `sym` to its return with registers as set.
fn run_to_ret(t: &mut T, sym: &str) -> Result<(), Error> {
    let begin = t.at(sym);
    t.e.mem_write(STACK - 8, &END.to_le_bytes())?;
    t.e.reg_write(X86Reg::Rsp, STACK - 8)?;
    t.e.start(begin, END, None, 0)
}

#[test]
fn x86_string_port_io() {
    let mut t = T::new(Arch::X86_64);
    t.e.mem_map(DATA, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    t.e.mem_write(DATA, b"hello").unwrap();
    let set = |t: &mut T, regs: &[(X86Reg, u64)]| {
        for &(r, v) in regs {
            t.e.reg_write(r, v).unwrap();
        }
    };
    // Without a port I/O hook, insw and `rep outsb` are #GP as in user mode.
    set(&mut t, &[(X86Reg::Rdi, DATA + 0x100), (X86Reg::Rcx, 3)]);
    assert_eq!(
        run_to_ret(&mut t, "sins"),
        Err(Error::Exception(13)),
        "insw"
    );
    set(
        &mut t,
        &[(X86Reg::Rsi, DATA), (X86Reg::Rcx, 5), (X86Reg::Rdx, 0x3f8)],
    );
    assert_eq!(run_to_ret(&mut t, "souts"), Err(Error::Exception(13)));
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let n = Arc::new(AtomicU64::new(0));
    let k = n.clone();
    t.e.hook_add_inout(move |_, port, size, out| {
        l.lock().unwrap().push((port, size, out));
        // `in` reads distinct values: 0xa0 + the call's number, with high bits set to show
        // that only `size` bytes land in memory.
        0xffff_ff00 | (0xa0 + k.fetch_add(1, Ordering::Relaxed) as u32)
    });
    // rep outsb: one hook call per byte, rsi advanced, rcx counted down.
    run_to_ret(&mut t, "souts").unwrap();
    let want: Vec<_> = b"hello"
        .iter()
        .map(|&c| (0x3f8, 1, Some(u32::from(c))))
        .collect();
    assert_eq!(std::mem::take(&mut *log.lock().unwrap()), want);
    assert_eq!(t.e.reg_read(X86Reg::Rsi).unwrap(), DATA + 5);
    assert_eq!(t.e.reg_read(X86Reg::Rcx).unwrap(), 0);
    // insw at DATA + 0x100, then with DF set `rep insd` three times going down from there.
    n.store(0, Ordering::Relaxed);
    let dst = DATA + 0x100;
    set(
        &mut t,
        &[(X86Reg::Rdi, dst), (X86Reg::Rcx, 3), (X86Reg::Rdx, 0x60)],
    );
    run_to_ret(&mut t, "sins").unwrap();
    assert_eq!(
        std::mem::take(&mut *log.lock().unwrap()),
        vec![
            (0x60, 2, None),
            (0x60, 4, None),
            (0x60, 4, None),
            (0x60, 4, None)
        ]
    );
    let mut b = [0u8; 0x10];
    t.e.mem_read(dst - 0xa, &mut b).unwrap();
    // insw wrote 0xffa0 at dst; the dwords landed at dst + 2, dst - 2, dst - 6 (each
    // overwriting the previous one's low half).
    let mut want = [0u8; 0x10];
    want[0xa..0xc].copy_from_slice(&0xffa0u16.to_le_bytes());
    for (i, off) in [0xcusize, 0x8, 0x4].iter().enumerate() {
        want[*off..off + 4].copy_from_slice(&(0xffff_ffa1u32 + i as u32).to_le_bytes());
    }
    assert_eq!(b, want);
    assert_eq!(t.e.reg_read(X86Reg::Rdi).unwrap(), dst + 2 - 12);
    assert_eq!(t.e.reg_read(X86Reg::Rcx).unwrap(), 0);
    assert_eq!(t.e.reg_read(X86Reg::Rflags).unwrap() & 0x400, 0, "cld ran");
    // rep outsb running into an unmapped page: the fault hook sees the element's address and
    // size, maps the page, and the instruction goes on from that element.
    let faults = Arc::new(Mutex::new(Vec::new()));
    let f = faults.clone();
    t.e.hook_add_mem(
        MemHookKind::READ_UNMAPPED,
        1,
        0,
        move |v, kind, addr, size, _| {
            f.lock().unwrap().push((kind, addr, size));
            v.mem_map(addr & !0xfff, 0x1000, Perm::READ).unwrap();
            v.mem_write(addr, b"yz").unwrap();
            true
        },
    );
    t.e.mem_write(DATA + 0xffe, b"wx").unwrap();
    set(
        &mut t,
        &[
            (X86Reg::Rsi, DATA + 0xffe),
            (X86Reg::Rcx, 4),
            (X86Reg::Rdx, 0x3f8),
        ],
    );
    run_to_ret(&mut t, "souts").unwrap();
    let want: Vec<_> = b"wxyz"
        .iter()
        .map(|&c| (0x3f8, 1, Some(u32::from(c))))
        .collect();
    assert_eq!(*log.lock().unwrap(), want);
    assert_eq!(
        *faults.lock().unwrap(),
        vec![(MemHookKind::READ_UNMAPPED, DATA + 0x1000, 1)]
    );
    assert_eq!(t.e.reg_read(X86Reg::Rsi).unwrap(), DATA + 0x1002);
}

fn fetch_prot_intr_invalid_hooks(arch: Arch) {
    // The hook kinds the other scenarios do not cover, on every frontend: fetch (once per
    // instruction run, with its size), read (before the load), protection faults on a write
    // and a fetch that the hook resolves (mem_protect, then the access is retried), the
    // interrupt hook on a breakpoint and the invalid-instruction hook, each stepping over
    // the instruction (pc written) so the function goes on.
    let mut t = T::new(arch);
    let (lo, hi) = (t.at("sum"), t.at("sys") - 1);
    let fetches = Arc::new(Mutex::new(Vec::new()));
    let f = fetches.clone();
    let id =
        t.e.hook_add_mem(MemHookKind::FETCH, lo, hi, move |_, kind, addr, size, _| {
            f.lock().unwrap().push((kind, addr, size));
            true
        });
    let n = 50;
    assert_eq!(t.call("sum", n).unwrap(), n * (n + 1) / 2);
    let got = fetches.lock().unwrap().clone();
    // riscv/aarch64: 3 before and after the 3-instruction loop; x86: xor ... ret
    let (want, bytes) = match arch {
        Arch::X86_64 => (3 * n + 2, 2 + 8 * n + 1),
        _ => (3 * n + 3, 4 * (3 * n + 3)),
    };
    assert_eq!(got.len() as u64, want, "fetches");
    assert!(
        got.iter()
            .all(|&(k, a, _)| k == MemHookKind::FETCH && (lo..=hi).contains(&a))
    );
    assert_eq!(got.iter().map(|g| g.2 as u64).sum::<u64>(), bytes);
    assert_eq!(got[0].1, lo);
    t.e.hook_del(id).unwrap();

    // A write to read-only memory: the hook makes it writable and the store is retried; the
    // read hook then sees the load.
    t.e.mem_map(DATA, 0x1000, Perm::READ).unwrap();
    assert_eq!(t.call("wro", 0), Err(Error::WriteProt(DATA)));
    let faults = Arc::new(Mutex::new(Vec::new()));
    let fl = faults.clone();
    t.e.hook_add_mem(MemHookKind::PROT, 1, 0, move |v, kind, addr, size, _| {
        fl.lock().unwrap().push((kind, addr, size));
        let perms = if kind == MemHookKind::FETCH_PROT {
            Perm::READ | Perm::EXEC
        } else {
            Perm::READ | Perm::WRITE
        };
        v.mem_protect(addr & !0xfff, 0x1000, perms).unwrap();
        true
    });
    let reads = Arc::new(Mutex::new(Vec::new()));
    let r = reads.clone();
    t.e.hook_add_mem(
        MemHookKind::READ,
        DATA,
        DATA + 0xfff,
        move |_, kind, addr, size, v| {
            r.lock().unwrap().push((kind, addr, size, v));
            true
        },
    );
    assert_eq!(t.call("wro", 0).unwrap(), 9);
    assert_eq!(
        *faults.lock().unwrap(),
        vec![(MemHookKind::WRITE_PROT, DATA, 8)]
    );
    assert_eq!(
        *reads.lock().unwrap(),
        vec![(MemHookKind::READ, DATA, 8, 0)]
    );
    // Code on a page without exec permission: a fetch fault the hook resolves.
    faults.lock().unwrap().clear();
    let page = lo & !0xfff;
    t.e.mem_protect(page, 0x1000, Perm::READ).unwrap();
    assert_eq!(t.call("sum", 10).unwrap(), 55);
    assert_eq!(faults.lock().unwrap()[0].0, MemHookKind::FETCH_PROT);
    assert_eq!(faults.lock().unwrap()[0].1, lo);

    // A breakpoint: unhandled it stops with the exception; the interrupt hook sees it and
    // steps over it.
    let (bkpt, bkpt_len, bad_len) = match arch {
        Arch::X86_64 => (t.at("bkpt"), 1, 2),
        _ => (t.at("bkpt"), 4, 4),
    };
    assert_eq!(t.call("bkpt", 0), Err(Error::Exception(3)));
    let intrs = Arc::new(Mutex::new(Vec::new()));
    let i = intrs.clone();
    let pc_reg = RegPc::of(t.a.ret);
    t.e.hook_add_intr(move |v, no| {
        let pc = v.reg_read(pc_reg).unwrap();
        i.lock().unwrap().push((no, pc));
        v.reg_write(pc_reg, pc + bkpt_len).unwrap();
    });
    assert_eq!(t.call("bkpt", 0).unwrap(), 7);
    assert_eq!(*intrs.lock().unwrap(), vec![(3, bkpt)]);

    // An invalid instruction: the hook steps over it.
    let badi = t.at("badi");
    assert_eq!(t.call("badi", 0), Err(Error::InvalidInsn(badi)));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    t.e.hook_add_invalid_insn(move |v| {
        let pc = v.reg_read(pc_reg).unwrap();
        s.lock().unwrap().push(pc);
        v.reg_write(pc_reg, pc + bad_len).unwrap();
        true
    });
    assert_eq!(t.call("badi", 0).unwrap(), 8);
    assert_eq!(*seen.lock().unwrap(), vec![badi]);
}

fn one_engine_per_thread(arch: Arch) {
    let ths: Vec<_> = (0..4u64)
        .map(|k| {
            std::thread::spawn(move || {
                let mut t = T::new(arch);
                for n in 1..200 {
                    assert_eq!(t.call("sum", n + k).unwrap(), (n + k) * (n + k + 1) / 2);
                }
                assert_eq!(t.call("lazy", 0), Err(Error::ReadUnmapped(LAZY + 8)));
            })
        })
        .collect();
    for t in ths {
        t.join().unwrap();
    }
}

/// Code and stack addresses above 2^39 each guest's own programs use: x86-64 kernel-half
/// shellcode and a stack at the top of the user half, aarch64 and riscv64 (Sv48) near the
/// top of their 48-bit user halves.
/// The register `far` loads from and `poke` stores to.
fn ptr_reg(arch: Arch) -> Reg {
    match arch {
        Arch::Riscv64 => RiscvReg::X(11).into(),
        Arch::Aarch64 => Arm64Reg::X(1).into(),
        Arch::X86_64 => X86Reg::Rsi.into(),
    }
}

fn high_layout(arch: Arch) -> (u64, u64) {
    match arch {
        Arch::X86_64 => (0xffff_8000_0000_0000, 0x8000_0000_0000),
        Arch::Aarch64 => (0xffff_0000_0000, 0xffff_ffff_0000),
        Arch::Riscv64 => (0x7f00_0000_0000, 0x7fff_ffff_f000),
    }
}

fn high_addresses(arch: Arch) {
    // Code and stack mapped above 2^39 run as below it; hooks see the guest's own addresses;
    // an access to an unmapped address faults even where its alias modulo 2^39 is mapped
    // (and the other way round); a fault hook maps memory up there on demand; protection,
    // unmapping and snapshots work on such memory.
    let (code, stack) = high_layout(arch);
    let mut t = T::new_at(arch, code, stack);
    for n in [1u64, 10, 1000] {
        assert_eq!(t.call("sum", n).unwrap(), n * (n + 1) / 2, "sum({n})");
    }
    let blocks = Arc::new(Mutex::new(Vec::new()));
    let b = blocks.clone();
    let sum = t.at("sum");
    let id =
        t.e.hook_add_block(1, 0, move |_, pc, _| b.lock().unwrap().push(pc));
    assert_eq!(t.call("sum", 3).unwrap(), 6);
    let seen = blocks.lock().unwrap().clone();
    assert_eq!(seen.first(), Some(&sum), "{seen:x?}");
    assert!(
        seen.iter().all(|&pc| pc >= code && pc < code + 0x10000),
        "{seen:x?}"
    );
    t.e.hook_del(id).unwrap();

    // Data: the low alias of `far`'s address is mapped, the address itself is not.
    let ptr = ptr_reg(arch);
    let alias = (code + 0x20_0000) & ((1 << 39) - 1);
    t.e.mem_map(alias, 0x1000, Perm::READ | Perm::WRITE)
        .unwrap();
    t.e.mem_write(alias, &7u64.to_le_bytes()).unwrap();
    let far = code + 0x20_0000;
    t.e.reg_write(ptr, far).unwrap();
    assert_eq!(t.call("far", 0), Err(Error::ReadUnmapped(far)));
    t.e.reg_write(ptr, alias).unwrap();
    assert_eq!(t.call("far", 0).unwrap(), 7);
    // The low alias of the code (x86: address 0) is not the code.
    let code_alias = code & ((1 << 39) - 1);
    t.e.reg_write(ptr, code_alias).unwrap();
    assert_eq!(t.call("far", 0), Err(Error::ReadUnmapped(code_alias)));

    // Mapped on demand by a fault hook, read through a memory hook.
    let faults = unmapped_hook(&mut t.e, true);
    let reads = Arc::new(Mutex::new(Vec::new()));
    let r = reads.clone();
    t.e.hook_add_mem(MemHookKind::READ_AFTER, 1, 0, move |_, _, addr, size, v| {
        r.lock().unwrap().push((addr, size, v));
        true
    });
    t.e.reg_write(ptr, far).unwrap();
    assert_eq!(t.call("far", 0).unwrap(), 1234);
    assert_eq!(
        *faults.lock().unwrap(),
        vec![(MemHookKind::READ_UNMAPPED, far, 8)]
    );
    assert!(reads.lock().unwrap().contains(&(far, 8, 1234)));

    // Protection, snapshots and unmapping.
    let page = far & !0xfff;
    let snap = t.e.snapshot().unwrap();
    t.e.mem_write(far, &99u64.to_le_bytes()).unwrap();
    t.e.mem_protect(page, 0x1000, Perm::NONE).unwrap();
    t.e.mem_unmap(stack - 0x10000, 0x8000).unwrap();
    t.e.snapshot_restore(&snap).unwrap();
    assert_eq!(t.call("far", 0).unwrap(), 1234, "the snapshot's value");
    assert_eq!(t.call("sum", 100).unwrap(), 5050, "the stack is back");
    t.e.reg_write(ptr, far).unwrap(); // riscv's sum used it
    t.e.mem_protect(page, 0x1000, Perm::NONE).unwrap();
    assert_eq!(t.call("far", 0), Err(Error::ReadProt(far)));
    t.e.mem_unmap(page, 0x1000).unwrap();
    assert!(
        t.e.mem_regions()
            .iter()
            .all(|r| r.end < page || r.begin > page)
    );
    faults.lock().unwrap().clear();
    assert_eq!(t.call("far", 0).unwrap(), 1234, "mapped again on demand");
    assert_eq!(faults.lock().unwrap().len(), 1);
}

macro_rules! scenarios {
    ($($name:ident),*) => {
        mod riscv64 { $( #[test] fn $name() { super::$name(super::Arch::Riscv64) } )* }
        mod aarch64 { $( #[test] fn $name() { super::$name(super::Arch::Aarch64) } )* }
        mod x86_64 { $( #[test] fn $name() { super::$name(super::Arch::X86_64) } )* }
    };
}

scenarios!(
    atomic_memory_hooks,
    narrow_and_conditional_atomics,
    high_addresses,
    fault_access_size,
    emulate_a_function,
    count_blocks,
    hook_syscalls,
    map_on_demand,
    stop_after_n,
    stop_on_timeout,
    snapshot_loop,
    snapshot_loop_high,
    snapshot_high_dirty_pages,
    high_windows_inline,
    snapshot_dirty_pages,
    hooks_added_mid_run,
    memory_hooks_and_mmio,
    fetch_prot_intr_invalid_hooks,
    one_engine_per_thread
);

#[test]
fn x86_cpuid_hook() {
    // xor eax, eax ; cpuid ; ret
    let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    e.mem_write(CODE, &[0x31, 0xc0, 0x0f, 0xa2, 0xc3]).unwrap();
    e.mem_map(STACK - 0x1000, 0x1000, Perm::READ | Perm::WRITE)
        .unwrap();
    let run = |e: &mut Engine| {
        e.mem_write(STACK - 8, &END.to_le_bytes()).unwrap();
        e.reg_write(X86Reg::Rsp, STACK - 8).unwrap();
        e.start(CODE, END, None, 0).unwrap();
        e.reg_read(X86Reg::Rbx).unwrap()
    };
    let vendor = run(&mut e);
    assert_ne!(vendor, 0x1234);
    let seen = Arc::new(AtomicU64::new(0));
    let s = seen.clone();
    e.hook_add_insn(Insn::Cpuid, move |v| {
        // The hook sees cpuid's results (leaf 0: the vendor's first four bytes in ebx).
        s.store(v.reg_read(X86Reg::Rbx).unwrap(), Ordering::Relaxed);
        v.reg_write(X86Reg::Rbx, 0x1234).unwrap();
    });
    assert_eq!(
        run(&mut e),
        0x1234,
        "the hook fires on code translated before it"
    );
    assert_eq!(seen.load(Ordering::Relaxed), vendor);
}

#[test]
fn x86_in_out_hook() {
    let mut t = T::new(Arch::X86_64);
    // Without a port I/O hook, `out` is #GP (13) as in user mode: the interrupt hook sees it.
    let intr = Arc::new(AtomicU64::new(0));
    let n = intr.clone();
    t.e.hook_add_intr(move |_, no| n.store(u64::from(no), Ordering::Relaxed));
    assert_eq!(t.call("pio", 0x1234_5678), Err(Error::Exception(13)));
    assert_eq!(intr.load(Ordering::Relaxed), 13);
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    t.e.hook_add_inout(move |_, port, size, out| {
        l.lock().unwrap().push((port, size, out));
        // `in` reads port * 16 + size (all ones above the access size would show a bad merge).
        u32::from(port) * 16 + size + 0xffff_0000
    });
    intr.store(0, Ordering::Relaxed);
    let r = t.call("pio", 0x1234_5678).unwrap();
    let want_in =
        |port: u64, size: u64| (port * 16 + size + 0xffff_0000) & (u64::MAX >> (64 - 8 * size));
    // rax = -1; al = in(0x71) -> byte; shl 8; ax = in(dx) -> word; rcx = that; eax = in(dx)
    // (zero-extended); result = eax + rcx.
    let step1 = !0xff | want_in(0x71, 1);
    let step2 = ((step1 << 8) & !0xffff) | want_in(0x3f8, 2);
    assert_eq!(r, want_in(0x3f8, 4).wrapping_add(step2));
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            (0x80, 1, Some(0x78)),
            (0x3f8, 2, Some(0x5678)),
            (0x3f8, 4, Some(0x1234_5678)),
            (0x71, 1, None),
            (0x3f8, 2, None),
            (0x3f8, 4, None),
        ]
    );
    assert_eq!(intr.load(Ordering::Relaxed), 0, "no #GP with the hook");
}

/// `shl eax, 1; inc ecx; add edx, ebx`: the RFLAGS after each instruction, run natively
/// (arithmetic flags only; AF is undefined after a shift).
fn x86_native_flags(eax: u32, ecx: u32, edx: u32, ebx: u32) -> [u64; 3] {
    let (f0, f1, f2): (u64, u64, u64);
    // SAFETY: register arithmetic only; each pushfq is popped at once (the block may use the
    // stack: no `nostack`).
    unsafe {
        std::arch::asm!(
            "shl {a:e}, 1",
            "pushfq",
            "pop {f0}",
            "inc {c:e}",
            "pushfq",
            "pop {f1}",
            "add {d:e}, {b:e}",
            "pushfq",
            "pop {f2}",
            a = inout(reg) eax => _,
            c = inout(reg) ecx => _,
            d = inout(reg) edx => _,
            b = in(reg) ebx,
            f0 = out(reg) f0,
            f1 = out(reg) f1,
            f2 = out(reg) f2,
        );
    }
    [f0 & 0x8c5, f1 & 0x8d5, f2 & 0x8d5]
}

/// An x86-64 engine with `shl eax, 1; inc ecx; add edx, ebx` at `CODE` and the registers set.
fn x86_flags_engine(v: [u32; 4]) -> Engine {
    let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    e.mem_write(CODE, &[0xd1, 0xe0, 0xff, 0xc1, 0x01, 0xda])
        .unwrap();
    for (r, x) in [X86Reg::Rax, X86Reg::Rcx, X86Reg::Rdx, X86Reg::Rbx]
        .into_iter()
        .zip(v)
    {
        e.reg_write(r, u64::from(x)).unwrap();
    }
    e
}

#[test]
fn x86_flags_seen_by_hooks_and_stops() {
    // The lifter skips the flag work of an instruction whose flags a later one of the unit
    // overwrites before any read; a code hook, a stop address or an instruction count in
    // between sees RFLAGS there, so it must be exact: compared with native execution.
    let rflags = |e: &Engine, m: u64| e.reg_read(X86Reg::Rflags).unwrap() & m;
    for v in [
        [0x8000_0001, 0x7fff_ffff, 1, 2],
        [0x4000_0000, 0xffff_ffff, 0xffff_ffff, 1],
        [3, 0x0f, 0x8000_0000, 0x8000_0000],
        [0, 0xffff_fffe, 5, 0xffff_fffb],
    ] {
        let want = x86_native_flags(v[0], v[1], v[2], v[3]);
        let masks = [0x8c5, 0x8d5, 0x8d5];
        // Code hooks on the second and third instruction.
        let mut e = x86_flags_engine(v);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        e.hook_add_code(CODE + 2, CODE + 4, move |vc, pc, _| {
            let f = vc.reg_read(X86Reg::Rflags).unwrap();
            s.lock().unwrap().push((pc, f));
        });
        e.start(CODE, CODE + 6, None, 0).unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{v:x?}");
        for (k, &(pc, f)) in seen.iter().enumerate() {
            assert_eq!(pc, CODE + 2 + 2 * k as u64);
            assert_eq!(f & masks[k], want[k], "code hook at {pc:#x}, {v:x?}");
        }
        assert_eq!(rflags(&e, masks[2]), want[2], "end, {v:x?}");
        // A stop address, then an instruction count.
        for k in 0..2 {
            let mut e = x86_flags_engine(v);
            e.start(CODE, CODE + 2 + 2 * k as u64, None, 0).unwrap();
            assert_eq!(rflags(&e, masks[k]), want[k], "until, {k}, {v:x?}");
            let mut e = x86_flags_engine(v);
            e.start(CODE, CODE + 6, None, k as u64 + 1).unwrap();
            assert_eq!(e.reg_read(X86Reg::Rip).unwrap(), CODE + 2 + 2 * k as u64);
            assert_eq!(rflags(&e, masks[k]), want[k], "count, {k}, {v:x?}");
        }
    }
}

/// `cmp A, B; b.eq/jz over the next instruction; add C, 1` on `arch` (x86-64 compares the
/// 32-bit halves): a code hook on the branch flips the zero flag; the branch must follow the
/// hook's flags (the lifter may not branch on the compare's operands across the hook).
fn code_hook_writes_flags(arch: Arch) {
    // (code, A, B, C, flags register, its Z bit, the branch's offset, 32-bit compare)
    let (code, [ra, rb, rc], flags, z, branch, cmp32): (Vec<u8>, [Reg; 3], Reg, u64, u64, bool) =
        match arch {
            Arch::X86_64 => (
                vec![0x39, 0xd8, 0x74, 0x02, 0xff, 0xc1], // cmp eax, ebx; jz +2; inc ecx
                [X86Reg::Rax.into(), X86Reg::Rbx.into(), X86Reg::Rcx.into()],
                X86Reg::Rflags.into(),
                0x40,
                2,
                true,
            ),
            Arch::Aarch64 => (
                // cmp x0, x1; b.eq +8; add x2, x2, #1
                [0xeb01_001fu32, 0x5400_0040, 0x9100_0442]
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .collect(),
                [
                    Arm64Reg::X(0).into(),
                    Arm64Reg::X(1).into(),
                    Arm64Reg::X(2).into(),
                ],
                Arm64Reg::Nzcv.into(),
                0x4000_0000,
                4,
                false,
            ),
            Arch::Riscv64 => unreachable!("riscv64 has no flags"),
        };
    for (a, b) in [(5u64, 5u64), (5, 6), (0, u64::MAX)] {
        let mut e = Engine::new(arch, Mode::Mode64).unwrap();
        e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
        e.mem_write(CODE, &code).unwrap();
        e.reg_write(ra, a).unwrap();
        e.reg_write(rb, b).unwrap();
        e.reg_write(rc, 0).unwrap();
        e.hook_add_code(CODE + branch, CODE + branch, move |v, _, _| {
            let f = v.reg_read(flags).unwrap();
            v.reg_write(flags, f ^ z).unwrap();
        });
        e.start(CODE, CODE + code.len() as u64, None, 0).unwrap();
        let taken = if cmp32 { a as u32 != b as u32 } else { a != b };
        assert_eq!(
            e.reg_read(rc).unwrap(),
            u64::from(!taken),
            "{arch:?} {a:#x} {b:#x}"
        );
    }
}

#[test]
fn x86_code_hook_writes_flags() {
    code_hook_writes_flags(Arch::X86_64);
}

#[test]
fn aarch64_code_hook_writes_flags() {
    code_hook_writes_flags(Arch::Aarch64);
}

#[test]
fn aarch64_flags_seen_by_code_hook() {
    // `cmp x0, x1; cmp x2, x3; b.ne +4`: the second compare overwrites the first's NZCV; a
    // code hook on it sees the first's, computed here from the subtraction's meaning.
    let code: Vec<u8> = [0xeb01_001fu32, 0xeb03_005f, 0x5400_0021]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let nzcv = |a: u64, b: u64| {
        let d = a.wrapping_sub(b);
        let v = ((a ^ b) & (a ^ d)) >> 63;
        (d >> 63) << 31 | u64::from(d == 0) << 30 | u64::from(a >= b) << 29 | v << 28
    };
    for (a, b) in [(5u64, 5u64), (5, 6), (0, u64::MAX), (1 << 63, 1), (7, 3)] {
        let mut e = Engine::new(Arch::Aarch64, Mode::Mode64).unwrap();
        e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
        e.mem_write(CODE, &code).unwrap();
        for (r, x) in [(0, a), (1, b), (2, b), (3, a)] {
            e.reg_write(Arm64Reg::X(r), x).unwrap();
        }
        let seen = Arc::new(AtomicU64::new(u64::MAX));
        let s = seen.clone();
        e.hook_add_code(CODE + 4, CODE + 4, move |v, _, _| {
            s.store(v.reg_read(Arm64Reg::Nzcv).unwrap(), Ordering::Relaxed);
        });
        e.start(CODE, CODE + 12, None, 0).unwrap();
        assert_eq!(seen.load(Ordering::Relaxed), nzcv(a, b), "{a:#x} {b:#x}");
        assert_eq!(
            e.reg_read(Arm64Reg::Nzcv).unwrap(),
            nzcv(b, a),
            "{a:#x} {b:#x}"
        );
    }
}

/// Runs `code` (assembled, entry at its start) with `regs` set, returning at `END`.
fn run_cas128(
    arch: Arch,
    src: &str,
    hooks: bool,
    regs: &[(Reg, u64)],
    data: [u64; 2],
) -> Cas128Run {
    let p = assemble_src(arch, src);
    let mut e = Engine::new(arch, Mode::Mode64).unwrap();
    e.mem_map(CODE, 0x10000, Perm::READ | Perm::EXEC).unwrap();
    e.mem_write(CODE, &p.code).unwrap();
    e.mem_map(STACK - 0x10000, 0x10000, Perm::READ | Perm::WRITE)
        .unwrap();
    e.mem_map(DATA, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    e.mem_write(DATA + 0x10, &data[0].to_le_bytes()).unwrap();
    e.mem_write(DATA + 0x18, &data[1].to_le_bytes()).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let wide = Arc::new(Mutex::new(Vec::new()));
    if hooks {
        let (l, w) = (log.clone(), wide.clone());
        let pc: Reg = if arch == Arch::X86_64 {
            X86Reg::Rip.into()
        } else {
            Arm64Reg::Pc.into()
        };
        e.hook_add_mem(
            MemHookKind::READ | MemHookKind::WRITE | MemHookKind::READ_AFTER,
            DATA,
            DATA + 0xfff,
            move |v, kind, addr, size, value| {
                let pc = v.reg_read(pc).unwrap();
                l.lock().unwrap().push((kind, pc, addr, size, value));
                // a 16-byte access's whole value: its low half is the hook's value
                let wide = v.mem_value128();
                assert_eq!(wide.is_some(), size == 16);
                if let Some(x) = wide {
                    assert_eq!(x as u64 as i64, value);
                    w.lock().unwrap().push((kind, x));
                }
                true
            },
        );
    }
    for &(r, v) in regs {
        e.reg_write(r, v).unwrap();
    }
    if arch == Arch::X86_64 {
        e.mem_write(STACK - 8, &END.to_le_bytes()).unwrap();
        e.reg_write(X86Reg::Rsp, STACK - 8).unwrap();
    } else {
        e.reg_write(Arm64Reg::X(30), END).unwrap();
    }
    e.start(CODE, END, None, 0).unwrap();
    let mut b = [0u8; 16];
    e.mem_read(DATA + 0x10, &mut b).unwrap();
    let mem = [
        u64::from_le_bytes(b[..8].try_into().unwrap()),
        u64::from_le_bytes(b[8..].try_into().unwrap()),
    ];
    let log = log.lock().unwrap().clone();
    let wide = wide.lock().unwrap().clone();
    Cas128Run { e, mem, log, wide }
}

struct Cas128Run {
    e: Engine,
    mem: [u64; 2],
    log: Vec<(MemHookKind, u64, u64, usize, i64)>,
    /// The 16-byte accesses' kinds and whole values (`Vcpu::mem_value128`).
    wide: Vec<(MemHookKind, u128)>,
}

fn u128_of(v: [u64; 2]) -> u128 {
    u128::from(v[1]) << 64 | u128::from(v[0])
}

#[test]
fn cas128_memory_hooks() {
    // The 16-byte compare-and-swaps (x86 cmpxchg16b, aarch64 casp and stxp of 64-bit pairs)
    // are one 16-byte access at the guest's address for memory hooks: read, read-after (the
    // old low half) and, only when the comparison succeeds, write (the new low half);
    // stxp shows only its write. Registers and memory are the same with and without hooks.
    let (r, ra, w) = (
        MemHookKind::READ,
        MemHookKind::READ_AFTER,
        MemHookKind::WRITE,
    );
    let at = DATA + 0x10;
    let old = [0x1111_0000_0000_0011, 0x2222_0000_0000_0022];
    let new = [0xaaaa_0000_0000_00aa, 0xbbbb_0000_0000_00bb];
    let x86 = ".intel_syntax noprefix\n lock cmpxchg16b [rsi]\n ret\n";
    for hit in [true, false] {
        let expect_hi = if hit { old[1] } else { 0x3333 };
        let regs: Vec<(Reg, u64)> = vec![
            (X86Reg::Rsi.into(), at),
            (X86Reg::Rax.into(), old[0]),
            (X86Reg::Rdx.into(), expect_hi),
            (X86Reg::Rbx.into(), new[0]),
            (X86Reg::Rcx.into(), new[1]),
        ];
        let mut want = vec![(r, CODE, at, 16, 0), (ra, CODE, at, 16, old[0] as i64)];
        if hit {
            want.push((w, CODE, at, 16, new[0] as i64));
        }
        for hooks in [false, true] {
            let run = run_cas128(Arch::X86_64, x86, hooks, &regs, old);
            let what = format!("x86 hit {hit} hooks {hooks}");
            assert_eq!(run.mem, if hit { new } else { old }, "{what}");
            // rdx:rax = what memory held (unchanged on success)
            assert_eq!(run.e.reg_read(X86Reg::Rax).unwrap(), old[0], "{what}");
            assert_eq!(run.e.reg_read(X86Reg::Rdx).unwrap(), old[1], "{what}");
            let zf = run.e.reg_read(X86Reg::Rflags).unwrap() >> 6 & 1;
            assert_eq!(zf, u64::from(hit), "{what}");
            assert_eq!(run.log, if hooks { want.clone() } else { vec![] }, "{what}");
            let mut wide = vec![(r, 0), (ra, u128_of(old))];
            if hit {
                wide.push((w, u128_of(new)));
            }
            assert_eq!(run.wide, if hooks { wide } else { vec![] }, "{what}");
        }
    }
    // casp x0, x1, x2, x3, [x4]; then ldxp/stxp on the same 16 bytes (storing x2+1:x3+1)
    let a64 = ".arch armv8.1-a\n casp x0, x1, x2, x3, [x4]\n ldxp x5, x6, [x4]\n \
               add x2, x2, #1\n add x3, x3, #1\n stxp w7, x2, x3, [x4]\n ret\n";
    for hit in [true, false] {
        let expect_hi = if hit { old[1] } else { 0x3333 };
        let regs: Vec<(Reg, u64)> = vec![
            (Arm64Reg::X(4).into(), at),
            (Arm64Reg::X(0).into(), old[0]),
            (Arm64Reg::X(1).into(), expect_hi),
            (Arm64Reg::X(2).into(), new[0]),
            (Arm64Reg::X(3).into(), new[1]),
        ];
        let after_casp = if hit { new } else { old };
        let mut want = vec![(r, CODE, at, 16, 0), (ra, CODE, at, 16, old[0] as i64)];
        if hit {
            want.push((w, CODE, at, 16, new[0] as i64));
        }
        for hooks in [false, true] {
            let mut run = run_cas128(Arch::Aarch64, a64, hooks, &regs, old);
            let what = format!("aarch64 hit {hit} hooks {hooks}");
            assert_eq!(run.mem, [new[0] + 1, new[1] + 1], "{what}");
            let x = |run: &mut Cas128Run, n| run.e.reg_read(Arm64Reg::X(n)).unwrap();
            assert_eq!([x(&mut run, 0), x(&mut run, 1)], old, "{what}");
            assert_eq!([x(&mut run, 5), x(&mut run, 6)], after_casp, "{what}");
            assert_eq!(x(&mut run, 7), 0, "{what}: stxp status");
            if hooks {
                // the casp, then the ldxp's reads (whatever their shape), then stxp's write
                let (casp, rest) = run.log.split_at(want.len().min(run.log.len()));
                assert_eq!(casp, &want[..], "{what}");
                assert_eq!(
                    rest.last(),
                    Some(&(w, CODE + 16, at, 16, (new[0] + 1) as i64)),
                    "{what}: {rest:x?}"
                );
                assert!(
                    rest[..rest.len() - 1]
                        .iter()
                        .all(|e| e.0 != w && e.1 == CODE + 4),
                    "{what}: {rest:x?}"
                );
                let mut wide = vec![(r, 0), (ra, u128_of(old))];
                if hit {
                    wide.push((w, u128_of(new)));
                }
                wide.push((w, u128_of([new[0] + 1, new[1] + 1])));
                assert_eq!(run.wide, wide, "{what}");
            } else {
                assert_eq!(run.log, vec![], "{what}");
            }
        }
    }
}

#[test]
fn cas128_fault_hook() {
    // A 16-byte compare-and-swap on unmapped memory: the fault hook sees one access of 16
    // bytes at its address, compiled inline or through the memory helpers.
    let p = assemble_src(
        Arch::X86_64,
        ".intel_syntax noprefix\n lock cmpxchg16b [rsi]\n ret\n",
    );
    for helpers in [false, true] {
        let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
        e.mem_map(CODE, 0x1000, Perm::READ | Perm::EXEC).unwrap();
        e.mem_write(CODE, &p.code).unwrap();
        if helpers {
            e.hook_add_mem(MemHookKind::READ, 1, 0, |_, _, _, _, _| true);
        }
        let faults = unmapped_hook(&mut e, false);
        e.reg_write(X86Reg::Rsi, LAZY + 0x20).unwrap();
        assert_eq!(
            e.start(CODE, END, None, 0),
            Err(Error::WriteUnmapped(LAZY + 0x20)),
            "helpers: {helpers}"
        );
        assert_eq!(
            *faults.lock().unwrap(),
            vec![(MemHookKind::WRITE_UNMAPPED, LAZY + 0x20, 16)],
            "helpers: {helpers}"
        );
    }
}
