//! Random instruction streams: weighted classes over RV64IMAFD + Zba/Zbb/Zbs, forward-only
//! control flow, memory accesses kept inside the case's scratch area (base register `t6`
//! points at its middle).

use super::Rng;
use super::enc::{self, rm_name, xname};

/// Register that holds scratch-area middle; never written by the stream.
pub const BASE: u32 = 31;

/// One emitted item; branches are resolved once every item's position is known.
#[derive(Clone, Debug)]
pub enum Item {
    /// A finished 32-bit instruction with its assembly text.
    Word(u32, String),
    /// A finished 16-bit compressed instruction with its assembly text.
    Half(u16, String),
    /// Conditional branch forward to item index `to` (may equal the stream length: the end).
    Branch {
        f3: u32,
        rs1: u32,
        rs2: u32,
        to: usize,
    },
    /// `jal rd` forward to item `to`.
    Jal { rd: u32, to: usize },
    /// `jalr rd, off(tmp)` where `tmp` was set by the `auipc` item at index `at`.
    Jalr {
        rd: u32,
        tmp: u32,
        at: usize,
        to: usize,
    },
}

fn dst(rng: &mut Rng) -> u32 {
    // x1, x3..x30 (sp and the base register are reserved).
    let r = rng.below(29) as u32 + 1;
    if r >= 2 { r + 1 } else { r }
}

fn src(rng: &mut Rng) -> u32 {
    if rng.below(12) == 0 {
        return if rng.below(2) == 0 { 0 } else { BASE };
    }
    dst(rng)
}

fn frm(rng: &mut Rng) -> u32 {
    [0, 1, 2, 3, 4, 7, 7][rng.below(7) as usize]
}

fn w(out: &mut Vec<Item>, word: u32, text: String) {
    out.push(Item::Word(word, text));
}

/// Appends one random instruction (or a short group) to `out`; `len` is the planned length.
pub fn one(rng: &mut Rng, out: &mut Vec<Item>, len: usize) {
    let class = rng.below(100);
    match class {
        0..=19 => alu(rng, out),
        20..=29 => mul_div(rng, out),
        30..=41 => mem(rng, out),
        42..=47 => amo(rng, out),
        48..=55 => ctrl(rng, out, len),
        56..=83 => fp(rng, out),
        84..=89 => compressed(rng, out),
        90..=91 => fcsr(rng, out),
        _ => bitmanip(rng, out),
    }
}

fn alu(rng: &mut Rng, out: &mut Vec<Item>) {
    let (rd, a, b) = (dst(rng), src(rng), src(rng));
    let k = rng.below(4);
    if k == 0 {
        // Register-register, 64-bit and W forms.
        const OPS: [(&str, u32, u32, u32); 15] = [
            ("add", 0x33, 0, 0),
            ("sub", 0x33, 0, 0x20),
            ("sll", 0x33, 1, 0),
            ("slt", 0x33, 2, 0),
            ("sltu", 0x33, 3, 0),
            ("xor", 0x33, 4, 0),
            ("srl", 0x33, 5, 0),
            ("sra", 0x33, 5, 0x20),
            ("or", 0x33, 6, 0),
            ("and", 0x33, 7, 0),
            ("addw", 0x3b, 0, 0),
            ("subw", 0x3b, 0, 0x20),
            ("sllw", 0x3b, 1, 0),
            ("srlw", 0x3b, 5, 0),
            ("sraw", 0x3b, 5, 0x20),
        ];
        let (n, op, f3, f7) = OPS[rng.below(OPS.len() as u64) as usize];
        w(
            out,
            enc::r(op, f3, f7, rd, a, b),
            format!("{n} {}, {}, {}", xname(rd), xname(a), xname(b)),
        );
    } else if k == 1 {
        let imm = rng.imm12();
        const OPS: [(&str, u32, u32); 7] = [
            ("addi", 0x13, 0),
            ("slti", 0x13, 2),
            ("sltiu", 0x13, 3),
            ("xori", 0x13, 4),
            ("ori", 0x13, 6),
            ("andi", 0x13, 7),
            ("addiw", 0x1b, 0),
        ];
        let (n, op, f3) = OPS[rng.below(OPS.len() as u64) as usize];
        w(
            out,
            enc::i(op, f3, rd, a, imm),
            format!("{n} {}, {}, {imm}", xname(rd), xname(a)),
        );
    } else if k == 2 {
        let word = rng.below(2) == 0;
        let sh = rng.below(if word { 32 } else { 64 }) as i32;
        let (n, f3, hi) =
            [("slli", 1, 0), ("srli", 5, 0), ("srai", 5, 0x400)][rng.below(3) as usize];
        let op = if word { 0x1b } else { 0x13 };
        let n = if word { format!("{n}w") } else { n.to_string() };
        w(
            out,
            enc::i(op, f3, rd, a, hi | sh),
            format!("{n} {}, {}, {sh}", xname(rd), xname(a)),
        );
    } else {
        let imm = rng.bits() as u32 & 0xfffff;
        if rng.below(2) == 0 {
            w(
                out,
                enc::u(0x37, rd, imm),
                format!("lui {}, {imm:#x}", xname(rd)),
            );
        } else {
            w(
                out,
                enc::u(0x17, rd, imm),
                format!("auipc {}, {imm:#x}", xname(rd)),
            );
        }
    }
}

