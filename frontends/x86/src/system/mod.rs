//! x86-64 system mode: the privileged state the lifter does not see ([`Sys`]: CPL, IF, control
//! registers, descriptor-table registers, MSRs), exception and interrupt delivery through the
//! 64-bit IDT ([`deliver`]), and the system instructions the lifter leaves to the exec loop
//! ([`exec`]: they reach it as #GP or #UD exits, and are emulated here one at a time).
//!
//! Only 64-bit long mode is modelled (the machine enters the guest there): segment bases other
//! than FS/GS are zero, descriptors are checked for presence and limits only. Anything
//! unimplemented becomes #UD in the guest.

pub mod mmu;
#[cfg(test)]
mod tests;

use crate::state;
use iced_x86::{Code, Decoder, DecoderOptions, Instruction, Mnemonic as M, OpKind, Register};
use xlat_ir::abi::CpuState;

/// #DE.
pub const DE: u8 = 0;
/// #DB.
pub const DB: u8 = 1;
/// #BP.
pub const BP: u8 = 3;
/// #UD.
pub const UD: u8 = 6;
/// #NM.
pub const NM: u8 = 7;
/// #DF.
pub const DF: u8 = 8;
/// #TS.
pub const TS: u8 = 10;
/// #NP.
pub const NP: u8 = 11;
/// #SS.
pub const SS: u8 = 12;
/// #GP.
pub const GP: u8 = 13;
/// #PF.
pub const PF: u8 = 14;

/// Segment register slots in [`Sys::sel`].
pub mod seg {
    /// es.
    pub const ES: usize = 0;
    /// cs.
    pub const CS: usize = 1;
    /// ss.
    pub const SS: usize = 2;
    /// ds.
    pub const DS: usize = 3;
    /// fs.
    pub const FS: usize = 4;
    /// gs.
    pub const GS: usize = 5;
}

/// MSR numbers handled by rdmsr/wrmsr.
pub mod msr {
    /// Time-stamp counter.
    pub const TSC: u32 = 0x10;
    /// Local APIC base.
    pub const APIC_BASE: u32 = 0x1b;
    /// Memory types (PAT).
    pub const PAT: u32 = 0x277;
    /// EFER.
    pub const EFER: u32 = 0xc000_0080;
    /// Segment selectors for syscall/sysret.
    pub const STAR: u32 = 0xc000_0081;
    /// 64-bit syscall target.
    pub const LSTAR: u32 = 0xc000_0082;
    /// Compatibility-mode syscall target.
    pub const CSTAR: u32 = 0xc000_0083;
    /// RFLAGS bits syscall clears.
    pub const SFMASK: u32 = 0xc000_0084;
    /// fs base.
    pub const FS_BASE: u32 = 0xc000_0100;
    /// gs base.
    pub const GS_BASE: u32 = 0xc000_0101;
    /// The gs base swapgs exchanges.
    pub const KERNEL_GS_BASE: u32 = 0xc000_0102;
    /// rdtscp's aux value.
    pub const TSC_AUX: u32 = 0xc000_0103;
    /// Microcode revision (IA32_BIOS_SIGN_ID): reads 0 (no microcode), writes ignored.
    pub const BIOS_SIGN_ID: u32 = 0x8b;
    /// IA32_ARCH_CAPABILITIES (CPUID.7.0:EDX[29]): which speculative-execution flaws the CPU
    /// does not have.
    pub const ARCH_CAPABILITIES: u32 = 0x10a;
    /// sysenter's CS (kept; sysenter itself is #UD).
    pub const SYSENTER_CS: u32 = 0x174;
    /// sysenter's RSP.
    pub const SYSENTER_ESP: u32 = 0x175;
    /// sysenter's RIP.
    pub const SYSENTER_EIP: u32 = 0x176;
}

/// CR4 bits.
pub mod cr4 {
    /// Debugging extensions (DR4/DR5 are #UD).
    pub const DE: u64 = 1 << 3;
    /// Physical address extension.
    pub const PAE: u64 = 1 << 5;
    /// XSAVE and XCR0 enabled.
    pub const OSXSAVE: u64 = 1 << 18;
}

/// CR0 bits.
pub mod cr0 {
    /// Protection enable.
    pub const PE: u64 = 1;
    /// Task switched.
    pub const TS: u64 = 1 << 3;
    /// Write protect (supervisor writes honour R/W).
    pub const WP: u64 = 1 << 16;
    /// Paging.
    pub const PG: u64 = 1 << 31;
}

/// EFER bits.
pub mod efer {
    /// syscall/sysret enabled.
    pub const SCE: u64 = 1;
    /// Long mode enable.
    pub const LME: u64 = 1 << 8;
    /// Long mode active.
    pub const LMA: u64 = 1 << 10;
    /// No-execute enable.
    pub const NXE: u64 = 1 << 11;
}

/// RFLAGS.IF.
pub const IF: u64 = 1 << 9;

