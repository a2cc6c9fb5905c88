//! Control flow, the stack, flag instructions, string instructions and system instructions.

use super::{Cx, Flow};
use crate::flags;
use crate::{BREAKPOINT, GENERAL_PROTECTION, ILLEGAL_INSTRUCTION, helpers, state};
use iced_x86::{Mnemonic as M, OpKind};
use xlat_ir::{Cond, ExitReason, Opcode, Temp, Ty};

/// Lifts `cx.i` if it is in this class.
pub(super) fn lift(cx: &mut Cx) -> Option<Flow> {
    let m = cx.i.mnemonic();
    Some(match m {
        M::Jmp => jmp(cx, false),
        M::Call => jmp(cx, true),
        M::Ret => ret(cx),
        M::Ja
        | M::Jae
        | M::Jb
        | M::Jbe
        | M::Je
        | M::Jg
        | M::Jge
        | M::Jl
        | M::Jle
        | M::Jne
        | M::Jno
        | M::Jnp
        | M::Jns
        | M::Jo
        | M::Jp
        | M::Js => jcc(cx),
        M::Jrcxz | M::Jecxz | M::Loop | M::Loope | M::Loopne => loops(cx),
        M::Push => opt(push_op(cx)),
        M::Pop => opt(pop_op(cx)),
        M::Enter if cx.i.code() == iced_x86::Code::Enterq_imm16_imm8 => {
            // push rbp; the nesting level's frame pointers (copied from the old frame, then
            // the new one); rbp = the new frame; rsp -= size.
            let size = u64::from(cx.i.immediate16());
            let level = u64::from(cx.i.immediate8_2nd()) & 31;
            let bp = cx.b.get_reg(Ty::I64, state::gpr(5));
            push(cx, bp, 8);
            let frame = cx.b.get_reg(Ty::I64, state::RSP);
            if level > 0 {
                for i in 1..level {
                    let p = cx.opi(Opcode::Sub, bp, 8 * i);
                    let v = cx.load(p, 8);
                    push(cx, v, 8);
                }
                push(cx, frame, 8);
            }
            cx.b.set_reg(state::gpr(5), frame);
            let sp = cx.b.get_reg(Ty::I64, state::RSP);
            let sp = cx.opi(Opcode::Sub, sp, size);
            cx.b.set_reg(state::RSP, sp);
            Flow::Next
        }
        M::Enter if cx.i.code() == iced_x86::Code::Enterw_imm16_imm8 => {
            // 66 C8: as above with word pushes; the nesting loop steps RBP down by 2 per
            // copied frame pointer, and only BP (the low 16 bits) takes the new frame.
            let size = u64::from(cx.i.immediate16());
            let level = u64::from(cx.i.immediate8_2nd()) & 31;
            let bp = cx.b.get_reg(Ty::I64, state::gpr(5));
            push(cx, bp, 2);
            let frame = cx.b.get_reg(Ty::I64, state::RSP);
            let mut rbp = bp;
            if level > 0 {
                for _ in 1..level {
                    rbp = cx.opi(Opcode::Sub, rbp, 2);
                    let v = cx.load(rbp, 2);
                    push(cx, v, 2);
                }
                push(cx, frame, 2);
            }
            let kept = cx.opi(Opcode::AndN, rbp, 0xffff);
            let low = cx.zext(frame, 2);
            let nbp = cx.op(Opcode::Or, kept, low);
            cx.b.set_reg(state::gpr(5), nbp);
            let sp = cx.b.get_reg(Ty::I64, state::RSP);
            let sp = cx.opi(Opcode::Sub, sp, size);
            cx.b.set_reg(state::RSP, sp);
            Flow::Next
        }
        M::Leave => {
            let bp = cx.b.get_reg(Ty::I64, state::gpr(5));
            let v = cx.load(bp, 8);
            let sp = cx.opi(Opcode::Add, bp, 8);
            cx.b.set_reg(state::RSP, sp);
            cx.b.set_reg(state::gpr(5), v);
            Flow::Next
        }
        M::Pushfq | M::Popfq if cx.system => {
            // RFLAGS.IF is the system emulator's (x86sys::exec)
            let z = cx.k(0);
            cx.b.raise(GENERAL_PROTECTION, cx.pc, Some(z));
            Flow::End
        }
        M::Pushfq => {
            let f = rflags(cx);
            push(cx, f, 8);
            Flow::Next
        }
        M::Popfq => {
            let v = pop(cx, 8);
            set_rflags(cx, v);
            Flow::Next
        }
        // 66 9C / 66 9D: the low 16 bits of RFLAGS (the arithmetic flags and DF are all
        // there; IF, IOPL and NT stay as they are for a user-mode guest).
        M::Pushf if !cx.system => {
            let f = rflags(cx);
            push(cx, f, 2);
            Flow::Next
        }
        M::Popf if !cx.system => {
            let v = pop(cx, 2);
            set_rflags(cx, v);
            Flow::Next
        }
        M::Xlatb => {
            // al = [rbx + al] (ebx + al with the 32-bit address size; FS/GS add their base).
            let base = cx.i.memory_base();
            let b = cx.get_gpr(base);
            let al = cx.get_gpr(iced_x86::Register::AL);
            let al = cx.zext(al, 1);
            let a = cx.op(Opcode::Add, b, al);
            let a = if base == iced_x86::Register::EBX {
                cx.zext(a, 4)
            } else {
                a
            };
            let a = match cx.i.segment_prefix() {
                iced_x86::Register::FS => {
                    let fs = cx.b.get_reg(Ty::I64, state::FS_BASE);
                    cx.op(Opcode::Add, a, fs)
                }
                iced_x86::Register::GS => {
                    let gs = cx.b.get_reg(Ty::I64, state::GS_BASE);
                    cx.op(Opcode::Add, a, gs)
                }
                _ => a,
            };
            let v = cx.load(a, 1);
            cx.set_gpr(iced_x86::Register::AL, v);
            Flow::Next
        }
        M::Lahf => {
            let f = cx.eflags();
            let f = cx.opi(Opcode::And, f, 0xd5);
            let f = cx.opi(Opcode::Or, f, 2);
            cx.set_gpr(iced_x86::Register::AH, f);
            Flow::Next
        }
        M::Sahf => {
            let ah = cx.get_gpr(iced_x86::Register::AH);
            let lo = cx.opi(Opcode::And, ah, 0xd5);
            let f = cx.eflags();
            let f = cx.opi(Opcode::AndN, f, 0xd5);
            let f = cx.op(Opcode::Or, f, lo);
            cx.set_cc_eflags(f);
            Flow::Next
        }
        M::Clc | M::Stc | M::Cmc => {
            let f = cx.eflags();
            let f = match m {
                M::Clc => cx.opi(Opcode::AndN, f, flags::CF),
                M::Stc => cx.opi(Opcode::Or, f, flags::CF),
                _ => cx.opi(Opcode::Xor, f, flags::CF),
            };
            cx.set_cc_eflags(f);
            Flow::Next
        }
        M::Cld | M::Std => {
            let v = cx.k(u64::from(m == M::Std));
            cx.b.set_reg(state::DF, v);
            Flow::Next
        }
        M::Syscall => {
            let next = cx.k(cx.next_pc());
            cx.b.set_reg(state::RCX, next);
            let f = rflags(cx);
            cx.b.set_reg(state::R11, f);
            cx.b.exit(ExitReason::Syscall, cx.pc);
            Flow::End
        }
        M::Int3 => {
            cx.b.exit(ExitReason::Breakpoint, cx.pc);
            Flow::End
        }
        M::Ud2 | M::Ud0 | M::Ud1 => {
            let z = cx.k(0);
            cx.b.raise(ILLEGAL_INSTRUCTION, cx.pc, Some(z));
            Flow::End
        }
        // Privileged in user mode (port I/O: IOPL 0), string forms of every size included.
        M::Hlt
        | M::Cli
        | M::Sti
        | M::In
        | M::Out
        | M::Insb
        | M::Insw
        | M::Insd
        | M::Outsb
        | M::Outsw
        | M::Outsd
        | M::Int => {
            let z = cx.k(0);
            cx.b.raise(GENERAL_PROTECTION, cx.pc, Some(z));
            Flow::End
        }
        // CPL 0 only: #GP in user mode (system mode emulates them, crate::system).
        M::Lgdt
        | M::Lidt
        | M::Lldt
        | M::Ltr
        | M::Lmsw
        | M::Clts
        | M::Invd
        | M::Wbinvd
        | M::Invlpg
        | M::Swapgs
        | M::Sysret
        | M::Sysretq
        | M::Xsetbv
            if !cx.system =>
        {
            let z = cx.k(0);
            cx.b.raise(GENERAL_PROTECTION, cx.pc, Some(z));
            Flow::End
        }
        M::Mov
            if !cx.system
                && matches!(
                    cx.i.code(),
                    iced_x86::Code::Mov_r64_cr
                        | iced_x86::Code::Mov_cr_r64
                        | iced_x86::Code::Mov_r64_dr
                        | iced_x86::Code::Mov_dr_r64
                ) =>
        {
            let z = cx.k(0);
            cx.b.raise(GENERAL_PROTECTION, cx.pc, Some(z));
            Flow::End
        }
        // mov r/m, sreg: the selectors of a Linux x86-64 process (user CS 0x33, SS 0x2b,
        // the null selector in DS, ES, FS and GS; arch_prctl sets only the bases). A 16-bit
        // register merges, wider ones zero-extend; memory takes 16 bits.
        M::Mov
            if !cx.system
                && cx.i.op1_kind() == OpKind::Register
                && cx.i.op1_register().is_segment_register() =>
        {
            let v = cx.k(user_selector(cx.i.op1_register()));
            let bytes = match cx.i.op0_kind() {
                OpKind::Register => cx.i.op0_register().size() as u32,
                _ => 2,
            };
            let a = cx.mem_addr();
            opt(cx.write(0, a, v, bytes))
        }
        M::Int1 => {
            let z = cx.k(0);
            cx.b.raise(BREAKPOINT, cx.pc, Some(z));
            Flow::End
        }
        M::Cpuid if cx.system => {
            // The system emulator's CPU (x86sys::cpuid: APIC, XSAVE as CR4 says, TSC rate).
            let z = cx.k(0);
            cx.b.raise(GENERAL_PROTECTION, cx.pc, Some(z));
            Flow::End
        }
        M::Cpuid => {
            cx.b.call_void(&helpers::H_CPUID, &[]);
            Flow::Next
        }
        M::Rdtsc => {
            let t = cx.b.call(&helpers::H_RDTSC, &[]);
            let lo = cx.zext(t, 4);
            let hi = cx.opi(Opcode::Shr, t, 32);
            cx.b.set_reg(state::RAX, lo);
            cx.b.set_reg(state::RDX, hi);
            Flow::Next
        }
        M::Movsb
        | M::Movsw
        | M::Movsd
        | M::Movsq
        | M::Stosb
        | M::Stosw
        | M::Stosd
        | M::Stosq
        | M::Lodsb
        | M::Lodsw
        | M::Lodsd
        | M::Lodsq
        | M::Cmpsb
        | M::Cmpsw
        | M::Cmpsd
        | M::Cmpsq
        | M::Scasb
        | M::Scasw
        | M::Scasd
        | M::Scasq
            if is_string(cx) =>
        {
            string(cx, m)
        }
        _ => return None,
    })
}

