//! RISC-V instruction encoders (base formats) used by the random-stream generator.

/// R-type: `funct7 rs2 rs1 funct3 rd opcode`.
pub fn r(op: u32, f3: u32, f7: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}

/// I-type with a signed 12-bit immediate.
pub fn i(op: u32, f3: u32, rd: u32, rs1: u32, imm: i32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}

/// S-type (stores).
pub fn s(op: u32, f3: u32, rs1: u32, rs2: u32, imm: i32) -> u32 {
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | op
}

/// B-type (conditional branches), `off` in bytes (even).
pub fn b(f3: u32, rs1: u32, rs2: u32, off: i32) -> u32 {
    let o = off as u32;
    (((o >> 12) & 1) << 31)
        | (((o >> 5) & 0x3f) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (f3 << 12)
        | (((o >> 1) & 0xf) << 8)
        | (((o >> 11) & 1) << 7)
        | 0x63
}

/// U-type (`lui`/`auipc`), `imm20` is the upper 20 bits.
pub fn u(op: u32, rd: u32, imm20: u32) -> u32 {
    ((imm20 & 0xfffff) << 12) | (rd << 7) | op
}

/// J-type (`jal`), `off` in bytes (even).
pub fn j(rd: u32, off: i32) -> u32 {
    let o = off as u32;
    (((o >> 20) & 1) << 31)
        | (((o >> 1) & 0x3ff) << 21)
        | (((o >> 11) & 1) << 20)
        | (((o >> 12) & 0xff) << 12)
        | (rd << 7)
        | 0x6f
}

/// R4-type (fused multiply-add family).
pub fn r4(op: u32, fmt: u32, rm: u32, rd: u32, rs1: u32, rs2: u32, rs3: u32) -> u32 {
    (rs3 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | op
}

/// `lui rd, hi; addi rd, rd, lo` loading a small non-negative address (< 2^31 - 2^11).
pub fn li_addr(rd: u32, addr: u32) -> [u32; 2] {
    let hi = addr.wrapping_add(0x800) >> 12;
    let lo = (addr & 0xfff) as i32;
    let lo = if lo >= 0x800 { lo - 0x1000 } else { lo };
    [u(0x37, rd, hi), i(0x13, 0, rd, rd, lo)]
}

/// ABI name of an integer register.
pub fn xname(r: u32) -> &'static str {
    const N: [&str; 32] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
        "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
        "t5", "t6",
    ];
    N[(r & 31) as usize]
}

/// Name of a rounding-mode field value.
pub fn rm_name(rm: u32) -> &'static str {
    ["rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn"][(rm & 7) as usize]
}
