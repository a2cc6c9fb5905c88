//! The riscv64 `virt` pieces: `--drive` parsing and opening, virtio slots, and the virtio
//! device-tree nodes compared with QEMU's own (`-M virt,dumpdtb=`, decoded by dtc).

#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

mod common;

use common::{dtc, qemu_virt_dts};
use std::process::Command;
use std::sync::Arc;
use vm_memory::{GuestAddress, GuestMemoryMmap};
use xlat_machines::devices::LevelLine as Line;
use xlat_machines::riscv64_virt::{self as virt, DriveSpec, Format};
use xlat_softmmu::system::IrqLine;

#[test]
fn drive_options() {
    let d = DriveSpec::parse("file=a.img,format=qcow2,readonly=on,if=virtio,serial=x").unwrap();
    assert_eq!(d.file.to_str(), Some("a.img"));
    assert_eq!(
        (d.format, d.read_only, d.serial.as_str()),
        (Some(Format::Qcow2), true, "x")
    );
    assert_eq!(DriveSpec::parse("file=b").unwrap().format, None);
    for bad in [
        "format=raw",
        "file=a,format=vmdk",
        "file=a,if=ide",
        "file=a,bogus=1",
        "junk",
    ] {
        let e = DriveSpec::parse(bad).unwrap_err();
        assert!(!e.contains('\n') && e.contains(bad), "{bad}: {e}");
    }
    let e = DriveSpec::parse("file=/nonexistent/x.img")
        .unwrap()
        .open()
        .unwrap_err();
    assert!(
        e.starts_with("/nonexistent/x.img: ") && !e.contains('\n'),
        "{e}"
    );
    let dir = std::env::temp_dir().join(format!("xlat-virt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("fake.qcow2");
    std::fs::write(&p, b"QFI\xfb garbage").unwrap();
    let e = DriveSpec::parse(&format!("file={}", p.display()))
        .unwrap()
        .open()
        .unwrap_err();
    assert!(e.contains("qcow2") && !e.contains('\n'), "{e}");
    let raw = dir.join("disk.raw");
    std::fs::write(&raw, vec![0u8; 1 << 20]).unwrap();
    let ram = Arc::new(
        GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(virt::DRAM), 1 << 20)]).unwrap(),
    );
    let drives = vec![DriveSpec::parse(&format!("file={},format=raw", raw.display())).unwrap()];
    let mut asked = Vec::new();
    let slots = virt::virtio_devices(&drives, true, ram, |n| {
        asked.push(n);
        Arc::new(Line::default())
    })
    .unwrap();
    assert_eq!(asked, [1, 2]);
    assert_eq!(slots.len(), 2);
    assert_eq!((slots[0].base, slots[0].irq), (0x1000_1000, 1));
    assert_eq!((slots[1].base, slots[1].irq), (0x1000_2000, 2));
    assert_eq!(slots[0].device.read(8, 4), 2, "virtio-blk");
    assert_eq!(slots[0].device.read(0x100, 8), 2048, "capacity in sectors");
    assert_eq!(slots[1].device.read(8, 4), 4, "virtio-rng");
    let _ = std::fs::remove_dir_all(&dir);
}

