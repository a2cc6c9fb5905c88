//! `xlat system --arch x86_64 --accel jit`: the microvm (machines::x86) with a JIT vCPU.
//!
//! The lifter is the user-mode x86-64 frontend; what it leaves to the exec loop (privileged
//! and system instructions arrive as #GP/#UD exits, `syscall` as a syscall exit, memory faults
//! as exceptions) is emulated by [`xlat_frontend_x86::system`]. Memory goes through the
//! softmmu's [`HartMemory`] with the 4-level page walk, one inline TLB table per privilege
//! (user / supervisor, so U/S is checked when an entry is filled), flushed on a CR3 write,
//! invlpg, or a change of CR0/CR4/EFER. Interrupts, taken at block boundaries when IF is
//! set, come from the local APIC ([`apic`]: its timer, self IPIs, and the IOAPIC at
//! 0xfec0_0000 that every GSI n reaches on pin n) and, through LINT0 in ExtINT mode (or with
//! the APIC software-disabled, the reset state), from an 8259 pair on ports 0x20/0xa0 (GSIs
//! 0-15; vectors as the guest programs them with ICW2, 0x20/0x28 until then, all masked at
//! reset); an 8254 PIT channel 0 on ports 0x40-0x43 drives GSI 0 (as KVM's in-kernel PIT
//! does). One vCPU.

mod apic;

use super::x86_64::{X86Args, rss};
use apic::{IoApic, Lapic};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use xlat_backend::{Accel, Engine, EngineConfig, RunExit, Trace};
use xlat_frontend_x86::system::{self as x86sys, Exc, Exec, Sys, SysBus, mmu};
use xlat_frontend_x86::{X86_64, state};
use xlat_ir::abi::CpuState;
use xlat_ir::{CodeFetch, Frontend};
use xlat_machines::x86::{IrqChip, Microvm, MicrovmConfig};
use xlat_softmmu::system::testdev::StopReason;
use xlat_softmmu::system::{Access, Bus, CpuIrqs, HartMemory, KICK, MmioDevice, Translate};

/// Exception codes the translation hands to the exec loop: `PF_CODE | error code` for a page
/// fault (the address is the fault argument), and the access faults / misaligned accesses.
const PF_CODE: u32 = 0x1000;
const ACCESS_FAULT: u32 = 0x2000;
const MISALIGNED: u32 = 0x3000;
const NONCANONICAL: u32 = 0x4000;

/// The vCPU's translation inputs, kept in step with [`Sys`] by the loop.
#[derive(Debug, Default)]
struct X86Mmu {
    mode: Mutex<mmu::Mode>,
}

struct BusPte<'a>(&'a Bus);

impl mmu::PteMem for BusPte<'_> {
    fn read(&mut self, pa: u64) -> Option<u64> {
        self.0.ram_host(pa, 8).and_then(|_| self.0.read(pa, 8))
    }
    fn cas(&mut self, pa: u64, old: u64, new: u64) -> Option<bool> {
        self.0.atomic_cas(pa, 8, old, new).map(|v| v == old)
    }
}

fn kind(access: Access) -> mmu::Kind {
    match access {
        Access::Read => mmu::Kind::Read,
        Access::Write => mmu::Kind::Write,
        Access::Fetch => mmu::Kind::Fetch,
    }
}

impl Translate for X86Mmu {
    fn translate(&self, va: u64, access: Access, bus: &Bus) -> Result<u64, u32> {
        let m = *self.mode.lock().unwrap_or_else(|e| e.into_inner());
        mmu::translate(&m, va, kind(access), &mut BusPte(bus)).map_err(|e| {
            if e == mmu::NONCANONICAL {
                NONCANONICAL
            } else {
                PF_CODE | e
            }
        })
    }
    fn access_fault(&self, access: Access) -> u32 {
        ACCESS_FAULT | access as u32
    }
    fn misaligned(&self, access: Access) -> u32 {
        MISALIGNED | access as u32
    }
}

/// One 8259A.
#[derive(Debug, Default, Clone, Copy)]
struct I8259 {
    /// Interrupt request (line levels).
    irr: u8,
    /// Edge-triggered inputs (a request is latched until acknowledged): the PIT's IRQ 0.
    edge: u8,
    imr: u8,
    isr: u8,
    base: u8,
    /// Which ICW comes next on the data port (0: none, OCW1 = IMR).
    icw: u8,
    need_icw4: bool,
    auto_eoi: bool,
    read_isr: bool,
}

