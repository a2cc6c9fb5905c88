#!/usr/bin/env bash
# Builds xlat and runs the side-by-side benchmarks (xlat vs qemu-riscv64 vs native).
#   scripts/bench.sh                 # print the table
#   scripts/bench.sh --write         # also write benches/RESULTS.md
#   scripts/bench.sh --runs 9 intmark
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# setup.sh may have just installed Rust with rustup
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --bin xlat
exec cargo run --release -p xlat-benches -- "$@"
