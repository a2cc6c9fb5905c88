//! The RV64GC (+ Zba/Zbb/Zbs, Zicsr, Zifencei) decode table: one row per instruction with its
//! bit pattern (bit 31 … 0; `0`/`1` fixed, `.` a field bit) and its operand format. The lifter
//! and the disassembler share it through [`dispatch`] and the [`Visitor`] trait. Compressed
//! instructions are expanded to their 32-bit equivalents first ([`crate::rvc`]).

use std::sync::OnceLock;

/// Operand formats; they say which fields of [`Args`] are meaningful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    /// `rd, rs1, rs2`
    R,
    /// `rd, rs1, rs2, rs3, rm` (fused multiply-add)
    R4,
    /// `rd, rs1, rs2, rm` (FP ops; `rs2` may be a fixed sub-opcode)
    Rf,
    /// `rd, rs1, imm` (12-bit signed)
    I,
    /// `rd, rs1, shamt` (6-bit)
    Sh,
    /// `rs1, rs2, imm` (store offset)
    S,
    /// `rs1, rs2, imm` (branch offset)
    B,
    /// `rd, imm` (upper 20 bits, sign-extended)
    U,
    /// `rd, imm` (jump offset)
    J,
    /// `rd, rs1, csr` (rs1 holds the 5-bit immediate for the `i` forms)
    Csr,
    /// `rd, rs1, rs2` with aq/rl bits (atomics)
    A,
    /// no operands
    N,
}

/// `rd, rs1, rs2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct R {
    /// Destination register.
    pub rd: u8,
    /// First source.
    pub rs1: u8,
    /// Second source.
    pub rs2: u8,
}

/// `rd, rs1, rs2, rs3, rm` (fused multiply-add).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct R4 {
    /// Destination register.
    pub rd: u8,
    /// First source.
    pub rs1: u8,
    /// Second source.
    pub rs2: u8,
    /// Third source.
    pub rs3: u8,
    /// Rounding mode (7 = dynamic).
    pub rm: u8,
}

/// `rd, rs1, rs2, rm` (OP-FP; `rs2` or `rm` may be a fixed sub-opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rf {
    /// Destination register.
    pub rd: u8,
    /// First source.
    pub rs1: u8,
    /// Second source.
    pub rs2: u8,
    /// Rounding mode or sub-opcode (bits 14:12).
    pub rm: u8,
}

/// `rd, rs1, imm` (12-bit, sign-extended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I {
    /// Destination register.
    pub rd: u8,
    /// Source / base register.
    pub rs1: u8,
    /// Immediate.
    pub imm: i64,
}

/// `rd, rs1, shamt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sh {
    /// Destination register.
    pub rd: u8,
    /// Source register.
    pub rs1: u8,
    /// Shift amount (6 bits; 5 for the *W forms, whose pattern fixes bit 25).
    pub shamt: u8,
}

/// `rs2, imm(rs1)` (stores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S {
    /// Base register.
    pub rs1: u8,
    /// Value register.
    pub rs2: u8,
    /// Offset.
    pub imm: i64,
}

/// `rs1, rs2, offset` (conditional branches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct B {
    /// First compared register.
    pub rs1: u8,
    /// Second compared register.
    pub rs2: u8,
    /// Offset from the branch's pc.
    pub imm: i64,
}

/// `rd, imm` (upper immediate: already shifted and sign-extended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct U {
    /// Destination register.
    pub rd: u8,
    /// Immediate.
    pub imm: i64,
}

/// `rd, offset` (jal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct J {
    /// Link register.
    pub rd: u8,
    /// Offset from the jump's pc.
    pub imm: i64,
}

/// `rd, csr, rs1` (`rs1` is the 5-bit immediate for the `i` forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Csr {
    /// Destination register.
    pub rd: u8,
    /// Source register or immediate.
    pub rs1: u8,
    /// CSR number.
    pub csr: u16,
}

/// `rd, rs2, (rs1)` with ordering bits (atomics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct A {
    /// Destination register.
    pub rd: u8,
    /// Address register.
    pub rs1: u8,
    /// Value register.
    pub rs2: u8,
    /// Acquire.
    pub aq: bool,
    /// Release.
    pub rl: bool,
}

