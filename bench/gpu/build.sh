#!/usr/bin/env bash
# On the GPU machine, from the repo root: unpack the carried .debs into a private prefix and build
# Troupe (with the benchmark programs) against the LibTorch inside the image's PyTorch.
# Usage: [TESTS=ON] bash bench/gpu/build.sh [TARGETS...]   (no targets = everything)
# Leaves the build in /tmp/troupe-build; source bench/gpu/env.sh afterwards for the run-time paths.
set -euo pipefail
PFX=/tmp/debdeps
mkdir -p "$PFX"
for f in .gpu/debs/*.deb; do dpkg -x "$f" "$PFX"; done
rm -rf "$PFX/usr/share/doc"
# The image has no cpp-httplib: point pkg-config at the unpacked copy, without the OpenSSL/zlib/brotli
# requirements the Debian .pc names (the server uses plain HTTP; those -dev packages are not carried).
if ! pkg-config --exists cpp-httplib 2>/dev/null && [ -f "$PFX/usr/include/httplib.h" ]; then
  mkdir -p "$PFX/pc"
  cat > "$PFX/pc/cpp-httplib.pc" <<PC
prefix=$PFX/usr
includedir=\${prefix}/include
libdir=\${prefix}/lib/x86_64-linux-gnu
Name: cpp-httplib
Description: cpp-httplib unpacked from the carried .deb
Version: 0.11.4
Libs: -L\${libdir} -lcpp-httplib
Cflags: -I\${includedir}
PC
  export PKG_CONFIG_PATH="$PFX/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
fi
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
TORCH_CMAKE=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
source "$(dirname "$0")/env.sh"
cmake -S . -B /tmp/troupe-build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS="${TESTS:-OFF}" \
  -DTROUPE_BUILD_BENCH=ON -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$PFX/usr" > /tmp/troupe-configure.log 2>&1 \
  || { tail -40 /tmp/troupe-configure.log; exit 1; }
grep "Troupe: LibTorch" /tmp/troupe-configure.log || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build /tmp/troupe-build -j "$(nproc)" "${targets[@]}" -- -k 0 > /tmp/troupe-build.log 2>&1 \
  || { grep -E "error|FAILED" /tmp/troupe-build.log | head -40; exit 1; }
echo "built: /tmp/troupe-build"
