//! The virtio-mmio transport, version 2 (virtio 1.x "modern" register layout), as QEMU's
//! `virt` board maps it at 0x1000_1000 + n * 0x1000. The device behind it implements
//! [`VirtioBackend`]; queues are `virtio_queue::Queue`s over guest RAM (`GuestMemoryMmap`).
//!
//! Notifications are processed synchronously on the notifying vCPU's thread; completion
//! raises the "used buffer" interrupt (bit 0 of InterruptStatus) on the device's [`IrqLine`],
//! which stays high until the driver acknowledges it.

use std::sync::{Arc, Mutex};
use virtio_queue::{Queue, QueueT};
use vm_memory::{GuestAddress, GuestMemoryMmap};
use xlat_softmmu::system::{IrqLine, MmioDevice};

/// Guest RAM as devices see it.
pub type GuestRam = GuestMemoryMmap<()>;

/// `VIRTIO_F_VERSION_1`: offered by every device (required by the version-2 transport).
pub const F_VERSION_1: u64 = 1 << 32;

const MAGIC: u32 = 0x7472_6976; // "virt"
const VENDOR: u32 = 0x554d_4551; // "QEMU"
/// Status bit: the driver has given up on the device.
pub const STATUS_FAILED: u32 = 0x80;
/// Status bit: the device needs a reset.
pub const STATUS_NEEDS_RESET: u32 = 0x40;

/// A virtio device model (the device-type-specific part).
pub trait VirtioBackend: Send + std::fmt::Debug {
    /// Virtio device ID (2 block, 4 entropy...).
    fn device_id(&self) -> u32;
    /// Feature bits offered (without [`F_VERSION_1`], which the transport adds).
    fn features(&self) -> u64;
    /// Number of virtqueues.
    fn num_queues(&self) -> usize;
    /// Largest queue size.
    fn queue_max(&self) -> u16 {
        256
    }
    /// Reads `size` bytes of the configuration space at `offset` (zero beyond its end).
    fn read_config(&self, offset: u64, size: u8) -> u64;
    /// Writes the configuration space (ignored by default).
    fn write_config(&mut self, _offset: u64, _size: u8, _value: u64) {}
    /// Handles the available buffers of queue `idx`; returns whether any were used (so an
    /// interrupt is due). An error marks the device as needing a reset.
    fn process(&mut self, idx: usize, q: &mut Queue, mem: &GuestRam) -> Result<bool, String>;
    /// Called when the driver resets the device.
    fn reset(&mut self) {}
}

/// Reads `size` little-endian bytes at `offset` of `bytes`, zero beyond the end.
pub fn config_bytes(bytes: &[u8], offset: u64, size: u8) -> u64 {
    let mut v = 0u64;
    for i in 0..u64::from(size.min(8)) {
        let b = usize::try_from(offset + i)
            .ok()
            .and_then(|o| bytes.get(o))
            .copied();
        v |= u64::from(b.unwrap_or(0)) << (8 * i);
    }
    v
}

#[derive(Debug)]
struct State {
    dev: Box<dyn VirtioBackend>,
    queues: Vec<Queue>,
    dev_features_sel: u32,
    drv_features_sel: u32,
    drv_features: u64,
    queue_sel: u32,
    status: u32,
    int_status: u32,
    config_gen: u32,
}

/// A virtio-mmio (version 2) window around a [`VirtioBackend`].
#[derive(Debug)]
pub struct VirtioMmio {
    st: Mutex<State>,
    mem: Arc<GuestRam>,
    irq: Arc<dyn IrqLine>,
}

fn set_half(word: u64, high: bool, v: u32) -> u64 {
    if high {
        (word & 0xffff_ffff) | (u64::from(v) << 32)
    } else {
        (word & !0xffff_ffff) | u64::from(v)
    }
}

impl VirtioMmio {
    /// A transport for `dev` doing DMA in `mem` and interrupting on `irq` (a PLIC source).
    pub fn new(dev: Box<dyn VirtioBackend>, mem: Arc<GuestRam>, irq: Arc<dyn IrqLine>) -> Self {
        let max = dev.queue_max();
        let queues = (0..dev.num_queues())
            .filter_map(|_| Queue::new(max).ok())
            .collect();
        VirtioMmio {
            st: Mutex::new(State {
                dev,
                queues,
                dev_features_sel: 0,
                drv_features_sel: 0,
                drv_features: 0,
                queue_sel: 0,
                status: 0,
                int_status: 0,
                config_gen: 0,
            }),
            mem,
            irq,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self, st: &mut State, idx: usize) {
        let State { dev, queues, .. } = st;
        let Some(q) = queues.get_mut(idx) else { return };
        if !q.ready() || !q.is_valid(&*self.mem) {
            return;
        }
        match dev.process(idx, q, &self.mem) {
            Ok(true) => {
                st.int_status |= 1;
                self.irq.set_level(true);
            }
            Ok(false) => {}
            Err(_) => {
                st.status |= STATUS_NEEDS_RESET;
                st.int_status |= 2;
                self.irq.set_level(true);
            }
        }
    }

    fn reset(&self, st: &mut State) {
        for q in &mut st.queues {
            q.reset();
        }
        st.dev.reset();
        st.status = 0;
        st.drv_features = 0;
        st.dev_features_sel = 0;
        st.drv_features_sel = 0;
        st.queue_sel = 0;
        st.int_status = 0;
        self.irq.set_level(false);
    }
}

impl MmioDevice for VirtioMmio {
    fn read(&self, offset: u64, size: u8) -> u64 {
        let st = self.lock();
        if offset >= 0x100 {
            return st.dev.read_config(offset - 0x100, size);
        }
        if size != 4 {
            return 0;
        }
        let q = st.queues.get(st.queue_sel as usize);
        let v: u32 = match offset {
            0x000 => MAGIC,
            0x004 => 2,
            0x008 => st.dev.device_id(),
            0x00c => VENDOR,
            0x010 => {
                let f = st.dev.features() | F_VERSION_1;
                match st.dev_features_sel {
                    0 => f as u32,
                    1 => (f >> 32) as u32,
                    _ => 0,
                }
            }
            0x034 => q.map_or(0, |q| u32::from(q.max_size())),
            0x044 => q.map_or(0, |q| u32::from(q.ready())),
            0x060 => st.int_status,
            0x070 => st.status,
            0x0fc => st.config_gen,
            _ => 0,
        };
        u64::from(v)
    }

