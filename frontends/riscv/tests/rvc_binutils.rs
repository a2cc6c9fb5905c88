//! Cross-checks the RVC expansion of every 16-bit parcel against GNU binutils: objdump
//! disassembles each parcel, `as` re-assembles that text without RVC, and the resulting 32-bit
//! word must equal `rvc::expand` (reserved parcels, which objdump prints as `.2byte`/`unimp`,
//! must expand to `None`). Skips when riscv64-linux-gnu binutils are not installed.
#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration-test crate is all tests"
)]

mod binutils;

use binutils::{Scratch, instructions, run, tool};
use xlat_frontend_riscv::rvc::expand;

/// `c.mv rd, rs2` expands to `add rd, x0, rs2`; objdump prints it as `mv`, which `as` assembles
/// to `addi rd, rs2, 0`. Both copy rs2; accept either.
fn same(ours: u32, theirs: u32) -> bool {
    if ours == theirs {
        return true;
    }
    let (rd, rs1, rs2) = ((ours >> 7) & 31, (ours >> 15) & 31, (ours >> 20) & 31);
    ours & 0xfe00_707f == 0x33 && rs1 == 0 && theirs == (rs2 << 15) | (rd << 7) | 0x13
}

#[test]
fn every_parcel_expands_like_binutils() {
    let (Some(asm), Some(objdump), Some(objcopy)) = (tool("as"), tool("objdump"), tool("objcopy"))
    else {
        eprintln!("skipping: riscv64-linux-gnu binutils not installed");
        return;
    };
    let dir = Scratch::new("rvc");
    let p = |f: &str| dir.path(f);
    let parcels: Vec<u16> = (0..=u16::MAX).filter(|c| c & 3 != 3).collect();
    let src: String = parcels
        .iter()
        .map(|c| format!(".insn 2, {c:#x}\n"))
        .collect();
    std::fs::write(p("a.s"), src).unwrap();
    run(&asm, &["-march=rv64gc", &p("a.s"), "-o", &p("a.o")]);
    let dis = run(&objdump, &["-d", &p("a.o")]);
    let mut text = String::from(".option norvc\n");
    let mut checked = Vec::new();
    let mut reserved = 0;
    for l in instructions(&dis) {
        let (addr, mn) = (l.addr, l.mnemonic);
        let c = u16::try_from(l.code).unwrap();
        if mn.starts_with(".2byte") || mn == "unimp" {
            assert_eq!(expand(c), None, "{c:#06x} is reserved for binutils");
            reserved += 1;
            continue;
        }
        if c == 0x6101 {
            // c.addi16sp with nzimm = 0: binutils prints `addi sp,sp,0`, but the ISA (C
            // chapter) reserves it, and QEMU raises illegal instruction; so do we.
            assert_eq!(expand(c), None);
            continue;
        }
        if mn.starts_with("c.") {
            continue; // HINTs (rd = x0 or shift by 0): no 32-bit spelling to compare
        }
        let mut ops = l.operands.split(" <").next().unwrap().to_string();
        if matches!(mn, "j" | "beqz" | "bnez") {
            let (head, tgt) = ops
                .rsplit_once(',')
                .map_or(("", ops.as_str()), |(h, t)| (h, t));
            let rel = i64::from_str_radix(tgt.trim_start_matches("0x"), 16).unwrap() - addr as i64;
            ops = if head.is_empty() {
                format!(".{rel:+}")
            } else {
                format!("{head},.{rel:+}")
            };
        }
        text += &format!("{mn} {ops}\n");
        checked.push(c);
    }
    std::fs::write(p("b.s"), text).unwrap();
    run(&asm, &["-march=rv64gc", &p("b.s"), "-o", &p("b.o")]);
    run(
        &objcopy,
        &["-O", "binary", "-j", ".text", &p("b.o"), &p("b.bin")],
    );
    let bin = std::fs::read(p("b.bin")).unwrap();
    assert_eq!(bin.len(), checked.len() * 4);
    let mut bad = Vec::new();
    for (k, &c) in checked.iter().enumerate() {
        let theirs = u32::from_le_bytes(bin[4 * k..4 * k + 4].try_into().unwrap());
        match expand(c) {
            Some(ours) if same(ours, theirs) => {}
            other => bad.push(format!(
                "{c:#06x}: ours {other:x?}, binutils {theirs:#010x}"
            )),
        }
    }
    drop(dir);
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(40)].join("\n")
    );
    assert!(
        checked.len() > 40_000 && reserved > 1000,
        "{} checked, {reserved} reserved",
        checked.len()
    );
}
