#!/usr/bin/env bash
# Builds the bare-metal system tests: build.sh OUTDIR [NAME...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1; shift
mkdir -p "$out"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(cd "$here" && ls *.c | sed 's/\.c$//') sbi_payload)
for n in "${names[@]}"; do
  if [ "$n" = sbi_payload ]; then
    # The S-mode payload for OpenSBI (linked where fw_jump jumps), as a raw image.
    riscv64-linux-gnu-gcc -march=rv64gc -mabi=lp64d -nostdlib -nostartfiles -static -fno-pic -no-pie \
      -Wl,--build-id=none -Wl,-Ttext=0x80200000 -Wl,-e,_start -o "$out/$n.elf" "$here/$n.S"
    riscv64-linux-gnu-objcopy -O binary "$out/$n.elf" "$out/$n.bin"
    continue
  fi
  riscv64-linux-gnu-gcc -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding -fno-builtin \
    -nostdlib -nostartfiles -static -fno-pic -no-pie -Wl,--build-id=none \
    -T "$here/link.ld" -o "$out/$n.elf" "$here/start.S" "$here/$n.c"
done
