//! Hooks: the table of installed callbacks, the frontend wrapper that compiles calls to them
//! into translated code, and the helpers those calls reach.
//!
//! Instrumentation happens when a unit is translated ([`HookedFrontend::translate`]): an
//! instruction that a code hook, a block hook (first instruction of a unit), an instruction
//! count or a `start(.., until, ..)` address covers gets one call to [`INSN_HELPER`] before it;
//! while any memory hook or MMIO/host region exists, every load and store becomes a call to
//! [`LOAD_HELPER`]/[`STORE_HELPER`]. With nothing installed the frontend's unit is returned
//! untouched: no cost. Adding or removing a hook invalidates exactly the translations of the
//! hooked range (everything for unbounded ranges and memory hooks).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use xlat_ir::abi::CpuState;
use xlat_ir::{
    AtomicOp, CodeFetch, Frontend, Helper, HelperFlags, Inst, MemOp, Opcode, Temp, TrapClass, Ty,
    Unit, UserAbi,
};

use super::Vcpu;
use super::atomic::{self, Guest, Kind};
use super::engine::Core;

mod cas128;

/// Identifies an installed hook, for [`super::Engine::hook_del`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookId(pub u64);

/// Kinds of memory access a memory hook can watch (bit flags, combine with `|`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemHookKind(pub u32);

impl MemHookKind {
    /// Before a load (the value is 0).
    pub const READ: MemHookKind = MemHookKind(1);
    /// Before a store (with the value stored).
    pub const WRITE: MemHookKind = MemHookKind(2);
    /// Before an instruction fetch (once per instruction, with its size).
    pub const FETCH: MemHookKind = MemHookKind(4);
    /// After a load, with the value read.
    pub const READ_AFTER: MemHookKind = MemHookKind(8);
    /// A load from an unmapped address.
    pub const READ_UNMAPPED: MemHookKind = MemHookKind(16);
    /// A store to an unmapped address.
    pub const WRITE_UNMAPPED: MemHookKind = MemHookKind(32);
    /// An instruction fetch from an unmapped address.
    pub const FETCH_UNMAPPED: MemHookKind = MemHookKind(64);
    /// A load from a mapped address without read permission.
    pub const READ_PROT: MemHookKind = MemHookKind(128);
    /// A store to a mapped address without write permission.
    pub const WRITE_PROT: MemHookKind = MemHookKind(256);
    /// An instruction fetch from a mapped address without exec permission.
    pub const FETCH_PROT: MemHookKind = MemHookKind(512);
    /// Every unmapped kind.
    pub const UNMAPPED: MemHookKind = MemHookKind(16 | 32 | 64);
    /// Every protection kind.
    pub const PROT: MemHookKind = MemHookKind(128 | 256 | 512);

    /// Whether any kind of `other` is in `self`.
    pub fn intersects(self, other: MemHookKind) -> bool {
        self.0 & other.0 != 0
    }

    /// Kinds seen while the access runs (not faults).
    const ACCESS: u32 = 1 | 2 | 8;
}

impl std::ops::BitOr for MemHookKind {
    type Output = MemHookKind;
    fn bitor(self, o: MemHookKind) -> MemHookKind {
        MemHookKind(self.0 | o.0)
    }
}

/// The access a memory hook is called for: exactly one [`MemHookKind`] bit.
pub type MemAccess = MemHookKind;

/// Instructions with their own hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Insn {
    /// The system call instruction: `syscall` (x86-64), `ecall` (riscv64), `svc` (aarch64).
    /// The hook sees the pc of the instruction; execution goes on after it unless the hook
    /// writes the pc.
    Syscall,
    /// x86-64 `cpuid`: the hook runs after the instruction computed its results, and may
    /// change them (rax, rbx, rcx, rdx).
    Cpuid,
}