/// The privileged CPU state.
#[derive(Debug, Clone, Default)]
pub struct Sys {
    /// Current privilege level (0 or 3; 1 and 2 are treated as supervisor).
    pub cpl: u8,
    /// RFLAGS.IF.
    pub iflag: bool,
    /// Interrupts are held off for one more instruction (after sti / mov ss).
    pub shadow: bool,
    /// CR0.
    pub cr0: u64,
    /// CR2 (the last page-fault address).
    pub cr2: u64,
    /// CR3.
    pub cr3: u64,
    /// CR4.
    pub cr4: u64,
    /// CR8 (task priority; kept, not acted on).
    pub cr8: u64,
    /// EFER.
    pub efer: u64,
    /// GDTR base and limit.
    pub gdt: (u64, u16),
    /// IDTR base and limit.
    pub idt: (u64, u16),
    /// TR selector, base and limit.
    pub tr: (u16, u64, u32),
    /// Segment selectors ([`seg`] order).
    pub sel: [u16; 6],
    /// STAR.
    pub star: u64,
    /// LSTAR.
    pub lstar: u64,
    /// CSTAR.
    pub cstar: u64,
    /// SFMASK.
    pub sfmask: u64,
    /// KERNEL_GS_BASE.
    pub kernel_gs_base: u64,
    /// APIC_BASE.
    pub apic_base: u64,
    /// PAT.
    pub pat: u64,
    /// TSC_AUX.
    pub tsc_aux: u64,
    /// XCR0 (x87 always; SSE). The lifter sees it in the state word
    /// [`crate::cpuid::XCR0`] only while CR4.OSXSAVE is set ([`sync_xcr0`]).
    pub xcr0: u64,
    /// DR0-DR3, DR6, DR7 (kept; breakpoints are not acted on, see [`exec`]).
    pub dr: [u64; 6],
    /// LDTR selector, base and limit.
    pub ldtr: (u16, u64, u32),
    /// SYSENTER_CS, SYSENTER_ESP, SYSENTER_EIP.
    pub sysenter: [u64; 3],
}

impl Sys {
    /// The paging inputs for an access at privilege `user` (or the CPL's).
    pub fn mode(&self, user: bool) -> mmu::Mode {
        mmu::Mode {
            paging: self.cr0 & cr0::PG != 0,
            cr3: self.cr3,
            user,
            wp: self.cr0 & cr0::WP != 0,
            nxe: self.efer & efer::NXE != 0,
        }
    }

    /// Whether the CPU runs user code (CPL 3).
    pub fn user(&self) -> bool {
        self.cpl == 3
    }
}

/// An exception raised while emulating or delivering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exc {
    /// Vector.
    pub vector: u8,
    /// Error code, for the vectors that push one.
    pub err: Option<u32>,
    /// The faulting linear address (#PF).
    pub cr2: Option<u64>,
}

impl Exc {
    /// An exception without error code.
    pub fn new(vector: u8) -> Exc {
        Exc {
            vector,
            err: None,
            cr2: None,
        }
    }
    /// #GP(err).
    pub fn gp(err: u32) -> Exc {
        Exc {
            vector: GP,
            err: Some(err),
            cr2: None,
        }
    }
    /// #PF at `addr` with error code `err`.
    pub fn pf(addr: u64, err: u32) -> Exc {
        Exc {
            vector: PF,
            err: Some(err),
            cr2: Some(addr),
        }
    }
}

/// Whether exception `v` pushes an error code.
pub fn has_error_code(v: u8) -> bool {
    matches!(v, 8 | 10..=14 | 17 | 21 | 29 | 30)
}

/// What the machine provides to system instructions: virtual memory (through the page
/// tables, at a given privilege), code bytes, I/O ports and the time-stamp counter.
pub trait SysBus {
    /// Reads `size` (1, 2, 4, 8) bytes at linear `va`; `user` selects the privilege checks.
    fn read(&mut self, sys: &Sys, va: u64, size: u8, user: bool) -> Result<u64, Exc>;
    /// Writes `size` bytes at linear `va`.
    fn write(&mut self, sys: &Sys, va: u64, size: u8, val: u64, user: bool) -> Result<(), Exc>;
    /// Up to 15 code bytes at `pc` (fewer where fetching stops).
    fn fetch(&mut self, sys: &Sys, pc: u64) -> Vec<u8>;
    /// An I/O port read.
    fn port_in(&mut self, port: u16, size: u8) -> u32;
    /// An I/O port write.
    fn port_out(&mut self, port: u16, size: u8, val: u32);
    /// The time-stamp counter.
    fn tsc(&mut self) -> u64;
    /// A note for `-d unimp`: something the guest did is not implemented.
    fn unimp(&mut self, what: &str);
    /// An MSR the machine provides (the local APIC's); `None`: no such MSR (#GP).
    fn rdmsr(&mut self, n: u32) -> Option<u64> {
        let _ = n;
        None
    }
    /// Writes an MSR the machine provides; `None`: no such MSR (#GP).
    fn wrmsr(&mut self, n: u32, v: u64) -> Option<()> {
        let _ = (n, v);
        None
    }
}

/// The state word the lifter's xgetbv/xsave/xrstor read: XCR0 while CR4.OSXSAVE is set,
/// zero (those instructions are #UD) otherwise.
pub fn sync_xcr0(env: &mut CpuState, sys: &Sys) {
    let v = if sys.cr4 & cr4::OSXSAVE != 0 {
        sys.xcr0
    } else {
        0
    };
    env.set_word(crate::cpuid::XCR0, v);
}

/// Highest basic CPUID leaf in system mode (0x16: the processor frequency).
pub const SYS_MAX_LEAF: u32 = 0x16;

/// IA32_ARCH_CAPABILITIES: the speculative-execution flaws a translated CPU cannot show:
/// RDCL_NO (Meltdown), SSB_NO, MDS_NO, PSCHANGE_MC_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO,
/// PSDP_NO, GDS_NO, RFDS_NO (so the guest needs no page-table isolation or buffer clearing).
pub const ARCH_CAPS: u64 = 1
    | (1 << 4)
    | (1 << 5)
    | (1 << 6)
    | (1 << 8)
    | (1 << 13)
    | (1 << 14)
    | (1 << 15)
    | (1 << 26)
    | (1 << 27);
