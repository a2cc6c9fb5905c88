//! Random, verifier-clean IR units covering every opcode: forward branches and jumps to labels,
//! terminators in the middle (followed by unreachable code), state accesses with one or mixed
//! widths, memory ops of every size/sign/endianness/alignment, atomics, helper calls of every
//! effect class, and each kind of exit.

use super::HELPERS;
use xlat_ir::abi::reg_offset;
use xlat_ir::{
    AtomicOp, Cond, ExitReason, FCond, FRound, Format, Inst, MemOp, Opcode, Temp, Ty, Unit,
};

/// splitmix64: small, seedable, good enough for test generation.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    /// An "interesting" value: edges (0, ±1, MIN, MAX, widths, float specials) or random bits.
    pub fn value(&mut self) -> u64 {
        const EDGES: [u64; 23] = [
            0,
            0x7ff0_0000_0000_0000, // f64 +inf
            0xfff0_0000_0000_0000, // f64 -inf
            0x3ff0_0000_0000_0000, // f64 1.0
            0x7ff4_0000_0000_0000, // f64 signalling NaN
            0x000f_ffff_ffff_ffff, // f64 largest subnormal
            0x3f80_0000,           // f32 1.0
            0x7f80_0000,           // f32 +inf
            0x7fa0_0000,           // f32 signalling NaN
            0x807f_ffff,           // f32 -largest subnormal
            0x4330_0000_0000_0000, // f64 2^52
            0,
            1,
            2,
            u64::MAX,
            1 << 63,
            (1 << 63) - 1,
            0x8000_0000,
            0x7fff_ffff,
            0xffff_ffff,
            31,
            32,
            64,
        ];
        match self.below(4) {
            0 => EDGES[self.below(EDGES.len() as u64) as usize],
            1 => self.below(256),
            _ => self.next(),
        }
    }
}

pub const SLOT_PCS: [u64; 2] = [0x2000, 0x3000];
const N64: u32 = 6;
const N32: u32 = 6;
const WORDS: u64 = 10;

struct G<'a> {
    r: &'a mut Rng,
    insts: Vec<Inst>,
    word_mode: [u8; WORDS as usize],
    /// Temps beyond the pool and the loop's, each written once ([`G::fresh_pair`]).
    fresh: Vec<Ty>,
}