/// A code or block hook: `(vcpu, address, size)`.
pub type CodeCb = Box<dyn FnMut(&mut Vcpu<'_>, u64, u32) + Send>;
/// A memory hook: `(vcpu, access, address, size, value) -> handled`. The result matters for
/// fault kinds only: `true` retries the access (the hook mapped or unprotected the memory),
/// `false` lets the fault stop the emulation.
pub type MemCb = Box<dyn FnMut(&mut Vcpu<'_>, MemAccess, u64, usize, i64) -> bool + Send>;
/// An interrupt hook: `(vcpu, exception number)`, for guest exceptions nothing else handles.
pub type IntrCb = Box<dyn FnMut(&mut Vcpu<'_>, u32) + Send>;
/// An instruction hook: `(vcpu)`.
pub type InsnCb = Box<dyn FnMut(&mut Vcpu<'_>) + Send>;
/// An x86-64 `in`/`out` hook: `(vcpu, port, size in bytes, value written by out or None
/// for in) -> value read by in` (ignored for out).
pub type InOutCb = Box<dyn FnMut(&mut Vcpu<'_>, u16, u32, Option<u32>) -> u32 + Send>;
/// An invalid-instruction hook: `(vcpu) -> handled`; `true` goes on at the pc the hook set.
pub type InvalidCb = Box<dyn FnMut(&mut Vcpu<'_>) -> bool + Send>;

pub(crate) enum Callback {
    Code(CodeCb),
    Block(CodeCb),
    Mem(MemCb),
    Intr(IntrCb),
    Insn(InsnCb),
    InOut(InOutCb),
    Invalid(InvalidCb),
}

pub(crate) struct Hook {
    pub id: u64,
    pub begin: u64,
    pub end: u64,
    cb: std::cell::UnsafeCell<Callback>,
    /// The callback's kind.
    pub tag: Tag,
}

// SAFETY: a hook is shared (through `Arc`) between the engine's hook table and its dispatch
// list, both owned by one `Engine`; the callback cell is only reached through
// `Hook::callback`, called by the engine's dispatch code, which runs on the thread that holds
// the `Engine` (its `Core` is not `Sync`). The other fields are immutable.
unsafe impl Sync for Hook {}

impl Hook {
    pub fn new(id: u64, tag: Tag, begin: u64, end: u64, cb: Callback) -> Hook {
        Hook {
            id,
            begin,
            end,
            cb: std::cell::UnsafeCell::new(cb),
            tag,
        }
    }

    /// The callback, for the dispatch code.
    ///
    /// # Safety
    /// Only from the thread that owns the engine, and not while another reference returned
    /// by this is live (callbacks are never re-entered: guest code does not run inside one).
    #[allow(
        clippy::mut_from_ref,
        reason = "single-threaded dispatch, see the Sync impl"
    )]
    pub unsafe fn callback(&self) -> &mut Callback {
        // SAFETY: the caller upholds the contract above.
        unsafe { &mut *self.cb.get() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Code,
    Block,
    Mem(u32),
    Intr,
    Insn(Insn),
    InOut,
    Invalid,
}

impl Hook {
    pub fn covers(&self, addr: u64) -> bool {
        // Unicorn's convention: begin > end means every address.
        self.begin > self.end || (self.begin..=self.end).contains(&addr)
    }
    fn overlaps(&self, start: u64, len: u64) -> bool {
        self.begin > self.end || (self.begin <= start.saturating_add(len) && start <= self.end)
    }
    /// The guest range whose translations depend on this hook, or `None` for all of them.
    pub fn range(&self) -> Option<(u64, u64)> {
        match self.tag {
            Tag::Code | Tag::Block if self.begin <= self.end => {
                Some((self.begin, self.end - self.begin + 1))
            }
            Tag::Code | Tag::Block => None,
            Tag::Mem(m) if m & MemHookKind::FETCH.0 != 0 && self.begin <= self.end => {
                Some((self.begin, self.end - self.begin + 1))
            }
            Tag::Mem(m) if m & (MemHookKind::ACCESS | MemHookKind::FETCH.0) != 0 => None,
            Tag::Insn(Insn::Cpuid) => None,
            // Fault, interrupt and instruction hooks are called from the exec loop.
            _ => Some((0, 0)),
        }
    }
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook")
            .field("id", &self.id)
            .field("tag", &self.tag)
            .field("begin", &format_args!("{:#x}", self.begin))
            .field("end", &format_args!("{:#x}", self.end))
            .finish()
    }
}

/// Installed hooks and what translation must instrument.
#[derive(Debug, Default)]
pub(crate) struct HookTable {
    pub hooks: Vec<Arc<Hook>>,
    pub next_id: u64,
    /// `until` addresses instrumented so far.
    pub untils: std::collections::BTreeSet<u64>,
    /// Every instruction counts towards `start(.., count)`.
    pub counting: bool,
    /// Memory ops go through helpers (memory hooks or MMIO/host regions exist).
    pub mem_slow: bool,
    /// MMIO or host regions exist.
    pub special_regions: bool,
}

impl HookTable {
    /// Whether loads and stores must go through the helpers.
    pub fn want_mem_slow(&self) -> bool {
        self.special_regions
            || self
                .hooks
                .iter()
                .any(|h| matches!(h.tag, Tag::Mem(m) if m & MemHookKind::ACCESS != 0))
    }

    /// What the instruction at `pc` needs (`INSN_*` bits), `first` being a unit's first.
    fn insn_flags(&self, pc: u64, size: u64, first: bool) -> u64 {
        let mut f = 0;
        if self.counting {
            f |= INSN_COUNT;
        }
        if self.untils.contains(&pc) {
            f |= INSN_UNTIL;
        }
        for h in &self.hooks {
            let hit = h.covers(pc) || (size > 1 && h.overlaps(pc, size - 1));
            match h.tag {
                Tag::Code if hit => f |= INSN_CODE,
                Tag::Block if first && h.covers(pc) => f |= INSN_BLOCK,
                Tag::Mem(m) if m & MemHookKind::FETCH.0 != 0 && hit => f |= INSN_FETCH,
                _ => {}
            }
        }
        f
    }
}

/// Bits of the instruction helper's second argument (above the instruction's and the
/// block's sizes).
pub(crate) const INSN_BLOCK: u64 = 1 << 56;
pub(crate) const INSN_COUNT: u64 = 1 << 57;
pub(crate) const INSN_UNTIL: u64 = 1 << 58;
pub(crate) const INSN_CODE: u64 = 1 << 59;
pub(crate) const INSN_FETCH: u64 = 1 << 60;
/// A memop bit free in user mode (between the flags and the MMU index): the pc of a memory
/// helper's `pc << 16 | memop` argument had its top 16 bits set.
const PC_HIGH: u64 = 0x80;

/// A memory helper's `pc << 16 | memop` argument (the pc's top 16 bits are all zero or all
/// one: the canonical addresses of x86-64, aarch64 and riscv64 Sv48).
fn site_arg(pc: u64, memop: u32) -> u64 {
    let high = if pc >> 48 == 0xffff { PC_HIGH } else { 0 };
    pc << 16 | u64::from(memop & 0xff7f) | high
}

/// The pc of a [`site_arg`].
fn site_pc(m: u64) -> u64 {
    let pc = m >> 16;
    if m & PC_HIGH != 0 {
        pc | 0xffff << 48
    } else {
        pc
    }
}

/// Exception codes the embedding raises itself (above every frontend's).
pub(crate) const EXC_STOP: u32 = 0x7fff_0000;
/// Hooks changed the world (hooks, mappings, the pc): leave and resynchronise.
pub(crate) const EXC_RESYNC: u32 = 0x7fff_0001;
thread_local! {
    /// The size in bytes of the access whose fault the exec loop is about to report (0:
    /// unknown); set by the memory helpers and the SIGSEGV handler, taken by the loop.
    pub(crate) static FAULT_SIZE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

thread_local! {
    /// The guest address and size of a narrow atomic whose word access faulted, set by the
    /// narrow helpers and taken by the exec loop (the replay would find the word's access).
    pub(crate) static FAULT_NARROW: std::cell::Cell<Option<(u64, u32)>> =
        const { std::cell::Cell::new(None) };
}

/// A guest load touched memory it may not (compiled code or the interpreter).
pub(crate) const EXC_LOAD_FAULT: u32 = 0x7fff_0002;
/// A guest store touched memory it may not.
pub(crate) const EXC_STORE_FAULT: u32 = 0x7fff_0003;
/// The `exit_request` bit the embedding uses for stop and resync requests.
pub(crate) const REQ_EMBED: u32 = 1;

/// The frontend the engine's backend drives: the arch's own, plus instrumentation.
#[derive(Debug)]
pub(crate) struct HookedFrontend {
    pub arch: super::Arch,
    pub inner: Arc<dyn Frontend>,
    pub table: Arc<Mutex<HookTable>>,
    /// Address of the [`Core`] helpers get (set once the core is boxed).
    pub core: std::sync::atomic::AtomicU64,
}

impl Frontend for HookedFrontend {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn translate(&self, pc: u64, code: &dyn CodeFetch, max_insns: u32) -> Unit {
        if self.arch == super::Arch::X86_64 && !x86_canonical(pc) {
            // x86-64 code at a non-canonical address is #GP, whatever is mapped there (as
            // Unicorn reports it: interrupt 13 at that pc); no hook sees an instruction.
            let mut b = xlat_ir::Builder::new(pc);
            b.insn_start(pc);
            b.raise(X86_GP, pc, None);
            return b.finish(1, 1);
        }
        let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        // A hook, count or stop at an instruction sees the state there: the frontend keeps it
        // exact (no flags left stale for a later instruction of the unit to overwrite).
        let observed = |pc: u64, size: u32| t.insn_flags(pc, u64::from(size), false) != 0;
        // A unit ends before a `start(.., until, ..)` address (as Unicorn's blocks do), and
        // one at such an address is its first instruction only: what follows it is often not
        // code the run will reach (zeroed memory lifts as a long run of memory instructions,
        // slow to compile for nothing).
        let until_end = !t.untils.is_empty() && !*NO_UNTIL_END;
        let max_insns = if until_end && t.untils.contains(&pc) {
            1
        } else {
            max_insns
        };
        let mut unit = self
            .inner
            .translate_observed(pc, code, max_insns, &observed);
        if until_end
            && let Some(k) = unit
                .insts
                .iter()
                .filter(|i| i.op == Opcode::InsnStart)
                .skip(1)
                .position(|i| t.untils.contains(&i.imm))
        {
            unit = self
                .inner
                .translate_observed(pc, code, k as u32 + 1, &observed);
        }
        let classify = |pc: u64| super::atomic::classify(self.arch, code, pc);
        instrument(unit, &t, self.core.load(Ordering::Relaxed), &classify)
    }
    fn disas(&self, pc: u64, code: &dyn CodeFetch) -> (u32, String) {
        self.inner.disas(pc, code)
    }
    fn classify_trap(&self, code: u32) -> TrapClass {
        self.inner.classify_trap(code)
    }
    fn user_abi(&self) -> &UserAbi {
        self.inner.user_abi()
    }
    fn init_user_state(&self, env: &mut CpuState) {
        self.inner.init_user_state(env)
    }
    fn registers(&self) -> Vec<(&'static str, u32)> {
        self.inner.registers()
    }
}

/// `XLAT_EMBED_NO_UNTIL_END=1`: units do not end before `until` addresses (the way before;
/// kept to measure the difference).
static NO_UNTIL_END: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("XLAT_EMBED_NO_UNTIL_END").is_some());

/// x86-64's general-protection exception (#GP).
pub(crate) const X86_GP: u32 = 13;

/// Whether `a` is a canonical x86-64 address (bits 63..47 all equal).
pub(crate) fn x86_canonical(a: u64) -> bool {
    ((a as i64) << 16 >> 16) as u64 == a
}

/// Adds the hook calls `t` asks for to `unit` (returned as is when none apply).
fn instrument(
    unit: Unit,
    t: &HookTable,
    core: u64,
    classify: &dyn Fn(u64) -> Option<Guest>,
) -> Unit {
    let starts: Vec<u64> = unit
        .insts
        .iter()
        .filter(|i| i.op == Opcode::InsnStart)
        .map(|i| i.imm)
        .collect();
    let end = unit.pc + u64::from(unit.guest_len);
    let size_of = |k: usize| {
        starts
            .get(k + 1)
            .copied()
            .unwrap_or(end)
            .saturating_sub(starts[k])
    };
    // An instruction the unit only starts, to end before it (it straddles a page), belongs
    // to the next unit: no hooks for it here.
    let ends_before = |k: usize| {
        unit.insts
            .iter()
            .skip_while(|i| !(i.op == Opcode::InsnStart && i.imm == starts[k]))
            .nth(1)
            .is_some_and(|n| n.op == Opcode::GotoTb && n.imm == starts[k])
    };
    let flags: Vec<u64> = (0..starts.len())
        .map(|k| {
            if ends_before(k) {
                0
            } else {
                t.insn_flags(starts[k], size_of(k), k == 0)
            }
        })
        .collect();
    // The block's size, for block hooks (as Unicorn's): its instructions but a straddling one.
    let block_len: u64 = (0..starts.len())
        .filter(|&k| !ends_before(k))
        .map(size_of)
        .sum();
    let cpuid = t.hooks.iter().any(|h| h.tag == Tag::Insn(Insn::Cpuid));
    let has_cpuid = cpuid && unit.insts.iter().any(|i| is_cpuid(&unit, i));
    if !t.mem_slow && !has_cpuid && flags.iter().all(|&f| f == 0) {
        return unit;
    }
    let mut u = Rewriter {
        insts: Vec::with_capacity(unit.insts.len() * 2),
        unit,
        core: Temp::NONE,
    };
    let old = std::mem::take(&mut u.unit.insts);
    // The guest atomic instructions (those with an atomic operation), decoded.
    let mut atomics = std::collections::HashMap::new();
    if t.mem_slow {
        let mut at = 0;
        for i in &old {
            match i.op {
                Opcode::InsnStart => at = i.imm,
                Opcode::AtomicCas | Opcode::AtomicRmw | Opcode::AtomicCas128 => {
                    atomics.entry(at).or_insert_with(|| classify(at));
                }
                _ => {}
            }
        }
    }
    let read_later = |idx: usize, t: Temp| {
        old[idx + 1..].iter().any(|j| {
            j.op != Opcode::InsnStart
                && (j.src.contains(&t)
                    || j.op == Opcode::AtomicCas128
                        && xlat_ir::ops::Cas128Hi::from_imm(j.imm).new_hi == t)
        })
    };
    let (mut k, mut pc) = (0usize, 0u64);
    let mut guest: Option<Guest> = None;
    for (idx, &i) in old.iter().enumerate() {
        match i.op {
            Opcode::InsnStart => {
                u.insts.push(i);
                pc = i.imm;
                guest = atomics.get(&pc).copied().flatten();
                let f = flags[k];
                if f != 0 {
                    let a = u.konst(pc);
                    // the instruction's size, above it the block's (for a block hook), and
                    // the flags
                    let s = u.konst(size_of(k) | (block_len << 16) | f);
                    let c = u.core(core);
                    u.call(&INSN_HELPER, Temp::NONE, [a, s, c, Temp::NONE]);
                }
                k += 1;
            }
            // A load of a narrow atomic: the word it works on (reported as the guest's
            // access), or a probe nothing reads (its alignment or permission check: silent).
            Opcode::Load
                if t.mem_slow
                    && let Some(g) = guest.filter(|g| g.narrow.is_some())
                    && let Some(x) = atomic::narrow_addr(&old, idx, i.src[0])
                        .filter(|_| i.imm == 0)
                        .or_else(|| (!read_later(idx, i.dst)).then_some(i.src[0])) =>
            {
                let addr = u.addr(i.src[0], i.imm);
                let quiet = g.kind == Kind::StoreCond || x == i.src[0];
                let half = g.narrow == Some(2);
                let bits = u32::from(quiet) << 6 | u32::from(half) << 5;
                let m = u.konst(site_arg(pc, i.aux & 0xff1f | bits));
                let c = u.core(core);
                if i.ty == Ty::I64 {
                    u.call(&NARROW_LOAD_HELPER, i.dst, [addr, m, c, x]);
                } else {
                    let v = u.temp(Ty::I64);
                    u.call(&NARROW_LOAD_HELPER, v, [addr, m, c, x]);
                    u.op(
                        Opcode::Trunc,
                        Ty::I32,
                        i.dst,
                        [v, Temp::NONE, Temp::NONE, Temp::NONE],
                    );
                }
            }
            Opcode::Load if t.mem_slow => {
                let addr = u.addr(i.src[0], i.imm);
                let m = u.konst(site_arg(pc, i.aux & 0xffff));
                let c = u.core(core);
                if i.ty == Ty::I64 {
                    u.call(&LOAD_HELPER, i.dst, [addr, m, c, Temp::NONE]);
                } else {
                    let v = u.temp(Ty::I64);
                    u.call(&LOAD_HELPER, v, [addr, m, c, Temp::NONE]);
                    u.op(
                        Opcode::Trunc,
                        Ty::I32,
                        i.dst,
                        [v, Temp::NONE, Temp::NONE, Temp::NONE],
                    );
                }
            }
            Opcode::Store if t.mem_slow => {
                let addr = u.addr(i.src[1], i.imm);
                let val = if u.unit.ty(i.src[0]) == Ty::I64 {
                    i.src[0]
                } else {
                    let v = u.temp(Ty::I64);
                    u.op(
                        Opcode::ExtU,
                        Ty::I64,
                        v,
                        [i.src[0], Temp::NONE, Temp::NONE, Temp::NONE],
                    );
                    v
                };
                let mut m = u.konst(site_arg(pc, i.aux & 0xffff));
                if guest.is_some_and(|g| g.kind == Kind::Cas && g.narrow.is_none())
                    && let Some(sel) = cas_select(&old, idx, i.src[0])
                {
                    // A compare-and-swap made of a load and a store (x86 `cmpxchg` split
                    // over words): the store writes the old value back when the comparison
                    // fails, which the hooks do not show (`m | QUIET_STORE` then).
                    let (q, z) = (u.konst(QUIET_STORE), u.konst(0));
                    let f = u.temp(Ty::I64);
                    u.insts.push(Inst {
                        op: Opcode::Select,
                        ty: Ty::I64,
                        dst: f,
                        src: [sel.src[0], sel.src[1], z, q],
                        imm: 0,
                        aux: sel.aux,
                    });
                    let m2 = u.temp(Ty::I64);
                    u.op(Opcode::Or, Ty::I64, m2, [m, f, Temp::NONE, Temp::NONE]);
                    m = m2;
                }
                let c = u.core(core);
                u.call(&STORE_HELPER, Temp::NONE, [addr, val, m, c]);
            }
            Opcode::AtomicRmw | Opcode::AtomicCas if t.mem_slow => {
                // The access's pc and kind go to the core first (a helper has four
                // arguments), then the access itself through the atomic helper.
                let op = if i.op == Opcode::AtomicCas {
                    ATOMIC_CAS
                } else {
                    u64::from(i.aux >> 16)
                };
                let (kind, narrow, x) = match guest {
                    Some(g) => {
                        let x = g
                            .narrow
                            .and_then(|_| atomic::narrow_addr(&old, idx, i.src[0]));
                        let n = x.and(g.narrow).unwrap_or(0);
                        (g.kind as u64 + 1, u64::from(n), x.unwrap_or(Temp::NONE))
                    }
                    None => (0, 0, Temp::NONE),
                };
                let a = u.konst(pc);
                let m = u.konst(
                    u64::from(i.aux & 0xffff)
                        | op << 16
                        | kind << SITE_KIND
                        | narrow << SITE_NARROW,
                );
                let c = u.core(core);
                let x = if x == Temp::NONE { u.konst(0) } else { x };
                u.call(&SITE_HELPER, Temp::NONE, [a, m, c, x]);
                let wide = |u: &mut Rewriter, t: Temp| {
                    if t == Temp::NONE || u.unit.ty(t) == Ty::I64 {
                        return t;
                    }
                    let v = u.temp(Ty::I64);
                    u.op(
                        Opcode::ExtU,
                        Ty::I64,
                        v,
                        [t, Temp::NONE, Temp::NONE, Temp::NONE],
                    );
                    v
                };
                let (x, y) = (wide(&mut u, i.src[1]), wide(&mut u, i.src[2]));
                let c = u.core(core);
                let args = if i.op == Opcode::AtomicCas {
                    [i.src[0], x, y, c]
                } else {
                    [i.src[0], x, c, Temp::NONE]
                };
                let helper = if i.op == Opcode::AtomicCas {
                    &CAS_HELPER
                } else {
                    &RMW_HELPER
                };
                if i.ty == Ty::I64 {
                    u.call(helper, i.dst, args);
                } else {
                    let v = u.temp(Ty::I64);
                    u.call(helper, v, args);
                    u.op(
                        Opcode::Trunc,
                        Ty::I32,
                        i.dst,
                        [v, Temp::NONE, Temp::NONE, Temp::NONE],
                    );
                }
            }
            Opcode::AtomicCas128 if t.mem_slow => {
                let kind = guest.map_or(0, |g| g.kind as u64 + 1);
                cas128::rewrite(&mut u, &i, pc, kind, core);
            }
            Opcode::Call if has_cpuid && is_cpuid(&u.unit, &i) => {
                u.insts.push(i);
                let a = u.konst(pc);
                let c = u.core(core);
                u.call(&CPUID_HELPER, Temp::NONE, [a, c, Temp::NONE, Temp::NONE]);
            }
            _ => u.insts.push(i),
        }
    }
    u.unit.insts = u.insts;
    u.unit
}

/// A [`STORE_HELPER`] memop bit (free in user mode): the store is a failed compare-and-swap's
/// write-back, not shown to the hooks.
const QUIET_STORE: u64 = 0x40;

/// The `select(cond(a, b), new, old)` (in `insts`, before `upto`) that defines the value a
/// compare-and-swap's plain store writes, when `a` and `b` are not written between it and
/// the store (temps are mutable: the last definition before `upto` counts).
fn cas_select(insts: &[Inst], upto: usize, val: Temp) -> Option<Inst> {
    let (at, d) = insts[..upto]
        .iter()
        .enumerate()
        .rev()
        .find(|(_, i)| i.dst == val)?;
    (d.op == Opcode::Select
        && d.src[3] != Temp::NONE
        && !insts[at + 1..upto]
            .iter()
            .any(|j| j.dst == d.src[0] || j.dst == d.src[1]))
    .then_some(*d)
}

/// Appends instructions to a unit being rewritten.
struct Rewriter {
    unit: Unit,
    insts: Vec<Inst>,
    core: Temp,
}

impl Rewriter {
    fn temp(&mut self, ty: Ty) -> Temp {
        self.unit.temps.push(ty);
        Temp(self.unit.temps.len() as u32 - 1)
    }
    fn op(&mut self, op: Opcode, ty: Ty, dst: Temp, src: [Temp; 4]) {
        self.insts.push(Inst {
            op,
            ty,
            dst,
            src,
            imm: 0,
            aux: 0,
        });
    }
    fn konst(&mut self, v: u64) -> Temp {
        let d = self.temp(Ty::I64);
        self.insts.push(Inst {
            op: Opcode::Const,
            ty: Ty::I64,
            dst: d,
            src: [Temp::NONE; 4],
            imm: v,
            aux: 0,
        });
        d
    }
    /// A fresh constant each time: a temp defined in one branch of the unit may not reach
    /// another.
    fn core(&mut self, core: u64) -> Temp {
        self.core = self.konst(core);
        self.core
    }
    fn addr(&mut self, base: Temp, disp: u64) -> Temp {
        if disp == 0 {
            return base;
        }
        let d = self.konst(disp);
        let a = self.temp(Ty::I64);
        self.op(Opcode::Add, Ty::I64, a, [base, d, Temp::NONE, Temp::NONE]);
        a
    }
    fn call(&mut self, h: &'static Helper, dst: Temp, src: [Temp; 4]) {
        let idx = match self.unit.helpers.iter().position(|x| std::ptr::eq(*x, h)) {
            Some(i) => i,
            None => {
                self.unit.helpers.push(h);
                self.unit.helpers.len() - 1
            }
        };
        self.insts.push(Inst {
            op: Opcode::Call,
            ty: Ty::I64,
            dst,
            src,
            imm: 0,
            aux: idx as u32,
        });
    }
}

fn is_cpuid(unit: &Unit, i: &Inst) -> bool {
    i.op == Opcode::Call && unit.helpers[i.aux as usize].name == "x86_cpuid"
}

/// After x86 `cpuid` computed its results: `(pc, core)`.
pub(crate) static CPUID_HELPER: Helper = Helper {
    name: "embed_cpuid",
    func: helper_cpuid,
    nargs: 2,
    flags: HelperFlags::ALL,
    state_words: None,
};

extern "C" fn helper_cpuid(env: &mut CpuState, pc: u64, core: u64, _: u64, _: u64) -> u64 {
    let core = core_ref(core);
    let mut v = Vcpu::new(env, core, pc);
    core.call_insn_hooks(&mut v, Insn::Cpuid);
    let redirect = v.redirect;
    after_mem_hooks(env, core, redirect);
    0
}

/// Before an instrumented instruction: `(pc, size | block size << 16 | INSN_* flags, core)`.
pub(crate) static INSN_HELPER: Helper = Helper {
    name: "embed_insn",
    func: helper_insn,
    nargs: 3,
    flags: HelperFlags::ALL,
    state_words: None,
};

/// A load: `(addr, pc << 16 | memop, core) -> value`.
pub(crate) static LOAD_HELPER: Helper = Helper {
    name: "embed_load",
    func: helper_load,
    nargs: 3,
    flags: HelperFlags::ALL,
    state_words: None,
};

/// A store: `(addr, value, pc << 16 | memop, core)`.
pub(crate) static STORE_HELPER: Helper = Helper {
    name: "embed_store",
    func: helper_store,
    nargs: 4,
    flags: HelperFlags::ALL,
    state_words: None,
};

/// The atomic access the next [`RMW_HELPER`]/[`CAS_HELPER`] call makes: `(pc, memop |
/// op << 16 | kind << SITE_KIND | narrow size << SITE_NARROW, core, guest address of a
/// narrow one)`, op an [`AtomicOp`] or [`ATOMIC_CAS`].
pub(crate) static SITE_HELPER: Helper = Helper {
    name: "embed_atomic_site",
    func: helper_site,
    nargs: 4,
    flags: HelperFlags::ALL,
    state_words: None,
};

/// An atomic read-modify-write: `(addr, value, core) -> old value`.
pub(crate) static RMW_HELPER: Helper = Helper {
    name: "embed_atomic_rmw",
    func: helper_rmw,
    nargs: 3,
    flags: HelperFlags::ALL,
    state_words: None,
};

/// An atomic compare-and-swap: `(addr, expected, new, core) -> old value`.
pub(crate) static CAS_HELPER: Helper = Helper {
    name: "embed_atomic_cas",
    func: helper_cas,
    nargs: 4,
    flags: HelperFlags::ALL,
    state_words: None,
};

/// The `op` of a site that is a compare-and-swap.
const ATOMIC_CAS: u64 = 0xff;
/// Bits of a site's kind: 0 unknown, else 1 + [`Kind`] of the guest instruction.
const SITE_KIND: u32 = 24;
/// Bits of a site's guest access size when narrower than the word (0: not narrow).
const SITE_NARROW: u32 = 26;

extern "C" fn helper_site(_: &mut CpuState, pc: u64, m: u64, core: u64, narrow: u64) -> u64 {
    core_ref(core).set_site(pc, m, narrow);
    0
}

/// A load of a narrow atomic: `(word address, site_arg(pc, memop | quiet << 6 | half << 5),
/// core, guest address) -> value`. Unless quiet, the hooks see a read and a read-after of
/// the guest's byte or halfword; a fault is reported at the guest's address and size.
pub(crate) static NARROW_LOAD_HELPER: Helper = Helper {
    name: "embed_narrow_load",
    func: helper_narrow_load,
    nargs: 4,
    flags: HelperFlags::ALL,
    state_words: None,
};

extern "C" fn helper_narrow_load(env: &mut CpuState, addr: u64, m: u64, core: u64, x: u64) -> u64 {
    let core = core_ref(core);
    let mem = MemOp::from_u32(m as u32 & 0xff1f);
    let pc = site_pc(m);
    let quiet = m & 0x40 != 0;
    let n: usize = if m & 0x20 != 0 { 2 } else { 1 };
    let hooked = if quiet {
        0
    } else {
        core.mem_hooks.load(Ordering::Relaxed)
    };
    let mut redirect = None;
    if hooked & MemHookKind::READ.0 != 0 {
        let mut v = Vcpu::new(env, core, pc);
        core.call_mem_hooks(&mut v, MemHookKind::READ, x, n, 0);
        redirect = v.redirect;
    }
    let value = match xlat_ir::interp::GuestMem::load(&*core.mem, addr, mem) {
        Ok(v) => sign_extend(v, mem),
        Err(f) => {
            FAULT_NARROW.with(|c| c.set(Some((x, n as u32))));
            env.exc_arg = x;
            env.exc_pending = f.code + 1;
            return 0;
        }
    };
    if hooked & MemHookKind::READ_AFTER.0 != 0 {
        let lane = lane(value, addr, x, n);
        let mut v = Vcpu::new(env, core, pc);
        core.call_mem_hooks(&mut v, MemHookKind::READ_AFTER, x, n, lane as i64);
        redirect = redirect.or(v.redirect);
    }
    if hooked != 0 {
        after_mem_hooks(env, core, redirect);
    }
    value
}

/// The `n` bytes at guest address `x` inside the value loaded from `addr` (its own value
/// when `addr` is `x`).
fn lane(value: u64, addr: u64, x: u64, n: usize) -> u64 {
    let sh = x.wrapping_sub(addr) * 8;
    if sh >= 64 {
        return 0;
    }
    (value >> sh) & ((1 << (8 * n)) - 1)
}

extern "C" fn helper_rmw(env: &mut CpuState, addr: u64, val: u64, core: u64, _: u64) -> u64 {
    atomic(env, core_ref(core), addr, val, 0)
}

extern "C" fn helper_cas(env: &mut CpuState, addr: u64, exp: u64, new: u64, core: u64) -> u64 {
    atomic(env, core_ref(core), addr, exp, new)
}

/// An atomic access with the memory hooks around it: read (before), read-after (the old
/// value), then, when memory changes, write (before the store, with the value stored). The
/// old value is read with a compare-and-swap that changes nothing (so the access faults as a
/// read-modify-write would), the update is a compare-and-swap from it, retried (without
/// hooks) if the memory changed meanwhile.
fn atomic(env: &mut CpuState, core: &Core, addr: u64, a: u64, b: u64) -> u64 {
    let (pc, m, x) = core.site();
    let mem = MemOp::from_u32(m as u32 & 0xffff);
    let op = (m >> 16) & 0xff;
    let kind = (m >> SITE_KIND) & 3;
    let narrow = (m >> SITE_NARROW) as usize & 7;
    if narrow != 0 {
        return narrow_atomic(env, core, addr, a, b, (pc, op, kind, x, narrow));
    }
    let store_cond = kind == Kind::StoreCond as u64 + 1;
    let size = mem.bytes() as usize;
    let ty = if size == 8 { Ty::I64 } else { Ty::I32 };
    let shown = |v: u64| {
        if size == 8 {
            v
        } else {
            v & ((1 << (8 * size)) - 1)
        }
    };
    let fault = |env: &mut CpuState, f: xlat_ir::interp::MemFault| {
        FAULT_SIZE.with(|c| c.set(size as u32));
        env.exc_arg = f.addr;
        env.exc_pending = f.code + 1;
        0
    };
    let hooked = core.mem_hooks.load(Ordering::Relaxed);
    // A store-conditional shows only its store.
    let reads = if store_cond { 0 } else { hooked };
    let mut redirect = None;
    if reads & MemHookKind::READ.0 != 0 {
        let mut v = Vcpu::new(env, core, pc);
        core.call_mem_hooks(&mut v, MemHookKind::READ, addr, size, 0);
        redirect = v.redirect;
    }
    let mem_ = &*core.mem;
    // MMIO and host regions: a plain load and store (an MMIO region sees one read and, when
    // memory changes, one write).
    let special = mem_.is_special(addr);
    let first = if special {
        xlat_ir::interp::GuestMem::load(mem_, addr, mem)
    } else {
        xlat_ir::interp::GuestMem::atomic_cas(mem_, addr, mem, 0, 0)
    };
    let mut old = match first {
        Ok(v) => shown(v),
        Err(f) => return fault(env, f),
    };
    let next = |old: u64| -> Option<u64> {
        if op == ATOMIC_CAS {
            (old == shown(a)).then_some(shown(b))
        } else {
            let o = AtomicOp::from_u32(op as u32).unwrap_or(AtomicOp::Xchg);
            Some(shown(xlat_ir::interp::atomic_apply(o, ty, old, a)))
        }
    };
    if reads & MemHookKind::READ_AFTER.0 != 0 {
        let mut v = Vcpu::new(env, core, pc);
        core.call_mem_hooks(&mut v, MemHookKind::READ_AFTER, addr, size, old as i64);
        redirect = redirect.or(v.redirect);
    }
    if let Some(new) = next(old)
        && hooked & MemHookKind::WRITE.0 != 0
    {
        let mut v = Vcpu::new(env, core, pc);
        core.call_mem_hooks(&mut v, MemHookKind::WRITE, addr, size, new as i64);
        redirect = redirect.or(v.redirect);
    }
    while let Some(new) = next(old) {
        if special {
            if let Err(f) = xlat_ir::interp::GuestMem::store(mem_, addr, mem, new) {
                return fault(env, f);
            }
            break;
        }
        match xlat_ir::interp::GuestMem::atomic_cas(mem_, addr, mem, old, new) {
            Ok(got) if shown(got) == old => break,
            Ok(got) => old = shown(got),
            Err(f) => return fault(env, f),
        }
    }
    if hooked != 0 {
        after_mem_hooks(env, core, redirect);
    }
    old
}

/// The word compare-and-swap of a narrow atomic (`x` the guest's address, `n` its size): the
/// word load before it showed the read and read-after; this shows the write of the guest's
/// byte or halfword (a compare-and-swap: when the comparison succeeds; x86 `cmpxchg`
/// compares with the accumulator, aarch64 `cas`/`stxr` reach the word CAS only when it
/// does). The word CAS itself is the lifter's (`a` the word expected, `b` the new word).
fn narrow_atomic(
    env: &mut CpuState,
    core: &Core,
    addr: u64,
    a: u64,
    b: u64,
    (pc, op, kind, x, n): (u64, u64, u64, u64, usize),
) -> u64 {
    let mem = MemOp::le(4, false);
    let hooked = core.mem_hooks.load(Ordering::Relaxed);
    let mut redirect = None;
    if hooked & MemHookKind::WRITE.0 != 0 && op == ATOMIC_CAS {
        let cur = xlat_ir::interp::GuestMem::load(&*core.mem, addr, mem).unwrap_or(a);
        let (old, new) = (lane(cur, addr, x, n), lane(b, addr, x, n));
        let wrote = match kind {
            k if k == Kind::Cas as u64 + 1 && core.arch == super::Arch::X86_64 => {
                let acc = super::X86Reg::Rax.read(env).unwrap_or(0) & ((1 << (8 * n)) - 1);
                old == acc
            }
            _ => true,
        };
        if wrote && cur & 0xffff_ffff == a & 0xffff_ffff {
            let mut v = Vcpu::new(env, core, pc);
            core.call_mem_hooks(&mut v, MemHookKind::WRITE, x, n, new as i64);
            redirect = v.redirect;
        }
    }
    let r = if op == ATOMIC_CAS {
        xlat_ir::interp::GuestMem::atomic_cas(&*core.mem, addr, mem, a, b)
    } else {
        let o = AtomicOp::from_u32(op as u32).unwrap_or(AtomicOp::Xchg);
        xlat_ir::interp::GuestMem::atomic_rmw(&*core.mem, addr, mem, o, a)
    };
    let old = match r {
        Ok(v) => v & 0xffff_ffff,
        Err(f) => {
            FAULT_NARROW.with(|c| c.set(Some((x, n as u32))));
            env.exc_arg = x;
            env.exc_pending = f.code + 1;
            return 0;
        }
    };
    if hooked != 0 {
        after_mem_hooks(env, core, redirect);
    }
    old
}

fn core_ref<'a>(core: u64) -> &'a Core {
    // SAFETY: `core` is the address of the engine's boxed `Core`, baked into units translated
    // by that core's backend engine; the core owns that backend (and with it every unit and
    // its compiled code), so it outlives any call from them. Only shared references are made.
    unsafe { &*(core as *const Core) }
}

extern "C" fn helper_insn(env: &mut CpuState, a: u64, size: u64, core: u64, _: u64) -> u64 {
    let core = core_ref(core);
    let (pc, f) = (a, size);
    if core.take_skip(pc) {
        return 0;
    }
    if f & INSN_COUNT != 0 && !core.count_insn() {
        env.exc_pending = EXC_STOP + 1;
        return 0;
    }
    if f & INSN_UNTIL != 0 && core.until.load(Ordering::Relaxed) == pc {
        env.exc_pending = EXC_STOP + 1;
        return 0;
    }
    let (size, block_len) = (size & 0xffff, (size >> 16) & 0xffff_ffff);
    let mut v = Vcpu::new(env, core, pc);
    if f & INSN_BLOCK != 0 {
        core.call_code_hooks(&mut v, Tag::Block, pc, block_len as u32);
    }
    if f & INSN_FETCH != 0 {
        core.call_mem_hooks(&mut v, MemHookKind::FETCH, pc, size as usize, 0);
    }
    if f & INSN_CODE != 0 {
        core.call_code_hooks(&mut v, Tag::Code, pc, size as u32);
    }
    let redirect = v.redirect;
    let changed = core.ctl.resync.load(Ordering::Acquire);
    if let Some(to) = redirect {
        core.set_redirect(to);
        env.exc_pending = EXC_RESYNC + 1;
    } else if core.ctl.stop.load(Ordering::Acquire) {
        env.exc_pending = EXC_STOP + 1;
    } else if changed {
        // Re-enter at this instruction with the new translations, without calling its
        // hooks a second time.
        core.set_skip(pc);
        env.exc_pending = EXC_RESYNC + 1;
    }
    0
}

fn after_mem_hooks(env: &mut CpuState, core: &Core, redirect: Option<u64>) {
    if let Some(to) = redirect {
        core.set_redirect(to);
        core.ctl.resync.store(true, Ordering::Release);
    }
    if core.ctl.resync.load(Ordering::Acquire) || core.ctl.stop.load(Ordering::Acquire) {
        // Mid-instruction: finish it, leave at the next unit entry.
        env.exit_request.fetch_or(REQ_EMBED, Ordering::AcqRel);
    }
}

fn sign_extend(v: u64, m: MemOp) -> u64 {
    let bits = m.bytes() * 8;
    if m.signed && bits < 64 {
        (((v << (64 - bits)) as i64) >> (64 - bits)) as u64
    } else {
        v
    }
}

extern "C" fn helper_load(env: &mut CpuState, addr: u64, m: u64, core: u64, _: u64) -> u64 {
    let core = core_ref(core);
    let mem = MemOp::from_u32(m as u32 & 0xff7f);
    let pc = site_pc(m);
    let size = mem.bytes() as usize;
    let hooked = core.mem_hooks.load(Ordering::Relaxed);
    let mut redirect = None;
    if hooked & MemHookKind::READ.0 != 0 {
        let mut v = Vcpu::new(env, core, pc);
        core.call_mem_hooks(&mut v, MemHookKind::READ, addr, size, 0);
        redirect = v.redirect;
    }
    let value = match xlat_ir::interp::GuestMem::load(&*core.mem, addr, mem) {
        Ok(v) => sign_extend(v, mem),
        Err(f) => {
            FAULT_SIZE.with(|c| c.set(size as u32));
            env.exc_arg = f.addr;
            env.exc_pending = f.code + 1;
            return 0;
        }
    };
    if hooked & MemHookKind::READ_AFTER.0 != 0 {
        let mut v = Vcpu::new(env, core, pc);
        core.call_mem_hooks(&mut v, MemHookKind::READ_AFTER, addr, size, value as i64);
        redirect = redirect.or(v.redirect);
    }
    if hooked != 0 {
        after_mem_hooks(env, core, redirect);
    }
    value
}

extern "C" fn helper_store(env: &mut CpuState, addr: u64, val: u64, m: u64, core: u64) -> u64 {
    let core = core_ref(core);
    let mem = MemOp::from_u32(m as u32 & 0xff1f);
    let pc = site_pc(m);
    let hooked = if m & QUIET_STORE != 0 {
        0
    } else {
        core.mem_hooks.load(Ordering::Relaxed)
    };
    let mut redirect = None;
    if hooked & MemHookKind::WRITE.0 != 0 {
        let bits = mem.bytes() * 8;
        let shown = if bits < 64 {
            val & ((1 << bits) - 1)
        } else {
            val
        };
        let mut v = Vcpu::new(env, core, pc);
        core.call_mem_hooks(
            &mut v,
            MemHookKind::WRITE,
            addr,
            mem.bytes() as usize,
            shown as i64,
        );
        redirect = v.redirect;
    }
    if let Err(f) = xlat_ir::interp::GuestMem::store(&*core.mem, addr, mem, val) {
        FAULT_SIZE.with(|c| c.set(mem.bytes()));
        env.exc_arg = f.addr;
        env.exc_pending = f.code + 1;
        return 0;
    }
    if hooked != 0 {
        after_mem_hooks(env, core, redirect);
    }
    0
}
