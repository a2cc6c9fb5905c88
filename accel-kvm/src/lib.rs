//! # xlat-accel-kvm
//!
//! Runs an x86-64 machine's vCPUs on /dev/kvm.
