//! # xlat-accel-kvm
//!
//! Runs the vCPUs of an x86-64 [`Microvm`] on /dev/kvm (issue 7):
//!
//! 1. [`KvmVm::open`] opens /dev/kvm and creates the VM with the in-kernel irqchip (PIC, IOAPIC,
//!    LAPICs) and PIT; any refusal is the one-line [`unavailable`] error;
//! 2. the board is built with [`KvmVm::irqchip`] as its interrupt controller (`KVM_IRQ_LINE`);
//! 3. [`KvmVm::run`] registers the board's RAM mapping as memory slot 0 (the very pages the
//!    loader wrote and virtio devices DMA into, shared, never copied), creates one vCPU per
//!    `--smp` with filtered CPUID ([`cpuid`]), MSRs, TSC frequency and the boot state, runs
//!    each on its own host thread and dispatches exits: port I/O to `Microvm::ports`, MMIO to
//!    `Microvm::bus`; shutdown (triple fault), internal and emulation errors, entry failures
//!    and a vCPU halted with interrupts off end the run with a message naming the vCPU and RIP.
//!
//! With the in-kernel LAPIC, HLT never leaves the kernel; a watchdog thread kicks the vCPU
//! threads out of KVM_RUN (a signal) every [`WATCHDOG`] so a vCPU halted for good with IF=0
//! is seen, and at once when the machine is asked to stop.

pub mod cpuid;
pub mod sample;

use iced_x86::{Code, Decoder, DecoderOptions, Instruction, OpKind, Register};
use kvm_bindings::{
    KVM_MAX_CPUID_ENTRIES, KVM_MP_STATE_HALTED, KVM_PIT_SPEAKER_DUMMY, KVM_SYSTEM_EVENT_RESET,
    KVM_SYSTEM_EVENT_SHUTDOWN, Msrs, kvm_msr_entry, kvm_pit_config, kvm_segment,
    kvm_userspace_memory_region,
};
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use xlat_machines::x86::{BootMode, BootState, IrqChip, Microvm, Segment};
use xlat_softmmu::system::testdev::StopReason;

/// How often halted vCPUs are checked.
pub const WATCHDOG: Duration = Duration::from_millis(100);

/// The one-line message for a KVM that cannot be used.
pub fn unavailable(reason: impl std::fmt::Display) -> String {
    format!("KVM unavailable: {reason}; try --accel jit")
}

/// Whether the host CPU has VT-x or AMD-V (`vmx`/`svm` in /proc/cpuinfo); without them a
/// /dev/kvm is software-assisted (PVM): ring 3 runs natively, ring 0 is emulated.
pub fn hardware_backed() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| {
            s.lines()
                .filter(|l| l.starts_with("flags"))
                .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
        })
        .unwrap_or(false)
}

/// Bytes of the machine's guest RAM resident in host memory (mincore over the mapping), to
/// tell xlat's own memory from the guest's in its RSS.
pub fn guest_resident(m: &Microvm) -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    let mut total = 0;
    for (_, size, host) in m.bus.ram_regions() {
        let len = usize::try_from(size).ok()?;
        let mut vec = vec![0u8; len.div_ceil(page)];
        // SAFETY: [host, host + len) is one of the board's RAM mappings (page aligned, alive
        // while `m` is) and `vec` has one byte per page of it.
        let r = unsafe { libc::mincore(host as *mut libc::c_void, len, vec.as_mut_ptr()) };
        if r != 0 {
            return None;
        }
        total += vec.iter().filter(|&&b| b & 1 != 0).count() as u64 * page as u64;
    }
    Some(total)
}

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `-d int`: KVM facts, interrupts raised, how the run ended.
    pub trace_int: bool,
    /// `XLAT_KVM_SAMPLE`: print where each vCPU is, periodically ([`sample`]).
    pub sample: Option<Arc<sample::Sampler>>,
}

/// Exits to user space, by kind.
#[derive(Debug, Default)]
pub struct ExitCounts {
    /// Port I/O.
    pub io: AtomicU64,
    /// MMIO.
    pub mmio: AtomicU64,
    /// HLT (without an in-kernel LAPIC only).
    pub hlt: AtomicU64,
    /// Interrupted by a kick (watchdog or stop).
    pub intr: AtomicU64,
    /// Anything else.
    pub other: AtomicU64,
}

