//! Per-instruction tests: encodings (from riscv64-linux-gnu-as) lifted, verified and run in the
//! IR interpreter; expected values computed from the ISA's definitions.

use super::testutil::{Code, Mem, lift, run, words};
use crate::state::{self, FFLAGS, FRM, RES_ADDR, f, x};
use crate::{
    ILLEGAL_INSTRUCTION, INSTRUCTION_ACCESS_FAULT, LOAD_ADDRESS_MISALIGNED,
    STORE_ADDRESS_MISALIGNED,
};
use xlat_ir::abi::{CpuState, ExitKind};
use xlat_ir::{ExitReason, Opcode};

const PC: u64 = 0x1000;
const DATA: u64 = 0x8000;

fn env() -> Box<CpuState> {
    let mut e = CpuState::new_boxed();
    e.set_word(RES_ADDR, state::RES_NONE);
    e
}

/// Runs `ws` followed by `ebreak`; asserts it reached the ebreak.
fn exec(e: &mut CpuState, mem: &Mem, ws: &[u32]) {
    let mut v = ws.to_vec();
    v.push(0x0010_0073); // ebreak
    let end = PC + 4 * ws.len() as u64;
    let mut pc = PC;
    let bytes = words(&v);
    // Follow goto_tb exits through the same code (for branches).
    for _ in 0..16 {
        let off = (pc - PC) as usize;
        let (k, p) = run(e, mem, pc, bytes[off..].to_vec());
        if k == ExitKind::Exit && p == ExitReason::Breakpoint as u32 {
            assert_eq!(e.pc, end, "stopped at the wrong ebreak");
            return;
        }
        assert_eq!(
            k,
            ExitKind::Lookup,
            "unexpected exit {k:?} {p} at {:#x}",
            e.pc
        );
        pc = e.pc;
    }
    panic!("did not reach the ebreak");
}

fn setx(e: &mut CpuState, r: u8, v: u64) {
    e.set_word(x(r), v);
}
fn getx(e: &CpuState, r: u8) -> u64 {
    e.word(x(r))
}

#[rustfmt::skip]
#[test]
fn rv64i_alu() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    setx(&mut e, 11, 0xffff_ffff_8000_0000); setx(&mut e, 12, 3);
    exec(&mut e, &m, &[
        0x00c5_8533, // add a0,a1,a2
        0x40c5_86b3, // sub a3,a1,a2
        0x00c5_9733, // sll a4,a1,a2
        0x40c5_d7b3, // sra a5,a1,a2
        0x00c5_d833, // srl a6,a1,a2
        0x00c5_a8b3, // slt a7,a1,a2
        0x00c5_b2b3, // sltu t0,a1,a2
        0x0015_831b, // addiw t1,a1,1
        0xfff0_0393, // li t2,-1
        0x7ff0_0293, // addi t0,zero,2047 (overwrites the sltu result)
    ]);
    let a = 0xffff_ffff_8000_0000u64;
    assert_eq!(getx(&e, 10), a.wrapping_add(3));
    assert_eq!(getx(&e, 13), a.wrapping_sub(3));
    assert_eq!(getx(&e, 14), a << 3);
    assert_eq!(getx(&e, 15), ((a as i64) >> 3) as u64);
    assert_eq!(getx(&e, 16), a >> 3);
    assert_eq!(getx(&e, 17), 1);
    assert_eq!(getx(&e, 5), 0x7ff);
    assert_eq!(getx(&e, 6), 0xffff_ffff_8000_0001);
    assert_eq!(getx(&e, 7), u64::MAX);
}

#[rustfmt::skip]
#[test]
fn rv64i_word_ops_sign_extend() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    setx(&mut e, 11, 0x7fff_ffff); setx(&mut e, 12, 1);
    exec(&mut e, &m, &[
        0x00c5_853b, // addw a0,a1,a2
        0x01f5_969b, // slliw a3,a1,31
        0x0015_d71b, // srliw a4,a1,1
        0x00c5_97bb, // sllw a5,a1,a2
    ]);
    assert_eq!(getx(&e, 10), 0xffff_ffff_8000_0000);
    assert_eq!(getx(&e, 13), 0xffff_ffff_8000_0000);
    assert_eq!(getx(&e, 14), 0x3fff_ffff);
    assert_eq!(getx(&e, 15), 0xffff_ffff_ffff_fffe);
}

