//! System-mode guest memory in compiled code. A hart's memory has no flat host mapping (it is
//! translated per access by the architecture's MMU and dispatched to RAM, ROM or devices).
//! Loads and stores first look up the inline TLB (`CpuState::tlb`, entries laid out in
//! [`xlat_ir::abi::TlbEntry`]): index by virtual page, compare the tag with the address masked
//! to its page and alignment bits, and on a hit access `addr + addend` directly (~10 host
//! instructions). A miss, a misaligned access, MMIO and every atomic call the out-of-line
//! accessors of `crate::slow`, which go through the same `GuestMemory` the interpreter uses
//! (and fill the TLB); a fault there sets `exc_pending` and the unit leaves with the guest
//! exception at the exact instruction, registers written back.

use crate::lower::Lower;
use crate::lower::clif_ty;
use crate::slow;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, types};
use xlat_ir::abi::{TLB_ENTRIES, TLB_ENTRY_SHIFT, TLB_PAGE_BITS, off, tlb_off};
use xlat_ir::{AtomicOp, Inst, MemOp, Opcode, Ty};
use xlat_softmmu::DirectMap;

/// Computes the translation-block flags of a vCPU state (system mode, see
/// [`crate::Engine::set_tb_flags`]).
#[derive(Clone)]
pub struct TbFlagsFn(pub std::sync::Arc<dyn Fn(&xlat_ir::abi::CpuState) -> u32 + Send + Sync>);

impl std::fmt::Debug for TbFlagsFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TbFlagsFn")
    }
}

/// Whether two guest addresses are in the same 4 KiB page.
pub(crate) fn same_page(a: u64, b: u64) -> bool {
    (a ^ b) >> TLB_PAGE_BITS == 0
}

/// The map `Engine` compiles with when the memory has none: mask 0 (no real map has it).
pub(crate) const NO_DIRECT_MAP: DirectMap = DirectMap {
    base: 0,
    mask: 0,
    high: xlat_softmmu::NO_HIGH,
    exact: false,
};

/// `XLAT_NO_INLINE_TLB=1` compiles every access out of line (to measure the fast path).
static NO_INLINE_TLB: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("XLAT_NO_INLINE_TLB").is_some());

fn ty_bit(t: Ty) -> u64 {
    u64::from(t == Ty::I64) << 24
}

impl Lower<'_, '_> {
    /// Whether this function is compiled for memory without a direct map.
    pub(crate) fn softmmu(&self) -> bool {
        self.p.direct == NO_DIRECT_MAP
    }

