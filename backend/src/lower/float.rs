//! Float opcodes ([`xlat_ir::fsem`] semantics): the IR's integer temps are bitcast to F32/F64,
//! computed with Cranelift's float instructions (SSE/AVX on x86-64: `addsd`, `vfmadd213sd`,
//! `roundsd`, `cvttsd2si`...) and bitcast back, with NaN results replaced by the canonical NaN.
//! `ffma` and `fround` need FMA and SSE4.1; on hosts without them they call a Rust function
//! instead of Cranelift's libcalls (which this JIT does not link).

use super::{Lower, clif_ty};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value, types};
use xlat_ir::{FCond, FNAN_ANY, FRound, Inst, Opcode, Ty, fsem};

/// Whether the host has FMA (and AVX, which Cranelift's FMA encodings need).
pub(crate) fn host_has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the host has SSE4.1 (`roundsd`).
pub(crate) fn host_has_sse41() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sse4.1")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn fty(t: Ty) -> Type {
    match t {
        Ty::I32 => types::F32,
        Ty::I64 => types::F64,
    }
}

fn floatcc(c: FCond) -> FloatCC {
    match c {
        FCond::Eq => FloatCC::Equal,
        FCond::Ne => FloatCC::NotEqual,
        FCond::Lt => FloatCC::LessThan,
        FCond::Le => FloatCC::LessThanOrEqual,
        FCond::Gt => FloatCC::GreaterThan,
        FCond::Ge => FloatCC::GreaterThanOrEqual,
        FCond::Uno => FloatCC::Unordered,
        FCond::Ord => FloatCC::Ordered,
        FCond::Ueq => FloatCC::UnorderedOrEqual,
        FCond::One => FloatCC::OrderedNotEqual,
        FCond::Ult => FloatCC::UnorderedOrLessThan,
        FCond::Ule => FloatCC::UnorderedOrLessThanOrEqual,
        FCond::Ugt => FloatCC::UnorderedOrGreaterThan,
        FCond::Uge => FloatCC::UnorderedOrGreaterThanOrEqual,
    }
}

fn ty_code(t: Ty) -> u64 {
    u64::from(t == Ty::I64)
}

fn ty_of_code(c: u64) -> Ty {
    if c != 0 { Ty::I64 } else { Ty::I32 }
}

/// Out-of-line `ffma` for hosts without FMA: `(width, a, b, c)`.
extern "C" fn host_fma(ty: u64, a: u64, b: u64, c: u64) -> u64 {
    fsem::fma(ty_of_code(ty), a, b, c)
}

/// Out-of-line `fround` for hosts without SSE4.1: `(width, mode, a)`.
extern "C" fn host_fround(ty: u64, mode: u64, a: u64) -> u64 {
    let m = FRound::from_u32(mode as u32).unwrap_or(FRound::Nearest);
    fsem::round(ty_of_code(ty), m, a)
}