/// The TSC and the local APIC timer run at 1 GHz (CPUID leaf 0x15: crystal 1 GHz, ratio 1;
/// KVM's in-kernel APIC bus is 1 GHz as well).
pub const TSC_HZ: u32 = 1_000_000_000;

/// CPUID in system mode: the user-mode CPU ([`crate::cpuid::cpuid`]) plus what the machine
/// around it provides: MSR and APIC (a local APIC at 0xfee0_0000 with the TSC-deadline
/// timer), XSAVE for the x87 and SSE components (OSXSAVE as CR4 says; leaf 0xd sized for the
/// current XCR0), and the TSC frequency in leaf 0x15. No x2APIC, no XSAVEOPT/XSAVEC/XSAVES.
pub fn cpuid(sys: &Sys, leaf: u32, sub: u32) -> [u32; 4] {
    let base = crate::cpuid::cpuid(leaf, sub);
    match leaf {
        0 => [SYS_MAX_LEAF, base[1], base[2], base[3]],
        1 => {
            let mut r = base;
            // CLFLUSH line size in 8-byte units (64 bytes); APIC ID 0.
            r[1] = 8 << 8;
            r[2] |= (1 << 24) | (1 << 26); // TSC-deadline, XSAVE
            if sys.cr4 & cr4::OSXSAVE != 0 {
                r[2] |= 1 << 27;
            }
            r[3] |= (1 << 5) | (1 << 9); // MSR, APIC
            r
        }
        0xd if sub == 0 => {
            let size = crate::cpuid::XSAVE_SIZE;
            [crate::cpuid::XCR0_USER as u32, size, size, 0]
        }
        0xd => [0; 4],
        0x15 => [1, 1, TSC_HZ, 0],
        // Base and maximum frequency (MHz), bus 100 MHz.
        0x16 => [TSC_HZ / 1_000_000, TSC_HZ / 1_000_000, 100, 0],
        7 if sub == 0 => {
            let mut r = base;
            r[3] |= 1 << 29; // IA32_ARCH_CAPABILITIES
            r
        }
        _ => base,
    }
}

/// What an emulated instruction or a delivery changed, for the exec loop to act on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects {
    /// CPL, CR0, CR4 or EFER changed: new translation mode (TLB table, fetch TLB).
    pub mode: bool,
    /// Cached translations are stale (CR3 write, invlpg).
    pub flush: bool,
    /// hlt: wait for an interrupt.
    pub halt: bool,
}

/// RFLAGS with IF from `sys`.
pub fn rflags(env: &CpuState, sys: &Sys) -> u64 {
    (crate::rflags(env) & !IF) | if sys.iflag { IF } else { 0 }
}

/// Sets RFLAGS (arithmetic bits, DF, IF).
pub fn set_rflags(env: &mut CpuState, sys: &mut Sys, v: u64) {
    crate::set_rflags(env, v);
    sys.iflag = v & IF != 0;
}

fn push(
    env: &mut CpuState,
    sys: &Sys,
    bus: &mut dyn SysBus,
    v: u64,
    user: bool,
) -> Result<(), Exc> {
    let sp = env.word(state::RSP).wrapping_sub(8);
    bus.write(sys, sp, 8, v, user)?;
    env.set_word(state::RSP, sp);
    Ok(())
}

/// Reads the 8-byte descriptor for `selector` from the GDT.
fn descriptor(sys: &Sys, bus: &mut dyn SysBus, selector: u16) -> Result<u64, Exc> {
    let idx = u64::from(selector & !7);
    if selector & 4 != 0 || idx + 7 > u64::from(sys.gdt.1) {
        return Err(Exc::gp(u32::from(selector & !3)));
    }
    bus.read(sys, sys.gdt.0.wrapping_add(idx), 8, false)
}

/// Delivers vector `v` through the IDT: pushes SS, RSP, RFLAGS, CS, `rip` (and `err`) on the
/// handler's stack (from the TSS when the privilege changes, or an IST stack), and enters the
/// handler. `soft` (int n, int3) checks the gate's DPL against the CPL.
pub fn deliver(
    env: &mut CpuState,
    sys: &mut Sys,
    bus: &mut dyn SysBus,
    v: u8,
    err: Option<u32>,
    rip: u64,
    soft: bool,
) -> Result<Effects, Exc> {
    let ext = u32::from(!soft);
    let gate_err = u32::from(v) * 8 + 2 + ext;
    if u64::from(v) * 16 + 15 > u64::from(sys.idt.1) {
        return Err(Exc::gp(gate_err));
    }
    let at = sys.idt.0.wrapping_add(u64::from(v) * 16);
    let lo = bus.read(sys, at, 8, false)?;
    let hi = bus.read(sys, at.wrapping_add(8), 8, false)?;
    let ty = (lo >> 40) & 0xf;
    let dpl = ((lo >> 45) & 3) as u8;
    let present = lo >> 47 & 1 != 0;
    if ty != 0xe && ty != 0xf {
        return Err(Exc::gp(gate_err));
    }
    if soft && dpl < sys.cpl {
        return Err(Exc::gp(gate_err));
    }
    if !present {
        return Err(Exc {
            vector: NP,
            err: Some(gate_err),
            cr2: None,
        });
    }
    let target = (lo & 0xffff) | ((lo >> 32) & 0xffff_0000) | (hi << 32);
    let cs = ((lo >> 16) & 0xffff) as u16;
    let cs_desc = descriptor(sys, bus, cs)?;
    let new_cpl = ((cs_desc >> 45) & 3) as u8;
    let ist = (lo >> 32) & 7;
    let old_rsp = env.word(state::RSP);
    let old_ss = sys.sel[seg::SS];
    let old_cs = sys.sel[seg::CS];
    let flags = rflags(env, sys);
    let mut rsp = old_rsp;
    if ist != 0 {
        rsp = bus.read(sys, sys.tr.1.wrapping_add(0x24 + 8 * (ist - 1)), 8, false)?;
    } else if new_cpl < sys.cpl {
        rsp = bus.read(
            sys,
            sys.tr.1.wrapping_add(4 + 8 * u64::from(new_cpl)),
            8,
            false,
        )?;
    }
    let mut new = sys.clone();
    let stack_switch = new_cpl < sys.cpl;
    new.cpl = new_cpl;
    env.set_word(state::RSP, rsp & !15);
    let frame = [u64::from(old_ss), old_rsp, flags, u64::from(old_cs), rip];
    let saved_rsp = old_rsp;
    for w in frame.into_iter().chain(err.map(u64::from)) {
        if let Err(e) = push(env, &new, bus, w, false) {
            env.set_word(state::RSP, saved_rsp);
            return Err(e);
        }
    }
    if stack_switch {
        new.sel[seg::SS] = u16::from(new_cpl);
    }
    new.sel[seg::CS] = (cs & !3) | u16::from(new_cpl);
    if ty == 0xe {
        new.iflag = false;
    }
    // TF, NT, RF are not modelled; DF is left alone as the SDM says.
    let mode = new.cpl != sys.cpl;
    *sys = new;
    env.pc = target;
    Ok(Effects {
        mode,
        ..Effects::default()
    })
}

