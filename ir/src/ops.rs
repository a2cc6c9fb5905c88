//! The one table of IR opcodes. Each row gives the opcode, its operand format, its effects and a
//! doc line; the printer, parser, verifier and interpreter all read this table (as Cranelift's
//! meta, Dynarmic's `opcodes.inc` and QEMU's `DEF(...)` do).

use crate::unit::Temp;

/// How an instruction's fields are used; see [`crate::Inst`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `dst = imm`
    Const,
    /// `dst = op(s0)`
    Unary,
    /// `dst = op(s0, s1)`
    Binary,
    /// `dst = op(s0)` where `dst` and `s0` have different types.
    Convert,
    /// `dst = op(s0, s1, s2)`, all of one type.
    Ternary,
    /// `dst = op(s0)` between a float and an integer or two float widths: `dst` has the
    /// instruction's type, `s0` its own (any) type.
    FConvert,
    /// `dst = cond(s0, s1) ? 1 : 0`
    SetCond,
    /// `dst = fcond(s0, s1) ? 1 : 0`: `aux` is an [`crate::FCond`], `s0`/`s1` floats of one
    /// width, `dst` any integer type (the instruction's).
    FSetCond,
    /// `dst = round(s0)` to an integral float with [`crate::FRound`] mode `aux`.
    FRound,
    /// `dst = cond(s0, s1) ? s2 : s3`
    Select,
    /// `dst = state[imm]`
    GetReg,
    /// `state[imm] = s0`
    SetReg,
    /// `dst = mem[s0 + imm]` with `mem` describing the access.
    Load,
    /// `mem[s1 + imm] = s0`
    Store,
    /// `dst = rmw(mem[s0], s1)`: atomic read-modify-write, `aux` the [`crate::AtomicOp`].
    AtomicRmw,
    /// `dst = cas(mem[s0], expected s1, new s2)`, returns the old value.
    AtomicCas,
    /// 128-bit compare-and-swap on pairs of i64 temps (low, high): `dst:old_hi = cas(mem[s0],
    /// expected s1:s2, new s3:new_hi)`; `imm` names `new_hi` and `old_hi` ([`Cas128Hi`]),
    /// `aux` is a [`crate::MemOp`] of the 8-byte halves.
    AtomicCas128,
    /// No operands; `aux` is a [`crate::FenceKind`].
    Fence,
    /// `imm` is a label id.
    Label,
    /// `imm` is a label id.
    Jump,
    /// `if cond(s0, s1) goto label imm`.
    Branch,
    /// `imm` is the guest pc of the instruction that starts here.
    InsnStart,
    /// `dst? = helper[aux](env, s0..s3)`.
    Call,
    /// Direct exit through link slot `aux` to guest pc `imm`.
    GotoTb,
    /// Indirect exit to the guest pc in `s0`, through the jump cache.
    GotoPtr,
    /// Leave to the exec loop with reason `aux`; `imm` is the pc to report.
    Exit,
    /// Raise exception `aux` at pc `imm`; `s0` (optional) is its argument.
    Raise,
}

/// Effects of an opcode, for the verifier, the printer and the optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpFlags {
    /// Ends the unit's straight-line flow (jumps and exits): nothing follows it in the same block.
    pub terminator: bool,
    /// Reads or writes guest memory.
    pub mem: bool,
    /// May leave the unit with an exception.
    pub may_trap: bool,
}

const PURE: OpFlags = OpFlags {
    terminator: false,
    mem: false,
    may_trap: false,
};
const MEM: OpFlags = OpFlags {
    terminator: false,
    mem: true,
    may_trap: true,
};
const TERM: OpFlags = OpFlags {
    terminator: true,
    mem: false,
    may_trap: false,
};
const TRAP: OpFlags = OpFlags {
    terminator: false,
    mem: false,
    may_trap: true,
};

/// The two temps of an `atomic_cas128` that do not fit its `src`/`dst` fields, kept in its
/// `imm`: the high half of the new value (read) and of the old value (written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cas128Hi {
    /// High 64 bits of the value to store.
    pub new_hi: Temp,
    /// Receives the high 64 bits of the value memory held.
    pub old_hi: Temp,
}

impl Cas128Hi {
    /// Packs into `imm`.
    pub fn to_imm(self) -> u64 {
        u64::from(self.new_hi.0) | (u64::from(self.old_hi.0) << 32)
    }
    /// Unpacks from `imm`.
    pub fn from_imm(imm: u64) -> Cas128Hi {
        Cas128Hi {
            new_hi: Temp(imm as u32),
            old_hi: Temp((imm >> 32) as u32),
        }
    }
}

