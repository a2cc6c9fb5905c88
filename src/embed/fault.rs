//! Which access of a guest instruction faulted: its kind, address and size, for the fault
//! hooks. Compiled code reports only that an access of the instruction faulted (and where the
//! host fault hit), so the instruction is lifted again and run once in the IR interpreter, on
//! a copy of the CPU state, over a memory that only checks accesses (no store lands, no MMIO
//! callback runs): the first access it refuses is the one that faulted.

use std::cell::Cell;

use xlat_ir::abi::CpuState;
use xlat_ir::interp::{GuestMem, MemFault, Prepared};
use xlat_ir::{AtomicOp, MemOp, Opcode};

use super::Arch;
use super::engine::EngineCore as Core;
use super::hooks::{EXC_LOAD_FAULT, EXC_STORE_FAULT, MemHookKind};
use super::mem::EmbedMem;
use super::{Perm, Region};

/// Accesses a replayed instruction may make before the replay gives up (a `rep` string
/// instruction whose fault lies far ahead).
const MAX_ACCESSES: u32 = 1 << 16;

/// Checks the accesses of a replayed instruction against the engine's memory.
struct Probe<'a> {
    mem: &'a EmbedMem,
    regions: &'a [Region],
    /// The first refused access: `(store, address, size)`.
    fault: Cell<Option<(bool, u64, usize)>>,
    accesses: Cell<u32>,
}

impl Probe<'_> {
    /// Whether `[addr, addr + size)` allows `need` (MMIO and host regions by their own rules).
    fn allowed(&self, addr: u64, size: u64, need: Perm) -> bool {
        let end = addr.saturating_add(size);
        if let Some(r) = self
            .regions
            .iter()
            .find(|r| r.begin <= addr && addr <= r.end)
            && self.mem.is_special(addr)
        {
            return end - 1 <= r.end && r.perms.contains(need);
        }
        self.mem.space.vmas().covered(addr, end, need.0)
    }

    fn check(&self, store: bool, addr: u64, mem: MemOp, need: Perm) -> Result<(), MemFault> {
        let n = self.accesses.get() + 1;
        self.accesses.set(n);
        let size = mem.bytes() as usize;
        if n > MAX_ACCESSES || !self.allowed(addr, size as u64, need) {
            if n <= MAX_ACCESSES {
                self.fault.set(Some((store, addr, size)));
            }
            return Err(MemFault {
                code: if store {
                    EXC_STORE_FAULT
                } else {
                    EXC_LOAD_FAULT
                },
                addr,
            });
        }
        Ok(())
    }

    /// The current value (0 for MMIO, whose read callback must not run twice).
    fn value(&self, addr: u64, mem: MemOp) -> Result<u64, MemFault> {
        if self.mem.is_special(addr) {
            return Ok(0);
        }
        self.mem.space.load(addr, mem)
    }
}

impl GuestMem for Probe<'_> {
    fn load(&self, addr: u64, mem: MemOp) -> Result<u64, MemFault> {
        self.check(false, addr, mem, Perm::READ)?;
        self.value(addr, mem)
    }
    fn store(&self, addr: u64, mem: MemOp, _: u64) -> Result<(), MemFault> {
        self.check(true, addr, mem, Perm::WRITE)
    }
    fn atomic_rmw(&self, addr: u64, mem: MemOp, _: AtomicOp, _: u64) -> Result<u64, MemFault> {
        self.check(true, addr, mem, Perm(Perm::READ.0 | Perm::WRITE.0))?;
        self.value(addr, mem)
    }
    fn atomic_cas(&self, addr: u64, mem: MemOp, _: u64, _: u64) -> Result<u64, MemFault> {
        self.check(true, addr, mem, Perm(Perm::READ.0 | Perm::WRITE.0))?;
        self.value(addr, mem)
    }
    /// One access of 16 bytes (not two of 8), as the guest's.
    fn atomic_cas128(
        &self,
        addr: u64,
        mem: MemOp,
        _: [u64; 2],
        _: [u64; 2],
    ) -> Result<[u64; 2], MemFault> {
        let whole = MemOp {
            size_log2: 4,
            ..mem
        };
        self.check(true, addr, whole, Perm(Perm::READ.0 | Perm::WRITE.0))?;
        let half = MemOp {
            size_log2: 3,
            ..mem
        };
        Ok([
            self.value(addr, half)?,
            self.value(addr.wrapping_add(8), half)?,
        ])
    }
}

