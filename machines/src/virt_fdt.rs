//! The device tree of QEMU's riscv64 `virt` board for the devices xlat models: harts with
//! their interrupt controllers, memory, CLINT, PLIC (contexts M and S per hart), the
//! ns16550a, the test finisher with syscon poweroff/reboot, virtio-mmio slots and /chosen.
//! Node names, properties and interrupt wiring follow `qemu-system-riscv64 -M virt,dumpdtb=`
//! (checked by `machines/tests/virt_fdt.rs`).

use crate::riscv64_virt as virt;
use vm_fdt::FdtWriter;

/// What the tree describes.
#[derive(Debug, Clone)]
pub struct VirtFdt {
    /// Number of harts.
    pub harts: u32,
    /// RAM base and size.
    pub ram: (u64, u64),
    /// Kernel command line (no `bootargs` when empty).
    pub bootargs: String,
    /// Initial ramdisk, physical start and end.
    pub initrd: Option<(u64, u64)>,
    /// `riscv,isa` of each hart, e.g. `rv64imafdc_zicsr_zifencei`.
    pub isa: String,
    /// `mmu-type`, e.g. `riscv,sv48`.
    pub mmu_type: String,
    /// Virtio-mmio windows present (base, PLIC source); QEMU lists all 8 slots, empty or not.
    pub virtio: Vec<(u64, u32)>,
}

impl VirtFdt {
    /// The tree QEMU gives for `-smp harts -m size`, with all 8 virtio slots.
    pub fn qemu_like(harts: u32, ram_size: u64) -> VirtFdt {
        VirtFdt {
            harts,
            ram: (virt::DRAM, ram_size),
            bootargs: String::new(),
            initrd: None,
            isa: "rv64imafdc_zicntr_zicsr_zifencei_zihpm_zba_zbb_zbs_sstc".into(),
            mmu_type: "riscv,sv48".into(),
            virtio: (0..virt::VIRTIO_COUNT)
                .map(|n| (virt::VIRTIO + n as u64 * virt::VIRTIO_SIZE, 1 + n as u32))
                .collect(),
        }
    }

    /// The flattened tree (DTB).
    pub fn build(&self) -> Result<Vec<u8>, String> {
        self.build_inner().map_err(|e| format!("device tree: {e}"))
    }

