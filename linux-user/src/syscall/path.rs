//! Guest paths under a sysroot (`-L DIR`), as qemu-user resolves them: an absolute guest path
//! that exists inside the sysroot names that file; anything else (relative paths, files the
//! sysroot lacks, anything new the guest creates) is the host's own path. `/proc`, `/dev` and
//! `/sys` are never redirected: they describe this machine and this process.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::Process;

/// Prefixes that always mean the host's own tree.
const HOST_ONLY: [&[u8]; 3] = [b"/proc", b"/dev", b"/sys"];

/// Whether `p` is `prefix` or lies under it.
fn under(p: &[u8], prefix: &[u8]) -> bool {
    p.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest[0] == b'/')
}

/// The host path for guest path `guest` with sysroot `sysroot`: `sysroot/guest` if `guest` is
/// absolute, not under /proc, /dev or /sys, and exists there (following symlinks, as qemu's
/// `access(F_OK)` check does); else `guest` itself.
pub fn resolve(sysroot: Option<&Path>, guest: &CStr) -> Option<CString> {
    let root = sysroot?;
    let g = guest.to_bytes();
    if g.first() != Some(&b'/') || HOST_ONLY.iter().any(|p| under(g, p)) {
        return None;
    }
    let trimmed = g
        .iter()
        .position(|b| *b != b'/')
        .map_or(&[][..], |i| &g[i..]);
    let mut full = root.as_os_str().as_bytes().to_vec();
    if !trimmed.is_empty() {
        full.push(b'/');
        full.extend_from_slice(trimmed);
    }
    let full = CString::new(full).ok()?;
    // SAFETY: a NUL-terminated string we own; access only reads it.
    let exists = unsafe { libc::access(full.as_ptr(), libc::F_OK) } == 0;
    exists.then_some(full)
}

impl Process {
    /// `guest` as the host path to use for looking up an existing file (sysroot first).
    pub(super) fn resolve(&self, guest: CString) -> CString {
        resolve(self.opts.sysroot.as_deref(), &guest).unwrap_or(guest)
    }

    /// The guest path at `addr`, resolved in the sysroot (for open, stat, access, readlink,
    /// exec: the calls that look a file up).
    pub(super) fn lookup_path(&self, addr: u64) -> Result<CString, i64> {
        self.path(addr).map(|p| self.resolve(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(root: Option<&Path>, p: &str) -> Option<String> {
        let c = CString::new(p).unwrap();
        resolve(root, &c).map(|c| c.into_string().unwrap())
    }

    #[test]
    fn absolute_paths_that_exist_in_the_sysroot_are_redirected() {
        let root = std::env::temp_dir().join(format!("xlat-path-test-{}", std::process::id()));
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::create_dir_all(root.join("proc/self")).unwrap();
        std::fs::create_dir_all(root.join("dev")).unwrap();
        std::fs::write(root.join("lib/libc.so.6"), b"x").unwrap();
        std::fs::write(root.join("proc/self/maps"), b"x").unwrap();
        std::os::unix::fs::symlink("lib", root.join("lib64")).unwrap();
        std::os::unix::fs::symlink("nowhere", root.join("dangling")).unwrap();
        let rs = root.display().to_string();
        let some = Some(root.as_path());
        assert_eq!(
            r(some, "/lib/libc.so.6"),
            Some(format!("{rs}/lib/libc.so.6"))
        );
        assert_eq!(
            r(some, "//lib/libc.so.6"),
            Some(format!("{rs}/lib/libc.so.6"))
        );
        assert_eq!(
            r(some, "/lib64/libc.so.6"),
            Some(format!("{rs}/lib64/libc.so.6"))
        );
        assert_eq!(r(some, "/"), Some(rs.clone()));
        // Missing in the sysroot, relative, host-only trees, dangling links: the host's path.
        assert_eq!(r(some, "/lib/libm.so.6"), None);
        assert_eq!(r(some, "lib/libc.so.6"), None);
        assert_eq!(r(some, "/proc/self/maps"), None);
        assert_eq!(r(some, "/dev"), None);
        assert_eq!(r(some, "/dangling"), None);
        assert_eq!(r(None, "/lib/libc.so.6"), None);
        // Only whole components count as /proc.
        std::fs::write(root.join("process"), b"x").unwrap();
        assert_eq!(r(some, "/process"), Some(format!("{rs}/process")));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
