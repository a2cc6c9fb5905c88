use super::*;

fn state() -> Box<CpuState> {
    CpuState::new_boxed()
}

#[test]
fn fcsr_packs_frm_and_fflags() {
    let mut st = state();
    RiscvReg::Fcsr.write(&mut st, 0b101_10011).unwrap();
    assert_eq!(RiscvReg::Frm.read(&st).unwrap(), 0b101);
    assert_eq!(RiscvReg::Fflags.read(&st).unwrap(), 0b10011);
    assert_eq!(RiscvReg::Fcsr.read(&st).unwrap(), 0xb3);
}

#[test]
fn x0_is_zero_and_bad_registers_fail() {
    let mut st = state();
    RiscvReg::X(0).write(&mut st, 7).unwrap();
    assert_eq!(RiscvReg::X(0).read(&st).unwrap(), 0);
    assert!(RiscvReg::X(32).read(&st).is_err());
    assert!(RiscvReg::F(40).write(&mut st, 1).is_err());
}

#[test]
fn context_round_trip() {
    let mut st = state();
    RiscvReg::X(10).write(&mut st, 42).unwrap();
    RiscvReg::Pc.write(&mut st, 0x1000).unwrap();
    let ctx = Context::save(&st);
    RiscvReg::X(10).write(&mut st, 1).unwrap();
    RiscvReg::Pc.write(&mut st, 0x2000).unwrap();
    ctx.restore(&mut st);
    assert_eq!(RiscvReg::X(10).read(&st).unwrap(), 42);
    assert_eq!(RiscvReg::Pc.read(&st).unwrap(), 0x1000);
}
