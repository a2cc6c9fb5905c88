//! Codegen tests per opcode class.
