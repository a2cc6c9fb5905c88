//! The `virt` board's ns16550a UART: vm-superio's `Serial` behind an [`MmioDevice`] window
//! (byte registers at offsets 0..8), output to a writer, input from a queue (fed by the
//! console thread), and its interrupt as a level on a PLIC source: high while IIR shows a
//! pending cause (read from the model's state after every access, without side effects).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use vm_superio::{Serial as Uart16550, Trigger};
use xlat_softmmu::system::{IrqLine, MmioDevice};

/// vm-superio's edge notification; the level is derived from IIR instead.
#[derive(Debug)]
struct NoEdge;

impl Trigger for NoEdge {
    type E = ();
    fn trigger(&self) -> Result<(), ()> {
        Ok(())
    }
}

struct Inner {
    uart: Uart16550<NoEdge, vm_superio::serial::NoEvents, Box<dyn Write + Send>>,
    /// Input beyond the UART's 64-byte FIFO.
    backlog: VecDeque<u8>,
}

impl Inner {
    fn refill(&mut self) {
        while !self.backlog.is_empty() {
            let room = self.uart.fifo_capacity();
            if room == 0 {
                break;
            }
            let n = room.min(self.backlog.len());
            let chunk: Vec<u8> = self.backlog.drain(..n).collect();
            match self.uart.enqueue_raw_bytes(&chunk) {
                Ok(k) if k == n => {}
                Ok(k) => {
                    for &b in chunk[k..].iter().rev() {
                        self.backlog.push_front(b);
                    }
                    break;
                }
                // receiving disabled (loopback mode): drop, as a real line would
                Err(_) => break,
            }
        }
    }
}

/// The serial port.
pub struct Serial {
    inner: Mutex<Inner>,
    irq: Arc<dyn IrqLine>,
}

impl std::fmt::Debug for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Serial(ns16550a)")
    }
}

impl Serial {
    /// A UART writing to `out` and interrupting on `irq`.
    pub fn new(out: Box<dyn Write + Send>, irq: Arc<dyn IrqLine>) -> Serial {
        Serial {
            inner: Mutex::new(Inner {
                uart: Uart16550::new(NoEdge, out),
                backlog: VecDeque::new(),
            }),
            irq,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the interrupt line from IIR bit 0 (0: a cause is pending).
    fn sync_irq(&self, g: &Inner) {
        self.irq
            .set_level(g.uart.state().interrupt_identification & 1 == 0);
    }

    /// Queues bytes typed by the user (delivered as the guest drains the FIFO).
    pub fn push_input(&self, bytes: &[u8]) {
        let mut g = self.lock();
        g.backlog.extend(bytes);
        g.refill();
        self.sync_irq(&g);
    }
}

impl MmioDevice for Serial {
    fn read(&self, offset: u64, _size: u8) -> u64 {
        let Ok(off) = u8::try_from(offset) else {
            return 0;
        };
        if off >= 8 {
            return 0;
        }
        let mut g = self.lock();
        let v = g.uart.read(off);
        if off == 0 {
            g.refill();
        }
        self.sync_irq(&g);
        u64::from(v)
    }

    fn write(&self, offset: u64, _size: u8, value: u64) {
        let Ok(off) = u8::try_from(offset) else {
            return;
        };
        if off < 8 {
            let mut g = self.lock();
            let _ = g.uart.write(off, value as u8);
            self.sync_irq(&g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::LevelLine as Level;
    use std::sync::atomic::Ordering;

    #[derive(Clone)]
    struct Out(Arc<Mutex<Vec<u8>>>);
    impl Write for Out {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    const THR: u64 = 0;
    const IER: u64 = 1;
    const IIR: u64 = 2;
    const LCR: u64 = 3;
    const LSR: u64 = 5;

    #[test]
    fn driver_like_transmit_and_receive() {
        let out = Out(Arc::new(Mutex::new(Vec::new())));
        let irq = Arc::new(Level::default());
        let s = Serial::new(Box::new(out.clone()), irq.clone());
        // OpenSBI/Linux setup: 8N1, divisor via DLAB, FIFO on
        s.write(LCR, 1, 0x80);
        s.write(0, 1, 1);
        s.write(1, 1, 0);
        s.write(LCR, 1, 0x03);
        assert_eq!(s.read(LCR, 1), 0x03);
        s.write(2, 1, 0x07);
        assert_eq!(s.read(LSR, 1) & 0x60, 0x60, "THR empty, transmitter idle");
        for b in b"hi\n" {
            s.write(THR, 1, u64::from(*b));
        }
        assert_eq!(&*out.0.lock().unwrap(), b"hi\n");
        // THR-empty interrupt: raised when enabled, cleared by reading IIR
        s.write(IER, 1, 2);
        assert!(irq.0.load(Ordering::SeqCst), "THRE interrupt");
        assert_eq!(s.read(IIR, 1) & 0x0f, 0x02);
        assert!(!irq.0.load(Ordering::SeqCst), "IIR read clears THRE");
        // receive with the RX interrupt enabled
        s.write(IER, 1, 1);
        assert!(!irq.0.load(Ordering::SeqCst));
        s.push_input(b"ok");
        assert!(irq.0.load(Ordering::SeqCst), "RX interrupt");
        assert_eq!(s.read(IIR, 1) & 0x0f, 0x04, "cause: received data");
        assert_eq!(s.read(LSR, 1) & 1, 1, "data ready");
        assert_eq!(s.read(0, 1), u64::from(b'o'));
        assert_eq!(s.read(0, 1), u64::from(b'k'));
        assert_eq!(s.read(LSR, 1) & 1, 0, "drained");
        assert!(!irq.0.load(Ordering::SeqCst), "RX interrupt gone");
        assert_eq!(s.read(IIR, 1) & 1, 1, "no interrupt pending");
    }

    #[test]
    fn input_beyond_the_fifo_waits() {
        let s = Serial::new(Box::new(std::io::sink()), Arc::new(Level::default()));
        let data: Vec<u8> = (0..200u8).collect();
        s.push_input(&data);
        let got: Vec<u8> = (0..200).map(|_| s.read(0, 1) as u8).collect();
        assert_eq!(got, data);
        assert_eq!(s.read(100, 4), 0);
    }
}