impl ExitCounts {
    /// All exits.
    pub fn total(&self) -> u64 {
        [&self.io, &self.mmio, &self.hlt, &self.intr, &self.other]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

impl std::fmt::Display for ExitCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        write!(
            f,
            "exits={} io={} mmio={} hlt={} intr={} other={}",
            self.total(),
            g(&self.io),
            g(&self.mmio),
            g(&self.hlt),
            g(&self.intr),
            g(&self.other)
        )
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    /// xlat's exit status: the debug-exit value, 0 after a reset request, 1 after a guest
    /// error (`message` says which).
    pub status: i32,
    /// Why the run ended, when the guest did not ask for it.
    pub message: Option<String>,
    /// Exit statistics.
    pub exits: Arc<ExitCounts>,
}

/// The in-kernel interrupt controller as the board drives it.
#[derive(Debug)]
pub struct KvmIrqChip {
    vm: Arc<VmFd>,
    trace: bool,
    levels: Mutex<u64>,
}

impl IrqChip for KvmIrqChip {
    fn set_irq(&self, gsi: u32, level: bool) {
        // Only level changes go to the kernel (each call is an ioctl).
        let bit = 1u64 << (gsi & 63);
        let mut l = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        if (*l & bit != 0) == level {
            return;
        }
        *l ^= bit;
        drop(l);
        if self.trace {
            eprintln!("kvm: irq {gsi} -> {}", u8::from(level));
        }
        if let Err(e) = self.vm.set_irq_line(gsi, level) {
            eprintln!("xlat: KVM_IRQ_LINE {gsi}: {e}");
        }
    }
}

/// An open VM with its in-kernel irqchip and PIT, before the board is attached.
#[derive(Debug)]
pub struct KvmVm {
    kvm: Kvm,
    vm: Arc<VmFd>,
    chip: Arc<KvmIrqChip>,
    opts: RunOptions,
}

impl KvmVm {
    /// Opens /dev/kvm and creates a VM; errors are [`unavailable`] lines.
    pub fn open(opts: &RunOptions) -> Result<KvmVm, String> {
        // XLAT_KVM_DEVICE: another device node (tests use a missing one)
        let dev = std::env::var("XLAT_KVM_DEVICE").unwrap_or_else(|_| "/dev/kvm".into());
        let kvm = std::ffi::CString::new(dev.clone())
            .map_err(|e| e.to_string())
            .and_then(|p| Kvm::new_with_path(&p).map_err(|e| e.to_string()))
            .map_err(|e| unavailable(format!("{dev}: {e}")))?;
        let api = kvm.get_api_version();
        if api != 12 {
            return Err(unavailable(format!("KVM API version {api}, expected 12")));
        }
        let vm = kvm
            .create_vm()
            .map_err(|e| unavailable(format!("KVM_CREATE_VM: {e}")))?;
        vm.set_tss_address(0xfffb_d000)
            .map_err(|e| unavailable(format!("KVM_SET_TSS_ADDR: {e}")))?;
        vm.create_irq_chip()
            .map_err(|e| unavailable(format!("KVM_CREATE_IRQCHIP: {e}")))?;
        let pit = kvm_pit_config {
            flags: KVM_PIT_SPEAKER_DUMMY,
            ..Default::default()
        };
        vm.create_pit2(pit)
            .map_err(|e| unavailable(format!("KVM_CREATE_PIT2: {e}")))?;
        if opts.trace_int {
            let hw = hardware_backed();
            eprintln!(
                "kvm: /dev/kvm API {api}, hardware-backed: {} ({}), max vCPUs {}",
                if hw { "yes" } else { "no" },
                if hw {
                    "vmx/svm in /proc/cpuinfo"
                } else {
                    "no vmx/svm in /proc/cpuinfo: software-assisted KVM (e.g. PVM), ring 0 is emulated"
                },
                kvm.get_max_vcpus()
            );
        }
        let vm = Arc::new(vm);
        let chip = Arc::new(KvmIrqChip {
            vm: vm.clone(),
            trace: opts.trace_int,
            levels: Mutex::new(0),
        });
        Ok(KvmVm {
            kvm,
            vm,
            chip,
            opts: opts.clone(),
        })
    }

    /// The interrupt controller to build the board with.
    pub fn irqchip(&self) -> Arc<dyn IrqChip> {
        self.chip.clone()
    }

