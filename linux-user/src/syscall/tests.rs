use std::sync::Arc;

use xlat_softmmu::user::{
    AddressSpace, Backing, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE,
};

use super::*;

const NR_OPENAT: u64 = 56;
const NR_CLOSE: u64 = 57;
const NR_READ: u64 = 63;
const NR_WRITE: u64 = 64;
const NR_NEWFSTATAT: u64 = 79;
const NR_FSTAT: u64 = 80;
const NR_UNAME: u64 = 160;
const NR_RT_SIGACTION: u64 = 134;
const NR_BRK: u64 = 214;
const NR_MUNMAP: u64 = 215;
const NR_MMAP: u64 = 222;
const NR_MPROTECT: u64 = 226;
const NR_PIPE2: u64 = 59;

fn setup() -> (Process, u64) {
    let space = Arc::new(AddressSpace::new(6).unwrap());
    let scratch = space
        .mmap(
            0,
            0x10000,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            Backing::Anon,
        )
        .unwrap();
    space.init_brk(0x100_0000);
    (
        Process::new(
            space,
            UserOptions::default(),
            "/bin/prog".into(),
            243,
            "riscv64",
        ),
        scratch,
    )
}

fn ret(p: &mut Process, nr: u64, a: &[u64]) -> i64 {
    let mut args = [0; 6];
    args[..a.len()].copy_from_slice(a);
    match p.syscall(nr, args) {
        Outcome::Ret(v) => v,
        o => panic!("unexpected {o:?}"),
    }
}

#[test]
fn errno_numbers_are_the_generic_ones() {
    // asm-generic/errno-base.h and errno.h values (riscv64 and aarch64 use these).
    let generic = [
        (libc::EPERM, 1),
        (libc::ENOENT, 2),
        (libc::EBADF, 9),
        (libc::EAGAIN, 11),
        (libc::ENOMEM, 12),
        (libc::EFAULT, 14),
        (libc::EEXIST, 17),
        (libc::ENOTDIR, 20),
        (libc::EINVAL, 22),
        (libc::ENOTTY, 25),
        (libc::ERANGE, 34),
        (libc::EDEADLK, 35),
        (libc::ENAMETOOLONG, 36),
        (libc::ENOSYS, 38),
        (libc::ENOTEMPTY, 39),
        (libc::ELOOP, 40),
        (libc::EOPNOTSUPP, 95),
        (libc::ETIMEDOUT, 110),
    ];
    for (host, guest) in generic {
        assert_eq!(host, guest);
    }
}

#[test]
fn unknown_syscall_is_enosys_and_exit_exits() {
    let (mut p, _) = setup();
    assert_eq!(ret(&mut p, 4000, &[]), -38);
    assert_eq!(p.syscall(94, [3, 0, 0, 0, 0, 0]), Outcome::Exit(3));
}

