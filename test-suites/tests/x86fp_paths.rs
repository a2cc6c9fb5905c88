//! The x86 frontend's inline fast paths against native execution, on inputs chosen to sit on
//! both sides of each fast-path condition: SSE arithmetic, compares and conversions with
//! special operands (NaN payloads, infinities, subnormals, zeros, overflow and underflow;
//! roundsd/roundss in every immediate mode, roundpd/roundps in some),
//! under default and non-default MXCSR (PE set or clear, each rounding mode, other flags
//! accrued, DAZ and FTZ, and after an `ldmxcsr` that clears PE mid-stream); and div/idiv with quotients
//! at the overflow edge. Each case runs natively in a forked child and under xlat's JIT and
//! interpreter (`xlat_test_suites::x86gen`); registers, flags, XMMs, MXCSR and memory must
//! match. `XLAT_X86FP_CASES=N` sets the cases per template (default 300).
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use xlat_test_suites::x86gen::{
    ARITH_FLAGS, Case, SCRATCH, SCRATCH_LEN, State, diff, engine, native,
};

/// `ldmxcsr [SCRATCH]` (absolute disp32 form).
fn ldmxcsr() -> Vec<u8> {
    let mut b = vec![0x0f, 0xae, 0x14, 0x25];
    b.extend_from_slice(&(SCRATCH as u32).to_le_bytes());
    b
}

fn double(r: &mut StdRng) -> f64 {
    match r.random_range(0..16) {
        0 => 0.0,
        1 => -0.0,
        2 => f64::INFINITY,
        3 => f64::NEG_INFINITY,
        4 => f64::from_bits(0x7ff8_0000_0000_0000 | r.random_range(0..1u64 << 51)),
        5 => f64::from_bits(0x7ff0_0000_0000_0001 | r.random_range(0..1u64 << 50)),
        6 => f64::from_bits(r.random_range(1..1u64 << 52)),
        7 => f64::MIN_POSITIVE * r.random_range(0.5..2.0),
        8 => 1e300 * r.random_range(-10.0..10.0),
        9 => 1e-300 * r.random_range(-10.0..10.0),
        10 => f64::from(r.random_range(-5..6i32)),
        11 => 2f64.powi(r.random_range(-1074..1024)),
        12 => (r.random_range(-1e19..1e19f64)).trunc(),
        13 => -(2f64.powi(63)),
        _ => r.random_range(-100.0..100.0),
    }
}

fn single(r: &mut StdRng) -> f32 {
    match r.random_range(0..12) {
        0 => f32::from_bits(0x7fc0_0000 | r.random_range(0..1u32 << 22)),
        1 => f32::from_bits(0x7f80_0001 | r.random_range(0..1u32 << 21)),
        2 => f32::from_bits(r.random_range(1..1u32 << 23)),
        3 => f32::MIN_POSITIVE * r.random_range(0.5..2.0f32),
        4 => 1e38 * r.random_range(-10.0..10.0f32),
        5 => 1e-38 * r.random_range(-10.0..10.0f32),
        _ => double(r) as f32,
    }
}

fn xmm_word(r: &mut StdRng) -> u64 {
    if r.random_bool(0.5) {
        double(r).to_bits()
    } else {
        u64::from(single(r).to_bits()) | (u64::from(single(r).to_bits()) << 32)
    }
}

fn mxcsr(r: &mut StdRng) -> u32 {
    let mut m = 0x1f80;
    if r.random_bool(0.6) {
        m |= 0x20;
    }
    if r.random_bool(0.25) {
        m |= r.random_range(0..0x20u32);
    }
    if r.random_bool(0.2) {
        m |= r.random_range(1..4u32) << 13;
    }
    // DAZ, FTZ (exceptions stay masked: xlat raises no #XM).
    if r.random_bool(0.15) {
        m |= 0x40;
    }
    if r.random_bool(0.15) {
        m |= 0x8000;
    }
    m
}

