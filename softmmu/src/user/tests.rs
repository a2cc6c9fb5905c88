use super::*;
use crate::{CodeFetch, GuestMem};
use xlat_ir::{AtomicOp, MemOp};

const RW: u32 = PROT_READ | PROT_WRITE;
const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS;

fn space() -> AddressSpace {
    AddressSpace::new(6).expect("reserve")
}

#[test]
fn unhinted_mmap_is_top_down_below_mmap_top() {
    let a = space();
    let x = a.mmap(0, 0x3000, RW, ANON, Backing::Anon).unwrap();
    assert_eq!(x, MMAP_TOP - 0x3000);
    let y = a.mmap(0, 1, RW, ANON, Backing::Anon).unwrap();
    assert_eq!(y, x - 0x1000, "length rounds up to a page, next one below");
    // The memory is real and zeroed.
    let mut b = [1u8; 16];
    a.read_bytes(x + 0x2ff0, &mut b).unwrap();
    assert_eq!(b, [0; 16]);
    a.write_bytes(x + 5, b"hello").unwrap();
    let mut c = [0u8; 5];
    a.read_bytes(x + 5, &mut c).unwrap();
    assert_eq!(&c, b"hello");
}

#[test]
fn fixed_and_noreplace() {
    let a = space();
    assert_eq!(
        a.mmap(0x40_0000, 0x2000, RW, ANON | MAP_FIXED, Backing::Anon),
        Ok(0x40_0000)
    );
    assert_eq!(
        a.mmap(
            0x40_1000,
            0x1000,
            RW,
            ANON | MAP_FIXED_NOREPLACE,
            Backing::Anon
        ),
        Err(MapError::Exists)
    );
    assert_eq!(
        a.mmap(0x40_1001, 0x1000, RW, ANON | MAP_FIXED, Backing::Anon),
        Err(MapError::Invalid)
    );
    assert_eq!(
        a.mmap(1 << 39, 0x1000, RW, ANON | MAP_FIXED, Backing::Anon),
        Err(MapError::Invalid)
    );
    a.write_bytes(0x40_1000, &[7]).unwrap();
    // MAP_FIXED over existing memory replaces it (fresh zero page).
    assert_eq!(
        a.mmap(
            0x40_1000,
            0x1000,
            PROT_READ,
            ANON | MAP_FIXED,
            Backing::Anon
        ),
        Ok(0x40_1000)
    );
    assert_eq!(a.read_u64(0x40_1000), Ok(0));
    assert_eq!(
        a.write_bytes(0x40_1000, &[7]),
        Err(MapError::Fault),
        "now read-only"
    );
    // A hint that is free is honoured.
    assert_eq!(
        a.mmap(0x50_0000, 0x1000, RW, ANON, Backing::Anon),
        Ok(0x50_0000)
    );
}

#[test]
fn munmap_splits_and_reports_exec() {
    let a = space();
    a.mmap(0x10_0000, 0x4000, RW, ANON | MAP_FIXED, Backing::Anon)
        .unwrap();
    assert_eq!(a.munmap(0x10_1000, 0x1000), Ok(false));
    assert!(a.read_u64(0x10_0ff8).is_ok());
    assert_eq!(a.read_u64(0x10_1000), Err(MapError::Fault));
    assert!(a.read_u64(0x10_2000).is_ok());
    assert_eq!(
        a.read_u64(0x10_0ffc),
        Err(MapError::Fault),
        "straddles into the hole"
    );
    a.mprotect(0x10_3000, 0x1000, PROT_READ | PROT_EXEC)
        .unwrap();
    assert_eq!(a.munmap(0x10_0000, 0x4000), Ok(true));
    assert_eq!(a.vmas().iter().count(), 0);
    assert_eq!(a.munmap(0x10_0001, 0x1000), Err(MapError::Invalid));
}

