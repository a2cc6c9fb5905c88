//! The CPUID the guest sees: KVM_GET_SUPPORTED_CPUID (what this host's KVM can virtualize),
//! filtered per vCPU:
//!
//! - leaf 0x1: the initial APIC ID (EBX[31:24]) is the vCPU index, the logical processor
//!   count (EBX[23:16]) is `--smp`, HTT (EDX[28]) is set with more than one vCPU, and the
//!   hypervisor bit (ECX[31]) is set;
//! - leaves 0xb and 0x1f (x2APIC topology): EDX is the vCPU's x2APIC ID; one thread per core,
//!   `--smp` cores;
//! - leaf 0x4 (cache topology): EAX[31:26] = cores - 1, EAX[25:14] = 0 (no sharing threads);
//! - leaf 0xa (architectural PMU): zeroed — no performance counters are offered;
//! - leaf 0x6 (thermal/power): zeroed — no such MSRs;
//! - leaf 0x40000010 (the timing leaf VMware and KVM guests read): EAX = TSC kHz, EBX = APIC
//!   timer kHz (KVM's 1 GHz), added, and leaf 0x40000000 EAX raised to cover it.
//!
//! On a software-assisted KVM (PVM: no vmx/svm on the host), guest ring-0 code runs through
//! KVM's instruction emulator, which lacks some instructions a kernel picks by CPUID; the
//! bits of [`PVM_HIDDEN`] are cleared there so the guest takes its fallback paths (each with
//! the reason; `-d int` lists what was hidden). Measured on this project's PVM host: a bit
//! that KVM_GET_SUPPORTED_CPUID does not list (XSAVE, POPCNT, SMAP there) reaches the guest
//! from the host CPU whatever KVM_SET_CPUID2 says, so clearing it takes effect only where
//! KVM lists it (CX16 does); for the others xlat adds `noxsave` to a Linux command line
//! (src/system/x86_64.rs) and carries out popcnt, clac/stac and int3 itself when the
//! emulator fails on them (`emulate_failed` in lib.rs).

use kvm_bindings::{CpuId, kvm_cpuid_entry2};

/// A CPUID register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reg {
    /// EAX.
    Eax,
    /// EBX.
    Ebx,
    /// ECX.
    Ecx,
    /// EDX.
    Edx,
}

/// A feature bit hidden from the guest, and why.
#[derive(Debug, Clone, Copy)]
pub struct Hidden {
    /// Leaf (EAX in).
    pub leaf: u32,
    /// Subleaf (ECX in).
    pub index: u32,
    /// Output register.
    pub reg: Reg,
    /// Bit number.
    pub bit: u32,
    /// Linux's name of the feature.
    pub name: &'static str,
    /// Why it is hidden.
    pub why: &'static str,
}

/// Features hidden when KVM is software-assisted (PVM), found by booting Debian's kernel
/// and reading the instruction bytes of each emulation failure.
pub const PVM_HIDDEN: &[Hidden] = &[
    Hidden {
        leaf: 0x1,
        index: 0,
        reg: Reg::Ecx,
        bit: 13,
        name: "cx16",
        why: "KVM's emulator refuses 16-byte cmpxchg16b (Linux's SLUB uses it for its \
              lockless freelist; without CX16 it takes a lock)",
    },
    Hidden {
        leaf: 0x1,
        index: 0,
        reg: Reg::Ecx,
        bit: 9,
        name: "ssse3",
        why: "KVM's emulator has no SSE: Linux's built-in blake2s (the random pool) runs SSSE3 \
              code in ring 0 between kernel_fpu_begin/end when CPUID has SSSE3 (without it, \
              the generic C code)",
    },
    Hidden {
        leaf: 0x1,
        index: 0,
        reg: Reg::Ecx,
        bit: 26,
        name: "xsave",
        why: "KVM's emulator has no xsave/xrstor (Linux's FPU init runs xrstor64 in ring 0; \
              without XSAVE it uses fxsave/fxrstor, which the emulator has, and AVX goes too)",
    },
];

fn reg(e: &mut kvm_cpuid_entry2, r: Reg) -> &mut u32 {
    match r {
        Reg::Eax => &mut e.eax,
        Reg::Ebx => &mut e.ebx,
        Reg::Ecx => &mut e.ecx,
        Reg::Edx => &mut e.edx,
    }
}