fn opt(r: Option<()>) -> Flow {
    if r.is_some() {
        Flow::Next
    } else {
        Flow::Illegal
    }
}

/// The selector in segment register `r` of a Linux x86-64 process.
fn user_selector(r: iced_x86::Register) -> u64 {
    match r {
        iced_x86::Register::CS => 0x33,
        iced_x86::Register::SS => 0x2b,
        _ => 0,
    }
}

/// RFLAGS as software sees it (IF and the reserved bit 1 set).
pub(super) fn rflags(cx: &mut Cx) -> Temp {
    let f = cx.eflags();
    let df = cx.b.get_reg(Ty::I64, state::DF);
    let d = cx.opi(Opcode::Shl, df, 10);
    let f = cx.op(Opcode::Or, f, d);
    cx.opi(Opcode::Or, f, 0x202)
}

fn set_rflags(cx: &mut Cx, v: Temp) {
    let a = cx.opi(Opcode::And, v, flags::ARITH);
    cx.set_cc_eflags(a);
    let d = cx.opi(Opcode::Shr, v, 10);
    let d = cx.opi(Opcode::And, d, 1);
    cx.b.set_reg(state::DF, d);
}

pub(super) fn push(cx: &mut Cx, v: Temp, bytes: u32) {
    let sp = cx.b.get_reg(Ty::I64, state::RSP);
    let nsp = cx.opi(Opcode::Sub, sp, u64::from(bytes));
    cx.store(v, nsp, bytes);
    cx.b.set_reg(state::RSP, nsp);
}