    /// Runs `m` until it stops; `Err` is a setup failure (one line).
    pub fn run(self, m: &Microvm) -> Result<Outcome, String> {
        // one slot per RAM region (below the 32-bit MMIO hole, and above 4 GiB)
        for (slot, (base, size, host)) in m.bus.ram_regions().into_iter().enumerate() {
            let region = kvm_userspace_memory_region {
                slot: slot as u32,
                flags: 0,
                guest_phys_addr: base,
                memory_size: size,
                userspace_addr: host as u64,
            };
            // SAFETY: the region is part of the board's RAM mapping, which `m.bus` keeps alive
            // (and never remaps) for longer than the VM: the VM fd is dropped at the end of
            // this function, before `m` can be.
            unsafe { self.vm.set_user_memory_region(region) }.map_err(|e| {
                unavailable(format!(
                    "KVM_SET_USER_MEMORY_REGION of {size} bytes at {base:#x}: {e}"
                ))
            })?;
        }
        let mut supported = self
            .kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(|e| unavailable(format!("KVM_GET_SUPPORTED_CPUID: {e}")))?;
        if !hardware_backed() {
            for h in cpuid::hide(&mut supported, cpuid::PVM_HIDDEN) {
                if self.opts.trace_int {
                    eprintln!(
                        "kvm: CPUID {:#x}.{} {:?}[{}] ({}) hidden: {}",
                        h.leaf, h.index, h.reg, h.bit, h.name, h.why
                    );
                }
            }
        }
        // "AuthenticAMD": EBX of leaf 0 is "Auth"
        let amd = supported
            .as_slice()
            .iter()
            .any(|e| e.function == 0 && e.ebx == u32::from_le_bytes(*b"Auth"));
        let mut vcpus = Vec::new();
        for id in 0..m.smp {
            let vcpu = self
                .vm
                .create_vcpu(u64::from(id))
                .map_err(|e| unavailable(format!("KVM_CREATE_VCPU {id}: {e}")))?;
            let tsc_khz = vcpu.get_tsc_khz().unwrap_or(0);
            vcpu.set_cpuid2(&cpuid::for_vcpu(&supported, id, m.smp, tsc_khz))
                .map_err(|e| format!("vCPU {id}: KVM_SET_CPUID2: {e}"))?;
            if tsc_khz != 0 {
                // pin the guest's TSC frequency to the host's (known, and stated in CPUID)
                let _ = vcpu.set_tsc_khz(tsc_khz);
            }
            set_msrs(&vcpu).map_err(|e| format!("vCPU {id}: KVM_SET_MSRS: {e}"))?;
            if amd {
                // HWCR.TscFreqSel: the TSC counts at the P0 frequency (Linux warns otherwise);
                // older KVMs refuse the bit, which only costs that warning
                let hwcr = kvm_msr_entry {
                    index: 0xc001_0015,
                    data: 1 << 24,
                    ..Default::default()
                };
                if let Ok(m) = Msrs::from_entries(&[hwcr]) {
                    let _ = vcpu.set_msrs(&m);
                }
            }
            if id == 0 {
                set_boot_state(&vcpu, &m.boot).map_err(|e| format!("vCPU 0: {e}"))?;
                if self.opts.trace_int {
                    eprintln!(
                        "kvm: {} entry {:?} at rip={:#x}, {} vCPU(s), TSC {tsc_khz} kHz",
                        m.kind, m.boot.mode, m.boot.rip, m.smp
                    );
                }
            }
            vcpus.push(vcpu);
        }
        let exits = Arc::new(ExitCounts::default());
        let ended: Arc<Mutex<Option<Ended>>> = Arc::new(Mutex::new(None));
        let kicks = Arc::new(Kicker::new(m.smp as usize)?);
        {
            let k = kicks.clone();
            m.stop.on_request(Box::new(move || k.kick_all()));
        }
        std::thread::scope(|s| {
            let mut handles = Vec::new();
            for (id, vcpu) in vcpus.into_iter().enumerate() {
                let (exits, ended2, kicks, opts) = (
                    exits.clone(),
                    ended.clone(),
                    kicks.clone(),
                    self.opts.clone(),
                );
                let h = std::thread::Builder::new()
                    .name(format!("kvm-vcpu{id}"))
                    .spawn_scoped(s, move || {
                        kicks.register(id);
                        let r = vcpu_loop(vcpu, id, m, &exits, &opts);
                        kicks.unregister(id);
                        if let Some(r) = r {
                            let mut e = ended2.lock().unwrap_or_else(|e| e.into_inner());
                            if e.is_none() {
                                *e = Some(r);
                            }
                        }
                        // the others stop too
                        m.stop.request(StopReason::Exit(1));
                    });
                match h {
                    Ok(h) => handles.push(h),
                    Err(e) => {
                        *ended.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some((1, Some(format!("cannot start a vCPU thread: {e}"))));
                        m.stop.request(StopReason::Exit(1));
                    }
                }
            }
            // Woken at once when the vCPUs are done (a plain sleep kept every run alive up
            // to WATCHDOG longer: 100 ms of each payload run's wall time).
            let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
            s.spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    done_rx.recv_timeout(WATCHDOG)
                {
                    kicks.kick_all();
                }
            });
            for h in handles {
                let _ = h.join();
            }
            drop(done_tx);
        });
        let ended = ended.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (status, message) = match ended {
            Some((status, msg)) => (status, msg),
            None => match m.stop.get() {
                Some(StopReason::Exit(c)) => (c, None),
                Some(StopReason::Reset) | None => (0, None),
            },
        };
        Ok(Outcome {
            status,
            message,
            exits,
        })
    }
}

fn set_msrs(vcpu: &VcpuFd) -> Result<(), String> {
    let e = |index: u32, data: u64| kvm_msr_entry {
        index,
        data,
        ..Default::default()
    };
    let entries = [
        e(0x174, 0),             // IA32_SYSENTER_CS
        e(0x175, 0),             // IA32_SYSENTER_ESP
        e(0x176, 0),             // IA32_SYSENTER_EIP
        e(0xc000_0081, 0),       // STAR
        e(0xc000_0082, 0),       // LSTAR
        e(0xc000_0083, 0),       // CSTAR
        e(0xc000_0084, 0),       // SFMASK
        e(0xc000_0102, 0),       // KERNEL_GS_BASE
        e(0x10, 0),              // IA32_TSC: starts at 0
        e(0x1a0, 1),             // IA32_MISC_ENABLE: fast strings
        e(0x2ff, (1 << 11) | 6), // MTRRdefType: MTRRs on, write-back by default
    ];
    let msrs = Msrs::from_entries(&entries).map_err(|e| format!("{e:?}"))?;
    let n = vcpu.set_msrs(&msrs).map_err(|e| e.to_string())?;
    if n != entries.len() {
        return Err(format!(
            "MSR {:#x} refused",
            entries.get(n).map(|e| e.index).unwrap_or(0)
        ));
    }
    Ok(())
}

fn kseg(s: &Segment) -> kvm_segment {
    kvm_segment {
        base: s.base,
        limit: s.limit,
        selector: s.selector,
        type_: s.type_,
        present: u8::from(s.present),
        dpl: s.dpl,
        db: u8::from(s.db),
        s: u8::from(s.s),
        l: u8::from(s.l),
        g: u8::from(s.g),
        ..Default::default()
    }
}

