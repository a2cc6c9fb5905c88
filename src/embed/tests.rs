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

#[test]
fn vector_registers_are_128_bits() {
    let mut st = state();
    let v = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
    Reg::from(Arm64Reg::V(3)).write128(&mut st, v).unwrap();
    assert_eq!(Reg::from(Arm64Reg::V(3)).read128(&st).unwrap(), v);
    assert_eq!(Arm64Reg::V(3).read(&st).unwrap(), v as u64);
    Reg::from(X86Reg::Xmm(15)).write128(&mut st, v).unwrap();
    assert_eq!(Reg::from(X86Reg::Xmm(15)).read128(&st).unwrap(), v);
}

#[test]
fn x86_rflags_round_trip() {
    let mut st = state();
    // CF PF AF ZF SF OF DF
    let f = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x800 | 0x400;
    X86Reg::Rflags.write(&mut st, f).unwrap();
    assert_eq!(X86Reg::Rflags.read(&st).unwrap(), f | 2);
}

#[test]
fn registers_of_another_arch_are_refused() {
    let e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    assert_eq!(e.reg_read(X86Reg::Rax), Err(Error::NoSuchRegister));
}

#[test]
fn map_rules() {
    let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    assert_eq!(e.mem_map(0x1001, 0x1000, Perm::ALL), Err(Error::Alignment));
    assert_eq!(
        e.mem_map(u64::MAX - 0xfff, 0x1000, Perm::ALL),
        Err(Error::OutOfRange)
    );
    e.mem_map(0x1000, 0x3000, Perm::READ | Perm::WRITE).unwrap();
    assert_eq!(e.mem_map(0x2000, 0x1000, Perm::ALL), Err(Error::MapExists));
    e.mem_protect(0x2000, 0x1000, Perm::READ).unwrap();
    let r = e.mem_regions();
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(
        (r[1].begin, r[1].end, r[1].perms),
        (0x2000, 0x2fff, Perm::READ)
    );
    e.mem_write(0x2ffe, &[1, 2, 3, 4]).unwrap(); // the API writes whatever the perms
    let mut b = [0; 4];
    e.mem_read(0x2ffe, &mut b).unwrap();
    assert_eq!(b, [1, 2, 3, 4]);
    e.mem_unmap(0x1000, 0x3000).unwrap();
    assert!(e.mem_regions().is_empty());
    assert_eq!(e.mem_read(0x1000, &mut b), Err(Error::Unmapped));
}