macro_rules! define_ops {
    ($( $(#[doc = $doc:literal])* $name:ident = $text:literal, $fmt:ident, $flags:ident; )*) => {
        /// An IR opcode.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Opcode {
            $( $(#[doc = $doc])* $name, )*
        }

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$name,)*];

            /// The mnemonic used by the text format.
            pub fn name(self) -> &'static str {
                match self { $(Opcode::$name => $text,)* }
            }

            /// The operand format.
            pub fn format(self) -> Format {
                match self { $(Opcode::$name => Format::$fmt,)* }
            }

            /// Effects.
            pub fn flags(self) -> OpFlags {
                match self { $(Opcode::$name => $flags,)* }
            }

            /// One-line documentation from the table.
            pub fn doc(self) -> &'static str {
                match self { $(Opcode::$name => concat!($($doc),*),)* }
            }

            /// Whether the opcode computes on floats (reads or writes float bit patterns).
            pub fn is_float(self) -> bool {
                matches!(
                    self,
                    Opcode::FAdd
                        | Opcode::FSub
                        | Opcode::FMul
                        | Opcode::FDiv
                        | Opcode::FMin
                        | Opcode::FMax
                        | Opcode::FSqrt
                        | Opcode::FFma
                        | Opcode::FSetCond
                        | Opcode::FRound
                        | Opcode::FCvtFromS
                        | Opcode::FCvtFromU
                        | Opcode::FCvtToS
                        | Opcode::FCvtToU
                        | Opcode::FCvtF
                )
            }

            /// Looks up a mnemonic.
            pub fn from_name(s: &str) -> Option<Opcode> {
                match s { $($text => Some(Opcode::$name),)* _ => None }
            }
        }
    };
}