impl I8259 {
    fn reset(base: u8) -> I8259 {
        I8259 {
            imr: 0xff,
            base,
            ..I8259::default()
        }
    }
    /// The highest-priority request that may interrupt now (IRQ number).
    fn pending(&self) -> Option<u8> {
        let req = self.irr & !self.imr;
        if req == 0 {
            return None;
        }
        let irq = req.trailing_zeros() as u8;
        let busy = if self.isr == 0 {
            8
        } else {
            self.isr.trailing_zeros() as u8
        };
        (irq < busy).then_some(irq)
    }
    fn ack(&mut self, irq: u8) -> u8 {
        self.irr &= !(self.edge & (1 << irq));
        if !self.auto_eoi {
            self.isr |= 1 << irq;
        }
        self.base.wrapping_add(irq)
    }
    fn write(&mut self, data: bool, v: u8) {
        if !data {
            if v & 0x10 != 0 {
                // ICW1
                self.icw = 2;
                self.need_icw4 = v & 1 != 0;
                self.imr = 0;
                self.isr = 0;
                self.auto_eoi = false;
                self.read_isr = false;
            } else if v & 0x08 != 0 {
                // OCW3
                if v & 2 != 0 {
                    self.read_isr = v & 1 != 0;
                }
            } else if v & 0x20 != 0 {
                // OCW2: EOI (specific with SL set)
                if v & 0x40 != 0 {
                    self.isr &= !(1 << (v & 7));
                } else if self.isr != 0 {
                    self.isr &= self.isr - 1;
                }
            }
            return;
        }
        match self.icw {
            2 => {
                self.base = v & 0xf8;
                self.icw = 3;
            }
            3 => self.icw = if self.need_icw4 { 4 } else { 0 },
            4 => {
                self.auto_eoi = v & 2 != 0;
                self.icw = 0;
            }
            _ => self.imr = v,
        }
    }
    fn read(&self, data: bool) -> u8 {
        match (data, self.read_isr) {
            (true, _) => self.imr,
            (false, true) => self.isr,
            (false, false) => self.irr,
        }
    }
}

/// The 8259 pair (the slave on the master's IRQ 2) and the vCPU's kick.
#[derive(Debug)]
struct Pic {
    chips: Mutex<[I8259; 2]>,
    cpu: Arc<CpuIrqs>,
}

impl Pic {
    fn new(cpu: Arc<CpuIrqs>) -> Pic {
        let mut master = I8259::reset(0x20);
        master.edge = 1;
        Pic {
            chips: Mutex::new([master, I8259::reset(0x28)]),
            cpu,
        }
    }