fn mul_div(rng: &mut Rng, out: &mut Vec<Item>) {
    let (rd, a, b) = (dst(rng), src(rng), src(rng));
    const OPS: [(&str, u32, u32); 13] = [
        ("mul", 0x33, 0),
        ("mulh", 0x33, 1),
        ("mulhsu", 0x33, 2),
        ("mulhu", 0x33, 3),
        ("div", 0x33, 4),
        ("divu", 0x33, 5),
        ("rem", 0x33, 6),
        ("remu", 0x33, 7),
        ("mulw", 0x3b, 0),
        ("divw", 0x3b, 4),
        ("divuw", 0x3b, 5),
        ("remw", 0x3b, 6),
        ("remuw", 0x3b, 7),
    ];
    let (n, op, f3) = OPS[rng.below(OPS.len() as u64) as usize];
    w(
        out,
        enc::r(op, f3, 1, rd, a, b),
        format!("{n} {}, {}, {}", xname(rd), xname(a), xname(b)),
    );
}

fn mem(rng: &mut Rng, out: &mut Vec<Item>) {
    // Every width, integer and FP, load and store; offsets keep the access inside [-128, 128).
    const OPS: [(&str, u32, u32, i32, bool); 15] = [
        ("lb", 0x03, 0, 1, false),
        ("lh", 0x03, 1, 2, false),
        ("lw", 0x03, 2, 4, false),
        ("ld", 0x03, 3, 8, false),
        ("lbu", 0x03, 4, 1, false),
        ("lhu", 0x03, 5, 2, false),
        ("lwu", 0x03, 6, 4, false),
        ("flw", 0x07, 2, 4, true),
        ("fld", 0x07, 3, 8, true),
        ("sb", 0x23, 0, 1, false),
        ("sh", 0x23, 1, 2, false),
        ("sw", 0x23, 2, 4, false),
        ("sd", 0x23, 3, 8, false),
        ("fsw", 0x27, 2, 4, true),
        ("fsd", 0x27, 3, 8, true),
    ];
    let (n, op, f3, width, fp) = OPS[rng.below(OPS.len() as u64) as usize];
    let mut off = rng.below(256 - width as u64 + 1) as i32 - 128;
    if rng.below(2) == 0 {
        off &= !(width - 1); // half of them aligned
    }
    let store = op == 0x23 || op == 0x27;
    let reg = if store {
        if fp { rng.below(32) as u32 } else { src(rng) }
    } else if fp {
        rng.below(32) as u32
    } else {
        dst(rng)
    };
    let rn = if fp {
        format!("f{reg}")
    } else {
        xname(reg).to_string()
    };
    let word = if store {
        enc::s(op, f3, BASE, reg, off)
    } else {
        enc::i(op, f3, reg, BASE, off)
    };
    w(out, word, format!("{n} {rn}, {off}(t6)"));
}

