//! Random x86-64 instruction streams for the differential test against native execution
//! (`tests/x86_diff.rs`, `bin/x86diff.rs`). Each case is a short stream of instructions
//! generated from byte templates of the implemented classes (register and absolute-memory
//! forms, random REX/0x66/lock prefixes, random immediates), run natively on this host
//! ([`native`]) and under xlat's engine with the x86 frontend ([`engine`]); every GPR but rsp,
//! the SDM-defined flags (iced-x86's per-instruction undefined-flag sets are masked), the
//! XMM registers, MXCSR and the scratch memory are compared.

mod cases;
pub mod engine;
pub mod native;

pub use cases::{Case, batch};

/// Guest/host address of the code: case `k` of a batch sits at `CODE + k * SLOT`.
pub const CODE: u64 = 0x6000_0000;
/// Bytes of code per case (the stream and its terminator).
pub const SLOT: u64 = 128;
/// Address of the scratch memory that memory operands reach (absolute disp32 forms).
pub const SCRATCH: u64 = 0x7000_0000;
/// Bytes of scratch memory.
pub const SCRATCH_LEN: usize = 4096;

/// A machine state, as both runners take and return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// rax..r15 (rsp is not part of the test: its slot is ignored).
    pub gpr: [u64; 16],
    /// RFLAGS (arithmetic bits).
    pub rflags: u64,
    /// xmm0..15, low quadword first.
    pub xmm: [[u64; 2]; 16],
    /// MXCSR.
    pub mxcsr: u32,
    /// The scratch memory.
    pub mem: Vec<u8>,
    /// The signal the case ended with natively (0 = none), or the class of xlat's exception.
    pub signal: i32,
}

impl State {
    /// Zero registers, flags and scratch memory; MXCSR at its reset value (0x1f80).
    pub fn zeroed() -> State {
        State {
            gpr: [0; 16],
            rflags: 0,
            xmm: [[0; 2]; 16],
            mxcsr: 0x1f80,
            mem: vec![0; SCRATCH_LEN],
            signal: 0,
        }
    }
}

/// The environment variable `name` as a number, else `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Whether the native reference can run: on an x86-64 host; else says so on stderr.
pub fn native_host() -> bool {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipping: the native reference needs an x86-64 host");
        return false;
    }
    true
}

/// Fails with the count and the list of `failures` (reports of [`run_and_diff`]) unless there
/// are none.
pub fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The arithmetic flags (CF, PF, AF, ZF, SF, OF).
pub const ARITH_FLAGS: u64 = 0x8d5;

/// The differences between a native and an xlat result, one line each.
pub fn diff(case: &Case, want: &State, got: &State) -> Vec<String> {
    let mut d = Vec::new();
    if want.signal != got.signal {
        d.push(format!(
            "signal: native {} xlat {}",
            want.signal, got.signal
        ));
        return d;
    }
    if want.signal != 0 {
        return d;
    }
    const N: [&str; 16] = [
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15",
    ];
    for (r, name) in N.iter().enumerate() {
        if r != 4 && want.gpr[r] != got.gpr[r] {
            d.push(format!(
                "{name}: native {:#x} xlat {:#x}",
                want.gpr[r], got.gpr[r]
            ));
        }
    }
    let m = ARITH_FLAGS & !case.undefined_flags;
    if want.rflags & m != got.rflags & m {
        d.push(format!(
            "rflags (mask {m:#x}): native {:#x} xlat {:#x}",
            want.rflags & m,
            got.rflags & m
        ));
    }
    for x in 0..16 {
        if want.xmm[x] != got.xmm[x] {
            d.push(format!(
                "xmm{x}: native {:x?} xlat {:x?}",
                want.xmm[x], got.xmm[x]
            ));
        }
    }
    if want.mxcsr != got.mxcsr {
        d.push(format!(
            "mxcsr: native {:#x} xlat {:#x}",
            want.mxcsr, got.mxcsr
        ));
    }
    if let Some(i) = (0..want.mem.len()).find(|&i| want.mem.get(i) != got.mem.get(i)) {
        d.push(format!(
            "memory at scratch+{i:#x}: native {:#x} xlat {:#x}",
            want.mem[i],
            got.mem.get(i).copied().unwrap_or(0)
        ));
    }
    d
}

/// Runs `cases` natively and under xlat (the JIT, and the interpreter too when `interp`) and
/// compares them: the native results and up to 20 failure reports (`seed` names the batch in
/// them).
pub fn run_and_diff(cases: &[Case], seed: u64, interp: bool) -> (Vec<State>, Vec<String>) {
    let want = native::run(cases).expect("native run");
    let mut failures = Vec::new();
    for jit in [true, false] {
        if !jit && !interp {
            continue;
        }
        let got = engine::run(cases, jit).expect("xlat run");
        for (k, c) in cases.iter().enumerate() {
            let d = diff(c, &want[k], &got[k]);
            if !d.is_empty() && failures.len() < 20 {
                failures.push(format!(
                    "seed {seed} case {k} ({}):\n{}  {}",
                    if jit { "jit" } else { "interp" },
                    c.text,
                    d.join("\n  ")
                ));
            }
        }
    }
    (want, failures)
}

/// The Intel-syntax disassembly of `code`, one instruction a line; panics on an invalid
/// instruction (a generator bug).
pub fn disasm(code: &[u8]) -> String {
    use iced_x86::{Decoder, DecoderOptions, Formatter};
    let mut text = String::new();
    let mut fmt = iced_x86::IntelFormatter::new();
    let mut d = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    while d.can_decode() {
        let i = d.decode();
        assert!(!i.is_invalid(), "generator produced an invalid instruction");
        fmt.format(&i, &mut text);
        text.push('\n');
    }
    text
}
