//! The reference interpreter: executes a unit exactly as compiled code does. It is the oracle the
//! backend is tested against, and the cold tier of the exec loop.

use crate::abi::{CpuState, ExitKind, encode_exit};
use crate::ops::{Format, Opcode};
use crate::unit::*;

/// Guest memory as the interpreter sees it. User mode implements it over `guest_base`;
/// system mode over the softmmu.
pub trait GuestMem {
    /// Loads `mem.bytes()` bytes at `addr`, zero-extended (the interpreter sign-extends).
    fn load(&self, addr: u64, mem: MemOp) -> Result<u64, MemFault>;
    /// Stores the low `mem.bytes()` bytes of `val` at `addr`.
    fn store(&self, addr: u64, mem: MemOp, val: u64) -> Result<(), MemFault>;
    /// Atomic read-modify-write; returns the old value, zero-extended.
    fn atomic_rmw(&self, addr: u64, mem: MemOp, op: AtomicOp, val: u64) -> Result<u64, MemFault>;
    /// Atomic compare-and-swap; returns the old value, zero-extended.
    fn atomic_cas(&self, addr: u64, mem: MemOp, expected: u64, new: u64) -> Result<u64, MemFault>;
    /// 128-bit compare-and-swap of the 16 bytes at `addr`, values as `[low, high]`; returns
    /// the old value. `mem` describes the 8-byte halves. The default is [`cas128_by_halves`],
    /// atomic with respect to this vCPU only; memory other threads share overrides it.
    fn atomic_cas128(
        &self,
        addr: u64,
        mem: MemOp,
        expected: [u64; 2],
        new: [u64; 2],
    ) -> Result<[u64; 2], MemFault> {
        cas128_by_halves(self, addr, mem, expected, new)
    }
}

/// A 128-bit compare-and-swap as 8-byte atomics: reads both halves (faulting as a write would,
/// before anything changes), then swaps both in when they held `expected`. The 16-byte
/// alignment is the frontend's to check (each architecture faults its own way); `mem` faults
/// only as its 8-byte halves do.
pub fn cas128_by_halves<M: GuestMem + ?Sized>(
    m: &M,
    addr: u64,
    mem: MemOp,
    expected: [u64; 2],
    new: [u64; 2],
) -> Result<[u64; 2], MemFault> {
    let half = MemOp {
        size_log2: 3,
        signed: false,
        ..mem
    };
    let at = [addr, addr.wrapping_add(8)];
    let old = [
        m.atomic_rmw(at[0], half, AtomicOp::Or, 0)?,
        m.atomic_rmw(at[1], half, AtomicOp::Or, 0)?,
    ];
    if old == expected {
        m.atomic_rmw(at[0], half, AtomicOp::Xchg, new[0])?;
        m.atomic_rmw(at[1], half, AtomicOp::Xchg, new[1])?;
    }
    Ok(old)
}

/// A guest memory access that cannot complete; becomes a guest exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemFault {
    /// The architecture's exception code to raise.
    pub code: u32,
    /// The faulting guest address.
    pub addr: u64,
}

/// How an interpreted unit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterpExit {
    /// The value compiled code would return ([`crate::abi::encode_exit`]).
    pub value: u64,
    /// For a `goto_tb` exit, the link slot it took.
    pub slot: Option<u32>,
}

/// Precomputed label positions for a unit, so repeated interpretation does not rescan.
#[derive(Debug, Clone)]
pub struct Prepared {
    labels: Vec<usize>,
}

impl Prepared {
    /// Indexes the labels of `unit`.
    pub fn new(unit: &Unit) -> Prepared {
        let mut labels = vec![usize::MAX; unit.labels as usize];
        for (i, inst) in unit.insts.iter().enumerate() {
            if inst.op == Opcode::Label {
                labels[inst.imm as usize] = i;
            }
        }
        Prepared { labels }
    }
}

