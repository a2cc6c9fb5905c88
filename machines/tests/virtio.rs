//! Drives virtio-mmio devices the way Linux's virtio_mmio + virtio_blk/virtio_rng drivers do:
//! reset, ACKNOWLEDGE|DRIVER, feature negotiation, FEATURES_OK, queue setup, DRIVER_OK, then
//! requests through the split virtqueue, interrupt and acknowledge.

#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use vm_memory::{Address, Bytes, GuestAddress, GuestMemoryMmap};
use xlat_machines::devices::LevelLine as Line;
use xlat_machines::devices::virtio_blk::{RawFile, VirtioBlk};
use xlat_machines::devices::virtio_mmio::{VirtioBackend, VirtioMmio};
use xlat_machines::devices::virtio_rng::VirtioRng;
use xlat_softmmu::system::MmioDevice;

const DESC: u64 = 0x1000;
const AVAIL: u64 = 0x2000;
const USED: u64 = 0x3000;
const QSIZE: u16 = 16;

struct Driver {
    dev: VirtioMmio,
    mem: Arc<GuestMemoryMmap<()>>,
    irq: Arc<Line>,
    avail_idx: u16,
    next_desc: u16,
}

impl Driver {
    fn new(backend: Box<dyn VirtioBackend>, want_features: u64) -> Driver {
        let mem = Arc::new(GuestMemoryMmap::from_ranges(&[(GuestAddress(0), 1 << 20)]).unwrap());
        let irq = Arc::new(Line::default());
        let dev = VirtioMmio::new(backend, mem.clone(), irq.clone());
        assert_eq!(dev.read(0, 4), 0x7472_6976);
        assert_eq!(dev.read(4, 4), 2);
        dev.write(0x70, 4, 0);
        dev.write(0x70, 4, 1 | 2);
        dev.write(0x14, 4, 1);
        let hi = dev.read(0x10, 4);
        assert_eq!(hi & 1, 1, "VIRTIO_F_VERSION_1 offered");
        dev.write(0x14, 4, 0);
        let lo = dev.read(0x10, 4);
        let feats = ((hi << 32) | lo) & (want_features | 1 << 32);
        dev.write(0x24, 4, 0);
        dev.write(0x20, 4, feats & 0xffff_ffff);
        dev.write(0x24, 4, 1);
        dev.write(0x20, 4, feats >> 32);
        dev.write(0x70, 4, 1 | 2 | 8);
        assert_eq!(dev.read(0x70, 4) & 8, 8, "FEATURES_OK kept");
        dev.write(0x30, 4, 0);
        assert!(dev.read(0x34, 4) >= u64::from(QSIZE));
        dev.write(0x38, 4, u64::from(QSIZE));
        for (reg, addr) in [(0x80, DESC), (0x90, AVAIL), (0xa0, USED)] {
            dev.write(reg, 4, addr & 0xffff_ffff);
            dev.write(reg + 4, 4, addr >> 32);
        }
        dev.write(0x44, 4, 1);
        dev.write(0x70, 4, 1 | 2 | 8 | 4);
        Driver {
            dev,
            mem,
            irq,
            avail_idx: 0,
            next_desc: 0,
        }
    }

    /// Submits a chain of (address, length, device-writable) buffers and waits for it;
    /// returns the used length.
    fn submit(&mut self, bufs: &[(u64, u32, bool)]) -> u32 {
        let head = self.next_desc;
        for (i, &(addr, len, w)) in bufs.iter().enumerate() {
            let d = head + i as u16;
            let last = i + 1 == bufs.len();
            let flags: u16 = if last { 0 } else { 1 } | if w { 2 } else { 0 };
            let at = GuestAddress(DESC + 16 * u64::from(d));
            self.mem.write_obj(addr, at).unwrap();
            self.mem.write_obj(len, at.unchecked_add(8)).unwrap();
            self.mem.write_obj(flags, at.unchecked_add(12)).unwrap();
            self.mem.write_obj(d + 1, at.unchecked_add(14)).unwrap();
        }
        self.next_desc = (head + bufs.len() as u16) % QSIZE;
        let slot = u64::from(self.avail_idx % QSIZE);
        self.mem
            .write_obj(head, GuestAddress(AVAIL + 4 + 2 * slot))
            .unwrap();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.mem
            .write_obj(self.avail_idx, GuestAddress(AVAIL + 2))
            .unwrap();
        assert!(!self.irq.0.load(Ordering::SeqCst));
        self.dev.write(0x50, 4, 0);
        assert!(self.irq.0.load(Ordering::SeqCst), "used-buffer interrupt");
        assert_eq!(self.dev.read(0x60, 4), 1);
        self.dev.write(0x64, 4, 1);
        assert!(!self.irq.0.load(Ordering::SeqCst), "acknowledged");
        let used_idx: u16 = self.mem.read_obj(GuestAddress(USED + 2)).unwrap();
        assert_eq!(used_idx, self.avail_idx);
        let elem = USED + 4 + 8 * ((u64::from(used_idx) + u64::from(QSIZE) - 1) % u64::from(QSIZE));
        let id: u32 = self.mem.read_obj(GuestAddress(elem)).unwrap();
        assert_eq!(id, u32::from(head));
        self.mem.read_obj(GuestAddress(elem + 4)).unwrap()
    }
}

