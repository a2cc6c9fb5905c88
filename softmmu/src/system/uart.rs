//! A minimal 16550A UART with interrupts: transmit (to a `Write`), receive (bytes pushed
//! with [`MiniUart::push_input`]), IER/IIR/LSR semantics enough for Linux's 8250 driver, and
//! a level interrupt line. (A stand-in until the board's own serial device exists.)

use super::{IrqLine, MmioDevice};
use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};

const IER_RDI: u8 = 1;
const IER_THRI: u8 = 2;
const LCR_DLAB: u8 = 0x80;

#[derive(Debug, Default)]
struct Regs {
    ier: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    fcr: u8,
    dll: u8,
    dlm: u8,
    /// The transmitter-empty interrupt is pending (cleared by reading IIR while it is the
    /// cause or by writing THR; set again once the byte is "sent", which is at once).
    thre: bool,
    rx: VecDeque<u8>,
}

/// The UART (see the module doc).
pub struct MiniUart {
    regs: Mutex<Regs>,
    out: Mutex<Box<dyn Write + Send>>,
    irq: Arc<dyn IrqLine>,
}

impl std::fmt::Debug for MiniUart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MiniUart")
    }
}

impl MiniUart {
    /// A UART writing to `out` and raising `irq`.
    pub fn new(out: Box<dyn Write + Send>, irq: Arc<dyn IrqLine>) -> MiniUart {
        MiniUart {
            regs: Mutex::new(Regs::default()),
            out: Mutex::new(out),
            irq,
        }
    }

    /// Queues received bytes (from the console).
    pub fn push_input(&self, bytes: &[u8]) {
        let mut r = self.regs.lock().unwrap_or_else(|e| e.into_inner());
        r.rx.extend(bytes);
        self.update(&r);
    }

    fn iir(r: &Regs) -> u8 {
        let fifo = if r.fcr & 1 != 0 { 0xc0 } else { 0 };
        fifo | if r.ier & IER_RDI != 0 && !r.rx.is_empty() {
            0x04
        } else if r.ier & IER_THRI != 0 && r.thre {
            0x02
        } else {
            0x01
        }
    }

    fn update(&self, r: &Regs) {
        self.irq.set_level(Self::iir(r) & 1 == 0);
    }
}

impl MmioDevice for MiniUart {
    fn read(&self, offset: u64, _size: u8) -> u64 {
        let mut r = self.regs.lock().unwrap_or_else(|e| e.into_inner());
        let dlab = r.lcr & LCR_DLAB != 0;
        let v = match offset {
            0 if dlab => r.dll,
            0 => r.rx.pop_front().unwrap_or(0),
            1 if dlab => r.dlm,
            1 => r.ier,
            2 => {
                let v = Self::iir(&r);
                if v & 0x0f == 0x02 {
                    r.thre = false;
                }
                v
            }
            3 => r.lcr,
            4 => r.mcr,
            5 => 0x60 | u8::from(!r.rx.is_empty()),
            6 => 0xb0,
            7 => r.scr,
            _ => 0,
        };
        self.update(&r);
        u64::from(v)
    }

    fn write(&self, offset: u64, _size: u8, value: u64) {
        let mut r = self.regs.lock().unwrap_or_else(|e| e.into_inner());
        let v = value as u8;
        let dlab = r.lcr & LCR_DLAB != 0;
        match offset {
            0 if dlab => r.dll = v,
            0 => {
                let mut o = self.out.lock().unwrap_or_else(|e| e.into_inner());
                let _ = o.write_all(&[v]);
                let _ = o.flush();
                r.thre = true;
            }
            1 if dlab => r.dlm = v,
            1 => {
                if v & IER_THRI != 0 && r.ier & IER_THRI == 0 {
                    r.thre = true;
                }
                r.ier = v & 0x0f;
            }
            2 => r.fcr = v,
            3 => r.lcr = v,
            4 => r.mcr = v,
            7 => r.scr = v,
            _ => {}
        }
        self.update(&r);
    }
}