fn amo(rng: &mut Rng, out: &mut Vec<Item>) {
    let d = rng.below(2) == 0;
    let width: i32 = if d { 8 } else { 4 };
    let off = (rng.below((256 / width) as u64) as i32 * width) - 128;
    let tmp = dst(rng);
    w(
        out,
        enc::i(0x13, 0, tmp, BASE, off),
        format!("addi {}, t6, {off}", xname(tmp)),
    );
    let f3 = if d { 3 } else { 2 };
    let sfx = if d { "d" } else { "w" };
    let (rd, rs2) = (dst(rng), src(rng));
    let aqrl = rng.below(4) as u32;
    if rng.below(5) == 0 {
        let rd1 = dst(rng);
        w(
            out,
            enc::r(0x2f, f3, (0x02 << 2) | aqrl, rd1, tmp, 0),
            format!("lr.{sfx} {}, ({})", xname(rd1), xname(tmp)),
        );
        // The SC's address register must still hold the address if LR overwrote it.
        let t = if rd1 == tmp { None } else { Some(tmp) };
        if let Some(t) = t {
            w(
                out,
                enc::r(0x2f, f3, (0x03 << 2) | aqrl, rd, t, rs2),
                format!("sc.{sfx} {}, {}, ({})", xname(rd), xname(rs2), xname(t)),
            );
        }
        return;
    }
    const OPS: [(&str, u32); 9] = [
        ("amoadd", 0x00),
        ("amoswap", 0x01),
        ("amoxor", 0x04),
        ("amoor", 0x08),
        ("amoand", 0x0c),
        ("amomin", 0x10),
        ("amomax", 0x14),
        ("amominu", 0x18),
        ("amomaxu", 0x1c),
    ];
    let (n, f5) = OPS[rng.below(OPS.len() as u64) as usize];
    w(
        out,
        enc::r(0x2f, f3, (f5 << 2) | aqrl, rd, tmp, rs2),
        format!("{n}.{sfx} {}, {}, ({})", xname(rd), xname(rs2), xname(tmp)),
    );
}

fn ctrl(rng: &mut Rng, out: &mut Vec<Item>, len: usize) {
    let at = out.len();
    let span = 1 + rng.below(8) as usize;
    let to = (at + 1 + span).min(len.max(at + 2));
    match rng.below(4) {
        0 => out.push(Item::Jal { rd: dst(rng), to }),
        1 => {
            let tmp = dst(rng);
            w(
                out,
                enc::u(0x17, tmp, 0),
                format!("auipc {}, 0", xname(tmp)),
            );
            out.push(Item::Jalr {
                rd: dst(rng),
                tmp,
                at,
                to: to.max(at + 2),
            });
        }
        _ => {
            let f3 = [0, 1, 4, 5, 6, 7][rng.below(6) as usize];
            out.push(Item::Branch {
                f3,
                rs1: src(rng),
                rs2: src(rng),
                to,
            });
        }
    }
}

