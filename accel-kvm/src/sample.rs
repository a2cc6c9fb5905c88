//! Where a slow or stuck guest is: with `XLAT_KVM_SAMPLE=secs`, each vCPU thread prints,
//! every `secs` seconds, its guest RIP, privilege level, IF and the kernel-text addresses
//! found in the top of its stack (a rough call chain), plus the exits since the previous
//! sample. The vCPU threads leave KVM_RUN at least every [`crate::WATCHDOG`] (the watchdog's
//! kick), so the sample is taken from the vCPU's own thread with KVM_GET_REGS.
//!
//! With `XLAT_KVM_SYSTEM_MAP=<System.map>` the addresses are printed as `symbol+offset`
//! (Debian ships the real map in `linux-image-<version>-dbg`; the one in the image package
//! is a placeholder).

use crate::{ExitCounts, guest_phys};
use kvm_ioctls::VcpuFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use xlat_machines::x86::Microvm;

/// Stack words looked at, from RSP up.
const STACK_WORDS: u64 = 96;
/// Call-chain entries printed.
const FRAMES: usize = 10;

/// The sampling settings of a run.
#[derive(Debug)]
pub struct Sampler {
    /// Time between two samples of a vCPU.
    pub every: Duration,
    syms: Option<Symbols>,
}

impl Sampler {
    /// `XLAT_KVM_SAMPLE` (seconds, may be fractional) and `XLAT_KVM_SYSTEM_MAP`; `Ok(None)`
    /// when sampling is off, a one-line error for a bad value or an unreadable map.
    pub fn from_env() -> Result<Option<Sampler>, String> {
        let Ok(v) = std::env::var("XLAT_KVM_SAMPLE") else {
            return Ok(None);
        };
        let every = v
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.1)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("XLAT_KVM_SAMPLE={v}: want seconds, at least 0.1"))?;
        let syms = match std::env::var("XLAT_KVM_SYSTEM_MAP") {
            Ok(p) => Some(Symbols::load(&p)?),
            Err(_) => None,
        };
        Ok(Some(Sampler { every, syms }))
    }

    /// `addr` as `symbol+0xoff` when the map has it, else in hex.
    fn name(&self, addr: u64) -> String {
        match self.syms.as_ref().and_then(|s| s.find(addr)) {
            Some((name, off)) => format!("{name}+{off:#x}"),
            None => format!("{addr:#x}"),
        }
    }

    /// Whether `v` looks like a return address into kernel text.
    fn is_text(&self, v: u64) -> bool {
        match &self.syms {
            Some(s) => s.find(v).is_some(),
            None => (0xffff_ffff_8000_0000..0xffff_ffff_c000_0000).contains(&v),
        }
    }

    /// One line about vCPU `id` (the caller's thread runs it).
    pub(crate) fn line(
        &self,
        vcpu: &VcpuFd,
        id: usize,
        m: &Microvm,
        since: Instant,
        exits: &ExitCounts,
        last: &mut [u64; 3],
    ) -> String {
        let (Ok(regs), Ok(sregs)) = (vcpu.get_regs(), vcpu.get_sregs()) else {
            return format!("kvm: sample vCPU {id}: registers unreadable");
        };
        let mut chain = Vec::new();
        if let Some(pas) = guest_phys(vcpu, regs.rsp, STACK_WORDS * 8, false) {
            for w in pas.chunks(8) {
                let mut v = 0u64;
                for (k, pa) in w.iter().enumerate() {
                    v |= (m.bus.read(*pa, 1).unwrap_or(0) & 0xff) << (8 * k);
                }
                if chain.len() < FRAMES && self.is_text(v) {
                    chain.push(self.name(v));
                }
            }
        }
        let now = [
            exits.io.load(Ordering::Relaxed),
            exits.mmio.load(Ordering::Relaxed),
            exits.intr.load(Ordering::Relaxed),
        ];
        let d: Vec<u64> = now.iter().zip(last.iter()).map(|(a, b)| a - b).collect();
        *last = now;
        format!(
            "kvm: sample {:.1} s vCPU {id} (its thread's CPU time {:.1} s): rip={:#x} {} ring {} \
             IF={} rsp={:#x} cr3={:#x}; stack: {}; exits since last: io {} mmio {} kicks {}",
            since.elapsed().as_secs_f64(),
            thread_cpu_secs(),
            regs.rip,
            self.name(regs.rip),
            sregs.cs.selector & 3,
            (regs.rflags >> 9) & 1,
            regs.rsp,
            sregs.cr3,
            if chain.is_empty() {
                "-".to_string()
            } else {
                chain.join(" < ")
            },
            d[0],
            d[1],
            d[2]
        )
    }
}

/// The CPU time the calling thread has used (user and system: KVM_RUN's emulation counts),
/// in seconds; the guest's progress per CPU second does not depend on the host's load.
fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `ts` is.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// The symbols of a System.map, sorted by address, each with whether it is text.
#[derive(Debug)]
struct Symbols {
    syms: Vec<(u64, String, bool)>,
}

impl Symbols {
    fn load(path: &str) -> Result<Symbols, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("XLAT_KVM_SYSTEM_MAP={path}: {e}"))?;
        let syms = Symbols::parse(&text);
        if syms.syms.iter().filter(|s| s.2).count() < 2 {
            return Err(format!(
                "XLAT_KVM_SYSTEM_MAP={path}: no text symbols (a placeholder map?)"
            ));
        }
        Ok(syms)
    }

    /// `address type name` lines; text symbols are types t, T, w and W.
    fn parse(text: &str) -> Symbols {
        let mut syms: Vec<(u64, String, bool)> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let a = u64::from_str_radix(f.next()?, 16).ok()?;
                let t = f.next()?;
                let n = f.next()?;
                Some((a, n.to_string(), matches!(t, "t" | "T" | "w" | "W")))
            })
            .collect();
        syms.sort();
        Symbols { syms }
    }

    /// The text symbol at or below `addr` and the offset into it; `None` outside the text
    /// (before the first symbol, in data, or past the last symbol by a page or more).
    fn find(&self, addr: u64) -> Option<(&str, u64)> {
        let i = self.syms.partition_point(|s| s.0 <= addr);
        let (a, n, text) = self.syms.get(i.checked_sub(1)?)?;
        let off = addr - a;
        if !text || (i == self.syms.len() && off >= 0x1000) {
            return None;
        }
        Some((n, off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_map_symbolises_text_only() {
        let s = Symbols::parse(
            "ffffffff81000000 T _stext\n\
             ffffffff81108590 T clear_sched_clock_stable\n\
             ffffffff811085f0 T sched_clock_tick\n\
             ffffffff82000000 D some_data\n\
             ffffffff82001000 t last_text\n\
             garbage line\n",
        );
        assert_eq!(s.syms.len(), 5);
        assert_eq!(
            s.find(0xffff_ffff_8110_8600),
            Some(("sched_clock_tick", 0x10))
        );
        assert_eq!(s.find(0xffff_ffff_8110_85f0), Some(("sched_clock_tick", 0)));
        assert_eq!(s.find(0xffff_ffff_8100_0000), Some(("_stext", 0)));
        assert_eq!(s.find(0xffff_ffff_80ff_ffff), None);
        assert_eq!(s.find(0xffff_ffff_8200_0010), None);
        assert_eq!(s.find(0xffff_ffff_8200_1010), Some(("last_text", 0x10)));
        assert_eq!(s.find(0xffff_ffff_8200_2000), None);
    }
}
