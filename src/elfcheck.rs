//! A first look at a program's ELF header, so the CLI can pick the guest architecture and
//! refuse what it cannot run with one clear line before anything is loaded.

use std::io::Read;
use std::path::Path;

/// Why a file cannot be run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfCheckError {
    /// The file could not be opened or read.
    #[error("cannot open '{path}': {reason}")]
    Open {
        /// The path.
        path: String,
        /// The OS error text.
        reason: String,
    },
    /// No ELF magic.
    #[error("'{0}' is not an ELF file")]
    NotElf(String),
    /// A 32-bit ELF.
    #[error("'{0}' is a 32-bit ELF; only 64-bit guests are supported")]
    Class32(String),
    /// Big-endian or unknown data encoding.
    #[error("'{0}' is not a little-endian ELF; only little-endian guests are supported")]
    Endian(String),
    /// Not an executable or shared object.
    #[error("'{path}' is an ELF of type {ty} (not an executable); cannot run it")]
    Type {
        /// The path.
        path: String,
        /// `e_type` name.
        ty: &'static str,
    },
    /// A machine this build has no frontend for.
    #[error("'{path}' is a {machine} program; supported guest architectures: {supported}")]
    Machine {
        /// The path.
        path: String,
        /// The ELF machine's name.
        machine: String,
        /// The list this build supports.
        supported: String,
    },
}

/// The architecture name (`--arch` spelling) of an ELF `e_machine`.
pub fn machine_name(m: u16) -> String {
    match m {
        243 => "riscv64".into(),
        183 => "aarch64".into(),
        62 => "x86_64".into(),
        3 => "i386".into(),
        40 => "arm".into(),
        8 => "mips".into(),
        21 => "ppc64".into(),
        22 => "s390x".into(),
        other => format!("machine-{other}"),
    }
}

/// Reads `path`'s ELF header and returns its `e_machine` name, checking class, data and type.
pub fn check(path: &Path) -> Result<String, ElfCheckError> {
    let p = path.display().to_string();
    let mut f = std::fs::File::open(path).map_err(|e| ElfCheckError::Open {
        path: p.clone(),
        reason: os_reason(&e),
    })?;
    if path.is_dir() {
        return Err(ElfCheckError::Open {
            path: p,
            reason: "Is a directory".into(),
        });
    }
    let mut h = [0u8; 64];
    let mut n = 0;
    while n < h.len() {
        match f.read(&mut h[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                return Err(ElfCheckError::Open {
                    path: p,
                    reason: os_reason(&e),
                });
            }
        }
    }
    if n < 20 || &h[..4] != b"\x7fELF" {
        return Err(ElfCheckError::NotElf(p));
    }
    if h[4] != 2 {
        return if h[4] == 1 {
            Err(ElfCheckError::Class32(p))
        } else {
            Err(ElfCheckError::NotElf(p))
        };
    }
    if h[5] != 1 {
        return Err(ElfCheckError::Endian(p));
    }
    let e_type = u16::from_le_bytes([h[16], h[17]]);
    match e_type {
        2 | 3 => {}
        1 => {
            return Err(ElfCheckError::Type {
                path: p,
                ty: "ET_REL (an object file)",
            });
        }
        4 => {
            return Err(ElfCheckError::Type {
                path: p,
                ty: "ET_CORE (a core dump)",
            });
        }
        _ => {
            return Err(ElfCheckError::Type {
                path: p,
                ty: "unknown",
            });
        }
    }
    Ok(machine_name(u16::from_le_bytes([h[18], h[19]])))
}

fn os_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    // "No such file or directory (os error 2)" → "No such file or directory"
    s.split(" (os error").next().unwrap_or(&s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("xlat-elfcheck-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn header(class: u8, data: u8, ty: u16, machine: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = class;
        h[5] = data;
        h[16..18].copy_from_slice(&ty.to_le_bytes());
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        h
    }

    #[test]
    fn classifies_headers() {
        assert_eq!(check(&tmp("rv", &header(2, 1, 2, 243))).unwrap(), "riscv64");
        assert_eq!(check(&tmp("x86", &header(2, 1, 3, 62))).unwrap(), "x86_64");
        assert!(matches!(
            check(&tmp("c32", &header(1, 1, 2, 243))),
            Err(ElfCheckError::Class32(_))
        ));
        assert!(matches!(
            check(&tmp("be", &header(2, 2, 2, 243))),
            Err(ElfCheckError::Endian(_))
        ));
        assert!(matches!(
            check(&tmp("rel", &header(2, 1, 1, 243))),
            Err(ElfCheckError::Type { .. })
        ));
        assert!(matches!(
            check(&tmp("txt", b"#!/bin/sh\necho hi\n")),
            Err(ElfCheckError::NotElf(_))
        ));
        assert!(matches!(
            check(&tmp("short", b"\x7fEL")),
            Err(ElfCheckError::NotElf(_))
        ));
        let missing = check(Path::new("/nonexistent/prog")).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "cannot open '/nonexistent/prog': No such file or directory"
        );
    }
}
