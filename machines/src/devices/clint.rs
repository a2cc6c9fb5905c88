//! The CLINT of QEMU's `virt` (SiFive CLINT = ACLINT MSWI + MTIMER) for N harts: `msip[h]`
//! at 4*h (bit 0 drives hart h's MSIP), `mtimecmp[h]` at 0x4000 + 8*h, `mtime` at 0xbff8,
//! counting at 10 MHz from the host's monotonic clock ([`xlat_softmmu::system::clock`]).
//! MTIP of hart h is high while `mtime >= mtimecmp[h]`; a timer thread raises it at the
//! deadline without anyone polling (it sleeps until the earliest deadline and is woken when
//! a compare register is written). Writes to `mtime` shift this device's view by an offset
//! (the harts' `time` CSR reads the shared clock directly; Linux never writes `mtime`).

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;
use xlat_softmmu::system::{IrqLine, MmioDevice, clock};

/// Per-hart interrupt outputs of the CLINT.
#[derive(Debug, Clone)]
pub struct ClintHart {
    /// Machine software interrupt (mip.MSIP).
    pub msip: Arc<dyn IrqLine>,
    /// Machine timer interrupt (mip.MTIP).
    pub mtip: Arc<dyn IrqLine>,
}

#[derive(Debug)]
struct State {
    msip: Vec<bool>,
    cmp: Vec<u64>,
    mtip: Vec<bool>,
    /// Added to the host clock (wrapping) to give the guest's mtime.
    offset: u64,
}

#[derive(Debug)]
struct Inner {
    harts: Vec<ClintHart>,
    st: Mutex<State>,
    cv: Condvar,
}

/// The CLINT (see the module doc).
#[derive(Debug)]
pub struct Clint {
    inner: Arc<Inner>,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Updates every MTIP from the clock; returns the time until the next deadline.
    fn update(&self, st: &mut State) -> Duration {
        let now = clock::mtime().wrapping_add(st.offset);
        let mut next = Duration::from_millis(100);
        for (h, c) in self.harts.iter().enumerate() {
            let due = now >= st.cmp[h];
            if due != st.mtip[h] {
                st.mtip[h] = due;
                c.mtip.set_level(due);
            }
            if !due {
                let ns = (st.cmp[h] - now).saturating_mul(1_000_000_000 / clock::FREQ);
                next = next.min(Duration::from_nanos(ns));
            }
        }
        next
    }
}

impl Clint {
    /// A CLINT for `harts.len()` harts.
    pub fn new(harts: Vec<ClintHart>) -> Clint {
        let n = harts.len();
        let inner = Arc::new(Inner {
            harts,
            st: Mutex::new(State {
                msip: vec![false; n],
                cmp: vec![u64::MAX; n],
                mtip: vec![false; n],
                offset: 0,
            }),
            cv: Condvar::new(),
        });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("clint-timer".into())
            .spawn(move || {
                while let Some(c) = weak.upgrade() {
                    let mut st = c.lock();
                    let wait = c.update(&mut st);
                    let _ = c.cv.wait_timeout(st, wait);
                }
            })
            .ok();
        Clint { inner }
    }
}

fn merge(old: u64, offset: u64, size: u8, value: u64) -> u64 {
    let sh = 8 * (offset & 7);
    let m = if size >= 8 {
        u64::MAX
    } else {
        ((1u64 << (8 * size)) - 1) << sh
    };
    (old & !m) | ((value << sh) & m)
}

impl MmioDevice for Clint {
    fn read(&self, offset: u64, size: u8) -> u64 {
        let st = self.inner.lock();
        let n = self.inner.harts.len() as u64;
        let word = match offset {
            o if o < 4 * n && size == 4 => return u64::from(st.msip[(o / 4) as usize]),
            o if (0x4000..0x4000 + 8 * n).contains(&o) => st.cmp[((o - 0x4000) / 8) as usize],
            0xbff8..=0xbfff => clock::mtime().wrapping_add(st.offset),
            _ => return 0,
        };
        let v = word >> (8 * (offset & 7));
        if size >= 8 {
            v
        } else {
            v & ((1u64 << (8 * size)) - 1)
        }
    }