pub(super) fn pop(cx: &mut Cx, bytes: u32) -> Temp {
    let sp = cx.b.get_reg(Ty::I64, state::RSP);
    let v = cx.load(sp, bytes);
    let nsp = cx.opi(Opcode::Add, sp, u64::from(bytes));
    cx.b.set_reg(state::RSP, nsp);
    v
}

fn push_op(cx: &mut Cx) -> Option<()> {
    let bytes = match cx.i.op0_kind() {
        OpKind::Register | OpKind::Memory => cx.opsize(0),
        _ => cx.i.stack_pointer_increment().unsigned_abs(),
    };
    if cx.i.op0_kind() == OpKind::Register && !cx.i.op0_register().is_gpr() {
        // push fs / push gs: the selector, zero-extended to the operand size.
        if cx.system || !cx.i.op0_register().is_segment_register() {
            return None;
        }
        let v = cx.k(user_selector(cx.i.op0_register()));
        let bytes = cx.i.stack_pointer_increment().unsigned_abs();
        push(cx, v, bytes);
        return Some(());
    }
    let a = cx.mem_addr();
    let v = cx.read(0, a, bytes)?;
    push(cx, v, bytes);
    Some(())
}

fn pop_op(cx: &mut Cx) -> Option<()> {
    let bytes = cx.opsize(0);
    if cx.i.op0_kind() == OpKind::Register && !cx.i.op0_register().is_gpr() {
        return None;
    }
    let v = pop(cx, bytes);
    // pop [rsp+x] computes the address after the increment.
    let a = cx.mem_addr();
    cx.write(0, a, v, bytes)
}

