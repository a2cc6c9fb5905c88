//! qcow2 images (versions 2 and 3) as a [`BlockBackend`]: reads, writes that allocate
//! clusters (L2 tables and data clusters appended at the end of the file, refcounts kept
//! exact so `qemu-img check` finds no leak or corruption), flush, reads of deflate-compressed
//! clusters (`qemu-img convert -c`). Not supported (an error at open, or an I/O error on the
//! request that meets them): backing files, encryption, writes into compressed clusters,
//! zstd compression, external data files, extended L2 entries, shared (snapshot) clusters on
//! write, growing the refcount table.

use crate::devices::virtio_blk::BlockBackend;
use std::fs::File;
use std::io::{self, Error, ErrorKind};
use std::os::unix::fs::FileExt;

const MAGIC: u32 = 0x5146_49fb; // "QFI\xfb"
const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
const COPIED: u64 = 1 << 63;
const COMPRESSED: u64 = 1 << 62;
const ZERO: u64 = 1;

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidData, msg.into())
}

/// An open qcow2 image.
#[derive(Debug)]
pub struct Qcow2 {
    file: File,
    read_only: bool,
    cluster_bits: u32,
    size: u64,
    l1: Vec<u64>,
    l1_offset: u64,
    refcount_table: Vec<u64>,
    refcount_table_offset: u64,
    refcount_bits: u32,
    /// First free byte (cluster-aligned) at the end of the file.
    end: u64,
}

fn be32(h: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
}
fn be64(h: &[u8], at: usize) -> u64 {
    (u64::from(be32(h, at)) << 32) | u64::from(be32(h, at + 4))
}

fn read_table(file: &File, offset: u64, entries: u64) -> io::Result<Vec<u64>> {
    let n = usize::try_from(entries).map_err(|_| bad("table too large"))?;
    if n > (1 << 26) {
        return Err(bad("table too large"));
    }
    let mut raw = vec![0u8; n * 8];
    file.read_exact_at(&mut raw, offset)?;
    Ok(raw.chunks_exact(8).map(|c| be64(c, 0)).collect())
}

impl Qcow2 {
    /// Whether `path` starts with the qcow2 magic.
    pub fn probe(path: &std::path::Path) -> bool {
        let mut m = [0u8; 4];
        File::open(path)
            .and_then(|f| f.read_exact_at(&mut m, 0))
            .is_ok()
            && be32(&m, 0) == MAGIC
    }

