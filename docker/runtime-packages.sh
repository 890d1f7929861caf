#!/usr/bin/env bash
# Prints the Debian/Ubuntu packages that own the shared libraries the given binaries load (ldd,
# transitively), one per line. The image's build stage runs it so the runtime stage installs
# exactly what the binaries link against, with no -dev packages and no compiler. Libraries that no
# package owns (LibTorch copied from a PyTorch image) are skipped: the Dockerfile copies those.
set -euo pipefail
for bin in "$@"; do
  ldd "$bin" | awk '/=> \// { print $3 } /^\s*\// { print $1 }'
done | sort -u | while read -r lib; do
  # merged-/usr systems list files under /usr/lib; ldd may print /lib; alternatives are symlinks.
  for candidate in "$lib" "/usr$lib" "$(readlink -f "$lib")"; do
    if owner=$(dpkg-query -S "$candidate" 2>/dev/null); then
      echo "${owner%%:*}" | tr ',' '\n' | sed 's/^ *//'
      break
    fi
  done
done | sed 's/:.*$//' | sort -u
