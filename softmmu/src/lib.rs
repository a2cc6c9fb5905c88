//! xlat's guest memory: the user-mode address space over a reserved host region (system-mode softmmu later)