/// Decoded operands, one typed struct per format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "each variant is its format's struct")]
pub enum Args {
    R(R),
    R4(R4),
    Rf(Rf),
    I(I),
    Sh(Sh),
    S(S),
    B(B),
    U(U),
    J(J),
    Csr(Csr),
    A(A),
    N,
}

macro_rules! decode_table {
    ($( $op:ident $name:literal = $pat:literal => $fmt:ident; )*) => {
        /// Every instruction in the table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs, reason = "the mnemonic is the doc")]
        pub enum Op { $($op,)* }

        /// The table, in declaration order.
        pub static TABLE: &[Row] = &[
            $( Row { op: Op::$op, name: $name, mask: pat($pat).0, value: pat($pat).1, fmt: Fmt::$fmt }, )*
        ];
    };
}

/// One decode-table row.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// The instruction.
    pub op: Op,
    /// Its mnemonic.
    pub name: &'static str,
    /// Fixed bits.
    pub mask: u32,
    /// Their values.
    pub value: u32,
    /// Operand format.
    pub fmt: Fmt,
}

/// Parses a pattern string into (mask, value); spaces are ignored.
const fn pat(s: &str) -> (u32, u32) {
    let b = s.as_bytes();
    let (mut i, mut mask, mut val, mut n) = (0, 0u32, 0u32, 0);
    while i < b.len() {
        match b[i] {
            b'0' | b'1' | b'.' => {
                mask = (mask << 1) | (b[i] != b'.') as u32;
                val = (val << 1) | (b[i] == b'1') as u32;
                n += 1;
            }
            _ => {}
        }
        i += 1;
    }
    assert!(n == 32, "pattern must have 32 bits");
    (mask, val)
}

