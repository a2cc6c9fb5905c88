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

/// rcl/rcr of `v` through carry `cf`: (result, new CF), `packed` = masked count << 8 | bytes.
fn rc(v: u64, packed: u64, left: bool, cf: u64) -> (u64, u64) {
    let bytes = (packed & 0xff) as u32;
    let bits = bytes * 8;
    let w = bits + 1;
    let n = ((packed >> 8) as u32) % w;
    let v = v & flags::mask(bytes);
    if n == 0 {
        return (v, cf & 1);
    }
    let x = (u128::from(cf & 1) << bits) | u128::from(v);
    let mw = (1u128 << w) - 1;
    let r = if left {
        ((x << n) | (x >> (w - n))) & mw
    } else {
        ((x >> n) | (x << (w - n))) & mw
    };
    ((r as u64) & flags::mask(bytes), (r >> bits) as u64 & 1)
}

extern "C" fn rcx(_: &mut CpuState, v: u64, packed: u64, left: u64, f: u64) -> u64 {
    rc(v, packed, left != 0, f & flags::CF).0
}

extern "C" fn rcx_flags(_: &mut CpuState, v: u64, packed: u64, left: u64, f: u64) -> u64 {
    if packed >> 8 == 0 {
        return f;
    }
    let bytes = (packed & 0xff) as u32;
    let bits = bytes * 8;
    let (r, cf) = rc(v, packed, left != 0, f & flags::CF);
    let msb = (r >> (bits - 1)) & 1;
    // OF (defined for a count of 1): rcl the new MSB xor the new CF; rcr the old MSB xor
    // the old CF, which for a count of 1 is the result's top two bits.
    let of = if left != 0 {
        msb ^ cf
    } else {
        msb ^ ((r >> (bits - 2)) & 1)
    };
    (f & !(flags::CF | flags::OF)) | cf | (of << 11)
}

