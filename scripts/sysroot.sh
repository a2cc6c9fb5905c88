#!/usr/bin/env bash
# Builds a riscv64 (default) or aarch64 sysroot for dynamically linked guest programs
# (`xlat run -L DIR`, like `qemu-riscv64 -L DIR`) from Debian trixie packages: libc6, libstdc++6, libgcc-s1, bash,
# coreutils, python3 and everything they depend on, as resolved by apt itself under the private
# apt state scripts/setup.sh keeps in the cache (the system's own package state is never touched).
# Every package is `dpkg -x`'d (no maintainer scripts run) into $CACHE/<arch>/sysroot; absolute
# symlinks are rewritten to relative ones so they resolve inside the sysroot, and the empty
# directories for runtime state (/tmp, /run, /home, /root) are left out so the host's show through.
# Idempotent: a stamp file records the package list; a second run with the same list is a no-op.
#   usage: scripts/sysroot.sh [riscv64|aarch64] [--force]
set -euo pipefail

CACHE="${XLAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xlat}"
GUEST=riscv64 # the directory name under $CACHE (the kernel's name), ARCH Debian's
case "${1:-}" in
  riscv64 | aarch64) GUEST=$1; shift ;;
esac
case $GUEST in
  aarch64) ARCH=arm64 ;;
  *) ARCH=$GUEST ;;
esac
ROOT="$CACHE/$GUEST/sysroot"
STAMP="$CACHE/$GUEST/sysroot.stamp"
PKGS=(libc6 libc-bin libstdc++6 libgcc-s1 bash coreutils python3 python3.13-minimal libpython3.13-stdlib)
log() { printf 'sysroot: %s\n' "$*" >&2; }

# mirror_uri and foreign_apt: the private apt state shared with setup.sh.
. "$(dirname "${BASH_SOURCE[0]}")/foreign-apt.sh"
DEBS="$CACHE/debs/$ARCH"
mkdir -p "$DEBS"

# apt's own resolver, against an empty status file: the exact set of packages (with versions)
# an install of PKGS needs, virtual packages and alternatives already chosen.
log "resolving ${PKGS[*]}"
mapfile -t RESOLVED < <(foreign_apt "$ARCH" apt-get -s -qq install --no-install-recommends "${PKGS[@]}" |
  awk '$1 == "Inst" { v = $3; gsub(/[()\[\]]/, "", v); print $2 "=" v }' | sort)
[ ${#RESOLVED[@]} -gt 0 ] || { log "error: apt resolved no packages"; exit 1; }
LAYOUT=2 # bump when the tree's layout changes, so existing sysroots are rebuilt
WANT=$(printf 'layout %s\n' "$LAYOUT"; printf '%s\n' "${RESOLVED[@]}")

if [ "${1:-}" != "--force" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -d "$ROOT" ]; then
  log "ok: $ROOT is up to date (${#RESOLVED[@]} packages)"
  exit 0
fi

# Download what is not in the cache yet (file names follow apt's NAME_VERSION_ARCH.deb with
# the epoch colon escaped).
deb_of() { # NAME=VERSION -> the .deb path it would have
  local n=${1%%=*} v=${1#*=}
  ls "$DEBS/${n}_${v//:/%3a}_"*.deb 2>/dev/null | head -n1
}
missing=()
for p in "${RESOLVED[@]}"; do [ -n "$(deb_of "$p")" ] || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "downloading ${#missing[@]} of ${#RESOLVED[@]} packages"
  (cd "$DEBS" && foreign_apt "$ARCH" apt-get download "${missing[@]}" >&2)
fi

# Unpack into a fresh directory, then swap it in, so an interrupted run never leaves half a tree.
TMP="$ROOT.new"
rm -rf "$TMP"
mkdir -p "$TMP"
n=0
for p in "${RESOLVED[@]}"; do
  deb=$(deb_of "$p")
  [ -n "$deb" ] || { log "error: no .deb for $p"; exit 1; }
  n=$((n + 1))
  log "[$n/${#RESOLVED[@]}] unpacking ${p%%=*}"
  dpkg -x "$deb" "$TMP"
done

# The merged-/usr links, if no package shipped them.
for d in bin sbin lib; do
  [ -e "$TMP/$d" ] || [ -L "$TMP/$d" ] || ln -s "usr/$d" "$TMP/$d"
done

# Empty directories for the running system's own state (home directories, /tmp, /run) would
# hide the host's: a guest path that exists in the sysroot is looked up there (as with qemu -L),
# so `ls /tmp` would list an empty directory while files created in /tmp land on the host's.
for d in tmp var/tmp run var/run var/lock home root mnt media srv; do
  if [ -L "$TMP/$d" ]; then rm -f "$TMP/$d"; else rmdir "$TMP/$d" 2>/dev/null || true; fi
done

# Absolute symlinks point at the host's files; make them relative to where they live.
fixed=0
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  case $target in
    /*)
      rel=$(realpath -m -s --relative-to="$(dirname "$link")" "$TMP$target")
      ln -sfn "$rel" "$link"
      fixed=$((fixed + 1))
      ;;
  esac
done < <(find "$TMP" -type l -print0)
log "rewrote $fixed absolute symlinks"

rm -rf "$ROOT"
mv "$TMP" "$ROOT"
printf '%s\n' "$WANT" > "$STAMP"
log "ok: $ROOT (${#RESOLVED[@]} packages, $(du -sh "$ROOT" | cut -f1))"