    /// Opens a qcow2 image (read-write unless `read_only`).
    pub fn open(path: &std::path::Path, read_only: bool) -> io::Result<Qcow2> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(path)?;
        let mut h = [0u8; 104];
        file.read_exact_at(&mut h[..72], 0)
            .map_err(|_| bad("not a qcow2 image (too short)"))?;
        if be32(&h, 0) != MAGIC {
            return Err(bad("not a qcow2 image (bad magic)"));
        }
        let version = be32(&h, 4);
        if version != 2 && version != 3 {
            return Err(bad(format!("qcow2 version {version} not supported")));
        }
        if be64(&h, 8) != 0 {
            return Err(bad("qcow2 backing files are not supported"));
        }
        let cluster_bits = be32(&h, 20);
        if !(9..=21).contains(&cluster_bits) {
            return Err(bad(format!(
                "qcow2 cluster_bits {cluster_bits} out of range"
            )));
        }
        if be32(&h, 32) != 0 {
            return Err(bad("encrypted qcow2 images are not supported"));
        }
        let mut refcount_order = 4;
        if version == 3 {
            file.read_exact_at(&mut h[72..104], 72)
                .map_err(|_| bad("truncated qcow2 header"))?;
            let incompatible = be64(&h, 72);
            if incompatible != 0 {
                return Err(bad(format!(
                    "qcow2 incompatible features {incompatible:#x} not supported (dirty, corrupt, \
                     external data, compression type or extended L2)"
                )));
            }
            refcount_order = be32(&h, 96);
        }
        if !(3..=6).contains(&refcount_order) {
            return Err(bad(format!(
                "qcow2 refcount_order {refcount_order} not supported"
            )));
        }
        let size = be64(&h, 24);
        let l1_offset = be64(&h, 40);
        let l1 = read_table(&file, l1_offset, u64::from(be32(&h, 36)))?;
        let refcount_table_offset = be64(&h, 48);
        let rt_entries = u64::from(be32(&h, 56)) << (cluster_bits - 3);
        let refcount_table = read_table(&file, refcount_table_offset, rt_entries)?;
        let cs = 1u64 << cluster_bits;
        let end = file.metadata()?.len().div_ceil(cs) * cs;
        let q = Qcow2 {
            file,
            read_only,
            cluster_bits,
            size,
            l1,
            l1_offset,
            refcount_table,
            refcount_table_offset,
            refcount_bits: 1 << refcount_order,
            end,
        };
        let l2_bits = cluster_bits - 3;
        let needed = size.div_ceil(1u64 << (cluster_bits + l2_bits));
        if (q.l1.len() as u64) < needed {
            return Err(bad("qcow2 L1 table smaller than the virtual size"));
        }
        Ok(q)
    }

    fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }

    fn l2_index(&self, off: u64) -> (usize, u64) {
        let l2_bits = self.cluster_bits - 3;
        let l1_idx = (off >> (self.cluster_bits + l2_bits)) as usize;
        let l2_idx = (off >> self.cluster_bits) & ((1 << l2_bits) - 1);
        (l1_idx, l2_idx)
    }

    fn read_be64(&self, at: u64) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.file.read_exact_at(&mut b, at)?;
        Ok(u64::from_be_bytes(b))
    }

    /// The L2 entry for guest offset `off` (0 when unallocated) and where it is stored.
    fn l2_entry(&self, off: u64) -> io::Result<(u64, Option<u64>)> {
        let (l1_idx, l2_idx) = self.l2_index(off);
        let l1e = *self.l1.get(l1_idx).ok_or_else(|| bad("offset beyond L1"))?;
        let l2 = l1e & OFFSET_MASK;
        if l2 == 0 {
            return Ok((0, None));
        }
        let at = l2 + 8 * l2_idx;
        Ok((self.read_be64(at)?, Some(at)))
    }

    /// Sets the refcount of the cluster at host offset `host` to `val`.
    fn set_refcount(&mut self, host: u64, val: u64) -> io::Result<()> {
        let cluster = host >> self.cluster_bits;
        let per_block = (self.cluster_size() * 8) / u64::from(self.refcount_bits);
        let t = usize::try_from(cluster / per_block).map_err(|_| bad("refcount index"))?;
        if t >= self.refcount_table.len() {
            return Err(Error::other(
                "qcow2 refcount table full (growing it is not supported)",
            ));
        }
        if self.refcount_table[t] & OFFSET_MASK == 0 {
            let block = self.end;
            self.end += self.cluster_size();
            self.file
                .write_all_at(&vec![0u8; self.cluster_size() as usize], block)?;
            self.refcount_table[t] = block;
            let at = self.refcount_table_offset + 8 * t as u64;
            self.file.write_all_at(&block.to_be_bytes(), at)?;
            self.set_refcount(block, 1)?;
        }
        let block = self.refcount_table[t] & OFFSET_MASK;
        let bytes = u64::from(self.refcount_bits / 8);
        let at = block + (cluster % per_block) * bytes;
        let be = val.to_be_bytes();
        self.file.write_all_at(&be[8 - bytes as usize..], at)
    }

    /// Appends a zero-filled cluster to the file and counts it; returns its offset.
    fn alloc_cluster(&mut self) -> io::Result<u64> {
        let at = self.end;
        self.end += self.cluster_size();
        self.file
            .write_all_at(&vec![0u8; self.cluster_size() as usize], at)?;
        self.set_refcount(at, 1)?;
        Ok(at)
    }

    /// The host offset of the data cluster for guest offset `off`, allocated if needed.
    fn cluster_for_write(&mut self, off: u64) -> io::Result<u64> {
        let (l1_idx, l2_idx) = self.l2_index(off);
        let l1e = *self.l1.get(l1_idx).ok_or_else(|| bad("offset beyond L1"))?;
        let mut l2 = l1e & OFFSET_MASK;
        if l2 == 0 {
            l2 = self.alloc_cluster()?;
            self.l1[l1_idx] = l2 | COPIED;
            let at = self.l1_offset + 8 * l1_idx as u64;
            self.file.write_all_at(&(l2 | COPIED).to_be_bytes(), at)?;
        } else if l1e & COPIED == 0 {
            return Err(Error::other(
                "qcow2: writing a shared L2 table is not supported",
            ));
        }
        let at = l2 + 8 * l2_idx;
        let e = self.read_be64(at)?;
        if e & COMPRESSED != 0 {
            return Err(Error::other(
                "qcow2: writing a compressed cluster is not supported",
            ));
        }
        let data = e & OFFSET_MASK;
        if data != 0 && e & ZERO == 0 {
            if e & COPIED == 0 {
                return Err(Error::other(
                    "qcow2: writing a shared cluster is not supported",
                ));
            }
            return Ok(data);
        }
        // unallocated or a zero cluster (possibly with a preallocated offset): a fresh,
        // zero-filled cluster keeps the semantics of the bytes not written
        let data = if data != 0 {
            self.file
                .write_all_at(&vec![0u8; self.cluster_size() as usize], data)?;
            data
        } else {
            self.alloc_cluster()?
        };
        self.file.write_all_at(&(data | COPIED).to_be_bytes(), at)?;
        Ok(data)
    }

    /// Inflates the compressed cluster an L2 entry describes.
    fn compressed_cluster(&self, e: u64) -> io::Result<Vec<u8>> {
        let x = 62 - (self.cluster_bits - 8);
        let host = e & ((1u64 << x) - 1);
        let sectors = ((e >> x) & ((1u64 << (self.cluster_bits - 8)) - 1)) + 1;
        let len = (sectors * 512 - (host & 511)) as usize;
        let file_len = self.file.metadata()?.len();
        let len = len.min(file_len.saturating_sub(host) as usize);
        let mut raw = vec![0u8; len];
        self.file.read_exact_at(&mut raw, host)?;
        let cs = self.cluster_size() as usize;
        let mut out = miniz_oxide::inflate::decompress_to_vec_with_limit(&raw, cs)
            .map_err(|_| bad("qcow2: corrupt compressed cluster"))?;
        if out.len() > cs {
            return Err(bad("qcow2: compressed cluster inflates too far"));
        }
        out.resize(cs, 0);
        Ok(out)
    }

    fn in_range(&self, off: u64, len: usize) -> io::Result<()> {
        match off.checked_add(len as u64) {
            Some(e) if e <= self.size => Ok(()),
            _ => Err(Error::new(
                ErrorKind::UnexpectedEof,
                "beyond the end of the image",
            )),
        }
    }
}

