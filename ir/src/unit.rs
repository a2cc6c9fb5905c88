//! IR entities: types, temps, labels, instructions and the translation unit.

use crate::abi::CpuState;
use crate::ops::Opcode;

/// Value types. Floating-point values travel as their bit patterns in integer temps: an `i32`
/// temp holds an IEEE binary32 (f32) and an `i64` temp an IEEE binary64 (f64) wherever a float
/// opcode reads or writes it. Float opcodes compute with the host's IEEE arithmetic, rounding to
/// nearest-even, without flags (see [`crate::fsem`]); exact guest flags and rounding modes come
/// from helpers behind the fast-path emitter ([`crate::fp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
}

impl Ty {
    /// Width in bits.
    pub fn bits(self) -> u32 {
        match self {
            Ty::I32 => 32,
            Ty::I64 => 64,
        }
    }
    /// Text-format name.
    pub fn name(self) -> &'static str {
        match self {
            Ty::I32 => "i32",
            Ty::I64 => "i64",
        }
    }
    /// Keeps the bits of `v` that fit this type.
    pub fn mask(self, v: u64) -> u64 {
        match self {
            Ty::I32 => v & 0xffff_ffff,
            Ty::I64 => v,
        }
    }
}

/// A typed, mutable temporary (TCG-style: it may be assigned many times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Temp(pub u32);

impl Temp {
    /// "No operand" in an instruction field.
    pub const NONE: Temp = Temp(u32::MAX);
    /// Whether this field holds a temp.
    pub fn is_some(self) -> bool {
        self != Temp::NONE
    }
}

/// A branch target inside a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label(pub u32);

/// Comparison conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Cond {
    /// equal
    Eq = 0,
    /// not equal
    Ne,
    /// signed less than
    Lt,
    /// signed greater or equal
    Ge,
    /// unsigned less than
    Ltu,
    /// unsigned greater or equal
    Geu,
    /// signed less or equal
    Le,
    /// signed greater than
    Gt,
    /// unsigned less or equal
    Leu,
    /// unsigned greater than
    Gtu,
}

impl Cond {
    /// All conditions.
    pub const ALL: [Cond; 10] = [
        Cond::Eq,
        Cond::Ne,
        Cond::Lt,
        Cond::Ge,
        Cond::Ltu,
        Cond::Geu,
        Cond::Le,
        Cond::Gt,
        Cond::Leu,
        Cond::Gtu,
    ];
    /// Text-format name.
    pub fn name(self) -> &'static str {
        [
            "eq", "ne", "lt", "ge", "ltu", "geu", "le", "gt", "leu", "gtu",
        ][self as usize]
    }
    /// From the `aux` field.
    pub fn from_u32(v: u32) -> Option<Cond> {
        Cond::ALL.get(v as usize).copied()
    }
    /// The condition that holds exactly when this one does not.
    pub fn invert(self) -> Cond {
        match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Lt => Cond::Ge,
            Cond::Ge => Cond::Lt,
            Cond::Ltu => Cond::Geu,
            Cond::Geu => Cond::Ltu,
            Cond::Le => Cond::Gt,
            Cond::Gt => Cond::Le,
            Cond::Leu => Cond::Gtu,
            Cond::Gtu => Cond::Leu,
        }
    }
    /// Evaluates the condition on two values of type `ty`.
    pub fn eval(self, ty: Ty, a: u64, b: u64) -> bool {
        let (a, b) = (ty.mask(a), ty.mask(b));
        let (sa, sb) = match ty {
            Ty::I32 => (i64::from(a as u32 as i32), i64::from(b as u32 as i32)),
            Ty::I64 => (a as i64, b as i64),
        };
        match self {
            Cond::Eq => a == b,
            Cond::Ne => a != b,
            Cond::Lt => sa < sb,
            Cond::Ge => sa >= sb,
            Cond::Ltu => a < b,
            Cond::Geu => a >= b,
            Cond::Le => sa <= sb,
            Cond::Gt => sa > sb,
            Cond::Leu => a <= b,
            Cond::Gtu => a > b,
        }
    }
}

