//! xlat: library facade.
