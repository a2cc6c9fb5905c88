//! xlat's Linux user-mode emulation: ELF loading, stack and auxv, syscalls