/// The access of the instruction at `env.pc` that faults: `(kind, address, size)`, or `None`
/// when the replay finds none (the memory changed since, or the instruction is too long).
pub(crate) fn faulting_access(core: &Core, env: &CpuState) -> Option<(MemHookKind, u64, usize)> {
    let unit = core.frontend.translate(env.pc, &*core.mem, 1);
    let prep = Prepared::new(&unit);
    let mut st = CpuState::new_boxed();
    st.pc = env.pc;
    st.regs = env.regs;
    st.guest_base = env.guest_base;
    let regions = super::engine::mem_regions(core);
    let probe = Probe {
        mem: &core.mem,
        regions: &regions,
        fault: Cell::new(None),
        accesses: Cell::new(0),
    };
    let mut temps = Vec::new();
    xlat_ir::interp::run(&unit, &prep, &mut st, &probe, &mut temps);
    let (store, mut addr, mut size) = probe.fault.get()?;
    // A byte or halfword atomic faults on the word the lifter works on: report the guest's
    // own access (the address the word's was computed from, as the replay left it).
    if size == 4
        && unit
            .insts
            .iter()
            .any(|i| matches!(i.op, Opcode::AtomicCas | Opcode::AtomicRmw))
        && let Some(n) =
            super::atomic::classify(core.arch, &*core.mem, env.pc).and_then(|g| g.narrow)
        && let Some(x) = unit.insts.iter().enumerate().find_map(|(k, i)| {
            matches!(i.op, Opcode::Load | Opcode::AtomicCas)
                .then(|| super::atomic::narrow_addr(&unit.insts, k, i.src[0]))
                .flatten()
        })
        && let Some(&v) = temps.get(x.0 as usize)
        && v & !3 == addr
    {
        (addr, size) = (v, n as usize);
    }
    // Mapped: both ends (an access is at most 16 bytes; mappings are whole pages) are in
    // RAM below 2^39 or a special region (RAM above it too).
    let at = |a: u64| {
        core.mem.is_special(a) || (a < super::mem::HIGH && core.mem.space.vmas().find(a).is_some())
    };
    let mapped = at(addr) && at(addr.saturating_add(size.max(1) as u64 - 1));
    let kind = match (store, mapped) {
        (false, false) => MemHookKind::READ_UNMAPPED,
        (true, false) => MemHookKind::WRITE_UNMAPPED,
        (false, true) => MemHookKind::READ_PROT,
        (true, true) => MemHookKind::WRITE_PROT,
    };
    Some((kind, addr, size))
}

/// The size a fetch fault at `addr` reports for the instruction at `pc`: the instruction's
/// bytes from `addr` on when its length is known from the bytes before `addr` (riscv: from its
/// first parcel; aarch64: always 4; x86: from its prefixes, opcode, ModRM and SIB bytes), else
/// the first fetch the decoder makes there (x86: one byte; riscv: a 16-bit parcel).
pub(crate) fn fetch_size(core: &Core, pc: u64, addr: u64) -> usize {
    let off = addr.saturating_sub(pc) as usize;
    match core.arch {
        Arch::Aarch64 => 4usize.saturating_sub(off).max(1),
        Arch::Riscv64 => match off {
            0 => 2,
            _ => {
                let mut b = [0u8; 2];
                let len: usize = if core.mem_read(pc, &mut b).is_ok() && b[0] & 3 == 3 {
                    4
                } else {
                    2
                };
                len.saturating_sub(off).max(1)
            }
        },
        Arch::X86_64 => x86_fetch_size(core, pc, off),
    }
}

/// x86-64: the bytes of the instruction at `pc` from `off` on, when the bytes before `off`
/// fix its length (the page ends inside a displacement or an immediate); else 1, the byte
/// the decoder fetches next (an opcode, ModRM or SIB byte).
fn x86_fetch_size(core: &Core, pc: u64, off: usize) -> usize {
    use iced_x86::{Decoder, DecoderOptions};
    let mut bytes = [0u8; 15];
    if off == 0 || off >= bytes.len() || core.mem_read(pc, &mut bytes[..off]).is_err() {
        return 1;
    }
    // The length is fixed when no value of the first missing byte (the others zero or all
    // ones) changes it.
    let mut len = None;
    for fill in [0u8, 0xff] {
        bytes[off + 1..].fill(fill);
        for b in 0..=255u8 {
            bytes[off] = b;
            let mut d = Decoder::with_ip(64, &bytes, pc, DecoderOptions::NONE);
            let i = d.decode();
            if i.is_invalid() || *len.get_or_insert(i.len()) != i.len() {
                return 1;
            }
        }
    }
    len.map_or(1, |l: usize| l.saturating_sub(off).max(1))
}
