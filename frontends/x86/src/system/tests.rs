//! Delivery and return through a flat fake machine (identity addresses, no paging).

use super::*;
use std::collections::HashMap;

#[derive(Default)]
struct Flat {
    mem: HashMap<u64, u8>,
    out: Vec<(u16, u32)>,
}

impl SysBus for Flat {
    fn read(&mut self, _: &Sys, va: u64, size: u8, _: bool) -> Result<u64, Exc> {
        Ok((0..u64::from(size)).fold(0, |v, k| {
            v | u64::from(*self.mem.get(&(va + k)).unwrap_or(&0)) << (8 * k)
        }))
    }
    fn write(&mut self, _: &Sys, va: u64, size: u8, val: u64, _: bool) -> Result<(), Exc> {
        for k in 0..u64::from(size) {
            self.mem.insert(va + k, (val >> (8 * k)) as u8);
        }
        Ok(())
    }
    fn fetch(&mut self, _: &Sys, pc: u64) -> Vec<u8> {
        (0..15)
            .map(|k| *self.mem.get(&(pc + k)).unwrap_or(&0))
            .collect()
    }
    fn port_in(&mut self, _: u16, _: u8) -> u32 {
        0xab
    }
    fn port_out(&mut self, port: u16, _: u8, val: u32) {
        self.out.push((port, val));
    }
    fn tsc(&mut self) -> u64 {
        1
    }
    fn unimp(&mut self, _: &str) {}
}

const GDT: u64 = 0x1000;
const IDT: u64 = 0x2000;
const TSS: u64 = 0x3000;

fn machine() -> (Box<CpuState>, Sys, Flat) {
    let mut b = Flat::default();
    let gdt = [
        0,
        0x00af_9b00_0000_ffffu64,
        0x00cf_9300_0000_ffff,
        0x00cf_fb00_0000_ffff,
        0x00cf_f300_0000_ffff,
        0x00af_fb00_0000_ffff,
    ];
    for (k, d) in gdt.iter().enumerate() {
        b.write(&Sys::default(), GDT + 8 * k as u64, 8, *d, false)
            .unwrap();
    }
    // Gate 0x80 (DPL 3, interrupt gate) and 14 (DPL 0) to 0x5000.
    for (v, dpl) in [(0x80u64, 3u64), (14, 0)] {
        let lo = 0x5000 | (0x08 << 16) | ((0x8e | dpl << 5) << 40);
        b.write(&Sys::default(), IDT + v * 16, 8, lo, false)
            .unwrap();
    }
    b.write(&Sys::default(), TSS + 4, 8, 0x9000, false).unwrap();
    let mut env = CpuState::new_boxed();
    crate::set_rflags(&mut env, 0x2);
    let mut sys = Sys::default();
    reset(&mut sys, 0x8005_0033, 0, 0x620, 0xd01);
    sys.gdt = (GDT, 47);
    sys.idt = (IDT, 0xfff);
    sys.tr = (0x30, TSS, 0x67);
    sys.sel[seg::CS] = 0x2b;
    sys.sel[seg::SS] = 0x23;
    sys.cpl = 3;
    sys.iflag = true;
    (env, sys, b)
}

#[test]
fn int_from_user_switches_stack_and_iretq_returns() {
    let (mut env, mut sys, mut b) = machine();
    env.pc = 0x4000;
    env.set_word(state::RSP, 0x7ff8);
    for (k, byte) in [0xcdu8, 0x80].iter().enumerate() {
        b.mem.insert(0x4000 + k as u64, *byte);
    }
    let r = exec(&mut env, &mut sys, &mut b).unwrap();
    assert_eq!(
        r,
        Exec::Done(Effects {
            mode: true,
            ..Effects::default()
        })
    );
    assert_eq!((env.pc, sys.cpl, sys.iflag), (0x5000, 0, false));
    let sp = env.word(state::RSP);
    assert_eq!(sp, 0x9000 - 40);
    let rd = |b: &mut Flat, a| b.read(&Sys::default(), a, 8, false).unwrap();
    assert_eq!(rd(&mut b, sp), 0x4002);
    assert_eq!(rd(&mut b, sp + 8), 0x2b);
    assert_eq!(rd(&mut b, sp + 16) & IF, IF);
    assert_eq!(rd(&mut b, sp + 24), 0x7ff8);
    assert_eq!(rd(&mut b, sp + 32), 0x23);
    // iretq at the handler
    b.mem.insert(0x5000, 0x48);
    b.mem.insert(0x5001, 0xcf);
    exec(&mut env, &mut sys, &mut b).unwrap();
    assert_eq!((env.pc, sys.cpl, sys.iflag), (0x4002, 3, true));
    assert_eq!(env.word(state::RSP), 0x7ff8);
}

#[test]
fn privileged_instructions_fault_in_user_mode() {
    let (mut env, mut sys, mut b) = machine();
    env.pc = 0x4000;
    b.mem.insert(0x4000, 0xf4); // hlt
    assert_eq!(exec(&mut env, &mut sys, &mut b), Err(Exc::gp(0)));
    b.mem.insert(0x4000, 0xe6); // out 0x80, al
    b.mem.insert(0x4001, 0x80);
    assert_eq!(exec(&mut env, &mut sys, &mut b), Err(Exc::gp(0)));
    sys.cpl = 0;
    env.set_word(state::RAX, 0x41);
    exec(&mut env, &mut sys, &mut b).unwrap();
    assert_eq!(b.out, vec![(0x80, 0x41)]);
    assert_eq!(env.pc, 0x4002);
}

#[test]
fn gate_dpl_checked_for_int_n() {
    let (mut env, mut sys, mut b) = machine();
    env.pc = 0x4000;
    env.set_word(state::RSP, 0x7ff8);
    b.mem.insert(0x4000, 0xcd);
    b.mem.insert(0x4001, 14);
    assert_eq!(exec(&mut env, &mut sys, &mut b), Err(Exc::gp(14 * 8 + 2)));
}

#[test]
fn page_fault_pushes_error_code() {
    let (mut env, mut sys, mut b) = machine();
    env.pc = 0x4000;
    env.set_word(state::RSP, 0x7ff8);
    deliver(&mut env, &mut sys, &mut b, PF, Some(6), 0x4000, false).unwrap();
    let sp = env.word(state::RSP);
    assert_eq!(sp, 0x9000 - 48);
    assert_eq!(b.read(&Sys::default(), sp, 8, false).unwrap(), 6);
    assert_eq!(b.read(&Sys::default(), sp + 8, 8, false).unwrap(), 0x4000);
}

#[test]
fn syscall_and_sysret() {
    let (mut env, mut sys, _) = machine();
    sys.star = (0x18 << 48) | (0x08 << 32);
    sys.lstar = 0x6000;
    sys.sfmask = IF;
    env.pc = 0x4000;
    env.set_word(state::RCX, 0x4002);
    syscall(&mut env, &mut sys).unwrap();
    assert_eq!(
        (env.pc, sys.cpl, sys.iflag, sys.sel[seg::CS]),
        (0x6000, 0, false, 0x08)
    );
    assert_eq!(env.word(state::R11) & IF, IF);
    let mut b = Flat::default();
    b.mem.insert(0x6000, 0x48);
    b.mem.insert(0x6001, 0x0f);
    b.mem.insert(0x6002, 0x07);
    exec(&mut env, &mut sys, &mut b).unwrap();
    assert_eq!(
        (env.pc, sys.cpl, sys.iflag, sys.sel[seg::CS]),
        (0x4002, 3, true, 0x2b)
    );
}
