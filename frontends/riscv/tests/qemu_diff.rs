//! Differential test against `qemu-riscv64` (the reference): random register-to-register
//! instructions (RV64I/M ALU, Zba/Zbb/Zbs, F/D arithmetic, conversions, compares, moves) on
//! random and special values. A generated riscv64 program loads each case's registers and
//! fcsr, runs the instruction and stores every register; the same case is lifted and run in
//! the IR interpreter here, and all x1..x30, f0..f31, fflags and frm must agree.
//!
//! Reproduce a failure with `XLAT_SEED=<seed> cargo test -p xlat-frontend-riscv --test
//! qemu_diff`. Skips when riscv64-linux-gnu-gcc or qemu-riscv64 is missing.
#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration-test crate is all tests"
)]

use std::fmt::Write as _;
use std::process::Command;
use xlat_frontend_riscv::decode::{Fmt, Op, TABLE};
use xlat_frontend_riscv::{Riscv64, state};
use xlat_ir::abi::CpuState;
use xlat_ir::{CodeFetch, Frontend, interp};

const CASES: usize = 3000;
/// Words per case record: x0..x31, f0..f31, fcsr.
const REC: usize = 65;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let x = self.0;
        (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (x >> 32)
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[(self.next() % v.len() as u64) as usize]
    }
}

fn int_value(r: &mut Rng) -> u64 {
    let specials = [
        0,
        1,
        2,
        u64::MAX,
        i64::MIN as u64,
        i64::MAX as u64,
        0x8000_0000,
        0x7fff_ffff,
        0xffff_ffff,
        0xffff_ffff_8000_0000,
        31,
        32,
        63,
        64,
    ];
    match r.next() % 4 {
        0 => r.pick(&specials),
        1 => r.next() % 200,
        _ => r.next(),
    }
}

fn f64_value(r: &mut Rng) -> u64 {
    let specials = [
        0u64,
        1 << 63,
        0x7ff0_0000_0000_0000,
        0xfff0_0000_0000_0000,
        0x7ff8_0000_0000_0000,
        0x7ff4_0000_0000_0000,
        1,
        0x000f_ffff_ffff_ffff,
        0x7fef_ffff_ffff_ffff,
        0x0010_0000_0000_0000,
        1f64.to_bits(),
        (-1.5f64).to_bits(),
        2.5f64.to_bits(),
        4294967296f64.to_bits(),
        9.3e18f64.to_bits(),
        (-9.3e18f64).to_bits(),
        0.5f64.to_bits(),
        3f64.to_bits(),
    ];
    match r.next() % 3 {
        0 => r.pick(&specials),
        1 => ((r.next() % 2000) as f64 / 8.0 - 100.0).to_bits(),
        _ => r.next(),
    }
}

fn f32_value(r: &mut Rng) -> u64 {
    let specials = [
        0u32,
        1 << 31,
        0x7f80_0000,
        0xff80_0000,
        0x7fc0_0000,
        0x7fa0_0000,
        1,
        0x007f_ffff,
        0x7f7f_ffff,
        0x0080_0000,
        1f32.to_bits(),
        (-1.5f32).to_bits(),
        2.5f32.to_bits(),
        4294967296f32.to_bits(),
        (-2147483648f32).to_bits(),
        0.5f32.to_bits(),
    ];
    let v = match r.next() % 3 {
        0 => r.pick(&specials),
        1 => ((r.next() % 2000) as f32 / 8.0 - 100.0).to_bits(),
        _ => r.next() as u32,
    };
    // mostly properly NaN-boxed; sometimes not (must read as the canonical NaN)
    if r.next().is_multiple_of(16) {
        u64::from(v)
    } else {
        0xffff_ffff_0000_0000 | u64::from(v)
    }
}

fn fp_value(r: &mut Rng) -> u64 {
    if r.next().is_multiple_of(2) {
        f64_value(r)
    } else {
        f32_value(r)
    }
}

/// A random instruction from the register-to-register part of the table.
fn instruction(r: &mut Rng) -> u32 {
    let rows: Vec<_> = TABLE
        .iter()
        .filter(|row| {
            let mem_or_sys = matches!(
                row.op,
                Op::Lui
                    | Op::Auipc
                    | Op::Jal
                    | Op::Jalr
                    | Op::Fence
                    | Op::FenceI
                    | Op::Ecall
                    | Op::Ebreak
                    | Op::Flw
                    | Op::Fld
                    | Op::Fsw
                    | Op::Fsd
            );
            !mem_or_sys
                && matches!(row.fmt, Fmt::R | Fmt::R4 | Fmt::Rf | Fmt::I | Fmt::Sh)
                && row.value & 0x7f != 0x03
                && row.value & 0x7f != 0x2f
        })
        .collect();
    let row = r.pick(&rows);
    let mut w = row.value | (r.next() as u32 & !row.mask);
    // x31 (t6) is the harness's base register: keep it out of rd/rs1/rs2.
    for sh in [7, 15, 20] {
        if (row.mask >> sh) & 31 == 0 && (w >> sh) & 31 == 31 {
            w &= !(1 << sh);
        }
    }
    // rounding modes 5 and 6 are reserved (SIGILL in QEMU): use dynamic instead
    if row.mask & 0x7000 == 0
        && matches!((w >> 12) & 7, 5 | 6)
        && matches!(row.fmt, Fmt::Rf | Fmt::R4)
    {
        w |= 0x7000;
    }
    w
}

fn tool(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Code(u32);
impl CodeFetch for Code {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        match pc {
            0 => Some(self.0 as u16),
            2 => Some((self.0 >> 16) as u16),
            _ => None,
        }
    }
}