fn set_boot_state(vcpu: &VcpuFd, b: &BootState) -> Result<(), String> {
    let mut sr = vcpu
        .get_sregs()
        .map_err(|e| format!("KVM_GET_SREGS: {e}"))?;
    sr.cs = kseg(&b.cs);
    let ds = kseg(&b.ds);
    (sr.ds, sr.es, sr.fs, sr.gs, sr.ss) = (ds, ds, ds, ds, ds);
    sr.tr = kseg(&b.tr);
    sr.gdt.base = b.gdt_base;
    sr.gdt.limit = b.gdt_limit;
    sr.idt.base = 0;
    sr.idt.limit = 0;
    sr.cr0 = b.cr0;
    sr.cr3 = b.cr3;
    sr.cr4 = b.cr4;
    sr.efer = b.efer;
    vcpu.set_sregs(&sr)
        .map_err(|e| format!("KVM_SET_SREGS ({:?} entry): {e}", b.mode))?;
    let mut regs = vcpu.get_regs().map_err(|e| format!("KVM_GET_REGS: {e}"))?;
    regs.rip = b.rip;
    regs.rsp = b.rsp;
    regs.rbp = if b.mode == BootMode::Long64 { b.rsp } else { 0 };
    regs.rsi = b.rsi;
    regs.rbx = b.rbx;
    regs.rflags = b.rflags;
    vcpu.set_regs(&regs)
        .map_err(|e| format!("KVM_SET_REGS: {e}"))?;
    let fpu = kvm_bindings::kvm_fpu {
        fcw: 0x37f,
        mxcsr: 0x1f80,
        ..Default::default()
    };
    vcpu.set_fpu(&fpu).map_err(|e| format!("KVM_SET_FPU: {e}"))
}

fn rip(vcpu: &VcpuFd) -> String {
    match vcpu.get_regs() {
        Ok(r) => format!("rip={:#x}", r.rip),
        Err(_) => "rip=?".into(),
    }
}

/// What ended a vCPU's loop, owned (the exit borrows the vCPU).
enum End {
    Stop,
    Shutdown,
    FailEntry(u64),
    Internal,
    Event(u32),
    Other(String),
    Error(String),
}

/// A vCPU's verdict: exit status and message.
type Ended = (i32, Option<String>);

