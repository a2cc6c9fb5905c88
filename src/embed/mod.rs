//! Embedding API (issue 8), first piece: per-architecture register names and CPU contexts.
//!
//! Only the register layer exists so far: [`RiscvReg`] names riscv64 registers and maps them to
//! their words in [`CpuState`]; [`Context`] saves and restores the architectural state. The
//! engine (memory mapping, `start`/`stop`, hooks) and the C ABI are still to come.

use xlat_ir::abi::{CpuState, STATE_WORDS};

/// A riscv64 register, as the embedding API names it.
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

/// Errors of the register layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegError {
    /// The register does not exist (e.g. `x32`).
    #[error("no such register: {0:?}")]
    NoSuchRegister(RiscvReg),
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
    pub fn read(self, st: &CpuState) -> Result<u64, RegError> {
        match self {
            RiscvReg::X(0) => Ok(0),
            RiscvReg::Pc => Ok(st.pc),
            RiscvReg::Fcsr => Ok((st.regs[65] & 7) << 5 | (st.regs[64] & 31)),
            r => r
                .word()
                .map(|w| st.regs[w])
                .ok_or(RegError::NoSuchRegister(r)),
        }
    }

    /// Writes `v` to this register in `st` (fields are masked to their width).
    pub fn write(self, st: &mut CpuState, v: u64) -> Result<(), RegError> {
        match self {
            RiscvReg::X(0) => {}
            RiscvReg::Pc => st.pc = v,
            RiscvReg::Fflags => st.regs[64] = v & 31,
            RiscvReg::Frm => st.regs[65] = v & 7,
            RiscvReg::Fcsr => {
                st.regs[64] = v & 31;
                st.regs[65] = (v >> 5) & 7;
            }
            r => st.regs[r.word().ok_or(RegError::NoSuchRegister(r))?] = v,
        }
        Ok(())
    }
}

/// A saved CPU context: the program counter and every architectural state word.
#[derive(Clone)]
pub struct Context {
    pc: u64,
    regs: Box<[u64; STATE_WORDS]>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("pc", &format_args!("{:#x}", self.pc))
            .finish()
    }
}

impl Context {
    /// Saves the architectural state of `st`.
    pub fn save(st: &CpuState) -> Context {
        Context {
            pc: st.pc,
            regs: Box::new(st.regs),
        }
    }

    /// Restores this context into `st`.
    pub fn restore(&self, st: &mut CpuState) {
        st.pc = self.pc;
        st.regs = *self.regs;
    }
}

#[cfg(test)]
mod tests;
