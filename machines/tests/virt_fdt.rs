//! The board's device tree against QEMU's: `qemu-system-riscv64 -M virt,dumpdtb= -smp 2`
//! decoded by dtc, compared node by node and property by property (phandles resolved to node
//! paths, so numbering may differ). Only the hart's ISA/MMU description may differ (it
//! describes what xlat implements).

#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

mod common;

use common::{dtc, qemu_virt_dts};
use std::collections::BTreeMap;
use xlat_machines::virt_fdt::VirtFdt;

type Tree = BTreeMap<String, BTreeMap<String, String>>;

/// Parses dtc's output into path -> property -> value, with phandle references as paths.
fn parse(dts: &str) -> Tree {
    let mut tree = Tree::new();
    let mut path: Vec<String> = Vec::new();
    for l in dts.lines().map(str::trim) {
        if let Some(name) = l.strip_suffix(" {") {
            path.push(if name == "/" {
                String::new()
            } else {
                name.to_string()
            });
            tree.entry(path.join("/")).or_default();
        } else if l == "};" {
            path.pop();
        } else if let (Some(p), false) = (l.strip_suffix(';'), path.is_empty()) {
            let (k, v) = p.split_once(" = ").unwrap_or((p, ""));
            tree.get_mut(&path.join("/"))
                .unwrap()
                .insert(k.into(), v.into());
        }
    }
    let num = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let cells = |v: &str| {
        v.trim_matches(['<', '>'])
            .split_whitespace()
            .map(num)
            .collect::<Vec<_>>()
    };
    let ph: BTreeMap<u32, String> = tree
        .iter()
        .filter_map(|(p, props)| Some((cells(props.get("phandle")?)[0], p.clone())))
        .collect();
    let name = |c: u32| ph.get(&c).cloned().unwrap_or(format!("?{c}"));
    for props in tree.values_mut() {
        props.remove("phandle");
        for k in ["interrupt-parent", "regmap", "cpu"] {
            if let Some(v) = props.get_mut(k) {
                *v = name(cells(v)[0]);
            }
        }
        if let Some(v) = props.get_mut("interrupts-extended") {
            let c = cells(v);
            *v = c
                .chunks(2)
                .map(|p| format!("{} {}", name(p[0]), p[1]))
                .collect::<Vec<_>>()
                .join(", ");
        }
    }
    tree
}

#[test]
fn device_tree_matches_qemu_virt() {
    let dir = std::env::temp_dir().join(format!("xlat-virt-fdt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(qemu) = qemu_virt_dts(&dir, &["-smp", "2", "-m", "256M"]) else {
        return;
    };
    let qemu = parse(&qemu);
    let ours_p = dir.join("ours.dtb");
    std::fs::write(&ours_p, VirtFdt::qemu_like(2, 256 << 20).build().unwrap()).unwrap();
    let ours = parse(&dtc(&ours_p));
    let mut checked = 0;
    for (path, props) in &ours {
        let theirs = qemu
            .get(path)
            .unwrap_or_else(|| panic!("QEMU has no node {path}"));
        for (k, v) in props {
            if k == "riscv,isa" || k == "mmu-type" {
                assert!(theirs.contains_key(k), "{path}: {k}");
                continue;
            }
            assert_eq!(theirs.get(k), Some(v), "{path}: property {k}");
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} properties compared");
    for must in [
        "/soc/plic@c000000",
        "/soc/clint@2000000",
        "/cpus/cpu@1/interrupt-controller",
    ] {
        assert!(ours.contains_key(must), "{must}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
