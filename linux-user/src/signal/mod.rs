//! Guest signal delivery.
//!
//! The host kernel does the signal bookkeeping for us: each guest thread is a host thread whose
//! host signal mask mirrors the guest's ([`set_host_mask`]), and the host disposition of each
//! signal follows the guest's ([`follow_guest`]): default and ignore map to the host's own,
//! so blocked signals stay pending in the host kernel (for sigtimedwait, signalfd, sigpending)
//! and default actions (terminate, stop, ignore) happen exactly as they would natively. A
//! signal the guest catches runs the host handler, which records it (with its siginfo) for the
//! thread it interrupted and pulls that vCPU out of guest code through `exit_request`; the run
//! loop then builds an architecture frame ([`riscv64`]) and runs the guest handler, which returns
//! through `rt_sigreturn`. Host handlers have no SA_RESTART: an interrupted host syscall comes
//! back with EINTR, and the run loop restarts it if the guest handler asked for SA_RESTART.
//!
//! Synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) are never blocked on the
//! host: they come from guest instructions and the run loop delivers them itself.

pub mod altstack;
pub mod riscv64;

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering};

/// The CPU-state offsets of the registers a signal frame holds, looked up by name among a
/// frontend's named registers ([`xlat_ir::Frontend::registers`]).
pub(crate) struct NamedRegs<'a>(pub &'a [(&'static str, u32)]);

impl NamedRegs<'_> {
    /// The offset of the register called `name`.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, o)| *o)
    }

    /// The offsets of the registers `name(i)` for each `i` in `range`; `None` if one is missing.
    pub fn each(
        &self,
        range: std::ops::Range<u32>,
        name: impl Fn(u32) -> String,
    ) -> Option<Vec<u32>> {
        range.map(|i| self.get(&name(i))).collect()
    }
}

/// The frame layout arm64 and riscv64 share (asm-generic `struct rt_sigframe { siginfo;
/// ucontext }`): the ucontext's flags and link, `uc_stack` (24 bytes), `uc_sigmask` (8), then
/// padding up to the mcontext at 176 (the architecture's own registers).
pub(crate) mod generic_frame {
    use crate::arch::Delivery;

    /// The siginfo.
    pub const INFO: u64 = 0;
    /// The ucontext.
    pub const UC: u64 = 128;
    /// `uc_stack`.
    pub const UC_STACK: u64 = UC + 16;
    /// `uc_sigmask`.
    pub const UC_SIGMASK: u64 = UC + 40;
    /// The mcontext (`uc_mcontext`).
    pub const MC: u64 = UC + 176;

    /// A `size`-byte frame image, zeroed, with the siginfo, `uc_stack` and `uc_sigmask` of `d`.
    pub fn image(size: u64, d: &Delivery<'_>) -> Vec<u8> {
        let mut b = vec![0u8; size as usize];
        put(&mut b, INFO, d.info);
        put(&mut b, UC_STACK, &d.uc_stack);
        put(&mut b, UC_SIGMASK, &d.old_mask.to_le_bytes());
        b
    }

    /// Copies `v` into the image at `off`.
    pub fn put(b: &mut [u8], off: u64, v: &[u8]) {
        b[off as usize..off as usize + v.len()].copy_from_slice(v);
    }

