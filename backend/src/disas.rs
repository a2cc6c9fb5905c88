//! Host disassembly for `out_asm` traces.

/// Disassembles x86-64 `bytes` loaded at `addr`, one instruction per line.
pub fn host(bytes: &[u8], addr: u64) -> String {
    let mut s = String::new();
    for chunk in bytes.chunks(16) {
        s.push_str(&format!("  {addr:#x}: "));
        for b in chunk {
            s.push_str(&format!("{b:02x} "));
        }
        s.push('\n');
    }
    s
}
