//! The generator: byte templates of the implemented instruction classes.

use super::{SCRATCH, SCRATCH_LEN, State};
use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, Register, RflagsBits};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One test case: a stream of instructions and the state it starts from.
#[derive(Debug, Clone)]
pub struct Case {
    /// The instructions' bytes (no terminator).
    pub code: Vec<u8>,
    /// The initial state (its `signal` is 0).
    pub input: State,
    /// RFLAGS bits the SDM leaves undefined after the stream.
    pub undefined_flags: u64,
    /// The disassembly, one instruction a line.
    pub text: String,
}

impl Case {
    /// A case of `code` on `input` whose instructions define every flag they write; its text is
    /// the disassembly.
    pub fn new(code: Vec<u8>, input: State) -> Case {
        let text = super::disasm(&code);
        Case {
            code,
            input,
            undefined_flags: 0,
            text,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Rm {
    /// No ModRM byte.
    None,
    /// Register or memory.
    Any,
    /// Register form only.
    Reg,
    /// Memory form only.
    Mem,
}

struct T {
    pfx: &'static [u8],
    op: &'static [u8],
    rm: Rm,
    /// Allowed ModRM.reg values (bit mask).
    regs: u8,
    lock: bool,
    /// SSE: no REX.W / 0x66 games, 16-byte aligned memory.
    sse: bool,
    /// VEX-encoded (BMI): map | pp << 4 (0 = legacy encoding); `op` is the opcode byte.
    vex: u8,
}

const fn t(op: &'static [u8], rm: Rm) -> T {
    T {
        pfx: &[],
        op,
        rm,
        regs: 0xff,
        lock: false,
        sse: false,
        vex: 0,
    }
}

const fn g(op: &'static [u8], rm: Rm, regs: u8, lock: bool) -> T {
    T {
        pfx: &[],
        op,
        rm,
        regs,
        lock,
        sse: false,
        vex: 0,
    }
}

const fn s(pfx: &'static [u8], op: &'static [u8], rm: Rm) -> T {
    T {
        pfx,
        op,
        rm,
        regs: 0xff,
        lock: false,
        sse: true,
        vex: 0,
    }
}

/// A VEX-encoded general-purpose instruction (map 2 = 0F38, 3 = 0F3A; pp 0 none, 1 66, 2 F3,
/// 3 F2).
const fn v(map: u8, pp: u8, op: &'static [u8], regs: u8) -> T {
    T {
        pfx: &[],
        op,
        rm: Rm::Any,
        regs,
        lock: false,
        sse: false,
        vex: map | (pp << 4),
    }
}

#[rustfmt::skip]
static TEMPLATES: &[T] = &[
    // ALU: op r/m,r ; op r,r/m ; op al,imm8 ; op eax,imm32
    g(&[0x00], Rm::Any, 0xff, true), t(&[0x01], Rm::Any), t(&[0x02], Rm::Any), t(&[0x03], Rm::Any),
    t(&[0x04], Rm::None), t(&[0x05], Rm::None),
    g(&[0x09], Rm::Any, 0xff, true), t(&[0x08], Rm::Any), t(&[0x0a], Rm::Any), t(&[0x0b], Rm::Any),
    t(&[0x0c], Rm::None), t(&[0x0d], Rm::None),
    t(&[0x10], Rm::Any), t(&[0x11], Rm::Any), t(&[0x12], Rm::Any), t(&[0x13], Rm::Any),
    t(&[0x14], Rm::None), t(&[0x15], Rm::None),
    t(&[0x18], Rm::Any), t(&[0x19], Rm::Any), t(&[0x1a], Rm::Any), t(&[0x1b], Rm::Any),
    t(&[0x1c], Rm::None), t(&[0x1d], Rm::None),
    g(&[0x21], Rm::Any, 0xff, true), t(&[0x20], Rm::Any), t(&[0x22], Rm::Any), t(&[0x23], Rm::Any),
    t(&[0x24], Rm::None), t(&[0x25], Rm::None),
    g(&[0x29], Rm::Any, 0xff, true), t(&[0x28], Rm::Any), t(&[0x2a], Rm::Any), t(&[0x2b], Rm::Any),
    t(&[0x2c], Rm::None), t(&[0x2d], Rm::None),
    g(&[0x31], Rm::Any, 0xff, true), t(&[0x30], Rm::Any), t(&[0x32], Rm::Any), t(&[0x33], Rm::Any),
    t(&[0x34], Rm::None), t(&[0x35], Rm::None),
    t(&[0x38], Rm::Any), t(&[0x39], Rm::Any), t(&[0x3a], Rm::Any), t(&[0x3b], Rm::Any),
    t(&[0x3c], Rm::None), t(&[0x3d], Rm::None),
    g(&[0x80], Rm::Any, 0x73, true), g(&[0x81], Rm::Any, 0x73, true), g(&[0x83], Rm::Any, 0x73, true),
    g(&[0x80], Rm::Any, 0x8c, false), g(&[0x81], Rm::Any, 0x8c, false), g(&[0x83], Rm::Any, 0x8c, false),
    t(&[0x84], Rm::Any), t(&[0x85], Rm::Any), t(&[0x86], Rm::Any), t(&[0x87], Rm::Any),
    t(&[0x88], Rm::Any), t(&[0x89], Rm::Any), t(&[0x8a], Rm::Any), t(&[0x8b], Rm::Any),
    t(&[0x8d], Rm::Mem), t(&[0x63], Rm::Any), t(&[0x69], Rm::Any), t(&[0x6b], Rm::Any),
    t(&[0x91], Rm::None), t(&[0x93], Rm::None), t(&[0x97], Rm::None),
    t(&[0x98], Rm::None), t(&[0x99], Rm::None), t(&[0xa8], Rm::None), t(&[0xa9], Rm::None),
    t(&[0xb0], Rm::None), t(&[0xb4], Rm::None), t(&[0xb9], Rm::None), t(&[0xbf], Rm::None),
    g(&[0xc0], Rm::Any, 0xb3, false), g(&[0xc1], Rm::Any, 0xb3, false),
    g(&[0xd0], Rm::Any, 0xb3, false), g(&[0xd1], Rm::Any, 0xb3, false),
    g(&[0xd2], Rm::Any, 0xb3, false), g(&[0xd3], Rm::Any, 0xb3, false),
    // rcl, rcr (by 1, cl, imm8; cl and the immediate often mask to 0: flags kept)
    g(&[0xd1], Rm::Any, 0x0c, false), g(&[0xd3], Rm::Any, 0x0c, false),
    g(&[0xc1], Rm::Any, 0x0c, false), g(&[0xd2], Rm::Any, 0x0c, false),
    g(&[0xc6], Rm::Any, 0x01, false), g(&[0xc7], Rm::Any, 0x01, false),
    g(&[0xf6], Rm::Any, 0xfd, false), g(&[0xf7], Rm::Any, 0xfd, false),
    g(&[0xf6], Rm::Mem, 0x04, true), g(&[0xf7], Rm::Mem, 0x04, true),
    g(&[0xfe], Rm::Any, 0x03, true), g(&[0xff], Rm::Any, 0x03, true),
    t(&[0xf5], Rm::None), t(&[0xf8], Rm::None), t(&[0xf9], Rm::None),
    t(&[0x9f], Rm::None), t(&[0x9e], Rm::None),
    // 0F: cmovcc, setcc, bt*, imul, movzx/movsx, bsf/bsr, xadd, cmpxchg, bswap
    t(&[0x0f, 0x42], Rm::Any), t(&[0x0f, 0x44], Rm::Any), t(&[0x0f, 0x47], Rm::Any),
    t(&[0x0f, 0x4c], Rm::Any), t(&[0x0f, 0x4e], Rm::Any), t(&[0x0f, 0x48], Rm::Any),
    t(&[0x0f, 0x40], Rm::Any), t(&[0x0f, 0x4a], Rm::Any), t(&[0x0f, 0x4f], Rm::Any),
    g(&[0x0f, 0x92], Rm::Any, 1, false), g(&[0x0f, 0x94], Rm::Any, 1, false),
    g(&[0x0f, 0x97], Rm::Any, 1, false), g(&[0x0f, 0x9c], Rm::Any, 1, false),
    g(&[0x0f, 0x9e], Rm::Any, 1, false), g(&[0x0f, 0x98], Rm::Any, 1, false),
    g(&[0x0f, 0x90], Rm::Any, 1, false), g(&[0x0f, 0x9a], Rm::Any, 1, false),
    g(&[0x0f, 0x9f], Rm::Any, 1, false), g(&[0x0f, 0x93], Rm::Any, 1, false),
    t(&[0x0f, 0xa3], Rm::Reg), t(&[0x0f, 0xab], Rm::Reg), t(&[0x0f, 0xb3], Rm::Reg),
    t(&[0x0f, 0xbb], Rm::Reg), g(&[0x0f, 0xba], Rm::Any, 0xf0, false),
    g(&[0x0f, 0xba], Rm::Mem, 0xe0, true),
    t(&[0x0f, 0xaf], Rm::Any), t(&[0x0f, 0xb6], Rm::Any), t(&[0x0f, 0xb7], Rm::Any),
    t(&[0x0f, 0xbe], Rm::Any), t(&[0x0f, 0xbf], Rm::Any), t(&[0x0f, 0xbc], Rm::Any),
    t(&[0x0f, 0xbd], Rm::Any), g(&[0x0f, 0xc0], Rm::Any, 0xff, true),
    g(&[0x0f, 0xc1], Rm::Any, 0xff, true), g(&[0x0f, 0xb0], Rm::Any, 0xff, true),
    g(&[0x0f, 0xb1], Rm::Any, 0xff, true), t(&[0x0f, 0xc8], Rm::None), t(&[0x0f, 0xcb], Rm::None),
    T { pfx: &[0xf3], op: &[0x0f, 0xb8], rm: Rm::Any, regs: 0xff, lock: false, sse: false, vex: 0 },
    T { pfx: &[0xf3], op: &[0x0f, 0xbc], rm: Rm::Any, regs: 0xff, lock: false, sse: false, vex: 0 },
    T { pfx: &[0xf3], op: &[0x0f, 0xbd], rm: Rm::Any, regs: 0xff, lock: false, sse: false, vex: 0 },
    // SSE2 integer and moves
    s(&[0x66], &[0x0f, 0xef], Rm::Any), s(&[0x66], &[0x0f, 0xeb], Rm::Any),
    s(&[0x66], &[0x0f, 0xdb], Rm::Any), s(&[0x66], &[0x0f, 0xdf], Rm::Any),
    s(&[0x66], &[0x0f, 0x74], Rm::Any), s(&[0x66], &[0x0f, 0x75], Rm::Any),
    s(&[0x66], &[0x0f, 0x76], Rm::Any), s(&[0x66], &[0x0f, 0x64], Rm::Any),
    s(&[0x66], &[0x0f, 0xda], Rm::Any), s(&[0x66], &[0x0f, 0xde], Rm::Any),
    s(&[0x66], &[0x0f, 0xd8], Rm::Any), s(&[0x66], &[0x0f, 0xfc], Rm::Any),
    s(&[0x66], &[0x0f, 0xfd], Rm::Any), s(&[0x66], &[0x0f, 0xfe], Rm::Any),
    s(&[0x66], &[0x0f, 0xd4], Rm::Any), s(&[0x66], &[0x0f, 0xf8], Rm::Any),
    s(&[0x66], &[0x0f, 0xfb], Rm::Any), s(&[0x66], &[0x0f, 0x60], Rm::Any),
    s(&[0x66], &[0x0f, 0x61], Rm::Any), s(&[0x66], &[0x0f, 0x62], Rm::Any),
    s(&[0x66], &[0x0f, 0x6c], Rm::Any), s(&[0x66], &[0x0f, 0x6d], Rm::Any),
    s(&[0x66], &[0x0f, 0x70], Rm::Any), s(&[0x66], &[0x0f, 0xd7], Rm::Reg),
    T { pfx: &[0x66], op: &[0x0f, 0x73], rm: Rm::Reg, regs: 0x88, lock: false, sse: true, vex: 0 },
    s(&[0x66], &[0x0f, 0x6f], Rm::Any), s(&[0x66], &[0x0f, 0x7f], Rm::Any),
    s(&[0xf3], &[0x0f, 0x6f], Rm::Any), s(&[0xf3], &[0x0f, 0x7f], Rm::Any),
    s(&[0x66], &[0x0f, 0x6e], Rm::Any), s(&[0x66], &[0x0f, 0x7e], Rm::Any),
    s(&[0x66, 0x48], &[0x0f, 0x6e], Rm::Any), s(&[0x66, 0x48], &[0x0f, 0x7e], Rm::Any),
    s(&[0xf3], &[0x0f, 0x7e], Rm::Any), s(&[0x66], &[0x0f, 0xd6], Rm::Any),
    s(&[], &[0x0f, 0x28], Rm::Any), s(&[], &[0x0f, 0x29], Rm::Any),
    s(&[], &[0x0f, 0x10], Rm::Any), s(&[], &[0x0f, 0x11], Rm::Any),
    s(&[], &[0x0f, 0x57], Rm::Any), s(&[], &[0x0f, 0x54], Rm::Any),
    s(&[], &[0x0f, 0x55], Rm::Any), s(&[], &[0x0f, 0x56], Rm::Any),
    // SSE/SSE2 floating point
    s(&[0xf2], &[0x0f, 0x58], Rm::Any), s(&[0xf2], &[0x0f, 0x59], Rm::Any),
    s(&[0xf2], &[0x0f, 0x5c], Rm::Any), s(&[0xf2], &[0x0f, 0x5e], Rm::Any),
    s(&[0xf2], &[0x0f, 0x5d], Rm::Any), s(&[0xf2], &[0x0f, 0x5f], Rm::Any),
    s(&[0xf2], &[0x0f, 0x51], Rm::Any), s(&[0xf3], &[0x0f, 0x58], Rm::Any),
    s(&[0xf3], &[0x0f, 0x59], Rm::Any), s(&[0xf3], &[0x0f, 0x5e], Rm::Any),
    s(&[0x66], &[0x0f, 0x58], Rm::Any), s(&[0x66], &[0x0f, 0x59], Rm::Any),
    s(&[], &[0x0f, 0x5c], Rm::Any), s(&[], &[0x0f, 0x5d], Rm::Any),
    s(&[0xf2], &[0x0f, 0x10], Rm::Any), s(&[0xf2], &[0x0f, 0x11], Rm::Any),
    s(&[0xf3], &[0x0f, 0x10], Rm::Any), s(&[0xf3], &[0x0f, 0x11], Rm::Any),
    s(&[0xf2], &[0x0f, 0x2a], Rm::Any), s(&[0xf2, 0x48], &[0x0f, 0x2a], Rm::Any),
    s(&[0xf2], &[0x0f, 0x2c], Rm::Any), s(&[0xf2, 0x48], &[0x0f, 0x2d], Rm::Any),
    s(&[0xf3], &[0x0f, 0x2c], Rm::Any), s(&[0xf3], &[0x0f, 0x5a], Rm::Any),
    s(&[0xf2], &[0x0f, 0x5a], Rm::Any), s(&[0x66], &[0x0f, 0x2e], Rm::Any),
    s(&[0x66], &[0x0f, 0x2f], Rm::Any), s(&[], &[0x0f, 0x2e], Rm::Any),
    s(&[0xf2], &[0x0f, 0xc2], Rm::Any), s(&[0x66], &[0x0f, 0xc2], Rm::Any),
    // packed conversions: cvtps2pd, cvtpd2ps, cvtdq2ps, cvtps2dq, cvttps2dq, cvtpd2dq,
    // cvttpd2dq, cvtdq2pd
    s(&[], &[0x0f, 0x5a], Rm::Any), s(&[0x66], &[0x0f, 0x5a], Rm::Any),
    s(&[], &[0x0f, 0x5b], Rm::Any), s(&[0x66], &[0x0f, 0x5b], Rm::Any),
    s(&[0xf3], &[0x0f, 0x5b], Rm::Any), s(&[0xf2], &[0x0f, 0xe6], Rm::Any),
    s(&[0x66], &[0x0f, 0xe6], Rm::Any), s(&[0xf3], &[0x0f, 0xe6], Rm::Any),
    // SSE2 high interleaves, pmuludq, quadword shifts, unpcklps/unpckhps
    s(&[0x66], &[0x0f, 0x68], Rm::Any), s(&[0x66], &[0x0f, 0x69], Rm::Any),
    s(&[0x66], &[0x0f, 0x6a], Rm::Any), s(&[0x66], &[0x0f, 0xf4], Rm::Any),
    T { pfx: &[0x66], op: &[0x0f, 0x73], rm: Rm::Reg, regs: 0x44, lock: false, sse: true, vex: 0 },
    s(&[], &[0x0f, 0x14], Rm::Any), s(&[], &[0x0f, 0x15], Rm::Any),
    // SSE2 16-bit multiplies, pmaddwd, signed compares/min/max, averages, packs, saturating
    // adds/subtracts, shifts by xmm and by immediate, word shuffles, shufps/shufpd
    s(&[0x66], &[0x0f, 0xd5], Rm::Any), s(&[0x66], &[0x0f, 0xe5], Rm::Any),
    s(&[0x66], &[0x0f, 0xe4], Rm::Any), s(&[0x66], &[0x0f, 0xf5], Rm::Any),
    s(&[0x66], &[0x0f, 0x65], Rm::Any), s(&[0x66], &[0x0f, 0x66], Rm::Any),
    s(&[0x66], &[0x0f, 0xea], Rm::Any), s(&[0x66], &[0x0f, 0xee], Rm::Any),
    s(&[0x66], &[0x0f, 0xe0], Rm::Any), s(&[0x66], &[0x0f, 0xf6], Rm::Any),
    s(&[0x66], &[0x0f, 0xe3], Rm::Any),
    s(&[0x66], &[0x0f, 0x63], Rm::Any), s(&[0x66], &[0x0f, 0x67], Rm::Any),
    s(&[0x66], &[0x0f, 0x6b], Rm::Any), s(&[0x66], &[0x0f, 0xdc], Rm::Any),
    s(&[0x66], &[0x0f, 0xdd], Rm::Any), s(&[0x66], &[0x0f, 0xd9], Rm::Any),
    s(&[0x66], &[0x0f, 0xec], Rm::Any), s(&[0x66], &[0x0f, 0xed], Rm::Any),
    s(&[0x66], &[0x0f, 0xe8], Rm::Any), s(&[0x66], &[0x0f, 0xe9], Rm::Any),
    s(&[0x66], &[0x0f, 0xd1], Rm::Any), s(&[0x66], &[0x0f, 0xd2], Rm::Any),
    s(&[0x66], &[0x0f, 0xd3], Rm::Any), s(&[0x66], &[0x0f, 0xe1], Rm::Any),
    s(&[0x66], &[0x0f, 0xe2], Rm::Any), s(&[0x66], &[0x0f, 0xf1], Rm::Any),
    s(&[0x66], &[0x0f, 0xf2], Rm::Any), s(&[0x66], &[0x0f, 0xf3], Rm::Any),
    T { pfx: &[0x66], op: &[0x0f, 0x71], rm: Rm::Reg, regs: 0x54, lock: false, sse: true, vex: 0 },
    T { pfx: &[0x66], op: &[0x0f, 0x72], rm: Rm::Reg, regs: 0x54, lock: false, sse: true, vex: 0 },
    s(&[0xf2], &[0x0f, 0x70], Rm::Any), s(&[0xf3], &[0x0f, 0x70], Rm::Any),
    s(&[], &[0x0f, 0xc6], Rm::Any), s(&[0x66], &[0x0f, 0xc6], Rm::Any),
    // SSE2 word extract/insert
    s(&[0x66], &[0x0f, 0xc5], Rm::Reg), s(&[0x66], &[0x0f, 0xc4], Rm::Any),
    // SSE3
    s(&[0xf2], &[0x0f, 0x12], Rm::Any), s(&[0xf3], &[0x0f, 0x12], Rm::Any),
    s(&[0xf3], &[0x0f, 0x16], Rm::Any), s(&[0x66], &[0x0f, 0xd0], Rm::Any),
    s(&[0xf2], &[0x0f, 0xd0], Rm::Any), s(&[0x66], &[0x0f, 0x7c], Rm::Any),
    s(&[0xf2], &[0x0f, 0x7c], Rm::Any), s(&[0x66], &[0x0f, 0x7d], Rm::Any),
    s(&[0xf2], &[0x0f, 0x7d], Rm::Any), s(&[0xf2], &[0x0f, 0xf0], Rm::Mem),
    // SSSE3
    s(&[0x66], &[0x0f, 0x38, 0x00], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x01], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x02], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x03], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x04], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x05], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x06], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x07], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x08], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x09], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x0a], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x0b], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x1c], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x1d], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x1e], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x0f], Rm::Any),
    // SSE4.1
    s(&[0x66], &[0x0f, 0x38, 0x10], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x14], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x15], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x17], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x20], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x21], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x22], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x23], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x24], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x25], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x28], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x29], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x2b], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x30], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x31], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x32], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x33], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x34], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x35], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x38], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x39], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x3a], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x3b], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x3c], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x3d], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x3e], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x3f], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x40], Rm::Any),
    s(&[0x66], &[0x0f, 0x38, 0x41], Rm::Any), s(&[0x66], &[0x0f, 0x38, 0x2a], Rm::Mem),
    s(&[0x66], &[0x0f, 0x3a, 0x08], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x09], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x0a], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x0b], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x0c], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x0d], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x0e], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x14], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x15], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x16], Rm::Any),
    s(&[0x66, 0x48], &[0x0f, 0x3a, 0x16], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x17], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x20], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x21], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x22], Rm::Any), s(&[0x66, 0x48], &[0x0f, 0x3a, 0x22], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x40], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x41], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x42], Rm::Any),
    // SSE4.2
    s(&[0x66], &[0x0f, 0x38, 0x37], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x60], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x61], Rm::Any), s(&[0x66], &[0x0f, 0x3a, 0x62], Rm::Any),
    s(&[0x66], &[0x0f, 0x3a, 0x63], Rm::Any), s(&[0x66, 0x48], &[0x0f, 0x3a, 0x60], Rm::Any),
    s(&[0x66, 0x48], &[0x0f, 0x3a, 0x61], Rm::Any),
    T { pfx: &[0xf2], op: &[0x0f, 0x38, 0xf0], rm: Rm::Any, regs: 0xff, lock: false, sse: false, vex: 0 },
    T { pfx: &[0xf2], op: &[0x0f, 0x38, 0xf1], rm: Rm::Any, regs: 0xff, lock: false, sse: false, vex: 0 },
    // BMI1 / BMI2
    v(2, 0, &[0xf2], 0xff), v(2, 0, &[0xf7], 0xff), v(2, 0, &[0xf3], 0x0e),
    v(2, 0, &[0xf5], 0xff), v(2, 2, &[0xf5], 0xff), v(2, 3, &[0xf5], 0xff),
    v(3, 3, &[0xf0], 0xff), v(2, 2, &[0xf7], 0xff), v(2, 1, &[0xf7], 0xff),
    v(2, 3, &[0xf7], 0xff), v(2, 3, &[0xf6], 0xff),
];