fn jmp(cx: &mut Cx, call: bool) -> Flow {
    let target = match cx.i.op0_kind() {
        OpKind::NearBranch64 => None,
        OpKind::Register | OpKind::Memory if cx.opsize(0) == 8 => {
            let a = cx.mem_addr();
            match cx.read(0, a, 8) {
                Some(t) => Some(t),
                None => return Flow::Illegal,
            }
        }
        _ => return Flow::Illegal,
    };
    if call {
        let ret = cx.k(cx.next_pc());
        push(cx, ret, 8);
    }
    match target {
        None => cx.goto(0, cx.i.near_branch64()),
        Some(t) => cx.b.goto_ptr(t),
    }
    Flow::End
}

fn ret(cx: &mut Cx) -> Flow {
    let t = pop(cx, 8);
    if cx.i.op_count() == 1 {
        let n = cx.i.immediate16();
        let sp = cx.b.get_reg(Ty::I64, state::RSP);
        let sp = cx.opi(Opcode::Add, sp, u64::from(n));
        cx.b.set_reg(state::RSP, sp);
    }
    cx.b.goto_ptr(t);
    Flow::End
}

fn jcc(cx: &mut Cx) -> Flow {
    let Some(cc) = super::int::cc_of(cx) else {
        return Flow::Illegal;
    };
    // The comparison feeds the branch directly (no 0/1 value in between).
    match cx.cond_parts(cc) {
        super::cc::CondParts::Cmp(c, a, b) => {
            let taken = cx.b.label();
            cx.b.branch(c, a, b, taken);
            cx.goto(1, cx.next_pc());
            cx.b.set_label(taken);
            cx.goto(0, cx.i.near_branch64());
        }
        super::cc::CondParts::Const(true) => cx.goto(0, cx.i.near_branch64()),
        super::cc::CondParts::Const(false) => cx.goto(1, cx.next_pc()),
    }
    Flow::End
}

