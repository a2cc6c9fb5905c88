//! Per-architecture register names and where they live in [`CpuState`].
//!
//! Each architecture has its own enum ([`RiscvReg`], [`Arm64Reg`], [`X86Reg`]); [`Reg`] wraps
//! them so one `reg_read`/`reg_write` serves every engine. Registers up to 64 bits read and
//! write as `u64`; vector registers (128 bits) through the `u128` forms, whose `u64` form is
//! the low half. The C ABI numbers registers with [`Reg::from_id`].

use xlat_ir::abi::{CpuState, reg_offset};

use super::{Arch, Error};

/// A riscv64 register.
///
/// ```
/// use xlat::embed::RiscvReg;
/// assert_eq!(RiscvReg::X(10).word(), Some(10));
/// assert_eq!(RiscvReg::F(0).word(), Some(32));
/// assert_eq!(RiscvReg::X(32).word(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiscvReg {
    /// Integer register `x0..x31` (`x0` always reads 0, writes are ignored).
    X(u8),
    /// Floating-point register `f0..f31` (64-bit, single values NaN-boxed).
    F(u8),
    /// The program counter.
    Pc,
    /// Accrued exception flags (fcsr bits 4:0).
    Fflags,
    /// Dynamic rounding mode (fcsr bits 7:5).
    Frm,
    /// The whole fcsr (`frm << 5 | fflags`).
    Fcsr,
}

impl RiscvReg {
    /// The word index in `CpuState::regs` holding this register, when it is one word.
    pub fn word(self) -> Option<usize> {
        match self {
            RiscvReg::X(i) if i < 32 => Some(i as usize),
            RiscvReg::F(i) if i < 32 => Some(32 + i as usize),
            RiscvReg::Fflags => Some(64),
            RiscvReg::Frm => Some(65),
            _ => None,
        }
    }

    /// Reads this register from `st`.
    pub fn read(self, st: &CpuState) -> Result<u64, Error> {
        match self {
            RiscvReg::X(0) => Ok(0),
            RiscvReg::Pc => Ok(st.pc),
            RiscvReg::Fcsr => Ok(((st.regs[65] & 7) << 5) | (st.regs[64] & 31)),
            r => r.word().map(|w| st.regs[w]).ok_or(Error::NoSuchRegister),
        }
    }

    /// Writes `v` to this register in `st` (fields are masked to their width).
    pub fn write(self, st: &mut CpuState, v: u64) -> Result<(), Error> {
        match self {
            RiscvReg::X(0) => {}
            RiscvReg::Pc => st.pc = v,
            RiscvReg::Fflags => st.regs[64] = v & 31,
            RiscvReg::Frm => st.regs[65] = v & 7,
            RiscvReg::Fcsr => {
                st.regs[64] = v & 31;
                st.regs[65] = (v >> 5) & 7;
            }
            r => st.regs[r.word().ok_or(Error::NoSuchRegister)?] = v,
        }
        Ok(())
    }
}

/// An AArch64 (EL0) register.
///
/// ```
/// use xlat::embed::Arm64Reg;
/// let mut st = xlat_ir::abi::CpuState::new_boxed();
/// Arm64Reg::Nzcv.write(&mut st, 0x6000_0000).unwrap(); // Z and C
/// assert_eq!(Arm64Reg::Nzcv.read(&st).unwrap(), 0x6000_0000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm64Reg {
    /// `x0..x30`.
    X(u8),
    /// The stack pointer.
    Sp,
    /// The program counter.
    Pc,
    /// The condition flags as in the NZCV register (bits 31..28).
    Nzcv,
    /// `v0..v31` (128 bits; the `u64` form is `d<n>`).
    V(u8),
    /// FPCR.
    Fpcr,
    /// FPSR.
    Fpsr,
    /// TPIDR_EL0.
    TpidrEl0,
}

impl Arm64Reg {
    fn offset(self) -> Option<u32> {
        Some(match self {
            Arm64Reg::X(i) if i < 31 => reg_offset(i as usize),
            Arm64Reg::Sp => reg_offset(31),
            Arm64Reg::V(i) if i < 32 => reg_offset(40 + 2 * i as usize),
            Arm64Reg::Fpcr => reg_offset(104),
            Arm64Reg::Fpsr => reg_offset(105),
            Arm64Reg::TpidrEl0 => reg_offset(106),
            _ => return None,
        })
    }

    /// Reads this register from `st` (a vector register's low 64 bits).
    pub fn read(self, st: &CpuState) -> Result<u64, Error> {
        match self {
            Arm64Reg::Pc => Ok(st.pc),
            Arm64Reg::Nzcv => Ok(u64::from(xlat_frontend_aarch64::state::nzcv(st))),
            r => Ok(st.word(r.offset().ok_or(Error::NoSuchRegister)?)),
        }
    }

