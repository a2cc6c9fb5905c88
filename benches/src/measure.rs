//! Timing runs (interleaved across engines), checksum agreement, xlat's `-d stats` line and
//! (with `--host-insns`) host instructions per guest instruction (crate::hostinsns).

use std::process::Stdio;
use std::time::Instant;

use crate::Ctx;
use crate::hostinsns::{self, HostInsns};
use crate::workloads::{Engine, Workload};

/// Everything measured for one workload.
#[derive(Debug)]
pub struct Measured {
    /// The workload's name.
    pub name: &'static str,
    /// Median seconds per engine, in the engines' order.
    pub median: Vec<(Engine, f64)>,
    /// The agreed stdout (checksum line).
    pub checksum: String,
    /// From `xlat -d stats`: translated units, median compile µs, guest instructions executed.
    pub stats: Option<Stats>,
    /// Host instructions per guest instruction (steady state), or why there is no figure.
    pub host_per_guest: Result<HostInsns, String>,
}

/// xlat's `stats:` line on stderr.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Translated units compiled.
    pub units_compiled: Option<u64>,
    /// Median compile time per unit in µs.
    pub compile_us_median: Option<f64>,
    /// Guest instructions executed.
    pub guest_insns: Option<u64>,
}

/// Runs `w` `runs` times on each engine, interleaved, checking every output.
pub fn measure(
    ctx: &Ctx,
    w: &Workload,
    engines: &[Engine],
    runs: usize,
    host_insns: bool,
) -> Result<Measured, String> {
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); engines.len()];
    let mut reference: Option<(Engine, Vec<u8>)> = None;
    for _ in 0..runs {
        for (i, &e) in engines.iter().enumerate() {
            let mut c = w.command(ctx, e, &[]);
            c.stdin(Stdio::null())
                .stderr(Stdio::piped())
                .stdout(Stdio::piped());
            let t0 = Instant::now();
            let out = c
                .output()
                .map_err(|err| format!("{} on {}: cannot start: {err}", w.name, e.name()))?;
            let secs = t0.elapsed().as_secs_f64();
            if !out.status.success() {
                return Err(format!(
                    "{} on {} failed ({}):\n{}",
                    w.name,
                    e.name(),
                    out.status,
                    tail(&String::from_utf8_lossy(&out.stderr))
                ));
            }
            match &reference {
                None => reference = Some((e, out.stdout)),
                Some((re, want)) if *want != out.stdout => {
                    return Err(format!(
                        "{}: checksum mismatch, {} printed {:?} but {} printed {:?}",
                        w.name,
                        re.name(),
                        String::from_utf8_lossy(want).trim(),
                        e.name(),
                        String::from_utf8_lossy(&out.stdout).trim()
                    ));
                }
                Some(_) => {}
            }
            times[i].push(secs);
        }
    }
    let median = engines
        .iter()
        .zip(&mut times)
        .map(|(&e, t)| (e, median(t)))
        .collect();
    let checksum = reference
        .map(|(_, o)| String::from_utf8_lossy(&o).trim().to_string())
        .unwrap_or_default();
    let stats = engines
        .contains(&Engine::Xlat)
        .then(|| xlat_stats(ctx, w))
        .flatten();
    let host_per_guest = if !host_insns {
        Err("not measured (--host-insns)".into())
    } else if hostinsns::sizes(w.name).is_none() {
        Err("no size parameter".into())
    } else {
        eprintln!(
            "xlat-benches: {}: counting instructions under qemu (minutes)",
            w.name
        );
        hostinsns::measure(ctx, w)
    };
    Ok(Measured {
        name: w.name,
        median,
        checksum,
        stats,
        host_per_guest,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// One run with `-d stats`; parses `stats: key=value ...` from stderr.
fn xlat_stats(ctx: &Ctx, w: &Workload) -> Option<Stats> {
    let out = w
        .command(ctx, Engine::Xlat, &["-d", "stats"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .ok()?;
    parse_stats(&String::from_utf8_lossy(&out.stderr))
}

/// Parses the last statistics line on stderr, `stats: key=value ...` (the `Display` form of
/// `xlat_backend::Stats`); unknown keys are ignored.
pub fn parse_stats(stderr: &str) -> Option<Stats> {
    let body = stderr
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("stats:"))?;
    let mut s = Stats::default();
    for kv in body.split_whitespace() {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        match k {
            "units_compiled" => s.units_compiled = v.parse().ok(),
            "compile_us_median" => s.compile_us_median = v.parse().ok(),
            "guest_insns_executed" => s.guest_insns = v.parse().ok(),
            _ => {}
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_agreed_stats_line() {
        let s = parse_stats("noise\nstats: units_compiled=812 compile_us_median=41.5 guest_insns_executed=123456789\n")
            .expect("a stats line");
        assert_eq!(s.units_compiled, Some(812));
        assert_eq!(s.compile_us_median, Some(41.5));
        assert_eq!(s.guest_insns, Some(123_456_789));
        assert!(parse_stats("no stats here").is_none());
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
