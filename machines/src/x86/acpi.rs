//! The microvm's ACPI tables (built with rust-vmm's `acpi_tables`): a hardware-reduced
//! platform, as QEMU's and Firecracker's microvms have, written into the BIOS area at
//! [`RSDP_ADDR`] (Linux finds the RSDP there by scanning 0xe0000-0xfffff, through PVH start
//! info's `rsdp_paddr`, or the zero page's `acpi_rsdp_addr`):
//!
//! - RSDP (revision 2) -> XSDT -> FADT, MADT; FADT -> DSDT;
//! - FADT: `HW_REDUCED_ACPI`, the sleep control/status registers at I/O ports [`SLEEP_CONTROL`]
//!   and [`SLEEP_STATUS`], the reset register at [`RESET_REGISTER`] (value [`RESET_VALUE`]);
//!   boot flags: no VGA, no MSI, no CMOS RTC, no i8042 to probe (the port still resets);
//! - MADT: one local APIC per vCPU (APIC ID = index), the IOAPIC (ID = vCPU count, GSI 0-23),
//!   interrupt source overrides that make the virtio-mmio lines level/active-high (as the MP
//!   table says), LINT1 = NMI;
//! - DSDT: `\_S5` (sleep type [`S5_TYPE`]), COM1 (PNP0501, 0x3f8, IRQ 4) and each virtio-mmio
//!   window as a `LNRO0005` device with its memory range and level interrupt.
//!
//! [`SleepControl`] is the port device: writing SLP_EN with SLP_TYP = [`S5_TYPE`] powers the
//! machine off (status 0); the reset value reboots it (the run stops as for an i8042 reset).

use acpi_tables::Aml;
use acpi_tables::aml;
use acpi_tables::fadt::{FADTBuilder, Flags};
use acpi_tables::gas::{AccessSize, AddressSpace, GAS};
use acpi_tables::rsdp::Rsdp;
use acpi_tables::sdt::Sdt;
use acpi_tables::xsdt::XSDT;
use std::sync::Arc;
use vm_memory::{Bytes, GuestAddress};
use xlat_softmmu::system::MmioDevice;
use xlat_softmmu::system::testdev::{Shutdown, StopReason};

use super::mptable::{IOAPIC, LAPIC};
use crate::devices::virtio_mmio::GuestRam;

/// Where the RSDP goes; the other tables follow it (below the MP table at 0xf0000).
pub const RSDP_ADDR: u64 = 0xe_0000;
/// End of the area the tables may use.
pub const TABLES_END: u64 = 0xf_0000;
/// The hardware-reduced sleep control register (one byte).
pub const SLEEP_CONTROL: u16 = 0x600;
/// The sleep status register (one byte).
pub const SLEEP_STATUS: u16 = 0x601;
/// The reset register (one byte).
pub const RESET_REGISTER: u16 = 0x602;
/// What the guest writes to [`RESET_REGISTER`] to reset.
pub const RESET_VALUE: u8 = 0x42;
/// SLP_TYP of the S5 (soft-off) state, as `\_S5` says.
pub const S5_TYPE: u8 = 5;
/// SLP_EN in the sleep control register.
pub const SLP_EN: u8 = 1 << 5;

const OEM_ID: [u8; 6] = *b"XLAT  ";
const OEM_TABLE: [u8; 8] = *b"MICROVM ";

/// A virtio-mmio window as the DSDT announces it.
#[derive(Debug, Clone, Copy)]
pub struct VirtioWindow {
    /// Base address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
    /// Its interrupt (GSI = ISA IRQ).
    pub irq: u32,
}

fn io_register(port: u16) -> GAS {
    GAS::new(
        AddressSpace::SystemIo,
        8,
        0,
        AccessSize::ByteAccess,
        u64::from(port),
    )
}

fn bytes(t: &dyn Aml) -> Vec<u8> {
    let mut v = Vec::new();
    t.to_aml_bytes(&mut v);
    v
}

