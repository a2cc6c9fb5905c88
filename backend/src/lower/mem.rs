//! Guest memory operations. The fast path is inline: host = base + (addr & mask) from the
//! [`xlat_softmmu::DirectMap`], in its own alias region. Accesses the fast path cannot do with
//! the interpreter's exact result go out of line through the `GuestMemory` trait (see
//! `crate::slow`): misaligned accesses that require alignment (the memory decides the fault),
//! misaligned atomics (x86 split locks are slow or fatal) and big-endian atomics.

use super::{Lower, clif_ty};
use crate::slow;
use cranelift_codegen::ir::{
    AtomicRmwOp, InstBuilder, InstructionData, MemFlagsData, Opcode as ClifOp, Type, Value,
    ValueDef, types,
};
use xlat_ir::{AtomicOp, Inst, MemOp, Opcode, Ty};

fn mem_ty(m: MemOp) -> Type {
    match m.size_log2 {
        0 => types::I8,
        1 => types::I16,
        2 => types::I32,
        _ => types::I64,
    }
}

fn rmw_op(op: AtomicOp) -> AtomicRmwOp {
    match op {
        AtomicOp::Xchg => AtomicRmwOp::Xchg,
        AtomicOp::Add => AtomicRmwOp::Add,
        AtomicOp::And => AtomicRmwOp::And,
        AtomicOp::Or => AtomicRmwOp::Or,
        AtomicOp::Xor => AtomicRmwOp::Xor,
        AtomicOp::MinS => AtomicRmwOp::Smin,
        AtomicOp::MaxS => AtomicRmwOp::Smax,
        AtomicOp::MinU => AtomicRmwOp::Umin,
        AtomicOp::MaxU => AtomicRmwOp::Umax,
    }
}

/// The address bits that must be clear for the inline path of an access that `requires`
/// alignment (none otherwise, or for bytes).
fn align_mask(m: MemOp, requires: bool) -> u64 {
    if requires {
        u64::from(m.bytes() - 1)
    } else {
        0
    }
}

/// The type bit the slow helpers receive above the memop (bit 24: the value is i64).
fn ty_bit(t: Ty) -> u64 {
    u64::from(t == Ty::I64) << 24
}

/// `XLAT_MASKED_MAP=1`: compiled code masks guest addresses into the direct map (an address
/// beyond it aliases one inside) instead of clamping them (see `Lower::clamps`).
static MASKED_MAP: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("XLAT_MASKED_MAP").is_some());

impl Lower<'_, '_> {
    /// `base + disp`, folding a constant `base` was made with (`x + k + disp`) and adding
    /// nothing for a zero displacement (`opt_level=none` folds neither).
    fn offset(&mut self, base: Value, disp: u64) -> Value {
        let (mut base, mut disp) = (base, disp);
        let dfg = &self.b.func.dfg;
        if let ValueDef::Result(inst, 0) = dfg.value_def(base)
            && let InstructionData::Binary {
                opcode: ClifOp::Iadd,
                args: [x, k],
            } = dfg.insts[inst]
            && let ValueDef::Result(kinst, 0) = dfg.value_def(k)
            && let InstructionData::UnaryImm {
                opcode: ClifOp::Iconst,
                imm,
            } = dfg.insts[kinst]
            && dfg.value_type(x) == types::I64
        {
            base = x;
            disp = disp.wrapping_add(imm.bits() as u64);
        }
        if disp == 0 {
            base
        } else {
            self.b.ins().iadd_imm_s(base, disp as i64)
        }
    }

    /// The number of address bits the direct map covers when it is a power-of-two window
    /// (user mode): an address with any bit above them set goes out of line, where the
    /// accessor faults at the guest's own address (or the high window takes it), instead of
    /// reaching an alias `addr mod 2^bits`. Only with [`xlat_softmmu::DirectMap::exact`]
    /// (embedding); Linux user mode keeps the cheaper masked access.
    pub(crate) fn guard_bits(&self) -> Option<u32> {
        self.p.direct.window_bits().filter(|_| self.p.direct.exact)
    }

    /// Whether inline accesses check that the address is inside the direct map with a
    /// `test` and a `jnz` to a cold block that only faults (a store to the guard after the
    /// map, then a trap that is never reached): Linux user mode, where the map is a
    /// power-of-two window with a guard after it and `guard_bits` compiles no check. An
    /// address beyond the map then faults instead of reaching its alias `addr mod 2^bits`,
    /// and the engine runs the faulting instruction again in the interpreter, which faults at
    /// the guest's own address (`Engine::decode`). Nothing rejoins the access after the cold
    /// block, so no value lives across it, and the address needs no masking: the check costs
    /// what the `andn` it replaces did. `XLAT_MASKED_MAP=1` masks as before (to measure).
    pub(crate) fn clamps(&self) -> bool {
        !self.p.direct.exact && self.p.direct.window_bits().is_some() && !*MASKED_MAP
    }

