//! Copy-on-write memory snapshots.
//!
//! Taking a snapshot writes each RAM region into one memfd (pages of zeros stay holes) and
//! maps the region back as a private (copy-on-write) mapping of that file, so the live memory
//! and the snapshot share every page until the guest writes one. The pages written since are
//! then read as the snapshot's again once their private copies are dropped. Which pages were
//! written is recorded as it happens ([`super::dirty`]: guest-writable pages are
//! write-protected on the host, and the first write to each is recorded by the fault handler),
//! so while the memory layout is still the one the snapshot left (no map, unmap or protect
//! since) a restore handles just those pages (`MADV_DONTNEED`, protect again): it costs the
//! dirty pages, not the RAM size, and pages only read stay mapped. After a layout change (or
//! more than 16,384 dirty pages) it remaps every region from the file (one `mmap` each, still
//! no copy). Translations of restored executable pages are
//! dropped. Engine-owned RAM at or above 2^39 is one memory file mapped twice (for the
//! helpers and in the high window), which a private mapping cannot share: it is saved whole
//! at the snapshot, and a restore copies back only the pages the window's own dirty-page
//! record lists (guest stores fault on write-protected window pages; writes through the
//! helpers' mapping are recorded as they are made), or all of it after a layout change or
//! for RAM outside the window. Caller-owned regions ([`super::Engine::mem_map_ptr`]) are
//! copied: saved whole at the snapshot and copied back at each restore (when still mapped
//! there); MMIO regions have no state to save. A page written through the API whatever the
//! guest's permissions (read-only, code) is recorded and put back too.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use xlat_ir::abi::CpuState;
use xlat_softmmu::user::{Backing, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_WRITE};

use super::engine::{EngineCore, mem_regions};
use super::mem::{SpecialKind, Window};
use super::{Context, Error};

/// What the last [`super::Engine::snapshot_restore`] did, from
/// [`super::Engine::restore_stats`]: how much of memory it handled.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RestoreStats {
    /// Pages put back from the dirty-page records (written since the snapshot or the last
    /// restore, RAM below and above 2^39).
    pub pages: u64,
    /// Bytes copied back: engine-owned RAM at or above 2^39 (the pages written, or all of it
    /// after a layout change) and caller-owned memory (all of it, each time).
    pub copied: u64,
    /// Whether every RAM region below 2^39 was mapped again from the snapshot (after a layout
    /// change, or when the record overflowed), rather than only the pages written.
    pub remapped: bool,
}

/// A snapshot of guest RAM and the CPU state ([`super::Engine::snapshot`]).
#[derive(Debug)]
pub struct Snapshot {
    fd: OwnedFd,
    /// `(start, len, prot, file offset)` of each RAM region.
    regions: Vec<(u64, u64, u32, u64)>,
    /// The bytes of each caller-owned region: `(start, bytes)`.
    /// Host regions' bytes: `(start, bytes, perms of engine-owned RAM)`.
    host: Vec<(u64, Vec<u8>, Option<super::Perm>)>,
    ctx: Context,
    /// The reservation of the engine it belongs to.
    owner: u64,
    /// The engine's layout generation when memory was last mapped from this snapshot (only
    /// then are the private pages of the mappings the pages written since).
    synced: AtomicU64,
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
        write_region(core, fd.as_raw_fd(), start, len, off)?;
        map_from(core, fd.as_raw_fd(), start, len, prot, off)?;
        out.push((start, len, prot, off));
        off += len;
    }
    let mut host = Vec::new();
    for r in core
        .mem
        .special
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        if let SpecialKind::Host { perms, owned, .. } = &r.kind {
            let mut b = vec![0u8; (r.end - r.start) as usize];
            core.mem_read(r.start, &mut b)?;
            host.push((r.start, b, owned.as_ref().map(|_| *perms)));
        }
    }
    let gen_ = core.map_gen.fetch_add(1, Ordering::Relaxed) + 1;
    let snap = Snapshot {
        fd,
        regions: out,
        host,
        ctx: Context::save(env),
        owner: space.host_range().0,
        synced: AtomicU64::new(gen_),
    };
    track(core, &snap);
    track_high(core, &snap);
    Ok(snap)
}