define_ops! {
    /// dst = imm (truncated to the type)
    Const = "const", Const, PURE;
    /// dst = s0
    Mov = "mov", Unary, PURE;
    /// dst = s0 + s1 (wrapping)
    Add = "add", Binary, PURE;
    /// dst = s0 - s1 (wrapping)
    Sub = "sub", Binary, PURE;
    /// dst = s0 * s1 (low half)
    Mul = "mul", Binary, PURE;
    /// dst = high half of signed s0 * signed s1
    MulHs = "mulhs", Binary, PURE;
    /// dst = high half of unsigned s0 * unsigned s1
    MulHu = "mulhu", Binary, PURE;
    /// dst = high half of signed s0 * unsigned s1
    MulHsu = "mulhsu", Binary, PURE;
    /// signed s0 / s1; s1 == 0 gives -1, MIN / -1 gives MIN (RISC-V semantics, never traps)
    DivS = "divs", Binary, PURE;
    /// unsigned s0 / s1; s1 == 0 gives all ones
    DivU = "divu", Binary, PURE;
    /// signed s0 % s1; s1 == 0 gives s0, MIN % -1 gives 0
    RemS = "rems", Binary, PURE;
    /// unsigned s0 % s1; s1 == 0 gives s0
    RemU = "remu", Binary, PURE;
    /// dst = s0 & s1
    And = "and", Binary, PURE;
    /// dst = s0 | s1
    Or = "or", Binary, PURE;
    /// dst = s0 ^ s1
    Xor = "xor", Binary, PURE;
    /// dst = s0 & !s1
    AndN = "andn", Binary, PURE;
    /// dst = s0 | !s1
    OrN = "orn", Binary, PURE;
    /// dst = !(s0 ^ s1)
    XorN = "xnor", Binary, PURE;
    /// dst = s0 << (s1 mod width)
    Shl = "shl", Binary, PURE;
    /// dst = s0 >> (s1 mod width), logical
    Shr = "shr", Binary, PURE;
    /// dst = s0 >> (s1 mod width), arithmetic
    Sar = "sar", Binary, PURE;
    /// dst = s0 rotated left by (s1 mod width)
    Rotl = "rotl", Binary, PURE;
    /// dst = s0 rotated right by (s1 mod width)
    Rotr = "rotr", Binary, PURE;
    /// dst = signed min(s0, s1)
    MinS = "mins", Binary, PURE;
    /// dst = unsigned min(s0, s1)
    MinU = "minu", Binary, PURE;
    /// dst = signed max(s0, s1)
    MaxS = "maxs", Binary, PURE;
    /// dst = unsigned max(s0, s1)
    MaxU = "maxu", Binary, PURE;
    /// dst = -s0
    Neg = "neg", Unary, PURE;
    /// dst = !s0
    Not = "not", Unary, PURE;
    /// dst = count of leading zeros (width when s0 == 0)
    Clz = "clz", Unary, PURE;
    /// dst = count of trailing zeros (width when s0 == 0)
    Ctz = "ctz", Unary, PURE;
    /// dst = population count
    Popcnt = "popcnt", Unary, PURE;
    /// dst = byte-swapped s0
    Bswap = "bswap", Unary, PURE;
    /// dst = sign-extended low 8 bits of s0
    Sext8 = "sext8", Unary, PURE;
    /// dst = sign-extended low 16 bits of s0
    Sext16 = "sext16", Unary, PURE;
    /// dst = sign-extended low 32 bits of s0 (i64 only)
    Sext32 = "sext32", Unary, PURE;
    /// dst = zero-extended low 8 bits of s0
    Zext8 = "zext8", Unary, PURE;
    /// dst = zero-extended low 16 bits of s0
    Zext16 = "zext16", Unary, PURE;
    /// dst = zero-extended low 32 bits of s0 (i64 only)
    Zext32 = "zext32", Unary, PURE;
    /// dst (i64) = zero-extended s0 (i32)
    ExtU = "extu", Convert, PURE;
    /// dst (i64) = sign-extended s0 (i32)
    ExtS = "exts", Convert, PURE;
    /// dst (i32) = low half of s0 (i64)
    Trunc = "trunc", Convert, PURE;
    /// dst = cond(s0, s1) ? 1 : 0
    SetCond = "setcond", SetCond, PURE;
    /// float s0 + s1 (i32 = f32, i64 = f64 bits), round to nearest-even; a NaN result is the canonical quiet NaN
    FAdd = "fadd", Binary, PURE;
    /// float s0 - s1, round to nearest-even; a NaN result is the canonical quiet NaN
    FSub = "fsub", Binary, PURE;
    /// float s0 * s1, round to nearest-even; a NaN result is the canonical quiet NaN
    FMul = "fmul", Binary, PURE;
    /// float s0 / s1, round to nearest-even; a NaN result is the canonical quiet NaN
    FDiv = "fdiv", Binary, PURE;
    /// IEEE 754-2019 minimumNumber: a NaN operand yields the other one, -0 < +0; both NaN gives the canonical NaN
    FMin = "fmin", Binary, PURE;
    /// IEEE 754-2019 maximumNumber: a NaN operand yields the other one, +0 > -0; both NaN gives the canonical NaN
    FMax = "fmax", Binary, PURE;
    /// float square root of s0, round to nearest-even; a NaN result is the canonical quiet NaN
    FSqrt = "fsqrt", Unary, PURE;
    /// float s0 * s1 + s2 with a single rounding (nearest-even); a NaN result is the canonical quiet NaN
    FFma = "ffma", Ternary, PURE;
    /// dst = fcond(s0, s1) ? 1 : 0 on floats
    FSetCond = "fsetcond", FSetCond, PURE;
    /// float s0 rounded to an integral float, mode aux (FRound); a NaN result is the canonical quiet NaN
    FRound = "fround", FRound, PURE;
    /// float (dst's width) = signed integer s0 (i32 or i64), round to nearest-even
    FCvtFromS = "fcvt_from_s", FConvert, PURE;
    /// float (dst's width) = unsigned integer s0 (i32 or i64), round to nearest-even
    FCvtFromU = "fcvt_from_u", FConvert, PURE;
    /// signed integer (dst's width) = float s0 truncated toward zero; saturates out of range, NaN gives 0
    FCvtToS = "fcvt_to_s", FConvert, PURE;
    /// unsigned integer (dst's width) = float s0 truncated toward zero; saturates out of range (negative gives 0), NaN gives 0
    FCvtToU = "fcvt_to_u", FConvert, PURE;
    /// f64 = f32 s0 (exact) or f32 = f64 s0 (nearest-even); a NaN result is the canonical quiet NaN
    FCvtF = "fcvt_f", FConvert, PURE;
    /// dst = cond(s0, s1) ? s2 : s3
    Select = "select", Select, PURE;
    /// dst = guest state at byte offset imm
    GetReg = "get_reg", GetReg, PURE;
    /// guest state at byte offset imm = s0
    SetReg = "set_reg", SetReg, PURE;
    /// dst = guest memory at s0 + imm
    Load = "load", Load, MEM;
    /// guest memory at s1 + imm = s0
    Store = "store", Store, MEM;
    /// dst = atomic rmw of guest memory at s0 with s1; returns the old value
    AtomicRmw = "atomic_rmw", AtomicRmw, MEM;
    /// dst = atomic compare-and-swap at s0 (expected s1, new s2); returns the old value
    AtomicCas = "atomic_cas", AtomicCas, MEM;
    /// 128-bit atomic compare-and-swap of the 16 bytes at s0 (little-endian, 16-byte aligned): expected s1:s2, new s3:new_hi (low:high); the old value goes to dst:old_hi
    AtomicCas128 = "atomic_cas128", AtomicCas128, MEM;
    /// memory barrier
    Fence = "fence", Fence, PURE;
    /// defines a label
    Label = "label", Label, PURE;
    /// unconditional jump to a label in this unit
    Jump = "jump", Jump, TERM;
    /// conditional jump to a label in this unit
    Branch = "br", Branch, PURE;
    /// marks the start of the guest instruction at pc imm
    InsnStart = "insn_start", InsnStart, PURE;
    /// calls helper aux with the CPU state and s0..s3
    Call = "call", Call, TRAP;
    /// direct, chainable exit to guest pc imm through link slot aux
    GotoTb = "goto_tb", GotoTb, TERM;
    /// indirect exit to the guest pc in s0 through the jump cache
    GotoPtr = "goto_ptr", GotoPtr, TERM;
    /// leaves to the exec loop with reason aux at pc imm
    Exit = "exit", Exit, TERM;
    /// raises exception aux at pc imm with argument s0
    Raise = "raise", Raise, TERM;
}
