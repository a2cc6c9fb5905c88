//! Differential test against native execution on this host (see `xlat_test_suites::x86gen`)
//! for the instructions CPUID advertises one by one: cmpxchg8b and cmpxchg16b (CX16, with and
//! without lock, aligned and misaligned: #GP), movbe (MOVBE), adcx and adox (ADX) in chains
//! mixed with ordinary flag writers. Memory often holds the expected value, so both outcomes
//! of the compare-and-swaps run. And x87 tags: fxam and ftst on empty registers, the tag
//! word of fnstenv, fnsave/frstor and fxsave/fxrstor after loads, ffree, fincstp, fdecstp.
//! And xsave/xrstor/xgetbv (standard form, x87 and SSE components). And x87 stack underflow
//! (every stack-reading instruction, IE masked and unmasked: SIGFPE at the next waiting
//! instruction), and the transcendentals (ulps against the host FPU, agreement rates printed).
//! `XLAT_X86ISA_CASES=N` sets the number of cases (default 3,000; a third of that for x87
//! tags and BCD, half for underflow, all for the transcendentals, a thirtieth for xsave:
//! about 0.1 s a case),
//! `XLAT_SEED=S` the seed.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use xlat_test_suites::x86gen::{
    ARITH_FLAGS, Case, SCRATCH, SCRATCH_LEN, State, assert_no_failures, disasm, engine, env_u64,
    native, native_host, run_and_diff,
};

/// One test's cases: `XLAT_X86ISA_CASES / div` (default 3,000 / `div`), case `k` made by
/// `make` from a generator of its own, seeded from `XLAT_SEED` (default 1), `salt` and `k`;
/// and that seed.
fn batch(
    div: usize,
    salt: u64,
    mut make: impl FnMut(&mut StdRng, usize) -> Case,
) -> (Vec<Case>, u64) {
    let total = env_u64("XLAT_X86ISA_CASES", 3000) as usize / div;
    let seed = env_u64("XLAT_SEED", 1);
    let cases = (0..total)
        .map(|k| {
            make(
                &mut StdRng::seed_from_u64(seed.wrapping_mul(salt) ^ k as u64),
                k,
            )
        })
        .collect();
    (cases, seed)
}

/// ModRM + SIB + disp32 of an absolute memory operand at scratch offset `off`.
fn mem(b: &mut Vec<u8>, reg: u8, off: u64) {
    b.push(((reg & 7) << 3) | 4);
    b.push(0x25);
    b.extend_from_slice(&((SCRATCH + off) as u32).to_le_bytes());
}

/// A random register number other than rsp (4).
fn reg(r: &mut StdRng) -> u8 {
    loop {
        let v = r.random_range(0..16u8);
        if v != 4 {
            break v;
        }
    }
}

/// A REX byte for `reg` in ModRM.reg and `rm` in ModRM.rm (no X), or none when not needed.
fn rex(b: &mut Vec<u8>, w: bool, reg: u8, rm: u8) {
    let v = 0x40 | (u8::from(w) << 3) | ((reg >> 3) << 2) | (rm >> 3);
    if v != 0x40 {
        b.push(v);
    }
}

/// One instruction of the classes under test (or an ordinary flag writer); returns its bytes
/// and, for a compare-and-swap, the scratch offset and width it compares.
fn one(r: &mut StdRng) -> (Vec<u8>, Option<(u64, u32)>) {
    let mut b = Vec::new();
    let off = r.random_range(0..(SCRATCH_LEN as u64 - 32) / 16) * 16;
    match r.random_range(0..8) {
        0 | 1 => {
            // cmpxchg8b / cmpxchg16b m: [lock] [REX] 0f c7 /1
            let wide = r.random_bool(0.5);
            if r.random_bool(0.6) {
                b.push(0xf0);
            }
            let off = if wide && r.random_bool(0.1) {
                off + 8
            } else if !wide {
                off + r.random_range(0..2) * 8 + u64::from(r.random_bool(0.05))
            } else {
                off
            };
            if wide {
                b.push(0x48);
            }
            b.extend_from_slice(&[0x0f, 0xc7]);
            mem(&mut b, 1, off);
            return (b, Some((off, if wide { 16 } else { 8 })));
        }
        2 => {
            // movbe r, m (f0) / m, r (f1), 16/32/64 bits
            let x = reg(r);
            match r.random_range(0..3) {
                0 => {
                    b.push(0x66);
                    rex(&mut b, false, x, 0);
                }
                1 => rex(&mut b, false, x, 0),
                _ => rex(&mut b, true, x, 0),
            }
            b.extend_from_slice(&[0x0f, 0x38, 0xf0 | r.random_range(0..2u8)]);
            mem(&mut b, x, off + r.random_range(0..16));
        }
        3..=5 => {
            // adcx (66) / adox (f3) r, r/m, 32/64 bits
            b.push(if r.random_bool(0.5) { 0x66 } else { 0xf3 });
            let (x, y) = (reg(r), reg(r));
            let memory = r.random_bool(0.3);
            rex(&mut b, r.random_bool(0.6), x, if memory { 0 } else { y });
            b.extend_from_slice(&[0x0f, 0x38, 0xf6]);
            if memory {
                mem(&mut b, x, off + r.random_range(0..16));
            } else {
                b.push(0xc0 | ((x & 7) << 3) | (y & 7));
            }
        }
        _ => {
            // add/adc/sub/cmp/test r, r: lazy flags of every kind before the flag readers
            let op = [0x01u8, 0x11, 0x29, 0x39, 0x85, 0x19][r.random_range(0..6)];
            let (x, y) = (reg(r), reg(r));
            rex(&mut b, r.random_bool(0.5), x, y);
            b.push(op);
            b.push(0xc0 | ((x & 7) << 3) | (y & 7));
        }
    }
    (b, None)
}