#[test]
fn mprotect_and_code_fetch() {
    let a = space();
    a.mmap(0x20_0000, 0x2000, RW, ANON | MAP_FIXED, Backing::Anon)
        .unwrap();
    a.write_bytes(0x20_0000, &[0x13, 0x05]).unwrap();
    assert_eq!(a.fetch_u16(0x20_0000), None, "not executable yet");
    assert_eq!(
        a.mprotect(0x20_0000, 0x1000, PROT_READ | PROT_EXEC),
        Ok(true)
    );
    assert_eq!(a.fetch_u16(0x20_0000), Some(0x0513));
    assert_eq!(
        a.fetch_u16(0x20_0fff),
        None,
        "second byte is on a non-exec page"
    );
    assert_eq!(a.write_bytes(0x20_0000, &[0]), Err(MapError::Fault));
    assert!(a.write_bytes(0x20_1000, &[0]).is_ok());
    assert_eq!(
        a.mprotect(0x20_1000, 0x2000, PROT_READ),
        Err(MapError::NoMemory),
        "hole"
    );
    assert!(
        a.proc_maps().contains("00200000-00201000 r-xp"),
        "{}",
        a.proc_maps()
    );
}

#[test]
fn cstr_and_faults() {
    let a = space();
    let p = a.mmap(0, 0x1000, RW, ANON, Backing::Anon).unwrap();
    // A string that ends exactly at the end of the mapping.
    a.write_bytes(p + 0xffb, b"abcd\0").unwrap();
    assert_eq!(a.read_cstr(p + 0xffb, 4096).unwrap(), b"abcd");
    a.write_bytes(p + 0xffb, b"abcde").unwrap();
    assert_eq!(a.read_cstr(p + 0xffb, 4096), Err(MapError::Fault));
    assert_eq!(a.read_cstr(p + 0xffb, 3), Err(MapError::Invalid));
    assert_eq!(
        a.read_bytes(u64::MAX - 2, &mut [0; 8]),
        Err(MapError::Fault)
    );
}

#[test]
fn brk_grows_shrinks_and_zeroes() {
    let a = space();
    a.init_brk(0x60_0123);
    assert_eq!(a.brk(0), 0x60_1000);
    assert_eq!(a.brk(0x60_3010), 0x60_3010);
    a.write_bytes(0x60_3000, &[9; 16]).unwrap();
    assert_eq!(a.brk(0x60_1000), 0x60_1000);
    assert_eq!(a.read_u64(0x60_1000), Err(MapError::Fault));
    assert_eq!(a.brk(0x60_4000), 0x60_4000);
    assert_eq!(a.read_u64(0x60_3000), Ok(0), "regrown pages are zero");
    // Blocked by another mapping: the break stays.
    a.mmap(0x60_5000, 0x1000, RW, ANON | MAP_FIXED, Backing::Anon)
        .unwrap();
    assert_eq!(a.brk(0x60_8000), 0x60_4000);
    assert!(a.proc_maps().contains("[heap]"));
}

#[test]
fn mremap_grows_in_place_or_moves() {
    let a = space();
    a.mmap(0x30_0000, 0x1000, RW, ANON | MAP_FIXED, Backing::Anon)
        .unwrap();
    a.write_u64(0x30_0008, 0x1122).unwrap();
    assert_eq!(
        a.mremap(0x30_0000, 0x1000, 0x3000, false),
        Ok((0x30_0000, false))
    );
    a.mmap(0x30_3000, 0x1000, RW, ANON | MAP_FIXED, Backing::Anon)
        .unwrap();
    assert_eq!(
        a.mremap(0x30_0000, 0x3000, 0x5000, false),
        Err(MapError::NoMemory)
    );
    let (n, _) = a.mremap(0x30_0000, 0x3000, 0x5000, true).unwrap();
    assert_ne!(n, 0x30_0000);
    assert_eq!(a.read_u64(n + 8), Ok(0x1122));
    assert_eq!(a.read_u64(0x30_0000), Err(MapError::Fault));
}