    /// A rising edge on master input `irq` (an edge-triggered one): latched until acknowledged.
    fn pulse(&self, irq: u8) {
        let mut c = self.lock();
        c[0].irr |= 1 << irq;
        let kick = c[0].pending().is_some();
        drop(c);
        if kick {
            self.cpu.kick();
        }
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, [I8259; 2]> {
        self.chips.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn cascade(c: &mut [I8259; 2]) {
        if c[1].pending().is_some() {
            c[0].irr |= 4;
        } else {
            c[0].irr &= !4;
        }
    }
    /// Whether an interrupt would be taken with IF set.
    fn has_pending(&self) -> bool {
        self.lock()[0].pending().is_some()
    }
    /// Acknowledges the highest-priority interrupt: its vector.
    fn ack(&self) -> Option<u8> {
        let mut c = self.lock();
        let irq = c[0].pending()?;
        if irq == 2 {
            let s = c[1].pending()?;
            let v = c[1].ack(s);
            c[0].ack(2);
            Self::cascade(&mut c);
            return Some(v);
        }
        Some(c[0].ack(irq))
    }
}

impl IrqChip for Pic {
    fn set_irq(&self, gsi: u32, level: bool) {
        if gsi >= 16 {
            return;
        }
        let mut c = self.lock();
        let (chip, bit) = ((gsi / 8) as usize, 1u8 << (gsi % 8));
        if level {
            c[chip].irr |= bit;
        } else {
            c[chip].irr &= !bit;
        }
        Self::cascade(&mut c);
        let kick = c[0].pending().is_some();
        drop(c);
        if kick {
            self.cpu.kick();
        }
    }
}

/// The ports of one 8259 (command at offset 0, data at 1).
#[derive(Debug)]
struct PicPorts {
    pic: Arc<Pic>,
    slave: bool,
}

impl MmioDevice for PicPorts {
    fn read(&self, offset: u64, _size: u8) -> u64 {
        u64::from(self.pic.lock()[usize::from(self.slave)].read(offset & 1 != 0))
    }
    fn write(&self, offset: u64, _size: u8, value: u64) {
        let mut c = self.pic.lock();
        c[usize::from(self.slave)].write(offset & 1 != 0, value as u8);
        Pic::cascade(&mut c);
        let kick = c[0].pending().is_some();
        drop(c);
        if kick {
            self.pic.cpu.kick();
        }
    }
}

/// The 8254's input clock (Hz).
const PIT_HZ: u64 = 1_193_182;

/// Channel 0 of an 8254 PIT: modes 0 (one interrupt at terminal count) and 2/3 (periodic),
/// binary counting, lo/hi/lo-hi access and the counter latch command. Its output edges go to
/// the 8259's IRQ 0 from a timer thread that sleeps until the next one. Channels 1 and 2 and
/// port 0x61 are not modeled (writes ignored, reads 0).
#[derive(Debug, Default)]
struct PitState {
    /// Reload value (0 means 65536).
    reload: u16,
    mode: u8,
    /// Access mode of the last control word: 1 lo, 2 hi, 3 lo then hi.
    access: u8,
    /// The next data write is the high byte (lo-hi access).
    write_hi: bool,
    /// The next data read is the high byte (lo-hi access).
    read_hi: bool,
    latch: Option<u16>,
    /// When counting (re)started; `None` while the count is not loaded.
    start: Option<std::time::Instant>,
    /// Edges sent since `start`.
    fired: u64,
    /// The timer thread ends.
    quit: bool,
}

#[derive(Debug)]
struct Pit {
    st: Mutex<PitState>,
    cv: std::sync::Condvar,
    pic: Arc<Pic>,
    ioapic: Arc<IoApic>,
}

impl Pit {
    fn lock(&self) -> std::sync::MutexGuard<'_, PitState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The interrupt period for `reload`, at least 200 µs (KVM's in-kernel PIT has the same
    /// floor, `min_timer_period_us`), so a guest cannot keep the host busy with edges.
    fn period(reload: u16) -> Duration {
        let n = if reload == 0 {
            65536
        } else {
            u64::from(reload)
        };
        Duration::from_nanos((n * 1_000_000_000 / PIT_HZ).max(200_000))
    }

    /// The current count of channel 0.
    fn count(s: &PitState) -> u16 {
        let Some(t0) = s.start else {
            return s.reload;
        };
        let n = if s.reload == 0 {
            65536
        } else {
            u64::from(s.reload)
        };
        let ticks = (t0.elapsed().as_nanos() as u64).saturating_mul(PIT_HZ) / 1_000_000_000;
        if s.mode == 0 && ticks >= n {
            return 0;
        }
        (n - ticks % n) as u16
    }

    /// The timer thread: an edge on IRQ 0 at every period end (one for mode 0); periods the
    /// host slept through are coalesced into one edge, as a real 8259 latches one request.
    fn run(&self) {
        let mut s = self.lock();
        loop {
            if s.quit {
                return;
            }
            let Some(t0) = s.start else {
                s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
                continue;
            };
            let period = Self::period(s.reload);
            let due = t0 + period * (s.fired + 1) as u32;
            let now = std::time::Instant::now();
            if now < due {
                s = self
                    .cv
                    .wait_timeout(s, due - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                continue;
            }
            let elapsed = now.duration_since(t0).as_nanos() / period.as_nanos().max(1);
            s.fired = elapsed as u64;
            if s.mode == 0 {
                s.start = None;
            }
            drop(s);
            self.pic.pulse(0);
            // GSI 0 is IOAPIC pin 0 too (KVM's routing, the MP table's): an edge.
            self.ioapic.set_pin(0, true);
            self.ioapic.set_pin(0, false);
            s = self.lock();
        }
    }

    fn stop(&self) {
        self.lock().quit = true;
        self.cv.notify_all();
    }
}

impl MmioDevice for Pit {
    fn read(&self, offset: u64, _size: u8) -> u64 {
        if offset != 0 {
            return 0;
        }
        let mut s = self.lock();
        let v = match s.latch {
            Some(v) => v,
            None => Self::count(&s),
        };
        let byte = match s.access {
            1 => v & 0xff,
            2 => v >> 8,
            _ => {
                let hi = s.read_hi;
                s.read_hi = !hi;
                if hi {
                    s.latch = None;
                    v >> 8
                } else {
                    v & 0xff
                }
            }
        };
        if s.access != 3 {
            s.latch = None;
        }
        u64::from(byte)
    }

    fn write(&self, offset: u64, _size: u8, value: u64) {
        let v = value as u8;
        let mut s = self.lock();
        match offset {
            3 if v >> 6 == 0 => {
                if v & 0x30 == 0 {
                    // counter latch
                    if s.latch.is_none() {
                        s.latch = Some(Self::count(&s));
                        s.read_hi = false;
                    }
                } else {
                    s.access = (v >> 4) & 3;
                    s.mode = match (v >> 1) & 7 {
                        6 => 2,
                        7 => 3,
                        m => m,
                    };
                    s.write_hi = false;
                    s.read_hi = false;
                    s.latch = None;
                    s.start = None;
                }
            }
            0 => {
                let load = match s.access {
                    1 => {
                        s.reload = u16::from(v);
                        true
                    }
                    2 => {
                        s.reload = u16::from(v) << 8;
                        true
                    }
                    _ if !s.write_hi => {
                        s.reload = (s.reload & 0xff00) | u16::from(v);
                        s.write_hi = true;
                        false
                    }
                    _ => {
                        s.reload = (s.reload & 0xff) | (u16::from(v) << 8);
                        s.write_hi = false;
                        true
                    }
                };
                if load {
                    s.start = Some(std::time::Instant::now());
                    s.fired = 0;
                    self.cv.notify_all();
                }
            }
            _ => {}
        }
    }
}

/// The board's interrupt lines: each GSI goes to the 8259 pair (GSIs 0-15) and to the
/// IOAPIC pin of the same number, as KVM's in-kernel irqchip routes them.
#[derive(Debug)]
struct Chips {
    pic: Arc<Pic>,
    ioapic: Arc<IoApic>,
}

impl IrqChip for Chips {
    fn set_irq(&self, gsi: u32, level: bool) {
        self.pic.set_irq(gsi, level);
        self.ioapic.set_pin(gsi as usize, level);
    }
}

/// What the system emulation reaches: memory through the page tables, code, ports.
struct Machine<'a> {
    bus: &'a Bus,
    mem: &'a HartMemory,
    vm: &'a Microvm,
    lapic: &'a Lapic,
    guest_error: bool,
    t0: std::time::Instant,
}

impl Machine<'_> {
    fn pa(&self, sys: &Sys, va: u64, k: mmu::Kind, user: bool) -> Result<u64, Exc> {
        mmu::translate(&sys.mode(user), va, k, &mut BusPte(self.bus)).map_err(|e| {
            if e == mmu::NONCANONICAL {
                Exc::gp(0)
            } else {
                Exc::pf(va, e)
            }
        })
    }
}

impl SysBus for Machine<'_> {
    fn read(&mut self, sys: &Sys, va: u64, size: u8, user: bool) -> Result<u64, Exc> {
        let mut v = 0u64;
        let mut k = 0u8;
        while k < size {
            let a = va.wrapping_add(u64::from(k));
            let room = 0x1000 - (a & 0xfff);
            let n = u64::from(size - k).min(room) as u8;
            let pa = self.pa(sys, a, mmu::Kind::Read, user)?;
            let n = if n.is_power_of_two() { n } else { 1 };
            let part = self.bus.read(pa, n).ok_or(Exc::gp(0))?;
            v |= part << (8 * u32::from(k));
            k += n;
        }
        Ok(v)
    }
    fn write(&mut self, sys: &Sys, va: u64, size: u8, val: u64, user: bool) -> Result<(), Exc> {
        // Translate every byte's page first so a fault writes nothing.
        let last = va.wrapping_add(u64::from(size) - 1);
        let pa0 = self.pa(sys, va, mmu::Kind::Write, user)?;
        let pa1 = self.pa(sys, last, mmu::Kind::Write, user)?;
        if pa0 + u64::from(size) - 1 == pa1 && size.is_power_of_two() {
            return if self.bus.write(pa0, size, val) {
                Ok(())
            } else {
                Err(Exc::gp(0))
            };
        }
        for k in 0..size {
            let pa = self.pa(sys, va.wrapping_add(u64::from(k)), mmu::Kind::Write, user)?;
            if !self.bus.write(pa, 1, val >> (8 * u32::from(k))) {
                return Err(Exc::gp(0));
            }
        }
        Ok(())
    }
    fn fetch(&mut self, _sys: &Sys, pc: u64) -> Vec<u8> {
        let mut v = Vec::with_capacity(15);
        for k in 0..15u64 {
            match self.mem.fetch_u8(pc.wrapping_add(k)) {
                Some(b) => v.push(b),
                None => break,
            }
        }
        v
    }
    fn port_in(&mut self, port: u16, size: u8) -> u32 {
        self.vm.ports.read(port, size)
    }
    fn port_out(&mut self, port: u16, size: u8, val: u32) {
        self.vm.ports.write(port, size, val);
    }
    fn tsc(&mut self) -> u64 {
        // 1 GHz, the lifted rdtsc's clock (CPUID leaf 0x15 says so).
        let _ = self.t0;
        apic::tsc_now()
    }
    fn rdmsr(&mut self, n: u32) -> Option<u64> {
        self.lapic.rdmsr(n)
    }
    fn wrmsr(&mut self, n: u32, v: u64) -> Option<()> {
        self.lapic.wrmsr(n, v)
    }
    fn unimp(&mut self, what: &str) {
        if self.guest_error {
            eprintln!("unimp: {what}");
        }
    }
}

