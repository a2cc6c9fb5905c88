//! Helpers called from lifted code: lazy flags, divides, rotates, CPUID, rdtsc, SSE.

use crate::{DIVIDE_ERROR, flags, state};
use xlat_ir::abi::CpuState;
use xlat_ir::{Helper, HelperFlags};

extern "C" fn eflags(_: &mut CpuState, op: u64, d: u64, s1: u64, s2: u64) -> u64 {
    flags::eflags(op, d, s1, s2)
}

extern "C" fn cond(_: &mut CpuState, f: u64, cc: u64, _: u64, _: u64) -> u64 {
    u64::from(flags::cond(cc, f))
}

/// Computes the arithmetic RFLAGS bits from the lazy state.
pub static H_EFLAGS: Helper = Helper {
    name: "x86_eflags",
    func: eflags,
    nargs: 4,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

/// Evaluates a condition code on RFLAGS bits.
pub static H_COND: Helper = Helper {
    name: "x86_cond",
    func: cond,
    nargs: 2,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

/// div/idiv: `arg1` = size in bytes | signed << 8. Raises #DE on a zero divisor or a quotient
/// that does not fit.
extern "C" fn div(env: &mut CpuState, y: u64, arg: u64, _: u64, _: u64) -> u64 {
    let bytes = (arg & 0xff) as u32;
    let signed = arg & 0x100 != 0;
    let bits = bytes * 8;
    let m = flags::mask(bytes);
    let rax = env.word(state::RAX);
    let rdx = env.word(state::RDX);
    let (lo, hi) = if bytes == 1 {
        (rax & 0xff, (rax >> 8) & 0xff)
    } else {
        (rax & m, rdx & m)
    };
    let num = (u128::from(hi) << bits) | u128::from(lo);
    let y = y & m;
    let fail = |env: &mut CpuState| {
        env.exc_pending = DIVIDE_ERROR + 1;
        env.exc_arg = 0;
        0
    };
    if y == 0 {
        return fail(env);
    }
    let (q, r) = if signed {
        let sh = 128 - 2 * bits;
        let n = ((num << sh) as i128) >> sh;
        let d = i128::from(((y << (64 - bits)) as i64) >> (64 - bits));
        let (q, r) = (n.wrapping_div(d), n.wrapping_rem(d));
        let lim = 1i128 << (bits - 1);
        if q >= lim || q < -lim {
            return fail(env);
        }
        (q as u64 & m, r as u64 & m)
    } else {
        let q = num / u128::from(y);
        if q > u128::from(m) {
            return fail(env);
        }
        (q as u64, (num % u128::from(y)) as u64)
    };
    match bytes {
        1 => env.set_word(state::RAX, (rax & !0xffff) | (r << 8) | q),
        2 => {
            env.set_word(state::RAX, (rax & !0xffff) | q);
            env.set_word(state::RDX, (rdx & !0xffff) | r);
        }
        _ => {
            env.set_word(state::RAX, q);
            env.set_word(state::RDX, r);
        }
    }
    0
}

/// Unsigned and signed divides.
pub static H_DIV: Helper = Helper {
    name: "x86_div",
    func: div,
    nargs: 2,
    flags: HelperFlags::ALL,
    state_words: Some(&[state::RAX, state::RDX]),
};

fn rot(v: u64, packed: u64, left: bool) -> (u64, u32, u32) {
    let bytes = (packed & 0xff) as u32;
    let bits = bytes * 8;
    let n = ((packed >> 8) as u32) % bits;
    let m = flags::mask(bytes);
    let v = v & m;
    let r = if n == 0 {
        v
    } else if left {
        ((v << n) | (v >> (bits - n))) & m
    } else {
        ((v >> n) | (v << (bits - n))) & m
    };
    (r, bits, (packed >> 8) as u32)
}

extern "C" fn rotate(_: &mut CpuState, v: u64, packed: u64, left: u64, _: u64) -> u64 {
    rot(v, packed, left != 0).0
}

extern "C" fn rotate_flags(_: &mut CpuState, v: u64, packed: u64, left: u64, f: u64) -> u64 {
    let (r, bits, count) = rot(v, packed, left != 0);
    if count == 0 {
        return f;
    }
    let msb = (r >> (bits - 1)) & 1;
    let (cf, of) = if left != 0 {
        (r & 1, msb ^ (r & 1))
    } else {
        (msb, msb ^ ((r >> (bits - 2)) & 1))
    };
    (f & !(flags::CF | flags::OF)) | cf | (of << 11)
}

/// rol/ror result: `packed` = count << 8 | size in bytes.
pub static H_ROTATE: Helper = Helper {
    name: "x86_rotate",
    func: rotate,
    nargs: 3,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

/// rol/ror flags (CF and OF; the rest kept), from the old flags in the fourth argument.
pub static H_ROTATE_FLAGS: Helper = Helper {
    name: "x86_rotate_flags",
    func: rotate_flags,
    nargs: 4,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

extern "C" fn cpuid(env: &mut CpuState, _: u64, _: u64, _: u64, _: u64) -> u64 {
    let leaf = env.word(state::RAX) as u32;
    let sub = env.word(state::RCX) as u32;
    let [a, b, c, d] = crate::cpuid::cpuid(leaf, sub);
    env.set_word(state::RAX, a.into());
    env.set_word(state::RBX, b.into());
    env.set_word(state::RCX, c.into());
    env.set_word(state::RDX, d.into());
    0
}

/// CPUID from rax/rcx into rax/rbx/rcx/rdx.
pub static H_CPUID: Helper = Helper {
    name: "x86_cpuid",
    func: cpuid,
    nargs: 0,
    flags: HelperFlags::STATE,
    state_words: Some(&[state::RAX, state::RBX, state::RCX, state::RDX]),
};

extern "C" fn rdtsc(_: &mut CpuState, _: u64, _: u64, _: u64, _: u64) -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A time-stamp counter at 1 GHz (nanoseconds since the epoch).
pub static H_RDTSC: Helper = Helper {
    name: "x86_rdtsc",
    func: rdtsc,
    nargs: 0,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

extern "C" fn sse(env: &mut CpuState, op: u64, d: u64, s: u64, imm: u64) -> u64 {
    crate::sse::exec(env, op, d as u32, s as u32, imm)
}

/// Packed SSE2 operations ([`crate::sse::exec`]).
pub static H_SSE: Helper = Helper {
    name: "x86_sse",
    func: sse,
    nargs: 4,
    flags: HelperFlags::STATE,
    state_words: None,
};
