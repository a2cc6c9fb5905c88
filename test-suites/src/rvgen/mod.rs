//! # rvgen: random riscv64 instruction streams for differential testing against qemu-riscv64
//!
//! [`Batch::new`] writes a static ELF64 riscv64 executable (see [`elf`]) holding many cases.
//! Each case's prologue loads `fcsr`, every `f` register and every `x` register except `sp`
//! from a per-case random block (values biased toward edge cases), points `t6` at the middle
//! of the case's 256-byte scratch area, runs a random stream ([`insn`]), and its epilogue
//! stores every `x` and `f` register and `fflags` to the case's output slot. At the end one
//! `write(1, ...)` dumps every scratch area and every output slot, then `exit(0)`.
//! [`Batch::diff`] explains a mismatch between two such dumps register by register.

pub mod elf;
pub mod enc;
pub mod insn;

use insn::{BASE, Item};

/// Bytes of each case's scratch memory.
pub const SCRATCH: usize = 256;
/// Bytes of a case's input block and of its output slot: 32 x, 32 f, fcsr/fflags.
pub const SLOT: usize = 65 * 8;

/// A small deterministic generator (splitmix64), so seeds replay exactly on any build.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.bits() % n.max(1)
    }
    /// A signed 12-bit immediate, biased toward small and extreme values.
    pub fn imm12(&mut self) -> i32 {
        match self.below(4) {
            0 => self.below(16) as i32 - 8,
            1 => [-2048, 2047, -1, 0, 1, 0x7ff, -0x800][self.below(7) as usize],
            _ => self.below(4096) as i32 - 2048,
        }
    }
    /// An integer register value biased toward edge cases.
    pub fn xval(&mut self) -> u64 {
        const EDGE: [u64; 14] = [
            0,
            1,
            u64::MAX,
            0x8000_0000_0000_0000,
            0x7fff_ffff_ffff_ffff,
            0x8000_0000,
            0x7fff_ffff,
            0xffff_ffff,
            0xffff_ffff_8000_0000,
            2,
            0xff,
            0x80,
            0xffff,
            0x1_0000_0000,
        ];
        match self.below(8) {
            0..=2 => EDGE[self.below(EDGE.len() as u64) as usize],
            3 => self.below(64).wrapping_sub(32),
            4 => self.bits() as i32 as i64 as u64,
            _ => self.bits(),
        }
    }
    /// A double bit pattern biased toward special values.
    pub fn dval(&mut self) -> u64 {
        const EDGE: [u64; 18] = [
            0,
            0x8000_0000_0000_0000,
            0x7ff0_0000_0000_0000,
            0xfff0_0000_0000_0000,
            0x7ff8_0000_0000_0000,
            0x7ff0_0000_0000_0001,
            0xfff8_0000_0000_0001,
            1,
            0x000f_ffff_ffff_ffff,
            0x3ff0_0000_0000_0000,
            0xbff0_0000_0000_0000,
            0x7fef_ffff_ffff_ffff,
            0x43e0_0000_0000_0000,
            0xc3e0_0000_0000_0000,
            0x41e0_0000_0000_0000,
            0xc1e0_0000_0020_0000,
            0x3fe0_0000_0000_0000,
            0x41ef_ffff_ffe0_0000,
        ];
        match self.below(6) {
            0..=2 => EDGE[self.below(EDGE.len() as u64) as usize],
            3 => {
                // A modest value: sign, exponent near 0, random mantissa.
                let e = 1023 - 8 + self.below(48);
                (self.bits() & 0x8000_0000_0000_0000) | (e << 52) | (self.bits() >> 12)
            }
            _ => self.bits(),
        }
    }
    /// A single (NaN-boxed, or sometimes improperly boxed) bit pattern in a 64-bit register.
    pub fn sval(&mut self) -> u64 {
        const EDGE: [u32; 16] = [
            0,
            0x8000_0000,
            0x7f80_0000,
            0xff80_0000,
            0x7fc0_0000,
            0x7f80_0001,
            0xffc0_0001,
            1,
            0x007f_ffff,
            0x3f80_0000,
            0xbf80_0000,
            0x7f7f_ffff,
            0x5f00_0000,
            0xdf00_0000,
            0x4f00_0000,
            0xcf00_0000,
        ];
        let v = match self.below(6) {
            0..=2 => EDGE[self.below(EDGE.len() as u64) as usize],
            3 => {
                let e = 127 - 8 + self.below(40) as u32;
                (self.bits() as u32 & 0x8000_0000) | (e << 23) | (self.bits() as u32 >> 9)
            }
            _ => self.bits() as u32,
        };
        let hi: u64 = if self.below(10) == 0 {
            self.bits() & 0xffff_ffff_0000_0000
        } else {
            !0 << 32
        };
        hi | u64::from(v)
    }
}

