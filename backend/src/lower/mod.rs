//! IR → CLIF: turns one [`Unit`], or a region of several, into a Cranelift function with the
//! `tail` calling convention, signature `(env: i64) -> i64`, whose return value is an
//! [`abi::encode_exit`] word.
//!
//! A region is a list of units whose first one (the head) is where the function starts; a
//! `goto_tb` to the pc of any member is a jump inside the function (after an `exit_request`
//! check, as a unit entry would do), so guest registers stay in host registers around loops.
//! Every other `goto_tb` is a chained exit through the link slot of its (member, slot index):
//! slot `k` of member `m` is the `AtomicU64` at `slots + 8 * (2 * m + k)`.
//!
//! The semantics are exactly [`xlat_ir::interp`]'s; the differential test in `tests/fuzz.rs`
//! holds the two against each other on random units.
//!
//! Guest registers (`get_reg`/`set_reg` offsets) live in Cranelift variables: loaded once at
//! entry, written back at every exit and before helpers that look at the state, reloaded after
//! helpers that write it. A word accessed with two widths stays in memory (plain loads/stores).

mod arith;
mod cas128;
mod exits;
mod float;
mod mem;
mod prescan;
mod state;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, AbiParam, AliasRegionData, Block, InstBuilder, MemFlagsData, Signature, Value, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, Variable};
use xlat_ir::abi::{self, ExitKind, off};
use xlat_ir::{Cond, Format, Inst, Opcode, Temp, Ty, Unit};
use xlat_softmmu::DirectMap;

pub(crate) use cas128::host_has_cmpxchg16b;
pub(crate) use float::host_has_fma;
pub(crate) use state::RegCache;

/// What lowering needs from outside the unit.
#[derive(Debug, Clone, Copy)]
pub struct LowerParams {
    /// Inline guest memory map.
    pub direct: DirectMap,
    /// Address of the `SlowCtx` the out-of-line memory helpers receive.
    pub slow_ctx: u64,
    /// Address of the first link slot: two per region member, `AtomicU64`s in a row.
    pub slots: u64,
    /// Add each member's guest instruction count to `env.icount` when it starts (`-d stats`).
    pub count_insns: bool,
    /// Store the guest pc and the changed registers before every guest memory access, so a
    /// host fault there leaves the exact guest state (`crate::fault`).
    pub precise: bool,
}

