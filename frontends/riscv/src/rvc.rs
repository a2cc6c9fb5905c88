//! RVC — Unprivileged ISA, ch. "C" Standard Extension for Compressed Instructions.
//! Expands a 16-bit encoding to its 32-bit equivalent (RV64C), or `None` for reserved ones.

fn bit(v: u16, n: u32) -> u32 {
    u32::from(v >> n) & 1
}

fn bits(v: u16, hi: u32, lo: u32) -> u32 {
    (u32::from(v) >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn r_i(rd: u32, rs1: u32, f3: u32, imm: i32, op: u32) -> u32 {
    ((imm as u32 & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}

fn r_s(rs1: u32, rs2: u32, f3: u32, imm: i32, op: u32) -> u32 {
    let i = imm as u32;
    (((i >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((i & 31) << 7) | op
}

fn r_r(f7: u32, rd: u32, rs1: u32, rs2: u32, f3: u32, op: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}

fn r_b(rs1: u32, f3: u32, imm: i32) -> u32 {
    let i = imm as u32;
    (((i >> 12) & 1) << 31)
        | (((i >> 5) & 0x3f) << 25)
        | (rs1 << 15)
        | (f3 << 12)
        | (((i >> 1) & 0xf) << 8)
        | (((i >> 11) & 1) << 7)
        | 0x63
}

fn r_j(rd: u32, imm: i32) -> u32 {
    let i = imm as u32;
    (((i >> 20) & 1) << 31)
        | (((i >> 1) & 0x3ff) << 21)
        | (((i >> 11) & 1) << 20)
        | (((i >> 12) & 0xff) << 12)
        | (rd << 7)
        | 0x6f
}

fn sext(v: u32, width: u32) -> i32 {
    ((v << (32 - width)) as i32) >> (32 - width)
}

/// Expands the compressed instruction `c` (whose low two bits are not `11`).
pub fn expand(c: u16) -> Option<u32> {
    match c & 3 {
        0 => quadrant0(c),
        1 => quadrant1(c),
        2 => quadrant2(c),
        _ => None,
    }
}

fn quadrant0(c: u16) -> Option<u32> {
    let rdp = bits(c, 4, 2) + 8;
    let rs1p = bits(c, 9, 7) + 8;
    // offsets of c.lw/c.sw and of c.ld/c.sd/c.fld/c.fsd
    let off_w = ((bits(c, 12, 10) << 3) | (bit(c, 6) << 2) | (bit(c, 5) << 6)) as i32;
    let off_d = ((bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6)) as i32;
    Some(match bits(c, 15, 13) {
        0 => {
            let imm = (bits(c, 12, 11) << 4)
                | (bits(c, 10, 7) << 6)
                | (bit(c, 6) << 2)
                | (bit(c, 5) << 3);
            if imm == 0 {
                return None; // includes the all-zero parcel
            }
            r_i(rdp, 2, 0, imm as i32, 0x13) // c.addi4spn
        }
        1 => r_i(rdp, rs1p, 3, off_d, 0x07), // c.fld
        2 => r_i(rdp, rs1p, 2, off_w, 0x03), // c.lw
        3 => r_i(rdp, rs1p, 3, off_d, 0x03), // c.ld
        5 => r_s(rs1p, rdp, 3, off_d, 0x27), // c.fsd
        6 => r_s(rs1p, rdp, 2, off_w, 0x23), // c.sw
        7 => r_s(rs1p, rdp, 3, off_d, 0x23), // c.sd
        _ => return None,
    })
}

fn quadrant1(c: u16) -> Option<u32> {
    let rd = bits(c, 11, 7);
    let imm6 = sext((bit(c, 12) << 5) | bits(c, 6, 2), 6);
    let rdp = bits(c, 9, 7) + 8;
    let rs2p = bits(c, 4, 2) + 8;
    Some(match bits(c, 15, 13) {
        0 => r_i(rd, rd, 0, imm6, 0x13), // c.addi (c.nop when rd = 0)
        1 if rd != 0 => r_i(rd, rd, 0, imm6, 0x1b), // c.addiw
        1 => return None,
        2 => r_i(rd, 0, 0, imm6, 0x13), // c.li
        3 if rd == 2 => {
            let v = (bit(c, 12) << 9)
                | (bit(c, 6) << 4)
                | (bit(c, 5) << 6)
                | (bits(c, 4, 3) << 7)
                | (bit(c, 2) << 5);
            if v == 0 {
                return None;
            }
            r_i(2, 2, 0, sext(v, 10), 0x13) // c.addi16sp
        }
        3 => {
            if imm6 == 0 {
                return None;
            }
            ((imm6 as u32) << 12) | (rd << 7) | 0x37 // c.lui
        }
        4 => {
            let shamt = (bit(c, 12) << 5) | bits(c, 6, 2);
            match bits(c, 11, 10) {
                0 => r_i(rdp, rdp, 5, shamt as i32, 0x13), // c.srli
                1 => r_i(rdp, rdp, 5, (shamt | 0x400) as i32, 0x13), // c.srai
                2 => r_i(rdp, rdp, 7, imm6, 0x13),         // c.andi
                _ => {
                    let (f7, f3, op) = match (bit(c, 12), bits(c, 6, 5)) {
                        (0, 0) => (0x20, 0, 0x33), // c.sub
                        (0, 1) => (0, 4, 0x33),    // c.xor
                        (0, 2) => (0, 6, 0x33),    // c.or
                        (0, 3) => (0, 7, 0x33),    // c.and
                        (1, 0) => (0x20, 0, 0x3b), // c.subw
                        (1, 1) => (0, 0, 0x3b),    // c.addw
                        _ => return None,
                    };
                    r_r(f7, rdp, rdp, rs2p, f3, op)
                }
            }
        }
        5 => {
            let v = (bit(c, 12) << 11)
                | (bit(c, 11) << 4)
                | (bits(c, 10, 9) << 8)
                | (bit(c, 8) << 10)
                | (bit(c, 7) << 6)
                | (bit(c, 6) << 7)
                | (bits(c, 5, 3) << 1)
                | (bit(c, 2) << 5);
            r_j(0, sext(v, 12)) // c.j
        }
        f3 => {
            let v = (bit(c, 12) << 8)
                | (bits(c, 11, 10) << 3)
                | (bits(c, 6, 5) << 6)
                | (bits(c, 4, 3) << 1)
                | (bit(c, 2) << 5);
            r_b(rdp, if f3 == 6 { 0 } else { 1 }, sext(v, 9)) // c.beqz / c.bnez
        }
    })
}

fn quadrant2(c: u16) -> Option<u32> {
    let rd = bits(c, 11, 7);
    let rs2 = bits(c, 6, 2);
    let off_lw = ((bit(c, 12) << 5) | (bits(c, 6, 4) << 2) | (bits(c, 3, 2) << 6)) as i32;
    let off_ld = ((bit(c, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6)) as i32;
    let off_sw = ((bits(c, 12, 9) << 2) | (bits(c, 8, 7) << 6)) as i32;
    let off_sd = ((bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6)) as i32;
    Some(match bits(c, 15, 13) {
        0 => r_i(rd, rd, 1, ((bit(c, 12) << 5) | rs2) as i32, 0x13), // c.slli
        1 => r_i(rd, 2, 3, off_ld, 0x07),                            // c.fldsp
        2 if rd != 0 => r_i(rd, 2, 2, off_lw, 0x03),                 // c.lwsp
        3 if rd != 0 => r_i(rd, 2, 3, off_ld, 0x03),                 // c.ldsp
        4 => match (bit(c, 12), rd, rs2) {
            (0, 0, 0) => return None,
            (0, _, 0) => r_i(0, rd, 0, 0, 0x67),      // c.jr
            (0, _, _) => r_r(0, rd, 0, rs2, 0, 0x33), // c.mv
            (1, 0, 0) => 0x0010_0073,                 // c.ebreak
            (1, _, 0) => r_i(1, rd, 0, 0, 0x67),      // c.jalr
            _ => r_r(0, rd, rd, rs2, 0, 0x33),        // c.add
        },
        5 => r_s(2, rs2, 3, off_sd, 0x27), // c.fsdsp
        6 => r_s(2, rs2, 2, off_sw, 0x23), // c.swsp
        7 => r_s(2, rs2, 3, off_sd, 0x23), // c.sdsp
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected 32-bit encodings from riscv64-linux-gnu-as (the uncompressed form with
    // `.option norvc`), i.e. an independent assembler, not from this file.
    #[rustfmt::skip]
    const CASES: &[(u16, u32)] = &[
        (0x1141, 0xff01_0113), // c.addi sp,sp,-16  => addi sp,sp,-16
        (0xe406, 0x0011_3423), // c.sdsp ra,8(sp)   => sd ra,8(sp)
        (0x60a2, 0x0081_3083), // c.ldsp ra,8(sp)   => ld ra,8(sp)
        (0x8082, 0x0000_8067), // c.jr ra           => jalr x0,0(ra)
        (0x852e, 0x00b0_0533), // c.mv a0,a1        => add a0,x0,a1
        (0x4501, 0x0000_0513), // c.li a0,0         => addi a0,x0,0
        (0x0028, 0x0000_0513 | (8 << 20) | (2 << 15)), // c.addi4spn a0,sp,8 => addi a0,sp,8
        (0x9002, 0x0010_0073), // c.ebreak
    ];

    #[test]
    fn expands_like_the_assembler() {
        for &(c, want) in CASES {
            assert_eq!(expand(c), Some(want), "{c:#06x}");
        }
    }

    #[test]
    fn reserved_encodings_are_none() {
        assert_eq!(expand(0x0000), None); // all-zero parcel
        assert_eq!(expand(0x6101), None); // c.addi16sp with nzimm = 0
        assert_eq!(expand(0x8002), None); // c.jr x0
        assert_eq!(expand(0x4002), None); // c.lwsp x0
    }
}