/// One case: its stream (assembly text and words) and its input block.
#[derive(Clone, Debug)]
pub struct Case {
    /// `(address, word, text)` of each instruction of the random stream (a word whose low two
    /// bits are not `11` is a 16-bit compressed instruction).
    pub listing: Vec<(u64, u32, String)>,
    /// Initial x registers (index = register number; 0 and 2 unused), f registers, fcsr.
    pub input: Vec<u64>,
}

/// A generated executable holding `cases.len()` cases.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The ELF file.
    pub elf: Vec<u8>,
    /// The cases, in order.
    pub cases: Vec<Case>,
    /// Number of bytes the program writes to stdout.
    pub out_len: usize,
}

/// Generates the stream of one case (resolved into words with text) at address `pc`.
fn stream(rng: &mut Rng, pc: u64) -> Vec<(u64, u32, String)> {
    let len = 20 + rng.below(41) as usize;
    let mut items: Vec<Item> = Vec::new();
    let mut starts = Vec::new();
    while items.len() < len {
        starts.push(items.len());
        insn::one(rng, &mut items, len);
    }
    let n = items.len();
    starts.push(n);
    // A target must begin a group (never land between an address set-up and its use).
    let fix = |to: usize| *starts.iter().find(|&&s| s >= to.min(n)).unwrap_or(&n);
    // Byte positions: compressed items take 2 bytes, the rest 4.
    let mut pos = Vec::with_capacity(n + 1);
    let mut at = 0u64;
    for it in &items {
        pos.push(at);
        at += if matches!(it, Item::Half(..)) { 2 } else { 4 };
    }
    pos.push(at);
    let rel = |from: usize, to: usize| (pos[to] - pos[from]) as i32;
    let mut out = Vec::with_capacity(n);
    for (k, it) in items.iter().enumerate() {
        let here = pc + pos[k];
        let (word, text) = match it {
            Item::Word(w, t) => (*w, t.clone()),
            Item::Half(h, t) => (u32::from(*h), t.clone()),
            Item::Branch { f3, rs1, rs2, to } => {
                let off = rel(k, fix(*to).max(k + 1));
                let n = ["beq", "bne", "?", "?", "blt", "bge", "bltu", "bgeu"][*f3 as usize];
                (
                    enc::b(*f3, *rs1, *rs2, off),
                    format!("{n} {}, {}, .+{off}", enc::xname(*rs1), enc::xname(*rs2)),
                )
            }
            Item::Jal { rd, to } => {
                let off = rel(k, fix(*to).max(k + 1));
                (
                    enc::j(*rd, off),
                    format!("jal {}, .+{off}", enc::xname(*rd)),
                )
            }
            Item::Jalr { rd, tmp, at, to } => {
                let off = rel(*at, fix(*to).max(k + 1));
                (
                    enc::i(0x67, 0, *rd, *tmp, off),
                    format!("jalr {}, {off}({})", enc::xname(*rd), enc::xname(*tmp)),
                )
            }
        };
        out.push((here, word, text));
    }
    out
}

fn push(code: &mut Vec<u32>, w: &[u32]) {
    code.extend_from_slice(w);
}

