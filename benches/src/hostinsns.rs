//! Host instructions per guest instruction (`--host-insns`), counted without hardware counters.
//!
//! This VM has no PMU (`perf stat -e instructions` is "not supported"), and valgrind cannot run
//! xlat (it refuses xlat's 512 GiB guest address-space reservation; its own limit is 64 GiB).
//! So instructions are counted by running the program under qemu's own user-mode emulator
//! with `-d nochain,exec,in_asm`: every translation block is logged once with its instructions
//! (`IN:`) and every execution with its pc (`Trace`), so the executed instructions are the sum
//! over executions of the block's length. The same counter run under `qemu-riscv64` gives the
//! guest instructions, independently of xlat's own `-d stats` count.
//!
//! Start-up and compile costs are removed by running each workload at two sizes N1 < N2:
//! host/guest = (host(N2) - host(N1)) / (guest(N2) - guest(N1)). The native x86-64 build of
//! the same C, counted the same way, is the sanity anchor (x86-64 insns per riscv64 insn of
//! the same source). Each xlat count takes about a minute (qemu logs every block run, and
//! xlat's Cranelift start-up alone is ~30 M blocks), so this is opt-in.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::Ctx;
use crate::measure::{Stats, parse_stats};
use crate::workloads::{Engine, Workload};

/// The arguments for the two sizes, for the workloads that have a size. N1 is large enough
/// that every unit that gets compiled at N2 is compiled at N1 too (checked with `-d stats`).
pub fn sizes(name: &str) -> Option<([&'static str; 2], [&'static str; 2])> {
    match name {
        "intmark" => Some((["200", ""], ["300", ""])),
        "fpmark" => Some((["200", "50"], ["800", "50"])),
        "memory" => Some((["1", "100000"], ["2", "100000"])),
        _ => None,
    }
}

/// [`sizes`] for the x86user kernels (`xlat run` of the native x86-64 build): fpmark at 200
/// compiles one unit fewer than at 800 (a loop not yet hot), so it is measured at 400 and
/// 800, which compile the same units.
pub fn sizes_x86(name: &str) -> Option<([&'static str; 2], [&'static str; 2])> {
    match name {
        "fpmark" => Some((["400", "50"], ["800", "50"])),
        _ => sizes(name),
    }
}

/// What `--host-insns` found for one workload.
#[derive(Debug, Clone, Copy)]
pub struct HostInsns {
    /// xlat's host instructions per guest instruction (steady state).
    pub xlat: f64,
    /// The native x86-64 build's instructions per guest instruction (the anchor).
    pub native: f64,
}

