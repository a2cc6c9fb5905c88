//! The x86-64 Linux ABI: its own syscall numbers (`arch/x86/entry/syscalls/syscall_64.tbl`)
//! mapped onto the shared implementations, the legacy path calls (open, stat, pipe, fork...)
//! rewritten to their `*at`/generic forms, arch_prctl, and `struct stat`'s x86-64 layout.

use crate::syscall::table::{Sys, generic};
use xlat_ir::abi::CpuState;
use xlat_softmmu::AddressSpace;

/// ELF `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;

const AT_FDCWD: u64 = -100i64 as u64;

/// x86-64 syscall number → the shared syscall, through the asm-generic number of the same
/// call (every argument list here matches the generic one).
pub fn lookup(nr: u64) -> Option<Sys> {
    let g = match nr {
        0 => 63,
        1 => 64,
        3 => 57,
        5 => 80,
        8 => 62,
        9 => 222,
        10 => 226,
        11 => 215,
        12 => 214,
        13 => 134,
        14 => 135,
        15 => 139,
        16 => 29,
        17 => 67,
        18 => 68,
        19 => 65,
        20 => 66,
        24 => 124,
        25 => 216,
        26 => 227,
        27 => 232,
        28 => 233,
        32 => 23,
        35 => 101,
        36 => 102,
        38 => 103,
        39 => 172,
        40 => 71,
        41 => 198,
        42 => 203,
        43 => 202,
        44 => 206,
        45 => 207,
        46 => 211,
        47 => 212,
        48 => 210,
        49 => 200,
        50 => 201,
        51 => 204,
        52 => 205,
        53 => 199,
        54 => 208,
        55 => 209,
        56 => 220,
        59 => 221,
        60 => 93,
        61 => 260,
        62 => 129,
        63 => 160,
        72 => 25,
        73 => 32,
        74 => 82,
        75 => 83,
        76 => 45,
        77 => 46,
        79 => 17,
        80 => 49,
        81 => 50,
        91 => 52,
        93 => 55,
        95 => 166,
        96 => 169,
        97 => 163,
        98 => 165,
        99 => 179,
        100 => 153,
        102 => 174,
        104 => 176,
        105 => 146,
        106 => 144,
        107 => 175,
        108 => 177,
        109 => 154,
        110 => 173,
        112 => 157,
        113 => 145,
        114 => 143,
        115 => 158,
        116 => 159,
        117 => 147,
        118 => 148,
        119 => 149,
        120 => 150,
        121 => 155,
        124 => 156,
        125 => 90,
        126 => 91,
        127 => 136,
        128 => 137,
        129 => 138,
        130 => 133,
        131 => 132,
        135 => 92,
        137 => 43,
        138 => 44,
        140 => 141,
        141 => 140,
        143 => 121,
        145 => 120,
        149 => 228,
        150 => 229,
        151 => 230,
        152 => 231,
        157 => 167,
        160 => 164,
        162 => 81,
        170 => 161,
        186 => 178,
        200 => 130,
        202 => 98,
        203 => 122,
        204 => 123,
        217 => 61,
        218 => 96,
        221 => 223,
        228 => 113,
        229 => 114,
        230 => 115,
        231 => 94,
        233 => 21,
        234 => 131,
        247 => 95,
        254 => 27,
        255 => 28,
        257 => 56,
        258 => 34,
        259 => 33,
        260 => 54,
        262 => 79,
        263 => 35,
        265 => 37,
        266 => 36,
        267 => 78,
        268 => 53,
        269 => 48,
        270 => 72,
        271 => 73,
        273 => 99,
        274 => 100,
        275 => 76,
        276 => 77,
        277 => 84,
        280 => 88,
        281 => 22,
        283 => 85,
        285 => 47,
        286 => 86,
        287 => 87,
        288 => 242,
        289 => 74,
        290 => 19,
        291 => 20,
        292 => 24,
        293 => 59,
        294 => 26,
        295 => 69,
        296 => 70,
        297 => 240,
        302 => 261,
        306 => 267,
        309 => 168,
        316 => 276,
        318 => 278,
        319 => 279,
        324 => 283,
        326 => 285,
        332 => 291,
        334 => 293,
        424 | 434 | 435 | 436 | 439 | 441 | 452 => nr,
        _ => return None,
    };
    generic(g)
}