#[test]
fn interpreter_accesses_and_atomics() {
    let a = space();
    let p = a.mmap(0, 0x1000, RW, ANON, Backing::Anon).unwrap();
    a.store(p + 1, MemOp::le(8, false), 0x8877_6655_4433_2211)
        .unwrap();
    assert_eq!(a.load(p + 1, MemOp::le(2, false)), Ok(0x2211));
    assert_eq!(a.load(p + 8, MemOp::le(1, false)), Ok(0x88));
    let w = MemOp::le(4, false);
    a.store(p + 16, w, 0xffff_fffe).unwrap();
    // -2 vs 5 signed: min is -2; unsigned: min is 5.
    assert_eq!(a.atomic_rmw(p + 16, w, AtomicOp::MinS, 5), Ok(0xffff_fffe));
    assert_eq!(a.load(p + 16, w), Ok(0xffff_fffe));
    assert_eq!(a.atomic_rmw(p + 16, w, AtomicOp::MinU, 5), Ok(0xffff_fffe));
    assert_eq!(a.load(p + 16, w), Ok(5));
    assert_eq!(a.atomic_rmw(p + 16, w, AtomicOp::Add, 0xffff_ffff), Ok(5));
    assert_eq!(a.load(p + 16, w), Ok(4));
    assert_eq!(a.atomic_cas(p + 16, w, 3, 9), Ok(4));
    assert_eq!(a.atomic_cas(p + 16, w, 4, 9), Ok(4));
    assert_eq!(a.load(p + 16, w), Ok(9));
    assert_eq!(
        a.atomic_rmw(p + 18, w, AtomicOp::Add, 1),
        Err(MemFault {
            code: 6,
            addr: p + 18
        })
    );
    let mut aligned = w;
    aligned.aligned = true;
    assert_eq!(
        a.load(p + 2, aligned),
        Err(MemFault {
            code: 6,
            addr: p + 2
        })
    );
}

#[test]
fn cas128_swaps_both_halves_atomically() {
    let a = space();
    let p = a.mmap(0, 0x2000, RW, ANON, Backing::Anon).unwrap();
    let m = MemOp::le(8, false);
    a.store(p + 16, m, 1).unwrap();
    a.store(p + 24, m, 2).unwrap();
    assert_eq!(a.atomic_cas128(p + 16, m, [1, 3], [7, 8]), Ok([1, 2]));
    assert_eq!(a.atomic_cas128(p + 16, m, [0, 2], [7, 8]), Ok([1, 2]));
    assert_eq!((a.load(p + 16, m), a.load(p + 24, m)), (Ok(1), Ok(2)));
    assert_eq!(a.atomic_cas128(p + 16, m, [1, 2], [7, 8]), Ok([1, 2]));
    assert_eq!((a.load(p + 16, m), a.load(p + 24, m)), (Ok(7), Ok(8)));
    // A read-only or unmapped page faults before anything changes.
    a.mprotect(p + 0x1000, 0x1000, PROT_READ).unwrap();
    assert!(a.atomic_cas128(p + 0x1000, m, [0, 0], [1, 1]).is_err());
    assert_eq!(a.load(p + 0x1000, m), Ok(0));
    a.munmap(p + 0x1000, 0x1000).unwrap();
    assert!(a.atomic_cas128(p + 0x1000, m, [0, 0], [1, 1]).is_err());
    // Two threads add 1 to a 128-bit counter whose low half carries into the high one: no
    // increment is lost, no torn value seen (the default by 8-byte halves loses some).
    let start = u64::MAX - 20_000;
    a.store(p, m, start).unwrap();
    a.store(p + 8, m, 0).unwrap();
    let n = 50_000u64;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut cur = [start, 0];
                for _ in 0..n {
                    loop {
                        let next = [
                            cur[0].wrapping_add(1),
                            cur[1] + u64::from(cur[0] == u64::MAX),
                        ];
                        let old = a.atomic_cas128(p, m, cur, next).unwrap();
                        if old == cur {
                            cur = next;
                            break;
                        }
                        cur = old;
                    }
                }
            });
        }
    });
    let total = (u128::from(a.load(p + 8, m).unwrap()) << 64) | u128::from(a.load(p, m).unwrap());
    assert_eq!(total, u128::from(start) + u128::from(2 * n));
}