/// The value of register `r` for address computation.
fn reg_value(env: &CpuState, sys: &Sys, r: Register) -> u64 {
    match r {
        Register::None => 0,
        Register::RIP => env.pc,
        Register::FS => env.word(state::FS_BASE),
        Register::GS => env.word(state::GS_BASE),
        Register::ES | Register::CS | Register::SS | Register::DS => 0,
        _ if r.is_gpr() => {
            let v = env.word(crate::lift::gpr_off(r));
            match r.size() {
                1 if matches!(r, Register::AH | Register::CH | Register::DH | Register::BH) => {
                    (v >> 8) & 0xff
                }
                1 => v & 0xff,
                2 => v & 0xffff,
                4 => v & 0xffff_ffff,
                _ => v,
            }
        }
        _ => {
            let _ = sys;
            0
        }
    }
}

fn set_gpr(env: &mut CpuState, r: Register, v: u64) {
    let off = crate::lift::gpr_off(r);
    let old = env.word(off);
    let nv = match r.size() {
        1 => (old & !0xff) | (v & 0xff),
        2 => (old & !0xffff) | (v & 0xffff),
        4 => v & 0xffff_ffff,
        _ => v,
    };
    env.set_word(off, nv);
}

fn mem_addr(env: &CpuState, sys: &Sys, i: &Instruction) -> u64 {
    i.virtual_address(0, 0, |r, _, _| Some(reg_value(env, sys, r)))
        .unwrap_or(0)
}

fn seg_slot(r: Register) -> Option<usize> {
    Some(match r {
        Register::ES => seg::ES,
        Register::CS => seg::CS,
        Register::SS => seg::SS,
        Register::DS => seg::DS,
        Register::FS => seg::FS,
        Register::GS => seg::GS,
        _ => return None,
    })
}

/// Outcome of [`exec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exec {
    /// Emulated; `env.pc` is the next instruction.
    Done(Effects),
    /// Not a system instruction this module implements: the caller raises #UD.
    Unhandled,
    /// The guest leaves what is modelled (a far transfer into a 16/32-bit code segment:
    /// compatibility and legacy modes are not): the machine cannot go on; the reason.
    Unmodelled(&'static str),
}