    /// Writes `v` to this register in `st` (a vector register's low 64 bits; the high half is
    /// zeroed, as a write to `d<n>` does).
    pub fn write(self, st: &mut CpuState, v: u64) -> Result<(), Error> {
        match self {
            Arm64Reg::Pc => st.pc = v,
            Arm64Reg::Nzcv => xlat_frontend_aarch64::state::set_nzcv(st, v),
            Arm64Reg::V(_) => return self.write128(st, u128::from(v)),
            r => st.set_word(r.offset().ok_or(Error::NoSuchRegister)?, v),
        }
        Ok(())
    }

    fn write128(self, st: &mut CpuState, v: u128) -> Result<(), Error> {
        let o = self.offset().ok_or(Error::NoSuchRegister)?;
        st.set_word(o, v as u64);
        st.set_word(o + 8, (v >> 64) as u64);
        Ok(())
    }
}

/// An x86-64 register.
///
/// ```
/// use xlat::embed::X86Reg;
/// let mut st = xlat_ir::abi::CpuState::new_boxed();
/// X86Reg::Rflags.write(&mut st, 0x41).unwrap(); // CF and ZF
/// assert_eq!(X86Reg::Rflags.read(&st).unwrap() & 0xff, 0x43); // bit 1 always reads 1
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum X86Reg {
    /// rax
    Rax,
    /// rcx
    Rcx,
    /// rdx
    Rdx,
    /// rbx
    Rbx,
    /// rsp
    Rsp,
    /// rbp
    Rbp,
    /// rsi
    Rsi,
    /// rdi
    Rdi,
    /// `r8..r15` by number (8..=15); `R(0)` is rax and so on in encoding order.
    R(u8),
    /// rip.
    Rip,
    /// rflags (CF, PF, AF, ZF, SF, OF, DF; bit 1 reads as 1).
    Rflags,
    /// The fs segment base.
    FsBase,
    /// The gs segment base.
    GsBase,
    /// MXCSR.
    Mxcsr,
    /// `xmm0..xmm15` (128 bits; the `u64` form is the low quadword).
    Xmm(u8),
}

/// Bits of rflags the lazy flags keep.
const ARITH_FLAGS: u64 = 0x8d5;
const DF_BIT: u64 = 1 << 10;

impl X86Reg {
    fn gpr(self) -> Option<u8> {
        Some(match self {
            X86Reg::Rax => 0,
            X86Reg::Rcx => 1,
            X86Reg::Rdx => 2,
            X86Reg::Rbx => 3,
            X86Reg::Rsp => 4,
            X86Reg::Rbp => 5,
            X86Reg::Rsi => 6,
            X86Reg::Rdi => 7,
            X86Reg::R(i) if i < 16 => i,
            _ => return None,
        })
    }

    fn offset(self) -> Option<u32> {
        use xlat_frontend_x86::state;
        if let Some(i) = self.gpr() {
            return Some(state::gpr(i));
        }
        Some(match self {
            X86Reg::FsBase => state::FS_BASE,
            X86Reg::GsBase => state::GS_BASE,
            X86Reg::Mxcsr => state::MXCSR,
            X86Reg::Xmm(i) if i < 16 => state::xmm(i),
            _ => return None,
        })
    }

    /// Reads this register from `st` (an xmm register's low quadword).
    pub fn read(self, st: &CpuState) -> Result<u64, Error> {
        use xlat_frontend_x86::{flags, state};
        match self {
            X86Reg::Rip => Ok(st.pc),
            X86Reg::Rflags => {
                let f = flags::eflags(
                    st.word(state::CC_OP),
                    st.word(state::CC_DST),
                    st.word(state::CC_SRC1),
                    st.word(state::CC_SRC2),
                );
                let df = if st.word(state::DF) != 0 { DF_BIT } else { 0 };
                Ok((f & ARITH_FLAGS) | df | 2)
            }
            r => Ok(st.word(r.offset().ok_or(Error::NoSuchRegister)?)),
        }
    }

    /// Writes `v` to this register in `st` (an xmm register's low quadword, the high one
    /// zeroed).
    pub fn write(self, st: &mut CpuState, v: u64) -> Result<(), Error> {
        use xlat_frontend_x86::{flags, state};
        match self {
            X86Reg::Rip => st.pc = v,
            X86Reg::Rflags => {
                st.set_word(state::CC_OP, flags::cc_op(flags::EFLAGS, 8));
                st.set_word(state::CC_SRC1, v & ARITH_FLAGS);
                st.set_word(state::DF, u64::from(v & DF_BIT != 0));
            }
            X86Reg::Xmm(_) => return self.write128(st, u128::from(v)),
            r => st.set_word(r.offset().ok_or(Error::NoSuchRegister)?, v),
        }
        Ok(())
    }

    fn write128(self, st: &mut CpuState, v: u128) -> Result<(), Error> {
        let o = self.offset().ok_or(Error::NoSuchRegister)?;
        st.set_word(o, v as u64);
        st.set_word(o + 8, (v >> 64) as u64);
        Ok(())
    }
}

/// A register of any architecture; `From` each arch's enum, so `reg_read(X86Reg::Rax)` works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reg {
    /// A riscv64 register.
    Riscv(RiscvReg),
    /// An AArch64 register.
    Arm64(Arm64Reg),
    /// An x86-64 register.
    X86(X86Reg),
}