#[rustfmt::skip]
#[test]
fn x0_reads_zero_and_drops_writes() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    exec(&mut e, &m, &[
        0x0050_0013, // addi zero,zero,5
        0x0000_0513, // addi a0,zero,0
        0x0010_0593, // li a1,1
    ]);
    assert_eq!(e.word(x(0)), 0);
    assert_eq!(getx(&e, 10), 0);
    assert_eq!(getx(&e, 11), 1);
}

#[rustfmt::skip]
#[test]
fn lui_auipc_jal_jalr() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    let u = lift(PC, words(&[
        0x1234_5537, // lui a0,0x12345
        0x0000_1597, // auipc a1,0x1
        0x0080_00ef, // jal ra,+8
    ]));
    let prep = xlat_ir::interp::Prepared::new(&u);
    let ex = xlat_ir::interp::run(&u, &prep, &mut e, &m, &mut Vec::new());
    assert_eq!(getx(&e, 10), 0x1234_5000);
    assert_eq!(getx(&e, 11), PC + 4 + 0x1000);
    assert_eq!(getx(&e, 1), PC + 12);
    assert_eq!(e.pc, PC + 8 + 8);
    assert_eq!(ex.slot, Some(0));
    // jalr ra,3(a0): target (a0 + 3) & !1, link written after reading rs1 even if rd == rs1
    setx(&mut e, 1, 0x2000);
    let (k, _) = run(&mut e, &m, PC, words(&[0x0030_80e7])); // jalr ra,3(ra)
    assert_eq!(k, ExitKind::Lookup);
    assert_eq!(e.pc, 0x2002);
    assert_eq!(getx(&e, 1), PC + 4);
}

#[rustfmt::skip]
#[test]
fn branches_take_slot0_and_fall_through_slot1() {
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    // (encoding, a0, a1, taken)
    let cases: &[(u32, u64, u64, bool)] = &[
        (0x00b5_0463, 5, 5, true),                   // beq a0,a1,+8
        (0x00b5_1463, 5, 5, false),                  // bne a0,a1,+8
        (0x00b5_4463, u64::MAX, 1, true),            // blt a0,a1,+8 (-1 < 1)
        (0x00b5_6463, u64::MAX, 1, false),           // bltu a0,a1,+8
        (0x00b5_5463, 1, u64::MAX, true),            // bge a0,a1,+8
        (0x00b5_7463, 1, u64::MAX, false),           // bgeu a0,a1,+8
    ];
    for &(w, a, b, taken) in cases {
        let mut e = env();
        setx(&mut e, 10, a); setx(&mut e, 11, b);
        let u = lift(PC, words(&[w]));
        let ex = xlat_ir::interp::run(&u, &xlat_ir::interp::Prepared::new(&u), &mut e, &m, &mut Vec::new());
        assert_eq!(e.pc, if taken { PC + 8 } else { PC + 4 }, "{w:#x}");
        assert_eq!(ex.slot, Some(if taken { 0 } else { 1 }));
    }
}

#[rustfmt::skip]
#[test]
fn loads_and_stores_little_endian_unaligned() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    m.write(DATA + 1, 8, 0x8877_6655_4433_2211);
    setx(&mut e, 10, DATA);
    setx(&mut e, 11, 0x1122_3344_5566_7788);
    exec(&mut e, &m, &[
        0x0015_3603, // ld a2,1(a0)    (unaligned: allowed)
        0x0015_0683, // lb a3,1(a0)
        0x0085_0703, // lb a4,8(a0)    (0x88: negative)
        0x0085_4783, // lbu a5,8(a0)
        0x0055_2803, // lw a6,5(a0)    (0x88776655: negative)
        0x0055_6883, // lwu a7,5(a0)
        0x00b5_3823, // sd a1,16(a0)
        0x00b5_1e23, // sh a1,28(a0)
    ]);
    assert_eq!(getx(&e, 12), 0x8877_6655_4433_2211);
    assert_eq!(getx(&e, 13), 0x11);
    assert_eq!(getx(&e, 14), 0xffff_ffff_ffff_ff88);
    assert_eq!(getx(&e, 15), 0x88);
    assert_eq!(getx(&e, 16), 0xffff_ffff_8877_6655);
    assert_eq!(getx(&e, 17), 0x8877_6655);
    assert_eq!(m.read(DATA + 16, 8), 0x1122_3344_5566_7788);
    assert_eq!(m.read(DATA + 28, 2), 0x7788);
}