#[rustfmt::skip]
decode_table! {
    // RV64I
    Lui "lui"       = "....... ..... ..... ... ..... 0110111" => U;
    Auipc "auipc"   = "....... ..... ..... ... ..... 0010111" => U;
    Jal "jal"       = "....... ..... ..... ... ..... 1101111" => J;
    Jalr "jalr"     = "....... ..... ..... 000 ..... 1100111" => I;
    Beq "beq"       = "....... ..... ..... 000 ..... 1100011" => B;
    Bne "bne"       = "....... ..... ..... 001 ..... 1100011" => B;
    Blt "blt"       = "....... ..... ..... 100 ..... 1100011" => B;
    Bge "bge"       = "....... ..... ..... 101 ..... 1100011" => B;
    Bltu "bltu"     = "....... ..... ..... 110 ..... 1100011" => B;
    Bgeu "bgeu"     = "....... ..... ..... 111 ..... 1100011" => B;
    Lb "lb"         = "....... ..... ..... 000 ..... 0000011" => I;
    Lh "lh"         = "....... ..... ..... 001 ..... 0000011" => I;
    Lw "lw"         = "....... ..... ..... 010 ..... 0000011" => I;
    Ld "ld"         = "....... ..... ..... 011 ..... 0000011" => I;
    Lbu "lbu"       = "....... ..... ..... 100 ..... 0000011" => I;
    Lhu "lhu"       = "....... ..... ..... 101 ..... 0000011" => I;
    Lwu "lwu"       = "....... ..... ..... 110 ..... 0000011" => I;
    Sb "sb"         = "....... ..... ..... 000 ..... 0100011" => S;
    Sh "sh"         = "....... ..... ..... 001 ..... 0100011" => S;
    Sw "sw"         = "....... ..... ..... 010 ..... 0100011" => S;
    Sd "sd"         = "....... ..... ..... 011 ..... 0100011" => S;
    Addi "addi"     = "....... ..... ..... 000 ..... 0010011" => I;
    Slti "slti"     = "....... ..... ..... 010 ..... 0010011" => I;
    Sltiu "sltiu"   = "....... ..... ..... 011 ..... 0010011" => I;
    Xori "xori"     = "....... ..... ..... 100 ..... 0010011" => I;
    Ori "ori"       = "....... ..... ..... 110 ..... 0010011" => I;
    Andi "andi"     = "....... ..... ..... 111 ..... 0010011" => I;
    Slli "slli"     = "000000. ..... ..... 001 ..... 0010011" => Sh;
    Srli "srli"     = "000000. ..... ..... 101 ..... 0010011" => Sh;
    Srai "srai"     = "010000. ..... ..... 101 ..... 0010011" => Sh;
    Add "add"       = "0000000 ..... ..... 000 ..... 0110011" => R;
    Sub "sub"       = "0100000 ..... ..... 000 ..... 0110011" => R;
    Sll "sll"       = "0000000 ..... ..... 001 ..... 0110011" => R;
    Slt "slt"       = "0000000 ..... ..... 010 ..... 0110011" => R;
    Sltu "sltu"     = "0000000 ..... ..... 011 ..... 0110011" => R;
    Xor "xor"       = "0000000 ..... ..... 100 ..... 0110011" => R;
    Srl "srl"       = "0000000 ..... ..... 101 ..... 0110011" => R;
    Sra "sra"       = "0100000 ..... ..... 101 ..... 0110011" => R;
    Or "or"         = "0000000 ..... ..... 110 ..... 0110011" => R;
    And "and"       = "0000000 ..... ..... 111 ..... 0110011" => R;
    Fence "fence"   = "....... ..... ..... 000 ..... 0001111" => N;
    FenceI "fence.i" = "....... ..... ..... 001 ..... 0001111" => N;
    Ecall "ecall"   = "0000000 00000 00000 000 00000 1110011" => N;
    Ebreak "ebreak" = "0000000 00001 00000 000 00000 1110011" => N;
    Addiw "addiw"   = "....... ..... ..... 000 ..... 0011011" => I;
    Slliw "slliw"   = "0000000 ..... ..... 001 ..... 0011011" => Sh;
    Srliw "srliw"   = "0000000 ..... ..... 101 ..... 0011011" => Sh;
    Sraiw "sraiw"   = "0100000 ..... ..... 101 ..... 0011011" => Sh;
    Addw "addw"     = "0000000 ..... ..... 000 ..... 0111011" => R;
    Subw "subw"     = "0100000 ..... ..... 000 ..... 0111011" => R;
    Sllw "sllw"     = "0000000 ..... ..... 001 ..... 0111011" => R;
    Srlw "srlw"     = "0000000 ..... ..... 101 ..... 0111011" => R;
    Sraw "sraw"     = "0100000 ..... ..... 101 ..... 0111011" => R;
    // Zicsr
    Csrrw "csrrw"   = "....... ..... ..... 001 ..... 1110011" => Csr;
    Csrrs "csrrs"   = "....... ..... ..... 010 ..... 1110011" => Csr;
    Csrrc "csrrc"   = "....... ..... ..... 011 ..... 1110011" => Csr;
    Csrrwi "csrrwi" = "....... ..... ..... 101 ..... 1110011" => Csr;
    Csrrsi "csrrsi" = "....... ..... ..... 110 ..... 1110011" => Csr;
    Csrrci "csrrci" = "....... ..... ..... 111 ..... 1110011" => Csr;
    // RV64M
    Mul "mul"       = "0000001 ..... ..... 000 ..... 0110011" => R;
    Mulh "mulh"     = "0000001 ..... ..... 001 ..... 0110011" => R;
    Mulhsu "mulhsu" = "0000001 ..... ..... 010 ..... 0110011" => R;
    Mulhu "mulhu"   = "0000001 ..... ..... 011 ..... 0110011" => R;
    Div "div"       = "0000001 ..... ..... 100 ..... 0110011" => R;
    Divu "divu"     = "0000001 ..... ..... 101 ..... 0110011" => R;
    Rem "rem"       = "0000001 ..... ..... 110 ..... 0110011" => R;
    Remu "remu"     = "0000001 ..... ..... 111 ..... 0110011" => R;
    Mulw "mulw"     = "0000001 ..... ..... 000 ..... 0111011" => R;
    Divw "divw"     = "0000001 ..... ..... 100 ..... 0111011" => R;
    Divuw "divuw"   = "0000001 ..... ..... 101 ..... 0111011" => R;
    Remw "remw"     = "0000001 ..... ..... 110 ..... 0111011" => R;
    Remuw "remuw"   = "0000001 ..... ..... 111 ..... 0111011" => R;
    // RV64A
    LrW "lr.w"          = "00010.. 00000 ..... 010 ..... 0101111" => A;
    ScW "sc.w"          = "00011.. ..... ..... 010 ..... 0101111" => A;
    AmoswapW "amoswap.w" = "00001.. ..... ..... 010 ..... 0101111" => A;
    AmoaddW "amoadd.w"   = "00000.. ..... ..... 010 ..... 0101111" => A;
    AmoxorW "amoxor.w"   = "00100.. ..... ..... 010 ..... 0101111" => A;
    AmoandW "amoand.w"   = "01100.. ..... ..... 010 ..... 0101111" => A;
    AmoorW "amoor.w"     = "01000.. ..... ..... 010 ..... 0101111" => A;
    AmominW "amomin.w"   = "10000.. ..... ..... 010 ..... 0101111" => A;
    AmomaxW "amomax.w"   = "10100.. ..... ..... 010 ..... 0101111" => A;
    AmominuW "amominu.w" = "11000.. ..... ..... 010 ..... 0101111" => A;
    AmomaxuW "amomaxu.w" = "11100.. ..... ..... 010 ..... 0101111" => A;
    LrD "lr.d"          = "00010.. 00000 ..... 011 ..... 0101111" => A;
    ScD "sc.d"          = "00011.. ..... ..... 011 ..... 0101111" => A;
    AmoswapD "amoswap.d" = "00001.. ..... ..... 011 ..... 0101111" => A;
    AmoaddD "amoadd.d"   = "00000.. ..... ..... 011 ..... 0101111" => A;
    AmoxorD "amoxor.d"   = "00100.. ..... ..... 011 ..... 0101111" => A;
    AmoandD "amoand.d"   = "01100.. ..... ..... 011 ..... 0101111" => A;
    AmoorD "amoor.d"     = "01000.. ..... ..... 011 ..... 0101111" => A;
    AmominD "amomin.d"   = "10000.. ..... ..... 011 ..... 0101111" => A;
    AmomaxD "amomax.d"   = "10100.. ..... ..... 011 ..... 0101111" => A;
    AmominuD "amominu.d" = "11000.. ..... ..... 011 ..... 0101111" => A;
    AmomaxuD "amomaxu.d" = "11100.. ..... ..... 011 ..... 0101111" => A;
    // RV64F / RV64D (fmt bit 25: 0 single, 1 double)
    Flw "flw"         = "....... ..... ..... 010 ..... 0000111" => I;
    Fld "fld"         = "....... ..... ..... 011 ..... 0000111" => I;
    Fsw "fsw"         = "....... ..... ..... 010 ..... 0100111" => S;
    Fsd "fsd"         = "....... ..... ..... 011 ..... 0100111" => S;
    FmaddS "fmadd.s"   = ".....00 ..... ..... ... ..... 1000011" => R4;
    FmsubS "fmsub.s"   = ".....00 ..... ..... ... ..... 1000111" => R4;
    FnmsubS "fnmsub.s" = ".....00 ..... ..... ... ..... 1001011" => R4;
    FnmaddS "fnmadd.s" = ".....00 ..... ..... ... ..... 1001111" => R4;
    FmaddD "fmadd.d"   = ".....01 ..... ..... ... ..... 1000011" => R4;
    FmsubD "fmsub.d"   = ".....01 ..... ..... ... ..... 1000111" => R4;
    FnmsubD "fnmsub.d" = ".....01 ..... ..... ... ..... 1001011" => R4;
    FnmaddD "fnmadd.d" = ".....01 ..... ..... ... ..... 1001111" => R4;
    FaddS "fadd.s"    = "0000000 ..... ..... ... ..... 1010011" => Rf;
    FsubS "fsub.s"    = "0000100 ..... ..... ... ..... 1010011" => Rf;
    FmulS "fmul.s"    = "0001000 ..... ..... ... ..... 1010011" => Rf;
    FdivS "fdiv.s"    = "0001100 ..... ..... ... ..... 1010011" => Rf;
    FsqrtS "fsqrt.s"  = "0101100 00000 ..... ... ..... 1010011" => Rf;
    FsgnjS "fsgnj.s"  = "0010000 ..... ..... 000 ..... 1010011" => Rf;
    FsgnjnS "fsgnjn.s" = "0010000 ..... ..... 001 ..... 1010011" => Rf;
    FsgnjxS "fsgnjx.s" = "0010000 ..... ..... 010 ..... 1010011" => Rf;
    FminS "fmin.s"    = "0010100 ..... ..... 000 ..... 1010011" => Rf;
    FmaxS "fmax.s"    = "0010100 ..... ..... 001 ..... 1010011" => Rf;
    FeqS "feq.s"      = "1010000 ..... ..... 010 ..... 1010011" => Rf;
    FltS "flt.s"      = "1010000 ..... ..... 001 ..... 1010011" => Rf;
    FleS "fle.s"      = "1010000 ..... ..... 000 ..... 1010011" => Rf;
    FclassS "fclass.s" = "1110000 00000 ..... 001 ..... 1010011" => Rf;
    FmvXW "fmv.x.w"   = "1110000 00000 ..... 000 ..... 1010011" => Rf;
    FmvWX "fmv.w.x"   = "1111000 00000 ..... 000 ..... 1010011" => Rf;
    FcvtWS "fcvt.w.s"   = "1100000 00000 ..... ... ..... 1010011" => Rf;
    FcvtWuS "fcvt.wu.s" = "1100000 00001 ..... ... ..... 1010011" => Rf;
    FcvtLS "fcvt.l.s"   = "1100000 00010 ..... ... ..... 1010011" => Rf;
    FcvtLuS "fcvt.lu.s" = "1100000 00011 ..... ... ..... 1010011" => Rf;
    FcvtSW "fcvt.s.w"   = "1101000 00000 ..... ... ..... 1010011" => Rf;
    FcvtSWu "fcvt.s.wu" = "1101000 00001 ..... ... ..... 1010011" => Rf;
    FcvtSL "fcvt.s.l"   = "1101000 00010 ..... ... ..... 1010011" => Rf;
    FcvtSLu "fcvt.s.lu" = "1101000 00011 ..... ... ..... 1010011" => Rf;
    FaddD "fadd.d"    = "0000001 ..... ..... ... ..... 1010011" => Rf;
    FsubD "fsub.d"    = "0000101 ..... ..... ... ..... 1010011" => Rf;
    FmulD "fmul.d"    = "0001001 ..... ..... ... ..... 1010011" => Rf;
    FdivD "fdiv.d"    = "0001101 ..... ..... ... ..... 1010011" => Rf;
    FsqrtD "fsqrt.d"  = "0101101 00000 ..... ... ..... 1010011" => Rf;
    FsgnjD "fsgnj.d"  = "0010001 ..... ..... 000 ..... 1010011" => Rf;
    FsgnjnD "fsgnjn.d" = "0010001 ..... ..... 001 ..... 1010011" => Rf;
    FsgnjxD "fsgnjx.d" = "0010001 ..... ..... 010 ..... 1010011" => Rf;
    FminD "fmin.d"    = "0010101 ..... ..... 000 ..... 1010011" => Rf;
    FmaxD "fmax.d"    = "0010101 ..... ..... 001 ..... 1010011" => Rf;
    FcvtSD "fcvt.s.d" = "0100000 00001 ..... ... ..... 1010011" => Rf;
    FcvtDS "fcvt.d.s" = "0100001 00000 ..... ... ..... 1010011" => Rf;
    FeqD "feq.d"      = "1010001 ..... ..... 010 ..... 1010011" => Rf;
    FltD "flt.d"      = "1010001 ..... ..... 001 ..... 1010011" => Rf;
    FleD "fle.d"      = "1010001 ..... ..... 000 ..... 1010011" => Rf;
    FclassD "fclass.d" = "1110001 00000 ..... 001 ..... 1010011" => Rf;
    FcvtWD "fcvt.w.d"   = "1100001 00000 ..... ... ..... 1010011" => Rf;
    FcvtWuD "fcvt.wu.d" = "1100001 00001 ..... ... ..... 1010011" => Rf;
    FcvtLD "fcvt.l.d"   = "1100001 00010 ..... ... ..... 1010011" => Rf;
    FcvtLuD "fcvt.lu.d" = "1100001 00011 ..... ... ..... 1010011" => Rf;
    FcvtDW "fcvt.d.w"   = "1101001 00000 ..... ... ..... 1010011" => Rf;
    FcvtDWu "fcvt.d.wu" = "1101001 00001 ..... ... ..... 1010011" => Rf;
    FcvtDL "fcvt.d.l"   = "1101001 00010 ..... ... ..... 1010011" => Rf;
    FcvtDLu "fcvt.d.lu" = "1101001 00011 ..... ... ..... 1010011" => Rf;
    FmvXD "fmv.x.d"   = "1110001 00000 ..... 000 ..... 1010011" => Rf;
    FmvDX "fmv.d.x"   = "1111001 00000 ..... 000 ..... 1010011" => Rf;
    // Zba
    AddUw "add.uw"     = "0000100 ..... ..... 000 ..... 0111011" => R;
    Sh1add "sh1add"    = "0010000 ..... ..... 010 ..... 0110011" => R;
    Sh2add "sh2add"    = "0010000 ..... ..... 100 ..... 0110011" => R;
    Sh3add "sh3add"    = "0010000 ..... ..... 110 ..... 0110011" => R;
    Sh1addUw "sh1add.uw" = "0010000 ..... ..... 010 ..... 0111011" => R;
    Sh2addUw "sh2add.uw" = "0010000 ..... ..... 100 ..... 0111011" => R;
    Sh3addUw "sh3add.uw" = "0010000 ..... ..... 110 ..... 0111011" => R;
    SlliUw "slli.uw"   = "000010. ..... ..... 001 ..... 0011011" => Sh;
    // Zbb
    Andn "andn"     = "0100000 ..... ..... 111 ..... 0110011" => R;
    Orn "orn"       = "0100000 ..... ..... 110 ..... 0110011" => R;
    Xnor "xnor"     = "0100000 ..... ..... 100 ..... 0110011" => R;
    Clz "clz"       = "0110000 00000 ..... 001 ..... 0010011" => R;
    Ctz "ctz"       = "0110000 00001 ..... 001 ..... 0010011" => R;
    Cpop "cpop"     = "0110000 00010 ..... 001 ..... 0010011" => R;
    Clzw "clzw"     = "0110000 00000 ..... 001 ..... 0011011" => R;
    Ctzw "ctzw"     = "0110000 00001 ..... 001 ..... 0011011" => R;
    Cpopw "cpopw"   = "0110000 00010 ..... 001 ..... 0011011" => R;
    Max "max"       = "0000101 ..... ..... 110 ..... 0110011" => R;
    Maxu "maxu"     = "0000101 ..... ..... 111 ..... 0110011" => R;
    Min "min"       = "0000101 ..... ..... 100 ..... 0110011" => R;
    Minu "minu"     = "0000101 ..... ..... 101 ..... 0110011" => R;
    SextB "sext.b"  = "0110000 00100 ..... 001 ..... 0010011" => R;
    SextH "sext.h"  = "0110000 00101 ..... 001 ..... 0010011" => R;
    ZextH "zext.h"  = "0000100 00000 ..... 100 ..... 0111011" => R;
    Rol "rol"       = "0110000 ..... ..... 001 ..... 0110011" => R;
    Ror "ror"       = "0110000 ..... ..... 101 ..... 0110011" => R;
    Rolw "rolw"     = "0110000 ..... ..... 001 ..... 0111011" => R;
    Rorw "rorw"     = "0110000 ..... ..... 101 ..... 0111011" => R;
    Rori "rori"     = "011000. ..... ..... 101 ..... 0010011" => Sh;
    Roriw "roriw"   = "0110000 ..... ..... 101 ..... 0011011" => Sh;
    OrcB "orc.b"    = "0010100 00111 ..... 101 ..... 0010011" => R;
    Rev8 "rev8"     = "0110101 11000 ..... 101 ..... 0010011" => R;
    // Zbs
    Bclr "bclr"     = "0100100 ..... ..... 001 ..... 0110011" => R;
    Bext "bext"     = "0100100 ..... ..... 101 ..... 0110011" => R;
    Binv "binv"     = "0110100 ..... ..... 001 ..... 0110011" => R;
    Bset "bset"     = "0010100 ..... ..... 001 ..... 0110011" => R;
    Bclri "bclri"   = "010010. ..... ..... 001 ..... 0010011" => Sh;
    Bexti "bexti"   = "010010. ..... ..... 101 ..... 0010011" => Sh;
    Binvi "binvi"   = "011010. ..... ..... 001 ..... 0010011" => Sh;
    Bseti "bseti"   = "001010. ..... ..... 001 ..... 0010011" => Sh;
}