/// Runs `unit` once on `env`, returning how it left.
pub fn run(
    unit: &Unit,
    prep: &Prepared,
    env: &mut CpuState,
    mem: &dyn GuestMem,
    temps: &mut Vec<u64>,
) -> InterpExit {
    use std::sync::atomic::Ordering;
    if env.exit_request.load(Ordering::Relaxed) != 0 {
        env.pc = unit.pc;
        env.last_slot = 0;
        return InterpExit {
            value: encode_exit(ExitKind::Request, 0),
            slot: None,
        };
    }
    temps.clear();
    temps.resize(unit.temps.len(), 0);
    let mut cur_pc = unit.pc;
    let mut ip = 0usize;
    loop {
        let i = &unit.insts[ip];
        ip += 1;
        let ty = i.ty;
        let s = |k: usize| {
            let t = i.src[k];
            if t.is_some() { temps[t.0 as usize] } else { 0 }
        };
        let v: Option<u64> = match i.op.format() {
            Format::Const => Some(i.imm),
            // The format is known here: `pure_in` does not look it up again, and only the
            // sources the format has are read.
            f @ (Format::Unary | Format::Convert | Format::FRound) => {
                Some(pure_in(f, i.op, ty, ty, i.aux, s(0), 0, 0))
            }
            f @ Format::FConvert => {
                Some(pure_in(f, i.op, ty, unit.ty(i.src[0]), i.aux, s(0), 0, 0))
            }
            f @ Format::Binary => Some(pure_in(f, i.op, ty, ty, i.aux, s(0), s(1), 0)),
            f @ (Format::FSetCond | Format::SetCond) => Some(pure_in(
                f,
                i.op,
                ty,
                unit.ty(i.src[0]),
                i.aux,
                s(0),
                s(1),
                0,
            )),
            f @ Format::Ternary => Some(pure_in(f, i.op, ty, ty, i.aux, s(0), s(1), s(2))),
            Format::Select => {
                let c = Cond::from_u32(i.aux).unwrap_or(Cond::Eq);
                Some(if c.eval(unit.ty(i.src[0]), s(0), s(1)) {
                    s(2)
                } else {
                    s(3)
                })
            }
            Format::GetReg => Some(match ty {
                Ty::I64 => env.word(i.imm as u32),
                Ty::I32 => u64::from(env.word32(i.imm as u32)),
            }),
            Format::SetReg => {
                match ty {
                    Ty::I64 => env.set_word(i.imm as u32, s(0)),
                    Ty::I32 => env.set_word32(i.imm as u32, s(0) as u32),
                }
                None
            }
            Format::Load => {
                let m = MemOp::from_u32(i.aux);
                match mem.load(s(0).wrapping_add(i.imm), m) {
                    Ok(v) => Some(extend(v, m, ty)),
                    Err(f) => return raise(env, cur_pc, f.code, f.addr),
                }
            }
            Format::Store => {
                let m = MemOp::from_u32(i.aux);
                if let Err(f) = mem.store(s(1).wrapping_add(i.imm), m, s(0)) {
                    return raise(env, cur_pc, f.code, f.addr);
                }
                None
            }
            Format::AtomicRmw => {
                let m = MemOp::from_u32(i.aux & 0xffff);
                let op = AtomicOp::from_u32(i.aux >> 16).unwrap_or(AtomicOp::Xchg);
                match mem.atomic_rmw(s(0), m, op, ty.mask(s(1))) {
                    Ok(v) => Some(ty.mask(v)),
                    Err(f) => return raise(env, cur_pc, f.code, f.addr),
                }
            }
            Format::AtomicCas => {
                let m = MemOp::from_u32(i.aux);
                match mem.atomic_cas(s(0), m, ty.mask(s(1)), ty.mask(s(2))) {
                    Ok(v) => Some(ty.mask(v)),
                    Err(f) => return raise(env, cur_pc, f.code, f.addr),
                }
            }
            Format::AtomicCas128 => {
                let hi = crate::ops::Cas128Hi::from_imm(i.imm);
                let new = [s(3), temps[hi.new_hi.0 as usize]];
                match mem.atomic_cas128(s(0), MemOp::from_u32(i.aux), [s(1), s(2)], new) {
                    Ok(old) => {
                        temps[hi.old_hi.0 as usize] = old[1];
                        Some(old[0])
                    }
                    Err(f) => return raise(env, cur_pc, f.code, f.addr),
                }
            }
            Format::Fence => {
                std::sync::atomic::fence(Ordering::SeqCst);
                None
            }
            Format::Label => None,
            Format::Jump => {
                ip = prep.labels[i.imm as usize];
                None
            }
            Format::Branch => {
                let c = Cond::from_u32(i.aux).unwrap_or(Cond::Eq);
                if c.eval(ty, s(0), s(1)) {
                    ip = prep.labels[i.imm as usize];
                }
                None
            }
            Format::InsnStart => {
                cur_pc = i.imm;
                None
            }
            Format::Call => {
                let h = unit.helpers[i.aux as usize];
                let arg = |k: usize| {
                    if i.src[k].is_some() {
                        temps[i.src[k].0 as usize]
                    } else {
                        0
                    }
                };
                let r = (h.func)(env, arg(0), arg(1), arg(2), arg(3));
                if h.flags.may_raise && env.exc_pending != 0 {
                    let code = env.exc_pending - 1;
                    env.exc_pending = 0;
                    env.pc = cur_pc;
                    env.last_slot = 0;
                    return InterpExit {
                        value: encode_exit(ExitKind::Raise, code),
                        slot: None,
                    };
                }
                i.dst.is_some().then_some(r)
            }
            Format::GotoTb => {
                env.pc = i.imm;
                env.last_slot = 0;
                return InterpExit {
                    value: encode_exit(ExitKind::Lookup, 0),
                    slot: Some(i.aux),
                };
            }
            Format::GotoPtr => {
                env.pc = s(0);
                env.last_slot = 0;
                return InterpExit {
                    value: encode_exit(ExitKind::Lookup, 0),
                    slot: None,
                };
            }
            Format::Exit => {
                env.pc = i.imm;
                env.last_slot = 0;
                return InterpExit {
                    value: encode_exit(ExitKind::Exit, i.aux),
                    slot: None,
                };
            }
            Format::Raise => {
                let arg = if i.src[0].is_some() { s(0) } else { 0 };
                return raise(env, i.imm, i.aux, arg);
            }
        };
        if let Some(v) = v {
            temps[i.dst.0 as usize] = ty.mask(v);
        }
    }
}

