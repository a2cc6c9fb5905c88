//! The JIT vCPU's local APIC (xAPIC registers at 0xfee0_0000, the TSC-deadline MSR) and the
//! board's IOAPIC (0xfec0_0000, 24 pins, GSI n on pin n as the MP table says), modelled on
//! what KVM's in-kernel irqchip provides, so a guest sees the same under both accelerators.
//!
//! Local APIC: ID 0, version 0x50014 (six LVT entries), TPR/PPR, EOI (a level-triggered vector
//! also ends the IOAPIC's remote IRR), SVR (software enable), ISR/TMR/IRR, ESR, ICR (fixed
//! interrupts to itself: the self shorthand, all-including-self, or its own ID; with one vCPU
//! other targets do not exist and INIT/SIPI go nowhere, noted under `-d unimp`), the LVT
//! timer in one-shot, periodic (at least 200 µs, KVM's floor) and TSC-deadline modes on a
//! 1 GHz bus clock with the divide register, and LINT0 in ExtINT mode passing the 8259's
//! interrupts through ([`Lapic::extint`]). Not modelled: LINT1/NMI, the thermal, performance
//! and error LVTs (kept, never fire), relocation of the APIC base, x2APIC (not in CPUID).
//!
//! The timer thread ([`Lapic::run`]) sleeps until the next expiry and then sets the vector in
//! IRR and kicks the vCPU.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use xlat_softmmu::system::{CpuIrqs, MmioDevice};

/// The time-stamp counter: nanoseconds since the Unix epoch (1 GHz), the value the lifted
/// rdtsc reads.
pub fn tsc_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// IA32_TSC_DEADLINE.
pub const MSR_TSC_DEADLINE: u32 = 0x6e0;

const LVT_MASK: u32 = 1 << 16;
/// LVT slots: timer, thermal, performance, LINT0, LINT1, error (registers 0x320-0x370).
const LVT_TIMER: usize = 0;
const LVT_LINT0: usize = 3;
/// Writable bits of each LVT register.
const LVT_BITS: [u32; 6] = [0x7_10ff, 0x1_07ff, 0x1_07ff, 0x1_a7ff, 0x1_a7ff, 0x1_00ff];

#[derive(Debug)]
struct State {
    tpr: u32,
    svr: u32,
    ldr: u32,
    dfr: u32,
    esr: u32,
    icr: u64,
    irr: [u32; 8],
    isr: [u32; 8],
    tmr: [u32; 8],
    lvt: [u32; 6],
    divide: u32,
    initial: u32,
    /// When the count was loaded (one-shot and periodic modes).
    start: Option<Instant>,
    /// Periods elapsed and signalled since `start`.
    fired: u64,
    /// TSC-deadline mode: the armed deadline (0: disarmed).
    deadline: u64,
    /// When the armed deadline falls due.
    deadline_at: Option<Instant>,
    quit: bool,
}

fn bit(a: &[u32; 8], v: u8) -> bool {
    a[usize::from(v >> 5)] & (1 << (v & 31)) != 0
}
fn set(a: &mut [u32; 8], v: u8, on: bool) {
    let (w, b) = (usize::from(v >> 5), 1u32 << (v & 31));
    if on {
        a[w] |= b;
    } else {
        a[w] &= !b;
    }
}
fn highest(a: &[u32; 8]) -> Option<u8> {
    (0..8)
        .rev()
        .find(|&w| a[w] != 0)
        .map(|w| (w * 32 + 31 - a[w].leading_zeros() as usize) as u8)
}