impl G<'_> {
    fn t(&mut self, ty: Ty) -> Temp {
        match ty {
            Ty::I64 => Temp(self.r.below(u64::from(N64)) as u32),
            Ty::I32 => Temp(N64 + self.r.below(u64::from(N32)) as u32),
        }
    }
    fn ty(&mut self) -> Ty {
        if self.r.chance(50) { Ty::I64 } else { Ty::I32 }
    }
    fn push(&mut self, op: Opcode, ty: Ty, dst: Temp, src: [Temp; 4], imm: u64, aux: u32) {
        self.insts.push(Inst {
            op,
            ty,
            dst,
            src,
            imm,
            aux,
        });
    }
    fn cond(&mut self) -> u32 {
        self.r.below(Cond::ALL.len() as u64) as u32
    }
    /// A state offset and its type, following the per-unit width mode of the word.
    fn state(&mut self) -> (u64, Ty) {
        let w = self.r.below(WORDS);
        let base = u64::from(reg_offset(w as usize));
        let ty = match self.word_mode[w as usize] {
            0 => Ty::I64,
            1 => Ty::I32,
            _ => self.ty(),
        };
        let off = if ty == Ty::I32 {
            base + 4 * self.r.below(2)
        } else {
            base
        };
        (off, ty)
    }
    fn memop(&mut self, max_bytes: u32) -> MemOp {
        let max_log = max_bytes.trailing_zeros() as u64;
        MemOp {
            size_log2: self.r.below(max_log + 1) as u8,
            signed: self.r.chance(50),
            big_endian: self.r.chance(25),
            aligned: self.r.chance(30),
            mmu_idx: 0,
        }
    }
    fn disp(&mut self) -> u64 {
        match self.r.below(3) {
            0 => 0,
            1 => self.r.below(64).wrapping_sub(32),
            _ => self.r.next(),
        }
    }

    /// One non-control instruction of `op`.
    fn simple(&mut self, op: Opcode) {
        let n = Temp::NONE;
        match op.format() {
            Format::Const => {
                let ty = self.ty();
                let d = self.t(ty);
                let v = ty.mask(self.r.value());
                self.push(op, ty, d, [n; 4], v, 0);
            }
            Format::Unary => {
                let ty = if matches!(op, Opcode::Sext32 | Opcode::Zext32) {
                    Ty::I64
                } else {
                    self.ty()
                };
                let (d, a) = (self.t(ty), self.t(ty));
                self.push(op, ty, d, [a, n, n, n], 0, 0);
            }
            Format::Binary => {
                let ty = self.ty();
                let (d, a, b) = (self.t(ty), self.t(ty), self.t(ty));
                self.push(op, ty, d, [a, b, n, n], 0, 0);
            }
            Format::Convert => {
                let (from, to) = if op == Opcode::Trunc {
                    (Ty::I64, Ty::I32)
                } else {
                    (Ty::I32, Ty::I64)
                };
                let (d, a) = (self.t(to), self.t(from));
                self.push(op, to, d, [a, n, n, n], 0, 0);
            }
            Format::Ternary => {
                let ty = self.ty();
                let (d, a, b, c) = (self.t(ty), self.t(ty), self.t(ty), self.t(ty));
                self.push(op, ty, d, [a, b, c, n], 0, 0);
            }
            Format::FConvert => {
                let (from, to) = (self.ty(), self.ty());
                let to = if op == Opcode::FCvtF && to == from {
                    if from == Ty::I32 { Ty::I64 } else { Ty::I32 }
                } else {
                    to
                };
                let (d, a) = (self.t(to), self.t(from));
                self.push(op, to, d, [a, n, n, n], 0, 0);
            }
            Format::FSetCond => {
                let (sty, dty) = (self.ty(), self.ty());
                let (d, a, b) = (self.t(dty), self.t(sty), self.t(sty));
                let c = self.r.below(FCond::ALL.len() as u64) as u32;
                self.push(op, dty, d, [a, b, n, n], 0, c);
            }
            Format::FRound => {
                let ty = self.ty();
                let (d, a) = (self.t(ty), self.t(ty));
                let m = self.r.below(FRound::ALL.len() as u64) as u32;
                self.push(op, ty, d, [a, n, n, n], 0, m);
            }
            Format::SetCond => {
                let (sty, dty) = (self.ty(), self.ty());
                let (d, a, b) = (self.t(dty), self.t(sty), self.t(sty));
                let c = self.cond();
                self.push(op, dty, d, [a, b, n, n], 0, c);
            }
            Format::Select => {
                let (sty, dty) = (self.ty(), self.ty());
                let (d, a, b) = (self.t(dty), self.t(sty), self.t(sty));
                let (x, y) = (self.t(dty), self.t(dty));
                let c = self.cond();
                self.push(op, dty, d, [a, b, x, y], 0, c);
            }
            Format::GetReg => {
                let (off, ty) = self.state();
                let d = self.t(ty);
                self.push(op, ty, d, [n; 4], off, 0);
            }
            Format::SetReg => {
                let (off, ty) = self.state();
                let s = self.t(ty);
                self.push(op, ty, n, [s, n, n, n], off, 0);
            }
            Format::Load => {
                let ty = self.ty();
                let m = self.memop(ty.bits() / 8);
                let (d, a) = (self.t(ty), self.t(Ty::I64));
                let disp = self.disp();
                self.push(op, ty, d, [a, n, n, n], disp, m.to_u32());
            }
            Format::Store => {
                let ty = self.ty();
                let m = self.memop(ty.bits() / 8);
                let (v, a) = (self.t(ty), self.t(Ty::I64));
                let disp = self.disp();
                self.push(op, ty, n, [v, a, n, n], disp, m.to_u32());
            }
            Format::AtomicRmw | Format::AtomicCas => {
                let ty = self.ty();
                let mut m = self.memop(8);
                m.size_log2 = if ty == Ty::I64 { 3 } else { 2 };
                m.signed = false;
                let (d, a, x, y) = (self.t(ty), self.t(Ty::I64), self.t(ty), self.t(ty));
                if op == Opcode::AtomicRmw {
                    let o = self.r.below(AtomicOp::ALL.len() as u64) as u32;
                    self.push(op, ty, d, [a, x, n, n], 0, m.to_u32() | (o << 16));
                } else {
                    self.push(op, ty, d, [a, x, y, n], 0, m.to_u32());
                }
            }
            Format::AtomicCas128 => {
                let mut m = self.memop(8);
                m.size_log2 = 3;
                m.signed = false;
                m.big_endian = false;
                let d = self.t(Ty::I64);
                let mut old_hi = self.t(Ty::I64);
                while old_hi == d {
                    old_hi = self.t(Ty::I64);
                }
                let src = [(); 4].map(|_| self.t(Ty::I64));
                let new_hi = self.t(Ty::I64);
                let imm = xlat_ir::ops::Cas128Hi { new_hi, old_hi }.to_imm();
                self.push(op, Ty::I64, d, src, imm, m.to_u32());
            }
            Format::Fence => self.push(op, Ty::I64, n, [n; 4], 0, 0),
            Format::InsnStart => {
                let pc = 0x1000 + 4 * self.r.below(64);
                self.push(op, Ty::I64, n, [n; 4], pc, 0);
            }
            Format::Call => {
                let h = self.r.below(HELPERS.len() as u64) as u32;
                let mut src = [n; 4];
                for s in src.iter_mut().take(usize::from(HELPERS[h as usize].nargs)) {
                    *s = self.t(Ty::I64);
                }
                let d = if self.r.chance(80) {
                    self.t(Ty::I64)
                } else {
                    n
                };
                self.push(op, Ty::I64, d, src, 0, h);
            }
            _ => unreachable!("{op:?} is control flow"),
        }
    }

    /// A new temp of `ty` outside the pool.
    fn new_temp(&mut self, ty: Ty) -> Temp {
        self.fresh.push(ty);
        Temp(N64 + N32 + 3 + self.fresh.len() as u32 - 1)
    }

    /// An instruction whose result goes to a new temp read once, by the next instruction as
    /// the source its template loads first (baseline code passes it in a register), or a
    /// constant in a new temp read by the next instruction as its second operand (an
    /// immediate when the const is in the unit's straight-line start).
    fn fresh_pair(&mut self, ops: &[Opcode]) {
        let n = Temp::NONE;
        let pool_ty = |t: Temp| if t.0 < N64 { Ty::I64 } else { Ty::I32 };
        let start = self.insts.len();
        if self.r.chance(30) {
            const READERS: [Opcode; 13] = [
                Opcode::Add,
                Opcode::Sub,
                Opcode::And,
                Opcode::Or,
                Opcode::Xor,
                Opcode::Shl,
                Opcode::Shr,
                Opcode::Sar,
                Opcode::Rotl,
                Opcode::Rotr,
                Opcode::SetCond,
                Opcode::Select,
                Opcode::Mul,
            ];
            let op = READERS[self.r.below(READERS.len() as u64) as usize];
            self.simple(op);
            let ty = pool_ty(self.insts[start].src[1]);
            let k = self.new_temp(ty);
            let v = ty.mask(self.r.value());
            let c = Inst {
                op: Opcode::Const,
                ty,
                dst: k,
                src: [n; 4],
                imm: v,
                aux: 0,
            };
            self.insts[start].src[1] = k;
            self.insts.insert(start, c);
            return;
        }
        let op = ops[self.r.below(ops.len() as u64) as usize];
        self.simple(op);
        let d = self.insts[start].dst;
        if self.insts.len() != start + 1 || !d.is_some() || d.0 >= N64 + N32 {
            return;
        }
        let ty = pool_ty(d);
        let f = self.new_temp(ty);
        self.insts[start].dst = f;
        // The reader: another random instruction when its first-loaded source has the type.
        let op2 = ops[self.r.below(ops.len() as u64) as usize];
        self.simple(op2);
        let next = &mut self.insts[start + 1];
        let first = if next.op.format() == Format::Store {
            1
        } else {
            0
        };
        let s = next.src[first];
        if s.is_some() && s.0 < N64 + N32 && pool_ty(s) == ty {
            next.src[first] = f;
            return;
        }
        self.insts.truncate(start + 1);
        let w = self.r.below(WORDS) as usize;
        if ty == Ty::I64 && self.word_mode[w] != 1 {
            let off = u64::from(reg_offset(w));
            self.push(Opcode::SetReg, ty, n, [f, n, n, n], off, 0);
        } else {
            let d = self.t(ty);
            self.push(Opcode::Mov, ty, d, [f, n, n, n], 0, 0);
        }
    }

    /// A unit-leaving terminator.
    fn exit(&mut self) {
        let n = Temp::NONE;
        let pc = 0x1000 + 4 * self.r.below(64);
        match self.r.below(4) {
            0 => {
                let s = self.r.below(2) as u32;
                self.push(Opcode::GotoTb, Ty::I64, n, [n; 4], SLOT_PCS[s as usize], s);
            }
            1 => {
                let t = self.t(Ty::I64);
                self.push(Opcode::GotoPtr, Ty::I64, n, [t, n, n, n], 0, 0);
            }
            2 => {
                let r = self.r.below(4) as u32;
                let _ = ExitReason::from_u32(r);
                self.push(Opcode::Exit, Ty::I64, n, [n; 4], pc, r);
            }
            _ => {
                let a = if self.r.chance(50) {
                    self.t(Ty::I64)
                } else {
                    n
                };
                let code = self.r.below(20) as u32;
                self.push(Opcode::Raise, Ty::I64, n, [a, n, n, n], pc, code);
            }
        }
    }
}