impl Lower<'_, '_> {
    /// Lowers a float instruction (`Opcode::is_float`) to its result.
    pub(super) fn gen_float(&mut self, i: &Inst) -> Value {
        let ty = i.ty;
        match i.op {
            Opcode::FAdd | Opcode::FSub | Opcode::FMul | Opcode::FDiv => {
                let (a, b) = (self.as_float(i, 0, ty), self.as_float(i, 1, ty));
                let ins = self.b.ins();
                let r = match i.op {
                    Opcode::FAdd => ins.fadd(a, b),
                    Opcode::FSub => ins.fsub(a, b),
                    Opcode::FMul => ins.fmul(a, b),
                    _ => ins.fdiv(a, b),
                };
                self.canon_for(i, r)
            }
            Opcode::FMin | Opcode::FMax => self.gen_min_max(i),
            Opcode::FSqrt => {
                let a = self.as_float(i, 0, ty);
                let r = self.b.ins().sqrt(a);
                self.canon_for(i, r)
            }
            Opcode::FFma => {
                if !host_has_fma() {
                    let args = [
                        self.konst(types::I64, ty_code(ty)),
                        self.widen(i, 0),
                        self.widen(i, 1),
                        self.widen(i, 2),
                    ];
                    let r = self.call_host(host_fma as *const () as u64, &args);
                    return self.narrow(ty, r);
                }
                let (a, b, c) = (
                    self.as_float(i, 0, ty),
                    self.as_float(i, 1, ty),
                    self.as_float(i, 2, ty),
                );
                let r = self.b.ins().fma(a, b, c);
                self.canon_for(i, r)
            }
            Opcode::FRound => {
                let mode = FRound::from_u32(i.aux).unwrap_or(FRound::Nearest);
                if !host_has_sse41() {
                    let args = [
                        self.konst(types::I64, ty_code(ty)),
                        self.konst(types::I64, mode as u64),
                        self.widen(i, 0),
                    ];
                    let r = self.call_host(host_fround as *const () as u64, &args);
                    return self.narrow(ty, r);
                }
                let a = self.as_float(i, 0, ty);
                let ins = self.b.ins();
                let r = match mode {
                    FRound::Nearest => ins.nearest(a),
                    FRound::Floor => ins.floor(a),
                    FRound::Ceil => ins.ceil(a),
                    FRound::Trunc => ins.trunc(a),
                };
                self.canon(ty, r)
            }
            Opcode::FSetCond => {
                let sty = self.unit.ty(i.src[0]);
                let (a, b) = (self.as_float(i, 0, sty), self.as_float(i, 1, sty));
                let c = FCond::from_u32(i.aux).unwrap_or(FCond::Eq);
                let f = self.b.ins().fcmp(floatcc(c), a, b);
                self.b.ins().uextend(clif_ty(ty), f)
            }
            Opcode::FCvtFromS | Opcode::FCvtFromU => {
                let a = self.use_t(i.src[0]);
                let r = if i.op == Opcode::FCvtFromS {
                    self.b.ins().fcvt_from_sint(fty(ty), a)
                } else {
                    self.b.ins().fcvt_from_uint(fty(ty), a)
                };
                self.float_bits(ty, r)
            }
            Opcode::FCvtToS | Opcode::FCvtToU => {
                let sty = self.unit.ty(i.src[0]);
                let a = self.as_float(i, 0, sty);
                if i.op == Opcode::FCvtToS {
                    self.b.ins().fcvt_to_sint_sat(clif_ty(ty), a)
                } else {
                    self.b.ins().fcvt_to_uint_sat(clif_ty(ty), a)
                }
            }
            Opcode::FCvtF => {
                let sty = self.unit.ty(i.src[0]);
                let a = self.as_float(i, 0, sty);
                let r = match (sty, ty) {
                    (Ty::I32, Ty::I64) => self.b.ins().fpromote(types::F64, a),
                    (Ty::I64, Ty::I32) => self.b.ins().fdemote(types::F32, a),
                    _ => a,
                };
                self.canon_for(i, r)
            }
            _ => unreachable!("{:?} is not a float opcode", i.op),
        }
    }

    /// minimumNumber / maximumNumber: the other operand when one is a NaN, Cranelift's
    /// `fmin`/`fmax` (NaN-propagating, −0 < +0) otherwise.
    fn gen_min_max(&mut self, i: &Inst) -> Value {
        let ty = i.ty;
        let (a, b) = (self.as_float(i, 0, ty), self.as_float(i, 1, ty));
        let m = if i.op == Opcode::FMin {
            self.b.ins().fmin(a, b)
        } else {
            self.b.ins().fmax(a, b)
        };
        let a_nan = self.b.ins().fcmp(FloatCC::Unordered, a, a);
        let b_nan = self.b.ins().fcmp(FloatCC::Unordered, b, b);
        let r = self.b.ins().select(b_nan, a, m);
        let r = self.b.ins().select(a_nan, b, r);
        self.canon(ty, r)
    }

    /// Source `k` of `i` as a float of width `t`.
    fn as_float(&mut self, i: &Inst, k: usize, t: Ty) -> Value {
        let v = self.use_t(i.src[k]);
        self.b.ins().bitcast(fty(t), MemFlagsData::new(), v)
    }

    /// A float result as integer bits (no NaN check: for results that cannot be NaN).
    fn float_bits(&mut self, t: Ty, r: Value) -> Value {
        self.b.ins().bitcast(clif_ty(t), MemFlagsData::new(), r)
    }

    /// The result of `i` as integer bits: NaN canonicalized unless `i` says any NaN will do.
    fn canon_for(&mut self, i: &Inst, r: Value) -> Value {
        if i.aux & FNAN_ANY != 0 {
            self.float_bits(i.ty, r)
        } else {
            self.canon(i.ty, r)
        }
    }

    /// A float result as integer bits, a NaN replaced by the canonical NaN.
    fn canon(&mut self, t: Ty, r: Value) -> Value {
        let uno = self.b.ins().fcmp(FloatCC::Unordered, r, r);
        let bits = self.float_bits(t, r);
        let nan = self.konst(clif_ty(t), fsem::canon_nan(t));
        self.b.ins().select(uno, nan, bits)
    }

    /// Source `k` zero-extended to i64 (for out-of-line calls).
    fn widen(&mut self, i: &Inst, k: usize) -> Value {
        let v = self.use_t(i.src[k]);
        if self.unit.ty(i.src[k]) == Ty::I32 {
            self.b.ins().uextend(types::I64, v)
        } else {
            v
        }
    }

    /// An i64 call result as a value of type `t`.
    fn narrow(&mut self, t: Ty, v: Value) -> Value {
        if t == Ty::I32 {
            self.b.ins().ireduce(types::I32, v)
        } else {
            v
        }
    }
}
