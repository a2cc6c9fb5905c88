//! Runs cases under xlat: the backend's engine driving the x86 frontend directly over a
//! user-mode address space with the same fixed code and scratch addresses as the native run.

use super::{CODE, Case, SCRATCH, SCRATCH_LEN, SLOT, State};
use std::sync::Arc;
use xlat_backend::{Accel, Engine, EngineConfig, RunExit};
use xlat_frontend_x86::{X86_64, state};
use xlat_ir::abi::CpuState;
use xlat_ir::{Frontend, TrapClass};
use xlat_softmmu::user::{AddressSpace, Backing, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE};
use xlat_softmmu::user::{PROT_EXEC, PROT_READ, PROT_WRITE};

/// Signal numbers a Linux process would get for each trap class.
fn signal_of(class: TrapClass) -> i32 {
    match class {
        TrapClass::Arithmetic => 8,
        TrapClass::IllegalInstruction => 4,
        TrapClass::Breakpoint => 5,
        TrapClass::Misaligned => 7,
        _ => 11,
    }
}

/// Base of a 4 KiB stack mapping.
const STACK: u64 = 0x5800_0000;

/// Runs `cases` with the JIT compiling every unit at once (`jit`), or in the interpreter.
pub fn run(cases: &[Case], jit: bool) -> Result<Vec<State>, String> {
    let fe: Arc<dyn Frontend> = Arc::new(X86_64::new());
    let mem = Arc::new(
        AddressSpace::new(xlat_frontend_x86::GENERAL_PROTECTION).map_err(|e| e.to_string())?,
    );
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    let code_len = (cases.len() as u64 * SLOT).next_multiple_of(4096).max(4096);
    mem.mmap(
        CODE,
        code_len,
        PROT_READ | PROT_WRITE | PROT_EXEC,
        flags,
        Backing::Anon,
    )
    .map_err(|e| format!("code: {e}"))?;
    mem.mmap(
        SCRATCH,
        SCRATCH_LEN as u64,
        PROT_READ | PROT_WRITE,
        flags,
        Backing::Anon,
    )
    .map_err(|e| format!("scratch: {e}"))?;
    // The stack the branch class's call/ret pairs use (natively: the runner's own stack).
    mem.mmap(STACK, 4096, PROT_READ | PROT_WRITE, flags, Backing::Anon)
        .map_err(|e| format!("stack: {e}"))?;
    let mut code = vec![0xccu8; code_len as usize];
    for (k, c) in cases.iter().enumerate() {
        let at = k * SLOT as usize;
        code[at..at + c.code.len()].copy_from_slice(&c.code);
    }
    mem.write_bytes(CODE, &code).map_err(|e| e.to_string())?;
    let cfg = EngineConfig {
        accel: if jit { Accel::Jit } else { Accel::Interp },
        hot_threshold: 0,
        ..EngineConfig::default()
    };
    let engine = Engine::new(fe.clone(), mem.clone(), cfg).map_err(|e| e.to_string())?;
    let mut env = CpuState::new_boxed();
    let mut out = Vec::with_capacity(cases.len());
    let trace = std::env::var_os("XLAT_X86_TRACE").is_some();
    for (k, c) in cases.iter().enumerate() {
        env.regs.fill(0);
        fe.init_user_state(&mut env);
        for r in 0..16u8 {
            env.set_word(state::gpr(r), c.input.gpr[r as usize]);
        }
        env.set_word(state::RSP, STACK + 4096 - 64);
        xlat_frontend_x86::set_rflags(&mut env, c.input.rflags);
        for x in 0..16u8 {
            env.set_word(state::xmm(x), c.input.xmm[x as usize][0]);
            env.set_word(state::xmm(x) + 8, c.input.xmm[x as usize][1]);
        }
        env.set_word(state::MXCSR, u64::from(c.input.mxcsr));
        mem.write_bytes(SCRATCH, &c.input.mem)
            .map_err(|e| e.to_string())?;
        let start = CODE + k as u64 * SLOT;
        if trace {
            eprintln!("case {k}:\n{}", c.text);
        }
        env.pc = start;
        let end = start + c.code.len() as u64;
        let signal = match engine.run(&mut env) {
            RunExit::Breakpoint if env.pc == end => 0,
            RunExit::Breakpoint => 5,
            RunExit::Exception { code, .. } => signal_of(fe.classify_trap(code)),
            other => return Err(format!("case {k}: unexpected exit {other:?}")),
        };
        let mut s = State {
            gpr: [0; 16],
            rflags: xlat_frontend_x86::rflags(&env),
            xmm: [[0; 2]; 16],
            mxcsr: env.word(state::MXCSR) as u32,
            mem: vec![0; SCRATCH_LEN],
            signal,
        };
        for r in 0..16u8 {
            s.gpr[r as usize] = env.word(state::gpr(r));
        }
        for x in 0..16u8 {
            s.xmm[x as usize] = [env.word(state::xmm(x)), env.word(state::xmm(x) + 8)];
        }
        mem.read_bytes(SCRATCH, &mut s.mem)
            .map_err(|e| e.to_string())?;
        out.push(s);
    }
    Ok(out)
}
