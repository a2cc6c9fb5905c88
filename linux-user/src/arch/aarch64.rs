//! aarch64 (arm64): asm-generic syscall numbers, the CONFIG_CLONE_BACKWARDS clone, and arm64's
//! own `open` flag bits (O_DIRECTORY, O_NOFOLLOW, O_DIRECT and O_LARGEFILE differ from the
//! asm-generic values the shared layer takes). No signal frame yet.

use xlat_ir::abi::CpuState;
use xlat_softmmu::user::AddressSpace;

use super::{Pre, UserArch};
use crate::syscall::table::{Sys, generic};

/// ELF `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;

/// The arm64 Linux ABI.
#[derive(Debug)]
pub struct Aarch64;

// arm64 (arch/arm64/include/uapi/asm/fcntl.h) and asm-generic values.
const ARM_DIRECTORY: u64 = 0o40000;
const ARM_NOFOLLOW: u64 = 0o100000;
const ARM_DIRECT: u64 = 0o200000;
const ARM_LARGEFILE: u64 = 0o400000;
const GEN_DIRECT: u64 = 0o40000;
const GEN_LARGEFILE: u64 = 0o100000;
const GEN_DIRECTORY: u64 = 0o200000;
const GEN_NOFOLLOW: u64 = 0o400000;

/// arm64 open flags to asm-generic ones.
pub fn open_flags_to_generic(f: u64) -> u64 {
    let moved = ARM_DIRECTORY | ARM_NOFOLLOW | ARM_DIRECT | ARM_LARGEFILE;
    let mut out = f & !moved;
    for (arm, gen_) in [
        (ARM_DIRECTORY, GEN_DIRECTORY),
        (ARM_NOFOLLOW, GEN_NOFOLLOW),
        (ARM_DIRECT, GEN_DIRECT),
        (ARM_LARGEFILE, GEN_LARGEFILE),
    ] {
        if f & arm != 0 {
            out |= gen_;
        }
    }
    out
}

const OPENAT: u64 = 56;
const FCNTL: u64 = 25;
const F_SETFL: u64 = 4;

impl UserArch for Aarch64 {
    fn name(&self) -> &'static str {
        "aarch64"
    }

    fn elf_machine(&self) -> u16 {
        EM_AARCH64
    }

    fn syscall(&self, nr: u64) -> Option<Sys> {
        if nr >= 1000 { None } else { generic(nr) }
    }

    fn clone_args(&self) -> (usize, usize, usize) {
        (2, 4, 3)
    }

    fn platform(&self) -> Option<&'static str> {
        Some("aarch64")
    }

    fn before_syscall(&self, _: &mut CpuState, _: &AddressSpace, nr: u64, a: [u64; 6]) -> Pre {
        let mut a = a;
        match nr {
            OPENAT => a[2] = open_flags_to_generic(a[2]),
            FCNTL if a[1] == F_SETFL => a[2] = open_flags_to_generic(a[2]),
            _ => {}
        }
        Pre::Call(nr, a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm64_open_flags_map_to_generic() {
        // O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC as arm64 musl/glibc pass it: 0x84800.
        assert_eq!(open_flags_to_generic(0x84800), 0x80000 | 0x800 | 0x10000);
        assert_eq!(open_flags_to_generic(0o100000), 0o400000);
        assert_eq!(open_flags_to_generic(0o1101), 0o1101);
    }
}
