//! Disassembly for traces (`-d in_asm`), objdump-like: ABI register names, absolute branch
//! targets, compressed instructions shown as their 32-bit expansion.

use crate::decode::{self, Args, Op, Visitor};
use crate::state::{FNAMES, XNAMES};
use xlat_ir::CodeFetch;

/// Disassembles the instruction at `pc`: (length in bytes, text).
pub fn disas(pc: u64, code: &dyn CodeFetch) -> (u32, String) {
    match crate::lift::fetch(code, pc) {
        Err(_) => (2, "<unreadable>".into()),
        Ok((None, bits, len)) => (len as u32, format!(".insn {bits:#x} (illegal)")),
        Ok((Some(w), _, len)) => (len as u32, disas_word(pc, w)),
    }
}

/// Disassembles one 32-bit instruction word at `pc`.
pub fn disas_word(pc: u64, raw: u32) -> String {
    decode::dispatch(&mut Disas { pc }, raw)
}

struct Disas {
    pc: u64,
}

fn x(r: u8) -> &'static str {
    XNAMES[usize::from(r & 31)]
}

fn f(r: u8) -> &'static str {
    FNAMES[usize::from(r & 31)]
}

fn csr_name(c: u16) -> String {
    match c {
        0x001 => "fflags".into(),
        0x002 => "frm".into(),
        0x003 => "fcsr".into(),
        0xc00 => "cycle".into(),
        0xc01 => "time".into(),
        0xc02 => "instret".into(),
        _ => format!("{c:#x}"),
    }
}

fn rm_suffix(rm: u8) -> &'static str {
    [
        "rne", "rtz", "rdn", "rup", "rmm", "unknown", "unknown", "dyn",
    ][usize::from(rm & 7)]
}

/// Register classes of an F/D instruction with the `Rf` format: (rd is f, rs1 is f, uses rs2,
/// prints rm).
fn fp_classes(op: Op, name: &str) -> (bool, bool, bool, bool) {
    use Op::*;
    let cvt_to_int = name.starts_with("fcvt.w") || name.starts_with("fcvt.l");
    let cvt_from_int = name.starts_with("fcvt.")
        && (name.ends_with(".w")
            || name.ends_with(".wu")
            || name.ends_with(".l")
            || name.ends_with(".lu"));
    match op {
        FmvXW | FmvXD => (false, true, false, false),
        FmvWX | FmvDX => (true, false, false, false),
        FclassS | FclassD => (false, true, false, false),
        FeqS | FltS | FleS | FeqD | FltD | FleD => (false, true, true, false),
        FsgnjS | FsgnjnS | FsgnjxS | FsgnjD | FsgnjnD | FsgnjxD | FminS | FmaxS | FminD | FmaxD => {
            (true, true, true, false)
        }
        FsqrtS | FsqrtD | FcvtSD | FcvtDS => (true, true, false, true),
        _ if cvt_to_int => (false, true, false, true),
        _ if cvt_from_int => (true, false, false, true),
        _ => (true, true, true, true),
    }
}

impl Visitor for Disas {
    type Out = String;

    fn insn(&mut self, op: Op, args: Args, raw: u32) -> String {
        let row = decode::lookup(raw).map_or("?", |r| r.name);
        let fp_mem = matches!(op, Op::Flw | Op::Fld | Op::Fsw | Op::Fsd);
        match args {
            Args::R(a) => {
                let unary =
                    decode::lookup(raw).is_some_and(|r| r.mask & 0x01f0_0000 == 0x01f0_0000);
                if unary {
                    format!("{row} {},{}", x(a.rd), x(a.rs1))
                } else {
                    format!("{row} {},{},{}", x(a.rd), x(a.rs1), x(a.rs2))
                }
            }
            Args::R4(a) => {
                let rm = if a.rm == 7 {
                    String::new()
                } else {
                    format!(",{}", rm_suffix(a.rm))
                };
                format!(
                    "{row} {},{},{},{}{rm}",
                    f(a.rd),
                    f(a.rs1),
                    f(a.rs2),
                    f(a.rs3)
                )
            }
            Args::Rf(a) => {
                let (fd, fs1, two, rm) = fp_classes(op, row);
                let rd = if fd { f(a.rd) } else { x(a.rd) };
                let rs1 = if fs1 { f(a.rs1) } else { x(a.rs1) };
                let mut s = format!("{row} {rd},{rs1}");
                if two {
                    s += &format!(",{}", f(a.rs2));
                }
                // binutils prints no rm for the exact widening conversions when it is rne
                let exact = matches!(op, Op::FcvtDS | Op::FcvtDW | Op::FcvtDWu) && a.rm == 0;
                if rm && a.rm != 7 && !exact {
                    s += &format!(",{}", rm_suffix(a.rm));
                }
                s
            }
            Args::I(a) if matches!(op, Op::Jalr) || row.starts_with('l') || fp_mem => {
                let rd = if fp_mem { f(a.rd) } else { x(a.rd) };
                format!("{row} {rd},{}({})", a.imm, x(a.rs1))
            }
            Args::I(a) => format!("{row} {},{},{}", x(a.rd), x(a.rs1), a.imm),
            Args::Sh(a) => format!("{row} {},{},{:#x}", x(a.rd), x(a.rs1), a.shamt),
            Args::S(a) => {
                let rs2 = if fp_mem { f(a.rs2) } else { x(a.rs2) };
                format!("{row} {rs2},{}({})", a.imm, x(a.rs1))
            }
            Args::B(a) => {
                let t = self.pc.wrapping_add(a.imm as u64);
                format!("{row} {},{},{t:#x}", x(a.rs1), x(a.rs2))
            }
            Args::U(a) => format!("{row} {},{:#x}", x(a.rd), (a.imm as u64 >> 12) & 0xf_ffff),
            Args::J(a) => format!(
                "{row} {},{:#x}",
                x(a.rd),
                self.pc.wrapping_add(a.imm as u64)
            ),
            Args::Csr(a) => {
                let src = if row.ends_with('i') {
                    a.rs1.to_string()
                } else {
                    x(a.rs1).to_string()
                };
                format!("{row} {},{},{src}", x(a.rd), csr_name(a.csr))
            }
            Args::A(a) => {
                let ord = match (a.aq, a.rl) {
                    (false, false) => "",
                    (false, true) => ".rl",
                    (true, false) => ".aq",
                    (true, true) => ".aqrl",
                };
                if row.starts_with("lr") {
                    format!("{row}{ord} {},({})", x(a.rd), x(a.rs1))
                } else {
                    format!("{row}{ord} {},{},({})", x(a.rd), x(a.rs2), x(a.rs1))
                }
            }
            Args::N => row.to_string(),
        }
    }

    fn illegal(&mut self) -> String {
        "illegal".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_objdump_style() {
        // Expected strings as riscv64-linux-gnu-objdump -M no-aliases prints them (modulo
        // its hex-without-0x branch targets).
        assert_eq!(disas_word(0, 0x00b5_0533), "add a0,a0,a1");
        assert_eq!(disas_word(0, 0xfea1_3c23), "sd a0,-8(sp)");
        assert_eq!(disas_word(0, 0x0081_3083), "ld ra,8(sp)");
        assert_eq!(disas_word(0x100, 0xfe00_0ee3), "beq zero,zero,0xfc");
        assert_eq!(disas_word(0, 0x0000_0073), "ecall");
        assert_eq!(disas_word(0, 0x6000_1513), "clz a0,zero");
    }
}