use crate::MemFault;

/// Host-level probes that cannot crash: the kernel reports EFAULT instead of faulting.
fn host_readable(a: &AddressSpace, addr: u64) -> bool {
    let mut fds = [0i32; 2];
    // SAFETY: a fresh pipe; write(2) copies the byte from the page into the pipe, and an
    // inaccessible page yields EFAULT, not a fault.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        let r = libc::write(fds[1], a.g2h(addr) as *const _, 1);
        libc::close(fds[0]);
        libc::close(fds[1]);
        r == 1
    }
}

fn host_writable(a: &AddressSpace, addr: u64) -> bool {
    let fd = std::fs::File::open("/dev/zero").unwrap();
    // SAFETY: read(2) stores one zero byte; an unwritable page yields EFAULT, not a fault.
    // The probed pages hold nothing the test checks byte-wise.
    let r = unsafe {
        libc::read(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            a.g2h(addr) as *mut _,
            1,
        )
    };
    r == 1
}

#[test]
fn random_operations_match_a_page_model() {
    use std::collections::BTreeMap;
    let a = space();
    let base = 0x100_0000u64;
    let pages = 64u64;
    let mut model: BTreeMap<u64, u32> = BTreeMap::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for step in 0..600 {
        let start = base + rnd(pages) * PAGE_SIZE;
        let len = (1 + rnd(8)) * PAGE_SIZE;
        let end = (start + len).min(base + pages * PAGE_SIZE);
        let prot = rnd(8) as u32;
        match rnd(3) {
            0 => {
                a.mmap(start, end - start, prot, ANON | MAP_FIXED, Backing::Anon)
                    .unwrap();
                for p in (start..end).step_by(PAGE_SIZE as usize) {
                    model.insert(p, prot);
                }
            }
            1 => {
                a.munmap(start, end - start).unwrap();
                for p in (start..end).step_by(PAGE_SIZE as usize) {
                    model.remove(&p);
                }
            }
            _ => {
                let all = (start..end)
                    .step_by(PAGE_SIZE as usize)
                    .all(|p| model.contains_key(&p));
                let r = a.mprotect(start, end - start, prot);
                assert_eq!(
                    r.is_ok(),
                    all,
                    "step {step}: mprotect success iff fully mapped"
                );
                if all {
                    for p in (start..end).step_by(PAGE_SIZE as usize) {
                        model.insert(p, prot);
                    }
                }
            }
        }
        // The map is sorted, disjoint and merged; every page agrees with the model, in the
        // bookkeeping and in the host's real protections.
        let vmas: Vec<(u64, Vma)> = a.vmas().iter().map(|(s, v)| (s, v.clone())).collect();
        for w in vmas.windows(2) {
            assert!(w[0].1.end <= w[1].0, "step {step}: overlap");
            assert!(
                w[0].1.end < w[1].0 || w[0].1.prot != w[1].1.prot,
                "step {step}: not merged"
            );
        }
        for i in 0..pages + 1 {
            let p = base + i * PAGE_SIZE;
            let want = model.get(&p).copied();
            let got = a.vmas().find(p).map(|(_, v)| v.prot);
            assert_eq!(got, want, "step {step}: page {p:#x}");
            let readable = want.is_some_and(|pr| pr & (PROT_READ | PROT_EXEC) != 0);
            let writable = want.is_some_and(|pr| pr & PROT_WRITE != 0);
            assert_eq!(
                host_readable(&a, p),
                readable || writable,
                "step {step}: host read {p:#x}"
            );
            assert_eq!(
                host_writable(&a, p),
                writable,
                "step {step}: host write {p:#x}"
            );
        }
    }
}