#[rustfmt::skip]
#[test]
fn rv64m() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    setx(&mut e, 11, i64::MIN as u64); setx(&mut e, 12, u64::MAX); setx(&mut e, 13, 0);
    exec(&mut e, &m, &[
        0x02c5_c533, // div a0,a1,a2   (MIN / -1 = MIN)
        0x02d5_c733, // div a4,a1,a3   (x / 0 = -1)
        0x02d5_f7b3, // remu a5,a1,a3  (x % 0 = x)
        0x02c5_9833, // mulh a6,a1,a2  (MIN * -1 high = 0)
        0x02c5_b8b3, // mulhu a7,a1,a2
        0x02c5_82bb, // mulw t0,a1,a2  (low words: 0 * -1 = 0)
        0x02d6_433b, // divw t1,a2,a3  (-1 / 0 = -1)
    ]);
    assert_eq!(getx(&e, 10), i64::MIN as u64);
    assert_eq!(getx(&e, 14), u64::MAX);
    assert_eq!(getx(&e, 15), i64::MIN as u64);
    assert_eq!(getx(&e, 16), 0);
    assert_eq!(getx(&e, 17), ((u128::from(i64::MIN as u64) * u128::from(u64::MAX)) >> 64) as u64);
    assert_eq!(getx(&e, 5), 0);
    assert_eq!(getx(&e, 6), u64::MAX);
}

#[rustfmt::skip]
#[test]
fn lr_sc_and_amos() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    m.write(DATA, 8, 0x8000_0000); // word at DATA = 0x80000000
    setx(&mut e, 10, DATA); setx(&mut e, 11, 7);
    exec(&mut e, &m, &[
        0x1005_262f, // lr.w a2,(a0)
        0x18b5_26af, // sc.w a3,a1,(a0)   succeeds: a3 = 0
        0x18b5_272f, // sc.w a4,a1,(a0)   no reservation: a4 = 1
        0x00b5_27af, // amoadd.w a5,a1,(a0)   old 7, new 14
        0x80b5_282f, // amomin.w a6,a1,(a0)   old 14, new 7
        0x08b5_38af, // amoswap.d a7,a1,(a0)
    ]);
    assert_eq!(getx(&e, 12), 0xffff_ffff_8000_0000); // sign-extended
    assert_eq!(getx(&e, 13), 0);
    assert_eq!(getx(&e, 14), 1);
    assert_eq!(getx(&e, 15), 7);
    assert_eq!(getx(&e, 16), 14);
    assert_eq!(getx(&e, 17), 7);
    assert_eq!(m.read(DATA, 8), 7);
}

#[test]
fn sc_fails_after_intervening_store() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    setx(&mut e, 10, DATA);
    setx(&mut e, 11, 9);
    exec(
        &mut e,
        &m,
        &[
            0x1005_362f, // lr.d a2,(a0)
            0x00b5_3023, // sd a1,0(a0)
            0x18c5_36af, // sc.d a3,a2,(a0)  value changed: fails
        ],
    );
    assert_eq!(getx(&e, 13), 1);
    assert_eq!(m.read(DATA, 8), 9);
}

#[test]
fn misaligned_atomics_raise_with_the_address() {
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    for (w, code) in [
        (0x1005_262fu32, LOAD_ADDRESS_MISALIGNED), // lr.w a2,(a0)
        (0x00b5_27af, STORE_ADDRESS_MISALIGNED),   // amoadd.w a5,a1,(a0)
        (0x18b5_36af, STORE_ADDRESS_MISALIGNED),   // sc.d a3,a1,(a0)
    ] {
        let mut e = env();
        setx(&mut e, 10, DATA + 2);
        let (k, p) = run(&mut e, &m, PC, words(&[w]));
        assert_eq!((k, p), (ExitKind::Raise, code), "{w:#x}");
        assert_eq!(e.exc_arg, DATA + 2);
        assert_eq!(e.pc, PC);
    }
}

