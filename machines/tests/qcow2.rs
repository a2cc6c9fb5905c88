//! qcow2 against QEMU: images made by `qemu-img create` and written by `qemu-io` are read by
//! xlat; images written by xlat are checked by `qemu-img check` and read back by `qemu-io`
//! (`read -P`) and `qemu-img convert -O raw`.

#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::path::{Path, PathBuf};
use std::process::Command;
use xlat_machines::devices::virtio_blk::BlockBackend;
use xlat_machines::qcow2::Qcow2;

fn have_qemu_img() -> bool {
    let ok = |t: &str| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(ok("qemu-img") && ok("qemu-io")) {
        eprintln!("skipped: qemu-img/qemu-io not installed (scripts/setup.d/40-riscv-system.sh)");
        return false;
    }
    true
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xlat-qcow2-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd).args(args).output().unwrap();
    let s = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{cmd} {args:?} failed: {s}");
    s
}

fn create(path: &Path, opts: &str, size: &str) {
    run(
        "qemu-img",
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            opts,
            path.to_str().unwrap(),
            size,
        ],
    );
}

fn qemu_io(path: &Path, cmd: &str) -> String {
    run(
        "qemu-io",
        &["-f", "qcow2", "-c", cmd, path.to_str().unwrap()],
    )
}

/// Reads what qemu-io wrote, for v2 (compat=0.10) and v3 images and a small cluster size.
#[test]
fn reads_images_written_by_qemu() {
    if !have_qemu_img() {
        return;
    }
    let d = tmpdir("read");
    for opts in ["compat=0.10", "compat=1.1", "compat=1.1,cluster_size=4096"] {
        let p = d.join("a.qcow2");
        let _ = std::fs::remove_file(&p);
        create(&p, opts, "8M");
        qemu_io(&p, "write -P 0xab 0 64k");
        qemu_io(&p, "write -P 0x5a 3000000 5000");
        qemu_io(&p, "write -z 16k 4k"); // zero cluster/flag inside written data
        let mut q = Qcow2::open(&p, true).unwrap();
        assert_eq!(q.len(), 8 << 20);
        let mut buf = vec![0xeeu8; 8 << 20];
        q.read_at(&mut buf, 0).unwrap();
        let mut want = vec![0u8; 8 << 20];
        want[..65536].fill(0xab);
        want[16384..20480].fill(0);
        want[3_000_000..3_005_000].fill(0x5a);
        assert!(buf == want, "{opts}: contents differ from qemu-io's writes");
        // reads past the end fail
        assert!(q.read_at(&mut [0u8; 512], (8 << 20) - 256).is_err());
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Writes through xlat (partial clusters, across L2 tables), then lets QEMU check and read.
#[test]
fn writes_pass_qemu_img_check() {
    if !have_qemu_img() {
        return;
    }
    let d = tmpdir("write");
    for opts in [
        "compat=0.10",
        "compat=1.1",
        "compat=1.1,cluster_size=512,refcount_bits=64",
    ] {
        let p = d.join("w.qcow2");
        let _ = std::fs::remove_file(&p);
        create(&p, opts, "64M");
        qemu_io(&p, "write -P 0x11 1M 128k");
        let mut q = Qcow2::open(&p, false).unwrap();
        let writes: [(u64, usize, u8); 5] = [
            (0, 512, 0x01),
            (1_000_000, 100_000, 0x02), // into and past qemu's data
            (33 << 20, 70_000, 0x03),   // another L2 table for small clusters
            ((64 << 20) - 4096, 4096, 0x04),
            (5 << 20, 1, 0x05),
        ];
        for &(off, len, v) in &writes {
            q.write_at(&vec![v; len], off).unwrap();
        }
        q.flush().unwrap();
        assert!(q.write_at(&[0], 64 << 20).is_err());
        drop(q);
        let check = run("qemu-img", &["check", p.to_str().unwrap()]);
        assert!(check.contains("No errors were found"), "{opts}: {check}");
        assert!(!check.contains("leaked"), "{opts}: {check}");
        let mut want = vec![0u8; 64 << 20];
        want[1 << 20..(1 << 20) + 131072].fill(0x11);
        for &(off, len, v) in &writes {
            want[off as usize..off as usize + len].fill(v);
        }
        let raw = d.join("w.raw");
        run(
            "qemu-img",
            &[
                "convert",
                "-O",
                "raw",
                p.to_str().unwrap(),
                raw.to_str().unwrap(),
            ],
        );
        assert!(
            std::fs::read(&raw).unwrap() == want,
            "{opts}: qemu reads other data"
        );
        let out = qemu_io(&p, "read -P 0x02 1000000 100000");
        assert!(!out.contains("Pattern verification failed"), "{out}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn malformed_images_are_errors() {
    let d = tmpdir("bad");
    let p = d.join("bad.qcow2");
    std::fs::write(&p, b"QFI\xfb\0\0\0\x07").unwrap();
    assert!(Qcow2::open(&p, true).is_err());
    std::fs::write(&p, b"not an image at all").unwrap();
    assert!(Qcow2::open(&p, true).is_err());
    assert!(!Qcow2::probe(&p));
    let mut h = vec![0u8; 512];
    h[..4].copy_from_slice(b"QFI\xfb");
    h[7] = 3;
    h[23] = 16;
    h[24..32].copy_from_slice(&(1u64 << 40).to_be_bytes()); // huge size, empty L1
    std::fs::write(&p, &h).unwrap();
    assert!(Qcow2::open(&p, true).is_err());
    let _ = std::fs::remove_dir_all(&d);
}

/// Compressed clusters written by `qemu-img convert -c` read back as the source raw image.
#[test]
fn reads_compressed_images() {
    if !have_qemu_img() {
        return;
    }
    let d = tmpdir("comp");
    let raw = d.join("src.raw");
    let mut data = vec![0u8; 4 << 20];
    for (i, b) in data.iter_mut().enumerate() {
        // compressible but not trivial: a counter in some regions, zeros elsewhere
        if (i >> 16) % 3 != 1 {
            *b = ((i / 7) ^ (i >> 11)) as u8;
        }
    }
    std::fs::write(&raw, &data).unwrap();
    for opts in ["compat=0.10", "compat=1.1,cluster_size=4096"] {
        let q = d.join("c.qcow2");
        let _ = std::fs::remove_file(&q);
        let (r, qs) = (raw.to_str().unwrap(), q.to_str().unwrap());
        run(
            "qemu-img",
            &[
                "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", opts, r, qs,
            ],
        );
        assert!(
            std::fs::metadata(&q).unwrap().len() < (2 << 20),
            "really compressed"
        );
        let mut img = Qcow2::open(&q, false).unwrap();
        let mut buf = vec![0u8; data.len()];
        img.read_at(&mut buf, 0).unwrap();
        assert!(buf == data, "{opts}: compressed contents differ");
        let mut part = vec![0u8; 1000];
        img.read_at(&mut part, 70_000).unwrap();
        assert_eq!(part, data[70_000..71_000]);
        assert!(
            img.write_at(&[1], 0).is_err(),
            "writes into compressed clusters refused"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}