/// The DSDT.
fn dsdt(virtio: &[VirtioWindow]) -> Vec<u8> {
    let s5 = aml::Package::new(vec![&S5_TYPE, &0u8]);
    let s5 = aml::Name::new("_S5_".into(), &s5);
    let com1_io = aml::IO::new(0x3f8, 0x3f8, 1, 8);
    let com1_irq = aml::Interrupt::new(true, true, false, false, super::microvm::COM1_IRQ);
    let com1_crs = aml::ResourceTemplate::new(vec![&com1_io, &com1_irq]);
    let com1_hid = aml::Name::new("_HID".into(), &aml::EISAName::new("PNP0501"));
    let com1_uid = aml::Name::new("_UID".into(), &0u8);
    let com1_crs = aml::Name::new("_CRS".into(), &com1_crs);
    let com1 = aml::Device::new("COM1".into(), vec![&com1_hid, &com1_uid, &com1_crs]);
    let mem: Vec<aml::Memory32Fixed> = virtio
        .iter()
        .map(|w| aml::Memory32Fixed::new(true, w.base as u32, w.size as u32))
        .collect();
    let irq: Vec<aml::Interrupt> = virtio
        .iter()
        .map(|w| aml::Interrupt::new(true, false, false, false, w.irq))
        .collect();
    let crs: Vec<aml::ResourceTemplate> = mem
        .iter()
        .zip(&irq)
        .map(|(m, i)| aml::ResourceTemplate::new(vec![m, i]))
        .collect();
    let uids: Vec<u8> = (0..virtio.len() as u8).collect();
    let hid = aml::Name::new("_HID".into(), &"LNRO0005");
    let cca = aml::Name::new("_CCA".into(), &aml::ONE);
    let names: Vec<(aml::Name, aml::Name)> = crs
        .iter()
        .zip(&uids)
        .map(|(c, u)| {
            (
                aml::Name::new("_UID".into(), u),
                aml::Name::new("_CRS".into(), c),
            )
        })
        .collect();
    let devs: Vec<aml::Device> = names
        .iter()
        .enumerate()
        .map(|(n, (uid, crs))| {
            aml::Device::new(
                format!("VR{n:02X}").as_str().into(),
                vec![&hid, uid, &cca, crs],
            )
        })
        .collect();
    let mut children: Vec<&dyn Aml> = vec![&com1];
    children.extend(devs.iter().map(|d| d as &dyn Aml));
    let sb = aml::Scope::new("\\_SB_".into(), children);
    let mut t = Sdt::new(*b"DSDT", 36, 6, OEM_ID, OEM_TABLE, 1);
    t.append_slice(&bytes(&s5));
    t.append_slice(&bytes(&sb));
    t.as_slice().to_vec()
}

/// The MADT for `smp` CPUs; `level` are the ISA IRQs made level/active-high.
fn madt(smp: u32, level: &[u32]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&LAPIC.to_le_bytes());
    body.extend_from_slice(&1u32.to_le_bytes()); // PCAT_COMPAT: KVM's in-kernel 8259s exist
    for id in 0..smp {
        // Processor Local APIC: UID, APIC ID, enabled
        body.extend_from_slice(&[0, 8, id as u8, id as u8, 1, 0, 0, 0]);
    }
    // I/O APIC: ID, address, GSI base 0
    body.extend_from_slice(&[1, 12, smp as u8, 0]);
    body.extend_from_slice(&IOAPIC.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    for &irq in level {
        // Interrupt Source Override: ISA bus, IRQ -> GSI (same), active high (1), level (3<<2)
        body.extend_from_slice(&[2, 10, 0, irq as u8]);
        body.extend_from_slice(&irq.to_le_bytes());
        body.extend_from_slice(&0xdu16.to_le_bytes());
    }
    // Local APIC NMI: all processors, flags conforming, LINT1
    body.extend_from_slice(&[4, 6, 0xff, 0, 0, 1]);
    let mut t = Sdt::new(*b"APIC", 36, 5, OEM_ID, OEM_TABLE, 1);
    t.append_slice(&body);
    t.as_slice().to_vec()
}

fn align(a: u64) -> u64 {
    (a + 63) & !63
}

