//! Host disassembly for `out_asm` traces (capstone; traces only, never on the hot path).

use capstone::prelude::*;

/// Disassembles x86-64 `bytes` loaded at `addr`, one instruction per line.
pub fn host(bytes: &[u8], addr: u64) -> String {
    let cs = match Capstone::new()
        .x86()
        .mode(arch::x86::ArchMode::Mode64)
        .syntax(arch::x86::ArchSyntax::Att)
        .build()
    {
        Ok(cs) => cs,
        Err(e) => return format!("  (no disassembler: {e})\n"),
    };
    let insns = match cs.disasm_all(bytes, addr) {
        Ok(i) => i,
        Err(e) => return format!("  (disassembly failed: {e})\n"),
    };
    let mut s = String::new();
    let mut end = addr;
    for i in insns.iter() {
        s.push_str(&format!(
            "  {:#x}:  {} {}\n",
            i.address(),
            i.mnemonic().unwrap_or("?"),
            i.op_str().unwrap_or("")
        ));
        end = i.address() + i.bytes().len() as u64;
    }
    if end < addr + bytes.len() as u64 {
        s.push_str(&format!(
            "  {end:#x}:  ({} bytes of data)\n",
            addr + bytes.len() as u64 - end
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn disassembles_x86_64() {
        #[rustfmt::skip]
        let code = [
            0x48, 0x89, 0xf8, // mov %rdi, %rax
            0xc3,             // ret
        ];
        let s = super::host(&code, 0x1000);
        assert!(s.contains("0x1000:  movq %rdi, %rax"), "{s}");
        assert!(s.contains("0x1003:  ret"), "{s}");
    }
}