/// Counts at both sizes and forms the ratios; `Err` says why there is no figure.
pub fn measure(ctx: &Ctx, w: &Workload) -> Result<HostInsns, String> {
    let (n1, n2) = sizes(w.name).ok_or("no size parameter")?;
    let size = |n: &[&'static str; 2]| -> Vec<&'static str> {
        n.iter().copied().filter(|a| !a.is_empty()).collect()
    };
    let (n1, n2) = (size(&n1), size(&n2));
    let run = |emu: &str, e: Engine, n: &[&str]| {
        let c = w.command_with_args(ctx, e, n);
        let mut p = Command::new(emu);
        p.args(["-d", "nochain,exec,in_asm"]);
        if e != Engine::Qemu {
            p.arg(c.get_program()); // qemu-riscv64's own command is already `GUEST ARGS`
        }
        p.args(c.get_args()).current_dir(&ctx.dir);
        count(p)
    };
    // The subtraction removes start-up and compile cost only if both sizes compile the same.
    let (s1, s2) = (xlat_stats(ctx, w, &n1), xlat_stats(ctx, w, &n2));
    if s1.units_compiled != s2.units_compiled || s1.units_compiled.is_none() {
        return Err(format!(
            "units compiled differ between sizes {n1:?} and {n2:?}: {:?} vs {:?}",
            s1.units_compiled, s2.units_compiled
        ));
    }
    let guest = |n| run(w.qemu, Engine::Qemu, n);
    let host = |e, n| run("qemu-x86_64", e, n);
    let g = guest(&n2)? - guest(&n1)?;
    if g <= 0 {
        return Err(format!(
            "guest instructions did not grow from {n1:?} to {n2:?}"
        ));
    }
    if let (Some(a), Some(b)) = (s1.guest_insns, s2.guest_insns) {
        // xlat's own count (whole units) against qemu's: a sanity check of both.
        let own = b as f64 - a as f64;
        eprintln!(
            "xlat-benches: {}: guest insns N2-N1: qemu {g}, xlat -d stats {own}",
            w.name
        );
    }
    let x = host(Engine::Xlat, &n2)? - host(Engine::Xlat, &n1)?;
    let n = host(Engine::Native, &n2)? - host(Engine::Native, &n1)?;
    Ok(HostInsns {
        xlat: x as f64 / g as f64,
        native: n as f64 / g as f64,
    })
}

/// Host instructions per guest instruction for an x86-64 guest `exe` (the x86user kernels):
/// the guest count is the native binary's own instruction count (qemu-x86_64's block log of
/// the native run, the same counter as for the host side), the host count is that of
/// `xlat run --accel jit exe` under the same counter; both at sizes `n1` < `n2`, subtracted.
pub fn measure_x86(
    ctx: &Ctx,
    exe: &std::path::Path,
    n1: &[&str],
    n2: &[&str],
) -> Result<f64, String> {
    let xlat_cmd = |n: &[&str], pre: &[&str]| {
        let mut c = Command::new(&ctx.xlat);
        c.arg("run")
            .args(pre)
            .args(["--accel", "jit"])
            .arg(exe)
            .args(n);
        c
    };
    let stats = |n: &[&str]| {
        let mut c = xlat_cmd(n, &["-d", "stats"]);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .ok()
            .and_then(|o| parse_stats(&String::from_utf8_lossy(&o.stderr)))
            .unwrap_or_default()
    };
    // The background compiler makes the compiled set vary a little from run to run: the
    // sizes (first argument) are doubled until both compile the same number of units.
    let mut scaled = None;
    let mut last = (None, None);
    for k in [1u64, 2, 4, 8] {
        let scale = |n: &[&str]| -> Vec<String> {
            n.iter()
                .enumerate()
                .map(|(i, a)| match (i, a.parse::<u64>()) {
                    (0, Ok(v)) => (v * k).to_string(),
                    _ => (*a).to_string(),
                })
                .collect()
        };
        let (a, b) = (scale(n1), scale(n2));
        let ra: Vec<&str> = a.iter().map(String::as_str).collect();
        let rb: Vec<&str> = b.iter().map(String::as_str).collect();
        let (s1, s2) = (stats(&ra), stats(&rb));
        if s1.units_compiled == s2.units_compiled && s1.units_compiled.is_some() {
            scaled = Some((a, b, s1, s2));
            break;
        }
        last = (s1.units_compiled, s2.units_compiled);
    }
    let Some((a, b, s1, s2)) = scaled else {
        return Err(format!(
            "units compiled differ between sizes {n1:?} and {n2:?} (up to 8x): {:?} vs {:?}",
            last.0, last.1
        ));
    };
    let n1: Vec<&str> = a.iter().map(String::as_str).collect();
    let n2: Vec<&str> = b.iter().map(String::as_str).collect();
    let (n1, n2) = (&n1[..], &n2[..]);
    let counted = |c: Command| {
        let mut p = Command::new("qemu-x86_64");
        p.args(["-d", "nochain,exec,in_asm"])
            .arg(c.get_program())
            .args(c.get_args())
            .current_dir(&ctx.dir);
        count(p)
    };
    let native = |n: &[&str]| {
        let mut c = Command::new(exe);
        c.args(n);
        counted(c)
    };
    let g = native(n2)? - native(n1)?;
    if g <= 0 {
        return Err(format!(
            "guest instructions did not grow from {n1:?} to {n2:?}"
        ));
    }
    if let (Some(a), Some(b)) = (s1.guest_insns, s2.guest_insns) {
        eprintln!(
            "xlat-benches: {}: guest insns N2-N1: native {g}, xlat -d stats {}",
            exe.display(),
            b as f64 - a as f64
        );
    }
    let x = counted(xlat_cmd(n2, &[]))? - counted(xlat_cmd(n1, &[]))?;
    Ok(x as f64 / g as f64)
}

/// Runs `p` (an emulator with block logging on stderr) and returns the instructions executed.
fn count(mut p: Command) -> Result<i64, String> {
    let what = format!("{:?}", p);
    let mut child = p
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let err = child.stderr.take().ok_or("no stderr pipe")?;
    let total = sum_log(BufReader::with_capacity(1 << 20, err));
    let st = child.wait().map_err(|e| format!("{what}: {e}"))?;
    if !st.success() {
        return Err(format!("{what} failed ({st})"));
    }
    total
}

/// Sums a `-d exec,in_asm` log: each `Trace` line adds the length of the block at its pc.
fn sum_log(mut r: impl BufRead) -> Result<i64, String> {
    let mut len: HashMap<u64, i64> = HashMap::new();
    let (mut block, mut block_pc, mut total, mut unknown) = (None::<i64>, 0u64, 0i64, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("reading the log: {e}")),
        }
        if let Some(rest) = line.strip_prefix(b"Trace ") {
            if let Some(n) = block.take() {
                len.insert(block_pc, n);
            }
            match trace_pc(rest).and_then(|pc| len.get(&pc)) {
                Some(n) => total += n,
                None => unknown += 1,
            }
        } else if line.starts_with(b"IN:") {
            if let Some(n) = block.replace(0) {
                len.insert(block_pc, n); // translated but not run (yet)
            }
        } else if let (Some(n), true) = (block.as_mut(), line.starts_with(b"0x")) {
            if *n == 0 {
                block_pc = hex(&line[2..]).unwrap_or(0);
            }
            *n += 1;
        }
    }
    if unknown > 0 {
        eprintln!("xlat-benches: {unknown} block runs without a logged translation (not counted)");
    }
    Ok(total)
}

