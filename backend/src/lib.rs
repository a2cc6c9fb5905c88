//! xlat's JIT accelerator: IR to Cranelift, W^X code memory, translation cache, chaining, the exec loop
