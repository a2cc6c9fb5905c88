#!/bin/bash
# Builds the x86-64 bare-metal payload and its native twin with the host gcc.
#   build.sh OUTDIR SCALE WHICH [cycles]
# writes OUTDIR/payload-sSCALE-wWHICH.elf (entered in long mode by xlat's microvm loader),
# OUTDIR/payload-sSCALE-wWHICH-pvh.elf (the same with a Xen PVH entry, for qemu-system-x86_64
# -kernel) and OUTDIR/native-sSCALE-wWHICH (the kernels as a Linux program).
# WHICH selects kernels: 1 int, 2 mem, 4 fp; 7 = all plus the ring-0/ring-3 system checks.
# With `cycles`, each kernel's result line is followed by "cycles NAME: <rdtsc cycles>" (the
# benchmark's in-guest timing), and every file name gets a "-c" suffix.
set -euo pipefail
out=$1 scale=$2 which=$3 cycles=${4:-}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
common=(-O2 -g0 -Wall -Wextra -fno-strict-aliasing -DSCALE="$scale"UL -DWHICH="$which" -I"$src")
sfx=
if [ "$cycles" = cycles ]; then
  common+=(-DCYCLES)
  sfx=-c
fi
bare=(-ffreestanding -fno-pic -fno-pie -no-pie -static -nostdlib -mno-red-zone
      -fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none
      -Wl,--build-id=none -Wl,-T,"$src/link.ld" -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments)
# Ring 0 (kmain.c, libc.c) uses general registers only: under software-assisted KVM (PVM)
# ring 0 is emulated instruction by instruction, and that emulator has no SSE.
base="$out/payload-s$scale-w$which$sfx"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for f in kmain libc; do
  gcc "${common[@]}" "${bare[@]}" -mgeneral-regs-only -c -o "$tmp/$f.o" "$src/$f.c"
done
for f in user kernels; do
  gcc "${common[@]}" "${bare[@]}" -c -o "$tmp/$f.o" "$src/$f.c"
done
gcc "${common[@]}" "${bare[@]}" -c -o "$tmp/entry.o" "$src/entry.S"
gcc "${common[@]}" "${bare[@]}" -DPVH -c -o "$tmp/entry-pvh.o" "$src/entry.S"
objs=("$tmp/kmain.o" "$tmp/libc.o" "$tmp/user.o" "$tmp/kernels.o")
gcc "${common[@]}" "${bare[@]}" -o "$tmp/a.elf" "$tmp/entry.o" "${objs[@]}"
gcc "${common[@]}" "${bare[@]}" -o "$tmp/b.elf" "$tmp/entry-pvh.o" "${objs[@]}"
mv "$tmp/a.elf" "$base.elf"
mv "$tmp/b.elf" "$base-pvh.elf"
gcc "${common[@]}" -o "$tmp/native" "$src/native.c" "$src/kernels.c"
mv "$tmp/native" "$out/native-s$scale-w$which$sfx"
