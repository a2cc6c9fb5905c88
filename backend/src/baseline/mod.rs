//! Tier 1: a template JIT from IR straight to x86-64 machine code, much cheaper to make than
//! Cranelift's code (one pass over the unit, a few bytes per op) and much faster to run than
//! the IR interpreter.
//!
//! The code does exactly what [`xlat_ir::interp::run`] does, op by op: every IR temp lives in
//! a stack slot (`[rbp + 8 * temp]`, zero at entry where it may be read before it is written,
//! as the interpreter's are), every guest register in the CPU state (`[rbx + offset]`), and
//! each op loads its sources into fixed host registers, computes and stores its result. Three
//! shortcuts keep the code small: a temp holding one constant is an immediate (of `mov`, or of
//! the ALU op, shift or compare reading it); a temp written once and read only by the next op
//! stays in `rax` (no slot store); `rax` still holding a value (the temp just stored, the guest
//! register just written or read) is not reloaded. The rare exits of the prologue (exit
//! request, a hot unit) are out of line after the body. Guest
//! memory goes through the same `GuestMem` accessors the interpreter uses (out of line; in
//! system mode after an inline TLB lookup, as compiled code does), so the two tiers agree on
//! values and faults by construction; ops without a template (floats, division, bit
//! counts...) call [`xlat_ir::interp::pure`]. A unit with an op this tier does
//! not know ([`compile`] returns `None`) stays on the interpreter.
//!
//! A unit is a function `(env in rdi) -> exit word in rax`, entered through the same
//! trampoline as compiled code, so either kind can tail-jump to the other: a `goto_tb` leaves
//! the frame and jumps to what its link slot holds (the return stub until the exec loop links
//! it to the next unit's baseline or compiled code; system mode chains only within a page);
//! other exits return to the loop, leaving `env` as the interpreter would. Each entry counts
//! the unit's runs; a chained entry into a unit that got hot goes back to the loop, which
//! compiles it with Cranelift and relinks the slot.
//!
//! Registers: `rbx` = env, `r12` = the `SlowCtx` of the accessors, `rbp` = the temp frame;
//! `rax`, `rcx`, `rdx` and the argument registers are scratch.

use crate::slow::SlowCtx;
use xlat_ir::abi::{
    CpuState, ExitKind, JMP_CACHE_ENTRIES, JMP_PAGE_BITS, JMP_PAGE_ENTRIES, TLB_ENTRIES,
    TLB_ENTRY_SHIFT, TLB_PAGE_BITS, encode_exit, off, tlb_off,
};
use xlat_ir::interp::extend;
use xlat_ir::{AtomicOp, Cond, Format, Inst, MemOp, Opcode, Temp, Ty, Unit};

/// `XLAT_NO_INLINE_TLB=1` (as for compiled code): every access out of line.
static NO_INLINE_TLB: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("XLAT_NO_INLINE_TLB").is_some());

/// `XLAT_NO_BASE_CHAIN=1`: baseline code never chains (every exit returns to the loop).
pub static NO_CHAIN: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("XLAT_NO_BASE_CHAIN").is_some());

const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;
const RBX: u8 = 3;
const RBP: u8 = 5;
const RSI: u8 = 6;
const RDI: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const R12: u8 = 12;

/// Two words returned in `rax:rdx` (SystemV).
#[repr(C)]
#[derive(Debug)]
pub struct Pair {
    val: u64,
    exit: u64,
}

/// What baseline code is compiled for.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// System mode: `CpuState::tlb` set, no direct map; chaining only within a page.
    pub softmmu: bool,
    /// The `crate::slow::SlowCtx` whose memory the accessors use.
    pub slow_ctx: u64,
    /// Two link slots for `goto_tb` 0 and 1 (0: never chain, always return to the loop).
    pub slots: u64,
    /// The unit's run counter (an `AtomicU32`) counted at each entry, or 0.
    pub runs: u64,
    /// Entries at or past this count return to the exec loop (to be compiled), with the
    /// link slot they came through kept so the loop can relink it.
    pub hot: u32,
    /// Add the unit's guest instructions to `CpuState::icount` at each run.
    pub count_insns: bool,
    /// `goto_ptr` looks the target up in the jump cache (then the TB cache) and jumps to
    /// the code found, as compiled code does; else it returns to the loop.
    pub jmp_cache: bool,
    /// User mode: loads and stores go inline to the flat guest map (a guest fault is a host
    /// fault, `crate::fault`); None: through the accessors (or the TLB with `softmmu`).
    pub direct: Option<xlat_softmmu::DirectMap>,
    /// With `direct`: `env.pc` is the instruction's at every inline access, so a fault there
    /// leaves the exact guest state (`Engine::set_precise_faults`).
    pub precise: bool,
}

/// `CpuState::last_slot` of a unit entered through the jump cache (not a link slot): a hot
/// baseline unit entered so returns to the exec loop to be compiled, as one entered through a
/// slot does, and the loop links nothing.
pub const VIA_JMP_CACHE: u64 = 1;

/// Default runs of a unit before it gets baseline code: run-once code stays interpreted.
pub const DEFAULT_TIER1_THRESHOLD: u32 = 1;

/// The runs before a unit gets baseline code, from `XLAT_TIER1` (`off` or `0`: no baseline
/// tier; a number: that many runs; unset: [`DEFAULT_TIER1_THRESHOLD`]); None without a JIT.
pub fn tier1_threshold(has_jit: bool) -> Option<u32> {
    if !has_jit || !cfg!(target_arch = "x86_64") {
        return None;
    }
    match std::env::var("XLAT_TIER1") {
        Err(_) => Some(DEFAULT_TIER1_THRESHOLD),
        Ok(v) if v == "off" || v == "0" => None,
        Ok(v) => Some(v.parse().unwrap_or(DEFAULT_TIER1_THRESHOLD)),
    }
}

