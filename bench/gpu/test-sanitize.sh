#!/usr/bin/env bash
# On the GPU machine, from the repo root: the whole test suite under ASan + UBSan
# (scripts/test-sanitize.sh) built with the image's g++ against its pip LibTorch and the carried
# .debs (bench/gpu/fetch-debs.sh; carry .gpu). Conformance fixtures: .gpu/conformance when carried,
# else the conformance tests skip (as they do wherever the fixtures are absent).
# Usage: bash bench/gpu/test-sanitize.sh [BUILD_DIR] [ctest args…]   (default /tmp/troupe-asan)
set -euo pipefail
source "$(dirname "$0")/deps.sh"
BUILD=${1:-/tmp/troupe-asan}
shift || true
export CMAKE_ARGS="-DCMAKE_PREFIX_PATH=$TORCH_CMAKE;$PFX/usr"
exec bash scripts/test-sanitize.sh "$BUILD" "$@"
