//! Two tiny devices for bare-metal tests before (or without) a full board: a write-only
//! 16550-like UART and a SiFive-style test finisher, at the addresses QEMU's riscv64 `virt`
//! uses. Boards built on real device models do not need them.

use super::MmioDevice;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};

/// Transmit-only 16550: a byte written to THR (offset 0) goes to `out`; LSR (offset 5) reads
/// "transmitter empty"; every other register reads 0.
pub struct TxUart {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for TxUart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TxUart")
    }
}

impl TxUart {
    /// A UART writing to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> TxUart {
        TxUart {
            out: Mutex::new(out),
        }
    }
}

impl MmioDevice for TxUart {
    fn read(&self, offset: u64, _size: u8) -> u64 {
        if offset == 5 { 0x60 } else { 0 }
    }
    fn write(&self, offset: u64, _size: u8, value: u64) {
        if offset == 0 {
            let mut o = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = o.write_all(&[value as u8]);
            let _ = o.flush();
        }
    }
}

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

/// A minimal CLINT (SiFive core-local interruptor) for one hart: `msip` at 0 drives the
/// machine software interrupt line, `mtimecmp` at 0x4000 the machine timer line against
/// [`super::clock`], `mtime` at 0xbff8 reads the clock. A thread raises the timer line at the
/// deadline.
#[derive(Debug)]
pub struct MiniClint {
    inner: Arc<ClintInner>,
}

#[derive(Debug)]
struct ClintInner {
    msip: Arc<dyn super::IrqLine>,
    mtip: Arc<dyn super::IrqLine>,
    cmp: Mutex<u64>,
    cv: Condvar,
}

impl MiniClint {
    /// A CLINT driving `msip` and `mtip`.
    pub fn new(msip: Arc<dyn super::IrqLine>, mtip: Arc<dyn super::IrqLine>) -> MiniClint {
        let inner = Arc::new(ClintInner {
            msip,
            mtip,
            cmp: Mutex::new(u64::MAX),
            cv: Condvar::new(),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::spawn(move || {
            while let Some(c) = weak.upgrade() {
                let g = c.cmp.lock().unwrap_or_else(|e| e.into_inner());
                let cmp = *g;
                if super::clock::mtime() >= cmp {
                    c.mtip.set_level(true);
                    let _ = c.cv.wait_timeout(g, std::time::Duration::from_millis(50));
                } else {
                    let d = super::clock::until(cmp).min(std::time::Duration::from_millis(50));
                    let _ = c.cv.wait_timeout(g, d);
                }
            }
        });
        MiniClint { inner }
    }
}

impl MmioDevice for MiniClint {
    fn read(&self, offset: u64, size: u8) -> u64 {
        let cmp = *self.inner.cmp.lock().unwrap_or_else(|e| e.into_inner());
        let v = match offset & !7 {
            0x4000 => cmp,
            0xbff8 => super::clock::mtime(),
            _ => 0,
        };
        let v = v >> (8 * (offset & 7));
        if size >= 8 {
            v
        } else {
            v & ((1u64 << (8 * size)) - 1)
        }
    }
    fn write(&self, offset: u64, size: u8, value: u64) {
        match offset {
            0 => self.inner.msip.set_level(value & 1 != 0),
            0x4000..=0x4007 => {
                let mut g = self.inner.cmp.lock().unwrap_or_else(|e| e.into_inner());
                let sh = 8 * (offset & 7);
                let m = if size >= 8 {
                    u64::MAX
                } else {
                    ((1u64 << (8 * size)) - 1) << sh
                };
                *g = (*g & !m) | ((value << sh) & m);
                self.inner.mtip.set_level(super::clock::mtime() >= *g);
                self.inner.cv.notify_all();
            }
            _ => {}
        }
    }
}

/// A register window that reads as zero and ignores writes (stands in for a device a
/// firmware probes but a test does not need, e.g. the PLIC before a real one exists).
#[derive(Debug, Default)]
pub struct RazWi;

impl MmioDevice for RazWi {
    fn read(&self, _offset: u64, _size: u8) -> u64 {
        0
    }
    fn write(&self, _offset: u64, _size: u8, _value: u64) {}
}