/// The machine code of `unit` (position independent: only absolute addresses of functions),
/// or `None` when it uses an op this tier has no template or call for.
///
/// With `softmmu` (system mode: `CpuState::tlb` set, no direct map) little-endian loads and
/// stores first look up the inline TLB as compiled code does (`crate::softmmu`): a hit
/// accesses RAM at `addr + addend` inline, a miss goes through the accessors.
pub fn compile(unit: &Unit, p: Params) -> Option<Vec<u8>> {
    let softmmu = p.softmmu;
    let mut a = Asm {
        softmmu,
        p,
        tbase: 0,
        buf: Vec::with_capacity(unit.insts.len() * 24 + 64),
        labels: vec![usize::MAX; unit.labels as usize + 1],
        fixups: Vec::new(),
        label_pc: Vec::new(),
        dyn_pc: None,
        rax_is: None,
        konst: constants(unit),
        in_rax_only: passed_in_rax(unit),
        rax_reg: None,
        lost: false,
    };
    let out = unit.labels; // the epilogue
    let n = unit.temps.len();
    // The pc faults report is the last `insn_start` run: known at each op unless jumps join
    // paths with different ones, then kept in a frame slot after the temps.
    let frame = (n * 8 + 8).div_ceil(16) * 16;
    if frame > i32::MAX as usize / 2 {
        return None;
    }
    let frame = frame as i32;
    // rbp is a frame pointer ([rbp] the caller's, [rbp + 8] the return address into the entry
    // trampoline), as `crate::fault::leave_jit` needs; the temps sit below the saved rbx, r12.
    a.tbase = -16 - frame;
    match label_pcs(unit) {
        Some(p) => a.label_pc = p,
        None => a.dyn_pc = Some(a.tbase + (n * 8) as i32),
    }
    // Prologue: entered with rsp = 8 mod 16; three pushes make it 0, the frame keeps it so.
    a.b(0x55); // push rbp
    a.mov_rr(true, RBP, 4); // mov rbp, rsp
    a.bytes(&[0x53, 0x41, 0x54]); // push rbx; push r12
    a.mov_rr(true, RBX, RDI);
    a.mov_imm(R12, p.slow_ctx);
    a.op_imm(true, 5, 4, frame); // sub rsp, frame
    // Temps that may be read before they are written start at 0, as in the interpreter.
    let mut zero = reads_before_writes(unit);
    for (z, k) in zero.iter_mut().zip(&a.konst) {
        *z &= k.is_none();
    }
    if zero.iter().any(|&z| z) {
        a.bytes(&[0x31, 0xc0]); // xor eax, eax
        for (t, _) in zero.iter().enumerate().filter(|(_, z)| **z) {
            a.st(Temp(t as u32), RAX);
        }
    }
    // exit_request (its exit is out of line, after the body)
    a.op_mem(false, &[0x83], 7, RBX, off::EXIT_REQUEST); // cmp dword [rbx], 0
    a.b(0);
    let request = a.jcc_fwd(0x5); // jne
    let mut hot = None;
    if p.runs != 0 {
        // Count the run; a hot unit goes back to the loop, which compiles it and relinks the
        // slot that led here (`last_slot` is kept). Out of line, after the body.
        a.mov_imm(RAX, p.runs);
        a.op_mem(false, &[0x8b], RCX, RAX, 0); // mov ecx, [rax]
        a.op_rr(false, &[0xff], 0, RCX); // inc ecx
        a.op_mem(false, &[0x89], RCX, RAX, 0); // mov [rax], ecx
        a.op_rr(false, &[0x81], 7, RCX); // cmp ecx, hot
        a.d32(p.hot.min(i32::MAX as u32) as i32);
        hot = Some((a.jcc_fwd(0x3), a.buf.len())); // jae
    }
    if p.count_insns {
        a.op_mem(true, &[0x81], 0, RBX, off::ICOUNT); // add qword [icount], insns
        a.d32(unit.guest_insns.min(i32::MAX as u32) as i32);
    }

    let mut cur_pc = unit.pc;
    if a.dyn_pc.is_some() {
        a.store_dyn_pc(cur_pc);
    }
    for i in &unit.insts {
        if !a.inst(unit, i, &mut cur_pc, out) {
            return None;
        }
    }
    if a.lost {
        return None; // a temp passed in rax was not found there (a bug here: interpreted)
    }
    a.bytes(&[0x0f, 0x0b]); // ud2: the verifier keeps units from falling off their end
    a.patch(request);
    a.set_pc_imm(unit.pc);
    a.clear_slot();
    a.mov_imm(RAX, encode_exit(ExitKind::Request, 0));
    a.jmp(out);
    if let Some((j, back)) = hot {
        a.patch(j);
        // Only when chained (from the loop it runs: it may never get compiled).
        a.op_mem(true, &[0x83], 7, RBX, off::LAST_SLOT); // cmp qword [last_slot], 0
        a.b(0);
        a.bytes(&[0x0f, 0x84]); // je back
        let rel = back as i64 - (a.buf.len() as i64 + 4);
        a.d32(rel as i32);
        a.set_pc_imm(unit.pc);
        a.mov_imm(RAX, encode_exit(ExitKind::Lookup, 0));
        a.jmp(out);
    }
    a.bind(out);
    a.epilogue();
    a.b(0xc3); // ret
    for &(pos, l) in &a.fixups {
        let target = a.labels[l as usize];
        if target == usize::MAX {
            return None; // a jump to a label that is never defined
        }
        let rel = target as i64 - (pos as i64 + 4);
        a.buf[pos..pos + 4].copy_from_slice(&(rel as i32).to_le_bytes());
    }
    Some(a.buf)
}

/// The pc of the last `insn_start` on entering each label, if every path into it agrees; None
/// if some label is reached with different ones.
fn label_pcs(unit: &Unit) -> Option<Vec<Option<u64>>> {
    let mut at: Vec<Option<u64>> = vec![None; unit.labels as usize];
    let merge = |at: &mut Vec<Option<u64>>, l: u64, pc: u64| -> Option<bool> {
        let slot = at.get_mut(l as usize)?;
        match *slot {
            None => {
                *slot = Some(pc);
                Some(true)
            }
            Some(p) if p == pc => Some(false),
            Some(_) => None,
        }
    };
    loop {
        let mut changed = false;
        let mut cur = Some(unit.pc);
        for i in &unit.insts {
            match i.op {
                Opcode::InsnStart => cur = Some(i.imm),
                Opcode::Label => {
                    if let Some(c) = cur {
                        changed |= merge(&mut at, i.imm, c)?;
                    }
                    cur = *at.get(i.imm as usize)?;
                }
                Opcode::Jump | Opcode::Branch => {
                    if let Some(c) = cur {
                        changed |= merge(&mut at, i.imm, c)?;
                    }
                }
                _ => {}
            }
            if i.op.flags().terminator {
                cur = None;
            }
        }
        if !changed {
            return Some(at);
        }
    }
}

/// For each temp, its value if it is written once, by a `const` in the straight-line start of
/// the unit (before any label, jump or branch, so every path runs it) and read only after it:
/// then every read sees that value.
fn constants(unit: &Unit) -> Vec<Option<u64>> {
    let n = unit.temps.len();
    let mut k: Vec<Option<u64>> = vec![None; n];
    let mut writes = vec![0u32; n];
    let mut bad = vec![false; n]; // read before its write
    let mut straight = true;
    for i in &unit.insts {
        if matches!(i.op, Opcode::Label | Opcode::Jump | Opcode::Branch) {
            straight = false;
        }
        for t in i.src {
            if t.is_some() && writes[t.0 as usize] == 0 {
                bad[t.0 as usize] = true;
            }
        }
        if i.dst.is_some() {
            let d = i.dst.0 as usize;
            writes[d] += 1;
            if straight && i.op.format() == Format::Const && writes[d] == 1 {
                k[d] = Some(i.ty.mask(i.imm));
            }
        }
    }
    for (t, v) in k.iter_mut().enumerate() {
        if writes[t] != 1 || bad[t] {
            *v = None;
        }
    }
    k
}

