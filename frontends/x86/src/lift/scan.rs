//! The coverage scan: every encoding (iced-x86 `Code`) that decodes in 64-bit mode and whose
//! CPUID features this frontend's CPUID (user mode, XCR0 = 3) advertises must lift to
//! something other than #UD, and every other one must be #UD (but for hints that are nops
//! without their feature). Representatives are found by decoding every legacy opcode (all
//! four maps, every ModRM byte, the operand-size, REP/REPNE, address-size and REX prefixes)
//! and every VEX opcode (maps 1 to 3, W, L, pp, two vvvv values, every ModRM byte); each
//! `Code` is then lifted and run once on the reference interpreter (memory reads as zeros).

use crate::{GENERAL_PROTECTION, ILLEGAL_INSTRUCTION, X86_64, cpuid};
use iced_x86::{Code, CpuidFeature as F, Decoder, DecoderOptions, Instruction, Mnemonic as M};
use std::collections::BTreeMap;
use xlat_ir::abi::{CpuState, ExitKind, decode_exit};
use xlat_ir::interp::{self, GuestMem, MemFault};
use xlat_ir::{AtomicOp, CodeFetch, Frontend, MemOp};

struct Code15(Vec<u8>);

impl CodeFetch for Code15 {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let i = usize::try_from(pc).ok()?;
        Some(u16::from_le_bytes([*self.0.get(i)?, *self.0.get(i + 1)?]))
    }
}

/// Memory that reads as zeros and takes every store.
struct ZeroMem;

impl GuestMem for ZeroMem {
    fn load(&self, _: u64, _: MemOp) -> Result<u64, MemFault> {
        Ok(0)
    }
    fn store(&self, _: u64, _: MemOp, _: u64) -> Result<(), MemFault> {
        Ok(())
    }
    fn atomic_rmw(&self, _: u64, _: MemOp, _: AtomicOp, _: u64) -> Result<u64, MemFault> {
        Ok(0)
    }
    fn atomic_cas(&self, _: u64, _: MemOp, _: u64, _: u64) -> Result<u64, MemFault> {
        Ok(0)
    }
}

/// Whether this CPUID (user mode) advertises `f`: the bit it is reported in, read from
/// [`cpuid::cpuid_xcr0`] itself. Features of every x86-64 CPU (the 8086 to 486 sets, long
/// mode, CPUID, the multi-byte nop) count as advertised.
fn advertised(f: F) -> bool {
    let c = |leaf: u32, reg: usize, bit: u32| {
        cpuid::cpuid_xcr0(leaf, 0, cpuid::XCR0_USER)[reg] & (1 << bit) != 0
    };
    let (eax, ebx, ecx, edx) = (0, 1, 2, 3);
    match f {
        F::INTEL8086 | F::INTEL186 | F::INTEL286 | F::INTEL386 | F::INTEL486 | F::X64 => true,
        F::CPUID | F::MULTIBYTENOP => true,
        F::FPU | F::FPU287 | F::FPU387 => c(1, edx, 0),
        F::TSC => c(1, edx, 4),
        F::MSR => c(1, edx, 5),
        F::CX8 => c(1, edx, 8),
        F::SEP => c(1, edx, 11),
        F::CMOV => c(1, edx, 15),
        F::CLFSH => c(1, edx, 19),
        F::MMX => c(1, edx, 23),
        F::FXSR => c(1, edx, 24),
        F::SSE => c(1, edx, 25),
        // pause is a rep nop: every x86-64 CPU (it is SSE2's).
        F::SSE2 | F::PAUSE => c(1, edx, 26),
        F::SSE3 => c(1, ecx, 0),
        F::PCLMULQDQ => c(1, ecx, 1),
        F::MONITOR => c(1, ecx, 3),
        F::SSSE3 => c(1, ecx, 9),
        F::FMA => c(1, ecx, 12),
        F::CMPXCHG16B => c(1, ecx, 13),
        F::SSE4_1 => c(1, ecx, 19),
        F::SSE4_2 => c(1, ecx, 20),
        F::MOVBE => c(1, ecx, 22),
        F::POPCNT => c(1, ecx, 23),
        F::AES => c(1, ecx, 25),
        F::XSAVE => c(1, ecx, 26),
        F::AVX => c(1, ecx, 28),
        F::F16C => c(1, ecx, 29),
        F::RDRAND => c(1, ecx, 30),
        F::FSGSBASE => c(7, ebx, 0),
        F::BMI1 => c(7, ebx, 3),
        F::AVX2 => c(7, ebx, 5),
        F::BMI2 => c(7, ebx, 8),
        F::RDSEED => c(7, ebx, 18),
        F::ADX => c(7, ebx, 19),
        F::CLFLUSHOPT => c(7, ebx, 23),
        F::SHA => c(7, ebx, 29),
        F::RDPID => c(7, ecx, 22),
        F::XSAVEOPT => cpuid::cpuid_xcr0(0xd, 1, cpuid::XCR0_USER)[eax] & 1 != 0,
        F::XSAVEC => cpuid::cpuid_xcr0(0xd, 1, cpuid::XCR0_USER)[eax] & 2 != 0,
        F::LZCNT => c(0x8000_0001, ecx, 5),
        F::PREFETCHW => c(0x8000_0001, ecx, 8),
        F::SYSCALL => c(0x8000_0001, edx, 11),
        F::RDTSCP => c(0x8000_0001, edx, 27),
        // Everything else: not advertised by this CPUID (no bit is set for it).
        _ => false,
    }
}

