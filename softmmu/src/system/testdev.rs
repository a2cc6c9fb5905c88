//! How a machine stops: the shutdown request any thread (a device, the console) can make,
//! and the SiFive-style test finisher of QEMU's riscv64 `virt` that makes it.

use super::MmioDevice;
use std::sync::{Arc, Condvar, Mutex};

/// How a machine was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Power off with this exit status (0 = pass).
    Exit(i32),
    /// Reset.
    Reset,
}

/// A shutdown request any thread can make and the machine loop polls.
#[derive(Default)]
pub struct Shutdown {
    state: Mutex<Option<StopReason>>,
    cv: Condvar,
    /// Called after a request (kicks the harts).
    hooks: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("state", &self.get())
            .finish_non_exhaustive()
    }
}

impl Shutdown {
    /// Nothing requested.
    pub fn new() -> Arc<Shutdown> {
        Arc::new(Shutdown::default())
    }
    /// Requests a stop (the first request wins).
    pub fn request(&self, r: StopReason) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.is_none() {
            *s = Some(r);
        }
        drop(s);
        self.cv.notify_all();
        for h in self.hooks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            h();
        }
    }
    /// The request, if any.
    pub fn get(&self) -> Option<StopReason> {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Runs `f` after every request (to kick harts out of compiled code).
    pub fn on_request(&self, f: Box<dyn Fn() + Send + Sync>) {
        self.hooks.lock().unwrap_or_else(|e| e.into_inner()).push(f);
    }
}

/// SiFive test finisher: writing `0x5555` powers off with status 0, `(code << 16) | 0x3333`
/// with status `code`, `0x7777` resets.
#[derive(Debug)]
pub struct Finisher {
    stop: Arc<Shutdown>,
}

impl Finisher {
    /// A finisher signalling `stop`.
    pub fn new(stop: Arc<Shutdown>) -> Finisher {
        Finisher { stop }
    }
}

impl MmioDevice for Finisher {
    fn read(&self, _offset: u64, _size: u8) -> u64 {
        0
    }
    fn write(&self, offset: u64, _size: u8, value: u64) {
        if offset != 0 {
            return;
        }
        match value & 0xffff {
            0x5555 => self.stop.request(StopReason::Exit(0)),
            0x3333 => self
                .stop
                .request(StopReason::Exit(((value >> 16) & 0xffff) as i32)),
            0x7777 => self.stop.request(StopReason::Reset),
            _ => {}
        }
    }
}