/// Writes guest `[start, start+len)` into the file at `off`, leaving holes for zero chunks.
fn write_region(core: &EngineCore, fd: i32, start: u64, len: u64, off: u64) -> Result<(), Error> {
    const CHUNK: u64 = 64 << 10;
    let mut buf = vec![0u8; CHUNK.min(len) as usize];
    let mut done = 0;
    while done < len {
        let n = CHUNK.min(len - done) as usize;
        core.mem_read(start + done, &mut buf[..n])?;
        if buf[..n].iter().any(|&b| b != 0) {
            // SAFETY: writing our buffer into our memfd.
            let w =
                unsafe { libc::pwrite(fd, buf.as_ptr().cast(), n, (off + done) as libc::off_t) };
            if w != n as isize {
                return Err(errno());
            }
        }
        done += n as u64;
    }
    Ok(())
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
    let mut stats = RestoreStats::default();
    // Only while the layout is the one this snapshot last left are the recorded pages the
    // pages written since.
    let synced = !core.remap_always
        && core.map_gen.load(Ordering::Relaxed) == snap.synced.load(Ordering::Relaxed);
    let low = synced && reset_dirty(core, snap, &mut stats);
    if !low {
        remap(core, snap)?;
        track(core, snap);
        stats.remapped = true;
    }
    let high = synced && reset_high(core, snap, &mut stats);
    if !high {
        restore_owned(core, snap)?;
    }
    for (start, bytes, owned) in &snap.host {
        // Engine-owned RAM in the window was put back page by page above.
        if high && owned.is_some() && in_window(core, *start, bytes.len() as u64) {
            continue;
        }
        if let Some(Ok(p)) = core.mem.special_bytes(*start, bytes.len()) {
            // SAFETY: a caller-owned region still mapped at `start`, at least this long.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
            stats.copied += bytes.len() as u64;
            if mem_regions(core)
                .iter()
                .any(|r| r.begin == *start && r.perms.contains(super::Perm::EXEC))
            {
                core.invalidate(*start, bytes.len() as u64);
            }
        }
    }
    if !high {
        track_high(core, snap);
    }
    if !low || !high {
        let gen_ = core.map_gen.fetch_add(1, Ordering::Relaxed) + 1;
        snap.synced.store(gen_, Ordering::Relaxed);
    }
    *core.restore_stats.lock().unwrap_or_else(|e| e.into_inner()) = stats;
    snap.ctx.restore(env);
    Ok(())
}

/// Whether guest `[start, start + len)` is inside a high window.
fn in_window(core: &EngineCore, start: u64, len: u64) -> bool {
    core.mem.window_of(start).is_some_and(|w| {
        let we = w.range().1;
        we == 0 || start + len <= we
    })
}

/// Puts back the pages of engine-owned RAM in the high window written since memory was
/// mapped from `snap` (its layout unchanged), as the window's dirty-page record lists them,
/// from the snapshot's copy, and write-protects them for the record again. False when there
/// is no record to go by (no window, or it overflowed): the caller copies everything.
fn reset_high(core: &EngineCore, snap: &Snapshot, stats: &mut RestoreStats) -> bool {
    if core.mem.windows().next().is_none() {
        // No window: engine-owned RAM (if any) is copied whole.
        return !snap.host.iter().any(|h| h.2.is_some());
    }
    core.mem
        .windows()
        .all(|w| reset_window(core, w, snap, stats))
}

fn reset_window(core: &EngineCore, w: &Window, snap: &Snapshot, stats: &mut RestoreStats) -> bool {
    let Some(runs) = w.dirty.take_written() else {
        return false;
    };
    let ws = w.range().0;
    for (off, len) in runs {
        let (start, end) = (ws + off, ws + off + len);
        for (s, bytes, perms) in &snap.host {
            let Some(perms) = perms else { continue };
            let (a, b) = (start.max(*s), end.min(s + bytes.len() as u64));
            if a >= b {
                continue;
            }
            let Some(Ok(p)) = core.mem.special_bytes(a, (b - a) as usize) else {
                return false;
            };
            let from = &bytes[(a - s) as usize..(b - s) as usize];
            // SAFETY: engine-owned RAM mapped at `a` for at least `b - a` bytes (the layout
            // is the snapshot's): the helpers' read-write mapping of it.
            unsafe { std::ptr::copy_nonoverlapping(from.as_ptr(), p, from.len()) };
            stats.copied += b - a;
            stats.pages += (b - a) / 4096;
            if perms.contains(super::Perm::WRITE) && !w.dirty.rearm(a - ws, b - a) {
                return false;
            }
            if perms.contains(super::Perm::EXEC) {
                core.invalidate(a, b - a);
            }
        }
    }
    true
}