fn bitmanip(rng: &mut Rng, out: &mut Vec<Item>) {
    let (rd, a, b) = (dst(rng), src(rng), src(rng));
    const RR: [(&str, u32, u32, u32); 22] = [
        ("sh1add", 0x33, 2, 0x10),
        ("sh2add", 0x33, 4, 0x10),
        ("sh3add", 0x33, 6, 0x10),
        ("add.uw", 0x3b, 0, 0x04),
        ("sh1add.uw", 0x3b, 2, 0x10),
        ("sh2add.uw", 0x3b, 4, 0x10),
        ("sh3add.uw", 0x3b, 6, 0x10),
        ("andn", 0x33, 7, 0x20),
        ("orn", 0x33, 6, 0x20),
        ("xnor", 0x33, 4, 0x20),
        ("min", 0x33, 4, 0x05),
        ("minu", 0x33, 5, 0x05),
        ("max", 0x33, 6, 0x05),
        ("maxu", 0x33, 7, 0x05),
        ("rol", 0x33, 1, 0x30),
        ("ror", 0x33, 5, 0x30),
        ("rolw", 0x3b, 1, 0x30),
        ("rorw", 0x3b, 5, 0x30),
        ("bclr", 0x33, 1, 0x24),
        ("bext", 0x33, 5, 0x24),
        ("binv", 0x33, 1, 0x34),
        ("bset", 0x33, 1, 0x14),
    ];
    const UN: [(&str, u32, u32, i32); 11] = [
        ("clz", 0x13, 1, 0x600),
        ("ctz", 0x13, 1, 0x601),
        ("cpop", 0x13, 1, 0x602),
        ("clzw", 0x1b, 1, 0x600),
        ("ctzw", 0x1b, 1, 0x601),
        ("cpopw", 0x1b, 1, 0x602),
        ("sext.b", 0x13, 1, 0x604),
        ("sext.h", 0x13, 1, 0x605),
        ("rev8", 0x13, 5, 0x6b8),
        ("orc.b", 0x13, 5, 0x287),
        ("zext.h", 0x3b, 4, 0x080),
    ];
    match rng.below(3) {
        0 => {
            let (n, op, f3, f7) = RR[rng.below(RR.len() as u64) as usize];
            w(
                out,
                enc::r(op, f3, f7, rd, a, b),
                format!("{n} {}, {}, {}", xname(rd), xname(a), xname(b)),
            );
        }
        1 => {
            let (n, op, f3, imm) = UN[rng.below(UN.len() as u64) as usize];
            w(
                out,
                enc::i(op, f3, rd, a, imm),
                format!("{n} {}, {}", xname(rd), xname(a)),
            );
        }
        _ => {
            const SI: [(&str, u32, u32, i32, u64); 7] = [
                ("rori", 0x13, 5, 0x600, 64),
                ("roriw", 0x1b, 5, 0x600, 32),
                ("bclri", 0x13, 1, 0x480, 64),
                ("bexti", 0x13, 5, 0x480, 64),
                ("binvi", 0x13, 1, 0x680, 64),
                ("bseti", 0x13, 1, 0x280, 64),
                ("slli.uw", 0x1b, 1, 0x080, 64),
            ];
            let (n, op, f3, hi, lim) = SI[rng.below(SI.len() as u64) as usize];
            let sh = rng.below(lim) as i32;
            w(
                out,
                enc::i(op, f3, rd, a, hi | sh),
                format!("{n} {}, {}, {sh}", xname(rd), xname(a)),
            );
        }
    }
}

