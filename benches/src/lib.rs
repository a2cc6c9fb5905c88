//! xlat's side-by-side benchmarks against native and QEMU