/// Runs one vCPU until the machine stops; `Some((status, message))` when this vCPU ended it.
fn vcpu_loop(
    mut vcpu: VcpuFd,
    id: usize,
    m: &Microvm,
    exits: &ExitCounts,
    opts: &RunOptions,
) -> Option<Ended> {
    let t0 = std::time::Instant::now();
    let (mut sampled, mut last_exits) = (t0, [0u64; 3]);
    let end = loop {
        if m.stop.get().is_some() {
            break End::Stop;
        }
        match vcpu.run() {
            Ok(VcpuExit::IoOut(port, data)) => {
                exits.io.fetch_add(1, Ordering::Relaxed);
                let mut v = [0u8; 4];
                let n = data.len().min(4);
                v[..n].copy_from_slice(&data[..n]);
                m.ports.write(port, n as u8, u32::from_le_bytes(v));
            }
            Ok(VcpuExit::IoIn(port, data)) => {
                exits.io.fetch_add(1, Ordering::Relaxed);
                let n = data.len().min(4);
                let v = m.ports.read(port, n as u8).to_le_bytes();
                data[..n].copy_from_slice(&v[..n]);
            }
            Ok(VcpuExit::MmioRead(addr, data)) => {
                exits.mmio.fetch_add(1, Ordering::Relaxed);
                let n = data.len().min(8);
                let v = match m.bus.read(addr, n as u8) {
                    Some(v) => v,
                    None => {
                        if m.ports.log_unassigned {
                            eprintln!("guest_error: read{n} from unassigned MMIO {addr:#x}");
                        }
                        u64::MAX
                    }
                };
                data[..n].copy_from_slice(&v.to_le_bytes()[..n]);
            }
            Ok(VcpuExit::MmioWrite(addr, data)) => {
                exits.mmio.fetch_add(1, Ordering::Relaxed);
                let mut v = [0u8; 8];
                let n = data.len().min(8);
                v[..n].copy_from_slice(&data[..n]);
                if !m.bus.write(addr, n as u8, u64::from_le_bytes(v)) && m.ports.log_unassigned {
                    eprintln!("guest_error: write{n} to unassigned MMIO {addr:#x}");
                }
            }
            Ok(VcpuExit::Hlt) => {
                exits.hlt.fetch_add(1, Ordering::Relaxed);
                break End::Other("halted (HLT exit without an in-kernel LAPIC)".into());
            }
            Ok(VcpuExit::Shutdown) => {
                exits.other.fetch_add(1, Ordering::Relaxed);
                break End::Shutdown;
            }
            Ok(VcpuExit::FailEntry(reason, _)) => {
                exits.other.fetch_add(1, Ordering::Relaxed);
                break End::FailEntry(reason);
            }
            Ok(VcpuExit::InternalError) => {
                exits.other.fetch_add(1, Ordering::Relaxed);
                if emulate_failed(&mut vcpu, id, m, opts) {
                    continue;
                }
                break End::Internal;
            }
            Ok(VcpuExit::SystemEvent(t, _)) => {
                exits.other.fetch_add(1, Ordering::Relaxed);
                break End::Event(t);
            }
            Ok(VcpuExit::Intr) => {
                exits.intr.fetch_add(1, Ordering::Relaxed);
            }
            Ok(other) => {
                exits.other.fetch_add(1, Ordering::Relaxed);
                break End::Other(format!("unexpected KVM exit {other:?}"));
            }
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                exits.intr.fetch_add(1, Ordering::Relaxed);
                if m.stop.get().is_some() {
                    break End::Stop;
                }
                if let Some(msg) = halted_for_good(&vcpu) {
                    break End::Other(msg);
                }
                if let Some(s) = &opts.sample
                    && sampled.elapsed() >= s.every
                {
                    sampled = std::time::Instant::now();
                    eprintln!("{}", s.line(&vcpu, id, m, t0, exits, &mut last_exits));
                }
            }
            Err(e) => break End::Error(format!("KVM_RUN: {e}")),
        }
    };
    let who = format!("vCPU {id}");
    let fail = |what: String| Some((1, Some(format!("{who}: {what}"))));
    let r = match end {
        End::Stop => None,
        End::Shutdown => fail(format!(
            "triple fault (KVM shutdown exit) at {}; the machine stops",
            rip(&vcpu)
        )),
        End::FailEntry(reason) => fail(format!(
            "KVM could not enter the guest (hardware entry failure reason {reason:#x}) at {}",
            rip(&vcpu)
        )),
        End::Internal => {
            let kr = vcpu.get_kvm_run();
            // SAFETY: after a KVM_EXIT_INTERNAL_ERROR exit, the kernel filled the `internal`
            // member of the exit union (suberror, ndata, data).
            let (sub, data) = unsafe {
                let i = &kr.__bindgen_anon_1.internal;
                (i.suberror, i.data[..(i.ndata as usize).min(16)].to_vec())
            };
            let what = match sub {
                1 => "emulation failure",
                2 => "simultaneous exceptions",
                3 => "delivery event",
                4 => "unexpected exit reason",
                _ => "internal error",
            };
            // emulation failures with KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES:
            // data[0] = flags, then insn_size (one byte) and the instruction's bytes
            let insn = if sub == 1 && data.len() >= 2 && data[0] & 1 != 0 {
                let b: Vec<u8> = data[1..data.len().min(3)]
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .collect();
                let n = usize::from(b[0]).min(b.len() - 1);
                let hex: Vec<String> = b[1..=n].iter().map(|x| format!("{x:02x}")).collect();
                format!("instruction bytes {}", hex.join(" "))
            } else {
                format!("data {data:x?}")
            };
            fail(format!(
                "KVM internal error: {what} (suberror {sub}, {insn}) at {}",
                rip(&vcpu)
            ))
        }
        End::Event(t) => {
            if opts.trace_int {
                eprintln!("kvm: {who}: system event {t}");
            }
            match t {
                KVM_SYSTEM_EVENT_SHUTDOWN | KVM_SYSTEM_EVENT_RESET => Some((0, None)),
                _ => fail(format!(
                    "KVM system event {t} (guest crash) at {}",
                    rip(&vcpu)
                )),
            }
        }
        End::Other(msg) => fail(format!("{msg} at {}", rip(&vcpu))),
        End::Error(msg) => fail(msg),
    };
    if opts.trace_int {
        eprintln!("kvm: {who} stops at {}", rip(&vcpu));
    }
    r
}

/// The instruction bytes of an emulation failure (KVM_INTERNAL_ERROR_EMULATION with
/// KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES), if the exit has them.
fn failed_insn(vcpu: &mut VcpuFd) -> Option<Vec<u8>> {
    let kr = vcpu.get_kvm_run();
    // SAFETY: after a KVM_EXIT_INTERNAL_ERROR exit, the kernel filled the `internal` member
    // of the exit union (suberror, ndata, data).
    let (sub, data) = unsafe {
        let i = &kr.__bindgen_anon_1.internal;
        (i.suberror, i.data[..(i.ndata as usize).min(16)].to_vec())
    };
    // data[0] = flags, then insn_size (one byte) and the instruction's bytes
    if sub != 1 || data.len() < 2 || data[0] & 1 == 0 {
        return None;
    }
    let b: Vec<u8> = data[1..data.len().min(3)]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let n = usize::from(b[0]).min(b.len() - 1);
    Some(b[1..=n].to_vec())
}