/// The JIT vCPU.
struct Vcpu {
    engine: Engine,
    mem: Arc<HartMemory>,
    mmu: Arc<X86Mmu>,
    env: Box<CpuState>,
    sys: Sys,
    irqs: Arc<CpuIrqs>,
    pic: Arc<Pic>,
    lapic: Arc<Lapic>,
    trace_int: bool,
    guest_error: bool,
    /// In hlt, waiting for an interrupt.
    halted: bool,
    /// Why the vCPU stopped for good (a triple fault, hlt with interrupts off), as under KVM.
    end: Option<String>,
}

impl Vcpu {
    /// Puts the translation in step with `sys` after `fx`.
    fn apply(&mut self, fx: x86sys::Effects) {
        let mode = self.sys.mode(self.sys.user());
        let old = std::mem::replace(
            &mut *self.mmu.mode.lock().unwrap_or_else(|e| e.into_inner()),
            mode,
        );
        if fx.flush
            || old.cr3 != mode.cr3
            || old.wp != mode.wp
            || old.nxe != mode.nxe
            || old.paging != mode.paging
        {
            self.mem.flush_tlb();
            self.env.clear_jmp_cache();
        } else if old.user != mode.user {
            self.mem.flush_fetch();
            self.env.clear_jmp_cache();
        }
        self.env.tlb = self.mem.select(usize::from(mode.user));
        if fx.halt {
            self.halted = true;
        }
    }