    /// The little-endian 64-bit word at `off` of an image (0 past its end).
    pub fn word(b: &[u8], off: u64) -> u64 {
        b.get(off as usize..off as usize + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    }

    /// What rt_sigreturn reinstates besides the registers: (`uc_sigmask`, `uc_stack`).
    pub fn mask_and_stack(b: &[u8]) -> (u64, [u8; 24]) {
        let mut st = [0u8; 24];
        st.copy_from_slice(&b[UC_STACK as usize..UC_STACK as usize + 24]);
        (word(b, UC_SIGMASK), st)
    }
}

/// The `exit_request` bit this layer uses (the backend keeps its own bits).
pub const SIGNAL_REQUEST: u32 = 1;

/// SA_NODEFER.
const SA_NODEFER: u64 = 0x4000_0000;
/// SA_RESETHAND.
const SA_RESETHAND: u64 = 0x8000_0000;
/// SA_RESTART.
pub const SA_RESTART: u64 = 0x1000_0000;
/// SA_ONSTACK.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// SA_RESTORER: `sa_restorer` is the handler's return address (x86-64, arm64).
pub const SA_RESTORER: u64 = 0x0400_0000;

/// siginfo words kept per caught signal (signo, errno, code, and the union's first 24 bytes:
/// pid/uid/value or status/utime/stime).
const INFO_WORDS: usize = 6;

/// Signals guest instructions raise; never blocked on the host.
pub const SYNC_MASK: u64 = bit(libc::SIGSEGV)
    | bit(libc::SIGBUS)
    | bit(libc::SIGILL)
    | bit(libc::SIGFPE)
    | bit(libc::SIGTRAP);

/// Bit of `sig` in a 64-bit signal set.
pub const fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// Caught-but-undelivered signals of one guest thread.
struct Slot {
    /// Host tid of the thread (0: free).
    tid: AtomicI32,
    /// Its vCPU's `exit_request`.
    req: AtomicPtr<AtomicU32>,
    pending: AtomicU64,
    info: [[AtomicU64; INFO_WORDS]; 64],
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            tid: AtomicI32::new(0),
            req: AtomicPtr::new(std::ptr::null_mut()),
            pending: AtomicU64::new(0),
            info: [const { [const { AtomicU64::new(0) }; INFO_WORDS] }; 64],
        }
    }

    fn poke(&self) {
        let p = self.req.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: registered pointers are exit_request words of live CPU states; a
            // thread unregisters before its state is dropped.
            unsafe { (*p).fetch_or(SIGNAL_REQUEST, Ordering::SeqCst) };
        }
    }

    fn record(&self, sig: i32, words: &[u64; INFO_WORDS]) {
        for (w, v) in self.info[(sig - 1) as usize].iter().zip(words) {
            w.store(*v, Ordering::Relaxed);
        }
        self.pending.fetch_or(bit(sig), Ordering::SeqCst);
    }

    fn take(&self, mask: u64) -> Option<(i32, [u8; 128])> {
        let mut cur = self.pending.load(Ordering::SeqCst);
        loop {
            let ready = cur & !mask;
            if ready == 0 {
                return None;
            }
            let sig = ready.trailing_zeros() as i32 + 1;
            match self.pending.compare_exchange(
                cur,
                cur & !bit(sig),
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    let mut b = [0u8; 128];
                    for (i, w) in self.info[(sig - 1) as usize].iter().enumerate() {
                        b[i * 8..i * 8 + 8]
                            .copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
                    }
                    return Some((sig, b));
                }
                Err(now) => cur = now,
            }
        }
    }
}

static SLOTS: [Slot; 64] = [const { Slot::new() }; 64];
/// Signals caught on a host thread that runs no guest code (any guest thread may take them).
static PROCESS: Slot = Slot::new();

/// A guest thread's handle on its caught signals (from [`register`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadSignals(Option<usize>);

/// Registers the calling thread, running the vCPU whose `exit_request` is `flag`.
pub fn register(flag: &AtomicU32) -> ThreadSignals {
    let p = flag as *const AtomicU32 as *mut AtomicU32;
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let i = SLOTS.iter().position(|s| {
        s.req
            .compare_exchange(std::ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    });
    if let Some(i) = i {
        SLOTS[i].pending.store(0, Ordering::SeqCst);
        SLOTS[i].tid.store(tid, Ordering::Release);
    }
    ThreadSignals(i)
}

/// Forgets a registration from [`register`]; signals it still held go to the process.
pub fn unregister(t: ThreadSignals) {
    if let Some(i) = t.0 {
        SLOTS[i].tid.store(0, Ordering::Release);
        let left = SLOTS[i].pending.swap(0, Ordering::SeqCst);
        PROCESS.pending.fetch_or(left, Ordering::SeqCst);
        SLOTS[i].req.store(std::ptr::null_mut(), Ordering::Release);
    }
}

impl ThreadSignals {
    fn slot(self) -> Option<&'static Slot> {
        self.0.map(|i| &SLOTS[i])
    }

    /// Takes the lowest caught signal not in `mask` (this thread's first), with its siginfo.
    pub fn take(self, mask: u64) -> Option<(i32, [u8; 128])> {
        self.slot()
            .and_then(|s| s.take(mask))
            .or_else(|| PROCESS.take(mask))
    }

    /// The caught signals not yet delivered.
    pub fn caught(self) -> u64 {
        self.slot().map_or(0, |s| s.pending.load(Ordering::SeqCst))
            | PROCESS.pending.load(Ordering::SeqCst)
    }

    /// The lowest caught signal not in `mask`, left pending.
    pub fn peek(self, mask: u64) -> Option<i32> {
        let ready = self.caught() & !mask;
        (ready != 0).then(|| ready.trailing_zeros() as i32 + 1)
    }
}

