#!/usr/bin/env bash
# Debian packages used by the test suite; installed once, skipped when present or not root.
set -u
need=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: not root, skipping ${need[*]} (tests that need them will skip)" >&2
  exit 0
fi
apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
  || echo "system-deps: could not install ${need[*]} (tests that need them will skip)" >&2
exit 0