/// A float value of moderate size (normal, sometimes zero, an integer or negative).
fn float(r: &mut StdRng) -> f64 {
    match r.random_range(0..8) {
        0 => 0.0,
        1 => f64::from(r.random_range(-100..100i32)),
        2 => r.random_range(-1e6..1e6),
        3 => r.random_range(-1.0..1.0) * 2f64.powi(r.random_range(-60..60)),
        _ => r.random_range(-10.0..10.0),
    }
}

/// One 64-bit half of an xmm register: integer patterns, or one double, or two singles.
fn xmm_word(r: &mut StdRng) -> u64 {
    match r.random_range(0..4) {
        0 => float(r).to_bits(),
        1 => {
            u64::from((float(r) as f32).to_bits()) | (u64::from((float(r) as f32).to_bits()) << 32)
        }
        _ => value(r),
    }
}

fn value(r: &mut StdRng) -> u64 {
    match r.random_range(0..8) {
        0 => 0,
        1 => r.random_range(0..4),
        2 => u64::MAX - r.random_range(0..4),
        3 => 1u64 << r.random_range(0..64),
        4 => r.random_range(0..0x100) << (8 * r.random_range(0..8)),
        5 => u64::from(r.random::<u32>()),
        _ => r.random(),
    }
}

fn one(r: &mut StdRng) -> Option<(Instruction, Vec<u8>)> {
    let t = &TEMPLATES[r.random_range(0..TEMPLATES.len())];
    let mut b = Vec::new();
    let mem = match t.rm {
        Rm::None | Rm::Reg => false,
        Rm::Mem => true,
        Rm::Any => r.random_bool(0.3),
    };
    if t.vex != 0 {
        // VEX3: ~R ~X ~B map ; W ~vvvv L=0 pp. No index register with the absolute form.
        let rxb = r.random_range(0..8u8) & if mem { 0b101 } else { 0b111 };
        b.push(0xc4);
        b.push(((rxb ^ 0b111) << 5) | (t.vex & 0xf));
        let vvvv = r.random_range(0..16u8);
        b.push((r.random_range(0..2u8) << 7) | ((!vvvv & 15) << 3) | (t.vex >> 4));
    } else if t.lock && mem && r.random_bool(0.4) {
        b.push(0xf0);
    }
    if t.vex == 0 && !t.sse && r.random_bool(0.15) {
        b.push(0x66);
    }
    b.extend_from_slice(t.pfx);
    if t.vex == 0 && (!t.sse || t.pfx.len() < 2) && r.random_bool(0.6) {
        let w = if t.sse { 0 } else { r.random_range(0..2) << 3 };
        // No REX.X with the absolute-memory SIB form (it would name r12 as an index).
        let x = if mem { 0b101 } else { 0b111 };
        b.push(0x40 | w | (r.random_range(0..8) & x));
    }
    b.extend_from_slice(t.op);
    if t.rm != Rm::None {
        let reg = loop {
            let v = r.random_range(0..8u8);
            if t.regs & (1 << v) != 0 {
                break v;
            }
        };
        if mem {
            let align = if t.sse { 16 } else { 1 };
            let off = r.random_range(0..(SCRATCH_LEN as u64 - 32) / align) * align;
            b.push((reg << 3) | 4);
            b.push(0x25);
            b.extend_from_slice(&((SCRATCH + off) as u32).to_le_bytes());
        } else {
            b.push(0xc0 | (reg << 3) | r.random_range(0..8));
        }
    }
    for _ in 0..8 {
        b.push(r.random());
    }
    let mut d = Decoder::with_ip(64, &b, 0, DecoderOptions::NONE);
    let i = d.decode();
    if i.is_invalid() {
        return None;
    }
    // rsp stays the test's stack pointer.
    for n in 0..i.op_count() {
        if i.op_kind(n) == iced_x86::OpKind::Register
            && i.op_register(n).full_register() == Register::RSP
        {
            return None;
        }
    }
    b.truncate(i.len());
    Some((i, b))
}