#[rustfmt::skip]
#[test]
fn zba_zbb_zbs() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    setx(&mut e, 11, 0xffff_ffff_0000_0010); setx(&mut e, 12, 0x100);
    exec(&mut e, &m, &[
        0x20c5_c533, // sh2add a0,a1,a2
        0x08c5_86bb, // add.uw a3,a1,a2
        0x6005_9713, // clz a4,a1
        0x6015_9793, // ctz a5,a1
        0x6025_9813, // cpop a6,a1
        0x6b85_d893, // rev8 a7,a1
        0x2875_d293, // orc.b t0,a1
        0x28c5_9313, // bseti t1,a1,12
        0x4845_d393, // bexti t2,a1,4
        0x6045_9e13, // sext.b t3,a1
        0x0ac5_ceb3, // min t4,a1,a2
    ]);
    let a = 0xffff_ffff_0000_0010u64;
    assert_eq!(getx(&e, 10), (a << 2).wrapping_add(0x100));
    assert_eq!(getx(&e, 13), 0x110);
    assert_eq!(getx(&e, 14), 0);
    assert_eq!(getx(&e, 15), 4);
    assert_eq!(getx(&e, 16), 33);
    assert_eq!(getx(&e, 17), a.swap_bytes());
    assert_eq!(getx(&e, 5), 0xffff_ffff_0000_00ff);
    assert_eq!(getx(&e, 6), a | (1 << 12));
    assert_eq!(getx(&e, 7), 1);
    assert_eq!(getx(&e, 28), 0x10);
    assert_eq!(getx(&e, 29), a);
}

#[rustfmt::skip]
#[test]
fn fp_arith_boxing_and_flags() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    let bx = |v: f32| 0xffff_ffff_0000_0000 | u64::from(v.to_bits());
    e.set_word(f(1), bx(1.5)); e.set_word(f(2), bx(2.0));
    e.set_word(f(3), 1.0f64.to_bits()); e.set_word(f(4), 3.0f64.to_bits());
    e.set_word(f(5), 0x3f80_0000); // improperly boxed single: reads as canonical NaN
    exec(&mut e, &m, &[
        0x0020_f553, // fadd.s fa0,ft1,ft2
        0x1a41_f5d3, // fdiv.d fa1,ft3,ft4  (1/3: inexact)
        0x2020_9653, // fsgnjn.s fa2,ft1,ft2
        0xa020_a6d3, // feq.s a3,ft1,ft2
        0x0010_7753, // fadd.s fa4,ft0,ft1 ... ft0 = 0 (improper box: NaN)
        0xe000_87d3, // fmv.x.w a5,ft1
        0x5802_f853, // fsqrt.s fa6,ft5 (NaN in: canonical NaN out)
    ]);
    assert_eq!(e.word(f(10)), bx(3.5));
    assert_eq!(e.word(f(11)), (1.0f64 / 3.0).to_bits());
    assert_eq!(e.word(f(12)), bx(-1.5));
    assert_eq!(getx(&e, 13), 0);
    assert_eq!(e.word(f(14)), 0xffff_ffff_7fc0_0000);
    assert_eq!(getx(&e, 15), 1.5f32.to_bits() as i32 as i64 as u64);
    assert_eq!(e.word(f(16)), 0xffff_ffff_7fc0_0000);
    assert_eq!(e.word(FFLAGS), 1); // NX only (quiet NaN inputs raise nothing)
}

#[rustfmt::skip]
#[test]
fn fp_convert_and_rounding_modes() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    e.set_word(f(1), 2.5f64.to_bits());
    e.set_word(FRM, 2); // RDN
    exec(&mut e, &m, &[
        0xc200_8553, // fcvt.w.d a0,ft1,rne  -> 2
        0xc200_f5d3, // fcvt.w.d a1,ft1      (dyn = rdn) -> 2
        0xc200_b653, // fcvt.w.d a2,ft1,rup  -> 3
        0xd226_72d3, // fcvt.d.l ft5,a2 -> 3.0
    ]);
    assert_eq!(getx(&e, 10), 2);
    assert_eq!(getx(&e, 11), 2);
    assert_eq!(getx(&e, 12), 3);
    assert_eq!(e.word(f(5)), 3.0f64.to_bits());
    assert_eq!(e.word(FFLAGS), 1);
}