impl Batch {
    /// Builds the executable for `seed` with `n` cases.
    pub fn new(seed: u64, n: usize) -> Batch {
        let mut rng = Rng::new(seed);
        let code_base = elf::LOAD_ADDR + elf::HEADERS;
        // First generate the code with placeholder data addresses; data follows the code,
        // so lay the code out first (its size does not depend on the addresses).
        let mut cases = Vec::with_capacity(n);
        let mut code: Vec<u32> = Vec::new();
        let mut fixups: Vec<(usize, usize, u32)> = Vec::new(); // (code index, case, kind)
        for c in 0..n {
            // Prologue: t6 = input block; fcsr; f regs; x regs; t6 = scratch middle.
            fixups.push((code.len(), c, 0));
            push(&mut code, &[0, 0]);
            code.push(enc::i(0x03, 3, 1, BASE, 64 * 8));
            code.push(enc::i(0x73, 1, 0, 1, 3)); // fscsr ra
            for f in 0..32 {
                code.push(enc::i(0x07, 3, f, BASE, (32 + f as i32) * 8));
            }
            for x in 1..31 {
                if x != 2 {
                    code.push(enc::i(0x03, 3, x, BASE, x as i32 * 8));
                }
            }
            fixups.push((code.len(), c, 1));
            push(&mut code, &[0, 0]);
            let pc = code_base + 4 * code.len() as u64;
            let listing = stream(&mut rng, pc);
            // Stream bytes (16- and 32-bit instructions), padded to a word with c.nop.
            let mut bytes: Vec<u8> = Vec::new();
            for (_, w, _) in &listing {
                let len = if w & 3 == 3 { 4 } else { 2 };
                bytes.extend_from_slice(&w.to_le_bytes()[..len]);
            }
            if !bytes.len().is_multiple_of(4) {
                bytes.extend_from_slice(&[0x01, 0x00]);
            }
            code.extend(
                bytes
                    .chunks(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
            // Epilogue: t5 = output slot; store everything.
            fixups.push((code.len(), c, 2));
            push(&mut code, &[0, 0]); // t6 = output slot (the stream never writes t6)
            for x in 1..31 {
                if x != 2 {
                    code.push(enc::s(0x23, 3, BASE, x, x as i32 * 8));
                }
            }
            for f in 0..32 {
                code.push(enc::s(0x27, 3, BASE, f, (32 + f as i32) * 8));
            }
            code.push(enc::i(0x73, 2, 1, 0, 1)); // frflags ra
            code.push(enc::s(0x23, 3, BASE, 1, 64 * 8));
            let mut input = vec![0u64; 65];
            for (x, v) in input.iter_mut().enumerate().take(32).skip(1) {
                *v = if x == 2 { 0 } else { rng.xval() };
            }
            for f in 0..32 {
                input[32 + f] = if rng.below(2) == 0 {
                    rng.sval()
                } else {
                    rng.dval()
                };
            }
            let frm = rng.below(5);
            let flags = if rng.below(4) == 0 { rng.below(32) } else { 0 };
            input[64] = (frm << 5) | flags;
            cases.push(Case { listing, input });
        }
        // Final write(1, dump, len) and exit(0).
        let dump_fix = code.len();
        push(&mut code, &[0, 0, 0, 0]); // a1 = dump start, a2 = length
        code.push(enc::i(0x13, 0, 10, 0, 1)); // li a0, 1
        code.push(enc::i(0x13, 0, 17, 0, 64)); // li a7, 64 (write)
        code.push(0x0000_0073); // ecall
        code.push(enc::i(0x13, 0, 10, 0, 0)); // li a0, 0
        code.push(enc::i(0x13, 0, 17, 0, 93)); // li a7, 93 (exit)
        code.push(0x0000_0073);
        // Data layout: inputs, then scratches, then output slots (bss).
        let code_bytes = 4 * code.len() as u64;
        let in_base = (code_base + code_bytes + 15) & !15;
        let scr_base = in_base + (n * SLOT) as u64;
        let out_base = scr_base + (n * SCRATCH) as u64;
        for &(at, c, kind) in &fixups {
            let a = match kind {
                0 => in_base + (c * SLOT) as u64,
                1 => scr_base + (c * SCRATCH + SCRATCH / 2) as u64,
                _ => out_base + (c * SLOT) as u64,
            };
            code[at..at + 2].copy_from_slice(&enc::li_addr(BASE, a as u32));
        }
        let out_len = n * (SCRATCH + SLOT);
        code[dump_fix..dump_fix + 2].copy_from_slice(&enc::li_addr(11, scr_base as u32));
        code[dump_fix + 2..dump_fix + 4].copy_from_slice(&enc::li_addr(12, out_len as u32));
        let mut image: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
        image.resize((in_base - code_base) as usize, 0);
        for c in &cases {
            image.extend(c.input.iter().flat_map(|v| v.to_le_bytes()));
        }
        for _ in 0..n * SCRATCH {
            image.push(rng.bits() as u8);
        }
        let elf = elf::build(&image, (n * SLOT) as u64, code_base);
        Batch {
            elf,
            cases,
            out_len,
        }
    }

    /// Describes how dump `got` differs from the reference dump `want`, per case and register;
    /// an empty list means they are identical. At most `limit` cases are reported.
    pub fn diff(&self, want: &[u8], got: &[u8], limit: usize) -> Vec<CaseDiff> {
        let n = self.cases.len();
        let mut res = Vec::new();
        if want.len() != self.out_len || got.len() != self.out_len {
            res.push(CaseDiff {
                case: usize::MAX,
                lines: vec![format!(
                    "output length: want {} got {} (expected {})",
                    want.len(),
                    got.len(),
                    self.out_len
                )],
            });
        }
        let word = |b: &[u8], at: usize| -> Option<u64> {
            b.get(at..at + 8)
                .map(|s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
        };
        for c in 0..n {
            let mut lines = Vec::new();
            let slot = n * SCRATCH + c * SLOT;
            for r in 0..65 {
                let (w, g) = (word(want, slot + r * 8), word(got, slot + r * 8));
                if w != g {
                    let name = match r {
                        0..=31 => enc::xname(r as u32).to_string(),
                        32..=63 => format!("f{}", r - 32),
                        _ => "fflags".to_string(),
                    };
                    lines.push(format!("{name:>6}: want {} got {}", hex(w), hex(g)));
                }
            }
            for k in 0..SCRATCH {
                let at = c * SCRATCH + k;
                let (w, g) = (want.get(at), got.get(at));
                if w != g {
                    lines.push(format!(
                        "mem[t6{:+}]: want {:02x?} got {:02x?}",
                        k as i64 - 128,
                        w,
                        g
                    ));
                }
            }
            if !lines.is_empty() {
                res.push(CaseDiff { case: c, lines });
                if res.len() >= limit {
                    break;
                }
            }
        }
        res
    }
}

fn hex(v: Option<u64>) -> String {
    v.map_or_else(|| "<missing>".to_string(), |v| format!("{v:#018x}"))
}

/// The differences found in one case.
#[derive(Clone, Debug)]
pub struct CaseDiff {
    /// Case index (`usize::MAX` for whole-output problems).
    pub case: usize,
    /// One line per differing register or memory byte.
    pub lines: Vec<String>,
}

impl Case {
    /// The stream's disassembly and the non-default inputs, for a failure report.
    pub fn show(&self) -> String {
        let mut s = String::new();
        for (a, w, t) in &self.listing {
            s.push_str(&format!("  {a:#x}: {w:08x}  {t}\n"));
        }
        s.push_str(&format!("  fcsr in: {:#x}\n", self.input[64]));
        s
    }
}

/// Cases per generated executable (process start-up amortised over them).
pub const CASES_PER_BATCH: usize = 200;

/// Writes `batch` to a fresh executable file named after `seed` and returns its path.
pub fn write_elf(batch: &Batch, seed: u64, tag: &str) -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let p = crate::scratch_dir("rvdiff").join(format!("seed{seed}-{tag}.elf"));
    std::fs::write(&p, &batch.elf)?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    Ok(p)
}

/// Runs `prog` under `cmd` (e.g. `["qemu-riscv64"]` or `[xlat, "run"]`), returning its
/// stdout, or an error describing a failed run (non-zero exit, signal, spawn failure).
pub fn run_engine(cmd: &[&std::ffi::OsStr], prog: &std::path::Path) -> Result<Vec<u8>, String> {
    let (first, rest) = cmd.split_first().ok_or("empty command")?;
    let out = std::process::Command::new(first)
        .args(rest)
        .arg(prog)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {first:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} {prog:?}: {} ; stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}