#[test]
fn open_stat_read_close_through_guest_memory() {
    let (mut p, buf) = setup();
    let dir = std::env::temp_dir().join(format!("xlat-lu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("f.txt");
    std::fs::write(&file, b"hello, guest\n").unwrap();
    let path = format!("{}\0", file.display());
    p.space.write_bytes(buf, path.as_bytes()).unwrap();
    let fd = ret(&mut p, NR_OPENAT, &[-100i64 as u64, buf, 0, 0]);
    assert!(fd >= 0, "{fd}");
    assert_eq!(ret(&mut p, NR_FSTAT, &[fd as u64, buf + 0x1000]), 0);
    let mode = u32::from_le_bytes(
        p.space
            .read_bytes_vec(buf + 0x1000 + 16, 4)
            .try_into()
            .unwrap(),
    );
    let size = p.space.read_u64(buf + 0x1000 + 48).unwrap();
    assert_eq!(mode & 0o170000, 0o100000, "regular file");
    assert_eq!(size, 13);
    assert_eq!(ret(&mut p, NR_READ, &[fd as u64, buf + 0x2000, 100]), 13);
    assert_eq!(p.space.read_bytes_vec(buf + 0x2000, 13), b"hello, guest\n");
    assert_eq!(
        ret(&mut p, NR_READ, &[fd as u64, 0x10, 100]),
        -14,
        "EFAULT for an unmapped buffer"
    );
    assert_eq!(ret(&mut p, NR_CLOSE, &[fd as u64]), 0);
    assert_eq!(ret(&mut p, NR_CLOSE, &[fd as u64]), -9, "EBADF");
    assert_eq!(
        ret(
            &mut p,
            NR_NEWFSTATAT,
            &[-100i64 as u64, buf, buf + 0x1000, 0]
        ),
        0
    );
    assert_eq!(p.space.read_u64(buf + 0x1000 + 48).unwrap(), 13);
    p.space.write_bytes(buf, b"/nonexistent/x\0").unwrap();
    assert_eq!(
        ret(&mut p, NR_OPENAT, &[-100i64 as u64, buf, 0, 0]),
        -2,
        "ENOENT"
    );
    assert_eq!(
        ret(&mut p, NR_OPENAT, &[-100i64 as u64, 0x10, 0, 0]),
        -14,
        "EFAULT path"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pipe_write_read_and_proc_self_maps() {
    let (mut p, buf) = setup();
    assert_eq!(ret(&mut p, NR_PIPE2, &[buf, 0]), 0);
    let fds = p.space.read_u64(buf).unwrap();
    let (r, w) = (fds & 0xffff_ffff, fds >> 32);
    p.space.write_bytes(buf + 0x100, b"abc").unwrap();
    assert_eq!(ret(&mut p, NR_WRITE, &[w, buf + 0x100, 3]), 3);
    assert_eq!(ret(&mut p, NR_READ, &[r, buf + 0x200, 10]), 3);
    assert_eq!(p.space.read_bytes_vec(buf + 0x200, 3), b"abc");
    ret(&mut p, NR_CLOSE, &[r]);
    ret(&mut p, NR_CLOSE, &[w]);
    p.space.write_bytes(buf, b"/proc/self/maps\0").unwrap();
    let fd = ret(&mut p, NR_OPENAT, &[-100i64 as u64, buf, 0, 0]);
    let n = ret(&mut p, NR_READ, &[fd as u64, buf + 0x1000, 0x1000]);
    let text = String::from_utf8(p.space.read_bytes_vec(buf + 0x1000, n as usize)).unwrap();
    assert!(
        text.contains(&format!("{buf:08x}-{:08x} rw-p", buf + 0x10000)),
        "{text}"
    );
    ret(&mut p, NR_CLOSE, &[fd as u64]);
}

#[test]
fn memory_syscalls_and_exec_flush() {
    let (mut p, _) = setup();
    assert_eq!(ret(&mut p, NR_BRK, &[0]), 0x100_0000);
    assert_eq!(ret(&mut p, NR_BRK, &[0x100_2000]), 0x100_2000);
    let a = ret(&mut p, NR_MMAP, &[0, 0x3000, 3, 0x22, -1i64 as u64, 0]);
    assert!(a > 0 && a % 4096 == 0);
    assert!(p.stale.is_empty());
    let a = a as u64;
    assert_eq!(ret(&mut p, NR_MPROTECT, &[a, 0x1000, 5]), 0);
    assert_eq!(
        std::mem::take(&mut p.stale),
        [(a, 0x1000)],
        "made executable"
    );
    assert_eq!(ret(&mut p, NR_MUNMAP, &[a + 0x1000, 0x1000]), 0);
    assert!(p.stale.is_empty(), "no exec pages there");
    let x = ret(&mut p, NR_MMAP, &[0, 0x1000, 5, 0x22, -1i64 as u64, 0]) as u64;
    assert!(
        p.stale.is_empty(),
        "new executable memory has no translations yet"
    );
    assert_eq!(ret(&mut p, NR_MUNMAP, &[a, 0x1000]), 0);
    assert_eq!(ret(&mut p, NR_MUNMAP, &[x, 0x1000]), 0);
    assert_eq!(p.stale, [(a, 0x1000), (x, 0x1000)]);
    assert_eq!(
        ret(&mut p, NR_MMAP, &[0, 0, 3, 0x22, -1i64 as u64, 0]),
        -22,
        "zero length"
    );
    assert_eq!(
        ret(&mut p, NR_MMAP, &[0, 0x1000, 3, 0x20, -1i64 as u64, 0]),
        -22,
        "neither shared nor private"
    );
}

#[test]
fn sigaction_roundtrip_and_uname() {
    let (mut p, buf) = setup();
    let act: Vec<u8> = (0..24).collect();
    p.space.write_bytes(buf, &act).unwrap();
    assert_eq!(ret(&mut p, NR_RT_SIGACTION, &[10, buf, 0, 8]), 0);
    assert_eq!(ret(&mut p, NR_RT_SIGACTION, &[10, 0, buf + 0x100, 8]), 0);
    assert_eq!(p.space.read_bytes_vec(buf + 0x100, 24), act);
    assert_eq!(
        ret(&mut p, NR_RT_SIGACTION, &[9, buf, 0, 8]),
        -22,
        "SIGKILL"
    );
    assert_eq!(ret(&mut p, NR_RT_SIGACTION, &[65, 0, 0, 8]), -22);
    assert_eq!(ret(&mut p, NR_UNAME, &[buf]), 0);
    assert_eq!(p.space.read_bytes_vec(buf, 6), b"Linux\0");
    assert_eq!(p.space.read_bytes_vec(buf + 4 * 65, 8), b"riscv64\0");
}

trait ReadVec {
    fn read_bytes_vec(&self, addr: u64, n: usize) -> Vec<u8>;
}

impl ReadVec for AddressSpace {
    fn read_bytes_vec(&self, addr: u64, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.read_bytes(addr, &mut v).unwrap();
        v
    }
}