/// The signature of every unit: `tail fn(env) -> exit word`.
pub fn unit_signature() -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// A SystemV signature `(i64 × nargs) -> i64` for helpers.
pub fn helper_signature(nargs: usize) -> Signature {
    let mut sig = Signature::new(CallConv::SystemV);
    for _ in 0..nargs {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// Whether the host has BMI1 (`andn`), which the ISA is told about when present.
fn has_bmi1() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("bmi1")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

pub(crate) fn clif_ty(t: Ty) -> ir::Type {
    match t {
        Ty::I32 => types::I32,
        Ty::I64 => types::I64,
    }
}

pub(crate) fn intcc(c: Cond) -> IntCC {
    match c {
        Cond::Eq => IntCC::Equal,
        Cond::Ne => IntCC::NotEqual,
        Cond::Lt => IntCC::SignedLessThan,
        Cond::Ge => IntCC::SignedGreaterThanOrEqual,
        Cond::Ltu => IntCC::UnsignedLessThan,
        Cond::Geu => IntCC::UnsignedGreaterThanOrEqual,
        Cond::Le => IntCC::SignedLessThanOrEqual,
        Cond::Gt => IntCC::SignedGreaterThan,
        Cond::Leu => IntCC::UnsignedLessThanOrEqual,
        Cond::Gtu => IntCC::UnsignedGreaterThan,
    }
}

/// Lowering state for one function (a unit or a region).
pub(crate) struct Lower<'a, 'b> {
    pub b: FunctionBuilder<'b>,
    /// The member being lowered.
    pub unit: &'a Unit,
    /// Index of `unit` in `units`.
    member: usize,
    /// Every member; `units[0]` is the head.
    units: &'a [&'a Unit],
    pub p: LowerParams,
    pub env: Value,
    temps: Vec<Variable>,
    labels: Vec<Block>,
    pub regs: RegCache,
    /// Flags for CpuState accesses (their own alias region, never trapping).
    pub st: MemFlagsData,
    /// Flags for guest memory accesses (another alias region).
    pub gm: MemFlagsData,
    /// Guest pc of the instruction executing (for raises): a variable, because a branch can
    /// skip an `insn_start` and the interpreter tracks it dynamically.
    cur_pc: Variable,
    /// The pc of the last `insn_start` lowered (program order).
    pc_now: u64,
    /// The member's jumps never skip an `insn_start` (`prescan::pc_is_static`) and every use
    /// of the pc is emitted where it is used: `pc_now` is the running instruction's pc and
    /// `cur_pc` is not used.
    pc_static: bool,
    tail_sig: ir::SigRef,
    /// The guest pc each link slot (2 per member) leads to: a slot is chained to one target.
    slot_pc: Vec<Option<u64>>,
    /// Where each member's body starts (the targets of jumps inside the region).
    tops: Vec<Block>,
    /// The direct map's base, made once at entry (so loops keep it in a register), unless 0.
    base: Option<Value>,
    /// `!mask` of the direct map, made once at entry when the host has `andn` (BMI1) or the
    /// map is guarded (`Lower::guard_bits`: the bits an inline access must have clear).
    notmask: Option<Value>,
    /// Recent (block, guest address, host address) translations, to reuse within a block.
    host_cache: Vec<(Block, Value, Value)>,
    /// System mode: the function's one block that leaves with a pending exception after an
    /// out-of-line access (`crate::softmmu`), created on first use, filled at the end.
    pub(crate) fault_exit: Option<Block>,
    /// The shared chained exit (`exits::finish_chain_exit`), created on first use.
    chain_exit: Option<Block>,
}

/// Builds the body of `b`'s function from a region: `units[0]` is the head (the entry point);
/// every member must have a distinct pc.
pub fn lower_region(
    b: FunctionBuilder<'_>,
    units: &[&Unit],
    p: LowerParams,
    fcfg: TargetFrontendConfig,
) {
    let mut b = b;
    let vm = b.func.dfg.alias_regions.insert(AliasRegionData {
        user_id: 1,
        description: "cpu state".into(),
    });
    let heap = b.func.dfg.alias_regions.insert(AliasRegionData {
        user_id: 2,
        description: "guest memory".into(),
    });
    let st = MemFlagsData::trusted().with_alias_region(Some(vm));
    let gm = MemFlagsData::new().with_alias_region(Some(heap));
    let tail_sig = b.import_signature(unit_signature());

    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let env = b.block_params(entry)[0];
    let regs = RegCache::plan(&mut b, units);
    let cur_pc = b.declare_var(types::I64);
    let tops = units.iter().map(|_| b.create_block()).collect();
    let mut l = Lower {
        b,
        unit: units[0],
        member: 0,
        units,
        p,
        env,
        temps: Vec::new(),
        labels: Vec::new(),
        regs,
        st,
        gm,
        cur_pc,
        pc_now: units[0].pc,
        pc_static: false,
        tail_sig,
        slot_pc: vec![None; 2 * units.len()],
        tops,
        base: None,
        notmask: None,
        host_cache: Vec::new(),
        fault_exit: None,
        chain_exit: None,
    };
    l.gen_entry();
    // Label blocks and whether their label is cold, for `mark_cold`.
    let mut label_cold = std::collections::HashMap::new();
    for (m, &unit) in units.iter().enumerate() {
        l.unit = unit;
        l.member = m;
        l.temps = unit
            .temps
            .iter()
            .map(|&t| l.b.declare_var(clif_ty(t)))
            .collect();
        l.labels = (0..unit.labels).map(|_| l.b.create_block()).collect();
        for (k, &blk) in l.labels.iter().enumerate() {
            label_cold.insert(blk, unit.cold_labels.contains(&(k as u32)));
        }
        l.b.switch_to_block(l.tops[m]);
        // System mode's shared fault exit (crate::softmmu) is reached from every access of the
        // function: it needs the variable.
        l.pc_static = !l.softmmu() && prescan::pc_is_static(unit);
        l.set_pc(unit.pc);
        if p.count_insns {
            let n = l.b.ins().load(types::I64, l.st, l.env, off::ICOUNT);
            let n = l.b.ins().iadd_imm_s(n, i64::from(unit.guest_insns));
            l.b.ins().store(l.st, n, l.env, off::ICOUNT);
        }
        // Temps start at 0 in every unit run, as in the interpreter (a loop through the region
        // must not see the last iteration's values); only those that may be read before they
        // are written need it spelled out.
        let uninit = prescan::temps_read_uninit(unit);
        for (k, &t) in unit.temps.iter().enumerate() {
            if uninit[k] {
                let z = l.konst(clif_ty(t), 0);
                l.b.def_var(l.temps[k], z);
            }
        }
        l.gen_body();
    }
    l.finish_fault_exit();
    l.finish_chain_exit();
    mark_cold(&mut l.b, &label_cold, &l.tops);
    l.b.seal_all_blocks();
    l.b.finalize(fcfg);
}

/// Lays out of line every block from a cold label's block (in layout order) up to the next
/// label block or member start: the code a unit marked cold, with the blocks its lowering made.
fn mark_cold(
    b: &mut FunctionBuilder<'_>,
    label_cold: &std::collections::HashMap<Block, bool>,
    tops: &[Block],
) {
    if !label_cold.values().any(|&c| c) {
        return;
    }
    let blocks: Vec<Block> = b.func.layout.blocks().collect();
    let mut cold = false;
    for blk in blocks {
        if let Some(&c) = label_cold.get(&blk) {
            cold = c;
        } else if tops.contains(&blk) {
            cold = false;
        }
        if cold {
            b.set_cold_block(blk);
        }
    }
}

impl Lower<'_, '_> {
    /// Function entry: leave with `Request` if `exit_request` is set, else load the cached
    /// registers and go to the head's body.
    fn gen_entry(&mut self) {
        let req = self.exit_requested();
        let body = self.b.create_block();
        let leave = self.b.create_block();
        self.b.set_cold_block(leave);
        self.b.ins().brif(req, leave, &[], body, &[]);
        self.b.switch_to_block(leave);
        self.store_state_imm(off::PC, self.unit.pc);
        self.store_state_imm(off::LAST_SLOT, 0);
        self.ret_imm(abi::encode_exit(ExitKind::Request, 0));
        self.b.switch_to_block(body);
        if self.p.direct.base != 0 {
            self.base = Some(self.konst(types::I64, self.p.direct.base));
        }
        if self.p.direct.mask != u64::MAX
            && (has_bmi1() || self.guard_bits().is_some() || self.clamps())
        {
            self.notmask = Some(self.konst(types::I64, !self.p.direct.mask));
        }
        self.regs.load_all(&mut self.b, self.env, self.st);
        self.b.ins().jump(self.tops[0], &[]);
    }

    fn gen_body(&mut self) {
        let mut terminated = false;
        for inst in &self.unit.insts {
            if inst.op == Opcode::Label {
                let blk = self.labels[inst.imm as usize];
                if !terminated {
                    self.b.ins().jump(blk, &[]);
                }
                self.b.switch_to_block(blk);
                terminated = false;
                continue;
            }
            if terminated {
                // Unreachable code after a terminator: give it a block of its own.
                let blk = self.b.create_block();
                self.b.switch_to_block(blk);
            }
            terminated = self.gen_inst(inst);
        }
        if !terminated {
            // The verifier rejects such units; keep the function well-formed anyway.
            self.b.ins().trap(ir::TrapCode::unwrap_user(1));
        }
    }

    /// `env.exit_request != 0`, as a compare of the word in memory with 0 (`cmp $0, mem`, one
    /// fused uop with the branch).
    pub(super) fn exit_requested(&mut self) -> Value {
        let (fl, env) = (self.st_volatile(), self.env);
        let req = self.b.ins().load(types::I32, fl, env, off::EXIT_REQUEST);
        self.b.ins().icmp_imm_s(IntCC::NotEqual, req, 0)
    }

    /// A state access the optimiser must not move or merge (words other threads write).
    pub(super) fn st_volatile(&self) -> MemFlagsData {
        MemFlagsData::new().with_notrap()
    }

    pub fn use_t(&mut self, t: Temp) -> Value {
        self.b.use_var(self.temps[t.0 as usize])
    }

    /// The guest instruction starting here has pc `pc`.
    fn set_pc(&mut self, pc: u64) {
        self.pc_now = pc;
        if !self.pc_static {
            let v = self.konst(types::I64, pc);
            self.b.def_var(self.cur_pc, v);
        }
    }

    /// The pc of the guest instruction running, as a value.
    pub(super) fn pc_value(&mut self) -> Value {
        if self.pc_static {
            self.konst(types::I64, self.pc_now)
        } else {
            self.b.use_var(self.cur_pc)
        }
    }

    pub fn def_t(&mut self, t: Temp, v: Value) {
        self.b.def_var(self.temps[t.0 as usize], v);
    }

    /// An integer constant of type `ty` (masked to it, as the verifier wants).
    pub fn konst(&mut self, ty: ir::Type, v: u64) -> Value {
        let v = if ty == types::I64 {
            v
        } else {
            v & ((1u64 << ty.bits()) - 1)
        };
        self.b.ins().iconst(ty, v as i64)
    }

    pub fn store_state_imm(&mut self, offset: i32, v: u64) {
        let k = self.konst(types::I64, v);
        self.b.ins().store(self.st, k, self.env, offset);
    }

    pub(super) fn ret_imm(&mut self, v: u64) {
        let k = self.konst(types::I64, v);
        self.b.ins().return_(&[k]);
    }

    /// Writes back registers, sets pc (and clears last_slot) for an exit to the loop.
    pub(super) fn leave(&mut self, pc: u64) {
        self.regs.write_back(&mut self.b, self.env, self.st);
        self.store_state_imm(off::PC, pc);
        self.store_state_imm(off::LAST_SLOT, 0);
    }

    /// After a call that may set `exc_pending`: leave with `Raise(exc_pending - 1)` if it did.
    pub fn check_pending(&mut self) {
        let pend = self
            .b
            .ins()
            .load(types::I32, self.st, self.env, off::EXC_PENDING);
        let raise = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(raise);
        self.b.ins().brif(pend, raise, &[], cont, &[]);
        self.b.switch_to_block(raise);
        let zero = self.konst(types::I32, 0);
        self.b
            .ins()
            .store(self.st, zero, self.env, off::EXC_PENDING);
        self.regs.write_back(&mut self.b, self.env, self.st);
        let pc = self.pc_value();
        self.b.ins().store(self.st, pc, self.env, off::PC);
        self.store_state_imm(off::LAST_SLOT, 0);
        let code = self.b.ins().iadd_imm_s(pend, -1);
        let code = self.b.ins().uextend(types::I64, code);
        let code = self.b.ins().ishl_imm_s(code, 8);
        let v = self.b.ins().bor_imm_s(code, ExitKind::Raise as i64);
        self.b.ins().return_(&[v]);
        self.b.switch_to_block(cont);
    }

    /// Lowers one instruction; returns whether it ended the block.
    fn gen_inst(&mut self, i: &Inst) -> bool {
        let ty = clif_ty(i.ty);
        match i.op.format() {
            Format::Const => {
                let v = self.konst(ty, i.imm);
                self.def_t(i.dst, v);
            }
            _ if i.op.is_float() => {
                let v = self.gen_float(i);
                self.def_t(i.dst, v);
            }
            Format::Unary | Format::Binary | Format::Convert | Format::SetCond | Format::Select => {
                let v = self.gen_pure(i);
                self.def_t(i.dst, v);
            }
            Format::Ternary | Format::FConvert | Format::FSetCond | Format::FRound => {
                unreachable!("{:?} is a float opcode", i.op)
            }
            Format::GetReg => {
                let v = self
                    .regs
                    .get(&mut self.b, self.env, self.st, i.imm as u32, i.ty);
                self.def_t(i.dst, v);
            }
            Format::SetReg => {
                let v = self.use_t(i.src[0]);
                self.regs
                    .set(&mut self.b, self.env, self.st, i.imm as u32, v);
            }
            Format::Load => self.gen_load(i),
            Format::Store => self.gen_store(i),
            Format::AtomicRmw | Format::AtomicCas => self.gen_atomic(i),
            Format::AtomicCas128 => self.gen_cas128(i),
            Format::Fence => {
                self.b.ins().fence();
            }
            Format::Label => unreachable!("labels are handled by gen_body"),
            Format::Jump => {
                let blk = self.labels[i.imm as usize];
                self.b.ins().jump(blk, &[]);
                return true;
            }
            Format::Branch => {
                let (a, c) = (self.use_t(i.src[0]), self.use_t(i.src[1]));
                let cond = Cond::from_u32(i.aux).unwrap_or(Cond::Eq);
                let c = self.b.ins().icmp(intcc(cond), a, c);
                let next = self.b.create_block();
                self.b
                    .ins()
                    .brif(c, self.labels[i.imm as usize], &[], next, &[]);
                self.b.switch_to_block(next);
            }
            Format::InsnStart => {
                self.set_pc(i.imm);
                // Relative to the head (sign-extend it: members may lie below the head).
                self.b.set_srcloc(ir::SourceLoc::new(
                    (i.imm.wrapping_sub(self.units[0].pc)) as u32,
                ));
            }
            Format::Call => self.gen_call(i),
            Format::GotoTb => {
                if self.softmmu() && !crate::softmmu::same_page(self.unit.pc, i.imm) {
                    // System mode chains only within a page; elsewhere the jump cache (which
                    // the machine clears when mappings change) finds the target inline.
                    let t = self.konst(types::I64, i.imm);
                    self.gen_goto_ptr(t);
                } else {
                    self.gen_goto_tb(i.imm, (i.aux & 1) as usize);
                }
                return true;
            }
            Format::GotoPtr => {
                let t = self.use_t(i.src[0]);
                self.gen_goto_ptr(t);
                return true;
            }
            Format::Exit => {
                self.leave(i.imm);
                self.ret_imm(abi::encode_exit(ExitKind::Exit, i.aux));
                return true;
            }
            Format::Raise => {
                let arg = if i.src[0].is_some() {
                    self.use_t(i.src[0])
                } else {
                    self.konst(types::I64, 0)
                };
                self.b.ins().store(self.st, arg, self.env, off::EXC_ARG);
                self.leave(i.imm);
                self.ret_imm(abi::encode_exit(ExitKind::Raise, i.aux));
                return true;
            }
        }
        false
    }

    /// A helper call: write back before helpers that look at the state, reload after helpers
    /// that write it, check `exc_pending` after helpers that may raise.
    fn gen_call(&mut self, i: &Inst) {
        let h = self.unit.helpers[i.aux as usize];
        let f = h.flags;
        if f.reads_state || f.writes_state {
            self.regs
                .write_back_words(&mut self.b, self.env, self.st, h.state_words);
        }
        let mut args = vec![self.env];
        for k in 0..4 {
            let a = if k < usize::from(h.nargs) && i.src[k].is_some() {
                self.use_t(i.src[k])
            } else {
                self.konst(types::I64, 0)
            };
            args.push(a);
        }
        let r = self.call_host(h.func as *const () as u64, &args);
        if f.writes_state {
            self.regs
                .load_words(&mut self.b, self.env, self.st, h.state_words);
        }
        if f.may_raise {
            self.check_pending();
        }
        if i.dst.is_some() {
            self.def_t(i.dst, r);
        }
    }

    /// Calls the SystemV function at `addr` with i64 `args`; returns its i64 result.
    pub fn call_host(&mut self, addr: u64, args: &[Value]) -> Value {
        let sig = self.b.import_signature(helper_signature(args.len()));
        let callee = self.konst(types::I64, addr);
        let call = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(call)[0]
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_float;