/// Write-protects the guest-writable engine-owned RAM in the high windows for their
/// dirty-page records, forgetting the old ones.
fn track_high(core: &EngineCore, snap: &Snapshot) {
    for w in core.mem.windows() {
        w.dirty.reset();
        if core.remap_always {
            continue;
        }
        let ws = w.range().0;
        for (s, bytes, perms) in &snap.host {
            if perms.is_some_and(|p| p.contains(super::Perm::WRITE))
                && core.mem.window_of(*s).is_some_and(|x| x.tag == w.tag)
                && in_window(core, *s, bytes.len() as u64)
            {
                w.dirty.track(s - ws, bytes.len() as u64);
            }
        }
    }
}

/// Drops the pages written since memory was mapped from `snap` (its layout unchanged), as the
/// dirty-page record lists them: they read as the snapshot's again, and are write-protected
/// for the record again. False when the record overflowed.
fn reset_dirty(core: &EngineCore, snap: &Snapshot, stats: &mut RestoreStats) -> bool {
    let Some(runs) = core.dirty.take_written() else {
        return false;
    };
    for (start, len) in runs {
        let h = core.dirty.host(start);
        // SAFETY: private file-backed guest pages of the reservation: dropping them makes
        // the next access read the snapshot file's page.
        if unsafe { libc::madvise(h as *mut libc::c_void, len as usize, libc::MADV_DONTNEED) } != 0
        {
            return false;
        }
        stats.pages += len / 4096;
        // Write-protected again where the guest may write (a read-only page written by the
        // API keeps its host protection, which already stops the guest).
        for &(s, l, p, _) in &snap.regions {
            let (a, b) = (start.max(s), (start + len).min(s + l));
            if a >= b {
                continue;
            }
            if p & PROT_WRITE != 0 && !core.dirty.rearm(a, b - a) {
                return false;
            }
            if p & PROT_EXEC != 0 {
                core.invalidate(a, b - a);
            }
        }
    }
    true
}

/// Write-protects the writable regions for the dirty-page record, forgetting the old one.
fn track(core: &EngineCore, snap: &Snapshot) {
    core.dirty.reset();
    if core.remap_always {
        return;
    }
    for &(start, len, prot, _) in &snap.regions {
        if prot & PROT_WRITE != 0 {
            core.dirty.track(start, len);
        }
    }
}

/// Maps every region from the snapshot's file again (memory mapped since goes).
fn remap(core: &EngineCore, snap: &Snapshot) -> Result<(), Error> {
    let space = &core.mem.space;
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

/// Puts the engine-owned RAM (at or above 2^39) back as the snapshot had it: same ranges
/// and permissions (the bytes are copied after).
fn restore_owned(core: &EngineCore, snap: &Snapshot) -> Result<(), Error> {
    let mut now: Vec<(u64, u64, u32)> = core
        .mem
        .special
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|r| match &r.kind {
            SpecialKind::Host {
                perms,
                owned: Some(_),
                ..
            } => Some((r.start, r.end - r.start, perms.0)),
            _ => None,
        })
        .collect();
    let mut then: Vec<(u64, u64, u32)> = snap
        .host
        .iter()
        .filter_map(|(s, b, p)| p.map(|p| (*s, b.len() as u64, p.0)))
        .collect();
    now.sort_unstable();
    then.sort_unstable();
    if now == then {
        return Ok(());
    }
    for (s, l, _) in now {
        core.mem_unmap(s, l)?;
    }
    for (s, l, p) in then {
        core.mem_map(s, l, super::Perm(p))?;
    }
    Ok(())
}
