//! One guest thread's alternate signal stack (sigaltstack(2)), with the kernel's rules
//! (kernel/signal.c `do_sigaltstack`, `sigsp`, `__save_altstack`): the stack grows down,
//! "on the stack" means `ss_sp < sp <= ss_sp + ss_size`, it cannot be changed while in use,
//! and SS_AUTODISARM disables it while a handler runs on it.

use super::SA_ONSTACK;

/// `ss_flags`: the thread is running on the alternate stack.
pub const SS_ONSTACK: u32 = 1;
/// `ss_flags`: no alternate stack.
pub const SS_DISABLE: u32 = 2;
/// `ss_flags`: disarm the stack while a handler runs on it.
pub const SS_AUTODISARM: u32 = 1 << 31;
/// Smallest accepted stack (asm-generic MINSIGSTKSZ).
pub const MINSIGSTKSZ: u64 = 2048;

/// The alternate stack settings of a thread (size 0: disabled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AltStack {
    /// Lowest address.
    pub sp: u64,
    /// Bytes.
    pub size: u64,
    /// SS_AUTODISARM, if requested.
    pub autodisarm: bool,
}

/// A guest `stack_t` (ss_sp, ss_flags, ss_size; 24 bytes on 64-bit).
pub fn encode(sp: u64, flags: u32, size: u64) -> [u8; 24] {
    let mut b = [0u8; 24];
    b[..8].copy_from_slice(&sp.to_le_bytes());
    b[8..12].copy_from_slice(&flags.to_le_bytes());
    b[16..].copy_from_slice(&size.to_le_bytes());
    b
}

/// Decodes a guest `stack_t` into (ss_sp, ss_flags, ss_size).
pub fn decode(b: &[u8]) -> (u64, u32, u64) {
    let w = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or_default());
    let f = u32::from_le_bytes(b[8..12].try_into().unwrap_or_default());
    (w(0), f, w(16))
}

impl AltStack {
    /// Whether `sp` lies on the stack (never, while autodisarmed ones are in use).
    pub fn on(&self, sp: u64) -> bool {
        !self.autodisarm && sp > self.sp && sp - self.sp <= self.size
    }

    /// `sas_ss_flags`: what sigaltstack reports for a thread at `sp`, without SS_AUTODISARM.
    fn mode(&self, sp: u64) -> u32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.on(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// The `stack_t` sigaltstack reports (and a signal frame saves) for a thread at `sp`.
    pub fn report(&self, sp: u64) -> [u8; 24] {
        let auto = if self.autodisarm { SS_AUTODISARM } else { 0 };
        encode(self.sp, self.mode(sp) | auto, self.size)
    }

    /// sigaltstack's "set" for a thread at `cur_sp`; `Err(errno)` on failure.
    pub fn set(&mut self, cur_sp: u64, sp: u64, flags: u32, size: u64) -> Result<(), i32> {
        if self.on(cur_sp) {
            return Err(libc::EPERM);
        }
        let mode = flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
            return Err(libc::EINVAL);
        }
        if mode == SS_DISABLE {
            *self = AltStack::default();
            return Ok(());
        }
        if size < MINSIGSTKSZ {
            return Err(libc::ENOMEM);
        }
        *self = AltStack {
            sp,
            size,
            autodisarm: flags & SS_AUTODISARM != 0,
        };
        Ok(())
    }

    /// The stack top for a handler with `sa_flags` interrupting a thread at `sp`: the top of
    /// the alternate stack when SA_ONSTACK asks for it and it is armed and not in use.
    pub fn frame_top(&self, sa_flags: u64, sp: u64) -> Option<u64> {
        (sa_flags & SA_ONSTACK != 0 && self.mode(sp) == 0).then_some(self.sp + self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_rules() {
        let mut a = AltStack::default();
        assert_eq!(decode(&a.report(0x1000)).1, SS_DISABLE);
        assert_eq!(a.set(0, 0x10000, 0, 1024), Err(libc::ENOMEM));
        assert_eq!(a.set(0, 0x10000, 7, 8192), Err(libc::EINVAL));
        assert_eq!(a.set(0, 0x10000, 0, 8192), Ok(()));
        assert_eq!(a.frame_top(SA_ONSTACK, 0x9_0000), Some(0x12000));
        assert_eq!(a.frame_top(0, 0x9_0000), None);
        // On the stack: reported, not switched again, not changeable.
        assert_eq!(decode(&a.report(0x11000)), (0x10000, SS_ONSTACK, 8192));
        assert_eq!(decode(&a.report(0x12000)).1, SS_ONSTACK, "top is inclusive");
        assert_eq!(decode(&a.report(0x10000)).1, 0, "bottom is exclusive");
        assert_eq!(a.frame_top(SA_ONSTACK, 0x11000), None);
        assert_eq!(a.set(0x11000, 0, SS_DISABLE, 0), Err(libc::EPERM));
        assert_eq!(a.set(0x9_0000, 0, SS_DISABLE, 0), Ok(()));
        assert_eq!(decode(&a.report(0)), (0, SS_DISABLE, 0));
    }
}
