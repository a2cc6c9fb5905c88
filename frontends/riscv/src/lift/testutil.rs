//! Test scaffolding: code and data memory backed by Vecs, and a one-unit runner that verifies
//! the IR before interpreting it.

use std::cell::RefCell;
use xlat_ir::abi::{CpuState, ExitKind, decode_exit};
use xlat_ir::interp::{self, GuestMem, MemFault};
use xlat_ir::{AtomicOp, CodeFetch, MemOp, Ty, Unit};

/// Code at `base`.
pub struct Code {
    pub base: u64,
    pub bytes: Vec<u8>,
}

impl CodeFetch for Code {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let i = usize::try_from(pc.checked_sub(self.base)?).ok()?;
        Some(u16::from_le_bytes([
            *self.bytes.get(i)?,
            *self.bytes.get(i + 1)?,
        ]))
    }
}

/// Data memory at `base`; out-of-range accesses fault with code 5 (load access fault).
pub struct Mem {
    pub base: u64,
    pub bytes: RefCell<Vec<u8>>,
}

impl Mem {
    pub fn new(base: u64, len: usize) -> Mem {
        Mem {
            base,
            bytes: RefCell::new(vec![0; len]),
        }
    }
    fn range(&self, addr: u64, n: u32) -> Result<usize, MemFault> {
        let i = addr
            .checked_sub(self.base)
            .ok_or(MemFault { code: 5, addr })?;
        let i = usize::try_from(i).map_err(|_| MemFault { code: 5, addr })?;
        if i + n as usize > self.bytes.borrow().len() {
            return Err(MemFault { code: 5, addr });
        }
        Ok(i)
    }
    pub fn read(&self, addr: u64, n: u32) -> u64 {
        let i = self.range(addr, n).expect("in range");
        let b = self.bytes.borrow();
        (0..n as usize)
            .rev()
            .fold(0, |acc, k| (acc << 8) | u64::from(b[i + k]))
    }
    pub fn write(&self, addr: u64, n: u32, v: u64) {
        let i = self.range(addr, n).expect("in range");
        let mut b = self.bytes.borrow_mut();
        for k in 0..n as usize {
            b[i + k] = (v >> (8 * k)) as u8;
        }
    }
}

impl GuestMem for Mem {
    fn load(&self, addr: u64, m: MemOp) -> Result<u64, MemFault> {
        self.range(addr, m.bytes())?;
        Ok(self.read(addr, m.bytes()))
    }
    fn store(&self, addr: u64, m: MemOp, val: u64) -> Result<(), MemFault> {
        self.range(addr, m.bytes())?;
        self.write(addr, m.bytes(), val);
        Ok(())
    }
    fn atomic_rmw(&self, addr: u64, m: MemOp, op: AtomicOp, val: u64) -> Result<u64, MemFault> {
        let old = self.load(addr, m)?;
        let ty = if m.bytes() == 8 { Ty::I64 } else { Ty::I32 };
        let new = interp::atomic_apply(op, ty, old, val);
        self.store(addr, m, new)?;
        Ok(old)
    }
    fn atomic_cas(&self, addr: u64, m: MemOp, expected: u64, new: u64) -> Result<u64, MemFault> {
        let old = self.load(addr, m)?;
        if old == expected {
            self.store(addr, m, new)?;
        }
        Ok(old)
    }
}

/// Little-endian bytes of 32-bit words.
pub fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Translates the code at `pc` (all of it, at most 64 instructions), verifies it.
pub fn lift(pc: u64, bytes: Vec<u8>) -> Unit {
    let code = Code { base: pc, bytes };
    let u = super::translate(pc, &code, 64);
    if let Err(e) = xlat_ir::verify(&u) {
        panic!("{e}\n{u}");
    }
    u
}

/// Lifts and runs one unit; returns (exit kind, payload).
pub fn run(env: &mut CpuState, mem: &Mem, pc: u64, bytes: Vec<u8>) -> (ExitKind, u32) {
    let u = lift(pc, bytes);
    let prep = interp::Prepared::new(&u);
    let e = interp::run(&u, &prep, env, mem, &mut Vec::new());
    decode_exit(e.value)
}
