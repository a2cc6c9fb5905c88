//! The Cranelift side: ISA flags, compiling a function into code memory, the entry trampoline
//! and the return-to-loop stub.

use crate::BackendError;
use crate::codemem::CodeMemory;
use crate::lower::{self, LowerParams};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{Function, InstBuilder, Signature, UserFuncName, types};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetFrontendConfig};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, isa};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use xlat_ir::Unit;
use xlat_ir::abi::{self, ExitKind};

/// Why a compilation did not produce code.
#[derive(Debug)]
pub enum CompileError {
    /// Code memory is full: flush and retry.
    Full,
    /// Cranelift refused the function or it needs relocations (our bug).
    Broken(String),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Full => f.write_str("code memory is full"),
            CompileError::Broken(s) => f.write_str(s),
        }
    }
}

/// One compiled function in code memory.
#[derive(Debug, Clone, Copy)]
pub struct Compiled {
    /// Executable address.
    pub addr: u64,
    /// Size in bytes.
    pub size: usize,
}

/// Cranelift with its settings and scratch contexts: makes machine code, installs nothing
/// (a background compiler has one of its own, see `Engine::set_background_compile`).
pub struct Compiler {
    isa: OwnedTargetIsa,
    /// For regions with a loop when `isa` uses the single-pass register allocator: the
    /// backtracking one (its loops run faster; system mode compiles the rest single-pass).
    loop_isa: Option<OwnedTargetIsa>,
    ctx: Context,
    fctx: FunctionBuilderContext,
}

impl Compiler {
    /// A compiler with Cranelift's `opt_level` (optionally `+` a register allocator).
    pub fn new(opt_level: &str) -> Result<Compiler, BackendError> {
        let loop_isa = match opt_level.split_once('+') {
            Some((level, "single_pass")) => Some(host_isa(level)?),
            _ => None,
        };
        Ok(Compiler {
            isa: host_isa(opt_level)?,
            loop_isa,
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
        })
    }

    /// The machine code of a region (`units[0]` is the entry point); `looping` regions get
    /// the loop register allocator, if any. Valid until the next compile.
    pub fn region_code(
        &mut self,
        units: &[&Unit],
        p: LowerParams,
        looping: bool,
    ) -> Result<&[u8], CompileError> {
        let swap = looping && self.loop_isa.is_some();
        if swap {
            std::mem::swap(&mut self.isa, self.loop_isa.as_mut().expect("checked"));
        }
        let r = self.build(lower::unit_signature(), |b, fcfg| {
            lower::lower_region(b, units, p, fcfg)
        });
        if swap {
            std::mem::swap(&mut self.isa, self.loop_isa.as_mut().expect("checked"));
        }
        r?;
        Ok(self.code_bytes())
    }

    /// The code of the last successful [`Compiler::build`].
    fn code_bytes(&self) -> &[u8] {
        self.ctx
            .compiled_code()
            .map_or(&[][..], |c| c.code_buffer())
    }

    /// Builds and compiles a function (its code: [`Compiler::code_bytes`]).
    fn build(
        &mut self,
        sig: Signature,
        build: impl FnOnce(FunctionBuilder<'_>, TargetFrontendConfig),
    ) -> Result<(), CompileError> {
        self.ctx.clear();
        self.ctx.func = Function::with_name_signature(UserFuncName::default(), sig);
        let fcfg = self.isa.frontend_config();
        build(
            FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx),
            fcfg,
        );
        let compiled = match self.ctx.compile(&*self.isa, &mut ControlPlane::default()) {
            Ok(c) => c,
            Err(e) => {
                return Err(CompileError::Broken(format!(
                    "{:?}\n{}",
                    e.inner,
                    e.func.display()
                )));
            }
        };
        if !compiled.buffer.relocs().is_empty() {
            return Err(CompileError::Broken(format!(
                "unexpected relocations: {:?}",
                compiled.buffer.relocs()
            )));
        }
        Ok(())
    }
}