fn fp(rng: &mut Rng, out: &mut Vec<Item>) {
    let fmt = rng.below(2) as u32; // 0 = S, 1 = D
    let sd = if fmt == 0 { "s" } else { "d" };
    let (fd, fa, fb, fc) = (
        rng.below(32) as u32,
        rng.below(32) as u32,
        rng.below(32) as u32,
        rng.below(32) as u32,
    );
    let rm = frm(rng);
    let rms = rm_name(rm);
    match rng.below(12) {
        0..=2 => {
            let (n, f5) =
                [("fadd", 0), ("fsub", 1), ("fmul", 2), ("fdiv", 3)][rng.below(4) as usize];
            w(
                out,
                enc::r(0x53, rm, (f5 << 2) | fmt, fd, fa, fb),
                format!("{n}.{sd} f{fd}, f{fa}, f{fb}, {rms}"),
            );
        }
        3 => w(
            out,
            enc::r(0x53, rm, (0x0b << 2) | fmt, fd, fa, 0),
            format!("fsqrt.{sd} f{fd}, f{fa}, {rms}"),
        ),
        4 => {
            let (n, op) = [
                ("fmadd", 0x43),
                ("fmsub", 0x47),
                ("fnmsub", 0x4b),
                ("fnmadd", 0x4f),
            ][rng.below(4) as usize];
            w(
                out,
                enc::r4(op, fmt, rm, fd, fa, fb, fc),
                format!("{n}.{sd} f{fd}, f{fa}, f{fb}, f{fc}, {rms}"),
            );
        }
        5 => {
            let (n, f5, f3) = [
                ("fsgnj", 4, 0),
                ("fsgnjn", 4, 1),
                ("fsgnjx", 4, 2),
                ("fmin", 5, 0),
                ("fmax", 5, 1),
            ][rng.below(5) as usize];
            w(
                out,
                enc::r(0x53, f3, (f5 << 2) | fmt, fd, fa, fb),
                format!("{n}.{sd} f{fd}, f{fa}, f{fb}"),
            );
        }
        6 => {
            let rd = dst(rng);
            let (n, f3) = [("fle", 0), ("flt", 1), ("feq", 2)][rng.below(3) as usize];
            w(
                out,
                enc::r(0x53, f3, (0x14 << 2) | fmt, rd, fa, fb),
                format!("{n}.{sd} {}, f{fa}, f{fb}", xname(rd)),
            );
        }
        7 => {
            let rd = dst(rng);
            if rng.below(2) == 0 {
                w(
                    out,
                    enc::r(0x53, 1, (0x1c << 2) | fmt, rd, fa, 0),
                    format!("fclass.{sd} {}, f{fa}", xname(rd)),
                );
            } else {
                let n = if fmt == 0 { "fmv.x.w" } else { "fmv.x.d" };
                w(
                    out,
                    enc::r(0x53, 0, (0x1c << 2) | fmt, rd, fa, 0),
                    format!("{n} {}, f{fa}", xname(rd)),
                );
            }
        }
        8 => {
            let rd = dst(rng);
            let t = rng.below(4) as u32;
            let ty = ["w", "wu", "l", "lu"][t as usize];
            w(
                out,
                enc::r(0x53, rm, (0x18 << 2) | fmt, rd, fa, t),
                format!("fcvt.{ty}.{sd} {}, f{fa}, {rms}", xname(rd)),
            );
        }
        9 => {
            let a = src(rng);
            let t = rng.below(4) as u32;
            let ty = ["w", "wu", "l", "lu"][t as usize];
            w(
                out,
                enc::r(0x53, rm, (0x1a << 2) | fmt, fd, a, t),
                format!("fcvt.{sd}.{ty} f{fd}, {}, {rms}", xname(a)),
            );
        }
        10 => {
            if fmt == 0 {
                w(
                    out,
                    enc::r(0x53, rm, 0x20 << 2, fd, fa, 1),
                    format!("fcvt.s.d f{fd}, f{fa}, {rms}"),
                );
            } else {
                w(
                    out,
                    enc::r(0x53, rm, (0x20 << 2) | 1, fd, fa, 0),
                    format!("fcvt.d.s f{fd}, f{fa}, {rms}"),
                );
            }
        }
        _ => {
            let a = src(rng);
            let n = if fmt == 0 { "fmv.w.x" } else { "fmv.d.x" };
            w(
                out,
                enc::r(0x53, 0, (0x1e << 2) | fmt, fd, a, 0),
                format!("{n} f{fd}, {}", xname(a)),
            );
        }
    }
}

/// A register of the compressed 3-bit set (x8..x15).
fn creg(rng: &mut Rng) -> u32 {
    8 + rng.below(8) as u32
}