fn blk_req(
    d: &mut Driver,
    typ: u32,
    sector: u64,
    data_at: u64,
    len: u32,
    write: bool,
) -> (u8, u32) {
    let hdr = 0x8000u64;
    let status = 0x9000u64;
    d.mem.write_obj(typ, GuestAddress(hdr)).unwrap();
    d.mem.write_obj(0u32, GuestAddress(hdr + 4)).unwrap();
    d.mem.write_obj(sector, GuestAddress(hdr + 8)).unwrap();
    d.mem.write_obj(0xffu8, GuestAddress(status)).unwrap();
    let mut bufs = vec![(hdr, 16, false)];
    if len > 0 {
        bufs.push((data_at, len, !write));
    }
    bufs.push((status, 1, true));
    let used = d.submit(&bufs);
    (d.mem.read_obj(GuestAddress(status)).unwrap(), used)
}

#[test]
fn virtio_blk_raw_read_write_flush_get_id() {
    let dir = std::env::temp_dir().join(format!("xlat-vblk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("disk.raw");
    let mut img: Vec<u8> = (0..64 * 1024)
        .map(|i| (i / 512) as u8 ^ (i as u8))
        .collect();
    std::fs::write(&path, &img).unwrap();
    let raw = RawFile::open(&path, false).unwrap();
    let mut d = Driver::new(
        Box::new(VirtioBlk::new(Box::new(raw), false, "xlat-serial")),
        1 << 9,
    );
    // capacity in sectors, from the config space
    assert_eq!(d.dev.read(0x100, 4) | d.dev.read(0x104, 4) << 32, 128);
    assert_eq!(d.dev.read(0x100, 8), 128);

    // read sectors 3..5
    let (st, used) = blk_req(&mut d, 0, 3, 0x10000, 1024, false);
    assert_eq!((st, used), (0, 1025));
    let mut got = vec![0u8; 1024];
    d.mem.read_slice(&mut got, GuestAddress(0x10000)).unwrap();
    assert_eq!(got, img[3 * 512..5 * 512]);

    // write sector 7 with 0xab
    d.mem
        .write_slice(&[0xab; 512], GuestAddress(0x20000))
        .unwrap();
    assert_eq!(blk_req(&mut d, 1, 7, 0x20000, 512, true).0, 0);
    assert_eq!(blk_req(&mut d, 4, 0, 0, 0, false).0, 0, "flush");
    img[7 * 512..8 * 512].fill(0xab);
    assert_eq!(std::fs::read(&path).unwrap(), img);

    // past the end: IOERR; unknown type: UNSUPP
    assert_eq!(blk_req(&mut d, 0, 127, 0x10000, 1024, false).0, 1);
    assert_eq!(blk_req(&mut d, 99, 0, 0, 0, false).0, 2);

    // GET_ID
    let (st, _) = blk_req(&mut d, 8, 0, 0x30000, 20, false);
    assert_eq!(st, 0);
    let mut id = [0u8; 20];
    d.mem.read_slice(&mut id, GuestAddress(0x30000)).unwrap();
    assert_eq!(&id[..12], b"xlat-serial\0");

    // a reset takes the device back to status 0, interrupts low
    d.dev.write(0x70, 4, 0);
    assert_eq!(d.dev.read(0x70, 4), 0);
    assert_eq!(d.dev.read(0x44, 4), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn virtio_blk_read_only_rejects_writes() {
    let dir = std::env::temp_dir().join(format!("xlat-vblk-ro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("disk.raw");
    std::fs::write(&path, vec![0u8; 4096]).unwrap();
    let raw = RawFile::open(&path, true).unwrap();
    let mut d = Driver::new(Box::new(VirtioBlk::new(Box::new(raw), true, "")), 1 << 5);
    d.dev.write(0x14, 4, 0);
    assert_eq!(d.dev.read(0x10, 4) & (1 << 5), 1 << 5, "VIRTIO_BLK_F_RO");
    assert_eq!(blk_req(&mut d, 1, 0, 0x20000, 512, true).0, 1);
    assert_eq!(std::fs::read(&path).unwrap(), vec![0u8; 4096]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn virtio_rng_fills_buffers() {
    let mut d = Driver::new(Box::new(VirtioRng), 0);
    assert_eq!(d.dev.read(8, 4), 4);
    d.mem
        .write_slice(&[0u8; 256], GuestAddress(0x10000))
        .unwrap();
    assert_eq!(d.submit(&[(0x10000, 256, true)]), 256);
    let mut got = [0u8; 256];
    d.mem.read_slice(&mut got, GuestAddress(0x10000)).unwrap();
    assert!(
        got.iter().filter(|&&b| b == 0).count() < 32,
        "random bytes written"
    );
}

#[test]
fn hostile_descriptors_do_not_panic() {
    let d = Driver::new(Box::new(VirtioRng), 0);
    // a buffer outside guest RAM: the device reports the error, no panic
    let at = GuestAddress(DESC);
    d.mem.write_obj(0xdead_0000_0000u64, at).unwrap();
    d.mem.write_obj(64u32, at.unchecked_add(8)).unwrap();
    d.mem.write_obj(2u16, at.unchecked_add(12)).unwrap();
    d.mem.write_obj(0u16, GuestAddress(AVAIL + 4)).unwrap();
    d.mem.write_obj(1u16, GuestAddress(AVAIL + 2)).unwrap();
    d.dev.write(0x50, 4, 0);
    d.dev.write(0x50, 4, 7); // no such queue
    d.dev.write(0x30, 4, 9);
    assert_eq!(d.dev.read(0x34, 4), 0);
    let _ = d.dev.read(0x60, 4);
}