fn gpr(r: &mut StdRng) -> u64 {
    match r.random_range(0..10) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => 1 << 63,
        4 => (1 << 63) - 1,
        5 => 0x8000_0000,
        6 => 0xffff_ffff,
        7 => r.random_range(0..1000),
        8 => u64::from(r.random::<u32>()),
        _ => r.random(),
    }
}

struct Template {
    name: &'static str,
    code: Vec<u8>,
    /// The flags the stream leaves undefined.
    undefined: u64,
    div: bool,
}

fn templates() -> Vec<Template> {
    let sse = |name, code: &[u8]| Template {
        name,
        code: code.to_vec(),
        undefined: 0,
        div: false,
    };
    let mut v = vec![
        sse("addsd", &[0xf2, 0x0f, 0x58, 0xc1]),
        sse("subsd", &[0xf2, 0x0f, 0x5c, 0xc1]),
        sse("mulsd", &[0xf2, 0x0f, 0x59, 0xc1]),
        sse("divsd", &[0xf2, 0x0f, 0x5e, 0xc1]),
        sse("sqrtsd", &[0xf2, 0x0f, 0x51, 0xc1]),
        sse("minsd", &[0xf2, 0x0f, 0x5d, 0xc1]),
        sse("maxsd", &[0xf2, 0x0f, 0x5f, 0xc1]),
        sse("addss", &[0xf3, 0x0f, 0x58, 0xc1]),
        sse("mulss", &[0xf3, 0x0f, 0x59, 0xc1]),
        sse("divss", &[0xf3, 0x0f, 0x5e, 0xc1]),
        sse("sqrtss", &[0xf3, 0x0f, 0x51, 0xc1]),
        sse("addpd", &[0x66, 0x0f, 0x58, 0xc1]),
        sse("mulpd", &[0x66, 0x0f, 0x59, 0xc1]),
        sse("divpd", &[0x66, 0x0f, 0x5e, 0xc1]),
        sse("subps", &[0x0f, 0x5c, 0xc1]),
        sse("mulps", &[0x0f, 0x59, 0xc1]),
        sse("sqrtps", &[0x0f, 0x51, 0xc1]),
        sse("maxps", &[0x0f, 0x5f, 0xc1]),
        sse("haddpd", &[0x66, 0x0f, 0x7c, 0xc1]),
        sse("hsubpd", &[0x66, 0x0f, 0x7d, 0xc1]),
        sse("haddps", &[0xf2, 0x0f, 0x7c, 0xc1]),
        sse("hsubps", &[0xf2, 0x0f, 0x7d, 0xc1]),
        sse("haddpd (xmm0, xmm0)", &[0x66, 0x0f, 0x7c, 0xc0]),
        sse("hsubps (xmm1, xmm1)", &[0xf2, 0x0f, 0x7d, 0xc9]),
        sse("cmpsd eq", &[0xf2, 0x0f, 0xc2, 0xc1, 0]),
        sse("cmpsd lt", &[0xf2, 0x0f, 0xc2, 0xc1, 1]),
        sse("cmpsd le", &[0xf2, 0x0f, 0xc2, 0xc1, 2]),
        sse("cmpsd unord", &[0xf2, 0x0f, 0xc2, 0xc1, 3]),
        sse("cmpss neq", &[0xf3, 0x0f, 0xc2, 0xc1, 4]),
        sse("cmpss nlt", &[0xf3, 0x0f, 0xc2, 0xc1, 5]),
        sse("cmppd nle", &[0x66, 0x0f, 0xc2, 0xc1, 6]),
        sse("cmpps ord", &[0x0f, 0xc2, 0xc1, 7]),
        sse("cmpps lt", &[0x0f, 0xc2, 0xc1, 1]),
        // movmskpd eax, xmm1 ; movmskps ebx, xmm0 ; pmovmskb ecx, xmm1
        sse(
            "movmsk",
            &[
                0x66, 0x0f, 0x50, 0xc1, 0x0f, 0x50, 0xd8, 0x66, 0x0f, 0xd7, 0xc9,
            ],
        ),
        sse("roundsd 0", &[0x66, 0x0f, 0x3a, 0x0b, 0xc1, 0]),
        sse("roundsd 1", &[0x66, 0x0f, 0x3a, 0x0b, 0xc1, 1]),
        sse("roundsd 4", &[0x66, 0x0f, 0x3a, 0x0b, 0xc1, 4]),
        sse("roundsd 9", &[0x66, 0x0f, 0x3a, 0x0b, 0xc1, 9]),
        sse("roundsd 10", &[0x66, 0x0f, 0x3a, 0x0b, 0xc1, 10]),
        sse("roundsd 11", &[0x66, 0x0f, 0x3a, 0x0b, 0xc1, 11]),
        sse("roundsd 12", &[0x66, 0x0f, 0x3a, 0x0b, 0xc1, 12]),
        sse("roundss 2", &[0x66, 0x0f, 0x3a, 0x0a, 0xc1, 2]),
        sse("roundpd 1", &[0x66, 0x0f, 0x3a, 0x09, 0xc1, 1]),
        sse("roundpd 12", &[0x66, 0x0f, 0x3a, 0x09, 0xc1, 12]),
        sse("roundpd 8 (xmm1, xmm1)", &[0x66, 0x0f, 0x3a, 0x09, 0xc9, 8]),
        sse("roundps 3", &[0x66, 0x0f, 0x3a, 0x08, 0xc1, 3]),
        sse("roundps 10", &[0x66, 0x0f, 0x3a, 0x08, 0xc1, 10]),
        sse("roundps 4 (xmm0, xmm0)", &[0x66, 0x0f, 0x3a, 0x08, 0xc0, 4]),
        sse("roundss 8", &[0x66, 0x0f, 0x3a, 0x0a, 0xc1, 8]),
        sse("roundss 13", &[0x66, 0x0f, 0x3a, 0x0a, 0xc1, 13]),
        sse("cvtss2sd", &[0xf3, 0x0f, 0x5a, 0xc1]),
        sse("cvtsd2ss", &[0xf2, 0x0f, 0x5a, 0xc1]),
        sse("cvtsi2sd r64", &[0xf2, 0x48, 0x0f, 0x2a, 0xc1]),
        sse("cvtsi2sd r32", &[0xf2, 0x0f, 0x2a, 0xc1]),
        sse("cvtsi2ss r64", &[0xf3, 0x48, 0x0f, 0x2a, 0xc1]),
        sse("cvttsd2si r64", &[0xf2, 0x48, 0x0f, 0x2c, 0xc1]),
        sse("cvttsd2si r32", &[0xf2, 0x0f, 0x2c, 0xc1]),
        sse("cvtsd2si r64", &[0xf2, 0x48, 0x0f, 0x2d, 0xc1]),
        sse("cvttss2si r32", &[0xf3, 0x0f, 0x2c, 0xc1]),
        // ucomisd / comiss, then every condition read back: setb, sete, setp, seta, setl
        sse(
            "ucomisd+setcc",
            &[
                0x66, 0x0f, 0x2e, 0xc1, 0x0f, 0x92, 0xc0, 0x0f, 0x94, 0xc3, 0x0f, 0x9a, 0xc2, 0x0f,
                0x97, 0xc6, 0x0f, 0x9c, 0xc7,
            ],
        ),
        sse(
            "comiss+setcc",
            &[
                0x0f, 0x2f, 0xc1, 0x0f, 0x92, 0xc0, 0x0f, 0x94, 0xc3, 0x0f, 0x9a, 0xc2, 0x0f, 0x96,
                0xc6,
            ],
        ),
    ];
    // An inexact op, an ldmxcsr that clears PE (and maybe sets a rounding mode), the op again.
    for (name, op) in [
        ("mulsd; ldmxcsr; mulsd", &[0xf2u8, 0x0f, 0x59, 0xc1][..]),
        ("addps; ldmxcsr; addps", &[0x0f, 0x58, 0xc1][..]),
        ("divsd; ldmxcsr; cvtsd2ss", &[0xf2, 0x0f, 0x5e, 0xc1][..]),
    ] {
        let mut code = op.to_vec();
        code.extend(ldmxcsr());
        if name.ends_with("cvtsd2ss") {
            code.extend([0xf2, 0x0f, 0x5a, 0xd0]);
        } else {
            code.extend(op);
        }
        v.push(Template {
            name,
            code,
            undefined: 0,
            div: false,
        });
    }
    let div = |name, code: &[u8]| Template {
        name,
        code: code.to_vec(),
        undefined: ARITH_FLAGS,
        div: true,
    };
    v.extend([
        div("div rcx", &[0x48, 0xf7, 0xf1]),
        div("idiv rcx", &[0x48, 0xf7, 0xf9]),
        div("div ecx", &[0xf7, 0xf1]),
        div("idiv ecx", &[0xf7, 0xf9]),
    ]);
    v
}