fn hw_flags(f: u32) -> u64 {
    let map = [
        (RflagsBits::CF, 1u64),
        (RflagsBits::PF, 1 << 2),
        (RflagsBits::AF, 1 << 4),
        (RflagsBits::ZF, 1 << 6),
        (RflagsBits::SF, 1 << 7),
        (RflagsBits::OF, 1 << 11),
    ];
    map.iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, h)| h)
        .fold(0, |a, h| a | h)
}

/// An x87 instruction with an absolute memory operand at scratch offset `off`.
fn x87_mem(b: &mut Vec<u8>, op: u8, reg: u8, off: u64) {
    b.push(op);
    b.push((reg << 3) | 4);
    b.push(0x25);
    b.extend_from_slice(&((SCRATCH + off) as u32).to_le_bytes());
}

/// A self-contained x87 sequence: maybe a control word (precision and rounding), two loads
/// from scratch memory in random formats, one operation, stores of what is left on the
/// stack (popping it empty) and maybe the status word.
fn x87_case(r: &mut StdRng) -> Vec<u8> {
    let mut b = Vec::new();
    let slot = |r: &mut StdRng| r.random_range(0..(SCRATCH_LEN as u64 - 32) / 16) * 16;
    if r.random_bool(0.5) {
        let pc = [0u16, 2, 3][r.random_range(0..3)];
        let rc = r.random_range(0..4u16);
        let cw = 0x37f & !0x300 | (pc << 8) | (rc << 10);
        let off = slot(r);
        b.extend_from_slice(&[0x66, 0xc7, 0x04, 0x25]);
        b.extend_from_slice(&((SCRATCH + off) as u32).to_le_bytes());
        b.extend_from_slice(&cw.to_le_bytes());
        x87_mem(&mut b, 0xd9, 5, off);
    }
    // Loads: fld m32/m64/m80, fild m16/m32/m64, constants.
    const LOADS: [(u8, u8); 6] = [
        (0xd9, 0),
        (0xdd, 0),
        (0xdb, 5),
        (0xdf, 0),
        (0xdb, 0),
        (0xdf, 5),
    ];
    let load = |b: &mut Vec<u8>, r: &mut StdRng| {
        if r.random_bool(0.1) {
            b.extend_from_slice(&[
                0xd9,
                [0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee][r.random_range(0..7)],
            ]);
        } else {
            // Mostly the float formats.
            let (op, reg) = LOADS[[0, 1, 1, 2, 2, 2, 3, 4, 5][r.random_range(0..9)]];
            let off = slot(r);
            x87_mem(b, op, reg, off);
        }
    };
    load(&mut b, r);
    load(&mut b, r);
    let mut depth = 2;
    match r.random_range(0..9) {
        // faddp/fmulp/fsubrp/fsubp/fdivrp/fdivp st(1), st
        0 | 1 => {
            b.extend_from_slice(&[
                0xde,
                [0xc1, 0xc9, 0xe1, 0xe9, 0xf1, 0xf9][r.random_range(0..6)],
            ]);
            depth = 1;
        }
        // arithmetic with a memory operand (m32 / m64 / m32int / m16int)
        2 => {
            let op = [0xd8, 0xdc, 0xda, 0xde][r.random_range(0..4)];
            let reg = [0, 1, 4, 5, 6, 7][r.random_range(0..6)];
            let off = slot(r);
            x87_mem(&mut b, op, reg, off);
        }
        // unary: fchs fabs ftst fxam fsqrt frndint fprem fprem1 fscale fxtract
        3 | 4 => {
            let op =
                [0xe0, 0xe1, 0xe4, 0xe5, 0xfa, 0xfc, 0xf8, 0xf5, 0xfd, 0xf4][r.random_range(0..10)];
            b.extend_from_slice(&[0xd9, op]);
            if op == 0xf4 {
                depth = 3;
            }
        }
        // compares into RFLAGS: fcomi fucomi fcomip fucomip
        5 => {
            let (op, m) =
                [(0xdb, 0xf1), (0xdb, 0xe9), (0xdf, 0xf1), (0xdf, 0xe9)][r.random_range(0..4)];
            b.extend_from_slice(&[op, m]);
            if op == 0xdf {
                depth = 1;
            }
        }
        // compares into the status word: fcom st(1), fucom st(1), fcompp, fucompp, m64 fcom
        6 => {
            match r.random_range(0..5) {
                0 => b.extend_from_slice(&[0xd8, 0xd1]),
                1 => b.extend_from_slice(&[0xdd, 0xe1]),
                2 => {
                    b.extend_from_slice(&[0xde, 0xd9]);
                    depth = 0;
                }
                3 => {
                    b.extend_from_slice(&[0xda, 0xe9]);
                    depth = 0;
                }
                _ => {
                    let off = slot(r);
                    x87_mem(&mut b, 0xdc, 2, off);
                }
            }
            b.extend_from_slice(&[0xdf, 0xe0]);
        }
        // fcmovcc st, st(1) after a compare; fxch
        7 => {
            b.extend_from_slice(&[0xdb, 0xf1]);
            let (op, m) = [
                (0xda, 0xc1),
                (0xda, 0xc9),
                (0xda, 0xd1),
                (0xda, 0xd9),
                (0xdb, 0xc1),
                (0xdb, 0xc9),
                (0xdb, 0xd1),
                (0xdb, 0xd9),
            ][r.random_range(0..8)];
            b.extend_from_slice(&[op, m, 0xd9, 0xc9]);
        }
        // fst m64 / fst m32 of st(0), keeping it
        _ => {
            let op = [0xd9, 0xdd][r.random_range(0..2)];
            let off = slot(r);
            x87_mem(&mut b, op, 2, off);
        }
    }
    // Pop everything: fstp m32/m64/m80, fistp m16/m32/m64, fisttp m16/m32/m64.
    const STORES: [(u8, u8); 9] = [
        (0xd9, 3),
        (0xdd, 3),
        (0xdb, 7),
        (0xdf, 3),
        (0xdb, 3),
        (0xdf, 7),
        (0xdf, 1),
        (0xdb, 1),
        (0xdd, 1),
    ];
    for _ in 0..depth {
        let (op, reg) = STORES[[0, 1, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8][r.random_range(0..12)]];
        let off = slot(r);
        x87_mem(&mut b, op, reg, off);
    }
    if r.random_bool(0.5) {
        let off = slot(r);
        x87_mem(&mut b, 0xdd, 7, off);
    }
    b
}