impl From<RiscvReg> for Reg {
    fn from(r: RiscvReg) -> Reg {
        Reg::Riscv(r)
    }
}
impl From<Arm64Reg> for Reg {
    fn from(r: Arm64Reg) -> Reg {
        Reg::Arm64(r)
    }
}
impl From<X86Reg> for Reg {
    fn from(r: X86Reg) -> Reg {
        Reg::X86(r)
    }
}

impl Reg {
    /// The architecture the register belongs to.
    pub fn arch(self) -> Arch {
        match self {
            Reg::Riscv(_) => Arch::Riscv64,
            Reg::Arm64(_) => Arch::Aarch64,
            Reg::X86(_) => Arch::X86_64,
        }
    }

    /// The register numbered `id` in the C ABI (`XLAT_<ARCH>_REG_*` in `xlat.h`):
    /// - riscv64: 0-31 x0-x31, 32-63 f0-f31, 64 pc, 65 fflags, 66 frm, 67 fcsr;
    /// - aarch64: 0-30 x0-x30, 31 sp, 32 pc, 33 nzcv, 34 fpcr, 35 fpsr, 36 tpidr_el0,
    ///   64-95 v0-v31;
    /// - x86-64: 0-15 rax..r15 (encoding order), 16 rip, 17 rflags, 18 fs_base, 19 gs_base,
    ///   20 mxcsr, 32-47 xmm0-xmm15.
    ///
    /// ```
    /// use xlat::embed::{Arch, Reg, X86Reg};
    /// assert_eq!(Reg::from_id(Arch::X86_64, 16), Some(Reg::X86(X86Reg::Rip)));
    /// assert_eq!(Reg::from_id(Arch::X86_64, 99), None);
    /// ```
    pub fn from_id(arch: Arch, id: u32) -> Option<Reg> {
        let small = |lo: u32| (id - lo) as u8;
        Some(match arch {
            Arch::Riscv64 => Reg::Riscv(match id {
                0..=31 => RiscvReg::X(id as u8),
                32..=63 => RiscvReg::F(small(32)),
                64 => RiscvReg::Pc,
                65 => RiscvReg::Fflags,
                66 => RiscvReg::Frm,
                67 => RiscvReg::Fcsr,
                _ => return None,
            }),
            Arch::Aarch64 => Reg::Arm64(match id {
                0..=30 => Arm64Reg::X(id as u8),
                31 => Arm64Reg::Sp,
                32 => Arm64Reg::Pc,
                33 => Arm64Reg::Nzcv,
                34 => Arm64Reg::Fpcr,
                35 => Arm64Reg::Fpsr,
                36 => Arm64Reg::TpidrEl0,
                64..=95 => Arm64Reg::V(small(64)),
                _ => return None,
            }),
            Arch::X86_64 => Reg::X86(match id {
                0..=15 => X86Reg::R(id as u8),
                16 => X86Reg::Rip,
                17 => X86Reg::Rflags,
                18 => X86Reg::FsBase,
                19 => X86Reg::GsBase,
                20 => X86Reg::Mxcsr,
                32..=47 => X86Reg::Xmm(small(32)),
                _ => return None,
            }),
        })
    }

    /// Reads the register (up to 64 bits; a vector register's low half).
    pub fn read(self, st: &CpuState) -> Result<u64, Error> {
        match self {
            Reg::Riscv(r) => r.read(st),
            Reg::Arm64(r) => r.read(st),
            Reg::X86(r) => r.read(st),
        }
    }

    /// Writes the register.
    pub fn write(self, st: &mut CpuState, v: u64) -> Result<(), Error> {
        match self {
            Reg::Riscv(r) => r.write(st, v),
            Reg::Arm64(r) => r.write(st, v),
            Reg::X86(r) => r.write(st, v),
        }
    }

    /// Reads the full value of a register (128 bits for vector registers, zero-extended for
    /// the others).
    pub fn read128(self, st: &CpuState) -> Result<u128, Error> {
        let off = match self {
            Reg::Arm64(r @ Arm64Reg::V(_)) => r.offset(),
            Reg::X86(r @ X86Reg::Xmm(_)) => r.offset(),
            _ => None,
        };
        match off {
            Some(o) => Ok(u128::from(st.word(o)) | (u128::from(st.word(o + 8)) << 64)),
            None => self.read(st).map(u128::from),
        }
    }

    /// Writes the full value of a register (the low 64 bits of non-vector registers).
    pub fn write128(self, st: &mut CpuState, v: u128) -> Result<(), Error> {
        match self {
            Reg::Arm64(r @ Arm64Reg::V(_)) => r.write128(st, v),
            Reg::X86(r @ X86Reg::Xmm(_)) => r.write128(st, v),
            _ => self.write(st, v as u64),
        }
    }

    /// Whether this is the program counter.
    pub fn is_pc(self) -> bool {
        matches!(
            self,
            Reg::Riscv(RiscvReg::Pc) | Reg::Arm64(Arm64Reg::Pc) | Reg::X86(X86Reg::Rip)
        )
    }
}
