use super::*;

const RISCV: u16 = 243;

/// A minimal ELF64 LE image: header, `phdrs`, then `payload` at file offset 0x1000.
fn image(kind: u16, machine: u16, phdrs: &[Phdr], payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; 0x1000];
    d[..4].copy_from_slice(b"\x7fELF");
    d[4] = 2;
    d[5] = 1;
    d[6] = 1;
    d[16..18].copy_from_slice(&kind.to_le_bytes());
    d[18..20].copy_from_slice(&machine.to_le_bytes());
    d[24..32].copy_from_slice(&0x1_0000u64.to_le_bytes());
    d[32..40].copy_from_slice(&64u64.to_le_bytes());
    d[52..54].copy_from_slice(&64u16.to_le_bytes());
    d[54..56].copy_from_slice(&56u16.to_le_bytes());
    d[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
    for (i, p) in phdrs.iter().enumerate() {
        let o = 64 + i * 56;
        d[o..o + 4].copy_from_slice(&p.kind.to_le_bytes());
        d[o + 4..o + 8].copy_from_slice(&p.flags.to_le_bytes());
        d[o + 8..o + 16].copy_from_slice(&p.offset.to_le_bytes());
        d[o + 16..o + 24].copy_from_slice(&p.vaddr.to_le_bytes());
        d[o + 32..o + 40].copy_from_slice(&p.filesz.to_le_bytes());
        d[o + 40..o + 48].copy_from_slice(&p.memsz.to_le_bytes());
    }
    d.extend_from_slice(payload);
    d
}

