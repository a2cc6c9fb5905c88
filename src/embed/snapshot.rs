//! Copy-on-write memory snapshots.
//!
//! Taking a snapshot writes each RAM region into one memfd and maps the region back as a
//! private (copy-on-write) mapping of that file, so the live memory and the snapshot share
//! every page until the guest writes one. Restoring maps the regions from the file again:
//! one `mmap` per region, no copy; only the pages the guest then writes are copied (by the
//! kernel, on the write fault). Translations are kept unless executable bytes differ from
//! the snapshot's.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use xlat_ir::abi::CpuState;
use xlat_softmmu::user::{Backing, MAP_FIXED, MAP_PRIVATE, PROT_EXEC};

use super::engine::EngineCore;
use super::{Context, Error};

/// A snapshot of guest RAM and the CPU state ([`super::Engine::snapshot`]).
#[derive(Debug)]
pub struct Snapshot {
    fd: OwnedFd,
    /// `(start, len, prot, file offset)` of each RAM region.
    regions: Vec<(u64, u64, u32, u64)>,
    ctx: Context,
    /// The reservation of the engine it belongs to.
    owner: u64,
}

fn errno() -> Error {
    Error::Host(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

pub(crate) fn take(core: &EngineCore, env: &CpuState) -> Result<Snapshot, Error> {
    let space = &core.mem.space;
    let regions: Vec<(u64, u64, u32)> = space
        .vmas()
        .iter()
        .map(|(s, v)| (s, v.end - s, v.prot))
        .collect();
    // SAFETY: memfd_create with a static NUL-terminated name.
    let fd = unsafe { libc::memfd_create(c"xlat-snapshot".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let total: u64 = regions.iter().map(|r| r.1).sum();
    // SAFETY: ftruncate on our own memfd.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), total as libc::off_t) } != 0 {
        return Err(errno());
    }
    let mut out = Vec::with_capacity(regions.len());
    let mut off = 0u64;
    for (start, len, prot) in regions {
        let mut buf = vec![0u8; len as usize];
        core.mem_read(start, &mut buf)?;
        // SAFETY: writing our buffer into our memfd.
        let n = unsafe {
            libc::pwrite(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                off as libc::off_t,
            )
        };
        if n != len as isize {
            return Err(errno());
        }
        map_from(core, fd.as_raw_fd(), start, len, prot, off)?;
        out.push((start, len, prot, off));
        off += len;
    }
    Ok(Snapshot {
        fd,
        regions: out,
        ctx: Context::save(env),
        owner: space.host_range().0,
    })
}

fn map_from(
    core: &EngineCore,
    fd: i32,
    start: u64,
    len: u64,
    prot: u32,
    off: u64,
) -> Result<(), Error> {
    core.mem
        .space
        .mmap(
            start,
            len,
            prot,
            MAP_PRIVATE | MAP_FIXED,
            Backing::File {
                fd,
                offset: off,
                name: "[snapshot]",
            },
        )
        .map(|_| ())
        .map_err(|_| errno())
}

pub(crate) fn restore(core: &EngineCore, env: &mut CpuState, snap: &Snapshot) -> Result<(), Error> {
    let space = &core.mem.space;
    if snap.owner != space.host_range().0 {
        return Err(Error::ForeignSnapshot);
    }
    // RAM mapped since the snapshot goes.
    let now: Vec<(u64, u64)> = space.vmas().iter().map(|(s, v)| (s, v.end)).collect();
    for (s, e) in now {
        let mut cur = s;
        for &(rs, rl, _, _) in &snap.regions {
            let re = rs + rl;
            if re <= cur || rs >= e {
                continue;
            }
            if rs > cur {
                space.munmap(cur, rs - cur).map_err(|_| errno())?;
                core.invalidate(cur, rs - cur);
            }
            cur = cur.max(re);
        }
        if cur < e {
            space.munmap(cur, e - cur).map_err(|_| errno())?;
            core.invalidate(cur, e - cur);
        }
    }
    for &(start, len, prot, off) in &snap.regions {
        if prot & PROT_EXEC != 0 && !same_bytes(core, snap, start, len, off) {
            core.invalidate(start, len);
        }
        map_from(core, snap.fd.as_raw_fd(), start, len, prot, off)?;
    }
    snap.ctx.restore(env);
    Ok(())
}

/// Whether guest `[start, start+len)` still holds the snapshot's bytes at `off`.
fn same_bytes(core: &EngineCore, snap: &Snapshot, start: u64, len: u64, off: u64) -> bool {
    let mut now = vec![0u8; len as usize];
    let mut then = vec![0u8; len as usize];
    if core.mem_read(start, &mut now).is_err() {
        return false;
    }
    // SAFETY: reading our memfd into our buffer.
    let n = unsafe {
        libc::pread(
            snap.fd.as_raw_fd(),
            then.as_mut_ptr().cast(),
            then.len(),
            off as libc::off_t,
        )
    };
    n == len as isize && now == then
}