/// Instructions an advertised feature covers that a user-mode guest cannot execute: they
/// must raise #GP (SIGSEGV in user mode), which [`advertised_encodings_lift`] checks.
/// Privileged (CPL 0 only) or port I/O (IOPL 0): halting, interrupt flag, descriptor tables
/// and task register, control/debug registers, invd/wbinvd/invlpg, clts, lmsw, swapgs,
/// sysret/iret-family returns to user, in/out and their string forms, and `int n` (Linux's
/// IDT has DPL 0 for all but int3 and int 0x80).
fn privileged(i: &Instruction) -> bool {
    matches!(
        i.code(),
        Code::Mov_r64_cr | Code::Mov_cr_r64 | Code::Mov_r64_dr | Code::Mov_dr_r64
    ) || matches!(
        i.mnemonic(),
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
            | M::Int
            | M::Lgdt
            | M::Lidt
            | M::Lldt
            | M::Ltr
            | M::Lmsw
            | M::Clts
            | M::Invd
            | M::Wbinvd
            | M::Invlpg
            | M::Swapgs
            | M::Sysretq
            | M::Sysret
            | M::Sysexit
            | M::Sysexitq
    )
}

/// Advertised (8086..x86-64 baseline) instructions a user-mode guest can execute natively but
/// that this frontend does not emulate: they stay #UD (SIGILL), on purpose.
/// - Segment loads and far transfers: mov sreg, pop fs/gs, lss/lfs/lgs, far call/jmp/ret,
///   iret. The guest runs in a flat model whose selectors are fixed (`ctl`'s mov r/m, sreg
///   and push fs/gs read them); loading a selector would need the host kernel's GDT (and on
///   x86-64 Linux, loading FS/GS clears their bases).
/// - Descriptor-table and control-register reads: sldt, str, sgdt, sidt, smsw, lar, lsl,
///   verr, verw. Their results are the host kernel's (real values, or the dummies of its
///   UMIP emulation; lsl of the per-CPU segment gives the CPU number).
fn not_emulated(i: &Instruction) -> bool {
    matches!(
        i.mnemonic(),
        M::Lss
            | M::Lfs
            | M::Lgs
            | M::Iret
            | M::Iretd
            | M::Iretq
            | M::Retf
            | M::Sldt
            | M::Str
            | M::Sgdt
            | M::Sidt
            | M::Smsw
            | M::Lar
            | M::Lsl
            | M::Verr
            | M::Verw
    ) || matches!(
        i.code(),
        Code::Mov_Sreg_rm16
            | Code::Mov_Sreg_r32m16
            | Code::Mov_Sreg_r64m16
            | Code::Popw_FS
            | Code::Popq_FS
            | Code::Popw_GS
            | Code::Popq_GS
            | Code::Call_m1616
            | Code::Call_m1632
            | Code::Call_m1664
            | Code::Jmp_m1616
            | Code::Jmp_m1632
            | Code::Jmp_m1664
    )
}

/// Whether `i` names an MMX register: the documented exception of [`cpuid`] (MMX is claimed
/// for glibc's baseline check, but MMX instructions, including the SSE/SSE2/SSSE3 forms on
/// MMX registers, raise #UD: nothing built for x86-64 uses them).
fn uses_mmx(i: &Instruction) -> bool {
    (0..i.op_count())
        .any(|n| i.op_kind(n) == iced_x86::OpKind::Register && i.op_register(n).is_mm())
        || i.cpuid_features().contains(&F::MMX)
}