/// Whether `i` reads or writes rcx (explicitly or implicitly).
fn uses_rcx(i: &Instruction) -> bool {
    let mut f = iced_x86::InstructionInfoFactory::new();
    f.info(i)
        .used_registers()
        .iter()
        .any(|u| u.register().full_register() == Register::RCX)
}

/// The undefined-flag set (iced `RflagsBits`) after running `bytes` straight through from
/// `undef`, or `None` if an instruction there reads a flag that is undefined at that point.
fn flow(bytes: &[u8], mut undef: u32) -> Option<u32> {
    use iced_x86::Mnemonic as M;
    let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    while d.can_decode() {
        let i = d.decode();
        if i.rflags_read() & undef != 0 {
            return None;
        }
        // A shift or rotate by a count that masks to 0 leaves the flags alone.
        let kept = matches!(
            i.mnemonic(),
            M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror | M::Rcl | M::Rcr
        );
        let cleared = if kept { 0 } else { i.rflags_modified() };
        undef = (undef & !cleared) | i.rflags_undefined();
    }
    Some(undef)
}

/// A straight-line block of `n` template instructions (`no_rcx`: none touches rcx) that can
/// run from `undef`; its bytes and the undefined flags after it.
fn block(r: &mut StdRng, n: usize, undef: u32, no_rcx: bool) -> (Vec<u8>, u32) {
    let mut b = Vec::new();
    let mut u = undef;
    let mut tries = 0;
    while b.len() < 40 && tries < 200 && (b.is_empty() || tries < n * 20) {
        tries += 1;
        let Some((i, bytes)) = one(r) else {
            continue;
        };
        if no_rcx && uses_rcx(&i) {
            continue;
        }
        let Some(nu) = flow(&bytes, u) else {
            continue;
        };
        b.extend_from_slice(&bytes);
        u = nu;
        if b.len() >= 8 * n {
            break;
        }
    }
    (b, u)
}