    fn build_inner(&self) -> Result<Vec<u8>, vm_fdt::Error> {
        let intc = |h: u32| 1 + 2 * h; // phandle of hart h's interrupt controller
        let cpu_ph = |h: u32| 2 + 2 * h;
        let plic_ph = 2 + 2 * self.harts;
        let test_ph = plic_ph + 1;
        let mut f = FdtWriter::new()?;
        let root = f.begin_node("")?;
        f.property_u32("#address-cells", 2)?;
        f.property_u32("#size-cells", 2)?;
        f.property_string("compatible", "riscv-virtio")?;
        f.property_string("model", "riscv-virtio,qemu")?;
        for (name, value) in [("poweroff", 0x5555u32), ("reboot", 0x7777)] {
            let n = f.begin_node(name)?;
            f.property_u32("value", value)?;
            f.property_u32("offset", 0)?;
            f.property_u32("regmap", test_ph)?;
            f.property_string("compatible", &format!("syscon-{name}"))?;
            f.end_node(n)?;
        }
        let mem = f.begin_node(&format!("memory@{:x}", self.ram.0))?;
        f.property_string("device_type", "memory")?;
        f.property_array_u64("reg", &[self.ram.0, self.ram.1])?;
        f.end_node(mem)?;

        let cpus = f.begin_node("cpus")?;
        f.property_u32("#address-cells", 1)?;
        f.property_u32("#size-cells", 0)?;
        f.property_u32("timebase-frequency", 10_000_000)?;
        for h in 0..self.harts {
            let cpu = f.begin_node(&format!("cpu@{h}"))?;
            f.property_phandle(cpu_ph(h))?;
            f.property_string("device_type", "cpu")?;
            f.property_u32("reg", h)?;
            f.property_string("status", "okay")?;
            f.property_string("compatible", "riscv")?;
            f.property_string("riscv,isa", &self.isa)?;
            f.property_string("mmu-type", &self.mmu_type)?;
            let ic = f.begin_node("interrupt-controller")?;
            f.property_u32("#interrupt-cells", 1)?;
            f.property_null("interrupt-controller")?;
            f.property_string("compatible", "riscv,cpu-intc")?;
            f.property_phandle(intc(h))?;
            f.end_node(ic)?;
            f.end_node(cpu)?;
        }
        let map = f.begin_node("cpu-map")?;
        let cl = f.begin_node("cluster0")?;
        for h in 0..self.harts {
            let c = f.begin_node(&format!("core{h}"))?;
            f.property_u32("cpu", cpu_ph(h))?;
            f.end_node(c)?;
        }
        f.end_node(cl)?;
        f.end_node(map)?;
        f.end_node(cpus)?;

        let aliases = f.begin_node("aliases")?;
        f.property_string("serial0", "/soc/serial@10000000")?;
        f.end_node(aliases)?;
        let chosen = f.begin_node("chosen")?;
        if !self.bootargs.is_empty() {
            f.property_string("bootargs", &self.bootargs)?;
        }
        f.property_string("stdout-path", "/soc/serial@10000000")?;
        if let Some((s, e)) = self.initrd {
            f.property_u64("linux,initrd-start", s)?;
            f.property_u64("linux,initrd-end", e)?;
        }
        f.end_node(chosen)?;

        let soc = f.begin_node("soc")?;
        f.property_u32("#address-cells", 2)?;
        f.property_u32("#size-cells", 2)?;
        f.property_string("compatible", "simple-bus")?;
        f.property_null("ranges")?;
        let uart = f.begin_node("serial@10000000")?;
        f.property_u32("interrupts", virt::UART0_IRQ)?;
        f.property_u32("interrupt-parent", plic_ph)?;
        f.property_u32("clock-frequency", 0x38_4000)?;
        f.property_array_u64("reg", &[virt::UART0, 0x100])?;
        f.property_string("compatible", "ns16550a")?;
        f.end_node(uart)?;
        let test = f.begin_node("test@100000")?;
        f.property_phandle(test_ph)?;
        f.property_array_u64("reg", &[virt::TEST, 0x1000])?;
        let compat = ["sifive,test1", "sifive,test0", "syscon"].map(String::from);
        f.property_string_list("compatible", compat.to_vec())?;
        f.end_node(test)?;
        for &(base, irq) in self.virtio.iter().rev() {
            virt::fdt_virtio_node(&mut f, base, irq, plic_ph)?;
        }
        let plic = f.begin_node("plic@c000000")?;
        f.property_phandle(plic_ph)?;
        f.property_u32("riscv,ndev", 0x5f)?;
        f.property_array_u64("reg", &[virt::PLIC, 0x60_0000])?;
        let ext: Vec<u32> = (0..self.harts)
            .flat_map(|h| [intc(h), 11, intc(h), 9])
            .collect();
        f.property_array_u32("interrupts-extended", &ext)?;
        f.property_null("interrupt-controller")?;
        let compat = ["sifive,plic-1.0.0", "riscv,plic0"].map(String::from);
        f.property_string_list("compatible", compat.to_vec())?;
        f.property_u32("#address-cells", 0)?;
        f.property_u32("#interrupt-cells", 1)?;
        f.end_node(plic)?;
        let clint = f.begin_node("clint@2000000")?;
        let ext: Vec<u32> = (0..self.harts)
            .flat_map(|h| [intc(h), 3, intc(h), 7])
            .collect();
        f.property_array_u32("interrupts-extended", &ext)?;
        f.property_array_u64("reg", &[virt::CLINT, 0x1_0000])?;
        let compat = ["sifive,clint0", "riscv,clint0"].map(String::from);
        f.property_string_list("compatible", compat.to_vec())?;
        f.end_node(clint)?;
        f.end_node(soc)?;
        f.end_node(root)?;
        f.finish()
    }
}