/// Records `sig` as caught by the calling thread (or the process) and stops its vCPU.
/// Returns whether a guest thread's own slot took it.
fn record_caught(sig: i32, words: &[u64; INFO_WORDS]) -> bool {
    // SAFETY: gettid is async-signal-safe.
    let tid = unsafe { libc::gettid() };
    match SLOTS.iter().find(|s| s.tid.load(Ordering::Acquire) == tid) {
        Some(s) => {
            s.record(sig, words);
            s.poke();
            true
        }
        None => {
            PROCESS.record(sig, words);
            SLOTS.iter().for_each(Slot::poke);
            false
        }
    }
}

extern "C" fn on_host_signal(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let mut words = [0u64; INFO_WORDS];
    if !info.is_null() {
        // SAFETY: the kernel passes a 128-byte siginfo to SA_SIGINFO handlers.
        unsafe {
            std::ptr::copy_nonoverlapping(info.cast::<u64>(), words.as_mut_ptr(), INFO_WORDS)
        };
    }
    if (1..=64).contains(&sig) && record_caught(sig, &words) && sig >= 32 && !ctx.is_null() {
        // A real-time signal queues: the slot holds one instance, so the others must stay
        // queued in the host kernel. Returning with it blocked keeps them there, in order,
        // until the guest's delivery sets the mask again (the handler's mask, then the
        // sigreturn's, unblocks it and the next instance arrives).
        // SAFETY: the kernel passes the interrupted context to SA_SIGINFO handlers; its
        // uc_sigmask is the mask reinstated when this handler returns.
        unsafe {
            let uc = ctx.cast::<libc::ucontext_t>();
            libc::sigaddset(&mut (*uc).uc_sigmask, sig);
        }
    }
}

/// Marks `sig` caught for the calling thread, as if the host had delivered it (si_code
/// SI_TKILL from ourselves).
pub fn raise_pending(sig: i32) {
    // SAFETY: plain id getters.
    let (pid, uid) = unsafe { (libc::getpid() as u32, libc::getuid()) };
    let words = [
        sig as u32 as u64,
        -6i32 as u32 as u64,
        u64::from(pid) | u64::from(uid) << 32,
        0,
        0,
        0,
    ];
    record_caught(sig, &words);
}

/// Sets the calling host thread's signal mask to mirror guest mask `mask` (sync signals stay
/// open). Uses the raw syscall: glibc would refuse to block its own internal signals, which
/// the guest's glibc uses as ordinary signals.
pub fn set_host_mask(mask: u64) {
    let m = mask & !SYNC_MASK;
    // SAFETY: an 8-byte set on our stack; no old set is returned.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &m as *const u64,
            std::ptr::null_mut::<u64>(),
            8usize,
        )
    };
}

/// The calling host thread's signal mask.
pub fn host_mask() -> u64 {
    let mut m = 0u64;
    // SAFETY: reads into an 8-byte set on our stack.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            std::ptr::null::<u64>(),
            &mut m as *mut u64,
            8usize,
        )
    };
    m
}

