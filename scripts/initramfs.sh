# Sourced by the setup.d scripts that build a busybox initramfs for a Debian kernel
# (42-riscv-linux.sh, 51-x86-initramfs.sh); needs `log` from setup.sh.

# busybox_initramfs OUT BUSYBOX DEB "MODULES" ["DIRS"] < INIT
#   Writes OUT, a gzipped newc cpio holding BUSYBOX as /bin/busybox (and /bin/sh), the kernel
#   modules MODULES (space-separated names) from the kernel package DEB as
#   /lib/modules/NAME.ko, uncompressed (busybox insmod wants them so; Debian ships them as is
#   or as .ko.xz), the empty directories /proc, /sys, /dev and DIRS, and stdin as /init.
busybox_initramfs() {
  local out=$1 busybox=$2 deb=$3 modules=$4 dirs=${5:-} tmp mods m f
  local patterns=()
  tmp=$(mktemp -d)
  # shellcheck disable=SC2086 # DIRS is a list
  (cd "$tmp" && mkdir -p bin proc sys dev lib/modules $dirs)
  cp "$busybox" "$tmp/bin/busybox"
  ln -s busybox "$tmp/bin/sh"
  for m in $modules; do patterns+=("*/$m.ko" "*/$m.ko.xz"); done
  mods=$(mktemp -d)
  # tar fails on the pattern of the form a package does not ship; each module is checked below.
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$mods" --wildcards "${patterns[@]}" 2>/dev/null || true
  for m in $modules; do
    f=$(find "$mods" -name "$m.ko" -o -name "$m.ko.xz" | head -n1)
    if [ -z "$f" ]; then
      log "no $m module in $deb"
      rm -rf "$tmp" "$mods"
      return 1
    fi
    case "$f" in
      *.xz) xz -dc "$f" > "$tmp/lib/modules/$m.ko" ;;
      *) cp "$f" "$tmp/lib/modules/$m.ko" ;;
    esac
  done
  rm -rf "$mods"
  cat > "$tmp/init"
  chmod +x "$tmp/init"
  (cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -9) > "$out"
  rm -rf "$tmp"
}