fn case(r: &mut StdRng) -> Case {
    let mut input = State {
        rflags: r.random::<u64>() & ARITH_FLAGS,
        ..State::zeroed()
    };
    for v in input.gpr.iter_mut() {
        *v = match r.random_range(0..4) {
            0 => u64::MAX - r.random_range(0..3),
            1 => r.random_range(0..3),
            _ => r.random(),
        };
    }
    r.fill(&mut input.mem[..]);
    let mut code = Vec::new();
    for _ in 0..r.random_range(1..=4) {
        let (b, cas) = one(r);
        code.extend_from_slice(&b);
        // Often memory holds the expected value: the swap happens.
        if let Some((off, width)) = cas
            && r.random_bool(0.5)
        {
            let off = off as usize;
            let (lo, hi) = (input.gpr[0], input.gpr[2]);
            if width == 8 {
                let v = (lo & 0xffff_ffff) | (hi << 32);
                input.mem[off..off + 8].copy_from_slice(&v.to_le_bytes());
            } else {
                input.mem[off..off + 8].copy_from_slice(&lo.to_le_bytes());
                input.mem[off + 8..off + 16].copy_from_slice(&hi.to_le_bytes());
            }
        }
    }
    let text = disasm(&code);
    Case {
        code,
        input,
        // Every instruction here defines the flags it writes (add/sub/cmp/test/adc/sbb
        // define them all; test leaves AF undefined).
        undefined_flags: if text.contains("test ") { 0x10 } else { 0 },
        text,
    }
}