/// The compiler and its code memory.
pub struct Jit {
    comp: Compiler,
    code: CodeMemory,
    /// `extern "C" fn(env, code) -> exit`: calls a unit with the tail convention.
    pub trampoline: u64,
    /// The return-to-loop stub every link slot starts at.
    pub stub: u64,
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jit")
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

fn host_isa(opt_level: &str) -> Result<OwnedTargetIsa, BackendError> {
    let mut fb = settings::builder();
    let set = |fb: &mut settings::Builder, k: &str, v: &str| {
        fb.set(k, v)
            .map_err(|e| BackendError::Codegen(format!("setting {k}={v}: {e}")))
    };
    // `opt_level` may carry a register allocator: "none+single_pass".
    let (opt_level, regalloc) = opt_level
        .split_once('+')
        .unwrap_or((opt_level, "backtracking"));
    set(&mut fb, "opt_level", opt_level)?;
    set(&mut fb, "regalloc_algorithm", regalloc)?;
    // Cranelift's x64 tail calls rely on frame pointers.
    set(&mut fb, "preserve_frame_pointers", "true")?;
    // The verifier costs ~40% of compile time: on in debug and test builds only.
    set(
        &mut fb,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    let mut ib = isa::lookup_by_name(HOST_TRIPLE)
        .map_err(|e| BackendError::Codegen(format!("host ISA: {e}")))?;
    #[cfg(target_arch = "x86_64")]
    {
        let feats: [(&str, bool); 8] = [
            ("has_sse3", std::arch::is_x86_feature_detected!("sse3")),
            ("has_ssse3", std::arch::is_x86_feature_detected!("ssse3")),
            ("has_sse41", std::arch::is_x86_feature_detected!("sse4.1")),
            ("has_sse42", std::arch::is_x86_feature_detected!("sse4.2")),
            ("has_popcnt", std::arch::is_x86_feature_detected!("popcnt")),
            ("has_lzcnt", std::arch::is_x86_feature_detected!("lzcnt")),
            ("has_bmi1", std::arch::is_x86_feature_detected!("bmi1")),
            ("has_bmi2", std::arch::is_x86_feature_detected!("bmi2")),
        ];
        for (name, on) in feats {
            if on {
                let _ = ib.enable(name);
            }
        }
        // AVX + FMA give `ffma` a real `vfmadd` (lower::float checks the same, else it calls
        // out instead of Cranelift's unlinked libcall).
        if crate::lower::host_has_cmpxchg16b() {
            let _ = ib.enable("has_cmpxchg16b"); // atomic_cas128: lower::cas128
        }
        if crate::lower::host_has_fma() {
            let _ = ib.enable("has_avx");
            let _ = ib.enable("has_fma");
        }
    }
    ib.finish(settings::Flags::new(fb))
        .map_err(|e| BackendError::Codegen(format!("host ISA: {e}")))
}

/// The only host the backend supports today.
const HOST_TRIPLE: &str = "x86_64-unknown-linux-gnu";

impl Jit {
    /// In the child of a fork: a private copy of code memory at the same addresses.
    pub fn unshare_code(&mut self) -> Result<(), BackendError> {
        self.code.unshare()
    }

    /// Creates the compiler with `code_size` bytes of code memory and installs the trampoline
    /// and the stub.
    pub fn new(code_size: usize, opt_level: &str) -> Result<Jit, BackendError> {
        let mut jit = Jit {
            comp: Compiler::new(opt_level)?,
            code: CodeMemory::new(code_size)?,
            trampoline: 0,
            stub: 0,
        };
        let err = |e: CompileError| BackendError::Codegen(format!("{e:?}"));
        // The entry trampoline is hand-written (crate::fault): a fault in a unit resumes at
        // its return point.
        jit.trampoline = crate::fault::enter_addr();
        crate::fault::register_code(jit.code.exec_range());
        jit.stub = jit
            .compile_with(lower::unit_signature(), |mut b, fcfg| {
                let blk = b.create_block();
                b.append_block_params_for_function_params(blk);
                b.switch_to_block(blk);
                let v = b
                    .ins()
                    .iconst(types::I64, abi::encode_exit(ExitKind::Lookup, 0) as i64);
                b.ins().return_(&[v]);
                b.seal_all_blocks();
                b.finalize(fcfg);
            })
            .map_err(err)?
            .addr;
        jit.code.set_floor();
        Ok(jit)
    }

    #[cfg_attr(not(test), allow(dead_code, reason = "the engine compiles regions"))]
    /// Compiles `unit` into code memory.
    pub fn compile_unit(&mut self, unit: &Unit, p: LowerParams) -> Result<Compiled, CompileError> {
        self.compile_region(&[unit], p)
    }

    /// Compiles a region (`units[0]` is the entry point) into code memory.
    pub fn compile_region(
        &mut self,
        units: &[&Unit],
        p: LowerParams,
    ) -> Result<Compiled, CompileError> {
        self.compile_region_for(units, p, false)
    }

    /// [`Jit::compile_region`]; `looping` regions get the loop register allocator, if any.
    pub fn compile_region_for(
        &mut self,
        units: &[&Unit],
        p: LowerParams,
        looping: bool,
    ) -> Result<Compiled, CompileError> {
        let code = self.comp.region_code(units, p, looping)?;
        Jit::place(&mut self.code, code)
    }

    /// Installs machine code made by a [`Compiler`] into code memory.
    pub fn install(&mut self, code: &[u8]) -> Result<Compiled, CompileError> {
        Jit::place(&mut self.code, code)
    }

    fn place(mem: &mut CodeMemory, code: &[u8]) -> Result<Compiled, CompileError> {
        let addr = mem.install(code).ok_or(CompileError::Full)?;
        Ok(Compiled {
            addr,
            size: code.len(),
        })
    }

    #[cfg_attr(not(test), allow(dead_code, reason = "used by tests and clif traces"))]
    /// The last compiled function's CLIF text (for `clif` traces and test failures).
    pub fn last_clif(&self) -> String {
        self.comp.ctx.func.display().to_string()
    }

    /// Forgets every compiled unit (not the trampoline and stub).
    pub fn reset(&mut self) {
        self.code.reset();
    }

    /// The executable code region.
    pub fn exec_range(&self) -> std::ops::Range<u64> {
        self.code.exec_range()
    }

    /// Bytes of code memory in use.
    pub fn code_used(&self) -> usize {
        self.code.used()
    }

    fn compile_with(
        &mut self,
        sig: Signature,
        build: impl FnOnce(FunctionBuilder<'_>, TargetFrontendConfig),
    ) -> Result<Compiled, CompileError> {
        self.comp.build(sig, build)?;
        Jit::place(&mut self.code, self.comp.code_bytes())
    }
}

impl Drop for Jit {
    fn drop(&mut self) {
        // Its code memory goes away: the fault handler must stop treating it as compiled code.
        crate::fault::unregister_code(self.code.exec_range());
    }
}

/// Runs the unit at `code` on `env` through the trampoline; returns its exit word.
///
/// # Safety
/// `trampoline` must be [`Jit::trampoline`] and `code` a live unit (or the stub) of the same
/// `Jit`, compiled for memory that `env.guest_base`/the direct map still describe.
pub unsafe fn enter(trampoline: u64, env: &mut abi::CpuState, code: u64) -> u64 {
    // SAFETY: the trampoline was compiled with the SystemV convention and this signature.
    let f: extern "C" fn(*mut abi::CpuState, u64) -> u64 =
        unsafe { std::mem::transmute(trampoline as usize) };
    f(env, code)
}