fn sext(v: u32, bits: u32) -> i64 {
    (i64::from(v) << (64 - bits)) >> (64 - bits)
}

/// Extracts the operands of `raw` for format `fmt`.
pub fn args(fmt: Fmt, raw: u32) -> Args {
    let rd = ((raw >> 7) & 31) as u8;
    let rs1 = ((raw >> 15) & 31) as u8;
    let rs2 = ((raw >> 20) & 31) as u8;
    let rm = ((raw >> 12) & 7) as u8;
    match fmt {
        Fmt::R => Args::R(R { rd, rs1, rs2 }),
        Fmt::A => Args::A(A {
            rd,
            rs1,
            rs2,
            aq: raw & (1 << 26) != 0,
            rl: raw & (1 << 25) != 0,
        }),
        Fmt::R4 => Args::R4(R4 {
            rd,
            rs1,
            rs2,
            rs3: (raw >> 27) as u8,
            rm,
        }),
        Fmt::Rf => Args::Rf(Rf { rd, rs1, rs2, rm }),
        Fmt::I => Args::I(I {
            rd,
            rs1,
            imm: sext(raw >> 20, 12),
        }),
        Fmt::Sh => Args::Sh(Sh {
            rd,
            rs1,
            shamt: ((raw >> 20) & 63) as u8,
        }),
        Fmt::S => {
            let v = ((raw >> 25) << 5) | ((raw >> 7) & 31);
            Args::S(S {
                rs1,
                rs2,
                imm: sext(v, 12),
            })
        }
        Fmt::B => {
            let v = ((raw >> 31) << 12)
                | (((raw >> 7) & 1) << 11)
                | (((raw >> 25) & 0x3f) << 5)
                | (((raw >> 8) & 0xf) << 1);
            Args::B(B {
                rs1,
                rs2,
                imm: sext(v, 13),
            })
        }
        Fmt::U => Args::U(U {
            rd,
            imm: i64::from((raw & 0xffff_f000) as i32),
        }),
        Fmt::J => {
            let v = ((raw >> 31) << 20)
                | (((raw >> 12) & 0xff) << 12)
                | (((raw >> 20) & 1) << 11)
                | (((raw >> 21) & 0x3ff) << 1);
            Args::J(J {
                rd,
                imm: sext(v, 21),
            })
        }
        Fmt::Csr => Args::Csr(Csr {
            rd,
            rs1,
            csr: (raw >> 20) as u16,
        }),
        Fmt::N => Args::N,
    }
}