/// rcl/rcr result (`packed` = masked count << 8 | size in bytes; the fourth argument holds CF).
pub static H_RCX: Helper = Helper {
    name: "x86_rcx",
    func: rcx,
    nargs: 4,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

/// rcl/rcr flags (CF and OF; the rest kept; all kept for a masked count of 0).
pub static H_RCX_FLAGS: Helper = Helper {
    name: "x86_rcx_flags",
    func: rcx_flags,
    nargs: 4,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

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
    let [a, b, c, d] = crate::cpuid::cpuid_xcr0(leaf, sub, env.word(crate::cpuid::XCR0));
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
    state_words: Some(&[
        state::RAX,
        state::RBX,
        state::RCX,
        state::RDX,
        crate::cpuid::XCR0,
    ]),
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

extern "C" fn fp(env: &mut CpuState, code: u64, d: u64, s: u64, _: u64) -> u64 {
    crate::ssefp::arith(env, code, d as u32, s as u32);
    0
}

/// SSE FP arithmetic on xmm state offsets ([`crate::ssefp::arith`]).
pub static H_FP: Helper = Helper {
    name: "x86_fp",
    func: fp,
    nargs: 3,
    flags: HelperFlags::ALL,
    state_words: None,
};

extern "C" fn fcmp(env: &mut CpuState, a: u64, b: u64, arg: u64, _: u64) -> u64 {
    let (daz, _) = crate::ssefp::daz_ftz(env.word(state::MXCSR));
    let (f, mx) = crate::ssefp::compare_mx_daz(a, b, arg & 1 != 0, arg & 2 != 0, daz);
    if crate::ssefp::accrue(env, &[mx]) {
        return 0;
    }
    f
}

/// ucomis*/comis* flags (`arg` = double | signalling << 1); accrues MXCSR (or raises #XM).
pub static H_FCMP: Helper = Helper {
    name: "x86_fcmp",
    func: fcmp,
    nargs: 3,
    flags: HelperFlags::ALL,
    state_words: Some(&[state::MXCSR]),
};

extern "C" fn to_int(env: &mut CpuState, v: u64, arg: u64, _: u64, _: u64) -> u64 {
    let rc = if arg & 0x100 != 0 {
        3
    } else {
        (env.word(state::MXCSR) >> 13) & 3
    };
    let (daz, _) = crate::ssefp::daz_ftz(env.word(state::MXCSR));
    let v = crate::ssefp::daz_bits(v, arg & 1 != 0, daz);
    let (r, mx) = crate::ssefp::to_int_mx_rc(v, arg & 1 != 0, (arg >> 1) as u32 & 0xf, rc);
    crate::ssefp::accrue(env, &[mx]);
    r
}

/// cvt(t)s{s,d}2si: `arg` = double | bytes << 1 | truncate << 8; accrues MXCSR (or raises #XM).
pub static H_TO_INT: Helper = Helper {
    name: "x86_to_int",
    func: to_int,
    nargs: 2,
    flags: HelperFlags::ALL,
    state_words: Some(&[state::MXCSR]),
};

extern "C" fn from_int(env: &mut CpuState, v: u64, bytes: u64, double: u64, _: u64) -> u64 {
    let rc = (env.word(state::MXCSR) >> 13) & 3;
    let r = crate::ssefp::from_int_rc(v, bytes as u32, double != 0, rc);
    let i = if bytes == 8 {
        v as i64
    } else {
        i64::from(v as u32 as i32)
    };
    let back = if double != 0 {
        f64::from_bits(r) as i128
    } else {
        f32::from_bits(r as u32) as i128
    };
    if back != i128::from(i) {
        crate::ssefp::accrue(env, &[crate::ssefp::mx::PE]);
    }
    r
}

/// cvtsi2s{s,d}; accrues MXCSR.PE (or raises #XM).
pub static H_FROM_INT: Helper = Helper {
    name: "x86_from_int",
    func: from_int,
    nargs: 3,
    flags: HelperFlags::ALL,
    state_words: Some(&[state::MXCSR]),
};

/// shld/shrd: returns (result, last bit out); `p` = count << 8 | bytes | right << 16.
/// Counts above the operand size (16-bit forms) are undefined: they shift through src again.
fn shxd(d: u64, s: u64, p: u64) -> (u64, u64, u32) {
    let bytes = (p & 0xff) as u32;
    let bits = bytes * 8;
    let n = ((p >> 8) & 0xff) as u32;
    let right = p & 0x1_0000 != 0;
    let m = flags::mask(bytes);
    let (d, s) = (u128::from(d & m), u128::from(s & m));
    if n == 0 {
        return (d as u64, 0, 0);
    }
    if right {
        let wide = (s << bits) | d;
        let r = (wide >> n) as u64 & m;
        let cf = (wide >> (n - 1)) as u64 & 1;
        (r, cf, n)
    } else {
        let wide = (d << bits) | s;
        let r = ((wide << n) >> bits) as u64 & m;
        let cf = (wide >> (2 * bits).saturating_sub(n).min(127)) as u64 & 1;
        (r, cf, n)
    }
}

extern "C" fn shxd_res(_: &mut CpuState, d: u64, s: u64, p: u64, _: u64) -> u64 {
    shxd(d, s, p).0
}

extern "C" fn shxd_flags(_: &mut CpuState, d: u64, s: u64, p: u64, f: u64) -> u64 {
    let (r, cf, n) = shxd(d, s, p);
    if n == 0 {
        return f;
    }
    let bytes = (p & 0xff) as u32;
    let bits = bytes * 8;
    let mut nf = flags::eflags(flags::cc_op(flags::LOGIC, bytes), r, 0, 0) | cf;
    // OF (defined for a count of 1): the sign changed.
    if ((r ^ d) >> (bits - 1)) & 1 != 0 {
        nf |= flags::OF;
    }
    nf
}

/// shld/shrd result.
pub static H_SHXD: Helper = Helper {
    name: "x86_shxd",
    func: shxd_res,
    nargs: 3,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

/// shld/shrd flags (from the old flags when the count is 0).
pub static H_SHXD_FLAGS: Helper = Helper {
    name: "x86_shxd_flags",
    func: shxd_flags,
    nargs: 4,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

extern "C" fn x87(env: &mut CpuState, o: u64, a: u64, b: u64, _: u64) -> u64 {
    crate::x87::exec(env, o, a, b)
}

/// The x87 stack machine ([`crate::x87::exec`]).
pub static H_X87: Helper = Helper {
    name: "x86_x87",
    func: x87,
    nargs: 3,
    flags: HelperFlags::STATE,
    state_words: None,
};

extern "C" fn sse_half(_: &mut CpuState, op: u64, a: u64, b: u64, _: u64) -> u64 {
    crate::sse::half(op, a, b)
}

/// One 64-bit half of a lane-wise packed integer op ([`crate::sse::half`]).
pub static H_SSE_HALF: Helper = Helper {
    name: "x86_sse_half",
    func: sse_half,
    nargs: 3,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

extern "C" fn fp_scalar(env: &mut CpuState, code: u64, a: u64, b: u64, _: u64) -> u64 {
    let m = env.word(state::MXCSR);
    let (r, f) = crate::ssefp::scalar(code | crate::ssefp::control_bits(m), a, b);
    if f != 0 {
        crate::ssefp::accrue(env, &[f]);
    }
    r
}

/// Scalar SSE arithmetic on the low lanes' bits ([`crate::ssefp::scalar`]); accrues MXCSR
/// (or raises #XM).
pub static H_FP_SCALAR: Helper = Helper {
    name: "x86_fp_scalar",
    func: fp_scalar,
    nargs: 3,
    flags: HelperFlags::ALL,
    state_words: Some(&[state::MXCSR]),
};

extern "C" fn sse4(env: &mut CpuState, op: u64, d: u64, s: u64, imm: u64) -> u64 {
    crate::sse4::exec(env, op, d as u32, s as u32, imm)
}

/// SSE3/SSSE3/SSE4 packed operations ([`crate::sse4::exec`]); returns flags for ptest and the
/// string compares.
pub static H_SSE4: Helper = Helper {
    name: "x86_sse4",
    func: sse4,
    nargs: 4,
    flags: HelperFlags::ALL,
    state_words: None,
};

extern "C" fn crc32(_: &mut CpuState, acc: u64, v: u64, bytes: u64, _: u64) -> u64 {
    u64::from(crate::sse4::crc32(acc as u32, v, bytes as u32))
}

/// crc32: the accumulator, the value, its size in bytes.
pub static H_CRC32: Helper = Helper {
    name: "x86_crc32",
    func: crc32,
    nargs: 3,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

/// pdep (`ext` = 0) or pext (`ext` = 1) of `a` with mask `m`.
fn pdep_pext(a: u64, m: u64, ext: bool) -> u64 {
    let (mut r, mut k, mut mm) = (0u64, 0u32, m);
    while mm != 0 {
        let bit = mm.trailing_zeros();
        if ext {
            r |= ((a >> bit) & 1) << k;
        } else {
            r |= ((a >> k) & 1) << bit;
        }
        k += 1;
        mm &= mm - 1;
    }
    r
}

extern "C" fn pdep(_: &mut CpuState, a: u64, m: u64, ext: u64, _: u64) -> u64 {
    pdep_pext(a, m, ext != 0)
}

/// pdep (third argument 0) or pext (1): the source, the mask.
pub static H_PDEP: Helper = Helper {
    name: "x86_pdep",
    func: pdep,
    nargs: 3,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};
