#!/usr/bin/env bash
# Installs what is needed, builds xlat and runs riscv64 Linux programs under it, next to
# qemu-riscv64 (the reference) so the outputs can be compared by eye.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# setup.sh may have just installed Rust with rustup
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
echo "demo: building xlat (release)" >&2
cargo build --release --bin xlat
XLAT=target/release/xlat
CACHE="${XLAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xlat}"
BB="$CACHE/riscv64/busybox"
OUT=target/demo
mkdir -p "$OUT"

echo "demo: compiling test-suites/guest/demo.c for riscv64 (static)" >&2
riscv64-linux-gnu-gcc -static -O2 -o "$OUT/demo" test-suites/guest/demo.c -lm
head -c 1000000 /dev/zero | tr '\0' 'x' > "$OUT/input.txt"

status=0
side_by_side() { # side_by_side LABEL PROG ARGS...
  local label=$1; shift
  printf '\n=== %s ===\n' "$label"
  local q x qs=0 xs=0
  q=$(qemu-riscv64 "$@" 2>&1) || qs=$?
  x=$("$XLAT" run "$@" 2>&1) || xs=$?
  printf -- '--- qemu-riscv64 (exit %d):\n%s\n' "$qs" "$q"
  printf -- '--- xlat         (exit %d):\n%s\n' "$xs" "$x"
  if [ "$q" = "$x" ] && [ "$qs" = "$xs" ]; then echo "--> identical"; else echo "--> DIFFERENT"; status=1; fi
}

side_by_side "busybox uname -m" "$BB" uname -m
side_by_side "busybox sha256sum (1 MB file)" "$BB" sha256sum "$OUT/input.txt"
echo "(host sha256sum, for an independent check: $(sha256sum "$OUT/input.txt"))"
side_by_side "busybox echo" "$BB" echo hello from riscv64
side_by_side "demo.c (printf, libm, qsort, __int128)" "$OUT/demo" one two
exit $status