/// Float comparison conditions (for `fsetcond`). "Ordered" ones are false when either operand is
/// a NaN, "unordered" ones (`u` prefix, and `ne`) are true then. Mirrors Cranelift's `FloatCC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FCond {
    /// ordered and equal
    Eq = 0,
    /// unordered or not equal
    Ne,
    /// ordered and less than
    Lt,
    /// ordered and less or equal
    Le,
    /// ordered and greater than
    Gt,
    /// ordered and greater or equal
    Ge,
    /// either operand is a NaN
    Uno,
    /// neither operand is a NaN
    Ord,
    /// unordered or equal
    Ueq,
    /// ordered and not equal
    One,
    /// unordered or less than
    Ult,
    /// unordered or less or equal
    Ule,
    /// unordered or greater than
    Ugt,
    /// unordered or greater or equal
    Uge,
}

impl FCond {
    /// All float conditions.
    pub const ALL: [FCond; 14] = [
        FCond::Eq,
        FCond::Ne,
        FCond::Lt,
        FCond::Le,
        FCond::Gt,
        FCond::Ge,
        FCond::Uno,
        FCond::Ord,
        FCond::Ueq,
        FCond::One,
        FCond::Ult,
        FCond::Ule,
        FCond::Ugt,
        FCond::Uge,
    ];
    /// Text-format name.
    pub fn name(self) -> &'static str {
        [
            "eq", "ne", "lt", "le", "gt", "ge", "uno", "ord", "ueq", "one", "ult", "ule", "ugt",
            "uge",
        ][self as usize]
    }
    /// From the `aux` field.
    pub fn from_u32(v: u32) -> Option<FCond> {
        FCond::ALL.get(v as usize).copied()
    }
    /// From the text-format name.
    pub fn from_name(s: &str) -> Option<FCond> {
        FCond::ALL.iter().copied().find(|c| c.name() == s)
    }
    /// Evaluates the condition on two floats given as bit patterns of width `ty`.
    pub fn eval(self, ty: Ty, a: u64, b: u64) -> bool {
        let (a, b) = match ty {
            Ty::I32 => (
                f64::from(f32::from_bits(a as u32)),
                f64::from(f32::from_bits(b as u32)),
            ),
            Ty::I64 => (f64::from_bits(a), f64::from_bits(b)),
        };
        let uno = a.is_nan() || b.is_nan();
        match self {
            FCond::Eq => a == b,
            FCond::Ne => a != b,
            FCond::Lt => a < b,
            FCond::Le => a <= b,
            FCond::Gt => a > b,
            FCond::Ge => a >= b,
            FCond::Uno => uno,
            FCond::Ord => !uno,
            FCond::Ueq => uno || a == b,
            FCond::One => !uno && a != b,
            FCond::Ult => uno || a < b,
            FCond::Ule => uno || a <= b,
            FCond::Ugt => uno || a > b,
            FCond::Uge => uno || a >= b,
        }
    }
}

/// `aux` flag of `fadd`, `fsub`, `fmul`, `fdiv`, `fsqrt`, `ffma` and `fcvt_f`: a NaN result may
/// be any NaN (the backend skips the canonicalization). Only for results that are discarded
/// when they are NaN, as the fast-path emitter ([`crate::fp`]) does; the interpreter still
/// gives the canonical NaN, so compiled and interpreted NaN bits may differ.
pub const FNAN_ANY: u32 = 1;

/// Whether `op` accepts [`FNAN_ANY`] in its `aux`.
pub fn takes_fnan_any(op: crate::Opcode) -> bool {
    use crate::Opcode::*;
    matches!(op, FAdd | FSub | FMul | FDiv | FSqrt | FFma | FCvtF)
}

/// Rounding of a float to an integral float (`fround`'s `aux`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FRound {
    /// to nearest, ties to even
    Nearest = 0,
    /// toward −∞
    Floor,
    /// toward +∞
    Ceil,
    /// toward zero
    Trunc,
}