    fn machine<'a>(&'a self, vm: &'a Microvm, t0: std::time::Instant) -> Machine<'a> {
        Machine {
            bus: &vm.bus,
            mem: &self.mem,
            vm,
            lapic: &self.lapic,
            guest_error: self.guest_error,
            t0,
        }
    }

    /// Delivers `e` (a fault at `env.pc`, or with `rip` the return address), escalating to
    /// #DF and to a triple fault (machine reset) as the SDM says.
    fn raise(&mut self, vm: &Microvm, t0: std::time::Instant, e: Exc, rip: u64, soft: bool) {
        let mut e = e;
        let mut soft = soft;
        for depth in 0..3 {
            if self.trace_int {
                eprintln!(
                    "int: vector {:#x} err={:?} cr2={:?} rip={:#x} cpl={}",
                    e.vector, e.err, e.cr2, rip, self.sys.cpl
                );
            }
            if let Some(a) = e.cr2 {
                self.sys.cr2 = a;
            }
            let err = if x86sys::has_error_code(e.vector) {
                Some(e.err.unwrap_or(0))
            } else {
                None
            };
            let mut m = Machine {
                bus: &vm.bus,
                mem: &self.mem,
                vm,
                lapic: &self.lapic,
                guest_error: self.guest_error,
                t0,
            };
            match x86sys::deliver(
                &mut self.env,
                &mut self.sys,
                &mut m,
                e.vector,
                err,
                rip,
                soft,
            ) {
                Ok(fx) => {
                    self.apply(fx);
                    return;
                }
                Err(next) if depth == 0 && e.vector != x86sys::DF => {
                    // A contributory fault or a page fault while delivering: #DF.
                    let _ = next;
                    e = Exc {
                        vector: x86sys::DF,
                        err: Some(0),
                        cr2: None,
                    };
                    soft = false;
                }
                Err(_) => break,
            }
        }
        if self.trace_int || self.guest_error {
            eprintln!("int: triple fault at rip={rip:#x}");
        }
        self.end = Some(format!(
            "vCPU 0: triple fault at rip={rip:#x}; the machine stops"
        ));
    }