/// What to do with a syscall before the shared layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pre {
    /// Done here: this is the result.
    Ret(i64),
    /// Run (x86-64) syscall `nr` with these arguments.
    Call(u64, [u64; 6]),
}

/// Handles arch_prctl and rewrites the legacy calls to the x86-64 numbers of their modern
/// forms.
pub fn before(env: &mut CpuState, space: &AddressSpace, nr: u64, a: [u64; 6]) -> Pre {
    use xlat_frontend_x86::state;
    let call = |nr, b: &[u64]| {
        let mut v = [0u64; 6];
        v[..b.len()].copy_from_slice(b);
        Pre::Call(nr, v)
    };
    match nr {
        // arch_prctl
        158 => Pre::Ret(match a[0] {
            0x1001 => {
                env.set_word(state::GS_BASE, a[1]);
                0
            }
            0x1002 => {
                env.set_word(state::FS_BASE, a[1]);
                0
            }
            0x1003 | 0x1004 => {
                let off = if a[0] == 0x1003 {
                    state::FS_BASE
                } else {
                    state::GS_BASE
                };
                match space.write_u64(a[1], env.word(off)) {
                    Ok(()) => 0,
                    Err(_) => -i64::from(libc::EFAULT),
                }
            }
            _ => -i64::from(libc::EINVAL),
        }),
        // time(tloc)
        201 => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            if a[0] != 0 && space.write_u64(a[0], now).is_err() {
                return Pre::Ret(-i64::from(libc::EFAULT));
            }
            Pre::Ret(now as i64)
        }
        // poll(fds, nfds, timeout_ms) and select(n, r, w, e, timeval): legacy calls with no
        // generic number, run here on host copies of the guest's arrays.
        7 => Pre::Ret(poll(space, a)),
        // epoll_wait: epoll_pwait without a mask (the shared layer packs x86-64's epoll_event).
        232 => call(281, &[a[0], a[1], a[2], a[3], 0, 8]),
        23 => Pre::Ret(select(space, a)),
        // Extended attributes: the shared layer has none, so every file has none (what ls
        // and cp see on a filesystem without xattrs).
        191..=193 => Pre::Ret(-i64::from(libc::ENODATA)),
        194..=196 => Pre::Ret(0),
        2 => call(257, &[AT_FDCWD, a[0], a[1], a[2]]),
        4 => call(262, &[AT_FDCWD, a[0], a[1], 0]),
        6 => call(262, &[AT_FDCWD, a[0], a[1], 0x100]),
        21 => call(269, &[AT_FDCWD, a[0], a[1]]),
        22 => call(293, &[a[0], 0]),
        33 if a[0] == a[1] => call(72, &[a[0], 1]), // fcntl(F_GETFD) checks the fd
        33 => call(292, &[a[0], a[1], 0]),
        57 => call(56, &[17]),     // fork: clone(SIGCHLD)
        58 => call(56, &[0x4111]), // vfork: clone(CLONE_VM|CLONE_VFORK|SIGCHLD)
        82 => call(316, &[AT_FDCWD, a[0], AT_FDCWD, a[1], 0]),
        83 => call(258, &[AT_FDCWD, a[0], a[1]]),
        84 => call(263, &[AT_FDCWD, a[0], 0x200]),
        85 => call(257, &[AT_FDCWD, a[0], 0x241, a[1]]),
        86 => call(265, &[AT_FDCWD, a[0], AT_FDCWD, a[1], 0]),
        87 => call(263, &[AT_FDCWD, a[0], 0]),
        88 => call(266, &[a[0], AT_FDCWD, a[1]]),
        89 => call(267, &[AT_FDCWD, a[0], a[1], a[2]]),
        90 => call(268, &[AT_FDCWD, a[0], a[1]]),
        92 => call(260, &[AT_FDCWD, a[0], a[1], a[2], 0]),
        94 => call(260, &[AT_FDCWD, a[0], a[1], a[2], 0x100]),
        111 => call(121, &[0]),
        213 => call(291, &[0]),
        284 => call(290, &[a[0], 0]),
        _ => Pre::Call(nr, a),
    }
}

fn efault() -> i64 {
    -i64::from(libc::EFAULT)
}

fn errno_ret(r: i64) -> i64 {
    if r < 0 {
        -i64::from(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL),
        )
    } else {
        r
    }
}

