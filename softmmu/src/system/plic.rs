//! A minimal SiFive PLIC (`sifive,plic-1.0.0`) for one hart with two contexts (0: M-mode,
//! driving MEIP; 1: S-mode, driving SEIP): per-source priorities, pending bits, per-context
//! enables and thresholds, claim and complete. Sources are level-triggered [`IrqLine`]s.
//! (A stand-in until the board's own interrupt controller exists.)

use super::{IrqLine, MmioDevice};
use std::sync::{Arc, Mutex};

const SOURCES: usize = 96;
const CONTEXTS: usize = 2;

#[derive(Debug, Default)]
struct State {
    priority: Vec<u32>,
    level: Vec<bool>,
    pending: Vec<bool>,
    claimed: Vec<bool>,
    enable: [[u32; SOURCES / 32]; CONTEXTS],
    threshold: [u32; CONTEXTS],
}

/// The PLIC (see the module doc).
#[derive(Debug)]
pub struct MiniPlic {
    st: Mutex<State>,
    outputs: [Arc<dyn IrqLine>; CONTEXTS],
}

#[derive(Debug)]
struct Source {
    plic: Arc<MiniPlic>,
    id: usize,
}

impl IrqLine for Source {
    fn set_level(&self, level: bool) {
        let mut st = self.plic.st.lock().unwrap_or_else(|e| e.into_inner());
        st.level[self.id] = level;
        if level && !st.claimed[self.id] {
            st.pending[self.id] = true;
        }
        self.plic.update(&st);
    }
}

impl MiniPlic {
    /// A PLIC whose context 0 drives `m_ext` (MEIP) and context 1 `s_ext` (SEIP).
    pub fn new(m_ext: Arc<dyn IrqLine>, s_ext: Arc<dyn IrqLine>) -> Arc<MiniPlic> {
        Arc::new(MiniPlic {
            st: Mutex::new(State {
                priority: vec![0; SOURCES],
                level: vec![false; SOURCES],
                pending: vec![false; SOURCES],
                claimed: vec![false; SOURCES],
                ..State::default()
            }),
            outputs: [m_ext, s_ext],
        })
    }

    /// The input line of source `id` (1..96).
    pub fn source(self: &Arc<Self>, id: usize) -> Arc<dyn IrqLine> {
        Arc::new(Source {
            plic: self.clone(),
            id: id % SOURCES,
        })
    }

    fn best(st: &State, ctx: usize) -> Option<usize> {
        let mut best: Option<(u32, usize)> = None;
        for id in 1..SOURCES {
            let en = st.enable[ctx][id / 32] >> (id % 32) & 1 != 0;
            let p = st.priority[id];
            if st.pending[id] && en && p > st.threshold[ctx] && best.is_none_or(|(bp, _)| p > bp) {
                best = Some((p, id));
            }
        }
        best.map(|(_, id)| id)
    }

    fn update(&self, st: &State) {
        for ctx in 0..CONTEXTS {
            self.outputs[ctx].set_level(Self::best(st, ctx).is_some());
        }
    }
}

impl MmioDevice for MiniPlic {
    fn read(&self, offset: u64, _size: u8) -> u64 {
        let mut st = self.st.lock().unwrap_or_else(|e| e.into_inner());
        let o = offset as usize;
        let v = match o {
            0..0x1000 => st.priority.get(o / 4).copied().unwrap_or(0),
            0x1000..0x1080 => {
                let w = (o - 0x1000) / 4;
                (0..32)
                    .filter(|b| st.pending.get(w * 32 + b).copied().unwrap_or(false))
                    .fold(0, |a, b| a | 1 << b)
            }
            0x2000..0x1f_0000 => {
                let (ctx, w) = ((o - 0x2000) / 0x80, (o - 0x2000) % 0x80 / 4);
                st.enable
                    .get(ctx)
                    .and_then(|e| e.get(w))
                    .copied()
                    .unwrap_or(0)
            }
            0x20_0000.. => {
                let (ctx, reg) = ((o - 0x20_0000) / 0x1000, (o - 0x20_0000) % 0x1000);
                match (ctx < CONTEXTS, reg) {
                    (true, 0) => st.threshold[ctx],
                    (true, 4) => match Self::best(&st, ctx) {
                        Some(id) => {
                            st.pending[id] = false;
                            st.claimed[id] = true;
                            self.update(&st);
                            id as u32
                        }
                        None => 0,
                    },
                    _ => 0,
                }
            }
            _ => 0,
        };
        u64::from(v)
    }

    fn write(&self, offset: u64, _size: u8, value: u64) {
        let mut st = self.st.lock().unwrap_or_else(|e| e.into_inner());
        let o = offset as usize;
        let v = value as u32;
        match o {
            0..0x1000 => {
                if let Some(p) = st.priority.get_mut(o / 4) {
                    *p = v & 7;
                }
            }
            0x2000..0x1f_0000 => {
                let (ctx, w) = ((o - 0x2000) / 0x80, (o - 0x2000) % 0x80 / 4);
                if let Some(e) = st.enable.get_mut(ctx).and_then(|e| e.get_mut(w)) {
                    *e = if w == 0 { v & !1 } else { v };
                }
            }
            0x20_0000.. => {
                let (ctx, reg) = ((o - 0x20_0000) / 0x1000, (o - 0x20_0000) % 0x1000);
                if ctx < CONTEXTS {
                    match reg {
                        0 => st.threshold[ctx] = v & 7,
                        4 => {
                            let id = v as usize;
                            if id > 0 && id < SOURCES && st.claimed[id] {
                                st.claimed[id] = false;
                                if st.level[id] {
                                    st.pending[id] = true;
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        self.update(&st);
    }
}
