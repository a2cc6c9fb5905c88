//! The x86-64 `microvm` machine (issue 7): its port space and small port devices
//! ([`ports`]), the loader and boot CPU state ([`boot`]) and the board ([`microvm`]).
//! Accelerators (accel-kvm, the JIT) run its vCPUs over `Microvm::bus` (RAM at 0 and MMIO),
//! `Microvm::ports` and an [`microvm::IrqChip`] of their own.

pub mod acpi;
pub mod boot;
pub mod microvm;
pub mod mptable;
pub mod ports;
pub mod rtc;

pub use boot::{BootMode, BootState, Segment};
pub use microvm::{IrqChip, LateIrqChip, Microvm, MicrovmConfig};
pub use ports::PortBus;