/// poll(2): `struct pollfd` (8 bytes) has the same layout on guest and host.
fn poll(space: &AddressSpace, a: [u64; 6]) -> i64 {
    let n = a[1] as usize;
    if n > 1 << 20 {
        return -i64::from(libc::EINVAL);
    }
    let mut raw = vec![0u8; n * 8];
    if space.read_bytes(a[0], &mut raw).is_err() {
        return efault();
    }
    let mut fds: Vec<libc::pollfd> = raw
        .chunks_exact(8)
        .map(|c| libc::pollfd {
            fd: i32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            events: i16::from_le_bytes([c[4], c[5]]),
            revents: 0,
        })
        .collect();
    // SAFETY: `fds` is a live array of `n` pollfds.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), n as libc::nfds_t, a[2] as i32) };
    let r = errno_ret(i64::from(r));
    if r >= 0 {
        for (k, f) in fds.iter().enumerate() {
            raw[k * 8 + 6..k * 8 + 8].copy_from_slice(&f.revents.to_le_bytes());
        }
        if space.write_bytes(a[0], &raw).is_err() {
            return efault();
        }
    }
    r
}

/// select(2): fd_sets are bit arrays of 64-bit words on both sides; the timeval is updated
/// with the time left, as Linux does.
fn select(space: &AddressSpace, a: [u64; 6]) -> i64 {
    let n = a[0] as i32;
    if !(0..=libc::FD_SETSIZE as i32).contains(&n) {
        return -i64::from(libc::EINVAL);
    }
    let bytes = (n as usize).div_ceil(64) * 8;
    let mut sets = [[0u8; 128]; 3];
    for (k, set) in sets.iter_mut().enumerate() {
        if a[1 + k] != 0 && space.read_bytes(a[1 + k], &mut set[..bytes]).is_err() {
            return efault();
        }
    }
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    if a[4] != 0 {
        let mut t = [0u8; 16];
        if space.read_bytes(a[4], &mut t).is_err() {
            return efault();
        }
        tv.tv_sec = i64::from_le_bytes(t[0..8].try_into().unwrap_or([0; 8]));
        tv.tv_usec = i64::from_le_bytes(t[8..16].try_into().unwrap_or([0; 8]));
    }
    let ptr = |k: usize, s: &mut [[u8; 128]; 3]| -> *mut libc::fd_set {
        if a[1 + k] == 0 {
            std::ptr::null_mut()
        } else {
            s[k].as_mut_ptr().cast()
        }
    };
    let (r, w, e) = (ptr(0, &mut sets), ptr(1, &mut sets), ptr(2, &mut sets));
    let t = if a[4] == 0 {
        std::ptr::null_mut()
    } else {
        &mut tv as *mut libc::timeval
    };
    // SAFETY: each set pointer is null or a 128-byte buffer (the size of fd_set), `t` null or
    // our timeval.
    let ret = errno_ret(i64::from(unsafe { libc::select(n, r, w, e, t) }));
    if ret >= 0 {
        for k in 0..3 {
            if a[1 + k] != 0 && space.write_bytes(a[1 + k], &sets[k][..bytes]).is_err() {
                return efault();
            }
        }
        if a[4] != 0 {
            let mut b = [0u8; 16];
            b[0..8].copy_from_slice(&tv.tv_sec.to_le_bytes());
            b[8..16].copy_from_slice(&tv.tv_usec.to_le_bytes());
            if space.write_bytes(a[4], &b).is_err() {
                return efault();
            }
        }
    }
    ret
}

/// Fixes up results whose layout differs on x86-64: `struct stat` (the shared layer writes
/// the asm-generic one).
pub fn after(space: &AddressSpace, nr: u64, a: [u64; 6], ret: i64) {
    if ret != 0 {
        return;
    }
    let buf = match nr {
        5 => a[1],
        262 => a[2],
        _ => return,
    };
    let mut g = [0u8; 128];
    if space.read_bytes(buf, &mut g).is_err() {
        return;
    }
    let _ = space.write_bytes(buf, &stat_to_x86(&g));
}