/// Emulates the system instruction at `env.pc`, which the lifter left to the exec loop.
pub fn exec(env: &mut CpuState, sys: &mut Sys, bus: &mut dyn SysBus) -> Result<Exec, Exc> {
    let bytes = bus.fetch(sys, env.pc);
    let mut d = Decoder::with_ip(64, &bytes, env.pc, DecoderOptions::NONE);
    let i = d.decode();
    if i.is_invalid() {
        return Ok(Exec::Unhandled);
    }
    let next = env.pc.wrapping_add(i.len() as u64);
    let privileged = |sys: &Sys| {
        if sys.cpl != 0 {
            Err(Exc::gp(0))
        } else {
            Ok(())
        }
    };
    let mut fx = Effects::default();
    match i.mnemonic() {
        M::Hlt => {
            privileged(sys)?;
            fx.halt = true;
        }
        M::Cli => {
            privileged(sys)?;
            sys.iflag = false;
        }
        M::Sti => {
            privileged(sys)?;
            if !sys.iflag {
                sys.shadow = true;
            }
            sys.iflag = true;
        }
        M::In | M::Out => {
            privileged(sys)?;
            let (data, port_op) = if i.mnemonic() == M::In {
                (0, 1)
            } else {
                (1, 0)
            };
            let r = i.op_register(data);
            let size = r.size() as u8;
            let port = match i.op_kind(port_op) {
                OpKind::Immediate8 => u16::from(i.immediate8()),
                _ => env.word(state::RDX) as u16,
            };
            if i.mnemonic() == M::In {
                let v = bus.port_in(port, size);
                set_gpr(env, r, u64::from(v));
            } else {
                let v = reg_value(env, sys, r) as u32;
                bus.port_out(port, size, v);
            }
        }
        M::Int => {
            env.pc = next;
            let v = i.immediate8();
            return deliver(env, sys, bus, v, None, next, true).map(Exec::Done);
        }
        M::Iretq => return iretq(env, sys, bus).map(Exec::Done),
        M::Sysretq => {
            privileged(sys)?;
            if sys.efer & efer::SCE == 0 {
                return Err(Exc::new(UD));
            }
            let base = (sys.star >> 48) as u16;
            sys.sel[seg::CS] = (base + 16) | 3;
            sys.sel[seg::SS] = (base + 8) | 3;
            sys.cpl = 3;
            let f = env.word(state::R11);
            set_rflags(env, sys, f);
            env.pc = env.word(state::RCX);
            fx.mode = true;
            return Ok(Exec::Done(fx));
        }
        // jmp far m16:16/32/64: to a 64-bit code segment of the same privilege; a 16/32-bit
        // one would enter compatibility mode (Linux's BIOS reboot path does).
        M::Jmp
            if matches!(
                i.code(),
                Code::Jmp_m1616 | Code::Jmp_m1632 | Code::Jmp_m1664
            ) =>
        {
            let a = mem_addr(env, sys, &i);
            let n = match i.code() {
                Code::Jmp_m1616 => 2,
                Code::Jmp_m1632 => 4,
                _ => 8,
            };
            let off = bus.read(sys, a, n, sys.user())?;
            let cs = bus.read(sys, a.wrapping_add(u64::from(n)), 2, sys.user())? as u16;
            let d = descriptor(sys, bus, cs)?;
            if d >> 43 & 1 == 0 || d >> 44 & 1 == 0 {
                return Err(Exc::gp(u32::from(cs & !3)));
            }
            if d >> 47 & 1 == 0 {
                return Err(Exc {
                    vector: NP,
                    err: Some(u32::from(cs & !3)),
                    cr2: None,
                });
            }
            if d >> 53 & 1 == 0 {
                return Ok(Exec::Unmodelled(
                    "a far jump to a 16/32-bit code segment (compatibility mode is not modelled)",
                ));
            }
            if ((d >> 45) & 3) as u8 != sys.cpl {
                bus.unimp("far jump to another privilege level");
                return Ok(Exec::Unhandled);
            }
            sys.sel[seg::CS] = (cs & !3) | u16::from(sys.cpl);
            sys.shadow = false;
            env.pc = off;
            return Ok(Exec::Done(fx));
        }
        M::Retf if i.code() == Code::Retfq => {
            // Same-privilege far return (reloading CS).
            let sp = env.word(state::RSP);
            let rip = bus.read(sys, sp, 8, sys.user())?;
            let cs = bus.read(sys, sp.wrapping_add(8), 8, sys.user())? as u16;
            if (cs & 3) as u8 != sys.cpl {
                bus.unimp("far return to another privilege level");
                return Ok(Exec::Unhandled);
            }
            descriptor(sys, bus, cs)?;
            sys.sel[seg::CS] = cs;
            env.set_word(state::RSP, sp.wrapping_add(16 + u64::from(i.immediate16())));
            env.pc = rip;
            return Ok(Exec::Done(fx));
        }
        M::Mov => {
            let (d0, s0) = (i.op0_kind(), i.op1_kind());
            let r0 = if d0 == OpKind::Register {
                i.op0_register()
            } else {
                Register::None
            };
            let r1 = if s0 == OpKind::Register {
                i.op1_register()
            } else {
                Register::None
            };
            if r0.is_cr() || r1.is_cr() {
                privileged(sys)?;
                if r0.is_cr() {
                    let v = reg_value(env, sys, r1);
                    fx = write_cr(sys, r0, v)?;
                    sync_xcr0(env, sys);
                } else {
                    let v = match r1 {
                        Register::CR0 => sys.cr0,
                        Register::CR2 => sys.cr2,
                        Register::CR3 => sys.cr3,
                        Register::CR4 => sys.cr4,
                        Register::CR8 => sys.cr8,
                        _ => return Err(Exc::new(UD)),
                    };
                    set_gpr(env, r0, v);
                }
            } else if let Some(s) = seg_slot(r0) {
                let v = if s0 == OpKind::Register {
                    reg_value(env, sys, r1) as u16
                } else {
                    bus.read(sys, mem_addr(env, sys, &i), 2, sys.user())? as u16
                };
                load_segment(env, sys, bus, s, v)?;
            } else if let Some(s) = seg_slot(r1) {
                let v = u64::from(sys.sel[s]);
                if d0 == OpKind::Register {
                    set_gpr(env, r0, v);
                } else {
                    bus.write(sys, mem_addr(env, sys, &i), 2, v, sys.user())?;
                }
            } else if r0.is_dr() || r1.is_dr() {
                privileged(sys)?;
                let dr = if r0.is_dr() { r0 } else { r1 };
                let n = dr.number() - Register::DR0.number();
                let slot = match n {
                    0..=3 => n,
                    4 | 5 if sys.cr4 & cr4::DE != 0 => return Err(Exc::new(UD)),
                    4 | 6 => 4,
                    5 | 7 => 5,
                    _ => return Err(Exc::new(UD)),
                };
                if r0.is_dr() {
                    let v = reg_value(env, sys, r1);
                    if slot >= 4 && v >> 32 != 0 {
                        return Err(Exc::gp(0));
                    }
                    if slot == 5 && v & 0xff != 0 {
                        bus.unimp("hardware breakpoints (DR7 enables one; it never triggers)");
                    }
                    sys.dr[slot] = v;
                } else {
                    let v = match slot {
                        4 => (sys.dr[4] & 0xf00f) | 0xffff_0ff0,
                        5 => (sys.dr[5] & !0xd800) | 0x400,
                        _ => sys.dr[slot],
                    };
                    set_gpr(env, r0, v);
                }
            } else {
                return Ok(Exec::Unhandled);
            }
        }
        M::Lgdt | M::Lidt => {
            privileged(sys)?;
            let a = mem_addr(env, sys, &i);
            let limit = bus.read(sys, a, 2, false)? as u16;
            let base = bus.read(sys, a.wrapping_add(2), 8, false)?;
            if i.mnemonic() == M::Lgdt {
                sys.gdt = (base, limit);
            } else {
                sys.idt = (base, limit);
            }
        }
        M::Sgdt | M::Sidt => {
            let a = mem_addr(env, sys, &i);
            let (base, limit) = if i.mnemonic() == M::Sgdt {
                sys.gdt
            } else {
                sys.idt
            };
            bus.write(sys, a, 2, u64::from(limit), sys.user())?;
            bus.write(sys, a.wrapping_add(2), 8, base, sys.user())?;
        }
        M::Ltr => {
            privileged(sys)?;
            let sel = if i.op0_kind() == OpKind::Register {
                reg_value(env, sys, i.op0_register()) as u16
            } else {
                bus.read(sys, mem_addr(env, sys, &i), 2, false)? as u16
            };
            let lo = descriptor(sys, bus, sel)?;
            let hi = bus.read(
                sys,
                sys.gdt.0.wrapping_add(u64::from(sel & !7) + 8),
                8,
                false,
            )?;
            let ty = (lo >> 40) & 0xf;
            if lo >> 47 & 1 == 0 {
                return Err(Exc {
                    vector: NP,
                    err: Some(u32::from(sel & !3)),
                    cr2: None,
                });
            }
            if ty != 9 {
                return Err(Exc::gp(u32::from(sel & !3)));
            }
            let base = ((lo >> 16) & 0xff_ffff) | (((lo >> 56) & 0xff) << 24) | (hi << 32);
            let limit = ((lo & 0xffff) | ((lo >> 32) & 0xf_0000)) as u32;
            // Mark it busy.
            let at = sys.gdt.0.wrapping_add(u64::from(sel & !7));
            bus.write(sys, at, 8, lo | (2 << 40), false)?;
            sys.tr = (sel, base, limit);
        }
        M::Lldt => {
            privileged(sys)?;
            let sel = if i.op0_kind() == OpKind::Register {
                reg_value(env, sys, i.op0_register()) as u16
            } else {
                bus.read(sys, mem_addr(env, sys, &i), 2, false)? as u16
            };
            if sel & !3 == 0 {
                sys.ldtr = (sel, 0, 0);
            } else {
                let lo = descriptor(sys, bus, sel)?;
                let hi = bus.read(
                    sys,
                    sys.gdt.0.wrapping_add(u64::from(sel & !7) + 8),
                    8,
                    false,
                )?;
                if (lo >> 40) & 0x1f != 2 {
                    return Err(Exc::gp(u32::from(sel & !3)));
                }
                if lo >> 47 & 1 == 0 {
                    return Err(Exc {
                        vector: NP,
                        err: Some(u32::from(sel & !3)),
                        cr2: None,
                    });
                }
                let base = ((lo >> 16) & 0xff_ffff) | (((lo >> 56) & 0xff) << 24) | (hi << 32);
                let limit = ((lo & 0xffff) | ((lo >> 32) & 0xf_0000)) as u32;
                sys.ldtr = (sel, base, limit);
            }
        }
        M::Sldt => {
            let v = u64::from(sys.ldtr.0);
            if i.op0_kind() == OpKind::Register {
                set_gpr(env, i.op0_register(), v);
            } else {
                bus.write(sys, mem_addr(env, sys, &i), 2, v, sys.user())?;
            }
        }
        M::Verr | M::Verw => {
            // ZF: the GDT selector names a data segment (or, for verr, a readable code
            // segment) whose DPL and RPL the CPL may use. LDT selectors: ZF clear.
            let sel = if i.op0_kind() == OpKind::Register {
                reg_value(env, sys, i.op0_register()) as u16
            } else {
                bus.read(sys, mem_addr(env, sys, &i), 2, sys.user())? as u16
            };
            let ok = if sel & !3 == 0 || sel & 4 != 0 || u64::from(sel | 7) > u64::from(sys.gdt.1) {
                false
            } else {
                let d = descriptor(sys, bus, sel)?;
                let (s_bit, code, rw) = (d >> 44 & 1 != 0, d >> 43 & 1 != 0, d >> 41 & 1 != 0);
                let conforming = code && d >> 42 & 1 != 0;
                let dpl = ((d >> 45) & 3) as u8;
                let priv_ok = conforming || (dpl >= sys.cpl && dpl >= (sel & 3) as u8);
                let kind_ok = if i.mnemonic() == M::Verw {
                    !code && rw
                } else {
                    !code || rw
                };
                s_bit && priv_ok && kind_ok
            };
            let f = crate::rflags(env);
            crate::set_rflags(env, if ok { f | 0x40 } else { f & !0x40 });
        }
        M::Str => {
            let v = u64::from(sys.tr.0);
            if i.op0_kind() == OpKind::Register {
                set_gpr(env, i.op0_register(), v);
            } else {
                bus.write(sys, mem_addr(env, sys, &i), 2, v, sys.user())?;
            }
        }
        M::Rdmsr => {
            privileged(sys)?;
            let v = read_msr(env, sys, bus, env.word(state::RCX) as u32)?;
            env.set_word(state::RAX, v & 0xffff_ffff);
            env.set_word(state::RDX, v >> 32);
        }
        M::Wrmsr => {
            privileged(sys)?;
            let v = (env.word(state::RDX) << 32) | (env.word(state::RAX) & 0xffff_ffff);
            fx = write_msr(env, sys, bus, env.word(state::RCX) as u32, v)?;
        }
        M::Swapgs => {
            privileged(sys)?;
            let g = env.word(state::GS_BASE);
            env.set_word(state::GS_BASE, sys.kernel_gs_base);
            sys.kernel_gs_base = g;
        }
        M::Invlpg => {
            privileged(sys)?;
            fx.flush = true;
        }
        M::Wbinvd | M::Invd => privileged(sys)?,
        M::Cpuid => {
            let leaf = env.word(state::RAX) as u32;
            let sub = env.word(state::RCX) as u32;
            let r = cpuid(sys, leaf, sub);
            for (reg, v) in [state::RAX, state::RBX, state::RCX, state::RDX]
                .into_iter()
                .zip(r)
            {
                env.set_word(reg, u64::from(v));
            }
        }
        M::Xsetbv => {
            if sys.cr4 & cr4::OSXSAVE == 0 {
                return Err(Exc::new(UD));
            }
            privileged(sys)?;
            let v = (env.word(state::RDX) << 32) | (env.word(state::RAX) & 0xffff_ffff);
            // XCR0 only; x87 must stay on, SSE is the only other component.
            if env.word(state::RCX) as u32 != 0 || v & 1 == 0 || v & !3 != 0 {
                return Err(Exc::gp(0));
            }
            sys.xcr0 = v;
            sync_xcr0(env, sys);
        }
        // With CR4.OSXSAVE set the lifter runs these; here they arrive only when it is clear.
        M::Xgetbv | M::Xsave | M::Xsave64 | M::Xrstor | M::Xrstor64 => {
            return Err(Exc::new(UD));
        }
        M::Clts => {
            privileged(sys)?;
            sys.cr0 &= !cr0::TS;
        }
        M::Rdtscp => {
            let t = bus.tsc();
            env.set_word(state::RAX, t & 0xffff_ffff);
            env.set_word(state::RDX, t >> 32);
            env.set_word(state::RCX, sys.tsc_aux & 0xffff_ffff);
        }
        M::Pushfq => {
            let f = rflags(env, sys);
            push(env, sys, bus, f, sys.user())?;
        }
        M::Popfq => {
            let sp = env.word(state::RSP);
            let f = bus.read(sys, sp, 8, sys.user())?;
            env.set_word(state::RSP, sp.wrapping_add(8));
            let keep_if = sys.cpl != 0;
            let old_if = sys.iflag;
            set_rflags(env, sys, f);
            if keep_if {
                sys.iflag = old_if;
            }
        }
        _ => return Ok(Exec::Unhandled),
    }
    if !matches!(i.mnemonic(), M::Sti) {
        sys.shadow = false;
    }
    env.pc = next;
    Ok(Exec::Done(fx))
}