    fn write(&self, offset: u64, size: u8, value: u64) {
        let mut st = self.inner.lock();
        let n = self.inner.harts.len() as u64;
        match offset {
            o if o < 4 * n && size == 4 => {
                let h = (o / 4) as usize;
                st.msip[h] = value & 1 != 0;
                self.inner.harts[h].msip.set_level(st.msip[h]);
                return;
            }
            o if (0x4000..0x4000 + 8 * n).contains(&o) => {
                let h = ((o - 0x4000) / 8) as usize;
                st.cmp[h] = merge(st.cmp[h], o, size, value);
            }
            0xbff8..=0xbfff => {
                let now = clock::mtime();
                let new = merge(now.wrapping_add(st.offset), offset, size, value);
                st.offset = new.wrapping_sub(now);
            }
            _ => return,
        }
        self.inner.update(&mut st);
        self.inner.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::LevelLine as Line;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    /// (msip, mtip) of one hart.
    type Pair = (Arc<Line>, Arc<Line>);

    fn clint(n: usize) -> (Clint, Vec<Pair>) {
        let lines: Vec<_> = (0..n)
            .map(|_| (Arc::new(Line::default()), Arc::new(Line::default())))
            .collect();
        let harts = lines
            .iter()
            .map(|(s, t)| ClintHart {
                msip: s.clone(),
                mtip: t.clone(),
            })
            .collect();
        (Clint::new(harts), lines)
    }

    #[test]
    fn software_interrupts_per_hart() {
        let (c, l) = clint(2);
        c.write(4, 4, 1);
        assert!(l[1].0.0.load(Ordering::SeqCst) && !l[0].0.0.load(Ordering::SeqCst));
        assert_eq!(c.read(4, 4), 1);
        c.write(4, 4, 0);
        assert!(!l[1].0.0.load(Ordering::SeqCst));
        c.write(8, 4, 1); // no hart 2
        assert_eq!(c.read(8, 4), 0);
    }

    #[test]
    fn timer_fires_without_polling() {
        let (c, l) = clint(2);
        let t0 = c.read(0xbff8, 8);
        std::thread::sleep(Duration::from_millis(2));
        let t1 = c.read(0xbff8, 8);
        assert!(
            t1 > t0 && t1 - t0 >= 15_000,
            "mtime at 10 MHz: {t0} -> {t1}"
        );
        assert!(!l[1].1.0.load(Ordering::SeqCst));
        // as OpenSBI does on RV64: one 64-bit store of the deadline, 20 ms ahead, for hart 1
        let start = Instant::now();
        c.write(0x4008, 8, c.read(0xbff8, 8) + 200_000);
        assert!(!l[1].1.0.load(Ordering::SeqCst));
        while !l[1].1.0.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let el = start.elapsed();
        assert!(
            el >= Duration::from_millis(19) && el < Duration::from_millis(500),
            "{el:?}"
        );
        assert!(!l[0].1.0.load(Ordering::SeqCst), "hart 0 untouched");
        // a later deadline, written in two halves, lowers MTIP at once
        c.write(0x400c, 4, u64::from(u32::MAX));
        c.write(0x4008, 4, u64::from(u32::MAX));
        assert!(!l[1].1.0.load(Ordering::SeqCst));
        assert_eq!(c.read(0x4008, 8), u64::MAX);
        // a deadline in the past: MTIP right away
        c.write(0x4000, 8, 0);
        assert!(l[0].1.0.load(Ordering::SeqCst));
    }

    #[test]
    fn mtime_writes_shift_the_clock() {
        let (c, _) = clint(1);
        c.write(0xbff8, 8, 1 << 40);
        let t = c.read(0xbff8, 8);
        assert!((1 << 40..(1 << 40) + 10_000_000).contains(&t), "{t}");
    }
}