/// The value of a pure (computing) instruction: opcode `op` of type `ty` whose first source
/// has type `src_ty`, with `aux` and sources `a`, `b`, `c` (unused ones are ignored). Covers the
/// formats `Unary`, `Binary`, `Convert`, `Ternary`, `FConvert`, `FSetCond`, `FRound` and
/// `SetCond`; the result is masked to `ty`. The interpreter and the baseline tier both call it.
pub fn pure(op: Opcode, ty: Ty, src_ty: Ty, aux: u32, a: u64, b: u64, c: u64) -> u64 {
    pure_in(op.format(), op, ty, src_ty, aux, a, b, c)
}

/// [`pure`] with `op`'s format `fmt` already looked up.
#[allow(clippy::too_many_arguments, reason = "pure's arguments and the format")]
#[inline]
fn pure_in(fmt: Format, op: Opcode, ty: Ty, src_ty: Ty, aux: u32, a: u64, b: u64, c: u64) -> u64 {
    let v = match fmt {
        Format::Unary => unary(op, ty, a),
        Format::Binary => binary(op, ty, a, b),
        Format::Convert => match op {
            Opcode::ExtS => a as u32 as i32 as i64 as u64,
            _ => a & 0xffff_ffff,
        },
        Format::Ternary => crate::fsem::fma(ty, a, b, c),
        Format::FConvert => crate::fsem::convert(op, src_ty, ty, a),
        Format::FSetCond => {
            let cnd = FCond::from_u32(aux).unwrap_or(FCond::Eq);
            u64::from(cnd.eval(src_ty, a, b))
        }
        Format::FRound => {
            let m = FRound::from_u32(aux).unwrap_or(FRound::Nearest);
            crate::fsem::round(ty, m, a)
        }
        Format::SetCond => {
            let cnd = Cond::from_u32(aux).unwrap_or(Cond::Eq);
            u64::from(cnd.eval(src_ty, a, b))
        }
        _ => unreachable!("{op:?} is not a pure computation"),
    };
    ty.mask(v)
}