#[test]
fn cx16_movbe_adx_match_native() {
    if !native_host() {
        return;
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    for f in ["cx16", "movbe", "adx"] {
        if !cpu.split_whitespace().any(|w| w == f) {
            eprintln!("skipping: this host lacks {f}");
            return;
        }
    }
    let (cases, seed) = batch(1, 0x9e37_79b9_7f4a_7c15, |r, _| case(r));
    let total = cases.len();
    let (want, failures) = run_and_diff(&cases, seed, true);
    let signals = want.iter().filter(|s| s.signal != 0).count();
    eprintln!("x86isa diff: {total} cases, {signals} ended in a native signal");
    assert!(signals > 0, "no misaligned cmpxchg16b case faulted");
    assert!(
        signals * 5 < total,
        "{signals} of {total} cases faulted natively"
    );
    assert_no_failures(&failures);
}

/// `movups [abs], xmm0` (xmm0 is zero in these cases): clears the 16 bytes of instruction and
/// operand pointers a save image holds at scratch offset `off` (xlat stores zeros there).
fn clear16(b: &mut Vec<u8>, off: u64) {
    b.extend_from_slice(&[0x0f, 0x11, 0x04, 0x25]);
    b.extend_from_slice(&((SCRATCH + off) as u32).to_le_bytes());
}

/// An x87 absolute-memory instruction: `op` /`reg` at scratch offset `off`.
fn x87m(b: &mut Vec<u8>, op: &[u8], reg: u8, off: u64) {
    b.extend_from_slice(op);
    mem(b, reg, off);
}

/// Scratch layout of the x87 tag cases: values to load below 512, then the save areas.
const FXSAVE: u64 = 1024;
const ENV: u64 = 2048;
const SAVE: u64 = 2560;
const ENV2: u64 = 2816;
const SW: u64 = 3072;

/// An x87 stream about tags: up to four loads (random f64/f80 bit patterns, 0, 1), maybe a
/// stack manipulation (ffree, fincstp, fdecstp, fstp), then fxam or ftst or a save/restore
/// (fnstenv, fnsave + frstor, fxsave + fxrstor) and fnstenv/fnstsw to memory.
fn x87_code(r: &mut StdRng) -> Vec<u8> {
    loop {
        let b = x87_try(r);
        // The slot is 128 bytes with the terminator.
        if b.len() <= 124 {
            break b;
        }
    }
}

fn x87_try(r: &mut StdRng) -> Vec<u8> {
    // Empty registers keep their contents, which fnsave, fxsave and fxam show: make them
    // +0 as in xlat's fresh state (eight fldz, then fninit).
    let mut b = [0xd9, 0xee].repeat(8);
    b.extend_from_slice(&[0xdb, 0xe3]);
    // Sometimes nine pushes: the last overflows the stack.
    if r.random_bool(0.1) {
        b.extend_from_slice(&[0xd9, 0xe8].repeat(8));
    }
    let loads = r.random_range(0..=4);
    for _ in 0..loads {
        let off = r.random_range(0..50u64) * 10;
        match r.random_range(0..5) {
            0 | 1 => x87m(&mut b, &[0xdd], 0, off),
            2 => x87m(&mut b, &[0xdb], 5, off),
            3 => b.extend_from_slice(&[0xd9, 0xee]),
            _ => b.extend_from_slice(&[0xd9, 0xe8]),
        }
    }
    match r.random_range(0..6) {
        0 => b.extend_from_slice(&[0xdd, 0xc0 | r.random_range(0..8u8)]),
        1 => b.extend_from_slice(&[0xd9, 0xf7]),
        2 => b.extend_from_slice(&[0xd9, 0xf6]),
        // fstp st(0) of an empty register underflows (not modelled).
        3 if loads > 0 => b.extend_from_slice(&[0xdd, 0xd8]),
        _ => {}
    }
    match r.random_range(0..6) {
        0 => b.extend_from_slice(&[0xd9, 0xe5]),
        1 => b.extend_from_slice(&[0xd9, 0xe4]),
        2 => {
            x87m(&mut b, &[0xdd], 6, SAVE);
            clear16(&mut b, SAVE + 12);
            if r.random_bool(0.7) {
                x87m(&mut b, &[0xdd], 4, SAVE);
            }
        }
        3 => {
            x87m(&mut b, &[0x0f, 0xae], 0, FXSAVE);
            // FOP (mov word [abs], ax: rax is zero) and the two pointers.
            b.extend_from_slice(&[0x66, 0x89, 0x04, 0x25]);
            b.extend_from_slice(&((SCRATCH + FXSAVE + 6) as u32).to_le_bytes());
            clear16(&mut b, FXSAVE + 8);
            // MXCSR_MASK is the host's (this one may have AMD's misaligned-SSE bit); xlat's
            // virtual CPU stores 0xffff.
            b.extend_from_slice(&[0x89, 0x04, 0x25]);
            b.extend_from_slice(&((SCRATCH + FXSAVE + 28) as u32).to_le_bytes());
            if r.random_bool(0.5) {
                b.extend_from_slice(&[0xdb, 0xe3]); // fninit
            }
            if r.random_bool(0.7) {
                x87m(&mut b, &[0x0f, 0xae], 1, FXSAVE);
            }
        }
        _ => {}
    }
    if r.random_bool(0.3) {
        b.extend_from_slice(&[0xd9, 0xe5]);
    }
    x87m(&mut b, &[0xd9], 6, ENV);
    clear16(&mut b, ENV + 12);
    x87m(&mut b, &[0xdd], 7, SW);
    // Whatever fnstenv masked, a second environment shows.
    if r.random_bool(0.3) {
        x87m(&mut b, &[0xd9], 6, ENV2);
        clear16(&mut b, ENV2 + 12);
    }
    b
}

#[test]
fn x87_tags_match_native() {
    if !native_host() {
        return;
    }
    let (cases, seed) = batch(3, 0x51_7cc1_b727_220a, |r, _| {
        let mut input = State::zeroed();
        r.fill(&mut input.mem[..]);
        for x in input.xmm.iter_mut().skip(1) {
            *x = [r.random(), r.random()];
        }
        // Some zeros and ordinary numbers among the random bit patterns.
        for slot in 0..50 {
            let o = slot * 10;
            match r.random_range(0..4) {
                0 => input.mem[o..o + 10].fill(0),
                1 => input.mem[o..o + 8]
                    .copy_from_slice(&r.random::<f32>().to_bits().to_le_bytes().repeat(2)),
                _ => {}
            }
        }
        let code = x87_code(r);
        Case::new(code, input)
    });
    let (want, failures) = run_and_diff(&cases, seed, true);
    let signals = want.iter().filter(|s| s.signal != 0).count();
    assert!(signals == 0, "{signals} x87 cases faulted natively");
    assert_no_failures(&failures);
}

/// fbld and fbstp: packed BCD in memory (valid digits, both signs) loaded and stored back as
/// tbyte, and doubles of every size (halves, integers, beyond 10^18, NaNs, infinities) stored
/// as BCD under a random rounding mode, with the status word after.
#[test]
fn x87_bcd_matches_native() {
    if !native_host() {
        return;
    }
    let (cases, seed) = batch(3, 0x2545_f491_4f6c_dd1d, |r, _| {
        let mut input = State::zeroed();
        r.fill(&mut input.mem[..]);
        // Slots 0..16: BCD; 16..32: doubles; the control word at 512.
        for slot in 0..16 {
            let o = slot * 10;
            let digits = r.random_range(0..=18);
            let mut v = 0u128;
            for d in 0..digits {
                v |= u128::from(r.random_range(0..10u8)) << (4 * d);
            }
            input.mem[o..o + 9].copy_from_slice(&v.to_le_bytes()[..9]);
            input.mem[o + 9] = if r.random_bool(0.5) { 0x80 } else { 0 };
        }
        for slot in 16..32 {
            let o = slot * 10;
            let x: f64 = match r.random_range(0..6) {
                0 => f64::from(r.random_range(-1000..1000)) / 2.0,
                1 => r.random::<f64>() * 10f64.powi(r.random_range(0..20)),
                2 => -r.random::<f64>() * 1e18 * 1.1,
                3 => [
                    f64::NAN,
                    f64::INFINITY,
                    -0.0,
                    1e18,
                    -999_999_999_999_999_999.0,
                ][r.random_range(0..5)],
                _ => r.random::<f64>() - 0.5,
            };
            input.mem[o..o + 8].copy_from_slice(&x.to_bits().to_le_bytes());
        }
        let cw: u16 = 0x037f | (r.random_range(0..4u16) << 10);
        input.mem[512..514].copy_from_slice(&cw.to_le_bytes());
        let mut b = Vec::new();
        x87m(&mut b, &[0xd9], 5, 512);
        for _ in 0..r.random_range(1..=3) {
            if r.random_bool(0.5) {
                x87m(&mut b, &[0xdf], 4, r.random_range(0..16) * 10);
                b.extend_from_slice(&[0xd9, 0xc0]); // fld st(0)
                x87m(&mut b, &[0xdb], 7, 1024 + r.random_range(0..32) * 10);
            } else {
                x87m(&mut b, &[0xdd], 0, r.random_range(16..32) * 10);
            }
            if r.random_bool(0.7) {
                x87m(&mut b, &[0xdf], 6, 1536 + r.random_range(0..32) * 10);
            }
        }
        x87m(&mut b, &[0xdd], 7, SW);
        Case::new(b, input)
    });
    let (_, failures) = run_and_diff(&cases, seed, true);
    assert_no_failures(&failures);
}

/// Scratch layout of the xsave cases: values to load below 512, the 64-byte aligned XSAVE
/// area (legacy region and header) at `XS`, an fxsave image of the final state at `XDUMP`.
const XS: u64 = 2048;
const XDUMP: u64 = 3072;

/// Zeroes FOP, FIP, FDP and MXCSR_MASK of the save image at `[base]` (base: 3 = rbx, 6 = rsi;
/// rdx is zero): the host stores its own pointers and mask there, xlat zeros and 0xffff.
fn clear_fx_ptrs(b: &mut Vec<u8>, base: u8) {
    b.extend_from_slice(&[0x66, 0x89, 0x50 | base, 6]);
    b.extend_from_slice(&[0x48, 0x89, 0x50 | base, 8]);
    b.extend_from_slice(&[0x48, 0x89, 0x50 | base, 16]);
    b.extend_from_slice(&[0x89, 0x50 | base, 28]);
}

/// An xsave/xrstor stream: x87 loads, `xsave [rbx]` with a random RFBM (eax 0..3; sometimes
/// a misaligned area: #GP), the pointers cleared, then maybe fninit, a cleared xmm, a new
/// XSTATE_BV byte and the reserved header bytes left as random junk (#GP), then `xrstor
/// [rbx]` with another RFBM, and the final state as an fxsave image at `[rsi]`.
fn xsave_code(r: &mut StdRng) -> Vec<u8> {
    let mut b = [0xd9, 0xee].repeat(8);
    b.extend_from_slice(&[0xdb, 0xe3]);
    // At least one load, so that the x87 state is not in its initial configuration (the
    // host may then report XINUSE[0] = 0; xlat always reports 1).
    for _ in 0..r.random_range(1..=2) {
        match r.random_range(0..3) {
            0 => x87m(&mut b, &[0xdd], 0, r.random_range(0..50u64) * 10),
            1 => x87m(&mut b, &[0xdb], 5, r.random_range(0..50u64) * 10),
            _ => b.extend_from_slice(&[0xd9, 0xeb]), // fldpi
        }
    }
    let mis = if r.random_bool(0.04) { 16 } else { 0 };
    b.push(0xbb);
    b.extend_from_slice(&((SCRATCH + XS + mis) as u32).to_le_bytes());
    b.push(0xbe);
    b.extend_from_slice(&((SCRATCH + XDUMP) as u32).to_le_bytes());
    b.push(0xb8);
    b.extend_from_slice(&r.random_range(0..4u32).to_le_bytes());
    b.extend_from_slice(&[0x31, 0xd2]); // xor edx, edx
    b.extend_from_slice(&[0x0f, 0xae, 0x23]); // xsave [rbx]
    clear_fx_ptrs(&mut b, 3);
    if r.random_bool(0.4) {
        b.extend_from_slice(&[0xdb, 0xe3]); // fninit
    }
    if r.random_bool(0.4) {
        b.extend_from_slice(&[0x66, 0x0f, 0xef, 0xc9 | (r.random_range(0..8u8) << 3)]);
    }
    if r.random_bool(0.4) {
        // mov byte [rbx+512], XSTATE_BV (x87 and SSE only: the host's XCR0 has more bits)
        b.extend_from_slice(&[0xc6, 0x83, 0, 2, 0, 0, r.random_range(0..4u8)]);
    }
    if r.random_bool(0.92) {
        // XCOMP_BV and the next 8 header bytes: zero (else #GP)
        b.extend_from_slice(&[0x48, 0x89, 0x93, 0x08, 2, 0, 0]);
        b.extend_from_slice(&[0x48, 0x89, 0x93, 0x10, 2, 0, 0]);
    }
    b.push(0xb8);
    b.extend_from_slice(&r.random_range(0..4u32).to_le_bytes());
    b.extend_from_slice(&[0x0f, 0xae, 0x2b]); // xrstor [rbx]
    b.extend_from_slice(&[0x0f, 0xae, 0x06]); // fxsave [rsi]
    clear_fx_ptrs(&mut b, 6);
    b
}

/// xsave and xrstor (standard form, RFBM of x87 and SSE) and xgetbv against the host: the
/// saved image and header, the components xrstor loads or initializes (XSTATE_BV bits clear),
/// MXCSR from the image, #GP for a misaligned area, reserved header bytes or a bad MXCSR.
#[test]
fn xsave_xrstor_match_native() {
    if !native_host() {
        return;
    }
    let (cases, seed) = batch(30, 0x9e37_79b9_7f4a_7c15, |r, _| {
        let mut input = State {
            mxcsr: 0x1f80 ^ (r.random_range(0..4u32) << 13) | r.random_range(0..64u32),
            ..State::zeroed()
        };
        r.fill(&mut input.mem[..]);
        for x in input.xmm.iter_mut() {
            *x = [r.random(), r.random()];
        }
        // A zero header (XSTATE_BV bits beyond XCR0 are #GP), as glibc leaves it, mostly.
        if r.random_bool(0.9) {
            let o = (XS + 512) as usize;
            input.mem[o..o + 64].fill(0);
        }
        // A valid MXCSR in the image half the time (a random one is #GP for xrstor).
        if r.random_bool(0.5) {
            let o = (XS + 24) as usize;
            let m = 0x1f80u32 ^ (r.random_range(0..4u32) << 13);
            input.mem[o..o + 4].copy_from_slice(&m.to_le_bytes());
        }
        let mut code = xsave_code(r);
        if r.random_bool(0.1) {
            // xgetbv (ecx = 0) before the stream; XCR0 & 3 kept in edi (the host enables more).
            let mut x = vec![0x31, 0xc9, 0x0f, 0x01, 0xd0, 0x89, 0xc7, 0x83, 0xe7, 0x03];
            x.extend_from_slice(&code);
            if x.len() <= 124 {
                code = x;
            }
        }
        assert!(code.len() <= 124, "xsave stream too long: {}", code.len());
        Case::new(code, input)
    });
    let (want, failures) = run_and_diff(&cases, seed, true);
    let signals = want.iter().filter(|s| s.signal != 0).count();
    // Both outcomes occur: most cases restore, some fault.
    assert!(
        signals > 0 && signals < cases.len() * 3 / 4,
        "{signals} of {} cases faulted natively",
        cases.len()
    );
    assert_no_failures(&failures);
}

/// Scratch layout of the underflow cases: doubles at 0..256, floats at 256..512, the control
/// word at 512, the stores at 1024.., the fnsave image at `SAVE`.
const UF_OUT: u64 = 1024;

/// One x87 instruction that reads the stack (register forms with a random st(i), stores of
/// st(0) in every format, arithmetic and compares with memory); `trans` allows the
/// transcendentals (the caller knows they will underflow). Returns the bytes and the ModRM
/// register argument count it needs (0, 1: the st(i) form).
fn uf_op(r: &mut StdRng, b: &mut Vec<u8>, trans: bool) {
    let i = r.random_range(0..8u8);
    let out = UF_OUT + r.random_range(0..32u64) * 16;
    match r.random_range(0..if trans { 12 } else { 11 }) {
        0 => {
            // fld st(i), fst st(i), fstp st(i), fxch st(i)
            let (o, base) =
                [(0xd9, 0xc0), (0xdd, 0xd0), (0xdd, 0xd8), (0xd9, 0xc8)][r.random_range(0..4)];
            b.extend_from_slice(&[o, base | i]);
        }
        1 | 2 => {
            // fadd/fmul/fsub/fdiv st(0),st(i) / st(i),st(0), faddp/fmulp/fsubrp/fdivp
            let o = [0xd8u8, 0xdc, 0xde][r.random_range(0..3)];
            let k = [0u8, 1, 4, 5, 6, 7][r.random_range(0..6)];
            b.extend_from_slice(&[o, 0xc0 | (k << 3) | i]);
        }
        3 => {
            // fcom, fcomp, fucom, fucomp st(i); fcompp, fucompp
            let (o, base) = [
                (0xd8, 0xd0),
                (0xd8, 0xd8),
                (0xdd, 0xe0),
                (0xdd, 0xe8),
                (0xde, 0xd9),
                (0xda, 0xe9),
            ][r.random_range(0..6)];
            let ib = if base & 7 == 0 { base | i } else { base };
            b.extend_from_slice(&[o, ib]);
        }
        4 => {
            // fcomi, fcomip, fucomi, fucomip st(i)
            let (o, base) =
                [(0xdb, 0xf0), (0xdf, 0xf0), (0xdb, 0xe8), (0xdf, 0xe8)][r.random_range(0..4)];
            b.extend_from_slice(&[o, base | i]);
        }
        5 => {
            // fcmovb, fcmove, fcmovnb, fcmovne
            let (o, base) =
                [(0xda, 0xc0), (0xda, 0xc8), (0xdb, 0xc0), (0xdb, 0xc8)][r.random_range(0..4)];
            b.extend_from_slice(&[o, base | i]);
        }
        6 | 7 => {
            // fst/fstp m32, m64, fstp m80, fist/fistp m16, fist/fistp m32, fistp m64,
            // fisttp m32, fbstp
            let (o, reg): (&[u8], u8) = [
                (&[0xd9][..], 2),
                (&[0xd9], 3),
                (&[0xdd], 2),
                (&[0xdd], 3),
                (&[0xdb], 7),
                (&[0xdf], 2),
                (&[0xdf], 3),
                (&[0xdb], 2),
                (&[0xdb], 3),
                (&[0xdf], 7),
                (&[0xdb], 1),
                (&[0xdf], 6),
            ][r.random_range(0..12)];
            x87m(b, o, reg, out);
        }
        8 => {
            // fadd m64, fmul m32, fcom m64, fcomp m32, ficom m32, fsubr m64
            let (o, reg, off) = [
                (0xdc, 0, 0),
                (0xd8, 1, 256),
                (0xdc, 2, 0),
                (0xd8, 3, 256),
                (0xda, 2, 0),
                (0xdc, 5, 0),
            ][r.random_range(0..6)];
            x87m(b, &[o], reg, off + r.random_range(0..32u64) * 8);
        }
        9 => {
            // fchs, fabs, fsqrt, frndint, ftst, fxam
            let o = [0xe0u8, 0xe1, 0xfa, 0xfc, 0xe4, 0xe5][r.random_range(0..6)];
            b.extend_from_slice(&[0xd9, o]);
        }
        10 => {
            // fprem, fprem1, fscale, fxtract (exact)
            let o = [0xf8u8, 0xf5, 0xfd, 0xf4][r.random_range(0..4)];
            b.extend_from_slice(&[0xd9, o]);
        }
        _ => {
            // f2xm1, fyl2x, fyl2xp1, fpatan, fsin, fcos, fsincos, fptan
            let o = [0xf0u8, 0xf1, 0xf9, 0xf3, 0xfe, 0xff, 0xfb, 0xf2][r.random_range(0..8)];
            b.extend_from_slice(&[0xd9, o]);
        }
    }
}

/// x87 stack underflow: every instruction that reads the stack, on a stack of 0..3 values,
/// with IE masked (the indefinite is written or stored, IE, SF, C1 = 0) or unmasked (nothing
/// is written; SIGFPE at the next waiting instruction, sometimes an fwait), then fnsave of
/// the registers, tags and status word, and RFLAGS for fcomi.
#[test]
fn x87_stack_underflow_matches_native() {
    if !native_host() {
        return;
    }
    let (cases, seed) = batch(2, 0x7fb5_d329_728e_a185, |r, _| {
        let mut input = State {
            rflags: r.random::<u64>() & ARITH_FLAGS,
            ..State::zeroed()
        };
        r.fill(&mut input.mem[..]);
        // Ordinary numbers (no NaN operands: their own IE is another story).
        for s in 0..32 {
            let v = f64::from(r.random_range(1..4000u32)) / 16.0;
            let v = if r.random_bool(0.3) { -v } else { v };
            input.mem[s * 8..s * 8 + 8].copy_from_slice(&v.to_bits().to_le_bytes());
            let f = (v as f32).to_bits().to_le_bytes();
            input.mem[256 + s * 8..256 + s * 8 + 4].copy_from_slice(&f);
            input.mem[256 + s * 8 + 4..256 + s * 8 + 8].copy_from_slice(&f);
        }
        // IM set or clear; the other exceptions stay masked.
        let im = r.random_bool(0.5);
        let cw: u16 = 0x037e | u16::from(im) | (r.random_range(0..4u16) << 10);
        input.mem[512..514].copy_from_slice(&cw.to_le_bytes());
        // Empty registers keep their contents, which fnsave shows: +0 as in xlat.
        let mut b = [0xd9, 0xee].repeat(8);
        b.extend_from_slice(&[0xdb, 0xe3]);
        x87m(&mut b, &[0xd9], 5, 512);
        let loads = r.random_range(0..=3);
        for _ in 0..loads {
            match r.random_range(0..3) {
                0 => x87m(&mut b, &[0xdd], 0, r.random_range(0..32u64) * 8),
                1 => b.extend_from_slice(&[0xd9, 0xe8]),
                _ => b.extend_from_slice(&[0xd9, 0xeb]),
            }
        }
        // The first instruction may be a transcendental when it surely underflows
        // (st(0) empty, or st(1) for the two-operand ones): xlat's results are not
        // bit-exact otherwise.
        let trans = loads == 0;
        uf_op(r, &mut b, trans);
        for _ in 0..r.random_range(0..=2) {
            uf_op(r, &mut b, false);
        }
        if r.random_bool(0.3) {
            b.push(0x9b); // fwait
        }
        x87m(&mut b, &[0xdd], 6, SAVE);
        clear16(&mut b, SAVE + 12);
        let text = disasm(&b);
        assert!(b.len() <= 124, "case too long");
        Case {
            code: b,
            input,
            undefined_flags: 0,
            text: format!("cw {cw:#x}\n{text}"),
        }
    });
    let (want, failures) = run_and_diff(&cases, seed, true);
    let signals = want.iter().filter(|s| s.signal != 0).count();
    eprintln!(
        "x87 underflow: {} cases, {signals} ended in SIGFPE",
        cases.len()
    );
    assert!(
        signals > 0 && signals < cases.len() / 2,
        "{signals} of {} cases faulted natively",
        cases.len()
    );
    assert_no_failures(&failures);
}

/// A random finite extended value: sign, exponent in `lo..=hi` (unbiased), random significand.
fn f80_in(r: &mut StdRng, lo: i32, hi: i32, neg: bool) -> [u8; 10] {
    let e = (16383 + r.random_range(lo..=hi)) as u16;
    let m: u64 = r.random::<u64>() | 1 << 63;
    let mut v = [0u8; 10];
    v[..8].copy_from_slice(&m.to_le_bytes());
    v[8..].copy_from_slice(&(e | if neg { 0x8000 } else { 0 }).to_le_bytes());
    v
}

/// Units in the last place between two extended values of the same sign (None: different
/// classes, signs or exponents too far apart).
fn ulps(a: &[u8], b: &[u8]) -> Option<u64> {
    let key = |v: &[u8]| {
        let m = u64::from_le_bytes(v[..8].try_into().unwrap_or_default());
        let se = u16::from_le_bytes([v[8], v[9]]);
        (
            se >> 15,
            (u128::from(se & 0x7fff) << 63) | u128::from(m & !(1 << 63)),
        )
    };
    let ((sa, ka), (sb, kb)) = (key(a), key(b));
    if sa != sb {
        return (ka == 0 && kb == 0).then_some(0);
    }
    u64::try_from(ka.abs_diff(kb)).ok()
}

/// The transcendentals against this host's FPU: f2xm1, fyl2x, fyl2xp1, fpatan, fsin, fcos,
/// fsincos, fptan on random operands of their ranges (and beyond, for the trigonometric
/// ones: up to 2^62, reduced with the hardware's 66-bit π) and edge values, under a random
/// rounding mode. Results are compared in ulps of the 64-bit significand; the status word's
/// exception bits (but C1 and PE, which follow the rounding) must match.
#[test]
fn x87_transcendentals_match_native() {
    if !native_host() {
        return;
    }
    const OPS: [(u8, &str); 8] = [
        (0xf0, "f2xm1"),
        (0xf1, "fyl2x"),
        (0xf9, "fyl2xp1"),
        (0xf3, "fpatan"),
        (0xfe, "fsin"),
        (0xff, "fcos"),
        (0xfb, "fsincos"),
        (0xf2, "fptan"),
    ];
    let mut ops = Vec::new();
    let (cases, seed) = batch(1, 0x2127_599b_f432_5c37, |r, k| {
        let mut input = State::zeroed();
        let op = k % OPS.len();
        ops.push(op);
        let edge = r.random_bool(0.1);
        let neg = r.random_bool(0.5);
        // x at 0 (st(0)), y at 16 (st(1)).
        let x = match (op, edge) {
            (0, false) => f80_in(r, -70, -1, neg),
            (1, false) => f80_in(r, -300, 300, false),
            (2, false) => f80_in(r, -70, -3, neg),
            (3, false) => f80_in(r, -40, 40, neg),
            (4..=7, false) => match r.random_range(0..3) {
                0 => f80_in(r, -40, -1, neg),
                1 => f80_in(r, 0, 8, neg),
                _ => f80_in(r, 9, 62, neg),
            },
            (1, true) => {
                // Powers of two and values next to 1.
                let mut v = f80_in(r, -20, 20, false);
                let m: u64 = if r.random_bool(0.5) {
                    1 << 63
                } else {
                    (1 << 63) + r.random_range(0..4)
                };
                v[..8].copy_from_slice(&m.to_le_bytes());
                if r.random_bool(0.5) {
                    v[8..].copy_from_slice(&16383u16.to_le_bytes());
                }
                v
            }
            _ => {
                // Zeros, tiny values, and (trigonometric) multiples of the 66-bit π/2.
                let mut v = [0u8; 10];
                match r.random_range(0..4) {
                    0 => v[9] = if neg { 0x80 } else { 0 },
                    1 => v = f80_in(r, -16000, -100, neg),
                    // ±1; below -1 for fyl2xp1 (out of range: the hardware leaves st(0)).
                    2 if op != 2 || neg => {
                        v[7] = 0x80;
                        v[8] = 0xff;
                        v[9] = 0x3f | if neg { 0x80 } else { 0 };
                        if op == 2 && r.random_bool(0.5) {
                            v[9] = 0xc0;
                        }
                    }
                    // (fyl2xp1 is undefined above its range.)
                    _ if op == 2 => v = f80_in(r, -70, -3, neg),
                    _ => {
                        let pi: u64 = 0xc90f_daa2_2168_c235 - r.random_range(0..2);
                        let e = (16384 + r.random_range(-1..6i32)) as u16;
                        v[..8].copy_from_slice(&pi.to_le_bytes());
                        v[8..].copy_from_slice(&(e | if neg { 0x8000 } else { 0 }).to_le_bytes());
                    }
                }
                v
            }
        };
        let yneg = r.random_bool(0.5);
        let y = f80_in(r, -60, 60, yneg);
        input.mem[..10].copy_from_slice(&x);
        input.mem[16..26].copy_from_slice(&y);
        let cw: u16 = 0x037f | (r.random_range(0..4u16) << 10);
        input.mem[512..514].copy_from_slice(&cw.to_le_bytes());
        let mut b = vec![0xdb, 0xe3];
        x87m(&mut b, &[0xd9], 5, 512);
        x87m(&mut b, &[0xdb], 5, 16);
        x87m(&mut b, &[0xdb], 5, 0);
        b.extend_from_slice(&[0xd9, OPS[op].0]);
        x87m(&mut b, &[0xdd], 7, SW);
        x87m(&mut b, &[0xdb], 7, 1024);
        x87m(&mut b, &[0xdb], 7, 1040);
        Case {
            code: b,
            input,
            undefined_flags: 0,
            text: format!("{} x {:02x?} y {:02x?} cw {cw:#x}", OPS[op].1, x, y),
        }
    });
    let want = native::run(&cases).expect("native run");
    let mut failures = Vec::new();
    let mut stats = [(0usize, 0usize, 0u64); 8];
    for jit in [true, false] {
        let got = engine::run(&cases, jit).expect("xlat run");
        for (k, c) in cases.iter().enumerate() {
            let (w, g) = (&want[k], &got[k]);
            let s = &mut stats[ops[k]];
            let swm = |m: &[u8]| u16::from_le_bytes([m[SW as usize], m[SW as usize + 1]]) & !0x0220;
            let mut worst = 0;
            let mut bad = w.signal != g.signal || swm(&w.mem) != swm(&g.mem);
            for at in [1024usize, 1040] {
                match ulps(&w.mem[at..at + 10], &g.mem[at..at + 10]) {
                    Some(u) => worst = worst.max(u),
                    None => bad = true,
                }
            }
            if jit {
                s.0 += 1;
                s.1 += usize::from(worst == 0 && !bad);
                s.2 = s.2.max(worst);
            }
            // The bound the implementation meets: 1 ulp (the hardware is not correctly
            // rounded everywhere either).
            if (bad || worst > 1) && failures.len() < 20 {
                failures.push(format!(
                    "seed {seed} case {k} ({}): {}: {worst} ulps, sw native {:#x} xlat {:#x}\n  native {:02x?} {:02x?}\n  xlat   {:02x?} {:02x?}",
                    if jit { "jit" } else { "interp" },
                    c.text,
                    swm(&w.mem),
                    swm(&g.mem),
                    &w.mem[1024..1034],
                    &w.mem[1040..1050],
                    &g.mem[1024..1034],
                    &g.mem[1040..1050],
                ));
            }
        }
    }
    for (i, (n, exact, worst)) in stats.iter().enumerate() {
        eprintln!(
            "{}: {exact}/{n} bit-exact ({:.1}%), max {worst} ulp",
            OPS[i].1,
            100.0 * *exact as f64 / (*n).max(1) as f64
        );
    }
    assert_no_failures(&failures);
}