/// Temps written once and read once, by the very next instruction as the first source it
/// loads (while `rax` still holds it, [`Asm::ld`]): never stored to their slot.
fn passed_in_rax(unit: &Unit) -> Vec<bool> {
    let n = unit.temps.len();
    let mut writes = vec![0u32; n];
    let mut reads = vec![0u32; n];
    for i in &unit.insts {
        for t in i.src.iter().filter(|t| t.is_some()) {
            reads[t.0 as usize] += 1;
        }
        if i.dst.is_some() {
            writes[i.dst.0 as usize] += 1;
        }
    }
    let mut out = vec![false; n];
    for w in unit.insts.windows(2) {
        let (i, next) = (&w[0], &w[1]);
        let t = i.dst;
        if !t.is_some() || writes[t.0 as usize] != 1 || reads[t.0 as usize] != 1 {
            continue;
        }
        // The formats whose template starts by loading this source.
        let first = match next.op.format() {
            Format::Store => next.src[1],
            Format::Unary
            | Format::Binary
            | Format::Convert
            | Format::Ternary
            | Format::FConvert
            | Format::FSetCond
            | Format::FRound
            | Format::SetCond
            | Format::Select
            | Format::SetReg
            | Format::Load
            | Format::AtomicRmw
            | Format::AtomicCas
            | Format::Branch
            | Format::GotoPtr
            | Format::Call => next.src[0],
            _ => continue,
        };
        // The formats whose template ends by storing the result from rax.
        let ends_in_rax = matches!(
            i.op.format(),
            Format::Unary
                | Format::Binary
                | Format::Convert
                | Format::Ternary
                | Format::FConvert
                | Format::FSetCond
                | Format::FRound
                | Format::SetCond
                | Format::Select
                | Format::GetReg
                | Format::Load
                | Format::AtomicRmw
                | Format::AtomicCas
                | Format::Call
                | Format::Const
        );
        if first == t && ends_in_rax {
            out[t.0 as usize] = true;
        }
    }
    out
}

/// Temps that some path may read before writing them (conservatively: every read not preceded
/// by a write of the same temp since the last label or the start).
fn reads_before_writes(unit: &Unit) -> Vec<bool> {
    let mut zero = vec![false; unit.temps.len()];
    let mut written = vec![0u32; unit.temps.len()]; // epoch of the last write
    let mut epoch = 1u32;
    for i in &unit.insts {
        if i.op == Opcode::Label {
            epoch += 1;
        }
        for t in i.src {
            if t.is_some() && written[t.0 as usize] != epoch {
                zero[t.0 as usize] = true;
            }
        }
        if i.dst.is_some() {
            written[i.dst.0 as usize] = epoch;
        }
    }
    zero
}

fn x86_cc(c: Cond) -> u8 {
    match c {
        Cond::Eq => 0x4,
        Cond::Ne => 0x5,
        Cond::Lt => 0xc,
        Cond::Ge => 0xd,
        Cond::Ltu => 0x2,
        Cond::Geu => 0x3,
        Cond::Le => 0xe,
        Cond::Gt => 0xf,
        Cond::Leu => 0x6,
        Cond::Gtu => 0x7,
    }
}

struct Asm {
    /// Inline TLB fast path for loads and stores.
    softmmu: bool,
    p: Params,
    /// Offset of temp 0 from `rbp`.
    tbase: i32,
    buf: Vec<u8>,
    /// Position of each label (the last one is the epilogue), `usize::MAX` until bound.
    labels: Vec<usize>,
    /// (position of a rel32, label).
    fixups: Vec<(usize, u32)>,
    /// The pc of the last `insn_start` at each label (when static).
    label_pc: Vec<Option<u64>>,
    /// The frame slot holding the pc of the last `insn_start` (when not static).
    dyn_pc: Option<i32>,
    /// `(t, pos)`: when the code reaches buffer position `pos` (nothing emitted since), `rax`
    /// holds temp `t`'s value, so loading `t` needs no memory access. Labels and patched
    /// jump targets (where other paths join) forget it.
    rax_is: Option<(Temp, usize)>,
    /// Temps that hold one constant wherever they are read ([`constants`]): never stored,
    /// loaded as immediates.
    konst: Vec<Option<u64>>,
    /// Temps never stored ([`passed_in_rax`]).
    in_rax_only: Vec<bool>,
    /// `(offset, w, pos)`: at buffer position `pos`, `rax` holds the guest register at
    /// `offset` of the state as a `w` (64-bit) or 32-bit `get_reg` would load it.
    rax_reg: Option<(u64, bool, usize)>,
    /// A temp passed in rax was read elsewhere: the code is wrong, [`compile`] gives up.
    lost: bool,
}