    /// A value that is non-zero when the access at `addr` cannot take the inline path: an
    /// address outside the direct map (with [`Self::guard_bits`]) or one with any bit of
    /// `align` set (a misaligned access that requires alignment).
    pub(crate) fn out_of_line_cond(&mut self, addr: Value, align: u64) -> Value {
        if self.guard_bits().is_none() {
            return self.b.ins().band_imm_s(addr, align as i64);
        }
        let m = match self.notmask {
            Some(m) if align == 0 => m,
            _ => self.konst(types::I64, !self.p.direct.mask | align),
        };
        // brif on the band is one `test addr, m`.
        self.b.ins().band(addr, m)
    }

    /// With [`Self::clamps`]: branches to a cold block that faults in the guard after the
    /// direct map when `addr` is beyond it (unless an earlier access in this straight-line
    /// code checked the same address), and goes on in a new block.
    fn fault_outside_map(&mut self, addr: Value) {
        let Some(blk) = self.b.current_block() else {
            return;
        };
        if self
            .host_cache
            .iter()
            .any(|&(b, a, _)| b == blk && a == addr)
        {
            return;
        }
        let Some(notmask) = self.notmask else {
            return;
        };
        let outside = self.b.ins().band(addr, notmask);
        let cold = self.b.create_block();
        let next = self.b.create_block();
        self.b.set_cold_block(cold);
        self.b.ins().brif(outside, cold, &[], next, &[]);
        self.b.switch_to_block(cold);
        let d = self.p.direct;
        let guard = self.konst(types::I64, d.base.wrapping_add(d.mask).wrapping_add(1));
        let zero = self.b.ins().iconst(types::I8, 0);
        self.b.ins().store(MemFlagsData::new(), zero, guard, 0);
        self.b
            .ins()
            .trap(cranelift_codegen::ir::TrapCode::unwrap_user(1));
        self.b.switch_to_block(next);
        // `next` runs only after `blk`: the host addresses found there hold here too.
        for e in &mut self.host_cache {
            if e.0 == blk {
                e.0 = next;
            }
        }
    }

    /// The host address of guest `addr`, which [`Self::out_of_line_cond`] passed; reused for
    /// the same `addr` later in the same block.
    pub(crate) fn host_addr(&mut self, addr: Value) -> Value {
        let blk = self.b.current_block();
        if let Some(&(_, _, h)) = self
            .host_cache
            .iter()
            .find(|&&(b, a, _)| Some(b) == blk && a == addr)
        {
            return h;
        }
        let h = self.host_addr_uncached(addr);
        if let Some(b) = blk {
            if self.host_cache.len() >= 8 {
                self.host_cache.remove(0);
            }
            self.host_cache.push((b, addr, h));
        }
        h
    }

    fn host_addr_uncached(&mut self, addr: Value) -> Value {
        let d = self.p.direct;
        // With the guard, the address is inside the map: no masking.
        let a = if d.mask == u64::MAX || self.guard_bits().is_some() || self.clamps() {
            addr
        } else if let Some(notmask) = self.notmask {
            // addr & !notmask: one non-destructive `andn` (BMI1) with `!mask` in a register.
            let m = self.b.ins().bnot(notmask);
            self.b.ins().band(addr, m)
        } else {
            let m = self.konst(types::I64, d.mask);
            self.b.ins().band(addr, m)
        };
        match self.base {
            Some(base) => self.b.ins().iadd(a, base),
            None => a,
        }
    }

