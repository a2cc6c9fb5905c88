//! x87, approximated: the eight stack registers hold IEEE doubles (not 80-bit extended), the
//! control word's rounding control is honoured by frndint/fist, and loads/stores of the
//! 80-bit format convert exactly to and from doubles. Enough for glibc's printf/strtod paths;
//! a software 80-bit implementation is still to come.

use crate::{flags, state};
use xlat_ir::abi::CpuState;

/// Helper operations (the first argument).
#[allow(missing_docs, reason = "named after what they do")]
pub mod op {
    pub const PUSH: u64 = 0;
    pub const POP: u64 = 1;
    pub const GET: u64 = 2;
    pub const SET: u64 = 3;
    pub const ARITH: u64 = 4;
    pub const XCH: u64 = 5;
    pub const COMI: u64 = 6;
    pub const UNARY: u64 = 7;
    pub const TO_INT: u64 = 8;
    pub const COM_SW: u64 = 9;
}

fn top(env: &CpuState) -> u64 {
    env.word(state::X87_TOP) & 7
}

fn reg(env: &CpuState, i: u64) -> u32 {
    state::x87((((top(env) + i) & 7) as u8) & 7)
}

fn get(env: &CpuState, i: u64) -> f64 {
    f64::from_bits(env.word(reg(env, i)))
}

fn set(env: &mut CpuState, i: u64, v: f64) {
    env.set_word(reg(env, i), v.to_bits());
}

fn round(v: f64, cw: u64) -> f64 {
    match (cw >> 10) & 3 {
        0 => v.round_ties_even(),
        1 => v.floor(),
        2 => v.ceil(),
        _ => v.trunc(),
    }
}

/// Runs x87 operation `o` with arguments `a`, `b`.
pub fn exec(env: &mut CpuState, o: u64, a: u64, b: u64) -> u64 {
    match o {
        op::PUSH => {
            env.set_word(state::X87_TOP, (top(env) + 7) & 7);
            env.set_word(reg(env, 0), a);
            0
        }
        op::POP => {
            env.set_word(state::X87_TOP, (top(env) + 1) & 7);
            0
        }
        op::GET => get(env, a & 7).to_bits(),
        op::SET => {
            set(env, a & 7, f64::from_bits(b));
            0
        }
        op::ARITH => {
            // a = kind | reversed << 4 | dst << 8; b = the source value.
            let dst = (a >> 8) & 7;
            let (x, y) = (get(env, dst), f64::from_bits(b));
            let (x, y) = if a & 0x10 != 0 { (y, x) } else { (x, y) };
            let r = match a & 0xf {
                0 => x + y,
                1 => x - y,
                2 => x * y,
                _ => x / y,
            };
            set(env, dst, r);
            0
        }
        op::XCH => {
            let (x, y) = (get(env, 0), get(env, a & 7));
            set(env, 0, y);
            set(env, a & 7, x);
            0
        }
        op::COMI | op::COM_SW => {
            let (x, y) = (get(env, 0), f64::from_bits(b));
            let f = match x.partial_cmp(&y) {
                None => flags::ZF | flags::PF | flags::CF,
                Some(std::cmp::Ordering::Less) => flags::CF,
                Some(std::cmp::Ordering::Equal) => flags::ZF,
                Some(std::cmp::Ordering::Greater) => 0,
            };
            if o == op::COM_SW {
                // C0 = CF, C2 = PF, C3 = ZF in the status word.
                let sw = env.word(state::X87_SW) & !0x4500;
                let c = ((f & 1) << 8) | ((f & flags::PF) << 8) | ((f & flags::ZF) << 8);
                env.set_word(state::X87_SW, sw | c);
            }
            f
        }
        op::UNARY => {
            let x = get(env, 0);
            let cw = env.word(state::X87_CW);
            let r = match a {
                0 => -x,
                1 => x.abs(),
                2 => x.sqrt(),
                _ => round(x, cw),
            };
            set(env, 0, r);
            0
        }
        op::TO_INT => {
            // a = bytes | truncate << 8
            let x = get(env, 0);
            let cw = env.word(state::X87_CW);
            let r = if a & 0x100 != 0 {
                x.trunc()
            } else {
                round(x, cw)
            };
            let bits = (a & 0xff) * 8;
            let lim = 2f64.powi(bits as i32 - 1);
            if r.is_nan() || r < -lim || r >= lim {
                1u64 << (bits - 1)
            } else {
                (r as i64 as u64) & flags::mask((a & 0xff) as u32)
            }
        }
        _ => 0,
    }
}

/// 80-bit extended (`lo` = significand, `hi` = sign and exponent) → double.
pub fn from80(lo: u64, hi: u64) -> f64 {
    let neg = hi & 0x8000 != 0;
    let e = (hi & 0x7fff) as i32;
    let v = if e == 0x7fff {
        if lo << 1 == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else if lo == 0 {
        0.0
    } else {
        let mut v = lo as f64;
        let mut k = e - 16383 - 63;
        while k > 0 {
            let s = k.min(1000);
            v *= 2f64.powi(s);
            k -= s;
        }
        while k < 0 {
            let s = (-k).min(1000);
            v /= 2f64.powi(s);
            k += s;
        }
        v
    };
    if neg { -v } else { v }
}

/// Double → 80-bit extended `(significand, sign and exponent)`, exact.
pub fn to80(v: f64) -> (u64, u64) {
    let b = v.to_bits();
    let sign = (b >> 63) << 15;
    let e = ((b >> 52) & 0x7ff) as i64;
    let f = b & ((1 << 52) - 1);
    if e == 0x7ff {
        let m = if f == 0 {
            1 << 63
        } else {
            (3 << 62) | (f << 11)
        };
        return (m, sign | 0x7fff);
    }
    if e == 0 {
        if f == 0 {
            return (0, sign);
        }
        let lz = (f << 11).leading_zeros() as i64;
        let m = (f << 11) << lz;
        return (m, sign | (16383 - 1022 - lz) as u64);
    }
    ((1 << 63) | (f << 11), sign | (e - 1023 + 16383) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_round_trips() {
        for v in [1.0, -2.5, 1e300, 3e-310, 0.1, f64::INFINITY, -0.0] {
            let (lo, hi) = to80(v);
            assert_eq!(from80(lo, hi).to_bits(), v.to_bits(), "{v}");
        }
        // 1.0 in extended precision: 0x3fff 8000000000000000.
        assert_eq!(to80(1.0), (1 << 63, 0x3fff));
    }
}
