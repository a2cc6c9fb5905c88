//! What the tests that run guests under `--accel kvm` share: whether /dev/kvm can be used
//! (with the one-line reason to skip when not) and whether it is hardware-backed.

/// Opens /dev/kvm read-write, as xlat does: `Err` says why the device cannot be used.
pub fn kvm_opens() -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map(drop)
}

/// Whether /dev/kvm can be opened; prints `skipping TEST: /dev/kvm: why` when it cannot.
pub fn kvm_usable(test: &str) -> bool {
    match kvm_opens() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skipping {test}: /dev/kvm: {e}");
            false
        }
    }
}

/// Whether the host CPU has VT-x or AMD-V (`vmx`/`svm` among the /proc/cpuinfo flags), read
/// here independently of xlat; without them /dev/kvm is software-assisted (PVM).
pub fn hardware_kvm() -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|s| {
        s.lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
    })
}
