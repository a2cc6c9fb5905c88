//! Test scaffolding: code and data memory backed by Vecs, and a one-unit runner that verifies
//! the IR before interpreting it.

use xlat_ir::abi::{CpuState, ExitKind, decode_exit};
use xlat_ir::testmem::verify_and_run;
use xlat_ir::{CodeFetch, Unit};

/// Code at `base`.
pub struct Code {
    pub base: u64,
    pub bytes: Vec<u8>,
}

impl CodeFetch for Code {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let i = usize::try_from(pc.checked_sub(self.base)?).ok()?;
        Some(u16::from_le_bytes([
            *self.bytes.get(i)?,
            *self.bytes.get(i + 1)?,
        ]))
    }
}

/// Data memory at `base`; out-of-range accesses fault with the code the test gives (the
/// load access fault, 5, in these tests).
pub use xlat_ir::testmem::FlatMem as Mem;

/// Little-endian bytes of 32-bit words.
pub fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Translates the code at `pc` (all of it, at most 64 instructions), verifies it.
pub fn lift(pc: u64, bytes: Vec<u8>) -> Unit {
    let code = Code { base: pc, bytes };
    let u = super::translate(pc, &code, 64);
    if let Err(e) = xlat_ir::verify(&u) {
        panic!("{e}\n{u}");
    }
    u
}

/// Lifts and runs one unit; returns (exit kind, payload).
pub fn run(env: &mut CpuState, mem: &Mem, pc: u64, bytes: Vec<u8>) -> (ExitKind, u32) {
    let code = Code { base: pc, bytes };
    let e = verify_and_run(&super::translate(pc, &code, 64), env, mem);
    decode_exit(e.value)
}
