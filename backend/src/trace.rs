//! `-d` traces, printed to stderr when their switch is on (never on the hot path).

use crate::Trace;
use xlat_ir::{CodeFetch, Frontend, Opcode, Unit};

/// At translation: guest disassembly (`in_asm`) and IR (`ir`).
pub fn translated(t: &Trace, fe: &dyn Frontend, code: &dyn CodeFetch, unit: &Unit) {
    if t.in_asm {
        let mut s = format!("IN: pc={:#x} ({} insns)\n", unit.pc, unit.guest_insns);
        for i in unit.insts.iter().filter(|i| i.op == Opcode::InsnStart) {
            let (_, text) = fe.disas(i.imm, code);
            s.push_str(&format!("  {:#010x}:  {text}\n", i.imm));
        }
        eprint!("{s}");
    }
    if t.ir {
        eprint!("IR: pc={:#x}\n{unit}\n", unit.pc);
    }
}

/// At compilation: host disassembly (`out_asm`) of the unit or region at `pcs[0]`.
pub fn host_code(pcs: &[u64], addr: u64, size: usize) {
    let pc = pcs[0];
    let members = if pcs.len() > 1 {
        let list: Vec<String> = pcs[1..].iter().map(|p| format!("{p:#x}")).collect();
        format!(" region +{}", list.join(","))
    } else {
        String::new()
    };
    // SAFETY: [addr, addr + size) is the function just installed in the executable view,
    // which stays mapped for the engine's lifetime; we only read it.
    let bytes = unsafe { std::slice::from_raw_parts(addr as *const u8, size) };
    eprint!(
        "OUT: pc={pc:#x} host={addr:#x} ({size} bytes){members}\n{}",
        crate::disas::host(bytes, addr)
    );
}