/// Carries out, in user space, an instruction a software-assisted KVM's ring-0 emulator
/// failed on, when it is one xlat knows. The bytes are decoded once with iced-x86 (as the x86
/// frontend does) and the instruction's `Code` picks the action: `int3` (Linux's boot-time
/// int3 self-test and text patching) is delivered as the #BP trap it is (RIP after the
/// instruction); `popcnt` between registers, `clac`/`stac`, `fwait` and `ldmxcsr`/`stmxcsr`
/// are carried out here. True when the vCPU can go on.
fn emulate_failed(vcpu: &mut VcpuFd, id: usize, m: &Microvm, opts: &RunOptions) -> bool {
    let Some(bytes) = failed_insn(vcpu) else {
        return false;
    };
    let Ok(mut regs) = vcpu.get_regs() else {
        return false;
    };
    let insn = decode(&bytes, regs.rip);
    let note = |seen: &AtomicBool, what: &str| {
        if opts.trace_int && !seen.swap(true, Ordering::Relaxed) {
            eprintln!("kvm: vCPU {id}: {what} the emulator failed on, done by xlat (noted once)");
        }
    };
    let next = insn.next_ip();
    match insn.code() {
        Code::Ldmxcsr_m32 | Code::Stmxcsr_m32 => {
            note(&MXCSR_SEEN, "ldmxcsr/stmxcsr");
            mxcsr_insn(vcpu, m, &insn, regs)
        }
        Code::Popcnt_r16_rm16 | Code::Popcnt_r32_rm32 | Code::Popcnt_r64_rm64
            if insn.op1_kind() == OpKind::Register =>
        {
            note(&POPCNT_SEEN, "popcnt");
            popcnt(&mut regs, &insn) && vcpu.set_regs(&regs).is_ok()
        }
        Code::Wait => {
            // x87 exceptions are never pending here (the x87 runs unmasked only in guests
            // that ask), so fwait does nothing but move on
            note(&FWAIT_SEEN, "fwait");
            regs.rip = next;
            vcpu.set_regs(&regs).is_ok()
        }
        Code::Clac | Code::Stac => {
            // SMAP, which this KVM cannot hide: clear / set RFLAGS.AC
            note(&CLAC_SEEN, "clac/stac");
            if insn.code() == Code::Clac {
                regs.rflags &= !(1 << 18);
            } else {
                regs.rflags |= 1 << 18;
            }
            regs.rip = next;
            vcpu.set_regs(&regs).is_ok()
        }
        Code::Int3 => {
            let Ok(mut ev) = vcpu.get_vcpu_events() else {
                return false;
            };
            if ev.exception.injected != 0 || ev.exception.pending != 0 {
                return false;
            }
            if opts.trace_int {
                eprintln!(
                    "kvm: vCPU {id}: int3 at rip={:#x} the emulator failed on, delivered as #BP",
                    regs.rip
                );
            }
            regs.rip = next;
            ev.exception.injected = 1;
            ev.exception.nr = 3;
            ev.exception.has_error_code = 0;
            ev.flags = 0;
            vcpu.set_regs(&regs).is_ok() && vcpu.set_vcpu_events(&ev).is_ok()
        }
        _ => false,
    }
}

static POPCNT_SEEN: AtomicBool = AtomicBool::new(false);
static MXCSR_SEEN: AtomicBool = AtomicBool::new(false);
static CLAC_SEEN: AtomicBool = AtomicBool::new(false);
static FWAIT_SEEN: AtomicBool = AtomicBool::new(false);

/// The 64-bit-mode instruction at `rip` whose bytes begin `bytes` (`Code::INVALID` when
/// they are none, or cut short).
fn decode(bytes: &[u8], rip: u64) -> Instruction {
    Decoder::with_ip(64, bytes, rip, DecoderOptions::NONE).decode()
}

/// The linear address of `insn`'s memory operand (operand 0) with the vCPU's registers and
/// the FS/GS bases (ES/CS/SS/DS have base 0 in 64-bit mode); `None` without one.
fn mem_addr(insn: &Instruction, mut regs: kvm_bindings::kvm_regs, fs: u64, gs: u64) -> Option<u64> {
    if insn.op0_kind() != OpKind::Memory {
        return None;
    }
    insn.virtual_address(0, 0, |r, _, _| match r {
        Register::FS => Some(fs),
        Register::GS => Some(gs),
        Register::ES | Register::CS | Register::SS | Register::DS => Some(0),
        _ => gpr(&mut regs, r).map(|v| *v),
    })
}

/// The guest physical addresses of the `n` bytes at linear `gva` (KVM_TRANSLATE, page by
/// page); `None` when a page is not mapped (or not writable, for `write`).
fn guest_phys(vcpu: &VcpuFd, gva: u64, n: u64, write: bool) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    let mut page = u64::MAX;
    let mut base = 0;
    for k in 0..n {
        let va = gva.wrapping_add(k);
        if va >> 12 != page {
            let t = vcpu.translate_gva(va).ok()?;
            if t.valid == 0 || (write && t.writeable == 0) {
                return None;
            }
            page = va >> 12;
            base = t.physical_address & !0xfff;
        }
        out.push(base | (va & 0xfff));
    }
    Some(out)
}