#[test]
fn reserved_rounding_modes_are_illegal() {
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    // fadd.s fa0,ft1,ft2 with static rm = 5
    let w = 0x0020_d553;
    let mut e = env();
    let (k, p) = run(&mut e, &m, PC, words(&[w]));
    assert_eq!((k, p), (ExitKind::Raise, ILLEGAL_INSTRUCTION));
    assert_eq!(e.exc_arg, u64::from(w));
    // dynamic rm with frm = 7
    let mut e = env();
    e.set_word(FRM, 7);
    let (k, p) = run(&mut e, &m, PC, words(&[0x0020_f553]));
    assert_eq!((k, p), (ExitKind::Raise, ILLEGAL_INSTRUCTION));
    assert_eq!(e.pc, PC);
}

#[rustfmt::skip]
#[test]
fn fcsr_csrs() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    setx(&mut e, 11, 0xff);
    exec(&mut e, &m, &[
        0x0035_9573, // csrrw a0,fcsr,a1   -> frm = 7, fflags = 0x1f
        0x0020_25f3, // csrr a1,frm        -> 7
        0x0010_f673, // csrrci a2,fflags,1 -> old 0x1f; fflags = 0x1e
        0x0030_26f3, // csrr a3,fcsr       -> 0xfe
    ]);
    assert_eq!(getx(&e, 10), 0);
    assert_eq!(getx(&e, 11), 7);
    assert_eq!(getx(&e, 12), 0x1f);
    assert_eq!(getx(&e, 13), 0xfe);
}

#[test]
fn csr_rules_for_readonly_and_unknown() {
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    for (w, legal) in [
        (0xc010_2573u32, true), // rdtime a0   (csrrs a0,time,zero)
        (0xc005_9573, false),   // csrrw a0,cycle,a1 (write to read-only)
        (0xc020_a573, false),   // csrrs a0,instret,ra (rs1 != 0 writes)
        (0x3000_2573, false),   // csrr a0,mstatus (not a user CSR)
    ] {
        let mut e = env();
        let (k, p) = run(&mut e, &m, PC, words(&[w]));
        if legal {
            assert_eq!(k, ExitKind::Lookup, "{w:#x}");
        } else {
            assert_eq!((k, p), (ExitKind::Raise, ILLEGAL_INSTRUCTION), "{w:#x}");
            assert_eq!(e.exc_arg, u64::from(w));
        }
    }
}

#[test]
fn system_instructions_exit() {
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    let mut e = env();
    assert_eq!(
        run(&mut e, &m, PC, words(&[0x0000_0073])),
        (ExitKind::Exit, ExitReason::Syscall as u32)
    );
    assert_eq!(e.pc, PC);
    assert_eq!(
        run(&mut e, &m, PC, words(&[0x0000_100f])),
        (ExitKind::Exit, ExitReason::FlushCode as u32)
    );
    assert_eq!(e.pc, PC + 4);
}

#[rustfmt::skip]
#[test]
fn compressed_instructions_run() {
    let mut e = env();
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    setx(&mut e, 2, DATA + 32);
    let bytes = vec![
        0x41, 0x11, // c.addi sp,sp,-16
        0x29, 0x45, // c.li a0,10
        0x06, 0xe4, // c.sdsp ra,8(sp)  (ra = 0)
        0x2a, 0x85, // c.mv a0,a0
        0x02, 0x90, // c.ebreak
    ];
    let (k, p) = run(&mut e, &m, PC, bytes);
    assert_eq!((k, p), (ExitKind::Exit, ExitReason::Breakpoint as u32));
    assert_eq!(e.pc, PC + 8);
    assert_eq!(getx(&e, 2), DATA + 16);
    assert_eq!(getx(&e, 10), 10);
}

#[test]
fn illegal_and_fetch_faults() {
    let m = Mem::new(DATA, 64, crate::LOAD_ACCESS_FAULT);
    let mut e = env();
    // all-zero parcel: illegal with the 16-bit bits as argument
    assert_eq!(
        run(&mut e, &m, PC, vec![0, 0]),
        (ExitKind::Raise, ILLEGAL_INSTRUCTION)
    );
    assert_eq!(e.exc_arg, 0);
    // unknown 32-bit word
    assert_eq!(
        run(&mut e, &m, PC, words(&[0xffff_ffff])),
        (ExitKind::Raise, ILLEGAL_INSTRUCTION)
    );
    assert_eq!(e.exc_arg, 0xffff_ffff);
    // nothing mapped at the first instruction
    assert_eq!(
        run(&mut e, &m, PC, vec![]),
        (ExitKind::Raise, INSTRUCTION_ACCESS_FAULT)
    );
    // a later unfetchable instruction ends the unit before it
    let u = lift(PC, words(&[0x0000_0013]));
    assert_eq!(u.guest_insns, 1);
    assert!(matches!(u.insts.last().map(|i| i.op), Some(Opcode::GotoTb)));
}

