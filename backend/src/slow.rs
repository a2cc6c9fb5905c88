//! Out-of-line guest memory accesses for compiled code, through the [`GuestMemory`] trait (the
//! same accessors the interpreter uses, so both tiers agree on faults and values). Called from
//! JIT code with the SystemV convention; a fault sets `exc_pending`/`exc_arg` and the caller
//! leaves the unit with `Raise`, as after a helper that may raise.

use std::sync::Arc;
use xlat_ir::abi::CpuState;
use xlat_ir::interp::extend;
use xlat_ir::{AtomicOp, MemOp, Ty};
use xlat_softmmu::{GuestMemory, MemFault};

/// What the slow helpers reach through their context pointer.
#[derive(Debug)]
pub struct SlowCtx {
    /// The guest memory.
    pub mem: Arc<dyn GuestMemory>,
    /// The engine's TB-cache probe for [`lookup_code`] (unset: every jump-cache miss returns
    /// to the exec loop).
    pub lookup: std::sync::OnceLock<LookupFn>,
}

/// Finds the compiled code of the unit at a pc for a vCPU state (0 if none): the TB cache
/// probe of the exec loop, keyed the same way (pc and the state's translation-block flags).
pub struct LookupFn(pub Box<LookupProbe>);

/// The closure behind [`LookupFn`]: `(state, pc) -> code address or 0`.
pub type LookupProbe = dyn Fn(&CpuState, u64) -> u64 + Send + Sync;

impl std::fmt::Debug for LookupFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupFn")
    }
}

impl SlowCtx {
    /// A context for `mem` with no TB-cache probe.
    pub fn new(mem: Arc<dyn GuestMemory>) -> SlowCtx {
        SlowCtx {
            mem,
            lookup: std::sync::OnceLock::new(),
        }
    }
}

/// An indirect exit missed the inline jump cache (`goto_ptr`, or a system-mode `goto_tb` to
/// another page): the code at `env.pc` if the unit there is compiled for the current context
/// (its TB cache key: pc and translation-block flags, so privilege, address space and the code
/// page's validity are those the exec loop would check), entered in the jump cache; else 0,
/// and the unit leaves to the exec loop. QEMU's `lookup_tb_ptr` is the model: a miss costs a
/// call instead of a trip through the loop.
pub extern "C" fn lookup_code(env: &mut CpuState, ctx: &SlowCtx) -> u64 {
    let Some(f) = ctx.lookup.get() else {
        return 0;
    };
    let pc = env.pc;
    let code = (f.0)(env, pc);
    if code != 0 {
        env.jmp_cache[xlat_ir::abi::jmp_cache_index(pc)] = xlat_ir::abi::JmpCacheEntry { pc, code };
    }
    code
}

fn unpack(aux: u64) -> (MemOp, Ty) {
    let m = MemOp::from_u32((aux & 0xffff) as u32);
    let ty = if aux & (1 << 24) != 0 {
        Ty::I64
    } else {
        Ty::I32
    };
    (m, ty)
}

fn fault(env: &mut CpuState, f: MemFault) -> u64 {
    // exc_pending holds code + 1 so that 0 means "nothing pending".
    env.exc_pending = f.code.wrapping_add(1);
    env.exc_arg = f.addr;
    0
}

/// `dst = load(addr)`: the loaded value extended to the type, or 0 after a fault.
pub extern "C" fn slow_load(env: &mut CpuState, ctx: &SlowCtx, addr: u64, aux: u64) -> u64 {
    let (m, ty) = unpack(aux);
    match ctx.mem.load(addr, m) {
        Ok(v) => extend(v, m, ty),
        Err(f) => fault(env, f),
    }
}

/// `store(addr, val)`.
pub extern "C" fn slow_store(
    env: &mut CpuState,
    ctx: &SlowCtx,
    addr: u64,
    aux: u64,
    val: u64,
) -> u64 {
    let (m, _) = unpack(aux);
    match ctx.mem.store(addr, m, val) {
        Ok(()) => 0,
        Err(f) => fault(env, f),
    }
}

/// Atomic read-modify-write; returns the old value.
pub extern "C" fn slow_rmw(
    env: &mut CpuState,
    ctx: &SlowCtx,
    addr: u64,
    aux: u64,
    val: u64,
) -> u64 {
    let (m, ty) = unpack(aux);
    let op = AtomicOp::from_u32(((aux >> 16) & 0xff) as u32).unwrap_or(AtomicOp::Xchg);
    match ctx.mem.atomic_rmw(addr, m, op, ty.mask(val)) {
        Ok(v) => ty.mask(v),
        Err(f) => fault(env, f),
    }
}

/// Atomic compare-and-swap; returns the old value.
pub extern "C" fn slow_cas(
    env: &mut CpuState,
    ctx: &SlowCtx,
    addr: u64,
    aux: u64,
    expected: u64,
    new: u64,
) -> u64 {
    let (m, ty) = unpack(aux);
    match ctx.mem.atomic_cas(addr, m, ty.mask(expected), ty.mask(new)) {
        Ok(v) => ty.mask(v),
        Err(f) => fault(env, f),
    }
}

/// 128-bit compare-and-swap: `io` holds the expected and the new value (`[expected low,
/// expected high, new low, new high]`) and receives the old one in its first two words.
pub extern "C" fn slow_cas128(
    env: &mut CpuState,
    ctx: &SlowCtx,
    addr: u64,
    aux: u64,
    io: &mut [u64; 4],
) -> u64 {
    let m = MemOp::from_u32((aux & 0xffff) as u32);
    match ctx
        .mem
        .atomic_cas128(addr, m, [io[0], io[1]], [io[2], io[3]])
    {
        Ok(old) => {
            io[..2].copy_from_slice(&old);
            0
        }
        Err(f) => fault(env, f),
    }
}