    /// The #PF (or #GP) for an instruction whose code could not be fetched.
    fn fetch_fault(&self, vm: &Microvm, arg: u64) -> Exc {
        for a in [self.env.pc, arg] {
            if let Err(e) = mmu::translate(
                &self.sys.mode(self.sys.user()),
                a,
                mmu::Kind::Fetch,
                &mut BusPte(&vm.bus),
            ) {
                return if e == mmu::NONCANONICAL {
                    Exc::gp(0)
                } else {
                    Exc::pf(a, e)
                };
            }
        }
        Exc::gp(0)
    }

    fn run(&mut self, vm: &Microvm) -> StopReason {
        let t0 = std::time::Instant::now();
        loop {
            if let Some(r) = vm.stop.get() {
                return r;
            }
            if self.sys.iflag
                && !self.sys.shadow
                && let Some(v) = self
                    .lapic
                    .ack()
                    .or_else(|| self.lapic.extint().then(|| self.pic.ack()).flatten())
            {
                self.halted = false;
                let pc = self.env.pc;
                self.raise(vm, t0, Exc::new(v), pc, false);
                continue;
            }
            self.sys.shadow = false;
            if self.end.is_some() {
                return StopReason::Exit(1);
            }
            if self.halted && !self.sys.iflag {
                self.end = Some(format!(
                    "vCPU 0: halted with interrupts disabled at rip={:#x}",
                    self.env.pc
                ));
                return StopReason::Exit(1);
            }
            if self.halted {
                let (pic, lapic, stop) = (self.pic.clone(), self.lapic.clone(), vm.stop.clone());
                let iflag = self.sys.iflag;
                self.irqs.wait_until(Duration::from_millis(50), || {
                    stop.get().is_some()
                        || (iflag && (lapic.has_pending() || (lapic.extint() && pic.has_pending())))
                });
                self.env.exit_request.fetch_and(!KICK, Ordering::AcqRel);
                continue;
            }
            let exit = self.engine.run(&mut self.env);
            let pc = self.env.pc;
            let r: Result<x86sys::Effects, (Exc, u64, bool)> = match exit {
                RunExit::Request => {
                    self.env.exit_request.fetch_and(!KICK, Ordering::AcqRel);
                    Ok(x86sys::Effects::default())
                }
                RunExit::Syscall => {
                    x86sys::syscall(&mut self.env, &mut self.sys).map_err(|e| (e, pc, false))
                }
                RunExit::Breakpoint => Err((Exc::new(x86sys::BP), pc.wrapping_add(1), true)),
                RunExit::Exception { code, arg } => self.exception(vm, t0, code, arg),
            };
            match r {
                Ok(fx) => self.apply(fx),
                Err((e, rip, soft)) => self.raise(vm, t0, e, rip, soft),
            }
            if self.mem.take_code_written() {
                // Code was overwritten: drop the blocks of those pages (x86 code is coherent
                // with stores; a block already running finishes first).
                let pages: std::collections::HashSet<u32> = self
                    .mem
                    .take_written_code_pages()
                    .into_iter()
                    .map(|p| p as u32)
                    .collect();
                self.engine.invalidate_flags(&|f| pages.contains(&(f >> 1)));
                self.env.clear_jmp_cache();
            }
        }
    }