impl State {
    fn enabled(&self) -> bool {
        self.svr & 0x100 != 0
    }
    fn ppr(&self) -> u32 {
        let isrv = highest(&self.isr).map_or(0, u32::from);
        if (self.tpr >> 4) >= (isrv >> 4) {
            self.tpr & 0xff
        } else {
            isrv & 0xf0
        }
    }
    /// The vector that would be delivered now.
    fn pending(&self) -> Option<u8> {
        let v = highest(&self.irr)?;
        (u32::from(v) >> 4 > self.ppr() >> 4).then_some(v)
    }
    fn divisor(&self) -> u64 {
        let d = (self.divide & 3) | ((self.divide >> 1) & 4);
        1 << ((d + 1) & 7)
    }
    fn timer_mode(&self) -> u32 {
        (self.lvt[LVT_TIMER] >> 17) & 3
    }
    /// The timer period (one-shot or periodic), with KVM's 200 µs floor for periodic timers.
    fn period(&self) -> Duration {
        let ns = u64::from(self.initial) * self.divisor();
        if self.timer_mode() == 1 {
            Duration::from_nanos(ns.max(200_000))
        } else {
            Duration::from_nanos(ns)
        }
    }
    fn current_count(&self) -> u32 {
        let Some(t0) = self.start else {
            return 0;
        };
        if self.timer_mode() == 2 || self.initial == 0 {
            return 0;
        }
        let ticks = t0.elapsed().as_nanos() as u64 / self.divisor();
        let n = u64::from(self.initial);
        match self.timer_mode() {
            1 => {
                let p = (self.period().as_nanos() as u64 / self.divisor()).max(1);
                (n.saturating_sub(ticks % p)) as u32
            }
            _ => n.saturating_sub(ticks) as u32,
        }
    }
    /// The next instant the timer thread must act at.
    fn due(&self) -> Option<Instant> {
        match self.timer_mode() {
            2 => self.deadline_at,
            0 | 1 => {
                let t0 = self.start?;
                Some(t0 + self.period() * (self.fired + 1) as u32)
            }
            _ => None,
        }
    }
}

/// The local APIC of vCPU 0.
#[derive(Debug)]
pub struct Lapic {
    st: Mutex<State>,
    cv: Condvar,
    cpu: Arc<CpuIrqs>,
    ioapic: Mutex<Weak<IoApic>>,
    unimp: bool,
}

