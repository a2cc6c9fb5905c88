//! # xlat-frontend-x86
//!
//! The x86-64 guest: decoding with iced-x86, lifting to xlat IR (work in progress, issue 5).
