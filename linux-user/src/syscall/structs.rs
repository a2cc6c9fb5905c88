//! Guest struct layouts that differ from the x86-64 host's. Everything else the syscalls pass
//! (timespec, timeval, rusage, statfs, sysinfo, utsname, termios, winsize, linux_dirent64, statx,
//! struct flock, tms, rlimit, iovec) has the same layout on x86-64 and the 64-bit generic ABI.

/// Size of the asm-generic `struct stat` (riscv64, aarch64).
pub const GENERIC_STAT_SIZE: usize = 128;

/// The asm-generic 64-bit `struct stat` (`include/uapi/asm-generic/stat.h`) for a host stat.
pub fn stat_generic(s: &libc::stat) -> [u8; GENERIC_STAT_SIZE] {
    let mut b = [0u8; GENERIC_STAT_SIZE];
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    put(0, &s.st_dev.to_le_bytes());
    put(8, &s.st_ino.to_le_bytes());
    put(16, &s.st_mode.to_le_bytes());
    put(20, &(s.st_nlink as u32).to_le_bytes());
    put(24, &s.st_uid.to_le_bytes());
    put(28, &s.st_gid.to_le_bytes());
    put(32, &s.st_rdev.to_le_bytes());
    put(48, &s.st_size.to_le_bytes());
    put(56, &(s.st_blksize as i32).to_le_bytes());
    put(64, &s.st_blocks.to_le_bytes());
    put(72, &s.st_atime.to_le_bytes());
    put(80, &s.st_atime_nsec.to_le_bytes());
    put(88, &s.st_mtime.to_le_bytes());
    put(96, &s.st_mtime_nsec.to_le_bytes());
    put(104, &s.st_ctime.to_le_bytes());
    put(112, &s.st_ctime_nsec.to_le_bytes());
    b
}

/// Guest `struct utsname` fields are 65-byte strings, as on the host; this builds the guest's.
pub fn utsname(host: &libc::utsname, machine: &str) -> [u8; 6 * 65] {
    let mut b = [0u8; 6 * 65];
    let fields = [
        &host.sysname,
        &host.nodename,
        &host.release,
        &host.version,
        &host.machine,
        &host.domainname,
    ];
    for (i, f) in fields.iter().enumerate() {
        for (j, c) in f.iter().take(64).enumerate() {
            b[i * 65 + j] = *c as u8;
        }
    }
    b[4 * 65..5 * 65].fill(0);
    b[4 * 65..4 * 65 + machine.len().min(64)]
        .copy_from_slice(&machine.as_bytes()[..machine.len().min(64)]);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_land_at_the_generic_offsets() {
        // SAFETY: libc::stat is plain old data; all-zero is a valid value.
        let mut s: libc::stat = unsafe { std::mem::zeroed() };
        s.st_dev = 0x0102;
        s.st_ino = 0xdead_beef_1234;
        s.st_mode = 0o100644;
        s.st_nlink = 3;
        s.st_uid = 1000;
        s.st_gid = 100;
        s.st_rdev = 0x0503;
        s.st_size = 123_456_789;
        s.st_blksize = 4096;
        s.st_blocks = 242;
        s.st_atime = 1_700_000_001;
        s.st_atime_nsec = 11;
        s.st_mtime = 1_700_000_002;
        s.st_mtime_nsec = 22;
        s.st_ctime = 1_700_000_003;
        s.st_ctime_nsec = 33;
        let b = stat_generic(&s);
        let q = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let d = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        // Offsets from asm-generic/stat.h: dev 0, ino 8, mode 16, nlink 20, uid 24, gid 28,
        // rdev 32, __pad1 40, size 48, blksize 56, __pad2 60, blocks 64, atime 72/80,
        // mtime 88/96, ctime 104/112, __unused4/5 120/124.
        assert_eq!((q(0), q(8)), (0x0102, 0xdead_beef_1234));
        assert_eq!((d(16), d(20), d(24), d(28)), (0o100644, 3, 1000, 100));
        assert_eq!((q(32), q(40), q(48)), (0x0503, 0, 123_456_789));
        assert_eq!((d(56), d(60), q(64)), (4096, 0, 242));
        assert_eq!(
            (q(72), q(80), q(88), q(96), q(104), q(112)),
            (1_700_000_001, 11, 1_700_000_002, 22, 1_700_000_003, 33)
        );
        assert_eq!(q(120), 0);
        // On the host (x86-64) the layout differs: mode is not at 16 there.
        assert_eq!(std::mem::size_of::<libc::stat>(), 144);
    }

    #[test]
    fn uname_machine_is_replaced() {
        // SAFETY: utsname is plain old data; all-zero is valid.
        let mut h: libc::utsname = unsafe { std::mem::zeroed() };
        for (i, c) in b"Linux".iter().enumerate() {
            h.sysname[i] = *c as libc::c_char;
        }
        for (i, c) in b"x86_64".iter().enumerate() {
            h.machine[i] = *c as libc::c_char;
        }
        let b = utsname(&h, "riscv64");
        assert_eq!(&b[..6], b"Linux\0");
        assert_eq!(&b[4 * 65..4 * 65 + 8], b"riscv64\0");
    }
}