    fn exception(
        &mut self,
        vm: &Microvm,
        t0: std::time::Instant,
        code: u32,
        arg: u64,
    ) -> Result<x86sys::Effects, (Exc, u64, bool)> {
        let pc = self.env.pc;
        match code {
            xlat_frontend_x86::GENERAL_PROTECTION | xlat_frontend_x86::ILLEGAL_INSTRUCTION => {
                let mut m = Machine {
                    bus: &vm.bus,
                    mem: &self.mem,
                    vm,
                    lapic: &self.lapic,
                    guest_error: self.guest_error,
                    t0,
                };
                let r = x86sys::exec(&mut self.env, &mut self.sys, &mut m);
                match r {
                    Ok(Exec::Done(fx)) => Ok(fx),
                    Ok(Exec::Unmodelled(what)) => {
                        self.end =
                            Some(format!("vCPU 0: {what} at rip={pc:#x}; the machine stops"));
                        Ok(x86sys::Effects::default())
                    }
                    Ok(Exec::Unhandled) => {
                        if self.guest_error {
                            let bytes = self.machine(vm, t0).fetch(&self.sys, pc);
                            eprintln!(
                                "unimp: instruction {:02x?} at {pc:#x} (cpl {}): #UD",
                                &bytes[..bytes.len().min(8)],
                                self.sys.cpl
                            );
                        }
                        Err((Exc::new(x86sys::UD), pc, false))
                    }
                    Err(e) => Err((e, pc, false)),
                }
            }
            xlat_frontend_x86::DIVIDE_ERROR => Err((Exc::new(x86sys::DE), pc, false)),
            xlat_frontend_x86::PAGE_FAULT => Err((self.fetch_fault(vm, arg), pc, false)),
            c if c & !0xfff == PF_CODE => Err((Exc::pf(arg, c & 0x1f), pc, false)),
            NONCANONICAL => Err((Exc::gp(0), pc, false)),
            c if c & !0xfff == ACCESS_FAULT || c & !0xfff == MISALIGNED => {
                if self.guest_error {
                    eprintln!(
                        "guest_error: access to nothing (or misaligned) at {arg:#x}, pc={pc:#x}: #GP"
                    );
                }
                Err((Exc::gp(0), pc, false))
            }
            c if c < 32 => Err((
                Exc {
                    vector: c as u8,
                    err: x86sys::has_error_code(c as u8).then_some(0),
                    cr2: None,
                },
                pc,
                false,
            )),
            _ => Err((Exc::new(x86sys::UD), pc, false)),
        }
    }
}