fn raise(env: &mut CpuState, pc: u64, code: u32, arg: u64) -> InterpExit {
    env.pc = pc;
    env.exc_arg = arg;
    env.last_slot = 0;
    InterpExit {
        value: encode_exit(ExitKind::Raise, code),
        slot: None,
    }
}

/// Sign- or zero-extends a loaded value of `m`'s size to `ty`.
pub fn extend(v: u64, m: MemOp, ty: Ty) -> u64 {
    let bits = m.bytes() * 8;
    let v = if bits == 64 {
        v
    } else {
        v & ((1u64 << bits) - 1)
    };
    let v = if m.signed && bits < 64 {
        ((v << (64 - bits)) as i64 >> (64 - bits)) as u64
    } else {
        v
    };
    ty.mask(v)
}

/// Semantics of the unary opcodes.
pub fn unary(op: Opcode, ty: Ty, a: u64) -> u64 {
    let a = ty.mask(a);
    let w = ty.bits();
    let r = match op {
        Opcode::Mov => a,
        Opcode::Neg => a.wrapping_neg(),
        Opcode::Not => !a,
        Opcode::Clz => u64::from(match ty {
            Ty::I32 => (a as u32).leading_zeros(),
            Ty::I64 => a.leading_zeros(),
        }),
        Opcode::Ctz => u64::from(if a == 0 { w } else { a.trailing_zeros() }),
        Opcode::Popcnt => u64::from(a.count_ones()),
        Opcode::Bswap => match ty {
            Ty::I32 => u64::from((a as u32).swap_bytes()),
            Ty::I64 => a.swap_bytes(),
        },
        Opcode::Sext8 => a as u8 as i8 as i64 as u64,
        Opcode::Sext16 => a as u16 as i16 as i64 as u64,
        Opcode::Sext32 => a as u32 as i32 as i64 as u64,
        Opcode::Zext8 => a & 0xff,
        Opcode::Zext16 => a & 0xffff,
        Opcode::Zext32 => a & 0xffff_ffff,
        Opcode::FSqrt => crate::fsem::sqrt(ty, a),
        _ => unreachable!("{op:?} is not unary"),
    };
    ty.mask(r)
}