/// Whether the host ignores `sig` (SIG_IGN), e.g. inherited across exec.
pub fn host_ignores(sig: i32) -> bool {
    // SAFETY: queries only; the struct is fully written by the kernel.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Makes the host disposition of `sig` follow the guest's `handler` (0 default, 1 ignore,
/// else caught for the guest) and its SA_NOCLDSTOP/SA_NOCLDWAIT flags (which change what the
/// host kernel does for children). The synchronous signals stay with the emulator.
pub fn follow_guest(sig: i32, handler: u64, flags: u64) {
    if bit_checked(sig).is_none_or(|b| b & SYNC_MASK != 0)
        || matches!(sig, libc::SIGKILL | libc::SIGSTOP)
    {
        return;
    }
    let h = match handler {
        0 => libc::SIG_DFL,
        1 => libc::SIG_IGN,
        _ => on_host_signal as *const () as usize,
    };
    // SAFETY: a fully initialised sigaction; the handler only does atomic stores and gettid.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = h;
        sa.sa_flags = libc::SA_SIGINFO | (flags as i32 & (libc::SA_NOCLDSTOP | libc::SA_NOCLDWAIT));
        libc::sigfillset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

fn bit_checked(sig: i32) -> Option<u64> {
    (1..=64).contains(&sig).then(|| bit(sig))
}

/// A guest `struct sigaction`, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// Handler address (0 default, 1 ignore).
    pub handler: u64,
    /// SA_* flags.
    pub flags: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
    /// `sa_restorer` (0 where the ABI's struct has none).
    pub restorer: u64,
}

impl Action {
    /// Decodes the raw bytes (mask last: after the restorer where the ABI has one).
    pub fn parse(raw: &[u8]) -> Action {
        let w = |o: usize| {
            raw.get(o..o + 8)
                .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
        };
        Action {
            handler: w(0),
            flags: w(8),
            mask: w(raw.len().saturating_sub(8)),
            restorer: if raw.len() >= 32 { w(16) } else { 0 },
        }
    }

    /// The mask while the handler runs, given the thread's mask `cur`.
    pub fn handler_mask(&self, sig: i32, cur: u64) -> u64 {
        let own = if self.flags & SA_NODEFER != 0 {
            0
        } else {
            bit(sig)
        };
        cur | self.mask | own
    }

    /// Whether the action resets to default once delivered.
    pub fn reset_hand(&self) -> bool {
        self.flags & SA_RESETHAND != 0
    }
}

/// Whether the default action of `sig` is to do nothing.
pub fn ignored_by_default(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGCHLD | libc::SIGCONT | libc::SIGURG | libc::SIGWINCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_find_their_registers_among_the_frontends_names() {
        use xlat_ir::Frontend;
        let a64 = xlat_frontend_aarch64::Aarch64::new().registers();
        assert!(crate::arch::aarch64::Frame::from_named(&a64).is_some());
        let rv = xlat_frontend_riscv::Riscv64::new().registers();
        assert!(riscv64::Regs::from_named(&rv).is_some());
        let named = NamedRegs(&rv);
        let x2 = named.get("x2").expect("riscv64 names x2");
        assert_eq!(
            named.each(2..4, |i| format!("x{i}")),
            Some(vec![x2, named.get("x3").expect("x3")])
        );
        assert_eq!(named.get("x32"), None);
        assert_eq!(named.each(30..33, |i| format!("x{i}")), None);
        let short: Vec<_> = rv.iter().filter(|(n, _)| *n != "f31").copied().collect();
        assert!(riscv64::Regs::from_named(&short).is_none());
        let short: Vec<_> = a64.iter().filter(|(n, _)| *n != "v7_hi").copied().collect();
        assert!(crate::arch::aarch64::Frame::from_named(&short).is_none());
    }

    #[test]
    fn caught_signals_respect_the_mask_and_come_lowest_first() {
        let flag = AtomicU32::new(0);
        let t = register(&flag);
        // SIGRTMIN+20/+21 (54, 55): not used by anything else in the test process.
        raise_pending(55);
        raise_pending(54);
        assert_eq!(flag.load(Ordering::SeqCst) & SIGNAL_REQUEST, SIGNAL_REQUEST);
        let others = !(bit(54) | bit(55));
        let (sig, info) = t.take(others | bit(54)).expect("55 is open");
        assert_eq!(sig, 55);
        assert_eq!(i32::from_le_bytes(info[..4].try_into().unwrap()), 55);
        assert_eq!(
            i32::from_le_bytes(info[8..12].try_into().unwrap()),
            -6,
            "SI_TKILL"
        );
        assert_eq!(t.peek(others), Some(54));
        assert_eq!(t.take(others).map(|x| x.0), Some(54));
        assert_eq!(t.take(others), None);
        unregister(t);
    }

    #[test]
    fn actions_decode_both_layouts() {
        let mut raw = vec![0u8; 24];
        raw[..8].copy_from_slice(&0x1234u64.to_le_bytes());
        raw[8..16].copy_from_slice(&SA_NODEFER.to_le_bytes());
        raw[16..24].copy_from_slice(&0b1010u64.to_le_bytes());
        let a = Action::parse(&raw);
        assert_eq!((a.handler, a.flags, a.mask), (0x1234, SA_NODEFER, 0b1010));
        assert_eq!(
            a.handler_mask(3, 1),
            0b1011,
            "NODEFER: the signal itself stays open"
        );
        raw.splice(16..16, [0u8; 8]);
        assert_eq!(
            Action::parse(&raw).mask,
            0b1010,
            "32-byte layout with a restorer"
        );
    }
}