/// The bits that select a bucket: opcode (6:0), funct3 (14:12) and the top of funct7 (31:27).
fn key(raw: u32) -> usize {
    ((raw & 0x7f) | (((raw >> 12) & 7) << 7) | ((raw >> 27) << 10)) as usize
}

const KEYS: usize = 1 << 15;

/// Row indices per key (rows whose fixed key bits match), as offsets into one flat list, so a
/// lookup scans a handful of rows.
struct Index {
    start: Vec<u32>,
    rows: Vec<u16>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let (mut start, mut rows) = (Vec::with_capacity(KEYS + 1), Vec::new());
        // A key value k stands for the instruction bits it selects.
        let bits = |k: usize| {
            let k = k as u32;
            (k & 0x7f) | (((k >> 7) & 7) << 12) | ((k >> 10) << 27)
        };
        let key_mask = bits(KEYS - 1);
        // Rows bucketed by major opcode first (in table order), so building the index scans
        // a few rows per key rather than the whole table: it runs at every process start.
        let mut by_opcode: Vec<Vec<u16>> = vec![Vec::new(); 128];
        for (i, r) in TABLE.iter().enumerate() {
            for (op, bucket) in by_opcode.iter_mut().enumerate() {
                if op as u32 & r.mask & 0x7f == r.value & r.mask & 0x7f {
                    bucket.push(i as u16);
                }
            }
        }
        for k in 0..KEYS {
            start.push(rows.len() as u32);
            let b = bits(k);
            for &i in &by_opcode[k & 0x7f] {
                let r = &TABLE[usize::from(i)];
                let m = r.mask & key_mask;
                if b & m == r.value & m {
                    rows.push(i);
                }
            }
        }
        start.push(rows.len() as u32);
        Index { start, rows }
    })
}