impl FRound {
    /// All modes.
    pub const ALL: [FRound; 4] = [FRound::Nearest, FRound::Floor, FRound::Ceil, FRound::Trunc];
    /// Text-format name.
    pub fn name(self) -> &'static str {
        ["nearest", "floor", "ceil", "trunc"][self as usize]
    }
    /// From the `aux` field.
    pub fn from_u32(v: u32) -> Option<FRound> {
        FRound::ALL.get(v as usize).copied()
    }
}

/// A memory access: size, signedness and endianness of the value in memory, alignment
/// requirement and MMU index. Packed into an instruction's `aux` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemOp {
    /// log2 of the access size in bytes (0..=3).
    pub size_log2: u8,
    /// Sign-extend the loaded value to the temp's type.
    pub signed: bool,
    /// Big-endian in guest memory.
    pub big_endian: bool,
    /// The access must be naturally aligned (else the guest's alignment fault).
    pub aligned: bool,
    /// MMU index (privilege mode in system emulation; 0 in user mode).
    pub mmu_idx: u8,
}

impl MemOp {
    /// Little-endian, unaligned-allowed access of `bytes` bytes.
    pub fn le(bytes: u32, signed: bool) -> MemOp {
        MemOp {
            size_log2: bytes.trailing_zeros() as u8,
            signed,
            big_endian: false,
            aligned: false,
            mmu_idx: 0,
        }
    }
    /// Size in bytes.
    pub fn bytes(self) -> u32 {
        1 << self.size_log2
    }
    /// Packs into `aux`.
    pub fn to_u32(self) -> u32 {
        u32::from(self.size_log2)
            | (u32::from(self.signed) << 2)
            | (u32::from(self.big_endian) << 3)
            | (u32::from(self.aligned) << 4)
            | (u32::from(self.mmu_idx) << 8)
    }
    /// Unpacks from `aux`.
    pub fn from_u32(v: u32) -> MemOp {
        MemOp {
            size_log2: (v & 3) as u8,
            signed: v & 4 != 0,
            big_endian: v & 8 != 0,
            aligned: v & 16 != 0,
            mmu_idx: (v >> 8) as u8,
        }
    }
}

/// Atomic read-modify-write operations (RISC-V AMOs, AArch64 LSE, x86 lock-prefixed ops).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AtomicOp {
    /// exchange
    Xchg = 0,
    /// add
    Add,
    /// and
    And,
    /// or
    Or,
    /// xor
    Xor,
    /// signed min
    MinS,
    /// signed max
    MaxS,
    /// unsigned min
    MinU,
    /// unsigned max
    MaxU,
}

impl AtomicOp {
    /// All operations.
    pub const ALL: [AtomicOp; 9] = [
        AtomicOp::Xchg,
        AtomicOp::Add,
        AtomicOp::And,
        AtomicOp::Or,
        AtomicOp::Xor,
        AtomicOp::MinS,
        AtomicOp::MaxS,
        AtomicOp::MinU,
        AtomicOp::MaxU,
    ];
    /// Text-format name.
    pub fn name(self) -> &'static str {
        [
            "xchg", "add", "and", "or", "xor", "mins", "maxs", "minu", "maxu",
        ][self as usize]
    }
    /// From the low byte of `aux` (the memop sits above it, shifted by 16).
    pub fn from_u32(v: u32) -> Option<AtomicOp> {
        AtomicOp::ALL.get(v as usize).copied()
    }
}

/// Barrier kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FenceKind {
    /// A full memory barrier.
    Full = 0,
}

/// Architecture-independent reasons for an `exit` op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitReason {
    /// A system call instruction (ecall, svc, syscall); pc is the instruction's.
    Syscall = 0,
    /// A breakpoint instruction (ebreak, brk, int3); pc is the instruction's.
    Breakpoint = 1,
    /// Translated code must be flushed (fence.i); pc is the next instruction.
    FlushCode = 2,
    /// The unit ended early on purpose (e.g. a wait-for-interrupt); pc is the next instruction.
    Yield = 3,
}