fn program(words: &[u32]) -> String {
    let mut s = String::from(".option norvc\n.option norelax\n.text\n.globl _start\n_start:\n");
    for (i, w) in words.iter().enumerate() {
        let _ = writeln!(s, "  lla t6, in+{}", i * REC * 8);
        for k in 0..32 {
            let _ = writeln!(s, "  fld f{k}, {}(t6)", (32 + k) * 8);
        }
        let _ = writeln!(s, "  ld t5, {}(t6)\n  fscsr t5", 64 * 8);
        for k in 1..31 {
            let _ = writeln!(s, "  ld x{k}, {}(t6)", k * 8);
        }
        let _ = writeln!(s, "  .word {w:#x}\n  lla t6, out+{}", i * REC * 8);
        for k in 1..31 {
            let _ = writeln!(s, "  sd x{k}, {}(t6)", k * 8);
        }
        for k in 0..32 {
            let _ = writeln!(s, "  fsd f{k}, {}(t6)", (32 + k) * 8);
        }
        let _ = writeln!(s, "  frcsr t5\n  sd t5, {}(t6)", 64 * 8);
    }
    let len = words.len() * REC * 8;
    let _ = writeln!(
        s,
        "  li a0, 1\n  lla a1, out\n  li a2, {len}\n  li a7, 64\n  ecall"
    );
    let _ = writeln!(s, "  li a0, 0\n  li a7, 93\n  ecall");
    let _ = writeln!(
        s,
        ".data\n.balign 8\nin:\n  .incbin \"in.bin\"\n.bss\n.balign 8\nout:\n  .zero {len}"
    );
    s
}

#[test]
fn random_instructions_match_qemu() {
    if !tool("riscv64-linux-gnu-gcc") || !tool("qemu-riscv64") {
        eprintln!("skipping: riscv64-linux-gnu-gcc or qemu-riscv64 not installed");
        return;
    }
    let seed = std::env::var("XLAT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1u64);
    eprintln!("seed {seed} (XLAT_SEED=<n> to reproduce or vary)");
    let mut r = Rng(seed);
    let words: Vec<u32> = (0..CASES).map(|_| instruction(&mut r)).collect();
    let mut input = vec![0u64; CASES * REC];
    for rec in input.chunks_mut(REC) {
        for v in &mut rec[1..31] {
            *v = int_value(&mut r);
        }
        for v in &mut rec[32..64] {
            *v = fp_value(&mut r);
        }
        rec[64] = (r.next() % 5) << 5; // frm 0..4, no flags
    }
    let dir = std::env::temp_dir().join(format!("xlat-qdiff-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("in.bin"), bytes).unwrap();
    std::fs::write(dir.join("t.s"), program(&words)).unwrap();
    let cc = Command::new("riscv64-linux-gnu-gcc")
        .current_dir(&dir)
        .args([
            "-nostdlib",
            "-static",
            "-march=rv64gc_zba_zbb_zbs",
            "t.s",
            "-o",
            "t",
        ])
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let q = Command::new("qemu-riscv64")
        .args(["-cpu", "rv64,zba=true,zbb=true,zbs=true"])
        .arg(dir.join("t"))
        .output()
        .unwrap();
    if std::env::var_os("XLAT_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let err = String::from_utf8_lossy(&q.stderr);
    assert!(
        q.status.success(),
        "qemu ({}) in {}: {err}",
        q.status,
        dir.display()
    );
    assert_eq!(q.stdout.len(), CASES * REC * 8);
    let want: Vec<u64> = q
        .stdout
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();

    let fe = Riscv64::new();
    let mut bad = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let rec = &input[i * REC..(i + 1) * REC];
        let mut env = CpuState::new_boxed();
        fe.init_user_state(&mut env);
        for k in 1..32u8 {
            env.set_word(state::x(k), rec[usize::from(k)]);
        }
        for k in 0..32u8 {
            env.set_word(state::f(k), rec[32 + usize::from(k)]);
        }
        env.set_word(state::FRM, rec[64] >> 5);
        env.set_word(state::FFLAGS, rec[64] & 31);
        let unit = fe.translate(0, &Code(*w), 1);
        xlat_ir::verify(&unit).unwrap();
        interp::run(
            &unit,
            &interp::Prepared::new(&unit),
            &mut env,
            &interp::NoMem,
            &mut Vec::new(),
        );
        let exp = &want[i * REC..(i + 1) * REC];
        let mut diffs = String::new();
        for k in 1..31u8 {
            let (o, t) = (env.word(state::x(k)), exp[usize::from(k)]);
            if o != t {
                let _ = write!(diffs, " x{k}: ours {o:#x} qemu {t:#x};");
            }
        }
        for k in 0..32u8 {
            let (o, t) = (env.word(state::f(k)), exp[32 + usize::from(k)]);
            if o != t {
                let _ = write!(diffs, " f{k}: ours {o:#x} qemu {t:#x};");
            }
        }
        let fcsr = env.word(state::FFLAGS) | (env.word(state::FRM) << 5);
        if fcsr != exp[64] {
            let _ = write!(diffs, " fcsr: ours {fcsr:#x} qemu {:#x};", exp[64]);
        }
        if !diffs.is_empty() {
            let text = xlat_frontend_riscv::disas::disas_word(0, *w);
            bad.push(format!("case {i} {w:#010x} {text}:{diffs}"));
        }
    }
    assert!(
        bad.is_empty(),
        "seed {seed}: {} of {CASES} differ:\n{}",
        bad.len(),
        bad[..bad.len().min(30)].join("\n")
    );
}