/// One representative instruction (its bytes) for every `Code` that decodes in 64-bit mode.
fn representatives() -> BTreeMap<Code, Vec<u8>> {
    let mut out: BTreeMap<Code, Vec<u8>> = BTreeMap::new();
    let mut try_bytes = |bytes: &[u8]| {
        let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
        let i = d.decode();
        if !i.is_invalid() {
            out.entry(i.code())
                .or_insert_with(|| bytes[..i.len()].to_vec());
        }
    };
    // Legacy: prefixes, map, opcode, ModRM, then zeros (SIB [rax+rax], displacement,
    // immediates).
    let legacy: [&[u8]; 8] = [
        &[],
        &[0x66],
        &[0xf2],
        &[0xf3],
        &[0x67],
        &[0x66, 0xf2],
        &[0x66, 0xf3],
        &[0x66, 0x67],
    ];
    let rex: [&[u8]; 5] = [&[], &[0x40], &[0x48], &[0x41], &[0x49]];
    let maps: [&[u8]; 4] = [&[], &[0x0f], &[0x0f, 0x38], &[0x0f, 0x3a]];
    let mut buf = Vec::with_capacity(32);
    for p in legacy {
        for r in rex {
            for m in maps {
                for op in 0..=255u8 {
                    for modrm in 0..=255u8 {
                        buf.clear();
                        buf.extend_from_slice(p);
                        buf.extend_from_slice(r);
                        buf.extend_from_slice(m);
                        buf.push(op);
                        buf.push(modrm);
                        buf.extend_from_slice(&[0; 12]);
                        try_bytes(&buf);
                    }
                }
            }
        }
    }
    // VEX (three-byte form): R X B set (not inverted: 0xe0), the map; W, vvvv, L, pp.
    for map in 1..=3u8 {
        for w in 0..2u8 {
            for vvvv in [0xfu8, 0xe] {
                for l in 0..2u8 {
                    for pp in 0..4u8 {
                        for op in 0..=255u8 {
                            for modrm in 0..=255u8 {
                                buf.clear();
                                buf.extend_from_slice(&[
                                    0xc4,
                                    0xe0 | map,
                                    (w << 7) | (vvvv << 3) | (l << 2) | pp,
                                    op,
                                    modrm,
                                ]);
                                buf.extend_from_slice(&[0; 12]);
                                try_bytes(&buf);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Lifts `bytes` at pc 0 (one instruction) and runs it from a user-mode start state.
fn run_one(bytes: &[u8]) -> (ExitKind, u32, u64) {
    let fe = X86_64::new();
    let mut env = CpuState::new_boxed();
    fe.init_user_state(&mut env);
    let mut code = bytes.to_vec();
    code.extend_from_slice(&[0xcc; 16]);
    let unit = fe.translate(0, &Code15(code), 1);
    xlat_ir::verify(&unit).expect("valid unit");
    let e = interp::run(
        &unit,
        &interp::Prepared::new(&unit),
        &mut env,
        &ZeroMem,
        &mut Vec::new(),
    );
    let (k, c) = decode_exit(e.value);
    (k, c, env.pc)
}

#[test]
fn advertised_encodings_lift() {
    let reps = representatives();
    assert!(reps.len() > 1500, "only {} encodings found", reps.len());
    let (mut checked, mut missing, mut not_gp) = (0, Vec::new(), Vec::new());
    let mut unadvertised = Vec::new();
    for (code, bytes) in &reps {
        let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
        let i = d.decode();
        if !i.cpuid_features().iter().all(|&f| advertised(f)) || uses_mmx(&i) {
            // The other direction: what CPUID does not advertise must be #UD, but for the
            // hints that are nops on CPUs without their feature (SDM: endbr64 without CET,
            // prefetchw's 0F 0D space).
            let hint = matches!(
                i.code(),
                Code::Endbr64 | Code::Prefetchw_m8 | Code::Prefetchreserved3_m8
            );
            let (kind, exc, pc) = run_one(bytes);
            let ud = kind == ExitKind::Raise && exc == ILLEGAL_INSTRUCTION && pc == 0;
            if !hint && !ud {
                unadvertised.push(format!("{code:?} ({i}) {:?}", i.cpuid_features()));
            }
            continue;
        }
        checked += 1;
        let (kind, exc, pc) = run_one(bytes);
        let ud = kind == ExitKind::Raise && exc == ILLEGAL_INSTRUCTION && pc == 0;
        let ud_by_design = matches!(i.mnemonic(), M::Ud0 | M::Ud1 | M::Ud2);
        if privileged(&i) {
            if !(kind == ExitKind::Raise && exc == GENERAL_PROTECTION && pc == 0) {
                not_gp.push(format!("{code:?} ({i}, {bytes:02x?}): {kind:?} {exc}"));
            }
        } else if ud && !ud_by_design && !not_emulated(&i) {
            missing.push(format!("{code:?} ({i}) {:?}", i.cpuid_features()));
        }
    }
    assert!(checked > 900, "only {checked} advertised encodings");
    assert!(
        missing.is_empty() && not_gp.is_empty() && unadvertised.is_empty(),
        "{} advertised encodings lift to #UD:\n{}\nprivileged without #GP:\n{}\n\
         not advertised but lifted:\n{}",
        missing.len(),
        missing.join("\n"),
        not_gp.join("\n"),
        unadvertised.join("\n")
    );
}
