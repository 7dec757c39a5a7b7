#!/usr/bin/env bash
# On the GPU machine, from the repo root: unpack the carried .debs into a private prefix and build
# Troupe against the LibTorch inside the image's PyTorch. Usage: bash bench/gpu/build.sh [TARGETS...]
# Leaves the build in /tmp/troupe-build and prints where the logs are.
set -euo pipefail
PFX=/tmp/debdeps
mkdir -p "$PFX"
for f in .gpu/debs/*.deb; do dpkg -x "$f" "$PFX"; done
rm -rf "$PFX/usr/share/doc"
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
TORCH_CMAKE=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
export LD_LIBRARY_PATH="$PFX/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export ESPEAK_DATA_PATH="$PFX/usr/lib/x86_64-linux-gnu/espeak-ng-data"
cmake -S . -B /tmp/troupe-build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$PFX/usr" > /tmp/troupe-configure.log 2>&1 || { tail -40 /tmp/troupe-configure.log; exit 1; }
cmake --build /tmp/troupe-build -j "$(nproc)" --target "${@:-troupe}" > /tmp/troupe-build.log 2>&1 || { grep -E "error|FAILED" /tmp/troupe-build.log | head -40; exit 1; }
echo "built: /tmp/troupe-build"