    /// After an out-of-line access: leave through the shared fault exit if it raised. One
    /// exit per function writes the registers back (Cranelift passes their values along), so
    /// each access costs a test and a branch instead of a write-back of every register.
    fn check_pending_shared(&mut self) {
        let pend = self
            .b
            .ins()
            .load(types::I32, self.st, self.env, off::EXC_PENDING);
        let exit = *self.fault_exit.get_or_insert_with(|| {
            let blk = self.b.create_block();
            self.b.set_cold_block(blk);
            blk
        });
        let cont = self.b.create_block();
        self.b.ins().brif(pend, exit, &[], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// Fills the shared fault exit, if any access used it: what `check_pending` does on its
    /// raise path.
    pub(crate) fn finish_fault_exit(&mut self) {
        let Some(blk) = self.fault_exit else { return };
        self.b.switch_to_block(blk);
        self.check_pending();
        // check_pending left us in its continue block, which the raise branch never takes.
        self.b
            .ins()
            .trap(cranelift_codegen::ir::TrapCode::unwrap_user(2));
    }

    /// Emits the inline TLB lookup for an access of `m` at `addr` (a store when `write`):
    /// branches to a new block on a hit (returned, empty, with the TLB entry's address: see
    /// [`Self::tlb_host`]) and leaves the builder in the miss block.
    fn gen_tlb_lookup(
        &mut self,
        addr: Value,
        m: MemOp,
        write: bool,
    ) -> (cranelift_codegen::ir::Block, Value) {
        let fl = MemFlagsData::trusted();
        let tlb = self.b.ins().load(types::I64, fl, self.env, off::TLB);
        // The entry's byte offset, ((addr >> page bits) & (entries - 1)) << entry shift, in
        // two operations.
        let sh = self
            .b
            .ins()
            .ushr_imm_u(addr, i64::from(TLB_PAGE_BITS - TLB_ENTRY_SHIFT));
        let eoff = self
            .b
            .ins()
            .band_imm_s(sh, ((TLB_ENTRIES - 1) << TLB_ENTRY_SHIFT) as i64);
        let e = self.b.ins().iadd(tlb, eoff);
        let tag_off = if write { tlb_off::WRITE } else { tlb_off::READ };
        let tag = self.b.ins().load(types::I64, fl, e, tag_off);
        let keep = !((1i64 << TLB_PAGE_BITS) - 1) | (i64::from(m.bytes()) - 1);
        let masked = self.b.ins().band_imm_s(addr, keep);
        let hit = self.b.ins().icmp(IntCC::Equal, masked, tag);
        let hit_blk = self.b.create_block();
        let miss_blk = self.b.create_block();
        self.b.set_cold_block(miss_blk);
        self.b.ins().brif(hit, hit_blk, &[], miss_blk, &[]);
        // Only switch to the hit block once the miss block is filled: cranelift-frontend
        // (debug assertion) wants a block filled before the builder leaves it.
        self.b.switch_to_block(miss_blk);
        (hit_blk, e)
    }

    /// In the hit block: the host address of `addr` from its TLB entry `e`.
    fn tlb_host(&mut self, addr: Value, e: Value) -> Value {
        let fl = MemFlagsData::trusted();
        let add = self.b.ins().load(types::I64, fl, e, tlb_off::ADDEND);
        self.b.ins().iadd(addr, add)
    }

    /// A load or store with the inline TLB fast path; false if it must go out of line only.
    fn gen_tlb_access(&mut self, i: &Inst) -> bool {
        let m = MemOp::from_u32(i.aux & 0xffff);
        if m.big_endian || !matches!(i.op, Opcode::Load | Opcode::Store) {
            return false;
        }
        let write = i.op == Opcode::Store;
        let base = self.use_t(if write { i.src[1] } else { i.src[0] });
        let addr = if i.imm == 0 {
            base
        } else {
            self.b.ins().iadd_imm_s(base, i.imm as i64)
        };
        let join = self.b.create_block();
        let (hit_blk, e) = self.gen_tlb_lookup(addr, m, write);
        // Miss: out of line (the builder is in the miss block).
        let aux = self.konst(types::I64, u64::from(i.aux & 0xffff) | ty_bit(i.ty));
        let gm = self.gm;
        if write {
            let v = self.use_t(i.src[0]);
            let v64 = if i.ty == Ty::I32 {
                self.b.ins().uextend(types::I64, v)
            } else {
                v
            };
            self.call_slow(slow::slow_store as *const () as u64, &[addr, aux, v64]);
            self.check_pending_shared();
            self.b.ins().jump(join, &[]);
            self.b.switch_to_block(hit_blk);
            let host = self.tlb_host(addr, e);
            let mt = match m.size_log2 {
                0 => types::I8,
                1 => types::I16,
                2 => types::I32,
                _ => types::I64,
            };
            let v = if mt == clif_ty(i.ty) {
                v
            } else {
                self.b.ins().ireduce(mt, v)
            };
            self.b.ins().store(gm, v, host, 0);
        } else {
            let v = self.call_slow(slow::slow_load as *const () as u64, &[addr, aux]);
            self.check_pending_shared();
            let v = self.narrow_result(v, i.ty);
            self.def_t(i.dst, v);
            self.b.ins().jump(join, &[]);
            self.b.switch_to_block(hit_blk);
            let host = self.tlb_host(addr, e);
            let v = self.inline_load(host, m, clif_ty(i.ty), gm);
            self.def_t(i.dst, v);
        }
        self.b.ins().jump(join, &[]);
        self.b.switch_to_block(join);
        true
    }

    /// A load, store or atomic: inline TLB hit, else through the out-of-line accessors.
    pub(crate) fn gen_softmmu_access(&mut self, i: &Inst) {
        if !*NO_INLINE_TLB && self.gen_tlb_access(i) {
            return;
        }
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
        self.check_pending_shared();
        if let Some(v) = r {
            let v = self.narrow_result(v, i.ty);
            self.def_t(i.dst, v);
        }
    }
}
