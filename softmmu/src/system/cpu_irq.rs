//! The interrupt inputs of one CPU: a word of level-triggered lines (bit numbers are the
//! architecture's, e.g. RISC-V `mip` bits) that devices drive through [`IrqLine`]s. Raising a
//! line pulls the hart out of compiled code (its `exit_request`) and wakes it from a
//! wait-for-interrupt.

use super::IrqLine;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A CPU's interrupt lines (see the module doc).
#[derive(Debug, Default)]
pub struct CpuIrqs {
    bits: AtomicU64,
    /// Address of the running hart's `exit_request` (0: none attached), and the wake-up state.
    kick: Mutex<usize>,
    wake: Condvar,
}

/// Bit of `exit_request` an interrupt or a kick sets.
pub const KICK: u32 = 1;

#[derive(Debug)]
struct Line {
    cpu: Arc<CpuIrqs>,
    bit: u32,
}

impl IrqLine for Line {
    fn set_level(&self, level: bool) {
        self.cpu.set(self.bit, level);
    }
}

impl CpuIrqs {
    /// No line raised, no hart attached.
    pub fn new() -> Arc<CpuIrqs> {
        Arc::new(CpuIrqs::default())
    }

    /// The line for bit `bit` (< 64).
    pub fn line(self: &Arc<Self>, bit: u32) -> Arc<dyn IrqLine> {
        Arc::new(Line {
            cpu: self.clone(),
            bit: bit & 63,
        })
    }

    /// The lines raised now.
    pub fn pending(&self) -> u64 {
        self.bits.load(Ordering::Acquire)
    }

    /// Sets line `bit`'s level; raising it kicks the hart.
    pub fn set(&self, bit: u32, level: bool) {
        let m = 1u64 << (bit & 63);
        let old = if level {
            self.bits.fetch_or(m, Ordering::AcqRel)
        } else {
            self.bits.fetch_and(!m, Ordering::AcqRel)
        };
        if level && old & m == 0 {
            self.kick();
        }
    }

    /// Makes the attached hart leave compiled code at its next block boundary and wakes it
    /// from a wait.
    pub fn kick(&self) {
        let g = self.kick.lock().unwrap_or_else(|e| e.into_inner());
        if *g != 0 {
            // SAFETY: a non-zero address is the `exit_request` of the state the attached hart
            // runs; `detach` clears it under this lock before that state can go away.
            unsafe { &*(*g as *const AtomicU32) }.fetch_or(KICK, Ordering::AcqRel);
        }
        self.wake.notify_all();
    }

    /// Attaches the hart whose `exit_request` is `req`. The caller must [`CpuIrqs::detach`]
    /// before `req` is freed or moved.
    pub fn attach(&self, req: &AtomicU32) {
        *self.kick.lock().unwrap_or_else(|e| e.into_inner()) = req as *const AtomicU32 as usize;
    }

    /// Detaches the hart.
    pub fn detach(&self) {
        *self.kick.lock().unwrap_or_else(|e| e.into_inner()) = 0;
    }

    /// Sleeps until `done()` holds (checked whenever a line is raised or [`CpuIrqs::kick`]
    /// is called) or `timeout` passes.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn() -> bool) {
        let g = self.kick.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self
            .wake
            .wait_timeout_while(g, timeout, |_| !done())
            .unwrap_or_else(|e| e.into_inner());
    }
}