/// Compressed integer ALU instructions (C extension), mixed into the 32-bit stream.
fn compressed(rng: &mut Rng, out: &mut Vec<Item>) {
    let h = |out: &mut Vec<Item>, v: u32, t: String| out.push(Item::Half(v as u16, t));
    // imm6: a signed 6-bit immediate split into bit 12 and bits 6:2.
    let ci = |f3: u32, rd: u32, imm: i32, op: u32| {
        let u = imm as u32;
        (f3 << 13) | (((u >> 5) & 1) << 12) | (rd << 7) | ((u & 0x1f) << 2) | op
    };
    let nz6 = |rng: &mut Rng| loop {
        let v = rng.below(64) as i32 - 32;
        if v != 0 {
            return v;
        }
    };
    let rd = dst(rng);
    let (p, q) = (creg(rng), creg(rng));
    let (pn, qn) = (xname(p), xname(q));
    match rng.below(10) {
        0 => {
            let imm = nz6(rng);
            h(
                out,
                ci(0, rd, imm, 1),
                format!("c.addi {}, {imm}", xname(rd)),
            );
        }
        1 => {
            let imm = rng.below(64) as i32 - 32;
            h(
                out,
                ci(1, rd, imm, 1),
                format!("c.addiw {}, {imm}", xname(rd)),
            );
        }
        2 => {
            let imm = rng.below(64) as i32 - 32;
            h(out, ci(2, rd, imm, 1), format!("c.li {}, {imm}", xname(rd)));
        }
        3 => {
            let imm = nz6(rng);
            h(
                out,
                ci(3, rd, imm, 1),
                format!("c.lui {}, {:#x}", xname(rd), imm & 0xfffff),
            );
        }
        4 => {
            let sh = 1 + rng.below(63) as i32;
            h(out, ci(0, rd, sh, 2), format!("c.slli {}, {sh}", xname(rd)));
        }
        5 => {
            let sh = 1 + rng.below(63) as u32;
            let (n, f2) = [("c.srli", 0), ("c.srai", 1)][rng.below(2) as usize];
            let v =
                (4 << 13) | ((sh >> 5) << 12) | (f2 << 10) | ((p - 8) << 7) | ((sh & 31) << 2) | 1;
            h(out, v, format!("{n} {pn}, {sh}"));
        }
        6 => {
            let imm = rng.below(64) as i32 - 32;
            let u = imm as u32;
            let v = (4 << 13)
                | (((u >> 5) & 1) << 12)
                | (2 << 10)
                | ((p - 8) << 7)
                | ((u & 31) << 2)
                | 1;
            h(out, v, format!("c.andi {pn}, {imm}"));
        }
        7 => {
            let (n, b12, f2) = [
                ("c.sub", 0, 0),
                ("c.xor", 0, 1),
                ("c.or", 0, 2),
                ("c.and", 0, 3),
                ("c.subw", 1, 0),
                ("c.addw", 1, 1),
            ][rng.below(6) as usize];
            let v = (4 << 13)
                | (b12 << 12)
                | (3 << 10)
                | ((p - 8) << 7)
                | (f2 << 5)
                | ((q - 8) << 2)
                | 1;
            h(out, v, format!("{n} {pn}, {qn}"));
        }
        _ => {
            let rs = dst(rng);
            let (n, b12) = [("c.mv", 0), ("c.add", 1)][rng.below(2) as usize];
            let v = (4 << 13) | (b12 << 12) | (rd << 7) | (rs << 2) | 2;
            h(out, v, format!("{n} {}, {}", xname(rd), xname(rs)));
        }
    }
}

/// Floating-point CSR accesses inside the stream: reading and writing fflags, setting frm
/// (valid modes only, so later `dyn` operations stay legal) and reading fcsr.
fn fcsr(rng: &mut Rng, out: &mut Vec<Item>) {
    let rd = if rng.below(4) == 0 { 0 } else { dst(rng) };
    let rn = xname(rd);
    match rng.below(6) {
        0 => w(out, enc::i(0x73, 2, rd, 0, 1), format!("frflags {rn}")),
        1 => {
            let a = src(rng);
            w(
                out,
                enc::i(0x73, 1, rd, a, 1),
                format!("fsflags {rn}, {}", xname(a)),
            );
        }
        2 => {
            let v = rng.below(32) as u32;
            let (n, f3) = [("csrrwi", 5), ("csrrsi", 6), ("csrrci", 7)][rng.below(3) as usize];
            w(
                out,
                enc::i(0x73, f3, rd, v, 1),
                format!("{n} {rn}, fflags, {v}"),
            );
        }
        3 => {
            let v = rng.below(5) as u32;
            w(out, enc::i(0x73, 5, rd, v, 2), format!("fsrmi {rn}, {v}"));
        }
        4 => w(out, enc::i(0x73, 2, rd, 0, 2), format!("frrm {rn}")),
        _ => w(out, enc::i(0x73, 2, rd, 0, 3), format!("frcsr {rn}")),
    }
}