/// Ends the unit: to the branch target if `c` is non-zero, else to the next instruction.
fn branch_on(cx: &mut Cx, c: Temp) {
    let taken = cx.b.label();
    let z = cx.k(0);
    cx.b.branch(Cond::Ne, c, z, taken);
    cx.goto(1, cx.next_pc());
    cx.b.set_label(taken);
    cx.goto(0, cx.i.near_branch64());
}

fn loops(cx: &mut Cx) -> Flow {
    let m = cx.i.mnemonic();
    let z = cx.k(0);
    let rcx = cx.b.get_reg(Ty::I64, state::RCX);
    let c = if matches!(m, M::Jrcxz | M::Jecxz) {
        let v = if m == M::Jecxz { cx.zext(rcx, 4) } else { rcx };
        cx.b.setcond(Cond::Eq, v, z)
    } else {
        // With the 0x67 prefix the count is ecx, and writing it zero-extends.
        let a32 = matches!(
            cx.i.code(),
            iced_x86::Code::Loop_rel8_64_ECX
                | iced_x86::Code::Loope_rel8_64_ECX
                | iced_x86::Code::Loopne_rel8_64_ECX
        );
        let n = cx.opi(Opcode::Sub, rcx, 1);
        let n = if a32 { cx.zext(n, 4) } else { n };
        cx.b.set_reg(state::RCX, n);
        let nz = cx.b.setcond(Cond::Ne, n, z);
        match m {
            M::Loope | M::Loopne => {
                let e = cx.cond(if m == M::Loope { 4 } else { 5 });
                cx.op(Opcode::And, nz, e)
            }
            _ => nz,
        }
    };
    branch_on(cx, c);
    Flow::End
}