/// The tables for `smp` CPUs and the `virtio` windows, laid out from [`RSDP_ADDR`]:
/// `(address, bytes)` of each, RSDP first.
pub fn build(smp: u32, virtio: &[VirtioWindow]) -> Vec<(u64, Vec<u8>)> {
    let level: Vec<u32> = virtio.iter().map(|w| w.irq).collect();
    let dsdt = dsdt(virtio);
    let madt = madt(smp, &level);
    let xsdt_addr = align(RSDP_ADDR + Rsdp::len() as u64);
    // XSDT: header + 2 entries
    let fadt_addr = align(xsdt_addr + 36 + 16);
    let madt_addr = align(fadt_addr + acpi_tables::fadt::FADT::len() as u64);
    let dsdt_addr = align(madt_addr + madt.len() as u64);
    let mut fadt = FADTBuilder::new(OEM_ID, OEM_TABLE, 1)
        .dsdt_64(dsdt_addr)
        .flag(Flags::HwReducedAcpi)
        .flag(Flags::ResetRegSup);
    fadt.reset_reg = io_register(RESET_REGISTER);
    fadt.reset_value = RESET_VALUE;
    fadt.sleep_control_reg = io_register(SLEEP_CONTROL);
    fadt.sleep_status_reg = io_register(SLEEP_STATUS);
    // IA-PC boot flags: no VGA (bit 2), no MSI (bit 3), no CMOS RTC (bit 5); bit 1 (8042)
    // clear: nothing to probe
    fadt.iapc_boot_arch = ((1u16 << 2) | (1 << 3) | (1 << 5)).into();
    let fadt = bytes(&fadt.finalize());
    let mut xsdt = XSDT::new(OEM_ID, OEM_TABLE, 1);
    xsdt.add_entry(fadt_addr);
    xsdt.add_entry(madt_addr);
    let xsdt = bytes(&xsdt);
    let rsdp = bytes(&Rsdp::new(OEM_ID, xsdt_addr));
    vec![
        (RSDP_ADDR, rsdp),
        (xsdt_addr, xsdt),
        (fadt_addr, fadt),
        (madt_addr, madt),
        (dsdt_addr, dsdt),
    ]
}

/// Writes the tables into `ram`.
pub fn write(ram: &GuestRam, smp: u32, virtio: &[VirtioWindow]) -> Result<(), String> {
    for (addr, t) in build(smp, virtio) {
        if addr + t.len() as u64 > TABLES_END {
            return Err(format!(
                "--smp {smp}: the ACPI tables do not fit below {TABLES_END:#x}"
            ));
        }
        ram.write_slice(&t, GuestAddress(addr))
            .map_err(|_| "the ACPI tables do not fit in RAM".to_string())?;
    }
    Ok(())
}

/// The sleep control, sleep status and reset registers (3 ports from [`SLEEP_CONTROL`]).
#[derive(Debug)]
pub struct SleepControl {
    stop: Arc<Shutdown>,
}

impl SleepControl {
    /// Power-off and reset go to `stop`.
    pub fn new(stop: Arc<Shutdown>) -> SleepControl {
        SleepControl { stop }
    }
}

