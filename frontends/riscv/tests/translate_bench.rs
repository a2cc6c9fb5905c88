//! Translation throughput on real code: the .text of Debian's riscv64 busybox, lifted unit after
//! unit (128 instructions at most, as the backend asks), and decoded alone. Prints ns per guest
//! instruction. `cargo test -p xlat-frontend-riscv --release --test translate_bench -- --ignored
//! --nocapture` (needs ~/.cache/xlat/riscv64/busybox and riscv64-linux-gnu-objcopy).
#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration-test crate is all tests"
)]

use std::process::Command;
use std::time::Instant;
use xlat_frontend_riscv::{Riscv64, decode, rvc};
use xlat_ir::{CodeFetch, Frontend};

struct Text(Vec<u8>);
impl CodeFetch for Text {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let i = usize::try_from(pc).ok()?;
        Some(u16::from_le_bytes([*self.0.get(i)?, *self.0.get(i + 1)?]))
    }
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn busybox_text_throughput() {
    let home = std::env::var("HOME").unwrap_or_default();
    let bb = format!("{home}/.cache/xlat/riscv64/busybox");
    let out = std::env::temp_dir().join(format!("xlat-bbtext-{}", std::process::id()));
    let ok = Command::new("riscv64-linux-gnu-objcopy")
        .args(["-O", "binary", "-j", ".text", &bb])
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping: busybox or objcopy missing");
        return;
    }
    let text = Text(std::fs::read(&out).unwrap());
    let _ = std::fs::remove_file(&out);
    let fe = Riscv64::new();
    let end = text.0.len() as u64;
    let _ = decode::decode(0x13); // build the decode index outside the timings
    // The machine is shared: take the best of several passes.
    let (mut lift_ns, mut dec_ns) = (f64::MAX, f64::MAX);
    let (mut insns, mut ops, mut n, mut found) = (0u64, 0usize, 0u64, 0u64);
    for _ in 0..5 {
        let t = Instant::now();
        let mut pc = 0u64;
        (insns, ops) = (0, 0);
        while pc + 4 <= end {
            let u = fe.translate(pc, &text, 128);
            insns += u64::from(u.guest_insns);
            ops += u.insts.len();
            pc += u64::from(u.guest_len.max(2));
        }
        lift_ns = lift_ns.min(t.elapsed().as_nanos() as f64 / insns as f64);
        let t = Instant::now();
        (n, found) = decode_all(&text.0);
        dec_ns = dec_ns.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    // Table lookup alone, on the pre-expanded words.
    let ws: Vec<u32> = words(&text.0);
    let mut look_ns = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let hits = ws
            .iter()
            .filter(|&&w| decode::lookup(std::hint::black_box(w)).is_some())
            .count();
        look_ns = look_ns.min(t.elapsed().as_nanos() as f64 / ws.len() as f64);
        assert!(hits > 0);
    }
    let mut full_ns = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let hits = ws
            .iter()
            .filter(|&&w| decode::decode(std::hint::black_box(w)).is_some())
            .count();
        full_ns = full_ns.min(t.elapsed().as_nanos() as f64 / ws.len() as f64);
        assert!(hits > 0);
    }
    println!(
        "decode table lookup alone: {look_ns:.1} ns/insn, with operand extraction {full_ns:.1}"
    );
    println!(
        "busybox .text: {insns} insns lifted, {lift_ns:.1} ns/insn, {:.1} IR ops/insn; \
         decode only: {dec_ns:.1} ns/insn ({found}/{n} decodable)",
        ops as f64 / insns as f64
    );
    assert!(found * 10 > n * 9, "most of busybox's .text must decode");
}

/// Decodes every instruction of `text` in order: (instructions, decodable ones).
fn decode_all(text: &[u8]) -> (u64, u64) {
    let (mut pc, mut n, mut found) = (0usize, 0u64, 0u64);
    while pc + 4 <= text.len() {
        let lo = u16::from_le_bytes([text[pc], text[pc + 1]]);
        let w = if lo & 3 == 3 {
            pc += 4;
            Some(u32::from_le_bytes(text[pc - 4..pc].try_into().unwrap()))
        } else {
            pc += 2;
            rvc::expand(lo)
        };
        found += u64::from(w.and_then(decode::decode).is_some());
        n += 1;
    }
    (n, found)
}

/// The 32-bit words of `text` (compressed parcels expanded, reserved ones skipped).
fn words(text: &[u8]) -> Vec<u32> {
    let (mut pc, mut v) = (0usize, Vec::new());
    while pc + 4 <= text.len() {
        let lo = u16::from_le_bytes([text[pc], text[pc + 1]]);
        if lo & 3 == 3 {
            v.push(u32::from_le_bytes(text[pc..pc + 4].try_into().unwrap()));
            pc += 4;
        } else {
            v.extend(rvc::expand(lo));
            pc += 2;
        }
    }
    v
}
