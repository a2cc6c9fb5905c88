//! The initial process stack, laid out as Linux's `create_elf_tables` does: from the top, the
//! executable name, the environment and argument strings, the 16 AT_RANDOM bytes, then (16-byte
//! aligned) argc, argv[], NULL, envp[], NULL and the auxiliary vector.

/// Auxiliary vector keys.
#[allow(missing_docs, reason = "the names are the ABI's")]
pub mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHENT: u64 = 4;
    pub const PHNUM: u64 = 5;
    pub const PAGESZ: u64 = 6;
    pub const BASE: u64 = 7;
    pub const FLAGS: u64 = 8;
    pub const ENTRY: u64 = 9;
    pub const UID: u64 = 11;
    pub const EUID: u64 = 12;
    pub const GID: u64 = 13;
    pub const EGID: u64 = 14;
    pub const PLATFORM: u64 = 15;
    pub const HWCAP: u64 = 16;
    pub const CLKTCK: u64 = 17;
    pub const SECURE: u64 = 23;
    pub const RANDOM: u64 = 25;
    pub const HWCAP2: u64 = 26;
    pub const EXECFN: u64 = 31;
}

/// The stack's contents from `sp` up to the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackImage {
    /// The initial stack pointer (16-byte aligned; points at argc).
    pub sp: u64,
    /// Bytes for `[sp, top)`.
    pub bytes: Vec<u8>,
}

/// Builds the stack image for a stack ending at `top`. `auxv` holds the entries that do not
/// point into the stack; AT_RANDOM and AT_EXECFN are added here, AT_NULL last.
pub fn build(
    top: u64,
    argv: &[String],
    envp: &[String],
    execfn: &str,
    auxv: &[(u64, u64)],
    random: [u8; 16],
) -> StackImage {
    build_with_platform(top, argv, envp, execfn, None, auxv, random)
}

/// [`build`], with an AT_PLATFORM string (x86-64's "x86_64", arm64's "aarch64"), placed below
/// the argument strings as Linux does.
pub fn build_with_platform(
    top: u64,
    argv: &[String],
    envp: &[String],
    execfn: &str,
    platform: Option<&str>,
    auxv: &[(u64, u64)],
    random: [u8; 16],
) -> StackImage {
    let mut strings: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut cur = top - 8;
    let mut push = |s: &[u8], cur: &mut u64| {
        let mut b = s.to_vec();
        b.push(0);
        *cur -= b.len() as u64;
        strings.push((*cur, b));
        *cur
    };
    let execfn_at = push(execfn.as_bytes(), &mut cur);
    let mut env_at: Vec<u64> = envp
        .iter()
        .rev()
        .map(|s| push(s.as_bytes(), &mut cur))
        .collect();
    env_at.reverse();
    let mut arg_at: Vec<u64> = argv
        .iter()
        .rev()
        .map(|s| push(s.as_bytes(), &mut cur))
        .collect();
    arg_at.reverse();
    let platform_at = platform.map(|p| push(p.as_bytes(), &mut cur));
    cur -= 16;
    let random_at = cur;
    strings.push((random_at, random.to_vec()));
    cur &= !15;

    let mut words = vec![argv.len() as u64];
    words.extend(&arg_at);
    words.push(0);
    words.extend(&env_at);
    words.push(0);
    let platform = platform_at.map(|a| (at::PLATFORM, a));
    for (k, v) in auxv
        .iter()
        .chain(&[(at::RANDOM, random_at), (at::EXECFN, execfn_at)])
        .chain(platform.iter())
        .chain(&[(at::NULL, 0)])
    {
        words.extend([*k, *v]);
    }
    let sp = (cur - words.len() as u64 * 8) & !15;
    let mut bytes = vec![0u8; (top - sp) as usize];
    for (i, w) in words.iter().enumerate() {
        let o = i * 8;
        bytes[o..o + 8].copy_from_slice(&w.to_le_bytes());
    }
    for (at, b) in strings {
        let o = (at - sp) as usize;
        bytes[o..o + b.len()].copy_from_slice(&b);
    }
    StackImage { sp, bytes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(img: &StackImage, addr: u64) -> u64 {
        let o = (addr - img.sp) as usize;
        u64::from_le_bytes(img.bytes[o..o + 8].try_into().unwrap())
    }

    fn cstr(img: &StackImage, addr: u64) -> String {
        let o = (addr - img.sp) as usize;
        let n = img.bytes[o..].iter().position(|b| *b == 0).unwrap();
        String::from_utf8(img.bytes[o..o + n].to_vec()).unwrap()
    }

    #[test]
    fn parse_back_what_was_built() {
        let top = 0x40_0000_0000;
        let argv: Vec<String> = ["/bin/busybox", "echo", "hi there"]
            .map(String::from)
            .to_vec();
        let envp: Vec<String> = ["A=1", "PATH=/bin"].map(String::from).to_vec();
        let auxv = [(at::PAGESZ, 4096), (at::ENTRY, 0x1_0000)];
        let random: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
        let img = build(top, &argv, &envp, "/bin/busybox", &auxv, random);
        assert_eq!(img.sp % 16, 0);
        assert_eq!(img.sp + img.bytes.len() as u64, top);
        let mut at = img.sp;
        let mut next = || {
            let w = word(&img, at);
            at += 8;
            w
        };
        assert_eq!(next(), 3);
        let args: Vec<String> = (0..3).map(|_| next()).map(|p| cstr(&img, p)).collect();
        assert_eq!(args, argv);
        assert_eq!(next(), 0);
        let envs: Vec<String> = (0..2).map(|_| next()).map(|p| cstr(&img, p)).collect();
        assert_eq!(envs, envp);
        assert_eq!(next(), 0);
        let mut aux = Vec::new();
        loop {
            let (k, v) = (next(), next());
            aux.push((k, v));
            if k == at::NULL {
                break;
            }
        }
        assert_eq!(&aux[..2], &auxv);
        assert_eq!(aux[2].0, at::RANDOM);
        let r = (aux[2].1 - img.sp) as usize;
        assert_eq!(&img.bytes[r..r + 16], &random);
        assert_eq!(aux[3].0, at::EXECFN);
        assert_eq!(cstr(&img, aux[3].1), "/bin/busybox");
        assert_eq!(aux[4], (at::NULL, 0));
        // Strings live above the pointer tables, and the top 8 bytes stay zero.
        assert!(aux[3].1 > at && aux[3].1 < top - 8);
        assert_eq!(word(&img, top - 8), 0);
    }

    #[test]
    fn platform_string_follows_execfn() {
        let img = build_with_platform(0x1000_0000, &[], &[], "e", Some("x86_64"), &[], [0; 16]);
        // argc, argv NULL, envp NULL, then RANDOM, EXECFN, PLATFORM, NULL.
        let aux = img.sp + 24;
        assert_eq!(word(&img, aux + 32), at::PLATFORM);
        assert_eq!(cstr(&img, word(&img, aux + 40)), "x86_64");
        assert_eq!(word(&img, aux + 48), at::NULL);
    }

    #[test]
    fn alignment_holds_for_any_string_lengths() {
        for n in 0..40 {
            let argv = vec!["x".repeat(n)];
            let envp = vec!["y".repeat(n % 7); n % 3];
            let img = build(0x1000_0000, &argv, &envp, "e", &[], [0; 16]);
            assert_eq!(img.sp % 16, 0, "n={n}");
            assert_eq!(word(&img, img.sp), 1);
        }
    }
}