    /// Emits the access at `addr`: inline at its host address (`fast`, given the host
    /// address) when it is inside the direct map and has no bit of `align` set; in
    /// a high window (`DirectMap::high`) inline there, out of line; else `slow`. Each
    /// path produces the value stored to `dst` (if any); code continues after them.
    fn access(
        &mut self,
        addr: Value,
        align: u64,
        always_slow: bool,
        fast: impl Fn(&mut Self, Value) -> Option<Value>,
        slow: impl FnOnce(&mut Self) -> Option<Value>,
        dst: xlat_ir::Temp,
    ) {
        let guard = self.guard_bits();
        if !always_slow && align == 0 && guard.is_none() {
            if self.clamps() {
                self.fault_outside_map(addr);
            }
            let host = self.host_addr(addr);
            if let Some(v) = fast(self, host) {
                self.def_t(dst, v);
            }
            return;
        }
        let slow_blk = self.b.create_block();
        let fast_blk = self.b.create_block();
        let join = self.b.create_block();
        self.b.set_cold_block(slow_blk);
        if always_slow {
            self.b.ins().jump(slow_blk, &[]);
        } else {
            let c = self.out_of_line_cond(addr, align);
            self.b.ins().brif(c, slow_blk, &[], fast_blk, &[]);
        }
        self.b.switch_to_block(fast_blk);
        let host = self.host_addr(addr);
        if let Some(v) = fast(self, host) {
            self.def_t(dst, v);
        }
        self.b.ins().jump(join, &[]);
        self.b.switch_to_block(slow_blk);
        let d = self.p.direct;
        let windows = d.high.iter().filter(|w| w.tag != 0);
        for w in windows.filter(|_| !always_slow) {
            let Some(bits) = guard else { break };
            // A high window: `addr >> bits == tag` (and aligned) is at `addr + delta`.
            let hi_blk = self.b.create_block();
            let next_blk = self.b.create_block();
            self.b.set_cold_block(next_blk);
            let top = self.b.ins().ushr_imm_u(addr, i64::from(bits));
            let mut c = self.b.ins().icmp_imm_u(
                cranelift_codegen::ir::condcodes::IntCC::Equal,
                top,
                w.tag as i64,
            );
            if align != 0 {
                let mis = self.b.ins().band_imm_s(addr, align as i64);
                let ok =
                    self.b
                        .ins()
                        .icmp_imm_u(cranelift_codegen::ir::condcodes::IntCC::Equal, mis, 0);
                c = self.b.ins().band(c, ok);
            }
            self.b.ins().brif(c, hi_blk, &[], next_blk, &[]);
            self.b.switch_to_block(hi_blk);
            let delta = self.konst(types::I64, w.delta);
            let host = self.b.ins().iadd(addr, delta);
            if let Some(v) = fast(self, host) {
                self.def_t(dst, v);
            }
            self.b.ins().jump(join, &[]);
            self.b.switch_to_block(next_blk);
        }
        let v = slow(self);
        self.check_pending();
        if let Some(v) = v {
            self.def_t(dst, v);
        }
        self.b.ins().jump(join, &[]);
        self.b.switch_to_block(join);
    }

    /// Calls a slow-path helper `(env, ctx, args...)`.
    pub(crate) fn call_slow(&mut self, f: u64, args: &[Value]) -> Value {
        let ctx = self.konst(types::I64, self.p.slow_ctx);
        let mut all = vec![self.env, ctx];
        all.extend_from_slice(args);
        self.call_host(f, &all)
    }

    pub(crate) fn narrow_result(&mut self, v: Value, t: Ty) -> Value {
        if t == Ty::I32 {
            self.b.ins().ireduce(types::I32, v)
        } else {
            v
        }
    }

    pub(crate) fn inline_load(
        &mut self,
        host: Value,
        m: MemOp,
        ty: Type,
        fl: MemFlagsData,
    ) -> Value {
        let mt = mem_ty(m);
        if mt != ty && (!m.big_endian || mt == types::I8) {
            // One extending load (movzx/movsx) rather than a load and an extension.
            let ins = self.b.ins();
            match (mt, m.signed) {
                (types::I8, true) => return ins.sload8(ty, fl, host, 0),
                (types::I8, false) => return ins.uload8(ty, fl, host, 0),
                (types::I16, true) => return ins.sload16(ty, fl, host, 0),
                (types::I16, false) => return ins.uload16(ty, fl, host, 0),
                (types::I32, true) if ty == types::I64 => return ins.sload32(fl, host, 0),
                (types::I32, false) if ty == types::I64 => return ins.uload32(fl, host, 0),
                _ => {}
            }
        }
        let mut v = self.b.ins().load(mt, fl, host, 0);
        if m.big_endian && mt != types::I8 {
            v = self.b.ins().bswap(v);
        }
        if mt == ty {
            v
        } else if m.signed {
            self.b.ins().sextend(ty, v)
        } else {
            self.b.ins().uextend(ty, v)
        }
    }

    pub(super) fn gen_load(&mut self, i: &Inst) {
        if self.softmmu() {
            return self.gen_softmmu_access(i);
        }
        self.sync_for_access(); // precise guest faults: crate::fault
        let m = MemOp::from_u32(i.aux);
        let ty = clif_ty(i.ty);
        let base = self.use_t(i.src[0]);
        let addr = self.offset(base, i.imm);
        let gm = self.gm;
        let aux = u64::from(i.aux & 0xffff) | ty_bit(i.ty);
        self.access(
            addr,
            align_mask(m, m.aligned),
            false,
            |l, host| Some(l.inline_load(host, m, ty, gm)),
            |l| {
                let k = l.konst(types::I64, aux);
                let v = l.call_slow(slow::slow_load as *const () as u64, &[addr, k]);
                Some(l.narrow_result(v, i.ty))
            },
            i.dst,
        );
    }

