//! The Intel MultiProcessor Specification 1.4 table that tells a guest without ACPI (Linux on
//! the microvm) its CPUs, its IOAPIC and how the ISA interrupts reach it: at [`MPTABLE`] (in the
//! BIOS area 0xf0000-0xfffff, which Linux scans, reserved in the e820 map).
//!
//! Entries: one processor per vCPU (LAPIC ID = index, the first is the BSP), an ISA bus, the
//! IOAPIC (ID = vCPU count, at 0xfec0_0000), IRQ n -> IOAPIC pin n for n < 24 (the routing of
//! KVM's in-kernel irqchip; edge for ISA devices, level/active-high for the virtio-mmio lines
//! given in `level`), ExtINT on LINT0 and NMI on LINT1.

use vm_memory::{Bytes, GuestAddress};

use crate::devices::virtio_mmio::GuestRam;

/// Where the floating pointer goes (the configuration table follows it).
pub const MPTABLE: u64 = 0xf_0000;
/// The IOAPIC's address.
pub const IOAPIC: u32 = 0xfec0_0000;
/// The local APICs' address.
pub const LAPIC: u32 = 0xfee0_0000;
/// IOAPIC pins.
pub const IOAPIC_PINS: u8 = 24;

fn checksum(b: &[u8]) -> u8 {
    0u8.wrapping_sub(b.iter().fold(0u8, |a, &x| a.wrapping_add(x)))
}

/// The table bytes for `smp` CPUs (floating pointer first), to be written at [`MPTABLE`].
pub fn build(smp: u32, level: &[u32]) -> Vec<u8> {
    let ioapic_id = smp as u8;
    let mut entries = Vec::new();
    let mut count = 0u16;
    for id in 0..smp {
        let mut p = [0u8; 20];
        p[1] = id as u8; // LAPIC ID
        p[2] = 0x14; // LAPIC version
        p[3] = 1 | if id == 0 { 2 } else { 0 }; // enabled, BSP
        p[4..8].copy_from_slice(&0x600u32.to_le_bytes()); // family 6
        p[8..12].copy_from_slice(&0x201u32.to_le_bytes()); // FPU, APIC
        entries.extend_from_slice(&p);
        count += 1;
    }
    entries.extend_from_slice(&[1, 0, b'I', b'S', b'A', b' ', b' ', b' ']);
    count += 1;
    let mut io = [2u8, ioapic_id, 0x11, 1, 0, 0, 0, 0];
    io[4..8].copy_from_slice(&IOAPIC.to_le_bytes());
    entries.extend_from_slice(&io);
    count += 1;
    for irq in 0..IOAPIC_PINS {
        // flags: polarity (bits 0-1) and trigger (bits 2-3): 0 = bus default, 1|3<<2 = high, level
        let flags: u16 = if level.contains(&u32::from(irq)) {
            0xd
        } else {
            0
        };
        let f = flags.to_le_bytes();
        entries.extend_from_slice(&[3, 0, f[0], f[1], 0, irq, ioapic_id, irq]);
        count += 1;
    }
    // ExtINT to LINT0, NMI to LINT1 of every LAPIC
    entries.extend_from_slice(&[4, 3, 0, 0, 0, 0, 0xff, 0]);
    entries.extend_from_slice(&[4, 1, 0, 0, 0, 0, 0xff, 1]);
    count += 2;

    let mut hdr = [0u8; 44];
    hdr[0..4].copy_from_slice(b"PCMP");
    hdr[4..6].copy_from_slice(&((44 + entries.len()) as u16).to_le_bytes());
    hdr[6] = 4; // spec 1.4
    hdr[8..16].copy_from_slice(b"XLAT    ");
    hdr[16..28].copy_from_slice(b"MICROVM     ");
    hdr[34..36].copy_from_slice(&count.to_le_bytes());
    hdr[36..40].copy_from_slice(&LAPIC.to_le_bytes());
    let mut table = hdr.to_vec();
    table.extend_from_slice(&entries);
    table[7] = checksum(&table);

    let mut fp = [0u8; 16];
    fp[0..4].copy_from_slice(b"_MP_");
    fp[4..8].copy_from_slice(&((MPTABLE + 16) as u32).to_le_bytes());
    fp[8] = 1; // length in 16-byte units
    fp[9] = 4;
    fp[10] = checksum(&fp);
    let mut out = fp.to_vec();
    out.extend_from_slice(&table);
    out
}

/// Writes the table for `smp` CPUs into `ram`.
pub fn write(ram: &GuestRam, smp: u32, level: &[u32]) -> Result<(), String> {
    let t = build(smp, level);
    if MPTABLE + t.len() as u64 > 0x10_0000 {
        return Err(format!(
            "--smp {smp}: the MP table does not fit below 1 MiB"
        ));
    }
    ram.write_slice(&t, GuestAddress(MPTABLE))
        .map_err(|_| "the MP table does not fit in RAM".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_and_counts() {
        let t = build(2, &[5]);
        assert_eq!(&t[0..4], b"_MP_");
        assert_eq!(t[..16].iter().fold(0u8, |a, &x| a.wrapping_add(x)), 0);
        let cfg = &t[16..];
        let len = usize::from(u16::from_le_bytes([cfg[4], cfg[5]]));
        assert_eq!(len, cfg.len());
        assert_eq!(cfg.iter().fold(0u8, |a, &x| a.wrapping_add(x)), 0);
        // 2 CPUs + bus + IOAPIC + 24 IRQs + 2 local
        assert_eq!(u16::from_le_bytes([cfg[34], cfg[35]]), 30);
        assert_eq!(len, 44 + 2 * 20 + 28 * 8);
        // the BSP flag on CPU 0 only
        assert_eq!((cfg[44 + 3], cfg[64 + 3]), (3, 1));
        // IRQ 5 is level, IRQ 4 edge
        let irq = |n: usize| &cfg[44 + 40 + 16 + 8 * n..][..8];
        assert_eq!((irq(5)[2], irq(4)[2], irq(5)[5]), (0xd, 0, 5));
        assert!(build(64, &[]).len() + MPTABLE as usize <= 0x10_0000);
    }
}