/// A flag-setting instruction that defines all six arithmetic flags (add, sub, cmp, and, or,
/// xor, test, neg, adc, sbb...), register or memory form.
fn flag_setter(r: &mut StdRng, undef: u32) -> Vec<u8> {
    const ALL: u32 = RflagsBits::CF
        | RflagsBits::PF
        | RflagsBits::AF
        | RflagsBits::ZF
        | RflagsBits::SF
        | RflagsBits::OF;
    loop {
        let Some((i, bytes)) = one(r) else {
            continue;
        };
        if i.rflags_modified() & ALL == ALL
            && i.rflags_undefined() == 0
            && i.rflags_read() & undef == 0
            && !matches!(
                i.mnemonic(),
                iced_x86::Mnemonic::Div | iced_x86::Mnemonic::Idiv
            )
        {
            return bytes;
        }
    }
}

/// A setcc or cmovcc (register forms) on condition `cc`.
fn cond_op(r: &mut StdRng, cc: u8) -> Vec<u8> {
    loop {
        let mut b = Vec::new();
        let set = r.random_bool(0.5);
        if r.random_bool(0.6) {
            let w = if set { 0 } else { r.random_range(0..2u8) << 3 };
            b.push(0x40 | w | r.random_range(0..2u8) << 2 | r.random_range(0..2u8));
        }
        if !set && r.random_bool(0.2) {
            b.insert(0, 0x66);
        }
        b.extend_from_slice(&[0x0f, if set { 0x90 } else { 0x40 } | cc]);
        b.push(0xc0 | r.random_range(0..64u8));
        let i = Decoder::with_ip(64, &b, 0, DecoderOptions::NONE).decode();
        let rsp = (0..i.op_count()).any(|n| {
            i.op_kind(n) == iced_x86::OpKind::Register
                && i.op_register(n).full_register() == Register::RSP
        });
        if !i.is_invalid() && i.len() == b.len() && !rsp {
            return b;
        }
    }
}