fn case(t: &Template, r: &mut StdRng) -> Case {
    let mut input = State {
        gpr: [0; 16],
        rflags: r.random::<u64>() & ARITH_FLAGS,
        xmm: [[0; 2]; 16],
        mxcsr: mxcsr(r),
        mem: vec![0; SCRATCH_LEN],
        signal: 0,
    };
    for g in input.gpr.iter_mut() {
        *g = gpr(r);
    }
    for x in input.xmm.iter_mut() {
        *x = [xmm_word(r), xmm_word(r)];
    }
    if r.random_bool(0.2) {
        // Integer-valued doubles for the conversions.
        input.xmm[1][0] = (r.random_range(-3e9..3e9f64)).trunc().to_bits();
    }
    // The ldmxcsr value: PE clear, maybe a rounding mode.
    let m = 0x1f80
        | if r.random_bool(0.3) {
            r.random_range(1..4u32) << 13
        } else {
            0
        };
    input.mem[..4].copy_from_slice(&m.to_le_bytes());
    if t.div {
        let (rax, rcx) = (0, 1);
        let rdx = 2;
        match r.random_range(0..4) {
            0 => input.gpr[rdx] = 0,
            1 => input.gpr[rdx] = ((input.gpr[rax] as i64) >> 63) as u64,
            2 => input.gpr[rdx] = (((input.gpr[rax] as u32 as i32) >> 31) as u32).into(),
            _ => {}
        }
        if r.random_bool(0.3) {
            input.gpr[rcx] = [1, u64::MAX, 2, 0xffff_ffff, 1 << 63, 3][r.random_range(0..6)];
        }
    }
    Case {
        code: t.code.clone(),
        input,
        undefined_flags: t.undefined,
        text: t.name.to_string(),
    }
}