/// `ldmxcsr m32` / `stmxcsr m32`: Linux's `kernel_fpu_begin` loads the default MXCSR in
/// ring 0, where the software-assisted KVM's emulator has no SSE. Whether the vCPU can go on
/// (a reserved MXCSR bit is the #GP(0) it is; an unmapped operand is left to the caller's
/// error).
fn mxcsr_insn(
    vcpu: &VcpuFd,
    m: &Microvm,
    insn: &Instruction,
    mut regs: kvm_bindings::kvm_regs,
) -> bool {
    let Ok(sregs) = vcpu.get_sregs() else {
        return false;
    };
    let Some(addr) = mem_addr(insn, regs, sregs.fs.base, sregs.gs.base) else {
        return false;
    };
    let store = insn.code() == Code::Stmxcsr_m32;
    let Some(pas) = guest_phys(vcpu, addr, 4, store) else {
        return false;
    };
    // MXCSR through KVM_GET/SET_XSAVE (the legacy area's bytes 24..32: MXCSR, MXCSR_MASK):
    // on this PVM host KVM_GET_FPU returns zeros and KVM_SET_FPU is not seen by the guest.
    let Ok(mut xs) = vcpu.get_xsave() else {
        return false;
    };
    if store {
        let v = xs.region[6];
        for (k, pa) in pas.into_iter().enumerate() {
            if !m.bus.write(pa, 1, u64::from(v >> (8 * k))) {
                return false;
            }
        }
    } else {
        let mut v = 0u32;
        for (k, pa) in pas.into_iter().enumerate() {
            let Some(b) = m.bus.read(pa, 1) else {
                return false;
            };
            v |= (b as u32 & 0xff) << (8 * k);
        }
        let mask = match xs.region[7] {
            0 => 0xffbf,
            m => m,
        };
        if v & !mask != 0 {
            // a reserved bit: #GP(0), RIP at the instruction
            let Ok(mut ev) = vcpu.get_vcpu_events() else {
                return false;
            };
            ev.exception.injected = 1;
            ev.exception.nr = 13;
            ev.exception.has_error_code = 1;
            ev.exception.error_code = 0;
            ev.flags = 0;
            return vcpu.set_vcpu_events(&ev).is_ok();
        }
        xs.region[6] = v;
        // XSTATE_BV (bytes 512..520) with the SSE bit: Linux takes MXCSR from the buffer
        // only when SSE or AVX state is marked present, and KVM_GET_XSAVE leaves the bit clear
        // while the SSE state is in its init state (a guest that has not touched it yet; the
        // host's XSAVEOPT/XSAVES sees that after a context switch, so it depended on load)
        xs.region[128] |= 2;
        // SAFETY: `xs` is the vCPU's own state from KVM_GET_XSAVE with MXCSR changed to a
        // value its MXCSR_MASK allows.
        if unsafe { vcpu.set_xsave(&xs) }.is_err() {
            return false;
        }
    }
    regs.rip = insn.next_ip();
    vcpu.set_regs(&regs).is_ok()
}

/// The 64-bit slot of general register `r` (any width: the caller masks) in `regs`; `None`
/// when `r` is no general register.
fn gpr(regs: &mut kvm_bindings::kvm_regs, r: Register) -> Option<&mut u64> {
    Some(match r.full_register() {
        Register::RAX => &mut regs.rax,
        Register::RCX => &mut regs.rcx,
        Register::RDX => &mut regs.rdx,
        Register::RBX => &mut regs.rbx,
        Register::RSP => &mut regs.rsp,
        Register::RBP => &mut regs.rbp,
        Register::RSI => &mut regs.rsi,
        Register::RDI => &mut regs.rdi,
        Register::R8 => &mut regs.r8,
        Register::R9 => &mut regs.r9,
        Register::R10 => &mut regs.r10,
        Register::R11 => &mut regs.r11,
        Register::R12 => &mut regs.r12,
        Register::R13 => &mut regs.r13,
        Register::R14 => &mut regs.r14,
        Register::R15 => &mut regs.r15,
        _ => return None,
    })
}

/// `popcnt reg, reg` (register source; the caller checked): Linux's hweight helpers run it
/// in ring 0 when CPUID has POPCNT, which this KVM cannot hide. Updates `regs` (destination,
/// flags, RIP); false when an operand is no general register.
fn popcnt(regs: &mut kvm_bindings::kvm_regs, insn: &Instruction) -> bool {
    let Some(&mut v) = gpr(regs, insn.op1_register()) else {
        return false;
    };
    let (v, mask) = match insn.code() {
        Code::Popcnt_r64_rm64 => (v, u64::MAX),
        Code::Popcnt_r16_rm16 => (v & 0xffff, 0xffff),
        _ => (v & 0xffff_ffff, u64::MAX), // a 32-bit result zero-extends
    };
    let Some(d) = gpr(regs, insn.op0_register()) else {
        return false;
    };
    *d = (*d & !mask) | u64::from(v.count_ones());
    // OF SF ZF AF CF PF cleared, ZF = (source == 0)
    regs.rflags &= !0x8d5;
    if v == 0 {
        regs.rflags |= 0x40;
    }
    regs.rip = insn.next_ip();
    true
}

/// A vCPU that sleeps in HLT with interrupts disabled can never wake (no NMIs are sent).
fn halted_for_good(vcpu: &VcpuFd) -> Option<String> {
    let mp = vcpu.get_mp_state().ok()?;
    if mp.mp_state != KVM_MP_STATE_HALTED {
        return None;
    }
    let regs = vcpu.get_regs().ok()?;
    if regs.rflags & 0x200 != 0 {
        return None;
    }
    Some("halted with interrupts disabled".into())
}

/// Kicks vCPU threads out of KVM_RUN with a signal whose handler does nothing.
#[derive(Debug)]
struct Kicker {
    threads: Mutex<Vec<Option<libc::pthread_t>>>,
}

extern "C" fn on_kick(_: libc::c_int) {}

fn kick_signal() -> libc::c_int {
    libc::SIGRTMIN() + 3
}