/// A condition (0..16) whose flags are all defined under `undef`.
fn defined_cc(r: &mut StdRng, undef: u32) -> Option<u8> {
    for _ in 0..32 {
        let cc = r.random_range(0..16u8);
        if flow(&[0x70 | cc, 0], undef).is_some() {
            return Some(cc);
        }
    }
    None
}

/// The branch class: straight-line pieces joined by forward jcc, jrcxz/jecxz,
/// loop/loope/loopne (forward, and counted backward loops), jmp over dead code, call/ret
/// pairs within the snippet, and setcc/cmovcc chains after flag-setting instructions (with
/// `jcc +0` splitting them into blocks), so flags computed lazily in one block are read in
/// another. Returns the code and the flags left undefined (iced `RflagsBits`).
fn branch_case(r: &mut StdRng) -> (Vec<u8>, u32) {
    let mut code: Vec<u8> = Vec::new();
    let mut u = 0u32;
    let pieces = r.random_range(2..=5);
    for _ in 0..pieces {
        if code.len() > 70 {
            break;
        }
        match r.random_range(0..9) {
            // jcc over a block: taken keeps `u`, fall-through runs the block.
            0 | 1 => {
                let Some(cc) = defined_cc(r, u) else {
                    continue;
                };
                let n = r.random_range(1..=2);
                let (b, bu) = block(r, n, u, false);
                code.extend_from_slice(&[0x70 | cc, b.len() as u8]);
                code.extend_from_slice(&b);
                u |= bu;
            }
            // jrcxz / jecxz, or forward loop / loope / loopne, over a block.
            2 => {
                let (op, a32): (u8, bool) = (
                    [0xe3, 0xe2, 0xe1, 0xe0][r.random_range(0..4)],
                    r.random_bool(0.3),
                );
                if flow(&[op, 0], u).is_none() {
                    continue;
                }
                let (b, bu) = block(r, 1, u, false);
                if a32 {
                    code.push(0x67);
                }
                code.extend_from_slice(&[op, b.len() as u8]);
                code.extend_from_slice(&b);
                u |= bu;
            }
            // jmp over a block that never runs.
            3 => {
                let (b, _) = block(r, 1, u, false);
                code.extend_from_slice(&[0xeb, b.len() as u8]);
                code.extend_from_slice(&b);
            }
            // call a subroutine placed after a jmp that skips it: call +2; jmp +len; body; ret
            4 => {
                let (b, bu) = block(r, 2, u, false);
                code.extend_from_slice(&[0xe8, 2, 0, 0, 0, 0xeb, b.len() as u8 + 1]);
                code.extend_from_slice(&b);
                code.push(0xc3);
                u = bu;
            }
            // counted loop: mov ecx, k; body; loop/loope/loopne body (1..4 iterations).
            5 => {
                let op = [0xe2, 0xe2, 0xe1, 0xe0][r.random_range(0..4)];
                let (b, _) = block(r, 2, u, true);
                let mut body = b.clone();
                body.extend_from_slice(&[op, 0]);
                // Twice through: the second iteration starts from the first's flags.
                let Some(u1) = flow(&body, u) else {
                    continue;
                };
                let Some(u2) = flow(&body, u1) else {
                    continue;
                };
                code.push(0xb9);
                code.extend_from_slice(&r.random_range(1..=4u32).to_le_bytes());
                code.extend_from_slice(&b);
                code.extend_from_slice(&[op, (-(b.len() as i32) - 2) as u8]);
                u = u1 | u2;
            }
            // setcc / cmovcc chain after a flag-setting op, maybe across a jcc +0.
            6 | 7 => {
                code.extend_from_slice(&flag_setter(r, u));
                u = 0;
                for _ in 0..r.random_range(2..=4) {
                    if r.random_bool(0.3) {
                        let cc = r.random_range(0..16u8);
                        code.extend_from_slice(&[0x70 | cc, 0]);
                    }
                    let cc = r.random_range(0..16u8);
                    code.extend_from_slice(&cond_op(r, cc));
                }
            }
            // plain instructions
            _ => {
                let (b, bu) = block(r, 2, u, false);
                code.extend_from_slice(&b);
                u = bu;
            }
        }
    }
    (code, u)
}