#[test]
fn fast_paths_match_native() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipping: the native reference needs an x86-64 host");
        return;
    }
    let per: usize = std::env::var("XLAT_X86FP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut r = StdRng::seed_from_u64(0x5eed_f00d);
    let cases: Vec<Case> = templates()
        .iter()
        .flat_map(|t| (0..per).map(|_| case(t, &mut r)).collect::<Vec<_>>())
        .collect();
    let want = native::run(&cases).expect("native run");
    let mut failures = Vec::new();
    for jit in [true, false] {
        let got = engine::run(&cases, jit).expect("xlat run");
        for (k, c) in cases.iter().enumerate() {
            let d = diff(c, &want[k], &got[k]);
            if !d.is_empty() && failures.len() < 20 {
                failures.push(format!(
                    "case {k} {} ({}), mxcsr {:#x}, xmm0 {:x?} xmm1 {:x?}, rax {:#x} rdx {:#x} rcx {:#x}:\n  {}",
                    c.text,
                    if jit { "jit" } else { "interp" },
                    c.input.mxcsr,
                    c.input.xmm[0],
                    c.input.xmm[1],
                    c.input.gpr[0],
                    c.input.gpr[2],
                    c.input.gpr[1],
                    d.join("\n  ")
                ));
            }
        }
    }
    let faulted = want.iter().filter(|s| s.signal != 0).count();
    eprintln!(
        "x86fp paths: {} cases, {faulted} faulted natively",
        cases.len()
    );
    assert!(
        faulted * 4 < cases.len(),
        "{faulted} of {} faulted",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
