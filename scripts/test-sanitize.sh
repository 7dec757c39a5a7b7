#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (`./run test-sanitize`).
# Usage: scripts/test-sanitize.sh [BUILD_DIR] [ctest args…]   (default BUILD_DIR build-asan)
# Environment: JOBS (default: all cores); CMAKE_ARGS (extra configure arguments, e.g. the GPU
# machine's CMAKE_PREFIX_PATH, see bench/gpu/test-sanitize.sh); CXX picks the compiler (g++ or clang++).
# Every ASan report and every UBSan report fails its test (halt_on_error). LibTorch, Boost and the
# other Debian libraries are not instrumented: ASan still checks every access our code makes and
# intercepts their allocations. Suppressions, each with its reason: tests/sanitizers/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build-asan}
shift || true
JOBS=${JOBS:-$(nproc)}
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
if [ ! -f "$BUILD/build.ninja" ]; then
    launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS="$SAN" \
        -DCMAKE_EXE_LINKER_FLAGS="$SAN" -DCMAKE_SHARED_LINKER_FLAGS="$SAN" -DCMAKE_MODULE_LINKER_FLAGS="$SAN" \
        -DTROUPE_BUILD_TESTS=ON "${launcher[@]}" ${CMAKE_ARGS:-}
fi
cmake --build "$BUILD" -j "$JOBS"
SUPP=$ROOT/tests/sanitizers
# protect_shadow_gap=0: CUDA's driver maps memory in ASan's shadow gap (GPU builds).
# intercept_tls_get_addr=0: with gcc 12's libsanitizer, the dynamic-TLS ranges it records through
# __tls_get_addr for the dlopen'ed plugins can be bogus (seen: "DTLS 19 at 0x1f6a-0x10000306c" in
# `troupe lm generate --adapter`), and the leak checker's tracer then crashes at exit ("Tracer caught
# signal 11", exit 134) instead of checking. Not intercepting it leaves dynamic TLS out of the root set.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:protect_shadow_gap=0:intercept_tls_get_addr=0:abort_on_error=1:symbolize=1:suppressions=$SUPP/asan.supp}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SUPP/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$SUPP/ubsan.supp}
cd "$BUILD"
ctest --output-on-failure -j "$JOBS" ${CTEST_ARGS:-} "$@"
