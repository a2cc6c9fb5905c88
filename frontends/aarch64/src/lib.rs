//! # xlat-frontend-aarch64
//!
//! The AArch64 (A64) guest: decoder and lifter to xlat IR (work in progress, issue 6).
