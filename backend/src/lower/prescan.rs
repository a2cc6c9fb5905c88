//! Facts about a unit gathered before lowering it, so that the lowering emits less CLIF
//! (compile time grows with it: python3 -c pass start-up compiles ~560k CLIF instructions)
//! without changing what the code does.

use xlat_ir::ops::Cas128Hi;
use xlat_ir::{Format, Temp, Unit};

/// For each temp: whether some path through the unit may read it before writing it. Only those
/// need the explicit 0 every unit run starts with (the interpreter's semantics); the others
/// are always written first. Conservative: writes count only in the unit's straight prefix
/// (before its first label or jump), which every run executes and nothing jumps into.
pub(super) fn temps_read_uninit(unit: &Unit) -> Vec<bool> {
    let n = unit.temps.len();
    let (mut written, mut need) = (vec![false; n], vec![false; n]);
    let mut prefix = true;
    for i in &unit.insts {
        // atomic_cas128 keeps a read and a written temp in its imm.
        let hi = (i.op.format() == Format::AtomicCas128).then(|| Cas128Hi::from_imm(i.imm));
        let reads = i.src.iter().copied().chain(hi.map(|h| h.new_hi));
        for s in reads.filter(|s| s.is_some()) {
            let k = s.0 as usize;
            if k < n && !written[k] {
                need[k] = true;
            }
        }
        match i.op.format() {
            Format::Label | Format::Jump | Format::Branch => prefix = false,
            _ if prefix => {
                let writes = [i.dst, hi.map_or(Temp::NONE, |h| h.old_hi)];
                for d in writes
                    .into_iter()
                    .filter(|d| d.is_some() && (d.0 as usize) < n)
                {
                    written[d.0 as usize] = true;
                }
            }
            _ => {}
        }
    }
    need
}

/// Whether the guest pc of the running instruction is, at every point of the unit, the one of
/// the last `insn_start` before it in program order: true unless some jump inside the unit goes
/// backwards or skips an `insn_start`. Then the lowering needs no variable for it.
pub(super) fn pc_is_static(unit: &Unit) -> bool {
    let mut at = vec![usize::MAX; unit.labels as usize];
    for (k, i) in unit.insts.iter().enumerate() {
        if i.op.format() == Format::Label
            && let Some(p) = at.get_mut(i.imm as usize)
        {
            *p = k;
        }
    }
    unit.insts.iter().enumerate().all(|(k, i)| {
        if !matches!(i.op.format(), Format::Jump | Format::Branch) {
            return true;
        }
        let Some(&to) = at.get(i.imm as usize) else {
            return false;
        };
        to > k
            && !unit.insts[k..to]
                .iter()
                .any(|j| j.op.format() == Format::InsnStart)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xlat_ir::{Inst, Opcode, Temp, Ty};

    fn inst(op: Opcode, dst: Option<u32>, src: &[u32], imm: u64) -> Inst {
        let mut s = [Temp::NONE; 4];
        for (k, &t) in src.iter().enumerate() {
            s[k] = Temp(t);
        }
        Inst {
            op,
            ty: Ty::I64,
            dst: dst.map_or(Temp::NONE, Temp),
            src: s,
            imm,
            aux: 0,
        }
    }

    fn unit(insts: Vec<Inst>, temps: usize, labels: u32) -> Unit {
        Unit {
            pc: 0x1000,
            insts,
            temps: vec![Ty::I64; temps],
            labels,
            ..Unit::default()
        }
    }

    #[test]
    fn temps_written_in_the_straight_prefix_need_no_zero() {
        use Opcode::*;
        let u = unit(
            vec![
                inst(InsnStart, None, &[], 0x1000),
                inst(Const, Some(0), &[], 5),
                inst(Add, Some(1), &[0, 2], 0), // t2 read before any write
                inst(Branch, None, &[1, 0], 0),
                inst(Const, Some(3), &[], 1), // written after the branch only
                inst(Label, None, &[], 0),
                inst(Add, Some(4), &[3, 1], 0), // t3 may be unwritten here; t1 is written
                inst(Exit, None, &[4], 0x1004), // t4: written after the prefix, so zeroed too
            ],
            5,
            1,
        );
        assert_eq!(temps_read_uninit(&u), vec![false, false, true, true, true]);
    }

    #[test]
    fn atomic_cas128_reads_and_writes_the_temps_in_its_imm() {
        use Opcode::*;
        let mut cas = inst(AtomicCas128, Some(4), &[0, 0, 0, 0], 0);
        cas.imm = Cas128Hi {
            new_hi: Temp(1),
            old_hi: Temp(2),
        }
        .to_imm();
        let u = unit(
            vec![
                inst(Const, Some(0), &[], 16),
                cas,                            // t1 read before any write
                inst(Add, Some(3), &[2, 4], 0), // t2 and t4 written by the cas
                inst(Exit, None, &[3], 0x1004),
            ],
            5,
            0,
        );
        assert_eq!(
            temps_read_uninit(&u),
            vec![false, true, false, false, false]
        );
    }

    #[test]
    fn the_pc_is_static_unless_a_jump_skips_an_insn_start_or_goes_back() {
        use Opcode::*;
        let body = |target_after_next_insn: bool| {
            let mut v = vec![
                inst(InsnStart, None, &[], 0x1000),
                inst(Branch, None, &[0, 0], 0),
            ];
            let l = inst(Label, None, &[], 0);
            let next = inst(InsnStart, None, &[], 0x1004);
            if target_after_next_insn {
                v.extend([next, l]);
            } else {
                v.extend([l, next]);
            }
            v.push(inst(Exit, None, &[], 0x1008));
            unit(v, 1, 1)
        };
        assert!(pc_is_static(&body(false)));
        assert!(!pc_is_static(&body(true)));
        let back = unit(
            vec![
                inst(Label, None, &[], 0),
                inst(InsnStart, None, &[], 0x1000),
                inst(Branch, None, &[0, 0], 0),
                inst(Exit, None, &[], 0x1004),
            ],
            1,
            1,
        );
        assert!(!pc_is_static(&back));
    }
}