impl BlockBackend for Qcow2 {
    fn len(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, buf: &mut [u8], mut off: u64) -> io::Result<()> {
        self.in_range(off, buf.len())?;
        let cs = self.cluster_size();
        let mut buf = buf;
        while !buf.is_empty() {
            let within = off & (cs - 1);
            let n = buf.len().min((cs - within) as usize);
            let (e, _) = self.l2_entry(off)?;
            let (chunk, rest) = buf.split_at_mut(n);
            if e & COMPRESSED != 0 {
                let cluster = self.compressed_cluster(e)?;
                chunk.copy_from_slice(&cluster[within as usize..within as usize + n]);
            } else if e & OFFSET_MASK == 0 || e & ZERO != 0 {
                chunk.fill(0);
            } else {
                self.file.read_exact_at(chunk, (e & OFFSET_MASK) + within)?;
            }
            buf = rest;
            off += n as u64;
        }
        Ok(())
    }

    fn write_at(&mut self, mut buf: &[u8], mut off: u64) -> io::Result<()> {
        if self.read_only {
            return Err(Error::new(ErrorKind::PermissionDenied, "read-only image"));
        }
        self.in_range(off, buf.len())?;
        let cs = self.cluster_size();
        while !buf.is_empty() {
            let within = off & (cs - 1);
            let n = buf.len().min((cs - within) as usize);
            let host = self.cluster_for_write(off)?;
            self.file.write_all_at(&buf[..n], host + within)?;
            buf = &buf[n..];
            off += n as u64;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.sync_all()
    }
}