/// Clears the bits of `hide` in `c`; returns those that were set.
pub fn hide(c: &mut CpuId, hide: &[Hidden]) -> Vec<Hidden> {
    let mut done = Vec::new();
    for h in hide {
        let mut was = false;
        for e in c
            .as_mut_slice()
            .iter_mut()
            .filter(|e| e.function == h.leaf && e.index == h.index)
        {
            let r = reg(e, h.reg);
            was |= *r & (1 << h.bit) != 0;
            *r &= !(1 << h.bit);
        }
        if was {
            done.push(*h);
        }
    }
    done
}

fn set_max(entries: &mut [kvm_cpuid_entry2], leaf: u32, min: u32) {
    for e in entries.iter_mut().filter(|e| e.function == leaf) {
        e.eax = e.eax.max(min);
    }
}

/// Filters `supported` for vCPU `id` of `smp`, with the TSC running at `tsc_khz`.
pub fn for_vcpu(supported: &CpuId, id: u32, smp: u32, tsc_khz: u32) -> CpuId {
    let mut c = supported.clone();
    let has_timing = c.as_slice().iter().any(|e| e.function == 0x4000_0010);
    for e in c.as_mut_slice() {
        match e.function {
            0x1 => {
                e.ebx = (e.ebx & 0xffff) | (id << 24) | ((smp & 0xff) << 16);
                e.ecx |= 1 << 31;
                if smp > 1 {
                    e.edx |= 1 << 28;
                } else {
                    e.edx &= !(1 << 28);
                }
            }
            0x4 => {
                e.eax = (e.eax & 0x3fff) | ((smp.saturating_sub(1) & 0x3f) << 26);
            }
            0x6 | 0xa => {
                e.eax = 0;
                e.ebx = 0;
                e.ecx = 0;
                e.edx = 0;
            }
            0xb | 0x1f => {
                e.edx = id;
                // level 0: SMT (one thread), level 1: core (smp cores)
                match e.index {
                    0 => {
                        e.eax = 0;
                        e.ebx = 1;
                        e.ecx = 0x100;
                    }
                    1 => {
                        e.eax = 32 - smp.max(1).saturating_sub(1).leading_zeros().min(32);
                        e.ebx = smp;
                        e.ecx = 0x201;
                    }
                    n => {
                        e.eax = 0;
                        e.ebx = 0;
                        e.ecx = n & 0xff;
                    }
                }
            }
            0x4000_0010 => {
                e.eax = tsc_khz;
                e.ebx = 1_000_000;
            }
            _ => {}
        }
    }
    if !has_timing && tsc_khz != 0 {
        let timing = kvm_cpuid_entry2 {
            function: 0x4000_0010,
            eax: tsc_khz,
            ebx: 1_000_000,
            ..Default::default()
        };
        if c.push(timing).is_ok() {
            set_max(c.as_mut_slice(), 0x4000_0000, 0x4000_0010);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_and_timing() {
        let leaves = [
            kvm_cpuid_entry2 {
                function: 1,
                ebx: 0xff00_0800,
                edx: 1 << 28,
                ..Default::default()
            },
            kvm_cpuid_entry2 {
                function: 0x4000_0000,
                eax: 0x4000_0001,
                ..Default::default()
            },
            kvm_cpuid_entry2 {
                function: 0xa,
                eax: 0x0703_0105,
                ..Default::default()
            },
        ];
        let sup = CpuId::from_entries(&leaves).unwrap();
        let c = for_vcpu(&sup, 1, 1, 2_000_000);
        let s = c.as_slice();
        assert_eq!(s[0].ebx, 0x0101_0800);
        assert_eq!(s[0].edx & (1 << 28), 0);
        assert_ne!(s[0].ecx & (1 << 31), 0);
        assert_eq!(s[1].eax, 0x4000_0010);
        assert_eq!(s[2].eax, 0);
        let t = s.iter().find(|e| e.function == 0x4000_0010).unwrap();
        assert_eq!((t.eax, t.ebx), (2_000_000, 1_000_000));
    }
}