/// Semantics of the binary opcodes (the division rules are in the ops table).
pub fn binary(op: Opcode, ty: Ty, a: u64, b: u64) -> u64 {
    let (a, b) = (ty.mask(a), ty.mask(b));
    let w = ty.bits();
    // signed views
    let sx = |v: u64| -> i64 {
        match ty {
            Ty::I32 => i64::from(v as u32 as i32),
            Ty::I64 => v as i64,
        }
    };
    let (sa, sb) = (sx(a), sx(b));
    let min = match ty {
        Ty::I32 => i64::from(i32::MIN),
        Ty::I64 => i64::MIN,
    };
    let sh = (b & u64::from(w - 1)) as u32;
    let r = match op {
        Opcode::Add => a.wrapping_add(b),
        Opcode::Sub => a.wrapping_sub(b),
        Opcode::Mul => a.wrapping_mul(b),
        Opcode::MulHs => match ty {
            Ty::I32 => ((sa * sb) >> 32) as u64,
            Ty::I64 => ((i128::from(sa) * i128::from(sb)) >> 64) as u64,
        },
        Opcode::MulHu => match ty {
            Ty::I32 => (a * b) >> 32,
            Ty::I64 => ((u128::from(a) * u128::from(b)) >> 64) as u64,
        },
        Opcode::MulHsu => match ty {
            Ty::I32 => ((sa * b as i64) >> 32) as u64,
            Ty::I64 => ((i128::from(sa) * b as i128) >> 64) as u64,
        },
        Opcode::DivS => {
            if sb == 0 {
                u64::MAX
            } else if sa == min && sb == -1 {
                sa as u64
            } else {
                (sa / sb) as u64
            }
        }
        Opcode::DivU => a.checked_div(b).unwrap_or(u64::MAX),
        Opcode::RemS => {
            if sb == 0 {
                sa as u64
            } else if sa == min && sb == -1 {
                0
            } else {
                (sa % sb) as u64
            }
        }
        Opcode::RemU => {
            if b == 0 {
                a
            } else {
                a % b
            }
        }
        Opcode::And => a & b,
        Opcode::Or => a | b,
        Opcode::Xor => a ^ b,
        Opcode::AndN => a & !b,
        Opcode::OrN => a | !b,
        Opcode::XorN => !(a ^ b),
        Opcode::Shl => a << sh,
        Opcode::Shr => a >> sh,
        Opcode::Sar => (sa >> sh) as u64,
        Opcode::Rotl => match ty {
            Ty::I32 => u64::from((a as u32).rotate_left(sh)),
            Ty::I64 => a.rotate_left(sh),
        },
        Opcode::Rotr => match ty {
            Ty::I32 => u64::from((a as u32).rotate_right(sh)),
            Ty::I64 => a.rotate_right(sh),
        },
        Opcode::MinS => sa.min(sb) as u64,
        Opcode::MaxS => sa.max(sb) as u64,
        Opcode::MinU => a.min(b),
        Opcode::MaxU => a.max(b),
        Opcode::FAdd | Opcode::FSub | Opcode::FMul | Opcode::FDiv | Opcode::FMin | Opcode::FMax => {
            crate::fsem::binary(op, ty, a, b)
        }
        _ => unreachable!("{op:?} is not binary"),
    };
    ty.mask(r)
}

/// Atomic read-modify-write semantics on values of type `ty`: the new memory value.
pub fn atomic_apply(op: AtomicOp, ty: Ty, old: u64, val: u64) -> u64 {
    let r = match op {
        AtomicOp::Xchg => val,
        AtomicOp::Add => old.wrapping_add(val),
        AtomicOp::And => old & val,
        AtomicOp::Or => old | val,
        AtomicOp::Xor => old ^ val,
        AtomicOp::MinS => binary(Opcode::MinS, ty, old, val),
        AtomicOp::MaxS => binary(Opcode::MaxS, ty, old, val),
        AtomicOp::MinU => binary(Opcode::MinU, ty, old, val),
        AtomicOp::MaxU => binary(Opcode::MaxU, ty, old, val),
    };
    ty.mask(r)
}

/// A [`GuestMem`] with nothing mapped: every access faults with code 0. For units that do not
/// touch memory (tests, doc examples).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMem;

impl GuestMem for NoMem {
    fn load(&self, addr: u64, _: MemOp) -> Result<u64, MemFault> {
        Err(MemFault { code: 0, addr })
    }
    fn store(&self, addr: u64, _: MemOp, _: u64) -> Result<(), MemFault> {
        Err(MemFault { code: 0, addr })
    }
    fn atomic_rmw(&self, addr: u64, _: MemOp, _: AtomicOp, _: u64) -> Result<u64, MemFault> {
        Err(MemFault { code: 0, addr })
    }
    fn atomic_cas(&self, addr: u64, _: MemOp, _: u64, _: u64) -> Result<u64, MemFault> {
        Err(MemFault { code: 0, addr })
    }
}