fn load_segment(
    env: &mut CpuState,
    sys: &mut Sys,
    bus: &mut dyn SysBus,
    s: usize,
    v: u16,
) -> Result<(), Exc> {
    if s == seg::CS {
        return Err(Exc::new(UD));
    }
    if v & !3 != 0 {
        let d = descriptor(sys, bus, v)?;
        if d >> 47 & 1 == 0 {
            return Err(Exc {
                vector: if s == seg::SS { SS } else { NP },
                err: Some(u32::from(v & !3)),
                cr2: None,
            });
        }
        if s == seg::FS || s == seg::GS {
            let base = ((d >> 16) & 0xff_ffff) | (((d >> 56) & 0xff) << 24);
            env.set_word(
                if s == seg::FS {
                    state::FS_BASE
                } else {
                    state::GS_BASE
                },
                base,
            );
        }
    } else if s == seg::SS && sys.cpl == 3 {
        return Err(Exc::gp(0));
    }
    sys.sel[s] = v;
    Ok(())
}

fn write_cr(sys: &mut Sys, r: Register, v: u64) -> Result<Effects, Exc> {
    let mut fx = Effects::default();
    match r {
        Register::CR0 => {
            if v >> 32 != 0 || v & cr0::PG != 0 && v & cr0::PE == 0 {
                return Err(Exc::gp(0));
            }
            if v & cr0::PG == 0 && sys.efer & efer::LMA != 0 {
                // Leaving long mode is not modelled.
                return Err(Exc::gp(0));
            }
            sys.cr0 = v | 0x10;
            fx.mode = true;
            fx.flush = true;
        }
        Register::CR2 => sys.cr2 = v,
        Register::CR3 => {
            sys.cr3 = v;
            fx.flush = true;
        }
        Register::CR4 => {
            if v & 0x20 == 0 && sys.efer & efer::LMA != 0 {
                return Err(Exc::gp(0));
            }
            sys.cr4 = v;
            fx.mode = true;
            fx.flush = true;
        }
        Register::CR8 => sys.cr8 = v & 15,
        _ => return Err(Exc::new(UD)),
    }
    Ok(fx)
}

