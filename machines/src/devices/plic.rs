//! The SiFive PLIC as on QEMU's riscv64 `virt` (`sifive,plic-1.0.0`, 96 sources of which 1..95
//! exist, 7 priority levels), with two contexts per hart: `2h` is hart h's M mode (driving
//! its MEIP) and `2h + 1` its S mode (SEIP). Register map: priorities at 0x0 + 4*src,
//! pending bits at 0x1000, enables at 0x2000 + 0x80*ctx, threshold at 0x20_0000 +
//! 0x1000*ctx, claim/complete at threshold + 4.
//!
//! Sources are level-triggered [`IrqLine`]s (the gateway): a source high becomes pending;
//! a claim takes it out of pending and into service; completing it re-pends it if it is
//! still high. A context's output is high while some enabled, pending, not-in-service source
//! has a priority above the context's threshold.

use std::sync::{Arc, Mutex, Weak};
use xlat_softmmu::system::{IrqLine, MmioDevice};

/// Number of interrupt sources (IDs 1..SOURCES-1 are real; 0 means "none").
pub const SOURCES: usize = 96;
const PRIO_MASK: u32 = 7;
const WORDS: usize = SOURCES / 32;

#[derive(Debug)]
struct State {
    priority: [u32; SOURCES],
    level: [bool; SOURCES],
    pending: [bool; SOURCES],
    in_service: [bool; SOURCES],
    enable: Vec<[u32; WORDS]>,
    threshold: Vec<u32>,
    out_level: Vec<bool>,
}

/// The PLIC (see the module doc).
#[derive(Debug)]
pub struct Plic {
    st: Mutex<State>,
    outputs: Vec<Arc<dyn IrqLine>>,
    me: Weak<Plic>,
}

/// One source input of the PLIC.
#[derive(Debug)]
struct Source {
    plic: Weak<Plic>,
    id: usize,
}

impl IrqLine for Source {
    fn set_level(&self, level: bool) {
        if let Some(p) = self.plic.upgrade() {
            p.set_source(self.id, level);
        }
    }
}

impl Plic {
    /// A PLIC whose context `i` drives `outputs[i]` (per hart: M-mode MEIP, then S-mode SEIP).
    pub fn new(outputs: Vec<Arc<dyn IrqLine>>) -> Arc<Plic> {
        let n = outputs.len();
        Arc::new_cyclic(|me| Plic {
            st: Mutex::new(State {
                priority: [0; SOURCES],
                level: [false; SOURCES],
                pending: [false; SOURCES],
                in_service: [false; SOURCES],
                enable: vec![[0; WORDS]; n],
                threshold: vec![0; n],
                out_level: vec![false; n],
            }),
            outputs,
            me: me.clone(),
        })
    }