    pub(super) fn gen_store(&mut self, i: &Inst) {
        if self.softmmu() {
            return self.gen_softmmu_access(i);
        }
        self.sync_for_access(); // precise guest faults: crate::fault
        let m = MemOp::from_u32(i.aux);
        let val = self.use_t(i.src[0]);
        let base = self.use_t(i.src[1]);
        let addr = self.offset(base, i.imm);
        let gm = self.gm;
        let inline = |l: &mut Self, host: Value| {
            let mt = mem_ty(m);
            let mut v = if mt == clif_ty(i.ty) {
                val
            } else {
                l.b.ins().ireduce(mt, val)
            };
            if m.big_endian && mt != types::I8 {
                v = l.b.ins().bswap(v);
            }
            l.b.ins().store(gm, v, host, 0);
            None
        };
        let aux = u64::from(i.aux & 0xffff) | ty_bit(i.ty);
        self.access(
            addr,
            align_mask(m, m.aligned),
            false,
            inline,
            |l| {
                let k = l.konst(types::I64, aux);
                let v64 = if i.ty == Ty::I32 {
                    l.b.ins().uextend(types::I64, val)
                } else {
                    val
                };
                l.call_slow(slow::slow_store as *const () as u64, &[addr, k, v64]);
                None
            },
            xlat_ir::Temp::NONE,
        );
    }

    pub(super) fn gen_atomic(&mut self, i: &Inst) {
        if self.softmmu() {
            return self.gen_softmmu_access(i);
        }
        self.sync_for_access(); // precise guest faults: crate::fault
        let m = MemOp::from_u32(i.aux & 0xffff);
        let addr = self.use_t(i.src[0]);
        let x = self.use_t(i.src[1]);
        let ext = |l: &mut Self, v: Value| {
            if i.ty == Ty::I32 {
                l.b.ins().uextend(types::I64, v)
            } else {
                v
            }
        };
        // Atomics: native little-endian only; the flags keep them in the guest-memory region.
        let fl = self.gm;
        if i.op == Opcode::AtomicRmw {
            let op = AtomicOp::from_u32(i.aux >> 16).unwrap_or(AtomicOp::Xchg);
            let aux = u64::from(i.aux & 0xffff) | (u64::from(op as u8) << 16) | ty_bit(i.ty);
            self.access(
                addr,
                align_mask(m, true),
                m.big_endian,
                |l, host| Some(l.b.ins().atomic_rmw(clif_ty(i.ty), fl, rmw_op(op), host, x)),
                |l| {
                    let k = l.konst(types::I64, aux);
                    let x64 = ext(l, x);
                    let v = l.call_slow(slow::slow_rmw as *const () as u64, &[addr, k, x64]);
                    Some(l.narrow_result(v, i.ty))
                },
                i.dst,
            );
        } else {
            let n = self.use_t(i.src[2]);
            let aux = u64::from(i.aux & 0xffff) | ty_bit(i.ty);
            self.access(
                addr,
                align_mask(m, true),
                m.big_endian,
                |l, host| Some(l.b.ins().atomic_cas(fl, host, x, n)),
                |l| {
                    let k = l.konst(types::I64, aux);
                    let (x64, n64) = (ext(l, x), ext(l, n));
                    let v = l.call_slow(slow::slow_cas as *const () as u64, &[addr, k, x64, n64]);
                    Some(l.narrow_result(v, i.ty))
                },
                i.dst,
            );
        }
    }
}

// Precise guest faults (see crate::fault): the state is the guest state at every access.
impl Lower<'_, '_> {
    /// Stores the current guest pc and the registers this unit changed into the CPU state, so
    /// that a host fault at the access that follows leaves exactly the guest's state.
    /// Only in `precise` compilations (`Engine::set_precise_faults`). Within a block only the
    /// registers changed since the previous access are stored: intmark costs 1.6x instead of
    /// the 2.1x of storing every changed register at every access.
    pub(super) fn sync_for_access(&mut self) {
        if !self.p.precise {
            return;
        }
        self.regs.sync_dirty(&mut self.b, self.env, self.st);
        let pc = self.pc_value();
        self.b
            .ins()
            .store(self.st, pc, self.env, xlat_ir::abi::off::PC);
    }
}