impl MmioDevice for SleepControl {
    fn read(&self, _offset: u64, _size: u8) -> u64 {
        0
    }
    fn write(&self, offset: u64, _size: u8, value: u64) {
        let v = value as u8;
        match offset {
            0 if v & SLP_EN != 0 && (v >> 2) & 7 == S5_TYPE => {
                self.stop.request(StopReason::Exit(0))
            }
            2 if v == RESET_VALUE => self.stop.request(StopReason::Reset),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(b: &[u8]) -> u8 {
        b.iter().fold(0u8, |a, &x| a.wrapping_add(x))
    }

    #[test]
    fn tables_link_and_checksum() {
        let w = [VirtioWindow {
            base: 0xfeb0_0000,
            size: 0x200,
            irq: 5,
        }];
        let t = build(2, &w);
        let (rsdp_addr, rsdp) = &t[0];
        assert_eq!(*rsdp_addr, RSDP_ADDR);
        assert_eq!(&rsdp[..8], b"RSD PTR ");
        assert_eq!(sum(&rsdp[..20]), 0);
        assert_eq!(sum(rsdp), 0);
        let at = |a: u64| &t.iter().find(|(x, _)| *x == a).expect("a table there").1;
        let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        let xsdt = at(u64_at(rsdp, 24));
        assert_eq!(&xsdt[..4], b"XSDT");
        for (_, tb) in &t[1..] {
            assert_eq!(sum(tb), 0, "{}", String::from_utf8_lossy(&tb[..4]));
            assert_eq!(u32_at(tb, 4) as usize, tb.len());
        }
        let fadt = at(u64_at(xsdt, 36));
        let madt = at(u64_at(xsdt, 44));
        assert_eq!((&fadt[..4], &madt[..4]), (&b"FACP"[..], &b"APIC"[..]));
        // FADT: HW_REDUCED_ACPI, sleep control at 0x600 (GAS at 244), X_DSDT (140)
        assert_ne!(u32_at(fadt, 112) & (1 << 20), 0);
        assert_eq!((fadt[244], u64_at(fadt, 248)), (1, 0x600));
        let dsdt = at(u64_at(fadt, 140));
        assert_eq!(&dsdt[..4], b"DSDT");
        let find = |hay: &[u8], n: &[u8]| hay.windows(n.len()).any(|w| w == n);
        assert!(find(dsdt, b"_S5_") && find(dsdt, b"LNRO0005") && find(dsdt, b"VR00"));
        // MADT: 2 local APICs, the IOAPIC with ID 2, an override for IRQ 5
        let body = &madt[44..];
        assert_eq!(&body[..8], &[0, 8, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&body[8..12], &[0, 8, 1, 1]);
        assert_eq!(&body[16..20], &[1, 12, 2, 0]);
        assert_eq!(&body[28..32], &[2, 10, 0, 5]);
        assert!(t.last().map(|(a, b)| a + b.len() as u64).unwrap() <= TABLES_END);
        let big = build(64, &w);
        assert!(big.last().map(|(a, b)| a + b.len() as u64).unwrap() <= TABLES_END);
    }

    /// Debian's `iasl -d` (acpica-tools, scripts/setup.d/52-acpica.sh) reads each table back.
    #[test]
    fn iasl_disassembles_the_tables() {
        let ok = std::process::Command::new("iasl")
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("skipping: no iasl (acpica-tools)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("xlat-acpi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w: Vec<VirtioWindow> = (0..2)
            .map(|n| VirtioWindow {
                base: 0xfeb0_0000 + n * 0x200,
                size: 0x200,
                irq: 5 + n as u32,
            })
            .collect();
        let mut all = String::new();
        // the RSDP is no table iasl reads alone (tables_link_and_checksum checks it)
        for (_, t) in build(2, &w).into_iter().skip(1) {
            let name = String::from_utf8_lossy(&t[..4]).replace(' ', "_");
            let f = dir.join(format!("{name}.dat"));
            std::fs::write(&f, &t).unwrap();
            let o = std::process::Command::new("iasl")
                .current_dir(&dir)
                .arg("-d")
                .arg(&f)
                .output()
                .unwrap();
            let log = String::from_utf8_lossy(&o.stdout).to_string()
                + &String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success(), "iasl -d {name}: {log}");
            let dsl = std::fs::read_to_string(dir.join(format!("{name}.dsl"))).unwrap();
            assert!(
                !dsl.contains("Invalid") && !dsl.contains("Incorrect"),
                "{name}: {dsl}"
            );
            all.push_str(&dsl);
        }
        let _ = std::fs::remove_dir_all(&dir);
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let all = squash(&all);
        for want in [
            "Hardware Reduced (V5) : 1",
            "Sleep Control Register : [Generic Address Structure]",
            "Address : 0000000000000600",
            "Value to cause reset : 42",
            "Name (_S5, Package (0x02) // _S5_: S5 System State { 0x05,",
            "Name (_HID, \"LNRO0005\")",
            "Memory32Fixed (ReadWrite, 0xFEB00200, // Address Base",
            "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, ) { 0x00000006, }",
            "EisaId (\"PNP0501\")",
            "Local Apic ID : 01",
            "I/O Apic ID : 02",
            "Source : 06 [056h 0086 4] Interrupt : 00000006 [05Ah 0090 2] Flags (decoded below) : 000D Polarity : 1 Trigger Mode : 3",
        ] {
            assert!(all.contains(want), "no `{want}` in:\n{all}");
        }
    }

    #[test]
    fn sleep_control_powers_off_and_resets() {
        let stop = Shutdown::new();
        let d = SleepControl::new(stop.clone());
        d.write(0, 1, u64::from(S5_TYPE << 2)); // no SLP_EN
        d.write(0, 1, u64::from((3 << 2) | SLP_EN)); // S3: not supported, ignored
        d.write(2, 1, 0x41);
        assert!(stop.get().is_none());
        d.write(0, 1, u64::from((S5_TYPE << 2) | SLP_EN));
        assert!(matches!(stop.get(), Some(StopReason::Exit(0))));
        let stop = Shutdown::new();
        SleepControl::new(stop.clone()).write(2, 1, u64::from(RESET_VALUE));
        assert!(matches!(stop.get(), Some(StopReason::Reset)));
    }
}