/// Builds the microvm with a JIT vCPU and runs it; returns the guest's exit status.
pub fn run(a: &X86Args) -> Result<i32, String> {
    if a.smp != 1 {
        return Err(format!(
            "--smp {}: --accel jit runs one x86-64 vCPU (use --accel kvm for more)",
            a.smp
        ));
    }
    let irqs = CpuIrqs::new();
    let pic = Arc::new(Pic::new(irqs.clone()));
    let lapic = Arc::new(Lapic::new(irqs.clone(), a.guest_error));
    // The MP table gives the IOAPIC the ID after the vCPUs'.
    let ioapic = Arc::new(IoApic::new(a.smp, lapic.clone()));
    lapic.set_ioapic(&ioapic);
    let chips = Arc::new(Chips {
        pic: pic.clone(),
        ioapic: ioapic.clone(),
    });
    let cfg = MicrovmConfig {
        mem: a.mem,
        smp: a.smp,
        kernel: a.kernel.clone(),
        initrd: a.initrd.clone(),
        cmdline: a.append.clone(),
        drives: a.drives.clone(),
        rng: true,
    };
    let mut vm = Microvm::build(&cfg, chips, Box::new(std::io::stdout()))?;
    if vm.boot.mode != xlat_machines::x86::BootMode::Long64 {
        return Err(format!(
            "{}: a PVH (32-bit) entry; --accel jit starts x86-64 guests in long mode only \
             (a 64-bit ELF or a bzImage)",
            a.kernel.display()
        ));
    }
    let ports = Arc::get_mut(&mut vm.ports)
        .ok_or("the microvm's port bus is shared; cannot add the 8259")?;
    ports.log_unassigned = a.guest_error;
    ports.add(
        0x20,
        2,
        Arc::new(PicPorts {
            pic: pic.clone(),
            slave: false,
        }),
    )?;
    ports.add(
        0xa0,
        2,
        Arc::new(PicPorts {
            pic: pic.clone(),
            slave: true,
        }),
    )?;
    let pit = Arc::new(Pit {
        st: Mutex::new(PitState::default()),
        cv: std::sync::Condvar::new(),
        pic: pic.clone(),
        ioapic: ioapic.clone(),
    });
    ports.add(0x40, 4, pit.clone())?;
    let bus = Arc::get_mut(&mut vm.bus)
        .ok_or("the microvm's bus is shared; cannot add the local APIC and the IOAPIC")?;
    bus.add_mmio(0xfee0_0000, 0x1000, lapic.clone())
        .map_err(|e| e.to_string())?;
    bus.add_mmio(0xfec0_0000, 0x1000, ioapic.clone())
        .map_err(|e| e.to_string())?;
    let mmu = Arc::new(X86Mmu::default());
    let mem = Arc::new(HartMemory::new(vm.bus.clone(), mmu.clone()));
    let ecfg = EngineConfig {
        accel: Accel::Jit,
        trace: Trace {
            in_asm: a.in_asm,
            exec: a.exec,
            ..Trace::default()
        },
        count_insns: a.stats,
        ..EngineConfig::default()
    };
    let engine =
        Engine::new(Arc::new(X86_64::system()), mem.clone(), ecfg).map_err(|e| e.to_string())?;
    // Blocks are keyed by the physical page of their code and the privilege (user or not).
    let fetch_mem = mem.clone();
    let fetch_mmu = mmu.clone();
    engine.set_tb_flags(xlat_backend::TbFlagsFn(Arc::new(move |env: &CpuState| {
        let user = fetch_mmu
            .mode
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .user;
        let ppn = fetch_mem
            .translate(env.pc, Access::Fetch)
            .map_or(0, |pa| (pa >> 12) as u32);
        (ppn << 1) | u32::from(user)
    })));
    let b = vm.boot;
    let mut env = CpuState::new_boxed();
    X86_64::new().init_user_state(&mut env);
    env.pc = b.rip;
    env.set_word(state::RSP, b.rsp);
    env.set_word(state::RSI, b.rsi);
    env.set_word(state::RBX, b.rbx);
    let mut sys = Sys::default();
    x86sys::reset(&mut sys, b.cr0, b.cr3, b.cr4, b.efer);
    sys.gdt = (b.gdt_base, b.gdt_limit);
    sys.sel[x86sys::seg::CS] = b.cs.selector;
    for s in [
        x86sys::seg::DS,
        x86sys::seg::ES,
        x86sys::seg::SS,
        x86sys::seg::FS,
        x86sys::seg::GS,
    ] {
        sys.sel[s] = b.ds.selector;
    }
    sys.tr = (b.tr.selector, b.tr.base, b.tr.limit);
    sys.iflag = b.rflags & x86sys::IF != 0;
    // XCR0 reaches the lifter once the guest sets CR4.OSXSAVE.
    x86sys::sync_xcr0(&mut env, &sys);
    let mut cpu = Vcpu {
        engine,
        mem,
        mmu,
        env,
        sys,
        irqs: irqs.clone(),
        pic,
        lapic: lapic.clone(),
        trace_int: a.trace_int,
        guest_error: a.guest_error,
        halted: false,
        end: None,
    };
    cpu.apply(x86sys::Effects {
        flush: true,
        ..x86sys::Effects::default()
    });
    irqs.attach(&cpu.env.exit_request);
    let kick = irqs.clone();
    vm.stop.on_request(Box::new(move || kick.kick()));
    let serial = vm.serial.clone();
    let stop = vm.stop.clone();
    let _term = xlat_machines::console::stdio(
        move |b| serial.push_input(b),
        move || stop.request(StopReason::Exit(0)),
    );
    let t0 = std::time::Instant::now();
    let timer = {
        let pit = pit.clone();
        std::thread::Builder::new()
            .name("pit".into())
            .spawn(move || pit.run())
            .map_err(|e| format!("the PIT's timer thread: {e}"))?
    };
    let apic_timer = {
        let lapic = lapic.clone();
        std::thread::Builder::new()
            .name("lapic".into())
            .spawn(move || lapic.run())
            .map_err(|e| format!("the local APIC's timer thread: {e}"))?
    };
    let reason = cpu.run(&vm);
    pit.stop();
    lapic.stop();
    let _ = timer.join();
    let _ = apic_timer.join();
    irqs.detach();
    if a.stats {
        let s = cpu.engine.stats();
        eprintln!(
            "jit: wall_ms={} rss_kib={} {s:?}",
            t0.elapsed().as_millis(),
            rss().unwrap_or(0) >> 10
        );
    }
    if let Some(m) = &cpu.end {
        eprintln!("xlat: {m}");
    }
    Ok(match reason {
        StopReason::Exit(code) => code,
        StopReason::Reset => {
            eprintln!("xlat: the guest reset the machine; stopping");
            0
        }
    })
}
