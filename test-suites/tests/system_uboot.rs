//! Debian trixie's U-Boot (u-boot-qemu, the qemu-riscv64_smode build, from
//! scripts/setup.d/43-uboot.sh) runs in S-mode under OpenSBI fw_jump: under
//! qemu-system-riscv64 and under `xlat system` it must reach its `=>` prompt through the
//! serial console, and answer `version` typed on stdin with the same version line.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xlat_test_suites::{cache_dir, have, xlat_bin};

const FW_JUMP: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";
const TIMEOUT: Duration = Duration::from_secs(90);

/// A machine on a pipe: its console output so far, collected by a thread.
struct Console {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Console {
    fn start(cmd: &mut Command) -> Console {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the machine");
        let mut so = child.stdout.take().expect("stdout");
        let out = Arc::new(Mutex::new(Vec::new()));
        let o = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = so.read(&mut buf) {
                if n == 0 {
                    break;
                }
                o.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Console { child, out }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Waits until the output after byte `from` contains `what`; returns where it ends.
    fn wait_for(&mut self, from: usize, what: &str, t0: Instant) -> usize {
        loop {
            let t = self.text();
            if let Some(i) = t.get(from..).and_then(|s| s.find(what)) {
                return from + i + what.len();
            }
            let exited = self.child.try_wait().ok().flatten();
            if t0.elapsed() > TIMEOUT || exited.is_some() {
                let _ = self.child.kill();
                panic!(
                    "no '{what}' ({exited:?}, {:?}); console:\n{t}",
                    t0.elapsed()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, s: &[u8]) {
        let i = self.child.stdin.as_mut().expect("stdin");
        i.write_all(s).expect("write to the console");
        i.flush().expect("flush the console");
    }

    /// Quits with the QEMU escape Ctrl-A x (both machines know it), else kills.
    fn quit(mut self) {
        let _ = self.child.stdin.as_mut().map(|i| i.write_all(b"\x01x"));
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Boots U-Boot, stops its autoboot, types `version`; returns the lines it answered with.
fn version_lines(cmd: &mut Command) -> Vec<String> {
    let t0 = Instant::now();
    let mut c = Console::start(cmd);
    let at = c.wait_for(0, "Hit any key to stop autoboot", t0);
    c.send(b"\r");
    let at = c.wait_for(at, "=> ", t0);
    c.send(b"version\r");
    let at = c.wait_for(at, "version", t0);
    let end = c.wait_for(at, "=> ", t0);
    let t = c.text();
    c.quit();
    t[at..end - 3]
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn debian_uboot_reaches_its_prompt_and_answers_version() {
    let uboot = cache_dir().join("riscv64/u-boot/u-boot.bin");
    for p in [&uboot, &std::path::PathBuf::from(FW_JUMP)] {
        if !p.exists() {
            eprintln!(
                "skipping: {} is missing (scripts/setup.sh fetches it)",
                p.display()
            );
            return;
        }
    }
    if !have("qemu-system-riscv64") {
        eprintln!("skipping: qemu-system-riscv64 is not installed");
        return;
    }
    let q = version_lines(
        Command::new("qemu-system-riscv64")
            .args(["-M", "virt", "-m", "512M", "-nographic", "-bios", FW_JUMP])
            .arg("-kernel")
            .arg(&uboot),
    );
    assert!(
        q.first().is_some_and(|l| l.starts_with("U-Boot 20")),
        "qemu's answer: {q:?}"
    );
    let x = version_lines(
        Command::new(xlat_bin())
            .args([
                "system",
                "--machine",
                "virt",
                "-m",
                "512M",
                "--bios",
                FW_JUMP,
            ])
            .arg("--kernel")
            .arg(&uboot),
    );
    assert_eq!(x, q, "xlat's answer to `version` differs from qemu's");
}