    fn write(&self, offset: u64, size: u8, value: u64) {
        let mut st = self.lock();
        if offset >= 0x100 {
            st.dev.write_config(offset - 0x100, size, value);
            return;
        }
        if size != 4 {
            return;
        }
        let v = value as u32;
        let sel = st.queue_sel as usize;
        match offset {
            0x014 => st.dev_features_sel = v,
            0x020 => {
                let sel = st.drv_features_sel;
                if sel < 2 {
                    st.drv_features = set_half(st.drv_features, sel == 1, v);
                }
            }
            0x024 => st.drv_features_sel = v,
            0x030 => st.queue_sel = v,
            0x038 => {
                if let Some(q) = st.queues.get_mut(sel) {
                    q.set_size(v as u16);
                }
            }
            0x044 => {
                if let Some(q) = st.queues.get_mut(sel) {
                    q.set_ready(v == 1);
                }
            }
            0x050 => self.notify(&mut st, v as usize),
            0x064 => {
                st.int_status &= !v;
                if st.int_status == 0 {
                    self.irq.set_level(false);
                }
            }
            0x070 => {
                if v == 0 {
                    self.reset(&mut st);
                } else {
                    st.status = v;
                }
            }
            0x080..=0x0a4 => {
                let Some(q) = st.queues.get_mut(sel) else {
                    return;
                };
                let (lo, hi) = if offset & 4 == 0 {
                    (Some(v), None)
                } else {
                    (None, Some(v))
                };
                match offset & !4 {
                    0x080 => q.set_desc_table_address(lo, hi),
                    0x090 => q.set_avail_ring_address(lo, hi),
                    0x0a0 => q.set_used_ring_address(lo, hi),
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// The bytes a descriptor chain gives the device (readable) and the buffers it may fill
/// (writable), in order.
#[derive(Debug, Default)]
pub struct Chain {
    /// Head index, for the used ring.
    pub head: u16,
    /// All device-readable bytes, concatenated.
    pub readable: Vec<u8>,
    /// Device-writable buffers (address, length).
    pub writable: Vec<(GuestAddress, u32)>,
}

/// Upper bound on the bytes gathered from one chain's readable descriptors (a hostile driver
/// cannot make the device allocate without limit).
const MAX_READABLE: usize = 16 << 20;

/// Pops the next available chain of `q`, gathering its readable bytes.
pub fn pop_chain(q: &mut Queue, mem: &GuestRam) -> Result<Option<Chain>, String> {
    use vm_memory::Bytes;
    let Some(dc) = q.pop_descriptor_chain(mem) else {
        return Ok(None);
    };
    let mut c = Chain {
        head: dc.head_index(),
        ..Chain::default()
    };
    for d in dc {
        if d.is_write_only() {
            c.writable.push((d.addr(), d.len()));
        } else {
            let at = c.readable.len();
            let n = d.len() as usize;
            if at + n > MAX_READABLE {
                return Err("descriptor chain too long".into());
            }
            c.readable.resize(at + n, 0);
            mem.read_slice(&mut c.readable[at..], d.addr())
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(Some(c))
}

/// Scatters `data` over the writable buffers of `c`; returns the bytes written.
pub fn scatter(c: &Chain, mem: &GuestRam, mut data: &[u8]) -> Result<u32, String> {
    use vm_memory::Bytes;
    let mut done = 0u32;
    for &(addr, len) in &c.writable {
        if data.is_empty() {
            break;
        }
        let n = data.len().min(len as usize);
        mem.write_slice(&data[..n], addr)
            .map_err(|e| e.to_string())?;
        // DMA behind the harts' backs: pages of translated code it overwrote must be dropped
        // at the guest's next fence.i, as after a store by a hart.
        use vm_memory::GuestMemoryBackend as _;
        if let Ok(h) = mem.get_host_address(addr) {
            xlat_softmmu::system::note_dma_write(h as usize, n);
        }
        data = &data[n..];
        done += n as u32;
    }
    Ok(done)
}