fn seg(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Phdr {
    Phdr {
        kind: PT_LOAD,
        flags,
        offset,
        vaddr,
        filesz,
        memsz,
    }
}

fn two_segments() -> Vec<u8> {
    // Text (R+X) at 0x10000 from file 0x1000 (0x10 bytes); data (R+W) at 0x12ff8 with 8 file
    // bytes and a bss running into the next page.
    let mut payload = vec![0xaau8; 0x10];
    payload.resize(0x1ff8, 0);
    payload.extend_from_slice(&[0x11; 8]);
    let text = seg(5, 0x1000, 0x1_0000, 0x10, 0x10);
    let data = seg(6, 0x2ff8, 0x1_2ff8, 8, 0x100);
    image(ET_EXEC, RISCV, &[text, data], &payload)
}

#[test]
fn rejects_bad_headers_with_clear_errors() {
    assert_eq!(parse(b"", RISCV), Err(ElfError::NotElf));
    assert_eq!(parse(b"#!/bin/sh\n", RISCV), Err(ElfError::NotElf));
    let good = two_segments();
    assert!(parse(&good, RISCV).is_ok());
    let mut d = good.clone();
    d[4] = 1;
    assert_eq!(parse(&d, RISCV), Err(ElfError::WrongClass(1)));
    let mut d = good.clone();
    d[5] = 2;
    assert_eq!(parse(&d, RISCV), Err(ElfError::WrongEndian));
    let d = image(ET_EXEC, 62, &[seg(5, 0x1000, 0x1_0000, 0, 0x10)], &[]);
    let e = parse(&d, RISCV).unwrap_err();
    assert_eq!(
        e.to_string(),
        "is a x86-64 program, but this emulator runs riscv64 programs"
    );
    let d = image(1, RISCV, &[seg(5, 0x1000, 0x1_0000, 0, 0x10)], &[]);
    assert_eq!(parse(&d, RISCV), Err(ElfError::WrongType(1)));
    let interp = Phdr {
        kind: PT_INTERP,
        flags: 4,
        offset: 0,
        vaddr: 0,
        filesz: 0,
        memsz: 0,
    };
    let d = image(
        ET_EXEC,
        RISCV,
        &[interp, seg(5, 0x1000, 0x1_0000, 0, 0x10)],
        &[],
    );
    assert_eq!(
        parse(&d, RISCV),
        Err(ElfError::Malformed("bad PT_INTERP")),
        "empty interpreter path"
    );
    let far = Phdr {
        offset: 0x1000,
        filesz: 0x100,
        ..interp
    };
    let d = image(
        ET_EXEC,
        RISCV,
        &[far, seg(5, 0x1000, 0x1_0000, 0, 0x10)],
        &[b'/'; 0x10],
    );
    assert_eq!(
        parse(&d, RISCV),
        Err(ElfError::Malformed("bad PT_INTERP")),
        "interpreter path past EOF"
    );
    let d = image(
        ET_EXEC,
        RISCV,
        &[seg(5, 0x1000, 0x1_0000, 0x20, 0x10)],
        &[0; 0x20],
    );
    assert!(
        matches!(parse(&d, RISCV), Err(ElfError::Malformed(_))),
        "filesz > memsz"
    );
    let d = image(
        ET_EXEC,
        RISCV,
        &[seg(5, 0x1000, 0x1_0000, 0x2000, 0x2000)],
        &[0; 0x20],
    );
    assert!(
        matches!(parse(&d, RISCV), Err(ElfError::Malformed(_))),
        "data past EOF"
    );
    let d = image(
        ET_EXEC,
        RISCV,
        &[seg(5, 0x1000, 0x1_0008, 0x10, 0x10)],
        &[0; 0x20],
    );
    assert!(
        matches!(parse(&d, RISCV), Err(ElfError::Malformed(_))),
        "misaligned offset"
    );
    let d = image(
        ET_EXEC,
        RISCV,
        &[seg(5, 0x1000, u64::MAX - 0xfff, 0x10, 0x10)],
        &[0; 0x20],
    );
    assert!(
        matches!(parse(&d, RISCV), Err(ElfError::Malformed(_))),
        "address overflow"
    );
    let d = image(ET_EXEC, RISCV, &[], &[]);
    assert_eq!(parse(&d, RISCV), Err(ElfError::NoSegments));
}

#[test]
fn truncations_and_corruptions_never_panic() {
    let good = two_segments();
    for n in 0..200 {
        let _ = parse(&good[..n], RISCV);
    }
    // Flip each byte of the headers to a few values.
    for i in 0..(64 + 2 * 56) {
        for v in [0u8, 1, 0x7f, 0x80, 0xff] {
            let mut d = good.clone();
            d[i] = v;
            let _ = parse(&d, RISCV);
        }
    }
    let mut d = good.clone();
    d[56..58].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(matches!(parse(&d, RISCV), Err(ElfError::Malformed(_))));
    let mut d = good;
    d[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(parse(&d, RISCV), Err(ElfError::Malformed(_))));
}

#[test]
fn loads_segments_with_permissions_and_zeroed_bss() {
    let space = AddressSpace::new(6).unwrap();
    let d = two_segments();
    let info = parse(&d, RISCV).unwrap();
    let l = load(&space, &d, &info, "/bin/prog").unwrap();
    assert_eq!(l.entry, 0x1_0000);
    assert_eq!(l.end, 0x1_30f8);
    assert_eq!(l.bias, 0);
    assert_eq!(l.phdr, 0, "headers are not inside a loaded segment");
    let mut b = [0u8; 0x10];
    space.read_bytes(0x1_0000, &mut b).unwrap();
    assert_eq!(b, [0xaa; 0x10]);
    assert_eq!(space.read_u64(0x1_2ff8), Ok(0x1111_1111_1111_1111));
    assert_eq!(space.read_u64(0x1_3000), Ok(0), "bss");
    assert_eq!(
        space.read_u64(0x1_2000),
        Ok(0),
        "the data page before the file bytes"
    );
    assert_eq!(
        space.write_bytes(0x1_0000, &[0]),
        Err(MapError::Fault),
        "text is read-only"
    );
    assert!(space.write_bytes(0x1_30f0, &[0]).is_ok());
    assert_eq!(
        space.read_u64(0x1_1000),
        Err(MapError::Fault),
        "hole between segments"
    );
    let maps = space.proc_maps();
    assert!(maps.contains("00010000-00011000 r-xp"), "{maps}");
    assert!(maps.contains("00012000-00014000 rw-p"), "{maps}");
}

#[test]
fn static_pie_gets_a_bias_and_finds_its_phdrs() {
    let space = AddressSpace::new(6).unwrap();
    let mut d = image(
        ET_DYN,
        RISCV,
        &[seg(5, 0, 0, 0x1010, 0x1010)],
        &[0x55; 0x10],
    );
    d[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
    let info = parse(&d, RISCV).unwrap();
    let l = load(&space, &d, &info, "pie").unwrap();
    assert_eq!(l.bias, DYN_BASE);
    assert_eq!(l.entry, DYN_BASE + 0x1000);
    assert_eq!(l.phdr, DYN_BASE + 64);
    assert_eq!(
        space.read_u64(DYN_BASE + 64),
        Ok(u64::from(PT_LOAD) | (5 << 32))
    );
    assert_eq!(space.read_u64(DYN_BASE + 0x1008), Ok(0x5555_5555_5555_5555));
}

/// A dynamically linked PIE naming `interp`, with its text (entry 0x1000) in one segment.
fn dynamic_pie(interp: &str) -> Vec<u8> {
    let mut path = interp.as_bytes().to_vec();
    path.push(0);
    let ip = Phdr {
        kind: PT_INTERP,
        flags: 4,
        offset: 0x1000,
        vaddr: 0x1000,
        filesz: path.len() as u64,
        memsz: path.len() as u64,
    };
    let mut d = image(ET_DYN, RISCV, &[ip, seg(5, 0, 0, 0x1100, 0x1100)], &path);
    d.resize(0x1100, 0);
    d[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
    d
}

#[test]
fn pt_interp_names_the_interpreter() {
    let d = dynamic_pie("/lib/ld-linux-riscv64-lp64d.so.1");
    let info = parse(&d, RISCV).unwrap();
    assert_eq!(
        info.interp.as_deref(),
        Some("/lib/ld-linux-riscv64-lp64d.so.1")
    );
    let static_one = parse(&two_segments(), RISCV).unwrap();
    assert_eq!(static_one.interp, None);
}

#[test]
fn the_interpreter_goes_below_the_stack_at_its_own_bias() {
    let space = AddressSpace::new(6).unwrap();
    // A stack at the top, as the run loop maps it before the interpreter.
    let stack = MMAP_TOP - 0x10_0000;
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    let rw = PROT_READ | PROT_WRITE;
    space
        .mmap(stack, 0x10_0000, rw, flags, Backing::Anon)
        .unwrap();
    let main = dynamic_pie("/lib/ld.so");
    let minfo = parse(&main, RISCV).unwrap();
    let m = load(&space, &main, &minfo, "main").unwrap();
    assert_eq!(m.bias, DYN_BASE);
    let ld = image(
        ET_DYN,
        RISCV,
        &[seg(5, 0, 0, 0x1010, 0x3000)],
        &[0x77; 0x10],
    );
    let linfo = parse(&ld, RISCV).unwrap();
    let l = load_interp(&space, &ld, &linfo, "ld.so").unwrap();
    // Top-down: the highest free range that fits, just under the stack.
    assert_eq!(l.bias, stack - 0x3000);
    assert_eq!(l.entry, l.bias + 0x1_0000);
    assert_eq!(space.read_u64(l.bias + 0x1000), Ok(0x7777_7777_7777_7777));
    assert_eq!(space.read_u64(l.bias + 0x2000), Ok(0), "bss");
    // The main program was left alone.
    assert_eq!(
        space.read_u64(DYN_BASE + 0x1000),
        Ok(u64::from_le_bytes(*b"/lib/ld."))
    );
}

#[test]
fn interpreters_are_found_in_the_sysroot_through_its_symlinks() {
    let root = std::env::temp_dir().join(format!("xlat-interp-test-{}", std::process::id()));
    let libdir = root.join("usr/lib/riscv64-linux-gnu");
    std::fs::create_dir_all(&libdir).unwrap();
    std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
    let ld = image(ET_DYN, RISCV, &[seg(5, 0, 0, 0x1010, 0x1010)], &[0; 0x10]);
    std::fs::write(libdir.join("ld-real.so"), &ld).unwrap();
    // An absolute link, as an unfixed sysroot has: it must stay inside the root.
    std::os::unix::fs::symlink(
        "/usr/lib/riscv64-linux-gnu/ld-real.so",
        libdir.join("ld.so.1"),
    )
    .unwrap();
    let (path, data, info) =
        interp::find("/lib/riscv64-linux-gnu/ld.so.1", Some(&root), RISCV).unwrap();
    assert_eq!(path, libdir.join("ld-real.so"));
    assert_eq!(data, ld);
    assert_eq!(info.kind, ET_DYN);
    // Missing: the one-line error names the interpreter and the sysroot.
    let e = interp::find("/lib/ld-missing.so.1", Some(&root), RISCV).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "interpreter /lib/ld-missing.so.1 not found in sysroot {}; pass -L <sysroot>",
            root.display()
        )
    );
    // A file of the wrong machine in the sysroot is reported as such.
    let x86 = image(ET_DYN, 62, &[seg(5, 0, 0, 0x1010, 0x1010)], &[0; 0x10]);
    std::fs::write(root.join("ld-x86.so"), &x86).unwrap();
    let e = interp::find("/ld-x86.so", Some(&root), RISCV).unwrap_err();
    assert!(e.to_string().contains("is a x86-64 program"), "{e}");
    // Without a sysroot, a host file that is not a guest program does not count.
    let e = interp::find("/bin/sh", None, RISCV).unwrap_err();
    assert!(matches!(e, ElfError::NoInterp { .. }), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}
