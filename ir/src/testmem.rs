//! For tests that run units in the interpreter without a softmmu (the lifters' unit tests,
//! differential harnesses): [`FlatMem`], guest memory as one little-endian byte buffer, and
//! [`verify_and_run`].

use crate::abi::CpuState;
use crate::interp::{self, GuestMem, InterpExit, MemFault};
use crate::{AtomicOp, CodeFetch, MemOp, Ty, Unit};
use std::cell::RefCell;

/// Verifies `unit` (panicking with the error and the unit's text when it is malformed) and
/// runs it in the interpreter.
pub fn verify_and_run(unit: &Unit, env: &mut CpuState, mem: &dyn GuestMem) -> InterpExit {
    if let Err(e) = crate::verify(unit) {
        panic!("{e}\n{unit}");
    }
    interp::run(
        unit,
        &interp::Prepared::new(unit),
        env,
        mem,
        &mut Vec::new(),
    )
}

/// `len` bytes of guest memory at `base`, little-endian. Accesses that do not lie wholly
/// inside fault with `fault` (the frontend's exception code); atomics are a plain read and
/// write (one vCPU); the 128-bit compare-and-swap is the trait's default, by 8-byte halves.
/// Code can be fetched from it too.
#[derive(Debug)]
pub struct FlatMem {
    /// The guest address of the first byte.
    pub base: u64,
    /// The contents.
    pub bytes: RefCell<Vec<u8>>,
    /// The exception code of an access outside the buffer.
    pub fault: u32,
}

impl FlatMem {
    /// `len` zero bytes at `base`; accesses outside fault with `fault`.
    pub fn new(base: u64, len: usize, fault: u32) -> FlatMem {
        FlatMem {
            base,
            bytes: RefCell::new(vec![0; len]),
            fault,
        }
    }

    /// The buffer index of the `n` bytes at `addr`, or the fault.
    fn range(&self, addr: u64, n: u32) -> Result<usize, MemFault> {
        let fault = MemFault {
            code: self.fault,
            addr,
        };
        let i = addr.checked_sub(self.base).ok_or(fault)?;
        let i = usize::try_from(i).map_err(|_| fault)?;
        match i.checked_add(n as usize) {
            Some(end) if end <= self.bytes.borrow().len() => Ok(i),
            _ => Err(fault),
        }
    }

    /// The `n` bytes at `addr`, zero-extended. Panics outside the buffer.
    pub fn read(&self, addr: u64, n: u32) -> u64 {
        let i = self.range(addr, n).expect("read inside the buffer");
        let b = self.bytes.borrow();
        (0..n as usize)
            .rev()
            .fold(0, |acc, k| (acc << 8) | u64::from(b[i + k]))
    }

    /// Writes the low `n` bytes of `v` at `addr`. Panics outside the buffer.
    pub fn write(&self, addr: u64, n: u32, v: u64) {
        let i = self.range(addr, n).expect("write inside the buffer");
        let mut b = self.bytes.borrow_mut();
        for k in 0..n as usize {
            b[i + k] = (v >> (8 * k)) as u8;
        }
    }
}

impl GuestMem for FlatMem {
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
        // both operands at the access width: sign-extended for the signed min/max
        let signed = matches!(op, AtomicOp::MinS | AtomicOp::MaxS);
        let ext = |v| interp::extend(v, MemOp { signed, ..m }, ty);
        self.store(addr, m, interp::atomic_apply(op, ty, ext(old), ext(val)))?;
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

impl CodeFetch for FlatMem {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        self.range(pc, 2).ok()?;
        Some(self.read(pc, 2) as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_widths_and_atomics() {
        let m = FlatMem::new(0x1000, 16, 7);
        m.store(0x1000, MemOp::le(8, false), 0x8877_6655_4433_2211)
            .unwrap();
        assert_eq!(m.load(0x1001, MemOp::le(2, true)), Ok(0x3322));
        assert_eq!(m.fetch_u16(0x100e), Some(0));
        assert_eq!(m.fetch_u16(0x100f), None);
        let out = MemFault {
            code: 7,
            addr: 0x100d,
        };
        assert_eq!(m.load(0x100d, MemOp::le(4, false)), Err(out));
        assert!(m.load(0xfff, MemOp::le(1, false)).is_err());
        assert!(m.store(u64::MAX, MemOp::le(8, false), 0).is_err());
        // signed min of bytes: 0x11 vs -1 keeps -1; unsigned max of halfwords ignores high bits
        assert_eq!(
            m.atomic_rmw(0x1000, MemOp::le(1, false), AtomicOp::MinS, 0xff),
            Ok(0x11)
        );
        assert_eq!(m.read(0x1000, 2), 0x22ff);
        assert_eq!(
            m.atomic_rmw(0x1002, MemOp::le(2, false), AtomicOp::MaxU, 0x1_0001),
            Ok(0x4433)
        );
        assert_eq!(m.read(0x1002, 2), 0x4433);
        assert_eq!(
            m.atomic_cas(0x1004, MemOp::le(4, false), 0x8877_6655, 5),
            Ok(0x8877_6655)
        );
        assert_eq!(m.read(0x1000, 8), 0x0000_0005_4433_22ff);
    }
}