impl ExitReason {
    /// From the `aux` field.
    pub fn from_u32(v: u32) -> Option<ExitReason> {
        [
            ExitReason::Syscall,
            ExitReason::Breakpoint,
            ExitReason::FlushCode,
            ExitReason::Yield,
        ]
        .get(v as usize)
        .copied()
    }
    /// Text-format name.
    pub fn name(self) -> &'static str {
        ["syscall", "breakpoint", "flush_code", "yield"][self as usize]
    }
}

/// The signature every helper has: the CPU state and up to four integer arguments (unused ones
/// are zero); the result is ignored when the call has no destination.
pub type HelperFn = extern "C" fn(&mut CpuState, u64, u64, u64, u64) -> u64;

/// A helper's declared effects, so the backend knows what to write back before the call and
/// what to reload after it (QEMU's `DEF_HELPER_FLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelperFlags {
    /// Reads guest registers from the state: cached registers are written back first.
    pub reads_state: bool,
    /// Writes guest registers in the state: cached registers are reloaded after.
    pub writes_state: bool,
    /// May raise an exception by setting `exc_pending`.
    pub may_raise: bool,
}

impl HelperFlags {
    /// Depends only on its arguments.
    pub const PURE: HelperFlags = HelperFlags {
        reads_state: false,
        writes_state: false,
        may_raise: false,
    };
    /// Reads and writes the state (e.g. accumulates FP flags), never raises.
    pub const STATE: HelperFlags = HelperFlags {
        reads_state: true,
        writes_state: true,
        may_raise: false,
    };
    /// May do anything a helper can.
    pub const ALL: HelperFlags = HelperFlags {
        reads_state: true,
        writes_state: true,
        may_raise: true,
    };
}

/// An out-of-line function callable from IR.
#[derive(Debug)]
pub struct Helper {
    /// Name for traces and the text format.
    pub name: &'static str,
    /// The function.
    pub func: HelperFn,
    /// Number of arguments used (0..=4).
    pub nargs: u8,
    /// Declared effects.
    pub flags: HelperFlags,
    /// The only guest-state words (byte offsets) the helper reads or writes, when known.
    /// `None` means any: the backend then writes back every cached register before the call
    /// and reloads them all after it; with a list it touches just those words, so a helper
    /// that only accrues FP flags does not spill a unit's whole register cache.
    pub state_words: Option<&'static [u32]>,
}

/// One IR instruction. Which fields are used is given by the opcode's [`crate::Format`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inst {
    /// The opcode.
    pub op: Opcode,
    /// The operating type (of `dst` for most formats, of the sources for compares).
    pub ty: Ty,
    /// Destination temp or [`Temp::NONE`].
    pub dst: Temp,
    /// Source temps; unused ones are [`Temp::NONE`].
    pub src: [Temp; 4],
    /// Immediate: constant, state offset, address displacement, label id, or guest pc.
    pub imm: u64,
    /// Small operand: condition, memop, helper index, slot, exit reason, exception code.
    pub aux: u32,
}

/// A translation unit: the IR for one guest block (or region).
#[derive(Debug, Default)]
pub struct Unit {
    /// Guest pc of the first instruction.
    pub pc: u64,
    /// Bytes of guest code covered, from `pc`.
    pub guest_len: u32,
    /// Number of guest instructions.
    pub guest_insns: u32,
    /// Instructions in order.
    pub insts: Vec<Inst>,
    /// Type of each temp, by index.
    pub temps: Vec<Ty>,
    /// Number of labels.
    pub labels: u32,
    /// Helpers referenced by `call` (their `aux` indexes this).
    pub helpers: Vec<&'static Helper>,
    /// Labels whose code rarely runs (slow paths): the backend lays it out of line, with the
    /// code that follows it up to the next label. A hint only; semantics do not change.
    pub cold_labels: Vec<u32>,
}

impl Unit {
    /// Type of a temp.
    pub fn ty(&self, t: Temp) -> Ty {
        self.temps[t.0 as usize]
    }
}