impl Lapic {
    /// A local APIC at its reset state (software-disabled, every LVT masked) that kicks `cpu`;
    /// `unimp` prints what it does not model.
    pub fn new(cpu: Arc<CpuIrqs>, unimp: bool) -> Lapic {
        Lapic {
            st: Mutex::new(State {
                tpr: 0,
                svr: 0xff,
                ldr: 0,
                dfr: 0xffff_ffff,
                esr: 0,
                icr: 0,
                irr: [0; 8],
                isr: [0; 8],
                tmr: [0; 8],
                lvt: [LVT_MASK; 6],
                divide: 0,
                initial: 0,
                start: None,
                fired: 0,
                deadline: 0,
                deadline_at: None,
                quit: false,
            }),
            cv: Condvar::new(),
            cpu,
            ioapic: Mutex::new(Weak::new()),
            unimp,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Accepts `vector` (level-triggered: its EOI goes back to the IOAPIC).
    pub fn accept(&self, vector: u8, level: bool) {
        let mut s = self.lock();
        if vector < 16 {
            s.esr |= 1 << 6; // illegal vector received
            return;
        }
        set(&mut s.irr, vector, true);
        set(&mut s.tmr, vector, level);
        let kick = s.pending().is_some();
        drop(s);
        if kick {
            self.cpu.kick();
        }
    }

    /// Whether a vector would be delivered with IF set.
    pub fn has_pending(&self) -> bool {
        self.lock().pending().is_some()
    }

    /// Takes the highest-priority deliverable vector (IRR -> ISR).
    pub fn ack(&self) -> Option<u8> {
        let mut s = self.lock();
        let v = s.pending()?;
        set(&mut s.irr, v, false);
        set(&mut s.isr, v, true);
        Some(v)
    }

    /// Whether the 8259's interrupts reach the CPU: through LINT0 in ExtINT mode, unmasked,
    /// or with the APIC software-disabled (the reset state: the PC's virtual-wire mode).
    pub fn extint(&self) -> bool {
        let s = self.lock();
        !s.enabled() || (s.lvt[LVT_LINT0] & LVT_MASK == 0 && (s.lvt[LVT_LINT0] >> 8) & 7 == 7)
    }

    /// The IOAPIC that level-triggered EOIs go back to.
    pub fn set_ioapic(&self, io: &Arc<IoApic>) {
        *self.ioapic.lock().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(io);
    }

    fn eoi(&self) {
        let mut s = self.lock();
        let Some(v) = highest(&s.isr) else {
            return;
        };
        set(&mut s.isr, v, false);
        let level = bit(&s.tmr, v);
        let kick = s.pending().is_some();
        drop(s);
        if level {
            let io = self
                .ioapic
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .upgrade();
            if let Some(io) = io {
                io.eoi(v);
            }
        }
        if kick {
            self.cpu.kick();
        }
    }

    fn note(&self, what: &str) {
        if self.unimp {
            eprintln!("unimp: local APIC: {what}");
        }
    }

    /// rdmsr of the MSRs the APIC owns.
    pub fn rdmsr(&self, n: u32) -> Option<u64> {
        (n == MSR_TSC_DEADLINE).then(|| {
            let s = self.lock();
            if s.timer_mode() == 2 { s.deadline } else { 0 }
        })
    }

    /// wrmsr of the MSRs the APIC owns.
    pub fn wrmsr(&self, n: u32, v: u64) -> Option<()> {
        if n != MSR_TSC_DEADLINE {
            return None;
        }
        let mut s = self.lock();
        if s.timer_mode() == 2 {
            s.deadline = v;
            s.deadline_at = (v != 0).then(|| {
                let now = tsc_now();
                Instant::now() + Duration::from_nanos(v.saturating_sub(now))
            });
            self.cv.notify_all();
        }
        Some(())
    }

    /// The timer thread: signals each expiry (periods the host slept through are coalesced
    /// into one interrupt, as an IRR bit holds one).
    pub fn run(&self) {
        let mut s = self.lock();
        loop {
            if s.quit {
                return;
            }
            let Some(due) = s.due() else {
                s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
                continue;
            };
            let now = Instant::now();
            if now < due {
                s = self
                    .cv
                    .wait_timeout(s, due - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                continue;
            }
            match s.timer_mode() {
                2 => {
                    s.deadline = 0;
                    s.deadline_at = None;
                }
                1 => {
                    let p = s.period().as_nanos().max(1);
                    let t0 = s.start.unwrap_or(now);
                    s.fired = (now.duration_since(t0).as_nanos() / p) as u64;
                }
                _ => {
                    s.start = None;
                    s.fired = 0;
                }
            }
            let lvt = s.lvt[LVT_TIMER];
            if lvt & LVT_MASK == 0 && s.enabled() {
                let v = lvt as u8;
                if v >= 16 {
                    set(&mut s.irr, v, true);
                    set(&mut s.tmr, v, false);
                    if s.pending().is_some() {
                        self.cpu.kick();
                    }
                } else {
                    s.esr |= 1 << 6;
                }
            }
        }
    }

    /// Ends the timer thread.
    pub fn stop(&self) {
        self.lock().quit = true;
        self.cv.notify_all();
    }

    fn icr(&self, s: &mut State, lo: u32) {
        s.icr = (s.icr & !0xffff_ffff) | u64::from(lo & !(1 << 12));
        let vector = lo as u8;
        let mode = (lo >> 8) & 7;
        let shorthand = (lo >> 18) & 3;
        let dest = (s.icr >> 56) as u8;
        let to_self = match shorthand {
            1 | 2 => true,
            3 => false,
            _ => dest == 0 || dest == 0xff,
        };
        if mode != 0 || !to_self {
            self.note(&format!(
                "IPI {lo:#x} to {dest:#x} (delivery mode {mode}): no such vCPU; dropped"
            ));
            return;
        }
        if vector < 16 {
            s.esr |= 1 << 5; // send illegal vector
            return;
        }
        set(&mut s.irr, vector, true);
        set(&mut s.tmr, vector, false);
        if s.pending().is_some() {
            self.cpu.kick();
        }
    }
}

impl MmioDevice for Lapic {
    fn read(&self, offset: u64, _size: u8) -> u64 {
        let s = self.lock();
        let r = (offset & 0xff0) as u32;
        let v = match r {
            0x20 => 0,
            0x30 => 0x0005_0014,
            0x80 => s.tpr,
            0xa0 => s.ppr(),
            0xd0 => s.ldr,
            0xe0 => s.dfr,
            0xf0 => s.svr,
            0x100..=0x170 => s.isr[((r - 0x100) >> 4) as usize],
            0x180..=0x1f0 => s.tmr[((r - 0x180) >> 4) as usize],
            0x200..=0x270 => s.irr[((r - 0x200) >> 4) as usize],
            0x280 => s.esr,
            0x300 => s.icr as u32,
            0x310 => (s.icr >> 32) as u32,
            0x320..=0x370 => s.lvt[((r - 0x320) >> 4) as usize],
            0x380 => s.initial,
            0x390 => s.current_count(),
            0x3e0 => s.divide,
            _ => 0,
        };
        u64::from(v >> ((offset & 3) * 8))
    }

    fn write(&self, offset: u64, _size: u8, value: u64) {
        let v = value as u32;
        let r = (offset & 0xff0) as u32;
        if r == 0xb0 {
            self.eoi();
            return;
        }
        let mut s = self.lock();
        match r {
            0x80 => s.tpr = v & 0xff,
            0xd0 => s.ldr = v & 0xff00_0000,
            0xe0 => s.dfr = v | 0x0fff_ffff,
            0xf0 => {
                s.svr = v & 0x13ff;
                if !s.enabled() {
                    for l in &mut s.lvt {
                        *l |= LVT_MASK;
                    }
                }
            }
            0x280 => s.esr = 0,
            0x300 => self.icr(&mut s, v),
            0x310 => s.icr = (s.icr & 0xffff_ffff) | (u64::from(v & 0xff00_0000) << 32),
            0x320..=0x370 => {
                let i = ((r - 0x320) >> 4) as usize;
                let mut nv = v & LVT_BITS[i];
                if !s.enabled() {
                    nv |= LVT_MASK;
                }
                let old_mode = s.timer_mode();
                s.lvt[i] = nv;
                if i == LVT_TIMER && s.timer_mode() != old_mode {
                    // A mode change disarms the timer (SDM 10.5.4.1).
                    s.start = None;
                    s.deadline = 0;
                    s.deadline_at = None;
                    if s.timer_mode() == 3 {
                        self.note("LVT timer mode 3 (reserved)");
                    }
                }
                if i != LVT_TIMER && i != LVT_LINT0 && nv & LVT_MASK == 0 {
                    self.note(&format!("LVT {:#x} = {nv:#x} never fires", r));
                }
                self.cv.notify_all();
            }
            // The initial count is ignored in TSC-deadline mode.
            0x380 if s.timer_mode() != 2 => {
                s.initial = v;
                s.fired = 0;
                s.start = (v != 0).then(Instant::now);
                self.cv.notify_all();
            }
            0x3e0 => {
                // Simplified: a running count restarts from the initial count at the new rate.
                s.divide = v & 0xb;
                if s.start.is_some() {
                    s.start = Some(Instant::now());
                    s.fired = 0;
                    self.cv.notify_all();
                }
            }
            _ => {}
        }
    }
}

/// IOAPIC pins.
pub const PINS: usize = 24;

#[derive(Debug)]
struct IoState {
    sel: u32,
    id: u32,
    redir: [u64; PINS],
    /// Input levels (after the polarity: true = asserted).
    raw: [bool; PINS],
}

/// The board's IOAPIC (version 0x11), delivering to the local APIC.
#[derive(Debug)]
pub struct IoApic {
    st: Mutex<IoState>,
    lapic: Arc<Lapic>,
}

const REMOTE_IRR: u64 = 1 << 14;
const LEVEL: u64 = 1 << 15;
const MASKED: u64 = 1 << 16;

impl IoApic {
    /// An IOAPIC with ID `id`, every pin masked, delivering to `lapic`.
    pub fn new(id: u32, lapic: Arc<Lapic>) -> IoApic {
        IoApic {
            st: Mutex::new(IoState {
                sel: 0,
                id,
                redir: [MASKED; PINS],
                raw: [false; PINS],
            }),
            lapic,
        }
    }

    fn lock(&self) -> MutexGuard<'_, IoState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether pin `pin` is asserted (its polarity applied).
    fn asserted(s: &IoState, pin: usize) -> bool {
        s.raw[pin] != (s.redir[pin] & (1 << 13) != 0)
    }

    /// Sends pin `pin`'s interrupt when it should go (level: asserted, unmasked, no remote
    /// IRR). Returns the vector and trigger to accept once the lock is dropped.
    fn service(s: &mut IoState, pin: usize) -> Option<(u8, bool)> {
        let e = s.redir[pin];
        if e & MASKED != 0 || e & LEVEL == 0 || e & REMOTE_IRR != 0 || !Self::asserted(s, pin) {
            return None;
        }
        s.redir[pin] |= REMOTE_IRR;
        Some((e as u8, true))
    }

    /// Input `pin` changes to `level` (active high).
    pub fn set_pin(&self, pin: usize, level: bool) {
        if pin >= PINS {
            return;
        }
        let mut s = self.lock();
        let was = Self::asserted(&s, pin);
        s.raw[pin] = level;
        let now = Self::asserted(&s, pin);
        let e = s.redir[pin];
        let send = if e & LEVEL != 0 {
            Self::service(&mut s, pin)
        } else if now && !was && e & MASKED == 0 {
            Some((e as u8, false))
        } else {
            None
        };
        drop(s);
        self.deliver(pin, e, send);
    }

    fn deliver(&self, pin: usize, e: u64, send: Option<(u8, bool)>) {
        let Some((v, level)) = send else {
            return;
        };
        let mode = (e >> 8) & 7;
        if mode > 1 {
            self.lapic.note(&format!(
                "IOAPIC pin {pin}: delivery mode {mode} not modelled; dropped"
            ));
            return;
        }
        self.lapic.accept(v, level);
    }

    /// An EOI for `vector` from the local APIC: ends the remote IRR of its level pins, which
    /// send again while still asserted.
    pub fn eoi(&self, vector: u8) {
        let mut s = self.lock();
        let mut again = Vec::new();
        for pin in 0..PINS {
            let e = s.redir[pin];
            if e as u8 == vector && e & REMOTE_IRR != 0 {
                s.redir[pin] &= !REMOTE_IRR;
                if let Some(x) = Self::service(&mut s, pin) {
                    again.push((pin, s.redir[pin], x));
                }
            }
        }
        drop(s);
        for (pin, e, x) in again {
            self.deliver(pin, e, Some(x));
        }
    }
}

impl MmioDevice for IoApic {
    fn read(&self, offset: u64, _size: u8) -> u64 {
        let s = self.lock();
        let v = match offset {
            0x00 => s.sel,
            0x10 => match s.sel {
                0 => s.id << 24,
                1 => 0x0017_0011,
                2 => s.id << 24,
                r @ 0x10..=0x3f => {
                    let e = s.redir[((r - 0x10) / 2) as usize];
                    if r & 1 == 0 {
                        e as u32
                    } else {
                        (e >> 32) as u32
                    }
                }
                _ => 0,
            },
            _ => 0,
        };
        u64::from(v)
    }

    fn write(&self, offset: u64, _size: u8, value: u64) {
        let v = value as u32;
        let mut s = self.lock();
        match offset {
            0x00 => s.sel = v & 0xff,
            0x10 => match s.sel {
                0 => s.id = (v >> 24) & 0xf,
                r @ 0x10..=0x3f => {
                    let pin = ((r - 0x10) / 2) as usize;
                    let old = s.redir[pin];
                    let ro = old & (REMOTE_IRR | (1 << 12));
                    let new = if r & 1 == 0 {
                        (old & !0xffff_ffff) | u64::from(v & !(REMOTE_IRR as u32 | 1 << 12))
                    } else {
                        (old & 0xffff_ffff) | (u64::from(v) << 32)
                    };
                    let mut new = (new & !(REMOTE_IRR | (1 << 12))) | ro;
                    if new & LEVEL == 0 {
                        new &= !REMOTE_IRR;
                    }
                    s.redir[pin] = new;
                    // Unmasking an asserted level pin sends it.
                    let send = Self::service(&mut s, pin);
                    drop(s);
                    self.deliver(pin, new, send);
                }
                _ => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> (Arc<Lapic>, Arc<IoApic>) {
        let lapic = Arc::new(Lapic::new(CpuIrqs::new(), false));
        let io = Arc::new(IoApic::new(1, lapic.clone()));
        lapic.set_ioapic(&io);
        lapic.write(0xf0, 4, 0x1ff);
        (lapic, io)
    }

    fn redir(io: &IoApic, pin: u32, v: u64) {
        io.write(0, 4, u64::from(0x10 + 2 * pin));
        io.write(0x10, 4, v & 0xffff_ffff);
        io.write(0, 4, u64::from(0x11 + 2 * pin));
        io.write(0x10, 4, v >> 32);
    }

    #[test]
    fn priority_tpr_and_eoi_order_delivery() {
        let (l, _) = enabled();
        l.accept(0x31, false);
        l.accept(0x52, false);
        // TPR class 5 holds back both; class 3 lets 0x52 through only.
        l.write(0x80, 4, 0x50);
        assert!(!l.has_pending());
        l.write(0x80, 4, 0x30);
        assert_eq!(l.ack(), Some(0x52));
        // 0x31 is not above the PPR (0x52's class 5 in service) ...
        assert_eq!(l.read(0xa0, 4), 0x50);
        assert_eq!(l.ack(), None);
        // ... until the EOI; then its class 3 is not above TPR 0x30 either.
        l.write(0xb0, 4, 0);
        assert_eq!(l.ack(), None);
        l.write(0x80, 4, 0);
        assert_eq!(l.ack(), Some(0x31));
        assert_eq!(
            l.read(0x100 + 0x10, 4) & (1 << 0x11),
            1 << 0x11,
            "ISR bit of 0x31"
        );
    }

    #[test]
    fn software_disabled_apic_masks_lvts_and_passes_extint() {
        let l = Lapic::new(CpuIrqs::new(), false);
        assert!(l.extint(), "reset: virtual wire");
        l.write(0x350, 4, 0x700);
        assert_eq!(l.read(0x350, 4), 0x1_0700, "masked while disabled");
        l.write(0xf0, 4, 0x1ff);
        assert!(!l.extint(), "LINT0 masked");
        l.write(0x350, 4, 0x700);
        assert!(l.extint(), "LINT0 ExtINT");
    }

    #[test]
    fn level_pin_waits_for_eoi_and_sends_again_while_asserted() {
        let (l, io) = enabled();
        redir(&io, 5, 0x8000 | 0x45); // level, vector 0x45, unmasked
        io.set_pin(5, true);
        assert_eq!(l.ack(), Some(0x45));
        // Still asserted, remote IRR set: nothing new.
        io.set_pin(5, true);
        assert_eq!(l.ack(), None);
        io.write(0, 4, 0x10 + 10);
        assert_ne!(io.read(0x10, 4) & (1 << 14), 0, "remote IRR");
        // EOI with the line still high: sent again.
        l.write(0xb0, 4, 0);
        assert_eq!(l.ack(), Some(0x45));
        io.set_pin(5, false);
        l.write(0xb0, 4, 0);
        assert_eq!(l.ack(), None);
        io.write(0, 4, 0x10 + 10);
        assert_eq!(io.read(0x10, 4) & (1 << 14), 0, "remote IRR cleared");
    }

    #[test]
    fn edge_pin_sends_on_rising_edges_only_and_masked_pins_nothing() {
        let (l, io) = enabled();
        redir(&io, 4, 0x34);
        io.set_pin(4, true);
        io.set_pin(4, true);
        assert_eq!(l.ack(), Some(0x34));
        assert_eq!(l.ack(), None);
        io.set_pin(4, false);
        redir(&io, 4, MASKED | 0x34);
        io.set_pin(4, true);
        assert_eq!(l.ack(), None);
        assert_eq!(io.read(0, 4), u64::from(0x10 + 9u32), "IOREGSEL reads back");
    }

    #[test]
    fn one_shot_timer_counts_down_and_fires_once() {
        let (l, _) = enabled();
        let t = {
            let l = l.clone();
            std::thread::spawn(move || l.run())
        };
        l.write(0x3e0, 4, 0xb); // divide by 1
        l.write(0x320, 4, 0x40);
        l.write(0x380, 4, 2_000_000); // 2 ms
        let c = l.read(0x390, 4) as u32;
        assert!(c > 0 && c <= 2_000_000, "{c}");
        let t0 = Instant::now();
        while !l.has_pending() && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "the timer fired");
        assert_eq!(l.ack(), Some(0x40));
        assert_eq!(l.read(0x390, 4), 0);
        l.write(0xb0, 4, 0);
        std::thread::sleep(Duration::from_millis(5));
        assert!(!l.has_pending(), "one shot only");
        l.stop();
        t.join().expect("timer thread");
    }
}
