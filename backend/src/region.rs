//! Region formation: when a unit gets hot, the units reachable from it through `goto_tb` exits
//! that are hot themselves are compiled with it into one function (see `lower`), so the jumps
//! between them (loops above all) stay inside host code with the guest registers in host
//! registers.

use crate::tb::{Ir, Tb, TbCache, TbKey};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use xlat_ir::Format;

/// Most units in one region.
pub const MAX_MEMBERS: usize = 32;
/// Most guest instructions in one region.
pub const MAX_INSNS: u32 = 512;
/// Most units looked at when gathering a region.
const MAX_SCAN: usize = 64;
/// Most units in a region without a loop through its head.
const MAX_STRAIGHT: usize = 4;

/// A region's members, head first, in discovery (breadth-first) order.
#[derive(Debug)]
pub struct Region {
    /// The TBs and their IR.
    pub members: Vec<(Arc<Tb>, Arc<Ir>)>,
    /// The region is a loop (members reach the head again).
    pub looping: bool,
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
    !tb.no_jit.load(Ordering::Relaxed)
        && !tb.solo.load(Ordering::Relaxed)
        && (tb.runs.load(Ordering::Relaxed) >= hot || tb.code() != 0)
}

/// Gathers the region headed by `head` (whose IR is `ir`): breadth-first over `goto_tb`
/// targets that are in `cache` and eligible with at least `hot` runs, within
/// [`MAX_MEMBERS`] and [`MAX_INSNS`]. If some of them lead back to the head (a loop), only
/// those stay: code after the loop is better compiled as its own region than copied into
/// every loop's. Without a loop, the first [`MAX_STRAIGHT`] members reached that have no code
/// yet stay.
pub fn gather(cache: &TbCache, head: &Arc<Tb>, ir: Arc<Ir>, hot: u32, flags: u32) -> Region {
    let mut members = vec![(head.clone(), ir)];
    if head.solo.load(Ordering::Relaxed) {
        // Its code may change under a store of its own: nothing is compiled together with it.
        return Region {
            members,
            looping: false,
        };
    }
    // succs[i]: member indices member i jumps to.
    let mut succs: Vec<Vec<usize>> = Vec::new();
    let mut insns = head.guest_insns;
    let mut next = 0;
    while next < members.len() {
        let targets: Vec<u64> = goto_tb_targets(&members[next].1);
        let mut out = Vec::new();
        for pc in targets {
            if let Some(k) = members.iter().position(|(t, _)| t.pc == pc) {
                out.push(k);
                continue;
            }
            if members.len() >= MAX_SCAN {
                continue;
            }
            let Some(tb) = cache.get(TbKey { pc, flags }) else {
                continue;
            };
            if !eligible(tb, hot) || insns + tb.guest_insns > MAX_INSNS * 2 {
                continue;
            }
            let Some(ir) = tb.ir() else {
                continue;
            };
            insns += tb.guest_insns;
            out.push(members.len());
            members.push((tb.clone(), ir));
        }
        succs.push(out);
        next += 1;
    }
    // Members that reach the head again (backwards from it over the edges found).
    let mut on_loop = vec![false; members.len()];
    on_loop[0] = true;
    let mut changed = true;
    while changed {
        changed = false;
        for (i, out) in succs.iter().enumerate() {
            if !on_loop[i] && out.iter().any(|&k| on_loop[k]) {
                on_loop[i] = true;
                changed = true;
            }
        }
    }
    let looping = on_loop.iter().filter(|&&b| b).count() > 1 || succs[0].contains(&0);
    let mut kept = vec![false; members.len()];
    let (mut n, mut insns) = (0, 0);
    for (i, (tb, _)) in members.iter().enumerate() {
        // Without a loop, a member that has code of its own already is chained to rather than
        // compiled again: copies cost compile time and gain little outside loops (python3 -c
        // pass start-up: compile time -35%; intmark, fpmark, memory, sha256sum unchanged).
        let want = if looping {
            on_loop[i]
        } else {
            i < MAX_STRAIGHT && (i == 0 || tb.code() == 0)
        };
        if want && n < MAX_MEMBERS && insns + tb.guest_insns <= MAX_INSNS {
            insns += tb.guest_insns;
            n += 1;
            kept[i] = true;
        }
    }
    // Reverse postorder of a depth-first walk from the head over the kept members: the
    // lowering lays members out in this order (straight paths fall through) and checks
    // `exit_request` on jumps to an earlier member, which are then exactly the loops' back
    // edges. Members the walk does not reach (cut off by the limits) are dropped.
    let mut post = Vec::new();
    let mut seen = vec![false; members.len()];
    let mut stack = vec![(0usize, 0usize)];
    seen[0] = true;
    while let Some((v, k)) = stack.pop() {
        match succs[v].get(k) {
            Some(&w) => {
                stack.push((v, k + 1));
                if kept[w] && !seen[w] {
                    seen[w] = true;
                    stack.push((w, 0));
                }
            }
            None => post.push(v),
        }
    }
    let mut slots: Vec<Option<(Arc<Tb>, Arc<Ir>)>> = members.into_iter().map(Some).collect();
    let members: Vec<_> = post.iter().rev().filter_map(|&i| slots[i].take()).collect();
    Region {
        looping: looping && members.len() > 1 || succs[0].contains(&0),
        members,
    }
}

fn goto_tb_targets(ir: &Ir) -> Vec<u64> {
    ir.unit
        .insts
        .iter()
        .filter(|i| i.op.format() == Format::GotoTb)
        .map(|i| i.imm)
        .collect()
}