impl Kicker {
    fn new(n: usize) -> Result<Kicker, String> {
        // SAFETY: installs a handler that does nothing (async-signal-safe) for a real-time
        // signal nobody else in xlat uses; no SA_RESTART, so KVM_RUN returns EINTR.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_kick as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(kick_signal(), &sa, std::ptr::null_mut()) != 0 {
                return Err(format!("sigaction: {}", std::io::Error::last_os_error()));
            }
        }
        Ok(Kicker {
            threads: Mutex::new(vec![None; n]),
        })
    }

    fn register(&self, id: usize) {
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        self.threads.lock().unwrap_or_else(|e| e.into_inner())[id] = Some(me);
    }

    fn unregister(&self, id: usize) {
        self.threads.lock().unwrap_or_else(|e| e.into_inner())[id] = None;
    }

    fn kick_all(&self) {
        let t = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        for th in t.iter().flatten() {
            // SAFETY: the thread is registered, so it is alive: it unregisters under this
            // lock before it ends.
            unsafe {
                libc::pthread_kill(*th, kick_signal());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory operands of 0F AE forms as Debian's vmlinux encodes them (objdump's reading
    /// of each in the comment), decoded as `emulate_failed` does.
    #[test]
    fn mem_operands_decode() {
        let r = kvm_bindings::kvm_regs {
            rsp: 0x1000,
            r8: 0x5000,
            rax: 0x10,
            rbx: 0x300,
            rip: 0xffff_ffff_8104_0b5e,
            ..Default::default()
        };
        let d = |b: &[u8]| {
            let i = decode(b, r.rip);
            (i.code(), mem_addr(&i, r, 0x7000, 0x9000), i.len())
        };
        // ldmxcsr 0x4(%rsp)
        let ld = Code::Ldmxcsr_m32;
        assert_eq!(d(&[0x0f, 0xae, 0x54, 0x24, 0x04]), (ld, Some(0x1004), 5));
        // stmxcsr %gs:0x1fb80
        assert_eq!(
            d(&[0x65, 0x0f, 0xae, 0x1c, 0x25, 0x80, 0xfb, 0x01, 0x00]),
            (Code::Stmxcsr_m32, Some(0x9000 + 0x1fb80), 9)
        );
        // ldmxcsr 0x10(%rip)
        let rel = 0xffff_ffff_8104_0b5e + 7 + 0x10;
        assert_eq!(d(&[0x0f, 0xae, 0x15, 0x10, 0, 0, 0]), (ld, Some(rel), 7));
        // ldmxcsr -0x8(%r8)
        assert_eq!(
            d(&[0x41, 0x0f, 0xae, 0x50, 0xf8]),
            (ld, Some(0x5000 - 8), 5)
        );
        // stmxcsr 0x20(%rbx,%rax,4)
        let st = d(&[0x0f, 0xae, 0x5c, 0x83, 0x20]);
        assert_eq!(st, (Code::Stmxcsr_m32, Some(0x300 + 0x40 + 0x20), 5));
        // %fs:(%eax): a 32-bit address
        assert_eq!(d(&[0x64, 0x67, 0x0f, 0xae, 0x10]), (ld, Some(0x7010), 5));
        // lfence (0F AE E8) has no memory operand; cut-short bytes are no instruction
        assert_eq!(d(&[0x0f, 0xae, 0xe8]), (Code::Lfence, None, 3));
        assert_eq!(d(&[0x0f, 0xae]).0, Code::INVALID);
    }

    /// The other instructions the emulator fails on, and popcnt's result and flags.
    #[test]
    fn other_failed_instructions_decode() {
        let code = |b: &[u8]| decode(b, 0x1000).code();
        assert_eq!(code(&[0xcc]), Code::Int3);
        assert_eq!(code(&[0x9b]), Code::Wait);
        assert_eq!(code(&[0x0f, 0x01, 0xca]), Code::Clac);
        assert_eq!(code(&[0x0f, 0x01, 0xcb]), Code::Stac);
        let mut r = kvm_bindings::kvm_regs {
            rip: 0x1000,
            rcx: 0xf0f0_0000_0000_00ff,
            rdx: u64::MAX,
            rflags: 0x8d7,
            ..Default::default()
        };
        // popcnt %rcx,%rdx (f3 48 0f b8 d1)
        let i = decode(&[0xf3, 0x48, 0x0f, 0xb8, 0xd1], r.rip);
        assert!(popcnt(&mut r, &i));
        assert_eq!((r.rdx, r.rflags, r.rip), (16, 0x2, 0x1005));
        // popcnt %ax,%r9w (66 f3 44 0f b8 c8) of a zero source: ZF, upper bits kept
        r.rax = 0xffff_0000;
        r.r9 = 0x1234_5678;
        let i = decode(&[0x66, 0xf3, 0x44, 0x0f, 0xb8, 0xc8], r.rip);
        assert!(popcnt(&mut r, &i));
        assert_eq!((r.r9, r.rflags, r.rip), (0x1234_0000, 0x42, 0x100b));
        // popcnt %ecx,%esi zero-extends
        r.rsi = u64::MAX;
        let i = decode(&[0xf3, 0x0f, 0xb8, 0xf1], r.rip);
        assert!(popcnt(&mut r, &i));
        assert_eq!(r.rsi, 8);
    }
}
