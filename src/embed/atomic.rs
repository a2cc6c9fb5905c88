//! What a guest atomic instruction is, for the memory hooks: the frontends lift byte and
//! halfword atomics as a compare-and-swap loop on the aligned 32-bit word (a plain load of the
//! word, then a word CAS), and store-conditionals as a CAS against the value the
//! load-exclusive read. Hooks must see the guest's own access instead: its address and size,
//! and for a store-conditional only the store it makes. The instruction is decoded when it is
//! translated; the word's accesses in its IR are then reported as the guest's.

use xlat_ir::{CodeFetch, Inst, Opcode, Temp};

use super::Arch;

/// How the guest sees an atomic instruction's memory access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A read-modify-write: read, read-after (old value), write (new value), always.
    Rmw,
    /// A compare-and-swap: read, read-after, and a write when the comparison succeeds.
    Cas,
    /// A store-conditional (riscv `sc`, aarch64 `stxr`): a write when it succeeds, nothing
    /// when it fails.
    StoreCond,
}

/// A guest atomic instruction: its kind, and its access size in bytes when narrower than 4
/// (the lifter works on the containing word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Guest {
    pub kind: Kind,
    pub narrow: Option<u32>,
}

/// Decodes the atomic instruction at `pc` (one whose IR has an atomic operation).
pub(crate) fn classify(arch: Arch, code: &dyn CodeFetch, pc: u64) -> Option<Guest> {
    match arch {
        Arch::Riscv64 => {
            let lo = code.fetch_u16(pc)?;
            let hi = code.fetch_u16(pc.wrapping_add(2))?;
            let insn = u32::from(lo) | u32::from(hi) << 16;
            (insn & 0x7f == 0x2f).then_some(Guest {
                kind: if insn >> 27 == 0b00011 {
                    Kind::StoreCond
                } else {
                    Kind::Rmw
                },
                narrow: None,
            })
        }
        Arch::Aarch64 => {
            let lo = code.fetch_u16(pc)?;
            let hi = code.fetch_u16(pc.wrapping_add(2))?;
            let insn = u32::from(lo) | u32::from(hi) << 16;
            let size = insn >> 30;
            let bit = |n: u32| insn >> n & 1 == 1;
            let kind = match (insn >> 24) & 0x3f {
                // STXR/STLXR, STXP/STLXP (not CASP: o1 with a size below 2)
                0x08 if !bit(23) && !bit(22) && (!bit(21) || size >= 2) => Kind::StoreCond,
                0x08 if bit(23) && bit(21) => Kind::Cas,
                0x38 if bit(21) && (insn >> 10) & 3 == 0 => Kind::Rmw,
                _ => return None,
            };
            Some(Guest {
                kind,
                narrow: (size < 2).then_some(1 << size),
            })
        }
        Arch::X86_64 => {
            use iced_x86::{Decoder, DecoderOptions, Mnemonic};
            let mut bytes = [0u8; 16];
            let mut n = 0;
            while n < 16 {
                let Some(h) = code.fetch_u16(pc.wrapping_add(n as u64)) else {
                    break;
                };
                bytes[n..n + 2].copy_from_slice(&h.to_le_bytes());
                n += 2;
            }
            let i = Decoder::with_ip(64, &bytes[..n], pc, DecoderOptions::NONE).decode();
            if i.is_invalid() {
                return None;
            }
            let size = i.memory_size().size() as u32;
            Some(Guest {
                kind: if i.mnemonic() == Mnemonic::Cmpxchg {
                    Kind::Cas
                } else {
                    Kind::Rmw
                },
                narrow: (size == 1 || size == 2).then_some(size),
            })
        }
    }
}

/// The guest address behind a word address of a narrow atomic: `word` defined (in `insts`,
/// before `upto`) as `addr & !3` (`And` with the constant `!3` or `AndN` with 3). Temps are
/// mutable, so the last definitions before `upto` count.
pub(crate) fn narrow_addr(insts: &[Inst], upto: usize, word: Temp) -> Option<Temp> {
    let def = |t: Temp| insts[..upto].iter().rev().find(|i| i.dst == t);
    let konst = |t: Temp| def(t).filter(|i| i.op == Opcode::Const).map(|i| i.imm);
    let d = def(word)?;
    let (addr, k) = (d.src[0], konst(d.src[1])?);
    match d.op {
        Opcode::AndN if k == 3 => Some(addr),
        Opcode::And if k == !3 || k == u64::from(!3u32) => Some(addr),
        _ => None,
    }
}