/// The host protection of guest page `page` as /proc/self/maps shows it (`rwx` letters).
fn host_perms(a: &AddressSpace, page: u64) -> String {
    let h = a.g2h(page);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    for line in maps.lines() {
        let (range, rest) = line.split_once(' ').unwrap();
        let (lo, hi) = range.split_once('-').unwrap();
        let (lo, hi) = (
            u64::from_str_radix(lo, 16).unwrap(),
            u64::from_str_radix(hi, 16).unwrap(),
        );
        if (lo..hi).contains(&h) {
            return rest[..3].to_string();
        }
    }
    panic!("{h:#x} not in /proc/self/maps");
}

#[test]
fn code_watch_protects_translated_writable_pages() {
    let a = space();
    let rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
    let code = a.mmap(0, 0x2000, rwx, ANON, Backing::Anon).unwrap();
    let rx = a
        .mmap(0, 0x1000, PROT_READ | PROT_EXEC, ANON, Backing::Anon)
        .unwrap();
    let hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let h = hits.clone();
    a.set_code_write_hook(std::sync::Arc::new(move |s, l| {
        h.lock().unwrap().push((s, l));
    }));
    // Off: fetching changes nothing.
    a.fetch_u16(code + 4).unwrap();
    assert_eq!(host_perms(&a, code), "rw-");
    assert!(!a.code_may_change(code));
    a.set_code_watch(true);
    assert!(a.code_may_change(code + 0x1000));
    assert!(!a.code_may_change(rx), "not guest-writable");
    a.fetch_u16(code + 4).unwrap();
    a.fetch_u16(rx).unwrap();
    assert_eq!(
        host_perms(&a, code),
        "r--",
        "translated and writable: protected"
    );
    assert_eq!(host_perms(&a, code + 0x1000), "rw-", "not fetched");
    assert_eq!(host_perms(&a, rx), "r--");
    // A host write for a syscall (read(2) into the page) unprotects it and drops its code.
    a.write_bytes(code + 0x0ffe, &[1, 2, 3, 4]).unwrap();
    assert_eq!(host_perms(&a, code), "rw-");
    assert_eq!(*hits.lock().unwrap(), vec![(code, 0x1000)]);
    assert_eq!(a.read_u64(code + 0x0ffc).unwrap() >> 16, 0x0403_0201);
    // A guest store's host fault on a watched page: unprotected, code dropped, store retried.
    a.fetch_u16(code + 0x1ffe).unwrap();
    assert_eq!(host_perms(&a, code + 0x1000), "r--");
    assert!(a.code_write_fault(code + 0x1234));
    assert_eq!(host_perms(&a, code + 0x1000), "rw-");
    assert_eq!(hits.lock().unwrap().last(), Some(&(code + 0x1000, 0x1000)));
    // Writable and no longer watched (another thread was first): retried, no more code drops.
    assert!(a.code_write_fault(code + 0x1234));
    assert_eq!(hits.lock().unwrap().len(), 2);
    // A write fault on a page the guest may not write stays a guest fault.
    assert!(!a.code_write_fault(rx + 8));
    // mprotect and munmap set the host protection themselves and forget the page.
    a.fetch_u16(code).unwrap();
    assert_eq!(host_perms(&a, code), "r--");
    a.mprotect(code, 0x1000, rwx).unwrap();
    assert_eq!(host_perms(&a, code), "rw-");
    a.write_bytes(code, &[0x90]).unwrap();
    assert_eq!(hits.lock().unwrap().len(), 2, "forgotten: nothing to drop");
    a.fetch_u16(code).unwrap();
    a.munmap(code, 0x1000).unwrap();
    assert!(!a.code_write_fault(code), "unmapped");
    // Turning it off unprotects what is still watched.
    a.fetch_u16(code + 0x1000).unwrap();
    assert_eq!(host_perms(&a, code + 0x1000), "r--");
    a.set_code_watch(false);
    assert_eq!(host_perms(&a, code + 0x1000), "rw-");
}
