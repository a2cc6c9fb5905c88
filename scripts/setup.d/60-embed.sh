#!/usr/bin/env bash
# The embedding API (issue 8): cbindgen, to check that include/xlat.h is generated from
# capi/src/lib.rs ($CACHE/tools/bin/cbindgen), and Unicorn 2 from PyPI for the comparison bench
# (its libunicorn.so, in a venv under $CACHE/unicorn-venv).
set -euo pipefail
tools="$CACHE/tools"
if [ ! -x "$tools/bin/cbindgen" ]; then
  log "installing cbindgen into $tools"
  cargo install --locked --root "$tools" cbindgen@0.29.4 >&2
fi
venv="$CACHE/unicorn-venv"
if ! find "$venv" -name 'libunicorn.so*' 2>/dev/null | grep -q .; then
  log "installing unicorn 2 into $venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q 'unicorn==2.*' >&2
fi
