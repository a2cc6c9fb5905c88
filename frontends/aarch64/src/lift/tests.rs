//! Lifter tests: small A64 programs (encodings checked against GNU as) run in the reference
//! interpreter; expected values from the architecture's definitions.

use crate::{Aarch64, state};
use std::cell::RefCell;
use xlat_ir::abi::{CpuState, ExitKind};
use xlat_ir::interp::{self, GuestMem, MemFault};
use xlat_ir::{AtomicOp, CodeFetch, ExitReason, Frontend, MemOp};

const CODE: u64 = 0x1000;
const DATA: u64 = 0x8000;

struct Mem(RefCell<Vec<u8>>);

impl Mem {
    fn range(&self, addr: u64, n: u32) -> Result<usize, MemFault> {
        let i = addr as usize;
        if addr < 0x10000 && i + n as usize <= self.0.borrow().len() {
            Ok(i)
        } else {
            Err(MemFault {
                code: crate::DATA_ABORT,
                addr,
            })
        }
    }
}

impl GuestMem for Mem {
    fn load(&self, addr: u64, m: MemOp) -> Result<u64, MemFault> {
        let i = self.range(addr, m.bytes())?;
        let mut v = 0u64;
        for k in 0..m.bytes() as usize {
            v |= u64::from(self.0.borrow()[i + k]) << (8 * k);
        }
        Ok(v)
    }
    fn store(&self, addr: u64, m: MemOp, val: u64) -> Result<(), MemFault> {
        let i = self.range(addr, m.bytes())?;
        for k in 0..m.bytes() as usize {
            self.0.borrow_mut()[i + k] = (val >> (8 * k)) as u8;
        }
        Ok(())
    }
    fn atomic_rmw(&self, addr: u64, m: MemOp, op: AtomicOp, val: u64) -> Result<u64, MemFault> {
        let old = self.load(addr, m)?;
        let ty = if m.bytes() == 8 {
            xlat_ir::Ty::I64
        } else {
            xlat_ir::Ty::I32
        };
        let ext = interp::extend(old, m, xlat_ir::Ty::I64);
        let new = interp::atomic_apply(op, ty, ext, val);
        let _ = ty;
        self.store(addr, m, new)?;
        Ok(ext)
    }
    fn atomic_cas(&self, addr: u64, m: MemOp, exp: u64, new: u64) -> Result<u64, MemFault> {
        let old = self.load(addr, m)?;
        if old == exp {
            self.store(addr, m, new)?;
        }
        Ok(old)
    }
}

impl CodeFetch for Mem {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let v = self.load(pc, MemOp::le(2, false)).ok()?;
        Some(v as u16)
    }
}

/// Runs `code` at [`CODE`] from a state set up by `init` until it reaches `svc` (returns
/// `Ok(state)`) or raises (returns the exception code).
fn run(code: &[u32], init: &[(u32, u64)]) -> Result<(Box<CpuState>, Mem), u32> {
    let mem = Mem(RefCell::new(vec![0u8; 0x10000]));
    for (i, w) in code.iter().enumerate() {
        mem.store(CODE + 4 * i as u64, MemOp::le(4, false), u64::from(*w))
            .unwrap();
    }
    let fe = Aarch64::new();
    let mut env = CpuState::new_boxed();
    fe.init_user_state(&mut env);
    for (off, v) in init {
        env.set_word(*off, *v);
    }
    env.pc = CODE;
    for _ in 0..1000 {
        let unit = fe.translate(env.pc, &mem, 32);
        xlat_ir::verify(&unit).unwrap();
        let exit = interp::run(
            &unit,
            &interp::Prepared::new(&unit),
            &mut env,
            &mem,
            &mut Vec::new(),
        );
        match xlat_ir::abi::decode_exit(exit.value) {
            (ExitKind::Exit, r) if r == ExitReason::Syscall as u32 => return Ok((env, mem)),
            (ExitKind::Raise, c) => return Err(c),
            _ => {}
        }
    }
    panic!("program did not reach svc");
}

const SVC: u32 = 0xd400_0001;

fn x(env: &CpuState, i: u8) -> u64 {
    env.word(state::x(i))
}

fn nzcv(env: &CpuState) -> u8 {
    [state::NF, state::ZF, state::CF, state::VF]
        .iter()
        .fold(0, |a, o| (a << 1) | env.word(*o) as u8)
}
