//! The x86 I/O port space and the microvm's small port devices (i8042 reset, debug exit,
//! POST port). Port devices are [`MmioDevice`]s: the offset is `port - base`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use xlat_softmmu::system::MmioDevice;
use xlat_softmmu::system::testdev::{Shutdown, StopReason};

/// One range of ports.
#[derive(Debug, Clone)]
struct PortRange {
    base: u16,
    len: u16,
    dev: Arc<dyn MmioDevice>,
}

/// The I/O port space of a machine.
#[derive(Debug, Default)]
pub struct PortBus {
    ranges: Vec<PortRange>,
    /// Accesses to ports nothing answers (reads give all-ones, writes are dropped).
    unassigned: AtomicU64,
    /// Log unassigned accesses on stderr (`-d guest_error`).
    pub log_unassigned: bool,
}

impl PortBus {
    /// An empty port space.
    pub fn new() -> PortBus {
        PortBus::default()
    }

    /// Maps `dev` at ports `[base, base + len)`; overlapping ranges are refused.
    pub fn add(&mut self, base: u16, len: u16, dev: Arc<dyn MmioDevice>) -> Result<(), String> {
        let end = u32::from(base) + u32::from(len);
        if len == 0 || end > 0x1_0000 {
            return Err(format!(
                "port range {base:#x}+{len:#x} is empty or too long"
            ));
        }
        let hit = |r: &PortRange| {
            u32::from(base) < u32::from(r.base) + u32::from(r.len) && u32::from(r.base) < end
        };
        if self.ranges.iter().any(hit) {
            return Err(format!("port range {base:#x}+{len:#x} overlaps another"));
        }
        self.ranges.push(PortRange { base, len, dev });
        Ok(())
    }

    fn find(&self, port: u16) -> Option<&PortRange> {
        self.ranges
            .iter()
            .find(|r| port >= r.base && u32::from(port) < u32::from(r.base) + u32::from(r.len))
    }

    /// `in` of `size` bytes (1, 2 or 4) from `port`.
    pub fn read(&self, port: u16, size: u8) -> u32 {
        match self.find(port) {
            Some(r) => r.dev.read(u64::from(port - r.base), size) as u32,
            None => {
                self.note(port, size, None);
                match size {
                    1 => 0xff,
                    2 => 0xffff,
                    _ => 0xffff_ffff,
                }
            }
        }
    }

    /// `out` of the low `size` bytes of `val` to `port`.
    pub fn write(&self, port: u16, size: u8, val: u32) {
        match self.find(port) {
            Some(r) => r.dev.write(u64::from(port - r.base), size, u64::from(val)),
            None => self.note(port, size, Some(val)),
        }
    }

    fn note(&self, port: u16, size: u8, val: Option<u32>) {
        self.unassigned.fetch_add(1, Ordering::Relaxed);
        if self.log_unassigned {
            match val {
                Some(v) => {
                    eprintln!("guest_error: out{size} to unassigned port {port:#x} ({v:#x})")
                }
                None => eprintln!("guest_error: in{size} from unassigned port {port:#x}"),
            }
        }
    }

    /// How many accesses hit no device.
    pub fn unassigned_count(&self) -> u64 {
        self.unassigned.load(Ordering::Relaxed)
    }
}

/// The i8042 keyboard controller, only as much as a PC needs to reset: a write of 0xFE
/// (pulse the reset line) to the command port 0x64 requests a reset; the status register
/// reads 0 (input and output buffers empty), data reads 0.
#[derive(Debug)]
pub struct I8042 {
    stop: Arc<Shutdown>,
}

impl I8042 {
    /// Ports 0x60..0x65, reset requests to `stop`.
    pub fn new(stop: Arc<Shutdown>) -> I8042 {
        I8042 { stop }
    }
}

impl MmioDevice for I8042 {
    fn read(&self, _offset: u64, _size: u8) -> u64 {
        0
    }
    fn write(&self, offset: u64, _size: u8, value: u64) {
        if offset == 4 && value as u8 == 0xfe {
            self.stop.request(StopReason::Reset);
        }
    }
}

/// The debug exit port (as QEMU's isa-debug-exit, at 0x501): writing `v` powers the machine
/// off with exit status `v & 0xff` (QEMU exits with `(v << 1) | 1` instead).
#[derive(Debug)]
pub struct DebugExit {
    stop: Arc<Shutdown>,
}

impl DebugExit {
    /// Requests to `stop`.
    pub fn new(stop: Arc<Shutdown>) -> DebugExit {
        DebugExit { stop }
    }
}

impl MmioDevice for DebugExit {
    fn read(&self, _offset: u64, _size: u8) -> u64 {
        0xffff_ffff
    }
    fn write(&self, _offset: u64, _size: u8, value: u64) {
        self.stop.request(StopReason::Exit((value & 0xff) as i32));
    }
}

/// A port that ignores writes and reads as zero (port 0x80, used by Linux for I/O delays).
#[derive(Debug)]
pub struct Sink;

impl MmioDevice for Sink {
    fn read(&self, _offset: u64, _size: u8) -> u64 {
        0
    }
    fn write(&self, _offset: u64, _size: u8, _value: u64) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_unassigned_and_exits() {
        let stop = Shutdown::new();
        let mut p = PortBus::new();
        p.add(0x60, 5, Arc::new(I8042::new(stop.clone()))).unwrap();
        p.add(0x501, 2, Arc::new(DebugExit::new(stop.clone())))
            .unwrap();
        assert!(p.add(0x62, 1, Arc::new(Sink)).is_err());
        assert!(p.add(0xffff, 2, Arc::new(Sink)).is_err());
        assert_eq!(p.read(0x64, 1), 0);
        assert_eq!(p.read(0x70, 1), 0xff);
        assert_eq!(p.read(0x70, 2), 0xffff);
        p.write(0x70, 4, 1);
        assert_eq!(p.unassigned_count(), 3);
        p.write(0x64, 1, 0x12);
        assert_eq!(stop.get(), None);
        p.write(0x64, 1, 0xfe);
        assert_eq!(stop.get(), Some(StopReason::Reset));
        let stop = Shutdown::new();
        DebugExit::new(stop.clone()).write(0, 1, 0x107);
        assert_eq!(stop.get(), Some(StopReason::Exit(7)));
    }
}