/// Finds the table row matching a 32-bit instruction word.
pub fn lookup(raw: u32) -> Option<&'static Row> {
    let ix = index();
    let k = key(raw);
    let (a, b) = (ix.start[k] as usize, ix.start[k + 1] as usize);
    ix.rows[a..b]
        .iter()
        .map(|&i| &TABLE[usize::from(i)])
        .find(|r| raw & r.mask == r.value)
}

/// Decodes a 32-bit instruction word.
pub fn decode(raw: u32) -> Option<(Op, Args)> {
    lookup(raw).map(|r| (r.op, args(r.fmt, raw)))
}

/// A consumer of decoded instructions: the lifter and the disassembler implement it.
pub trait Visitor {
    /// What visiting produces.
    type Out;
    /// A decoded instruction; `raw` is its 32-bit (possibly expanded) encoding.
    fn insn(&mut self, op: Op, a: Args, raw: u32) -> Self::Out;
    /// An encoding that is not in the table (or a reserved one).
    fn illegal(&mut self) -> Self::Out;
}

/// Decodes `raw` and hands it to `v`.
pub fn dispatch<V: Visitor>(v: &mut V, raw: u32) -> V::Out {
    match decode(raw) {
        Some((op, a)) => v.insn(op, a, raw),
        None => v.illegal(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_row_shadows_another() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                let common = a.mask & b.mask;
                assert_ne!(
                    a.value & common,
                    b.value & common,
                    "{} overlaps {}",
                    a.name,
                    b.name
                );
            }
        }
    }

    #[test]
    fn every_row_decodes_to_itself() {
        for r in TABLE {
            assert_eq!(lookup(r.value).map(|x| x.op), Some(r.op), "{}", r.name);
            assert_eq!(r.value & !r.mask, 0, "{}", r.name);
            assert_eq!(r.value & 3, 3, "{} is not a 32-bit encoding", r.name);
        }
    }

    #[test]
    fn immediates_follow_the_spec() {
        // beq x0, x0, -4: imm[12|10:5] = 1111111, imm[4:1|11] = 11101
        assert!(matches!(
            decode(0xfe00_0ee3),
            Some((Op::Beq, Args::B(B { imm: -4, .. })))
        ));
        // jal ra, 0x800: imm[20|10:1|11|19:12]
        assert_eq!(
            decode(0x0010_00ef | (1 << 20)),
            Some((Op::Jal, Args::J(J { rd: 1, imm: 0x800 })))
        );
        // sd a0, -8(sp)
        assert_eq!(
            decode(0xfea1_3c23),
            Some((
                Op::Sd,
                Args::S(S {
                    rs1: 2,
                    rs2: 10,
                    imm: -8
                })
            ))
        );
        // lui a0, 0x80000 (sign-extends on RV64)
        assert_eq!(
            decode(0x8000_0537),
            Some((
                Op::Lui,
                Args::U(U {
                    rd: 10,
                    imm: -0x8000_0000
                })
            ))
        );
        // amoadd.w.aq a5, a1, (a0)
        let aq = Args::A(A {
            rd: 15,
            rs1: 10,
            rs2: 11,
            aq: true,
            rl: false,
        });
        assert_eq!(decode(0x04b5_27af), Some((Op::AmoaddW, aq)));
    }
}