/// One iteration of a string instruction; with a rep prefix the unit loops back to the same
/// instruction until rcx is 0 (or the cmps/scas condition fails), so each iteration is a unit
/// entry and signals can arrive between them.
fn string(cx: &mut Cx, m: M) -> Flow {
    let bytes = match m {
        M::Movsb | M::Stosb | M::Lodsb | M::Cmpsb | M::Scasb => 1,
        M::Movsw | M::Stosw | M::Lodsw | M::Cmpsw | M::Scasw => 2,
        M::Movsd | M::Stosd | M::Lodsd | M::Cmpsd | M::Scasd => 4,
        _ => 8,
    };
    let rep = cx.i.has_rep_prefix() || cx.i.has_repne_prefix();
    let z = cx.k(0);
    let done = cx.b.label();
    if rep {
        let rcx = cx.b.get_reg(Ty::I64, state::RCX);
        cx.b.branch(Cond::Eq, rcx, z, done);
    }
    // Step: +bytes, or -bytes when DF is set.
    let df = cx.b.get_reg(Ty::I64, state::DF);
    let pos = cx.k(u64::from(bytes));
    let neg = cx.k(u64::from(bytes).wrapping_neg());
    let step = cx.b.select(Cond::Ne, df, z, neg, pos);
    let rsi = cx.b.get_reg(Ty::I64, state::RSI);
    let rdi = cx.b.get_reg(Ty::I64, state::RDI);
    let src = if cx.i.segment_prefix() == iced_x86::Register::FS {
        let fs = cx.b.get_reg(Ty::I64, state::FS_BASE);
        cx.op(Opcode::Add, rsi, fs)
    } else {
        rsi
    };
    let acc = match bytes {
        1 => iced_x86::Register::AL,
        2 => iced_x86::Register::AX,
        4 => iced_x86::Register::EAX,
        _ => iced_x86::Register::RAX,
    };
    let mut cmp = None;
    match m {
        M::Movsb | M::Movsw | M::Movsd | M::Movsq => {
            let v = cx.load(src, bytes);
            cx.store(v, rdi, bytes);
        }
        M::Stosb | M::Stosw | M::Stosd | M::Stosq => {
            let v = cx.get_gpr(acc);
            cx.store(v, rdi, bytes);
        }
        M::Lodsb | M::Lodsw | M::Lodsd | M::Lodsq => {
            let v = cx.load(src, bytes);
            cx.set_gpr(acc, v);
        }
        M::Cmpsb | M::Cmpsw | M::Cmpsd | M::Cmpsq => {
            let a = cx.load(src, bytes);
            let b = cx.load(rdi, bytes);
            cmp = Some((a, b));
        }
        _ => {
            let a = cx.get_gpr(acc);
            let b = cx.load(rdi, bytes);
            cmp = Some((a, b));
        }
    }
    let uses_si = !matches!(m, M::Stosb | M::Stosw | M::Stosd | M::Stosq)
        && !matches!(m, M::Scasb | M::Scasw | M::Scasd | M::Scasq);
    let uses_di = !matches!(m, M::Lodsb | M::Lodsw | M::Lodsd | M::Lodsq);
    if uses_si {
        let n = cx.op(Opcode::Add, rsi, step);
        cx.b.set_reg(state::RSI, n);
    }
    if uses_di {
        let n = cx.op(Opcode::Add, rdi, step);
        cx.b.set_reg(state::RDI, n);
    }
    if let Some((a, b)) = cmp {
        let d = cx.op(Opcode::Sub, a, b);
        let d = cx.zext(d, bytes);
        cx.set_cc(flags::SUB, bytes, d, a, b);
    }
    if rep {
        let rcx = cx.b.get_reg(Ty::I64, state::RCX);
        let n = cx.opi(Opcode::Sub, rcx, 1);
        cx.b.set_reg(state::RCX, n);
        cx.b.branch(Cond::Eq, n, z, done);
        if let Some((a, b)) = cmp {
            // repe stops when unequal, repne when equal.
            let c = if cx.i.has_repe_prefix() {
                Cond::Ne
            } else {
                Cond::Eq
            };
            cx.b.branch(c, a, b, done);
        }
        cx.goto(1, cx.pc);
        cx.b.set_label(done);
    }
    cx.goto(0, cx.next_pc());
    Flow::End
}

/// Whether the instruction is the string form (movsd is also an SSE move, cmpsd a compare).
fn is_string(cx: &Cx) -> bool {
    cx.i.op_count() == 0
        || (0..cx.i.op_count()).any(|n| {
            matches!(
                cx.i.op_kind(n),
                OpKind::MemorySegRSI
                    | OpKind::MemorySegESI
                    | OpKind::MemorySegSI
                    | OpKind::MemoryESRDI
                    | OpKind::MemoryESEDI
                    | OpKind::MemoryESDI
            )
        })
}
