//! xlat's RISC-V frontend: RV64GC + Zba/Zbb/Zbs decoder, lifter, helpers
pub mod fpu;