    /// The input line of source `id` (1..95; other IDs give a line that does nothing).
    pub fn source(&self, id: usize) -> Arc<dyn IrqLine> {
        Arc::new(Source {
            plic: self.me.clone(),
            id,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_source(&self, id: usize, level: bool) {
        if id == 0 || id >= SOURCES {
            return;
        }
        let mut st = self.lock();
        st.level[id] = level;
        if level && !st.in_service[id] {
            st.pending[id] = true;
        }
        self.update(&mut st);
    }

    /// The best claimable source of context `ctx` (0 if none).
    fn best(st: &State, ctx: usize) -> usize {
        let mut best = (0usize, 0u32);
        for id in 1..SOURCES {
            let enabled = st.enable[ctx][id / 32] >> (id % 32) & 1 != 0;
            let p = st.priority[id];
            if enabled && st.pending[id] && !st.in_service[id] && p > best.1 {
                best = (id, p);
            }
        }
        if best.1 > st.threshold[ctx] {
            best.0
        } else {
            0
        }
    }

    fn update(&self, st: &mut State) {
        for ctx in 0..self.outputs.len() {
            let level = Self::best(st, ctx) != 0;
            if level != st.out_level[ctx] {
                st.out_level[ctx] = level;
                self.outputs[ctx].set_level(level);
            }
        }
    }
}

impl MmioDevice for Plic {
    fn read(&self, offset: u64, size: u8) -> u64 {
        if size != 4 {
            return 0;
        }
        let mut st = self.lock();
        let ctxs = self.outputs.len() as u64;
        let v = match offset {
            0..0x1000 => st.priority.get((offset / 4) as usize).copied().unwrap_or(0),
            0x1000..0x1080 => {
                let w = ((offset - 0x1000) / 4) as usize;
                (0..32)
                    .filter(|b| st.pending.get(w * 32 + b).copied().unwrap_or(false))
                    .fold(0, |acc, b| acc | 1 << b)
            }
            0x2000..0x20_0000 => {
                let (ctx, w) = ((offset - 0x2000) / 0x80, ((offset - 0x2000) % 0x80) / 4);
                if ctx < ctxs && (w as usize) < WORDS {
                    st.enable[ctx as usize][w as usize]
                } else {
                    0
                }
            }
            0x1080..0x2000 => 0,
            0x20_0000.. => {
                let (ctx, reg) = ((offset - 0x20_0000) / 0x1000, (offset - 0x20_0000) % 0x1000);
                if ctx >= ctxs {
                    return 0;
                }
                let ctx = ctx as usize;
                match reg {
                    0 => st.threshold[ctx],
                    4 => {
                        let id = Self::best(&st, ctx);
                        if id != 0 {
                            st.pending[id] = false;
                            st.in_service[id] = true;
                            self.update(&mut st);
                        }
                        id as u32
                    }
                    _ => 0,
                }
            }
        };
        u64::from(v)
    }

    fn write(&self, offset: u64, size: u8, value: u64) {
        if size != 4 {
            return;
        }
        let v = value as u32;
        let mut st = self.lock();
        let ctxs = self.outputs.len() as u64;
        match offset {
            0..0x1000 => {
                if let Some(p) = st.priority.get_mut((offset / 4) as usize) {
                    *p = v & PRIO_MASK;
                }
                st.priority[0] = 0;
            }
            0x2000..0x20_0000 => {
                let (ctx, w) = ((offset - 0x2000) / 0x80, ((offset - 0x2000) % 0x80) / 4);
                if ctx < ctxs && (w as usize) < WORDS {
                    // source 0 does not exist
                    st.enable[ctx as usize][w as usize] = if w == 0 { v & !1 } else { v };
                }
            }
            0x20_0000.. => {
                let (ctx, reg) = ((offset - 0x20_0000) / 0x1000, (offset - 0x20_0000) % 0x1000);
                if ctx >= ctxs {
                    return;
                }
                let ctx = ctx as usize;
                match reg {
                    0 => st.threshold[ctx] = v & PRIO_MASK,
                    4 => {
                        let id = v as usize;
                        let enabled = id < SOURCES && st.enable[ctx][id / 32] >> (id % 32) & 1 != 0;
                        if id != 0 && enabled && st.in_service[id] {
                            st.in_service[id] = false;
                            if st.level[id] {
                                st.pending[id] = true;
                            }
                        }
                    }
                    _ => return,
                }
            }
            _ => return,
        }
        self.update(&mut st);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::LevelLine as Line;
    use std::sync::atomic::Ordering;

    fn plic(harts: usize) -> (Arc<Plic>, Vec<Arc<Line>>) {
        let lines: Vec<Arc<Line>> = (0..2 * harts).map(|_| Arc::new(Line::default())).collect();
        let outs = lines
            .iter()
            .map(|l| l.clone() as Arc<dyn IrqLine>)
            .collect();
        (Plic::new(outs), lines)
    }

    const S1: u64 = 3; // hart 1, S mode

    #[test]
    fn linux_driver_sequence() {
        let (p, l) = plic(2);
        let uart = p.source(10);
        let disk = p.source(1);
        // Linux: priority 1 for every source, enable in its S context, threshold 0
        for id in 1..SOURCES as u64 {
            p.write(4 * id, 4, 1);
        }
        p.write(0x2000 + 0x80 * S1, 4, (1 << 10) | (1 << 1));
        p.write(0x20_0000 + 0x1000 * S1, 4, 0);
        uart.set_level(true);
        assert!(l[S1 as usize].0.load(Ordering::SeqCst), "SEIP of hart 1");
        assert!(
            !l[0].0.load(Ordering::SeqCst) && !l[1].0.load(Ordering::SeqCst),
            "not hart 0"
        );
        assert_eq!(p.read(0x1000, 4), 1 << 10, "pending bit");
        disk.set_level(true);
        p.write(4, 4, 2); // higher priority wins
        assert_eq!(p.read(0x20_0004 + 0x1000 * S1, 4), 1);
        assert_eq!(p.read(0x20_0004 + 0x1000 * S1, 4), 10);
        assert!(!l[S1 as usize].0.load(Ordering::SeqCst), "both in service");
        assert_eq!(
            p.read(0x20_0004 + 0x1000 * S1, 4),
            0,
            "nothing left to claim"
        );
        disk.set_level(false);
        p.write(0x20_0004 + 0x1000 * S1, 4, 1);
        assert!(
            !l[S1 as usize].0.load(Ordering::SeqCst),
            "disk line low: not re-pended"
        );
        p.write(0x20_0004 + 0x1000 * S1, 4, 10);
        assert!(
            l[S1 as usize].0.load(Ordering::SeqCst),
            "uart still high: pending again"
        );
        p.write(0x20_0000 + 0x1000 * S1, 4, 1); // threshold 1 masks priority 1
        assert!(!l[S1 as usize].0.load(Ordering::SeqCst));
        assert_eq!(p.read(0x20_0000 + 0x1000 * S1, 4), 1);
    }

    #[test]
    fn out_of_range_accesses_are_ignored() {
        let (p, _) = plic(1);
        p.source(0).set_level(true);
        p.source(500).set_level(true);
        p.write(0x20_0000 + 0x1000 * 7, 4, 1);
        p.write(0x20_0004, 4, 4000);
        assert_eq!(p.read(0x2000 + 0x80 * 9, 4), 0);
        assert_eq!(p.read(0x5f_fffc, 4), 0);
        p.write(0, 4, 7);
        assert_eq!(p.read(0, 4), 0, "source 0 has no priority");
        p.write(4, 4, 0xff);
        assert_eq!(p.read(4, 4), 7);
    }
}