/// Opcodes generated as plain instructions (everything but control flow).
fn simple_ops() -> Vec<Opcode> {
    Opcode::ALL
        .iter()
        .copied()
        .filter(|o| {
            !matches!(
                o.format(),
                Format::Label
                    | Format::Jump
                    | Format::Branch
                    | Format::GotoTb
                    | Format::GotoPtr
                    | Format::Exit
                    | Format::Raise
            )
        })
        .collect()
}

/// A random unit.
pub fn unit(r: &mut Rng) -> Unit {
    let mut word_mode = [0u8; WORDS as usize];
    for m in word_mode.iter_mut() {
        *m = r.below(3) as u8;
    }
    let mut g = G {
        r,
        insts: Vec::new(),
        word_mode,
        fresh: Vec::new(),
    };
    let ops = simple_ops();
    let len = 4 + g.r.below(40) as usize;
    let nlabels = g.r.below(5) as u32;
    let mut label_at: Vec<usize> = (0..nlabels)
        .map(|_| g.r.below(len as u64) as usize)
        .collect();
    label_at.sort_unstable();
    let mut next_label = 0u32;
    let mut nloops = 0u32;
    g.push(
        Opcode::InsnStart,
        Ty::I64,
        Temp::NONE,
        [Temp::NONE; 4],
        0x1000,
        0,
    );
    for k in 0..len {
        while next_label < nlabels && label_at[next_label as usize] == k {
            g.push(
                Opcode::Label,
                Ty::I64,
                Temp::NONE,
                [Temp::NONE; 4],
                u64::from(next_label),
                0,
            );
            next_label += 1;
        }
        let roll = g.r.below(100);
        let fwd = nlabels - next_label;
        if roll < 10 && fwd > 0 {
            let l = next_label + g.r.below(u64::from(fwd)) as u32;
            let ty = g.ty();
            let (a, b) = (g.t(ty), g.t(ty));
            let c = g.cond();
            g.push(
                Opcode::Branch,
                ty,
                Temp::NONE,
                [a, b, Temp::NONE, Temp::NONE],
                u64::from(l),
                c,
            );
        } else if roll < 13 && fwd > 0 {
            let l = next_label + g.r.below(u64::from(fwd)) as u32;
            g.push(
                Opcode::Jump,
                Ty::I64,
                Temp::NONE,
                [Temp::NONE; 4],
                u64::from(l),
                0,
            );
        } else if roll < 16 {
            g.exit();
        } else if roll < 18 {
            // A bounded loop: its counter and constants live outside the random temp pool.
            let l = nlabels + nloops;
            nloops += 1;
            let (cnt, one, zero) = (Temp(N64 + N32), Temp(N64 + N32 + 1), Temp(N64 + N32 + 2));
            let n = Temp::NONE;
            let k = 1 + g.r.below(4);
            g.push(Opcode::Const, Ty::I64, cnt, [n; 4], k, 0);
            g.push(Opcode::Const, Ty::I64, one, [n; 4], 1, 0);
            g.push(Opcode::Const, Ty::I64, zero, [n; 4], 0, 0);
            g.push(Opcode::Label, Ty::I64, n, [n; 4], u64::from(l), 0);
            for _ in 0..1 + g.r.below(6) {
                let op = ops[g.r.below(ops.len() as u64) as usize];
                g.simple(op);
            }
            g.push(Opcode::Sub, Ty::I64, cnt, [cnt, one, n, n], 0, 0);
            g.push(
                Opcode::Branch,
                Ty::I64,
                n,
                [cnt, zero, n, n],
                u64::from(l),
                Cond::Ne as u32,
            );
        } else if roll < 30 {
            g.fresh_pair(&ops);
        } else {
            let op = ops[g.r.below(ops.len() as u64) as usize];
            g.simple(op);
        }
    }
    while next_label < nlabels {
        g.push(
            Opcode::Label,
            Ty::I64,
            Temp::NONE,
            [Temp::NONE; 4],
            u64::from(next_label),
            0,
        );
        next_label += 1;
    }
    g.exit();
    let mut temps = vec![Ty::I64; N64 as usize];
    temps.extend(std::iter::repeat_n(Ty::I32, N32 as usize));
    temps.extend([Ty::I64; 3]); // loop counter, 1, 0
    temps.extend(g.fresh);
    Unit {
        pc: 0x1000,
        guest_len: 4,
        guest_insns: 1,
        insts: g.insts,
        temps,
        labels: nlabels + nloops,
        helpers: HELPERS.iter().collect(),
        cold_labels: (0..nlabels).filter(|l| l % 3 == 1).collect(),
    }
}
