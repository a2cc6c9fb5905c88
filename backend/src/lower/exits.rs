//! Leaving a unit: direct exits (`goto_tb`: a jump inside the region, or a tail call through a
//! link slot) and indirect ones (`goto_ptr`: the inline jump cache, then the TB cache).

use super::Lower;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, types};
use xlat_ir::abi::{self, ExitKind, off};

impl Lower<'_, '_> {
    /// `goto_tb` to `pc` through slot `k` of the current member.
    pub(super) fn gen_goto_tb(&mut self, pc: u64, k: usize) {
        if let Some(m) = self.units.iter().position(|u| u.pc == pc) {
            self.gen_internal_jump(m);
            return;
        }
        let slot = 2 * self.member + k;
        if *self.slot_pc[slot].get_or_insert(pc) != pc {
            // The slot already leads elsewhere: this exit cannot be chained.
            self.leave(pc);
            self.ret_imm(abi::encode_exit(ExitKind::Lookup, 0));
            return;
        }
        let exit = *self.chain_exit.get_or_insert_with(|| {
            let blk = self.b.create_block();
            self.b.append_block_param(blk, types::I64);
            self.b.append_block_param(blk, types::I64);
            blk
        });
        let pc = self.konst(types::I64, pc);
        let slot_addr = self.konst(types::I64, self.p.slots + 8 * slot as u64);
        self.b.ins().jump(exit, &[pc.into(), slot_addr.into()]);
    }

    /// Fills the function's one chained-exit block, if a `goto_tb` used it: every chained exit
    /// jumps there with its pc and link slot, so the register write-back is emitted once per
    /// function instead of once per exit (it writes the same registers either way).
    pub(super) fn finish_chain_exit(&mut self) {
        let Some(blk) = self.chain_exit else { return };
        self.b.switch_to_block(blk);
        let (pc, slot_addr) = (self.b.block_params(blk)[0], self.b.block_params(blk)[1]);
        self.regs.write_back(&mut self.b, self.env, self.st);
        self.b.ins().store(self.st, pc, self.env, off::PC);
        self.b
            .ins()
            .store(self.st, slot_addr, self.env, off::LAST_SLOT);
        let target = self
            .b
            .ins()
            .load(types::I64, MemFlagsData::new().with_notrap(), slot_addr, 0);
        self.b
            .ins()
            .return_call_indirect(self.tail_sig, target, &[self.env]);
    }

    /// A `goto_tb` to member `m` of the region: a jump inside the function, so the guest
    /// registers stay in variables. A jump to an earlier member (or the same one) checks
    /// `exit_request` as a unit entry would: every loop inside the region has such an edge
    /// (member indices cannot grow forever around a cycle), so none runs unchecked.
    fn gen_internal_jump(&mut self, m: usize) {
        if m > self.member {
            self.b.ins().jump(self.tops[m], &[]);
            return;
        }
        let req = self.exit_requested();
        let leave = self.b.create_block();
        self.b.set_cold_block(leave);
        self.b.ins().brif(req, leave, &[], self.tops[m], &[]);
        self.b.switch_to_block(leave);
        self.leave(self.units[m].pc);
        self.ret_imm(abi::encode_exit(ExitKind::Request, 0));
    }

    /// Indirect exit: inline lookup in `env.jmp_cache`; a hit tail-calls the cached code, a miss
    /// probes the TB cache and tail-calls compiled code found there, else returns `Lookup` with
    /// `env.pc` set so the loop finds (translates, interprets or compiles) the target.
    pub(super) fn gen_goto_ptr(&mut self, t: Value) {
        self.regs.write_back(&mut self.b, self.env, self.st);
        // abi::jmp_cache_index, as a byte offset (entries are 16 bytes): a = t ^ t >> 6;
        // window (a >> 12) & (windows - 1) << 10, slot (a >> 1) & 63 << 4.
        const { assert!(std::mem::size_of::<abi::JmpCacheEntry>() == 16) };
        let pb = i64::from(abi::JMP_PAGE_BITS);
        let windows = (abi::JMP_CACHE_ENTRIES / abi::JMP_PAGE_ENTRIES) as i64;
        let sh = self.b.ins().ushr_imm_s(t, pb);
        let a = self.b.ins().bxor(t, sh);
        let w = self.b.ins().ushr_imm_s(a, 12 - pb - 4);
        let w = self.b.ins().band_imm_s(w, (windows - 1) << (pb + 4));
        let s = self.b.ins().ishl_imm_s(a, 3);
        let s = self
            .b
            .ins()
            .band_imm_s(s, (abi::JMP_PAGE_ENTRIES as i64 - 1) << 4);
        let byte = self.b.ins().bor(w, s);
        let ent = self.b.ins().iadd(self.env, byte);
        let fl = MemFlagsData::trusted();
        let epc = self.b.ins().load(types::I64, fl, ent, off::JMP_CACHE);
        let code = self.b.ins().load(types::I64, fl, ent, off::JMP_CACHE + 8);
        let same = self.b.ins().icmp(IntCC::Equal, epc, t);
        let nonzero = self.b.ins().icmp_imm_s(IntCC::NotEqual, code, 0);
        let hit = self.b.ins().band(same, nonzero);
        // env.pc is the running unit's pc on every path, as in the interpreter.
        self.b.ins().store(self.st, t, self.env, off::PC);
        // The code jumped to may be baseline code, whose hot check needs to know it was not
        // entered from the loop (and that `last_slot` is no slot to link).
        self.store_state_imm(off::LAST_SLOT, crate::baseline::VIA_JMP_CACHE);
        let go = self.b.create_block();
        let miss = self.b.create_block();
        self.b.ins().brif(hit, go, &[], miss, &[]);
        self.b.switch_to_block(go);
        self.b
            .ins()
            .return_call_indirect(self.tail_sig, code, &[self.env]);
        self.b.switch_to_block(miss);
        // A miss asks the TB cache (`slow::lookup_code`, which enters a hit in the jump
        // cache) before leaving to the exec loop: a compiled target runs on from here.
        self.b.set_cold_block(miss);
        let found = self.call_slow(crate::slow::lookup_code as *const () as u64, &[]);
        let go2 = self.b.create_block();
        let out = self.b.create_block();
        self.b.ins().brif(found, go2, &[], out, &[]);
        self.b.switch_to_block(go2);
        self.b.set_cold_block(go2);
        self.b
            .ins()
            .return_call_indirect(self.tail_sig, found, &[self.env]);
        self.b.switch_to_block(out);
        self.b.set_cold_block(out);
        self.store_state_imm(off::LAST_SLOT, 0);
        self.ret_imm(abi::encode_exit(ExitKind::Lookup, 0));
    }
}