/// The pc in `0: 0x7f.. [00000000/0000000000010b08/0202c078/00000200] sym`.
fn trace_pc(rest: &[u8]) -> Option<u64> {
    let open = rest.iter().position(|&c| c == b'[')?;
    let f = &rest[open + 1..];
    let slash = f.iter().position(|&c| c == b'/')?;
    hex(&f[slash + 1..])
}

/// Leading hex digits of `s`.
fn hex(s: &[u8]) -> Option<u64> {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_hexdigit())
        .unwrap_or(s.len());
    u64::from_str_radix(std::str::from_utf8(&s[..end]).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_block_lengths_over_executions() {
        let log = "----------------\nIN: _start\n0x00010b08:  022000ef  jal ra,34\n\n\
            Trace 0: 0x7f03fc000100 [00000000/0000000000010b08/0202c078/00000200] _start\n\
            ----------------\nIN: \n0x00010b2a:  00067197  auipc gp,103\n\
            0x00010b2e:  08e18193  addi gp,gp,142\n0x00010b32:  8082  ret\n\n\
            Trace 0: 0x7f03fc000200 [00000000/0000000000010b2a/0202c078/00000200] \n\
            Trace 0: 0x7f03fc000200 [00000000/0000000000010b2a/0202c078/00000200] \n\
            Trace 0: 0x7f03fc000100 [00000000/0000000000010b08/0202c078/00000200] _start\n\
            Trace 0: 0x7f03fc000300 [00000000/0000000000099999/0202c078/00000200] \n";
        // 1 + 3 + 3 + 1; the last block was never logged.
        assert_eq!(sum_log(log.as_bytes()), Ok(8));
    }

    #[test]
    fn parses_the_trace_pc() {
        assert_eq!(
            trace_pc(b"0: 0x7f [00000000/00007fec56b85770/1040c0b3/00000200] x"),
            Some(0x7fec_56b8_5770)
        );
        assert_eq!(trace_pc(b"garbage"), None);
    }
}

/// xlat's `-d stats` at the given size.
fn xlat_stats(ctx: &Ctx, w: &Workload, size: &[&str]) -> Stats {
    let mut c = w.command_with_args(ctx, Engine::Xlat, size);
    let args: Vec<_> = c.get_args().skip(1).map(|a| a.to_os_string()).collect();
    c = Command::new(c.get_program());
    c.args(["run", "-d", "stats"])
        .args(args)
        .current_dir(&ctx.dir);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .ok()
        .and_then(|o| parse_stats(&String::from_utf8_lossy(&o.stderr)))
        .unwrap_or_default()
}
