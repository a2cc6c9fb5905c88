//! System-mode guest memory in compiled code. A hart's memory has no flat host mapping (it is
//! translated per access by the architecture's MMU and dispatched to RAM, ROM or devices), so
//! every load, store and atomic calls the out-of-line accessors of `crate::slow`, which go
//! through the same `GuestMemory` the interpreter uses; a fault there sets `exc_pending` and
//! the unit leaves with the guest exception at the exact instruction, registers written back.

use crate::lower::Lower;
use crate::slow;
use cranelift_codegen::ir::{InstBuilder, types};
use xlat_ir::{AtomicOp, Inst, Opcode, Ty};
use xlat_softmmu::DirectMap;

/// The map `Engine` compiles with when the memory has none: mask 0 (no real map has it).
pub(crate) const NO_DIRECT_MAP: DirectMap = DirectMap { base: 0, mask: 0 };

fn ty_bit(t: Ty) -> u64 {
    u64::from(t == Ty::I64) << 24
}

impl Lower<'_, '_> {
    /// Whether this function is compiled for memory without a direct map.
    pub(crate) fn softmmu(&self) -> bool {
        self.p.direct == NO_DIRECT_MAP
    }

    /// A load, store or atomic through the out-of-line accessors.
    pub(crate) fn gen_softmmu_access(&mut self, i: &Inst) {
        let addr_of = |l: &mut Self, base| {
            let b = l.use_t(base);
            if i.imm == 0 {
                b
            } else {
                l.b.ins().iadd_imm_s(b, i.imm as i64)
            }
        };
        let widen = |l: &mut Self, v| {
            if i.ty == Ty::I32 {
                l.b.ins().uextend(types::I64, v)
            } else {
                v
            }
        };
        let r = match i.op {
            Opcode::Load => {
                let addr = addr_of(self, i.src[0]);
                let k = self.konst(types::I64, u64::from(i.aux & 0xffff) | ty_bit(i.ty));
                Some(self.call_slow(slow::slow_load as *const () as u64, &[addr, k]))
            }
            Opcode::Store => {
                let addr = addr_of(self, i.src[1]);
                let v = self.use_t(i.src[0]);
                let v = widen(self, v);
                let k = self.konst(types::I64, u64::from(i.aux & 0xffff) | ty_bit(i.ty));
                self.call_slow(slow::slow_store as *const () as u64, &[addr, k, v]);
                None
            }
            Opcode::AtomicRmw => {
                let addr = self.use_t(i.src[0]);
                let x = self.use_t(i.src[1]);
                let x = widen(self, x);
                let op = AtomicOp::from_u32(i.aux >> 16).unwrap_or(AtomicOp::Xchg);
                let aux = u64::from(i.aux & 0xffff) | (u64::from(op as u8) << 16) | ty_bit(i.ty);
                let k = self.konst(types::I64, aux);
                Some(self.call_slow(slow::slow_rmw as *const () as u64, &[addr, k, x]))
            }
            _ => {
                let addr = self.use_t(i.src[0]);
                let (x, n) = (self.use_t(i.src[1]), self.use_t(i.src[2]));
                let (x, n) = (widen(self, x), widen(self, n));
                let k = self.konst(types::I64, u64::from(i.aux & 0xffff) | ty_bit(i.ty));
                Some(self.call_slow(slow::slow_cas as *const () as u64, &[addr, k, x, n]))
            }
        };
        self.check_pending();
        if let Some(v) = r {
            let v = self.narrow_result(v, i.ty);
            self.def_t(i.dst, v);
        }
    }
}
