//! `atomic_cas128`, a compare-and-swap of 16 bytes on pairs of i64 temps. With the direct map
//! on a host with `cmpxchg16b`, a 16-byte aligned one is Cranelift's `atomic_cas.i128` (one
//! `lock cmpxchg16b`) on the host address; everything else (a misaligned address, softmmu,
//! a host without it) goes out of line to the memory's `GuestMem::atomic_cas128` through
//! [`slow::slow_cas128`], the accessor the interpreter uses, so both tiers fault alike.

use super::Lower;
use crate::slow;
use cranelift_codegen::ir::{InstBuilder, StackSlotData, StackSlotKind, types};
use xlat_ir::Inst;
use xlat_ir::ops::Cas128Hi;

/// Whether the host has `cmpxchg16b` (the JIT's ISA flags enable Cranelift's use of it then).
pub(crate) fn host_has_cmpxchg16b() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("cmpxchg16b")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl Lower<'_, '_> {
    pub(super) fn gen_cas128(&mut self, i: &Inst) {
        let hi = Cas128Hi::from_imm(i.imm);
        let addr = self.use_t(i.src[0]);
        let vals = [
            self.use_t(i.src[1]),
            self.use_t(i.src[2]),
            self.use_t(i.src[3]),
            self.use_t(hi.new_hi),
        ];
        let join = self.b.create_block();
        let slow_blk = self.b.create_block();
        self.b.set_cold_block(slow_blk);
        if !self.softmmu() && host_has_cmpxchg16b() {
            self.sync_for_access(); // precise guest faults: crate::fault
            let fast = self.b.create_block();
            // Misaligned or outside the direct map: out of line.
            let mis = self.out_of_line_cond(addr, 15);
            self.b.ins().brif(mis, slow_blk, &[], fast, &[]);
            self.b.switch_to_block(fast);
            let host = self.host_addr(addr);
            let exp = self.b.ins().iconcat(vals[0], vals[1]);
            let new = self.b.ins().iconcat(vals[2], vals[3]);
            let old = self.b.ins().atomic_cas(self.gm, host, exp, new);
            let (lo, h) = self.b.ins().isplit(old);
            self.def_t(i.dst, lo);
            self.def_t(hi.old_hi, h);
            self.b.ins().jump(join, &[]);
        } else {
            self.b.ins().jump(slow_blk, &[]);
        }
        // Out of line: the four words go in (and the old value comes back) through a stack slot.
        self.b.switch_to_block(slow_blk);
        let slot =
            self.b
                .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 32, 3));
        for (k, v) in vals.into_iter().enumerate() {
            self.b.ins().stack_store(types::I64, v, slot, 8 * k as i32);
        }
        let io = self.b.ins().stack_addr(types::I64, slot, 0);
        let aux = self.konst(types::I64, u64::from(i.aux & 0xffff));
        self.call_slow(slow::slow_cas128 as *const () as u64, &[addr, aux, io]);
        self.check_pending();
        let lo = self.b.ins().stack_load(types::I64, types::I64, slot, 0);
        let h = self.b.ins().stack_load(types::I64, types::I64, slot, 8);
        self.def_t(i.dst, lo);
        self.def_t(hi.old_hi, h);
        self.b.ins().jump(join, &[]);
        self.b.switch_to_block(join);
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{Harness, MISALIGNED};
    use xlat_ir::abi::{CpuState, ExitKind, decode_exit, reg_offset};
    use xlat_ir::{Builder, ExitReason, MemOp, Ty, Unit};

    /// r5:r6 = cas128([r0], expected r1:r2, new r3:r4).
    fn unit() -> Unit {
        let mut b = Builder::new(0);
        b.insn_start(0);
        let r: Vec<_> = (0..5).map(|k| b.get_reg(Ty::I64, reg_offset(k))).collect();
        let m = MemOp {
            aligned: true,
            ..MemOp::le(8, false)
        };
        let (lo, hi) = b.atomic_cas128(r[0], (r[1], r[2]), (r[3], r[4]), m);
        b.set_reg(reg_offset(5), lo);
        b.set_reg(reg_offset(6), hi);
        b.exit(ExitReason::Syscall, 4);
        let u = b.finish(4, 1);
        xlat_ir::verify(&u).unwrap_or_else(|e| panic!("{e}\n{u}"));
        u
    }

    /// Runs the unit compiled and interpreted over memory holding `i as u8` at byte `i`;
    /// asserts they agree (state, exit, memory); returns the compiled run's state and exit.
    fn run(h: &mut Harness, regs: [u64; 5]) -> (Box<CpuState>, u64, Vec<u8>) {
        let u = unit();
        let mk = || {
            let mut e = CpuState::new_boxed();
            for (k, v) in regs.iter().enumerate() {
                e.set_word(reg_offset(k), *v);
            }
            e
        };
        let (mut e1, mut e2) = (mk(), mk());
        h.mem.fill(|i| i as u8);
        let want = h.run_interp(&u, &mut e1);
        h.mem.fill(|i| i as u8);
        let got = h.run_jit(&u, &mut e2).unwrap();
        assert_eq!(got, want, "compiled and interpreted runs differ\n{u}");
        let mem = h.mem.snapshot();
        (e2, got.value, mem)
    }

    fn word(mem: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(mem[at..at + 8].try_into().unwrap())
    }

    fn cases(h: &mut Harness) {
        let at = 0x40usize;
        let filled = |a: usize| u64::from_le_bytes(std::array::from_fn(|k| (a + k) as u8));
        let held = [filled(at), filled(at + 8)];
        // Equal: swaps, returns the old value.
        let (e, v, mem) = run(h, [at as u64, held[0], held[1], 0x1111, 0x2222]);
        assert_eq!(decode_exit(v).0, ExitKind::Exit);
        assert_eq!([e.word(reg_offset(5)), e.word(reg_offset(6))], held);
        assert_eq!([word(&mem, at), word(&mem, at + 8)], [0x1111, 0x2222]);
        // Either half different: memory unchanged.
        for bad in [[held[0] ^ 1, held[1]], [held[0], held[1] ^ (1 << 63)]] {
            let (e, _, mem) = run(h, [at as u64, bad[0], bad[1], 0x1111, 0x2222]);
            assert_eq!([e.word(reg_offset(5)), e.word(reg_offset(6))], held);
            assert_eq!([word(&mem, at), word(&mem, at + 8)], held);
        }
        // Not 8-byte aligned: the memory's alignment fault, in both tiers.
        let (_, v, _) = run(h, [at as u64 + 4, 0, 0, 1, 2]);
        assert_eq!(decode_exit(v), (ExitKind::Raise, MISALIGNED));
        // 8- but not 16-byte aligned: out of line, as the interpreter does it.
        run(h, [at as u64 + 8, held[1], 0, 1, 2]);
    }

    #[test]
    fn cas128_compiled_matches_interpreter() {
        let mut h = Harness::new();
        cases(&mut h);
        h.precise = true;
        cases(&mut h);
        let mut h = Harness::new();
        h.softmmu = true;
        cases(&mut h);
    }
}
