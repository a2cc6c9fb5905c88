//! The printed table and benches/RESULTS.md.

use std::path::Path;
use std::process::Command;

use crate::Ctx;
use crate::measure::Measured;
use crate::workloads::{Engine, Workload};

/// A Markdown table: medians per engine, ratios, xlat's compile stats and host/guest insns.
pub fn table(results: &[Measured], engines: &[Engine]) -> String {
    let mut head = String::from("| workload |");
    let mut rule = String::from("|---|");
    for e in engines {
        head += &format!(" {} median s |", e.name());
        rule += "---:|";
    }
    head += " qemu/xlat | native/xlat | units compiled | compile µs (median) | host insns / guest insn |";
    rule += "---:|---:|---:|---:|---:|";
    let mut s = format!("{head}\n{rule}\n");
    for r in results {
        let get = |e: Engine| r.median.iter().find(|(x, _)| *x == e).map(|&(_, t)| t);
        let ratio = |num: Option<f64>, den: Option<f64>| match (num, den) {
            (Some(n), Some(d)) if d > 0.0 => format!("{:.2}", n / d),
            _ => "n/a".into(),
        };
        s += &format!("| {} |", r.name);
        for &e in engines {
            s += &format!(" {:.3} |", get(e).unwrap_or(f64::NAN));
        }
        let st = r.stats.clone().unwrap_or_default();
        s += &format!(
            " {} | {} | {} | {} | {} |\n",
            ratio(get(Engine::Qemu), get(Engine::Xlat)),
            ratio(get(Engine::Native), get(Engine::Xlat)),
            st.units_compiled.map_or("n/a".into(), |v| v.to_string()),
            st.compile_us_median
                .map_or("n/a".into(), |v| format!("{v:.1}")),
            match &r.host_per_guest {
                Ok(h) => format!("{:.2} (native {:.2})", h.xlat, h.native),
                Err(_) => "n/a".into(),
            },
        );
    }
    if results.iter().any(|r| r.host_per_guest.is_ok()) {
        s += "\nhost insns / guest insn: steady state, (count(N2) - count(N1)) / (guest insns(N2) - \
              guest insns(N1)), every count from qemu's -d exec,in_asm logs (benches/src/hostinsns.rs); \
              native: the x86-64 build of the same C, counted the same way.\n";
        for r in results {
            if let Err(why) = &r.host_per_guest {
                s += &format!("  {}: n/a ({why})\n", r.name);
            }
        }
    }
    s += "\nchecksums (identical on every engine and run):\n";
    for r in results {
        s += &format!("  {}: {}\n", r.name, r.checksum);
    }
    s
}

/// The whole RESULTS.md: when, where, which versions, the workloads and the table.
pub fn results_md(ctx: &Ctx, loads: &[Workload], table: &str, runs: usize) -> String {
    let sh = |c: &str| sh_in(&ctx.root, c);
    let mut s = String::from("# xlat benchmark results\n\n");
    s += "Written by `cargo run -p xlat-benches --release -- --write` (scripts/bench.sh). Median wall time of ";
    s += &format!("{runs} interleaved runs per engine; ratios >= 1.0 mean xlat is faster.\n\n");
    s += &format!("- date: {}\n", sh("date -u '+%Y-%m-%d %H:%M UTC'"));
    s += &format!(
        "- machine: {} ({} CPUs), {}\n",
        sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
        sh("nproc"),
        sh("uname -sr")
    );
    s += &format!("- xlat: commit {}\n", sh("git rev-parse --short HEAD"));
    s += &format!("- qemu: {}\n", sh("qemu-riscv64 --version | head -n1"));
    s += &format!(
        "- guest gcc: {}; host gcc: {}\n",
        sh("riscv64-linux-gnu-gcc --version | head -n1"),
        sh("gcc --version | head -n1")
    );
    s += &format!("- rustc: {}\n\n", sh("rustc --version"));
    s += "## Workloads\n\n";
    for w in loads {
        s += &format!(
            "- **{}**: {} (args: `{}`)\n",
            w.name,
            w.what,
            w.args.join(" ")
        );
    }
    s += "\n## Results\n\n";
    s += table;
    s
}

/// The trimmed stdout of `sh -c CMD` run in `dir`; empty when it cannot run.
pub fn sh_in(dir: &Path, cmd: &str) -> String {
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// [`sh_in`] the current directory.
pub fn sh(cmd: &str) -> String {
    sh_in(Path::new("."), cmd)
}

/// A section of benches/RESULTS.md between two marker lines: one `--write` replaces it, the
/// others keep it.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    pub begin: &'static str,
    pub end: &'static str,
}

impl Section {
    /// `old` with this section replaced by `new` (appended when it has none).
    pub fn replace(&self, old: &str, new: &str) -> String {
        match (old.find(self.begin), old.find(self.end)) {
            (Some(b), Some(e)) if e > b => {
                let rest = &old[e + self.end.len()..];
                let rest = rest.strip_prefix('\n').unwrap_or(rest);
                format!("{}{new}{rest}", &old[..b])
            }
            _ => {
                let mut s = old.to_string();
                if !s.is_empty() && !s.ends_with("\n\n") {
                    s += if s.ends_with('\n') { "\n" } else { "\n\n" };
                }
                s + new
            }
        }
    }

    /// This section of `md`, markers included, if it has one.
    pub fn extract<'a>(&self, md: &'a str) -> Option<&'a str> {
        let b = md.find(self.begin)?;
        let e = md[b..].find(self.end)? + b + self.end.len();
        Some(&md[b..e])
    }
}

#[cfg(test)]
mod tests {
    use super::Section;

    const S: Section = Section {
        begin: "<!-- s begin -->",
        end: "<!-- s end -->",
    };

    #[test]
    fn sections_are_replaced_in_place_and_appended() {
        let old = "# top\n\n<!-- s begin -->\nold\n<!-- s end -->\ntail\n";
        let new = "<!-- s begin -->\nnew\n<!-- s end -->\n";
        assert_eq!(
            S.replace(old, new),
            "# top\n\n<!-- s begin -->\nnew\n<!-- s end -->\ntail\n"
        );
        assert_eq!(S.replace("# top", new), format!("# top\n\n{new}"));
        assert_eq!(S.replace("", new), new);
        assert_eq!(
            S.extract(old),
            Some("<!-- s begin -->\nold\n<!-- s end -->")
        );
        assert_eq!(S.extract("# top\n"), None);
    }
}