#[test]
fn units_stop_at_page_boundaries_and_max_insns() {
    let code = Code {
        base: 0x1ff8,
        bytes: words(&[0x13; 8]),
    }; // nops across 0x2000
    let u = super::translate(0x1ff8, &code, 64);
    assert_eq!((u.guest_insns, u.guest_len), (2, 8));
    let u = super::translate(0x2000, &code, 3);
    assert_eq!(u.guest_insns, 3);
    // a 4-byte instruction straddling the page: ends the unit before it
    // c.nop at 0x1ffa, c.nop at 0x1ffc, then `addi x0,x0,0` at 0x1ffe..0x2002
    let b = vec![0x01, 0x00, 0x01, 0x00, 0x13, 0x00, 0x00, 0x00];
    let code = Code {
        base: 0x1ffa,
        bytes: b,
    };
    let u = super::translate(0x1ffa, &code, 64);
    assert_eq!(u.guest_insns, 2);
}

fn lcg(s: &mut u64) -> u64 {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *s >> 16
}

#[test]
fn random_words_never_panic_and_verify() {
    let mut s = 0x1234_5678u64;
    for _ in 0..20000 {
        let bytes: Vec<u8> = (0..16).map(|_| lcg(&mut s) as u8).collect();
        let code = Code { base: PC, bytes };
        let u = super::translate(PC, &code, 8);
        if let Err(err) = xlat_ir::verify(&u) {
            panic!("{err}\n{u}");
        }
        let _ = crate::disas::disas(PC, &code);
    }
}

#[test]
fn every_16bit_parcel_lifts() {
    for c in 0..=u16::MAX {
        if c & 3 == 3 {
            continue;
        }
        let code = Code {
            base: PC,
            bytes: c.to_le_bytes().to_vec(),
        };
        let u = super::translate(PC, &code, 1);
        assert!(xlat_ir::verify(&u).is_ok(), "{c:#06x}");
        let reserved = crate::rvc::expand(c).is_none();
        let raises = u
            .insts
            .iter()
            .any(|i| i.op == Opcode::Raise && i.aux == ILLEGAL_INSTRUCTION);
        if reserved {
            assert!(raises, "{c:#06x} is reserved but does not raise");
        }
    }
}

#[test]
fn li_and_mv_emit_no_arithmetic() {
    #[rustfmt::skip]
    let u = lift(PC, words(&[
        0x0050_0513, // addi a0,zero,5 (li)
        0x00b0_0633, // add a2,zero,a1 (c.mv's expansion)
    ]));
    assert!(!u.insts.iter().any(|i| i.op == Opcode::Add), "{u}");
    let mut e = env();
    let m = Mem::new(DATA, 8, crate::LOAD_ACCESS_FAULT);
    setx(&mut e, 11, 77);
    let prep = xlat_ir::interp::Prepared::new(&u);
    xlat_ir::interp::run(&u, &prep, &mut e, &m, &mut Vec::new());
    assert_eq!((getx(&e, 10), getx(&e, 12)), (5, 77));
}

/// Code that answers every fetch (at any address) with the same halfword.
struct Everywhere(u16);
impl xlat_ir::CodeFetch for Everywhere {
    fn fetch_u16(&self, _: u64) -> Option<u16> {
        Some(self.0)
    }
}

#[test]
fn address_space_wraparound_does_not_panic() {
    for pc in [u64::MAX - 1, u64::MAX - 3, u64::MAX - 0xfff] {
        for h in [0x0001u16, 0x0013, 0x0ee3, 0x006f] {
            // c.nop; the low half of `addi`/`beq`/`jal` (the high half repeats h)
            let u = super::translate(pc, &Everywhere(h), 16);
            assert!(xlat_ir::verify(&u).is_ok(), "{pc:#x} {h:#x}");
            let _ = crate::disas::disas(pc, &Everywhere(h));
        }
    }
}
