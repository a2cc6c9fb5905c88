//! virtio-rng (entropy device, ID 4): fills each buffer the driver offers with random bytes
//! from the host.

use super::virtio_mmio::{GuestRam, VirtioBackend, pop_chain, scatter};
use rand::RngCore;
use virtio_queue::{Queue, QueueT};

/// The entropy device.
#[derive(Debug, Default)]
pub struct VirtioRng;

impl VirtioBackend for VirtioRng {
    fn device_id(&self) -> u32 {
        4
    }
    fn features(&self) -> u64 {
        0
    }
    fn num_queues(&self) -> usize {
        1
    }
    fn read_config(&self, _offset: u64, _size: u8) -> u64 {
        0
    }
    fn process(&mut self, _idx: usize, q: &mut Queue, mem: &GuestRam) -> Result<bool, String> {
        let mut used = false;
        while let Some(c) = pop_chain(q, mem)? {
            let want: usize = c
                .writable
                .iter()
                .map(|w| w.1 as usize)
                .sum::<usize>()
                .min(1 << 16);
            let mut buf = vec![0u8; want];
            rand::rng().fill_bytes(&mut buf);
            let n = scatter(&c, mem, &buf)?;
            q.add_used(mem, c.head, n).map_err(|e| e.to_string())?;
            used = true;
        }
        Ok(used)
    }
}
