//! Finding a dynamically linked program's interpreter (its `PT_INTERP`, e.g.
//! `/lib/ld-linux-riscv64-lp64d.so.1`): in the sysroot given with `-L DIR`, else on the host
//! itself, but only if the file there is a program for this guest (as with qemu-user, whose
//! path lookup falls back to the host path).

use std::path::{Path, PathBuf};

use super::{ElfError, ElfInfo, parse};

/// Symlink hops followed inside the sysroot before giving up (the kernel's limit is 40).
const MAX_LINKS: usize = 40;

/// The one-line error for an interpreter that cannot be found.
pub fn not_found_message(interp: &str, sysroot: Option<&str>) -> String {
    match sysroot {
        Some(dir) => format!("interpreter {interp} not found in sysroot {dir}; pass -L <sysroot>"),
        None => format!(
            "dynamically linked, and interpreter {interp} is not a program for this guest on \
             this host; pass -L <sysroot> (or set XLAT_LD_PREFIX)"
        ),
    }
}

/// `path` (absolute, as the guest names it) inside `root`, following symlinks so that absolute
/// link targets stay inside `root` too. `None` if it does not exist there.
pub fn in_root(root: &Path, path: &str) -> Option<PathBuf> {
    let mut todo: Vec<String> = vec![path.to_string()];
    let mut cur = root.to_path_buf();
    let mut hops = 0;
    while let Some(p) = todo.pop() {
        if p.starts_with('/') {
            cur = root.to_path_buf();
        }
        let mut parts: Vec<&str> = p
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        parts.reverse();
        while let Some(c) = parts.pop() {
            if c == ".." {
                if cur != root {
                    cur.pop();
                }
                continue;
            }
            let next = cur.join(c);
            match std::fs::read_link(&next) {
                Ok(target) => {
                    hops += 1;
                    if hops > MAX_LINKS {
                        return None;
                    }
                    // Resolve the target, then the rest of this path after it.
                    let rest: Vec<&str> = parts.iter().rev().copied().collect();
                    if !rest.is_empty() {
                        todo.push(rest.join("/"));
                    }
                    todo.push(target.to_str()?.to_string());
                    break;
                }
                Err(_) => cur = next,
            }
        }
    }
    cur.exists().then_some(cur)
}

/// Finds and validates the interpreter `interp` for a guest of ELF machine `machine`. Returns
/// its host path, file bytes and headers.
pub fn find(
    interp: &str,
    sysroot: Option<&Path>,
    machine: u16,
) -> Result<(PathBuf, Vec<u8>, ElfInfo), ElfError> {
    // The sysroot's file is the one meant: report what is wrong with it.
    if let Some(path) = sysroot.and_then(|r| in_root(r, interp)) {
        let data = std::fs::read(&path).map_err(|_| bad(&path, ElfError::NotElf))?;
        let info = parse(&data, machine).map_err(|why| bad(&path, why))?;
        return check(path, data, info);
    }
    // The host's own file counts only if it is a program for this guest.
    let path = PathBuf::from(interp);
    if let Ok(data) = std::fs::read(&path)
        && let Ok(info) = parse(&data, machine)
    {
        return check(path, data, info);
    }
    Err(ElfError::NoInterp {
        interp: interp.to_string(),
        sysroot: sysroot.map(|r| r.display().to_string()),
    })
}

fn bad(path: &Path, why: ElfError) -> ElfError {
    ElfError::BadInterp {
        path: path.display().to_string(),
        why: Box::new(why),
    }
}

fn check(
    path: PathBuf,
    data: Vec<u8>,
    info: ElfInfo,
) -> Result<(PathBuf, Vec<u8>, ElfInfo), ElfError> {
    if info.interp.is_some() {
        return Err(bad(
            &path,
            ElfError::Malformed("the interpreter has an interpreter"),
        ));
    }
    Ok((path, data, info))
}