/// The case `k` of batch `seed` (deterministic).
pub fn case(seed: u64, k: usize) -> Case {
    let mut r = StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k as u64);
    let n = r.random_range(1..=4);
    let mut code = Vec::new();
    let mut text = String::new();
    let mut undef = 0u32;
    let mut fmt = iced_x86::IntelFormatter::new();
    let mut got = 0;
    let mut tries = 0;
    let branches = r.random_bool(0.15);
    if branches {
        let (c, u) = branch_case(&mut r);
        code = c;
        undef = u;
        let mut d = Decoder::with_ip(64, &code, 0, DecoderOptions::NONE);
        while d.can_decode() {
            let i = d.decode();
            fmt.format(&i, &mut text);
            text.push('\n');
        }
        got = n;
    } else if r.random_bool(0.08) {
        code = x87_case(&mut r);
        let mut d = Decoder::with_ip(64, &code, 0, DecoderOptions::NONE);
        while d.can_decode() {
            let i = d.decode();
            undef = (undef & !i.rflags_modified()) | i.rflags_undefined();
            fmt.format(&i, &mut text);
            text.push('\n');
        }
        got = n;
    }
    while got < n && tries < 100 {
        tries += 1;
        let Some((i, bytes)) = one(&mut r) else {
            continue;
        };
        // A stream never reads a flag an earlier instruction left undefined.
        if i.rflags_read() & undef != 0 {
            continue;
        }
        // Shifts and rotates by a count that masks to 0 leave the flags alone, so they
        // do not make earlier undefined flags defined.
        use iced_x86::Mnemonic as M;
        let kept = matches!(
            i.mnemonic(),
            M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror
        );
        let cleared = if kept { 0 } else { i.rflags_modified() };
        undef = (undef & !cleared) | i.rflags_undefined();
        got += 1;
        code.extend_from_slice(&bytes);
        fmt.format(&i, &mut text);
        text.push('\n');
    }
    let mut input = State::zeroed();
    for v in input.gpr.iter_mut() {
        *v = value(&mut r);
    }
    input.rflags = r.random::<u64>() & super::ARITH_FLAGS;
    // Some cases run under a directed MXCSR rounding mode.
    if r.random_bool(0.3) {
        input.mxcsr |= r.random_range(1..4u32) << 13;
    }
    // Some start with exception flags already accrued (PE set is the inline FP fast path's
    // condition; the others must stay as they are).
    if r.random_bool(0.5) {
        input.mxcsr |= 0x20 | r.random_range(0..0x20u32);
    }
    for x in input.xmm.iter_mut() {
        *x = [xmm_word(&mut r), xmm_word(&mut r)];
    }
    r.fill(&mut input.mem[..]);
    Case {
        code,
        input,
        undefined_flags: hw_flags(undef),
        text,
    }
}

/// `count` cases of batch `seed`.
pub fn batch(seed: u64, count: usize) -> Vec<Case> {
    (0..count).map(|k| case(seed, k)).collect()
}