/// asm-generic `struct stat` (128 bytes) → x86-64 `struct stat` (144 bytes).
pub fn stat_to_x86(g: &[u8; 128]) -> [u8; 144] {
    let u32_at = |o: usize| u32::from_le_bytes(g[o..o + 4].try_into().unwrap_or([0; 4]));
    let mut x = [0u8; 144];
    x[0..16].copy_from_slice(&g[0..16]); // st_dev, st_ino
    x[16..24].copy_from_slice(&u64::from(u32_at(20)).to_le_bytes()); // st_nlink
    x[24..28].copy_from_slice(&g[16..20]); // st_mode
    x[28..36].copy_from_slice(&g[24..32]); // st_uid, st_gid
    x[40..48].copy_from_slice(&g[32..40]); // st_rdev
    x[48..56].copy_from_slice(&g[48..56]); // st_size
    let blksize = i64::from(u32_at(56) as i32);
    x[56..64].copy_from_slice(&blksize.to_le_bytes());
    x[64..120].copy_from_slice(&g[64..120]); // st_blocks, the three timespecs
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_syscall_64_tbl() {
        let name = |nr| lookup(nr).map(Sys::name);
        assert_eq!(name(0), Some("read"));
        assert_eq!(name(1), Some("write"));
        assert_eq!(name(9), Some("mmap"));
        assert_eq!(name(60), Some("exit"));
        assert_eq!(name(231), Some("exit_group"));
        assert_eq!(name(257), Some("openat"));
        assert_eq!(name(262), Some("newfstatat"));
        assert_eq!(name(318), Some("getrandom"));
        assert_eq!(name(435), Some("clone3"));
        assert_eq!(name(158), None); // arch_prctl is handled before the table
    }

    #[test]
    fn stat_layout() {
        let mut g = [0u8; 128];
        g[16..20].copy_from_slice(&0o100644u32.to_le_bytes());
        g[20..24].copy_from_slice(&3u32.to_le_bytes());
        g[48..56].copy_from_slice(&12345u64.to_le_bytes());
        let x = stat_to_x86(&g);
        assert_eq!(u64::from_le_bytes(x[16..24].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(x[24..28].try_into().unwrap()), 0o100644);
        assert_eq!(u64::from_le_bytes(x[48..56].try_into().unwrap()), 12345);
    }
}

/// `si_code` and `si_addr` of the SIGFPE of x86 exception `code` at `env.pc`, as Linux's
/// `math_error` and `do_error_trap` give them: #DE is FPE_INTDIV; #MF and #XM the first of
/// invalid (FPE_FLTINV), divide by zero (FPE_FLTDIV), overflow (FPE_FLTOVF), denormal or
/// underflow (FPE_FLTUND), precision (FPE_FLTRES) among the unmasked exceptions flagged in
/// the x87 status word (#MF) or MXCSR (#XM); si_addr is the instruction.
pub fn fpe_info(env: &CpuState, code: u32) -> (i32, u64) {
    use xlat_frontend_x86::state;
    const FPE_INTDIV: i32 = 1;
    let err = match code {
        xlat_frontend_x86::X87_FP_ERROR => env.word(state::X87_SW) & !env.word(state::X87_CW),
        xlat_frontend_x86::SIMD_FP_ERROR => {
            let m = env.word(state::MXCSR);
            !(m >> 7) & m
        }
        _ => return (FPE_INTDIV, env.pc),
    };
    (fpe_code(err), env.pc)
}

/// Linux's `fpu__exception_code` on unmasked exception bits `err`.
fn fpe_code(err: u64) -> i32 {
    const FPE_FLTDIV: i32 = 3;
    const FPE_FLTOVF: i32 = 4;
    const FPE_FLTUND: i32 = 5;
    const FPE_FLTRES: i32 = 6;
    const FPE_FLTINV: i32 = 7;
    if err & 1 != 0 {
        FPE_FLTINV
    } else if err & 4 != 0 {
        FPE_FLTDIV
    } else if err & 8 != 0 {
        FPE_FLTOVF
    } else if err & 0x12 != 0 {
        FPE_FLTUND
    } else if err & 0x20 != 0 {
        FPE_FLTRES
    } else {
        0
    }
}

/// sigcontext's `trapno` for a signal with siginfo `info`: 0 (#DE) for FPE_INTDIV, 16 (#MF)
/// or 19 (#XM) for the floating-point SIGFPEs (#MF while the x87 has an unmasked exception
/// pending), else 0.
fn trapno(env: &CpuState, sig: i32, info: &[u8; 128]) -> u64 {
    use xlat_frontend_x86::state;
    let code = i32::from_le_bytes([info[8], info[9], info[10], info[11]]);
    if sig != libc::SIGFPE || !(3..=7).contains(&code) {
        return 0;
    }
    if env.word(state::X87_SW) & !env.word(state::X87_CW) & 0x3f != 0 {
        u64::from(xlat_frontend_x86::X87_FP_ERROR)
    } else {
        u64::from(xlat_frontend_x86::SIMD_FP_ERROR)
    }
}

/// The x86-64 `rt_sigframe` (arch/x86/include/asm/sigframe.h): the return address
/// (`sa_restorer`), a `ucontext` whose `sigcontext` holds every GPR, rip, rflags and a
/// pointer to the 512-byte fxsave image of the x87/SSE state, then the siginfo.
#[derive(Debug)]
pub struct Frame;

/// Byte offsets in the frame.
mod off {
    pub const UC: u64 = 8;
    pub const UC_STACK: u64 = UC + 16;
    pub const MCONTEXT: u64 = UC + 40;
    pub const SIGMASK: u64 = UC + 296;
    pub const INFO: u64 = UC + 304;
    pub const SIZE: u64 = INFO + 128;
}

/// sigcontext's order of the general registers (r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx,
/// rsp), as encoding numbers.
const SC_GPRS: [u8; 16] = [8, 9, 10, 11, 12, 13, 14, 15, 7, 6, 5, 3, 2, 0, 1, 4];

fn cw_word(env: &CpuState) -> u64 {
    env.word(xlat_frontend_x86::state::X87_CW)
}

fn fxsave_image(env: &CpuState) -> [u8; 512] {
    use xlat_frontend_x86::state;
    let mut b = [0u8; 512];
    let cw = env.word(state::X87_CW) as u16;
    let top = env.word(state::X87_TOP) & 7;
    let sw = env.word(state::X87_SW) & !0x8080;
    // ES and B: an exception flag unmasked in the control word.
    let es = if sw & !cw_word(env) & 0x3f != 0 {
        0x8080
    } else {
        0
    };
    let sw = (sw | es | (top << 11)) as u16;
    b[0..2].copy_from_slice(&cw.to_le_bytes());
    b[2..4].copy_from_slice(&sw.to_le_bytes());
    if es != 0 {
        // FOP, FIP and FDP (64-bit), stored while an exception is pending (as this host's
        // xsave does).
        let w = env.word(state::X87_FIP);
        b[6..8].copy_from_slice(&((w >> 48) as u16 & 0x7ff).to_le_bytes());
        b[8..16].copy_from_slice(&(((w << 16) as i64 >> 16) as u64).to_le_bytes());
        b[16..24].copy_from_slice(&env.word(state::X87_FDP).to_le_bytes());
    }
    // The abridged tag: bit p set when physical register p is in use, as fxsave stores it.
    b[4] = (env.word(xlat_frontend_x86::x87::TAG) & 0xff) as u8;
    b[24..28].copy_from_slice(&(env.word(state::MXCSR) as u32).to_le_bytes());
    b[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
    for i in 0..8u64 {
        let phys = ((top + i) & 7) as u8;
        let (lo, hi) = (env.word(state::x87(phys)), env.word(state::x87_exp(phys)));
        let o = 32 + 16 * i as usize;
        b[o..o + 8].copy_from_slice(&lo.to_le_bytes());
        b[o + 8..o + 10].copy_from_slice(&(hi as u16).to_le_bytes());
    }
    for x in 0..16u8 {
        let o = 160 + 16 * x as usize;
        b[o..o + 8].copy_from_slice(&env.word(state::xmm(x)).to_le_bytes());
        b[o + 8..o + 16].copy_from_slice(&env.word(state::xmm(x) + 8).to_le_bytes());
    }
    b
}

fn fxrstor_image(env: &mut CpuState, b: &[u8; 512]) {
    use xlat_frontend_x86::state;
    let u16_at = |o: usize| u64::from(u16::from_le_bytes([b[o], b[o + 1]]));
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    // As fxrstor keeps it: reserved bits 13..15 and 7 clear, bit 6 set.
    env.set_word(state::X87_CW, (u16_at(0) & 0x1f3f) | 0x40);
    let sw = u16_at(2);
    let top = (sw >> 11) & 7;
    env.set_word(state::X87_SW, sw & !0x3800);
    env.set_word(state::X87_TOP, top);
    env.set_word(xlat_frontend_x86::x87::TAG, u64::from(b[4]));
    let fop = u16_at(6) & 0x7ff;
    env.set_word(state::X87_FIP, (u64_at(8) & ((1 << 48) - 1)) | (fop << 48));
    env.set_word(state::X87_FDP, u64_at(16));
    env.set_word(
        state::MXCSR,
        u64::from(u32::from_le_bytes([b[24], b[25], b[26], b[27]])),
    );
    for i in 0..8u64 {
        let o = 32 + 16 * i as usize;
        let phys = ((top + i) & 7) as u8;
        env.set_word(state::x87(phys), u64_at(o));
        env.set_word(state::x87_exp(phys), u16_at(o + 8));
    }
    for x in 0..16u8 {
        let o = 160 + 16 * x as usize;
        env.set_word(state::xmm(x), u64_at(o));
        env.set_word(state::xmm(x) + 8, u64_at(o + 8));
    }
}

impl crate::arch::SignalFrame for Frame {
    fn setup(
        &self,
        space: &AddressSpace,
        env: &mut CpuState,
        d: &crate::arch::Delivery<'_>,
    ) -> Result<(), xlat_softmmu::user::MapError> {
        use xlat_frontend_x86::state;
        // Below the red zone (or at the top of the alternate stack).
        let sp = d
            .stack_top
            .unwrap_or(env.word(state::RSP).wrapping_sub(128));
        let fp = (sp - 512) & !63;
        // The frame sits so that the handler sees rsp + 8 16-byte aligned, as after a call.
        let frame = ((fp - off::SIZE) & !15) - 8;
        space.write_bytes(fp, &fxsave_image(env))?;
        let mut f = vec![0u8; off::SIZE as usize];
        let put = |f: &mut Vec<u8>, o: u64, v: u64| {
            f[o as usize..o as usize + 8].copy_from_slice(&v.to_le_bytes());
        };
        put(&mut f, 0, d.trampoline);
        f[off::UC_STACK as usize..off::UC_STACK as usize + 24].copy_from_slice(&d.uc_stack);
        for (k, r) in SC_GPRS.iter().enumerate() {
            put(
                &mut f,
                off::MCONTEXT + 8 * k as u64,
                env.word(state::gpr(*r)),
            );
        }
        put(&mut f, off::MCONTEXT + 128, env.pc);
        put(&mut f, off::MCONTEXT + 136, xlat_frontend_x86::rflags(env));
        put(&mut f, off::MCONTEXT + 144, 0x33); // cs
        put(&mut f, off::MCONTEXT + 160, trapno(env, d.sig, d.info));
        put(&mut f, off::MCONTEXT + 184, fp);
        put(&mut f, off::SIGMASK, d.old_mask);
        f[off::INFO as usize..off::INFO as usize + 128].copy_from_slice(d.info);
        space.write_bytes(frame, &f)?;
        env.set_word(state::RDI, d.sig as u64);
        env.set_word(state::RSI, frame + off::INFO);
        env.set_word(state::RDX, frame + off::UC);
        env.set_word(state::RAX, 0);
        env.set_word(state::RSP, frame);
        env.set_word(state::DF, 0);
        env.pc = d.handler;
        Ok(())
    }

    fn restore(
        &self,
        space: &AddressSpace,
        env: &mut CpuState,
    ) -> Result<(u64, [u8; 24]), xlat_softmmu::user::MapError> {
        use xlat_frontend_x86::state;
        // The handler's `ret` popped the return address: the frame is 8 below rsp.
        let frame = env.word(state::RSP).wrapping_sub(8);
        let mut f = vec![0u8; off::SIZE as usize];
        space.read_bytes(frame, &mut f)?;
        let get =
            |o: u64| u64::from_le_bytes(f[o as usize..o as usize + 8].try_into().unwrap_or([0; 8]));
        for (k, r) in SC_GPRS.iter().enumerate() {
            env.set_word(state::gpr(*r), get(off::MCONTEXT + 8 * k as u64));
        }
        env.pc = get(off::MCONTEXT + 128);
        xlat_frontend_x86::set_rflags(env, get(off::MCONTEXT + 136));
        let fp = get(off::MCONTEXT + 184);
        if fp != 0 {
            let mut img = [0u8; 512];
            space.read_bytes(fp, &mut img)?;
            fxrstor_image(env, &img);
        }
        let mut uc_stack = [0u8; 24];
        uc_stack.copy_from_slice(&f[off::UC_STACK as usize..off::UC_STACK as usize + 24]);
        Ok((get(off::SIGMASK), uc_stack))
    }
}