fn read_msr(env: &CpuState, sys: &Sys, bus: &mut dyn SysBus, n: u32) -> Result<u64, Exc> {
    Ok(match n {
        msr::TSC => bus.tsc(),
        msr::APIC_BASE => sys.apic_base,
        msr::PAT => sys.pat,
        msr::EFER => sys.efer,
        msr::STAR => sys.star,
        msr::LSTAR => sys.lstar,
        msr::CSTAR => sys.cstar,
        msr::SFMASK => sys.sfmask,
        msr::FS_BASE => env.word(state::FS_BASE),
        msr::GS_BASE => env.word(state::GS_BASE),
        msr::KERNEL_GS_BASE => sys.kernel_gs_base,
        msr::TSC_AUX => sys.tsc_aux,
        msr::BIOS_SIGN_ID => 0,
        msr::ARCH_CAPABILITIES => ARCH_CAPS,
        msr::SYSENTER_CS | msr::SYSENTER_ESP | msr::SYSENTER_EIP => {
            sys.sysenter[(n - msr::SYSENTER_CS) as usize]
        }
        _ => {
            if let Some(v) = bus.rdmsr(n) {
                return Ok(v);
            }
            bus.unimp(&format!("rdmsr {n:#x}"));
            return Err(Exc::gp(0));
        }
    })
}