fn dts_node(dts: &str, name: &str) -> Option<String> {
    let start = dts.find(&format!("{name} {{"))?;
    let end = start + dts[start..].find("};")?;
    Some(
        dts[start..end]
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[test]
fn virtio_nodes_match_qemu() {
    let dir = std::env::temp_dir().join(format!("xlat-virt-dtb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(qdts) = qemu_virt_dts(&dir, &[]) else {
        return;
    };
    let plic = dts_node(&qdts, "plic@c000000").unwrap();
    let ph = plic
        .lines()
        .find_map(|l| l.strip_prefix("phandle = <"))
        .unwrap();
    let ph = u32::from_str_radix(ph.trim_end_matches(">;").trim_start_matches("0x"), 16).unwrap();
    let mut f = vm_fdt::FdtWriter::new().unwrap();
    let root = f.begin_node("").unwrap();
    f.property_u32("#address-cells", 2).unwrap();
    f.property_u32("#size-cells", 2).unwrap();
    let soc = f.begin_node("soc").unwrap();
    for n in 0..virt::VIRTIO_COUNT {
        let base = virt::VIRTIO + n as u64 * virt::VIRTIO_SIZE;
        virt::fdt_virtio_node(&mut f, base, 1 + n as u32, ph).unwrap();
    }
    f.end_node(soc).unwrap();
    f.end_node(root).unwrap();
    let ours = dir.join("ours.dtb");
    std::fs::write(&ours, f.finish().unwrap()).unwrap();
    let odts = dtc(&ours);
    for n in 0..virt::VIRTIO_COUNT {
        let name = format!(
            "virtio_mmio@{:x}",
            virt::VIRTIO + n as u64 * virt::VIRTIO_SIZE
        );
        let want = dts_node(&qdts, &name).expect("QEMU has the node");
        assert_eq!(dts_node(&odts, &name), Some(want), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[derive(Debug, Default)]
struct Nop;
impl IrqLine for Nop {
    fn set_level(&self, _: bool) {}
}

fn lines() -> xlat_machines::virt_board::HartLines {
    let l = || Arc::new(Nop) as Arc<dyn IrqLine>;
    xlat_machines::virt_board::HartLines {
        msip: l(),
        mtip: l(),
        meip: l(),
        seip: l(),
    }
}

#[test]
fn board_loads_images_and_reports_errors() {
    use vm_memory::Bytes;
    use xlat_machines::virt_board::{VirtBoard, VirtConfig};
    let dir = std::env::temp_dir().join(format!("xlat-board-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ram = || {
        Arc::new(
            GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(virt::DRAM), 64 << 20)]).unwrap(),
        )
    };
    let k = dir.join("kernel.bin");
    let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    std::fs::write(&k, &payload).unwrap();
    let rd = dir.join("initrd");
    std::fs::write(&rd, b"initrd-bytes").unwrap();
    let cfg = VirtConfig {
        kernel: Some(k.clone()),
        initrd: Some(rd.clone()),
        append: "console=ttyS0".into(),
        rng: true,
        ..VirtConfig::default()
    };
    let m = ram();
    let b = VirtBoard::build(
        &cfg,
        m.clone(),
        &[lines(), lines()],
        Box::new(std::io::sink()),
    )
    .unwrap();
    assert_eq!(
        b.boot.pc,
        virt::DRAM,
        "raw kernel without firmware at the start of RAM"
    );
    let mut got = vec![0u8; payload.len()];
    m.read_slice(&mut got, GuestAddress(virt::DRAM)).unwrap();
    assert_eq!(got, payload);
    let magic: u32 = m.read_obj(GuestAddress(b.boot.dtb)).unwrap();
    assert_eq!(u32::from_be(magic), 0xd00d_feed, "device tree at a1");
    assert_eq!(b.boot.dtb % 0x20_0000, 0);
    let (s, e) = b.initrd.unwrap();
    assert_eq!(e - s, 12);
    assert!(e <= b.boot.dtb);
    let bases: Vec<u64> = b.regions.iter().map(|r| r.0).collect();
    assert_eq!(
        bases,
        [
            virt::TEST,
            virt::CLINT,
            virt::UART0,
            virt::PLIC,
            virt::VIRTIO
        ]
    );

    // with a firmware, the kernel goes 2 MiB in and the firmware is entered
    let fw = dir.join("fw.bin");
    std::fs::write(&fw, [0x73u8, 0, 0x50, 0x10]).unwrap();
    let cfg2 = VirtConfig {
        bios: Some(fw),
        ..cfg.clone()
    };
    let m = ram();
    let b = VirtBoard::build(&cfg2, m.clone(), &[lines()], Box::new(std::io::sink())).unwrap();
    assert_eq!(b.boot.pc, virt::DRAM);
    m.read_slice(&mut got, GuestAddress(virt::DRAM + 0x20_0000))
        .unwrap();
    assert_eq!(got, payload);

    // one-line errors
    let missing = VirtConfig {
        kernel: Some(dir.join("nope")),
        ..VirtConfig::default()
    };
    let e = VirtBoard::build(&missing, ram(), &[lines()], Box::new(std::io::sink())).unwrap_err();
    assert!(e.contains("nope") && !e.contains('\n'), "{e}");
    let elf = dir.join("bad.elf");
    std::fs::write(&elf, b"\x7fELF\x02\x01\x01junk").unwrap();
    let bad = VirtConfig {
        kernel: Some(elf),
        ..VirtConfig::default()
    };
    let e = VirtBoard::build(&bad, ram(), &[lines()], Box::new(std::io::sink())).unwrap_err();
    assert!(e.contains("bad.elf") && !e.contains('\n'), "{e}");
    let big = dir.join("big");
    std::fs::write(&big, vec![0u8; 70 << 20]).unwrap();
    let huge = VirtConfig {
        kernel: Some(big),
        ..VirtConfig::default()
    };
    let e = VirtBoard::build(&huge, ram(), &[lines()], Box::new(std::io::sink())).unwrap_err();
    assert!(e.contains("does not fit"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An ELF kernel lands at its physical addresses, entered at e_entry (image built by the
/// cross gcc; its bytes are checked against objcopy's raw dump).
#[test]
fn board_loads_elf_kernels() {
    use vm_memory::Bytes;
    use xlat_machines::virt_board::{VirtBoard, VirtConfig};
    let dir = std::env::temp_dir().join(format!("xlat-board-elf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("k.S");
    std::fs::write(
        &src,
        ".option norvc\n.globl _start\n.text\nnop\n_start: li a0, 0x1234\nj _start\n.data\n.word 0xcafef00d\n",
    )
    .unwrap();
    let elf = dir.join("k.elf");
    let built = Command::new("riscv64-linux-gnu-gcc")
        .args([
            "-nostdlib",
            "-static",
            "-Wl,-N",
            "-Wl,--build-id=none",
            "-Wl,-Ttext=0x80000000",
            "-Wl,-Tdata=0x80100000",
            "-o",
        ])
        .arg(&elf)
        .arg(&src)
        .output();
    if !built.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: riscv64-linux-gnu-gcc missing (scripts/setup.sh)");
        return;
    }
    let text = dir.join("text.bin");
    assert!(
        Command::new("riscv64-linux-gnu-objcopy")
            .args(["-O", "binary", "-j", ".text"])
            .arg(&elf)
            .arg(&text)
            .status()
            .unwrap()
            .success()
    );
    let text = std::fs::read(&text).unwrap();
    let m = Arc::new(
        GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(virt::DRAM), 64 << 20)]).unwrap(),
    );
    let cfg = VirtConfig {
        kernel: Some(elf),
        ..VirtConfig::default()
    };
    let b = VirtBoard::build(&cfg, m.clone(), &[lines()], Box::new(std::io::sink())).unwrap();
    assert_eq!(b.boot.pc, virt::DRAM + 4, "e_entry (_start after a nop)");
    let mut got = vec![0u8; text.len()];
    m.read_slice(&mut got, GuestAddress(virt::DRAM)).unwrap();
    assert_eq!(got, text);
    let w: u32 = m.read_obj(GuestAddress(0x8010_0000)).unwrap();
    assert_eq!(w, 0xcafe_f00d);
    let _ = std::fs::remove_dir_all(&dir);
}
