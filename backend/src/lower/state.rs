//! Guest registers as Cranelift variables inside a unit.
//!
//! Every state offset the unit touches with one width gets a variable, loaded at entry (and
//! after helpers that write the state). Offsets some `set_reg` writes are stored back at every
//! exit and before helpers that read the state. Storing back a register that was not changed
//! on the path taken is harmless: the variable then still holds the value in memory.
//!
//! A 64-bit word that is accessed both as i64 and as i32 halves stays in memory: its accesses
//! become plain loads and stores, so the two widths always see each other.

use super::clif_ty;
use cranelift_codegen::ir::{Block, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::cell::Cell;
use std::collections::HashMap;
use xlat_ir::{Format, Ty, Unit};

#[derive(Debug, Clone, Copy)]
struct Cached {
    off: u32,
    ty: Ty,
    var: Variable,
    written: bool,
}

/// The register plan of one unit.
#[derive(Debug, Default)]
pub(crate) struct RegCache {
    cached: Vec<Cached>,
    by_off: HashMap<u32, usize>,
    /// Precise faults (crate::fault): the block of the last [`RegCache::sync_dirty`], and which
    /// cached registers `set` changed since (only meaningful while still in that block).
    synced_in: Cell<Option<Block>>,
    dirty: Vec<Cell<bool>>,
}

impl RegCache {
    /// Decides which offsets become variables, and declares them (one plan for every member
    /// of a region).
    pub fn plan(b: &mut FunctionBuilder<'_>, units: &[&Unit]) -> RegCache {
        let insts = || units.iter().flat_map(|u| u.insts.iter());
        // word -> (has i64 access, has i32 access)
        let mut words: HashMap<u32, (bool, bool)> = HashMap::new();
        for i in insts() {
            if matches!(i.op.format(), Format::GetReg | Format::SetReg) {
                let w = words.entry((i.imm as u32) & !7).or_default();
                match i.ty {
                    Ty::I64 => w.0 = true,
                    Ty::I32 => w.1 = true,
                }
            }
        }
        let mut rc = RegCache::default();
        for i in insts() {
            let f = i.op.format();
            if !matches!(f, Format::GetReg | Format::SetReg) {
                continue;
            }
            let off = i.imm as u32;
            let (w64, w32) = words[&(off & !7)];
            if w64 && w32 {
                continue;
            }
            let idx = match rc.by_off.get(&off) {
                Some(&k) => k,
                None => {
                    let var = b.declare_var(clif_ty(i.ty));
                    rc.cached.push(Cached {
                        off,
                        ty: i.ty,
                        var,
                        written: false,
                    });
                    rc.by_off.insert(off, rc.cached.len() - 1);
                    rc.cached.len() - 1
                }
            };
            if f == Format::SetReg {
                rc.cached[idx].written = true;
            }
        }
        rc.dirty = rc.cached.iter().map(|_| Cell::new(false)).collect();
        rc
    }

    /// Loads every cached register from the state.
    pub fn load_all(&self, b: &mut FunctionBuilder<'_>, env: Value, fl: MemFlagsData) {
        for c in &self.cached {
            let v = b.ins().load(clif_ty(c.ty), fl, env, c.off as i32);
            b.def_var(c.var, v);
        }
    }

    /// Reloads the cached registers among `words` (`None`: all of them) after a helper wrote
    /// the state.
    pub fn load_words(
        &self,
        b: &mut FunctionBuilder<'_>,
        env: Value,
        fl: MemFlagsData,
        words: Option<&[u32]>,
    ) {
        for c in self.cached.iter().filter(|c| in_words(words, c.off)) {
            let v = b.ins().load(clif_ty(c.ty), fl, env, c.off as i32);
            b.def_var(c.var, v);
        }
    }

    /// Writes back the written registers among `words` (`None`: all of them) before a helper
    /// looks at the state.
    pub fn write_back_words(
        &self,
        b: &mut FunctionBuilder<'_>,
        env: Value,
        fl: MemFlagsData,
        words: Option<&[u32]>,
    ) {
        for c in self
            .cached
            .iter()
            .filter(|c| c.written && in_words(words, c.off))
        {
            let v = b.use_var(c.var);
            b.ins().store(fl, v, env, c.off as i32);
        }
    }

    /// Stores every register the unit writes back to the state.
    pub fn write_back(&self, b: &mut FunctionBuilder<'_>, env: Value, fl: MemFlagsData) {
        for c in self.cached.iter().filter(|c| c.written) {
            let v = b.use_var(c.var);
            b.ins().store(fl, v, env, c.off as i32);
        }
    }

    /// `get_reg`.
    pub fn get(
        &self,
        b: &mut FunctionBuilder<'_>,
        env: Value,
        fl: MemFlagsData,
        off: u32,
        ty: Ty,
    ) -> Value {
        match self.by_off.get(&off) {
            Some(&k) => b.use_var(self.cached[k].var),
            None => b.ins().load(clif_ty(ty), fl, env, off as i32),
        }
    }

    /// `set_reg`.
    pub fn set(
        &self,
        b: &mut FunctionBuilder<'_>,
        env: Value,
        fl: MemFlagsData,
        off: u32,
        v: Value,
    ) {
        match self.by_off.get(&off) {
            Some(&k) => {
                b.def_var(self.cached[k].var, v);
                if let Some(d) = self.dirty.get(k) {
                    d.set(true);
                }
            }
            None => {
                b.ins().store(fl, v, env, off as i32);
            }
        }
    }

    /// Precise faults: makes the state hold every register this unit changed. In the block of
    /// the previous call, only the registers `set` since then are stored (straight-line code
    /// between them, and helpers that write the state reload from it); anywhere else, every
    /// register the unit writes.
    pub fn sync_dirty(&self, b: &mut FunctionBuilder<'_>, env: Value, fl: MemFlagsData) {
        if self.dirty.len() != self.cached.len() {
            return self.write_back(b, env, fl);
        }
        let here = b.current_block();
        let all = self.synced_in.get() != here || here.is_none();
        for (c, d) in self.cached.iter().zip(&self.dirty) {
            if c.written && (all || d.get()) {
                let v = b.use_var(c.var);
                b.ins().store(fl, v, env, c.off as i32);
            }
            d.set(false);
        }
        self.synced_in.set(here);
    }
}

/// Whether a cached register at byte offset `off` is among a helper's declared state words
/// (a 32-bit access to either half of a declared word counts).
fn in_words(words: Option<&[u32]>, off: u32) -> bool {
    words.is_none_or(|w| w.iter().any(|&x| x & !7 == off & !7))
}