fn write_msr(
    env: &mut CpuState,
    sys: &mut Sys,
    bus: &mut dyn SysBus,
    n: u32,
    v: u64,
) -> Result<Effects, Exc> {
    let mut fx = Effects::default();
    match n {
        msr::APIC_BASE => sys.apic_base = v,
        msr::PAT => sys.pat = v,
        msr::EFER => {
            // LMA is read-only; LME cannot change while paging is on.
            let lma = sys.efer & efer::LMA;
            if (v ^ sys.efer) & efer::LME != 0 && sys.cr0 & cr0::PG != 0 {
                return Err(Exc::gp(0));
            }
            sys.efer = (v & (efer::SCE | efer::LME | efer::NXE)) | lma;
            fx.mode = true;
            fx.flush = true;
        }
        msr::STAR => sys.star = v,
        msr::LSTAR => sys.lstar = v,
        msr::CSTAR => sys.cstar = v,
        msr::SFMASK => sys.sfmask = v & 0xffff_ffff,
        msr::FS_BASE => env.set_word(state::FS_BASE, v),
        msr::GS_BASE => env.set_word(state::GS_BASE, v),
        msr::KERNEL_GS_BASE => sys.kernel_gs_base = v,
        msr::TSC_AUX => sys.tsc_aux = v & 0xffff_ffff,
        msr::BIOS_SIGN_ID => {}
        msr::SYSENTER_CS | msr::SYSENTER_ESP | msr::SYSENTER_EIP => {
            sys.sysenter[(n - msr::SYSENTER_CS) as usize] = v;
        }
        _ => {
            if bus.wrmsr(n, v).is_some() {
                return Ok(fx);
            }
            bus.unimp(&format!("wrmsr {n:#x}"));
            return Err(Exc::gp(0));
        }
    }
    Ok(fx)
}

fn iretq(env: &mut CpuState, sys: &mut Sys, bus: &mut dyn SysBus) -> Result<Effects, Exc> {
    let user = sys.user();
    let sp = env.word(state::RSP);
    let rip = bus.read(sys, sp, 8, user)?;
    let cs = bus.read(sys, sp.wrapping_add(8), 8, user)? as u16;
    let flags = bus.read(sys, sp.wrapping_add(16), 8, user)?;
    let rsp = bus.read(sys, sp.wrapping_add(24), 8, user)?;
    let ss = bus.read(sys, sp.wrapping_add(32), 8, user)? as u16;
    let new_cpl = (cs & 3) as u8;
    if new_cpl < sys.cpl {
        return Err(Exc::gp(u32::from(cs & !3)));
    }
    let d = descriptor(sys, bus, cs)?;
    if d >> 43 & 1 == 0 || d >> 53 & 1 == 0 {
        bus.unimp("iretq to a non-64-bit code segment");
        return Err(Exc::gp(u32::from(cs & !3)));
    }
    if ss & !3 != 0 {
        descriptor(sys, bus, ss)?;
    } else if new_cpl == 3 {
        return Err(Exc::gp(0));
    }
    let mode = new_cpl != sys.cpl;
    let old_cpl = sys.cpl;
    sys.sel[seg::CS] = cs;
    sys.sel[seg::SS] = ss;
    sys.cpl = new_cpl;
    let old_if = sys.iflag;
    set_rflags(env, sys, flags);
    if old_cpl != 0 {
        sys.iflag = old_if;
    }
    env.set_word(state::RSP, rsp);
    env.pc = rip;
    sys.shadow = false;
    Ok(Effects {
        mode,
        ..Effects::default()
    })
}

/// The `syscall` instruction (the lifter already set RCX and R11 and left with a syscall
/// exit at its address, `env.pc`).
pub fn syscall(env: &mut CpuState, sys: &mut Sys) -> Result<Effects, Exc> {
    if sys.efer & efer::SCE == 0 {
        return Err(Exc::new(UD));
    }
    let f = rflags(env, sys);
    env.set_word(state::R11, f);
    let base = ((sys.star >> 32) & 0xffff) as u16;
    sys.sel[seg::CS] = base & !3;
    sys.sel[seg::SS] = (base + 8) & !3;
    let mode = sys.cpl != 0;
    sys.cpl = 0;
    set_rflags(env, sys, f & !sys.sfmask & !0x1_0000);
    env.pc = sys.lstar;
    Ok(Effects {
        mode,
        ..Effects::default()
    })
}

/// The state the machine's loader leaves for a 64-bit entry (CR0/CR3/CR4/EFER and selectors
/// as given), interrupts off, CPL 0.
pub fn reset(sys: &mut Sys, cr0: u64, cr3: u64, cr4: u64, efer_v: u64) {
    *sys = Sys {
        cr0,
        cr3,
        cr4,
        efer: efer_v,
        apic_base: 0xfee0_0900,
        pat: 0x0007_0406_0007_0406,
        xcr0: 1,
        dr: [0, 0, 0, 0, 0xffff_0ff0, 0x400],
        ..Sys::default()
    };
}

/// Decodes the instruction at `pc` from `bytes` (for traces).
pub fn decode(pc: u64, bytes: &[u8]) -> Option<Instruction> {
    let mut d = Decoder::with_ip(64, bytes, pc, DecoderOptions::NONE);
    let i = d.decode();
    (!i.is_invalid()).then_some(i)
}
