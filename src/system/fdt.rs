//! The device tree of the riscv64 `virt` board as this machine builds it (the nodes QEMU's
//! `virt` has for the devices present), for firmware (OpenSBI) and Linux.

use vm_fdt::FdtWriter;

/// What the tree describes.
#[derive(Debug, Clone)]
pub struct VirtFdt {
    /// RAM base and size.
    pub ram: (u64, u64),
    /// Kernel command line.
    pub bootargs: String,
    /// Initial ramdisk, physical start and end.
    pub initrd: Option<(u64, u64)>,
    /// The ISA string for the hart.
    pub isa: String,
}

const INTC: u32 = 1;
const PLIC: u32 = 2;
const TEST: u32 = 3;

/// Builds the flattened device tree.
pub fn build(v: &VirtFdt) -> Result<Vec<u8>, String> {
    build_inner(v).map_err(|e| format!("device tree: {e}"))
}

fn build_inner(v: &VirtFdt) -> Result<Vec<u8>, vm_fdt::Error> {
    let mut f = FdtWriter::new()?;
    let root = f.begin_node("")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    f.property_string("compatible", "riscv-virtio")?;
    f.property_string("model", "riscv-virtio,qemu")?;

    let chosen = f.begin_node("chosen")?;
    f.property_string("stdout-path", "/soc/serial@10000000")?;
    f.property_string("bootargs", &v.bootargs)?;
    if let Some((s, e)) = v.initrd {
        f.property_u64("linux,initrd-start", s)?;
        f.property_u64("linux,initrd-end", e)?;
    }
    f.end_node(chosen)?;

    let mem = f.begin_node(&format!("memory@{:x}", v.ram.0))?;
    f.property_string("device_type", "memory")?;
    f.property_array_u64("reg", &[v.ram.0, v.ram.1])?;
    f.end_node(mem)?;

    let cpus = f.begin_node("cpus")?;
    f.property_u32("#address-cells", 1)?;
    f.property_u32("#size-cells", 0)?;
    f.property_u32("timebase-frequency", 10_000_000)?;
    let cpu = f.begin_node("cpu@0")?;
    f.property_string("device_type", "cpu")?;
    f.property_u32("reg", 0)?;
    f.property_string("status", "okay")?;
    f.property_string("compatible", "riscv")?;
    f.property_string("riscv,isa", &v.isa)?;
    f.property_string("mmu-type", "riscv,sv48")?;
    let intc = f.begin_node("interrupt-controller")?;
    f.property_u32("#interrupt-cells", 1)?;
    f.property_null("interrupt-controller")?;
    f.property_string("compatible", "riscv,cpu-intc")?;
    f.property_phandle(INTC)?;
    f.end_node(intc)?;
    f.end_node(cpu)?;
    f.end_node(cpus)?;

    let soc = f.begin_node("soc")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    f.property_string("compatible", "simple-bus")?;
    f.property_null("ranges")?;

    let test = f.begin_node("test@100000")?;
    f.property_string_list(
        "compatible",
        vec![
            "sifive,test1".into(),
            "sifive,test0".into(),
            "syscon".into(),
        ],
    )?;
    f.property_array_u64("reg", &[0x10_0000, 0x1000])?;
    f.property_phandle(TEST)?;
    f.end_node(test)?;
    for (name, value) in [("poweroff", 0x5555u32), ("reboot", 0x7777)] {
        let n = f.begin_node(name)?;
        f.property_string("compatible", &format!("syscon-{name}"))?;
        f.property_u32("regmap", TEST)?;
        f.property_u32("offset", 0)?;
        f.property_u32("value", value)?;
        f.end_node(n)?;
    }

    let uart = f.begin_node("serial@10000000")?;
    f.property_string("compatible", "ns16550a")?;
    f.property_array_u64("reg", &[0x1000_0000, 0x100])?;
    f.property_u32("clock-frequency", 0x38_4000)?;
    f.property_u32("interrupt-parent", PLIC)?;
    f.property_u32("interrupts", 10)?;
    f.end_node(uart)?;

    let plic = f.begin_node("plic@c000000")?;
    f.property_string_list(
        "compatible",
        vec!["sifive,plic-1.0.0".into(), "riscv,plic0".into()],
    )?;
    f.property_array_u64("reg", &[0xc00_0000, 0x60_0000])?;
    f.property_array_u32("interrupts-extended", &[INTC, 11, INTC, 9])?;
    f.property_u32("riscv,ndev", 0x5f)?;
    f.property_null("interrupt-controller")?;
    f.property_u32("#interrupt-cells", 1)?;
    f.property_u32("#address-cells", 0)?;
    f.property_phandle(PLIC)?;
    f.end_node(plic)?;

    let clint = f.begin_node("clint@2000000")?;
    f.property_string_list(
        "compatible",
        vec!["sifive,clint0".into(), "riscv,clint0".into()],
    )?;
    f.property_array_u64("reg", &[0x200_0000, 0x1_0000])?;
    f.property_array_u32("interrupts-extended", &[INTC, 3, INTC, 7])?;
    f.end_node(clint)?;

    f.end_node(soc)?;
    f.end_node(root)?;
    f.finish()
}
