//! Region formation: when a unit gets hot, the units reachable from it through `goto_tb` exits
//! that are hot themselves are compiled with it into one function (see `lower`), so the jumps
//! between them (loops above all) stay inside host code with the guest registers in host
//! registers.

use crate::tb::{Ir, Tb, TbCache, TbKey};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use xlat_ir::Format;

/// Most units in one region.
pub const MAX_MEMBERS: usize = 16;
/// Most guest instructions in one region.
pub const MAX_INSNS: u32 = 512;

/// A region's members, head first, in discovery (breadth-first) order.
#[derive(Debug)]
pub struct Region {
    /// The TBs and their IR.
    pub members: Vec<(Arc<Tb>, Arc<Ir>)>,
}

impl Region {
    /// Guest instructions in all members.
    pub fn guest_insns(&self) -> u64 {
        self.members
            .iter()
            .map(|(t, _)| u64::from(t.guest_insns))
            .sum()
    }

    /// Guest ranges of the members other than the head.
    pub fn member_ranges(&self) -> Vec<(u64, u64)> {
        self.members
            .iter()
            .skip(1)
            .map(|(t, _)| t.range())
            .collect()
    }
}

/// Whether `tb` may join a region: it has IR, compiles, and ran at least `hot` times in the
/// interpreter (or was compiled, so it was hot once).
fn eligible(tb: &Tb, hot: u32) -> bool {
    !tb.no_jit.load(Ordering::Relaxed) && (tb.runs.load(Ordering::Relaxed) >= hot || tb.code() != 0)
}

/// Gathers the region headed by `head` (whose IR is `ir`): breadth-first over `goto_tb`
/// targets that are in `cache` and eligible with at least `hot` runs, within
/// [`MAX_MEMBERS`] and [`MAX_INSNS`].
pub fn gather(cache: &TbCache, head: &Arc<Tb>, ir: Arc<Ir>, hot: u32, flags: u32) -> Region {
    let mut members = vec![(head.clone(), ir)];
    let mut insns = head.guest_insns;
    let mut next = 0;
    while next < members.len() && members.len() < MAX_MEMBERS {
        let targets: Vec<u64> = members[next]
            .1
            .unit
            .insts
            .iter()
            .filter(|i| i.op.format() == Format::GotoTb)
            .map(|i| i.imm)
            .collect();
        next += 1;
        for pc in targets {
            if members.len() >= MAX_MEMBERS || members.iter().any(|(t, _)| t.pc == pc) {
                continue;
            }
            let Some(tb) = cache.get(TbKey { pc, flags }) else {
                continue;
            };
            if !eligible(tb, hot) || insns + tb.guest_insns > MAX_INSNS {
                continue;
            }
            let Some(ir) = tb.ir() else {
                continue;
            };
            insns += tb.guest_insns;
            members.push((tb.clone(), ir));
        }
    }
    Region { members }
}
