//! # xlat
//!
//! A dynamic binary translator and machine emulator. Guest code (RISC-V today; AArch64 and
//! x86-64 next) is decoded and lifted into one shared IR ([`xlat_ir`]), compiled by Cranelift into
//! host code that runs chained block to block ([`xlat_backend`]), and run as a Linux process
//! ([`xlat_linux_user`]). This crate is the composition root: it picks the frontend for a program
//! and hosts the `xlat` command line. The embedding API (Unicorn-like) grows here.

pub mod cli;
pub mod elfcheck;
pub mod embed;
pub mod system;

use std::sync::Arc;

use xlat_ir::Frontend;

/// Guest architectures this build can run, by the name `--arch` takes.
pub const ARCHES: &[&str] = &["riscv64", "x86_64", "aarch64"];

/// The frontend for an architecture name, if this build has it.
pub fn frontend_for(arch: &str) -> Option<Arc<dyn Frontend>> {
    match arch {
        "riscv64" => Some(Arc::new(xlat_frontend_riscv::Riscv64::new())),
        "x86_64" => Some(Arc::new(xlat_frontend_x86::X86_64::new())),
        "aarch64" => Some(Arc::new(xlat_frontend_aarch64::Aarch64::new())),
        _ => None,
    }
}
