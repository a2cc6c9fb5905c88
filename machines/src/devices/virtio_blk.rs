//! virtio-blk (device ID 2): IN (read), OUT (write), FLUSH and GET_ID requests on a
//! [`BlockBackend`] (a raw file, or a qcow2 image). Capacity is in 512-byte sectors.

use super::virtio_mmio::{GuestRam, VirtioBackend, config_bytes, pop_chain, scatter};
use std::io;
use virtio_queue::{Queue, QueueT};

/// A disk image's contents.
pub trait BlockBackend: Send + std::fmt::Debug {
    /// Size in bytes.
    fn len(&self) -> u64;
    /// Whether the image is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads `buf.len()` bytes at byte offset `off` (inside the image).
    fn read_at(&mut self, buf: &mut [u8], off: u64) -> io::Result<()>;
    /// Writes `buf` at byte offset `off` (inside the image).
    fn write_at(&mut self, buf: &[u8], off: u64) -> io::Result<()>;
    /// Makes written data durable.
    fn flush(&mut self) -> io::Result<()>;
}

/// A raw image file.
#[derive(Debug)]
pub struct RawFile {
    file: std::fs::File,
    len: u64,
}

impl RawFile {
    /// Opens `path` (read-write, or read-only).
    pub fn open(path: &std::path::Path, read_only: bool) -> io::Result<RawFile> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(path)?;
        let len = file.metadata()?.len();
        Ok(RawFile { file, len })
    }
}

impl BlockBackend for RawFile {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&mut self, buf: &mut [u8], off: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, off)
    }
    fn write_at(&mut self, buf: &[u8], off: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(&self.file, buf, off)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Request types.
const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
const T_GET_ID: u32 = 8;
/// Status codes.
const S_OK: u8 = 0;
const S_IOERR: u8 = 1;
const S_UNSUPP: u8 = 2;
/// Feature bits.
const F_RO: u64 = 1 << 5;
const F_FLUSH: u64 = 1 << 9;
const F_SEG_MAX: u64 = 1 << 2;
const SEG_MAX: u32 = 126;

/// The virtio-blk device.
#[derive(Debug)]
pub struct VirtioBlk {
    disk: Box<dyn BlockBackend>,
    read_only: bool,
    id: [u8; 20],
}

impl VirtioBlk {
    /// A disk on `disk`; `serial` becomes the GET_ID string (up to 20 bytes).
    pub fn new(disk: Box<dyn BlockBackend>, read_only: bool, serial: &str) -> VirtioBlk {
        let mut id = [0u8; 20];
        let s = serial.as_bytes();
        let n = s.len().min(20);
        id[..n].copy_from_slice(&s[..n]);
        VirtioBlk {
            disk,
            read_only,
            id,
        }
    }

    fn sectors(&self) -> u64 {
        self.disk.len() / 512
    }

    /// Executes one request; returns (status, data for the driver).
    fn request(&mut self, typ: u32, sector: u64, payload: &[u8], in_len: usize) -> (u8, Vec<u8>) {
        let range = |len: u64| {
            let off = sector.checked_mul(512)?;
            let end = off.checked_add(len)?;
            (end <= self.disk.len()).then_some(off)
        };
        match typ {
            T_IN => {
                let mut buf = vec![0u8; in_len];
                match range(in_len as u64) {
                    Some(off) if self.disk.read_at(&mut buf, off).is_ok() => (S_OK, buf),
                    _ => (S_IOERR, Vec::new()),
                }
            }
            T_OUT if self.read_only => (S_IOERR, Vec::new()),
            T_OUT => match range(payload.len() as u64) {
                Some(off) if self.disk.write_at(payload, off).is_ok() => (S_OK, Vec::new()),
                _ => (S_IOERR, Vec::new()),
            },
            T_FLUSH => match self.disk.flush() {
                Ok(()) => (S_OK, Vec::new()),
                Err(_) => (S_IOERR, Vec::new()),
            },
            T_GET_ID => (S_OK, self.id[..in_len.min(20)].to_vec()),
            _ => (S_UNSUPP, Vec::new()),
        }
    }
}

impl VirtioBackend for VirtioBlk {
    fn device_id(&self) -> u32 {
        2
    }
    fn features(&self) -> u64 {
        F_FLUSH | F_SEG_MAX | if self.read_only { F_RO } else { 0 }
    }
    fn num_queues(&self) -> usize {
        1
    }
    fn read_config(&self, offset: u64, size: u8) -> u64 {
        // struct virtio_blk_config: capacity (u64), size_max (u32), seg_max (u32), ...
        let mut cfg = [0u8; 16];
        cfg[..8].copy_from_slice(&self.sectors().to_le_bytes());
        cfg[12..16].copy_from_slice(&SEG_MAX.to_le_bytes());
        config_bytes(&cfg, offset, size)
    }
    fn process(&mut self, _idx: usize, q: &mut Queue, mem: &GuestRam) -> Result<bool, String> {
        let mut used = false;
        while let Some(c) = pop_chain(q, mem)? {
            let writable: usize = c.writable.iter().map(|w| w.1 as usize).sum();
            let (status, data) = if c.readable.len() < 16 || writable == 0 {
                (S_IOERR, Vec::new())
            } else {
                let typ = u32::from_le_bytes(c.readable[0..4].try_into().unwrap_or_default());
                let sector = u64::from_le_bytes(c.readable[8..16].try_into().unwrap_or_default());
                self.request(typ, sector, &c.readable[16..], writable - 1)
            };
            let mut out = data;
            // The status byte is the last writable byte: pad the data to just before it.
            out.resize(writable.saturating_sub(1), 0);
            let n_data = out.len();
            let mut written = 0;
            if writable > 0 {
                out.push(status);
                written = scatter(&c, mem, &out)?;
            }
            let len = if status == S_OK && n_data > 0 {
                written
            } else {
                written.min(1)
            };
            q.add_used(mem, c.head, len).map_err(|e| e.to_string())?;
            used = true;
        }
        Ok(used)
    }
}
