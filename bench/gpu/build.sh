#!/usr/bin/env bash
# On the GPU machine, from the repo root: unpack the carried .debs into a private prefix and build
# Troupe (with the benchmark programs) against the LibTorch inside the image's PyTorch.
# Usage: [TESTS=ON] bash bench/gpu/build.sh [TARGETS...]   (no targets = everything)
# Leaves the build in /tmp/troupe-build; source bench/gpu/env.sh afterwards for the run-time paths.
set -euo pipefail
source "$(dirname "$0")/deps.sh"
cmake -S . -B /tmp/troupe-build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS="${TESTS:-OFF}" \
  -DTROUPE_BUILD_BENCH=ON -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$PFX/usr" > /tmp/troupe-configure.log 2>&1 \
  || { tail -40 /tmp/troupe-configure.log; exit 1; }
grep "Troupe: LibTorch" /tmp/troupe-configure.log || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build /tmp/troupe-build -j "$(nproc)" "${targets[@]}" -- -k 0 > /tmp/troupe-build.log 2>&1 \
  || { grep -E "error|FAILED" /tmp/troupe-build.log | head -40; exit 1; }
echo "built: /tmp/troupe-build"
