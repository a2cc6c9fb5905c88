#!/usr/bin/env bash
# Sets up the machine, builds xlat and runs every test in the workspace.
# One build profile (release) for everything, so Cranelift is compiled once.
#   scripts/test.sh            # everything
#   scripts/test.sh busybox    # extra args are passed to the test runner as a filter
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# setup.sh may have just installed Rust with rustup
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

echo "test.sh: building xlat (release)" >&2
cargo build --release --bin xlat
# the C API's shared library: its test compiles examples/shellcode.c against it, and a test
# build of the package does not produce the cdylib by itself
cargo build --release -p xlat-capi

echo "test.sh: workspace tests (release profile)" >&2
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --release --workspace --no-fail-fast "$@"
  # nextest does not run doc tests; same profile, so nothing is rebuilt from scratch.
  if [ $# -eq 0 ]; then cargo test --release --workspace --doc; fi
else
  cargo test --release --workspace --no-fail-fast -- "$@"
fi

echo "test.sh: cargo fmt --check" >&2
cargo fmt --all -- --check
echo "test.sh: all passed" >&2
