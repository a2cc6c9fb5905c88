//! What the machines crate's integration tests share: QEMU's own riscv64 `virt` device tree
//! decoded by dtc (the reference the board's device-tree nodes are compared with).

use std::path::Path;
use std::process::Command;

/// `dtc -I dtb -O dts P`: the device tree at `p` as source text.
pub fn dtc(p: &Path) -> String {
    let o = Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts"])
        .arg(p)
        .output()
        .unwrap();
    assert!(o.status.success(), "dtc rejects {}", p.display());
    String::from_utf8(o.stdout).unwrap()
}

/// QEMU's `virt` device tree (`qemu-system-riscv64 -M virt,dumpdtb= ARGS`, written into `dir`)
/// decoded by dtc; `None`, with a line saying why, when QEMU or dtc is missing.
pub fn qemu_virt_dts(dir: &Path, args: &[&str]) -> Option<String> {
    let q = dir.join("qemu.dtb");
    let ran = Command::new("qemu-system-riscv64")
        .args(["-M", &format!("virt,dumpdtb={}", q.display())])
        .args(args)
        .args(["-display", "none"])
        .output();
    if !ran.is_ok_and(|o| o.status.success()) || Command::new("dtc").arg("-v").output().is_err() {
        eprintln!(
            "skipped: qemu-system-riscv64 or dtc missing (scripts/setup.d/40-riscv-system.sh)"
        );
        return None;
    }
    Some(dtc(&q))
}