impl Asm {
    /// Frees the frame and restores the saved registers (the prologue's inverse).
    fn epilogue(&mut self) {
        self.bytes(&[0x48, 0x8d, 0x65, 0xf0]); // lea rsp, [rbp - 16]: the frame freed
        self.bytes(&[0x41, 0x5c, 0x5b, 0x5d]); // pop r12; pop rbx; pop rbp
    }
    fn b(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    fn d32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn rex(&mut self, w: bool, reg: u8, rm: u8) {
        let r = 0x40 | (u8::from(w) << 3) | (((reg >> 3) & 1) << 2) | ((rm >> 3) & 1);
        if r != 0x40 {
            self.b(r);
        }
    }
    /// `opc reg, [base + disp]` (base is neither rsp nor r12; disp8 when it fits).
    fn op_mem(&mut self, w: bool, opc: &[u8], reg: u8, base: u8, disp: i32) {
        self.rex(w, reg, base);
        self.bytes(opc);
        if let Ok(d8) = i8::try_from(disp) {
            self.b(0x40 | ((reg & 7) << 3) | (base & 7));
            self.b(d8 as u8);
        } else {
            self.b(0x80 | ((reg & 7) << 3) | (base & 7));
            self.d32(disp);
        }
    }
    /// `opc` with a register-direct ModRM (`reg` field, `rm` field).
    fn op_rr(&mut self, w: bool, opc: &[u8], reg: u8, rm: u8) {
        self.rex(w, reg, rm);
        self.bytes(opc);
        self.b(0xc0 | ((reg & 7) << 3) | (rm & 7));
    }
    fn mov_rr(&mut self, w: bool, dst: u8, src: u8) {
        self.op_rr(w, &[0x89], src, dst);
    }
    /// `reg = v` (flags kept: no `xor` for 0).
    fn mov_imm(&mut self, reg: u8, v: u64) {
        if let Ok(v32) = u32::try_from(v) {
            self.rex(false, 0, reg);
            self.b(0xb8 + (reg & 7));
            self.buf.extend_from_slice(&v32.to_le_bytes());
        } else if let Ok(s32) = i32::try_from(v as i64) {
            self.op_rr(true, &[0xc7], 0, reg); // mov reg, simm32
            self.d32(s32);
        } else {
            self.rex(true, 0, reg);
            self.b(0xb8 + (reg & 7));
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    fn slot(&self, t: Temp) -> i32 {
        self.tbase + (t.0 * 8) as i32
    }
    /// `reg = temp` (0 for no temp).
    fn ld(&mut self, reg: u8, t: Temp) {
        let here = self.buf.len();
        // What rax holds here, if known.
        let rax = self.rax_is.filter(|&(_, p)| p == here).map(|(t, _)| t);
        if !t.is_some() {
            self.op_rr(false, &[0x31], reg, reg); // xor reg32, reg32
            self.rax_is = if reg == RAX {
                None
            } else {
                rax.map(|r| (r, self.buf.len()))
            };
            return;
        }
        if let Some(v) = self.konst[t.0 as usize] {
            self.mov_imm(reg, v);
            self.rax_is = if reg == RAX {
                None
            } else {
                rax.map(|r| (r, self.buf.len()))
            };
            return;
        }
        if rax == Some(t) {
            if reg != RAX {
                self.mov_rr(true, reg, RAX);
                self.rax_is = Some((t, self.buf.len()));
            }
            return;
        }
        self.lost |= self.in_rax_only[t.0 as usize];
        self.op_mem(true, &[0x8b], reg, RBP, self.slot(t));
        self.rax_is = if reg == RAX {
            Some((t, self.buf.len()))
        } else {
            rax.map(|r| (r, self.buf.len()))
        };
    }
    fn st(&mut self, t: Temp, reg: u8) {
        let here = self.buf.len();
        if reg == RAX && self.in_rax_only[t.0 as usize] {
            self.rax_is = Some((t, here)); // its one reader comes next
            return;
        }
        self.op_mem(true, &[0x89], reg, RBP, self.slot(t));
        if reg == RAX {
            self.rax_is = Some((t, self.buf.len()));
            // rax still holds the register it was loaded from.
            if let Some((o, w, p)) = self.rax_reg.filter(|r| r.2 == here) {
                self.rax_reg = Some((o, w, p + self.buf.len() - here));
            }
        }
    }
    fn store_dyn_pc(&mut self, pc: u64) {
        if let Some(d) = self.dyn_pc {
            self.mov_imm(RCX, pc);
            self.op_mem(true, &[0x89], RCX, RBP, d);
        }
    }
    /// `env.pc` = the pc of the instruction running (`pc` when it is known statically).
    fn set_pc_cur(&mut self, pc: u64) {
        match self.dyn_pc {
            Some(d) => {
                self.op_mem(true, &[0x8b], RCX, RBP, d);
                self.op_mem(true, &[0x89], RCX, RBX, off::PC);
            }
            None => self.set_pc_imm(pc),
        }
    }
    fn set_pc_imm(&mut self, pc: u64) {
        self.mov_imm(RCX, pc);
        self.op_mem(true, &[0x89], RCX, RBX, off::PC);
    }
    fn clear_slot(&mut self) {
        self.op_mem(true, &[0xc7], 0, RBX, off::LAST_SLOT);
        self.d32(0);
    }
    fn call(&mut self, f: u64) {
        self.mov_imm(RAX, f);
        self.op_rr(false, &[0xff], 2, RAX); // call rax
    }
    fn bind(&mut self, l: u32) {
        self.labels[l as usize] = self.buf.len();
        self.rax_is = None;
        self.rax_reg = None;
    }
    fn jmp(&mut self, l: u32) {
        self.b(0xe9);
        self.fixups.push((self.buf.len(), l));
        self.d32(0);
    }
    fn jcc(&mut self, cc: u8, l: u32) {
        self.bytes(&[0x0f, 0x80 | cc]);
        self.fixups.push((self.buf.len(), l));
        self.d32(0);
    }
    /// A forward `jcc rel32` to patch with [`Asm::patch`].
    fn jcc_fwd(&mut self, cc: u8) -> usize {
        self.bytes(&[0x0f, 0x80 | cc]);
        let p = self.buf.len();
        self.d32(0);
        p
    }
    fn patch(&mut self, p: usize) {
        let rel = (self.buf.len() - (p + 4)) as i32;
        self.buf[p..p + 4].copy_from_slice(&rel.to_le_bytes());
        self.rax_is = None;
        self.rax_reg = None;
    }
    /// `cmp a, b` of type `ty` (`a` in rax after it; `b` in rcx unless an immediate).
    fn cmp(&mut self, ty: Ty, a: Temp, b: Temp) {
        let w = ty == Ty::I64;
        self.ld(RAX, a);
        match self.simm(b, w) {
            Some(0) => self.op_rr(w, &[0x85], RAX, RAX), // test rax, rax: the flags of cmp 0
            Some(v) => self.op_imm(w, 7, RAX, v),        // cmp rax, imm
            None => {
                self.ld(RCX, b);
                self.op_rr(w, &[0x39], RCX, RAX);
            }
        }
    }
    /// The constant `t` holds everywhere ([`constants`]), if any.
    fn konst_of(&self, t: Temp) -> Option<u64> {
        if t.is_some() {
            self.konst[t.0 as usize]
        } else {
            None
        }
    }
    /// `t`'s constant as the immediate of an op of width `w` (sign-extended to 64 bits for
    /// `w`; any 32-bit value for a 32-bit op), if it has one that fits.
    fn simm(&self, t: Temp, w: bool) -> Option<i32> {
        let v = self.konst_of(t)?;
        if w {
            i32::try_from(v as i64).ok()
        } else {
            Some(v as u32 as i32)
        }
    }
    /// Group-1 `op reg, imm` (`ext`: 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp), imm8 when it
    /// fits.
    fn op_imm(&mut self, w: bool, ext: u8, reg: u8, v: i32) {
        if let Ok(v8) = i8::try_from(v) {
            self.op_rr(w, &[0x83], ext, reg);
            self.b(v8 as u8);
        } else {
            self.op_rr(w, &[0x81], ext, reg);
            self.d32(v);
        }
    }
    /// After a call returning [`Pair`]: leave with `rdx` unless it is 0 (the callee set
    /// `exc_arg` and `last_slot`; the pc is the instruction's).
    fn leave_on_rdx(&mut self, pc: u64, out: u32) {
        self.op_rr(true, &[0x85], RDX, RDX);
        let j = self.jcc_fwd(0x4);
        self.mov_rr(true, RAX, RDX);
        self.set_pc_cur(pc);
        self.jmp(out);
        self.patch(j);
    }

    /// Emits one instruction; false if it has no template.
    fn inst(&mut self, unit: &Unit, i: &Inst, cur_pc: &mut u64, out: u32) -> bool {
        let w = i.ty == Ty::I64;
        let s = i.src;
        match i.op.format() {
            Format::Const if self.konst[i.dst.0 as usize].is_some() => {} // an immediate
            Format::Const => {
                self.mov_imm(RAX, i.ty.mask(i.imm));
                self.st(i.dst, RAX);
            }
            Format::Unary
            | Format::Binary
            | Format::Convert
            | Format::Ternary
            | Format::FConvert
            | Format::FSetCond
            | Format::FRound
            | Format::SetCond => self.pure(unit, i),
            Format::Select => {
                let c = Cond::from_u32(i.aux).unwrap_or(Cond::Eq);
                self.cmp(unit.ty(s[0]), s[0], s[1]);
                self.ld(RAX, s[3]);
                self.ld(RDX, s[2]);
                self.op_rr(true, &[0x0f, 0x40 | x86_cc(c)], RAX, RDX); // cmovcc rax, rdx
                self.st(i.dst, RAX);
            }
            Format::GetReg => {
                let here = self.buf.len();
                if self.rax_reg != Some((i.imm, w, here)) {
                    self.op_mem(w, &[0x8b], RAX, RBX, i.imm as i32);
                }
                self.rax_reg = Some((i.imm, w, self.buf.len()));
                self.st(i.dst, RAX);
            }
            Format::SetReg => {
                self.ld(RAX, s[0]);
                self.op_mem(w, &[0x89], RAX, RBX, i.imm as i32);
                // rax holds what was stored (a 32-bit temp is kept zero-extended).
                self.rax_reg = Some((i.imm, w, self.buf.len()));
                if s[0].is_some() && self.konst[s[0].0 as usize].is_none() {
                    self.rax_is = Some((s[0], self.buf.len()));
                }
            }
            Format::Load => {
                self.ld(RDX, s[0]);
                self.add_imm_rdx(i.imm);
                let fast = self.direct_fast(i, false, *cur_pc);
                let fast = fast.or_else(|| self.tlb_fast(i, false));
                self.mov_imm(RCX, desc(i.aux, i.ty));
                self.args_env_mem();
                self.call(bl_load as *const () as u64);
                self.leave_on_rdx(*cur_pc, out);
                if let Some(j) = fast {
                    self.patch(j);
                }
                self.st(i.dst, RAX);
            }
            Format::Store => {
                self.ld(RDX, s[1]);
                self.add_imm_rdx(i.imm);
                self.ld(R8, s[0]);
                let fast = self.direct_fast(i, true, *cur_pc);
                let fast = fast.or_else(|| self.tlb_fast(i, true));
                self.mov_imm(RCX, desc(i.aux, i.ty));
                self.args_env_mem();
                self.call(bl_store as *const () as u64);
                self.mov_rr(true, RDX, RAX);
                self.leave_on_rdx(*cur_pc, out);
                if let Some(j) = fast {
                    self.patch(j);
                }
            }
            Format::AtomicRmw => {
                self.ld(RDX, s[0]);
                self.mov_imm(RCX, desc(i.aux, i.ty));
                self.ld(R8, s[1]);
                self.args_env_mem();
                self.call(bl_rmw as *const () as u64);
                self.leave_on_rdx(*cur_pc, out);
                self.st(i.dst, RAX);
            }
            Format::AtomicCas => {
                self.ld(RDX, s[0]);
                self.mov_imm(RCX, desc(i.aux, i.ty));
                self.ld(R8, s[1]);
                self.ld(R9, s[2]);
                self.args_env_mem();
                self.call(bl_cas as *const () as u64);
                self.leave_on_rdx(*cur_pc, out);
                self.st(i.dst, RAX);
            }
            Format::Fence => self.bytes(&[0x0f, 0xae, 0xf0]), // mfence
            Format::Label | Format::Jump | Format::Branch if i.imm >= u64::from(out) => {
                return false;
            }
            Format::Label => {
                self.bind(i.imm as u32);
                if let Some(Some(pc)) = self.label_pc.get(i.imm as usize) {
                    *cur_pc = *pc;
                }
            }
            Format::Jump => self.jmp(i.imm as u32),
            Format::Branch => {
                let c = Cond::from_u32(i.aux).unwrap_or(Cond::Eq);
                self.cmp(i.ty, s[0], s[1]);
                self.jcc(x86_cc(c), i.imm as u32);
            }
            Format::InsnStart => {
                *cur_pc = i.imm;
                self.store_dyn_pc(i.imm);
            }
            Format::Call => {
                let Some(h) = unit.helpers.get(i.aux as usize) else {
                    return false;
                };
                self.ld(RSI, s[0]);
                self.ld(RDX, s[1]);
                self.ld(RCX, s[2]);
                self.ld(R8, s[3]);
                self.mov_rr(true, RDI, RBX);
                self.call(h.func as *const () as u64);
                if h.flags.may_raise {
                    self.op_mem(false, &[0x8b], RCX, RBX, off::EXC_PENDING); // mov ecx, [exc_pending]
                    self.op_rr(false, &[0x85], RCX, RCX);
                    let j = self.jcc_fwd(0x4);
                    self.op_mem(false, &[0xc7], 0, RBX, off::EXC_PENDING); // exc_pending = 0
                    self.d32(0);
                    self.op_rr(false, &[0xff], 1, RCX); // dec ecx
                    self.op_rr(true, &[0xc1], 4, RCX); // shl rcx, 8
                    self.b(8);
                    self.op_rr(true, &[0x83], 1, RCX); // or rcx, Raise
                    self.b(ExitKind::Raise as u8);
                    self.mov_rr(true, RAX, RCX);
                    self.set_pc_cur(*cur_pc);
                    self.clear_slot();
                    self.jmp(out);
                    self.patch(j);
                }
                if i.dst.is_some() {
                    if !w {
                        self.mov_rr(false, RAX, RAX); // mask to 32 bits
                    }
                    self.st(i.dst, RAX);
                }
            }
            Format::GotoTb
                if self.p.slots != 0
                    && (!self.softmmu || (unit.pc ^ i.imm) >> TLB_PAGE_BITS == 0) =>
            {
                // Chained: leave the frame and jump to what the slot holds (the return stub
                // until the loop links it), as a tail call with `env` in rdi.
                self.set_pc_imm(i.imm);
                self.mov_imm(RAX, self.p.slots + 8 * u64::from(i.aux & 1));
                self.op_mem(true, &[0x89], RAX, RBX, off::LAST_SLOT);
                self.op_mem(true, &[0x8b], RAX, RAX, 0); // mov rax, [rax]
                self.mov_rr(true, RDI, RBX);
                self.epilogue();
                self.op_rr(false, &[0xff], 4, RAX); // jmp rax
            }
            Format::GotoTb | Format::Exit => {
                self.set_pc_imm(i.imm);
                self.clear_slot();
                let v = if i.op == Opcode::Exit {
                    encode_exit(ExitKind::Exit, i.aux)
                } else {
                    encode_exit(ExitKind::Lookup, 0)
                };
                self.mov_imm(RAX, v);
                self.jmp(out);
            }
            Format::GotoPtr => {
                self.ld(RAX, s[0]);
                self.op_mem(true, &[0x89], RAX, RBX, off::PC);
                if self.p.jmp_cache {
                    self.goto_ptr_chained();
                }
                self.clear_slot();
                self.mov_imm(RAX, encode_exit(ExitKind::Lookup, 0));
                self.jmp(out);
            }
            Format::Raise => {
                self.set_pc_imm(i.imm);
                self.ld(RAX, s[0]);
                self.op_mem(true, &[0x89], RAX, RBX, off::EXC_ARG);
                self.clear_slot();
                self.mov_imm(RAX, encode_exit(ExitKind::Raise, i.aux));
                self.jmp(out);
            }
            #[allow(unreachable_patterns, reason = "formats added later fall back")]
            _ => return false,
        }
        true
    }

    /// User mode: the inline access at `base + addr` of a little-endian load (result
    /// in `rax`) or store (value in `r8`) at the address in `rdx`, as compiled code does it
    /// (`lower::mem`): a guest fault is a host fault there, which `crate::fault::leave_jit`
    /// turns into the unit's `Raise` exit (with `precise`, `env.pc` is the instruction's;
    /// the guest registers always are exact, they live in the state). A misaligned access
    /// that requires alignment goes out of line, as every access without a fast path. Returns
    /// the position of the jump over the out-of-line path that follows (which must keep
    /// `rdx` and `r8`).
    fn direct_fast(&mut self, i: &Inst, write: bool, pc: u64) -> Option<usize> {
        let m = MemOp::from_u32(i.aux & 0xffff);
        let d = self.p.direct?;
        if self.softmmu || m.big_endian {
            return None;
        }
        if self.p.precise {
            self.set_pc_cur(pc);
        }
        let mut mis = None;
        if m.aligned && m.bytes() > 1 {
            self.op_rr(false, &[0xf7], 0, RDX); // test edx, bytes - 1
            self.d32(m.bytes() as i32 - 1);
            mis = Some(self.jcc_fwd(0x5)); // jnz: out of line
        }
        self.mov_rr(true, RCX, RDX);
        let mut outside = None;
        if let Some(bits) = d.window_bits() {
            // An address beyond the map goes out of line, where the accessor faults at the
            // guest's own address (an x86-64 non-canonical one is a #GP there), instead of
            // reaching an alias of it below the mask.
            self.op_rr(true, &[0xc1], 5, RCX); // shr rcx, map bits
            self.b(bits as u8);
            outside = Some(self.jcc_fwd(0x5)); // jnz: out of line
            self.mov_rr(true, RCX, RDX);
        } else if d.mask != u64::MAX {
            self.mov_imm(RAX, d.mask);
            self.op_rr(true, &[0x21], RAX, RCX); // and rcx, rax
        }
        if d.base != 0 {
            self.mov_imm(RAX, d.base);
            self.op_rr(true, &[0x01], RAX, RCX); // add rcx, rax
        }
        self.host_access(i, m, write);
        let jmp_done = self.buf.len();
        self.b(0xe9); // jmp over the out-of-line path
        let done = self.buf.len();
        self.d32(0);
        let windows = d.high.iter().filter(|w| w.tag != 0 && w.tag < 1 << 31);
        for (k, w) in windows.enumerate() {
            // A high window: `addr >> bits == tag` is at host `addr + delta`, inline.
            let Some(o) = outside else { break };
            self.patch(o);
            if k == 0 {
                self.mov_rr(true, RCX, RDX);
                self.op_rr(true, &[0xc1], 5, RCX); // shr rcx, map bits
                self.b(d.mask.count_ones() as u8);
            }
            self.op_rr(true, &[0x81], 7, RCX); // cmp rcx, tag (rcx kept for the next)
            self.d32(w.tag as i32);
            let other = self.jcc_fwd(0x5); // jne: the next window, or out of line
            self.mov_imm(RAX, w.delta);
            self.mov_rr(true, RCX, RDX);
            self.op_rr(true, &[0x01], RAX, RCX); // add rcx, rax
            self.host_access(i, m, write);
            self.b(0xe9); // jmp to the inline path's jump over the out-of-line path
            let rel = jmp_done as i64 - (self.buf.len() as i64 + 4);
            self.d32(rel as i32);
            outside = Some(other);
        }
        for j in [mis, outside].into_iter().flatten() {
            self.patch(j);
        }
        Some(done)
    }

    /// The access itself at host address `rcx`: a load into `rax` (extended as the
    /// interpreter does) or a store of `r8`.
    fn host_access(&mut self, i: &Inst, m: MemOp, write: bool) {
        if write {
            // mov [rcx], r8 (b/w/d/q)
            match m.size_log2 {
                0 => self.bytes(&[0x44, 0x88, 0x01]),
                1 => self.bytes(&[0x66, 0x44, 0x89, 0x01]),
                2 => self.bytes(&[0x44, 0x89, 0x01]),
                _ => self.bytes(&[0x4c, 0x89, 0x01]),
            }
        } else {
            match (m.size_log2, m.signed) {
                (0, false) => self.bytes(&[0x0f, 0xb6, 0x01]), // movzx eax, byte [rcx]
                (1, false) => self.bytes(&[0x0f, 0xb7, 0x01]), // movzx eax, word [rcx]
                (2, false) => self.bytes(&[0x8b, 0x01]),       // mov eax, [rcx]
                (0, true) => self.bytes(&[0x48, 0x0f, 0xbe, 0x01]), // movsx rax, byte [rcx]
                (1, true) => self.bytes(&[0x48, 0x0f, 0xbf, 0x01]), // movsx rax, word [rcx]
                (2, true) => self.bytes(&[0x48, 0x63, 0x01]),  // movsxd rax, [rcx]
                _ => self.bytes(&[0x48, 0x8b, 0x01]),          // mov rax, [rcx]
            }
            if i.ty == Ty::I32 && (m.signed || m.size_log2 == 3) {
                self.mov_rr(false, RAX, RAX); // mask to 32 bits
            }
        }
    }

    /// The inline TLB hit path of a load (result in `rax`) or store (value in `r8`) at the
    /// address in `rdx`: returns the position of its jump over the miss path that follows
    /// (which must keep `rdx` and `r8`), or None when the access has no fast path.
    fn tlb_fast(&mut self, i: &Inst, write: bool) -> Option<usize> {
        let m = MemOp::from_u32(i.aux & 0xffff);
        if !self.softmmu || m.big_endian || *NO_INLINE_TLB {
            return None;
        }
        self.op_mem(true, &[0x8b], RAX, RBX, off::TLB); // mov rax, [env.tlb]
        self.mov_rr(true, RCX, RDX);
        self.op_rr(true, &[0xc1], 5, RCX); // shr rcx, page bits
        self.b(TLB_PAGE_BITS as u8);
        self.op_rr(false, &[0x81], 4, RCX); // and ecx, entries - 1
        self.d32((TLB_ENTRIES - 1) as i32);
        self.op_rr(false, &[0xc1], 4, RCX); // shl ecx, entry shift
        self.b(TLB_ENTRY_SHIFT as u8);
        self.op_rr(true, &[0x01], RCX, RAX); // rax = the entry
        self.mov_rr(true, RCX, RDX);
        let keep = !((1i64 << TLB_PAGE_BITS) - 1) | (i64::from(m.bytes()) - 1);
        self.op_rr(true, &[0x81], 4, RCX); // and rcx, keep (sign-extended)
        self.d32(keep as i32);
        let tag = if write { tlb_off::WRITE } else { tlb_off::READ };
        self.op_mem(true, &[0x3b], RCX, RAX, tag); // cmp rcx, [entry.tag]
        let miss = self.jcc_fwd(0x5);
        self.op_mem(true, &[0x8b], RCX, RAX, tlb_off::ADDEND);
        self.op_rr(true, &[0x01], RDX, RCX); // rcx = host address
        self.host_access(i, m, write);
        self.b(0xe9); // jmp over the miss path
        let done = self.buf.len();
        self.d32(0);
        self.patch(miss);
        Some(done)
    }

    /// `goto_ptr` to the pc in `rax` (already in `env.pc`): the inline jump-cache lookup
    /// compiled code does (`lower::exits`, [`xlat_ir::abi::jmp_cache_index`]), then on a miss
    /// the TB-cache probe (`crate::slow::lookup_code`); either hit leaves the frame and jumps
    /// to the code found with `last_slot` = [`VIA_JMP_CACHE`]. Falls through on a miss of both.
    fn goto_ptr_chained(&mut self) {
        const { assert!(std::mem::size_of::<xlat_ir::abi::JmpCacheEntry>() == 16) };
        let pb = JMP_PAGE_BITS as u8;
        let windows = (JMP_CACHE_ENTRIES / JMP_PAGE_ENTRIES) as i32;
        // rcx = a = pc ^ pc >> 6; rdx = window byte offset; rcx = slot byte offset
        self.mov_rr(true, RCX, RAX);
        self.op_rr(true, &[0xc1], 5, RCX); // shr rcx, pb
        self.b(pb);
        self.op_rr(true, &[0x31], RAX, RCX); // xor rcx, rax
        self.mov_rr(true, RDX, RCX);
        self.op_rr(true, &[0xc1], 5, RDX); // shr rdx, 12 - pb - 4
        self.b(12 - pb - 4);
        self.op_rr(false, &[0x81], 4, RDX); // and edx, (windows - 1) << (pb + 4)
        self.d32((windows - 1) << (pb + 4));
        self.op_rr(false, &[0xc1], 4, RCX); // shl ecx, 3
        self.b(3);
        self.op_rr(false, &[0x81], 4, RCX); // and ecx, (entries per page - 1) << 4
        self.d32((JMP_PAGE_ENTRIES as i32 - 1) << 4);
        self.op_rr(false, &[0x09], RDX, RCX); // or ecx, edx
        self.op_rr(true, &[0x01], RBX, RCX); // add rcx, rbx
        self.op_mem(true, &[0x3b], RAX, RCX, off::JMP_CACHE); // cmp rax, [rcx + pc]
        let miss = self.jcc_fwd(0x5); // jne
        self.op_mem(true, &[0x8b], RAX, RCX, off::JMP_CACHE + 8); // mov rax, [rcx + code]
        self.op_rr(true, &[0x85], RAX, RAX); // test rax, rax
        let miss2 = self.jcc_fwd(0x4); // jz
        let go = self.buf.len();
        self.op_mem(true, &[0xc7], 0, RBX, off::LAST_SLOT); // last_slot = VIA_JMP_CACHE
        self.d32(VIA_JMP_CACHE as i32);
        self.mov_rr(true, RDI, RBX);
        self.epilogue();
        self.op_rr(false, &[0xff], 4, RAX); // jmp rax
        self.patch(miss);
        self.patch(miss2);
        self.args_env_mem();
        self.call(crate::slow::lookup_code as *const () as u64);
        self.op_rr(true, &[0x85], RAX, RAX); // test rax, rax
        self.bytes(&[0x0f, 0x85]); // jnz go
        let rel = go as i64 - (self.buf.len() as i64 + 4);
        self.d32(rel as i32);
    }

    fn args_env_mem(&mut self) {
        self.mov_rr(true, RDI, RBX);
        self.mov_rr(true, RSI, R12);
    }

    fn add_imm_rdx(&mut self, imm: u64) {
        if let Ok(v) = i32::try_from(imm as i64) {
            if v != 0 {
                self.op_imm(true, 0, RDX, v); // add rdx, imm
            }
        } else {
            self.mov_imm(RAX, imm);
            self.op_rr(true, &[0x01], RAX, RDX); // add rdx, rax
        }
    }

    /// A computing op: a template for the common ones, else a call to the interpreter's
    /// definition.
    fn pure(&mut self, unit: &Unit, i: &Inst) {
        use Opcode::*;
        let w = i.ty == Ty::I64;
        let s = i.src;
        let alu = |a: &mut Asm, opc: u8| {
            a.ld(RAX, s[0]);
            match a.simm(s[1], w) {
                Some(v) => a.op_imm(w, opc >> 3, RAX, v), // op rax, imm
                None => {
                    a.ld(RCX, s[1]);
                    a.op_rr(w, &[opc], RCX, RAX); // op rax, rcx
                }
            }
        };
        let shift = |a: &mut Asm, ext: u8| {
            a.ld(RAX, s[0]);
            match a.konst_of(s[1]) {
                Some(v) => {
                    // The count is masked as for cl.
                    a.op_rr(w, &[0xc1], ext, RAX); // op rax, imm8
                    a.b(v as u8);
                }
                None => {
                    a.ld(RCX, s[1]);
                    a.op_rr(w, &[0xd3], ext, RAX); // op rax, cl
                }
            }
        };
        let cmov = |a: &mut Asm, cc: u8| {
            a.ld(RAX, s[0]);
            a.ld(RCX, s[1]);
            a.op_rr(w, &[0x39], RCX, RAX);
            a.op_rr(w, &[0x0f, 0x40 | cc], RAX, RCX); // cmovcc rax, rcx
        };
        let unary = |a: &mut Asm, opc: &[u8], ext: u8, w: bool| {
            a.ld(RAX, s[0]);
            a.op_rr(w, opc, ext, RAX);
        };
        match i.op {
            Mov => self.ld(RAX, s[0]),
            Add => alu(self, 0x01),
            Sub => alu(self, 0x29),
            And => alu(self, 0x21),
            Or => alu(self, 0x09),
            Xor => alu(self, 0x31),
            AndN | OrN => {
                self.ld(RAX, s[0]);
                self.ld(RCX, s[1]);
                self.op_rr(w, &[0xf7], 2, RCX); // not rcx
                let opc = if i.op == AndN { 0x21 } else { 0x09 };
                self.op_rr(w, &[opc], RCX, RAX);
            }
            XorN => {
                alu(self, 0x31);
                self.op_rr(w, &[0xf7], 2, RAX);
            }
            Mul => {
                self.ld(RAX, s[0]);
                self.ld(RCX, s[1]);
                self.op_rr(w, &[0x0f, 0xaf], RAX, RCX); // imul rax, rcx
            }
            MulHu | MulHs => {
                self.ld(RAX, s[0]);
                self.ld(RCX, s[1]);
                let ext = if i.op == MulHu { 4 } else { 5 };
                self.op_rr(w, &[0xf7], ext, RCX); // (i)mul rcx: rdx:rax
                self.mov_rr(w, RAX, RDX);
            }
            Shl => shift(self, 4),
            Shr => shift(self, 5),
            Sar => shift(self, 7),
            Rotl => shift(self, 0),
            Rotr => shift(self, 1),
            MinS => cmov(self, 0xf),
            MaxS => cmov(self, 0xc),
            MinU => cmov(self, 0x7),
            MaxU => cmov(self, 0x2),
            Neg => unary(self, &[0xf7], 3, w),
            Not => unary(self, &[0xf7], 2, w),
            Bswap => {
                self.ld(RAX, s[0]);
                self.rex(w, 0, RAX);
                self.bytes(&[0x0f, 0xc8]);
            }
            Sext8 => unary(self, &[0x0f, 0xbe], RAX, w),
            Sext16 => unary(self, &[0x0f, 0xbf], RAX, w),
            Sext32 | ExtS => unary(self, &[0x63], RAX, true),
            Zext8 => unary(self, &[0x0f, 0xb6], RAX, false),
            Zext16 => unary(self, &[0x0f, 0xb7], RAX, false),
            Zext32 | ExtU | Trunc => unary(self, &[0x89], RAX, false),
            SetCond => {
                let c = Cond::from_u32(i.aux).unwrap_or(Cond::Eq);
                self.cmp(unit.ty(s[0]), s[0], s[1]);
                self.op_rr(false, &[0x0f, 0x90 | x86_cc(c)], 0, RAX); // setcc al
                self.op_rr(false, &[0x0f, 0xb6], RAX, RAX); // movzx eax, al
            }
            _ => {
                let src_ty = if s[0].is_some() { unit.ty(s[0]) } else { i.ty };
                let d = (i.op as u64)
                    | (u64::from(w) << 16)
                    | (u64::from(src_ty == Ty::I64) << 17)
                    | (u64::from(i.aux) << 32);
                self.ld(RDI, s[0]);
                self.ld(RSI, s[1]);
                self.ld(RDX, s[2]);
                self.mov_imm(RCX, d);
                self.call(bl_pure as *const () as u64);
            }
        }
        if !w && matches!(i.op, ExtS | Sext32) {
            self.mov_rr(false, RAX, RAX); // only i64 has these; keep a bad unit masked anyway
        }
        self.st(i.dst, RAX);
    }
}

/// A memory access's operand for the shims: `aux` and the temp type.
fn desc(aux: u32, ty: Ty) -> u64 {
    u64::from(aux) | (u64::from(ty == Ty::I64) << 32)
}

fn undesc(d: u64) -> (u32, Ty) {
    let ty = if d & (1 << 32) != 0 { Ty::I64 } else { Ty::I32 };
    (d as u32, ty)
}

fn fault(env: &mut CpuState, f: xlat_ir::interp::MemFault) -> Pair {
    env.exc_arg = f.addr;
    env.last_slot = 0;
    Pair {
        val: 0,
        exit: encode_exit(ExitKind::Raise, f.code),
    }
}

extern "C" fn bl_pure(a: u64, b: u64, c: u64, d: u64) -> u64 {
    let op = Opcode::ALL[(d & 0xffff) as usize];
    let ty = if d & (1 << 16) != 0 { Ty::I64 } else { Ty::I32 };
    let src_ty = if d & (1 << 17) != 0 { Ty::I64 } else { Ty::I32 };
    xlat_ir::interp::pure(op, ty, src_ty, (d >> 32) as u32, a, b, c)
}

extern "C" fn bl_load(env: &mut CpuState, ctx: &SlowCtx, addr: u64, d: u64) -> Pair {
    let (aux, ty) = undesc(d);
    let m = MemOp::from_u32(aux);
    match ctx.mem.load(addr, m) {
        Ok(v) => Pair {
            val: extend(v, m, ty),
            exit: 0,
        },
        Err(f) => fault(env, f),
    }
}

extern "C" fn bl_store(env: &mut CpuState, ctx: &SlowCtx, addr: u64, d: u64, v: u64) -> u64 {
    let (aux, _) = undesc(d);
    match ctx.mem.store(addr, MemOp::from_u32(aux), v) {
        Ok(()) => 0,
        Err(f) => fault(env, f).exit,
    }
}

extern "C" fn bl_rmw(env: &mut CpuState, ctx: &SlowCtx, addr: u64, d: u64, v: u64) -> Pair {
    let (aux, ty) = undesc(d);
    let m = MemOp::from_u32(aux & 0xffff);
    let op = AtomicOp::from_u32(aux >> 16).unwrap_or(AtomicOp::Xchg);
    match ctx.mem.atomic_rmw(addr, m, op, ty.mask(v)) {
        Ok(v) => Pair {
            val: ty.mask(v),
            exit: 0,
        },
        Err(f) => fault(env, f),
    }
}

extern "C" fn bl_cas(
    env: &mut CpuState,
    ctx: &SlowCtx,
    addr: u64,
    d: u64,
    expected: u64,
    new: u64,
) -> Pair {
    let (aux, ty) = undesc(d);
    match ctx
        .mem
        .atomic_cas(addr, MemOp::from_u32(aux), ty.mask(expected), ty.mask(new))
    {
        Ok(v) => Pair {
            val: ty.mask(v),
            exit: 0,
        },
        Err(f) => fault(env, f),
    }
}
